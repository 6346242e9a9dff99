/* Log lines carry values from the registry, files and containers: a value
 * must not be able to forge a second line or send terminal escapes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "log.h"

/* Runs one log call with stderr sent to a temporary file; returns what was
 * written (static buffer). */
static const char *logged(const char *value)
{
	static char out[2048];
	FILE *f = tmpfile();
	int saved = dup(2);
	size_t n;

	assert_non_null(f);
	fflush(stderr);
	dup2(fileno(f), 2);
	log_info("service %s: added", value);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(f);
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	fclose(f);
	return out;
}

static void newline_cannot_forge_a_line(void **state)
{
	const char *out = logged("web\nvipd: info: reconciled all 999 services");

	assert_string_equal(out,
		"vipd: info: service web\\x0avipd: info: reconciled all 999 services: added\n");
}

static void escape_and_control_bytes(void **state)
{
	assert_string_equal(logged("a\x1b[2Jb\rc\x7f"),
			    "vipd: info: service a\\x1b[2Jb\\x0dc\\x7f: added\n");
}

static void plain_text_and_utf8_unchanged(void **state)
{
	assert_string_equal(logged("arch.task.http \xc3\xa9"),
			    "vipd: info: service arch.task.http \xc3\xa9: added\n");
}

static void long_value_stays_one_line(void **state)
{
	char big[3000];
	const char *out;

	memset(big, '\n', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	out = logged(big);
	assert_non_null(strchr(out, '\n'));
	assert_ptr_equal(strchr(out, '\n'), out + strlen(out) - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(newline_cannot_forge_a_line),
		cmocka_unit_test(escape_and_control_bytes),
		cmocka_unit_test(plain_text_and_utf8_unchanged),
		cmocka_unit_test(long_value_stays_one_line),
	};

	vlog_set_ident("vipd");	/* the plain format, as vipctl's lines */
	return cmocka_run_group_tests(tests, NULL, NULL);
}

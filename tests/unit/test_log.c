/* What an operator reads on stderr: text lines that start with a UTC
 * timestamp, journal lines with the priority the journal files them
 * under, and the journal chosen only when stderr really is the journal. */
#define _GNU_SOURCE	/* strptime, timegm */
#include <errno.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "log.h"

static FILE *capture;	/* stderr while a test runs */
static int saved_fd = -1;

static int setup(void **state)
{
	capture = tmpfile();
	if (!capture)
		return -1;
	fflush(stderr);
	saved_fd = dup(2);
	dup2(fileno(capture), 2);
	vlog_set_ident("vipd");
	vlog_set_format(VLOG_TEXT);
	vlog_threshold = VLOG_DEBUG;
	return 0;
}

static int teardown(void **state)
{
	dup2(saved_fd, 2);
	close(saved_fd);
	fclose(capture);
	vlog_set_format(VLOG_PLAIN);
	vlog_threshold = VLOG_INFO;
	unsetenv("JOURNAL_STREAM");
	return 0;
}

/* What was written to stderr since the last call (static buffer). */
static const char *written(void)
{
	static char out[4096];
	size_t n;

	rewind(capture);
	n = fread(out, 1, sizeof(out) - 1, capture);
	out[n] = '\0';
	rewind(capture);
	assert_int_equal(ftruncate(fileno(capture), 0), 0);
	return out;
}

static void assert_matches(const char *s, const char *pattern)
{
	regex_t re;

	assert_int_equal(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
	if (regexec(&re, s, 0, NULL, 0) != 0)
		fail_msg("\"%s\" does not match %s", s, pattern);
	regfree(&re);
}

static void text_starts_with_rfc3339_utc_millis(void **state)
{
	const char *out;
	struct tm tm = { 0 };
	time_t now;

	/* far from UTC, so that a local time would be hours off */
	setenv("TZ", "PST8", 1);	/* POSIX form: no tzdata needed */
	tzset();
	now = time(NULL);
	log_info("service %s: added", "web");
	out = written();
	assert_matches(out, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z "
			    "vipd: info: service web: added\n$");
	assert_non_null(strptime(out, "%Y-%m-%dT%H:%M:%S", &tm));
	assert_true(llabs((long long)(timegm(&tm) - now)) <= 2);
	unsetenv("TZ");
	tzset();
}

static void text_names_each_level(void **state)
{
	log_err("e");
	log_warn("w");
	log_debug("d");
	assert_matches(written(), "^[0-9TZ:.-]{24} vipd: error: e\n"
				  "[0-9TZ:.-]{24} vipd: warning: w\n"
				  "[0-9TZ:.-]{24} vipd: debug: d\n$");
}

static void journal_prefixes_per_level(void **state)
{
	vlog_set_format(VLOG_JOURNAL);
	log_err("refused");
	log_warn("changed by another writer");
	log_info("reconciled");
	log_debug("add element");
	assert_string_equal(written(), "<3>refused\n<4>changed by another writer\n"
				       "<6>reconciled\n<7>add element\n");
}

static void threshold_still_drops(void **state)
{
	vlog_set_format(VLOG_JOURNAL);
	vlog_threshold = VLOG_INFO;
	log_debug("hidden");
	assert_string_equal(written(), "");
}

static void plain_has_no_timestamp(void **state)
{
	vlog_set_format(VLOG_PLAIN);
	vlog_set_ident("vipctl");
	log_warn("service \"x\": field y: unknown key; ignored");
	assert_string_equal(written(), "vipctl: warning: service \"x\": field y: unknown key; ignored\n");
}

static void escaping_kept_in_every_format(void **state)
{
	log_info("service %s: added", "a\nvipd: info: forged\x1b[2J");
	assert_matches(written(), "^[0-9TZ:.-]{24} vipd: info: service "
				  "a\\\\x0avipd: info: forged\\\\x1b\\[2J: added\n$");
	vlog_set_format(VLOG_JOURNAL);
	log_info("service %s: added", "a\n<3>forged");
	assert_string_equal(written(), "<6>service a\\x0a<3>forged: added\n");
}

static void long_line_stays_one_line(void **state)
{
	char big[3000];
	const char *out;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_info("%s", big);
	out = written();
	assert_ptr_equal(strchr(out, '\n'), out + strlen(out) - 1);
}

static void errno_survives_a_log_call(void **state)
{
	errno = ECONNREFUSED;
	log_info("connecting");
	assert_int_equal(errno, ECONNREFUSED);
	written();
}

/* JOURNAL_STREAM as systemd sets it: st_dev:st_ino of the stream, decimal. */
static void set_stream(uintmax_t dev, uintmax_t ino)
{
	char v[64];

	snprintf(v, sizeof(v), "%ju:%ju", dev, ino);
	setenv("JOURNAL_STREAM", v, 1);
}

static void detect_journal_when_stderr_is_the_stream(void **state)
{
	struct stat st;

	assert_int_equal(fstat(2, &st), 0);
	set_stream((uintmax_t)st.st_dev, (uintmax_t)st.st_ino);
	assert_int_equal(vlog_detect_format(), VLOG_JOURNAL);
}

static void detect_text_when_stderr_went_elsewhere(void **state)
{
	struct stat st;

	assert_int_equal(fstat(2, &st), 0);
	set_stream((uintmax_t)st.st_dev, (uintmax_t)st.st_ino + 1);
	assert_int_equal(vlog_detect_format(), VLOG_TEXT);
	set_stream((uintmax_t)st.st_dev + 1, (uintmax_t)st.st_ino);
	assert_int_equal(vlog_detect_format(), VLOG_TEXT);
}

static void detect_text_without_or_with_a_bad_variable(void **state)
{
	struct stat st;
	char v[64];

	unsetenv("JOURNAL_STREAM");
	assert_int_equal(vlog_detect_format(), VLOG_TEXT);
	setenv("JOURNAL_STREAM", "", 1);
	assert_int_equal(vlog_detect_format(), VLOG_TEXT);
	assert_int_equal(fstat(2, &st), 0);
	snprintf(v, sizeof(v), "%ju:%jux", (uintmax_t)st.st_dev, (uintmax_t)st.st_ino);
	setenv("JOURNAL_STREAM", v, 1);
	assert_int_equal(vlog_detect_format(), VLOG_TEXT);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(text_starts_with_rfc3339_utc_millis),
		T(text_names_each_level),
		T(journal_prefixes_per_level),
		T(threshold_still_drops),
		T(plain_has_no_timestamp),
		T(escaping_kept_in_every_format),
		T(long_line_stays_one_line),
		T(errno_survives_a_log_call),
		T(detect_journal_when_stderr_is_the_stream),
		T(detect_text_when_stderr_went_elsewhere),
		T(detect_text_without_or_with_a_bad_variable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

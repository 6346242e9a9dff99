/* JSON stream framing at size: a value of megabytes in small chunks costs
 * its size once, and strings over the owner's cap are cut, not kept, while
 * the rest of their value still arrives. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "jstream.h"

struct seen {
	int values;
	size_t cut_len;		/* length of the cut "value" string, 0: whole */
	char key[16];
};

static bool look(json_t *v, void *arg)
{
	struct seen *s = arg;
	json_t *kv = json_object_get(v, "kv");
	const char *val = json_string_value(json_object_get(kv, "value"));
	const char *key = json_string_value(json_object_get(kv, "key"));

	s->values++;
	if (key)
		snprintf(s->key, sizeof(s->key), "%s", key);
	if (val && !jstream_cut(val, &s->cut_len))
		s->cut_len = 0;
	return true;
}

/* {"kv":{"key":"YQ==","value":"xxxx...(n)"}} followed by {"kv":{}} */
static char *message(size_t n, size_t *len)
{
	const char *head = "{\"kv\":{\"key\":\"YQ==\",\"value\":\"", *tail = "\"}}\n{\"kv\":{}}\n";
	char *m = malloc(strlen(head) + n + strlen(tail) + 1);

	strcpy(m, head);
	memset(m + strlen(head), 'x', n);
	strcpy(m + strlen(head) + n, tail);
	*len = strlen(m);
	return m;
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Re-parsing what has accumulated at every chunk makes this quadratic:
 * 16 MB in 16 KiB chunks took minutes; one pass takes a fraction of a
 * second even under ASan. */
static void big_value_in_small_chunks(void **state)
{
	size_t len, n = 16u << 20;
	char *m = message(n, &len);
	struct jstream s = { 0 };
	struct seen seen = { 0 };
	double t0 = now();

	for (size_t off = 0; off < len; off += 16384)
		assert_int_equal(jstream_feed(&s, m + off, len - off < 16384 ? len - off : 16384,
					      look, &seen), 0);
	assert_int_equal(seen.values, 2);
	assert_true(now() - t0 < 5.0);
	jstream_fini(&s);
	free(m);
}

static void long_string_is_cut_and_the_value_still_arrives(void **state)
{
	size_t len;
	char *m = message(5000, &len);

	for (size_t cut = 0; cut <= len; cut += 7) {
		struct jstream s = { .max_string = 1000 };
		struct seen seen = { 0 };

		assert_int_equal(jstream_feed(&s, m, cut, look, &seen), 0);
		assert_int_equal(jstream_feed(&s, m + cut, len - cut, look, &seen), 0);
		assert_int_equal(seen.values, 2);
		assert_string_equal(seen.key, "YQ==");
		jstream_fini(&s);
	}
	{
		struct jstream s = { .max_string = 1000 };
		struct seen seen = { 0 };

		assert_int_equal(jstream_feed(&s, m, len - 11, look, &seen), 0);	/* up to the first value's end */
		assert_int_equal(seen.cut_len, 5000);
		/* nothing of the cut string is held */
		assert_true(s.cap <= 4096);
		jstream_fini(&s);
	}
	free(m);
}

static void short_strings_and_escapes_stay_whole(void **state)
{
	const char *text = "{\"kv\":{\"key\":\"a\\\"b\",\"value\":\"q\\\\\\\"z\"}}";
	struct jstream s = { .max_string = 1000 };
	struct seen seen = { 0 };

	for (size_t i = 0; text[i]; i++)
		assert_int_equal(jstream_feed(&s, text + i, 1, look, &seen), 0);
	assert_int_equal(seen.values, 1);
	assert_int_equal(seen.cut_len, 0);
	assert_string_equal(seen.key, "a\"b");
	jstream_fini(&s);
}

static void cut_escapes_count_as_sent(void **state)
{
	/* 600 escaped quotes: 1200 bytes as sent, over the cap of 1000 */
	char text[1400] = "{\"kv\":{\"value\":\"";
	struct jstream s = { .max_string = 1000 };
	struct seen seen = { 0 };

	for (int i = 0; i < 600; i++)
		strcat(text, "\\\"");
	strcat(text, "\"}}");
	assert_int_equal(jstream_feed(&s, text, strlen(text), look, &seen), 0);
	assert_int_equal(seen.values, 1);
	assert_int_equal(seen.cut_len, 1200);
	assert_true(s.cap <= 4096);
	jstream_fini(&s);
}

static bool keep_first(json_t *v, void *arg)
{
	json_t **out = arg;

	if (!*out)
		*out = json_incref(v);
	return true;
}

/* Member names are never cut (an etcd key must stay readable); a string
 * value at the top level is cut like any other. */
static void names_stay_whole(void **state)
{
	char text[5000];
	struct jstream s = { .max_string = 100 };
	json_t *v = NULL;
	size_t n;

	snprintf(text, sizeof(text), "{\"%0*d\":[\"%0*d\",{\"k\":1}],\"b\":2}", 2000, 7, 2000, 8);
	assert_int_equal(jstream_feed(&s, text, strlen(text), keep_first, &v), 0);
	assert_non_null(v);
	assert_int_equal(json_object_size(v), 2);
	json_t *arr = json_object_iter_value(json_object_iter(v));
	assert_true(jstream_cut(json_string_value(json_array_get(arr, 0)), &n));
	assert_int_equal(n, 2000);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(arr, 1), "k")), 1);
	json_decref(v);
	v = NULL;
	assert_int_equal(jstream_feed(&s, "\"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz\" ", 107,
				      keep_first, &v), 0);
	assert_non_null(v);
	assert_true(jstream_cut(json_string_value(v), &n));
	json_decref(v);
	v = NULL;
	/* the value of a member named "whole" stays too: an etcd key */
	s.whole = "key";
	snprintf(text, sizeof(text), "{\"kv\":{\"key\":\"%0*d\",\"value\":\"%0*d\"}}", 2000, 1, 2000, 2);
	assert_int_equal(jstream_feed(&s, text, strlen(text), keep_first, &v), 0);
	assert_int_equal(strlen(json_string_value(json_object_get(json_object_get(v, "kv"), "key"))), 2000);
	assert_true(jstream_cut(json_string_value(json_object_get(json_object_get(v, "kv"), "value")), &n));
	json_decref(v);
	jstream_fini(&s);
}

static void scalars_and_malformed(void **state)
{
	struct jstream s = { 0 };
	int n = 0;

	assert_int_equal(jstream_feed(&s, "] {}", 4, (jstream_cb)look, &n), -EINVAL);
	assert_int_equal(jstream_feed(&s, "{\"a\":}", 6, (jstream_cb)look, &n), -EINVAL);
	jstream_fini(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(big_value_in_small_chunks),
		cmocka_unit_test(long_string_is_cut_and_the_value_still_arrives),
		cmocka_unit_test(short_strings_and_escapes_stay_whole),
		cmocka_unit_test(cut_escapes_count_as_sent),
		cmocka_unit_test(names_stay_whole),
		cmocka_unit_test(scalars_and_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

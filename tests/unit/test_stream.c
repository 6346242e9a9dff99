/* Framing of JSON streams split at any byte, and base64 as etcd writes it. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "b64.h"
#include "etcd.h"
#include "jstream.h"

static bool count(json_t *v, void *arg)
{
	(*(int *)arg)++;
	return json_is_object(v);
}

/* text in two chunks, cut at every byte: want objects each time. */
static void cut_everywhere(const char *text, int want)
{
	size_t n = strlen(text);

	for (size_t cut = 0; cut <= n; cut++) {
		struct jstream s = { 0 };
		int seen = 0;

		assert_int_equal(jstream_feed(&s, text, cut, count, &seen), 0);
		assert_int_equal(jstream_feed(&s, text + cut, n - cut, count, &seen), 0);
		assert_int_equal(seen, want);
		jstream_fini(&s);
	}
}

static void split_anywhere(void **state)
{
	cut_everywhere("{\"a\":1}\n{\"b\":[1,2,{\"c\":\"}\"}]}\n\n{\"d\":\"x\\ny\"}\n", 3);
}

static bool sum(json_t *v, void *arg)
{
	*(json_int_t *)arg = *(json_int_t *)arg * 1000 + json_integer_value(v);
	return true;
}

/* A number at the end of a chunk may go on in the next one. */
static void number_across_chunks(void **state)
{
	struct jstream s = { 0 };
	json_int_t seen = 0;

	assert_int_equal(jstream_feed(&s, "12", 2, sum, &seen), 0);
	assert_int_equal(seen, 0);
	assert_int_equal(jstream_feed(&s, "3 4", 3, sum, &seen), 0);
	assert_int_equal(seen, 123);
	assert_int_equal(jstream_feed(&s, "\n", 1, sum, &seen), 0);
	assert_int_equal(seen, 123004);
	jstream_fini(&s);
}

/* A character of a label or name cut between two chunks. */
static void utf8_across_chunks(void **state)
{
	cut_everywhere("{\"Name\":\"caf\xc3\xa9-\xe2\x82\xac-\xf0\x9f\x90\xb3\"}\n", 1);
}

static void byte_by_byte(void **state)
{
	const char *text = "{\"result\":{\"events\":[{\"kv\":{\"key\":\"YQ==\"}}]}}\n{}";
	struct jstream s = { 0 };
	int seen = 0;

	for (size_t i = 0; text[i]; i++)
		assert_int_equal(jstream_feed(&s, text + i, 1, count, &seen), 0);
	assert_int_equal(seen, 2);
	jstream_fini(&s);
}

static void malformed_and_stop(void **state)
{
	struct jstream s = { 0 };
	int seen = 0;

	assert_int_equal(jstream_feed(&s, "{\"a\":1} ] {}", 12, count, &seen), -EINVAL);
	jstream_reset(&s);
	seen = 0;
	/* a non-object stops the stream (count returns false for it) */
	assert_int_equal(jstream_feed(&s, "[1] {}", 6, count, &seen), 1);
	assert_int_equal(seen, 1);
	jstream_fini(&s);
}

static void base64(void **state)
{
	const char *cases[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar", "/vipd/services/web" };
	size_t len;
	char *enc, *dec;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enc = b64_encode(cases[i], strlen(cases[i]));
		dec = b64_decode(enc, &len);
		assert_non_null(dec);
		assert_int_equal(len, strlen(cases[i]));
		assert_memory_equal(dec, cases[i], len);
		free(enc);
		free(dec);
	}
	enc = b64_encode("foobar", 6);
	assert_string_equal(enc, "Zm9vYmFy");
	free(enc);
	assert_null(b64_decode("Zm9v=mFy", &len));
	assert_null(b64_decode("Zm9", &len));
	assert_null(b64_decode("Zm9!", &len));
}

static void etcd_bodies(void **state)
{
	char *end = etcd_prefix_end("/vipd/");
	char *w = etcd_watch_body("/vipd/", end, 42);
	json_t *o = json_loads(w, 0, NULL);
	json_t *cr = json_object_get(o, "create_request");

	assert_string_equal(end, "/vipd0");
	assert_string_equal(json_string_value(json_object_get(cr, "key")), "L3ZpcGQv");
	assert_string_equal(json_string_value(json_object_get(cr, "start_revision")), "42");
	json_t *big = json_pack("{ss}", "r", "9007199254740993");

	assert_int_equal(etcd_int(big, "r"), 9007199254740993LL);
	json_decref(big);
	json_decref(o);
	free(w);
	free(end);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(split_anywhere),
		cmocka_unit_test(byte_by_byte),
		cmocka_unit_test(number_across_chunks),
		cmocka_unit_test(utf8_across_chunks),
		cmocka_unit_test(malformed_and_stop),
		cmocka_unit_test(base64),
		cmocka_unit_test(etcd_bodies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

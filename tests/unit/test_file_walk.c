/* A services file is walked member by member, never built whole: each
 * service and each service's endpoints reach the callbacks alone, and a
 * file that is not whole JSON, repeats a key or lacks "services" is
 * refused as a whole, naming where. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "codec.h"

struct seen {
	int services, endpoints;
	char last[64];
};

static int on_service(void *arg, const char *name, json_t *obj)
{
	struct seen *s = arg;

	s->services++;
	snprintf(s->last, sizeof(s->last), "%s", name);
	return json_is_object(obj) ? 0 : -EINVAL;
}

static int on_endpoints(void *arg, const char *service, json_t *obj)
{
	((struct seen *)arg)->endpoints += (int)json_object_size(obj);
	return 0;
}

static int walk(const char *text, struct seen *s, char *err)
{
	char path[] = "/tmp/vipd-walk-XXXXXX";
	int fd = mkstemp(path), ret;
	struct file_walk w = { on_service, on_endpoints, NULL, s, NULL };

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	memset(s, 0, sizeof(*s));
	ret = codec_file_walk(path, 0, &w, err);
	unlink(path);
	return ret;
}

static void members_one_by_one(void **state)
{
	struct seen s;
	char err[CODEC_ERR_LEN];

	assert_int_equal(walk("{\"services\":{\"web\":{\"vip\":\"10.96.0.10\"},\"a\\u0062c\":{}},\n"
			      " \"endpoints\":{\"web\":{\"b1\":{},\"b2\":{}}}}\n", &s, err), 0);
	assert_int_equal(s.services, 2);
	assert_string_equal(s.last, "abc");	/* keys are unescaped */
	assert_int_equal(s.endpoints, 2);
	assert_int_equal(walk("{\"services\":{}}", &s, err), 0);
}

static void refused_whole(void **state)
{
	struct seen s;
	char err[CODEC_ERR_LEN];

	assert_int_equal(walk("{\"services\":{\"web\":{\"vip\":\"10.96.0.10\"}", &s, err), -EINVAL);
	assert_int_equal(walk("{\"services\":{\"web\":{},\"web\":{}}}", &s, err), -EINVAL);
	assert_non_null(strstr(err, "services.web: listed twice"));
	assert_int_equal(walk("{\"services\":{\"web\":{\"vip\":}}}", &s, err), -EINVAL);
	assert_non_null(strstr(err, "line 1 column"));
	assert_non_null(strstr(err, "services.web"));
	assert_int_equal(walk("{}", &s, err), -EINVAL);
	assert_non_null(strstr(err, "field services"));
	assert_int_equal(walk("{\"services\":{},}", &s, err), -EINVAL);
	assert_int_equal(walk("{\"services\":{}} x", &s, err), -EINVAL);
	assert_int_equal(walk("[]", &s, err), -EINVAL);
	assert_int_equal(walk("{\"services\":{\"a\":{}}}\n{\"services\":{}}", &s, err), -EINVAL);
}

static void unreadable(void **state)
{
	struct file_walk w = { on_service, on_endpoints, NULL, NULL, NULL };
	char err[CODEC_ERR_LEN];

	assert_int_equal(codec_file_walk("/nonexistent/x.json", 0, &w, err), -ENOENT);
	assert_int_equal(codec_file_walk("/tmp", 0, &w, err), -EISDIR);
	assert_string_equal(err, "a directory, not a file");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(members_one_by_one),
		cmocka_unit_test(refused_whole),
		cmocka_unit_test(unreadable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The model's verdict table: what it holds, when a change dirties the
 * service, and how an etcd resync marks and sweeps verdicts. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "codec.h"
#include "model.h"

static struct service *svc_of(const char *name)
{
	const char *j = "{\"vip\":\"10.96.0.10\",\"ports\":[{\"port\":80}]}";
	char err[CODEC_ERR_LEN];
	struct service *s;

	assert_int_equal(codec_service_parse_text(name, j, strlen(j), &s, err), 0);
	return s;
}

/* The names dirtied since the last call, joined with ',' in the order
 * they were dirtied (these tests dirty one at a time). */
static const char *taken(struct model *m)
{
	static char buf[256];
	struct name_list l;

	assert_false(model_dirty_take(m, &l));
	buf[0] = '\0';
	for (size_t i = 0; i < l.n; i++) {
		strcat(buf, i ? "," : "");
		strcat(buf, l.names[i]);
	}
	model_names_free(&l);
	return buf;
}

static void verdict_put_get_del(void **state)
{
	struct model *m = model_alloc();
	const struct verdict *v;
	char longer[300];

	/* a verdict before its service: kept, nothing to plan yet */
	assert_int_equal(model_verdict_put(m, "web", "b1", false, "HTTP 500 (3 of 3)"), 0);
	assert_false(model_dirty(m));
	assert_non_null(v = model_verdict_get(m, "web", "b1"));
	assert_false(v->healthy);
	assert_string_equal(v->reason, "HTTP 500 (3 of 3)");
	assert_null(model_verdict_get(m, "web", "b2"));
	assert_null(model_verdict_get(m, "api", "b1"));

	/* the service appears: planned, and its verdict is there */
	assert_int_equal(model_service_put(m, SRC_ETCD, svc_of("web")), 0);
	assert_string_equal(taken(m), "web");
	assert_non_null(model_verdict_get(m, "web", "b1"));

	/* the same verdict again changes nothing; another reason does */
	assert_int_equal(model_verdict_put(m, "web", "b1", false, "HTTP 500 (3 of 3)"), 0);
	assert_false(model_dirty(m));
	assert_int_equal(model_verdict_put(m, "web", "b1", false, "timeout (3 of 3)"), 0);
	assert_string_equal(taken(m), "web");
	assert_int_equal(model_verdict_put(m, "web", "b1", true, NULL), 0);
	assert_string_equal(taken(m), "web");
	assert_true(model_verdict_get(m, "web", "b1")->healthy);
	assert_string_equal(model_verdict_get(m, "web", "b1")->reason, "");

	/* "web" + "b1" and "web.b" + "1" (or any split) are different keys */
	assert_int_equal(model_verdict_put(m, "webb", "1", false, "x"), 0);
	assert_true(model_verdict_get(m, "web", "b1")->healthy);
	assert_false(model_verdict_get(m, "webb", "1")->healthy);

	/* a long reason is cut to fit */
	memset(longer, 'x', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	assert_int_equal(model_verdict_put(m, "web", "b2", false, longer), 0);
	assert_int_equal(strlen(model_verdict_get(m, "web", "b2")->reason),
			 sizeof(((struct verdict *)0)->reason) - 1);
	taken(m);
	assert_null(model_verdict_get(m, "web", longer));	/* no id that long */

	/* a delete dirties the service once; deleting nothing does not */
	model_verdict_del(m, "web", "b1");
	assert_null(model_verdict_get(m, "web", "b1"));
	assert_string_equal(taken(m), "web");
	model_verdict_del(m, "web", "b1");
	model_verdict_del(m, "nosuch", "b1");
	assert_false(model_dirty(m));

	/* the service leaves; its verdicts may outlive it */
	model_service_del(m, SRC_ETCD, "web");
	taken(m);
	assert_non_null(model_verdict_get(m, "web", "b2"));
	model_free(m);		/* frees what is left (ASan checks) */
}

static void verdict_resync(void **state)
{
	struct model *m = model_alloc();

	assert_int_equal(model_service_put(m, SRC_ETCD, svc_of("web")), 0);
	assert_int_equal(model_verdict_put(m, "web", "b1", false, "a"), 0);
	assert_int_equal(model_verdict_put(m, "web", "b2", false, "b"), 0);
	assert_int_equal(model_verdict_put(m, "api", "c1", false, "c"), 0);
	taken(m);

	/* other sources' resyncs leave the verdicts alone */
	model_source_mark(m, SRC_FILE);
	model_source_sweep(m, SRC_FILE);
	assert_non_null(model_verdict_get(m, "web", "b2"));

	/* etcd's: what the range found again stays (unchanged: not dirty),
	 * what it did not is deleted and dirties its service */
	model_source_mark(m, SRC_ETCD);
	assert_int_equal(model_service_put(m, SRC_ETCD, svc_of("web")), 0);
	assert_int_equal(model_verdict_put(m, "web", "b1", false, "a"), 0);
	assert_int_equal(model_verdict_put(m, "api", "c1", false, "c"), 0);
	assert_false(model_dirty(m));
	model_source_sweep(m, SRC_ETCD);
	assert_non_null(model_verdict_get(m, "web", "b1"));
	assert_null(model_verdict_get(m, "web", "b2"));
	assert_non_null(model_verdict_get(m, "api", "c1"));
	assert_string_equal(taken(m), "web");

	/* a second resync that finds nothing sweeps everything */
	model_source_mark(m, SRC_ETCD);
	model_source_sweep(m, SRC_ETCD);
	assert_null(model_verdict_get(m, "web", "b1"));
	assert_null(model_verdict_get(m, "api", "c1"));
	assert_null(model_service_get(m, "web"));
	assert_string_equal(taken(m), "web");
	model_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(verdict_put_get_del),
		cmocka_unit_test(verdict_resync),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

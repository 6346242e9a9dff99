/* Errors are returned, never planned as "no endpoints"; unknown keys are
 * reported; a services file without services is refused whole; applied
 * changes and unrepresentable weights are logged, once. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "codec.h"
#include "log.h"
#include "model.h"
#include "reconcile.h"
#include "slots.h"
#include "source.h"

/* ---- captured log -------------------------------------------------------- */

#define LOGGED_MAX 256
static char logged[LOGGED_MAX][512];
static enum vlog_level levels[LOGGED_MAX];
static size_t n_logged;

static void sink(enum vlog_level level, const char *line)
{
	if (n_logged < LOGGED_MAX) {
		levels[n_logged] = level;
		snprintf(logged[n_logged++], sizeof(logged[0]), "%s", line);
	}
}

static int capture(void **state)
{
	n_logged = 0;
	vlog_sink = sink;
	vlog_threshold = VLOG_INFO;
	return 0;
}

static int release(void **state)
{
	vlog_sink = NULL;
	return 0;
}

/* How many captured lines at level contain s. */
static size_t lines_with(enum vlog_level level, const char *s)
{
	size_t n = 0;

	for (size_t i = 0; i < n_logged; i++)
		n += levels[i] == level && strstr(logged[i], s);
	return n;
}

/* ---- slots --------------------------------------------------------------- */

static void slots_errors_are_negative(void **state)
{
	const uint32_t w[] = { 100, 100 };
	const uint64_t keys[] = { 1, 2 };
	uint16_t out[SLOTS_MAX];

	assert_int_equal(slots_fill(w, 0, out, SLOTS_MAX), 0);	/* no backends */
	assert_int_equal(slots_fill(w, 2, out, 0), -ENOSPC);
	assert_int_equal(slots_maglev(keys, w, 0, out, SLOTS_MAX), 0);
	assert_int_equal(slots_maglev(keys, w, 2, out, MAGLEV_SLOTS - 1), -ENOSPC);
	assert_int_equal(slots_maglev(keys, (const uint32_t[]){ 0, 0 }, 2, out, SLOTS_MAX),
			 -EINVAL);
	assert_int_equal(slots_fill((const uint32_t[]){ 0, 0 }, 2, out, SLOTS_MAX), -EINVAL);
	assert_int_equal(slots_fill(w, 2, out, 1), 1);		/* cap 1: one slot */
}

/* ---- unknown keys -------------------------------------------------------- */

static char paths[16][160];
static size_t n_paths;

static void collect(void *arg, const char *path)
{
	if (n_paths < 16)
		snprintf(paths[n_paths++], sizeof(paths[0]), "%s", path);
}

static bool has_path(const char *p)
{
	for (size_t i = 0; i < n_paths; i++)
		if (!strcmp(paths[i], p))
			return true;
	return false;
}

static void unknown_keys_reported(void **state)
{
	const struct codec_report rep = { collect, NULL };
	char err[CODEC_ERR_LEN];
	struct service *s;
	struct endpoint *e;
	json_t *j;

	n_paths = 0;
	j = json_loads("{\"vip\":\"10.96.0.10\",\"algoritm\":\"maglev\","
		       "\"ports\":[{\"port\":80},{\"port\":81,\"protcol\":\"udp\"}],"
		       "\"health\":{\"type\":\"tcp\",\"intervall_ms\":5}}", 0, NULL);
	assert_int_equal(codec_service_read("web", j, &rep, &s, err), 0);
	assert_int_equal(s->algo, ALGO_RANDOM);		/* the typo did nothing */
	service_free(s);
	json_decref(j);
	assert_int_equal(n_paths, 3);
	assert_true(has_path("algoritm"));
	assert_true(has_path("ports[1].protcol"));
	assert_true(has_path("health.intervall_ms"));

	n_paths = 0;
	j = json_loads("{\"ip\":\"10.0.2.15\",\"wieght\":5,\"weight\":7}", 0, NULL);
	assert_int_equal(codec_endpoint_read("b1", j, &rep, &e, err), 0);
	assert_int_equal(e->weight, 7);
	endpoint_free(e);
	json_decref(j);
	assert_int_equal(n_paths, 1);
	assert_true(has_path("wieght"));

	/* Without a reporter (etcd values): one warning naming the object. */
	{
		const char *t = "{\"ip\":\"10.0.2.15\",\"wieght\":5}";

		assert_int_equal(codec_endpoint_parse_text("b1", t, strlen(t), &e, err), 0);
	}
	endpoint_free(e);
	assert_int_equal(n_logged, 1);
	assert_int_equal(lines_with(VLOG_WARN, "endpoint \"b1\": field wieght: unknown key"), 1);

	/* Known keys only: nothing. */
	n_paths = 0;
	j = json_loads("{\"ip\":\"10.0.2.15\",\"port\":8080,\"ports\":{\"http\":80},"
		       "\"node\":\"a\",\"zone\":\"z\",\"ready\":true,\"terminating\":false}", 0, NULL);
	assert_int_equal(codec_endpoint_read("b1", j, &rep, &e, err), 0);
	endpoint_free(e);
	json_decref(j);
	assert_int_equal(n_paths, 0);
}

static void file_top_level(void **state)
{
	const struct codec_report rep = { collect, NULL };
	json_t *root, *svcs, *eps;
	char err[CODEC_ERR_LEN];

	n_paths = 0;
	root = json_loads("{}", 0, NULL);
	assert_int_equal(codec_file_top(root, &rep, &svcs, &eps, err), -EINVAL);
	assert_non_null(strstr(err, "field services"));
	json_decref(root);
	root = json_loads("{\"services\":{},\"endpoint\":{}}", 0, NULL);
	assert_int_equal(codec_file_top(root, &rep, &svcs, &eps, err), 0);
	assert_null(eps);
	assert_true(has_path("endpoint"));
	json_decref(root);
}

/* ---- the services file --------------------------------------------------- */

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void file_without_services_keeps_state(void **state)
{
	char path[] = "/tmp/vipd-unit-XXXXXX";
	int fd = mkstemp(path);
	struct file_source_conf conf = { .path = path };
	struct model *m = model_alloc();
	struct source src = { .ops = &source_file_ops, .model = m, .conf.file = &conf };
	struct endpoint *const *eps;
	struct name_list dirty;

	assert_true(fd >= 0);
	close(fd);
	write_file(path, "{\"services\":{\"web\":{\"vip\":\"10.96.0.10\",\"ports\":[{\"port\":80}]}},"
		   "\"endpoints\":{\"web\":{\"b1\":{\"ip\":\"10.0.2.15\",\"wieght\":5}}}}");
	assert_int_equal(src.ops->start(&src), 0);
	assert_int_equal(lines_with(VLOG_WARN, "field endpoints.web.b1.wieght: unknown key"), 1);
	model_dirty_take(m, &dirty);
	model_names_free(&dirty);

	n_logged = 0;
	write_file(path, "{}");
	src.ops->resync(&src);
	assert_non_null(model_service_get(m, "web"));
	assert_int_equal(model_endpoints_get(m, "web", &eps), 1);
	assert_false(model_dirty(m));
	assert_int_equal(n_logged, 1);
	assert_int_equal(lines_with(VLOG_ERR, "field services"), 1);
	assert_int_equal(lines_with(VLOG_ERR, "keeping the previous state"), 1);

	/* "endpoints" alone is no registry either. */
	n_logged = 0;
	write_file(path, "{\"endpoints\":{}}");
	src.ops->resync(&src);
	assert_non_null(model_service_get(m, "web"));

	/* {"services":{}} empties it, on purpose. */
	n_logged = 0;
	write_file(path, "{\"services\":{}}");
	src.ops->resync(&src);
	assert_null(model_service_get(m, "web"));
	assert_int_equal(lines_with(VLOG_INFO, "web: deleted"), 1);
	assert_int_equal(lines_with(VLOG_INFO, "web: -b1"), 1);

	src.ops->stop(&src);
	unlink(path);
	model_free(m);
}

/* ---- change lines -------------------------------------------------------- */

static struct endpoint *ep_of(const char *id, const char *json)
{
	struct endpoint *e;
	char err[CODEC_ERR_LEN];

	assert_int_equal(codec_endpoint_parse_text(id, json, strlen(json), &e, err), 0);
	return e;
}

static struct service *svc_of(const char *name, const char *json)
{
	struct service *s;
	char err[CODEC_ERR_LEN];

	assert_int_equal(codec_service_parse_text(name, json, strlen(json), &s, err), 0);
	return s;
}

static void change_lines(void **state)
{
	struct model *m = model_alloc();
	struct name_list dirty;

	model_service_put(m, SRC_ETCD, svc_of("web", "{\"vip\":\"10.96.0.10\",\"ports\":[{\"port\":80}]}"));
	assert_int_equal(lines_with(VLOG_INFO, "web: added (10.96.0.10:80/tcp; random)"), 1);
	model_endpoint_put(m, SRC_ETCD, "web", ep_of("b3", "{\"ip\":\"10.0.2.17\",\"port\":8080}"));
	assert_int_equal(lines_with(VLOG_INFO, "web: +b3 10.0.2.17:8080 weight 100"), 1);

	/* A resync re-putting the same objects says nothing. */
	n_logged = 0;
	model_source_mark(m, SRC_ETCD);
	model_service_put(m, SRC_ETCD, svc_of("web", "{\"vip\":\"10.96.0.10\",\"ports\":[{\"port\":80}]}"));
	model_endpoint_put(m, SRC_ETCD, "web", ep_of("b3", "{\"ip\":\"10.0.2.17\",\"port\":8080}"));
	model_source_sweep(m, SRC_ETCD);
	assert_int_equal(n_logged, 0);

	model_endpoint_put(m, SRC_ETCD, "web", ep_of("b3", "{\"ip\":\"10.0.2.17\",\"port\":8080,\"weight\":300}"));
	assert_int_equal(lines_with(VLOG_INFO, "web: weight b3 100 -> 300"), 1);
	model_endpoint_put(m, SRC_ETCD, "web", ep_of("b3", "{\"ip\":\"10.0.2.17\",\"port\":8080,\"weight\":300,\"terminating\":true}"));
	assert_int_equal(lines_with(VLOG_INFO, "web: b3 ready -> terminating"), 1);
	model_service_put(m, SRC_ETCD, svc_of("web", "{\"vip\":\"10.96.0.11\",\"ports\":[{\"port\":80}]}"));
	assert_int_equal(lines_with(VLOG_INFO, "web: vip 10.96.0.10 -> 10.96.0.11"), 1);
	model_service_put(m, SRC_ETCD, svc_of("web", "{\"vip\":\"10.96.0.11\",\"ports\":[{\"port\":81}],\"algorithm\":\"maglev\"}"));
	assert_int_equal(lines_with(VLOG_INFO, "web: changed: ports, algorithm"), 1);
	model_service_put(m, SRC_ETCD, svc_of("web", "{\"vip\":\"10.96.0.11\",\"ports\":[{\"port\":81}],\"algorithm\":\"maglev\","
		"\"external_ips\":[\"203.0.113.7\"],\"source_ranges\":[\"198.51.100.0/24\"]}"));
	assert_int_equal(lines_with(VLOG_INFO, "web: changed: external_ips, source_ranges"), 1);
	model_service_put(m, SRC_ETCD, svc_of("web", "{\"vip\":\"10.96.0.11\",\"ports\":[{\"port\":81}],\"algorithm\":\"maglev\","
		"\"external_ips\":[\"203.0.113.7\"],\"source_ranges\":[\"198.51.100.0/25\"]}"));
	assert_int_equal(lines_with(VLOG_INFO, "web: changed: source_ranges"), 1);
	model_endpoint_del(m, SRC_ETCD, "web", "b3");
	assert_int_equal(lines_with(VLOG_INFO, "web: -b3"), 1);
	model_service_del(m, SRC_ETCD, "web");
	assert_int_equal(lines_with(VLOG_INFO, "web: deleted"), 1);
	assert_false(model_dirty_take(m, &dirty));	/* no mark was lost */
	model_names_free(&dirty);
	model_free(m);
}

/* A burst logs at most CHANGE_LINES_MAX lines at info, then one count. */
static void change_lines_bounded(void **state)
{
	struct model *m = model_alloc();
	struct name_list dirty;
	char id[16];

	for (int i = 0; i < 200; i++) {
		snprintf(id, sizeof(id), "b%d", i);
		model_endpoint_put(m, SRC_FILE, "web", ep_of(id, "{\"ip\":\"10.0.2.17\"}"));
	}
	assert_int_equal(lines_with(VLOG_INFO, "web: +b"), 64);
	model_dirty_take(m, &dirty);
	model_names_free(&dirty);
	assert_int_equal(lines_with(VLOG_INFO, "and 136 more changes"), 1);
	model_free(m);
}

/* ---- weights the slots cannot hold --------------------------------------- */

/* Few backends always fit within the slots' tolerance; 600 backends of
 * weight 1 beside one of weight 5000 cannot: every backend keeps a slot,
 * so the big one gets far less than its share. */
static void put_many(struct model *m, int from, int to)
{
	char id[16], json[64];

	for (int i = from; i <= to; i++) {
		snprintf(id, sizeof(id), "b%d", i);
		snprintf(json, sizeof(json), "{\"ip\":\"10.0.%d.%d\",\"weight\":1}", 3 + i / 250, 1 + i % 250);
		model_endpoint_put(m, SRC_FILE, "web", ep_of(id, json));
	}
}

static void weights_note_once(void **state)
{
	struct model *m = model_alloc();
	struct reconciler *rec = rec_alloc(NULL);
	struct changes c = { 0 };
	char id[16];

	model_service_put(m, SRC_FILE, svc_of("web", "{\"vip\":\"10.96.0.10\",\"ports\":[{\"port\":80},{\"port\":81}]}"));
	model_endpoint_put(m, SRC_FILE, "web", ep_of("big", "{\"ip\":\"10.0.2.1\",\"weight\":5000}"));
	put_many(m, 1, 600);
	n_logged = 0;
	assert_int_equal(rec_plan(rec, m, NULL, true, &c), 0);
	assert_int_equal(lines_with(VLOG_WARN, "web: weights 5000:1:1:"), 1);
	assert_int_equal(lines_with(VLOG_WARN, "programmed as"), 1);
	changes_free(&c);
	assert_int_equal(rec_plan(rec, m, NULL, true, &c), 0);	/* once */
	assert_int_equal(lines_with(VLOG_WARN, "programmed as"), 1);
	changes_free(&c);
	/* Representable: nothing, and a later inexact split is told again. */
	for (int i = 3; i <= 600; i++) {
		snprintf(id, sizeof(id), "b%d", i);
		model_endpoint_del(m, SRC_FILE, "web", id);
	}
	assert_int_equal(rec_plan(rec, m, NULL, true, &c), 0);
	assert_int_equal(lines_with(VLOG_WARN, "programmed as"), 1);
	changes_free(&c);
	put_many(m, 3, 600);
	assert_int_equal(rec_plan(rec, m, NULL, true, &c), 0);
	assert_int_equal(lines_with(VLOG_WARN, "programmed as"), 2);
	changes_free(&c);
	rec_free(rec);
	model_free(m);
}

/* A vip6-only service with IPv4 endpoints: said once, again after it was
 * mended and broke anew. */
static void family_mismatch_said(void **state)
{
	struct model *m = model_alloc();
	struct reconciler *rec = rec_alloc(NULL);
	struct changes c = { 0 };
	const char *want = "web: 2 IPv4 endpoints left out: the service has no IPv4 VIP (vip)";

	model_service_put(m, SRC_FILE, svc_of("web", "{\"vip6\":\"fd00::10\",\"ports\":[{\"port\":80}]}"));
	model_endpoint_put(m, SRC_FILE, "web", ep_of("b1", "{\"ip\":\"10.0.2.1\"}"));
	model_endpoint_put(m, SRC_FILE, "web", ep_of("b2", "{\"ip\":\"10.0.2.2\"}"));
	n_logged = 0;
	assert_int_equal(rec_plan(rec, m, NULL, true, &c), 0);
	assert_int_equal(lines_with(VLOG_WARN, want), 1);
	changes_free(&c);
	assert_int_equal(rec_plan(rec, m, NULL, true, &c), 0);
	assert_int_equal(lines_with(VLOG_WARN, "left out"), 1);
	changes_free(&c);
	model_endpoint_del(m, SRC_FILE, "web", "b1");
	model_endpoint_del(m, SRC_FILE, "web", "b2");
	model_endpoint_put(m, SRC_FILE, "web", ep_of("b3", "{\"ip\":\"fd00::3\"}"));
	assert_int_equal(rec_plan(rec, m, NULL, true, &c), 0);
	assert_int_equal(lines_with(VLOG_WARN, "left out"), 1);
	changes_free(&c);
	model_endpoint_put(m, SRC_FILE, "web", ep_of("b1", "{\"ip\":\"10.0.2.1\"}"));
	assert_int_equal(rec_plan(rec, m, NULL, true, &c), 0);
	assert_int_equal(lines_with(VLOG_WARN, "web: 1 IPv4 endpoint left out"), 1);
	changes_free(&c);
	rec_free(rec);
	model_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(slots_errors_are_negative),
		cmocka_unit_test_setup_teardown(unknown_keys_reported, capture, release),
		cmocka_unit_test(file_top_level),
		cmocka_unit_test_setup_teardown(file_without_services_keeps_state, capture, release),
		cmocka_unit_test_setup_teardown(change_lines, capture, release),
		cmocka_unit_test_setup_teardown(change_lines_bounded, capture, release),
		cmocka_unit_test_setup_teardown(weights_note_once, capture, release),
		cmocka_unit_test_setup_teardown(family_mismatch_said, capture, release),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

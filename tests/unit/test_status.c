/* /metrics, /healthz and /status as an operator's tools read them: the
 * Prometheus text parses line by line with cumulative buckets, the JSON
 * parses (whatever a verdict's reason holds), and the counts and states
 * are those of the model. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <cmocka.h>
#include <jansson.h>

#include "bstate.h"
#include "codec.h"
#include "log.h"
#include "loop.h"
#include "model.h"
#include "status.h"

struct fx {
	struct loop *loop;
	struct model *m;
	struct bstate *bs;
	struct bs_conf conf;
	struct status_counters ctr;
	struct status_facts s;
	char *out;
	size_t len;
};

static int chain(void *arg, const struct vaddr *vip, const struct svc_port *sp, char *buf,
		 size_t len)
{
	snprintf(buf, len, "lb-%u", sp->port % 7);
	return 0;
}

static const struct source_ops fake_ops = { .name = "services-file", .kind = "file" };
static struct source fake_src = { .ops = &fake_ops, .up = true, .state = "ok", .events = 4 };

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	f->loop = loop_alloc();
	f->m = model_alloc();
	f->conf.node = "node-a";
	f->conf.follow_verdicts = true;
	f->bs = bs_alloc(NULL, f->m, &f->conf, &(struct bs_hooks){ 0 });
	assert_non_null(f->bs);
	f->s = (struct status_facts){
		.version = "1.2.3", .node = "node-a", .sources = &fake_src, .n_sources = 1,
		.counters = &f->ctr, .model = f->m, .bs = f->bs, .chain = chain,
		.last_sync_ms = loop_now_ms(),
	};
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	free(f->out);
	bs_free(f->bs);
	model_free(f->m);
	loop_free(f->loop);
	free(f);
	return 0;
}

static void put_svc(struct fx *f, const char *name, const char *json)
{
	struct service *s;
	char err[CODEC_ERR_LEN];

	assert_int_equal(codec_service_parse_text(name, json, strlen(json), &s, err), 0);
	assert_int_equal(model_service_put(f->m, SRC_ETCD, s), 0);
}

static void put_ep(struct fx *f, const char *svc, const char *id, const char *json)
{
	struct endpoint *e;
	char err[CODEC_ERR_LEN];

	assert_int_equal(codec_endpoint_parse_text(id, json, strlen(json), &e, err), 0);
	assert_int_equal(model_endpoint_put(f->m, SRC_ETCD, svc, e), 0);
}

static void update(struct fx *f)
{
	struct name_list dirty;

	model_dirty_take(f->m, &dirty);
	assert_int_equal(bs_update(f->bs, &dirty, true), 0);
	model_names_free(&dirty);
}

/* Only the services that changed, as a daemon's reconcile does. */
static void update_dirty(struct fx *f)
{
	struct name_list dirty;

	model_dirty_take(f->m, &dirty);
	assert_int_equal(bs_update(f->bs, &dirty, false), 0);
	model_names_free(&dirty);
}

/* web: b1 ready, b2 not ready, b3 terminating, b4 unhealthy by another
 * node's verdict whose reason holds a quote, a newline and a byte that is
 * no UTF-8; v6: an IPv6-only service with one backend. */
static void fill(struct fx *f)
{
	put_svc(f, "web", "{\"vip\":\"10.96.0.10\",\"vip6\":\"fd00::10\",\"ports\":[{\"name\":\"http\",\"port\":80,\"target_port\":8080}],\"health\":{\"type\":\"tcp\"}}");
	put_ep(f, "web", "b1", "{\"ip\":\"10.0.0.1\"}");
	put_ep(f, "web", "b2", "{\"ip\":\"10.0.0.2\",\"ready\":false}");
	put_ep(f, "web", "b3", "{\"ip\":\"10.0.0.3\",\"terminating\":true}");
	put_ep(f, "web", "b4", "{\"ip\":\"10.0.0.4\",\"node\":\"node-b\"}");
	assert_int_equal(model_verdict_put(f->m, "web", "b4", false, "odd \"reason\"\n\xff"), 0);
	put_svc(f, "v6", "{\"vip6\":\"fd00::11\",\"ports\":[{\"port\":53,\"protocol\":\"udp\"}]}");
	put_ep(f, "v6", "a", "{\"ip\":\"fd00:1::1\",\"weight\":5}");
	update(f);
}

static FILE *open_out(struct fx *f)
{
	free(f->out);
	f->out = NULL;
	return open_memstream(&f->out, &f->len);
}

static json_t *render_json(struct fx *f, const char *service)
{
	FILE *o = open_out(f);
	json_error_t err;
	json_t *j;

	assert_int_equal(status_json(o, &f->s, service), 0);
	fclose(o);
	j = json_loads(f->out, 0, &err);
	if (!j)
		fail_msg("/status is no JSON: %s at %d: %s", err.text, err.position, f->out);
	return j;
}

static json_t *backend(json_t *root, const char *svc, const char *id)
{
	json_t *b, *bs = json_object_get(json_object_get(json_object_get(root, "services"), svc),
					 "backends");
	size_t i;

	json_array_foreach(bs, i, b)
		if (!strcmp(json_string_value(json_object_get(b, "id")), id))
			return b;
	fail_msg("no backend %s/%s", svc, id);
	return NULL;
}

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	assert_non_null(s);
	return s;
}

static void status_states_and_odd_reasons(void **state)
{
	struct fx *f = *state;
	json_t *j, *web, *port;
	FILE *o;

	fill(f);
	j = render_json(f, NULL);
	assert_string_equal(str(j, "version"), "1.2.3");
	assert_true(json_is_false(json_object_get(j, "stale")));
	assert_string_equal(str(json_object_get(j, "sources"), "file"), "ok");
	web = json_object_get(json_object_get(j, "services"), "web");
	assert_string_equal(str(web, "vip"), "10.96.0.10");
	assert_string_equal(str(web, "vip6"), "fd00::10");
	port = json_array_get(json_object_get(web, "ports"), 0);
	assert_string_equal(str(port, "chain"), "lb-3");
	assert_string_equal(str(port, "chain6"), "lb-3");
	assert_int_equal(json_integer_value(json_object_get(port, "target_port")), 8080);
	assert_int_equal(json_array_size(json_object_get(web, "backends")), 4);
	assert_string_equal(str(backend(j, "web", "b1"), "state"), "healthy");
	assert_string_equal(str(backend(j, "web", "b2"), "state"), "not_ready");
	assert_string_equal(str(backend(j, "web", "b3"), "state"), "terminating");
	assert_string_equal(str(backend(j, "web", "b4"), "state"), "unhealthy");
	/* the reason survives as text, whatever it held */
	assert_string_equal(str(backend(j, "web", "b4"), "reason"),
			    "unhealthy: odd \"reason\"\n? (checked by node-b)");
	assert_int_equal(json_integer_value(json_object_get(backend(j, "web", "b4"), "effective")), 0);
	assert_int_equal(json_integer_value(json_object_get(backend(j, "web", "b1"), "port")), 8080);
	assert_string_equal(str(backend(j, "web", "b1"), "source"), "etcd");
	assert_non_null(strstr(str(backend(j, "web", "b1"), "since"), "Z"));
	assert_null(json_object_get(json_object_get(json_object_get(j, "services"), "v6"), "vip"));
	assert_string_equal(str(backend(j, "v6", "a"), "ip"), "fd00:1::1");
	json_decref(j);

	j = render_json(f, "v6");
	assert_int_equal(json_object_size(json_object_get(j, "services")), 1);
	json_decref(j);
	o = open_out(f);
	assert_int_equal(status_json(o, &f->s, "nope"), -ENOENT);
	fclose(o);
}

/* The value of the sample line "name{labels} value", or -1. */
static double sample(const char *text, const char *series)
{
	size_t n = strlen(series);

	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, series, n) && p[n] == ' ')
			return strtod(p + n + 1, NULL);
	return -1;
}

static void metrics_counts_and_buckets(void **state)
{
	struct fx *f = *state;
	FILE *o;

	fill(f);
	prom_observe(&f->ctr.programming, 0.0007);
	prom_observe(&f->ctr.programming, 0.003);
	prom_observe(&f->ctr.programming, 100);
	f->ctr.sync_failures = 2;
	o = open_out(f);
	status_metrics(o, &f->s);
	fclose(o);
	assert_int_equal(sample(f->out, "vipd_services"), 2);
	assert_int_equal(sample(f->out, "vipd_endpoints{state=\"ready\"}"), 2);
	assert_int_equal(sample(f->out, "vipd_endpoints{state=\"not_ready\"}"), 1);
	assert_int_equal(sample(f->out, "vipd_endpoints{state=\"terminating\"}"), 1);
	assert_int_equal(sample(f->out, "vipd_endpoints{state=\"unhealthy\"}"), 1);
	assert_int_equal(sample(f->out, "vipd_build_info{version=\"1.2.3\"}"), 1);
	assert_int_equal(sample(f->out, "vipd_source_up{source=\"file\"}"), 1);
	assert_int_equal(sample(f->out, "vipd_source_events_total{source=\"file\"}"), 4);
	assert_int_equal(sample(f->out, "vipd_sync_failures_total"), 2);
	/* cumulative: 0.7 ms in le 0.001, 3 ms from le 0.005 on, 100 s only in +Inf */
	assert_int_equal(sample(f->out, "vipd_network_programming_duration_seconds_bucket{le=\"0.0005\"}"), 0);
	assert_int_equal(sample(f->out, "vipd_network_programming_duration_seconds_bucket{le=\"0.001\"}"), 1);
	assert_int_equal(sample(f->out, "vipd_network_programming_duration_seconds_bucket{le=\"0.002\"}"), 1);
	assert_int_equal(sample(f->out, "vipd_network_programming_duration_seconds_bucket{le=\"0.005\"}"), 2);
	assert_int_equal(sample(f->out, "vipd_network_programming_duration_seconds_bucket{le=\"60\"}"), 2);
	assert_int_equal(sample(f->out, "vipd_network_programming_duration_seconds_bucket{le=\"+Inf\"}"), 3);
	assert_int_equal(sample(f->out, "vipd_network_programming_duration_seconds_count"), 3);
	assert_true(sample(f->out, "vipd_network_programming_duration_seconds_sum") > 100.003);
	assert_int_equal(sample(f->out, "vipd_sync_duration_seconds_count{kind=\"partial\"}"), 0);
	/* the counts follow changes: b2 made ready, v6 deleted, b1 deleted */
	put_ep(f, "web", "b2", "{\"ip\":\"10.0.0.2\"}");
	model_service_del(f->m, SRC_ETCD, "v6");
	model_endpoint_del(f->m, SRC_ETCD, "web", "b1");
	update_dirty(f);
	o = open_out(f);
	status_metrics(o, &f->s);
	fclose(o);
	assert_int_equal(sample(f->out, "vipd_services"), 1);
	assert_int_equal(sample(f->out, "vipd_endpoints{state=\"ready\"}"), 1);
	assert_int_equal(sample(f->out, "vipd_endpoints{state=\"not_ready\"}"), 0);
	assert_int_equal(sample(f->out, "vipd_endpoints{state=\"terminating\"}"), 1);
	assert_int_equal(sample(f->out, "vipd_endpoints{state=\"unhealthy\"}"), 1);
	/* every line is a comment or "series value" */
	for (char *p = f->out, *nl; *p; p = nl + 1) {
		assert_non_null(nl = strchr(p, '\n'));
		assert_true(*p == '#' || (memchr(p, ' ', (size_t)(nl - p)) && p[0] >= 'a'));
	}
}

static unsigned healthz(struct fx *f, json_t **body)
{
	FILE *o = open_out(f);
	unsigned code = status_healthz(o, &f->s);

	fclose(o);
	*body = json_loads(f->out, 0, NULL);
	assert_non_null(*body);
	return code;
}

static void healthz_rules(void **state)
{
	struct fx *f = *state;
	json_t *b;

	assert_int_equal(healthz(f, &b), 200);
	assert_true(json_is_null(json_object_get(b, "pending_since")));
	assert_non_null(strstr(str(b, "last_sync"), "T"));
	json_decref(b);

	f->s.kernel_differs = true;
	assert_int_equal(healthz(f, &b), 503);
	assert_non_null(strstr(str(b, "kernel"), "differs"));
	json_decref(b);

	f->s.kernel_differs = false;
	f->s.pending_since_ms = loop_now_ms() - 1000;
	assert_int_equal(healthz(f, &b), 200);	/* a second is no problem */
	json_decref(b);
	f->s.pending_since_ms = loop_now_ms() - STATUS_PENDING_MAX_MS - 1000;
	assert_int_equal(healthz(f, &b), 503);
	assert_non_null(strstr(str(b, "pending_since"), "Z"));
	json_decref(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(status_states_and_odd_reasons, setup, teardown),
		cmocka_unit_test_setup_teardown(metrics_counts_and_buckets, setup, teardown),
		cmocka_unit_test_setup_teardown(healthz_rules, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

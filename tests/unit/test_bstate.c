/* Backend states: each input (ready, terminating, a verdict, slow start,
 * draining) gives the state, reason and weight the planner sees, and the
 * family rules (fail open, terminating fallback) look at all of them. */
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

#include "bstate.h"
#include "codec.h"
#include "log.h"
#include "loop.h"
#include "model.h"
#include "reconcile.h"

struct fx {
	struct loop *loop;
	struct model *m;
	struct bstate *bs;
	struct bs_conf conf;
	unsigned drains;
	struct ct_match drained[4];
	size_t n_drained;
	unsigned moves;		/* log lines of a change of state */
	char last[512];
};

static struct fx *cur;

static void sink(enum vlog_level level, const char *line)
{
	if (strstr(line, "\" backend ") && strstr(line, " -> ") && level <= VLOG_INFO) {
		cur->moves++;
		snprintf(cur->last, sizeof(cur->last), "%s", line);
	}
}

static void on_drain(void *arg, const char *service, const char *id, const struct ct_match *m,
		     size_t n)
{
	struct fx *f = arg;

	f->drains++;
	f->n_drained = n < 4 ? n : 4;
	memcpy(f->drained, m, f->n_drained * sizeof(*m));
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct bs_hooks hooks = { .drain = on_drain, .arg = f };

	f->loop = loop_alloc();
	f->m = model_alloc();
	f->conf.node = "node-a";
	f->conf.follow_verdicts = true;
	f->bs = bs_alloc(f->loop, f->m, &f->conf, &hooks);
	assert_non_null(f->bs);
	cur = f;
	vlog_sink = sink;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	vlog_sink = NULL;
	bs_free(f->bs);
	model_free(f->m);
	loop_free(f->loop);
	free(f);
	return 0;
}

static void put_svc(struct fx *f, const char *json)
{
	struct service *s;
	char err[CODEC_ERR_LEN];

	assert_int_equal(codec_service_parse_text("web", json, strlen(json), &s, err), 0);
	assert_int_equal(model_service_put(f->m, SRC_FILE, s), 0);
}

static struct endpoint *ep_of(const char *id, const char *json)
{
	struct endpoint *e;
	char err[CODEC_ERR_LEN];

	assert_int_equal(codec_endpoint_parse_text(id, json, strlen(json), &e, err), 0);
	return e;
}

static void put_ep(struct fx *f, enum source_id src, const char *id, const char *json,
		   uint8_t cause)
{
	struct endpoint *e = ep_of(id, json);

	e->cause = cause;
	assert_int_equal(model_endpoint_put(f->m, src, "web", e), 0);
}

static void update(struct fx *f)
{
	struct name_list dirty;

	model_dirty_take(f->m, &dirty);
	assert_int_equal(bs_update(f->bs, &dirty, false), 0);
	model_names_free(&dirty);
}

/* The view of backend id (from any source). */
static struct bs_view view(struct fx *f, const char *id)
{
	struct bs_view v;

	for (struct bs_iter it = { 0 }; bs_next(f->bs, &it, &v);)
		if (!strcmp(v.id, id))
			return v;
	fail_msg("no backend %s", id);
	return v;
}

static void stop_cb(struct loop *l, void *arg)
{
	loop_stop(l);
}

static void before(struct loop *l, void *arg)
{
	struct fx *f = arg;

	if (model_dirty(f->m))
		update(f);
}

/* Runs the loop for ms, updating the states whenever a service is dirty
 * (as vipd's reconcile does). */
static void run_for(struct fx *f, uint64_t ms)
{
	loop_before_sleep(f->loop, before, f);
	loop_timer_add(f->loop, ms, stop_cb, NULL);
	loop_run(f->loop);
}

static const char *web = "{\"vip\":\"10.96.0.10\",\"ports\":[{\"port\":80,\"target_port\":8080}]}";

static void ready_and_terminating(void **state)
{
	struct fx *f = *state;

	put_svc(f, web);
	put_ep(f, SRC_FILE, "b1", "{\"ip\":\"10.0.0.1\",\"weight\":50}", CAUSE_NONE);
	put_ep(f, SRC_FILE, "b2", "{\"ip\":\"10.0.0.2\",\"ready\":false}", CAUSE_DOCKER_STARTING);
	update(f);
	assert_int_equal(view(f, "b1").state, BS_HEALTHY);
	assert_int_equal(view(f, "b1").effective, 50);
	assert_string_equal(view(f, "b1").reason, "healthy");
	assert_int_equal(view(f, "b2").state, BS_NOT_READY);
	assert_int_equal(view(f, "b2").effective, 0);
	assert_string_equal(view(f, "b2").reason, "not ready: docker health starting");
	assert_int_equal(f->moves, 0);	/* vipd's start: nothing moved */

	put_ep(f, SRC_FILE, "b1", "{\"ip\":\"10.0.0.1\",\"weight\":50,\"terminating\":true}",
	       CAUSE_DOCKER_KILL);
	put_ep(f, SRC_FILE, "b2", "{\"ip\":\"10.0.0.2\"}", CAUSE_NONE);
	update(f);
	assert_int_equal(view(f, "b1").state, BS_TERMINATING);
	assert_int_equal(view(f, "b1").effective, 0);
	assert_string_equal(view(f, "b1").reason, "terminating: docker kill");
	assert_int_equal(view(f, "b2").state, BS_HEALTHY);
	assert_int_equal(f->moves, 2);
	assert_non_null(strstr(f->last, "service \"web\" backend "));
}

/* No ready backend but terminating ones that still pass: they serve. */
static void terminating_fallback(void **state)
{
	struct fx *f = *state;

	put_svc(f, web);
	put_ep(f, SRC_FILE, "b1", "{\"ip\":\"10.0.0.1\",\"terminating\":true}", CAUSE_DOCKER_STOP);
	put_ep(f, SRC_FILE, "b2", "{\"ip\":\"10.0.0.2\",\"terminating\":true,\"ready\":false}",
	       CAUSE_NONE);
	update(f);
	assert_int_equal(view(f, "b1").effective, 100);
	assert_non_null(strstr(view(f, "b1").reason, "still serving: no ready backend"));
	assert_int_equal(view(f, "b2").effective, 0);	/* not serving: stays out */

	put_ep(f, SRC_FILE, "b3", "{\"ip\":\"10.0.0.3\"}", CAUSE_NONE);
	update(f);
	assert_int_equal(view(f, "b1").effective, 0);
	assert_int_equal(view(f, "b3").effective, 100);
}

/* Another node's verdict on its backend is followed; all failing: fail
 * open. */
static void verdicts_and_fail_open(void **state)
{
	struct fx *f = *state;
	const char *b1 = "{\"ip\":\"10.0.0.1\",\"node\":\"node-b\"}";
	const char *b2 = "{\"ip\":\"10.0.0.2\",\"node\":\"node-c\"}";

	put_svc(f, "{\"vip\":\"10.96.0.10\",\"ports\":[{\"port\":80}],\"health\":{\"type\":\"tcp\"}}");
	put_ep(f, SRC_ETCD, "b1", b1, CAUSE_NONE);
	put_ep(f, SRC_ETCD, "b2", b2, CAUSE_NONE);
	update(f);
	assert_int_equal(view(f, "b1").state, BS_HEALTHY);

	assert_int_equal(model_verdict_put(f->m, "web", "b1", false, "HTTP 500 (3 of 3)"), 0);
	update(f);
	assert_int_equal(view(f, "b1").state, BS_UNHEALTHY);
	assert_int_equal(view(f, "b1").effective, 0);
	assert_string_equal(view(f, "b1").reason, "unhealthy: HTTP 500 (3 of 3) (checked by node-b)");
	assert_int_equal(view(f, "b2").effective, 100);

	assert_int_equal(model_verdict_put(f->m, "web", "b2", false, "connect refused (3 of 3)"), 0);
	update(f);
	assert_int_equal(view(f, "b1").effective, 100);
	assert_int_equal(view(f, "b2").effective, 100);
	assert_non_null(strstr(view(f, "b2").reason, "fail open"));

	model_verdict_del(f->m, "web", "b1");
	update(f);
	assert_int_equal(view(f, "b1").state, BS_HEALTHY);
	assert_int_equal(view(f, "b2").effective, 0);
}

static void not_local(void **state)
{
	struct fx *f = *state;

	put_svc(f, "{\"vip\":\"10.96.0.10\",\"ports\":[{\"port\":80}],\"traffic_policy\":\"local\"}");
	put_ep(f, SRC_ETCD, "b1", "{\"ip\":\"10.0.0.1\",\"node\":\"node-b\"}", CAUSE_NONE);
	put_ep(f, SRC_ETCD, "b2", "{\"ip\":\"10.0.0.2\",\"node\":\"node-a\"}", CAUSE_NONE);
	update(f);
	assert_int_equal(view(f, "b1").state, BS_NOT_LOCAL);
	assert_string_equal(view(f, "b1").reason, "not local");
	assert_int_equal(view(f, "b1").effective, 0);
	assert_int_equal(view(f, "b2").effective, 100);
}

/* A backend added after the start ramps 10 % -> 100 % in 10 % steps;
 * those present at the start do not. */
static void slow_start(void **state)
{
	struct fx *f = *state;
	uint32_t seen[16], n = 0;

	put_svc(f, "{\"vip\":\"10.96.0.10\",\"ports\":[{\"port\":80}],\"slow_start\":1}");
	put_ep(f, SRC_FILE, "b1", "{\"ip\":\"10.0.0.1\"}", CAUSE_NONE);
	update(f);
	assert_int_equal(view(f, "b1").effective, 100);

	put_ep(f, SRC_FILE, "b2", "{\"ip\":\"10.0.0.2\",\"weight\":200}", CAUSE_NONE);
	update(f);
	assert_int_equal(view(f, "b2").state, BS_SLOW_START);
	assert_int_equal(view(f, "b2").effective, 20);
	assert_string_equal(view(f, "b2").reason, "slow start 10%");
	seen[n++] = 20;
	for (int i = 0; i < 30 && view(f, "b2").state == BS_SLOW_START; i++) {
		run_for(f, 50);
		if (view(f, "b2").effective != seen[n - 1] && n < 16)
			seen[n++] = view(f, "b2").effective;
	}
	assert_int_equal(view(f, "b2").state, BS_HEALTHY);
	assert_int_equal(view(f, "b2").effective, 200);
	/* at least 5 steps, each up, the last the full weight */
	assert_true(n >= 6);
	for (uint32_t i = 1; i < n; i++)
		assert_true(seen[i] > seen[i - 1]);
	assert_int_equal(view(f, "b1").effective, 100);
}

/* A removed TCP backend drains drain_seconds, then its entries go. */
static void drain(void **state)
{
	struct fx *f = *state;

	put_svc(f, "{\"vip\":\"10.96.0.10\",\"ports\":[{\"port\":80,\"target_port\":8080,\"node_port\":30080},"
		   "{\"name\":\"dns\",\"port\":53,\"protocol\":\"udp\"}],\"drain_seconds\":1}");
	put_ep(f, SRC_FILE, "b1", "{\"ip\":\"10.0.0.1\"}", CAUSE_NONE);
	put_ep(f, SRC_FILE, "b2", "{\"ip\":\"10.0.0.2\"}", CAUSE_NONE);
	update(f);
	model_endpoint_del(f->m, SRC_FILE, "web", "b1");
	update(f);
	assert_int_equal(view(f, "b1").state, BS_DRAINING);
	assert_int_equal(view(f, "b1").effective, 0);
	assert_string_equal(view(f, "b1").reason, "removed, draining 1 s left");
	run_for(f, 600);
	assert_int_equal(f->drains, 0);
	run_for(f, 600);
	assert_int_equal(f->drains, 1);
	/* the VIP and the node port, TCP only */
	assert_int_equal(f->n_drained, 2);
	assert_int_equal(f->drained[0].proto, IPPROTO_TCP);
	assert_int_equal(f->drained[0].be_port, 8080);
	assert_int_equal(f->drained[0].be[3], 1);
	assert_true(f->drained[0].any_dst != f->drained[1].any_dst);
	for (struct bs_iter it = { 0 }; ; ) {
		struct bs_view v;

		if (!bs_next(f->bs, &it, &v))
			break;
		assert_string_not_equal(v.id, "b1");
	}

	/* back before its drain is over: nothing is cut */
	model_endpoint_del(f->m, SRC_FILE, "web", "b2");
	update(f);
	put_ep(f, SRC_FILE, "b2", "{\"ip\":\"10.0.0.2\"}", CAUSE_NONE);
	update(f);
	run_for(f, 1200);
	assert_int_equal(f->drains, 1);
	assert_int_equal(view(f, "b2").state, BS_HEALTHY);

	/* the service deleted: its last backend drains too */
	model_service_del(f->m, SRC_FILE, "web");
	update(f);
	assert_int_equal(view(f, "b2").state, BS_DRAINING);
	run_for(f, 1200);
	assert_int_equal(f->drains, 2);
}

/* The planner shares slots by the effective weight. */
static void planner_weighs(void **state)
{
	struct fx *f = *state;
	struct reconciler *rec = rec_alloc("node-a");
	struct changes c = { 0 };
	struct name_list dirty;
	size_t be = 0;

	rec_set_weigh(rec, bs_weight, f->bs);
	put_svc(f, "{\"vip\":\"10.96.0.10\",\"ports\":[{\"port\":80}],\"slow_start\":30}");
	put_ep(f, SRC_FILE, "b1", "{\"ip\":\"10.0.0.1\"}", CAUSE_NONE);
	update(f);
	put_ep(f, SRC_FILE, "b2", "{\"ip\":\"10.0.0.2\"}", CAUSE_NONE);
	model_dirty_take(f->m, &dirty);
	assert_int_equal(bs_update(f->bs, &dirty, false), 0);
	assert_int_equal(rec_plan(rec, f->m, &dirty, true, &c), 0);
	model_names_free(&dirty);
	for (size_t i = 0; i < c.n; i++)
		be += c.v[i].op == CH_BE_ADD;
	assert_int_equal(be, 11);	/* 100:10 */
	changes_free(&c);
	rec_free(rec);
}

/* A removed backend's drain must not cut a live backend that took its
 * address; the same id back on another address: the old one's
 * connections are still cut. */
static void drain_and_addresses(void **state)
{
	struct fx *f = *state;

	put_svc(f, "{\"vip\":\"10.96.0.10\",\"ports\":[{\"port\":80}],\"drain_seconds\":1}");
	put_ep(f, SRC_FILE, "b1", "{\"ip\":\"10.0.0.1\"}", CAUSE_NONE);
	put_ep(f, SRC_FILE, "b2", "{\"ip\":\"10.0.0.2\"}", CAUSE_NONE);
	update(f);
	model_endpoint_del(f->m, SRC_FILE, "web", "b1");
	put_ep(f, SRC_FILE, "b3", "{\"ip\":\"10.0.0.1\"}", CAUSE_NONE);
	update(f);
	model_endpoint_del(f->m, SRC_FILE, "web", "b2");
	update(f);
	put_ep(f, SRC_FILE, "b2", "{\"ip\":\"10.0.0.9\"}", CAUSE_NONE);
	update(f);
	run_for(f, 1300);
	assert_int_equal(f->drains, 1);
	assert_int_equal(f->drained[0].be[3], 2);
	assert_int_equal(view(f, "b3").state, BS_HEALTHY);
}

/* A terminating backend that passes beats one failing its check; and
 * while the fallback sends it clients its connections are not cut. */
static void fallback_before_fail_open(void **state)
{
	struct fx *f = *state;

	put_svc(f, "{\"vip\":\"10.96.0.10\",\"ports\":[{\"port\":80}],\"health\":{\"type\":\"tcp\"},\"drain_seconds\":1}");
	put_ep(f, SRC_ETCD, "b1", "{\"ip\":\"10.0.0.1\",\"node\":\"node-b\"}", CAUSE_NONE);
	put_ep(f, SRC_ETCD, "b2", "{\"ip\":\"10.0.0.2\",\"node\":\"node-c\"}", CAUSE_NONE);
	update(f);
	put_ep(f, SRC_ETCD, "b2", "{\"ip\":\"10.0.0.2\",\"node\":\"node-c\",\"terminating\":true}",
	       CAUSE_NONE);
	assert_int_equal(model_verdict_put(f->m, "web", "b1", false, "connect refused (3 of 3)"), 0);
	update(f);
	assert_int_equal(view(f, "b1").effective, 0);
	assert_int_equal(view(f, "b2").effective, 100);
	assert_null(strstr(view(f, "b1").reason, "fail open"));
	run_for(f, 1300);
	assert_int_equal(f->drains, 0);
	/* b1 passes again: b2 stops serving and drains from now */
	model_verdict_del(f->m, "web", "b1");
	update(f);
	assert_int_equal(view(f, "b2").effective, 0);
	assert_non_null(strstr(view(f, "b2").reason, "draining"));
	run_for(f, 1300);
	assert_int_equal(f->drains, 1);
}

/* One change, and removing half of a 20,000-endpoint service, cost
 * about the endpoints that changed (ASan build: generous bounds). */
static void many_endpoints(void **state)
{
	struct fx *f = *state;
	char id[32], js[64];
	unsigned n = 20000;
	uint64_t t;

	put_svc(f, web);
	for (unsigned i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "b%u", i);
		snprintf(js, sizeof(js), "{\"ip\":\"10.%u.%u.%u\"}", (i >> 16) & 255, (i >> 8) & 255,
			 i & 255);
		put_ep(f, SRC_FILE, id, js, CAUSE_NONE);
	}
	update(f);
	for (unsigned i = 0; i < n / 2; i++) {
		snprintf(id, sizeof(id), "b%u", i);
		model_endpoint_del(f->m, SRC_FILE, "web", id);
	}
	t = loop_now_ms();
	update(f);
	assert_true(loop_now_ms() - t < 500);
	model_service_del(f->m, SRC_FILE, "web");
	t = loop_now_ms();
	update(f);
	assert_true(loop_now_ms() - t < 500);
}

/* A ramp cut short by a failed check starts again from 10 %. */
static void ramp_restarts(void **state)
{
	struct fx *f = *state;

	put_svc(f, "{\"vip\":\"10.96.0.10\",\"ports\":[{\"port\":80}],\"slow_start\":2,\"health\":{\"type\":\"tcp\"}}");
	put_ep(f, SRC_ETCD, "b1", "{\"ip\":\"10.0.0.1\",\"node\":\"node-b\"}", CAUSE_NONE);
	update(f);
	put_ep(f, SRC_ETCD, "b2", "{\"ip\":\"10.0.0.2\",\"node\":\"node-b\"}", CAUSE_NONE);
	update(f);
	run_for(f, 700);
	assert_true(view(f, "b2").effective > 10);
	assert_int_equal(model_verdict_put(f->m, "web", "b2", false, "x"), 0);
	update(f);
	assert_int_equal(view(f, "b2").effective, 0);
	model_verdict_del(f->m, "web", "b2");
	update(f);
	assert_int_equal(view(f, "b2").effective, 10);
	run_for(f, 2300);
	assert_int_equal(view(f, "b2").state, BS_HEALTHY);
	assert_int_equal(view(f, "b2").effective, 100);
}

/* A service that gets slow start, or loses draining, keeps its backends
 * as they were: no ramp of those already serving, no drain. */
static void features_come_and_go(void **state)
{
	struct fx *f = *state;

	put_svc(f, web);
	put_ep(f, SRC_FILE, "b1", "{\"ip\":\"10.0.0.1\"}", CAUSE_NONE);
	update(f);
	put_svc(f, "{\"vip\":\"10.96.0.10\",\"ports\":[{\"port\":80}],\"slow_start\":9,\"drain_seconds\":1}");
	update(f);
	assert_int_equal(view(f, "b1").state, BS_HEALTHY);
	assert_int_equal(view(f, "b1").effective, 100);
	put_svc(f, web);
	update(f);
	assert_int_equal(view(f, "b1").effective, 100);
	run_for(f, 1200);
	assert_int_equal(f->drains, 0);
	assert_int_equal(f->moves, 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(ready_and_terminating), T(terminating_fallback), T(verdicts_and_fail_open),
		T(not_local), T(slow_start), T(drain), T(planner_weighs), T(drain_and_addresses),
		T(fallback_before_fail_open), T(many_endpoints), T(ramp_restarts),
		T(features_come_and_go),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

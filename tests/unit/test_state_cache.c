/* The state cache: what is written reads back equal (every service field,
 * every endpoint field, the header); endpoints that took no traffic are
 * read back not ready; a write is atomic (a leftover or failed temp file
 * never replaces state.json); a corrupt file is refused naming the path
 * and what is wrong; a burst of changes within a second is one write. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "codec.h"
#include "log.h"
#include "loop.h"
#include "model.h"
#include "state_cache.h"

static const char *const rich_svc =
	"{\"vip\":\"10.96.0.10\",\"vip6\":\"fd00::10\",\"ports\":["
	"{\"name\":\"http\",\"port\":80,\"protocol\":\"tcp\",\"target_port\":8080,\"node_port\":30080},"
	"{\"name\":\"dns\",\"port\":53,\"protocol\":\"udp\"},{\"port\":9000,\"protocol\":\"sctp\"}],"
	"\"algorithm\":\"maglev\",\"affinity_timeout\":600,\"traffic_policy\":\"local\","
	"\"slow_start\":30,\"drain_seconds\":20,"
	"\"health\":{\"type\":\"http\",\"path\":\"/healthz\",\"port\":8081,\"expect\":204,"
	"\"interval_ms\":500,\"timeout_ms\":300,\"rise\":3,\"fall\":4},"
	"\"external_ips\":[\"203.0.113.7\",\"2001:db8::7\"],"
	"\"source_ranges\":[\"198.51.100.0/24\",\"2001:db8:1::/48\"]}";
static const char *const plain_svc =
	"{\"vip\":\"10.96.0.20\",\"ports\":[{\"port\":443}],\"algorithm\":\"round-robin\","
	"\"health\":{}}";

static char *dir_make(void)
{
	char *d = strdup("/tmp/vipd-sc-XXXXXX");

	assert_non_null(mkdtemp(d));
	return d;
}

static void dir_remove(char *d)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
	assert_int_equal(system(cmd), 0);
	free(d);
}

static void put_svc(struct model *m, const char *name, const char *json)
{
	char err[CODEC_ERR_LEN];
	struct service *svc;

	assert_int_equal(codec_service_parse_text(name, json, strlen(json), &svc, err), 0);
	assert_int_equal(model_service_put(m, SRC_ETCD, svc), 0);
}

static void put_ep(struct model *m, const char *svc, const char *id, const char *json)
{
	char err[CODEC_ERR_LEN];
	struct endpoint *ep;

	assert_int_equal(codec_endpoint_parse_text(id, json, strlen(json), &ep, err), 0);
	assert_int_equal(model_endpoint_put(m, SRC_ETCD, svc, ep), 0);
}

static struct model *sample(void)
{
	struct model *m = model_alloc();

	assert_non_null(m);
	put_svc(m, "web", rich_svc);
	put_svc(m, "api.v2", plain_svc);
	put_ep(m, "web", "b1", "{\"ip\":\"10.0.0.1\",\"ports\":{\"http\":8080,\"dns\":5353},"
	       "\"weight\":300,\"node\":\"node-a\",\"zone\":\"z1\"}");
	put_ep(m, "web", "node-b:c0ffee", "{\"ip\":\"fd00::2\",\"port\":8080,\"ready\":false}");
	put_ep(m, "api.v2", "b3", "{\"ip\":\"10.0.0.3\",\"terminating\":true}");
	return m;
}

static const struct endpoint *ep_find(const struct model *m, const char *svc, const char *id)
{
	struct endpoint *const *eps;
	size_t n = model_endpoints_get(m, svc, &eps);

	for (size_t i = 0; i < n; i++)
		if (!strcmp(eps[i]->id, id))
			return eps[i];
	return NULL;
}

static void ep_equal(const struct endpoint *a, const struct endpoint *b)
{
	assert_non_null(a);
	assert_non_null(b);
	assert_string_equal(a->id, b->id);
	assert_true(addr_equal(&a->ip, &b->ip));
	assert_int_equal(a->port, b->port);
	assert_int_equal(a->n_ports, b->n_ports);
	for (unsigned i = 0; i < a->n_ports; i++) {
		unsigned j = 0;

		while (j < b->n_ports && strcmp(a->ports[i].name, b->ports[j].name))
			j++;
		assert_true(j < b->n_ports);
		assert_int_equal(a->ports[i].port, b->ports[j].port);
	}
	assert_int_equal(a->weight, b->weight);
	assert_string_equal(a->node ? a->node : "", b->node ? b->node : "");
	assert_string_equal(a->zone ? a->zone : "", b->zone ? b->zone : "");
	assert_int_equal(a->ready, b->ready);
	assert_int_equal(a->terminating, b->terminating);
}

static void models_equal(const struct model *a, const struct model *b)
{
	const char *name;

	assert_int_equal(model_service_count(a), model_service_count(b));
	for (size_t it = 0; (name = model_service_next(a, &it));) {
		struct endpoint *const *eps;
		size_t n = model_endpoints_get(a, name, &eps);

		assert_non_null(model_service_get(b, name));
		assert_true(service_equal(model_service_get(a, name), model_service_get(b, name)));
		assert_int_equal(model_endpoints_get(b, name, &(struct endpoint *const *){ 0 }), n);
		for (size_t i = 0; i < n; i++)
			ep_equal(eps[i], ep_find(b, name, eps[i]->id));
	}
}

static void write_then_read(void **state)
{
	char *d = dir_make(), err[SC_ERR_LEN];
	struct model *m = sample(), *back = model_alloc();
	struct sc_header h;
	size_t bytes = 0;

	assert_int_equal(sc_save(d, "node-a", m, NULL, NULL, &bytes, err), 0);
	assert_true(bytes > 500);
	assert_int_equal(sc_load(d, back, &h, err), 0);
	models_equal(m, back);
	assert_string_equal(h.node, "node-a");
	assert_int_equal(h.services, 2);
	assert_int_equal(h.endpoints, 3);
	/* 2026-12-01T18:07:23Z */
	assert_int_equal(strlen(h.written_at), 20);
	assert_int_equal(h.written_at[10], 'T');
	assert_int_equal(h.written_at[19], 'Z');
	model_free(back);
	model_free(m);
	dir_remove(d);
}

/* b1 unhealthy (weight 0), b3 terminating but serving (the fallback). */
static uint32_t weigh(void *arg, const struct service *svc, const struct endpoint *ep)
{
	if (!strcmp(ep->id, "b1"))
		return 0;
	if (!strcmp(ep->id, "b3"))
		return 50;
	return ep->ready && !ep->terminating ? ep->weight : 0;
}

static void traffic_as_it_was(void **state)
{
	char *d = dir_make(), err[SC_ERR_LEN];
	struct model *m = sample(), *back = model_alloc();
	const struct endpoint *e;
	struct sc_header h;

	assert_int_equal(sc_save(d, NULL, m, weigh, NULL, NULL, err), 0);
	assert_int_equal(sc_load(d, back, &h, err), 0);
	assert_string_equal(h.node, "");
	e = ep_find(back, "web", "b1");
	assert_non_null(e);
	assert_false(e->ready);			/* took no traffic */
	assert_int_equal(e->weight, 300);	/* the configured weight stays */
	e = ep_find(back, "web", "node-b:c0ffee");
	assert_false(e->ready);
	e = ep_find(back, "api.v2", "b3");
	assert_true(e->ready);			/* it served: it serves again */
	assert_false(e->terminating);
	model_free(back);
	model_free(m);
	dir_remove(d);
}

static void file_put(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_non_null(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
}

static size_t services_in(const char *dir)
{
	struct model *m = model_alloc();
	char err[SC_ERR_LEN];
	struct sc_header h;
	size_t n;

	assert_int_equal(sc_load(dir, m, &h, err), 0);
	n = model_service_count(m);
	model_free(m);
	return n;
}

static void atomic(void **state)
{
	char *d = dir_make(), err[SC_ERR_LEN], tmp[512];
	struct model *m = sample(), *one = model_alloc();
	struct stat st;

	put_svc(one, "solo", plain_svc);
	assert_int_equal(sc_save(d, NULL, m, NULL, NULL, NULL, err), 0);
	snprintf(tmp, sizeof(tmp), "%s/" SC_TMP_FILE, d);
	assert_int_equal(stat(tmp, &st), -1);	/* renamed, nothing left */
	/* a crash mid-write leaves a torn temp file: never read */
	file_put(d, SC_TMP_FILE, "{\"vipd_state\":{\"version\":1},\"services\":{\"so");
	assert_int_equal(services_in(d), 2);
	/* a write that fails before its rename keeps the old file */
	unlink(tmp);
	assert_int_equal(mkdir(tmp, 0700), 0);
	assert_int_equal(sc_save(d, NULL, one, NULL, NULL, NULL, err), -EISDIR);
	assert_non_null(strstr(err, tmp));
	assert_non_null(strstr(err, strerror(EISDIR)));
	assert_int_equal(services_in(d), 2);
	assert_int_equal(rmdir(tmp), 0);
	assert_int_equal(sc_save(d, NULL, one, NULL, NULL, NULL, err), 0);
	assert_int_equal(services_in(d), 1);
	model_free(one);
	model_free(m);
	dir_remove(d);
}

static void dir_created(void **state)
{
	char *d = dir_make(), sub[512], err[SC_ERR_LEN];
	struct model *m = sample();
	struct stat st;

	snprintf(sub, sizeof(sub), "%s/state", d);
	assert_int_equal(sc_save(sub, NULL, m, NULL, NULL, NULL, err), 0);
	assert_int_equal(stat(sub, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(services_in(sub), 2);
	/* a missing parent is made too (/var/lib/vipd/<table>); two are an
	 * error naming the directory */
	snprintf(sub, sizeof(sub), "%s/other/state", d);
	assert_int_equal(sc_save(sub, NULL, m, NULL, NULL, NULL, err), 0);
	assert_int_equal(services_in(sub), 2);
	snprintf(sub, sizeof(sub), "%s/no/such/state", d);
	assert_int_equal(sc_save(sub, NULL, m, NULL, NULL, NULL, err), -ENOENT);
	assert_non_null(strstr(err, sub));
	model_free(m);
	dir_remove(d);
}

/* The error of loading text as state.json. */
static int load_text(const char *d, const char *text, char *err)
{
	struct model *m = model_alloc();
	struct sc_header h;
	int ret;

	file_put(d, SC_FILE, text);
	ret = sc_load(d, m, &h, err);
	model_free(m);
	return ret;
}

static void corrupt_refused(void **state)
{
	char *d = dir_make(), err[SC_ERR_LEN], path[512];
	struct model *m = model_alloc();
	struct sc_header h;

	snprintf(path, sizeof(path), "%s/" SC_FILE, d);
	assert_int_equal(sc_load(d, m, &h, err), -ENOENT);
	assert_int_equal(load_text(d, "{\"vipd_state\":{\"version\":1},\"services\":{\"web\":{\"vip\"", err),
			 -EINVAL);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "line 1"));
	assert_int_equal(load_text(d, "{\"services\":{}}", err), -EINVAL);
	assert_non_null(strstr(err, "no vipd_state header"));
	assert_int_equal(load_text(d, "{\"vipd_state\":{\"version\":2},\"services\":{}}", err), -EINVAL);
	assert_non_null(strstr(err, "version: 2, this vipd reads 1"));
	assert_int_equal(load_text(d, "{\"vipd_state\":{\"version\":1},\"services\":{"
				      "\"web\":{\"vip\":\"10.96.0.300\",\"ports\":[{\"port\":80}]}}}", err),
			 -EINVAL);
	assert_non_null(strstr(err, "service \"web\": field vip"));
	assert_int_equal(load_text(d, "{\"vipd_state\":{\"version\":1},\"services\":{},"
				      "\"endpoints\":{\"web\":{\"b1\":{\"ip\":\"x\"}}}}", err), -EINVAL);
	assert_non_null(strstr(err, "endpoint \"web/b1\": field ip"));
	model_free(m);
	dir_remove(d);
}

/* Throttle: 30 changes 10 ms apart, then the loop runs until the write's
 * report is in (the child's time depends on the machine: at most 10 s). */
struct burst {
	struct loop *l;
	struct state_cache *sc;
	struct model *m;
	int ticks;
	unsigned writes_during;	/* writes seen while the burst lasted */
	uint64_t deadline;
};

static void tick(struct loop *l, void *arg)
{
	struct burst *b = arg;
	char name[32];

	snprintf(name, sizeof(name), "svc-%d", b->ticks);
	put_svc(b->m, name, plain_svc);
	sc_changed(b->sc);
	b->writes_during += sc_writes(b->sc);
	if (++b->ticks < 30)
		loop_timer_add(l, 10, tick, b);
}

static void until_written(struct loop *l, void *arg)
{
	struct burst *b = arg;

	if (sc_writes(b->sc) || loop_now_ms() > b->deadline)
		loop_stop(l);
	else
		loop_timer_add(l, 20, until_written, b);
}

static void throttled(void **state)
{
	char *d = dir_make();
	struct burst b = { .l = loop_alloc(), .m = model_alloc() };

	assert_non_null(b.l);
	b.sc = sc_alloc(b.l, d, NULL, b.m, NULL, NULL);
	assert_non_null(b.sc);
	b.deadline = loop_now_ms() + 10000;
	loop_timer_add(b.l, 0, tick, &b);
	loop_timer_add(b.l, SC_WRITE_DELAY_MS / 2, until_written, &b);
	assert_int_equal(loop_run(b.l), 0);
	assert_int_equal(b.ticks, 30);
	assert_int_equal(b.writes_during, 0);	/* not before the delay */
	assert_int_equal(sc_writes(b.sc), 1);
	assert_int_equal(services_in(d), 30);	/* with every change */
	/* pending at exit: sc_free writes it */
	put_svc(b.m, "last", plain_svc);
	sc_changed(b.sc);
	sc_free(b.sc);
	assert_int_equal(services_in(d), 31);
	model_free(b.m);
	loop_free(b.l);
	dir_remove(d);
}

/* The cost at 10,000 services x 10 endpoints (under the sanitizers here;
 * scripts/bench/state_cache.sh measures an optimised build). */
static void cost_at_scale(void **state)
{
	char *d = dir_make(), err[SC_ERR_LEN];
	struct model *m = model_alloc(), *back = model_alloc();
	struct sc_header h;
	uint64_t t0, t1, t2;
	size_t bytes;

	for (int s = 0; s < 10000; s++) {
		char name[32], svc[256];

		snprintf(name, sizeof(name), "svc-%d", s);
		snprintf(svc, sizeof(svc), "{\"vip\":\"10.%d.%d.%d\",\"ports\":[{\"name\":\"http\",\"port\":80,\"target_port\":8080}]}",
			 96 + s / 65536, s / 256 % 256, s % 256);
		put_svc(m, name, svc);
		for (int e = 0; e < 10; e++) {
			char id[16], ep[128];

			snprintf(id, sizeof(id), "e%d", e);
			snprintf(ep, sizeof(ep), "{\"ip\":\"10.%d.%d.%d\",\"port\":8080,\"node\":\"node-%d\"}",
				 1 + e, s / 256, s % 256, e);
			put_ep(m, name, id, ep);
		}
	}
	t0 = loop_now_ms();
	assert_int_equal(sc_save(d, "node-a", m, NULL, NULL, &bytes, err), 0);
	t1 = loop_now_ms();
	assert_int_equal(sc_load(d, back, &h, err), 0);
	t2 = loop_now_ms();
	assert_int_equal(h.endpoints, 100000);
	print_message("state cache, 10,000 services x 10 endpoints (ASan/UBSan build): "
		      "write %llu ms, %zu bytes; read %llu ms\n",
		      (unsigned long long)(t1 - t0), bytes, (unsigned long long)(t2 - t1));
	model_free(back);
	model_free(m);
	dir_remove(d);
}

int main(void)
{
	vlog_threshold = VLOG_WARN;	/* the model's "added" lines */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(write_then_read),
		cmocka_unit_test(traffic_as_it_was),
		cmocka_unit_test(atomic),
		cmocka_unit_test(dir_created),
		cmocka_unit_test(corrupt_refused),
		cmocka_unit_test(throttled),
		cmocka_unit_test(cost_at_scale),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

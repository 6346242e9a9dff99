/* /metrics, /healthz and /status: rendered on request from the model and
 * the backend states, so they cost nothing between scrapes. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <netinet/in.h>

#include <jansson.h>

#include "addr.h"
#include "health.h"
#include "loop.h"
#include "status.h"
#include "timefmt.h"

static const char *const source_names[SRC_MAX] = {
	[SRC_FILE] = "file", [SRC_ETCD] = "etcd", [SRC_DOCKER] = "docker",
};

static const char *source_name(uint8_t src)
{
	return src < SRC_MAX ? source_names[src] : "?";
}

/* ---- JSON pieces ---------------------------------------------------------- */

/* Names and addresses need no escaping; reasons may come from another
 * node's verdict in etcd, so anything unusual goes through jansson (and
 * bytes that are no UTF-8 become '?'). */
static void jstr(FILE *f, const char *s)
{
	char safe[256];
	json_t *j;
	size_t i;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p >= 0x7f || *p == '"' || *p == '\\')
			goto escape;
	fprintf(f, "\"%s\"", s);
	return;
escape:
	if (!(j = json_string(s))) {
		for (i = 0; s[i] && i + 1 < sizeof(safe); i++)
			safe[i] = (unsigned char)s[i] >= 0x80 ? '?' : s[i];
		safe[i] = '\0';
		j = json_string(safe);
	}
	if (!j || json_dumpf(j, f, JSON_ENCODE_ANY) < 0)
		fputs("\"\"", f);
	json_decref(j);
}

/* A loop_now_ms() time as RFC 3339 UTC with milliseconds, or null. */
static void jtime(FILE *f, uint64_t mono_ms)
{
	char at[RFC3339_MS_LEN];

	if (!mono_ms) {
		fputs("null", f);
		return;
	}
	/* the two clocks' offset in µs: in ms, each truncated apart, the same
	 * time would print 1 ms apart from one request to the next */
	rfc3339_ms(((int64_t)mono_ms * 1000 + wall_now_us() - (int64_t)loop_now_us()) / 1000, at);
	fprintf(f, "\"%s\"", at);
}

static void jsources(FILE *f, const struct status_facts *s)
{
	fputc('{', f);
	for (size_t i = 0; i < s->n_sources; i++) {
		const struct source *src = &s->sources[i];

		fprintf(f, "%s\"%s\":", i ? "," : "", src->ops->kind);
		jstr(f, src->state ? src->state : "starting");
	}
	fputc('}', f);
}

/* ---- /healthz ------------------------------------------------------------- */

unsigned status_healthz(FILE *f, const struct status_facts *s)
{
	bool late = s->pending_since_ms &&
		    loop_now_ms() - s->pending_since_ms > STATUS_PENDING_MAX_MS;

	fputs("{\"last_sync\":", f);
	jtime(f, s->last_sync_ms);
	fputs(",\"pending_since\":", f);
	jtime(f, s->pending_since_ms);
	fputs(",\"sources\":", f);
	jsources(f, s);
	fprintf(f, ",\"kernel\":\"%s\",\"stale\":%s}\n",
		s->kernel_differs ? "differs from the plan" : "matches the plan",
		s->stale ? "true" : "false");
	return s->kernel_differs || late ? 503 : 200;
}

/* ---- /status -------------------------------------------------------------- */

static void jbackend(FILE *f, const struct bs_view *v, bool first)
{
	char ip[ADDR_STRLEN];

	fputs(first ? "\n\t{\"id\":" : ",\n\t{\"id\":", f);
	jstr(f, v->id);
	fprintf(f, ",\"ip\":\"%s\",\"port\":%u,\"weight\":%" PRIu32 ",\"effective\":%" PRIu32
		",\"state\":\"%s\",\"reason\":", addr_format(v->ip, ip), v->port, v->weight,
		v->effective, bs_state_name(v->state));
	jstr(f, v->reason ? v->reason : "");
	fprintf(f, ",\"source\":\"%s\",\"since\":", source_name(v->source));
	jtime(f, v->since_ms);
	fputc('}', f);
}

static void jchain(FILE *f, const struct status_facts *s, const char *key,
		   const struct vaddr *vip, const struct svc_port *sp)
{
	char chain[64];

	if (s->chain(s->chain_arg, vip, sp, chain, sizeof(chain)) < 0)
		*chain = '\0';
	fprintf(f, ",\"%s\":\"%s\"", key, chain);
}

/* Each port with the class chain its VIP goes to ("chain"; with both
 * families, "chain6" for the IPv6 VIP). */
static void jports(FILE *f, const struct status_facts *s, const struct service *svc)
{
	const struct vaddr *vip = svc->vip4.family ? &svc->vip4 : &svc->vip6;

	fputs("\"ports\":[", f);
	for (unsigned i = 0; i < svc->n_ports; i++) {
		const struct svc_port *sp = &svc->ports[i];

		fprintf(f, "%s{\"name\":", i ? "," : "");
		jstr(f, sp->name);
		fprintf(f, ",\"port\":%u,\"protocol\":\"%s\",\"target_port\":%u", sp->port,
			model_proto_name(sp->proto), sp->target_port ? sp->target_port : sp->port);
		if (sp->node_port)
			fprintf(f, ",\"node_port\":%u", sp->node_port);
		jchain(f, s, "chain", vip, sp);
		if (vip == &svc->vip4 && svc->vip6.family)
			jchain(f, s, "chain6", &svc->vip6, sp);
		fputc('}', f);
	}
	fputs("],", f);
}

/* The drains of backends that left, for one service (there are few). */
static bool jdrains(FILE *f, struct bstate *bs, const char *service, bool first)
{
	struct bs_view v;

	for (struct bs_iter it = { 0 }; bs_next_drain(bs, service, &it, &v);) {
		jbackend(f, &v, first);
		first = false;
	}
	return first;
}

static void jservice(FILE *f, const struct status_facts *s, const struct service *svc)
{
	struct endpoint *const *eps;
	size_t n = model_endpoints_get(s->model, svc->name, &eps);
	char ip[ADDR_STRLEN];
	bool first = true;
	struct bs_view v;

	jstr(f, svc->name);
	fputs(":{", f);
	if (svc->vip4.family)
		fprintf(f, "\"vip\":\"%s\",", addr_format(&svc->vip4, ip));
	if (svc->vip6.family)
		fprintf(f, "\"vip6\":\"%s\",", addr_format(&svc->vip6, ip));
	fprintf(f, "\"algorithm\":\"%s\",", model_algo_name(svc->algo));
	jports(f, s, svc);
	fputs("\"backends\":[", f);
	for (size_t i = 0; i < n; i++)
		if (bs_view(s->bs, svc, eps[i], &v)) {
			jbackend(f, &v, first);
			first = false;
		}
	jdrains(f, s->bs, svc->name, first);
	fputs("]}", f);
}

int status_json(FILE *f, const struct status_facts *s, const char *service)
{
	const struct service *one = service ? model_service_get(s->model, service) : NULL;
	const char *name;
	bool first = true;

	if (service && !one)
		return -ENOENT;
	fputs("{\"version\":", f);
	jstr(f, s->version);
	fputs(",\"node\":", f);
	if (s->node)
		jstr(f, s->node);
	else
		fputs("null", f);
	fprintf(f, ",\"stale\":%s,\"last_sync\":", s->stale ? "true" : "false");
	jtime(f, s->last_sync_ms);
	fputs(",\"pending_since\":", f);
	jtime(f, s->pending_since_ms);
	fputs(",\"sources\":", f);
	jsources(f, s);
	fputs(",\"services\":{", f);
	for (size_t it = 0; (name = one ? NULL : model_service_next(s->model, &it)) || one;) {
		const struct service *svc = one ? one : model_service_get(s->model, name);

		fputs(first ? "\n" : ",\n", f);
		jservice(f, s, svc);
		first = false;
		if (one)
			break;
	}
	fputs("}}\n", f);
	return 0;
}

/* ---- /metrics ------------------------------------------------------------- */

/* DESIGN.md's endpoint states; a removed backend still draining is not an
 * endpoint and is counted apart. */
enum { EPS_READY, EPS_UNHEALTHY, EPS_NOT_READY, EPS_TERMINATING, EPS_SLOW_START,
       EPS_NOT_LOCAL, EPS_MAX };
static const char *const eps_names[EPS_MAX] = {
	"ready", "unhealthy", "not_ready", "terminating", "slow_start", "not_local",
};

static int eps_of(enum bs_state st)
{
	switch (st) {
	case BS_HEALTHY: return EPS_READY;
	case BS_SLOW_START: return EPS_SLOW_START;
	case BS_UNHEALTHY: return EPS_UNHEALTHY;
	case BS_NOT_READY: return EPS_NOT_READY;
	case BS_TERMINATING: return EPS_TERMINATING;
	case BS_NOT_LOCAL: return EPS_NOT_LOCAL;
	default: return -1;
	}
}

static void count_endpoints(const struct status_facts *s, uint64_t eps[EPS_MAX],
			    uint64_t *draining)
{
	uint64_t by_state[BS_MAX];
	struct bs_view v;

	if (s->state_counts)
		memcpy(by_state, s->state_counts, sizeof(by_state));
	else
		bs_state_counts(s->bs, by_state);
	for (int st = 0; st < BS_MAX; st++)
		if (eps_of((enum bs_state)st) >= 0)
			eps[eps_of((enum bs_state)st)] += by_state[st];
	for (struct bs_iter it = { .drains = true }; bs_next(s->bs, &it, &v);)
		(*draining)++;
}

static void metrics_sources(FILE *f, const struct status_facts *s)
{
	prom_head(f, "vipd_source_up", "gauge", "Whether a source answers now (1) or not (0).");
	for (size_t i = 0; i < s->n_sources; i++)
		fprintf(f, "vipd_source_up{source=\"%s\"} %d\n", s->sources[i].ops->kind,
			s->sources[i].up);
	prom_head(f, "vipd_source_events_total", "counter",
		  "Changes read from a source (etcd watch events, Docker events, file reads).");
	for (size_t i = 0; i < s->n_sources; i++)
		fprintf(f, "vipd_source_events_total{source=\"%s\"} %" PRIu64 "\n",
			s->sources[i].ops->kind, s->sources[i].events);
}

static void metrics_sync(FILE *f, const struct status_counters *c)
{
	prom_head(f, "vipd_sync_duration_seconds", "histogram",
		  "One reconcile, from planning to the kernel's commit.");
	prom_hist_write(f, "vipd_sync_duration_seconds", "kind=\"full\"", &c->sync_full);
	prom_hist_write(f, "vipd_sync_duration_seconds", "kind=\"partial\"", &c->sync_partial);
	prom_head(f, "vipd_network_programming_duration_seconds", "histogram",
		  "From the oldest source change of a reconcile to its kernel commit.");
	prom_hist_write(f, "vipd_network_programming_duration_seconds", "", &c->programming);
	prom_head(f, "vipd_sync_failures_total", "counter", "Commits the kernel refused.");
	fprintf(f, "vipd_sync_failures_total %" PRIu64 "\n", c->sync_failures);
	prom_head(f, "vipd_conntrack_deleted_total", "counter",
		  "Conntrack entries deleted (stale UDP flows, drains).");
	fprintf(f, "vipd_conntrack_deleted_total %" PRIu64 "\n", c->ct_deleted);
}

void status_metrics(FILE *f, const struct status_facts *s)
{
	uint64_t eps[EPS_MAX] = { 0 }, draining = 0;
	struct checker_stats ck;

	count_endpoints(s, eps, &draining);
	bs_check_stats(s->bs, &ck);
	prom_head(f, "vipd_build_info", "gauge", "The running version.");
	fputs("vipd_build_info{version=\"", f);
	prom_label_value(f, s->version);
	fputs("\"} 1\n", f);
	prom_head(f, "vipd_services", "gauge", "Services in the model.");
	fprintf(f, "vipd_services %zu\n", model_service_count(s->model));
	prom_head(f, "vipd_endpoints", "gauge", "Endpoints by state; each is in exactly one.");
	for (int i = 0; i < EPS_MAX; i++)
		fprintf(f, "vipd_endpoints{state=\"%s\"} %" PRIu64 "\n", eps_names[i], eps[i]);
	prom_head(f, "vipd_draining_backends", "gauge",
		  "Removed backends whose established connections are still let through.");
	fprintf(f, "vipd_draining_backends %" PRIu64 "\n", draining);
	metrics_sync(f, s->counters);
	metrics_sources(f, s);
	prom_head(f, "vipd_health_checks_total", "counter", "Active check probes by result.");
	fprintf(f, "vipd_health_checks_total{result=\"ok\"} %" PRIu64 "\n", ck.probes_ok);
	fprintf(f, "vipd_health_checks_total{result=\"fail\"} %" PRIu64 "\n", ck.probes_failed);
	prom_head(f, "vipd_stale", "gauge",
		  "1 while the kernel holds the state cache, not yet what the sources say.");
	fprintf(f, "vipd_stale %d\n", s->stale);
	prom_head(f, "vipd_kernel_differs", "gauge",
		  "1 while the last commit failed and vipd is retrying it.");
	fprintf(f, "vipd_kernel_differs %d\n", s->kernel_differs);
}

/* ---- accounting ----------------------------------------------------------- */

void status_account(struct status_counters *c, int ret, bool full, uint64_t t0, uint64_t since)
{
	uint64_t now = loop_now_us();

	c->reconciles++;
	if (since && (!c->change_since_us || since < c->change_since_us))
		c->change_since_us = since;
	if (ret < 0) {
		c->sync_failures++;
		c->kernel_differs = true;
		return;
	}
	prom_observe(full ? &c->sync_full : &c->sync_partial, (double)(now - t0) / 1e6);
	if (c->change_since_us)
		prom_observe(&c->programming, (double)(now - c->change_since_us) / 1e6);
	c->last_sync_us = now;
	c->change_since_us = 0;
	c->kernel_differs = false;
}

uint64_t status_pending_since(const struct status_counters *c, uint64_t dirty_since)
{
	uint64_t pending = dirty_since;

	if (c->change_since_us && (!pending || c->change_since_us < pending))
		pending = c->change_since_us;
	if (!c->last_sync_us && !pending)
		pending = c->started_us;
	return pending;
}

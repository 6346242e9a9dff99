/* Backend states: every input about a backend, folded into one state, a
 * reason and the weight it takes new connections with.
 *
 * A record per backend (service, source, id) lives from the backend's
 * first sight in the model until it left and finished draining. Records
 * of one service are evaluated together, since two rules (fail open, the
 * terminating fallback) look at all backends of a family at once.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include "bstate.h"
#include "health.h"
#include "hmap.h"
#include "log.h"
#include "loop.h"

#define KEY_MAX		(NAME_MAX_LEN + 1 + 1 + NAME_MAX_LEN)
#define WHY_LEN		128
#define RAMP_FROM	10	/* percent of its weight a backend starts at */

struct bs_svc;

struct rec {
	struct rec *next;		/* in its service's list */
	struct bs_svc *sv;
	struct bstate *bs;
	char *id;
	uint8_t source;
	struct vaddr ip;
	uint16_t port;			/* of the first service port, for logs */
	uint32_t weight, eff;
	uint8_t state, cause;
	bool present, ready, terminating, local;
	bool open, fallback;		/* taking traffic by a family rule */
	bool drained;			/* its conntrack entries were cut */
	bool published;
	struct check *chk;		/* NULL: not checked here */
	bool healthy;			/* the check's or its node's verdict */
	char *why;			/* of an unhealthy verdict (malloc'd) */
	uint64_t since, ramp_start, drain_until;
	uint64_t ramp_timer, drain_timer;
	struct ct_match *ct;		/* what a drain cuts */
	size_t n_ct;
	uint64_t gen;
	size_t key_len;
	char key[];			/* service \0 source id */
};

struct bs_svc {
	char *name;
	struct rec *recs;
	bool open[2];			/* fail open in force, per family */
	uint32_t drain_seconds;		/* the service's, kept for when it is deleted */
};

struct bstate {
	struct loop *loop;
	struct model *model;
	const struct bs_conf *conf;
	struct bs_hooks hooks;
	struct checker *checker;
	struct hmap *recs;		/* key -> struct rec */
	struct hmap *svcs;		/* name -> struct bs_svc */
	uint64_t gen;
	bool started;			/* the first update is vipd's start */
	char view_reason[WHY_LEN + 64];	/* bs_next's */
};

static const char *const state_names[BS_MAX] = {
	[BS_HEALTHY] = "healthy", [BS_SLOW_START] = "slow_start",
	[BS_UNHEALTHY] = "unhealthy", [BS_NOT_READY] = "not_ready",
	[BS_TERMINATING] = "terminating", [BS_DRAINING] = "draining",
	[BS_NOT_LOCAL] = "not_local",
};

const char *bs_state_name(enum bs_state s)
{
	return s < BS_MAX ? state_names[s] : "?";
}

static size_t key_of(char *buf, const char *svc, uint8_t source, const char *id)
{
	size_t a = strlen(svc), b = strlen(id);

	memcpy(buf, svc, a);
	buf[a] = '\0';
	buf[a + 1] = (char)('0' + source);
	memcpy(buf + a + 2, id, b);
	return a + 2 + b;
}

static bool serving(uint8_t state)
{
	return state == BS_HEALTHY || state == BS_SLOW_START;
}

static unsigned fam_ix(const struct vaddr *a)
{
	return a->family == AF_INET6;
}

/* ---- slow start ---------------------------------------------------------- */

/* Linear from RAMP_FROM % to 100 % over slow_start seconds in RAMP_STEPS
 * steps of 10 %: each step moves the slots once (one small batch), and
 * round percentages keep the reduced weights small (100:10 is 10:1
 * slots, where 100:19 would be 119 slots). */
#define RAMP_STEPS	9

/* The percent of its weight at now, or 100 once the ramp is over; *next:
 * when the next step is due (0 for none). */
static unsigned ramp_pct(uint64_t start, uint32_t seconds, uint64_t now, uint64_t *next)
{
	unsigned n = RAMP_STEPS;
	uint64_t step = (uint64_t)seconds * 1000 / n, k = step ? (now - start) / step : n;

	*next = 0;
	if (!seconds || k >= n)
		return 100;
	*next = start + (k + 1) * step;
	return RAMP_FROM + (unsigned)((100 - RAMP_FROM) * k / n);
}

static void on_ramp(struct loop *l, void *arg)
{
	struct rec *r = arg;

	r->ramp_timer = 0;
	model_touch(r->bs->model, r->sv->name);
}

/* ---- draining ------------------------------------------------------------ */

static void rec_free(struct rec *r);
static void svc_unlink(struct rec *r);
static void svc_free(struct bstate *bs, struct bs_svc *sv);

static void on_drain(struct loop *l, void *arg)
{
	struct rec *r = arg;
	struct bstate *bs = r->bs;

	r->drain_timer = 0;
	r->drained = true;
	log_info("service \"%s\" backend %s: drained: its established connections are cut now",
		 r->sv->name, r->id);
	if (bs->hooks.drain && r->n_ct)
		bs->hooks.drain(bs->hooks.arg, r->sv->name, r->id, r->ct, r->n_ct);
	if (!r->present) {
		struct bs_svc *sv = r->sv;

		svc_unlink(r);
		hmap_del(bs->recs, r->key, r->key_len);
		rec_free(r);
		if (!sv->recs)
			svc_free(bs, sv);
	}
}

/* drain_seconds from now, unless a drain already counts. */
static void drain_start(struct rec *r, uint32_t seconds)
{
	if (r->drain_timer || r->drained || !seconds || !r->n_ct || !r->bs->loop)
		return;
	r->drain_until = loop_now_ms() + (uint64_t)seconds * 1000;
	r->drain_timer = loop_timer_add(r->bs->loop, (uint64_t)seconds * 1000, on_drain, r);
	if (!r->drain_timer)
		log_err("service \"%s\" backend %s: out of memory arming its drain; its connections stay",
			r->sv->name, r->id);
}

static void drain_stop(struct rec *r)
{
	if (r->drain_timer)
		loop_timer_del(r->bs->loop, r->drain_timer);
	r->drain_timer = 0;
	r->drained = false;
}

/* The entries a drain cuts: DNATed to this backend through any frontend
 * of the service (VIP, external IPs, node port), TCP and SCTP (UDP
 * entries go at once when the backend leaves, in the planner). */
static int ct_matches(struct rec *r, const struct service *svc, const struct endpoint *ep)
{
	const struct vaddr *vip = fam_ix(&ep->ip) ? &svc->vip6 : &svc->vip4;
	size_t cap = (size_t)svc->n_ports * (svc->n_external + 2), n = 0;
	struct ct_match *m = cap ? calloc(cap, sizeof(*m)) : NULL;

	if (cap && !m)
		return -ENOMEM;
	for (unsigned p = 0; p < svc->n_ports; p++) {
		const struct svc_port *sp = &svc->ports[p];
		struct ct_match t = {
			.family = ep->ip.family, .proto = sp->proto, .kind = CT_TO_BACKEND,
			.port = sp->port, .be_port = endpoint_port_for(ep, sp),
		};

		if (sp->proto == IPPROTO_UDP)
			continue;
		memcpy(t.be, ep->ip.bytes, sizeof(t.be));
		if (vip->family) {
			memcpy(t.dst, vip->bytes, sizeof(t.dst));
			m[n++] = t;
		}
		for (unsigned x = 0; x < svc->n_external; x++)
			if (svc->external_ips[x].family == ep->ip.family) {
				memcpy(t.dst, svc->external_ips[x].bytes, sizeof(t.dst));
				m[n++] = t;
			}
		if (sp->node_port) {
			t.any_dst = true;
			t.port = sp->node_port;
			memset(t.dst, 0, sizeof(t.dst));
			m[n++] = t;
		}
	}
	free(r->ct);
	r->ct = m;
	r->n_ct = n;
	return 0;
}

/* ---- checks -------------------------------------------------------------- */

static void publish(struct rec *r, const struct endpoint *ep, bool gone)
{
	struct bstate *bs = r->bs;

	if (!bs->hooks.publish || (gone && !r->published))
		return;
	bs->hooks.publish(bs->hooks.arg, r->sv->name, ep, r->healthy, r->healthy ? NULL : r->why,
			  gone);
	r->published = !gone;
}

static void set_why(struct rec *r, const char *why)
{
	free(r->why);
	r->why = why && *why ? strdup(why) : NULL;
}

static void on_verdict(struct check *c, bool healthy, const char *why, void *arg)
{
	struct rec *r = arg;
	struct endpoint *const *eps;
	size_t n = model_endpoints_get(r->bs->model, r->sv->name, &eps);

	r->healthy = healthy;
	/* back healthy: the old reason stays until the evaluation this
	 * touch brings (sync_check clears it), so that its log line says
	 * what the backend recovered from */
	if (!healthy)
		set_why(r, why);
	/* the endpoint as the model has it, for the publisher's key */
	for (size_t i = 0; i < n; i++)
		if (eps[i]->source == r->source && !strcmp(eps[i]->id, r->id))
			publish(r, eps[i], false);
	model_touch(r->bs->model, r->sv->name);
}

/* This node checks a backend that a source of its own reported (file,
 * Docker), that has no node, or whose node is this one; one that another
 * node announced in etcd is that node's to check. */
static bool checked_here(const struct bstate *bs, const struct endpoint *ep)
{
	if (ep->source != SRC_ETCD || !bs->conf->follow_verdicts || !ep->node)
		return true;
	return bs->conf->node && !strcmp(ep->node, bs->conf->node);
}

static uint16_t check_port(const struct service *svc, const struct endpoint *ep)
{
	if (svc->health.port)
		return svc->health.port;
	return svc->n_ports ? endpoint_port_for(ep, &svc->ports[0]) : 0;
}

/* Starts, moves or stops this backend's check; or reads its node's. */
static int sync_check(struct rec *r, const struct service *svc, const struct endpoint *ep)
{
	struct bstate *bs = r->bs;
	bool want = svc->health.enabled && r->local && bs->checker && checked_here(bs, ep);
	uint16_t port = check_port(svc, ep);

	if (r->chk && (!want || !check_same(r->chk, &ep->ip, port, &svc->health))) {
		check_stop(r->chk);
		r->chk = NULL;
		r->healthy = true;
		set_why(r, NULL);
		if (!want)
			publish(r, ep, true);
	}
	if (want && !r->chk) {
		/* a check starts healthy: a restart moves no traffic */
		if (!(r->chk = check_start(bs->checker, &ep->ip, port, &svc->health, on_verdict, r)))
			return -ENOMEM;
		r->healthy = true;
		set_why(r, NULL);
		publish(r, ep, false);
	}
	if (svc->health.enabled && r->local && !checked_here(bs, ep)) {
		const struct verdict *v = model_verdict_get(bs->model, svc->name, ep->id);
		char why[sizeof(v->reason) + NAME_MAX_LEN + 16];

		r->healthy = !v || v->healthy;
		snprintf(why, sizeof(why), "%s (checked by %s)", v && *v->reason ? v->reason : "failed",
			 ep->node);
		set_why(r, r->healthy ? NULL : why);
	} else if (!want || r->healthy) {
		r->healthy = true;
		set_why(r, NULL);
	}
	return 0;
}

/* ---- records ------------------------------------------------------------- */

static void rec_free(struct rec *r)
{
	if (r->ramp_timer)
		loop_timer_del(r->bs->loop, r->ramp_timer);
	if (r->drain_timer)
		loop_timer_del(r->bs->loop, r->drain_timer);
	check_stop(r->chk);
	free(r->why);
	free(r->ct);
	free(r->id);
	free(r);
}

static void svc_unlink(struct rec *r)
{
	for (struct rec **p = &r->sv->recs; *p; p = &(*p)->next)
		if (*p == r) {
			*p = r->next;
			return;
		}
}

static struct bs_svc *svc_get(struct bstate *bs, const char *name)
{
	struct bs_svc *sv = hmap_get_str(bs->svcs, name);

	if (sv)
		return sv;
	if (!(sv = calloc(1, sizeof(*sv))) || !(sv->name = strdup(name)) ||
	    hmap_put_str(bs->svcs, name, sv) < 0) {
		if (sv)
			free(sv->name);
		free(sv);
		return NULL;
	}
	return sv;
}

static struct rec *rec_get(struct bstate *bs, struct bs_svc *sv, const struct endpoint *ep)
{
	char key[KEY_MAX];
	size_t len = key_of(key, sv->name, ep->source, ep->id);
	struct rec *r = hmap_get(bs->recs, key, len);

	if (r)
		return r;
	if (!(r = calloc(1, sizeof(*r) + len)))
		return NULL;
	memcpy(r->key, key, len);
	r->key_len = len;
	r->bs = bs;
	r->sv = sv;
	r->source = ep->source;
	r->healthy = true;
	r->state = BS_MAX;	/* none yet: the first evaluation is no change */
	r->since = loop_now_ms();
	if (!(r->id = strdup(ep->id)) || hmap_put(bs->recs, key, len, r) < 0) {
		free(r->id);
		free(r);
		return NULL;
	}
	r->next = sv->recs;
	sv->recs = r;
	return r;
}

/* What the source says, and what of the service this node needs. */
static int rec_sync(struct rec *r, const struct service *svc, const struct endpoint *ep)
{
	const char *node = r->bs->conf->node;

	if (!r->present)
		drain_stop(r);		/* back while it drained */
	r->present = true;
	r->ip = ep->ip;
	r->port = svc->n_ports ? endpoint_port_for(ep, &svc->ports[0]) : 0;
	r->weight = ep->weight;
	r->ready = ep->ready;
	r->cause = ep->cause;
	r->local = svc->policy != POLICY_LOCAL || (node && ep->node && !strcmp(node, ep->node));
	if (r->terminating != ep->terminating && !ep->terminating)
		drain_stop(r);		/* back: a restarted container */
	r->terminating = ep->terminating;
	if (svc->drain_seconds) {
		int ret = ct_matches(r, svc, ep);

		if (ret < 0)
			return ret;
	}
	if (r->terminating)
		drain_start(r, svc->drain_seconds);
	return sync_check(r, svc, ep);
}

/* Gone from the model: drain its connections (true: kept for that), or
 * forget it now. */
static bool rec_left(struct bstate *bs, struct rec *r)
{
	uint32_t seconds = r->sv->drain_seconds;

	if (r->present && r->chk) {
		struct endpoint ep = { .id = r->id, .source = r->source };

		publish(r, &ep, true);
	}
	check_stop(r->chk);
	r->chk = NULL;
	r->present = false;
	if (r->ramp_timer)
		loop_timer_del(bs->loop, r->ramp_timer);
	r->ramp_timer = 0;
	if (seconds && (r->drain_timer || (!r->drained && r->n_ct))) {
		drain_start(r, seconds);
		if (r->drain_timer)
			return true;
	}
	svc_unlink(r);
	hmap_del(bs->recs, r->key, r->key_len);
	rec_free(r);
	return false;
}

/* ---- the decision -------------------------------------------------------- */

static const char *cause_text(uint8_t cause)
{
	switch (cause) {
	case CAUSE_DOCKER_KILL: return ": docker kill";
	case CAUSE_DOCKER_STOP: return ": docker stop";
	case CAUSE_DOCKER_UNHEALTHY: return ": docker health unhealthy";
	case CAUSE_DOCKER_STARTING: return ": docker health starting";
	default: return "";
	}
}

/* The reason as status and logs show it. */
static const char *reason(const struct rec *r, char *buf, size_t len)
{
	uint64_t now = loop_now_ms(), left = r->drain_until > now ? r->drain_until - now : 0;
	char drain[48] = "";

	if (r->drain_timer)
		snprintf(drain, sizeof(drain), "draining %llu s left",
			 (unsigned long long)((left + 999) / 1000));
	switch (r->state) {
	case BS_SLOW_START:
		snprintf(buf, len, "slow start %u%%", r->weight ? r->eff * 100 / r->weight : 0);
		break;
	case BS_UNHEALTHY:
		snprintf(buf, len, "unhealthy: %s%s", r->why ? r->why : "failed",
			 r->open ? "; fail open: every backend fails its check" : "");
		break;
	case BS_NOT_READY:
		snprintf(buf, len, "not ready%s", cause_text(r->cause));
		break;
	case BS_TERMINATING:
		snprintf(buf, len, "terminating%s%s%s%s", cause_text(r->cause), *drain ? ", " : "",
			 drain, r->fallback ? "; still serving: no ready backend" : "");
		break;
	case BS_DRAINING:
		snprintf(buf, len, "removed, %s", drain);
		break;
	case BS_NOT_LOCAL:
		snprintf(buf, len, "not local");
		break;
	default:
		snprintf(buf, len, "healthy");
	}
	return buf;
}

/* The state of one backend alone, before the family rules. */
static uint8_t base_state(const struct rec *r)
{
	if (!r->present)
		return BS_DRAINING;
	if (!r->local)
		return BS_NOT_LOCAL;
	if (r->terminating)
		return BS_TERMINATING;
	if (!r->ready)
		return BS_NOT_READY;
	if (!r->healthy)
		return BS_UNHEALTHY;
	return r->ramp_start ? BS_SLOW_START : BS_HEALTHY;
}

/* A backend that starts serving ramps, unless vipd is just starting: a
 * new one, or one back from unhealthy, not ready or terminating. */
static void ramp(struct bstate *bs, struct rec *r, const struct service *svc, uint8_t was)
{
	uint8_t now = base_state(r);
	uint64_t next;
	unsigned pct;

	if (now != BS_HEALTHY && now != BS_SLOW_START) {
		r->ramp_start = 0;
		return;
	}
	if (!r->ramp_start && svc->slow_start && bs->started && bs->loop && !serving(was))
		r->ramp_start = loop_now_ms();
	if (!r->ramp_start)
		return;
	pct = ramp_pct(r->ramp_start, svc->slow_start, loop_now_ms(), &next);
	if (pct >= 100) {
		r->ramp_start = 0;
		return;
	}
	r->eff = r->weight * pct / 100 ? r->weight * pct / 100 : 1;
	if (!r->ramp_timer && next)
		r->ramp_timer = loop_timer_add(bs->loop, next - loop_now_ms(), on_ramp, r);
}

/* Fail open and the terminating fallback, for one family. */
static void family_rules(struct bs_svc *sv, unsigned f)
{
	bool any_serving = false, any_unhealthy = false, open;

	for (struct rec *r = sv->recs; r; r = r->next)
		if (r->present && fam_ix(&r->ip) == f) {
			any_serving |= serving(r->state);
			any_unhealthy |= r->state == BS_UNHEALTHY;
		}
	open = !any_serving && any_unhealthy;
	if (open != sv->open[f])
		vlog(open ? VLOG_WARN : VLOG_INFO,
		     open ? "service \"%s\": every IPv%c backend fails its check; sending to all of them (fail open)"
			  : "service \"%s\": an IPv%c backend passes its check again; fail open ends",
		     sv->name, f ? '6' : '4');
	sv->open[f] = open;
	for (struct rec *r = sv->recs; r; r = r->next) {
		if (!r->present || fam_ix(&r->ip) != f)
			continue;
		r->open = open && r->state == BS_UNHEALTHY;
		/* kube-proxy since 1.26: terminating endpoints that still pass
		 * their check keep serving while no endpoint is ready, so a
		 * rolling update of every replica drops nothing */
		r->fallback = !any_serving && !open && r->state == BS_TERMINATING && r->ready &&
			      r->healthy;
		if (r->open || r->fallback)
			r->eff = r->weight;
	}
}

/* What a record was before an evaluation, to log what moved. */
struct before {
	struct rec *r;			/* NULL: forgotten meanwhile */
	uint8_t state;
	char reason[WHY_LEN + 64];
};

static struct before *snapshot(const struct bs_svc *sv, size_t *n)
{
	struct before *b;
	size_t i = 0;

	*n = 0;
	for (const struct rec *r = sv->recs; r; r = r->next)
		(*n)++;
	if (!(b = malloc((*n + 1) * sizeof(*b))))
		return NULL;
	for (struct rec *r = sv->recs; r; r = r->next, i++) {
		b[i].r = r;
		b[i].state = r->state;
		reason(r, b[i].reason, sizeof(b[i].reason));
	}
	return b;
}

/* One line per change of state; a slow start step or a new reason in the
 * same state only with -v. A new backend is told only when it does not
 * start healthy (the model already logged its arrival). */
static void log_moves(const struct before *b, size_t n)
{
	char now[WHY_LEN + 64], ip[ADDR_STRLEN];

	for (size_t i = 0; i < n; i++) {
		const struct rec *r = b[i].r;

		if (!r || (b[i].state == BS_MAX && r->state == BS_HEALTHY))
			continue;
		reason(r, now, sizeof(now));
		if (b[i].state == r->state && !strcmp(b[i].reason, now))
			continue;
		vlog(b[i].state == r->state ? VLOG_DEBUG : VLOG_INFO,
		     "service \"%s\" backend %s (%s port %u): %s -> %s", r->sv->name, r->id,
		     addr_format(&r->ip, ip), r->port,
		     b[i].state == BS_MAX ? "new" : b[i].reason, now);
	}
}

/* Each backend alone, then the rules over a family. */
static void decide(struct bstate *bs, struct bs_svc *sv, const struct service *svc)
{
	for (struct rec *r = sv->recs; r; r = r->next) {
		uint8_t was = r->state;

		r->eff = 0;
		if (r->present)
			ramp(bs, r, svc, was);
		r->state = base_state(r);
		if (r->state != was)
			r->since = loop_now_ms();
		if (serving(r->state) && !r->ramp_start)
			r->eff = r->weight;
	}
	family_rules(sv, 0);
	family_rules(sv, 1);
}

/* Brings one service's records to the model, decides, logs what moved. */
static int svc_eval(struct bstate *bs, struct bs_svc *sv, const struct service *svc)
{
	struct endpoint *const *eps;
	size_t n = svc ? model_endpoints_get(bs->model, sv->name, &eps) : 0, nb = 0;
	uint64_t gen = ++bs->gen;
	struct before *b;
	int ret = 0;

	if (svc)
		sv->drain_seconds = svc->drain_seconds;
	for (size_t i = 0; i < n; i++) {
		struct rec *r = rec_get(bs, sv, eps[i]);

		if (!r)
			return -ENOMEM;
		r->gen = gen;
	}
	/* at start nothing moved: no lines, no snapshot */
	if (bs->started && !(b = snapshot(sv, &nb)))
		return -ENOMEM;
	if (!bs->started)
		b = NULL;
	for (size_t i = 0; i < n && !ret; i++)
		ret = rec_sync(rec_get(bs, sv, eps[i]), svc, eps[i]);
	for (struct rec *r = sv->recs, *next; r; r = next) {
		next = r->next;
		if (r->gen == gen || !r->present || rec_left(bs, r))
			continue;
		for (size_t i = 0; i < nb; i++)	/* forgotten */
			if (b[i].r == r)
				b[i].r = NULL;
	}
	if (ret == 0)
		decide(bs, sv, svc);
	if (b)
		log_moves(b, nb);
	free(b);
	return ret;
}

static void svc_free(struct bstate *bs, struct bs_svc *sv)
{
	hmap_del_str(bs->svcs, sv->name);
	free(sv->name);
	free(sv);
}

static int svc_update(struct bstate *bs, const char *name)
{
	const struct service *svc = model_service_get(bs->model, name);
	struct bs_svc *sv = svc ? svc_get(bs, name) : hmap_get_str(bs->svcs, name);
	int ret;

	if (!sv)
		return svc ? -ENOMEM : 0;
	ret = svc_eval(bs, sv, svc);
	if (!sv->recs)
		svc_free(bs, sv);
	return ret;
}

int bs_update(struct bstate *bs, const struct name_list *dirty, bool full)
{
	const char *name;
	struct bs_svc *sv;
	int ret = 0;

	if (full) {
		for (size_t it = 0; !ret && (name = model_service_next(bs->model, &it));)
			ret = svc_update(bs, name);
		/* services gone from the model: their backends left */
		for (size_t it = 0; !ret && hmap_next(bs->svcs, &it, NULL, NULL, (void **)&sv);)
			if (!model_service_get(bs->model, sv->name))
				ret = svc_update(bs, sv->name);
	} else {
		for (size_t i = 0; i < dirty->n && !ret; i++)
			ret = svc_update(bs, dirty->names[i]);
	}
	if (ret < 0)
		log_err("backend states: %s", strerror(-ret));
	bs->started = true;
	return ret;
}

uint32_t bs_weight(void *arg, const struct service *svc, const struct endpoint *ep)
{
	const struct bstate *bs = arg;
	char key[KEY_MAX];
	const struct rec *r = hmap_get(bs->recs, key, key_of(key, svc->name, ep->source, ep->id));

	return r ? r->eff : 0;
}

bool bs_next(struct bstate *bs, size_t *it, struct bs_view *v)
{
	struct rec *r;

	if (!hmap_next(bs->recs, it, NULL, NULL, (void **)&r))
		return false;
	reason(r, bs->view_reason, sizeof(bs->view_reason));
	*v = (struct bs_view){
		.service = r->sv->name, .id = r->id, .ip = &r->ip, .port = r->port,
		.state = r->state, .weight = r->weight, .effective = r->eff,
		.reason = bs->view_reason, .source = r->source, .since_ms = r->since,
	};
	return true;
}

struct bstate *bs_alloc(struct loop *loop, struct model *m, const struct bs_conf *conf,
			const struct bs_hooks *hooks)
{
	struct bstate *bs = calloc(1, sizeof(*bs));

	if (!bs)
		return NULL;
	bs->loop = loop;
	bs->model = m;
	bs->conf = conf;
	if (hooks)
		bs->hooks = *hooks;
	bs->recs = hmap_alloc();
	bs->svcs = hmap_alloc();
	bs->checker = loop ? checker_alloc(loop) : NULL;
	if (!bs->recs || !bs->svcs || (loop && !bs->checker)) {
		bs_free(bs);
		return NULL;
	}
	return bs;
}

static void rec_free_void(void *p)
{
	rec_free(p);
}

static void svc_free_void(void *p)
{
	struct bs_svc *sv = p;

	free(sv->name);
	free(sv);
}

void bs_free(struct bstate *bs)
{
	if (!bs)
		return;
	hmap_free(bs->recs, rec_free_void);	/* checks first: they use the checker */
	hmap_free(bs->svcs, svc_free_void);
	checker_free(bs->checker);
	free(bs);
}

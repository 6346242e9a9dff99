/* Backend states: every input about a backend, folded into one state, a
 * reason and the weight it takes new connections with.
 *
 * A record per backend (service, source, id) lives while the model has
 * the endpoint. A backend that leaves with drain_seconds set leaves a
 * drain behind: the conntrack matches of its connections and a timer.
 * Records and drains of one service are evaluated together, since two
 * rules (fail open, the terminating fallback) look at all backends of a
 * family at once, and a drain ends early when its address is live again.
 * Here: the decision; drains in bstate_drain.c, words (reasons, log
 * lines, the status view) in bstate_view.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "bstate_internal.h"
#include "health.h"
#include "hmap.h"
#include "log.h"
#include "loop.h"

#define RAMP_FROM	10	/* percent of its weight a backend starts at */
/* Linear from RAMP_FROM % to 100 % over slow_start seconds in RAMP_STEPS
 * steps of 10 %: each step moves the slots once (one small batch), and
 * round percentages keep the reduced weights small (100:10 is 10:1
 * slots, where 100:19 would be 119 slots). */
#define RAMP_STEPS	9

/* An unhealthy verdict's text, replaced only when it says something new. */
static void set_why(char **slot, const char *why)
{
	if (why && *why && *slot && !strcmp(*slot, why))
		return;
	free(*slot);
	*slot = why && *why ? strdup(why) : NULL;
}

/* ---- slow start ---------------------------------------------------------- */

/* The percent of its weight at now, or 100 once the ramp is over; *next:
 * when the next step is due (0 for none). */
static unsigned ramp_pct(uint64_t start, uint32_t seconds, uint64_t now, uint64_t *next)
{
	uint64_t step = (uint64_t)seconds * 1000 / RAMP_STEPS;
	uint64_t k = step && now > start ? (now - start) / step : 0;

	*next = 0;
	if (!seconds || !step || k >= RAMP_STEPS)
		return 100;
	*next = start + (k + 1) * step;
	return RAMP_FROM + (unsigned)((100 - RAMP_FROM) * k / RAMP_STEPS);
}

static void on_ramp(struct loop *l, void *arg)
{
	struct rec *r = arg;

	r->ramp_timer = 0;
	model_touch(r->bs->model, r->sv->name);
}

static void ramp_stop(struct rec *r)
{
	if (r->ramp_timer)
		loop_timer_del(r->bs->loop, r->ramp_timer);
	r->ramp_timer = 0;
	r->ramp_start = 0;
}

/* ---- checks -------------------------------------------------------------- */

static void publish(struct rec *r, bool gone)
{
	struct bstate *bs = r->bs;

	if (!bs->hooks.publish || (gone && !r->published))
		return;
	bs->hooks.publish(bs->hooks.arg, r->sv->name, r->id, r->source, r->healthy,
			  r->healthy ? NULL : r->f.why, gone);
	r->published = !gone;
}

/* The old reason stays until the evaluation this touch brings: it
 * snapshots the facts first, so its line says what the backend
 * recovered from (decide drops it). */
static void on_verdict(struct check *c, bool healthy, const char *why, void *arg)
{
	struct rec *r = arg;

	r->healthy = healthy;
	if (!healthy)
		set_why(&r->f.why, why);
	publish(r, false);
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

static void follow(struct rec *r, const struct service *svc, const struct endpoint *ep)
{
	const struct verdict *v = model_verdict_get(r->bs->model, svc->name, ep->id);
	char why[sizeof(v->reason) + NAME_MAX_LEN + 16];

	r->healthy = !v || v->healthy;
	snprintf(why, sizeof(why), "%s (checked by %s)", v && *v->reason ? v->reason : "failed",
		 ep->node);
	if (!r->healthy)
		set_why(&r->f.why, why);
}

/* Starts, moves or stops this backend's check; or reads its node's. A
 * new check starts healthy (a restart moves no traffic), unless it only
 * replaces one of the same target (new timings): that one's verdict
 * carries over, so tuning a check does not send traffic to the dead. */
static int sync_check(struct rec *r, const struct service *svc, const struct endpoint *ep)
{
	struct bstate *bs = r->bs;
	bool want = svc->health.enabled && r->local && bs->checker && checked_here(bs, ep);
	uint16_t port = check_port(svc, ep);
	bool carry = false;

	if (r->chk && want && check_same(r->chk, &ep->ip, port, &svc->health))
		return 0;
	if (r->chk) {
		carry = want && check_target_same(r->chk, &ep->ip, port, &svc->health);
		check_stop(r->chk);
		r->chk = NULL;
	}
	if (!carry)
		r->healthy = true;
	if (want) {
		r->chk = check_start(bs->checker, &ep->ip, port, &svc->health, r->healthy,
				     on_verdict, r);
		if (!r->chk)
			return -ENOMEM;
		publish(r, false);
	} else {
		publish(r, true);
		if (svc->health.enabled && r->local && !checked_here(bs, ep))
			follow(r, svc, ep);
	}
	return 0;
}

/* ---- records ------------------------------------------------------------- */

static void rec_free(struct rec *r)
{
	ramp_stop(r);
	if (r->drain)
		r->drain->rec = NULL;	/* the drain goes on without it */
	check_stop(r->chk);
	free(r->f.why);
	free(r->ct);
	free(r->id);
	free(r);
}

static void rec_unlink(struct rec *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else
		r->sv->recs = r->next;
	if (r->next)
		r->next->prev = r->prev;
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

void bs_svc_free_if_empty(struct bstate *bs, struct bs_svc *sv)
{
	if (sv->recs || sv->drains)
		return;
	hmap_del_str(bs->svcs, sv->name);
	free(sv->name);
	free(sv);
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
	/* a backend decided before without a record (its service just got
	 * a check, slow start or draining) is not new */
	r->f.state = r->born = ep->bs_state ? ep->bs_state - 1 : BS_MAX;
	r->f.eff = ep->bs_weight;
	r->ip = ep->ip;
	r->since = loop_now_ms();
	if (!(r->id = strdup(ep->id)) || hmap_put(bs->recs, key, len, r) < 0) {
		free(r->id);
		free(r);
		return NULL;
	}
	r->next = sv->recs;
	if (sv->recs)
		sv->recs->prev = r;
	sv->recs = r;
	return r;
}

/* What the source says, and what of the service this node needs. */
static int rec_sync(struct rec *r, const struct service *svc, const struct endpoint *ep)
{
	const char *node = r->bs->conf->node;
	int ret;

	if (!addr_equal(&r->ip, &ep->ip)) {
		r->renewed = true;	/* another server under the same id */
		r->ip = ep->ip;
	}
	r->port = svc->n_ports ? endpoint_port_for(ep, &svc->ports[0]) : 0;
	r->f.weight = ep->weight;
	r->f.cause = ep->cause;
	r->ready = ep->ready;
	r->local = svc->policy != POLICY_LOCAL || (node && ep->node && !strcmp(node, ep->node));
	if (!ep->terminating) {
		if (r->drain)		/* back: a restarted container */
			bs_drain_free(r->bs, r->drain);
		r->drained = false;
	}
	r->terminating = ep->terminating;
	if (svc->drain_seconds && (ret = bs_ct_matches(r, svc, ep)) < 0)
		return ret;
	return sync_check(r, svc, ep);
}

/* Gone from the model: its connections drain (a terminating backend's
 * drain goes on), and the record goes. */
static int rec_leave(struct bstate *bs, struct rec *r)
{
	struct facts gone = { .state = BS_DRAINING };
	struct drain *d = r->drain;
	int ret = 0;

	publish(r, true);
	if (!d && !r->drained)
		ret = bs_drain_begin(bs, r, false, &d);
	if (d) {
		d->rec = NULL;
		r->drain = NULL;
		gone.drain_until = d->until;
		if (bs->started)
			bs_say_move(r->sv->name, r->id, &r->ip, r->port, VLOG_INFO, &r->f, &gone);
	}
	rec_unlink(r);
	hmap_del(bs->recs, r->key, r->key_len);
	rec_free(r);
	return ret;
}

/* ---- the decision -------------------------------------------------------- */

/* The state of one backend alone, before the family rules. */
static uint8_t base_state(const struct rec *r)
{
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
 * new one (or a new server under its id), or one back from unhealthy,
 * not ready or terminating. */
static void ramp(struct bstate *bs, struct rec *r, const struct service *svc, uint64_t now)
{
	uint8_t st = base_state(r);
	uint64_t next;
	unsigned pct;

	if (st != BS_HEALTHY && st != BS_SLOW_START) {
		ramp_stop(r);
		return;
	}
	if (!r->ramp_start && svc->slow_start && bs->started && bs->loop &&
	    (!serving(r->f.state) || r->renewed))
		r->ramp_start = now;
	if (!r->ramp_start)
		return;
	pct = ramp_pct(r->ramp_start, svc->slow_start, now, &next);
	if (pct >= 100) {
		ramp_stop(r);
		return;
	}
	r->f.eff = r->f.weight * pct / 100 ? r->f.weight * pct / 100 : 1;
	if (!r->ramp_timer && next) {
		r->ramp_timer = loop_timer_add(bs->loop, next > now ? next - now : 0, on_ramp, r);
		if (!r->ramp_timer)	/* the ramp waits for the next change */
			log_err("service \"%s\" backend %s: out of memory arming its slow start",
				r->sv->name, r->id);
	}
}

/* What the family rules look at, of a record or of a plain endpoint. */
struct cand {
	struct facts *f;
	const struct vaddr *ip;
	bool ready, healthy;
};

/* The terminating fallback, then fail open, for one family (open: the
 * service's flag, to tell when it moves): a passing terminating backend
 * is a better choice than one failing its check. */
static void family_rules(const char *name, struct cand *c, size_t n, unsigned fam, bool *open_flag)
{
	bool any_serving = false, any_unhealthy = false, any_fallback = false, open, fallback;

	for (size_t i = 0; i < n; i++)
		if (fam_ix(c[i].ip) == fam) {
			any_serving |= serving(c[i].f->state);
			any_unhealthy |= c[i].f->state == BS_UNHEALTHY;
			any_fallback |= c[i].f->state == BS_TERMINATING && c[i].ready && c[i].healthy;
		}
	/* kube-proxy since 1.26: terminating endpoints that still pass their
	 * check keep serving while no endpoint is ready, so a rolling update
	 * of every replica drops nothing */
	fallback = !any_serving && any_fallback;
	open = !any_serving && !any_fallback && any_unhealthy;
	if (open != *open_flag)
		vlog(open ? VLOG_WARN : VLOG_INFO,
		     open ? "service \"%s\": every IPv%c backend fails its check; sending to all of them (fail open)"
			  : "service \"%s\": not every IPv%c backend fails its check now; fail open ends",
		     name, fam ? '6' : '4');
	*open_flag = open;
	for (size_t i = 0; i < n; i++) {
		struct facts *f = c[i].f;

		if (fam_ix(c[i].ip) != fam)
			continue;
		f->open = open && f->state == BS_UNHEALTHY;
		f->fallback = fallback && f->state == BS_TERMINATING && c[i].ready && c[i].healthy;
		if (f->open || f->fallback)
			f->eff = f->weight;
	}
}

static void both_families(const char *name, struct cand *c, size_t n, bool open[2])
{
	family_rules(name, c, n, 0, &open[0]);
	family_rules(name, c, n, 1, &open[1]);
}

/* A terminating backend drains from when it stops taking new
 * connections: not while the fallback still sends it clients. */
static int terminating_drains(struct bstate *bs, struct bs_svc *sv)
{
	int ret = 0;

	for (struct rec *r = sv->recs; r && !ret; r = r->next) {
		if (r->f.state != BS_TERMINATING)
			continue;
		if (r->f.fallback && r->drain)
			bs_drain_free(bs, r->drain);
		else if (!r->f.fallback && !r->drain && !r->drained)
			ret = bs_drain_begin(bs, r, true, &(struct drain *){ NULL });
		r->f.drain_until = r->drain ? r->drain->until : 0;
	}
	return ret;
}

/* Each backend alone, then the rules over a family. */
static int decide(struct bstate *bs, struct bs_svc *sv, const struct service *svc)
{
	uint64_t now = loop_now_ms();
	struct cand *c;
	size_t n = 0;

	for (struct rec *r = sv->recs; r; r = r->next) {
		uint8_t was = r->f.state;

		r->f.eff = 0;
		r->f.drain_until = 0;
		ramp(bs, r, svc, now);
		r->renewed = false;
		r->f.state = base_state(r);
		if (r->healthy)		/* kept by on_verdict for the snapshot */
			set_why(&r->f.why, NULL);
		if (r->f.state != was)
			r->since = now;
		if (serving(r->f.state) && !r->ramp_start)
			r->f.eff = r->f.weight;
		n++;
	}
	if (!(c = malloc((n + 1) * sizeof(*c))))
		return -ENOMEM;
	n = 0;
	for (struct rec *r = sv->recs; r; r = r->next)
		c[n++] = (struct cand){ &r->f, &r->ip, r->ready, r->healthy };
	both_families(sv->name, c, n, sv->open);
	free(c);
	return terminating_drains(bs, sv);
}

/* The facts of every record before an evaluation (why copied: the
 * evaluation may replace it). */
static struct facts *snapshot(struct bs_svc *sv, size_t *n)
{
	struct facts *s;
	size_t i = 0;

	*n = 0;
	for (struct rec *r = sv->recs; r; r = r->next)
		(*n)++;
	if (!(s = calloc(*n + 1, sizeof(*s))))
		return NULL;
	for (struct rec *r = sv->recs; r; r = r->next, i++) {
		s[i] = r->f;
		s[i].why = r->f.why ? strdup(r->f.why) : NULL;
		r->snap = i + 1;
	}
	return s;
}

/* One line per change of state; a slow start step only with -v. A new
 * backend is told only when it does not start healthy (the model already
 * logged its arrival). */
static void log_moves(struct bs_svc *sv, const struct facts *s)
{
	for (struct rec *r = sv->recs; r; r = r->next) {
		struct facts born = { .state = r->born, .weight = r->f.weight };
		const struct facts *was = r->snap ? &s[r->snap - 1] : &born;

		if (was->state == r->f.state && (was->eff == r->f.eff || r->f.state != BS_SLOW_START))
			continue;
		if (was->state == BS_MAX && r->f.state == BS_HEALTHY)
			continue;
		bs_say_move(sv->name, r->id, &r->ip, r->port,
			 was->state == r->f.state ? VLOG_DEBUG : VLOG_INFO, was, &r->f);
	}
}

/* A service with checks, slow start or draining: its records brought to
 * the model, decided, what moved logged, the result on each endpoint. */
static int featured_eval(struct bstate *bs, struct bs_svc *sv, const struct service *svc,
			 struct endpoint *const *eps, size_t n)
{
	size_t ns = 0;
	uint64_t gen = ++bs->gen;
	struct facts *s = NULL;
	int ret = 0;

	if (svc)
		sv->drain_seconds = svc->drain_seconds;
	/* at start nothing moved: no lines, no snapshot */
	if (bs->started && !(s = snapshot(sv, &ns)))
		return -ENOMEM;
	for (size_t i = 0; i < n && !ret; i++) {
		struct rec *r = rec_get(bs, sv, eps[i]);

		if (!r) {
			ret = -ENOMEM;
			break;
		}
		r->gen = gen;
		r->ep = eps[i];
		ret = rec_sync(r, svc, eps[i]);
	}
	/* after a failure some records were not seen: none may count as gone */
	for (struct rec *r = sv->recs, *next; r && !ret; r = next) {
		next = r->next;
		if (r->gen != gen)
			ret = rec_leave(bs, r);
	}
	if (!ret) {
		bs_drains_settle(bs, sv);
		ret = decide(bs, sv, svc);
	}
	if (s)
		log_moves(sv, s);
	for (size_t i = 0; s && i < ns; i++)
		free(s[i].why);
	free(s);
	for (struct rec *r = sv->recs; r; r = r->next) {
		if (!ret) {
			r->ep->bs_state = r->f.state + 1;
			r->ep->bs_cause = r->f.cause;
			r->ep->bs_weight = r->f.eff;
		}
		r->ep = NULL;
		r->snap = 0;
	}
	return ret;
}

/* A plain backend's state follows from its endpoint alone. */
static uint8_t plain_state(const struct bstate *bs, const struct service *svc,
			   const struct endpoint *ep)
{
	const char *node = bs->conf->node;

	if (svc->policy == POLICY_LOCAL && !(node && ep->node && !strcmp(node, ep->node)))
		return BS_NOT_LOCAL;
	if (ep->terminating)
		return BS_TERMINATING;
	return ep->ready ? BS_HEALTHY : BS_NOT_READY;
}

/* A service with none of checks, slow start and draining: nothing to
 * remember but each endpoint's state and weight, kept on the endpoint. */
static int plain_eval(struct bstate *bs, const struct service *svc, struct endpoint *const *eps,
		      size_t n)
{
	struct facts *f = calloc(n + 1, sizeof(*f));
	struct cand *c = calloc(n + 1, sizeof(*c));
	bool open[2] = { false, false };

	if (!f || !c) {
		free(f);
		free(c);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		f[i] = (struct facts){
			.state = plain_state(bs, svc, eps[i]), .cause = eps[i]->cause,
			.weight = eps[i]->weight,
		};
		f[i].eff = serving(f[i].state) ? f[i].weight : 0;
		c[i] = (struct cand){ &f[i], &eps[i]->ip, eps[i]->ready, true };
	}
	both_families(svc->name, c, n, open);
	for (size_t i = 0; i < n; i++) {
		struct endpoint *ep = eps[i];
		struct facts was = {
			.state = ep->bs_state ? ep->bs_state - 1 : BS_MAX, .cause = ep->bs_cause,
			.weight = ep->weight, .eff = ep->bs_weight,
		};

		was.fallback = was.state == BS_TERMINATING && was.eff;
		if (bs->started && was.state != f[i].state &&
		    !(was.state == BS_MAX && f[i].state == BS_HEALTHY))
			bs_say_move(svc->name, ep->id, &ep->ip,
				 svc->n_ports ? endpoint_port_for(ep, &svc->ports[0]) : 0,
				 VLOG_INFO, &was, &f[i]);
		if (was.state != f[i].state)
			ep->bs_since = loop_now_ms();
		ep->bs_state = f[i].state + 1;
		ep->bs_cause = ep->cause;
		ep->bs_weight = f[i].eff;
	}
	free(f);
	free(c);
	return 0;
}

static bool featured(const struct service *svc)
{
	return svc->health.enabled || svc->slow_start || svc->drain_seconds;
}

/* A service that stops being featured (or is deleted) lets its records
 * go the way of backends that left: a deleted one's drain. */
static int svc_update(struct bstate *bs, const char *name)
{
	const struct service *svc = model_service_get(bs->model, name);
	bool rich = svc && featured(svc);
	struct bs_svc *sv = rich ? svc_get(bs, name) : hmap_get_str(bs->svcs, name);
	struct endpoint *const *eps;
	size_t n = svc ? model_endpoints_get(bs->model, name, &eps) : 0;
	int ret = 0;

	if (rich && !sv)
		return -ENOMEM;
	if (sv && svc && !rich)
		sv->drain_seconds = 0;	/* no longer drains: its records just go */
	if (sv)
		ret = featured_eval(bs, sv, rich ? svc : NULL, eps, rich ? n : 0);
	if (!ret && svc && !rich)
		ret = plain_eval(bs, svc, eps, n);
	if (sv)
		bs_svc_free_if_empty(bs, sv);
	return ret;
}

int bs_update(struct bstate *bs, const struct name_list *dirty, bool full)
{
	const char *name;
	struct bs_svc *sv;
	int ret = 0;

	if (full) {
		for (size_t it = 0; !ret && (name = model_service_next(bs->model, &it));)
			if (!(ret = svc_update(bs, name)))
				bs_count_service(bs, name);
		/* services gone from the model: their backends left */
		for (size_t it = 0; !ret && hmap_next(bs->svcs, &it, NULL, NULL, (void **)&sv);)
			if (!model_service_get(bs->model, sv->name))
				ret = svc_update(bs, sv->name);
		if (!ret)
			bs_count_sweep(bs);
	} else {
		for (size_t i = 0; i < dirty->n && !ret; i++)
			if (!(ret = svc_update(bs, dirty->names[i])))
				bs_count_service(bs, dirty->names[i]);
	}
	bs->started = true;	/* a failure is the caller's to tell */
	return ret;
}

uint32_t bs_weight(void *arg, const struct service *svc, const struct endpoint *ep)
{
	return ep->bs_weight;
}

/* ---- lifetime ------------------------------------------------------------ */

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
	bs->counts = hmap_alloc();
	bs->checker = loop ? checker_alloc(loop) : NULL;
	if (!bs->recs || !bs->svcs || !bs->counts || (loop && !bs->checker)) {
		bs_free(bs);
		return NULL;
	}
	return bs;
}

static void rec_free_void(void *p)
{
	rec_free(p);
}

void bs_free(struct bstate *bs)
{
	struct bs_svc *sv;

	if (!bs)
		return;
	/* records first (their checks use the checker), drains, services */
	hmap_free(bs->recs, rec_free_void);
	hmap_free(bs->counts, free);
	for (size_t it = 0; bs->svcs && hmap_next(bs->svcs, &it, NULL, NULL, (void **)&sv);) {
		while (sv->drains)
			bs_drain_free(bs, sv->drains);
		free(sv->name);
		free(sv);
	}
	hmap_free(bs->svcs, NULL);
	checker_free(bs->checker);
	free(bs);
}

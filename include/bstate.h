/* bstate.h: the one place that decides whether a backend takes new
 * connections, with what weight, and why.
 *
 * Its inputs are the endpoint as its source reports it (ready,
 * terminating and the cause of either), this node's active check or the
 * verdict its own node published, slow start and draining. For every
 * backend it keeps one state with a reason ("unhealthy: HTTP 500 (3 of
 * 3)", "slow start 40%", "terminating: docker kill", "draining 12 s
 * left", "not local") and the effective weight the planner shares slots
 * by (0: no new connections). Every change of state is one log line.
 *
 * Per service and family two rules look past single backends: when every
 * backend that would take traffic fails its check, all of them stay in
 * (fail open); when none is ready but some are terminating and still pass
 * their check, those go on serving (kube-proxy's terminating fallback).
 */
#ifndef VIPD_BSTATE_H
#define VIPD_BSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conntrack.h"
#include "model.h"

struct loop;
struct bstate;
struct drain;

enum bs_state {
	BS_HEALTHY,
	BS_SLOW_START,
	BS_UNHEALTHY,
	BS_NOT_READY,
	BS_TERMINATING,
	BS_DRAINING,		/* removed; established connections go on */
	BS_NOT_LOCAL,		/* traffic_policy local, on another node */
	BS_MAX
};

/* "healthy", "slow_start", ... (metrics and status labels). */
const char *bs_state_name(enum bs_state s);

struct bs_conf {
	const char *node;	/* --node-name, or NULL; borrowed */
	/* Endpoints from etcd that name another node are that node's to
	 * check: follow its verdict (model_verdict_get) instead. */
	bool follow_verdicts;
};

/* This node's verdict on a backend it checks, for others to follow
 * (published under <prefix>/health/<service>/<id>): id and source are
 * the endpoint's (enum source_id). Called when a check starts and at
 * every change of verdict (reason NULL when healthy), and with gone set
 * when the check stops. */
typedef void (*bs_publish_cb)(void *arg, const char *service, const char *id, uint8_t source,
			      bool healthy, const char *reason, bool gone);
/* drain_seconds after a backend left: delete its established
 * connections' conntrack entries, m[0..n) (borrowed for the call). */
typedef void (*bs_drain_cb)(void *arg, const char *service, const char *id,
			    const struct ct_match *m, size_t n);

struct bs_hooks {
	bs_publish_cb publish;
	bs_drain_cb drain;
	void *arg;
};

/* Borrows loop, model (the daemon's), conf and hooks for its life. Runs
 * checks on the loop and marks services dirty in the model (model_touch)
 * when a state moves on its own (a verdict, a slow start step). */
struct bstate *bs_alloc(struct loop *loop, struct model *m, const struct bs_conf *conf,
			const struct bs_hooks *hooks);
void bs_free(struct bstate *bs);

/* Before planning: brings the backends of the services named in dirty
 * (every service with full) up to the model. The first call is vipd's
 * start: backends found then do not ramp. Returns 0 or -ENOMEM. */
int bs_update(struct bstate *bs, const struct name_list *dirty, bool full);

/* The planner's question (a rec_weigh_fn): the weight ep of service svc
 * takes new connections with, 0 for none, as the last bs_update decided. */
uint32_t bs_weight(void *bs, const struct service *svc, const struct endpoint *ep);

/* One backend as status shows it. */
struct bs_view {
	const char *service, *id;
	const struct vaddr *ip;
	uint16_t port;		/* for the service's first port */
	enum bs_state state;
	uint32_t weight, effective;	/* configured; for new connections */
	const char *reason;
	uint8_t source;		/* enum source_id */
	uint64_t since_ms;	/* loop_now_ms() of the last change of state */
};
/* for (struct bs_iter it = { 0 }; bs_next(bs, &it, &v);): every backend,
 * and every removed one still draining; v's strings are borrowed until
 * the next bs_next or bs_update. */
struct bs_iter {
	size_t sit, dit, n, i;
	const char *name;
	const struct service *svc;
	struct endpoint *const *eps;
	struct drain *d;
	bool drains;
};
bool bs_next(struct bstate *bs, struct bs_iter *it, struct bs_view *v);
/* One endpoint of svc, as bs_next shows it; false while its state is not
 * decided yet (before the first bs_update that saw it). Starting an
 * iterator with drains set gives only the drains. */
bool bs_view(struct bstate *bs, const struct service *svc, const struct endpoint *ep,
	     struct bs_view *v);

/* The drains of one service's removed backends, with a zeroed iterator. */
bool bs_next_drain(struct bstate *bs, const char *service, struct bs_iter *it,
		   struct bs_view *v);

/* Endpoints by state (enum bs_state) as the last update decided them;
 * a removed backend still draining is not an endpoint (not counted). */
void bs_state_counts(const struct bstate *bs, uint64_t out[BS_MAX]);

/* The active checks' counts (all 0 without a loop). */
struct checker_stats;
void bs_check_stats(const struct bstate *bs, struct checker_stats *st);

#endif

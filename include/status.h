/* status.h: what a node does and why, for operators: /metrics
 * (Prometheus text 0.0.4), /healthz and /status (JSON), rendered to a
 * stream. Reads the model, the backend states and the daemon's own facts;
 * writes nothing (DESIGN.md "Observability"). */
#ifndef VIPD_STATUS_H
#define VIPD_STATUS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "bstate.h"
#include "model.h"
#include "prom.h"
#include "source.h"

struct loop;

/* A change waiting longer than this to reach the kernel makes the node
 * unhealthy (kube-proxy's healthz rule). */
#define STATUS_PENDING_MAX_MS	60000

/* What the daemon counts as it goes (cmd/ owns it; status_account and
 * the conntrack cleanups fill it). Times are loop_now_us(), 0: none. */
struct status_counters {
	struct prom_hist sync_full, sync_partial;	/* one reconcile, plan to commit */
	struct prom_hist programming;	/* oldest source change to kernel commit */
	uint64_t sync_failures;		/* commits the kernel refused */
	uint64_t ct_deleted;		/* conntrack entries vipd deleted */
	uint64_t reconciles;		/* each may change what the pages say */
	uint64_t started_us, last_sync_us;
	uint64_t change_since_us;	/* the oldest change a failed commit left out */
	bool kernel_differs;		/* the last commit failed: retrying */
};

/* A reconcile that began at t0 with changes made since since (0: none)
 * ended with ret (0 or a negative errno). */
void status_account(struct status_counters *c, int ret, bool full, uint64_t t0, uint64_t since);
/* The oldest change the kernel lacks: one not yet taken from the model
 * (dirty_since, model_dirty_since()), one a failed commit left out, or,
 * before the first sync, the start. 0: none. */
uint64_t status_pending_since(const struct status_counters *c, uint64_t dirty_since);

/* The class chain the planner gives a VIP port (rec_vip_chain). */
typedef int (*status_chain_fn)(void *arg, const struct vaddr *vip, const struct svc_port *sp,
			       char *buf, size_t len);

/* The daemon's facts at the time of the request; everything borrowed.
 * Times are loop_now_ms(); 0 means never / none. */
struct status_facts {
	const char *version, *node;
	uint64_t last_sync_ms;		/* the last commit that succeeded */
	uint64_t pending_since_ms;	/* the oldest change not in the kernel */
	bool kernel_differs;		/* the last commit failed: retrying */
	bool stale;			/* programmed from the state cache */
	const struct source *sources;
	size_t n_sources;
	const struct status_counters *counters;
	struct model *model;
	struct bstate *bs;
	/* endpoints by state (enum bs_state); NULL: bs's own. While stale
	 * the kernel routes another model than bs decides for. */
	const uint64_t *state_counts;
	status_chain_fn chain;
	void *chain_arg;
};

void status_metrics(FILE *f, const struct status_facts *s);
/* Returns the HTTP status: 200, or 503 when the kernel differs from the
 * plan or a change has waited over STATUS_PENDING_MAX_MS. */
unsigned status_healthz(FILE *f, const struct status_facts *s);
/* service NULL: every service. Returns 0, or -ENOENT for an unknown
 * service (nothing written). */
int status_json(FILE *f, const struct status_facts *s, const char *service);

/* The listener of these pages (--metrics): at each request it asks facts
 * for the daemon's state. /metrics and /status are rendered at most once
 * per reconcile (counters->reconciles) and second, and shared by every
 * response sending them. An address that is taken is bound again every
 * few seconds (routing never waits for it); name is the address as the
 * operator wrote it, for log lines. Returns NULL only out of memory. */
struct status_server;
typedef void (*status_facts_fn)(void *arg, struct status_facts *s);
struct status_server *status_server_open(struct loop *l, const struct sockaddr *addr,
					 socklen_t addr_len, const char *name,
					 status_facts_fn facts, void *arg);
void status_server_close(struct status_server *srv);

#endif

/* daemon.h: private to vipd (cmd/): the daemon's state, shared by
 * vipd.c (sources, reconciling, the kernel) and ops.c (what operators
 * see of it: /metrics, /healthz, /status). */
#ifndef VIPD_DAEMON_H
#define VIPD_DAEMON_H

#include <stdbool.h>
#include <stdint.h>

#include "bstate.h"
#include "config.h"
#include "datapath.h"
#include "httpd.h"
#include "publish.h"
#include "reconcile.h"
#include "source.h"
#include "state_cache.h"
#include "status.h"

#define SOURCES_MAX	3

/* What /metrics, /healthz and /status report (times loop_now_us()). */
struct ops {
	struct httpd *http;	/* NULL: --metrics off, or not bound yet */
	bool http_said;		/* a failed bind was logged */
	struct status_counters ctr;
	uint64_t started_us, last_sync_us;
	uint64_t change_since_us;	/* oldest change a failed commit left out */
	bool kernel_differs;	/* the last commit failed: retrying */
	uint64_t reconciles;	/* each one may change what /metrics says */
	struct rendered {
		struct httpd_blob *blob;	/* NULL: none yet */
		uint64_t gen, at_ms;	/* reconciles, loop_now_ms() when rendered */
	} metrics, status;
};

struct daemon {
	struct vipd_config cfg;
	struct dp_opts dp_opts;	/* what of cfg shapes the rules */
	struct loop *loop;
	struct model *model;
	struct reconciler *rec;
	struct bstate *bs;	/* what takes traffic, and why */
	struct bs_conf bs_conf;
	struct publisher *pub;	/* this node's verdicts in etcd; NULL: none */
	struct register_conf pub_conf;
	struct dp *dp;
	struct ct *ct;		/* NULL: conntrack cleanup unavailable (logged once) */
	struct changes aff_pending;	/* affinity purges that failed: retried */
	struct source sources[SOURCES_MAX];
	size_t n_sources;
	struct state_cache *cache;	/* NULL: --state-dir off, or a one-shot run */
	/* The kernel routes the state cache, not the sources (a boot with a
	 * source down, --source-wait): until every source is ready and a full
	 * plan of theirs is committed. For /status and /healthz. */
	bool stale;
	uint64_t stale_since_ms;	/* loop_now_ms() when the cache was programmed */
	struct model *boot;	/* while stale: the cache, as the kernel has it */
	uint64_t boot_counts[BS_MAX];	/* its endpoints by state, for /metrics */
	int exit_code;
	bool bad_input;		/* the services file could not be read at start: exit 2 */
	bool full;		/* next reconcile plans every service */
	bool base;		/* next commit re-asserts tables and chains */
	bool failed;		/* waiting for the retry timer */
	bool verifying;		/* this reconcile repairs foreign edits */
	uint64_t retry_ms;
	uint32_t genid;		/* ruleset generation after our last commit */
	uint64_t shape;		/* dp_struct_digest after our last commit */
	uint64_t verify_after;
	int sig_fd;
	int claim_fd;		/* holds this table in this network namespace */
	struct ops ops;
};


/* ops.c: a reconcile that began at t0 (µs) with changes made since since
 * (µs, 0: none) ended with ret; the listener (--metrics), retried while
 * its address is taken; closed with everything it holds. */
void ops_account(struct daemon *d, int ret, bool full, uint64_t t0, uint64_t since);
void ops_open(struct daemon *d);
void ops_close(struct daemon *d);

#endif

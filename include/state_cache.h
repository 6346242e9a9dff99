/* state_cache.h: what vipd last applied to the kernel, kept on disk, so
 * that a node rebooting while a source is down routes as it did instead
 * of not at all (vipd --state-dir, --source-wait).
 *
 * DIR/state.json is a services file (codec.h; DESIGN.md "Command line")
 * with one more top-level member, the header
 * "vipd_state":{"version":1,"written_at":"<RFC 3339>","node":"<name>"}
 * ("node" absent without --node-name; as a --services-file the header is
 * an unknown key, ignored). An endpoint that took no new
 * connections when it was written (unhealthy, not ready, terminating, not
 * local) is written "ready":false, one that did "ready":true and not
 * terminating: the planner's plain rule (rec_set_weigh NULL) then routes
 * the cache as vipd routed then, without the backend states.
 */
#ifndef VIPD_STATE_CACHE_H
#define VIPD_STATE_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"

struct loop;
struct state_cache;

#define SC_FILE		"state.json"
#define SC_TMP_FILE	".state.json.tmp"
#define SC_VERSION	1
/* Changes within this long after the first one are one write. */
#define SC_WRITE_DELAY_MS 1000
/* The path and why: a directory path, a file name and a codec error. */
#define SC_ERR_LEN	1024
/* --state-dir is refused longer than this (the paths under it must fit). */
#define SC_PATH_MAX	384
/* After a failed write, the next try comes this much later (a full disk
 * freed, a directory made writable), not only at the next change, and
 * never more often: each try forks the daemon. */
#define SC_RETRY_MS	30000

/* The weight ep takes new connections with, 0 for none (a rec_weigh_fn,
 * such as bs_weight). */
typedef uint32_t (*sc_weigh_fn)(void *arg, const struct service *svc, const struct endpoint *ep);

struct sc_header {
	char written_at[32];		/* RFC 3339, UTC */
	char node[NAME_MAX_LEN + 1];	/* "": none */
	size_t services, endpoints;
};

/* Writes every service and endpoint of m to dir/state.json atomically:
 * dir/.state.json.tmp, fsync, rename, fsync of dir (created 0700 when
 * missing). weigh NULL: each endpoint as its source says. node may be
 * NULL. Returns 0 with *bytes (may be NULL), or a negative errno with err
 * naming the path. */
int sc_save(const char *dir, const char *node, const struct model *m, sc_weigh_fn weigh,
	    void *arg, size_t *bytes, char err[SC_ERR_LEN]);

/* Reads dir/state.json into m (as SRC_FILE objects). Returns 0 with *h;
 * -ENOENT when there is none; else a negative errno with err naming the
 * path and what is wrong (not JSON, no or another version of the header,
 * a refused object): a file wrong anywhere is refused whole, and m may
 * then hold part of it. */
int sc_load(const char *dir, struct model *m, struct sc_header *h, char err[SC_ERR_LEN]);
/* vipd --cleanup: returns 1 when DIR/state.json was removed, 0 when there
 * was none, or a negative errno. */
int sc_remove(const char *dir);

/* The daemon's writer (state_writer.c): each write runs in a forked
 * child, on the model as it was at the fork, so that the loop never waits
 * for the disk. Borrows loop, dir, node, m and arg for its life. */
struct state_cache *sc_alloc(struct loop *loop, const char *dir, const char *node,
			     const struct model *m, sc_weigh_fn weigh, void *arg);
/* Waits for a write in flight, does one pending, then frees. NULL is
 * accepted. */
void sc_free(struct state_cache *sc);
/* The kernel now holds the model (a commit that changed something, or a
 * full one): written SC_WRITE_DELAY_MS later, with every change made
 * until then. A failed write is one warning, retried at the next change. */
void sc_changed(struct state_cache *sc);
/* Successful writes so far (tests, logs). */
unsigned sc_writes(const struct state_cache *sc);

/* A start that found no tables while some source is not ready: the cached
 * state as a model of its own (the caller's), with its header; or NULL
 * after one log line saying why (there is none, or it is unreadable). */
struct model *sc_boot_model(const struct state_cache *sc, struct sc_header *h);

#endif

/* etcd_client.h: the one etcd client of vipd and vipctl (the watcher, the
 * registrar, vipctl's subcommands). POSTs JSON to /v3/<path> of the v3 JSON
 * gateway on the endpoint in use, on the one event loop: the TLS options
 * and the auth token live here; a refused token is renewed once and the
 * call sent again; a failed call moves the client to the next endpoint.
 * When to retry (and how long to wait) stays with the caller, who knows
 * what the failure means; etcd_client_run drives one call to its end for
 * those that may block (vipctl, the revoke at exit).
 *
 * Bodies are request text from etcd.h's builders; the client takes them
 * over. Replies are borrowed by the done callback for the call only.
 */
#ifndef VIPD_ETCD_CLIENT_H
#define VIPD_ETCD_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

struct loop;
struct etcd_conf;
struct etcd_client;
struct etcd_call;

/* How a call ended. err: 0, or a negative errno (-EIO: etcd refused it or
 * could not be reached; -ENOMEM). reply: the parsed answer (NULL on error
 * and for streams). why: the reason on error (curl's or etcd's text, e.g.
 * "HTTP 400: etcdserver: mvcc: required revision has been compacted").
 * endpoint: the URL the call went to. */
struct etcd_reply {
	int err;
	const json_t *reply;
	const char *why;
	const char *endpoint;
};
typedef void (*etcd_done_cb)(const struct etcd_reply *r, void *arg);
/* A stream's bytes as they come; non-zero stops it (done then runs with
 * an error, unless the call was cancelled meanwhile). */
typedef int (*etcd_data_cb)(const char *data, size_t len, void *arg);

/* conf is borrowed and must outlive the client. NULL: out of memory. */
struct etcd_client *etcd_client_alloc(struct loop *loop, const struct etcd_conf *conf);
/* Cancels every call (their callbacks do not run). NULL is fine. */
void etcd_client_free(struct etcd_client *c);
/* 0: curl's default. Default 2000 ms. */
void etcd_client_set_connect_timeout(struct etcd_client *c, long ms);
/* On: a call that cannot reach its endpoint goes on at once to the next
 * one, each endpoint once (for callers that block: vipctl, the revoke at
 * exit). Off (the default): it fails, and the caller's next call goes to
 * the next endpoint when the caller sees fit. */
void etcd_client_set_every_endpoint(struct etcd_client *c, bool on);
/* The endpoint the next call goes to (borrowed from the conf). */
const char *etcd_client_endpoint(const struct etcd_client *c);
/* Forgets the auth token (a stream that reported it refused): the next
 * call authenticates first. */
void etcd_client_token_drop(struct etcd_client *c);

/* POSTs body (taken over) to /v3/<path>; done runs once when it is over,
 * unless cancelled; done NULL: for etcd_client_run. timeout_ms: the whole
 * request, 0 none. Returns NULL (body freed) when it cannot start. A call
 * is over when done runs: do not cancel it there. */
struct etcd_call *etcd_call(struct etcd_client *c, const char *path, char *body,
			    long timeout_ms, etcd_done_cb done, void *arg);
/* The same, but the reply is framed as it arrives (lib/jstream.c): a
 * string longer than max_string is cut to a marker (jstream_cut) and never
 * held, so a range over huge values costs their size once, not a copy. */
struct etcd_call *etcd_call_framed(struct etcd_client *c, const char *path, char *body,
				   long timeout_ms, size_t max_string, etcd_done_cb done,
				   void *arg);
/* The same, streaming the answer to on_data (etcd's watch), no timeout. */
struct etcd_call *etcd_stream(struct etcd_client *c, const char *path, char *body,
			      etcd_data_cb on_data, etcd_done_cb done, void *arg);
/* Ends a call without its callback; from its own data callback too.
 * NULL is fine. */
void etcd_call_cancel(struct etcd_call *call);

/* Runs the client's loop until call (started with done NULL) is over, at
 * most timeout_ms, then cancels it. The loop must be the caller's alone:
 * every source on it would run. Returns 0 and *reply (the caller's), or a
 * negative errno (-ETIMEDOUT) and why, which names each endpoint tried
 * ("URL: reason[; URL: reason]"). call NULL: -ENOMEM. */
int etcd_client_run(struct etcd_client *c, struct etcd_call *call, uint64_t timeout_ms,
		    json_t **reply, char *why, size_t why_len);

/* Leases: lease/grant (ttl seconds), lease/keepalive, lease/revoke. */
struct etcd_call *etcd_lease_grant(struct etcd_client *c, long ttl, long timeout_ms,
				   etcd_done_cb done, void *arg);
struct etcd_call *etcd_lease_keepalive(struct etcd_client *c, int64_t id, long timeout_ms,
				       etcd_done_cb done, void *arg);
struct etcd_call *etcd_lease_revoke(struct etcd_client *c, int64_t id, long timeout_ms,
				    etcd_done_cb done, void *arg);
/* A grant's lease ID (0: none); a keepalive's TTL left (<= 0: the lease
 * is gone). */
int64_t etcd_lease_granted(const json_t *reply);
int64_t etcd_lease_ttl_left(const json_t *reply);

#endif

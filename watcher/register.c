/* Register mode: this node's container endpoints, written to etcd; and,
 * in an instance of its own, the health verdicts this node publishes.
 *
 * Every key lives under one lease: granted at start, refreshed every third
 * of its TTL, revoked on a clean exit (every key goes at once); after a
 * crash the keys expire with it. Changes are batched into txns of at most
 * TXN_OPS operations, one request in flight. When etcd answers that the
 * lease is gone (it expired while etcd was unreachable), a new one is
 * granted and every key written again.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "codec.h"
#include "source.h"
#include "etcd.h"
#include "etcd_client.h"
#include "hmap.h"
#include "log.h"
#include "loop.h"
#include "register.h"

#define TXN_OPS			128	/* etcd's default --max-txn-ops */
#define BACKOFF_MIN_MS		100
#define BACKOFF_MAX_MS		2000
#define CONNECT_TIMEOUT_MS	1000
#define REQUEST_TIMEOUT_MS	5000
#define REVOKE_TIMEOUT_MS	1000

/* One key: what etcd should hold (value NULL: nothing). */
struct reg_key {
	char *key;		/* hmap keys are not NUL-terminated */
	char *value;
	uint64_t gen;		/* bumped at each change */
	uint64_t sent;		/* gen of the txn in flight, 0: none */
	bool dirty;		/* etcd may not hold value yet */
};

struct registrar {
	struct loop *loop;
	struct etcd_client *client;
	const struct etcd_conf *conf;	/* borrowed */
	char *node;
	char *what;			/* "endpoint", "health": for log lines */
	long ttl;
	int64_t lease;
	int64_t txn_lease, ka_lease;	/* the lease each request in flight used */
	struct hmap *keys;		/* full key -> struct reg_key */
	struct etcd_call *req;		/* grant or txn */
	struct etcd_call *ka_req;	/* keepalive */
	uint64_t flush_timer, retry_timer, ka_timer, backoff_ms;
	bool said_down;
};

static void reg_key_free(void *p)
{
	struct reg_key *k = p;

	free(k->key);
	free(k->value);
	free(k);
}

static void kick(struct registrar *r);

static void keepalive_send(struct registrar *r);

static void on_retry(struct loop *l, void *arg)
{
	struct registrar *r = arg;

	r->retry_timer = 0;
	keepalive_send(r);
	kick(r);
}

/* Said once per outage; the client has moved on to the next endpoint,
 * tried after a jittered delay. */
static void fail(struct registrar *r, const char *endpoint, const char *why)
{
	uint64_t delay;

	if (!r->said_down)
		log_warn("register: etcd %s: %s; keeping this node's registrations, retrying",
			 endpoint, why);
	r->said_down = true;
	delay = backoff_next(&r->backoff_ms, BACKOFF_MIN_MS, BACKOFF_MAX_MS);
	if (!r->retry_timer)
		r->retry_timer = loop_timer_add(r->loop, delay, on_retry, r);
}

static void answered(struct registrar *r, const char *endpoint)
{
	if (r->said_down)
		log_info("register: etcd %s answers again", endpoint);
	r->said_down = false;
	r->backoff_ms = 0;
}

static void lease_lost(struct registrar *r)
{
	const void *k;
	size_t it = 0, len;
	void *v;

	log_warn("register: lease %lld is gone (expired while etcd was out of reach?); registering again",
		 (long long)r->lease);
	r->lease = 0;
	while (hmap_next(r->keys, &it, &k, &len, &v))
		((struct reg_key *)v)->dirty = true;
}

/* A member that accepts and hangs must not outlast the lease. */
static long timeout_ms(const struct registrar *r)
{
	return r->ttl * 1000 / 3 < REQUEST_TIMEOUT_MS ? r->ttl * 1000 / 3 : REQUEST_TIMEOUT_MS;
}

/* A call that could not start is a failure like any other. */
static void started(struct registrar *r, struct etcd_call **slot, struct etcd_call *call)
{
	if (!(*slot = call))
		fail(r, etcd_client_endpoint(r->client), "cannot start a request");
}

/* ---- lease -------------------------------------------------------------- */

static void keepalive_done(const struct etcd_reply *res, void *arg)
{
	struct registrar *r = arg;

	r->ka_req = NULL;
	if (r->ka_lease != r->lease)
		return;		/* about a lease already replaced */
	if (res->err) {
		fail(r, res->endpoint, res->why);	/* the retry tries the next endpoint at once */
		return;
	}
	answered(r, res->endpoint);
	if (r->lease && etcd_lease_ttl_left(res->reply) <= 0) {
		lease_lost(r);
		kick(r);
	}
}

static void keepalive_send(struct registrar *r)
{
	if (!r->lease || r->ka_req)
		return;
	r->ka_lease = r->lease;
	started(r, &r->ka_req, etcd_lease_keepalive(r->client, r->lease, timeout_ms(r),
						    keepalive_done, r));
}

static void keepalive_tick(struct loop *l, void *arg)
{
	struct registrar *r = arg;

	r->ka_timer = loop_timer_add(l, (uint64_t)r->ttl * 1000 / 3, keepalive_tick, r);
	keepalive_send(r);
}

static void grant_done(const struct etcd_reply *res, void *arg)
{
	struct registrar *r = arg;

	r->req = NULL;
	if (res->err || !(r->lease = etcd_lease_granted(res->reply))) {
		fail(r, res->endpoint, res->err ? res->why : "lease grant: no ID in the reply");
		return;
	}
	if (!strcmp(r->what, "endpoint"))
		log_info("register: lease %lld (TTL %ld s) from %s; this node's endpoints go under %s/endpoints/<service>/%s:<container>",
			 (long long)r->lease, r->ttl, res->endpoint, r->conf->prefix, r->node);
	else
		log_info("register: lease %lld (TTL %ld s) from %s for this node's %s keys under %s/",
			 (long long)r->lease, r->ttl, res->endpoint, r->what, r->conf->prefix);
	kick(r);
}

/* ---- writing keys ------------------------------------------------------- */

static json_t *txn_op(const char *key, const struct reg_key *k, int64_t lease)
{
	if (k->value)
		return json_pack("{so*}", "request_put", etcd_put_obj(key, k->value, lease));
	return json_pack("{so*}", "request_delete_range", etcd_delete_obj(key));
}

/* Up to TXN_OPS dirty keys, marked as sent. */
static char *txn_body(struct registrar *r, size_t *n)
{
	json_t *ops = json_array(), *op, *txn;
	const void *key;
	char *body;
	size_t it = 0, len;
	void *v;

	*n = 0;
	while (ops && *n < TXN_OPS && hmap_next(r->keys, &it, &key, &len, &v)) {
		struct reg_key *k = v;

		if (!k->dirty)
			continue;
		if (!(op = txn_op(k->key, k, r->lease)) || json_array_append_new(ops, op) < 0)
			break;
		k->sent = k->gen;
		(*n)++;
	}
	txn = json_pack("{so*}", "success", ops);
	body = txn ? json_dumps(txn, JSON_COMPACT) : NULL;
	json_decref(txn);
	return body;
}

/* After a txn: what was sent and not changed since is in etcd now. */
static void settle(struct registrar *r, bool ok)
{
	const void *key;
	size_t it = 0, len;
	void *v;

	while (hmap_next(r->keys, &it, &key, &len, &v)) {
		struct reg_key *k = v;
		bool done = ok && k->sent && k->sent == k->gen;

		k->sent = 0;
		if (done)
			k->dirty = false;
		if (done && !k->value)
			reg_key_free(hmap_del(r->keys, key, len));
	}
}

static void txn_done(const struct etcd_reply *res, void *arg)
{
	struct registrar *r = arg;

	r->req = NULL;
	/* written under a lease that is gone meanwhile: to be written again */
	settle(r, !res->err && r->txn_lease == r->lease);
	if (res->err && strstr(res->why, "lease not found")) {
		lease_lost(r);
		kick(r);
		return;
	}
	if (res->err) {
		fail(r, res->endpoint, res->why);
		return;
	}
	answered(r, res->endpoint);
	kick(r);
}

static bool any_dirty(const struct registrar *r)
{
	const void *key;
	size_t it = 0, len;
	void *v;

	while (hmap_next(r->keys, &it, &key, &len, &v))
		if (((struct reg_key *)v)->dirty)
			return true;
	return false;
}

static void kick(struct registrar *r)
{
	size_t n;

	if (r->req || r->retry_timer)
		return;
	if (!r->lease) {
		started(r, &r->req, etcd_lease_grant(r->client, r->ttl, timeout_ms(r), grant_done, r));
	} else if (any_dirty(r)) {
		r->txn_lease = r->lease;
		started(r, &r->req, etcd_call(r->client, "kv/txn", txn_body(r, &n), timeout_ms(r),
					      txn_done, r));
	}
}

static void on_flush(struct loop *l, void *arg)
{
	struct registrar *r = arg;

	r->flush_timer = 0;
	kick(r);
}

/* Changes made in one pass of the loop go out as one txn. value: taken
 * over (NULL: delete the key). */
static void set(struct registrar *r, const char *rel_key, char *value)
{
	struct reg_key *k;
	char *key;

	if (asprintf(&key, "%s/%s", r->conf->prefix, rel_key) < 0) {
		log_err("register: out of memory writing %s/%s", r->conf->prefix, rel_key);
		free(value);
		return;
	}
	k = hmap_get_str(r->keys, key);
	if (!k && value && (k = calloc(1, sizeof(*k)))) {
		k->key = key;
		key = NULL;
		if (hmap_put_str(r->keys, k->key, k) < 0) {
			reg_key_free(k);
			k = NULL;
		}
	}
	if (!k && value)
		log_err("register: out of memory writing %s/%s", r->conf->prefix, rel_key);
	if (k && !(k->value && value && !strcmp(k->value, value)) && (k->value || value)) {
		free(k->value);
		k->value = value;
		value = NULL;
		k->gen++;
		k->dirty = true;
		if (!r->flush_timer)
			r->flush_timer = loop_timer_add(r->loop, 0, on_flush, r);
	}
	free(value);
	free(key);
}

void registrar_set(struct registrar *r, const char *rel_key, const char *value)
{
	char *copy = value ? strdup(value) : NULL;

	if (value && !copy) {
		log_err("register: out of memory writing %s/%s", r->conf->prefix, rel_key);
		return;
	}
	set(r, rel_key, copy);
}

/* Keys are <node>:<id>: node names have no ':', so two nodes never write
 * the same key. */
static void set_endpoint(struct registrar *r, const char *service, const char *id,
			 char *value)
{
	char *rel;

	if (asprintf(&rel, "endpoints/%s/%s:%s", service, r->node, id) < 0) {
		log_err("register: out of memory writing %s/%s", service, id);
		free(value);
		return;
	}
	set(r, rel, value);
	free(rel);
}

void registrar_put(struct registrar *r, const char *service, const struct endpoint *ep)
{
	json_t *o = codec_endpoint_json(ep);
	char *value = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	if (value)
		set_endpoint(r, service, ep->id, value);
	else
		log_err("register: out of memory writing %s/%s", service, ep->id);
}

void registrar_del(struct registrar *r, const char *service, const char *id)
{
	set_endpoint(r, service, id, NULL);
}

void registrar_put_verdict(struct registrar *r, const char *service, const char *id,
			   bool healthy, const char *reason)
{
	json_t *o = codec_verdict_json(healthy, reason);
	char *value = o ? json_dumps(o, JSON_COMPACT) : NULL, *rel = NULL;

	json_decref(o);
	if (!value || asprintf(&rel, "health/%s/%s", service, id) < 0) {
		log_err("register: out of memory (or a reason not UTF-8) writing health/%s/%s",
			service, id);
		free(value);
		return;
	}
	set(r, rel, value);
	free(rel);
}

/* ---- lifetime ----------------------------------------------------------- */

int registrar_open(struct loop *loop, const struct register_conf *conf, struct registrar **out)
{
	struct registrar *r = calloc(1, sizeof(*r));

	*out = r;
	if (!r)
		return -ENOMEM;
	r->loop = loop;
	r->ttl = conf->ttl;
	r->conf = conf->etcd;
	if (!(r->node = strdup(conf->node)) || !(r->keys = hmap_alloc()) ||
	    !(r->what = strdup(conf->what ? conf->what : "endpoint")) ||
	    !(r->client = etcd_client_alloc(loop, r->conf)))
		return -ENOMEM;
	etcd_client_set_connect_timeout(r->client, CONNECT_TIMEOUT_MS);
	r->ka_timer = loop_timer_add(loop, 1000, keepalive_tick, r);
	kick(r);
	return 0;
}

/* At exit the main loop is over, and running it again would run every
 * source and a reconcile: the revoke runs on a loop and client of its own,
 * trying each endpoint once. */
static int revoke(struct registrar *r, char *why, size_t len)
{
	struct loop *l = loop_alloc();
	struct etcd_client *c = l ? etcd_client_alloc(l, r->conf) : NULL;
	uint64_t bound = (uint64_t)REVOKE_TIMEOUT_MS * r->conf->n_endpoints * (r->conf->user ? 2 : 1);
	json_t *reply = NULL;
	int ret = -ENOMEM;

	snprintf(why, len, "out of memory");
	if (c) {
		etcd_client_set_connect_timeout(c, CONNECT_TIMEOUT_MS);
		etcd_client_set_every_endpoint(c, true);
		ret = etcd_client_run(c, etcd_lease_revoke(c, r->lease, REVOKE_TIMEOUT_MS, NULL, NULL),
				      bound, &reply, why, len);
	}
	json_decref(reply);
	etcd_client_free(c);
	loop_free(l);
	return ret;
}

void registrar_close(struct registrar *r)
{
	char why[256];

	if (!r)
		return;
	if (r->ka_timer)
		loop_timer_del(r->loop, r->ka_timer);
	if (r->retry_timer)
		loop_timer_del(r->loop, r->retry_timer);
	if (r->flush_timer)
		loop_timer_del(r->loop, r->flush_timer);
	etcd_client_free(r->client);
	if (r->lease && revoke(r, why, sizeof(why)) == 0)
		log_info("register: lease %lld revoked: this node's %zu %s keys are gone",
			 (long long)r->lease, hmap_count(r->keys), r->what);
	else if (r->lease)
		log_warn("register: could not revoke lease %lld (%s); its keys expire within %ld s",
			 (long long)r->lease, why, r->ttl);
	hmap_free(r->keys, reg_key_free);
	free(r->what);
	free(r->node);
	free(r);
}

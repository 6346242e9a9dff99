/* Register mode: this node's container endpoints, written to etcd.
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
#include <curl/curl.h>
#include <jansson.h>

#include "codec.h"
#include "source.h"
#include "etcd.h"
#include "hmap.h"
#include "http.h"
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
	struct http *http;
	struct http_opts opts;
	const struct etcd_conf *conf;	/* borrowed */
	size_t cur;
	char *auth_header;
	char *node;
	long ttl;
	int64_t lease;
	int64_t txn_lease, ka_lease;	/* the lease each request in flight used */
	struct hmap *keys;		/* full key -> struct reg_key */
	struct http_req *req;		/* auth, grant or txn */
	struct http_req *ka_req;	/* keepalive */
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

static char *url(struct registrar *r, const char *path)
{
	char *u;

	return asprintf(&u, "%s/v3/%s", r->conf->endpoints[r->cur], path) < 0 ? NULL : u;
}

static void keepalive_send(struct registrar *r);

static void on_retry(struct loop *l, void *arg)
{
	struct registrar *r = arg;

	r->retry_timer = 0;
	keepalive_send(r);
	kick(r);
}

/* Said once per outage; the next endpoint is tried after a jittered delay. */
static void fail(struct registrar *r, const char *why)
{
	uint64_t delay;

	if (!r->said_down)
		log_warn("register: etcd %s: %s; keeping this node's registrations, retrying",
			 r->conf->endpoints[r->cur], why);
	r->said_down = true;
	r->cur = (r->cur + 1) % r->conf->n_endpoints;
	delay = backoff_next(&r->backoff_ms, BACKOFF_MIN_MS, BACKOFF_MAX_MS);
	if (!r->retry_timer)
		r->retry_timer = loop_timer_add(r->loop, delay, on_retry, r);
}

/* Parses a reply; on failure says why (and forgets a refused token). */
static json_t *reply(struct registrar *r, int err, long status, const char *body,
		     size_t len, char *why, size_t why_len)
{
	json_t *root = body ? json_loadb(body, len, 0, NULL) : NULL;
	bool unauth;

	if (!etcd_reply_failed(err, status, root, why, why_len, &unauth))
		return root;
	if (unauth) {
		free(r->auth_header);
		r->auth_header = NULL;
		r->opts.header = NULL;
	}
	json_decref(root);
	return NULL;
}

static void answered(struct registrar *r)
{
	if (r->said_down)
		log_info("register: etcd %s answers again", r->conf->endpoints[r->cur]);
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

static void post(struct registrar *r, struct http_req **slot, const char *path,
		 char *body, http_done_cb done)
{
	char *u = url(r, path);

	/* a member that accepts and hangs must not outlast the lease */
	r->opts.timeout_ms = r->ttl * 1000 / 3 < REQUEST_TIMEOUT_MS ? r->ttl * 1000 / 3 : REQUEST_TIMEOUT_MS;
	*slot = u && body ? http_request(r->http, u, body, &r->opts, NULL, done, r) : NULL;
	free(u);
	free(body);
	if (!*slot)
		fail(r, "cannot start a request");
}

/* ---- auth and lease ----------------------------------------------------- */

static void auth_done(struct http_req *req, int err, long status,
		      const char *body, size_t len, void *arg)
{
	struct registrar *r = arg;
	char why[256];
	json_t *root = reply(r, err, status, body, len, why, sizeof(why));
	const char *token = json_string_value(json_object_get(root, "token"));

	r->req = NULL;
	free(r->auth_header);
	r->auth_header = NULL;
	if (!token || asprintf(&r->auth_header, "Authorization: %s", token) < 0) {
		r->auth_header = NULL;
		json_decref(root);
		fail(r, root ? "authentication: no token in the reply" : why);
		return;
	}
	r->opts.header = r->auth_header;
	json_decref(root);
	kick(r);
}

static void keepalive_done(struct http_req *req, int err, long status,
			   const char *body, size_t len, void *arg)
{
	struct registrar *r = arg;
	char why[256];
	json_t *root = reply(r, err, status, body, len, why, sizeof(why));

	r->ka_req = NULL;
	if (r->ka_lease != r->lease) {
		json_decref(root);	/* about a lease already replaced */
		return;
	}
	if (!root) {
		fail(r, why);	/* the retry tries the next endpoint at once */
		return;
	}
	answered(r);
	if (r->lease && etcd_int(json_object_get(root, "result"), "TTL") <= 0) {
		lease_lost(r);
		kick(r);
	}
	json_decref(root);
}

static void keepalive_send(struct registrar *r)
{
	if (!r->lease || r->ka_req)
		return;
	r->ka_lease = r->lease;
	post(r, &r->ka_req, "lease/keepalive", etcd_lease_body(r->lease, 0), keepalive_done);
}

static void keepalive_tick(struct loop *l, void *arg)
{
	struct registrar *r = arg;

	r->ka_timer = loop_timer_add(l, (uint64_t)r->ttl * 1000 / 3, keepalive_tick, r);
	keepalive_send(r);
}

static void grant_done(struct http_req *req, int err, long status,
		       const char *body, size_t len, void *arg)
{
	struct registrar *r = arg;
	char why[256];
	json_t *root = reply(r, err, status, body, len, why, sizeof(why));

	r->req = NULL;
	if (!root || !(r->lease = etcd_int(root, "ID"))) {
		json_decref(root);
		fail(r, root ? "lease grant: no ID in the reply" : why);
		return;
	}
	json_decref(root);
	log_info("register: lease %lld (TTL %ld s) from %s; this node's endpoints go under %s/endpoints/<service>/%s:<container>",
		 (long long)r->lease, r->ttl, r->conf->endpoints[r->cur], r->conf->prefix, r->node);
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

static void txn_done(struct http_req *req, int err, long status,
		     const char *body, size_t len, void *arg)
{
	struct registrar *r = arg;
	char why[256];
	json_t *root = reply(r, err, status, body, len, why, sizeof(why));

	r->req = NULL;
	/* written under a lease that is gone meanwhile: to be written again */
	settle(r, root != NULL && r->txn_lease == r->lease);
	json_decref(root);
	if (!root && strstr(why, "lease not found")) {
		lease_lost(r);
		kick(r);
		return;
	}
	if (!root) {
		fail(r, why);
		return;
	}
	answered(r);
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
	if (r->conf->user && !r->auth_header)
		post(r, &r->req, "auth/authenticate",
		     etcd_auth_body(r->conf->user, r->conf->password), auth_done);
	else if (!r->lease)
		post(r, &r->req, "lease/grant", etcd_lease_body(0, r->ttl), grant_done);
	else if (any_dirty(r)) {
		r->txn_lease = r->lease;
		post(r, &r->req, "kv/txn", txn_body(r, &n), txn_done);
	}
}

static void on_flush(struct loop *l, void *arg)
{
	struct registrar *r = arg;

	r->flush_timer = 0;
	kick(r);
}

/* Changes made in one pass of the loop go out as one txn. */
static void set(struct registrar *r, const char *service, const char *id, char *value)
{
	struct reg_key *k;
	char *key;

	if (asprintf(&key, "%s/endpoints/%s/%s:%s", r->conf->prefix, service, r->node, id) < 0) {
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

void registrar_put(struct registrar *r, const char *service, const struct endpoint *ep)
{
	json_t *o = codec_endpoint_json(ep);
	char *value = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	if (value)
		set(r, service, ep->id, value);
	else
		log_err("register: out of memory writing %s/%s", service, ep->id);
}

void registrar_del(struct registrar *r, const char *service, const char *id)
{
	set(r, service, id, NULL);
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
	r->opts = (struct http_opts){
		.cacert = r->conf->cacert, .cert = r->conf->cert, .key = r->conf->key,
		.connect_timeout_ms = CONNECT_TIMEOUT_MS,
	};
	if (!(r->node = strdup(conf->node)) || !(r->keys = hmap_alloc()) ||
	    !(r->http = http_alloc(loop)))
		return -ENOMEM;
	r->ka_timer = loop_timer_add(loop, 1000, keepalive_tick, r);
	kick(r);
	return 0;
}

static size_t discard(char *data, size_t size, size_t n, void *arg)
{
	return size * n;
}

/* The one blocking call of vipd, at exit: the loop is over by then. */
static bool revoke(struct registrar *r)
{
	struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
	char *body = etcd_lease_body(r->lease, 0);
	bool ok = false;

	if (r->auth_header)
		headers = curl_slist_append(headers, r->auth_header);
	for (size_t i = 0; i < r->conf->n_endpoints && !ok && body; i++) {
		CURL *c = curl_easy_init();
		char *u = url(r, "lease/revoke");
		long status = 0;

		if (c && u) {
			curl_easy_setopt(c, CURLOPT_URL, u);
			curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
			curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
			curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)REVOKE_TIMEOUT_MS);
			curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
			curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
			if (r->opts.cacert)
				curl_easy_setopt(c, CURLOPT_CAINFO, r->opts.cacert);
			if (r->opts.cert) {
				curl_easy_setopt(c, CURLOPT_SSLCERT, r->opts.cert);
				curl_easy_setopt(c, CURLOPT_SSLKEY, r->opts.key);
			}
			ok = curl_easy_perform(c) == CURLE_OK &&
			     curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK &&
			     status == 200;
		}
		curl_easy_cleanup(c);
		free(u);
		r->cur = (r->cur + 1) % r->conf->n_endpoints;
	}
	curl_slist_free_all(headers);
	free(body);
	return ok;
}

void registrar_close(struct registrar *r)
{
	if (!r)
		return;
	if (r->ka_timer)
		loop_timer_del(r->loop, r->ka_timer);
	if (r->retry_timer)
		loop_timer_del(r->loop, r->retry_timer);
	if (r->flush_timer)
		loop_timer_del(r->loop, r->flush_timer);
	http_free(r->http);
	if (r->lease && revoke(r))
		log_info("register: lease %lld revoked: this node's %zu endpoint keys are gone",
			 (long long)r->lease, hmap_count(r->keys));
	else if (r->lease)
		log_warn("register: could not revoke lease %lld; its keys expire within %ld s",
			 (long long)r->lease, r->ttl);
	hmap_free(r->keys, reg_key_free);
	free(r->auth_header);
	free(r->node);
	free(r);
}

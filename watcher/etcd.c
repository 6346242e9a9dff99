/* The etcd source: range the prefix (in pages, pinned to one revision),
 * then watch from the next revision over the v3 JSON gateway; resume from
 * the last seen revision after any disconnect, range again after a
 * compaction, rotate across endpoints with jittered backoff. While etcd is
 * unreachable the model (and so the kernel) keeps the last known state. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "codec.h"
#include "etcd.h"
#include "etcd_client.h"
#include "jstream.h"
#include "log.h"
#include "loop.h"
#include "model.h"
#include "source.h"

/* Keys per range page: a page of 10-endpoint services is a few MB of JSON,
 * well within the gateway's message limits. */
#define RANGE_PAGE		2000
#define PROGRESS_PAGES		25
#define BACKOFF_MIN_MS		100
#define BACKOFF_MAX_MS		5000
#define REQUEST_TIMEOUT_MS	30000
/* A value vipd can take is at most CODEC_TEXT_MAX bytes, base64 in the
 * stream: a longer string is cut by the framer instead of being held. */
#define VALUE_B64_MAX		((CODEC_TEXT_MAX + 2) / 3 * 4)

enum state { ST_RANGE, ST_WATCH, ST_WAIT };

struct etcd {
	struct source *src;
	struct etcd_client *client;
	char *prefix;			/* "/vipd/" */
	char *end;			/* "/vipd0" */
	enum state state;
	struct etcd_call *req;
	char *why;			/* why the watch stream stopped itself */
	int64_t rev;			/* the model holds the registry as of this */
	bool need_range;
	int64_t range_rev;		/* revision the pages are pinned to */
	char *page_key;			/* next page starts here (NULL: first) */
	size_t page_key_len, loaded, total;
	struct jstream stream;
	uint64_t backoff_ms, timer;
	bool up;			/* for one log line per state change */
	bool said_down;
	char cluster[24];		/* the cluster's id ("" until a reply) */
};

static void kick(struct etcd *e);

static const char *url(struct etcd *e)
{
	return etcd_client_endpoint(e->client);
}

static void on_backoff(struct loop *l, void *arg)
{
	struct etcd *e = arg;

	e->timer = 0;
	kick(e);
}

/* Something went wrong with endpoint: say so once; the client has moved
 * on to the next endpoint, tried after a jittered, growing delay. */
static void fail(struct etcd *e, const char *endpoint, const char *why)
{
	uint64_t delay;

	if (e->up)
		log_warn("etcd: lost %s: %s; keeping the last known state, retrying",
			 endpoint, why);
	else if (!e->said_down)
		log_warn("etcd: %s: %s; retrying (and every endpoint in turn) until one answers",
			 endpoint, why);
	else
		log_debug("etcd: %s: %s", endpoint, why);
	e->up = false;
	e->src->up = false;
	e->src->state = "unreachable";
	e->said_down = true;
	etcd_call_cancel(e->req);
	e->req = NULL;
	e->state = ST_WAIT;
	delay = backoff_next(&e->backoff_ms, BACKOFF_MIN_MS, BACKOFF_MAX_MS);
	e->timer = loop_timer_add(e->src->loop, delay, on_backoff, e);
}

/* Starts the request of a state (body: taken over); a request that cannot
 * start is a failure like any other. */
static void send_req(struct etcd *e, enum state st, const char *path, char *body,
		     etcd_data_cb on_data, etcd_done_cb on_done)
{
	const char *at = url(e);

	e->state = st;
	/* a range is framed like the watch: a huge value costs its size
	 * once and is not held */
	e->req = on_data ? etcd_stream(e->client, path, body, on_data, on_done, e) :
			   etcd_call_framed(e->client, path, body, REQUEST_TIMEOUT_MS,
					    VALUE_B64_MAX, on_done, e);
	if (!e->req)
		fail(e, at, "cannot start a request");
}

/* ---- applying keys ------------------------------------------------------ */

/* Keys may hold anything: show them printable and short in logs. */
static const char *shown(const char *key, size_t len, char *buf, size_t size)
{
	size_t o = 0;

	for (size_t i = 0; i < len && o + 4 < size; i++)
		buf[o++] = key[i] >= 0x20 && key[i] < 0x7f ? key[i] : '?';
	if (o + 4 >= size)
		memcpy(buf + o, "...", 3), o += 3;
	buf[o] = '\0';
	return buf;
}

/* Why a value is refused before it is parsed, or NULL. An empty value is
 * a refused one, not a deletion: the key is still in etcd. */
static const char *value_refusal(const struct etcd_kv *kv, char *err)
{
	if (kv->value_cut)
		snprintf(err, CODEC_ERR_LEN, "field value: %zu bytes: over the limit of %u",
			 kv->value_len, CODEC_TEXT_MAX);
	else if (kv->value_bad)
		snprintf(err, CODEC_ERR_LEN, "field value: not base64");
	else if (!kv->value_len)
		snprintf(err, CODEC_ERR_LEN, "field value: empty (delete the key to remove the object)");
	else
		return NULL;
	return err;
}

static void apply_service(struct etcd *e, const char *key, const char *name,
			  const struct etcd_kv *kv, bool deleted, char *err)
{
	struct model *m = e->src->model;
	struct service *svc;
	int ret;

	if (deleted) {
		model_service_del(m, SRC_ETCD, name);
		return;
	}
	ret = value_refusal(kv, err) ? -EINVAL :
	      codec_service_parse_text(name, kv->value, kv->value_len, &svc, err);
	if (ret == 0 && model_service_put(m, SRC_ETCD, svc) == 0)
		return;
	log_err("etcd %s: %s%s", key, ret == -ENOMEM ? "out of memory" : err,
		model_service_keep(m, SRC_ETCD, name) ? "; keeping its previous definition" : "");
}

/* In register mode this node's containers reach the model from Docker
 * directly; their etcd copies are for the other nodes. (So a restart or an
 * etcd outage never takes this node's own endpoints out of its kernel.) */
static bool own_registration(const struct etcd *e, const char *id)
{
	const char *node = e->src->conf.etcd->own_node;
	size_t n = node ? strlen(node) : 0;

	return n && !strncmp(id, node, n) && id[n] == ':';
}

/* "<service>/<id>" under endpoints/ or health/ (kind): the service into
 * svc, *id pointing into path. Logs and returns false for anything else. */
static bool split_key(const struct etcd *e, const char *key, const char *path,
		      const char *kind, char svc[NAME_MAX_LEN + 1], const char **id)
{
	const char *slash = strchr(path, '/');

	if (!slash || strchr(slash + 1, '/') || (size_t)(slash - path) > NAME_MAX_LEN) {
		log_err("etcd %s: field key: expected %s%s/<service>/<id>", key, e->prefix, kind);
		return false;
	}
	memcpy(svc, path, (size_t)(slash - path));
	svc[slash - path] = '\0';
	*id = slash + 1;
	if (!codec_name_valid(svc)) {
		log_err("etcd %s: field service: value \"%s\": not a valid service name", key, svc);
		return false;
	}
	return true;
}

static void apply_endpoint(struct etcd *e, const char *key, const char *path,
			   const struct etcd_kv *kv, bool deleted, char *err)
{
	struct model *m = e->src->model;
	char svc[NAME_MAX_LEN + 1];
	const char *id;
	struct endpoint *ep;
	int ret;

	if (!split_key(e, key, path, "endpoints", svc, &id))
		return;
	if (own_registration(e, id))
		return;
	if (deleted) {
		model_endpoint_del(m, SRC_ETCD, svc, id);
		return;
	}
	ret = value_refusal(kv, err) ? -EINVAL :
	      codec_endpoint_parse_text(id, kv->value, kv->value_len, &ep, err);
	if (ret == 0 && model_endpoint_put(m, SRC_ETCD, svc, ep) == 0)
		return;
	log_err("etcd %s: %s%s", key, ret == -ENOMEM ? "out of memory" : err,
		model_endpoint_keep(m, SRC_ETCD, svc, id) ? "; keeping its previous version" : "");
}

/* <prefix>/health/<service>/<id>: the verdict of the node that checks
 * that endpoint (DESIGN.md "etcd registry"). A value vipd cannot read
 * deletes the verdict, unlike a refused endpoint, which keeps its previous
 * version: a checked backend with no verdict counts as healthy, as every
 * one starts, and a bad write by one node must not take another node's
 * backend out of every kernel (failing open, as a service whose backends
 * all fail stays in). */
static void apply_verdict(struct etcd *e, const char *key, const char *path,
			  const struct etcd_kv *kv, bool deleted, char *err)
{
	struct model *m = e->src->model;
	char svc[NAME_MAX_LEN + 1], name[2 * NAME_MAX_LEN + 2];
	const char *id;
	struct verdict v;
	int ret;

	if (!split_key(e, key, path, "health", svc, &id))
		return;
	if (!codec_id_valid(id)) {
		log_err("etcd %s: field id: value \"%.80s\": must be 1..253 letters, digits and ._:-",
			key, id);
		return;
	}
	if (deleted) {
		model_verdict_del(m, svc, id);
		return;
	}
	snprintf(name, sizeof(name), "%s/%s", svc, id);
	ret = value_refusal(kv, err) ? -EINVAL :
	      codec_verdict_parse_text(name, kv->value, kv->value_len, &v.healthy,
				       v.reason, sizeof(v.reason), err);
	if (ret == 0 && (ret = model_verdict_put(m, svc, id, v.healthy, v.reason)) == 0)
		return;
	model_verdict_del(m, svc, id);
	log_err("etcd %s: %s; the backend counts as healthy", key,
		ret == -ENOMEM ? "out of memory" : err);
}

static void apply(struct etcd *e, const struct etcd_kv *kv, bool deleted)
{
	size_t plen = strlen(e->prefix);
	char key[160], err[CODEC_ERR_LEN];
	const char *rest;

	shown(kv->key, kv->key_len, key, sizeof(key));
	if (kv->key_len < plen || memcmp(kv->key, e->prefix, plen) ||
	    strlen(kv->key) != kv->key_len)
		return;
	rest = kv->key + plen;
	if (!strncmp(rest, "services/", 9) && !strchr(rest + 9, '/'))
		apply_service(e, key, rest + 9, kv, deleted, err);
	else if (!strncmp(rest, "endpoints/", 10))
		apply_endpoint(e, key, rest + 10, kv, deleted, err);
	else if (!strncmp(rest, "health/", 7))
		apply_verdict(e, key, rest + 7, kv, deleted, err);
	else
		log_debug("etcd %s: not a vipd key; ignored", key);
}

/* ---- the registry's identity ------------------------------------------- */

/* etcd stopped, its data wiped and started again is a new cluster whose
 * revisions start over; a restored backup goes back in revisions. Either
 * way a watch from the revision vipd knows would wait for writes that
 * already happened, while the model holds keys etcd no longer has. */
static bool registry_replaced(struct etcd *e, const json_t *header)
{
	const char *id = json_string_value(json_object_get(header, "cluster_id"));
	int64_t rev = etcd_int(header, "revision");
	char why[128] = "";

	if (id && *e->cluster && strcmp(id, e->cluster))
		snprintf(why, sizeof(why), "cluster id changed from %s to %s", e->cluster, id);
	else if (rev > 0 && rev < e->rev)
		snprintf(why, sizeof(why), "revision went back from %lld to %lld",
			 (long long)e->rev, (long long)rev);
	if (id)
		snprintf(e->cluster, sizeof(e->cluster), "%s", id);
	if (!*why)
		return false;
	log_warn("etcd %s: %s (etcd was reset or restored); reading everything again",
		 url(e), why);
	return true;
}

/* ---- range -------------------------------------------------------------- */

static void range_done(const struct etcd_reply *r, void *arg);

static void range_send(struct etcd *e)
{
	const char *start = e->page_key ? e->page_key : e->prefix;
	size_t start_len = e->page_key ? e->page_key_len : strlen(e->prefix);

	send_req(e, ST_RANGE, "kv/range", etcd_range_body(start, start_len, e->end, RANGE_PAGE,
							 e->range_rev, false),
		 NULL, range_done);
}

/* Returns false when the page's last key is unreadable: the next page
 * would start nowhere. */
static bool range_apply(struct etcd *e, const json_t *kvs)
{
	json_t *v;
	size_t i;

	json_array_foreach(kvs, i, v) {
		struct etcd_kv kv;

		if (etcd_kv_decode(v, &kv) < 0) {
			log_err("etcd: a key under %s at revision %lld is missing, too long or no base64; ignored",
				e->prefix, (long long)kv.mod_revision);
			if (i + 1 == json_array_size(kvs))
				return false;
			continue;
		}
		apply(e, &kv, false);
		if (i + 1 == json_array_size(kvs)) {
			/* next page: right after the last key */
			free(e->page_key);
			e->page_key = kv.key;
			e->page_key_len = kv.key_len + 1;
			kv.key = NULL;
		}
		etcd_kv_fini(&kv);
		e->loaded++;
	}
	return true;
}

static void range_done(const struct etcd_reply *r, void *arg)
{
	struct etcd *e = arg;
	const json_t *root = r->reply;

	e->req = NULL;
	if (r->err) {
		/* a pinned revision compacted away mid-range, or one this
		 * etcd never had (it was reset): start over */
		if (strstr(r->why, "compacted") || strstr(r->why, "future revision")) {
			e->range_rev = 0;
			free(e->page_key);
			e->page_key = NULL;
		}
		fail(e, r->endpoint, r->why);
		return;
	}
	if (e->page_key && registry_replaced(e, json_object_get(root, "header"))) {
		e->range_rev = 0;	/* the pages so far are of another cluster */
		free(e->page_key);
		e->page_key = NULL;
		range_send(e);
		return;
	}
	if (!e->page_key) {
		/* a full read: whatever came before, this is the registry now */
		snprintf(e->cluster, sizeof(e->cluster), "%s",
			 json_string_value(json_object_get(json_object_get(root, "header"),
							   "cluster_id")) ?: "");
		e->range_rev = etcd_int(json_object_get(root, "header"), "revision");
		e->total = (size_t)etcd_int(root, "count");
		e->loaded = 0;
		model_source_mark(e->src->model, SRC_ETCD);
	}
	if (!range_apply(e, json_object_get(root, "kvs")) &&
	    json_is_true(json_object_get(root, "more"))) {
		fail(e, r->endpoint, "a range page ends with an unreadable key");
		return;
	}
	if (json_is_true(json_object_get(root, "more")) && e->page_key) {
		/* long reads show progress: a line every PROGRESS_PAGES pages */
		if (e->loaded % (RANGE_PAGE * PROGRESS_PAGES) < RANGE_PAGE)
			log_info("etcd: read %zu of %zu keys", e->loaded, e->total);
		range_send(e);
		return;
	}
	model_source_sweep(e->src->model, SRC_ETCD);
	log_info("etcd: loaded %zu keys under %s at revision %lld from %s", e->loaded,
		 e->prefix, (long long)e->range_rev, r->endpoint);
	e->rev = e->range_rev;
	e->range_rev = 0;
	free(e->page_key);
	e->page_key = NULL;
	e->need_range = false;
	e->backoff_ms = 0;
	e->src->ready = true;
	kick(e);
}

/* ---- watch -------------------------------------------------------------- */

static void watch_event(struct etcd *e, json_t *ev)
{
	const char *type = json_string_value(json_object_get(ev, "type"));
	struct etcd_kv kv;

	/* An event vipd cannot read still moves the revision past it, or a
	 * resumed watch would send it again, forever. */
	if (etcd_kv_decode(json_object_get(ev, "kv"), &kv) < 0)
		log_err("etcd: event at revision %lld: its key is missing, too long or no base64; ignored",
			(long long)kv.mod_revision);
	else
		apply(e, &kv, type && !strcmp(type, "DELETE"));
	e->src->events++;
	if (kv.mod_revision > e->rev)
		e->rev = kv.mod_revision;
	etcd_kv_fini(&kv);
}

/* The stream stops itself; watch_done says why. */
static bool stop_watch(struct etcd *e, const char *why)
{
	free(e->why);
	e->why = strdup(why);
	return false;
}

/* One message of the watch stream. Returns false when the stream is over. */
static bool watch_message(struct etcd *e, json_t *msg)
{
	json_t *r = json_object_get(msg, "result"), *events, *ev;
	const char *why;
	int code = 0;
	size_t i;

	if (!r) {
		why = etcd_error(msg, &code);
		if (code == ETCD_CODE_UNAUTHENTICATED)
			etcd_client_token_drop(e->client);
		return stop_watch(e, why ? why : "unexpected watch message");
	}
	if (registry_replaced(e, json_object_get(r, "header"))) {
		e->need_range = true;
		etcd_call_cancel(e->req);
		e->req = NULL;
		kick(e);
		return false;
	}
	if (json_is_true(json_object_get(r, "canceled"))) {
		int64_t compact = etcd_int(r, "compact_revision");

		if (compact) {
			log_warn("etcd: revision %lld was compacted (oldest kept: %lld); reading everything again",
				 (long long)(e->rev + 1), (long long)compact);
			e->need_range = true;
			etcd_call_cancel(e->req);
			e->req = NULL;
			kick(e);
		} else {
			/* an expired token cancels the watch rather than failing
			 * the request: fetch a new one */
			why = json_string_value(json_object_get(r, "cancel_reason"));
			if (why && strstr(why, "Unauthenticated"))
				etcd_client_token_drop(e->client);
			stop_watch(e, why ? why : "watch cancelled");
		}
		return false;
	}
	if (json_is_true(json_object_get(r, "created")) && !e->up) {
		log_info("etcd: watching %s from revision %lld", url(e), (long long)(e->rev + 1));
		e->up = true;
		e->said_down = false;
		e->backoff_ms = 0;
	}
	e->src->up = true;
	e->src->state = "watching";
	events = json_object_get(r, "events");
	json_array_foreach(events, i, ev)
		watch_event(e, ev);
	if (!json_array_size(events) && !json_is_true(json_object_get(r, "created"))) {
		/* progress notification: nothing below this revision is pending */
		int64_t rev = etcd_int(json_object_get(r, "header"), "revision");

		if (rev > e->rev)
			e->rev = rev;
	}
	return true;
}

static bool on_watch_message(json_t *msg, void *arg)
{
	return watch_message(arg, msg);
}

/* The gateway streams one JSON object per message; a chunk may hold part of
 * one, or several. */
static int watch_data(const char *data, size_t len, void *arg)
{
	struct etcd *e = arg;
	int ret = jstream_feed(&e->stream, data, len, on_watch_message, e);

	if (ret < 0)
		stop_watch(e, ret == -EINVAL ? "malformed or oversized watch message" : "out of memory");
	return ret != 0;
}

static void watch_done(const struct etcd_reply *r, void *arg)
{
	struct etcd *e = arg;
	char why[128];

	e->req = NULL;
	jstream_reset(&e->stream);
	snprintf(why, sizeof(why), "watch ended: %s", r->why);
	fail(e, r->endpoint, e->why ? e->why : why);
	free(e->why);
	e->why = NULL;
}

static void watch_send(struct etcd *e)
{
	jstream_reset(&e->stream);
	send_req(e, ST_WATCH, "watch", etcd_watch_body(e->prefix, e->end, e->rev + 1),
		 watch_data, watch_done);
}

static void kick(struct etcd *e)
{
	if (e->need_range)
		range_send(e);
	else
		watch_send(e);
}

/* ---- the source --------------------------------------------------------- */

static int etcd_start(struct source *src)
{
	const struct etcd_conf *conf = src->conf.etcd->etcd;
	struct etcd *e = calloc(1, sizeof(*e));

	if (!e)
		return -ENOMEM;
	src->priv = e;
	e->src = src;
	if (asprintf(&e->prefix, "%s/", conf->prefix) < 0 ||
	    !(e->end = etcd_prefix_end(e->prefix)) ||
	    !(e->client = etcd_client_alloc(src->loop, conf)))
		return -ENOMEM;
	e->stream.max_string = VALUE_B64_MAX;
	e->stream.whole = "key";	/* an etcd key is never cut: it is named */
	e->need_range = true;
	src->ready = false;
	kick(e);
	return 0;
}

static void etcd_resync(struct source *src)
{
	struct etcd *e = src->priv;

	if (!e || e->state == ST_RANGE)
		return;	/* a range is under way */
	e->need_range = true;
	if (e->state == ST_WAIT)
		return;	/* the retry after the backoff reads everything */
	etcd_call_cancel(e->req);
	e->req = NULL;
	kick(e);
}

static void etcd_stop(struct source *src)
{
	struct etcd *e = src->priv;

	if (!e)
		return;
	if (e->timer)
		loop_timer_del(src->loop, e->timer);
	etcd_client_free(e->client);
	free(e->prefix);
	free(e->end);
	free(e->why);
	free(e->page_key);
	jstream_fini(&e->stream);
	free(e);
	src->priv = NULL;
}

const struct source_ops source_etcd_ops = {
	.name = "etcd",
	.kind = "etcd",
	.start = etcd_start,
	.resync = etcd_resync,
	.stop = etcd_stop,
};

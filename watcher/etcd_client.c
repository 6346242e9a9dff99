/* The etcd client: each call is a small state machine (authenticate when
 * there is no token, send, renew a refused token once and send again, move
 * to the next endpoint on failure) over lib/http.c on the event loop. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "etcd.h"
#include "etcd_client.h"
#include "http.h"
#include "jstream.h"
#include "log.h"
#include "loop.h"

#define CONNECT_TIMEOUT_MS	2000
/* An authentication before a stream (which has no timeout) must not hang
 * on a member that accepts and never answers. */
#define AUTH_TIMEOUT_MS		30000
#define NONE			((size_t)-1)

struct etcd_client {
	struct loop *loop;
	const struct etcd_conf *conf;	/* borrowed */
	struct http *http;
	struct http_opts opts;		/* TLS and timeouts: the one place */
	char *auth_header;		/* "Authorization: <token>" */
	size_t cur;			/* endpoint of the next call */
	size_t answered;		/* the last endpoint that answered */
	bool every_endpoint;
	struct etcd_call *calls;	/* live calls */
};

struct etcd_call {
	struct etcd_client *c;
	struct http_req *req;
	char *path, *body;
	long timeout_ms;
	etcd_data_cb on_data;
	etcd_done_cb on_done;
	void *arg;
	size_t endpoint;		/* where req went */
	size_t tried;			/* endpoints tried (every_endpoint) */
	bool authing, renewed, streaming;
	/* etcd_call_framed: the reply framed as it arrives, its long strings
	 * cut (never held whole), instead of collected and parsed at the end */
	bool framed;
	struct jstream frame;
	json_t *framed_reply;
	/* the result, for etcd_client_run */
	bool over;
	int err;
	json_t *reply;
	char why[1024];		/* room for tried_why and the last reason */
	/* every_endpoint: "URL: why; " of each endpoint that failed before the
	 * one in use, so that etcd_client_run's answer names them all */
	char tried_why[512];
	struct etcd_call *next;
};

struct etcd_client *etcd_client_alloc(struct loop *loop, const struct etcd_conf *conf)
{
	struct etcd_client *c = calloc(1, sizeof(*c));

	if (!c || !(c->http = http_alloc(loop))) {
		free(c);
		return NULL;
	}
	c->loop = loop;
	c->conf = conf;
	c->answered = NONE;
	c->opts = (struct http_opts){
		.cacert = conf->cacert, .cert = conf->cert, .key = conf->key,
		.connect_timeout_ms = CONNECT_TIMEOUT_MS,
	};
	return c;
}

static void unlink_call(struct etcd_call *call)
{
	for (struct etcd_call **p = &call->c->calls; *p; p = &(*p)->next)
		if (*p == call) {
			*p = call->next;
			break;
		}
}

static void call_free(struct etcd_call *call)
{
	unlink_call(call);
	json_decref(call->reply);
	json_decref(call->framed_reply);
	jstream_fini(&call->frame);
	free(call->path);
	free(call->body);
	free(call);
}

void etcd_client_free(struct etcd_client *c)
{
	if (!c)
		return;
	http_free(c->http);	/* every request, without callbacks */
	while (c->calls)
		call_free(c->calls);
	free(c->auth_header);
	free(c);
}

void etcd_client_set_connect_timeout(struct etcd_client *c, long ms)
{
	c->opts.connect_timeout_ms = ms;
}

void etcd_client_set_every_endpoint(struct etcd_client *c, bool on)
{
	c->every_endpoint = on;
}

const char *etcd_client_endpoint(const struct etcd_client *c)
{
	return c->conf->endpoints[c->cur];
}

void etcd_client_token_drop(struct etcd_client *c)
{
	free(c->auth_header);
	c->auth_header = NULL;
}

/* ---- one call ----------------------------------------------------------- */

static void next_endpoint(struct etcd_client *c, size_t failed)
{
	/* calls in flight on one dead endpoint move the client once */
	if (c->cur == failed)
		c->cur = (c->cur + 1) % c->conf->n_endpoints;
}

static void answered(struct etcd_client *c, size_t endpoint)
{
	if (c->answered != NONE && c->answered != endpoint)
		log_info("etcd: now using %s (was %s)", c->conf->endpoints[endpoint],
			 c->conf->endpoints[c->answered]);
	c->answered = endpoint;
}

/* The call is over: hand the result over, then free the call (unless
 * etcd_client_run collects it). */
static void finish(struct etcd_call *call, int err, json_t *reply, const char *why)
{
	struct etcd_client *c = call->c;
	struct etcd_reply r = {
		.err = err, .reply = err ? NULL : reply, .why = err ? why : "",
		.endpoint = c->conf->endpoints[call->endpoint],
	};

	if (err)
		next_endpoint(c, call->endpoint);
	if (!call->on_done) {
		call->over = true;
		call->err = err;
		call->reply = err ? NULL : json_incref(reply);
		snprintf(call->why, sizeof(call->why), "%s%s: %s", call->tried_why, r.endpoint, r.why);
		json_decref(reply);
		loop_stop(c->loop);
		return;
	}
	unlink_call(call);
	call->on_done(&r, call->arg);
	json_decref(reply);
	call_free(call);
}

static void http_done(struct http_req *req, int err, long status, const char *body,
		      size_t len, void *arg);

static int stream_data(struct http_req *req, const char *data, size_t len, void *arg)
{
	struct etcd_call *call = arg;

	if (!call->streaming) {
		call->streaming = true;
		answered(call->c, call->endpoint);
	}
	return call->on_data(data, len, call->arg);
}

static bool framed_value(json_t *v, void *arg)
{
	struct etcd_call *call = arg;

	if (!call->framed_reply)
		call->framed_reply = json_incref(v);
	return true;
}

static int framed_data(struct http_req *req, const char *data, size_t len, void *arg)
{
	struct etcd_call *call = arg;

	return jstream_feed(&call->frame, data, len, framed_value, call) < 0;
}

/* Sends the call, or the authentication it needs first. */
static int send_call(struct etcd_call *call)
{
	struct etcd_client *c = call->c;
	bool auth = c->conf->user && !c->auth_header;
	char *body = auth ? etcd_auth_body(c->conf->user, c->conf->password) : call->body;
	char *u = NULL;

	call->endpoint = c->cur;
	call->authing = auth;
	c->opts.header = auth ? NULL : c->auth_header;
	c->opts.timeout_ms = !auth ? call->timeout_ms : call->timeout_ms ? call->timeout_ms : AUTH_TIMEOUT_MS;
	if (body && asprintf(&u, "%s/v3/%s", c->conf->endpoints[c->cur],
			     auth ? "auth/authenticate" : call->path) < 0)
		u = NULL;
	jstream_reset(&call->frame);
	json_decref(call->framed_reply);
	call->framed_reply = NULL;
	call->req = u ? http_request(c->http, u, body, &c->opts,
				     auth ? NULL : call->on_data ? stream_data :
				     call->framed ? framed_data : NULL, http_done, call) : NULL;
	free(u);
	if (auth)
		free(body);
	return call->req ? 0 : -ENOMEM;
}

/* Whether the call goes on after a failure (why): a refused token is
 * renewed once; an endpoint out of reach is skipped in every_endpoint
 * mode. */
static bool again(struct etcd_call *call, int err, bool unauth, const char *why)
{
	struct etcd_client *c = call->c;
	size_t used = strlen(call->tried_why);

	if (unauth && c->conf->user && !call->renewed) {
		call->renewed = true;
		etcd_client_token_drop(c);
		return send_call(call) == 0;
	}
	if (err && c->every_endpoint && ++call->tried < c->conf->n_endpoints) {
		snprintf(call->tried_why + used, sizeof(call->tried_why) - used, "%s: %s; ",
			 c->conf->endpoints[call->endpoint], why);
		next_endpoint(c, call->endpoint);
		return send_call(call) == 0;
	}
	return false;
}

/* net: the transfer's failure, worded for the operator (NULL: none). */
static void auth_done(struct etcd_call *call, int err, const char *net, long status, json_t *root)
{
	struct etcd_client *c = call->c;
	const char *token = json_string_value(json_object_get(root, "token"));
	char why[256] = "";
	bool unauth;

	if (etcd_reply_failed(err, status, root, why, sizeof(why), &unauth) || !token) {
		json_decref(root);
		if (net)
			snprintf(why, sizeof(why), "%s", net);
		if (again(call, err, false, *why ? why : "authentication: no token in the reply"))
			return;
		finish(call, -EIO, NULL, *why ? why : "authentication: no token in the reply");
		return;
	}
	if (asprintf(&c->auth_header, "Authorization: %s", token) < 0)
		c->auth_header = NULL;
	json_decref(root);
	if (!c->auth_header || send_call(call) < 0)
		finish(call, -ENOMEM, NULL, "cannot start a request");
}

static void http_done(struct http_req *req, int err, long status, const char *body,
		      size_t len, void *arg)
{
	struct etcd_call *call = arg;
	json_t *root = body ? json_loadb(body, len, 0, NULL) : NULL;
	const char *net = err ? http_req_strerror(req, err) : NULL;
	char why[256];
	bool unauth;

	call->req = NULL;
	if (call->framed && !call->authing) {
		root = call->framed_reply;	/* taken over */
		call->framed_reply = NULL;
	}
	if (call->authing) {
		auth_done(call, err, net, status, root);
		return;
	}
	if (call->on_data) {	/* a stream is over: always a failure */
		snprintf(why, sizeof(why), "%s", err ? net :
			 status == 200 ? "closed by the server" : "HTTP error");
		finish(call, -EIO, NULL, why);
		return;
	}
	if (!etcd_reply_failed(err, status, root, why, sizeof(why), &unauth)) {
		answered(call->c, call->endpoint);
		finish(call, 0, root, "");
		return;
	}
	json_decref(root);
	if (net)
		snprintf(why, sizeof(why), "%s", net);
	if (!again(call, err, unauth, why))
		finish(call, -EIO, NULL, why);
}

/* frame_max: frame the reply, cutting strings past it (NULL: collect it). */
static struct etcd_call *start(struct etcd_client *c, const char *path, char *body,
			       long timeout_ms, etcd_data_cb on_data, const size_t *frame_max,
			       etcd_done_cb done, void *arg)
{
	struct etcd_call *call = body ? calloc(1, sizeof(*call)) : NULL;

	if (!call || !(call->path = strdup(path))) {
		free(call);
		free(body);
		return NULL;
	}
	*call = (struct etcd_call){
		.c = c, .path = call->path, .body = body, .timeout_ms = timeout_ms,
		.on_data = on_data, .on_done = done, .arg = arg, .next = c->calls,
		/* etcd's keys ("key") are never cut: a refusal must name one */
		.framed = frame_max != NULL,
		.frame = { .max_string = frame_max ? *frame_max : 0, .whole = "key" },
	};
	c->calls = call;
	if (send_call(call) < 0) {
		call_free(call);
		return NULL;
	}
	return call;
}

struct etcd_call *etcd_call(struct etcd_client *c, const char *path, char *body,
			    long timeout_ms, etcd_done_cb done, void *arg)
{
	return start(c, path, body, timeout_ms, NULL, NULL, done, arg);
}

struct etcd_call *etcd_call_framed(struct etcd_client *c, const char *path, char *body,
				   long timeout_ms, size_t max_string, etcd_done_cb done,
				   void *arg)
{
	return start(c, path, body, timeout_ms, NULL, &max_string, done, arg);
}

struct etcd_call *etcd_stream(struct etcd_client *c, const char *path, char *body,
			      etcd_data_cb on_data, etcd_done_cb done, void *arg)
{
	return start(c, path, body, 0, on_data, NULL, done, arg);
}

void etcd_call_cancel(struct etcd_call *call)
{
	if (!call)
		return;
	http_cancel(call->req);
	call_free(call);
}

/* ---- driving one call to its end ---------------------------------------- */

static void on_deadline(struct loop *l, void *arg)
{
	*(bool *)arg = true;
	loop_stop(l);
}

int etcd_client_run(struct etcd_client *c, struct etcd_call *call, uint64_t timeout_ms,
		    json_t **reply, char *why, size_t why_len)
{
	bool late = false;
	uint64_t timer;
	int ret;

	*reply = NULL;
	if (!call) {
		snprintf(why, why_len, "cannot start a request");
		return -ENOMEM;
	}
	timer = loop_timer_add(c->loop, timeout_ms, on_deadline, &late);
	while (!call->over && !late && (ret = loop_run(c->loop)) == 0)
		;
	if (!late)
		loop_timer_del(c->loop, timer);
	if (!call->over) {
		snprintf(why, why_len, "%s%s: no answer within %llu ms", call->tried_why,
			 c->conf->endpoints[call->endpoint], (unsigned long long)timeout_ms);
		etcd_call_cancel(call);
		return -ETIMEDOUT;
	}
	ret = call->err;
	*reply = call->reply;
	call->reply = NULL;
	snprintf(why, why_len, "%s", call->why);
	call_free(call);
	return ret;
}

/* ---- leases ------------------------------------------------------------- */

struct etcd_call *etcd_lease_grant(struct etcd_client *c, long ttl, long timeout_ms,
				   etcd_done_cb done, void *arg)
{
	return etcd_call(c, "lease/grant", etcd_lease_body(0, ttl), timeout_ms, done, arg);
}

struct etcd_call *etcd_lease_keepalive(struct etcd_client *c, int64_t id, long timeout_ms,
				       etcd_done_cb done, void *arg)
{
	return etcd_call(c, "lease/keepalive", etcd_lease_body(id, 0), timeout_ms, done, arg);
}

struct etcd_call *etcd_lease_revoke(struct etcd_client *c, int64_t id, long timeout_ms,
				    etcd_done_cb done, void *arg)
{
	return etcd_call(c, "lease/revoke", etcd_lease_body(id, 0), timeout_ms, done, arg);
}

int64_t etcd_lease_granted(const json_t *reply)
{
	return etcd_int(reply, "ID");
}

int64_t etcd_lease_ttl_left(const json_t *reply)
{
	return etcd_int(json_object_get(reply, "result"), "TTL");
}

/* The Docker source: the Engine API on its unix socket.
 *
 * It asks /version for the API version, lists every container (stopped
 * ones too: their vipd.vip keeps the service, so clients are refused at
 * once instead of timing out), opens /events from a second before the list
 * was asked for, so nothing between the two is missed, then inspects each
 * container; an event means "inspect that container again". A stop signal (kill event) makes a
 * container's endpoints terminating at once, before it dies. After any
 * disconnect (dockerd restarted) it lists again and drops what is gone;
 * while dockerd is away the model keeps what it last knew, as the
 * containers keep running.
 *
 * What a container contributes, and where it goes (the model; in register
 * mode the registrar too), is docker_ctrs.c's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <curl/curl.h>
#include <jansson.h>

#include "docker_source.h"
#include "hmap.h"
#include "http.h"
#include "jstream.h"
#include "log.h"
#include "loop.h"
#include "register.h"
#include "source.h"

#define API_MAX_MINOR		41	/* docker 20.10, what the tests run */
#define API_MIN_MINOR		25	/* /events filters as used here */
#define CONNECTIONS		8	/* the events stream and up to 7 inspects */
#define BACKOFF_MIN_MS		100
#define BACKOFF_MAX_MS		2000
#define REQUEST_TIMEOUT_MS	10000
/* curl counts time queued behind CONNECTIONS too: 1,000 containers at
 * 80 ms per inspect on 7 connections take ~12 s. */
#define INSPECT_TIMEOUT_MS	60000
#define INSPECT_RETRY_MS	1000
/* Only what changes an endpoint: health checks alone send three exec_*
 * events per container and interval, which dockerd now keeps to itself.
 * ("health_status" matches "health_status: healthy" by prefix.) */
#define EVENTS_FILTER "{\"type\":[\"container\",\"network\"],\"event\":[" \
	"\"create\",\"start\",\"restart\",\"die\",\"kill\",\"stop\",\"pause\"," \
	"\"unpause\",\"destroy\",\"health_status\",\"rename\",\"update\",\"oom\"," \
	"\"connect\",\"disconnect\"]}"

static void kick(struct docker *d);
static void relist_arm(struct docker *d);
static void inspect(struct ctr *c);
static void inspect_later(struct ctr *c, const char *why);

static void initial_done(struct ctr *c)
{
	struct docker *d = c->d;

	if (!c->initial)
		return;
	c->initial = false;
	if (--d->initial == 0) {
		size_t eps = 0, it = 0, len;
		const void *k;
		struct ctr *x;

		while (hmap_next(d->ctrs, &it, &k, &len, (void **)&x))
			eps += x->view.n_items;
		log_info("docker: %s (API %s): %zu containers, %zu endpoints",
			 d->socket, d->api, hmap_count(d->ctrs), eps);
		d->src->ready = true;
	}
}

/* Gone (destroyed, or missing from a list): no longer awaited either. */
static void forget(struct ctr *c)
{
	initial_done(c);
	dk_ctr_remove(c);
}

static void inspect_done(struct http_req *req, int err, long status,
			 const char *body, size_t len, void *arg)
{
	struct ctr *c = arg;
	json_t *root = status == 200 && body ? json_loadb(body, len, 0, NULL) : NULL;
	char why[DOCKER_ERR_LEN];
	struct docker_view nv;
	int ret;

	c->req = NULL;
	if (status == 404) {
		json_decref(root);
		forget(c);
		return;
	}
	if (root)
		c->print = docker_inspect_print(root);
	if (root && (ret = docker_view_parse(c->d->conf, root, &nv, why)) != -ENOMEM) {
		dk_ctr_judged(c, &nv, ret, why);
		dk_ctr_apply(c, &nv);
	} else {
		if (root)
			docker_view_fini(&nv);
		inspect_later(c, !root ? (err ? http_strerror(err) : "unexpected reply") : "out of memory");
	}
	json_decref(root);
	initial_done(c);
	if (c->again && c->d->state != ST_WAIT) {
		c->again = false;
		inspect(c);
	}
}

static void on_retry(struct loop *l, void *arg)
{
	struct docker *d = arg;
	const void *k;
	size_t it = 0, len;
	struct ctr *c;

	d->retry_timer = 0;
	while (hmap_next(d->ctrs, &it, &k, &len, (void **)&c))
		if (c->retry && d->state != ST_WAIT) {
			c->retry = false;
			inspect(c);
		}
}

/* A failed inspect (dockerd slow or busy) is tried again: a container must
 * not stay unrouted, or routed after its death, for want of one reply. */
static void inspect_later(struct ctr *c, const char *why)
{
	struct docker *d = c->d;

	if (!c->retry)
		log_warn("docker: inspect of container %.12s failed (%s); trying again", c->id, why);
	c->retry = true;
	if (!d->retry_timer &&
	    !(d->retry_timer = loop_timer_add(d->src->loop, INSPECT_RETRY_MS, on_retry, d)))
		log_err("docker: out of memory arming the inspect retry of %.12s; the next event or SIGHUP retries",
			c->id);
}

static void inspect(struct ctr *c)
{
	struct docker *d = c->d;
	char *u;

	if (c->req) {
		c->again = true;
		return;
	}
	if (asprintf(&u, "%s/containers/%s/json", d->base, c->id) < 0)
		u = NULL;
	d->opts.timeout_ms = INSPECT_TIMEOUT_MS;
	c->req = u ? http_request(d->http, u, NULL, &d->opts, NULL, inspect_done, c) : NULL;
	free(u);
	if (!c->req) {
		inspect_later(c, "cannot start a request");
		initial_done(c);
	}
}

/* ---- connection --------------------------------------------------------- */

static void on_backoff(struct loop *l, void *arg)
{
	struct docker *d = arg;

	d->timer = 0;
	kick(d);
}

static void stop_requests(struct docker *d)
{
	const void *k;
	size_t it = 0, len;
	struct ctr *c;

	http_cancel(d->req);
	if (d->relist) {	/* cancelled, its callback will not re-arm */
		http_cancel(d->relist);
		d->relist = NULL;
		relist_arm(d);
	}
	d->req = NULL;
	while (hmap_next(d->ctrs, &it, &k, &len, (void **)&c)) {
		http_cancel(c->req);
		c->req = NULL;
		c->again = c->initial = false;
	}
	d->initial = 0;
	jstream_reset(&d->stream);
}

static void fail(struct docker *d, const char *why)
{
	if (d->up)
		log_warn("docker: lost %s: %s; keeping the last known containers, retrying",
			 d->socket, why);
	else if (!d->said_down)
		log_warn("docker: %s: %s; retrying until dockerd answers", d->socket, why);
	d->up = false;
	d->src->up = false;
	d->src->state = "unreachable";
	d->said_down = true;
	stop_requests(d);
	d->state = ST_WAIT;
	d->timer = loop_timer_add(d->src->loop, backoff_next(&d->backoff_ms, BACKOFF_MIN_MS, BACKOFF_MAX_MS),
				  on_backoff, d);
	if (!d->timer)
		log_err("docker: out of memory arming the reconnect timer; SIGHUP reconnects");
}

/* GET url (taken over; NULL: out of memory) as the request of a state. */
static void get(struct docker *d, enum state st, char *url, long timeout_ms,
		http_data_cb on_data, http_done_cb on_done)
{
	const char *why = url ? "cannot start a request" : "out of memory";

	d->state = st;
	d->opts.timeout_ms = timeout_ms;
	d->req = url ? http_request(d->http, url, NULL, &d->opts, on_data, on_done, d) : NULL;
	free(url);
	if (!d->req)
		fail(d, why);
}

static bool on_event(json_t *ev, void *arg)
{
	struct docker *d = arg;
	struct docker_event e;
	struct ctr *c;

	if (docker_event_parse(ev, &e) == DOCKER_EV_IGNORE || !(c = dk_ctr_get(d, e.id, e.create)))
		return true;
	d->src->events++;
	if (e.kind == DOCKER_EV_DESTROY) {
		forget(c);
	} else if (e.kind == DOCKER_EV_KILL) {
		enum ep_cause why = docker_event_cause(&e, &c->view);

		if (why != CAUSE_NONE)
			dk_ctr_terminating(c, why);
	} else {
		inspect(c);
	}
	return true;
}

static int events_data(struct http_req *req, const char *data, size_t len, void *arg)
{
	struct docker *d = arg;
	int ret = jstream_feed(&d->stream, data, len, on_event, d);

	if (ret < 0)
		fail(d, ret == -EINVAL ? "malformed event" : "out of memory");
	return ret < 0;
}

static void events_done(struct http_req *req, int err, long status,
			const char *body, size_t len, void *arg)
{
	struct docker *d = arg;
	char why[96];

	d->req = NULL;
	/* dockerd going away cuts its chunked stream short: curl calls
	 * that a partial transfer */
	snprintf(why, sizeof(why), "event stream ended: %s",
		 err == CURLE_PARTIAL_FILE || (!err && status == 200) ? "closed by dockerd" :
		 err ? http_strerror(err) : "HTTP error");
	fail(d, why);
}

/* From a second before the list: an event racing the list is seen twice
 * at worst, which only means one more inspect. */
static void events_send(struct docker *d, const struct timespec *since)
{
	char *filter = http_escape(EVENTS_FILTER), *u = NULL;

	if (!filter || asprintf(&u, "%s/events?since=%lld.%09ld&filters=%s", d->base,
				(long long)since->tv_sec - 1, since->tv_nsec, filter) < 0) {
		free(filter);
		fail(d, "out of memory");
		return;
	}
	free(filter);
	get(d, ST_EVENTS, u, 0, events_data, events_done);
}

static void list_done(struct http_req *req, int err, long status,
		      const char *body, size_t len, void *arg)
{
	struct docker *d = arg;
	json_t *root = status == 200 && body ? json_loadb(body, len, 0, NULL) : NULL;
	const void *k;
	size_t it = 0, i, klen;
	struct ctr *c;
	json_t *v;

	d->req = NULL;
	if (!json_is_array(root)) {
		json_decref(root);
		fail(d, err ? http_strerror(err) : "container list: unexpected reply");
		return;
	}
	while (hmap_next(d->ctrs, &it, &k, &klen, (void **)&c))
		c->seen = false;
	json_array_foreach(root, i, v) {
		const char *id = json_string_value(json_object_get(v, "Id"));

		if (!id || !(c = dk_ctr_get(d, id, true)))
			continue;
		c->seen = c->initial = true;
		d->initial++;
	}
	json_decref(root);
	for (it = 0; hmap_next(d->ctrs, &it, &k, &klen, (void **)&c);)
		if (!c->seen)
			forget(c);
	/* the stream first: curl serves requests in order, and the inspects
	 * may queue behind CONNECTIONS for a while */
	events_send(d, &d->list_time);
	if (d->state != ST_EVENTS)
		return;
	for (it = 0; hmap_next(d->ctrs, &it, &k, &klen, (void **)&c);)
		inspect(c);
	if (!d->up && d->said_down)
		log_info("docker: %s answers again; listing every container", d->socket);
	d->up = true;
	d->src->up = true;
	d->src->state = "connected";
	d->said_down = false;
	d->backoff_ms = 0;
	if (!d->initial)
		d->src->ready = true;
}

/* ---- the periodic list ---------------------------------------------------
 * An event lost on a live stream (registrator's ghost registrations) would
 * leave an endpoint stale for good. Every relist_ms the containers are
 * listed beside the stream; a container whose list entry disagrees with
 * its last inspect, one vipd does not know, and one missing from the list
 * are inspected again (the inspect decides, as for any event). */

static void relist_check(struct docker *d, const json_t *list)
{
	const void *k;
	size_t it = 0, i, klen, mended = 0;
	struct ctr *c;
	json_t *v;

	while (hmap_next(d->ctrs, &it, &k, &klen, (void **)&c))
		c->seen = false;
	json_array_foreach(list, i, v) {
		const char *id = json_string_value(json_object_get(v, "Id"));
		const char *name = json_string_value(json_array_get(json_object_get(v, "Names"), 0));
		bool known;

		if (!id)
			continue;
		known = dk_ctr_get(d, id, false) != NULL;
		if (!(c = dk_ctr_get(d, id, true)))
			continue;
		c->seen = true;
		if (c->req || (known && docker_list_print(v) == c->print))
			continue;
		log_warn("docker: relist: container %s (%.12s) %s; inspecting it",
			 name ? name + (*name == '/') : "?", id,
			 known ? "differs from its last inspect: an event was lost" :
				 "was never announced by an event");
		inspect(c);
		mended++;
	}
	for (it = 0; hmap_next(d->ctrs, &it, &k, &klen, (void **)&c);) {
		if (c->seen || c->req)
			continue;
		log_warn("docker: relist: container %s (%.12s) is no longer listed: an event was lost; inspecting it",
			 c->view.name ? c->view.name : "?", c->id);
		inspect(c);
		mended++;
	}
	if (!mended)
		log_debug("docker: relist: %zu containers, each as its last inspect", json_array_size(list));
}

static void relist_done(struct http_req *req, int err, long status,
			const char *body, size_t len, void *arg)
{
	struct docker *d = arg;
	json_t *root = status == 200 && body ? json_loadb(body, len, 0, NULL) : NULL;

	d->relist = NULL;
	/* while the stream is down, the relist after its reconnect does this */
	if (json_is_array(root) && d->state == ST_EVENTS)
		relist_check(d, root);
	else if (!json_is_array(root))
		log_debug("docker: relist: %s", err ? http_strerror(err) : "unexpected reply");
	json_decref(root);
	relist_arm(d);
}

static void on_relist(struct loop *l, void *arg)
{
	struct docker *d = arg;
	char *u;

	d->relist_timer = 0;
	if (d->state != ST_EVENTS || d->relist) {
		relist_arm(d);
		return;
	}
	if (asprintf(&u, "%s/containers/json?all=1", d->base) < 0)
		u = NULL;
	d->opts.timeout_ms = REQUEST_TIMEOUT_MS;
	d->relist = u ? http_request(d->http, u, NULL, &d->opts, NULL, relist_done, d) : NULL;
	free(u);
	if (!d->relist)
		relist_arm(d);
}

static void relist_arm(struct docker *d)
{
	if (d->relist_ms && !d->relist_timer &&
	    !(d->relist_timer = loop_timer_add(d->src->loop, d->relist_ms, on_relist, d)))
		log_err("docker: cannot arm the periodic relist: out of memory");
}

static void list_send(struct docker *d)
{
	char *u;

	clock_gettime(CLOCK_REALTIME, &d->list_time);
	get(d, ST_LIST, asprintf(&u, "%s/containers/json?all=1", d->base) < 0 ? NULL : u,
	    REQUEST_TIMEOUT_MS, NULL, list_done);
}

static void version_done(struct http_req *req, int err, long status,
			 const char *body, size_t len, void *arg)
{
	struct docker *d = arg;
	json_t *root = status == 200 && body ? json_loadb(body, len, 0, NULL) : NULL;
	const char *v = json_string_value(json_object_get(root, "ApiVersion"));
	int major = 0, minor = 0;
	char why[96];

	d->req = NULL;
	if (!v || sscanf(v, "%d.%d", &major, &minor) != 2 || major != 1 || minor < API_MIN_MINOR) {
		snprintf(why, sizeof(why), "%s", err ? http_strerror(err) :
			 v ? "Engine API older than 1.25" : "no ApiVersion in /version");
		json_decref(root);
		fail(d, why);
		return;
	}
	snprintf(d->api, sizeof(d->api), "1.%d", minor < API_MAX_MINOR ? minor : API_MAX_MINOR);
	snprintf(d->base, sizeof(d->base), "http://docker/v%s", d->api);
	json_decref(root);
	list_send(d);
}

static void kick(struct docker *d)
{
	get(d, ST_VERSION, strdup("http://docker/version"), REQUEST_TIMEOUT_MS, NULL, version_done);
}

/* ---- the source --------------------------------------------------------- */

static int docker_start(struct source *src)
{
	const struct docker_source_conf *conf = src->conf.docker;
	struct docker *d = calloc(1, sizeof(*d));
	int ret;

	if (!d)
		return -ENOMEM;
	src->priv = d;
	d->src = src;
	d->conf = conf->map;
	d->socket = conf->socket;
	d->opts = (struct http_opts){ .unix_socket = d->socket, .connect_timeout_ms = 1000 };
	if (!(d->ctrs = hmap_alloc()) || !(d->http = http_alloc(src->loop)))
		return -ENOMEM;
	http_max_connections(d->http, CONNECTIONS);
	d->relist_ms = conf->relist_ms;
	relist_arm(d);
	if (conf->mode == DOCKER_REGISTER && (ret = registrar_open(src->loop, &conf->reg, &d->reg)) < 0)
		return ret;
	src->ready = false;
	kick(d);
	return 0;
}

static void docker_resync(struct source *src)
{
	struct docker *d = src->priv;

	if (!d || d->state == ST_WAIT)
		return;
	stop_requests(d);
	kick(d);
}

static void docker_stop(struct source *src)
{
	struct docker *d = src->priv;

	if (!d)
		return;
	if (d->timer)
		loop_timer_del(src->loop, d->timer);
	if (d->retry_timer)
		loop_timer_del(src->loop, d->retry_timer);
	if (d->relist_timer)
		loop_timer_del(src->loop, d->relist_timer);
	http_free(d->http);	/* cancels every request */
	d->http = NULL;
	if (d->ctrs) {
		const void *k;
		size_t it = 0, len;
		struct ctr *c;

		while (hmap_next(d->ctrs, &it, &k, &len, (void **)&c))
			c->req = NULL;
	}
	hmap_free(d->ctrs, dk_ctr_free);
	registrar_close(d->reg);
	jstream_fini(&d->stream);
	free(d);
	src->priv = NULL;
}

const struct source_ops source_docker_ops = {
	.name = "docker",
	.kind = "docker",
	.start = docker_start,
	.resync = docker_resync,
	.stop = docker_stop,
};

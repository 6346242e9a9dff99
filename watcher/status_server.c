/* The listener of /metrics, /healthz and /status (status.h): the HTTP
 * plumbing is lib/httpd.c; this is which page is which, and how often
 * the large ones are rendered. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpd.h"
#include "log.h"
#include "loop.h"
#include "status.h"

/* An address that cannot be bound now (another process still holds it)
 * is tried again this often. */
#define BIND_RETRY_MS		5000
/* /metrics counts endpoints and drains, /status renders every backend
 * (18 MB, 100 ms at 10,000 services x 10): each text is kept until the
 * next reconcile, and at most this long (probe counters move without
 * one), and shared by every response sending it, so clients asking in a
 * loop cost the loop what /healthz costs, and the memory of one copy. */
#define RENDER_MAX_AGE_MS	1000
/* /status responses of one rendering in flight at once; more get 503. */
#define STATUS_INFLIGHT_MAX	4

struct rendered {
	struct httpd_blob *blob;	/* NULL: none yet */
	uint64_t gen, at_ms;		/* reconciles, loop_now_ms() when rendered */
};

struct status_server {
	struct loop *loop;
	struct sockaddr_storage addr;
	socklen_t addr_len;
	const char *name;
	status_facts_fn facts;
	void *arg;
	struct httpd *http;		/* NULL: not bound yet */
	uint64_t retry;			/* the next bind's timer */
	bool said;			/* a failed bind was logged */
	struct rendered metrics, status;
};

static void render_metrics(FILE *f, const struct status_facts *s)
{
	status_metrics(f, s);
}

static void render_status(FILE *f, const struct status_facts *s)
{
	status_json(f, s, NULL);
}

/* The kept text of a page, rendered again when it is out of date; false
 * when out of memory. */
static bool kept(struct rendered *k, const struct status_facts *s,
		 void (*render)(FILE *f, const struct status_facts *s))
{
	uint64_t now = loop_now_ms(), gen = s->counters->reconciles;
	struct httpd_blob *b;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	if (k->blob && k->gen == gen && now - k->at_ms < RENDER_MAX_AGE_MS)
		return true;
	if (!(f = open_memstream(&text, &len)))
		return false;
	render(f, s);
	if (fclose(f) != 0 || !(b = httpd_blob_new(text, len))) {
		free(text);
		return false;
	}
	httpd_blob_unref(k->blob);	/* responses in flight keep theirs */
	*k = (struct rendered){ .blob = b, .gen = gen, .at_ms = now };
	return true;
}

static void kept_page(struct status_server *srv, bool metrics, const struct status_facts *s,
		      struct httpd_resp *r)
{
	struct rendered *k = metrics ? &srv->metrics : &srv->status;

	r->type = metrics ? "text/plain; version=0.0.4; charset=utf-8" : "application/json";
	if (!metrics && k->blob && k->blob->refs > STATUS_INFLIGHT_MAX) {
		r->status = 503;
		r->body = strdup("{\"error\":\"busy: other clients are still reading /status\"}\n");
	} else if (kept(k, s, metrics ? render_metrics : render_status)) {
		r->blob = k->blob;
	} else {
		r->status = 503;
	}
}

static void on_request(void *arg, const char *path, struct httpd_resp *r)
{
	struct status_server *srv = arg;
	struct status_facts s;
	FILE *f;

	srv->facts(srv->arg, &s);
	if (!strcmp(path, "/metrics") || !strcmp(path, "/status")) {
		kept_page(srv, path[1] == 'm', &s, r);
		return;
	}
	if (!(f = open_memstream(&r->body, &r->len))) {
		r->status = 503;
		return;
	}
	r->type = "application/json";
	if (!strcmp(path, "/healthz")) {
		r->status = status_healthz(f, &s);
	} else if (!strncmp(path, "/status/", 8) && status_json(f, &s, path + 8) < 0) {
		r->status = 404;
		fputs("{\"error\":\"no such service\"}\n", f);
	} else if (strncmp(path, "/status/", 8)) {
		r->status = 404;
		r->type = NULL;
		fputs("not found: vipd serves /metrics, /healthz and /status[/SERVICE]\n", f);
	}
	if (fclose(f) != 0) {
		free(r->body);
		*r = (struct httpd_resp){ .status = 503 };
	}
}

/* The listener is for operators: when its address is taken, routing goes
 * on and the bind is tried again until it works. */
static void bind_now(struct loop *l, void *arg)
{
	struct status_server *srv = arg;
	struct httpd_conf c = { .addr = (const struct sockaddr *)&srv->addr, .addr_len = srv->addr_len };
	int ret = httpd_open(l, &c, on_request, srv, &srv->http);

	srv->retry = 0;
	if (ret == 0) {
		log_info("serving /metrics, /healthz and /status on %s", srv->name);
		srv->said = false;
		return;
	}
	if (!srv->said)
		log_err("--metrics %s: %s; routing goes on, listening is retried every %d s",
			srv->name, strerror(-ret), BIND_RETRY_MS / 1000);
	srv->said = true;
	if (!(srv->retry = loop_timer_add(l, BIND_RETRY_MS, bind_now, srv)))
		log_err("out of memory arming the --metrics retry; no listener");
}

struct status_server *status_server_open(struct loop *l, const struct sockaddr *addr,
					 socklen_t addr_len, const char *name,
					 status_facts_fn facts, void *arg)
{
	struct status_server *srv = calloc(1, sizeof(*srv));

	if (!srv || addr_len > sizeof(srv->addr)) {
		free(srv);
		return NULL;
	}
	srv->loop = l;
	memcpy(&srv->addr, addr, addr_len);
	srv->addr_len = addr_len;
	srv->name = name;
	srv->facts = facts;
	srv->arg = arg;
	bind_now(l, srv);
	return srv;
}

void status_server_close(struct status_server *srv)
{
	if (!srv)
		return;
	if (srv->retry)
		loop_timer_del(srv->loop, srv->retry);
	httpd_close(srv->http);		/* before the blobs: responses hold them */
	httpd_blob_unref(srv->metrics.blob);
	httpd_blob_unref(srv->status.blob);
	free(srv);
}

/* What operators see of vipd: the counts of each reconcile, and the one
 * HTTP listener serving /metrics, /healthz and /status from the loop. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "httpd.h"
#include "log.h"
#include "loop.h"
#include "status.h"
#include "version.h"	/* generated: build/version.h */

/* A --metrics address that cannot be bound now (another process still
 * holds it) is tried again this often; routing never waits for it. */
#define HTTP_RETRY_MS	5000
/* /metrics counts every endpoint's state (at 10,000 services x 10, ms of
 * the loop), /status renders every backend (18 MB, 100 ms): each text is
 * kept until the next reconcile, and at most this long (probe counters
 * move without one), and shared by every response sending it, so clients
 * asking in a loop cost the loop what /healthz costs, and the memory of
 * one copy. */
#define RENDER_MAX_AGE_MS	1000
/* /status responses of one rendering in flight at once; more get 503. */
#define STATUS_INFLIGHT_MAX	4

/* What /metrics and /healthz say of a reconcile. */
void ops_account(struct daemon *d, int ret, bool full, uint64_t t0, uint64_t since)
{
	uint64_t now = loop_now_us();

	d->ops.reconciles++;
	if (since && (!d->ops.change_since_us || since < d->ops.change_since_us))
		d->ops.change_since_us = since;
	if (ret < 0) {
		d->ops.ctr.sync_failures++;
		d->ops.kernel_differs = true;
		return;
	}
	prom_observe(full ? &d->ops.ctr.sync_full : &d->ops.ctr.sync_partial, (double)(now - t0) / 1e6);
	if (d->ops.change_since_us)
		prom_observe(&d->ops.ctr.programming, (double)(now - d->ops.change_since_us) / 1e6);
	d->ops.last_sync_us = now;
	d->ops.change_since_us = 0;
	d->ops.kernel_differs = false;
}

static int vip_chain(void *arg, const struct vaddr *vip, const struct svc_port *sp, char *buf,
		     size_t len)
{
	return rec_vip_chain(arg, vip, sp, buf, len);
}

static void facts(struct daemon *d, struct status_facts *s)
{
	/* a change not yet taken (sources not all read, a retry pending),
	 * one a failed commit left out, or, before the first sync, the start */
	uint64_t pending = model_dirty_since(d->model);

	if (d->ops.change_since_us && (!pending || d->ops.change_since_us < pending))
		pending = d->ops.change_since_us;
	if (!d->ops.last_sync_us && !pending)
		pending = d->ops.started_us;
	*s = (struct status_facts){
		.version = VIPD_VERSION, .node = d->cfg.node_name,
		.last_sync_ms = d->ops.last_sync_us / 1000, .pending_since_ms = pending / 1000,
		.kernel_differs = d->ops.kernel_differs, .stale = d->stale,
		.state_counts = d->stale ? d->boot_counts : NULL,
		.sources = d->sources, .n_sources = d->n_sources, .counters = &d->ops.ctr,
		.model = d->stale ? d->boot : d->model, .bs = d->bs, .chain = vip_chain, .chain_arg = d->rec,
	};
}

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
static bool kept(struct daemon *d, struct rendered *k, const struct status_facts *s,
		 void (*render)(FILE *f, const struct status_facts *s))
{
	uint64_t now = loop_now_ms();
	struct httpd_blob *b;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	if (k->blob && k->gen == d->ops.reconciles && now - k->at_ms < RENDER_MAX_AGE_MS)
		return true;
	if (!(f = open_memstream(&text, &len)))
		return false;
	render(f, s);
	if (fclose(f) != 0 || !(b = httpd_blob_new(text, len))) {
		free(text);
		return false;
	}
	httpd_blob_unref(k->blob);	/* responses in flight keep theirs */
	*k = (struct rendered){ .blob = b, .gen = d->ops.reconciles, .at_ms = now };
	return true;
}

static void on_http(void *arg, const char *path, struct httpd_resp *r)
{
	struct daemon *d = arg;
	struct status_facts s;
	FILE *f;

	facts(d, &s);
	if (!strcmp(path, "/metrics") || !strcmp(path, "/status")) {
		bool m = path[1] == 'm';
		struct rendered *k = m ? &d->ops.metrics : &d->ops.status;

		r->type = m ? "text/plain; version=0.0.4; charset=utf-8" : "application/json";
		if (!m && k->blob && k->blob->refs > STATUS_INFLIGHT_MAX) {
			r->status = 503;
			r->body = strdup("{\"error\":\"busy: other clients are still reading /status\"}\n");
		} else if (kept(d, k, &s, m ? render_metrics : render_status)) {
			r->blob = k->blob;
		} else {
			r->status = 503;
		}
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
static void http_open(struct loop *l, void *arg)
{
	struct daemon *d = arg;
	struct httpd_conf c = {
		.addr = (const struct sockaddr *)&d->cfg.metrics_addr, .addr_len = d->cfg.metrics_len,
	};
	int ret = httpd_open(d->loop, &c, on_http, d, &d->ops.http);

	if (ret == 0) {
		log_info("serving /metrics, /healthz and /status on %s", d->cfg.metrics);
		d->ops.http_said = false;
		return;
	}
	if (!d->ops.http_said)
		log_err("--metrics %s: %s; routing goes on, listening is retried every %d s",
			d->cfg.metrics, strerror(-ret), HTTP_RETRY_MS / 1000);
	d->ops.http_said = true;
	if (!loop_timer_add(d->loop, HTTP_RETRY_MS, http_open, d))
		log_err("out of memory arming the --metrics retry; no listener");
}

void ops_open(struct daemon *d)
{
	http_open(d->loop, d);
}

void ops_close(struct daemon *d)
{
	httpd_close(d->ops.http);
	httpd_blob_unref(d->ops.metrics.blob);
	httpd_blob_unref(d->ops.status.blob);
}

/* One-shot health probes on the loop. A TCP probe is a non-blocking
 * connect() whose end epoll reports as writable (SO_ERROR tells how it
 * went), bounded by a loop timer. An HTTP probe is a GET on the prober's
 * own curl multi handle, bounded by curl's timeout. Whatever ends a probe,
 * the callback runs from the loop: a result known inside probe_tcp
 * (connect refused at once) waits for a 0 ms timer. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <curl/curl.h>

#include "http.h"
#include "loop.h"
#include "probe.h"

/* Room for "connect: " and the longest strerror/curl text we have met
 * (about 60); a longer one is cut, which only shortens a log line. */
#define WHY_MAX 96
/* "http://[" address "]:65535" and the terminator. */
#define URL_HEAD_MAX (ADDR_STRLEN + 16)

struct prober {
	struct loop *loop;
	struct http *http;	/* made on the first HTTP probe */
	struct probe *probes;	/* live, doubly linked: cancel is O(1) */
	unsigned live;
};

struct probe {
	struct prober *pr;
	struct probe *prev, *next;
	probe_cb cb;
	void *arg;
	int fd;			/* TCP: the connecting socket, or -1 */
	uint64_t timer;		/* TCP: timeout, or the deferred result */
	struct http_req *req;	/* HTTP */
	uint16_t expect;
	bool decided;		/* the result below waits for the timer */
	bool reported;		/* in its callback: released, not yet freed */
	bool ok;
	char why[WHY_MAX];
};

struct prober *prober_alloc(struct loop *loop)
{
	struct prober *pr = calloc(1, sizeof(*pr));

	if (pr)
		pr->loop = loop;
	return pr;
}

static struct probe *probe_new(struct prober *pr, probe_cb cb, void *arg)
{
	struct probe *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->pr = pr;
	p->cb = cb;
	p->arg = arg;
	p->fd = -1;
	p->next = pr->probes;
	if (p->next)
		p->next->prev = p;
	pr->probes = p;
	pr->live++;
	return p;
}

/* Closing with SO_LINGER {1, 0} sends RST, not FIN: the checker keeps no
 * TIME_WAIT per probe (a thousand backends checked every second would
 * otherwise hold some 60,000 of them), as HAProxy closes its checks. The
 * server has nothing to tell a connect check, so the reset loses nothing. */
static void tcp_close(struct probe *p)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	if (p->fd < 0)
		return;
	loop_fd_del(p->pr->loop, p->fd);
	setsockopt(p->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(p->fd);
	p->fd = -1;
}

/* Unlinks p and lets go of what it holds, without calling back. */
static void probe_release(struct probe *p)
{
	struct prober *pr = p->pr;

	tcp_close(p);
	if (p->timer)
		loop_timer_del(pr->loop, p->timer);
	p->timer = 0;
	if (p->req)
		http_cancel(p->req);
	p->req = NULL;
	if (p->prev)
		p->prev->next = p->next;
	else
		pr->probes = p->next;
	if (p->next)
		p->next->prev = p->prev;
	pr->live--;
}

static void probe_free(struct probe *p)
{
	probe_release(p);
	free(p);
}

/* The probe's end, from the loop. Released before the callback, so that
 * prober_live no longer counts it, its fd number may serve a new probe,
 * and a probe_cancel of it there does nothing; freed after. */
static void report(struct probe *p, bool ok, const char *why)
{
	probe_release(p);
	p->reported = true;
	p->cb(p, ok, ok ? "" : why, p->arg);
	free(p);
}

static void connect_why(char *why, int err)
{
	if (err == ECONNREFUSED)
		snprintf(why, WHY_MAX, "connect refused");
	else if (err == ETIMEDOUT)
		snprintf(why, WHY_MAX, "connect timeout");
	else if (err == EHOSTUNREACH || err == ENETUNREACH)
		snprintf(why, WHY_MAX, "no route");
	else
		snprintf(why, WHY_MAX, "connect: %s", strerror(err));
}

static void tcp_timer(struct loop *l, void *arg)
{
	struct probe *p = arg;

	p->timer = 0;
	if (p->decided)
		report(p, p->ok, p->why);
	else
		report(p, false, "connect timeout");
}

static void tcp_ready(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct probe *p = arg;
	int err = 0;
	socklen_t len = sizeof(err);
	char why[WHY_MAX];

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (!err && (events & (EPOLLERR | EPOLLHUP)))
		err = ECONNRESET;	/* not connected, whatever SO_ERROR said */
	if (!err) {
		report(p, true, "");
		return;
	}
	connect_why(why, err);
	report(p, false, why);
}

struct probe *probe_tcp(struct prober *pr, const struct vaddr *addr, uint16_t port,
			uint32_t timeout_ms, probe_cb cb, void *arg)
{
	struct sockaddr_storage ss;
	socklen_t sslen = addr_sockaddr(addr, port, &ss);
	struct probe *p;

	if (!sslen || !(p = probe_new(pr, cb, arg)))
		return NULL;
	p->fd = socket(addr->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p->fd < 0) {
		if (errno == EAFNOSUPPORT || errno == ENOMEM || errno == ENOBUFS)
			goto fail;
		/* Out of descriptors and the like: a failed check, not a
		 * failed call, so that the caller's schedule goes on. */
		p->decided = true;
		snprintf(p->why, WHY_MAX, "socket: %s", strerror(errno));
	} else if (connect(p->fd, (struct sockaddr *)&ss, sslen) == 0) {
		p->decided = p->ok = true;	/* loopback may connect at once */
	} else if (errno != EINPROGRESS) {
		p->decided = true;
		connect_why(p->why, errno);
	} else if (loop_fd_add(pr->loop, p->fd, EPOLLOUT, tcp_ready, p) < 0) {
		goto fail;
	}
	if (p->decided)
		tcp_close(p);
	p->timer = loop_timer_add(pr->loop, p->decided ? 0 : timeout_ms, tcp_timer, p);
	if (!p->timer)
		goto fail;
	return p;
fail:
	probe_free(p);
	return NULL;
}

static int http_data(struct http_req *req, const char *data, size_t len, void *arg)
{
	/* The status is known once the body begins: stop reading it (curl
	 * then ends the request with a write error, status in hand). */
	return 1;
}

static void http_done(struct http_req *req, int err, long status, const char *body,
		      size_t len, void *arg)
{
	struct probe *p = arg;
	char why[WHY_MAX];

	p->req = NULL;		/* http.c frees it after we return */
	/* A status line is the server's answer: what befalls the body after
	 * it (cut short by us, reset, stalled) does not change it. */
	if (status) {
		snprintf(why, WHY_MAX, "HTTP %ld", status);
		report(p, status == p->expect, why);
	} else if (err == CURLE_OPERATION_TIMEDOUT) {
		report(p, false, "HTTP timeout");
	} else if (err == CURLE_COULDNT_CONNECT) {
		report(p, false, "HTTP connect refused");
	} else {
		snprintf(why, WHY_MAX, "HTTP %s", err ? http_strerror(err) : "no status");
		report(p, false, why);
	}
}

struct probe *probe_http(struct prober *pr, const struct vaddr *addr, uint16_t port,
			 const char *path, uint16_t expect, uint32_t timeout_ms,
			 probe_cb cb, void *arg)
{
	/* curl reads a timeout of 0 as none: a probe must end. */
	const struct http_opts opts = { .timeout_ms = timeout_ms ? timeout_ms : 1, .fresh = true };
	char host[ADDR_STRLEN], *url;
	struct probe *p;

	if ((addr->family != AF_INET && addr->family != AF_INET6) || !path || path[0] != '/')
		return NULL;
	if (!pr->http && !(pr->http = http_alloc(pr->loop)))
		return NULL;
	url = malloc(URL_HEAD_MAX + strlen(path));
	if (!url)
		return NULL;
	addr_format(addr, host);
	snprintf(url, URL_HEAD_MAX + strlen(path), addr->family == AF_INET6 ?
		 "http://[%s]:%u%s" : "http://%s:%u%s", host, port, path);
	p = probe_new(pr, cb, arg);
	if (p) {
		p->expect = expect;
		/* curl reports from its callbacks, driven by the loop: never
		 * from inside http_request. */
		p->req = http_request(pr->http, url, NULL, &opts, http_data, http_done, p);
		if (!p->req) {
			probe_free(p);
			p = NULL;
		}
	}
	free(url);
	return p;
}

void probe_cancel(struct probe *p)
{
	if (p && !p->reported)
		probe_free(p);
}

void prober_free(struct prober *pr)
{
	if (!pr)
		return;
	while (pr->probes)
		probe_free(pr->probes);
	http_free(pr->http);
	free(pr);
}

unsigned prober_live(const struct prober *pr)
{
	return pr->live;
}

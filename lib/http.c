/* libcurl multi on the event loop: curl tells us which sockets to watch and
 * when to wake it (socket and timer callbacks), we tell it what happened
 * (curl_multi_socket_action). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <curl/curl.h>

#include "http.h"
#include "loop.h"

/* Bodies beyond this are cut off and the request fails: no registry or
 * engine answer vipd reads is near it, and a runaway one must not eat the
 * node's memory. */
#define BODY_MAX (256u << 20)

struct http {
	struct loop *loop;
	CURLM *multi;
	uint64_t timer;
	struct http_req *reqs;		/* all live requests */
	struct http_req *pending;	/* made inside curl: added after it */
	int depth;			/* > 0 while inside curl */
};

struct http_req {
	struct http *h;
	CURL *easy;
	struct curl_slist *headers;
	http_data_cb on_data;
	http_done_cb on_done;
	void *arg;
	char *body;
	size_t len, cap;
	bool cancelled, too_big;
	int os_errno;			/* a failed connect's, for http_req_strerror */
	char why[64];
	char *post;
	struct http_req *next, *next_pending;
};

static void drive(struct http *h, curl_socket_t fd, int ev);

static void on_fd(struct loop *l, int fd, uint32_t events, void *arg)
{
	int ev = 0;

	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		ev |= CURL_CSELECT_IN;
	if (events & EPOLLOUT)
		ev |= CURL_CSELECT_OUT;
	if (events & EPOLLERR)
		ev |= CURL_CSELECT_ERR;
	drive(arg, fd, ev);
}

static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *hp, void *sockp)
{
	struct http *h = hp;
	uint32_t ev = (what & CURL_POLL_IN ? EPOLLIN : 0) |
		      (what & CURL_POLL_OUT ? EPOLLOUT : 0);

	if (what == CURL_POLL_REMOVE) {
		loop_fd_del(h->loop, fd);
		curl_multi_assign(h->multi, fd, NULL);
	} else if (!sockp) {
		if (loop_fd_add(h->loop, fd, ev, on_fd, h) == 0)
			curl_multi_assign(h->multi, fd, h);
	} else {
		loop_fd_mod(h->loop, fd, ev);
	}
	return 0;
}

static void on_timer(struct loop *l, void *arg)
{
	struct http *h = arg;

	h->timer = 0;
	drive(h, CURL_SOCKET_TIMEOUT, 0);
}

static int timer_cb(CURLM *multi, long ms, void *hp)
{
	struct http *h = hp;

	if (h->timer)
		loop_timer_del(h->loop, h->timer);
	h->timer = ms < 0 ? 0 : loop_timer_add(h->loop, (uint64_t)ms, on_timer, h);
	/* Without the timer curl would wait for ever; -1 makes it fail the
	 * transfers, whose owners retry. */
	return ms >= 0 && !h->timer ? -1 : 0;
}

static void req_free(struct http_req *r)
{
	struct http *h = r->h;

	for (struct http_req **p = &h->reqs; *p; p = &(*p)->next)
		if (*p == r) {
			*p = r->next;
			break;
		}
	for (struct http_req **p = &h->pending; *p; p = &(*p)->next_pending)
		if (*p == r) {
			*p = r->next_pending;
			break;
		}
	curl_multi_remove_handle(h->multi, r->easy);
	curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->headers);
	free(r->body);
	free(r->post);
	free(r);
}

static int connect_errno(CURL *easy)
{
	long e = 0;

	curl_easy_getinfo(easy, CURLINFO_OS_ERRNO, &e);
	return (int)e;
}

static void finish(struct http *h)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(h->multi, &left))) {
		struct http_req *r = NULL;
		long status = 0;
		int err;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
		err = r->too_big ? CURLE_FILESIZE_EXCEEDED : (int)msg->data.result;
		if (err == CURLE_COULDNT_CONNECT)
			r->os_errno = connect_errno(msg->easy_handle);
		curl_multi_remove_handle(h->multi, r->easy);
		if (!r->cancelled && r->on_done)
			r->on_done(r, err, status, r->on_data ? NULL : (r->body ? r->body : ""),
				   r->len, r->arg);
		req_free(r);
	}
}

/* libcurl refuses curl_multi_add_handle from inside its own callbacks
 * (a watch that must start a range when it learns of a compaction):
 * such requests wait here until curl has returned. */
static void add_pending(struct http *h)
{
	while (h->pending) {
		struct http_req *r = h->pending;

		h->pending = r->next_pending;
		if (r->cancelled) {
			req_free(r);
		} else if (curl_multi_add_handle(h->multi, r->easy) != CURLM_OK) {
			if (r->on_done)
				r->on_done(r, CURLE_FAILED_INIT, 0, NULL, 0, r->arg);
			req_free(r);
		}
	}
}

static void drive(struct http *h, curl_socket_t fd, int ev)
{
	int running;

	h->depth++;
	curl_multi_socket_action(h->multi, fd, ev, &running);
	h->depth--;
	finish(h);
	add_pending(h);
}

static size_t write_cb(char *data, size_t size, size_t n, void *arg)
{
	struct http_req *r = arg;
	size_t len = size * n;

	if (r->cancelled)
		return 0;
	if (r->on_data)
		return r->on_data(r, data, len, r->arg) || r->cancelled ? 0 : len;
	if (r->len + len + 1 > BODY_MAX) {
		r->too_big = true;
		return 0;
	}
	if (r->len + len + 1 > r->cap) {
		size_t cap = (r->len + len + 1) * 2;
		char *b = realloc(r->body, cap);

		if (!b)
			return 0;
		r->body = b;
		r->cap = cap;
	}
	memcpy(r->body + r->len, data, len);
	r->len += len;
	r->body[r->len] = '\0';
	return len;
}

struct http *http_alloc(struct loop *loop)
{
	struct http *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	h->loop = loop;
	h->multi = curl_multi_init();
	if (!h->multi) {
		free(h);
		return NULL;
	}
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
	return h;
}

void http_free(struct http *h)
{
	if (!h)
		return;
	while (h->reqs)
		req_free(h->reqs);
	if (h->timer)
		loop_timer_del(h->loop, h->timer);
	curl_multi_cleanup(h->multi);
	free(h);
}

/* SO_LINGER {1, 0}: close() sends RST instead of FIN, so the checker
 * keeps no TIME_WAIT for each probe (HAProxy closes its checks the same
 * way). A check has read all it needs (or given up) when it closes. */
static int linger_cb(void *arg, curl_socket_t fd, curlsocktype purpose)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	if (purpose == CURLSOCKTYPE_IPCXN)
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	return CURL_SOCKOPT_OK;
}

static void set_opts(struct http_req *r, const struct http_opts *o)
{
	CURL *e = r->easy;

	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	/* A dead peer behind a silent network must not hold a watch forever. */
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, 5L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, 2L);
	if (!o)
		return;
	if (o->cacert)
		curl_easy_setopt(e, CURLOPT_CAINFO, o->cacert);
	if (o->cert)
		curl_easy_setopt(e, CURLOPT_SSLCERT, o->cert);
	if (o->key)
		curl_easy_setopt(e, CURLOPT_SSLKEY, o->key);
	if (o->unix_socket)
		curl_easy_setopt(e, CURLOPT_UNIX_SOCKET_PATH, o->unix_socket);
	if (o->header)
		r->headers = curl_slist_append(r->headers, o->header);
	if (o->connect_timeout_ms)
		curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, o->connect_timeout_ms);
	if (o->timeout_ms)
		curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, o->timeout_ms);
	if (o->fresh) {
		curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
		curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
		curl_easy_setopt(e, CURLOPT_SOCKOPTFUNCTION, linger_cb);
		curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
		curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 0L);
	}
}

struct http_req *http_request(struct http *h, const char *url, const char *body,
			      const struct http_opts *opts, http_data_cb on_data,
			      http_done_cb on_done, void *arg)
{
	struct http_req *r = calloc(1, sizeof(*r));

	if (!r || !(r->easy = curl_easy_init())) {
		free(r);
		return NULL;
	}
	r->h = h;
	r->on_data = on_data;
	r->on_done = on_done;
	r->arg = arg;
	curl_easy_setopt(r->easy, CURLOPT_URL, url);
	curl_easy_setopt(r->easy, CURLOPT_PRIVATE, r);
	curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
	set_opts(r, opts);
	if (body) {
		r->post = strdup(body);
		r->headers = curl_slist_append(r->headers, "Content-Type: application/json");
		curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, r->post);
		if (!r->headers) {	/* refused below, not sent without its type */
			free(r->post);
			r->post = NULL;
		}
	}
	curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->headers);
	if (h->depth && !(body && !r->post)) {
		r->next_pending = h->pending;
		h->pending = r;
	} else if ((body && !r->post) || curl_multi_add_handle(h->multi, r->easy) != CURLM_OK) {
		curl_easy_cleanup(r->easy);
		curl_slist_free_all(r->headers);
		free(r->post);
		free(r);
		return NULL;
	}
	r->next = h->reqs;
	h->reqs = r;
	return r;
}

void http_cancel(struct http_req *r)
{
	if (!r)
		return;
	/* Inside curl (a data callback) the handle must stay: the write
	 * callback refuses the next bytes and finish() frees it quietly. */
	r->cancelled = true;
	if (!r->h->depth)
		req_free(r);
}

char *http_escape(const char *s)
{
	char *e = curl_easy_escape(NULL, s, 0), *copy = e ? strdup(e) : NULL;

	curl_free(e);
	return copy;
}

void http_max_connections(struct http *h, long n)
{
	curl_multi_setopt(h->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, n);
}

const char *http_strerror(int err)
{
	return curl_easy_strerror((CURLcode)err);
}

/* curl (7.88) says "Couldn't connect to server" for a refused connection,
 * an unreachable host and a connect timeout alike: the socket's errno
 * tells the operator which. */
const char *http_req_strerror(struct http_req *r, int err)
{
	if (err != CURLE_COULDNT_CONNECT || !r->os_errno)
		return http_strerror(err);
	snprintf(r->why, sizeof(r->why), "%s", strerror(r->os_errno));
	r->why[0] = (char)tolower((unsigned char)r->why[0]);
	return r->why;
}

/* The listener is libmicrohttpd in its external epoll mode: its one epoll
 * fd sits in our loop, and MHD_run does the parsing and sending whenever
 * that fd is readable or MHD's own timeout is due.
 *
 * The listening socket is ours: MHD, at its connection limit, stops
 * accepting and did not start again here once connections had closed
 * (a flood past the limit left the queue full and the listener dead). So
 * the loop accepts, level-triggered, and hands each connection to MHD,
 * which closes at once what is past the limit: a flood is shed, never
 * queued. */
#define _GNU_SOURCE	/* accept4 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>

#include <microhttpd.h>

#include "httpd.h"
#include "log.h"
#include "loop.h"

#define DEFAULT_CONNS		64
#define DEFAULT_TIMEOUT_S	10
/* Requests are a line and a few headers: 16 KiB per connection bounds a
 * flood of them to max_conns x 16 KiB. */
#define CONN_MEMORY		(16 * 1024)
/* Accepted per wakeup, so a flood shares the loop with everything else. */
#define ACCEPT_BATCH		256
#define ACCEPT_PAUSE_MS		200

struct httpd {
	struct loop *loop;
	struct MHD_Daemon *mhd;
	int epfd;
	int lfd;		/* the listening socket */
	uint64_t timer;		/* MHD's next timeout, 0: none armed */
	uint64_t pause;		/* accepting again after a failed accept */
	bool said_pause;
	httpd_handler handler;
	void *arg;
};

static void run(struct httpd *h);

static void on_timer(struct loop *l, void *arg)
{
	struct httpd *h = arg;

	h->timer = 0;
	run(h);
}

/* MHD_run, then wake again when MHD wants to: a timeout of 0 means it has
 * work left that no fd event will announce (data already read). */
static void run(struct httpd *h)
{
	MHD_UNSIGNED_LONG_LONG ms;

	MHD_run(h->mhd);
	if (h->timer)
		loop_timer_del(h->loop, h->timer);
	h->timer = 0;
	if (MHD_get_timeout(h->mhd, &ms) == MHD_YES)
		h->timer = loop_timer_add(h->loop, ms, on_timer, h);
	/* 0 only when out of memory: then the next fd event runs it */
}

static void on_epoll(struct loop *l, int fd, uint32_t events, void *arg)
{
	run(arg);
}

static void listen_again(struct loop *l, void *arg)
{
	struct httpd *h = arg;

	h->pause = 0;
	loop_fd_mod(l, h->lfd, EPOLLIN);
}

/* Out of descriptors or memory: the queued connection stays readable, so
 * the level-triggered fd would spin the loop. Stop listening a while. */
static void pause_listening(struct httpd *h, int err)
{
	if (h->pause)
		return;
	if (!h->said_pause)
		log_warn("http: accept: %s; not accepting for %d ms (and whenever it happens again)",
			 strerror(err), ACCEPT_PAUSE_MS);
	h->said_pause = true;
	h->pause = loop_timer_add(h->loop, ACCEPT_PAUSE_MS, listen_again, h);
	if (h->pause)
		loop_fd_mod(h->loop, h->lfd, 0);
}

static void on_listen(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct httpd *h = arg;
	struct sockaddr_storage sa;

	for (int i = 0; i < ACCEPT_BATCH; i++) {
		socklen_t len = sizeof(sa);
		int c = accept4(fd, (struct sockaddr *)&sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (c < 0 && (errno == ECONNABORTED || errno == EINTR))
			continue;
		if (c < 0 && errno != EAGAIN)
			pause_listening(h, errno);
		if (c < 0)
			break;
		/* past the limit MHD closes it: that is the shedding */
		MHD_add_connection(h->mhd, c, (struct sockaddr *)&sa, len);
	}
	run(h);
}

static int listen_on(const struct httpd_conf *c)
{
	int one = 1, fd = socket(c->addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, c->addr, c->addr_len) < 0 || listen(fd, 128) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

struct httpd_blob *httpd_blob_new(char *data, size_t len)
{
	struct httpd_blob *b = malloc(sizeof(*b));

	if (!b) {
		free(data);
		return NULL;
	}
	*b = (struct httpd_blob){ .refs = 1, .len = len, .data = data };
	return b;
}

void httpd_blob_unref(struct httpd_blob *b)
{
	if (b && --b->refs == 0) {
		free(b->data);
		free(b);
	}
}

static void blob_sent(void *cls)
{
	httpd_blob_unref(cls);
}

static enum MHD_Result respond(struct MHD_Connection *conn, const struct httpd_resp *r)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (r->blob) {
		resp = MHD_create_response_from_buffer_with_free_callback_cls(r->blob->len,
			r->blob->data, blob_sent, r->blob);
		if (resp)
			r->blob->refs++;
	} else {
		resp = MHD_create_response_from_buffer(r->len, r->body, MHD_RESPMEM_MUST_FREE);
		if (!resp)
			free(r->body);
	}
	if (!resp)
		return MHD_NO;	/* MHD closes the connection */
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				r->type ? r->type : "text/plain; charset=utf-8");
	ret = MHD_queue_response(conn, r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload, size_t *upload_size, void **req)
{
	struct httpd *h = cls;
	struct httpd_resp r = { .status = 200 };

	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		r.status = 405;
		r.body = strdup("only GET and HEAD\n");
	} else if (*upload_size) {
		*upload_size = 0;	/* a GET with a body: ignored */
		return MHD_YES;
	} else {
		h->handler(h->arg, url, &r);
	}
	if (r.body && !r.len && !r.blob)
		r.len = strlen(r.body);
	return respond(conn, &r);
}

/* MHD says why it dropped a connection (the limit, a timeout, a bad
 * request): worth a debug line, not more, since clients cause them. */
static void on_mhd_log(void *arg, const char *fmt, va_list ap)
{
	char line[256];
	size_t n;

	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == ' '))
		line[--n] = '\0';
	log_debug("http: %s", line);
}

int httpd_open(struct loop *l, const struct httpd_conf *c, httpd_handler handler, void *arg,
	       struct httpd **out)
{
	unsigned flags = MHD_USE_EPOLL | MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ERROR_LOG;
	const union MHD_DaemonInfo *info;
	struct httpd *h;
	int ret;

	*out = NULL;
	if (!(h = calloc(1, sizeof(*h))))
		return -ENOMEM;
	*h = (struct httpd){ .loop = l, .handler = handler, .arg = arg, .lfd = -1 };
	if ((h->lfd = listen_on(c)) < 0) {
		ret = h->lfd;
		free(h);
		return ret;
	}
	h->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h,
		MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)(c->max_conns ? c->max_conns : DEFAULT_CONNS),
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)(c->timeout_s ? c->timeout_s : DEFAULT_TIMEOUT_S),
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY,
		MHD_OPTION_END);
	info = h->mhd ? MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD) : NULL;
	h->epfd = info ? info->epoll_fd : -1;
	ret = h->epfd < 0 ? -EIO : loop_fd_add(l, h->epfd, EPOLLIN, on_epoll, h);
	ret = ret ?: loop_fd_add(l, h->lfd, EPOLLIN, on_listen, h);
	if (ret < 0) {
		httpd_close(h);
		return ret;
	}
	run(h);
	*out = h;
	return 0;
}

void httpd_close(struct httpd *h)
{
	if (!h)
		return;
	if (h->epfd >= 0)
		loop_fd_del(h->loop, h->epfd);
	loop_fd_del(h->loop, h->lfd);
	close(h->lfd);
	if (h->timer)
		loop_timer_del(h->loop, h->timer);
	if (h->pause)
		loop_timer_del(h->loop, h->pause);
	if (h->mhd)
		MHD_stop_daemon(h->mhd);
	free(h);
}

/* TCP and HTTP probes against tiny servers on the test's own loop, in a
 * network namespace of the test's own: nothing here may reach the node's
 * network, so the test makes a new namespace first (or is skipped) and
 * talks to 127.0.0.1 and ::1 only. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "loop.h"
#include "probe.h"

struct result {
	int n;
	bool ok;
	char why[96];
};

struct env {
	struct loop *loop;
	struct prober *pr;
	int done, want;		/* callbacks so far; stop the loop at want */
};

static struct env E;

static int setup(void **state)
{
	E = (struct env){ .loop = loop_alloc() };
	E.pr = prober_alloc(E.loop);
	return E.loop && E.pr ? 0 : -1;
}

static int teardown(void **state)
{
	prober_free(E.pr);
	loop_free(E.loop);
	return 0;
}

static void on_result(struct probe *p, bool ok, const char *why, void *arg)
{
	struct result *r = arg;

	r->n++;
	r->ok = ok;
	snprintf(r->why, sizeof(r->why), "%s", why);
	if (++E.done == E.want)
		loop_stop(E.loop);
}

static void on_bound(struct loop *l, void *arg)
{
	*(bool *)arg = true;
	loop_stop(l);
}

/* Runs the loop until want callbacks ran, or for at most ms; returns
 * whether the bound was hit. */
static bool run_for(int want, uint64_t ms)
{
	bool hit = false;
	uint64_t t = loop_timer_add(E.loop, ms, on_bound, &hit);

	assert_true(t > 0);
	E.want = want;
	assert_int_equal(loop_run(E.loop), 0);
	loop_timer_del(E.loop, t);
	return hit;
}

static struct vaddr loopback(int family)
{
	struct vaddr a = { .family = (uint8_t)family };

	if (family == AF_INET)
		memcpy(a.bytes, "\x7f\0\0\x01", 4);
	else
		a.bytes[15] = 1;
	return a;
}

/* A listening socket on the loopback; *port receives its port. -1 when
 * the family cannot be had here. */
static int listener(int family, int backlog, uint16_t *port)
{
	struct sockaddr_storage ss = { .ss_family = (sa_family_t)family };
	socklen_t len = family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else
		((struct sockaddr_in6 *)&ss)->sin6_addr = in6addr_loopback;
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, backlog) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
		close(fd);
		return -1;
	}
	*port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					: ((struct sockaddr_in6 *)&ss)->sin6_port);
	return fd;
}

/* A port on which nothing listens (the namespace is ours alone: nobody
 * takes it after us). */
static uint16_t closed_port(void)
{
	uint16_t port;
	int fd = listener(AF_INET, 1, &port);

	assert_true(fd >= 0);
	close(fd);
	return port;
}

/* An HTTP server: reads a request head, writes reply, closes. */
#define CONNS_MAX 64

struct conn {
	int fd;
	size_t len;
	char buf[2048];
};

struct server {
	int lfd;
	uint16_t port;
	const char *reply;
	bool hold;		/* keep the connection open after the reply */
	struct conn *conns[CONNS_MAX];
};

static void conn_end(struct server *s, int i)
{
	loop_fd_del(E.loop, s->conns[i]->fd);
	close(s->conns[i]->fd);
	free(s->conns[i]);
	s->conns[i] = NULL;
}

static void on_conn(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct server *s = arg;
	int i = 0;
	struct conn *c;
	ssize_t n;

	while (!s->conns[i] || s->conns[i]->fd != fd)
		i++;
	c = s->conns[i];
	n = read(fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
	if (n <= 0) {
		conn_end(s, i);
		return;
	}
	c->len += (size_t)n;
	c->buf[c->len] = '\0';
	if (!strstr(c->buf, "\r\n\r\n"))
		return;
	assert_int_equal(write(fd, s->reply, strlen(s->reply)), (ssize_t)strlen(s->reply));
	if (s->hold)
		c->len = 0;	/* until the client goes */
	else
		conn_end(s, i);
}

static void on_accept(struct loop *l, int lfd, uint32_t events, void *arg)
{
	struct server *s = arg;
	int fd;

	while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		int i = 0;

		while (i < CONNS_MAX && s->conns[i])
			i++;
		assert_true(i < CONNS_MAX);
		s->conns[i] = calloc(1, sizeof(struct conn));
		s->conns[i]->fd = fd;
		assert_int_equal(loop_fd_add(l, fd, EPOLLIN, on_conn, s), 0);
	}
}

static bool server_start(struct server *s, int family, const char *reply)
{
	*s = (struct server){ .reply = reply };
	s->lfd = listener(family, 64, &s->port);
	if (s->lfd < 0)
		return false;
	assert_int_equal(loop_fd_add(E.loop, s->lfd, EPOLLIN, on_accept, s), 0);
	return true;
}

static void server_stop(struct server *s)
{
	for (int i = 0; i < CONNS_MAX; i++)
		if (s->conns[i])
			conn_end(s, i);
	loop_fd_del(E.loop, s->lfd);
	close(s->lfd);
}

#define OK_200 "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"
#define ERR_500 "HTTP/1.0 500 Internal Server Error\r\nContent-Length: 5\r\n\r\noops\n"

static void tcp_ok(void **state)
{
	struct vaddr a = loopback(AF_INET);
	struct result r = { 0 };
	uint16_t port;
	int lfd = listener(AF_INET, 16, &port);

	assert_true(lfd >= 0);
	assert_non_null(probe_tcp(E.pr, &a, port, 1000, on_result, &r));
	assert_int_equal(r.n, 0);	/* never from inside probe_tcp */
	assert_int_equal(prober_live(E.pr), 1);
	assert_false(run_for(1, 2000));
	assert_int_equal(r.n, 1);
	assert_true(r.ok);
	assert_string_equal(r.why, "");
	assert_int_equal(prober_live(E.pr), 0);
	close(lfd);
}

static void tcp_refused(void **state)
{
	struct vaddr a = loopback(AF_INET);
	struct result r = { 0 };
	uint16_t port = closed_port();

	assert_non_null(probe_tcp(E.pr, &a, port, 1000, on_result, &r));
	assert_int_equal(r.n, 0);
	assert_false(run_for(1, 2000));
	assert_int_equal(r.n, 1);
	assert_false(r.ok);
	assert_string_equal(r.why, "connect refused");
}

/* A listener with a backlog of 0 and one connection waiting in its
 * queue: the kernel drops every further SYN, so a connect neither
 * succeeds nor fails until the client gives up. */
static int full_listener(uint16_t *port, int *filler)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct timeval tv = { .tv_usec = 500000 };
	int lfd = listener(AF_INET, 0, port);

	assert_true(lfd >= 0);
	sin.sin_port = htons(*port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	*filler = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(*filler >= 0);
	setsockopt(*filler, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	assert_int_equal(connect(*filler, (struct sockaddr *)&sin, sizeof(sin)), 0);
	return lfd;
}

static void tcp_timeout(void **state)
{
	struct vaddr a = loopback(AF_INET);
	struct result r = { 0 };
	uint16_t port;
	int filler, lfd = full_listener(&port, &filler);
	uint64_t t0 = loop_now_ms();

	assert_non_null(probe_tcp(E.pr, &a, port, 200, on_result, &r));
	assert_false(run_for(1, 2000));
	assert_int_equal(r.n, 1);
	assert_false(r.ok);
	assert_string_equal(r.why, "connect timeout");
	assert_true(loop_now_ms() - t0 >= 200 && loop_now_ms() - t0 < 1000);
	close(filler);
	close(lfd);
}

static void http_ok(void **state)
{
	struct vaddr a = loopback(AF_INET);
	struct result r = { 0 };
	struct server s;

	assert_true(server_start(&s, AF_INET, OK_200));
	assert_non_null(probe_http(E.pr, &a, s.port, "/healthz", 200, 1000, on_result, &r));
	assert_int_equal(r.n, 0);
	assert_false(run_for(1, 2000));
	assert_int_equal(r.n, 1);
	assert_true(r.ok);
	assert_string_equal(r.why, "");
	server_stop(&s);
}

static void http_wrong_status(void **state)
{
	struct vaddr a = loopback(AF_INET);
	struct result r = { 0 };
	struct server s;

	assert_true(server_start(&s, AF_INET, ERR_500));
	assert_non_null(probe_http(E.pr, &a, s.port, "/", 200, 1000, on_result, &r));
	assert_false(run_for(1, 2000));
	assert_int_equal(r.n, 1);
	assert_false(r.ok);
	assert_string_equal(r.why, "HTTP 500");
	server_stop(&s);
}

/* The status line is the answer: a body that goes on for ever is not
 * waited for. */
static void http_body_not_awaited(void **state)
{
	struct vaddr a = loopback(AF_INET);
	struct result r = { 0 };
	struct server s;
	uint64_t t0 = loop_now_ms();

	assert_true(server_start(&s, AF_INET, "HTTP/1.0 200 OK\r\n\r\nand more to come"));
	s.hold = true;
	assert_non_null(probe_http(E.pr, &a, s.port, "/", 200, 1000, on_result, &r));
	assert_false(run_for(1, 2000));
	assert_int_equal(r.n, 1);
	assert_true(r.ok);
	assert_true(loop_now_ms() - t0 < 500);
	server_stop(&s);
}

/* The kernel completes the handshake and takes the request; nobody ever
 * reads it. */
static void http_timeout(void **state)
{
	struct vaddr a = loopback(AF_INET);
	struct result r = { 0 };
	uint16_t port;
	int lfd = listener(AF_INET, 16, &port);
	uint64_t t0 = loop_now_ms();

	assert_true(lfd >= 0);
	assert_non_null(probe_http(E.pr, &a, port, "/", 200, 300, on_result, &r));
	assert_false(run_for(1, 2000));
	assert_int_equal(r.n, 1);
	assert_false(r.ok);
	assert_string_equal(r.why, "HTTP timeout");
	assert_true(loop_now_ms() - t0 >= 300 && loop_now_ms() - t0 < 1500);
	close(lfd);
}

static void http_refused(void **state)
{
	struct vaddr a = loopback(AF_INET);
	struct result r = { 0 };
	uint16_t port = closed_port();

	assert_non_null(probe_http(E.pr, &a, port, "/", 200, 1000, on_result, &r));
	assert_false(run_for(1, 2000));
	assert_int_equal(r.n, 1);
	assert_false(r.ok);
	assert_string_equal(r.why, "HTTP connect refused");
}

static void http_ipv6_ok(void **state)
{
	struct vaddr a = loopback(AF_INET6);
	struct result r = { 0 };
	struct server s;

	if (!server_start(&s, AF_INET6, OK_200)) {
		print_message("no ::1 here (IPv6 disabled?)\n");
		skip();
	}
	assert_non_null(probe_http(E.pr, &a, s.port, "/ready", 200, 1000, on_result, &r));
	assert_false(run_for(1, 2000));
	assert_int_equal(r.n, 1);
	assert_true(r.ok);
	server_stop(&s);
}

static void bad_input(void **state)
{
	struct vaddr a = loopback(AF_INET), none = { 0 };
	struct result r = { 0 };

	assert_null(probe_tcp(E.pr, &none, 80, 100, on_result, &r));
	assert_null(probe_http(E.pr, &none, 80, "/", 200, 100, on_result, &r));
	assert_null(probe_http(E.pr, &a, 80, "healthz", 200, 100, on_result, &r));
	assert_int_equal(prober_live(E.pr), 0);
}

/* Cancelled probes of every kind and state never call back. */
static void cancel_no_callback(void **state)
{
	struct vaddr a = loopback(AF_INET);
	struct result r = { 0 };
	struct server s;
	uint16_t port, dead = closed_port();
	int filler, lfd = full_listener(&port, &filler);
	struct probe *p[4];

	assert_true(server_start(&s, AF_INET, OK_200));
	p[0] = probe_tcp(E.pr, &a, port, 100, on_result, &r);
	p[1] = probe_tcp(E.pr, &a, dead, 100, on_result, &r);	/* result pending */
	p[2] = probe_http(E.pr, &a, s.port, "/", 200, 100, on_result, &r);
	p[3] = probe_http(E.pr, &a, dead, "/", 200, 100, on_result, &r);
	assert_int_equal(prober_live(E.pr), 4);
	for (int i = 0; i < 4; i++) {
		assert_non_null(p[i]);
		probe_cancel(p[i]);
	}
	probe_cancel(NULL);
	assert_int_equal(prober_live(E.pr), 0);
	assert_true(run_for(1, 300));
	assert_int_equal(r.n, 0);
	server_stop(&s);
	close(filler);
	close(lfd);
}

/* A callback cancels a probe still in flight, starts another, and
 * cancels itself (which does nothing). */
struct chain {
	struct probe *self, *victim;
	struct result started;
	uint16_t port;
};

static void on_chain(struct probe *p, bool ok, const char *why, void *arg)
{
	struct chain *c = arg;
	struct vaddr a = loopback(AF_INET);

	assert_ptr_equal(p, c->self);
	assert_true(ok);
	probe_cancel(c->victim);
	probe_cancel(p);
	assert_non_null(probe_tcp(E.pr, &a, c->port, 1000, on_result, &c->started));
	assert_int_equal(prober_live(E.pr), 1);
}

static void callback_cancels_and_starts(void **state)
{
	struct vaddr a = loopback(AF_INET);
	struct result victim = { 0 };
	struct chain c = { 0 };
	uint16_t port;
	int filler, lfd = full_listener(&port, &filler), ok_fd = listener(AF_INET, 16, &c.port);

	assert_true(ok_fd >= 0);
	c.victim = probe_tcp(E.pr, &a, port, 500, on_result, &victim);
	c.self = probe_tcp(E.pr, &a, c.port, 1000, on_chain, &c);
	assert_non_null(c.victim);
	assert_non_null(c.self);
	assert_false(run_for(1, 2000));
	assert_int_equal(c.started.n, 1);
	assert_true(c.started.ok);
	assert_int_equal(victim.n, 0);
	assert_int_equal(prober_live(E.pr), 0);
	close(ok_fd);
	close(filler);
	close(lfd);
}

/* prober_free with probes at every stage: no callback, nothing leaked
 * (ASan and valgrind tell). */
static void free_in_flight(void **state)
{
	struct vaddr a = loopback(AF_INET);
	struct result r = { 0 };
	struct server s;
	uint16_t port, dead = closed_port(), silent;
	int filler, lfd = full_listener(&port, &filler);
	int sfd = listener(AF_INET, 16, &silent);

	assert_true(sfd >= 0);
	assert_true(server_start(&s, AF_INET, OK_200));
	for (int i = 0; i < 5; i++) {
		assert_non_null(probe_tcp(E.pr, &a, port, 1000, on_result, &r));
		assert_non_null(probe_tcp(E.pr, &a, dead, 1000, on_result, &r));
		assert_non_null(probe_http(E.pr, &a, silent, "/", 200, 1000, on_result, &r));
	}
	/* Let the HTTP probes connect and send, then free them mid-way. */
	assert_true(run_for(100, 100));
	assert_int_equal(prober_live(E.pr), 5 + 0 + 5);
	assert_non_null(probe_http(E.pr, &a, s.port, "/", 200, 1000, on_result, &r));
	assert_non_null(probe_tcp(E.pr, &a, port, 1000, on_result, &r));
	prober_free(E.pr);
	E.pr = prober_alloc(E.loop);
	assert_true(run_for(1, 200));
	assert_int_equal(r.n, 5);	/* the refused ones, before the free */
	server_stop(&s);
	close(sfd);
	close(filler);
	close(lfd);
}

#define MANY 1000

static void many_at_once(void **state)
{
	struct vaddr a = loopback(AF_INET);
	struct result *r = calloc(MANY, sizeof(*r));
	uint16_t port;
	int lfd = listener(AF_INET, 4096, &port);
	uint64_t t0 = loop_now_ms();

	assert_true(lfd >= 0);
	for (int i = 0; i < MANY; i++)
		assert_non_null(probe_tcp(E.pr, &a, port, 2000, on_result, &r[i]));
	assert_int_equal(prober_live(E.pr), MANY);
	assert_false(run_for(MANY, 5000));
	assert_true(loop_now_ms() - t0 < 2000);
	for (int i = 0; i < MANY; i++) {
		assert_int_equal(r[i].n, 1);
		assert_true(r[i].ok);
	}
	assert_int_equal(prober_live(E.pr), 0);
	close(lfd);
	free(r);
}

/* A network namespace of our own with lo up, or false. */
static bool own_netns(void)
{
	struct ifreq ifr = { 0 };
	int fd;

	if (unshare(CLONE_NEWNET) < 0) {
		if (errno != EPERM)
			return false;
		/* Not root: an unprivileged user namespace may still own one. */
		if (unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0)
			return false;
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		goto fail;
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		goto fail;
	close(fd);
	return true;
fail:
	close(fd);
	return false;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(tcp_ok, setup, teardown),
		cmocka_unit_test_setup_teardown(tcp_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(tcp_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(http_ok, setup, teardown),
		cmocka_unit_test_setup_teardown(http_wrong_status, setup, teardown),
		cmocka_unit_test_setup_teardown(http_body_not_awaited, setup, teardown),
		cmocka_unit_test_setup_teardown(http_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(http_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(http_ipv6_ok, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_input, setup, teardown),
		cmocka_unit_test_setup_teardown(cancel_no_callback, setup, teardown),
		cmocka_unit_test_setup_teardown(callback_cancels_and_starts, setup, teardown),
		cmocka_unit_test_setup_teardown(free_in_flight, setup, teardown),
		cmocka_unit_test_setup_teardown(many_at_once, setup, teardown),
	};

	/* Never the node's own network: no namespace, no test. */
	if (!own_netns()) {
		printf("test_probe: skipped: no network namespace of its own (%s)\n",
		       strerror(errno));
		return 0;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}

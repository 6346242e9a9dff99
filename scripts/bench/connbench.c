/*
 * connbench: new-connection-rate benchmark for vipd's data path.
 *
 *   connbench server PORT [--name NAME] [--bind IP]
 *       epoll, non-blocking accept loop. Every accepted connection gets
 *       NAME "\n" (default: the host name) and is closed at once, so the
 *       server does the active close (its TIME_WAIT stays on the server).
 *       SIGTERM/SIGINT: prints "server NAME accepted=N" on stderr, exits 0.
 *
 *   connbench client IP[,IP...] PORT --seconds S [--conns C] [--parallel P]
 *                    [--count] [--rst] [--timeout-ms T]
 *       Single-threaded. Keeps P connections in flight (non-blocking
 *       connect + epoll, edge triggered): connect, read the reply until EOF,
 *       close, start the next one. Several IPs are used in turn. Stops after
 *       S seconds or once C connections were started (and have ended),
 *       whichever comes first. Prints one line
 *           conns=N failed=F rate=R/s p50_us=X p99_us=Y p999_us=.. max_us=.. elapsed_s=..
 *       (latency = connect() call to EOF of the reply, successful connections
 *       only; rate = successful connections / elapsed) and with --count one
 *       "name count" line per distinct reply line, most frequent first.
 *       Failures are broken down by errno on stderr.
 *       --rst: SO_LINGER {1,0} before close (RST instead of FIN). Not needed
 *       by default: the server closes first, so the client does the passive
 *       close and keeps no TIME_WAIT socket (see datapath-notes.txt).
 *       --timeout-ms: a connection not finished after T ms (default 5000)
 *       counts as failed (ETIMEDOUT).
 *
 * C11 + POSIX/Linux only:  cc -O2 -Wall -Wextra -o build/connbench connbench.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop_flag;
static void on_signal(int sig) { (void)sig; stop_flag = 1; }

static void die(const char *what)
{
	fprintf(stderr, "connbench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: connbench server PORT [--name NAME] [--bind IP]\n"
		"       connbench client IP[,IP...] PORT --seconds S [--conns C] [--parallel P]\n"
		"                        [--count] [--rst] [--timeout-ms T]\n");
	exit(2);
}

static long parse_num(const char *s, long lo, long hi, const char *what)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < lo || v > hi) {
		fprintf(stderr, "connbench: bad %s '%s' (want %ld..%ld)\n", what, s, lo, hi);
		exit(2);
	}
	return v;
}

static void raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void install_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal; /* no SA_RESTART: epoll_wait returns EINTR */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* ------------------------------------------------------------------ server */

static int run_server(int argc, char **argv)
{
	if (argc < 1)
		usage();
	int port = (int)parse_num(argv[0], 1, 65535, "port");
	char name[256] = "";
	const char *bind_ip = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--name") && i + 1 < argc)
			snprintf(name, sizeof name, "%s", argv[++i]);
		else if (!strcmp(argv[i], "--bind") && i + 1 < argc)
			bind_ip = argv[++i];
		else
			usage();
	}
	if (!name[0] && gethostname(name, sizeof name - 1) != 0)
		snprintf(name, sizeof name, "server");
	name[sizeof name - 2] = 0;
	char reply[260];
	int rlen = snprintf(reply, sizeof reply, "%s\n", name);

	raise_nofile();
	install_signals();

	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		die("socket");
	int one = 1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(INADDR_ANY);
	if (bind_ip && inet_pton(AF_INET, bind_ip, &sa.sin_addr) != 1) {
		fprintf(stderr, "connbench: bad --bind address '%s'\n", bind_ip);
		return 2;
	}
	if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0)
		die("bind");
	if (listen(lfd, 65535) < 0) /* capped by net.core.somaxconn */
		die("listen");

	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		die("epoll_create1");
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd};
	if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0)
		die("epoll_ctl");

	unsigned long long accepted = 0, write_short = 0, accept_err = 0;
	while (!stop_flag) {
		struct epoll_event evs[4];
		int n = epoll_wait(ep, evs, 4, 1000);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("epoll_wait");
		}
		if (n == 0)
			continue;
		/* Drain the accept queue, bounded so a signal is seen soon. */
		for (int k = 0; k < 4096; k++) {
			int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
			if (fd < 0) {
				if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
					break;
				accept_err++;
				if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
				    errno == ENOMEM)
					break;
				continue; /* ECONNABORTED etc: the peer gave up */
			}
			accepted++;
			if (write(fd, reply, (size_t)rlen) != rlen)
				write_short++;
			close(fd);
		}
	}
	fprintf(stderr, "server %s accepted=%llu write_short=%llu accept_err=%llu\n", name,
		accepted, write_short, accept_err);
	return 0;
}

/* ------------------------------------------------------------------ client */

struct conn {
	int fd;           /* -1: slot free */
	uint64_t start;   /* ns, at connect() */
	char buf[64];
	unsigned len;
};

struct name_count {
	char name[64];
	unsigned long long n;
};

static struct name_count *names;
static size_t n_names, cap_names;

static void count_name(const char *buf, unsigned len)
{
	char nm[64];
	unsigned i;
	for (i = 0; i < len && i < sizeof nm - 1 && buf[i] != '\n'; i++)
		nm[i] = buf[i];
	nm[i] = 0;
	if (!nm[0])
		snprintf(nm, sizeof nm, "(empty)");
	for (size_t k = 0; k < n_names; k++)
		if (!strcmp(names[k].name, nm)) {
			names[k].n++;
			return;
		}
	if (n_names == cap_names) {
		cap_names = cap_names ? cap_names * 2 : 16;
		names = realloc(names, cap_names * sizeof *names);
		if (!names)
			die("realloc");
	}
	snprintf(names[n_names].name, sizeof names[n_names].name, "%s", nm);
	names[n_names++].n = 1;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

static int cmp_names(const void *a, const void *b)
{
	const struct name_count *x = a, *y = b;
	if (x->n != y->n)
		return x->n < y->n ? 1 : -1;
	return strcmp(x->name, y->name);
}

/* errno breakdown of failures */
static unsigned long long err_count[256];
static void count_err(int e) { err_count[(e > 0 && e < 256) ? e : 0]++; }

static uint32_t *lat;
static size_t n_lat, cap_lat;

static void add_lat(uint64_t ns)
{
	if (n_lat == cap_lat) {
		cap_lat = cap_lat ? cap_lat * 2 : (1u << 20);
		lat = realloc(lat, cap_lat * sizeof *lat);
		if (!lat)
			die("realloc");
	}
	uint64_t us = ns / 1000;
	lat[n_lat++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

/* client state shared by finish() */
static struct conn *cs;
static unsigned long long ok_n, failed_n;
static int in_flight, do_count, do_rst;

/* finish slot i: ok (err == 0) or failed with errno err */
static void finish(int i, int err, uint64_t now)
{
	static const struct linger lg = {.l_onoff = 1, .l_linger = 0};
	if (err == 0) {
		ok_n++;
		add_lat(now - cs[i].start);
		if (do_count)
			count_name(cs[i].buf, cs[i].len);
	} else {
		failed_n++;
		count_err(err);
	}
	if (do_rst || err != 0)
		setsockopt(cs[i].fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	close(cs[i].fd);
	cs[i].fd = -1;
	in_flight--;
}

static int run_client(int argc, char **argv)
{
	if (argc < 2)
		usage();
	/* targets */
	struct sockaddr_in tgt[64];
	int n_tgt = 0;
	int port = (int)parse_num(argv[1], 1, 65535, "port");
	{
		char *list = strdup(argv[0]), *save = NULL;
		if (!list)
			die("strdup");
		for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
			if (n_tgt == 64) {
				fprintf(stderr, "connbench: at most 64 target IPs\n");
				return 2;
			}
			memset(&tgt[n_tgt], 0, sizeof tgt[n_tgt]);
			tgt[n_tgt].sin_family = AF_INET;
			tgt[n_tgt].sin_port = htons((uint16_t)port);
			if (inet_pton(AF_INET, t, &tgt[n_tgt].sin_addr) != 1) {
				fprintf(stderr, "connbench: bad IPv4 address '%s'\n", t);
				return 2;
			}
			n_tgt++;
		}
		free(list);
		if (!n_tgt)
			usage();
	}
	double seconds = -1;
	long long max_conns = -1;
	int parallel = 32;
	long timeout_ms = 5000;
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--seconds") && i + 1 < argc) {
			char *end;
			seconds = strtod(argv[++i], &end);
			if (*end || !(seconds > 0 && seconds <= 86400)) {
				fprintf(stderr, "connbench: bad --seconds '%s'\n", argv[i]);
				return 2;
			}
		} else if (!strcmp(argv[i], "--conns") && i + 1 < argc)
			max_conns = parse_num(argv[++i], 1, 2000000000L, "--conns");
		else if (!strcmp(argv[i], "--parallel") && i + 1 < argc)
			parallel = (int)parse_num(argv[++i], 1, 100000, "--parallel");
		else if (!strcmp(argv[i], "--timeout-ms") && i + 1 < argc)
			timeout_ms = parse_num(argv[++i], 1, 600000, "--timeout-ms");
		else if (!strcmp(argv[i], "--count"))
			do_count = 1;
		else if (!strcmp(argv[i], "--rst"))
			do_rst = 1;
		else
			usage();
	}
	if (seconds < 0) {
		fprintf(stderr, "connbench: client needs --seconds S (an upper bound)\n");
		return 2;
	}

	raise_nofile();
	install_signals();

	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		die("epoll_create1");
	cs = calloc((size_t)parallel, sizeof *cs);
	if (!cs)
		die("calloc");
	for (int i = 0; i < parallel; i++)
		cs[i].fd = -1;

	const struct linger lg = {.l_onoff = 1, .l_linger = 0};
	unsigned long long started = 0;
	int next_tgt = 0;
	const uint64_t t0 = now_ns();
	const uint64_t deadline = t0 + (uint64_t)(seconds * 1e9);
	const uint64_t tmo = (uint64_t)timeout_ms * 1000000u;
	uint64_t t_end = t0, last_scan = t0;
	int starting = 1; /* still opening new connections */


	for (;;) {
		uint64_t now = now_ns();
		if (starting && (stop_flag || now >= deadline ||
				 (max_conns >= 0 && (long long)started >= max_conns)))
			starting = 0;
		if (!starting && (in_flight == 0 || now >= deadline || stop_flag))
			break;
		/* fill free slots */
		for (int i = 0; starting && i < parallel; i++) {
			if (cs[i].fd >= 0)
				continue;
			if (max_conns >= 0 && (long long)started >= max_conns)
				break;
			int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
			if (fd < 0) {
				started++;
				failed_n++;
				count_err(errno);
				continue;
			}
			cs[i].fd = fd;
			cs[i].len = 0;
			cs[i].start = now_ns();
			started++;
			in_flight++;
			struct sockaddr_in *dst = &tgt[next_tgt];
			next_tgt = (next_tgt + 1) % n_tgt;
			if (connect(fd, (struct sockaddr *)dst, sizeof *dst) < 0 &&
			    errno != EINPROGRESS) {
				finish(i, errno, cs[i].start);
				continue;
			}
			struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
						 .data.u32 = (uint32_t)i};
			if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
				die("epoll_ctl");
		}
		struct epoll_event evs[256];
		int n = epoll_wait(ep, evs, 256, 10);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("epoll_wait");
		}
		now = now_ns();
		for (int k = 0; k < n; k++) {
			int i = (int)evs[k].data.u32;
			if (cs[i].fd < 0)
				continue;
			if (evs[k].events & EPOLLERR) {
				int err = 0;
				socklen_t el = sizeof err;
				getsockopt(cs[i].fd, SOL_SOCKET, SO_ERROR, &err, &el);
				finish(i, err ? err : EIO, now);
				continue;
			}
			/* read until EAGAIN or EOF */
			for (;;) {
				char tmp[256];
				ssize_t r = read(cs[i].fd, tmp, sizeof tmp);
				if (r > 0) {
					unsigned room = (unsigned)sizeof cs[i].buf - cs[i].len;
					unsigned c = (unsigned)r < room ? (unsigned)r : room;
					memcpy(cs[i].buf + cs[i].len, tmp, c);
					cs[i].len += c;
					continue;
				}
				if (r == 0) {
					finish(i, 0, now);
					t_end = now;
					break;
				}
				if (errno == EAGAIN || errno == EWOULDBLOCK)
					break;
				if (errno == EINTR)
					continue;
				finish(i, errno, now);
				break;
			}
		}
		/* time out stuck connections (every 50 ms) */
		if (now - last_scan > 50000000u) {
			last_scan = now;
			for (int i = 0; i < parallel; i++)
				if (cs[i].fd >= 0 && now - cs[i].start > tmo)
					finish(i, ETIMEDOUT, now);
		}
	}
	uint64_t t_stop = now_ns();
	/* Connections still in flight at the deadline are neither ok nor failed. */
	unsigned long long abandoned = 0;
	for (int i = 0; i < parallel; i++)
		if (cs[i].fd >= 0) {
			setsockopt(cs[i].fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
			close(cs[i].fd);
			abandoned++;
		}
	/* Elapsed: to the deadline in timed runs, to the last completion when
	 * the run ended by --conns. */
	uint64_t t_fin = (max_conns >= 0 && (long long)started >= max_conns && t_stop < deadline)
				 ? t_end
				 : (t_stop < deadline ? t_stop : deadline);
	double elapsed = (double)(t_fin - t0) / 1e9;
	if (elapsed <= 0)
		elapsed = 1e-9;

	uint32_t p50 = 0, p99 = 0, p999 = 0, mx = 0;
	if (n_lat) {
		qsort(lat, n_lat, sizeof *lat, cmp_u32);
		p50 = lat[(n_lat - 1) * 50 / 100];
		p99 = lat[(n_lat - 1) * 99 / 100];
		p999 = lat[(n_lat - 1) * 999 / 1000];
		mx = lat[n_lat - 1];
	}
	printf("conns=%llu failed=%llu rate=%.0f/s p50_us=%u p99_us=%u p999_us=%u max_us=%u "
	       "elapsed_s=%.3f abandoned=%llu\n",
	       ok_n, failed_n, (double)ok_n / elapsed, p50, p99, p999, mx, elapsed, abandoned);
	if (do_count) {
		qsort(names, n_names, sizeof *names, cmp_names);
		for (size_t k = 0; k < n_names; k++)
			printf("%s %llu\n", names[k].name, names[k].n);
	}
	if (failed_n) {
		fprintf(stderr, "connbench: failures by errno:");
		for (int e = 0; e < 256; e++)
			if (err_count[e])
				fprintf(stderr, " %s=%llu", e ? strerror(e) : "other", err_count[e]);
		fprintf(stderr, "\n");
	}
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	if (!strcmp(argv[1], "server"))
		return run_server(argc - 2, argv + 2);
	if (!strcmp(argv[1], "client"))
		return run_client(argc - 2, argv + 2);
	usage();
	return 2;
}

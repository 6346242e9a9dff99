/* ct_tool: the e2e tests' handle on datapath/conntrack.c, run inside a test
 * namespace (never the root one).
 *
 *   ct_tool delete [--pad N] MATCH...    ct_delete once; prints
 *                                        "deleted N in T ms (M matches)"
 *     MATCH: to PROTO DST PORT BE BE_PORT | unnated PROTO DST PORT
 *     DST: an address, or any4 / any6 for any destination
 *     --pad N: N more matches that name no entry (backend ports nobody
 *              uses), to time a large match set
 *   ct_tool send-ports DST PORT FIRST_SPORT COUNT
 *     one UDP datagram from each of COUNT source ports, one socket each
 *   ct_tool send-stream DST PORT SPORT COUNT INTERVAL_MS
 *     COUNT datagrams "N\n" from one socket bound to SPORT (a one-way
 *     client that never changes its source port)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "addr.h"
#include "conntrack.h"

static void die(const char *what)
{
	fprintf(stderr, "ct_tool: %s\n", what);
	exit(2);
}

static unsigned long num(const char *s, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || end == s || v > max)
		die("bad number");
	return v;
}

static uint8_t proto_of(const char *s)
{
	if (!strcmp(s, "udp"))
		return IPPROTO_UDP;
	if (!strcmp(s, "tcp"))
		return IPPROTO_TCP;
	die("protocol must be udp or tcp");
	return 0;
}

static void parse_dst(struct ct_match *m, const char *s)
{
	struct vaddr a;

	if (!strcmp(s, "any4") || !strcmp(s, "any6")) {
		m->any_dst = true;
		m->family = s[3] == '4' ? AF_INET : AF_INET6;
		return;
	}
	if (addr_parse(&a, s) < 0)
		die("bad address");
	m->family = a.family;
	memcpy(m->dst, a.bytes, sizeof(m->dst));
}

/* Parses one MATCH at argv[*i]; advances *i past it. */
static void parse_match(struct ct_match *m, int argc, char **argv, int *i)
{
	struct vaddr be;
	bool to = !strcmp(argv[*i], "to");

	if (!to && strcmp(argv[*i], "unnated"))
		die("a match starts with to or unnated");
	if (*i + (to ? 6 : 4) > argc)
		die("match too short");
	memset(m, 0, sizeof(*m));
	m->kind = to ? CT_TO_BACKEND : CT_UNNATED;
	m->proto = proto_of(argv[*i + 1]);
	parse_dst(m, argv[*i + 2]);
	m->port = num(argv[*i + 3], 65535);
	if (to) {
		if (addr_parse(&be, argv[*i + 4]) < 0 || be.family != m->family)
			die("bad backend address");
		memcpy(m->be, be.bytes, sizeof(m->be));
		m->be_port = num(argv[*i + 5], 65535);
	}
	*i += to ? 6 : 4;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmd_delete(int argc, char **argv)
{
	struct ct_match *m;
	struct ct *c;
	size_t n = 0, pad = 0;
	double t0;
	int i = 0, r;

	if (argc >= 2 && !strcmp(argv[0], "--pad")) {
		pad = num(argv[1], 1000000);
		i = 2;
	}
	m = calloc((size_t)argc / 4 + pad + 1, sizeof(*m));
	if (!m)
		die("out of memory");
	while (i < argc)
		parse_match(&m[n++], argc, argv, &i);
	if (n == 0)
		die("no match");
	/* Padding names a backend port no entry has: 10.255.x.y or fd00:ff::x
	 * never appears as a reply source in the tests. */
	for (size_t k = 0; k < pad; k++) {
		struct ct_match *p = &m[n + k];

		*p = m[0];
		p->kind = CT_TO_BACKEND;
		memset(p->be, 0, sizeof(p->be));
		p->be[0] = p->family == AF_INET ? 10 : 0xfd;
		p->be[1] = 0xff;
		p->be[2] = k >> 8;
		p->be[3] = k;
		p->be_port = 1 + k % 65535;
	}
	r = ct_open(&c);
	if (r < 0) {
		fprintf(stderr, "ct_tool: ct_open: %s\n", strerror(-r));
		return 1;
	}
	t0 = now_ms();
	r = ct_delete(c, m, n + pad);
	if (r < 0) {
		fprintf(stderr, "ct_tool: ct_delete: %s (%s)\n", ct_error(c), strerror(-r));
		ct_close(c);
		free(m);
		return 1;
	}
	printf("deleted %d in %.1f ms (%zu matches)\n", r, now_ms() - t0, n + pad);
	ct_close(c);
	free(m);
	return 0;
}

static socklen_t sockaddr_of(const char *addr, unsigned port, struct sockaddr_storage *ss)
{
	struct vaddr a;

	if (addr_parse(&a, addr) < 0)
		die("bad address");
	memset(ss, 0, sizeof(*ss));
	if (a.family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		memcpy(&s4->sin_addr, a.bytes, 4);
		return sizeof(*s4);
	}
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons(port);
	memcpy(&s6->sin6_addr, a.bytes, 16);
	return sizeof(*s6);
}

/* A UDP socket of dst's family bound to sport on any address. */
static int bound_socket(const struct sockaddr_storage *dst, unsigned sport)
{
	struct sockaddr_storage src = { .ss_family = dst->ss_family };
	int fd, one = 1;

	if (dst->ss_family == AF_INET)
		((struct sockaddr_in *)&src)->sin_port = htons(sport);
	else
		((struct sockaddr_in6 *)&src)->sin6_port = htons(sport);
	fd = socket(dst->ss_family, SOCK_DGRAM, 0);
	if (fd < 0)
		die("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&src, dst->ss_family == AF_INET ?
		 sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6)) < 0) {
		perror("ct_tool: bind");
		exit(1);
	}
	return fd;
}

static int cmd_send(int argc, char **argv, bool stream)
{
	struct sockaddr_storage dst;
	socklen_t len;
	unsigned long port, sport, count, interval = 0;
	char buf[32];
	int fd = -1, n;

	if (argc != (stream ? 5 : 4))
		die("usage: send-ports DST PORT FIRST_SPORT COUNT | send-stream DST PORT SPORT COUNT INTERVAL_MS");
	port = num(argv[1], 65535);
	sport = num(argv[2], 65535);
	count = num(argv[3], stream ? 100000 : 65536 - sport);
	if (stream)
		interval = num(argv[4], 10000);
	len = sockaddr_of(argv[0], port, &dst);
	for (unsigned long i = 0; i < count; i++) {
		if (fd < 0)
			fd = bound_socket(&dst, stream ? sport : sport + i);
		n = snprintf(buf, sizeof(buf), "%lu\n", i);
		/* A refused datagram (ICMP port unreachable) is expected here. */
		if (sendto(fd, buf, n, 0, (struct sockaddr *)&dst, len) < 0 &&
		    errno != ECONNREFUSED)
			perror("ct_tool: sendto");
		if (!stream) {
			close(fd);
			fd = -1;
		} else if (interval) {
			fflush(stdout);
			usleep(interval * 1000);
		}
	}
	if (fd >= 0)
		close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		die("usage: ct_tool delete|send-ports|send-stream ...");
	if (!strcmp(argv[1], "delete"))
		return cmd_delete(argc - 2, argv + 2);
	if (!strcmp(argv[1], "send-ports"))
		return cmd_send(argc - 2, argv + 2, false);
	if (!strcmp(argv[1], "send-stream"))
		return cmd_send(argc - 2, argv + 2, true);
	die("unknown command");
	return 2;
}

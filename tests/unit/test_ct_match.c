/* Conntrack matching without a kernel: entries built in memory against
 * ct_set, the set one ct_delete tests every dumped entry against. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>

#include "ct_match.h"

#define V    "10.96.0.10"
#define B1   "10.250.2.11"
#define B2   "10.250.2.12"
#define V6   "fd96::10"
#define B61  "fd00:2::11"

static void pton(uint8_t family, const char *s, void *out)
{
	assert_int_equal(inet_pton(family, s, out), 1);
}

/* A UDP (or proto) entry from a client to dst:dport; DNATed to be:be_port
 * when be is set, else un-NATed (reply from dst:dport). */
static struct nf_conntrack *entry(uint8_t family, uint8_t proto, const char *dst,
				  uint16_t dport, const char *be, uint16_t be_port)
{
	struct nf_conntrack *ct = nfct_new();
	uint8_t a[16] = { 0 }, r[16] = { 0 };
	bool v4 = family == AF_INET;

	assert_non_null(ct);
	nfct_set_attr_u8(ct, ATTR_L3PROTO, family);
	nfct_set_attr_u8(ct, ATTR_L4PROTO, proto);
	pton(family, dst, a);
	pton(family, be ? be : dst, r);
	nfct_set_attr(ct, v4 ? ATTR_ORIG_IPV4_DST : ATTR_ORIG_IPV6_DST, a);
	nfct_set_attr(ct, v4 ? ATTR_REPL_IPV4_SRC : ATTR_REPL_IPV6_SRC, r);
	if (proto != IPPROTO_ICMP) {
		nfct_set_attr_u16(ct, ATTR_ORIG_PORT_DST, htons(dport));
		nfct_set_attr_u16(ct, ATTR_REPL_PORT_SRC, htons(be ? be_port : dport));
	}
	nfct_set_attr_u32(ct, ATTR_STATUS, be ? IPS_DST_NAT | IPS_CONFIRMED : IPS_CONFIRMED);
	return ct;
}

/* A match; dst NULL for any destination. Garbage past the address length
 * must not matter. */
static struct ct_match match(uint8_t family, uint8_t kind, const char *dst,
			     uint16_t port, const char *be, uint16_t be_port)
{
	struct ct_match m;

	memset(&m, 0xa5, sizeof(m));
	if (family == AF_INET6) {
		memset(m.dst, 0, sizeof(m.dst));
		memset(m.be, 0, sizeof(m.be));
	}
	m.family = family;
	m.proto = IPPROTO_UDP;
	m.kind = kind;
	m.any_dst = !dst;
	m.port = port;
	if (dst)
		pton(family, dst, m.dst);
	if (be)
		pton(family, be, m.be);
	m.be_port = be_port;
	return m;
}

static bool matches(const struct ct_set *s, struct nf_conntrack *ct)
{
	bool r = ct_set_matches(s, ct);

	nfct_destroy(ct);
	return r;
}

static struct ct_set *build(const struct ct_match *m, size_t n)
{
	struct ct_set *s;
	char err[128];

	assert_int_equal(ct_set_build(&s, m, n, err, sizeof(err)), 0);
	return s;
}

static void to_backend(void **state)
{
	struct ct_match m = match(AF_INET, CT_TO_BACKEND, V, 53, B1, 5353);
	struct ct_set *s = build(&m, 1);

	assert_true(matches(s, entry(AF_INET, IPPROTO_UDP, V, 53, B1, 5353)));
	assert_false(matches(s, entry(AF_INET, IPPROTO_UDP, V, 53, B2, 5353)));
	assert_false(matches(s, entry(AF_INET, IPPROTO_UDP, V, 53, B1, 5354)));
	assert_false(matches(s, entry(AF_INET, IPPROTO_UDP, V, 54, B1, 5353)));
	assert_false(matches(s, entry(AF_INET, IPPROTO_UDP, "10.96.0.11", 53, B1, 5353)));
	assert_false(matches(s, entry(AF_INET, IPPROTO_TCP, V, 53, B1, 5353)));
	assert_false(matches(s, entry(AF_INET, IPPROTO_UDP, V, 53, NULL, 0)));
	assert_false(matches(s, entry(AF_INET, IPPROTO_ICMP, V, 0, B1, 0)));
	assert_int_equal(ct_set_status_filter(s, AF_INET), CT_STATUS_DNAT);
	assert_true(ct_set_has_family(s, AF_INET));
	assert_false(ct_set_has_family(s, AF_INET6));
	ct_set_free(s);
}

static void unnated(void **state)
{
	struct ct_match m = match(AF_INET, CT_UNNATED, V, 53, B1, 5353);
	struct ct_set *s = build(&m, 1);

	assert_true(matches(s, entry(AF_INET, IPPROTO_UDP, V, 53, NULL, 0)));
	assert_false(matches(s, entry(AF_INET, IPPROTO_UDP, V, 53, B1, 5353)));
	assert_false(matches(s, entry(AF_INET, IPPROTO_UDP, V, 54, NULL, 0)));
	assert_int_equal(ct_set_status_filter(s, AF_INET), CT_STATUS_NO_DNAT);
	ct_set_free(s);
}

static void any_destination(void **state)
{
	struct ct_match m[] = {
		match(AF_INET, CT_TO_BACKEND, NULL, 30053, B1, 53),
		match(AF_INET, CT_UNNATED, NULL, 30053, NULL, 0),
	};
	struct ct_set *s = build(m, 2);

	assert_true(matches(s, entry(AF_INET, IPPROTO_UDP, "10.250.1.1", 30053, B1, 53)));
	assert_true(matches(s, entry(AF_INET, IPPROTO_UDP, "192.0.2.7", 30053, B1, 53)));
	assert_true(matches(s, entry(AF_INET, IPPROTO_UDP, "192.0.2.7", 30053, NULL, 0)));
	assert_false(matches(s, entry(AF_INET, IPPROTO_UDP, "192.0.2.7", 30054, B1, 53)));
	assert_false(matches(s, entry(AF_INET, IPPROTO_UDP, "192.0.2.7", 30053, B2, 53)));
	assert_int_equal(ct_set_status_filter(s, AF_INET), CT_STATUS_ANY);
	ct_set_free(s);
}

static void ipv6(void **state)
{
	struct ct_match m[] = {
		match(AF_INET6, CT_TO_BACKEND, V6, 53, B61, 5353),
		match(AF_INET, CT_UNNATED, V, 53, NULL, 0),
	};
	struct ct_set *s = build(m, 2);

	assert_true(matches(s, entry(AF_INET6, IPPROTO_UDP, V6, 53, B61, 5353)));
	assert_false(matches(s, entry(AF_INET6, IPPROTO_UDP, V6, 53, "fd00:2::12", 5353)));
	assert_false(matches(s, entry(AF_INET6, IPPROTO_UDP, V6, 53, NULL, 0)));
	assert_true(matches(s, entry(AF_INET, IPPROTO_UDP, V, 53, NULL, 0)));
	assert_int_equal(ct_set_status_filter(s, AF_INET6), CT_STATUS_DNAT);
	assert_int_equal(ct_set_status_filter(s, AF_INET), CT_STATUS_NO_DNAT);
	ct_set_free(s);
}

static void many_matches(void **state)
{
	enum { N = 5000 };
	static struct ct_match m[N];
	struct ct_set *s;
	char be[32];

	for (int i = 0; i < N; i++) {
		snprintf(be, sizeof(be), "10.1.%d.%d", i / 250, i % 250 + 1);
		m[i] = match(AF_INET, CT_TO_BACKEND, V, 53, be, 8000 + i % 7);
	}
	s = build(m, N);
	assert_true(matches(s, entry(AF_INET, IPPROTO_UDP, V, 53, "10.1.19.250", 8000 + 4999 % 7)));
	assert_false(matches(s, entry(AF_INET, IPPROTO_UDP, V, 53, "10.1.19.250", 8000 + 4998 % 7)));
	ct_set_free(s);
}

static void bad_match(void **state)
{
	struct ct_match m[] = {
		match(AF_INET, CT_UNNATED, V, 53, NULL, 0),
		match(AF_INET, CT_UNNATED, V, 53, NULL, 0),
	};
	struct ct_set *s = NULL;
	char err[128];

	m[1].family = AF_UNIX;
	assert_int_equal(ct_set_build(&s, m, 2, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "conntrack match 1: bad family 1");
	m[1].family = AF_INET;
	m[1].kind = 7;
	assert_int_equal(ct_set_build(&s, m, 2, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "conntrack match 1: bad kind 7");
	assert_null(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(to_backend),
		cmocka_unit_test(unnated),
		cmocka_unit_test(any_destination),
		cmocka_unit_test(ipv6),
		cmocka_unit_test(many_matches),
		cmocka_unit_test(bad_match),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

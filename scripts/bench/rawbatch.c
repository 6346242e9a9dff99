/* rawbatch: the physical limit of a vipd full sync. Reads a list of map
 * elements (`gen.py raw S E`), builds vipd's table layout (DESIGN.md "Ruleset
 * shape": sets services/backends/noendpoints, the nat and filter base chains,
 * one class chain per line "class") and sends everything as ONE libnftnl batch
 * in one sendmsg, then waits for the kernel's answer. No model, no diff, no
 * read-back: what is left is parsing a trivial text format, libnftnl building
 * the messages, and the kernel's commit. Only `table ip` (vipd also creates an
 * empty `table ip6` with the same base chains: a few messages).
 *
 *   rawbatch [--no-comments] [--per-msg N] FILE
 *
 * FILE lines (whitespace separated):
 *   table NAME
 *   class CHAIN N                          lb-N chain: numgen random mod N
 *   svc VIP PROTO PORT CHAIN COMMENT       services element -> goto CHAIN
 *   be VIP PROTO PORT SLOT IP PORT COMMENT backends element
 * Elements go 256 per message by default (vipd's ELEMS_PER_MSG) with the
 * same comments vipd writes, so the kernel stores the same bytes.
 * Prints timings to stderr: parse, build, kernel (send to last answer).
 *
 * cc -O2 -o rawbatch rawbatch.c $(pkg-config --cflags --libs libnftnl libmnl) */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <libmnl/libmnl.h>
#include <libnftnl/batch.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

/* nft datatype ids, as vipd (datapath/nft.c) declares the key types */
enum { DT_INTEGER = 4, DT_IPADDR = 7, DT_PROTO = 12, DT_SERVICE = 13 };

struct elem {
	uint8_t key[16];	/* daddr . proto (+3 pad) . port (+2 pad) [. slot] */
	uint8_t data[8];	/* addr . port (+2 pad) */
	char chain[16];
	char comment[64];
};

static struct nftnl_batch *batch;
static char scratch[128 * 1024];
static uint32_t seq;
static const char *table = "vipd";

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "rawbatch: %s: %s\n", what, strerror(errno));
	exit(1);
}

static struct nlmsghdr *msg(uint16_t type, uint16_t flags)
{
	memset(scratch, 0, sizeof(scratch));
	return nftnl_nlmsg_build_hdr(scratch, type, NFPROTO_IPV4, flags, seq++);
}

static void done(void)
{
	const struct nlmsghdr *nlh = (const void *)scratch;

	memcpy(nftnl_batch_buffer(batch), scratch, nlh->nlmsg_len);
	if (nftnl_batch_update(batch) < 0)
		die("batch");
}

static void udata_comment(void *obj, void (*set)(void *, uint16_t, const void *, uint32_t),
			  uint16_t attr, uint8_t type, const char *text)
{
	struct nftnl_udata_buf *ud = nftnl_udata_buf_alloc(256);

	nftnl_udata_put_strz(ud, type, text);
	set(obj, attr, nftnl_udata_buf_data(ud), nftnl_udata_buf_len(ud));
	nftnl_udata_buf_free(ud);
}

static void set_data_table(void *o, uint16_t a, const void *d, uint32_t l) { nftnl_table_set_data(o, a, d, l); }
static void set_data_chain(void *o, uint16_t a, const void *d, uint32_t l) { nftnl_chain_set_data(o, a, d, l); }
static void set_data_elem(void *o, uint16_t a, const void *d, uint32_t l) { nftnl_set_elem_set(o, a, d, l); }

static void add_table(void)
{
	struct nftnl_table *t = nftnl_table_alloc();

	nftnl_table_set_str(t, NFTNL_TABLE_NAME, table);
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_IPV4);
	udata_comment(t, set_data_table, NFTNL_TABLE_USERDATA, NFTNL_UDATA_TABLE_COMMENT, "rawbatch");
	nftnl_table_nlmsg_build_payload(msg(NFT_MSG_NEWTABLE, NLM_F_CREATE), t);
	done();
	nftnl_table_free(t);
}

static uint32_t concat(const uint32_t *t, unsigned n)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v = v << 6 | t[i];
	return v;
}

/* nft's typeof userdata (datapath/nft.c writes the same): without it nft
 * cannot print a concatenation ending in a plain integer (the slot), and the
 * benchmark's checks list the maps with nft. Only nft reads it. */
static void ud_typeof(struct nftnl_udata_buf *ud, uint8_t attr, uint32_t type,
		      const uint32_t *fields, unsigned n)
{
	struct nftnl_udata *o = nftnl_udata_nest_start(ud, attr), *in;

	nftnl_udata_put_u32(ud, NFTNL_UDATA_SET_TYPEOF_EXPR, type);
	in = nftnl_udata_nest_start(ud, NFTNL_UDATA_SET_TYPEOF_DATA);
	for (unsigned i = 0; i < n; i++)
		nftnl_udata_put_u32(ud, (uint8_t)i, fields[i]);
	nftnl_udata_nest_end(ud, in);
	nftnl_udata_nest_end(ud, o);
}

static void set_udata(struct nftnl_set *s, unsigned key_fields, bool map, bool verdict)
{
	/* expression ids: verdict 1, payload 7, meta 9, concat 13, numgen 23;
	 * payload descriptors: th 11 (dport 2), ip 12 (daddr 12) */
	static const uint32_t daddr[] = { 12, 12 }, l4[] = { NFT_META_L4PROTO },
		dport[] = { 11, 2 }, ng[] = { NFT_NG_RANDOM, 1, 0 };
	struct nftnl_udata_buf *ud = nftnl_udata_buf_alloc(512);
	struct nftnl_udata *o, *in;

	nftnl_udata_put_u32(ud, NFTNL_UDATA_SET_KEYBYTEORDER, 0);
	if (map)
		nftnl_udata_put_u32(ud, NFTNL_UDATA_SET_DATABYTEORDER, 0);
	o = nftnl_udata_nest_start(ud, NFTNL_UDATA_SET_KEY_TYPEOF);
	nftnl_udata_put_u32(ud, NFTNL_UDATA_SET_TYPEOF_EXPR, 13);
	in = nftnl_udata_nest_start(ud, NFTNL_UDATA_SET_TYPEOF_DATA);
	ud_typeof(ud, 0, 7, daddr, 2);
	ud_typeof(ud, 1, 9, l4, 1);
	ud_typeof(ud, 2, 7, dport, 2);
	if (key_fields == 4)
		ud_typeof(ud, 3, 23, ng, 3);
	nftnl_udata_nest_end(ud, in);
	nftnl_udata_nest_end(ud, o);
	if (map) {
		o = nftnl_udata_nest_start(ud, NFTNL_UDATA_SET_DATA_TYPEOF);
		nftnl_udata_put_u32(ud, NFTNL_UDATA_SET_TYPEOF_EXPR, verdict ? 1 : 13);
		in = nftnl_udata_nest_start(ud, NFTNL_UDATA_SET_TYPEOF_DATA);
		if (!verdict) {
			ud_typeof(ud, 0, 7, daddr, 2);
			ud_typeof(ud, 1, 7, dport, 2);
		}
		nftnl_udata_nest_end(ud, in);
		nftnl_udata_nest_end(ud, o);
		nftnl_udata_put_u32(ud, NFTNL_UDATA_SET_DATA_INTERVAL, 0);
	}
	nftnl_set_set_data(s, NFTNL_SET_USERDATA, nftnl_udata_buf_data(ud), nftnl_udata_buf_len(ud));
	nftnl_udata_buf_free(ud);
}

static void add_set(const char *name, uint32_t id, unsigned key_fields, bool map, bool verdict)
{
	static const uint32_t key[] = { DT_IPADDR, DT_PROTO, DT_SERVICE, DT_INTEGER };
	static const uint32_t data[] = { DT_IPADDR, DT_SERVICE };
	struct nftnl_set *s = nftnl_set_alloc();

	nftnl_set_set_str(s, NFTNL_SET_TABLE, table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, name);
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_IPV4);
	nftnl_set_set_u32(s, NFTNL_SET_ID, id);
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, map ? NFT_SET_MAP : 0);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, concat(key, key_fields));
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, key_fields == 4 ? 16 : 12);
	if (map) {
		nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, verdict ? NFT_DATA_VERDICT : concat(data, 2));
		nftnl_set_set_u32(s, NFTNL_SET_DATA_LEN, verdict ? 0 : 8);
	}
	set_udata(s, key_fields, map, verdict);
	nftnl_set_nlmsg_build_payload(msg(NFT_MSG_NEWSET, NLM_F_CREATE), s);
	done();
	nftnl_set_free(s);
}

static void add_chain(const char *name, const char *type, int hook, int prio)
{
	struct nftnl_chain *c = nftnl_chain_alloc();

	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, table);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, NFPROTO_IPV4);
	if (type) {
		nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, type);
		nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, (uint32_t)hook);
		nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, prio);
		nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	}
	udata_comment(c, set_data_chain, NFTNL_CHAIN_USERDATA, NFTNL_UDATA_CHAIN_COMMENT, name);
	nftnl_chain_nlmsg_build_payload(msg(NFT_MSG_NEWCHAIN, NLM_F_CREATE), c);
	done();
	nftnl_chain_free(c);
}

static struct nftnl_expr *ex(const char *name) { return nftnl_expr_alloc(name); }

static void payload(struct nftnl_rule *r, uint32_t base, uint32_t off, uint32_t len, uint32_t dreg)
{
	struct nftnl_expr *e = ex("payload");

	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, off);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, dreg);
	nftnl_rule_add_expr(r, e);
}

/* kind 0: vmap @services; 1: @noendpoints reject tcp; 2: @noendpoints reject;
 * N > 2: dnat via numgen random mod (N - 2) map @backends */
static void add_rule(const char *chain, unsigned kind)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nftnl_expr *e;

	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_IPV4);
	payload(r, NFT_PAYLOAD_NETWORK_HEADER, 16, 4, NFT_REG_1);
	e = ex("meta");
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, NFT_META_L4PROTO);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG32_01);
	nftnl_rule_add_expr(r, e);
	payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG32_02);
	if (kind > 2) {
		e = ex("numgen");
		nftnl_expr_set_u32(e, NFTNL_EXPR_NG_TYPE, NFT_NG_RANDOM);
		nftnl_expr_set_u32(e, NFTNL_EXPR_NG_MODULUS, kind - 2);
		nftnl_expr_set_u32(e, NFTNL_EXPR_NG_DREG, NFT_REG32_03);
		nftnl_rule_add_expr(r, e);
	}
	e = ex("lookup");
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
	nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, kind == 0 ? "services" : kind > 2 ? "backends" : "noendpoints");
	if (kind == 0)
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, NFT_REG_VERDICT);
	else if (kind > 2)
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, NFT_REG_1);
	nftnl_rule_add_expr(r, e);
	if (kind == 1) {
		uint8_t tcp = IPPROTO_TCP;

		e = ex("cmp");
		nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG32_01);
		nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, NFT_CMP_EQ);
		nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, &tcp, 1);
		nftnl_rule_add_expr(r, e);
	}
	if (kind == 1 || kind == 2) {
		e = ex("reject");
		nftnl_expr_set_u32(e, NFTNL_EXPR_REJECT_TYPE, kind == 1 ? NFT_REJECT_TCP_RST : NFT_REJECT_ICMP_UNREACH);
		nftnl_expr_set_u8(e, NFTNL_EXPR_REJECT_CODE, kind == 1 ? 0 : 3);
		nftnl_rule_add_expr(r, e);
	}
	if (kind > 2) {
		e = ex("nat");
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_TYPE, NFT_NAT_DNAT);
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FAMILY, NFPROTO_IPV4);
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MIN, NFT_REG32_01);
		nftnl_rule_add_expr(r, e);
	}
	nftnl_rule_nlmsg_build_payload(msg(NFT_MSG_NEWRULE, NLM_F_APPEND | NLM_F_CREATE), r);
	done();
	nftnl_rule_free(r);
}

static void add_elems(const char *set, const struct elem *v, size_t n, bool backends,
		      bool comments, size_t per_msg)
{
	for (size_t i = 0; i < n; i += per_msg) {
		struct nftnl_set *s = nftnl_set_alloc();

		nftnl_set_set_str(s, NFTNL_SET_TABLE, table);
		nftnl_set_set_str(s, NFTNL_SET_NAME, set);
		nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_IPV4);
		for (size_t j = i; j < n && j < i + per_msg; j++) {
			struct nftnl_set_elem *e = nftnl_set_elem_alloc();

			nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, v[j].key, backends ? 16 : 12);
			if (backends) {
				nftnl_set_elem_set(e, NFTNL_SET_ELEM_DATA, v[j].data, 8);
			} else {
				nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_VERDICT, NFT_GOTO);
				nftnl_set_elem_set_str(e, NFTNL_SET_ELEM_CHAIN, v[j].chain);
			}
			if (comments)
				udata_comment(e, set_data_elem, NFTNL_SET_ELEM_USERDATA,
					      NFTNL_UDATA_SET_ELEM_COMMENT, v[j].comment);
			nftnl_set_elem_add(s, e);
		}
		nftnl_set_elems_nlmsg_build_payload(msg(NFT_MSG_NEWSETELEM, NLM_F_CREATE), s);
		done();
		nftnl_set_free(s);
	}
}

static int parse_key(struct elem *e, const char *vip, const char *proto, unsigned port)
{
	uint16_t p = htons((uint16_t)port);

	memset(e->key, 0, sizeof(e->key));
	if (inet_pton(AF_INET, vip, e->key) != 1)
		return -1;
	e->key[4] = !strcmp(proto, "udp") ? IPPROTO_UDP : !strcmp(proto, "sctp") ? IPPROTO_SCTP : IPPROTO_TCP;
	memcpy(e->key + 8, &p, 2);
	return 0;
}

int main(int argc, char **argv)
{
	bool comments = true;
	size_t per_msg = 256, n_svc = 0, n_be = 0, cap_svc = 1024, cap_be = 1024, n_cls = 0;
	struct elem *svc = malloc(cap_svc * sizeof(*svc)), *be = malloc(cap_be * sizeof(*be));
	char cls[64][16];
	unsigned cls_n[64];
	char line[512], tname[64] = "vipd";
	double t0, t1, t2, t3;
	FILE *f;
	int a = 1;

	for (; a < argc - 1; a++) {
		if (!strcmp(argv[a], "--no-comments"))
			comments = false;
		else if (!strcmp(argv[a], "--per-msg") && a + 1 < argc - 1)
			per_msg = strtoul(argv[++a], NULL, 10);
		else
			break;
	}
	if (a != argc - 1 || !per_msg || !svc || !be) {
		fprintf(stderr, "usage: rawbatch [--no-comments] [--per-msg N] FILE\n");
		return 2;
	}
	t0 = now();
	if (!(f = fopen(argv[a], "r")))
		die(argv[a]);
	while (fgets(line, sizeof(line), f)) {
		char vip[64], proto[8], chain[16], ip[64], cmt[64];
		unsigned port, slot, bport, n;

		if (sscanf(line, "be %63s %7s %u %u %63s %u %63s", vip, proto, &port, &slot, ip, &bport, cmt) == 7) {
			struct elem *e;
			uint16_t p = htons((uint16_t)bport);
			uint32_t s = slot;

			if (n_be == cap_be && !(be = realloc(be, (cap_be *= 2) * sizeof(*be))))
				die("realloc");
			e = &be[n_be++];
			if (parse_key(e, vip, proto, port) < 0 || inet_pton(AF_INET, ip, e->data) != 1)
				goto bad;
			memcpy(e->key + 12, &s, 4);
			memset(e->data + 4, 0, 4);
			memcpy(e->data + 4, &p, 2);
			snprintf(e->comment, sizeof(e->comment), "%s", cmt);
		} else if (sscanf(line, "svc %63s %7s %u %15s %63s", vip, proto, &port, chain, cmt) == 5) {
			struct elem *e;

			if (n_svc == cap_svc && !(svc = realloc(svc, (cap_svc *= 2) * sizeof(*svc))))
				die("realloc");
			e = &svc[n_svc++];
			if (parse_key(e, vip, proto, port) < 0)
				goto bad;
			snprintf(e->chain, sizeof(e->chain), "%s", chain);
			snprintf(e->comment, sizeof(e->comment), "%s", cmt);
		} else if (sscanf(line, "class %15s %u", chain, &n) == 2 && n_cls < 64 && n) {
			snprintf(cls[n_cls], sizeof(cls[0]), "%s", chain);
			cls_n[n_cls++] = n;
		} else if (sscanf(line, "table %63s", tname) == 1) {
			table = tname;
		} else if (line[0] != '#' && line[0] != '\n') {
			goto bad;
		}
		continue;
bad:
		fprintf(stderr, "rawbatch: bad line: %s", line);
		return 1;
	}
	fclose(f);

	t1 = now();
	batch = nftnl_batch_alloc(getpagesize() * 32, sizeof(scratch));
	seq = (uint32_t)time(NULL);
	nftnl_batch_begin(nftnl_batch_buffer(batch), seq++);
	nftnl_batch_update(batch);
	add_table();
	add_set("backends", 1, 4, true, false);
	add_set("services", 2, 3, true, true);
	add_set("noendpoints", 3, 3, false, false);
	add_chain("prerouting", "nat", NF_INET_PRE_ROUTING, -100);
	add_rule("prerouting", 0);
	add_chain("output", "nat", NF_INET_LOCAL_OUT, -100);
	add_rule("output", 0);
	add_chain("filter-forward", "filter", NF_INET_FORWARD, 0);
	add_rule("filter-forward", 1);
	add_rule("filter-forward", 2);
	add_chain("filter-output", "filter", NF_INET_LOCAL_OUT, 0);
	add_rule("filter-output", 1);
	add_rule("filter-output", 2);
	for (size_t i = 0; i < n_cls; i++) {
		add_chain(cls[i], NULL, 0, 0);
		add_rule(cls[i], cls_n[i] + 2);
	}
	add_elems("backends", be, n_be, true, comments, per_msg);
	add_elems("services", svc, n_svc, false, comments, per_msg);
	nftnl_batch_end(nftnl_batch_buffer(batch), seq++);
	nftnl_batch_update(batch);

	t2 = now();
	{
		struct mnl_socket *nl = mnl_socket_open(NETLINK_NETFILTER);
		int n_iov = nftnl_batch_iovec_len(batch), sndbuf, rcv = 4 << 20;
		struct iovec *iov = calloc((size_t)n_iov, sizeof(*iov));
		struct sockaddr_nl snl = { .nl_family = AF_NETLINK };
		struct msghdr mh = { .msg_name = &snl, .msg_namelen = sizeof(snl),
				     .msg_iov = iov, .msg_iovlen = (size_t)n_iov };
		static char buf[1 << 16];
		uint32_t sentinel = seq++;
		size_t total = 0;
		int err = 0;

		if (!nl || !iov || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
			die("netlink");
		nftnl_batch_iovec(batch, iov, (uint32_t)n_iov);
		for (int i = 0; i < n_iov; i++)
			total += iov[i].iov_len;
		sndbuf = (int)(total + 4096);
		setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf));
		setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv));
		if (sendmsg(mnl_socket_get_fd(nl), &mh, 0) < 0)
			die("sendmsg");
		/* no NLM_F_ACK on the batch: only errors come back; a GETGEN
		 * after it is answered after all of them */
		{
			char req[256] = { 0 };
			struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(req, NFT_MSG_GETGEN, AF_UNSPEC, 0, sentinel);

			if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
				die("sendto");
		}
		for (bool end = false; !end;) {
			ssize_t r = mnl_socket_recvfrom(nl, buf, sizeof(buf));
			const struct nlmsghdr *nlh = (const void *)buf;
			int len = (int)r;

			if (r < 0)
				die("recv");
			for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
				if (nlh->nlmsg_type == NLMSG_ERROR) {
					const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

					if (e->error) {
						fprintf(stderr, "rawbatch: kernel: seq %u: %s\n", e->msg.nlmsg_seq,
							strerror(-e->error));
						err = 1;
					}
				}
				if (nlh->nlmsg_seq == sentinel)
					end = true;
			}
		}
		t3 = now();
		fprintf(stderr, "rawbatch: %zu services + %zu backends elements, %zu bytes in one batch: "
			"parse %.3f s, build %.3f s, kernel %.3f s\n", n_svc, n_be, total,
			t1 - t0, t2 - t1, t3 - t2);
		mnl_socket_close(nl);
		free(iov);
		nftnl_batch_free(batch);
		free(svc);
		free(be);
		return err;
	}
}

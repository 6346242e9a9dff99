/* Netlink build -> parse -> compare, without root: the messages vipd would
 * send are built into a batch as dp_commit builds them, parsed back with
 * libnftnl's own parsers, and compared field by field with the spec and
 * the changes (libnftnl's tests/nft-set-test.c does the same per object). */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <cmocka.h>

#include "nft.h"

#define MAX_MSGS 64

/* The batch's messages, copied out of its pages. */
struct msgs {
	char *buf;
	size_t len;
	const struct nlmsghdr *v[MAX_MSGS];
	size_t n;
};

static void msgs_collect(struct txn *t, struct msgs *m)
{
	int n_iov = nftnl_batch_iovec_len(t->batch);
	struct iovec *iov = calloc((size_t)n_iov, sizeof(*iov));
	const struct nlmsghdr *nlh;
	int len;

	assert_non_null(iov);
	nftnl_batch_iovec(t->batch, iov, (uint32_t)n_iov);
	memset(m, 0, sizeof(*m));
	for (int i = 0; i < n_iov; i++)
		m->len += iov[i].iov_len;
	m->buf = malloc(m->len ? m->len : 1);
	assert_non_null(m->buf);
	m->len = 0;
	for (int i = 0; i < n_iov; i++) {
		memcpy(m->buf + m->len, iov[i].iov_base, iov[i].iov_len);
		m->len += iov[i].iov_len;
	}
	free(iov);
	len = (int)m->len;
	for (nlh = (const void *)m->buf; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
		assert_true(m->n < MAX_MSGS);
		m->v[m->n++] = nlh;
	}
	assert_int_equal(len, 0);	/* nothing left over, nothing truncated */
}

static uint16_t msg_type(const struct nlmsghdr *nlh)
{
	return nlh->nlmsg_type & 0xff;
}

/* A transaction of the given builder's messages, without BEGIN/END. */
static void txn_start(struct txn *t)
{
	assert_int_equal(txn_init(t, "vipd", 1), 0);
}

/* ---- userdata ----------------------------------------------------------- */

struct ud_find {
	uint8_t type;
	const char *str;
	bool typeof_key, typeof_data;
};

static int ud_cb(const struct nftnl_udata *attr, void *data)
{
	struct ud_find *f = data;
	const char *v = nftnl_udata_get(attr);
	uint8_t len = nftnl_udata_len(attr);

	if (nftnl_udata_type(attr) == f->type && len && v[len - 1] == '\0')
		f->str = v;
	if (nftnl_udata_type(attr) == NFTNL_UDATA_SET_KEY_TYPEOF)
		f->typeof_key = true;
	if (nftnl_udata_type(attr) == NFTNL_UDATA_SET_DATA_TYPEOF)
		f->typeof_data = true;
	return 0;
}

static struct ud_find ud_parse(const void *ud, uint32_t len, uint8_t type)
{
	struct ud_find f = { .type = type };

	assert_non_null(ud);
	assert_int_equal(nftnl_udata_parse(ud, len, ud_cb, &f), 0);
	return f;
}

/* ---- expressions -------------------------------------------------------- */

/* The rule's expression names, space-separated: "payload meta payload lookup". */
static void rule_names(struct nftnl_rule *r, char *out, size_t len)
{
	struct nftnl_expr_iter *it = nftnl_expr_iter_create(r);
	struct nftnl_expr *e;

	out[0] = '\0';
	assert_non_null(it);
	while ((e = nftnl_expr_iter_next(it))) {
		if (out[0])
			strncat(out, " ", len - strlen(out) - 1);
		strncat(out, nftnl_expr_get_str(e, NFTNL_EXPR_NAME), len - strlen(out) - 1);
	}
	nftnl_expr_iter_destroy(it);
}

static struct nftnl_expr *rule_expr(struct nftnl_rule *r, const char *name, int nth)
{
	struct nftnl_expr_iter *it = nftnl_expr_iter_create(r);
	struct nftnl_expr *e, *found = NULL;

	while (it && (e = nftnl_expr_iter_next(it)))
		if (!strcmp(nftnl_expr_get_str(e, NFTNL_EXPR_NAME), name) && nth-- == 0) {
			found = e;
			break;
		}
	nftnl_expr_iter_destroy(it);
	assert_non_null(found);
	return found;
}

static struct nftnl_rule *rule_parse(const struct nlmsghdr *nlh)
{
	struct nftnl_rule *r = nftnl_rule_alloc();

	assert_int_equal(msg_type(nlh), NFT_MSG_NEWRULE);
	assert_int_equal(nftnl_rule_nlmsg_parse(nlh, r), 0);
	return r;
}

static const char *rule_comment(struct nftnl_rule *r)
{
	uint32_t len = 0;
	const void *ud = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &len);

	return ud_parse(ud, len, NFTNL_UDATA_RULE_COMMENT).str;
}

/* ---- base: table, sets, chains ------------------------------------------ */

static void check_key_load(struct nftnl_rule *r, uint8_t family)
{
	struct nftnl_expr *e = rule_expr(r, "payload", 0);

	assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_BASE), NFT_PAYLOAD_NETWORK_HEADER);
	assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET), family == AF_INET6 ? 24 : 16);
	assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_LEN), family == AF_INET6 ? 16 : 4);
	assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_DREG), NFT_REG_1);
	e = rule_expr(r, "meta", 0);
	assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_META_KEY), NFT_META_L4PROTO);
	assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_META_DREG),
			 family == AF_INET6 ? NFT_REG_2 : NFT_REG32_01);
	e = rule_expr(r, "payload", 1);
	assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_BASE), NFT_PAYLOAD_TRANSPORT_HEADER);
	assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET), 2);
	assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_LEN), 2);
}

static void base_family(uint8_t family)
{
	static const char *const set_names[] = { SET_BACKENDS, SET_SERVICES, SET_NOEP };
	const unsigned key_len[] = { be_key_len(family), fe_key_len(family), fe_key_len(family) };
	static const struct { const char *name, *type; uint32_t hook; int32_t prio; size_t rules; } ch[] = {
		{ CHAIN_PRE, "nat", NF_INET_PRE_ROUTING, -100, 1 },
		{ CHAIN_OUT, "nat", NF_INET_LOCAL_OUT, -100, 1 },
		{ CHAIN_FWD, "filter", NF_INET_FORWARD, 0, 2 },
		{ CHAIN_FOUT, "filter", NF_INET_LOCAL_OUT, 0, 2 },
	};
	struct nftnl_table *tb = nftnl_table_alloc();
	struct txn t;
	struct msgs m;
	size_t k = 0;
	char names[128];
	const void *ud;
	uint32_t len;

	txn_start(&t);
	assert_int_equal(nft_base_build(&t, family), 0);
	assert_int_equal(t.err, 0);
	msgs_collect(&t, &m);
	/* table, 3 sets, 4 x (chain, flush), 6 rules */
	assert_int_equal(m.n, 1 + 3 + 8 + 6);

	assert_int_equal(msg_type(m.v[k]), NFT_MSG_NEWTABLE);
	assert_int_equal(nftnl_table_nlmsg_parse(m.v[k++], tb), 0);
	assert_string_equal(nftnl_table_get_str(tb, NFTNL_TABLE_NAME), "vipd");
	ud = nftnl_table_get_data(tb, NFTNL_TABLE_USERDATA, &len);
	assert_string_equal(ud_parse(ud, len, NFTNL_UDATA_TABLE_COMMENT).str, spec_table.comment);
	nftnl_table_free(tb);

	for (size_t i = 0; i < 3; i++) {
		struct nftnl_set *s = nftnl_set_alloc();
		struct ud_find f;

		assert_int_equal(msg_type(m.v[k]), NFT_MSG_NEWSET);
		assert_int_equal(nftnl_set_nlmsg_parse(m.v[k++], s), 0);
		assert_string_equal(nftnl_set_get_str(s, NFTNL_SET_NAME), set_names[i]);
		assert_int_equal(nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN), key_len[i]);
		assert_int_equal(nftnl_set_get_u32(s, NFTNL_SET_FLAGS), i < 2 ? NFT_SET_MAP : 0);
		if (i == 0)
			assert_int_equal(nftnl_set_get_u32(s, NFTNL_SET_DATA_LEN), be_data_len(family));
		if (i == 1)
			assert_int_equal(nftnl_set_get_u32(s, NFTNL_SET_DATA_TYPE), NFT_DATA_VERDICT);
		ud = nftnl_set_get_data(s, NFTNL_SET_USERDATA, &len);
		f = ud_parse(ud, len, NFTNL_UDATA_SET_COMMENT);
		assert_non_null(f.str);
		assert_string_equal(f.str, spec_set_by_name(set_names[i])->comment);
		assert_true(f.typeof_key);
		assert_int_equal(f.typeof_data, i < 2);
		nftnl_set_free(s);
	}

	for (size_t i = 0; i < 4; i++) {
		struct nftnl_chain *c = nftnl_chain_alloc();

		assert_int_equal(msg_type(m.v[k]), NFT_MSG_NEWCHAIN);
		assert_int_equal(nftnl_chain_nlmsg_parse(m.v[k++], c), 0);
		assert_string_equal(nftnl_chain_get_str(c, NFTNL_CHAIN_NAME), ch[i].name);
		assert_string_equal(nftnl_chain_get_str(c, NFTNL_CHAIN_TYPE), ch[i].type);
		assert_int_equal(nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM), ch[i].hook);
		assert_int_equal(nftnl_chain_get_s32(c, NFTNL_CHAIN_PRIO), ch[i].prio);
		assert_int_equal(nftnl_chain_get_u32(c, NFTNL_CHAIN_POLICY), NF_ACCEPT);
		ud = nftnl_chain_get_data(c, NFTNL_CHAIN_USERDATA, &len);
		assert_non_null(ud_parse(ud, len, NFTNL_UDATA_CHAIN_COMMENT).str);
		nftnl_chain_free(c);
		/* the chain's old rules go in the same transaction */
		assert_int_equal(msg_type(m.v[k++]), NFT_MSG_DELRULE);
		for (size_t j = 0; j < ch[i].rules; j++) {
			struct nftnl_rule *r = rule_parse(m.v[k++]);

			assert_string_equal(nftnl_rule_get_str(r, NFTNL_RULE_CHAIN), ch[i].name);
			assert_non_null(rule_comment(r));
			rule_names(r, names, sizeof(names));
			check_key_load(r, family);
			if (ch[i].rules == 1) {
				struct nftnl_expr *e = rule_expr(r, "lookup", 0);

				assert_string_equal(names, "payload meta payload lookup");
				assert_string_equal(nftnl_expr_get_str(e, NFTNL_EXPR_LOOKUP_SET), SET_SERVICES);
				assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_LOOKUP_DREG), NFT_REG_VERDICT);
			} else if (j == 0) {
				struct nftnl_expr *e = rule_expr(r, "reject", 0);
				uint32_t dlen;

				assert_string_equal(names, "payload meta payload lookup cmp reject");
				assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_REJECT_TYPE), NFT_REJECT_TCP_RST);
				e = rule_expr(r, "cmp", 0);
				assert_int_equal(*(const uint8_t *)nftnl_expr_get(e, NFTNL_EXPR_CMP_DATA, &dlen),
						 IPPROTO_TCP);
				assert_int_equal(dlen, 1);
			} else {
				struct nftnl_expr *e = rule_expr(r, "reject", 0);

				assert_string_equal(names, "payload meta payload lookup reject");
				assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_REJECT_TYPE), NFT_REJECT_ICMP_UNREACH);
				assert_int_equal(nftnl_expr_get_u8(e, NFTNL_EXPR_REJECT_CODE),
						 family == AF_INET6 ? 4 : 3);
				e = rule_expr(r, "lookup", 0);
				assert_string_equal(nftnl_expr_get_str(e, NFTNL_EXPR_LOOKUP_SET), SET_NOEP);
				assert_false(nftnl_expr_is_set(e, NFTNL_EXPR_LOOKUP_DREG));
			}
			nftnl_rule_free(r);
		}
	}
	assert_int_equal(k, m.n);
	free(m.buf);
	txn_fini(&t);
}

static void base_ip(void **state) { base_family(AF_INET); }
static void base_ip6(void **state) { base_family(AF_INET6); }

/* ---- class chains ------------------------------------------------------- */

static void class_one(uint8_t family, uint8_t kind, uint16_t n, const char *name,
		      const char *comment, const char *exprs)
{
	struct class_key cls = { .family = family, .kind = kind, .n = n };
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nftnl_rule *r;
	struct nftnl_expr *e;
	struct txn t;
	struct msgs m;
	char names[128];
	const void *ud;
	uint32_t len;

	txn_start(&t);
	assert_int_equal(nft_class_build(&t, &cls), 0);
	msgs_collect(&t, &m);
	assert_int_equal(m.n, 3);	/* chain, flush, rule */
	assert_int_equal(msg_type(m.v[0]), NFT_MSG_NEWCHAIN);
	assert_int_equal(nftnl_chain_nlmsg_parse(m.v[0], c), 0);
	assert_string_equal(nftnl_chain_get_str(c, NFTNL_CHAIN_NAME), name);
	assert_false(nftnl_chain_is_set(c, NFTNL_CHAIN_HOOKNUM));	/* a regular chain */
	ud = nftnl_chain_get_data(c, NFTNL_CHAIN_USERDATA, &len);
	assert_string_equal(ud_parse(ud, len, NFTNL_UDATA_CHAIN_COMMENT).str, comment);
	nftnl_chain_free(c);
	assert_int_equal(msg_type(m.v[1]), NFT_MSG_DELRULE);

	r = rule_parse(m.v[2]);
	assert_string_equal(nftnl_rule_get_str(r, NFTNL_RULE_CHAIN), name);
	assert_string_equal(rule_comment(r), "slot -> backend");
	rule_names(r, names, sizeof(names));
	assert_string_equal(names, exprs);
	check_key_load(r, family);
	if (kind == CLASS_SH) {
		e = rule_expr(r, "payload", 2);		/* the source address */
		assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET), family == AF_INET6 ? 8 : 12);
		e = rule_expr(r, "hash", 0);
		assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_HASH_TYPE), NFT_HASH_JENKINS);
		assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_HASH_MODULUS), n);
		assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_HASH_SEED), SH_SEED);
		assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_HASH_LEN), family == AF_INET6 ? 16 : 4);
	} else {
		e = rule_expr(r, "numgen", 0);
		assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_NG_TYPE),
				 kind == CLASS_RR ? NFT_NG_INCREMENTAL : NFT_NG_RANDOM);
		assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_NG_MODULUS), n);
		/* the slot is the key's last word */
		assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_NG_DREG),
				 NFT_REG32_00 + (be_key_len(family) - 4) / 4);
	}
	e = rule_expr(r, "lookup", 0);
	assert_string_equal(nftnl_expr_get_str(e, NFTNL_EXPR_LOOKUP_SET), SET_BACKENDS);
	assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_LOOKUP_DREG), NFT_REG_1);
	e = rule_expr(r, "nat", 0);
	assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_NAT_TYPE), NFT_NAT_DNAT);
	assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_NAT_FAMILY),
			 family == AF_INET6 ? NFPROTO_IPV6 : NFPROTO_IPV4);
	assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MIN),
			 family == AF_INET6 ? NFT_REG_2 : NFT_REG32_01);
	nftnl_rule_free(r);
	free(m.buf);
	txn_fini(&t);
}

static void class_chains(void **state)
{
	const char *ng = "payload meta payload numgen lookup nat";
	const char *sh = "payload meta payload payload hash lookup nat";

	class_one(AF_INET, CLASS_LB, 3, "lb-3", "random over 3 slots", ng);
	class_one(AF_INET, CLASS_RR, 5, "rr-5", "round robin over 5 slots", ng);
	class_one(AF_INET, CLASS_SH, 7, "sh-7", "source address hash over 7 slots", sh);
	class_one(AF_INET6, CLASS_LB, 1, "lb-1", "random over 1 slots", ng);
	class_one(AF_INET6, CLASS_SH, 64, "sh-64", "source address hash over 64 slots", sh);
}

static void class_names(void **state)
{
	struct class_key k = { .family = AF_INET, .kind = CLASS_RR, .n = 12 }, out;
	char name[32];

	assert_int_equal(class_chain_name(&k, name, sizeof(name)), 0);
	assert_string_equal(name, "rr-12");
	assert_true(class_chain_parse(name, AF_INET6, &out));
	assert_int_equal(out.kind, CLASS_RR);
	assert_int_equal(out.n, 12);
	assert_int_equal(out.family, AF_INET6);
	assert_false(class_chain_parse("lb-0", AF_INET, &out));
	assert_false(class_chain_parse("lb-07", AF_INET, &out));
	assert_false(class_chain_parse("lb--3", AF_INET, &out));
	assert_false(class_chain_parse("xx-3", AF_INET, &out));
	assert_false(class_chain_parse("prerouting", AF_INET, &out));
	k.n = 0;
	assert_true(class_chain_name(&k, name, sizeof(name)) < 0);
}

/* ---- set elements ------------------------------------------------------- */

static struct change fe_change(uint8_t op, uint8_t family, const char *addr,
			       uint8_t proto, uint16_t port)
{
	struct change ch = { .op = op };

	ch.fe.family = family;
	ch.fe.proto = proto;
	ch.fe.port = port;
	assert_int_equal(inet_pton(family, addr, ch.fe.addr), 1);
	return ch;
}

/* libnftnl numbers the element nests it builds 1, 2, 3... (the kernel
 * ignores their type) but its parser takes only NFTA_LIST_ELEM, which is
 * what kernel dumps carry: renumber them as a dump would. */
static void elems_renumber(struct nlmsghdr *nlh)
{
	struct nlattr *a, *e;

	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg))
		if (mnl_attr_get_type(a) == NFTA_SET_ELEM_LIST_ELEMENTS)
			mnl_attr_for_each_nested(e, a)
				e->nla_type = NFTA_LIST_ELEM | (e->nla_type & NLA_F_NESTED);
}

static struct nftnl_set *elems_parse(const struct nlmsghdr *nlh, uint16_t type,
				     const char *set)
{
	struct nftnl_set *s = nftnl_set_alloc();

	assert_int_equal(msg_type(nlh), type);
	elems_renumber((struct nlmsghdr *)nlh);	/* our own copy of the batch */
	assert_int_equal(nftnl_set_elems_nlmsg_parse(nlh, s), 0);
	assert_string_equal(nftnl_set_get_str(s, NFTNL_SET_NAME), set);
	return s;
}

/* The element's comment, "" if it has none (so a missing one fails an
 * assert_string_equal instead of crashing it). */
static const char *elem_comment(struct nftnl_set_elem *e)
{
	uint32_t len = 0;
	const void *ud = nftnl_set_elem_get(e, NFTNL_SET_ELEM_USERDATA, &len);
	const char *c = ud ? ud_parse(ud, len, NFTNL_UDATA_SET_ELEM_COMMENT).str : NULL;

	return c ? c : "";
}

static void elements(void **state)
{
	struct changes c = { 0 };
	struct change ch;
	struct txn t;
	struct msgs m;
	struct nftnl_set *s;
	struct nftnl_set_elems_iter *it;
	struct nftnl_set_elem *e;
	struct fe_key fe;
	struct be_addr be;
	uint16_t slot;
	const void *key;
	uint32_t klen, dlen;
	size_t i = 0, n = 0;

	for (uint16_t k = 0; k < 3; k++) {
		ch = fe_change(CH_BE_ADD, AF_INET6, "fd00::10", IPPROTO_UDP, 53);
		ch.slot = k;
		assert_int_equal(inet_pton(AF_INET6, "fd00:2::15", ch.be.addr), 1);
		ch.be.addr[15] += (uint8_t)k;
		ch.be.port = 5353;
		assert_int_equal(changes_push(&c, &ch, k == 1 ? NULL : "dns/a"), 0);
	}
	ch = fe_change(CH_SVC_ADD, AF_INET, "10.96.0.10", IPPROTO_TCP, 80);
	ch.cls = (struct class_key){ .family = AF_INET, .kind = CLASS_SH, .n = 3 };
	assert_int_equal(changes_push(&c, &ch, "web:http"), 0);
	ch = fe_change(CH_NOEP_ADD, AF_INET, "10.96.0.30", IPPROTO_SCTP, 3868);
	assert_int_equal(changes_push(&c, &ch, "sig:s"), 0);
	ch = fe_change(CH_BE_DEL, AF_INET, "10.96.0.10", IPPROTO_TCP, 80);
	ch.slot = 9;
	assert_int_equal(changes_push(&c, &ch, "web/gone"), 0);

	txn_start(&t);
	while (i < c.n)
		assert_int_equal(nft_elems_build(&t, &c, &i), 0);
	assert_int_equal(i, c.n);
	msgs_collect(&t, &m);
	assert_int_equal(m.n, 4);	/* one message per op and frontend */

	/* backends: keys, data and comments, the one without a comment too */
	s = elems_parse(m.v[0], NFT_MSG_NEWSETELEM, SET_BACKENDS);
	it = nftnl_set_elems_iter_create(s);
	while ((e = nftnl_set_elems_iter_next(it))) {
		const void *data = nftnl_set_elem_get(e, NFTNL_SET_ELEM_DATA, &dlen);
		const struct change *want;

		key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &klen);
		assert_int_equal(be_key_unpack(AF_INET6, key, klen, &fe, &slot), 0);
		assert_true(slot < 3);
		want = &c.v[slot];
		assert_memory_equal(&fe, &want->fe, sizeof(fe));
		assert_int_equal(be_data_unpack(AF_INET6, data, dlen, &be), 0);
		assert_memory_equal(&be, &want->be, sizeof(be));
		if (want->comment)
			assert_string_equal(elem_comment(e), want->comment);
		else
			assert_string_equal(elem_comment(e), "");
		n++;
	}
	assert_int_equal(n, 3);
	nftnl_set_elems_iter_destroy(it);
	nftnl_set_free(s);

	/* services: the verdict jumps to the class chain */
	s = elems_parse(m.v[1], NFT_MSG_NEWSETELEM, SET_SERVICES);
	it = nftnl_set_elems_iter_create(s);
	e = nftnl_set_elems_iter_next(it);
	assert_non_null(e);
	key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &klen);
	assert_int_equal(fe_key_unpack(AF_INET, key, klen, &fe), 0);
	assert_int_equal(klen, fe_key_len(AF_INET));
	assert_memory_equal(&fe, &c.v[3].fe, sizeof(fe));
	assert_int_equal((int32_t)nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_VERDICT), NFT_GOTO);
	assert_string_equal(nftnl_set_elem_get_str(e, NFTNL_SET_ELEM_CHAIN), "sh-3");
	assert_string_equal(elem_comment(e), "web:http");
	assert_null(nftnl_set_elems_iter_next(it));
	nftnl_set_elems_iter_destroy(it);
	nftnl_set_free(s);

	/* noendpoints: key and comment only */
	s = elems_parse(m.v[2], NFT_MSG_NEWSETELEM, SET_NOEP);
	it = nftnl_set_elems_iter_create(s);
	e = nftnl_set_elems_iter_next(it);
	assert_non_null(e);
	key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &klen);
	assert_int_equal(fe_key_unpack(AF_INET, key, klen, &fe), 0);
	assert_int_equal(fe.proto, IPPROTO_SCTP);
	assert_int_equal(fe.port, 3868);
	assert_false(nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_DATA));
	assert_string_equal(elem_comment(e), "sig:s");
	nftnl_set_elems_iter_destroy(it);
	nftnl_set_free(s);

	/* a deletion carries the key only */
	s = elems_parse(m.v[3], NFT_MSG_DELSETELEM, SET_BACKENDS);
	it = nftnl_set_elems_iter_create(s);
	e = nftnl_set_elems_iter_next(it);
	key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &klen);
	assert_int_equal(be_key_unpack(AF_INET, key, klen, &fe, &slot), 0);
	assert_int_equal(slot, 9);
	assert_string_equal(elem_comment(e), "");
	assert_false(nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_DATA));
	nftnl_set_elems_iter_destroy(it);
	nftnl_set_free(s);

	free(m.buf);
	txn_fini(&t);
	changes_free(&c);
}

/* More elements than one message takes: split, none lost. */
static void elements_split(void **state)
{
	struct changes c = { 0 };
	struct txn t;
	struct msgs m;
	size_t i = 0, total = 0;

	for (uint16_t k = 0; k < 600; k++) {
		struct change ch = fe_change(CH_BE_ADD, AF_INET, "10.96.0.10", IPPROTO_TCP, 80);

		ch.slot = k;
		ch.be.port = 8080;
		assert_int_equal(changes_push(&c, &ch, "web/a"), 0);
	}
	txn_start(&t);
	while (i < c.n)
		assert_int_equal(nft_elems_build(&t, &c, &i), 0);
	msgs_collect(&t, &m);
	assert_true(m.n >= 3);
	for (size_t k = 0; k < m.n; k++) {
		struct nftnl_set *s = elems_parse(m.v[k], NFT_MSG_NEWSETELEM, SET_BACKENDS);
		struct nftnl_set_elems_iter *it = nftnl_set_elems_iter_create(s);

		while (nftnl_set_elems_iter_next(it))
			total++;
		nftnl_set_elems_iter_destroy(it);
		nftnl_set_free(s);
	}
	assert_int_equal(total, 600);
	free(m.buf);
	txn_fini(&t);
	changes_free(&c);
}

/* An element comment longer than the kernel keeps is cut at what it keeps
 * (251 characters and the NUL), never dropped and never fatal to the batch:
 * before, such an element went out with no comment at all. */
static void long_comment_kept(void **state)
{
	struct changes c = { 0 };
	struct change ch = fe_change(CH_NOEP_ADD, AF_INET, "10.96.0.30", IPPROTO_TCP, 80);
	char big[600], want[252];
	struct nftnl_set *s;
	struct nftnl_set_elems_iter *it;
	struct txn t;
	struct msgs m;
	size_t i = 0;

	for (size_t k = 0; k < sizeof(big) - 1; k++)
		big[k] = (char)('a' + k % 26);
	big[sizeof(big) - 1] = '\0';
	memcpy(want, big, sizeof(want) - 1);
	want[sizeof(want) - 1] = '\0';
	assert_int_equal(changes_push(&c, &ch, big), 0);
	txn_start(&t);
	assert_int_equal(nft_elems_build(&t, &c, &i), 0);
	assert_int_equal(t.err, 0);
	msgs_collect(&t, &m);
	assert_int_equal(m.n, 1);
	s = elems_parse(m.v[0], NFT_MSG_NEWSETELEM, SET_NOEP);
	it = nftnl_set_elems_iter_create(s);
	assert_string_equal(elem_comment(nftnl_set_elems_iter_next(it)), want);
	nftnl_set_elems_iter_destroy(it);
	nftnl_set_free(s);
	free(m.buf);
	txn_fini(&t);
	changes_free(&c);
}

/* A failed build is sticky: the transaction is not sent, and what failed
 * left no message behind. */
static void failure_is_sticky(void **state)
{
	struct class_key bad = { .family = AF_INET, .kind = 7, .n = 3 };
	struct txn t;
	struct msgs m;

	txn_start(&t);
	assert_int_equal(nft_class_build(&t, &bad), -EINVAL);
	assert_int_equal(t.err, -EINVAL);
	assert_int_equal(nft_base_build(&t, AF_INET), 0);
	assert_int_equal(t.err, -EINVAL);	/* the first error stays */
	msgs_collect(&t, &m);
	assert_int_equal(msg_type(m.v[0]), NFT_MSG_NEWTABLE);	/* nothing of the class */
	free(m.buf);
	txn_fini(&t);
}

/* The spec's key layouts are the ones keys.c packs. */
static void key_lengths(void **state)
{
	for (int f = 0; f < 2; f++) {
		uint8_t family = f ? AF_INET6 : AF_INET;
		const struct spec_set *be = spec_set_by_name(SET_BACKENDS);
		const struct spec_set *svc = spec_set_by_name(SET_SERVICES);

		assert_int_equal(spec_fields_len(be->key, be->n_key, family), be_key_len(family));
		assert_int_equal(spec_fields_len(be->data_fields, be->n_data, family),
				 be_data_len(family));
		assert_int_equal(spec_fields_len(svc->key, svc->n_key, family), fe_key_len(family));
	}
	assert_ptr_equal(spec_set_of(CH_BE_DEL), spec_set_by_name(SET_BACKENDS));
	assert_ptr_equal(spec_set_of(CH_NOEP_ADD), spec_set_by_name(SET_NOEP));
	assert_null(spec_set_of(CH_CLASS_ADD));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(base_ip),
		cmocka_unit_test(base_ip6),
		cmocka_unit_test(class_chains),
		cmocka_unit_test(class_names),
		cmocka_unit_test(elements),
		cmocka_unit_test(elements_split),
		cmocka_unit_test(long_comment_kept),
		cmocka_unit_test(failure_is_sticky),
		cmocka_unit_test(key_lengths),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

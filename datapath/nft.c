/* Message builders: the tables, sets, chains, rules and elements of the
 * ruleset shape in DESIGN.md, as nft 1.0.6 itself would send them (checked
 * with `nft --debug=netlink,mnl`), so that `nft list ruleset` prints typeof
 * declarations, concatenations and comments readably. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter/nf_tables.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

#include "addr.h"
#include "nft.h"

/* Elements per message: ~100 bytes each with a comment, well under MSG_MAX,
 * and small enough that an error names a handful of elements. */
#define ELEMS_PER_MSG	256
#define UDATA_MAX	512

/* nft's datatype ids (src/datatype.h) and its typeof userdata encoding
 * (expression type ids, protocol description ids), as nft 1.0.6 writes them;
 * nft uses them only to print, the kernel only stores them. */
enum { DT_INTEGER = 4, DT_IPADDR = 7, DT_IP6ADDR = 8, DT_PROTO = 12, DT_SERVICE = 13 };
enum { UD_EXPR_VERDICT = 1, UD_EXPR_PAYLOAD = 7, UD_EXPR_META = 9,
       UD_EXPR_CONCAT = 13, UD_EXPR_NUMGEN = 23 };
enum { UD_DESC_TH = 11, UD_DESC_IP = 12, UD_DESC_IP6 = 13 };
enum { UD_FIELD_TH_DPORT = 2, UD_FIELD_IP_DADDR = 12, UD_FIELD_IP6_DADDR = 9 };
#define CONCAT_SHIFT 6

/* ---- userdata ----------------------------------------------------------- */

static struct nftnl_udata_buf *comment_udata(uint8_t type, const char *text)
{
	struct nftnl_udata_buf *ud = nftnl_udata_buf_alloc(UDATA_MAX);

	if (ud && !nftnl_udata_put_strz(ud, type, text)) {
		nftnl_udata_buf_free(ud);
		return NULL;
	}
	return ud;
}

/* One typeof sub-expression: { expr type, { fields... } }. */
static void ud_typeof(struct nftnl_udata_buf *ud, uint8_t attr, uint32_t type,
		      const uint32_t *fields, unsigned n_fields)
{
	struct nftnl_udata *outer = nftnl_udata_nest_start(ud, attr), *inner;

	nftnl_udata_put_u32(ud, NFTNL_UDATA_SET_TYPEOF_EXPR, type);
	inner = nftnl_udata_nest_start(ud, NFTNL_UDATA_SET_TYPEOF_DATA);
	for (unsigned i = 0; i < n_fields; i++)
		nftnl_udata_put_u32(ud, (uint8_t)i, fields[i]);
	nftnl_udata_nest_end(ud, inner);
	nftnl_udata_nest_end(ud, outer);
}

/* typeof <addr daddr> . meta l4proto . th dport [. numgen random mod 1] */
static void ud_key(struct nftnl_udata_buf *ud, uint8_t attr, uint8_t family,
		   bool slot)
{
	const uint32_t daddr[] = {
		family == AF_INET6 ? UD_DESC_IP6 : UD_DESC_IP,
		family == AF_INET6 ? UD_FIELD_IP6_DADDR : UD_FIELD_IP_DADDR,
	};
	const uint32_t l4proto[] = { NFT_META_L4PROTO };
	const uint32_t dport[] = { UD_DESC_TH, UD_FIELD_TH_DPORT };
	const uint32_t numgen[] = { NFT_NG_RANDOM, 1, 0 };
	struct nftnl_udata *outer = nftnl_udata_nest_start(ud, attr), *inner;

	nftnl_udata_put_u32(ud, NFTNL_UDATA_SET_TYPEOF_EXPR, UD_EXPR_CONCAT);
	inner = nftnl_udata_nest_start(ud, NFTNL_UDATA_SET_TYPEOF_DATA);
	ud_typeof(ud, 0, UD_EXPR_PAYLOAD, daddr, 2);
	ud_typeof(ud, 1, UD_EXPR_META, l4proto, 1);
	ud_typeof(ud, 2, UD_EXPR_PAYLOAD, dport, 2);
	if (slot)
		ud_typeof(ud, 3, UD_EXPR_NUMGEN, numgen, 3);
	nftnl_udata_nest_end(ud, inner);
	nftnl_udata_nest_end(ud, outer);
}

/* typeof <addr daddr> . th dport */
static void ud_backend(struct nftnl_udata_buf *ud, uint8_t family)
{
	const uint32_t daddr[] = {
		family == AF_INET6 ? UD_DESC_IP6 : UD_DESC_IP,
		family == AF_INET6 ? UD_FIELD_IP6_DADDR : UD_FIELD_IP_DADDR,
	};
	const uint32_t dport[] = { UD_DESC_TH, UD_FIELD_TH_DPORT };
	struct nftnl_udata *outer, *inner;

	outer = nftnl_udata_nest_start(ud, NFTNL_UDATA_SET_DATA_TYPEOF);
	nftnl_udata_put_u32(ud, NFTNL_UDATA_SET_TYPEOF_EXPR, UD_EXPR_CONCAT);
	inner = nftnl_udata_nest_start(ud, NFTNL_UDATA_SET_TYPEOF_DATA);
	ud_typeof(ud, 0, UD_EXPR_PAYLOAD, daddr, 2);
	ud_typeof(ud, 1, UD_EXPR_PAYLOAD, dport, 2);
	nftnl_udata_nest_end(ud, inner);
	nftnl_udata_nest_end(ud, outer);
}

/* ---- table, sets, chains ------------------------------------------------ */

static void table_build(struct txn *t, uint8_t family)
{
	struct nftnl_table *tb = nftnl_table_alloc();
	struct nftnl_udata_buf *ud = comment_udata(NFTNL_UDATA_TABLE_COMMENT,
		CMT_TABLE);
	struct nlmsghdr *nlh;

	if (!tb || !ud) {
		txn_fail(t, -ENOMEM);
		goto out;
	}
	nftnl_table_set_str(tb, NFTNL_TABLE_NAME, t->table);
	nftnl_table_set_u32(tb, NFTNL_TABLE_FAMILY, family);
	nftnl_table_set_data(tb, NFTNL_TABLE_USERDATA, nftnl_udata_buf_data(ud),
			     nftnl_udata_buf_len(ud));
	nlh = msg_start(t, NFT_MSG_NEWTABLE, family, NLM_F_CREATE, NULL, "table");
	nftnl_table_nlmsg_build_payload(nlh, tb);
	msg_done(t);
out:
	nftnl_udata_buf_free(ud);
	nftnl_table_free(tb);
}

static uint32_t concat_type(const uint32_t *types, unsigned n)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v = v << CONCAT_SHIFT | types[i];
	return v;
}

struct set_spec {
	const char *name, *comment;
	bool slot;		/* key ends in the slot number */
	bool map;
	bool verdict;		/* data is a verdict, else addr . port */
	uint32_t id;
};

static void set_build(struct txn *t, uint8_t family, const struct set_spec *sp)
{
	uint32_t addr = family == AF_INET6 ? DT_IP6ADDR : DT_IPADDR;
	const uint32_t key[] = { addr, DT_PROTO, DT_SERVICE, DT_INTEGER };
	const uint32_t data[] = { addr, DT_SERVICE };
	struct nftnl_set *s = nftnl_set_alloc();
	struct nftnl_udata_buf *ud = nftnl_udata_buf_alloc(UDATA_MAX);
	struct nlmsghdr *nlh;

	if (!s || !ud) {
		txn_fail(t, -ENOMEM);
		goto out;
	}
	nftnl_set_set_str(s, NFTNL_SET_TABLE, t->table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, sp->name);
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, family);
	nftnl_set_set_u32(s, NFTNL_SET_ID, sp->id);
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, sp->map ? NFT_SET_MAP : 0);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, concat_type(key, sp->slot ? 4 : 3));
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN,
			  sp->slot ? be_key_len(family) : fe_key_len(family));
	nftnl_udata_put_u32(ud, NFTNL_UDATA_SET_KEYBYTEORDER, 0);
	if (sp->map && !sp->verdict) {
		nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, concat_type(data, 2));
		nftnl_set_set_u32(s, NFTNL_SET_DATA_LEN, be_data_len(family));
		nftnl_udata_put_u32(ud, NFTNL_UDATA_SET_DATABYTEORDER, 0);
	} else if (sp->map) {
		nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, NFT_DATA_VERDICT);
		nftnl_set_set_u32(s, NFTNL_SET_DATA_LEN, 0);
		nftnl_udata_put_u32(ud, NFTNL_UDATA_SET_DATABYTEORDER, 0);
	}
	ud_key(ud, NFTNL_UDATA_SET_KEY_TYPEOF, family, sp->slot);
	if (sp->map && !sp->verdict) {
		ud_backend(ud, family);
	} else if (sp->map) {
		struct nftnl_udata *o = nftnl_udata_nest_start(ud, NFTNL_UDATA_SET_DATA_TYPEOF);

		nftnl_udata_put_u32(ud, NFTNL_UDATA_SET_TYPEOF_EXPR, UD_EXPR_VERDICT);
		nftnl_udata_nest_end(ud, nftnl_udata_nest_start(ud, NFTNL_UDATA_SET_TYPEOF_DATA));
		nftnl_udata_nest_end(ud, o);
	}
	if (sp->map)
		nftnl_udata_put_u32(ud, NFTNL_UDATA_SET_DATA_INTERVAL, 0);
	nftnl_udata_put_strz(ud, NFTNL_UDATA_SET_COMMENT, sp->comment);
	nftnl_set_set_data(s, NFTNL_SET_USERDATA, nftnl_udata_buf_data(ud),
			   nftnl_udata_buf_len(ud));
	nlh = msg_start(t, NFT_MSG_NEWSET, family, NLM_F_CREATE, NULL, sp->name);
	nftnl_set_nlmsg_build_payload(nlh, s);
	msg_done(t);
out:
	nftnl_udata_buf_free(ud);
	nftnl_set_free(s);
}

struct chain_spec {
	const char *name, *type, *comment;
	uint32_t hook;
	int32_t prio;
	bool base;
};

static void chain_build(struct txn *t, uint8_t family, const struct chain_spec *cs)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nftnl_udata_buf *ud = comment_udata(NFTNL_UDATA_CHAIN_COMMENT, cs->comment);
	struct nlmsghdr *nlh;

	if (!c || !ud) {
		txn_fail(t, -ENOMEM);
		goto out;
	}
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, t->table);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, cs->name);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, family);
	if (cs->base) {
		nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, cs->type);
		nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, cs->hook);
		nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, cs->prio);
		nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	}
	nftnl_chain_set_data(c, NFTNL_CHAIN_USERDATA, nftnl_udata_buf_data(ud),
			     nftnl_udata_buf_len(ud));
	nlh = msg_start(t, NFT_MSG_NEWCHAIN, family, NLM_F_CREATE, NULL, cs->name);
	nftnl_chain_nlmsg_build_payload(nlh, c);
	msg_done(t);
	/* Rewrite the chain's rules in this same transaction: packets see the
	 * old rules or the new ones, never none. */
	nlh = msg_start(t, NFT_MSG_DELRULE, family, 0, NULL, cs->name);
	{
		struct nftnl_rule *r = nftnl_rule_alloc();

		if (!r) {
			txn_fail(t, -ENOMEM);
			goto out;
		}
		nftnl_rule_set_str(r, NFTNL_RULE_TABLE, t->table);
		nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, cs->name);
		nftnl_rule_nlmsg_build_payload(nlh, r);
		nftnl_rule_free(r);
	}
	msg_done(t);
out:
	nftnl_udata_buf_free(ud);
	nftnl_chain_free(c);
}

/* ---- rules -------------------------------------------------------------- */

/* nft names a register by its 128-bit alias where the word is aligned and
 * by its 32-bit number elsewhere; the kernel takes either. Copying that
 * keeps `nft --debug=netlink` output identical to nft's own. */
static uint32_t reg(unsigned word)
{
	return word % 4 ? NFT_REG32_00 + word : NFT_REG_1 + word / 4;
}

static void expr_add(struct nftnl_rule *r, struct nftnl_expr *e)
{
	if (e)
		nftnl_rule_add_expr(r, e);
}

static void put_payload(struct nftnl_rule *r, uint32_t base, uint32_t off,
			uint32_t len, uint32_t dreg)
{
	struct nftnl_expr *e = nftnl_expr_alloc("payload");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, off);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, dreg);
	expr_add(r, e);
}

/* daddr . l4proto . dport into words 0.., as the sets' keys lay them out. */
static void put_key(struct nftnl_rule *r, uint8_t family)
{
	unsigned w = addr_len(family) / 4;
	struct nftnl_expr *e;

	if (family == AF_INET6)
		put_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 24, 16, reg(0));
	else
		put_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 16, 4, reg(0));
	e = nftnl_expr_alloc("meta");
	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, NFT_META_L4PROTO);
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, reg(w));
		expr_add(r, e);
	}
	put_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, reg(w + 1));
}

static void put_lookup(struct nftnl_rule *r, const char *set, int dreg)
{
	struct nftnl_expr *e = nftnl_expr_alloc("lookup");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, reg(0));
	nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set);
	if (dreg >= 0)
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, (uint32_t)dreg);
	expr_add(r, e);
}

static void put_slot(struct nftnl_rule *r, const struct class_key *cls)
{
	unsigned w = addr_len(cls->family) / 4, slot = w + 2, src = w + 3;
	struct nftnl_expr *e;

	if (cls->kind == CLASS_SH) {
		if (cls->family == AF_INET6)
			put_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 8, 16, reg(src));
		else
			put_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 12, 4, reg(src));
		e = nftnl_expr_alloc("hash");
		if (!e)
			return;
		nftnl_expr_set_u32(e, NFTNL_EXPR_HASH_TYPE, NFT_HASH_JENKINS);
		nftnl_expr_set_u32(e, NFTNL_EXPR_HASH_SREG, reg(src));
		nftnl_expr_set_u32(e, NFTNL_EXPR_HASH_LEN, addr_len(cls->family));
		nftnl_expr_set_u32(e, NFTNL_EXPR_HASH_MODULUS, cls->n);
		nftnl_expr_set_u32(e, NFTNL_EXPR_HASH_SEED, SH_SEED);
		nftnl_expr_set_u32(e, NFTNL_EXPR_HASH_DREG, reg(slot));
	} else {
		e = nftnl_expr_alloc("numgen");
		if (!e)
			return;
		nftnl_expr_set_u32(e, NFTNL_EXPR_NG_TYPE,
				   cls->kind == CLASS_RR ? NFT_NG_INCREMENTAL : NFT_NG_RANDOM);
		nftnl_expr_set_u32(e, NFTNL_EXPR_NG_MODULUS, cls->n);
		nftnl_expr_set_u32(e, NFTNL_EXPR_NG_DREG, reg(slot));
	}
	expr_add(r, e);
}

static void put_dnat(struct nftnl_rule *r, uint8_t family)
{
	struct nftnl_expr *e = nftnl_expr_alloc("nat");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_TYPE, NFT_NAT_DNAT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FAMILY, family == AF_INET6 ? NFPROTO_IPV6 : NFPROTO_IPV4);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN, reg(0));
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MIN, reg(addr_len(family) / 4));
	expr_add(r, e);
}

static void put_reject(struct nftnl_rule *r, uint8_t family, bool tcp)
{
	struct nftnl_expr *e;

	if (tcp) {
		uint8_t proto = IPPROTO_TCP;

		e = nftnl_expr_alloc("cmp");
		if (!e)
			return;
		nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, reg(addr_len(family) / 4));
		nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, NFT_CMP_EQ);
		nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, &proto, 1);
		expr_add(r, e);
	}
	e = nftnl_expr_alloc("reject");
	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_REJECT_TYPE,
			   tcp ? NFT_REJECT_TCP_RST : NFT_REJECT_ICMP_UNREACH);
	/* port unreachable: ICMP code 3, ICMPv6 code 4 */
	nftnl_expr_set_u8(e, NFTNL_EXPR_REJECT_CODE,
			  tcp ? 0 : family == AF_INET6 ? 4 : 3);
	expr_add(r, e);
}

enum rule_kind { RULE_VMAP, RULE_REJECT_TCP, RULE_REJECT, RULE_CLASS };

static void rule_build(struct txn *t, uint8_t family, const char *chain,
		       enum rule_kind kind, const struct class_key *cls,
		       const char *comment)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nftnl_udata_buf *ud = comment_udata(NFTNL_UDATA_RULE_COMMENT, comment);
	struct nlmsghdr *nlh;

	if (!r || !ud) {
		txn_fail(t, -ENOMEM);
		goto out;
	}
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, t->table);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, family);
	put_key(r, family);
	switch (kind) {
	case RULE_VMAP:
		put_lookup(r, SET_SERVICES, NFT_REG_VERDICT);
		break;
	case RULE_REJECT_TCP:
	case RULE_REJECT:
		put_lookup(r, SET_NOEP, -1);
		put_reject(r, family, kind == RULE_REJECT_TCP);
		break;
	case RULE_CLASS:
		put_slot(r, cls);
		put_lookup(r, SET_BACKENDS, reg(0));
		put_dnat(r, family);
		break;
	}
	nftnl_rule_set_data(r, NFTNL_RULE_USERDATA, nftnl_udata_buf_data(ud),
			    nftnl_udata_buf_len(ud));
	nlh = msg_start(t, NFT_MSG_NEWRULE, family, NLM_F_APPEND | NLM_F_CREATE,
			NULL, chain);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	msg_done(t);
out:
	nftnl_udata_buf_free(ud);
	nftnl_rule_free(r);
}

void nft_base_build(struct txn *t, uint8_t family)
{
	static const struct set_spec sets[] = {
		{ SET_BACKENDS, CMT_BACKENDS, true, true, false, 1 },
		{ SET_SERVICES, CMT_SERVICES, false, true, true, 2 },
		{ SET_NOEP, CMT_NOEP, false, false, false, 3 },
	};
	static const struct chain_spec chains[] = {
		{ "prerouting", "nat", CMT_PRE, NF_INET_PRE_ROUTING, NF_IP_PRI_NAT_DST, true },
		{ "output", "nat", CMT_OUT, NF_INET_LOCAL_OUT, NF_IP_PRI_NAT_DST, true },
		{ "filter-forward", "filter", CMT_FWD, NF_INET_FORWARD, NF_IP_PRI_FILTER, true },
		{ "filter-output", "filter", CMT_FOUT, NF_INET_LOCAL_OUT, NF_IP_PRI_FILTER, true },
	};

	table_build(t, family);
	for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++)
		set_build(t, family, &sets[i]);
	for (size_t i = 0; i < sizeof(chains) / sizeof(chains[0]); i++) {
		chain_build(t, family, &chains[i]);
		if (i < 2) {
			rule_build(t, family, chains[i].name, RULE_VMAP, NULL,
				   CMT_VMAP);
		} else {
			rule_build(t, family, chains[i].name, RULE_REJECT_TCP, NULL,
				   CMT_RST);
			rule_build(t, family, chains[i].name, RULE_REJECT, NULL,
				   CMT_UNREACH);
		}
	}
}

const char *class_comment(const struct class_key *cls, char *buf, size_t len)
{
	static const char *const how[] = {
		[CLASS_LB] = "random", [CLASS_RR] = "round robin",
		[CLASS_SH] = "source address hash",
	};
	snprintf(buf, len, "%s over %u slots", how[cls->kind], cls->n);
	return buf;
}

void nft_class_build(struct txn *t, const struct class_key *cls)
{
	char name[32], comment[64];
	struct chain_spec cs = { .name = name };

	if (class_chain_name(cls, name, sizeof(name)) < 0) {
		txn_fail(t, -EINVAL);
		return;
	}
	cs.comment = class_comment(cls, comment, sizeof(comment));
	chain_build(t, cls->family, &cs);
	rule_build(t, cls->family, name, RULE_CLASS, cls, CMT_CLASS_RULE);
}

void nft_class_del_build(struct txn *t, const struct class_key *cls)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nlmsghdr *nlh;
	char name[32];

	if (!c || class_chain_name(cls, name, sizeof(name)) < 0) {
		nftnl_chain_free(c);
		txn_fail(t, -ENOMEM);
		return;
	}
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, t->table);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
	/* the chain's rule goes with it */
	nlh = msg_start(t, NFT_MSG_DELCHAIN, cls->family, 0, NULL, name);
	nftnl_chain_nlmsg_build_payload(nlh, c);
	msg_done(t);
	nftnl_chain_free(c);
}

void nft_table_del_build(struct txn *t, uint8_t family)
{
	struct nftnl_table *tb = nftnl_table_alloc();
	struct nlmsghdr *nlh;

	if (!tb) {
		txn_fail(t, -ENOMEM);
		return;
	}
	nftnl_table_set_str(tb, NFTNL_TABLE_NAME, t->table);
	nlh = msg_start(t, NFT_MSG_DELTABLE, family, 0, NULL, "table");
	nftnl_table_nlmsg_build_payload(nlh, tb);
	msg_done(t);
	nftnl_table_free(tb);
}

/* ---- elements ----------------------------------------------------------- */

static const char *set_of(uint8_t op)
{
	switch (op) {
	case CH_SVC_ADD: case CH_SVC_DEL: return SET_SERVICES;
	case CH_BE_ADD: case CH_BE_DEL: return SET_BACKENDS;
	default: return SET_NOEP;
	}
}

static bool is_add(uint8_t op)
{
	return op == CH_SVC_ADD || op == CH_BE_ADD || op == CH_NOEP_ADD;
}

static struct nftnl_set_elem *elem_build(const struct change *ch)
{
	struct nftnl_set_elem *e = nftnl_set_elem_alloc();
	uint8_t key[KEY_MAX], data[DATA_MAX];
	uint8_t family = ch->fe.family;

	if (!e)
		return NULL;
	if (ch->op == CH_BE_ADD || ch->op == CH_BE_DEL) {
		be_key_pack(&ch->fe, ch->slot, key);
		nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key, be_key_len(family));
	} else {
		fe_key_pack(&ch->fe, key);
		nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key, fe_key_len(family));
	}
	if (ch->op == CH_BE_ADD) {
		be_data_pack(family, &ch->be, data);
		nftnl_set_elem_set(e, NFTNL_SET_ELEM_DATA, data, be_data_len(family));
	} else if (ch->op == CH_SVC_ADD) {
		char chain[32];

		class_chain_name(&ch->cls, chain, sizeof(chain));
		nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_VERDICT, NFT_GOTO);
		nftnl_set_elem_set_str(e, NFTNL_SET_ELEM_CHAIN, chain);
	}
	if (is_add(ch->op) && ch->comment) {
		struct nftnl_udata_buf *ud =
			comment_udata(NFTNL_UDATA_SET_ELEM_COMMENT, ch->comment);

		if (ud)
			nftnl_set_elem_set(e, NFTNL_SET_ELEM_USERDATA,
					   nftnl_udata_buf_data(ud),
					   nftnl_udata_buf_len(ud));
		nftnl_udata_buf_free(ud);
	}
	return e;
}

static bool same_group(const struct change *a, const struct change *b)
{
	return a->op == b->op && !memcmp(&a->fe, &b->fe, sizeof(a->fe));
}

size_t nft_elems_build(struct txn *t, const struct changes *c, size_t i)
{
	const struct change *first = &c->v[i];
	struct nftnl_set *s = nftnl_set_alloc();
	struct nlmsghdr *nlh;
	char what[64];
	size_t j = i;

	if (!s) {
		txn_fail(t, -ENOMEM);
		return i + 1;
	}
	nftnl_set_set_str(s, NFTNL_SET_TABLE, t->table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, set_of(first->op));
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, first->fe.family);
	for (; j < c->n && j - i < ELEMS_PER_MSG && same_group(first, &c->v[j]); j++) {
		struct nftnl_set_elem *e = elem_build(&c->v[j]);

		if (!e) {
			txn_fail(t, -ENOMEM);
			break;
		}
		nftnl_set_elem_add(s, e);
	}
	snprintf(what, sizeof(what), "%s %s element", is_add(first->op) ? "add" : "delete",
		 set_of(first->op));
	nlh = msg_start(t, is_add(first->op) ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM,
			first->fe.family, is_add(first->op) ? NLM_F_CREATE : 0,
			first, what);
	nftnl_set_elems_nlmsg_build_payload(nlh, s);
	msg_done(t);
	nftnl_set_free(s);
	return j > i ? j : i + 1;
}

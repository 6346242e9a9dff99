/* Message builders for the spec's table, sets, chains and rules, as nft
 * 1.0.6 itself would send them (checked with `nft --debug=netlink,mnl`), so
 * that `nft list ruleset` prints typeof declarations, concatenations and
 * comments readably. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

#include "nft.h"

#define CONCAT_SHIFT 6	/* nft's concatenated datatype: 6 bits per field */

/* ---- table and sets ----------------------------------------------------- */

static int table_build(struct txn *t, uint8_t family)
{
	struct nftnl_table *tb = nftnl_table_alloc();
	struct nftnl_udata_buf *ud = NULL;
	struct nlmsghdr *nlh;
	int ret = -ENOMEM;

	if (!tb || ud_comment(NFTNL_UDATA_TABLE_COMMENT, spec_table.comment, &ud) < 0 ||
	    nftnl_table_set_str(tb, NFTNL_TABLE_NAME, t->table) < 0 ||
	    nftnl_table_set_data(tb, NFTNL_TABLE_USERDATA, nftnl_udata_buf_data(ud),
				 nftnl_udata_buf_len(ud)) < 0)
		goto out;
	nftnl_table_set_u32(tb, NFTNL_TABLE_FAMILY, family);
	if (!(nlh = msg_start(t, NFT_MSG_NEWTABLE, family, NLM_F_CREATE, NULL, "table")))
		goto out;
	nftnl_table_nlmsg_build_payload(nlh, tb);
	ret = msg_done(t);
out:
	nftnl_udata_buf_free(ud);
	nftnl_table_free(tb);
	return ret < 0 ? txn_fail(t, ret) : 0;
}

static uint32_t concat_type(const uint8_t *fields, size_t n, uint8_t family)
{
	uint32_t v = 0;

	for (size_t i = 0; i < n; i++)
		v = v << CONCAT_SHIFT | spec_field(fields[i])->dtype[spec_fam(family)];
	return v;
}

/* source_ranges: an interval set of concatenations (pipapo) is told each
 * field's length, unpadded, as nft does (4 . 1 . 2 . 4 for firewall-allow). */
static int set_concat_desc(struct nftnl_set *s, const struct spec_set *sp, uint8_t family)
{
	uint8_t len[NFT_REG32_COUNT] = { 0 };

	if (sp->n_key >= NFT_REG32_COUNT)
		return -EINVAL;
	for (size_t i = 0; i < sp->n_key; i++)
		len[i] = spec_field(sp->key[i])->len[spec_fam(family)];
	return nftnl_set_set_data(s, NFTNL_SET_DESC_CONCAT, len, (uint32_t)sp->n_key) < 0 ?
	       -ENOMEM : 0;
}

static int set_build(struct txn *t, uint8_t family, const struct spec_set *sp)
{
	struct nftnl_set *s = nftnl_set_alloc();
	struct nftnl_udata_buf *ud = nftnl_udata_buf_alloc(UDATA_MAX);
	struct nlmsghdr *nlh;
	int ret = -ENOMEM;

	if (!s || !ud || nftnl_set_set_str(s, NFTNL_SET_TABLE, t->table) < 0 ||
	    nftnl_set_set_str(s, NFTNL_SET_NAME, sp->name) < 0)
		goto out;
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, family);
	nftnl_set_set_u32(s, NFTNL_SET_ID, sp->id);
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, sp->flags);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, concat_type(sp->key, sp->n_key, family));
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, spec_fields_len(sp->key, sp->n_key, family));
	if (sp->timeout_ms)
		nftnl_set_set_u64(s, NFTNL_SET_TIMEOUT, sp->timeout_ms);
	if (sp->size)
		nftnl_set_set_u32(s, NFTNL_SET_DESC_SIZE, sp->size);
	if ((sp->flags & NFT_SET_CONCAT) && (ret = set_concat_desc(s, sp, family)) < 0)
		goto out;
	ret = -ENOMEM;
	if (sp->data == DATA_FIELDS) {
		nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE,
				  concat_type(sp->data_fields, sp->n_data, family));
		nftnl_set_set_u32(s, NFTNL_SET_DATA_LEN,
				  spec_fields_len(sp->data_fields, sp->n_data, family));
	} else if (sp->data == DATA_VERDICT) {
		nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, NFT_DATA_VERDICT);
		nftnl_set_set_u32(s, NFTNL_SET_DATA_LEN, 0);
	}
	if ((ret = ud_set(ud, sp, family)) < 0)
		goto out;
	ret = -ENOMEM;
	if (nftnl_set_set_data(s, NFTNL_SET_USERDATA, nftnl_udata_buf_data(ud),
			       nftnl_udata_buf_len(ud)) < 0 ||
	    !(nlh = msg_start(t, NFT_MSG_NEWSET, family, NLM_F_CREATE, NULL, sp->name)))
		goto out;
	nftnl_set_nlmsg_build_payload(nlh, s);
	ret = msg_done(t);
out:
	nftnl_udata_buf_free(ud);
	nftnl_set_free(s);
	return ret < 0 ? txn_fail(t, ret) : 0;
}

/* ---- rules -------------------------------------------------------------- */

/* nft names a register by its 128-bit alias where the word is aligned and
 * by its 32-bit number elsewhere; the kernel takes either. Copying that
 * keeps `nft --debug=netlink` output identical to nft's own. */
static uint32_t reg(uint8_t r, uint8_t family)
{
	unsigned word;

	if (r == R_VERDICT)
		return NFT_REG_VERDICT;
	word = spec_reg_word(r, family);
	return word % 4 ? NFT_REG32_00 + word : NFT_REG_1 + word / 4;
}

static const char *const expr_names[] = {
	[SX_PAYLOAD] = "payload", [SX_META] = "meta", [SX_CMP] = "cmp",
	[SX_LOOKUP] = "lookup", [SX_NUMGEN] = "numgen", [SX_JHASH] = "hash",
	[SX_DNAT] = "nat", [SX_REJECT] = "reject", [SX_CT] = "ct", [SX_MASQ] = "masq",
	[SX_DYNSET] = "dynset", [SX_DROP] = "immediate", [SX_BYTEORDER] = "byteorder",
};

/* Fills e from x; 0 or -ENOMEM. n is the class chain's slot count. */
static int expr_fill(struct nftnl_expr *e, const struct spec_expr *x,
		     uint8_t family, uint32_t n)
{
	const struct spec_field_desc *f = spec_field(x->field);
	unsigned fam = spec_fam(family);
	uint32_t mod = x->mod ? x->mod : n;

	switch (x->kind) {
	case SX_PAYLOAD:
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, f->base);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, f->offset[fam]);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, f->len[fam]);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, reg(x->dreg, family));
		return 0;
	case SX_META:
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, f->base);
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, reg(x->dreg, family));
		return 0;
	case SX_CMP:
		nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, reg(x->sreg, family));
		nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, NFT_CMP_EQ);
		return nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, &x->value, 1) < 0 ? -ENOMEM : 0;
	case SX_LOOKUP:
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, reg(x->sreg, family));
		if (x->dreg != R_NONE)
			nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, reg(x->dreg, family));
		if (x->inv)
			nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_FLAGS, NFT_LOOKUP_F_INV);
		return nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, x->set) < 0 ? -ENOMEM : 0;
	case SX_NUMGEN:
		nftnl_expr_set_u32(e, NFTNL_EXPR_NG_TYPE, x->ng);
		nftnl_expr_set_u32(e, NFTNL_EXPR_NG_MODULUS, mod);
		nftnl_expr_set_u32(e, NFTNL_EXPR_NG_DREG, reg(x->dreg, family));
		return 0;
	case SX_JHASH:
		nftnl_expr_set_u32(e, NFTNL_EXPR_HASH_TYPE, NFT_HASH_JENKINS);
		nftnl_expr_set_u32(e, NFTNL_EXPR_HASH_SREG, reg(x->sreg, family));
		nftnl_expr_set_u32(e, NFTNL_EXPR_HASH_LEN, f->len[fam]);
		nftnl_expr_set_u32(e, NFTNL_EXPR_HASH_MODULUS, mod);
		nftnl_expr_set_u32(e, NFTNL_EXPR_HASH_SEED, x->seed);
		nftnl_expr_set_u32(e, NFTNL_EXPR_HASH_DREG, reg(x->dreg, family));
		return 0;
	case SX_DNAT:
		/* address in sreg, port in the word after it (the map's data) */
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_TYPE, NFT_NAT_DNAT);
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FAMILY,
				   family == AF_INET6 ? NFPROTO_IPV6 : NFPROTO_IPV4);
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN, reg(x->sreg, family));
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MIN, reg(R_PROTO, family));
		return 0;
	case SX_REJECT:
		nftnl_expr_set_u32(e, NFTNL_EXPR_REJECT_TYPE, x->value == REJ_TCP_RST ?
				   NFT_REJECT_TCP_RST : NFT_REJECT_ICMP_UNREACH);
		/* port unreachable: ICMP code 3, ICMPv6 code 4 */
		nftnl_expr_set_u8(e, NFTNL_EXPR_REJECT_CODE, x->value == REJ_TCP_RST ? 0 :
				  family == AF_INET6 ? 4 : 3);
		return 0;
	case SX_CT:
		nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, f->offset[fam]);
		nftnl_expr_set_u8(e, NFTNL_EXPR_CT_DIR, 0);	/* IP_CT_DIR_ORIGINAL */
		nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, reg(x->dreg, family));
		return 0;
	case SX_MASQ:
		return 0;
	case SX_DROP:
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, NF_DROP);
		return 0;
	case SX_BYTEORDER:
		nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_SREG, reg(x->sreg, family));
		nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_DREG, reg(x->dreg, family));
		nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_OP, NFT_BYTEORDER_HTON);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_LEN, x->value);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_SIZE, x->mod);
		return 0;
	case SX_DYNSET:
		nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_SREG_KEY, reg(x->sreg, family));
		if (x->dreg != R_NONE)
			nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_SREG_DATA, reg(x->dreg, family));
		/* seconds; without, the set's own timeout */
		if (mod)
			nftnl_expr_set_u64(e, NFTNL_EXPR_DYNSET_TIMEOUT, (uint64_t)mod * 1000);
		nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_OP, NFT_DYNSET_OP_UPDATE);
		return nftnl_expr_set_str(e, NFTNL_EXPR_DYNSET_SET_NAME, x->set) < 0 ?
		       -ENOMEM : 0;
	}
	return -EINVAL;
}

/* Appends one expression of the given kind; fill sets it up. */
static struct nftnl_expr *expr_push(struct nftnl_rule *r, const char *name)
{
	struct nftnl_expr *e = nftnl_expr_alloc(name);

	if (e)
		nftnl_rule_add_expr(r, e);
	return e;
}

/* reg <op> data[0..len) */
static int cmp_push(struct nftnl_rule *r, uint32_t reg, uint32_t op,
		    const void *data, uint32_t len)
{
	struct nftnl_expr *e = expr_push(r, "cmp");

	if (!e)
		return -ENOMEM;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, reg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
	return nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len) < 0 ? -ENOMEM : 0;
}

/* reg = reg & mask (^ 0), over len bytes */
static int and_push(struct nftnl_rule *r, uint32_t reg, const void *mask, uint32_t len)
{
	struct nftnl_expr *e = expr_push(r, "bitwise");
	static const uint8_t zero[16];

	if (!e)
		return -ENOMEM;
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, reg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, reg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
	return nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, len) < 0 ||
	       nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, zero, len) < 0 ? -ENOMEM : 0;
}

/* An address field of the packet into NFT_REG_1. */
static int addr_push(struct nftnl_rule *r, uint8_t field, uint8_t family)
{
	const struct spec_field_desc *f = spec_field(field);
	struct nftnl_expr *e = expr_push(r, "payload");
	unsigned fam = spec_fam(family);

	if (!e)
		return -ENOMEM;
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, f->base);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, f->offset[fam]);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, f->len[fam]);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
	return 0;
}

/* ip daddr & mask != net: false for addresses inside net/len */
static int outside_push(struct nftnl_rule *r, uint8_t field, uint8_t family,
			const uint8_t *net, unsigned len)
{
	uint8_t mask[16] = { 0 };
	unsigned alen = family == AF_INET6 ? 16 : 4;

	for (unsigned bit = 0; bit < len; bit++)
		mask[bit / 8] |= (uint8_t)(0x80 >> (bit % 8));
	return addr_push(r, field, family) ?: and_push(r, NFT_REG_1, mask, alen) ?:
	       cmp_push(r, NFT_REG_1, NFT_CMP_NEQ, net, alen);
}

/* The expressions that stand for one phrase of the spec. 0, 1 (the
 * phrase is not one of them) or -ENOMEM. */
static int phrase_push(struct nftnl_rule *r, const struct spec_expr *x, uint8_t family,
		       const struct dp_opts *opts)
{
	unsigned fam = spec_fam(family);
	struct nftnl_expr *e;
	uint32_t v;

	switch (x->kind) {
	case SX_CT_DNAT:
		if (!(e = expr_push(r, "ct")))
			return -ENOMEM;
		nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, NFT_CT_STATUS);
		nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
		v = IPS_DST_NAT;
		if (and_push(r, NFT_REG_1, &v, 4) < 0)
			return -ENOMEM;
		v = 0;
		return cmp_push(r, NFT_REG_1, NFT_CMP_NEQ, &v, 4);
	case SX_FIB_LOCAL:
		if (!(e = expr_push(r, "fib")))
			return -ENOMEM;
		nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_FLAGS, NFTA_FIB_F_DADDR);
		nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE);
		nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_DREG, NFT_REG_1);
		v = RTN_LOCAL;
		return cmp_push(r, NFT_REG_1, NFT_CMP_EQ, &v, 4);
	case SX_NOT_LOOPBACK:
		return outside_push(r, F_DADDR, family, spec_loopback[fam], spec_loopback_len[fam]);
	case SX_SADDR_OUTSIDE:
		if (!opts || opts->masq_all || !opts->has_cidr[fam])
			return 0;
		return outside_push(r, F_SADDR, family, opts->cidr[fam], opts->cidr_len[fam]);
	default:
		return 1;
	}
}

static int rule_exprs(struct nftnl_rule *r, const struct spec_rule *sr,
		      uint8_t family, uint32_t n, const struct dp_opts *opts)
{
	for (size_t i = 0; i < sr->n; i++) {
		struct nftnl_expr *e;
		int ret = phrase_push(r, &sr->x[i], family, opts);

		if (ret <= 0) {
			if (ret < 0)
				return ret;
			continue;
		}
		e = nftnl_expr_alloc(expr_names[sr->x[i].kind]);
		ret = e ? expr_fill(e, &sr->x[i], family, n) : -ENOMEM;
		if (ret < 0) {
			nftnl_expr_free(e);
			return ret;
		}
		nftnl_rule_add_expr(r, e);
	}
	return 0;
}

static int rule_build(struct txn *t, uint8_t family, const char *chain,
		      const struct spec_rule *sr, uint32_t n, const struct dp_opts *opts)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nftnl_udata_buf *ud = NULL;
	struct nlmsghdr *nlh;
	int ret = -ENOMEM;

	if (!r || ud_comment(NFTNL_UDATA_RULE_COMMENT, sr->comment, &ud) < 0 ||
	    nftnl_rule_set_str(r, NFTNL_RULE_TABLE, t->table) < 0 ||
	    nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain) < 0)
		goto out;
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, family);
	if ((ret = rule_exprs(r, sr, family, n, opts)) < 0)
		goto out;
	ret = -ENOMEM;
	if (nftnl_rule_set_data(r, NFTNL_RULE_USERDATA, nftnl_udata_buf_data(ud),
				nftnl_udata_buf_len(ud)) < 0 ||
	    !(nlh = msg_start(t, NFT_MSG_NEWRULE, family, NLM_F_APPEND | NLM_F_CREATE,
			      NULL, chain)))
		goto out;
	nftnl_rule_nlmsg_build_payload(nlh, r);
	ret = msg_done(t);
out:
	nftnl_udata_buf_free(ud);
	nftnl_rule_free(r);
	return ret < 0 ? txn_fail(t, ret) : 0;
}

/* Deletes every rule of the chain; the new ones follow in this same
 * transaction, so packets see the old rules or the new, never none. */
int nft_chain_flush_build(struct txn *t, uint8_t family, const char *chain)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nlmsghdr *nlh;
	int ret = -ENOMEM;

	if (!r || nftnl_rule_set_str(r, NFTNL_RULE_TABLE, t->table) < 0 ||
	    nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain) < 0 ||
	    !(nlh = msg_start(t, NFT_MSG_DELRULE, family, 0, NULL, chain)))
		goto out;
	nftnl_rule_nlmsg_build_payload(nlh, r);
	ret = msg_done(t);
out:
	nftnl_rule_free(r);
	return ret < 0 ? txn_fail(t, ret) : 0;
}

/* ---- chains ------------------------------------------------------------- */

/* A chain (a base chain when cs has a type) with its rules rewritten. */
static int chain_build(struct txn *t, uint8_t family, const char *name,
		       const char *comment, const struct spec_chain *cs)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nftnl_udata_buf *ud = NULL;
	struct nlmsghdr *nlh;
	int ret = -ENOMEM;

	if (!c || ud_comment(NFTNL_UDATA_CHAIN_COMMENT, comment, &ud) < 0 ||
	    nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, t->table) < 0 ||
	    nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name) < 0)
		goto out;
	nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, family);
	if (cs) {
		if (nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, cs->type) < 0)
			goto out;
		nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, cs->hook);
		nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, cs->prio);
		nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, cs->policy);
	}
	if (nftnl_chain_set_data(c, NFTNL_CHAIN_USERDATA, nftnl_udata_buf_data(ud),
				 nftnl_udata_buf_len(ud)) < 0 ||
	    !(nlh = msg_start(t, NFT_MSG_NEWCHAIN, family, NLM_F_CREATE, NULL, name)))
		goto out;
	nftnl_chain_nlmsg_build_payload(nlh, c);
	ret = msg_done(t);
	if (ret == 0)
		ret = nft_chain_flush_build(t, family, name);
out:
	nftnl_udata_buf_free(ud);
	nftnl_chain_free(c);
	return ret < 0 ? txn_fail(t, ret) : 0;
}

int nft_base_build(struct txn *t, uint8_t family, const struct dp_opts *opts)
{
	const struct spec_table *st = &spec_table;
	int ret = table_build(t, family);

	for (size_t i = 0; ret == 0 && i < st->n_sets; i++)
		ret = set_build(t, family, &st->sets[i]);
	for (size_t i = 0; ret == 0 && i < st->n_chains; i++) {
		const struct spec_chain *cs = &st->chains[i];

		ret = chain_build(t, family, cs->name, cs->comment, cs);
		for (size_t j = 0; ret == 0 && j < cs->n_rules; j++)
			if (spec_rule_on(&cs->rules[j], opts, family))
				ret = rule_build(t, family, cs->name, &cs->rules[j], 0, opts);
	}
	return ret;
}

int nft_class_build(struct txn *t, const struct class_key *cls)
{
	const struct spec_class *sc = spec_class(cls->kind);
	char name[32], comment[64];
	int ret;

	if (!sc || class_chain_name(cls, name, sizeof(name)) < 0)
		return txn_fail(t, -EINVAL);
	class_comment(cls, comment, sizeof(comment));
	ret = chain_build(t, cls->family, name, comment, NULL);
	return ret ?: rule_build(t, cls->family, name, &sc->rule,
				 cls->kind == CLASS_AFF ? cls->arg : cls->n, NULL);
}

int nft_chain_del_build(struct txn *t, uint8_t family, const char *name)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nlmsghdr *nlh;
	int ret = -ENOMEM;

	if (!c || nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, t->table) < 0 ||
	    nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name) < 0 ||
	    /* the chain's rules go with it */
	    !(nlh = msg_start(t, NFT_MSG_DELCHAIN, family, 0, NULL, name)))
		goto out;
	nftnl_chain_nlmsg_build_payload(nlh, c);
	ret = msg_done(t);
out:
	nftnl_chain_free(c);
	return ret < 0 ? txn_fail(t, ret) : 0;
}

int nft_class_del_build(struct txn *t, const struct class_key *cls)
{
	char name[32];

	if (class_chain_name(cls, name, sizeof(name)) < 0)
		return txn_fail(t, -EINVAL);
	return nft_chain_del_build(t, cls->family, name);
}

int nft_table_del_build(struct txn *t, uint8_t family)
{
	struct nftnl_table *tb = nftnl_table_alloc();
	struct nlmsghdr *nlh;
	int ret = -ENOMEM;

	if (!tb || nftnl_table_set_str(tb, NFTNL_TABLE_NAME, t->table) < 0 ||
	    !(nlh = msg_start(t, NFT_MSG_DELTABLE, family, 0, NULL, "table")))
		goto out;
	nftnl_table_nlmsg_build_payload(nlh, tb);
	ret = msg_done(t);
out:
	nftnl_table_free(tb);
	return ret < 0 ? txn_fail(t, ret) : 0;
}

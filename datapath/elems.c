/* Element messages: the changes to the spec's sets, a few hundred elements
 * per message, each message remembered against its first change. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <linux/netfilter/nf_tables.h>
#include <libmnl/libmnl.h>
#include <libnftnl/set.h>
#include <libnftnl/udata.h>

#include "nft.h"

/* Elements per message: ~100 bytes each with a comment, well under MSG_MAX,
 * and small enough that an error names a handful of elements. */
#define ELEMS_PER_MSG	256

/* The planner fits comments (dp_comment_fit); the cut here only keeps a
 * caller that did not from having its comment dropped silently. */
#define ELEM_COMMENT_MAX	DP_COMMENT_MAX

static bool is_add(const struct spec_set *s, uint8_t op)
{
	return s->add_op == op;
}

static int elem_fill(struct nftnl_set_elem *e, const struct spec_set *s,
		     const struct change *ch)
{
	uint8_t key[KEY_MAX], data[DATA_MAX];
	uint8_t family = ch->fe.family;

	/* source_ranges: frontend . first source .. frontend . last source,
	 * as nft sends a range of an interval concatenation (KEY, KEY_END);
	 * a range read back that is no CIDR is deleted by its first address */
	if (s->add_op == CH_FWR_ADD) {
		uint8_t last[16];
		unsigned len = fw_key_pack(&ch->fe, ch->src.addr, key);

		if (nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key, len) < 0)
			return -ENOMEM;
		if (ch->src.len != FW_SRC_POINT) {
			fw_src_last(family, &ch->src, last);
			fw_key_pack(&ch->fe, last, key);
			if (nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY_END, key, len) < 0)
				return -ENOMEM;
		}
	} else if (s->fe_kind == FE_NODEPORT) {
		unsigned len = np_key_pack(&ch->fe, ch->slot, s->key[s->n_key - 1] == F_SLOT, key);

		if (nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key, len) < 0)
			return -ENOMEM;
	} else if (s->key[s->n_key - 1] == F_SLOT) {
		/* the key ends in the slot number where the spec says so */
		be_key_pack(&ch->fe, ch->slot, key);
		if (nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key, be_key_len(family)) < 0)
			return -ENOMEM;
	} else {
		fe_key_pack(&ch->fe, key);
		if (nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key, fe_key_len(family)) < 0)
			return -ENOMEM;
	}
	if (!is_add(s, ch->op))
		return 0;
	if (s->data == DATA_FIELDS) {
		be_data_pack(family, &ch->be, data);
		if (nftnl_set_elem_set(e, NFTNL_SET_ELEM_DATA, data, be_data_len(family)) < 0)
			return -ENOMEM;
	} else if (s->data == DATA_VERDICT) {
		char chain[32];

		if (class_chain_name(&ch->cls, chain, sizeof(chain)) < 0)
			return -EINVAL;
		nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_VERDICT, (uint32_t)(s->verdict ? s->verdict : NFT_GOTO));
		if (nftnl_set_elem_set_str(e, NFTNL_SET_ELEM_CHAIN, chain) < 0)
			return -ENOMEM;
	}
	if (ch->comment) {
		char text[ELEM_COMMENT_MAX + 1];
		size_t len = strnlen(ch->comment, ELEM_COMMENT_MAX);
		struct nftnl_udata_buf *ud;
		int ret;

		memcpy(text, ch->comment, len);
		text[len] = '\0';
		ret = ud_comment(NFTNL_UDATA_SET_ELEM_COMMENT, text, &ud);

		if (ret == 0 && nftnl_set_elem_set(e, NFTNL_SET_ELEM_USERDATA,
						   nftnl_udata_buf_data(ud),
						   nftnl_udata_buf_len(ud)) < 0)
			ret = -ENOMEM;
		nftnl_udata_buf_free(ud);
		return ret;
	}
	return 0;
}

static bool same_group(const struct change *a, const struct change *b)
{
	return a->op == b->op && !memcmp(&a->fe, &b->fe, sizeof(a->fe));
}

int nft_elems_build(struct txn *t, const struct changes *c, size_t *i)
{
	const struct change *first = &c->v[*i];
	const struct spec_set *sp = spec_set_of(first->op, first->fe.kind);
	struct nftnl_set *s = NULL;
	struct nlmsghdr *nlh;
	char what[64];
	size_t j = *i;
	int ret = -EINVAL;

	if (!sp)
		goto out;
	ret = -ENOMEM;
	s = nftnl_set_alloc();
	if (!s || nftnl_set_set_str(s, NFTNL_SET_TABLE, t->table) < 0 ||
	    nftnl_set_set_str(s, NFTNL_SET_NAME, sp->name) < 0)
		goto out;
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, first->fe.family);
	for (; j < c->n && j - *i < ELEMS_PER_MSG && same_group(first, &c->v[j]); j++) {
		struct nftnl_set_elem *e = nftnl_set_elem_alloc();

		ret = e ? elem_fill(e, sp, &c->v[j]) : -ENOMEM;
		if (ret < 0) {
			nftnl_set_elem_free(e);
			goto out;
		}
		nftnl_set_elem_add(s, e);
	}
	snprintf(what, sizeof(what), "%s %s element",
		 is_add(sp, first->op) ? "add" : "delete", sp->name);
	ret = -ENOMEM;
	nlh = msg_start(t, is_add(sp, first->op) ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM,
			first->fe.family, is_add(sp, first->op) ? NLM_F_CREATE : 0,
			first, what);
	if (!nlh)
		goto out;
	nftnl_set_elems_nlmsg_build_payload(nlh, s);
	ret = msg_done(t);
out:
	nftnl_set_free(s);
	*i = j > *i ? j : *i + 1;
	return ret < 0 ? txn_fail(t, ret) : 0;
}

/* Userdata that nft reads to print vipd's objects: comments, and a set's
 * typeof declaration, encoded from the spec's fields as nft 1.0.6 encodes
 * them (checked with `nft --debug=netlink,mnl`). Every put is checked: a
 * full buffer is -ENOMEM, never a silently shorter declaration. */
#include <errno.h>
#include <linux/netfilter/nf_tables.h>
#include <libnftnl/set.h>
#include <libnftnl/udata.h>

#include "nft.h"

/* nft's typeof encoding: expression type ids (src/expression.h). */
enum { UD_EXPR_VERDICT = 1, UD_EXPR_PAYLOAD = 7, UD_EXPR_META = 9,
       UD_EXPR_CONCAT = 13, UD_EXPR_NUMGEN = 23 };

int ud_comment(uint8_t type, const char *text, struct nftnl_udata_buf **out)
{
	struct nftnl_udata_buf *ud = nftnl_udata_buf_alloc(UDATA_MAX);

	*out = NULL;
	if (!ud)
		return -ENOMEM;
	if (!nftnl_udata_put_strz(ud, type, text)) {
		nftnl_udata_buf_free(ud);
		return -ENOMEM;
	}
	*out = ud;
	return 0;
}

static int nest_end(struct nftnl_udata_buf *ud, struct nftnl_udata *nest, bool ok)
{
	if (!nest || !ok)
		return -ENOMEM;
	nftnl_udata_nest_end(ud, nest);
	return 0;
}

/* { expr type, { values... } } under attr */
static int ud_expr(struct nftnl_udata_buf *ud, uint8_t attr, uint32_t type,
		   const uint32_t *v, unsigned n)
{
	struct nftnl_udata *outer = nftnl_udata_nest_start(ud, attr), *inner = NULL;
	bool ok = outer && nftnl_udata_put_u32(ud, NFTNL_UDATA_SET_TYPEOF_EXPR, type) &&
		  (inner = nftnl_udata_nest_start(ud, NFTNL_UDATA_SET_TYPEOF_DATA));

	for (unsigned i = 0; ok && i < n; i++)
		ok = nftnl_udata_put_u32(ud, (uint8_t)i, v[i]);
	if (nest_end(ud, inner, ok) < 0)
		return -ENOMEM;
	return nest_end(ud, outer, true);
}

static int ud_field(struct nftnl_udata_buf *ud, uint8_t attr, uint8_t field,
		    uint8_t family)
{
	const struct spec_field_desc *f = spec_field(field);
	unsigned fam = spec_fam(family);

	switch (f->expr) {
	case SX_META: {
		const uint32_t v[] = { f->base };

		return ud_expr(ud, attr, UD_EXPR_META, v, 1);
	}
	case SX_NUMGEN: {
		const uint32_t v[] = { NFT_NG_RANDOM, 1, 0 };	/* type, mod, offset */

		return ud_expr(ud, attr, UD_EXPR_NUMGEN, v, 3);
	}
	default: {
		const uint32_t v[] = { f->ud_desc[fam], f->ud_field[fam] };

		return ud_expr(ud, attr, UD_EXPR_PAYLOAD, v, 2);
	}
	}
}

/* typeof f0 . f1 . ...: a concatenation of its fields */
static int ud_typeof(struct nftnl_udata_buf *ud, uint8_t attr,
		     const uint8_t *fields, size_t n, uint8_t family)
{
	struct nftnl_udata *outer = nftnl_udata_nest_start(ud, attr), *inner = NULL;
	bool ok = outer && nftnl_udata_put_u32(ud, NFTNL_UDATA_SET_TYPEOF_EXPR, UD_EXPR_CONCAT) &&
		  (inner = nftnl_udata_nest_start(ud, NFTNL_UDATA_SET_TYPEOF_DATA));

	for (size_t i = 0; ok && i < n; i++)
		ok = ud_field(ud, (uint8_t)i, fields[i], family) == 0;
	if (nest_end(ud, inner, ok) < 0)
		return -ENOMEM;
	return nest_end(ud, outer, true);
}

int ud_set(struct nftnl_udata_buf *ud, const struct spec_set *s, uint8_t family)
{
	bool map = s->data != DATA_NONE;
	int ret;

	if (!nftnl_udata_put_u32(ud, NFTNL_UDATA_SET_KEYBYTEORDER, 0) ||
	    (map && !nftnl_udata_put_u32(ud, NFTNL_UDATA_SET_DATABYTEORDER, 0)))
		return -ENOMEM;
	ret = ud_typeof(ud, NFTNL_UDATA_SET_KEY_TYPEOF, s->key, s->n_key, family);
	if (ret == 0 && s->data == DATA_FIELDS)
		ret = ud_typeof(ud, NFTNL_UDATA_SET_DATA_TYPEOF, s->data_fields,
				s->n_data, family);
	else if (ret == 0 && s->data == DATA_VERDICT)
		ret = ud_expr(ud, NFTNL_UDATA_SET_DATA_TYPEOF, UD_EXPR_VERDICT, NULL, 0);
	if (ret < 0)
		return ret;
	if ((map && !nftnl_udata_put_u32(ud, NFTNL_UDATA_SET_DATA_INTERVAL, 0)) ||
	    !nftnl_udata_put_strz(ud, NFTNL_UDATA_SET_COMMENT, s->comment))
		return -ENOMEM;
	return 0;
}

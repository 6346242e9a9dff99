/* Reading vipd's own tables back: at start, on SIGHUP and after a failed
 * commit, so vipd converges from what the kernel really holds. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

#include "dp_internal.h"
#include "hash.h"
#include "log.h"

/* Large enough that the kernel fills each dump message fully (it sizes
 * dump skbs by the reader's buffer) and a big map reads in few calls. */
#define DUMP_BUF	(256 * 1024)

struct dump {
	struct dp *dp;
	const struct dp_reader *r;
	uint8_t family;
	const char *set;
	const struct spec_set *spec;
	bool intr;
	int parse_err;
	const char *parse_set;	/* the set of the first unparsable message */
};


/* Sends the request in buf and feeds each reply to cb until the kernel is
 * done. Returns 0, -ENOENT (object absent) or another negative errno. */
int dp_talk(struct dp *dp, struct nlmsghdr *req, dump_cb cb, void *arg)
{
	char *buf = malloc(DUMP_BUF);
	uint32_t seq = req->nlmsg_seq;
	int ret;

	if (!buf)
		return -ENOMEM;
	if (mnl_socket_sendto(dp->nl, req, req->nlmsg_len) < 0) {
		ret = -errno;
		goto out;
	}
	do {
		ssize_t n = mnl_socket_recvfrom(dp->nl, buf, DUMP_BUF);

		if (n < 0) {
			ret = -errno;
			break;
		}
		ret = mnl_cb_run(buf, (size_t)n, seq, dp->portid, cb, arg);
	} while (ret > MNL_CB_STOP);
	if (ret < 0)
		ret = -errno;
out:
	free(buf);
	return ret;
}

static int table_cb(const struct nlmsghdr *nlh, void *arg)
{
	*(bool *)arg = true;
	return MNL_CB_OK;
}

int dp_table_exists(struct dp *dp, uint8_t family)
{
	char buf[REQ_BUF] = { 0 };
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;
	bool found = false;
	int ret = -ENOMEM;

	if (t && nftnl_table_set_str(t, NFTNL_TABLE_NAME, dp->table) == 0) {
		nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETTABLE, family, NLM_F_ACK,
					    dp->seq++);
		nftnl_table_nlmsg_build_payload(nlh, t);
		ret = dp_talk(dp, nlh, table_cb, &found);
	}
	nftnl_table_free(t);
	/* only "no such table" is an answer; EPERM and the like are errors */
	if (ret == -ENOENT)
		return 0;
	if (ret < 0) {
		dp_error_set(dp, "table %s %s: asking whether it exists",
			     family_name(family), dp->table);
		return ret;
	}
	return found;
}

static int chain_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct dump *d = arg;
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct class_key cls;

	if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
		d->intr = true;
	if (!c || nftnl_chain_nlmsg_parse(nlh, c) < 0) {
		nftnl_chain_free(c);
		return MNL_CB_OK;
	}
	if (!strcmp(nftnl_chain_get_str(c, NFTNL_CHAIN_TABLE), d->dp->table)) {
		const char *name = nftnl_chain_get_str(c, NFTNL_CHAIN_NAME);

		if (class_chain_parse(name, d->family, &cls)) {
			if (d->r->class_chain)
				d->r->class_chain(d->r->arg, &cls);
		} else if (!spec_chain_by_name(name) && d->dp->n_foreign < DP_FOREIGN_MAX) {
			d->dp->foreign[d->dp->n_foreign].family = d->family;
			snprintf(d->dp->foreign[d->dp->n_foreign].name,
				 sizeof(d->dp->foreign[0].name), "%s", name);
			d->dp->n_foreign++;
		}
	}
	nftnl_chain_free(c);
	return MNL_CB_OK;
}

static int comment_cb(const struct nftnl_udata *attr, void *data)
{
	const char **comment = data;
	uint8_t len = nftnl_udata_len(attr);
	const char *value = nftnl_udata_get(attr);

	if (nftnl_udata_type(attr) == NFTNL_UDATA_SET_ELEM_COMMENT && len &&
	    value[len - 1] == '\0')
		*comment = value;
	return 0;
}

/* The element's comment, borrowed from e. */
static const char *elem_comment(struct nftnl_set_elem *e)
{
	uint32_t len = 0;
	const void *ud = nftnl_set_elem_get(e, NFTNL_SET_ELEM_USERDATA, &len);
	const char *comment = NULL;

	if (ud)
		nftnl_udata_parse(ud, len, comment_cb, &comment);
	return comment;
}

/* The frontend (and slot) an element's key names, by its set's layout. */
static int key_unpack(const struct dump *d, const void *key, uint32_t len,
		      struct fe_key *fe, uint16_t *slot)
{
	bool with_slot = d->spec->key[d->spec->n_key - 1] == F_SLOT;

	if (d->spec->fe_kind == FE_NODEPORT)
		return np_key_unpack(d->family, key, len, with_slot, fe, slot);
	if (with_slot)
		return be_key_unpack(d->family, key, len, fe, slot);
	return fe_key_unpack(d->family, key, len, fe);
}

/* source_ranges: a firewall-allow element, frontend . from .. frontend .
 * to (an element without KEY_END is the single address from). */
static void fw_allow_seen(struct dump *d, struct nftnl_set_elem *e, const void *key,
			  uint32_t klen, const char *comment)
{
	uint32_t elen = 0;
	const void *end = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY_END, &elen);
	uint8_t from[16], to[16];
	struct fe_key fe, fe_end;
	struct fw_src src;

	if (fw_key_unpack(d->family, key, klen, &fe, from) < 0)
		return;
	if (!end)
		memcpy(to, from, sizeof(to));
	else if (fw_key_unpack(d->family, end, elen, &fe_end, to) < 0)
		return;
	/* a range over several frontends is none of ours: deleted by its
	 * first address, which lies in the first frontend */
	if (end && memcmp(&fe, &fe_end, sizeof(fe)))
		memcpy(to, from, sizeof(to));
	fw_src_of(d->family, from, to, &src);
	if (end && memcmp(&fe, &fe_end, sizeof(fe)))
		src.len = FW_SRC_POINT;
	if (d->r->firewall_allow)
		d->r->firewall_allow(d->r->arg, &fe, &src, comment);
}

static void elem_seen(struct dump *d, struct nftnl_set_elem *e)
{
	const struct dp_reader *r = d->r;
	uint32_t klen = 0, dlen = 0;
	const void *key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &klen);
	const char *comment = elem_comment(e);
	struct fe_key fe;
	uint16_t slot = 0;

	if (key && d->spec->add_op == CH_FWR_ADD) {
		fw_allow_seen(d, e, key, klen, comment);
		return;
	}
	if (!key || key_unpack(d, key, klen, &fe, &slot) < 0)
		return;
	if (d->spec->add_op == CH_BE_ADD) {
		const void *data = nftnl_set_elem_get(e, NFTNL_SET_ELEM_DATA, &dlen);
		struct be_addr be;

		if (data && be_data_unpack(d->family, data, dlen, &be) == 0 && r->backend)
			r->backend(r->arg, &fe, slot, &be, comment);
	} else if (d->spec->add_op == CH_SVC_ADD) {
		const char *chain = nftnl_set_elem_get_str(e, NFTNL_SET_ELEM_CHAIN);
		struct class_key cls;

		if (chain && class_chain_parse(chain, d->family, &cls) &&
		    cls.kind != CLASS_AFF && r->service)
			r->service(r->arg, &fe, &cls, comment);
	} else if (d->spec->add_op == CH_AFF_ADD) {
		const char *chain = nftnl_set_elem_get_str(e, NFTNL_SET_ELEM_CHAIN);
		struct class_key cls;

		if (chain && class_chain_parse(chain, d->family, &cls) &&
		    cls.kind == CLASS_AFF && r->affine)
			r->affine(r->arg, &fe, &cls);
	} else if (d->spec->add_op == CH_MASQ_ADD) {
		if (r->masq)
			r->masq(r->arg, &fe);
	} else if (d->spec->add_op == CH_FW_ADD) {
		if (r->firewall)
			r->firewall(r->arg, &fe, comment);
	} else if (r->noep) {
		r->noep(r->arg, &fe, comment);
	}
}

static int elem_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct dump *d = arg;
	struct nftnl_set *s = nftnl_set_alloc();
	struct nftnl_set_elems_iter *it;
	struct nftnl_set_elem *e;

	if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
		d->intr = true;
	if (!s || nftnl_set_elems_nlmsg_parse(nlh, s) < 0) {
		if (!d->parse_err)
			d->parse_set = d->set;
		d->parse_err = -EINVAL;
		nftnl_set_free(s);
		return MNL_CB_OK;
	}
	it = nftnl_set_elems_iter_create(s);
	while (it && (e = nftnl_set_elems_iter_next(it)))
		elem_seen(d, e);
	nftnl_set_elems_iter_destroy(it);
	nftnl_set_free(s);
	return MNL_CB_OK;
}

static int read_chains(struct dump *d)
{
	char buf[REQ_BUF] = { 0 };
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nlmsghdr *nlh;

	if (!c || nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, d->dp->table) < 0) {
		nftnl_chain_free(c);
		return -ENOMEM;
	}
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETCHAIN, d->family,
				    NLM_F_DUMP, d->dp->seq++);
	nftnl_chain_nlmsg_build_payload(nlh, c);
	nftnl_chain_free(c);
	return dp_talk(d->dp, nlh, chain_cb, d);
}

static int read_elems(struct dump *d, const char *set)
{
	char buf[REQ_BUF] = { 0 };
	struct nftnl_set *s = nftnl_set_alloc();
	struct nlmsghdr *nlh;

	d->set = set;
	d->spec = spec_set_by_name(set);
	if (!s || !d->spec || nftnl_set_set_str(s, NFTNL_SET_TABLE, d->dp->table) < 0 ||
	    nftnl_set_set_str(s, NFTNL_SET_NAME, set) < 0) {
		nftnl_set_free(s);
		return -ENOMEM;
	}
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSETELEM, d->family,
				    NLM_F_DUMP, d->dp->seq++);
	nftnl_set_elems_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	return dp_talk(d->dp, nlh, elem_cb, d);
}

/* On failure, dp's error says which object was being read. */
static int read_family(struct dump *d)
{
	/* services before their slots: the order the reconciler has always
	 * been fed in (the hairpin set is the packets', not ours) */
	static const char *const sets[] = {
		SET_SERVICES, SET_BACKENDS, SET_NOEP, SET_NODEPORTS, SET_NP_BACKENDS, SET_NP_NOEP,
		SET_MASQ_FE, SET_MASQ_NP, SET_AFFINE, SET_AFFINE_NP,
		SET_FW, SET_FW_ALLOW,	/* source_ranges */
	};
	const char *what = "chains", *how = "";
	int ret = read_chains(d);

	for (size_t i = 0; ret == 0 && i < sizeof(sets) / sizeof(sets[0]); i++) {
		what = sets[i];
		how = "set ";
		ret = read_elems(d, what);
		if (ret == -ENOENT) {
			log_warn("table %s %s has no set %s; it will be created",
				 family_name(d->family), d->dp->table, what);
			ret = 0;
		}
	}
	if (ret == 0 && d->parse_err) {
		what = d->parse_set;
		how = "unparsable elements of set ";
		ret = d->parse_err;
	}
	if (ret < 0)
		dp_error_set(d->dp, "table %s %s, %s%s", family_name(d->family),
			     d->dp->table, how, what);
	return ret;
}

int dp_read(struct dp *dp, const struct dp_reader *r)
{
	static const uint8_t families[] = { AF_INET, AF_INET6 };

	dp->err[0] = '\0';
	dp->n_foreign = 0;
	for (size_t i = 0; i < sizeof(families); i++) {
		struct dump d = { .dp = dp, .r = r, .family = families[i] };
		int ret = dp_table_exists(dp, families[i]);

		if (ret < 0)
			return ret;
		if (ret == 0)
			continue;
		if (r->table)
			r->table(r->arg, families[i]);
		/* A dump that raced with a change is flagged by the kernel;
		 * the caller's state is rebuilt from scratch, so a retry at
		 * this level would double-count: report and let it retry. */
		ret = read_family(&d);
		if (ret < 0)
			return ret;
		if (d.intr) {
			dp_error_set(dp, "table %s %s: changed by another writer while read",
				     family_name(families[i]), dp->table);
			return -EAGAIN;
		}
	}
	return 0;
}

/* ---- the tables' structure ------------------------------------------------
 * Chains and rules, not elements: what a foreign "nft flush chain", an
 * inserted rule or an added chain changes. Hashed in dump order, which
 * only our own commits and foreign edits change. */

struct digest {
	const char *table;
	uint64_t h;
	bool intr;
};

static void mix_in(struct digest *g, uint16_t type, const void *data, size_t len)
{
	g->h = (g->h ^ hash_bytes(data, len)) * 0x100000001b3ULL + type;
}

/* Hashes the attributes of a chain or rule message that describe it (not
 * its handle, use count or counters, which move by themselves). */
static int struct_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct digest *g = arg;
	bool rule = NFNL_MSG_TYPE(nlh->nlmsg_type) == NFT_MSG_NEWRULE, ours = false;
	uint16_t table_attr = rule ? NFTA_RULE_TABLE : NFTA_CHAIN_TABLE;
	const struct nlattr *a;

	if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
		g->intr = true;
	/* a dump may hold every table of the family: only ours counts */
	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg))
		if (mnl_attr_get_type(a) == table_attr)
			ours = !strcmp(mnl_attr_get_str(a), g->table);
	if (!ours)
		return MNL_CB_OK;
	mix_in(g, rule, "", 0);
	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg)) {
		uint16_t t = mnl_attr_get_type(a);

		if (rule ? t == NFTA_RULE_CHAIN || t == NFTA_RULE_EXPRESSIONS ||
			   t == NFTA_RULE_USERDATA :
			   t == NFTA_CHAIN_NAME || t == NFTA_CHAIN_HOOK ||
			   t == NFTA_CHAIN_POLICY || t == NFTA_CHAIN_TYPE)
			mix_in(g, t, mnl_attr_get_payload(a), mnl_attr_get_payload_len(a));
	}
	return MNL_CB_OK;
}

static int dump_struct(struct dp *dp, uint8_t family, uint16_t type, struct digest *g)
{
	char buf[REQ_BUF] = { 0 };
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, type, family, NLM_F_DUMP, dp->seq++);

	mnl_attr_put_strz(nlh, type == NFT_MSG_GETRULE ? NFTA_RULE_TABLE : NFTA_CHAIN_TABLE,
			  dp->table);
	return dp_talk(dp, nlh, struct_cb, g);
}

int dp_struct_digest(struct dp *dp, uint64_t *out)
{
	static const uint8_t families[] = { AF_INET, AF_INET6 };
	struct digest g = { .table = dp->table, .h = 0xcbf29ce484222325ULL };
	int ret = 0;

	for (size_t i = 0; i < sizeof(families) && ret >= 0; i++) {
		int exists = dp_table_exists(dp, families[i]);

		if (exists < 0)
			return exists;
		mix_in(&g, (uint16_t)exists, &families[i], 1);
		if (exists)
			ret = dump_struct(dp, families[i], NFT_MSG_GETCHAIN, &g) ?:
			      dump_struct(dp, families[i], NFT_MSG_GETRULE, &g);
	}
	if (ret == 0 && g.intr)
		ret = -EAGAIN;
	*out = g.h;
	return ret;
}

size_t dp_foreign_chains(const struct dp *dp, char *buf, size_t len)
{
	size_t o = 0;

	if (len)
		buf[0] = '\0';
	for (size_t i = 0; i < dp->n_foreign && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%s %s", i ? ", " : "",
				      family_name(dp->foreign[i].family), dp->foreign[i].name);
	return dp->n_foreign;
}

/* Reading vipd's own tables back: at start, on SIGHUP and after a failed
 * commit, so vipd converges from what the kernel really holds. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/netfilter/nf_tables.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

#include "dp_internal.h"
#include "log.h"

/* Large enough that the kernel fills each dump message fully (it sizes
 * dump skbs by the reader's buffer) and a big map reads in few calls. */
#define DUMP_BUF	(256 * 1024)

struct dump {
	struct dp *dp;
	const struct dp_reader *r;
	uint8_t family;
	const char *set;
	bool intr;
	int parse_err;
	const char *parse_set;	/* the set of the first unparsable message */
};

typedef int (*dump_cb)(const struct nlmsghdr *nlh, void *arg);

/* Sends the request in buf and feeds each reply to cb until the kernel is
 * done. Returns 0, -ENOENT (object absent) or another negative errno. */
static int talk(struct dp *dp, struct nlmsghdr *req, dump_cb cb, void *arg)
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
		ret = talk(dp, nlh, table_cb, &found);
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
	if (!strcmp(nftnl_chain_get_str(c, NFTNL_CHAIN_TABLE), d->dp->table) &&
	    class_chain_parse(nftnl_chain_get_str(c, NFTNL_CHAIN_NAME), d->family, &cls) &&
	    d->r->class_chain)
		d->r->class_chain(d->r->arg, &cls);
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

static void elem_seen(struct dump *d, struct nftnl_set_elem *e)
{
	const struct dp_reader *r = d->r;
	uint32_t klen = 0, dlen = 0;
	const void *key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &klen);
	const char *comment = elem_comment(e);
	struct fe_key fe;

	if (!key)
		return;
	if (!strcmp(d->set, SET_BACKENDS)) {
		const void *data = nftnl_set_elem_get(e, NFTNL_SET_ELEM_DATA, &dlen);
		struct be_addr be;
		uint16_t slot;

		if (data && be_key_unpack(d->family, key, klen, &fe, &slot) == 0 &&
		    be_data_unpack(d->family, data, dlen, &be) == 0 && r->backend)
			r->backend(r->arg, &fe, slot, &be, comment);
	} else if (!strcmp(d->set, SET_SERVICES)) {
		const char *chain = nftnl_set_elem_get_str(e, NFTNL_SET_ELEM_CHAIN);
		struct class_key cls;

		if (chain && fe_key_unpack(d->family, key, klen, &fe) == 0 &&
		    class_chain_parse(chain, d->family, &cls) && r->service)
			r->service(r->arg, &fe, &cls, comment);
	} else if (fe_key_unpack(d->family, key, klen, &fe) == 0 && r->noep) {
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
	return talk(d->dp, nlh, chain_cb, d);
}

static int read_elems(struct dump *d, const char *set)
{
	char buf[REQ_BUF] = { 0 };
	struct nftnl_set *s = nftnl_set_alloc();
	struct nlmsghdr *nlh;

	d->set = set;
	if (!s || nftnl_set_set_str(s, NFTNL_SET_TABLE, d->dp->table) < 0 ||
	    nftnl_set_set_str(s, NFTNL_SET_NAME, set) < 0) {
		nftnl_set_free(s);
		return -ENOMEM;
	}
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSETELEM, d->family,
				    NLM_F_DUMP, d->dp->seq++);
	nftnl_set_elems_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	return talk(d->dp, nlh, elem_cb, d);
}

/* On failure, dp's error says which object was being read. */
static int read_family(struct dump *d)
{
	/* the order the reconciler has always been fed in */
	static const char *const sets[] = { SET_SERVICES, SET_BACKENDS, SET_NOEP };
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

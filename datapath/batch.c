/* The netlink side: one socket, one transaction per commit, every error
 * mapped back to the object it was for. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <libnftnl/gen.h>

#include "dp_internal.h"
#include "log.h"
#include "model.h"
#include "nft.h"

/* Room for the error replies of a batch in which every message failed
 * (each reply is ~40 bytes with NETLINK_CAP_ACK), so none is dropped. */
#define RCVBUF_MIN	(4 * 1024 * 1024)

int dp_open(const char *table, const struct dp_opts *opts, struct dp **out)
{
	struct dp *dp = calloc(1, sizeof(*dp));
	int one = 1, rcv = RCVBUF_MIN;

	if (!dp)
		return -ENOMEM;
	if (opts)
		dp->opts = *opts;
	snprintf(dp->table, sizeof(dp->table), "%s", table);
	dp->nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!dp->nl || mnl_socket_bind(dp->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int err = -errno;

		dp_close(dp);
		return err;
	}
	dp->portid = mnl_socket_get_portid(dp->nl);
	dp->seq = (uint32_t)time(NULL);
	/* Errors come back without the request echoed, with the kernel's
	 * extended message where it has one. */
	mnl_socket_setsockopt(dp->nl, NETLINK_CAP_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(dp->nl, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(mnl_socket_get_fd(dp->nl), SOL_SOCKET, SO_RCVBUFFORCE,
		   &rcv, sizeof(rcv));
	*out = dp;
	return 0;
}

/* The first failure of a call is the one its caller reports. */
void dp_error_set(struct dp *dp, const char *fmt, ...)
{
	va_list ap;

	if (dp->err[0])
		return;
	va_start(ap, fmt);
	vsnprintf(dp->err, sizeof(dp->err), fmt, ap);
	va_end(ap);
}

const char *dp_error(const struct dp *dp)
{
	return dp->err;
}

void dp_close(struct dp *dp)
{
	if (!dp)
		return;
	if (dp->nl)
		mnl_socket_close(dp->nl);
	free(dp);
}

static const char *ext_ack_msg(const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;
	size_t off = sizeof(*e);

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return NULL;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - sizeof(e->msg);
	mnl_attr_for_each(a, nlh, off)
		if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG)
			return mnl_attr_get_str(a);
	return NULL;
}

static void report(const struct txn *t, const struct nlmsghdr *nlh, int error)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	const struct msg_ref *r = txn_ref(t, e->msg.nlmsg_seq);
	const char *why = ext_ack_msg(nlh);
	char vip[ADDR_STRLEN] = "?";

	if (r && r->ch) {
		struct vaddr a = { .family = r->ch->fe.family };

		memcpy(a.bytes, r->ch->fe.addr, sizeof(a.bytes));
		log_err("kernel refused %s %s . %s . %u (%s): %s%s%s", r->what,
			addr_format(&a, vip), model_proto_name(r->ch->fe.proto),
			r->ch->fe.port, r->ch->comment ? r->ch->comment : "-",
			strerror(error), why ? ": " : "", why ? why : "");
	} else {
		log_err("kernel refused %s of table %s: %s%s%s", r ? r->what : "a message",
			t->table, strerror(error), why ? ": " : "", why ? why : "");
	}
}

static uint32_t gen_parse(const struct nlmsghdr *nlh, uint32_t dflt)
{
	struct nftnl_gen *g = nftnl_gen_alloc();
	uint32_t id = dflt;

	if (g && nftnl_gen_nlmsg_parse(nlh, g) == 0 && nftnl_gen_is_set(g, NFTNL_GEN_ID))
		id = nftnl_gen_get_u32(g, NFTNL_GEN_ID);
	nftnl_gen_free(g);
	return id;
}

/* The batch carries no NLM_F_ACK, so the kernel answers only failures; a
 * GETGEN sent after it is answered after them, which tells us we have
 * read every error there will be. */
static int send_sentinel(struct dp *dp, uint32_t seq)
{
	char buf[REQ_BUF] = { 0 };
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETGEN, AF_UNSPEC,
						     0, seq);

	return mnl_socket_sendto(dp->nl, nlh, nlh->nlmsg_len) < 0 ? -errno : 0;
}

static int read_replies(struct dp *dp, const struct txn *t, uint32_t sentinel)
{
	static char buf[1 << 16];
	int first = 0;

	for (;;) {
		ssize_t n = mnl_socket_recvfrom(dp->nl, buf, sizeof(buf));
		const struct nlmsghdr *nlh = (const void *)buf;
		int len = (int)n;

		if (n < 0)
			return errno == ENOBUFS ? -ENOBUFS : -errno;
		for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

				if (e->error) {
					report(t, nlh, -e->error);
					first = first ?: e->error;
				}
				if (e->msg.nlmsg_seq == sentinel)
					return first;
			} else if (nlh->nlmsg_seq == sentinel) {
				dp->genid = gen_parse(nlh, dp->genid);
				return first;
			}
		}
	}
}

static int send_batch(struct dp *dp, struct txn *t)
{
	int n_iov = nftnl_batch_iovec_len(t->batch);
	struct iovec *iov = calloc((size_t)n_iov, sizeof(*iov));
	struct sockaddr_nl snl = { .nl_family = AF_NETLINK };
	struct msghdr msg = {
		.msg_name = &snl, .msg_namelen = sizeof(snl),
		.msg_iov = iov, .msg_iovlen = (size_t)n_iov,
	};
	size_t total = 0;
	int sndbuf;
	ssize_t ret;

	if (!iov)
		return -ENOMEM;
	nftnl_batch_iovec(t->batch, iov, (uint32_t)n_iov);
	for (int i = 0; i < n_iov; i++)
		total += iov[i].iov_len;
	/* The whole transaction must arrive as one datagram: the kernel
	 * aborts a batch whose END is not in the same message. */
	sndbuf = total + 4096 > INT32_MAX ? INT32_MAX : (int)(total + 4096);
	setsockopt(mnl_socket_get_fd(dp->nl), SOL_SOCKET, SO_SNDBUFFORCE,
		   &sndbuf, sizeof(sndbuf));
	ret = sendmsg(mnl_socket_get_fd(dp->nl), &msg, 0);
	free(iov);
	if (ret < 0)
		return -errno;
	return 0;
}

static bool op_is_delete(uint8_t op)
{
	return op == CH_SVC_DEL || op == CH_BE_DEL || op == CH_NOEP_DEL || op == CH_MASQ_DEL ||
	       op == CH_AFF_DEL ||
	       op == CH_FW_DEL || op == CH_FWR_DEL;	/* source_ranges */
}

static bool op_is_elem_add(uint8_t op)
{
	return op == CH_SVC_ADD || op == CH_BE_ADD || op == CH_NOEP_ADD || op == CH_MASQ_ADD ||
	       op == CH_AFF_ADD ||
	       op == CH_FW_ADD || op == CH_FWR_ADD;	/* source_ranges */
}

/* Chains in our tables that vipd does not make go after the base chains'
 * rules are rewritten (nothing of ours jumps to them any more); their own
 * rules go first, since a foreign chain may jump to another one and the
 * kernel refuses to delete a chain something still jumps to. */
static int foreign_del_build(const struct dp *dp, struct txn *t)
{
	int ret = 0;

	for (size_t i = 0; ret == 0 && i < dp->n_foreign; i++)
		ret = nft_chain_flush_build(t, dp->foreign[i].family, dp->foreign[i].name);
	for (size_t i = 0; ret == 0 && i < dp->n_foreign; i++)
		ret = nft_chain_del_build(t, dp->foreign[i].family, dp->foreign[i].name);
	return ret;
}

/* Order inside the transaction: chains the new elements jump to, then
 * element deletions (so a slot can be deleted and re-added), additions,
 * and last the chains nothing jumps to any more. Stops at the first
 * builder that fails: a transaction missing a message is never sent. */
static int build(const struct dp *dp, struct txn *t, const struct changes *c, bool ensure_base)
{
	int ret = txn_begin(t);

	if (ret == 0 && ensure_base)
		ret = nft_base_build(t, AF_INET, &dp->opts) ?: nft_base_build(t, AF_INET6, &dp->opts);
	if (ret == 0 && ensure_base)
		ret = foreign_del_build(dp, t);
	for (size_t i = 0; ret == 0 && i < c->n; i++)
		if (c->v[i].op == CH_CLASS_ADD)
			ret = nft_class_build(t, &c->v[i].cls);
	for (size_t i = 0; ret == 0 && i < c->n;)
		if (op_is_delete(c->v[i].op))
			ret = nft_elems_build(t, c, &i);
		else
			i++;
	for (size_t i = 0; ret == 0 && i < c->n;)
		if (op_is_elem_add(c->v[i].op))
			ret = nft_elems_build(t, c, &i);
		else
			i++;
	for (size_t i = 0; ret == 0 && i < c->n; i++)
		if (c->v[i].op == CH_CLASS_DEL)
			ret = nft_class_del_build(t, &c->v[i].cls);
	return ret ?: txn_end(t);
}

int dp_transact(struct dp *dp, struct txn *t)
{
	uint32_t sentinel = t->seq++;
	int ret;

	if (t->err) {
		log_err("building the netlink batch: %s", strerror(-t->err));
		return t->err;
	}
	ret = send_batch(dp, t);
	if (ret == 0)
		ret = send_sentinel(dp, sentinel);
	if (ret == 0)
		ret = read_replies(dp, t, sentinel);
	else
		log_err("sending the netlink batch: %s", strerror(-ret));
	dp->seq = t->seq;
	return ret > 0 ? -ret : ret;
}

int dp_genid(struct dp *dp, uint32_t *id)
{
	struct txn t = { .table = dp->table };
	uint32_t seq = dp->seq++;
	int ret = send_sentinel(dp, seq);

	/* an empty txn: every error would be reported as "a message" */
	ret = ret ?: read_replies(dp, &t, seq);
	*id = dp->genid;
	return ret > 0 ? -ret : ret;
}

/* ---- commits too large for one transaction ------------------------------
 * sendmsg takes at most UIO_MAXIOV (1024) iovecs, one per batch page
 * (128 KiB): past ~126 MB (a cold start of a million services) a batch
 * cannot be sent at all. Such a commit goes in consecutive transactions of
 * whole frontends: the class chains first, then frontend by frontend its
 * deletions and additions together (so no packet finds a service without
 * its backends, or a slot between its deletion and re-addition), and last
 * the class chains nothing jumps to any more. */
#define TXN_PAGES_MAX	512

static const struct changes *sort_changes;

static int fe_order(const void *a, const void *b)
{
	const size_t *x = a, *y = b;
	int r = memcmp(&sort_changes->v[*x].fe, &sort_changes->v[*y].fe,
		       sizeof(sort_changes->v[0].fe));

	return r ? r : (*x > *y) - (*x < *y);
}

/* The element changes of c, frontend by frontend, in their order within a
 * frontend. The copy shares the comments (freed with free(out->v) only). */
static int by_frontend(const struct changes *c, struct changes *out)
{
	size_t *idx = malloc((c->n + 1) * sizeof(*idx)), n = 0;

	out->v = malloc((c->n + 1) * sizeof(*out->v));
	if (!idx || !out->v) {
		free(idx);
		free(out->v);
		out->v = NULL;
		return -ENOMEM;
	}
	for (size_t i = 0; i < c->n; i++)
		if (c->v[i].op != CH_CLASS_ADD && c->v[i].op != CH_CLASS_DEL)
			idx[n++] = i;
	sort_changes = c;
	qsort(idx, n, sizeof(*idx), fe_order);
	for (size_t i = 0; i < n; i++)
		out->v[i] = c->v[idx[i]];
	out->n = out->cap = n;
	free(idx);
	return 0;
}

/* Deletions, then additions, of the frontend at s->v[*i]; *i moves past it. */
static int build_frontend(struct txn *t, const struct changes *s, size_t *i)
{
	size_t end = *i;
	int ret = 0;

	while (end < s->n && !memcmp(&s->v[end].fe, &s->v[*i].fe, sizeof(s->v[0].fe)))
		end++;
	for (size_t j = *i; ret == 0 && j < end;)
		if (op_is_delete(s->v[j].op))
			ret = nft_elems_build(t, s, &j);
		else
			j++;
	for (size_t j = *i; ret == 0 && j < end;)
		if (op_is_elem_add(s->v[j].op))
			ret = nft_elems_build(t, s, &j);
		else
			j++;
	*i = end;
	return ret;
}

static int commit_split(struct dp *dp, const struct changes *c, bool ensure_base)
{
	struct changes s = { 0 };
	size_t i = 0, txns = 0;
	int ret = by_frontend(c, &s);

	while (ret == 0 && (txns == 0 || i < s.n)) {
		struct txn t;

		if ((ret = txn_init(&t, dp->table, dp->seq)) < 0)
			break;
		ret = txn_begin(&t);
		if (ret == 0 && txns == 0 && ensure_base)
			ret = nft_base_build(&t, AF_INET, &dp->opts) ?:
			      nft_base_build(&t, AF_INET6, &dp->opts);
		if (ret == 0 && txns == 0 && ensure_base)
			ret = foreign_del_build(dp, &t);
		for (size_t k = 0; ret == 0 && txns == 0 && k < c->n; k++)
			if (c->v[k].op == CH_CLASS_ADD)
				ret = nft_class_build(&t, &c->v[k].cls);
		while (ret == 0 && i < s.n && nftnl_batch_iovec_len(t.batch) < TXN_PAGES_MAX)
			ret = build_frontend(&t, &s, &i);
		for (size_t k = 0; ret == 0 && i == s.n && k < c->n; k++)
			if (c->v[k].op == CH_CLASS_DEL)
				ret = nft_class_del_build(&t, &c->v[k].cls);
		if (ret == 0)
			txn_end(&t);
		ret = dp_transact(dp, &t);
		txn_fini(&t);
		txns++;
	}
	free(s.v);
	if (ret == 0)
		log_info("committed %zu changes in %zu transactions (one would pass the kernel's %d-page limit), frontend by frontend",
			 c->n, txns, 1024);
	return ret;
}

int dp_commit(struct dp *dp, const struct changes *c, bool ensure_base)
{
	struct txn t;
	int ret;

	if (!c->n && !ensure_base)
		return 0;
	ret = txn_init(&t, dp->table, dp->seq);
	if (ret < 0)
		return ret;
	build(dp, &t, c, ensure_base);	/* a failure is in t.err: dp_transact reports it */
	if (!t.err && nftnl_batch_iovec_len(t.batch) > TXN_PAGES_MAX) {
		txn_fini(&t);
		ret = commit_split(dp, c, ensure_base);
	} else {
		ret = dp_transact(dp, &t);
		txn_fini(&t);
	}
	if (ret == 0 && ensure_base)
		dp->n_foreign = 0;
	return ret;
}

int dp_cleanup(struct dp *dp)
{
	static const uint8_t families[] = { AF_INET, AF_INET6 };
	int ret = 0, removed = 0;

	dp->err[0] = '\0';
	/* One transaction per table, so a missing one does not keep the
	 * other from going. */
	for (size_t i = 0; i < sizeof(families); i++) {
		struct txn t;
		int err;

		err = dp_table_exists(dp, families[i]);
		if (err <= 0) {
			ret = ret ?: err;
			continue;
		}
		err = txn_init(&t, dp->table, dp->seq);
		if (err < 0)
			return err;
		/* a failure is in t.err: dp_transact reports it */
		if (txn_begin(&t) == 0 && nft_table_del_build(&t, families[i]) == 0)
			txn_end(&t);
		err = dp_transact(dp, &t);
		txn_fini(&t);
		ret = ret ?: err;
		removed += !err;
	}
	return ret ?: removed;
}

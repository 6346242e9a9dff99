/* nl_parse.h: helpers of the netlink unit tests: the messages of a batch,
 * copied out of its pages, and their userdata (no socket, no root). */
#ifndef VIPD_TESTS_NL_PARSE_H
#define VIPD_TESTS_NL_PARSE_H

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

static inline void msgs_collect(struct txn *t, struct msgs *m)
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

static inline uint16_t msg_type(const struct nlmsghdr *nlh)
{
	return nlh->nlmsg_type & 0xff;
}

/* A transaction of the given builder's messages, without BEGIN/END. */
static inline void txn_start(struct txn *t)
{
	assert_int_equal(txn_init(t, "vipd", 1), 0);
}

/* ---- userdata ----------------------------------------------------------- */

struct ud_find {
	uint8_t type;
	const char *str;
	bool typeof_key, typeof_data;
};

static inline int ud_cb(const struct nftnl_udata *attr, void *data)
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

static inline struct ud_find ud_parse(const void *ud, uint32_t len, uint8_t type)
{
	struct ud_find f = { .type = type };

	assert_non_null(ud);
	assert_int_equal(nftnl_udata_parse(ud, len, ud_cb, &f), 0);
	return f;
}

#endif

/* Session affinity entries of backends that left: the packets fill the
 * affinity map, so vipd finds a backend's entries by reading it, and
 * deletes them in one transaction right after the commit that removed the
 * backend (no new entry can name it then). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <linux/netfilter/nf_tables.h>
#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <libnftnl/set.h>

#include "addr.h"
#include "dp_internal.h"

#define KEY_AFF_MAX	40	/* 16 + 16 + 4 + 4 */
#define DEL_PER_MSG	256	/* keys per message, well under MSG_MAX */

struct purge {
	const struct changes *c;
	uint8_t family;
	uint8_t (*keys)[KEY_AFF_MAX];	/* the entries to delete */
	size_t n, cap;
	uint32_t klen;
	int err;
};

/* Key: saddr . daddr . l4proto . port, data: backend address . port, each
 * field in its own 32-bit words (nft.h). */
static bool entry_matches(const struct change *ch, const uint8_t *key, const uint8_t *data,
			  uint8_t family)
{
	unsigned a = addr_len(family);
	uint16_t port = htons(ch->fe.port), be_port = htons(ch->be.port);

	if (ch->op != CH_AFF_PURGE || ch->fe.family != family || key[2 * a] != ch->fe.proto ||
	    memcmp(key + 2 * a + 4, &port, 2))
		return false;
	/* a node port's clients asked for any local address */
	if (ch->fe.kind == FE_ADDR && memcmp(key + a, ch->fe.addr, a))
		return false;
	return !ch->be.port || (!memcmp(data, ch->be.addr, a) && !memcmp(data + a, &be_port, 2));
}

static void entry_seen(struct purge *p, struct nftnl_set_elem *e)
{
	uint32_t klen = 0, dlen = 0;
	unsigned a = addr_len(p->family);
	const uint8_t *key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &klen);
	const uint8_t *data = nftnl_set_elem_get(e, NFTNL_SET_ELEM_DATA, &dlen);

	if (!key || !data || klen != 2 * a + 8 || dlen != a + 4)
		return;
	for (size_t i = 0; i < p->c->n; i++) {
		if (!entry_matches(&p->c->v[i], key, data, p->family))
			continue;
		if (p->n == p->cap) {
			size_t cap = p->cap ? 2 * p->cap : 64;
			void *v = realloc(p->keys, cap * sizeof(*p->keys));

			if (!v) {
				p->err = -ENOMEM;
				return;
			}
			p->keys = v;
			p->cap = cap;
		}
		memcpy(p->keys[p->n++], key, klen);
		p->klen = klen;
		return;
	}
}

static int dump_cb_(const struct nlmsghdr *nlh, void *arg)
{
	struct purge *p = arg;
	struct nftnl_set *s = nftnl_set_alloc();
	struct nftnl_set_elems_iter *it;
	struct nftnl_set_elem *e;

	if (!s || nftnl_set_elems_nlmsg_parse(nlh, s) < 0) {
		nftnl_set_free(s);
		return MNL_CB_OK;	/* not ours to judge: nothing deleted for it */
	}
	it = nftnl_set_elems_iter_create(s);
	while (it && (e = nftnl_set_elems_iter_next(it)))
		entry_seen(p, e);
	nftnl_set_elems_iter_destroy(it);
	nftnl_set_free(s);
	return MNL_CB_OK;
}

static struct nftnl_set *set_of(const struct dp *dp, uint8_t family)
{
	struct nftnl_set *s = nftnl_set_alloc();

	if (s && (nftnl_set_set_str(s, NFTNL_SET_TABLE, dp->table) < 0 ||
		  nftnl_set_set_str(s, NFTNL_SET_NAME, "affinity") < 0)) {
		nftnl_set_free(s);
		return NULL;
	}
	if (s)
		nftnl_set_set_u32(s, NFTNL_SET_FAMILY, family);
	return s;
}

/* One message of keys[at..at+n). */
static int del_msg(const struct dp *dp, struct txn *t, const struct purge *p, size_t at,
		   size_t n)
{
	struct nftnl_set *s = set_of(dp, p->family);
	struct nlmsghdr *nlh;
	int ret = -ENOMEM;

	for (size_t i = at; s && i < at + n; i++) {
		struct nftnl_set_elem *e = nftnl_set_elem_alloc();

		if (!e || nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, p->keys[i], p->klen) < 0) {
			nftnl_set_elem_free(e);
			goto out;
		}
		nftnl_set_elem_add(s, e);
	}
	if (s && (nlh = msg_start(t, NFT_MSG_DELSETELEM, p->family, 0, NULL,
				  "delete affinity element"))) {
		nftnl_set_elems_nlmsg_build_payload(nlh, s);
		ret = msg_done(t);
	}
out:
	nftnl_set_free(s);
	return ret;
}

static int purge_delete(struct dp *dp, struct purge *p)
{
	struct txn t;
	int ret = txn_init(&t, dp->table, dp->seq) ?: txn_begin(&t);

	for (size_t at = 0; ret == 0 && at < p->n; at += DEL_PER_MSG)
		ret = del_msg(dp, &t, p, at, p->n - at < DEL_PER_MSG ? p->n - at : DEL_PER_MSG);
	ret = ret ?: txn_end(&t);
	if (ret == 0)
		ret = dp_transact(dp, &t);
	txn_fini(&t);
	return ret;
}

static int purge_family(struct dp *dp, const struct changes *c, uint8_t family)
{
	char buf[REQ_BUF] = { 0 };
	struct purge p = { .c = c, .family = family };
	struct nftnl_set *req = set_of(dp, family);
	struct nlmsghdr *nlh;
	int ret = -ENOMEM;

	if (req) {
		nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSETELEM, family, NLM_F_DUMP, dp->seq++);
		nftnl_set_elems_nlmsg_build_payload(nlh, req);
		ret = dp_talk(dp, nlh, dump_cb_, &p) ?: p.err;
	}
	if (ret == 0 && p.n)
		ret = purge_delete(dp, &p);
	if (ret < 0)
		dp_error_set(dp, "table %s %s, map affinity: removing the entries of backends that left",
			     family_name(family), dp->table);
	nftnl_set_free(req);
	free(p.keys);
	return ret < 0 ? ret : (int)p.n;
}

int dp_affinity_purge(struct dp *dp, const struct changes *c)
{
	static const uint8_t families[] = { AF_INET, AF_INET6 };
	int total = 0;

	dp->err[0] = '\0';
	for (size_t f = 0; f < sizeof(families); f++) {
		bool any = false;
		int ret = 0;

		for (size_t i = 0; i < c->n && !any; i++)
			any = c->v[i].op == CH_AFF_PURGE && c->v[i].fe.family == families[f];
		/* an entry that expired between the read and the delete fails
		 * the delete: read again, once */
		for (int tries = 0; any && tries < 2; tries++)
			if ((ret = purge_family(dp, c, families[f])) >= 0)
				break;
		if (ret < 0)
			return ret;
		total += ret;
	}
	return total;
}

/* A transaction under construction: nftnl batch pages, and which object
 * each message was for. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <libmnl/libmnl.h>
#include <libnftnl/batch.h>
#include <libnftnl/common.h>

#include "nft.h"

/* Pages of the batch; a message may overrun a page by up to this much,
 * which bounds one message (the kernel caps attributes at 64 KiB). */
#define BATCH_PAGE	(getpagesize() * 32)

int txn_init(struct txn *t, const char *table, uint32_t first_seq)
{
	memset(t, 0, sizeof(*t));
	t->table = table;
	t->seq = first_seq;
	t->batch = nftnl_batch_alloc(BATCH_PAGE, MSG_MAX);
	t->scratch = calloc(1, MSG_MAX);
	return t->batch && t->scratch ? 0 : -ENOMEM;
}

void txn_fini(struct txn *t)
{
	nftnl_batch_free(t->batch);
	free(t->scratch);
	free(t->refs);
}

int txn_fail(struct txn *t, int err)
{
	if (!t->err)
		t->err = err;
	return err;
}

static int ref_add(struct txn *t, uint32_t seq, const struct change *ch,
		    const char *fmt, const char *name)
{
	struct msg_ref *r;

	if (t->n_refs == t->cap_refs) {
		size_t cap = t->cap_refs ? t->cap_refs * 2 : 256;
		struct msg_ref *refs = realloc(t->refs, cap * sizeof(*refs));

		if (!refs)
			return txn_fail(t, -ENOMEM);
		t->refs = refs;
		t->cap_refs = cap;
	}
	r = &t->refs[t->n_refs++];
	r->seq = seq;
	r->ch = ch;
	snprintf(r->what, sizeof(r->what), fmt, name);
	return 0;
}

const struct msg_ref *txn_ref(const struct txn *t, uint32_t seq)
{
	size_t lo = 0, hi = t->n_refs;

	/* refs are appended in sequence order */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (t->refs[mid].seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < t->n_refs && t->refs[lo].seq == seq ? &t->refs[lo] : NULL;
}

int txn_begin(struct txn *t)
{
	if (ref_add(t, t->seq, NULL, "%s", "batch") < 0)
		return t->err;
	nftnl_batch_begin(nftnl_batch_buffer(t->batch), t->seq++);
	return nftnl_batch_update(t->batch) < 0 ? txn_fail(t, -ENOMEM) : 0;
}

int txn_end(struct txn *t)
{
	nftnl_batch_end(nftnl_batch_buffer(t->batch), t->seq++);
	return nftnl_batch_update(t->batch) < 0 ? txn_fail(t, -ENOMEM) : 0;
}

struct nlmsghdr *msg_start(struct txn *t, uint16_t type, uint8_t family,
				  uint16_t flags, const struct change *ch,
				  const char *what)
{
	if (ref_add(t, t->seq, ch, "%s", what) < 0)
		return NULL;
	return nftnl_nlmsg_build_hdr(t->scratch, type, family, flags, t->seq++);
}

/* Messages are built in a zeroed scratch buffer and copied into the batch:
 * libmnl leaves attribute padding as it finds it, and batch pages are not
 * zeroed, so building in place would hand the kernel stale heap bytes. */
int msg_done(struct txn *t)
{
	const struct nlmsghdr *nlh = (const void *)t->scratch;

	memcpy(nftnl_batch_buffer(t->batch), t->scratch, nlh->nlmsg_len);
	memset(t->scratch, 0, nlh->nlmsg_len);
	return nftnl_batch_update(t->batch) < 0 ? txn_fail(t, -ENOMEM) : 0;
}


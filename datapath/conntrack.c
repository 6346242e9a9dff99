/* Deleting stale conntrack entries: dump one family on one handle, delete
 * each match on a second. A delete cannot go on the dumping handle: its
 * ACK would be read in the middle of the dump's multipart reply. This is
 * what conntrack-tools' `conntrack -D` does, with the matching done here
 * (ct_match.c) so that N matches cost one dump, not N. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>

#include "conntrack.h"
#include "ct_match.h"

struct ct {
	/* NULL after a failed dump: unread parts of its reply may still sit in
	 * the socket, so the next ct_delete opens a fresh one. */
	struct nfct_handle *dump;
	struct nfct_handle *del;
	/* The running ct_delete, for the dump callback. */
	const struct ct_set *set;
	int deleted;
	int err;		/* first failed delete; later matches are skipped */
	char errbuf[192];
};

static void set_error(struct ct *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->errbuf, sizeof(c->errbuf), fmt, ap);
	va_end(ap);
}

static int on_entry(enum nf_conntrack_msg_type type, struct nf_conntrack *ct, void *data);

/* No event groups: the handles only ever see replies to their own requests. */
static int dump_open(struct ct *c)
{
	c->dump = nfct_open(CONNTRACK, 0);
	if (!c->dump)
		return errno ? -errno : -EIO;
	if (nfct_callback_register(c->dump, NFCT_T_ALL, on_entry, c) < 0) {
		nfct_close(c->dump);
		c->dump = NULL;
		return -ENOMEM;
	}
	return 0;
}

int ct_open(struct ct **out)
{
	struct ct *c;
	int r;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->del = nfct_open(CONNTRACK, 0);
	if (!c->del) {
		r = errno ? -errno : -EIO;
		goto fail;
	}
	r = dump_open(c);
	if (r < 0)
		goto fail;
	*out = c;
	return 0;
fail:
	ct_close(c);
	return r;
}

void ct_close(struct ct *c)
{
	if (!c)
		return;
	if (c->dump) {
		nfct_callback_unregister(c->dump);
		nfct_close(c->dump);
	}
	if (c->del)
		nfct_close(c->del);
	free(c);
}

const char *ct_error(const struct ct *c)
{
	return c->errbuf;
}

static const char *entry_text(const struct nf_conntrack *ct, char *buf, size_t len)
{
	if (nfct_snprintf(buf, len, ct, NFCT_T_UNKNOWN, NFCT_O_DEFAULT, 0) < 0)
		snprintf(buf, len, "?");
	return buf;
}

/* The entry is deleted by its original tuple and its id: an entry made
 * since the dump under the same tuple has another id and stays (-ENOENT),
 * rightly so, since it was made after the commit that made ours stale. */
static void entry_delete(struct ct *c, const struct nf_conntrack *ct)
{
	char text[128];

	if (nfct_query(c->del, NFCT_Q_DESTROY, ct) == 0) {
		c->deleted++;
		return;
	}
	if (errno == ENOENT)
		return;
	c->err = errno ? -errno : -EIO;
	set_error(c, "conntrack delete of %s: %s",
		  entry_text(ct, text, sizeof(text)), strerror(-c->err));
}

/* Always continues: stopping would leave the rest of the dump unread in the
 * socket. After a failed delete the remaining entries are only read.
 * Deleting the entry a dump would resume from makes the kernel restart that
 * hash bucket, so an entry may come twice: its second delete is -ENOENT,
 * which keeps the count exact. */
static int on_entry(enum nf_conntrack_msg_type type, struct nf_conntrack *ct, void *data)
{
	struct ct *c = data;

	if (!c->err && ct_set_matches(c->set, ct))
		entry_delete(c, ct);
	return NFCT_CB_CONTINUE;
}

/* libnetfilter-conntrack 1.0.9 filters dumps in the kernel by family, mark
 * and status only (a protocol filter came with 1.1.0); the status filter
 * needs Linux 6.1 and older kernels ignore it, so ct_set_matches still
 * checks every entry. */
static int dump_family(struct ct *c, uint8_t family)
{
	struct nfct_filter_dump_mark st = { .mask = IPS_DST_NAT };
	struct nfct_filter_dump *f;
	int r;

	if (!c->dump && (r = dump_open(c)) < 0) {
		set_error(c, "conntrack: reopening the dump handle: %s", strerror(-r));
		return r;
	}
	f = nfct_filter_dump_create();
	if (!f) {
		set_error(c, "conntrack: out of memory for a dump filter");
		return -ENOMEM;
	}
	nfct_filter_dump_set_attr_u8(f, NFCT_FILTER_DUMP_L3NUM, family);
	switch (ct_set_status_filter(c->set, family)) {
	case CT_STATUS_DNAT:
		st.val = IPS_DST_NAT;
		nfct_filter_dump_set_attr(f, NFCT_FILTER_DUMP_STATUS, &st);
		break;
	case CT_STATUS_NO_DNAT:
		nfct_filter_dump_set_attr(f, NFCT_FILTER_DUMP_STATUS, &st);
		break;
	case CT_STATUS_ANY:
		break;
	}
	r = nfct_query(c->dump, NFCT_Q_DUMP_FILTER, f) < 0 ? (errno ? -errno : -EIO) : 0;
	nfct_filter_dump_destroy(f);
	if (r < 0) {
		set_error(c, "conntrack dump (%s): %s",
			  family == AF_INET ? "ipv4" : "ipv6", strerror(-r));
		nfct_callback_unregister(c->dump);
		nfct_close(c->dump);
		c->dump = NULL;
	}
	return r;
}

int ct_delete(struct ct *c, const struct ct_match *m, size_t n)
{
	static const uint8_t families[] = { AF_INET, AF_INET6 };
	struct ct_set *set;
	int r;

	c->errbuf[0] = '\0';
	if (n == 0)
		return 0;
	r = ct_set_build(&set, m, n, c->errbuf, sizeof(c->errbuf));
	if (r < 0)
		return r;
	c->set = set;
	c->deleted = 0;
	c->err = 0;
	for (size_t i = 0; i < sizeof(families) && r == 0 && !c->err; i++)
		if (ct_set_has_family(set, families[i]))
			r = dump_family(c, families[i]);
	c->set = NULL;
	ct_set_free(set);
	if (r < 0)
		return r;
	return c->err ? c->err : c->deleted;
}

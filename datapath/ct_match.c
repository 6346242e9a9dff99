/* The matches of one ct_delete as a hash set of fixed-size keys, and the
 * same key taken from a dumped entry: one or two lookups per entry keep a
 * dump of E entries against N matches at O(E + N). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>

#include "addr.h"
#include "ct_match.h"
#include "hmap.h"

/* Hashed and compared byte for byte: zeroed before it is filled, and laid
 * out without padding (4 + 4 + 16 + 16 bytes). */
struct ct_key {
	uint8_t family;
	uint8_t proto;
	uint8_t kind;		/* enum ct_kind */
	uint8_t any_dst;
	uint16_t port;
	uint16_t be_port;	/* 0 for CT_UNNATED */
	uint8_t dst[16];	/* zero with any_dst */
	uint8_t be[16];		/* zero for CT_UNNATED */
};
_Static_assert(sizeof(struct ct_key) == 40, "struct ct_key has padding");

enum { FAM_V4, FAM_V6, FAM_N };

struct ct_set {
	struct hmap *keys;	/* struct ct_key -> the set itself (a non-NULL mark) */
	uint8_t kinds[FAM_N];	/* bit (1 << kind) per kind present */
};

static int fam_index(uint8_t family)
{
	return family == AF_INET ? FAM_V4 : family == AF_INET6 ? FAM_V6 : -1;
}

static void key_of_match(const struct ct_match *m, struct ct_key *k)
{
	unsigned len = addr_len(m->family);

	memset(k, 0, sizeof(*k));
	k->family = m->family;
	k->proto = m->proto;
	k->kind = m->kind;
	k->any_dst = m->any_dst;
	k->port = m->port;
	if (!m->any_dst)
		memcpy(k->dst, m->dst, len);
	if (m->kind == CT_TO_BACKEND) {
		memcpy(k->be, m->be, len);
		k->be_port = m->be_port;
	}
}

int ct_set_build(struct ct_set **out, const struct ct_match *m, size_t n,
		 char *err, size_t err_len)
{
	struct ct_set *s;
	struct ct_key k;
	int fi, r = -ENOMEM;

	s = calloc(1, sizeof(*s));
	if (!s || !(s->keys = hmap_alloc()))
		goto fail;
	for (size_t i = 0; i < n; i++) {
		fi = fam_index(m[i].family);
		if (fi < 0 || m[i].kind > CT_UNNATED) {
			snprintf(err, err_len, "conntrack match %zu: bad %s %u", i,
				 fi < 0 ? "family" : "kind",
				 fi < 0 ? m[i].family : m[i].kind);
			r = -EINVAL;
			goto fail;
		}
		key_of_match(&m[i], &k);
		if (hmap_put(s->keys, &k, sizeof(k), s) < 0)
			goto fail;
		s->kinds[fi] |= 1u << m[i].kind;
	}
	*out = s;
	return 0;
fail:
	if (r == -ENOMEM)
		snprintf(err, err_len, "conntrack: out of memory for %zu matches", n);
	ct_set_free(s);
	return r;
}

void ct_set_free(struct ct_set *s)
{
	if (!s)
		return;
	hmap_free(s->keys, NULL);
	free(s);
}

bool ct_set_has_family(const struct ct_set *s, uint8_t family)
{
	int fi = fam_index(family);

	return fi >= 0 && s->kinds[fi];
}

enum ct_status_filter ct_set_status_filter(const struct ct_set *s, uint8_t family)
{
	int fi = fam_index(family);

	if (fi < 0)
		return CT_STATUS_ANY;
	switch (s->kinds[fi]) {
	case 1u << CT_TO_BACKEND:
		return CT_STATUS_DNAT;
	case 1u << CT_UNNATED:
		return CT_STATUS_NO_DNAT;
	default:
		return CT_STATUS_ANY;
	}
}

static bool copy_addr(const struct nf_conntrack *ct, uint8_t family,
		      enum nf_conntrack_attr a4, enum nf_conntrack_attr a6, uint8_t *to)
{
	enum nf_conntrack_attr a = family == AF_INET ? a4 : a6;

	if (!nfct_attr_is_set(ct, a))
		return false;
	memcpy(to, nfct_get_attr(ct, a), addr_len(family));
	return true;
}

/* The key an entry would match with its exact destination. false for an
 * entry no match can name (another family, no ports: ICMP and the like). */
static bool key_of_entry(const struct nf_conntrack *ct, struct ct_key *k)
{
	uint32_t status = nfct_get_attr_u32(ct, ATTR_STATUS);

	memset(k, 0, sizeof(*k));
	k->family = nfct_get_attr_u8(ct, ATTR_L3PROTO);
	if (fam_index(k->family) < 0 || !nfct_attr_is_set(ct, ATTR_ORIG_PORT_DST))
		return false;
	k->proto = nfct_get_attr_u8(ct, ATTR_L4PROTO);
	k->port = ntohs(nfct_get_attr_u16(ct, ATTR_ORIG_PORT_DST));
	if (!copy_addr(ct, k->family, ATTR_ORIG_IPV4_DST, ATTR_ORIG_IPV6_DST, k->dst))
		return false;
	/* IPS_DST_NAT is set exactly when DNAT changed the reply tuple; a DNAT
	 * to the original destination itself (a null binding) is un-NATed. */
	if (!(status & IPS_DST_NAT)) {
		k->kind = CT_UNNATED;
		return true;
	}
	k->kind = CT_TO_BACKEND;
	if (!nfct_attr_is_set(ct, ATTR_REPL_PORT_SRC) ||
	    !copy_addr(ct, k->family, ATTR_REPL_IPV4_SRC, ATTR_REPL_IPV6_SRC, k->be))
		return false;
	k->be_port = ntohs(nfct_get_attr_u16(ct, ATTR_REPL_PORT_SRC));
	return true;
}

bool ct_set_matches(const struct ct_set *s, const struct nf_conntrack *ct)
{
	struct ct_key k;

	if (!key_of_entry(ct, &k))
		return false;
	if (hmap_get(s->keys, &k, sizeof(k)))
		return true;
	k.any_dst = 1;
	memset(k.dst, 0, sizeof(k.dst));
	return hmap_get(s->keys, &k, sizeof(k)) != NULL;
}

/* ct_match.h: private to datapath/: the set of conntrack matches one
 * ct_delete tests every dumped entry against. Pure (no netlink), so the
 * unit tests can check it on entries built in memory. */
#ifndef VIPD_DATAPATH_CT_MATCH_H
#define VIPD_DATAPATH_CT_MATCH_H

#include <stddef.h>
#include <stdint.h>

#include "conntrack.h"

struct nf_conntrack;
struct ct_set;

/* What one family's dump may ask the kernel to filter on. */
enum ct_status_filter {
	CT_STATUS_ANY,		/* both kinds wanted */
	CT_STATUS_DNAT,		/* only IPS_DST_NAT entries */
	CT_STATUS_NO_DNAT,	/* only entries without IPS_DST_NAT */
};

/* Builds the set of m[0..n) (m is not kept). Returns 0 and *out (the
 * caller frees it with ct_set_free), -EINVAL for a bad family or kind
 * (err says which match), or -ENOMEM. */
int ct_set_build(struct ct_set **out, const struct ct_match *m, size_t n,
		 char *err, size_t err_len);
void ct_set_free(struct ct_set *s);

/* Whether the set has a match of this family, and what the family's
 * entries may be filtered on. */
bool ct_set_has_family(const struct ct_set *s, uint8_t family);
enum ct_status_filter ct_set_status_filter(const struct ct_set *s, uint8_t family);

/* Whether a dumped entry matches (two lookups: its destination, then any
 * destination). The entry is borrowed. */
bool ct_set_matches(const struct ct_set *s, const struct nf_conntrack *ct);

#endif

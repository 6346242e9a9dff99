/* conntrack.h: deleting the conntrack entries a datapath change made stale.
 *
 * A UDP flow keeps the backend its first packet was DNATed to for as long
 * as its conntrack entry lives, and a one-way sender keeps an UNREPLIED
 * entry alive forever. So when a backend leaves (or a service loses its
 * last backend, is deleted, or gets its first backend back), the reconciler
 * deletes the entries that would pin clients to the old state, right after
 * the nftables commit that changed it (DESIGN.md "UDP and conntrack").
 *
 * The kernel talk is libnetfilter-conntrack's. Nothing here logs: errors
 * come back as -errno with a short text from ct_error().
 */
#ifndef VIPD_CONNTRACK_H
#define VIPD_CONNTRACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Which stale flows to a frontend. */
enum ct_kind {
	/* DNATed (IPS_DST_NAT) to this backend: the reply comes from be:be_port. */
	CT_TO_BACKEND,
	/* Not DNATed at all (no IPS_DST_NAT: the reply comes from the original
	 * destination): made while the frontend had no rule, e.g. a service
	 * that was gone. */
	CT_UNNATED,
};

/* Entries of this family and protocol whose ORIGINAL direction went to
 * dst:port (any destination address with any_dst, as for node ports) and
 * that are of the given kind. Addresses are in network order, IPv4 in the
 * first 4 bytes; bytes past the family's length, dst with any_dst and be,
 * be_port with CT_UNNATED are ignored. */
struct ct_match {
	uint8_t family;		/* AF_INET, AF_INET6 */
	uint8_t proto;		/* IPPROTO_UDP, or any protocol with ports */
	uint8_t kind;		/* enum ct_kind */
	bool any_dst;
	uint16_t port;		/* original destination port, host order */
	uint8_t dst[16];	/* original destination address */
	uint8_t be[16];		/* CT_TO_BACKEND: reply source address */
	uint16_t be_port;	/* CT_TO_BACKEND: reply source port, host order */
};

/* Two conntrack netlink handles (one dumps, one deletes) in the network
 * namespace of the caller. Owned by the caller: ct_close frees it (NULL is
 * fine). Not thread-safe. */
struct ct;

/* Returns 0 and *out, or -errno (-EPERM without CAP_NET_ADMIN). */
int ct_open(struct ct **out);
void ct_close(struct ct *c);

/* Deletes every entry that matches any of m[0..n) (m is borrowed for the
 * call only). One dump per family present in m, filtered by family in the
 * kernel (and by IPS_DST_NAT when all matches of that family are of one
 * kind); each entry is looked up in a hash set of the matches, so the cost
 * is O(entries + n). An entry that vanished before its delete (-ENOENT) is
 * no error. Returns the number deleted, or -errno with ct_error() set; on
 * an error some entries may already be deleted, and calling again is safe. */
int ct_delete(struct ct *c, const struct ct_match *m, size_t n);

/* The last error's text ("" when none); borrowed, valid until the next
 * call on c. */
const char *ct_error(const struct ct *c);

#endif

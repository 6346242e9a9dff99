/* datapath.h: what vipd asks of the kernel, and the netlink that does it.
 *
 * The reconciler speaks in changes to map elements and class chains; this
 * part turns a list of them into one nf_tables transaction (libnftnl +
 * libmnl), reads the tables back, and renders them as text for --dry-run.
 * The ruleset shape is DESIGN.md's: constant chains, a `services` verdict
 * map, a `backends` map keyed by address . l4proto . port . slot, and class
 * chains lb-N / rr-N / sh-N made on demand.
 */
#ifndef VIPD_DATAPATH_H
#define VIPD_DATAPATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum fe_kind {
	FE_ADDR,	/* a VIP or an external IP: address . protocol . port */
	FE_NODEPORT,	/* a protocol and port on every local address (addr zero) */
};

/* What clients connect to: a VIP, a protocol and a port. Packed so it can
 * key a hash map byte for byte (fe_key_of zeroes it first). */
struct fe_key {
	uint8_t family;		/* AF_INET, AF_INET6 */
	uint8_t proto;		/* IPPROTO_* */
	uint16_t port;		/* host order */
	uint8_t addr[16];
	uint8_t kind;		/* enum fe_kind */
	uint8_t zero;
};

/* Compared with memcmp: no padding (16 + 2 bytes, 2-byte aligned). */
struct be_addr {
	uint8_t addr[16];	/* same family as the frontend */
	uint16_t port;		/* host order */
};

/* The np- kinds serve node ports: the same pick over the np-backends map. */
enum class_kind {
	CLASS_LB, CLASS_RR, CLASS_SH, CLASS_NP_LB, CLASS_NP_RR, CLASS_NP_SH,
	CLASS_AFF,	/* aff-<T>: records a client's backend for T seconds */
};

/* A class chain: how a slot is picked, over how many slots. Compared and
 * hashed byte for byte: no padding. */
struct class_key {
	uint8_t family;
	uint8_t kind;		/* enum class_kind */
	uint16_t n;		/* slots; 0 for aff */
	uint32_t arg;		/* aff: the affinity timeout in seconds; else 0 */
};

enum change_op {
	CH_CLASS_ADD,	/* make sure the class chain exists with its rule */
	CH_CLASS_DEL,
	CH_SVC_ADD,	/* services: frontend -> goto class chain */
	CH_SVC_DEL,
	CH_BE_ADD,	/* backends: frontend . slot -> backend */
	CH_BE_DEL,
	CH_NOEP_ADD,	/* noendpoints: frontend (rejected) */
	CH_NOEP_DEL,
	CH_MASQ_ADD,	/* masq-frontends: masquerade flows to it from outside */
	CH_MASQ_DEL,
	/* Not kernel objects: after the commit, the caller deletes the UDP
	 * conntrack entries of the frontend that went to backend be, or that
	 * were not DNATed at all (it had no backend). The commit skips them. */
	CH_CT_BACKEND,
	CH_CT_UNNATED,
	CH_AFF_ADD,	/* affine: frontend -> jump aff-<T> (cls) */
	CH_AFF_DEL,
	/* Not a kernel object either: after the commit, the caller deletes
	 * the frontend's affinity entries that name backend be (any backend
	 * when be.port is 0), so their clients move at once. */
	CH_AFF_PURGE,
	/* ---- source_ranges (firewall) ---- */
	CH_FW_ADD,	/* firewall: an external IP frontend whose sources are filtered */
	CH_FW_DEL,
	CH_FWR_ADD,	/* firewall-allow: frontend . a source range it accepts */
	CH_FWR_DEL,
};

/* A source range of firewall-allow: a CIDR, or (read back only, a range
 * someone else added) FW_SRC_POINT with the range's first address, which
 * is enough to delete it (the kernel deletes the range a point is in). */
struct fw_src {
	uint8_t addr[16];	/* network order, host bits zero */
	uint8_t len;		/* prefix length, or FW_SRC_POINT */
};
#define FW_SRC_POINT	0xff

struct change {
	uint8_t op;		/* enum change_op */
	uint16_t slot;
	struct class_key cls;
	struct fe_key fe;
	union {
		struct be_addr be;
		struct fw_src src;	/* CH_FWR_*: the range */
	};
	char *comment;		/* owned; names the service (and endpoint) */
};

struct changes {
	struct change *v;
	size_t n, cap;
};

int changes_push(struct changes *c, const struct change *ch, const char *comment);

/* Kernel 6.18 accepts an element's userdata up to NFT_USERDATA_MAXLEN
 * (256) but keeps it only up to 254 bytes (measured: a longer one is
 * silently gone from the dump): a 2-byte attribute header, this many
 * characters and the NUL. */
#define DP_COMMENT_MAX 251
/* Shortens a comment in place to DP_COMMENT_MAX, the same way every time:
 * its head, "~" and a hash of the whole, so two long names stay apart and
 * what is read back equals what was planned. */
void dp_comment_fit(char *comment);
void changes_free(struct changes *c);

/* Class chain names, e.g. "lb-3": the one place they are spelled. */
int class_chain_name(const struct class_key *cls, char *buf, size_t len);
bool class_chain_parse(const char *name, uint8_t family, struct class_key *out);

struct dp;

/* Node-wide choices that shape the constant rules (not the elements). */
struct dp_opts {
	/* Traffic to a service from outside cidr[family] is masqueraded
	 * (--cluster-cidr), or all of it (--masquerade-all). */
	bool masq_all;
	bool has_cidr[2];		/* [0] IPv4, [1] IPv6 */
	uint8_t cidr[2][16];		/* network, host bits zero */
	uint8_t cidr_len[2];
};

/* Opens a netlink socket for tables named `table` (both families); opts is
 * copied. */
int dp_open(const char *table, const struct dp_opts *opts, struct dp **out);
void dp_close(struct dp *dp);

/* One transaction: the changes, preceded, with ensure_base, by the tables,
 * sets and constant chains (created if missing, their rules rewritten).
 * Returns 0, or a negative errno after logging each refused object. */
int dp_commit(struct dp *dp, const struct changes *c, bool ensure_base);

/* Read back: the callbacks see every object vipd can own in its tables,
 * with the element's comment (NULL if it has none). */
struct dp_reader {
	void *arg;
	void (*table)(void *arg, uint8_t family);
	void (*class_chain)(void *arg, const struct class_key *cls);
	void (*service)(void *arg, const struct fe_key *fe,
			const struct class_key *cls, const char *comment);
	void (*backend)(void *arg, const struct fe_key *fe, uint16_t slot,
			const struct be_addr *be, const char *comment);
	void (*noep)(void *arg, const struct fe_key *fe, const char *comment);
	void (*masq)(void *arg, const struct fe_key *fe);
	void (*affine)(void *arg, const struct fe_key *fe, const struct class_key *cls);
	/* source_ranges: firewall and firewall-allow elements */
	void (*firewall)(void *arg, const struct fe_key *fe, const char *comment);
	void (*firewall_allow)(void *arg, const struct fe_key *fe, const struct fw_src *src,
			       const char *comment);
};
/* Returns 0, -EAGAIN (a dump raced with another writer: read again) or a
 * negative errno; nothing is logged, dp_error says what failed. */
int dp_read(struct dp *dp, const struct dp_reader *r);

/* Deletes vipd's tables; returns how many there were, or a negative errno
 * (a refused deletion is logged like a refused commit; other failures are
 * described by dp_error). */
int dp_cleanup(struct dp *dp);

/* What the last failed dp_read or dp_cleanup was reading when it failed,
 * e.g. "table ip6 vipd, set backends", for the caller's one log line; ""
 * if the failure was logged already (a refused transaction). Borrowed. */
const char *dp_error(const struct dp *dp);

/* A digest of vipd's chains and rules (not their elements): it moves when
 * a chain or rule of its tables is added, deleted or changed, by vipd or
 * anyone. Returns 0 or a negative errno (-EAGAIN: changed while read). */
int dp_struct_digest(struct dp *dp, uint64_t *out);
/* Chains in vipd's tables that vipd does not make, as the last dp_read
 * found them (the next commit with ensure_base deletes them): how many,
 * and their names ("ip evil, ip6 x") in buf. */
size_t dp_foreign_chains(const struct dp *dp, char *buf, size_t len);

/* Deletes the affinity entries that the CH_AFF_PURGE changes of c name
 * (after the commit that removed their backends). Returns how many, or a
 * negative errno (dp_error says what failed). */
int dp_affinity_purge(struct dp *dp, const struct changes *c);

/* The ruleset's generation id: it moves with every transaction in this
 * network namespace, ours included (dp_commit records the id after ours).
 * Returns 0 or a negative errno. */
int dp_genid(struct dp *dp, uint32_t *id);

/* The ruleset that a commit of these (add-only) changes would make. */
void dp_print(FILE *out, const char *table, const struct dp_opts *opts,
	      const struct changes *c);
/* One change as nft spells its command, for a log line, cut to fit buf:
 * "add element ip vipd backends { 10.96.0.10 . tcp . 80 . 0 : 10.250.2.11
 * . 8080 } (web/b1)", "delete chain ip6 vipd lb-3". Returns 0, or -ENOENT
 * for a change that is no kernel object (conntrack and affinity purges).
 * With len 0 it only says which. */
int dp_change_text(const char *table, const struct change *ch, char *buf, size_t len);

#endif

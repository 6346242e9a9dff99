/* spec.h: private to datapath/: the one description of vipd's ruleset.
 *
 * Every table, set, chain and rule vipd makes, and every name and comment
 * they carry, is a const table in spec.c. The netlink builder (nft.c,
 * udata.c) and the --dry-run printer (print.c) both walk it; neither spells
 * an object of its own. Expressions are nft's (payload, meta, cmp, lookup,
 * numgen, jhash, nat, reject), with registers named by what they hold so
 * that one rule serves both families.
 */
#ifndef VIPD_DATAPATH_SPEC_H
#define VIPD_DATAPATH_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "datapath.h"

#define SET_BACKENDS	"backends"
#define SET_SERVICES	"services"
#define SET_NOEP	"noendpoints"
#define SET_NP_BACKENDS	"np-backends"
#define SET_NODEPORTS	"nodeports"
#define SET_NP_NOEP	"np-noendpoints"
#define SET_HAIRPIN	"hairpin"
#define SET_MASQ_FE	"masq-frontends"
#define SET_MASQ_NP	"masq-nodeports"
#define SET_AFFINITY	"affinity"
#define SET_AFFINE	"affine"
#define SET_AFFINE_NP	"affine-np"

/* Clients remembered at once over every affine service; a full map adds
 * no more (those clients are balanced as if without affinity). */
#define AFFINITY_SIZE		262144
#define SET_FW		"firewall"
#define SET_FW_ALLOW	"firewall-allow"

#define CHAIN_PRE	"prerouting"
#define CHAIN_OUT	"output"
#define CHAIN_FWD	"filter-forward"
#define CHAIN_FOUT	"filter-output"
#define CHAIN_FIN	"filter-input"
#define CHAIN_POST	"postrouting"

/* The hairpin set fills itself: each DNATed flow adds its backend paired
 * with itself, for long enough that the same packet finds it a moment later
 * in postrouting; at most this many backends are remembered at once. */
#define HAIRPIN_TIMEOUT_MS	10000
#define HAIRPIN_SIZE		65536

/* Fixed so that every node and every rebuild sends a client to the same
 * slot (DESIGN.md: a random seed per rebuild would reshuffle clients). */
#define SH_SEED		0x76697064	/* "vipd" */

/* What a key or data field holds. */
enum spec_field {
	F_DADDR,	/* ip daddr / ip6 daddr */
	F_SADDR,	/* ip saddr / ip6 saddr */
	F_L4PROTO,	/* meta l4proto */
	F_DPORT,	/* th dport */
	F_SLOT,		/* numgen random mod 1: the slot number */
	F_CT_DADDR,	/* ct original ip daddr: the address the client asked for */
	F_CT_DPORT,	/* ct original proto-dst */
	F_MAX
};

/* Registers by what they hold: the key's words, in the sets' key order
 * (addr . l4proto . dport . slot), then the hash input. The word number
 * depends on the family's address length (spec_reg_word). */
enum spec_reg {
	R_NONE,
	R_ADDR,		/* word 0: address, and the lookup's source */
	R_PROTO,	/* the word after the address */
	R_PORT,
	R_SLOT,
	R_SRC,		/* jhash input */
	R_VERDICT,
	R_ADDR2,	/* a second address right after the first (hairpin pairs) */
	R_K1,		/* node port keys: l4proto in word 0, port in 1, slot in 2 */
	R_K2,
	/* affinity keys: saddr . daddr . l4proto . port, then the backend */
	R_A_PROTO,
	R_A_PORT,
	R_A_BE,
	R_A_BE_PORT,
	R_FW_SADDR,	/* firewall-allow: the source address after addr . l4proto . dport */
};

enum spec_expr_kind {
	SX_PAYLOAD,	/* field -> dreg */
	SX_META,	/* field -> dreg */
	SX_CMP,		/* sreg == value (field says how to print it) */
	SX_LOOKUP,	/* sreg in @set [-> dreg] */
	SX_NUMGEN,	/* numgen ng mod N -> dreg */
	SX_JHASH,	/* jhash sreg (an address) mod N seed -> dreg */
	SX_DNAT,	/* dnat to sreg (address) . sreg+1 (port) */
	SX_REJECT,	/* reject: value is enum spec_reject */
	SX_CT,		/* ct original field -> dreg */
	/* Each of these expands to a few expressions (nft.c) and prints as
	 * one phrase (print.c). */
	SX_CT_DNAT,	/* ct status dnat */
	SX_FIB_LOCAL,	/* fib daddr type local */
	SX_NOT_LOOPBACK,	/* ip daddr != 127.0.0.0/8, ip6 daddr != ::1 */
	SX_SADDR_OUTSIDE,	/* ip saddr != the cluster CIDR (none with masquerade-all) */
	SX_MASQ,	/* masquerade */
	SX_DYNSET,	/* update @set { sreg [timeout : dreg] }: dreg is the data */
	/* source_ranges */
	SX_DROP,	/* drop (an immediate verdict) */
	SX_BYTEORDER,	/* sreg = hton(sreg): value bytes of a mod-size word (see spec.c) */
};

enum spec_reject { REJ_TCP_RST, REJ_PORT_UNREACH };

/* One expression. A modulus of 0 is the class chain's slot count. */
struct spec_expr {
	uint8_t kind;		/* enum spec_expr_kind */
	uint8_t field;		/* enum spec_field: loaded, compared, hashed */
	uint8_t sreg, dreg;	/* enum spec_reg */
	uint8_t ng;		/* NFT_NG_RANDOM, NFT_NG_INCREMENTAL */
	uint8_t value;		/* cmp: the byte compared; reject: enum spec_reject;
				 * byteorder: the bytes converted */
	bool inv;		/* lookup: not in the set (NFT_LOOKUP_F_INV) */
	uint32_t mod, seed;	/* byteorder: mod is the word size */
	const char *set;	/* lookup */
};

/* When a rule is there: always, or only when dp_opts asks for masquerade. */
enum spec_when { W_ALWAYS, W_MASQ };

struct spec_rule {
	const char *comment;
	const struct spec_expr *x;
	size_t n;
	uint8_t when;		/* enum spec_when */
};

enum spec_data { DATA_NONE, DATA_VERDICT, DATA_FIELDS };

struct spec_set {
	const char *name, *comment;
	uint32_t id;			/* NFTNL_SET_ID within the transaction */
	uint32_t flags;			/* NFT_SET_MAP, NFT_SET_INTERVAL | NFT_SET_CONCAT or 0 */
	const uint8_t *key;		/* enum spec_field */
	size_t n_key;
	uint8_t data;			/* enum spec_data */
	const uint8_t *data_fields;
	size_t n_data;
	uint8_t add_op, del_op;		/* the changes that fill it (enum change_op) */
	uint8_t fe_kind;		/* enum fe_kind of the frontends it holds */
	uint32_t timeout_ms, size;	/* a set the packets fill (size > 0, NFT_SET_EVAL) */
	int32_t verdict;		/* verdict maps: NFT_JUMP, else goto */
};

struct spec_chain {
	const char *name, *comment;
	const char *type;		/* "nat", "filter" */
	uint32_t hook;			/* NF_INET_* */
	int32_t prio;
	uint32_t policy;		/* NF_ACCEPT */
	const struct spec_rule *rules;
	size_t n_rules;
};

/* A family of class chains: <prefix>-<N>, one rule over N slots. */
struct spec_class {
	const char *prefix;		/* "lb" */
	const char *how;		/* "random": the comment says "random over N slots" */
	struct spec_rule rule;
};

struct spec_table {
	const char *comment;
	const struct spec_set *sets;	/* created in this order */
	size_t n_sets;
	const struct spec_chain *chains;	/* base chains, after the sets */
	size_t n_chains;
	const struct spec_class *classes;	/* indexed by enum class_kind */
	size_t n_classes;
};

extern const struct spec_table spec_table;

/* How a field is loaded, typed and spelled in each family. */
struct spec_field_desc {
	const char *name;		/* "daddr", "l4proto", "dport", "numgen random mod 1" */
	uint8_t expr;			/* SX_PAYLOAD, SX_META, SX_NUMGEN */
	uint8_t len[2];			/* bytes, [0] ip, [1] ip6 */
	uint32_t base;			/* NFT_PAYLOAD_*_HEADER; meta: NFT_META_* key */
	uint32_t offset[2];
	uint32_t dtype[2];		/* nft's datatype id */
	uint32_t ud_desc[2], ud_field[2];	/* typeof: protocol and field ids */
	bool net;			/* named by the family: "ip daddr" */
	const char *proto;		/* otherwise "meta", "th" */
};

/* The loopback network of each family ([0] 127.0.0.0/8, [1] ::1/128),
 * which node ports exclude. */
extern const uint8_t spec_loopback[2][16];
extern const uint8_t spec_loopback_len[2];

const struct spec_field_desc *spec_field(uint8_t field);
unsigned spec_fam(uint8_t family);		/* 0 ip, 1 ip6 */
const char *family_name(uint8_t family);	/* "ip", "ip6" */

/* A field's bytes in a concatenation: rounded up to a 32-bit register. */
unsigned spec_field_len(uint8_t field, uint8_t family);
unsigned spec_fields_len(const uint8_t *fields, size_t n, uint8_t family);

/* The 32-bit register word a named register stands for. */
unsigned spec_reg_word(uint8_t reg, uint8_t family);

const struct spec_set *spec_set_by_name(const char *name);
/* The set a change's elements go to, NULL for chain changes. */
const struct spec_set *spec_set_of(uint8_t op, uint8_t fe_kind);
/* Whether a rule is made under these options. */
bool spec_rule_on(const struct spec_rule *r, const struct dp_opts *opts, uint8_t family);
/* A base chain of the spec by name, or NULL. */
const struct spec_chain *spec_chain_by_name(const char *name);
const struct spec_class *spec_class(uint8_t kind);

/* "random over 3 slots": a class chain's comment. */
const char *class_comment(const struct class_key *cls, char *buf, size_t len);

#endif

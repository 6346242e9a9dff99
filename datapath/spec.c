/* The ruleset shape of DESIGN.md, once: tables of the sets, base chains,
 * rules and class chain families that nft.c sends and print.c prints. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter/nf_tables.h>

#include "spec.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* nft's datatype ids (src/datatype.h) and typeof protocol and field ids
 * (src/proto.h), as nft 1.0.6 writes them; nft uses them only to print,
 * the kernel only stores them. */
enum { DT_INTEGER = 4, DT_IPADDR = 7, DT_IP6ADDR = 8, DT_PROTO = 12, DT_SERVICE = 13 };
enum { UD_DESC_TH = 11, UD_DESC_IP = 12, UD_DESC_IP6 = 13 };
enum { UD_FIELD_TH_DPORT = 2, UD_FIELD_IP_SADDR = 11, UD_FIELD_IP_DADDR = 12,
       UD_FIELD_IP6_SADDR = 8, UD_FIELD_IP6_DADDR = 9 };

#define OP_NONE 0xff
#define AFFINITY_MAX_S 86400	/* DESIGN.md: affinity_timeout at most a day */	/* a set no change fills */

static const struct spec_field_desc fields[F_MAX] = {
	[F_DADDR] = { "daddr", SX_PAYLOAD, { 4, 16 }, NFT_PAYLOAD_NETWORK_HEADER,
		      { 16, 24 }, { DT_IPADDR, DT_IP6ADDR },
		      { UD_DESC_IP, UD_DESC_IP6 }, { UD_FIELD_IP_DADDR, UD_FIELD_IP6_DADDR },
		      true, NULL },
	[F_SADDR] = { "saddr", SX_PAYLOAD, { 4, 16 }, NFT_PAYLOAD_NETWORK_HEADER,
		      { 12, 8 }, { DT_IPADDR, DT_IP6ADDR }, { UD_DESC_IP, UD_DESC_IP6 },
		      { UD_FIELD_IP_SADDR, UD_FIELD_IP6_SADDR }, true, NULL },
	[F_L4PROTO] = { "l4proto", SX_META, { 1, 1 }, NFT_META_L4PROTO, { 0, 0 },
			{ DT_PROTO, DT_PROTO }, { 0, 0 }, { 0, 0 }, false, "meta" },
	[F_DPORT] = { "dport", SX_PAYLOAD, { 2, 2 }, NFT_PAYLOAD_TRANSPORT_HEADER,
		      { 2, 2 }, { DT_SERVICE, DT_SERVICE },
		      { UD_DESC_TH, UD_DESC_TH }, { UD_FIELD_TH_DPORT, UD_FIELD_TH_DPORT },
		      false, "th" },
	/* The slot's typeof: the modulus does not matter to the kernel (only
	 * the last field's type does), so one map serves every class chain. */
	[F_SLOT] = { "numgen random mod 1", SX_NUMGEN, { 4, 4 }, 0, { 0, 0 },
		     { DT_INTEGER, DT_INTEGER }, { 0, 0 }, { 0, 0 }, false, NULL },
	/* conntrack's original tuple: what the client asked for, after DNAT
	 * rewrote the packet (offset holds the ct key of each family) */
	[F_CT_DADDR] = { "daddr", SX_CT, { 4, 16 }, 0, { NFT_CT_DST_IP, NFT_CT_DST_IP6 },
			 { DT_IPADDR, DT_IP6ADDR }, { 0, 0 }, { 0, 0 }, true, "ct original" },
	[F_CT_DPORT] = { "proto-dst", SX_CT, { 2, 2 }, 0, { NFT_CT_PROTO_DST, NFT_CT_PROTO_DST },
			 { DT_SERVICE, DT_SERVICE }, { 0, 0 }, { 0, 0 }, false, "ct original" },
};

/* ---- sets ------------------------------------------------------------- */

static const uint8_t key_fe[] = { F_DADDR, F_L4PROTO, F_DPORT };
static const uint8_t key_slot[] = { F_DADDR, F_L4PROTO, F_DPORT, F_SLOT };
static const uint8_t data_be[] = { F_DADDR, F_DPORT };
static const uint8_t key_np[] = { F_L4PROTO, F_DPORT };
static const uint8_t key_np_slot[] = { F_L4PROTO, F_DPORT, F_SLOT };
static const uint8_t key_pair[] = { F_SADDR, F_DADDR };
static const uint8_t key_aff[] = { F_SADDR, F_DADDR, F_L4PROTO, F_DPORT };
static const uint8_t key_fw_allow[] = { F_DADDR, F_L4PROTO, F_DPORT, F_SADDR };

static const struct spec_set sets[] = {
	{ SET_BACKENDS, "service slot -> backend address . port", 1, NFT_SET_MAP,
	  key_slot, N(key_slot), DATA_FIELDS, data_be, N(data_be), CH_BE_ADD, CH_BE_DEL,
	  FE_ADDR, 0, 0, 0 },
	{ SET_SERVICES, "service VIP or external IP . l4proto . port -> goto its class chain",
	  2, NFT_SET_MAP, key_fe, N(key_fe), DATA_VERDICT, NULL, 0, CH_SVC_ADD, CH_SVC_DEL,
	  FE_ADDR, 0, 0, 0 },
	{ SET_NOEP, "services without a ready endpoint: rejected", 3, 0,
	  key_fe, N(key_fe), DATA_NONE, NULL, 0, CH_NOEP_ADD, CH_NOEP_DEL, FE_ADDR, 0, 0, 0 },
	{ SET_NP_BACKENDS, "node port slot -> backend address . port", 4, NFT_SET_MAP,
	  key_np_slot, N(key_np_slot), DATA_FIELDS, data_be, N(data_be), CH_BE_ADD, CH_BE_DEL,
	  FE_NODEPORT, 0, 0, 0 },
	{ SET_NODEPORTS, "node port l4proto . port -> goto its class chain", 5, NFT_SET_MAP,
	  key_np, N(key_np), DATA_VERDICT, NULL, 0, CH_SVC_ADD, CH_SVC_DEL, FE_NODEPORT, 0, 0, 0 },
	{ SET_NP_NOEP, "node ports without a ready endpoint: rejected", 6, 0,
	  key_np, N(key_np), DATA_NONE, NULL, 0, CH_NOEP_ADD, CH_NOEP_DEL, FE_NODEPORT, 0, 0, 0 },
	{ SET_HAIRPIN, "backends paired with themselves, added by DNATed packets: "
	  "a pair that matches a flow is a backend reaching its own service",
	  7, NFT_SET_EVAL | NFT_SET_TIMEOUT, key_pair, N(key_pair), DATA_NONE, NULL, 0,
	  OP_NONE, OP_NONE, FE_ADDR, HAIRPIN_TIMEOUT_MS, HAIRPIN_SIZE, 0 },
	/* The verdict maps cannot serve postrouting: a rule there that looks
	 * one up makes the kernel refuse its goto to a chain that DNATs. */
	{ SET_MASQ_FE, "frontends whose flows from outside the cluster CIDR are masqueraded",
	  8, 0, key_fe, N(key_fe), DATA_NONE, NULL, 0, CH_MASQ_ADD, CH_MASQ_DEL, FE_ADDR, 0, 0, 0 },
	{ SET_MASQ_NP, "node ports whose flows from outside the cluster CIDR are masqueraded",
	  9, 0, key_np, N(key_np), DATA_NONE, NULL, 0, CH_MASQ_ADD, CH_MASQ_DEL,
	  FE_NODEPORT, 0, 0, 0 },
	/* ClientIP affinity: the packets fill it (aff-<T> chains), vipd only
	 * deletes the entries of a backend that left */
	{ SET_AFFINITY, "client . frontend -> the backend it keeps (session affinity)", 10,
	  NFT_SET_MAP | NFT_SET_EVAL | NFT_SET_TIMEOUT, key_aff, N(key_aff), DATA_FIELDS,
	  data_be, N(data_be), OP_NONE, OP_NONE, FE_ADDR, 0, AFFINITY_SIZE, 0 },
	{ SET_AFFINE, "frontends with session affinity -> jump to record the client", 11,
	  NFT_SET_MAP, key_fe, N(key_fe), DATA_VERDICT, NULL, 0, CH_AFF_ADD, CH_AFF_DEL,
	  FE_ADDR, 0, 0, NFT_JUMP },
	{ SET_AFFINE_NP, "node ports with session affinity -> jump to record the client", 12,
	  NFT_SET_MAP, key_np, N(key_np), DATA_VERDICT, NULL, 0, CH_AFF_ADD, CH_AFF_DEL,
	  FE_NODEPORT, 0, 0, NFT_JUMP },
	/* ---- source_ranges ----
	 * firewall holds the external IP frontends of services with
	 * source_ranges, firewall-allow each of them with every range it
	 * accepts (start..end of the last field: a pipapo set, which refuses
	 * overlapping ranges with EEXIST, so the planner merges them). VIPs
	 * and node ports are never in firewall: never filtered. */
	{ SET_FW, "external IPs whose sources are filtered by source_ranges", 13, 0,
	  key_fe, N(key_fe), DATA_NONE, NULL, 0, CH_FW_ADD, CH_FW_DEL, FE_ADDR, 0, 0, 0 },
	{ SET_FW_ALLOW, "external IP . l4proto . port . source range allowed to reach it",
	  14, NFT_SET_INTERVAL | NFT_SET_CONCAT, key_fw_allow, N(key_fw_allow), DATA_NONE,
	  NULL, 0, CH_FWR_ADD, CH_FWR_DEL, FE_ADDR, 0, 0, 0 },
};

/* ---- rules ------------------------------------------------------------ */

/* daddr . l4proto . dport into the registers the sets' keys lay out */
#define X_KEY \
	{ .kind = SX_PAYLOAD, .field = F_DADDR, .dreg = R_ADDR }, \
	{ .kind = SX_META, .field = F_L4PROTO, .dreg = R_PROTO }, \
	{ .kind = SX_PAYLOAD, .field = F_DPORT, .dreg = R_PORT }

static const struct spec_expr x_vmap[] = {
	X_KEY,
	{ .kind = SX_LOOKUP, .sreg = R_ADDR, .dreg = R_VERDICT, .set = SET_SERVICES },
};

static const struct spec_expr x_reject_tcp[] = {
	X_KEY,
	{ .kind = SX_LOOKUP, .sreg = R_ADDR, .set = SET_NOEP },
	{ .kind = SX_CMP, .field = F_L4PROTO, .sreg = R_PROTO, .value = IPPROTO_TCP },
	{ .kind = SX_REJECT, .value = REJ_TCP_RST },
};

static const struct spec_expr x_reject[] = {
	X_KEY,
	{ .kind = SX_LOOKUP, .sreg = R_ADDR, .set = SET_NOEP },
	{ .kind = SX_REJECT, .value = REJ_PORT_UNREACH },
};

/* A client that has a backend for this frontend goes back to it. */
static const struct spec_expr x_aff_dnat[] = {
	{ .kind = SX_PAYLOAD, .field = F_SADDR, .dreg = R_ADDR },
	{ .kind = SX_PAYLOAD, .field = F_DADDR, .dreg = R_ADDR2 },
	{ .kind = SX_META, .field = F_L4PROTO, .dreg = R_A_PROTO },
	{ .kind = SX_PAYLOAD, .field = F_DPORT, .dreg = R_A_PORT },
	{ .kind = SX_LOOKUP, .sreg = R_ADDR, .dreg = R_ADDR, .set = SET_AFFINITY },
	{ .kind = SX_DNAT, .sreg = R_ADDR },
};

/* New flows of affine frontends, once DNATed: record (or refresh) the
 * client's backend. In postrouting, where the backend is known; jumps,
 * so the masquerade rules after still run. */
static const struct spec_expr x_aff_rec[] = {
	{ .kind = SX_CT_DNAT },
	{ .kind = SX_CT, .field = F_CT_DADDR, .dreg = R_ADDR },
	{ .kind = SX_META, .field = F_L4PROTO, .dreg = R_PROTO },
	{ .kind = SX_CT, .field = F_CT_DPORT, .dreg = R_PORT },
	{ .kind = SX_LOOKUP, .sreg = R_ADDR, .dreg = R_VERDICT, .set = SET_AFFINE },
};

static const struct spec_expr x_aff_rec_np[] = {
	{ .kind = SX_CT_DNAT },
	{ .kind = SX_META, .field = F_L4PROTO, .dreg = R_ADDR },
	{ .kind = SX_CT, .field = F_CT_DPORT, .dreg = R_K1 },
	{ .kind = SX_LOOKUP, .sreg = R_ADDR, .dreg = R_VERDICT, .set = SET_AFFINE_NP },
};

/* aff-<T>: the timeout is the chain's (mod 0 takes it) */
static const struct spec_expr x_aff_update[] = {
	{ .kind = SX_PAYLOAD, .field = F_SADDR, .dreg = R_ADDR },
	{ .kind = SX_CT, .field = F_CT_DADDR, .dreg = R_ADDR2 },
	{ .kind = SX_META, .field = F_L4PROTO, .dreg = R_A_PROTO },
	{ .kind = SX_CT, .field = F_CT_DPORT, .dreg = R_A_PORT },
	{ .kind = SX_PAYLOAD, .field = F_DADDR, .dreg = R_A_BE },
	{ .kind = SX_PAYLOAD, .field = F_DPORT, .dreg = R_A_BE_PORT },
	{ .kind = SX_DYNSET, .sreg = R_ADDR, .dreg = R_A_BE, .set = SET_AFFINITY },
};

/* l4proto . dport of a node port, in words 0 and 1 */
#define X_NP_KEY \
	{ .kind = SX_META, .field = F_L4PROTO, .dreg = R_ADDR }, \
	{ .kind = SX_PAYLOAD, .field = F_DPORT, .dreg = R_K1 }

static const struct spec_expr x_np_vmap[] = {
	{ .kind = SX_FIB_LOCAL },
	{ .kind = SX_NOT_LOOPBACK },
	X_NP_KEY,
	{ .kind = SX_LOOKUP, .sreg = R_ADDR, .dreg = R_VERDICT, .set = SET_NODEPORTS },
};

static const struct spec_expr x_np_reject_tcp[] = {
	X_NP_KEY,
	{ .kind = SX_LOOKUP, .sreg = R_ADDR, .set = SET_NP_NOEP },
	{ .kind = SX_CMP, .field = F_L4PROTO, .sreg = R_ADDR, .value = IPPROTO_TCP },
	{ .kind = SX_REJECT, .value = REJ_TCP_RST },
};

static const struct spec_expr x_np_reject[] = {
	X_NP_KEY,
	{ .kind = SX_LOOKUP, .sreg = R_ADDR, .set = SET_NP_NOEP },
	{ .kind = SX_REJECT, .value = REJ_PORT_UNREACH },
};

/* The hairpin pair of a DNATed flow's backend: daddr . daddr. */
static const struct spec_expr x_hairpin_learn[] = {
	{ .kind = SX_CT_DNAT },
	{ .kind = SX_PAYLOAD, .field = F_DADDR, .dreg = R_ADDR },
	{ .kind = SX_PAYLOAD, .field = F_DADDR, .dreg = R_ADDR2 },
	{ .kind = SX_DYNSET, .sreg = R_ADDR, .set = SET_HAIRPIN },
};

/* saddr . daddr is in the set only if saddr is daddr: nft cannot compare
 * two fields, a set of pairs can. */
static const struct spec_expr x_hairpin_masq[] = {
	{ .kind = SX_CT_DNAT },
	{ .kind = SX_PAYLOAD, .field = F_SADDR, .dreg = R_ADDR },
	{ .kind = SX_PAYLOAD, .field = F_DADDR, .dreg = R_ADDR2 },
	{ .kind = SX_LOOKUP, .sreg = R_ADDR, .set = SET_HAIRPIN },
	{ .kind = SX_MASQ },
};

/* what the client asked for, from conntrack: postrouting sees the backend */
static const struct spec_expr x_masq_vip[] = {
	{ .kind = SX_CT_DNAT },
	{ .kind = SX_SADDR_OUTSIDE },
	{ .kind = SX_CT, .field = F_CT_DADDR, .dreg = R_ADDR },
	{ .kind = SX_META, .field = F_L4PROTO, .dreg = R_PROTO },
	{ .kind = SX_CT, .field = F_CT_DPORT, .dreg = R_PORT },
	{ .kind = SX_LOOKUP, .sreg = R_ADDR, .set = SET_MASQ_FE },
	{ .kind = SX_MASQ },
};

static const struct spec_expr x_masq_np[] = {
	{ .kind = SX_CT_DNAT },
	{ .kind = SX_SADDR_OUTSIDE },
	{ .kind = SX_META, .field = F_L4PROTO, .dreg = R_ADDR },
	{ .kind = SX_CT, .field = F_CT_DPORT, .dreg = R_K1 },
	{ .kind = SX_LOOKUP, .sreg = R_ADDR, .set = SET_MASQ_NP },
	{ .kind = SX_MASQ },
};

/* The slot joins the key, the backends map turns it into address . port
 * in place, and dnat takes both from there. */
#define X_DNAT \
	{ .kind = SX_LOOKUP, .sreg = R_ADDR, .dreg = R_ADDR, .set = SET_BACKENDS }, \
	{ .kind = SX_DNAT, .sreg = R_ADDR }

static const struct spec_expr x_lb[] = {
	X_KEY,
	{ .kind = SX_NUMGEN, .ng = NFT_NG_RANDOM, .dreg = R_SLOT },
	X_DNAT,
};

static const struct spec_expr x_rr[] = {
	X_KEY,
	{ .kind = SX_NUMGEN, .ng = NFT_NG_INCREMENTAL, .dreg = R_SLOT },
	X_DNAT,
};

static const struct spec_expr x_sh[] = {
	X_KEY,
	{ .kind = SX_PAYLOAD, .field = F_SADDR, .dreg = R_SRC },
	{ .kind = SX_JHASH, .field = F_SADDR, .sreg = R_SRC, .dreg = R_SLOT, .seed = SH_SEED },
	X_DNAT,
};

/* node port classes: l4proto . dport . slot -> np-backends */
#define X_NP_DNAT \
	{ .kind = SX_LOOKUP, .sreg = R_ADDR, .dreg = R_ADDR, .set = SET_NP_BACKENDS }, \
	{ .kind = SX_DNAT, .sreg = R_ADDR }

static const struct spec_expr x_np_lb[] = {
	X_NP_KEY,
	{ .kind = SX_NUMGEN, .ng = NFT_NG_RANDOM, .dreg = R_K2 },
	X_NP_DNAT,
};

static const struct spec_expr x_np_rr[] = {
	X_NP_KEY,
	{ .kind = SX_NUMGEN, .ng = NFT_NG_INCREMENTAL, .dreg = R_K2 },
	X_NP_DNAT,
};

static const struct spec_expr x_np_sh[] = {
	X_NP_KEY,
	{ .kind = SX_PAYLOAD, .field = F_SADDR, .dreg = R_SRC },
	{ .kind = SX_JHASH, .field = F_SADDR, .sreg = R_SRC, .dreg = R_K2, .seed = SH_SEED },
	X_NP_DNAT,
};

/* ---- source_ranges ----
 * A frontend in firewall whose packet's source is in none of its ranges is
 * dropped. The nat chains see only a connection's first packet, which is
 * exactly the connection filter wanted (later packets follow conntrack).
 * nft 1.0.6 converts meta l4proto to network order before a lookup in an
 * interval concatenation (a byteorder of 1 byte in 2-byte words: the
 * kernel does nothing with it); sent as nft sends it, so that nft's own
 * debug output and vipd's are the same. */
static const struct spec_expr x_firewall[] = {
	X_KEY,
	{ .kind = SX_LOOKUP, .sreg = R_ADDR, .set = SET_FW },
	{ .kind = SX_PAYLOAD, .field = F_DADDR, .dreg = R_ADDR },
	{ .kind = SX_META, .field = F_L4PROTO, .dreg = R_PROTO },
	{ .kind = SX_BYTEORDER, .sreg = R_PROTO, .dreg = R_PROTO, .value = 1, .mod = 2 },
	{ .kind = SX_PAYLOAD, .field = F_DPORT, .dreg = R_PORT },
	{ .kind = SX_PAYLOAD, .field = F_SADDR, .dreg = R_FW_SADDR },
	{ .kind = SX_LOOKUP, .sreg = R_ADDR, .set = SET_FW_ALLOW, .inv = true },
	{ .kind = SX_DROP },
};

#define RULE(c, x) { c, x, N(x), W_ALWAYS }

static const struct spec_rule r_vmap[] = {
	/* source_ranges: first, before anything DNATs */
	RULE("external IP from a source outside its source_ranges", x_firewall),
	RULE("session affinity: back to the client's backend", x_aff_dnat),
	RULE("to the service's class chain", x_vmap),
	RULE("node ports on every local address but loopback", x_np_vmap),
};

static const struct spec_rule r_reject[] = {
	RULE("no endpoint: TCP reset", x_reject_tcp),
	RULE("no endpoint: port unreachable", x_reject),
};

static const struct spec_rule r_reject_in[] = {
	RULE("no endpoint: TCP reset", x_reject_tcp),
	RULE("no endpoint: port unreachable", x_reject),
	RULE("node port without endpoint: TCP reset", x_np_reject_tcp),
	RULE("node port without endpoint: port unreachable", x_np_reject),
};

static const struct spec_rule r_post[] = {
	RULE("session affinity: record the client's backend", x_aff_rec),
	RULE("session affinity of node ports: record the client's backend", x_aff_rec_np),
	RULE("remember the backend of a DNATed flow", x_hairpin_learn),
	RULE("hairpin: a backend reaching its own service", x_hairpin_masq),
	{ "to a service from outside the cluster CIDR", x_masq_vip, N(x_masq_vip), W_MASQ },
	{ "to a node port from outside the cluster CIDR", x_masq_np, N(x_masq_np), W_MASQ },
};

/* ---- chains ----------------------------------------------------------- */

static const struct spec_chain chains[] = {
	{ CHAIN_PRE, "VIPs reached from other hosts", "nat", NF_INET_PRE_ROUTING,
	  NF_IP_PRI_NAT_DST, NF_ACCEPT, r_vmap, N(r_vmap) },
	{ CHAIN_OUT, "VIPs reached from this host", "nat", NF_INET_LOCAL_OUT,
	  NF_IP_PRI_NAT_DST, NF_ACCEPT, r_vmap, N(r_vmap) },
	{ CHAIN_FWD, "reject VIPs without endpoints", "filter", NF_INET_FORWARD,
	  NF_IP_PRI_FILTER, NF_ACCEPT, r_reject, N(r_reject) },
	{ CHAIN_FOUT, "reject VIPs without endpoints (local clients)", "filter",
	  NF_INET_LOCAL_OUT, NF_IP_PRI_FILTER, NF_ACCEPT, r_reject, N(r_reject) },
	{ CHAIN_FIN, "reject node ports and local external IPs without endpoints", "filter",
	  NF_INET_LOCAL_IN, NF_IP_PRI_FILTER, NF_ACCEPT, r_reject_in, N(r_reject_in) },
	{ CHAIN_POST, "masquerade hairpin flows, and with --cluster-cidr flows from outside",
	  "nat", NF_INET_POST_ROUTING, NF_IP_PRI_NAT_SRC, NF_ACCEPT, r_post, N(r_post) },
};

#define CLASS_RULE "slot -> backend"

static const struct spec_class classes[] = {
	[CLASS_LB] = { "lb", "random", RULE(CLASS_RULE, x_lb) },
	[CLASS_RR] = { "rr", "round robin", RULE(CLASS_RULE, x_rr) },
	[CLASS_SH] = { "sh", "source address hash", RULE(CLASS_RULE, x_sh) },
	[CLASS_NP_LB] = { "np-lb", "node port, random", RULE(CLASS_RULE, x_np_lb) },
	[CLASS_NP_RR] = { "np-rr", "node port, round robin", RULE(CLASS_RULE, x_np_rr) },
	[CLASS_NP_SH] = { "np-sh", "node port, source address hash", RULE(CLASS_RULE, x_np_sh) },
	[CLASS_AFF] = { "aff", "session affinity",
			RULE("the client's backend, kept while it connects again within the timeout",
			     x_aff_update) },
};

const struct spec_table spec_table = {
	.comment = "vipd: service VIPs to backends; managed by vipd, edits are reverted",
	.sets = sets, .n_sets = N(sets),
	.chains = chains, .n_chains = N(chains),
	.classes = classes, .n_classes = N(classes),
};

const uint8_t spec_loopback[2][16] = { { 127 }, { [15] = 1 } };
const uint8_t spec_loopback_len[2] = { 8, 128 };

/* ---- lookups ---------------------------------------------------------- */

const struct spec_field_desc *spec_field(uint8_t field)
{
	return &fields[field < F_MAX ? field : F_DADDR];
}

unsigned spec_fam(uint8_t family)
{
	return family == AF_INET6;
}

const char *family_name(uint8_t family)
{
	return family == AF_INET6 ? "ip6" : "ip";
}

unsigned spec_field_len(uint8_t field, uint8_t family)
{
	return (spec_field(field)->len[spec_fam(family)] + 3u) & ~3u;
}

unsigned spec_fields_len(const uint8_t *f, size_t n, uint8_t family)
{
	unsigned len = 0;

	for (size_t i = 0; i < n; i++)
		len += spec_field_len(f[i], family);
	return len;
}

unsigned spec_reg_word(uint8_t reg, uint8_t family)
{
	unsigned w = spec_field_len(F_DADDR, family) / 4;

	switch (reg) {
	case R_PROTO: return w;
	case R_PORT: return w + 1;
	case R_SLOT: return w + 2;
	case R_FW_SADDR: return w + 2;
	case R_SRC: return w + 3;
	case R_ADDR2: return w;
	case R_K1: return 1;
	case R_K2: return 2;
	case R_A_PROTO: return 2 * w;
	case R_A_PORT: return 2 * w + 1;
	case R_A_BE: return 2 * w + 2;
	case R_A_BE_PORT: return 3 * w + 2;
	default: return 0;
	}
}

const struct spec_set *spec_set_by_name(const char *name)
{
	for (size_t i = 0; i < N(sets); i++)
		if (!strcmp(sets[i].name, name))
			return &sets[i];
	return NULL;
}

const struct spec_chain *spec_chain_by_name(const char *name)
{
	for (size_t i = 0; i < N(chains); i++)
		if (!strcmp(chains[i].name, name))
			return &chains[i];
	return NULL;
}

const struct spec_set *spec_set_of(uint8_t op, uint8_t fe_kind)
{
	for (size_t i = 0; i < N(sets); i++)
		if ((sets[i].add_op == op || sets[i].del_op == op) &&
		    sets[i].fe_kind == fe_kind)
			return &sets[i];
	return NULL;
}

bool spec_rule_on(const struct spec_rule *r, const struct dp_opts *opts, uint8_t family)
{
	if (r->when == W_MASQ)
		return opts && (opts->masq_all || opts->has_cidr[spec_fam(family)]);
	return true;
}

const struct spec_class *spec_class(uint8_t kind)
{
	return kind < N(classes) ? &classes[kind] : NULL;
}

const char *class_comment(const struct class_key *cls, char *buf, size_t len)
{
	const struct spec_class *c = spec_class(cls->kind);

	if (cls->kind == CLASS_AFF)
		snprintf(buf, len, "session affinity: clients keep their backend %u s", cls->arg);
	else if (cls->arg)
		snprintf(buf, len, "%s over %u slots, one frontend's own turn", c ? c->how : "?",
			 cls->n);
	else
		snprintf(buf, len, "%s over %u slots", c ? c->how : "?", cls->n);
	return buf;
}

int class_chain_name(const struct class_key *cls, char *buf, size_t len)
{
	const struct spec_class *c = spec_class(cls->kind);
	int n;

	if (!c || !(cls->kind == CLASS_AFF ? cls->arg : cls->n))
		return -EINVAL;
	if (cls->kind == CLASS_AFF)
		n = snprintf(buf, len, "%s-%u", c->prefix, cls->arg);
	else if (cls->arg)	/* a round-robin frontend's own chain */
		n = snprintf(buf, len, "%s-%u-%08x", c->prefix, cls->n, cls->arg);
	else
		n = snprintf(buf, len, "%s-%u", c->prefix, cls->n);
	return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}

/* Exactly 8 lowercase hex digits, not all zero: a frontend's chain id. */
static bool parse_id(const char *s, unsigned long *id)
{
	char *end;

	for (int i = 0; i < 8; i++)
		if (!s[i] || !strchr("0123456789abcdef", s[i]))
			return false;
	*id = strtoul(s, &end, 16);
	return end == s + 8 && *id;
}

bool class_chain_parse(const char *name, uint8_t family, struct class_key *out)
{
	for (uint8_t k = 0; k < N(classes); k++) {
		size_t p = strlen(classes[k].prefix);
		bool rr = k == CLASS_RR || k == CLASS_NP_RR;
		unsigned long n, id = 0;
		char *end;

		if (strncmp(name, classes[k].prefix, p) || name[p] != '-')
			continue;
		n = strtoul(name + p + 1, &end, 10);
		/* a round-robin frontend's own chain: rr-N-<id> */
		if (rr && *end == '-') {
			if (!parse_id(end + 1, &id))
				return false;
			end += 9;
		}
		/* digits only, no sign, space or leading zero: one name per N */
		if (name[p + 1] < '1' || name[p + 1] > '9' || *end ||
		    n > (k == CLASS_AFF ? AFFINITY_MAX_S : UINT16_MAX))
			return false;
		memset(out, 0, sizeof(*out));
		out->family = family;
		out->kind = k;
		if (k == CLASS_AFF) {
			out->arg = (uint32_t)n;
		} else {
			out->n = (uint16_t)n;
			out->arg = (uint32_t)id;
		}
		return true;
	}
	return false;
}

/* nft.h: private to datapath/: object names, key layouts, message builders. */
#ifndef VIPD_DATAPATH_NFT_H
#define VIPD_DATAPATH_NFT_H

#include <stdint.h>
#include <libnftnl/batch.h>

#include "datapath.h"

#define SET_BACKENDS	"backends"
#define SET_SERVICES	"services"
#define SET_NOEP	"noendpoints"

/* What `nft list ruleset` says each object is for (also --dry-run). */
#define CMT_TABLE	"vipd: service VIPs to backends; managed by vipd, edits are reverted"
#define CMT_BACKENDS	"service slot -> backend address . port"
#define CMT_SERVICES	"service VIP . l4proto . port -> goto its class chain"
#define CMT_NOEP	"services without a ready endpoint: rejected"
#define CMT_PRE		"VIPs reached from other hosts"
#define CMT_OUT		"VIPs reached from this host"
#define CMT_FWD		"reject VIPs without endpoints"
#define CMT_FOUT	"reject VIPs without endpoints (local clients)"
#define CMT_VMAP	"to the service's class chain"
#define CMT_RST		"no endpoint: TCP reset"
#define CMT_UNREACH	"no endpoint: port unreachable"
#define CMT_CLASS_RULE	"slot -> backend"

/* "random over 3 slots": a class chain's comment. */
const char *class_comment(const struct class_key *cls, char *buf, size_t len);

/* Fixed so that every node and every rebuild sends a client to the same
 * slot (DESIGN.md: a random seed per rebuild would reshuffle clients). */
#define SH_SEED		0x76697064	/* "vipd" */

/* Keys are concatenations, each field padded to a 32-bit register:
 *   services, noendpoints: addr . l4proto . port
 *   backends:              addr . l4proto . port . slot  ->  addr . port
 * addr and port are in network order, slot in host order (numgen and jhash
 * store host-order words). */
#define KEY_MAX		(16 + 4 + 4 + 4)
#define DATA_MAX	(16 + 4)

/* One request (a get or a dump) with a table and a name or two. */
#define REQ_BUF		1024

unsigned fe_key_len(uint8_t family);
unsigned be_key_len(uint8_t family);
unsigned be_data_len(uint8_t family);
void fe_key_pack(const struct fe_key *k, uint8_t *buf);
void be_key_pack(const struct fe_key *k, uint16_t slot, uint8_t *buf);
void be_data_pack(uint8_t family, const struct be_addr *be, uint8_t *buf);
int fe_key_unpack(uint8_t family, const void *buf, uint32_t len, struct fe_key *k);
int be_key_unpack(uint8_t family, const void *buf, uint32_t len,
		  struct fe_key *k, uint16_t *slot);
int be_data_unpack(uint8_t family, const void *buf, uint32_t len,
		   struct be_addr *be);

const char *family_name(uint8_t family);	/* "ip", "ip6" */

/* A batch under construction, remembering what each message was for so a
 * kernel error can be reported against its object. */
struct msg_ref {
	uint32_t seq;
	const struct change *ch;	/* NULL for base objects */
	char what[64];
};

struct txn {
	struct nftnl_batch *batch;
	const char *table;
	uint32_t seq;
	char *scratch;			/* one message, zeroed between uses */
	struct msg_ref *refs;
	size_t n_refs, cap_refs;
	int err;			/* first build error, sticky */
};

/* The largest message: the overrun a batch page allows (the kernel caps
 * attributes at 64 KiB). */
#define MSG_MAX		(64 * 1024)

int txn_init(struct txn *t, const char *table, uint32_t first_seq);
/* Records the first error; the transaction is then not sent. */
void txn_fail(struct txn *t, int err);
/* Starts a message in the scratch buffer, remembering what it is for (ch,
 * or a name for base objects); msg_done appends it to the batch. */
struct nlmsghdr *msg_start(struct txn *t, uint16_t type, uint8_t family,
			   uint16_t flags, const struct change *ch, const char *what);
void msg_done(struct txn *t);
void txn_fini(struct txn *t);
void txn_begin(struct txn *t);
void txn_end(struct txn *t);
const struct msg_ref *txn_ref(const struct txn *t, uint32_t seq);

void nft_base_build(struct txn *t, uint8_t family);
void nft_class_build(struct txn *t, const struct class_key *cls);
void nft_class_del_build(struct txn *t, const struct class_key *cls);
/* Builds messages for changes[i..j) (same op, set and frontend), at most
 * ELEMS_PER_MSG elements each; returns j. */
size_t nft_elems_build(struct txn *t, const struct changes *c, size_t i);
void nft_table_del_build(struct txn *t, uint8_t family);

#endif

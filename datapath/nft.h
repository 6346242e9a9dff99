/* nft.h: private to datapath/: key layouts, transactions, message builders
 * (the objects they build are spec.h's). */
#ifndef VIPD_DATAPATH_NFT_H
#define VIPD_DATAPATH_NFT_H

#include <stdbool.h>
#include <stdint.h>
#include <libnftnl/batch.h>

#include "datapath.h"
#include "spec.h"

struct nftnl_udata_buf;

/* Keys are concatenations, each field padded to a 32-bit register:
 *   services, noendpoints: addr . l4proto . port
 *   backends:              addr . l4proto . port . slot  ->  addr . port
 *   firewall-allow:        addr . l4proto . port . source address (two: from, to)
 * addr and port are in network order, slot in host order (numgen and jhash
 * store host-order words). */
#define KEY_MAX		(16 + 4 + 4 + 16)
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
/* Node port keys: l4proto . port, with the slot when with_slot; returns
 * the length. */
unsigned np_key_pack(const struct fe_key *k, uint16_t slot, bool with_slot, uint8_t *buf);
int np_key_unpack(uint8_t family, const void *buf, uint32_t len, bool with_slot,
		  struct fe_key *k, uint16_t *slot);
int be_data_unpack(uint8_t family, const void *buf, uint32_t len,
		   struct be_addr *be);
/* source_ranges: firewall-allow keys, the frontend then a source address
 * (the range's first or last); returns the length. */
unsigned fw_key_len(uint8_t family);
unsigned fw_key_pack(const struct fe_key *k, const uint8_t *src, uint8_t *buf);
int fw_key_unpack(uint8_t family, const void *buf, uint32_t len, struct fe_key *k,
		  uint8_t *src);
/* The last address of a CIDR range (len FW_SRC_POINT: addr itself). */
void fw_src_last(uint8_t family, const struct fw_src *s, uint8_t *last);
/* The range from..to as a fw_src: a CIDR if it is one, else FW_SRC_POINT. */
void fw_src_of(uint8_t family, const uint8_t *from, const uint8_t *to, struct fw_src *out);

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
/* Records the first error (the transaction is then not sent); returns err. */
int txn_fail(struct txn *t, int err);
/* Starts a message in the scratch buffer, remembering what it is for (ch,
 * or a name for base objects), NULL when out of memory; msg_done appends
 * it to the batch and returns 0 or -ENOMEM. */
struct nlmsghdr *msg_start(struct txn *t, uint16_t type, uint8_t family,
			   uint16_t flags, const struct change *ch, const char *what);
int msg_done(struct txn *t);
void txn_fini(struct txn *t);
int txn_begin(struct txn *t);
int txn_end(struct txn *t);
const struct msg_ref *txn_ref(const struct txn *t, uint32_t seq);

/* Builders append the messages for one object to t; each returns 0 or a
 * negative errno (-ENOMEM), also recorded in t->err so that a transaction
 * missing a message is never sent. */
int nft_base_build(struct txn *t, uint8_t family, const struct dp_opts *opts);
int nft_class_build(struct txn *t, const struct class_key *cls);
int nft_class_del_build(struct txn *t, const struct class_key *cls);
int nft_chain_del_build(struct txn *t, uint8_t family, const char *name);
/* Deletes every rule of a chain. */
int nft_chain_flush_build(struct txn *t, uint8_t family, const char *chain);
/* Builds messages for changes[*i..j) (same op, set and frontend), at most
 * ELEMS_PER_MSG elements each, and sets *i to j. */
int nft_elems_build(struct txn *t, const struct changes *c, size_t *i);
int nft_table_del_build(struct txn *t, uint8_t family);

/* Userdata (udata.c): room for a set's typeof declaration (~150 bytes)
 * and its comment; the kernel keeps at most 256 (NFT_USERDATA_MAXLEN). */
#define UDATA_MAX	512
int ud_comment(uint8_t type, const char *text, struct nftnl_udata_buf **out);
int ud_set(struct nftnl_udata_buf *ud, const struct spec_set *s, uint8_t family);

#endif

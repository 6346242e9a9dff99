/* dp_internal.h: private to datapath/: the handle shared by its files. */
#ifndef VIPD_DP_INTERNAL_H
#define VIPD_DP_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "nft.h"

struct mnl_socket;

struct dp {
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;
	uint32_t genid;		/* ruleset generation after our last talk */
	char table[64];
};

int dp_transact(struct dp *dp, struct txn *t);
bool dp_table_exists(struct dp *dp, uint8_t family);

#endif

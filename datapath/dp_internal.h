/* dp_internal.h: private to datapath/: the handle shared by its files. */
#ifndef VIPD_DP_INTERNAL_H
#define VIPD_DP_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "nft.h"

struct nlmsghdr;

struct mnl_socket;

#define DP_FOREIGN_MAX 16	/* more are deleted by the commits after */

struct dp {
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;
	uint32_t genid;		/* ruleset generation after our last talk */
	char table[64];
	struct dp_opts opts;
	char err[160];		/* dp_error(): what the last failed read was reading */
	/* Chains in our tables that neither the spec nor a class names, as
	 * the last dp_read found them: the next base commit deletes them. */
	struct {
		uint8_t family;
		char name[64];
	} foreign[DP_FOREIGN_MAX];
	size_t n_foreign;
};

int dp_transact(struct dp *dp, struct txn *t);
/* Sends req and feeds each reply to cb until the kernel is done. Returns
 * 0, -ENOENT (object absent) or another negative errno. */
typedef int (*dump_cb)(const struct nlmsghdr *nlh, void *arg);
int dp_talk(struct dp *dp, struct nlmsghdr *req, dump_cb cb, void *arg);
/* 1 if vipd's table of that family exists, 0 if not, or a negative errno
 * (EPERM is an error, not an absent table). */
int dp_table_exists(struct dp *dp, uint8_t family);
void dp_error_set(struct dp *dp, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif

/* reconcile.h: the model as it should be in the kernel vs what is there.
 *
 * The reconciler remembers what the kernel holds (read back at start, then
 * updated as it plans) and turns changed services into the least element
 * changes. It plans optimistically: when a commit fails, load again.
 */
#ifndef VIPD_RECONCILE_H
#define VIPD_RECONCILE_H

#include <stdbool.h>

#include "datapath.h"
#include "model.h"

struct reconciler;

/* node_name: endpoints of traffic_policy local services must match it;
 * borrowed for the reconciler's life (may be NULL). */
struct reconciler *rec_alloc(const char *node_name);
void rec_free(struct reconciler *rec);
/* Who decides the weight an endpoint takes new connections with (0:
 * none); see weigh() in reconcile.c for the rule without one. arg is
 * borrowed. */
typedef uint32_t (*rec_weigh_fn)(void *arg, const struct service *svc,
				 const struct endpoint *ep);
void rec_set_weigh(struct reconciler *rec, rec_weigh_fn fn, void *arg);
/* With masquerade on (--cluster-cidr, --masquerade-all), every frontend
 * is also in the masq-frontends sets. */
void rec_set_masq(struct reconciler *rec, bool on);

/* Forgets everything and learns the kernel's state through dp. With
 * rewrite_rules the next plan also rewrites every class chain's rule (after
 * a start or a resync, when vipd may be a different version). */
int rec_load(struct reconciler *rec, struct dp *dp, bool rewrite_rules);
/* Whether the last load found both tables (ip and ip6). */
bool rec_tables_present(const struct reconciler *rec);

/* Appends to out the changes that bring the services named in dirty (all
 * of them, and a sweep of leftovers, when full) to the model's state. */
int rec_plan(struct reconciler *rec, const struct model *m,
	     const struct name_list *dirty, bool full, struct changes *out);

/* The class chain the kernel sends a VIP and port to ("lb-3-12"), as
 * planned; "noendpoints" when it has none, "" when it has no frontend
 * (for /status). */
int rec_vip_chain(const struct reconciler *rec, const struct vaddr *vip,
		  const struct svc_port *sp, char *buf, size_t len);

/* Counts for logs and tests. */
struct rec_stats {
	size_t frontends, slots, classes;
};
void rec_stats(const struct reconciler *rec, struct rec_stats *st);

#endif

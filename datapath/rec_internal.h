/* rec_internal.h: private to datapath/: the reconciler's state and the
 * rendering of one frontend, shared by reconcile.c and render.c. */
#ifndef VIPD_REC_INTERNAL_H
#define VIPD_REC_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "datapath.h"
#include "hash.h"
#include "model.h"
#include "slots.h"

/* A backends element: its data and a hash of its comment, so a renamed
 * endpoint gets its element rewritten (the comment is what operators read). */
struct slot {
	struct be_addr be;
	uint32_t tag;
};

/* A frontend as the kernel has it (or will, once the planned changes land). */
struct fe_state {
	struct fe_key key;
	struct class_key cls;	/* meaningful when n > 0 */
	bool noep;		/* in the noendpoints set */
	bool svc;		/* has its services element */
	bool masq;		/* has its masq-frontends element */
	bool aff;		/* has its affine element, jumping to aff_cls */
	struct class_key aff_cls;
	uint32_t tag;		/* comment hash of the services/noendpoints element */
	uint16_t n;		/* slots held; a slot with port 0 is absent */
	struct slot *slots;
	char *owner;		/* service name; NULL when only read back */
	uint32_t gen;		/* plan that last claimed it */
	/* source_ranges: in the firewall set (with its comment's hash), and
	 * the ranges it has in firewall-allow */
	bool fw;
	uint32_t fw_tag;
	uint16_t n_fwr;
	struct fw_src *fwr;
};

/* What one frontend should be: built per service, then diffed. */
struct fe_want {
	struct fe_key key;
	struct class_key cls;
	uint32_t aff;		/* affinity timeout in seconds, 0: none */
	uint16_t n;
	struct slot slots[SLOTS_MAX];
	const char *ep_id[SLOTS_MAX];	/* comment of each slot's element */
	/* "" when the slots hold the weights exactly; else what was asked and
	 * what is programmed ("weights 1:1000:1000 programmed as 1:511:511
	 * slots"), for the planner to log once per service. */
	char weights_note[384];
	/* source_ranges (reconcile.c fw_want): an external IP whose sources
	 * are filtered, by the service's ranges (all families, unmerged) */
	bool fw;
	const struct cidr *fw_ranges;
	unsigned n_fw_ranges;
};

/* A comment's hash (0: none): compared instead of the text. */
static inline uint32_t tag_of(const char *comment)
{
	uint64_t h;

	if (!comment)
		return 0;
	h = hash_bytes(comment, strlen(comment));
	h ^= h >> 32;
	return (uint32_t)h ? (uint32_t)h : 1;
}

/* Fills want from the eligible endpoints eps[0..n) (sorted with ep_cmp),
 * whose element comments are labels[]; old is what the kernel holds for
 * the frontend (NULL if nothing). Returns 0 or a negative errno (want is
 * then unusable: never program it as "no endpoints"). */
int fe_render(const struct service *svc, const struct svc_port *sp,
	       struct endpoint **eps, char **labels, size_t n,
	       const struct fe_state *old, struct fe_want *want);
int ep_cmp(const void *a, const void *b);
void fe_key_of(struct fe_key *k, const struct vaddr *vip, const struct svc_port *sp);
/* The node port frontend of sp (sp->node_port must be set). */
void fe_key_np(struct fe_key *k, uint8_t family, const struct svc_port *sp);
/* "web:http", or "web:80/tcp" for an unnamed port. */
void port_label(char *buf, size_t len, const char *name, const struct svc_port *sp);

#endif

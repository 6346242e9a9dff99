/* bstate_internal.h: what the parts of the backend states share:
 * bstate.c decides, bstate_drain.c drains what left, bstate_view.c says
 * it (reasons, log lines, the status view). */
#ifndef VIPD_BSTATE_INTERNAL_H
#define VIPD_BSTATE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "bstate.h"
#include "log.h"

struct check;
struct hmap;
struct checker;

#define KEY_MAX		(2 * NAME_MAX_LEN + 2)
#define REASON_LEN	256

struct bs_svc;
struct drain;

/* What a reason is made of; a copy taken before an evaluation says what
 * a backend moved from. */
struct facts {
	uint8_t state, cause;
	bool open, fallback;		/* taking traffic by a family rule */
	uint32_t weight, eff;
	uint64_t drain_until;		/* 0: no drain counting */
	char *why;			/* an unhealthy verdict's (malloc'd) */
};

struct rec {
	struct rec *next, *prev;	/* in its service's list */
	struct bs_svc *sv;
	struct bstate *bs;
	char *id;
	uint8_t source;
	struct vaddr ip;
	uint16_t port;			/* of the first service port, for logs */
	struct facts f;
	bool ready, terminating, local;
	bool renewed;			/* a new address: ramps as a new backend */
	bool drained;			/* terminating, and its drain ran */
	bool published;
	struct check *chk;		/* NULL: not checked here */
	bool healthy;			/* the check's or its node's verdict */
	struct drain *drain;		/* while terminating */
	uint64_t since, ramp_start, ramp_timer;
	struct ct_match *ct;		/* what a drain of it would cut */
	size_t n_ct, cap_ct;
	uint64_t gen;
	struct endpoint *ep;		/* during an evaluation: its endpoint */
	uint8_t born;			/* its state before it had a record */
	size_t snap;			/* 1 + its index in the snapshot, 0: new */
	size_t key_len;
	char key[];			/* service \0 source id */
};

/* Connections of a backend that left (or is terminating), cut when the
 * timer fires unless its address serves again first. */
struct drain {
	struct drain *next;		/* in its service's list */
	struct bstate *bs;
	struct bs_svc *sv;
	struct rec *rec;		/* the terminating backend; NULL once removed */
	char *id;
	uint8_t source;
	struct vaddr ip;
	uint16_t port;
	uint32_t weight;
	uint64_t since, until, timer;
	struct ct_match *ct;
	size_t n_ct;
};

struct bs_svc {
	char *name;
	struct rec *recs;
	struct drain *drains;
	bool open[2];			/* fail open in force, per family */
	uint32_t drain_seconds;		/* the service's, kept for when it is deleted */
};

struct bstate {
	struct loop *loop;
	struct model *model;
	const struct bs_conf *conf;
	struct bs_hooks hooks;
	struct checker *checker;
	struct hmap *recs;		/* key -> struct rec */
	struct hmap *svcs;		/* name -> struct bs_svc */
	struct hmap *counts;		/* name -> its endpoints by state (bstate_count.c) */
	uint64_t totals[BS_MAX];	/* the sum of counts */
	uint64_t gen;
	bool started;			/* the first update is vipd's start */
	char view_reason[REASON_LEN];	/* bs_next's */
};

static inline bool serving(uint8_t state)
{
	return state == BS_HEALTHY || state == BS_SLOW_START;
}

static inline unsigned fam_ix(const struct vaddr *a)
{
	return a->family == AF_INET6;
}

/* Ids are at most NAME_MAX_LEN (the codec's rule); a longer one from a
 * source that did not check is cut, not overrun. */
static inline size_t key_of(char *buf, const char *svc, uint8_t source, const char *id)
{
	size_t a = strnlen(svc, NAME_MAX_LEN), b = strnlen(id, NAME_MAX_LEN);

	memcpy(buf, svc, a);
	buf[a] = '\0';
	buf[a + 1] = (char)('0' + source);
	memcpy(buf + a + 2, id, b);
	return a + 2 + b;
}

/* bstate_view.c */
const char *bs_reason(const struct facts *f, char *buf, size_t len);
void bs_say_move(const char *service, const char *id, const struct vaddr *ip, uint16_t port,
		 enum vlog_level level, const struct facts *was, const struct facts *now);

/* bstate_drain.c */
int bs_drain_begin(struct bstate *bs, struct rec *r, bool owned, struct drain **out);
void bs_drain_free(struct bstate *bs, struct drain *d);
int bs_ct_matches(struct rec *r, const struct service *svc, const struct endpoint *ep);
void bs_drains_settle(struct bstate *bs, struct bs_svc *sv);

/* bstate.c */
void bs_svc_free_if_empty(struct bstate *bs, struct bs_svc *sv);

/* bstate_count.c: after a service's update, and a full one's sweep. */
void bs_count_service(struct bstate *bs, const char *name);
void bs_count_sweep(struct bstate *bs);

#endif

/* fuzz_check.h: what the fuzz targets share, header-only (each target is
 * one .c linked against the core alone): an invariant that fails aborts
 * with a line saying which, and the checks of endpoints and of JSON
 * stream framing. */
#ifndef VIPD_FUZZ_CHECK_H
#define VIPD_FUZZ_CHECK_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "jstream.h"
#include "model.h"

#define CHECK(cond) do {							\
	if (!(cond)) {								\
		fprintf(stderr, "%s:%d: invariant failed: %s\n",		\
			__FILE__, __LINE__, #cond);				\
		abort();							\
	}									\
} while (0)

static inline bool str_same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static inline bool ep_has_port(const struct endpoint *e, const struct ep_port *p)
{
	for (unsigned i = 0; i < e->n_ports; i++)
		if (!strcmp(e->ports[i].name, p->name))
			return e->ports[i].port == p->port;
	return false;
}

/* Every field a source sets (not the model's source and stale); named
 * ports as a set. */
static inline bool ep_same(const struct endpoint *a, const struct endpoint *b)
{
	if (!str_same(a->id, b->id) || !addr_equal(&a->ip, &b->ip) || a->port != b->port ||
	    a->n_ports != b->n_ports || a->weight != b->weight || !str_same(a->node, b->node) ||
	    !str_same(a->zone, b->zone) || a->ready != b->ready || a->terminating != b->terminating)
		return false;
	for (unsigned i = 0; i < a->n_ports; i++)
		if (!ep_has_port(b, &a->ports[i]))
			return false;
	return true;
}

/* The values of a stream, as compact text, in order. */
#define FRAMES_MAX 64
struct frames {
	char *v[FRAMES_MAX];
	size_t n, total;
};

static inline bool frames_cb(json_t *v, void *arg)
{
	struct frames *f = arg;

	if (f->n < FRAMES_MAX)
		CHECK((f->v[f->n++] = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT)));
	f->total++;
	return true;
}

static inline void frames_fini(struct frames *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->v[i]);
	memset(f, 0, sizeof(*f));
}

/* data in two chunks, cut bytes then the rest (as a source feeds them:
 * it stops at the first error). Returns the last jstream_feed result. */
static inline int frames_feed(const char *data, size_t len, size_t cut, struct frames *f)
{
	struct jstream s = { 0 };
	int ret = jstream_feed(&s, data, cut, frames_cb, f);

	if (ret == 0)
		ret = jstream_feed(&s, data + cut, len - cut, frames_cb, f);
	jstream_fini(&s);
	return ret;
}

/* Framing does not depend on where the chunks are cut: in one chunk and
 * cut at every position in 1..16, the same values come out, and an error
 * is an error either way. */
static inline void frames_check(const char *data, size_t len)
{
	struct frames one = { 0 }, cut;
	int ret = frames_feed(data, len, len, &one);

	for (size_t at = 1; at <= 16 && at < len; at++) {
		memset(&cut, 0, sizeof(cut));
		CHECK((frames_feed(data, len, at, &cut) < 0) == (ret < 0));
		CHECK(cut.total == one.total);
		for (size_t i = 0; i < one.n; i++)
			CHECK(!strcmp(cut.v[i], one.v[i]));
		frames_fini(&cut);
	}
	frames_fini(&one);
}

#endif

/* jstream.h: a stream of JSON values (etcd's watch, Docker's events), fed
 * in chunks as they arrive; each complete value is handed over at once. */
#ifndef VIPD_JSTREAM_H
#define VIPD_JSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

/* A value bigger than this is not one a registry or engine sends. */
#define JSTREAM_MAX (64u << 20)

struct jstream {
	char *buf;
	size_t len, cap;
};

/* Returns false to stop: jstream_feed returns at once, dropping the rest. */
typedef bool (*jstream_cb)(json_t *value, void *arg);

/* Returns 0; 1 when cb stopped; -EINVAL on malformed input or an oversized
 * value; -ENOMEM. The value is borrowed by cb for the call only. */
int jstream_feed(struct jstream *s, const char *data, size_t len,
		 jstream_cb cb, void *arg);
void jstream_reset(struct jstream *s);
void jstream_fini(struct jstream *s);

#endif

/* jstream.h: a stream of JSON values (etcd's watch, Docker's events), fed
 * in chunks as they arrive; each complete value is handed over at once.
 *
 * Framing is one pass: every byte is looked at once, when it arrives, and
 * every value is parsed once, when its last byte arrives. So a value of
 * many megabytes costs its size, not its size times the number of chunks
 * it came in. A string value longer than max_string is not kept: the value
 * is handed over with that string replaced by a marker (jstream_cut), so
 * the rest of the value (an etcd event's key and revision) still counts.
 * Member names are never cut, nor values of the member named whole.
 */
#ifndef VIPD_JSTREAM_H
#define VIPD_JSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

/* What one value may keep in memory, cut strings aside: past this it is
 * not one a registry or engine sends. */
#define JSTREAM_MAX (64u << 20)

struct jstream {
	size_t max_string;	/* 0: keep strings whole; set by the owner */
	const char *whole;	/* values of members of this name are never cut
				 * (etcd's "key"); set by the owner, may be NULL */
	/* the value being framed; private to jstream.c */
	char *buf;
	size_t len, cap;
	uint32_t depth;
	uint64_t objects;	/* bit d: the container at depth d+1 is an object */
	bool in_value, in_string, escaped, scalar, cutting;
	bool want_key, key;	/* the next string, this string, is a member name */
	bool keep_whole;	/* this string is the value of a "whole" member */
	char name[16];		/* the last member name, if short */
	size_t string_start, string_len;
};

/* Returns false to stop: jstream_feed returns at once, dropping the rest. */
typedef bool (*jstream_cb)(json_t *value, void *arg);

/* Returns 0; 1 when cb stopped; -EINVAL on malformed input; -E2BIG for a
 * value over JSTREAM_MAX; -ENOMEM. The value is borrowed by cb for the
 * call only. After an error the stream starts afresh. */
int jstream_feed(struct jstream *s, const char *data, size_t len,
		 jstream_cb cb, void *arg);
void jstream_reset(struct jstream *s);
void jstream_fini(struct jstream *s);

/* Whether a string of a handed-over value was cut; *len receives its
 * length as sent. */
bool jstream_cut(const char *str, size_t *len);

#endif

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jstream.h"

/* What a cut string becomes: no base64 or JSON text of a registry looks
 * like it. */
#define CUT_PREFIX "(cut: "

static int keep(struct jstream *s, const char *data, size_t len)
{
	if (!len)
		return 0;
	if (s->len + len > JSTREAM_MAX)
		return -E2BIG;
	if (s->len + len > s->cap) {
		size_t cap = s->cap ? s->cap : 4096;
		char *b;

		while (cap < s->len + len)
			cap *= 2;
		if (!(b = realloc(s->buf, cap)))
			return -ENOMEM;
		s->buf = b;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, data, len);
	s->len += len;
	return 0;
}

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void start_string(struct jstream *s)
{
	s->in_string = true;
	s->key = s->want_key;
	s->keep_whole = !s->key && s->whole && !strcmp(s->name, s->whole);
	s->want_key = false;
	s->escaped = s->cutting = false;
	s->string_start = s->len;
	s->string_len = 0;
}

/* n more bytes of the current string as sent: once past max_string, what
 * was kept of it is dropped and the rest is only counted. */
static int string_bytes(struct jstream *s, const char *p, size_t n)
{
	s->string_len += n;
	if (!s->cutting && !s->key && !s->keep_whole && s->max_string &&
	    s->string_len > s->max_string) {
		s->cutting = true;
		s->len = s->string_start;
	}
	return s->cutting ? 0 : keep(s, p, n);
}

/* Inside a string: the run of bytes up to (not including) a quote or a
 * backslash, in one copy. Returns the bytes consumed. */
static size_t string_run(struct jstream *s, const char *p, size_t n, int *ret)
{
	size_t i = 0;

	while (i < n && p[i] != '"' && p[i] != '\\')
		i++;
	*ret = string_bytes(s, p, i);
	return i;
}

static int end_string(struct jstream *s)
{
	char mark[48];

	s->in_string = false;
	if (s->key) {	/* remembered, for the value that follows */
		size_t n = s->len - s->string_start;

		if (n >= sizeof(s->name))
			n = 0;	/* long names match no "whole" */
		memcpy(s->name, s->buf + s->string_start, n);
		s->name[n] = '\0';
	}
	if (!s->cutting)
		return keep(s, "\"", 1);
	snprintf(mark, sizeof(mark), CUT_PREFIX "%zu bytes)\"", s->string_len);
	return keep(s, mark, strlen(mark));
}

/* The value is complete: parse it once and hand it over. */
static int emit(struct jstream *s, jstream_cb cb, void *arg)
{
	json_error_t jerr;
	json_t *v = json_loadb(s->buf, s->len, JSON_DECODE_ANY, &jerr);
	int ret = 0;

	s->in_value = s->scalar = false;
	s->len = 0;
	if (!v)
		return -EINVAL;
	if (!cb(v, arg))
		ret = 1;
	json_decref(v);
	return ret;
}

/* Objects deeper than 64 count as arrays: their names may then be cut,
 * which only refuses what no registry sends. */
static bool in_object(const struct jstream *s)
{
	return s->depth && s->depth <= 64 && (s->objects >> (s->depth - 1) & 1);
}

static void open_container(struct jstream *s, char c)
{
	s->depth++;
	if (s->depth <= 64) {
		uint64_t bit = 1ULL << (s->depth - 1);

		s->objects = c == '{' ? s->objects | bit : s->objects & ~bit;
	}
	s->want_key = c == '{';
}

/* The first byte of a value. */
static int begin(struct jstream *s, char c)
{
	int ret;

	s->in_value = true;
	s->depth = 0;
	s->len = 0;
	s->want_key = false;
	if (c == '}' || c == ']' || c == ',' || c == ':')
		return -EINVAL;
	ret = keep(s, &c, 1);	/* before start_string: the quote is kept */
	if (c == '{' || c == '[')
		open_container(s, c);
	else if (c == '"')
		start_string(s);
	else
		s->scalar = true;
	return ret;
}

/* One structural byte inside an object or array. */
static int inside(struct jstream *s, char c, bool *done)
{
	int ret = keep(s, &c, 1);

	if (c == '"')
		start_string(s);
	else if (c == '{' || c == '[')
		open_container(s, c);
	else if ((c == '}' || c == ']') && --s->depth == 0)
		*done = true;
	else if (c == ',')
		s->want_key = in_object(s);
	else if (c == ':')
		s->want_key = false;
	return ret;
}

static int step(struct jstream *s, const char *p, size_t n, size_t *used,
		jstream_cb cb, void *arg)
{
	bool done = false;
	int ret = 0;
	char c = *p;

	*used = 1;
	if (!s->in_value)
		return blank(c) ? 0 : begin(s, c);
	if (s->in_string) {
		if (s->escaped || c == '\\') {
			s->escaped = !s->escaped;
			return string_bytes(s, p, 1);
		}
		if (c != '"') {
			*used = string_run(s, p, n, &ret);
			return ret;
		}
		ret = end_string(s);
		done = s->depth == 0;
	} else if (s->scalar) {
		if (!blank(c) && c != '{' && c != '[' && c != '"')
			return keep(s, &c, 1);
		*used = 0;	/* c starts what follows the scalar */
		done = true;
	} else {
		ret = inside(s, c, &done);
	}
	return ret == 0 && done ? emit(s, cb, arg) : ret;
}

int jstream_feed(struct jstream *s, const char *data, size_t len,
		 jstream_cb cb, void *arg)
{
	size_t off = 0, used;
	int ret = 0;

	while (off < len && ret == 0) {
		ret = step(s, data + off, len - off, &used, cb, arg);
		off += used;
	}
	if (ret)
		jstream_reset(s);
	return ret;
}

void jstream_reset(struct jstream *s)
{
	s->len = 0;
	s->depth = 0;
	s->in_value = s->in_string = s->escaped = s->scalar = s->cutting = false;
}

void jstream_fini(struct jstream *s)
{
	size_t max = s->max_string;

	free(s->buf);
	memset(s, 0, sizeof(*s));
	s->max_string = max;
}

bool jstream_cut(const char *str, size_t *len)
{
	unsigned long long n;

	if (strncmp(str, CUT_PREFIX, strlen(CUT_PREFIX)) ||
	    sscanf(str + strlen(CUT_PREFIX), "%llu bytes)", &n) != 1)
		return false;
	*len = (size_t)n;
	return true;
}

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "jstream.h"

static int append(struct jstream *s, const char *data, size_t len)
{
	if (!len)
		return 0;
	if (s->len + len > JSTREAM_MAX)
		return -EINVAL;
	if (s->len + len > s->cap) {
		size_t cap = (s->len + len) * 2;
		char *b = realloc(s->buf, cap);

		if (!b)
			return -ENOMEM;
		s->buf = b;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, data, len);
	s->len += len;
	return 0;
}

static bool blank(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strchr(" \t\r\n", p[i]))
			return false;
	return true;
}

/* How many bytes at the end of p[0..n) are a UTF-8 sequence cut short. */
static size_t utf8_cut(const char *p, size_t n)
{
	for (size_t back = 1; back <= 4 && back <= n; back++) {
		unsigned char c = (unsigned char)p[n - back];
		size_t need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;

		if ((c & 0xc0) == 0x80)
			continue;	/* a continuation byte: look further back */
		return need > back ? back : 0;
	}
	return 0;
}

int jstream_feed(struct jstream *s, const char *data, size_t len,
		 jstream_cb cb, void *arg)
{
	size_t off = 0;
	int ret = append(s, data, len);

	while (ret == 0 && off < s->len && !blank(s->buf + off, s->len - off)) {
		json_error_t jerr;
		json_t *v = json_loadb(s->buf + off, s->len - off,
				       JSON_DISABLE_EOF_CHECK | JSON_DECODE_ANY, &jerr);

		if (!v) {
			/* An error at the very end is (most likely) a value cut
			 * by the chunk boundary, even mid-escape or mid-character
			 * (jansson stops before a cut UTF-8 sequence): wait for
			 * the rest. Were it malformed, the next bytes show it. */
			if ((size_t)jerr.position >= s->len - off - utf8_cut(s->buf + off, s->len - off))
				break;
			ret = -EINVAL;
			break;
		}
		/* A number or true/false/null ending with the buffer may go
		 * on in the next chunk ("12" then "3" is 123): wait for a
		 * byte after it. Objects, arrays and strings end themselves. */
		if (off + (size_t)jerr.position >= s->len && !json_is_object(v) &&
		    !json_is_array(v) && !json_is_string(v)) {
			json_decref(v);
			break;
		}
		off += (size_t)jerr.position;
		if (!cb(v, arg))
			ret = 1;
		json_decref(v);
	}
	if (ret) {
		s->len = 0;
		return ret;
	}
	if (off) {
		memmove(s->buf, s->buf + off, s->len - off);
		s->len -= off;
	}
	return 0;
}

void jstream_reset(struct jstream *s)
{
	s->len = 0;
}

void jstream_fini(struct jstream *s)
{
	free(s->buf);
	memset(s, 0, sizeof(*s));
}

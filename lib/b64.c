#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"

static const char alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *b64_encode(const void *data, size_t len)
{
	const uint8_t *p = data;
	char *out = malloc((len + 2) / 3 * 4 + 1), *o = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;

		if (i + 1 < len)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < len)
			v |= p[i + 2];
		*o++ = alphabet[v >> 18 & 63];
		*o++ = alphabet[v >> 12 & 63];
		*o++ = i + 1 < len ? alphabet[v >> 6 & 63] : '=';
		*o++ = i + 2 < len ? alphabet[v & 63] : '=';
	}
	*o = '\0';
	return out;
}

static int value_of(char c)
{
	const char *p = c ? strchr(alphabet, c) : NULL;

	return p ? (int)(p - alphabet) : -1;
}

char *b64_decode(const char *text, size_t *out_len)
{
	size_t n = strlen(text), o = 0;
	char *out;

	if (n % 4)
		return NULL;
	out = malloc(n / 4 * 3 + 1);
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i += 4) {
		int a = value_of(text[i]), b = value_of(text[i + 1]);
		int c = text[i + 2] == '=' ? 0 : value_of(text[i + 2]);
		int d = text[i + 3] == '=' ? 0 : value_of(text[i + 3]);
		if (a < 0 || b < 0 || c < 0 || d < 0 ||
		    (text[i + 2] == '=' && text[i + 3] != '=') ||
		    (i + 4 < n && (text[i + 2] == '=' || text[i + 3] == '='))) {
			free(out);
			return NULL;
		}
		uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)d;

		out[o++] = (char)(v >> 16);
		if (text[i + 2] != '=')
			out[o++] = (char)(v >> 8 & 0xff);
		if (text[i + 3] != '=')
			out[o++] = (char)(v & 0xff);
	}
	out[o] = '\0';
	*out_len = o;
	return out;
}

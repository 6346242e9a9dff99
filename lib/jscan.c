#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <jansson.h>

#include "jscan.h"

static size_t blanks(const char *t, size_t i, size_t len)
{
	while (i < len && (t[i] == ' ' || t[i] == '\t' || t[i] == '\r' || t[i] == '\n'))
		i++;
	return i;
}

/* t[i] is the opening quote: the offset past the closing one, or 0. */
static size_t string_end(const char *t, size_t i, size_t len)
{
	for (i++; i < len; i++) {
		if (t[i] == '\\')
			i++;
		else if (t[i] == '"')
			return i + 1;
	}
	return 0;
}

/* The offset past the value that starts at t[i], or 0. */
static size_t value_end(const char *t, size_t i, size_t len)
{
	size_t depth = 0;

	if (i >= len)
		return 0;
	if (t[i] == '"')
		return string_end(t, i, len);
	if (t[i] != '{' && t[i] != '[') {
		while (i < len && !strchr(",}] \t\r\n", t[i]))
			i++;
		return i;
	}
	for (; i < len; i++) {
		if (t[i] == '"') {
			if (!(i = string_end(t, i, len)))
				return 0;
			i--;
		} else if (t[i] == '{' || t[i] == '[') {
			depth++;
		} else if ((t[i] == '}' || t[i] == ']') && --depth == 0) {
			return i + 1;
		}
	}
	return 0;
}

/* The key's text, unescaped by jansson (\u escapes and all). */
static json_t *key_of(const char *t, size_t from, size_t to)
{
	json_t *k = json_loadb(t + from, to - from, JSON_DECODE_ANY, NULL);

	if (k && !json_is_string(k)) {
		json_decref(k);
		k = NULL;
	}
	return k;
}

int jscan_object(const char *t, size_t len, jscan_cb cb, void *arg, size_t *where)
{
	size_t i = blanks(t, 0, len), end;
	bool first = true;
	int ret;

	if (i >= len || t[i] != '{')
		goto bad;
	for (i++;;) {
		json_t *key;

		i = blanks(t, i, len);
		if (i < len && t[i] == '}' && first)
			break;
		if (i >= len || t[i] != '"' || !(end = string_end(t, i, len)))
			goto bad;
		if (!(key = key_of(t, i, end)))
			goto bad;
		i = blanks(t, end, len);
		if (i >= len || t[i] != ':') {
			json_decref(key);
			goto bad;
		}
		i = blanks(t, i + 1, len);
		if (!(end = value_end(t, i, len)) || end == i) {
			json_decref(key);
			goto bad;
		}
		ret = cb(json_string_value(key), t + i, end - i, arg);
		json_decref(key);
		if (ret) {
			*where = i;
			return ret;
		}
		first = false;
		i = blanks(t, end, len);
		if (i < len && t[i] == ',')
			i++;
		else if (i < len && t[i] == '}')
			break;
		else
			goto bad;
	}
	if (blanks(t, i + 1, len) == len)
		return 0;
	i = blanks(t, i + 1, len);
bad:
	*where = i;
	return -EINVAL;
}

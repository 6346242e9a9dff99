/* Reading a container's labels and environment, and refusing with the
 * label, the value and why (shared by docker_map.c and docker_vip.c). */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker_internal.h"

int dk_refuse(struct dk_ctx *x, const char *kind, const char *key,
		  const char *value, const char *fmt, ...)
{
	char why[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	/* keys and values are the container's: shown cut, never trusted */
	snprintf(x->err, DOCKER_ERR_LEN, "%s %.*s%s%s%.*s%s%s: %s", kind, VALUE_SHOWN, key,
		 strlen(key) > VALUE_SHOWN ? "..." : "", value ? ": value \"" : "",
		 VALUE_SHOWN, value ? value : "", value && strlen(value) > VALUE_SHOWN ? "..." : "",
		 value ? "\"" : "", why);
	return -EINVAL;
}

const char *dk_label(const struct dk_ctx *x, const char *key)
{
	return json_string_value(json_object_get(x->labels, key));
}

const char *dk_plabel_key(const struct dk_ctx *x, const char *suffix, char key[KEY_MAX])
{
	snprintf(key, KEY_MAX, "%s%s", x->c->prefix, suffix);
	return key;
}

const char *dk_plabel(const struct dk_ctx *x, const char *suffix, char key[KEY_MAX])
{
	return dk_label(x, dk_plabel_key(x, suffix, key));
}

const char *dk_env(const struct dk_ctx *x, const char *key)
{
	size_t n = strlen(key), i;
	const json_t *v;

	json_array_foreach(x->env, i, v) {
		const char *s = json_string_value(v);

		if (s && !strncmp(s, key, n) && s[n] == '=')
			return s + n + 1;
	}
	return NULL;
}

/* A registrator key: label first, then environment. */
bool dk_meta_get(const struct dk_ctx *x, const char *key, struct dk_meta *m)
{
	snprintf(m->key, KEY_MAX, "%s", key);
	if ((m->value = dk_label(x, key)))
		m->kind = "label";
	else if ((m->value = dk_env(x, key)))
		m->kind = "env";
	return m->value != NULL;
}

int dk_parse_num(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int dk_port_of(struct dk_ctx *x, const char *kind, const char *key,
		   const char *value, uint16_t *out)
{
	long v;

	if (dk_parse_num(value, 1, 65535, &v) < 0)
		return dk_refuse(x, kind, key, value, "must be a port, 1..65535");
	*out = (uint16_t)v;
	return 0;
}

/* docker_internal.h: what reading a container's labels takes, shared by
 * docker_map.c (names, endpoints, addresses), docker_vip.c (the service a
 * container defines) and docker_labels.c. Not an interface: only
 * watcher/docker_*.c include it. */
#ifndef VIPD_DOCKER_INTERNAL_H
#define VIPD_DOCKER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "docker.h"

/* Label values are shown in log lines up to this; keys vipd builds
 * ("vipd.health.interval_ms") fit KEY_MAX, container keys are shown cut. */
#define VALUE_SHOWN 80
#define KEY_MAX 128

/* One container being read. */
struct dk_ctx {
	const struct docker_conf *c;
	const json_t *labels, *env;	/* Config.Labels, Config.Env; borrowed */
	size_t plen;			/* strlen(c->prefix) */
	char *err;			/* DOCKER_ERR_LEN: the refusal */
};

/* Where a value came from, to name it in a refusal. */
struct dk_meta {
	const char *value;
	const char *kind;	/* "label" or "env" */
	char key[KEY_MAX];
};

/* Writes "KIND KEY: value "V": why" to x->err; returns -EINVAL. */
int dk_refuse(struct dk_ctx *x, const char *kind, const char *key,
	      const char *value, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
const char *dk_label(const struct dk_ctx *x, const char *key);
/* The name <prefix>suffix in key, and returns key. */
const char *dk_plabel_key(const struct dk_ctx *x, const char *suffix, char key[KEY_MAX]);
/* The label <prefix>suffix, its name in key. */
const char *dk_plabel(const struct dk_ctx *x, const char *suffix, char key[KEY_MAX]);
const char *dk_env(const struct dk_ctx *x, const char *key);
/* A registrator key: label first, then environment. */
bool dk_meta_get(const struct dk_ctx *x, const char *key, struct dk_meta *m);
/* Plain decimal digits within [min, max]; 0 or -EINVAL. */
int dk_parse_num(const char *s, long min, long max, long *out);
int dk_port_of(struct dk_ctx *x, const char *kind, const char *key,
	       const char *value, uint16_t *out);

/* <prefix>vip and the service fields: v->svc when the container defines
 * its service (name: its announced name, "" when none). */
int dk_define(struct dk_ctx *x, struct docker_view *v, const char *name);

#endif

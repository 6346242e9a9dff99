/* vipctl's etcd calls: the daemon's client (endpoint failover, auth, TLS),
 * each call driven to its end before the next. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

/* Per request; a dead endpoint costs its connect timeout, then the next is
 * tried. */
#define REQUEST_TIMEOUT_MS	10000

int ctl_run(struct ctl *c, struct etcd_call *call, const char *what, json_t **reply)
{
	/* each endpoint: an authentication, the request, one renewal of both */
	uint64_t bound = (uint64_t)REQUEST_TIMEOUT_MS * c->conf.n_endpoints * (c->conf.user ? 4 : 1);
	char why[1024];		/* a reason per endpoint tried */

	if (etcd_client_run(c->etcd, call, bound, reply, why, sizeof(why)) == 0)
		return 0;
	fprintf(stderr, "vipctl: etcd %s (%s)\n", why, what);
	return -EIO;
}

int ctl_call(struct ctl *c, const char *path, const char *body, json_t **reply)
{
	char *copy = strdup(body);

	return ctl_run(c, etcd_call(c->etcd, path, copy, REQUEST_TIMEOUT_MS, NULL, NULL), path, reply);
}

void ctl_print_json(const json_t *v)
{
	json_dumpf(v, stdout, JSON_INDENT(2));
	putchar('\n');
}

char *ctl_key(const struct ctl *c, const char *kind, const char *service,
	      const char *id)
{
	char *k;
	int n;

	if (id)
		n = asprintf(&k, "%s/%s/%s/%s", c->conf.prefix, kind, service, id);
	else if (service)
		n = asprintf(&k, "%s/%s/%s", c->conf.prefix, kind, service);
	else
		n = asprintf(&k, "%s/%s/", c->conf.prefix, kind);
	return n < 0 ? NULL : k;
}

int ctl_delete(struct ctl *c, const char *key, const char *what)
{
	char *body = key ? etcd_delete_body(key, "") : NULL;
	json_t *reply = NULL;
	int ret = CTL_FAIL;

	if (body && ctl_call(c, "kv/deleterange", body, &reply) == 0) {
		if (etcd_int(reply, "deleted"))
			ret = CTL_OK;
		else
			fprintf(stderr, "vipctl: no %s\n", what);
	}
	free(body);
	json_decref(reply);
	return ret;
}

bool ctl_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return true;
	return false;
}

int ctl_usage(const char *usage, bool help)
{
	fputs(usage, help ? stdout : stderr);
	return help ? CTL_OK : CTL_USAGE;
}

static int noun_usage(const struct ctl_verb *verbs, size_t n, bool help)
{
	for (size_t i = 0; i < n; i++)
		fprintf(help ? stdout : stderr, "%s%s", i ? "\n" : "", verbs[i].usage);
	return help ? CTL_OK : CTL_USAGE;
}

int ctl_dispatch(struct ctl *c, const struct ctl_verb *verbs, size_t n,
		 const char *noun, int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return noun_usage(verbs, n, argc >= 2);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(argv[1], verbs[i].name))
			continue;
		if (ctl_wants_help(argc - 1, argv + 1))
			return ctl_usage(verbs[i].usage, true);
		return verbs[i].run(c, argc - 1, argv + 1);
	}
	fprintf(stderr, "vipctl: %s: unknown command %s\n", noun, argv[1]);
	return noun_usage(verbs, n, false);
}

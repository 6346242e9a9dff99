/* ctl.h: vipctl's parts: one file per subcommand, sharing a synchronous
 * etcd client (the daemon's is asynchronous; this one blocks, as a CLI may). */
#ifndef VIPD_CTL_H
#define VIPD_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "etcd.h"

/* Exit codes: what scripts rely on. */
enum { CTL_OK = 0, CTL_FAIL = 1, CTL_USAGE = 2 };

struct ctl {
	struct etcd_conf conf;
	const char *cacert, *cert, *key;
	bool json;
	char *auth_header;
};

/* POSTs body to /v3/<path> on the first endpoint that answers; *reply is
 * the parsed answer (caller's). Returns 0, or -EIO after printing why. */
int ctl_call(struct ctl *c, const char *path, const char *body, json_t **reply);
/* --json output: v indented, one trailing newline. */
void ctl_print_json(const json_t *v);
/* The registry key of a service or endpoint (malloc'd). */
char *ctl_key(const struct ctl *c, const char *kind, const char *service,
	      const char *id);

/* Deletes one key; "no <what>" and CTL_FAIL when there was none. */
int ctl_delete(struct ctl *c, const char *key, const char *what);

/* Subcommand verbs: a const table per noun, as in vipctl's main. */
struct ctl_verb {
	const char *name;
	int (*run)(struct ctl *c, int argc, char **argv);
};
int ctl_dispatch(struct ctl *c, const struct ctl_verb *verbs, size_t n,
		 const char *noun, int argc, char **argv);

int ctl_service(struct ctl *c, int argc, char **argv);
int ctl_endpoint(struct ctl *c, int argc, char **argv);
int ctl_check(struct ctl *c, int argc, char **argv);

#endif

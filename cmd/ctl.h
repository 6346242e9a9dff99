/* ctl.h: vipctl's parts: one file per subcommand, sharing the daemon's
 * etcd client, each call driven to its end on a loop of vipctl's own (a CLI
 * may block). */
#ifndef VIPD_CTL_H
#define VIPD_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "etcd.h"
#include "etcd_client.h"

/* Exit codes: what scripts rely on. */
enum { CTL_OK = 0, CTL_FAIL = 1, CTL_USAGE = 2 };

struct ctl {
	struct etcd_conf conf;
	bool json;
	struct loop *loop;		/* vipctl's alone: etcd calls run on it */
	struct etcd_client *etcd;
};

/* Drives call (started with done NULL) to its end; *reply is the parsed
 * answer (caller's). Returns 0, or -EIO after printing why (what: the
 * request, for that line). */
int ctl_run(struct ctl *c, struct etcd_call *call, const char *what, json_t **reply);
/* POSTs body to /v3/<path> on the first endpoint that answers: ctl_run of
 * an etcd_call. */
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

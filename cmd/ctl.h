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

/* vipd's --metrics default: where status asks. */
#define CTL_VIPD_DEFAULT	"http://127.0.0.1:9464"

/* Exit codes: what scripts rely on. CTL_FAIL: a runtime failure (etcd or
 * vipd out of reach, a refused write, nothing found); CTL_USAGE: bad input
 * (a flag, an argument, a service or file given on the command line). */
enum { CTL_OK = 0, CTL_FAIL = 1, CTL_USAGE = 2 };

struct ctl {
	struct etcd_conf conf;
	bool json;
	struct loop *loop;		/* vipctl's alone: etcd calls run on it */
	struct etcd_client *etcd;
	const char *vipd;		/* --vipd: the daemon's HTTP listener */
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

/* Whether argv (a command and its arguments) asks for help: --help or -h
 * anywhere. Help never needs etcd. */
bool ctl_wants_help(int argc, char **argv);
/* usage: to stdout and CTL_OK when asked for (help), else to stderr and
 * CTL_USAGE (a mistake on the command line). */
int ctl_usage(const char *usage, bool help);

/* Subcommand verbs: a const table per noun, as in vipctl's main. usage:
 * "usage: vipctl NOUN VERB ..." lines, then the flags, one a line. */
struct ctl_verb {
	const char *name, *usage;
	int (*run)(struct ctl *c, int argc, char **argv);
};
/* argv[0] is the noun. "NOUN --help" prints every verb's usage, "NOUN VERB
 * --help" that verb's. */
int ctl_dispatch(struct ctl *c, const struct ctl_verb *verbs, size_t n,
		 const char *noun, int argc, char **argv);

int ctl_service(struct ctl *c, int argc, char **argv);
int ctl_endpoint(struct ctl *c, int argc, char **argv);
int ctl_check(struct ctl *c, int argc, char **argv);
int ctl_status(struct ctl *c, int argc, char **argv);
/* --vipd: http:// or https://, a host, and an optional port and path. */
bool ctl_vipd_url_valid(const char *url);

#endif

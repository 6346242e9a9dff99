/* vipctl: the operator's tool for the registry. One subcommand per file,
 * dispatched from a const table, as wireguard-tools does. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

#include "ctl.h"
#include "version.h"	/* generated: build/version.h */
#include "loop.h"

struct subcommand {
	const char *name, *help;
	int (*run)(struct ctl *c, int argc, char **argv);
	bool etcd;		/* needs the registry */
};

static const struct subcommand subcommands[] = {
	{ "service", "add|del|get|list services in the registry", ctl_service, true },
	{ "endpoint", "add|del|list endpoints (add --ttl: under a lease kept alive)", ctl_endpoint, true },
	{ "check", "validate a services file as vipd would read it", ctl_check, false },
	{ "status", "what vipd on this node routes: services, backends, their states", ctl_status, false },
	{ "help", "this text, or a command's: help COMMAND [VERB] (or COMMAND --help)", NULL, false },
};
#define N_SUBCOMMANDS (sizeof(subcommands) / sizeof(subcommands[0]))

static int usage(bool help)
{
	FILE *f = help ? stdout : stderr;

	fprintf(f, "usage: vipctl [GLOBAL FLAGS] COMMAND [ARGS...]\n"
		   "       vipctl help [COMMAND [VERB]]   (or vipctl COMMAND [VERB] --help)\n"
		   "       vipctl --version\n"
		   "global flags:\n"
		   "  --etcd-endpoints URL[,URL...]  the registry (default http://127.0.0.1:2379)\n"
		   "  --etcd-prefix /vipd            its key prefix (default /vipd)\n"
		   "  --etcd-cacert F --etcd-cert F --etcd-key F   TLS to etcd\n"
		   "  --etcd-user U[:P]              etcd user; the password from --etcd-password-file F\n"
		   "                                 or $%s when not after the colon\n"
		   "  --vipd URL                     vipd's HTTP listener, for status (default %s)\n"
		   "  --json                         JSON output\n"
		   "commands:\n", ETCD_PASSWORD_ENV, CTL_VIPD_DEFAULT);
	for (size_t i = 0; i < N_SUBCOMMANDS; i++)
		fprintf(f, "  %-9s %s\n", subcommands[i].name, subcommands[i].help);
	fprintf(f, "exit status: 0 ok, 1 runtime failure (etcd or vipd unreachable, refused, not found), "
		   "2 bad input\n");
	return help ? CTL_OK : CTL_USAGE;
}

static const struct subcommand *subcommand_find(const char *name)
{
	for (size_t i = 0; i < N_SUBCOMMANDS; i++)
		if (!strcmp(name, subcommands[i].name) && subcommands[i].run)
			return &subcommands[i];
	return NULL;
}

/* help COMMAND [VERB]: the same as COMMAND [VERB] --help. */
static int help(struct ctl *c, int argc, char **argv)
{
	const struct subcommand *s;
	char *args[4] = { NULL };
	char opt[] = "--help";

	if (argc < 2 || (argc == 2 && !strcmp(argv[1], "help")))
		return usage(true);
	if (argc > 3) {
		fprintf(stderr, "vipctl: help: too many arguments (help COMMAND [VERB])\n");
		return CTL_USAGE;
	}
	if (!(s = subcommand_find(argv[1]))) {
		fprintf(stderr, "vipctl: help: unknown command %s\n", argv[1]);
		return usage(false);
	}
	args[0] = argv[1];
	args[1] = argc == 3 ? argv[2] : opt;
	args[2] = argc == 3 ? opt : NULL;
	return s->run(c, argc, args);
}

/* The subcommand, with what it needs (help needs nothing). */
static int run(const struct subcommand *s, struct ctl *c, const struct etcd_flags *flags,
	       int argc, char **argv)
{
	char err[ETCD_ERR_LEN];
	int ret;

	if (!s->etcd || ctl_wants_help(argc, argv))
		return s->run(c, argc, argv);
	if (etcd_conf_init(&c->conf, flags, err) < 0) {
		fprintf(stderr, "vipctl: %s\n", err);
		etcd_conf_fini(&c->conf);
		return CTL_USAGE;
	}
	if (!(c->loop = loop_alloc()) || !(c->etcd = etcd_client_alloc(c->loop, &c->conf))) {
		fprintf(stderr, "vipctl: out of memory\n");
		ret = CTL_FAIL;
	} else {
		etcd_client_set_every_endpoint(c->etcd, true);
		ret = s->run(c, argc, argv);
	}
	etcd_client_free(c->etcd);
	loop_free(c->loop);
	etcd_conf_fini(&c->conf);
	return ret;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		ETCD_OPTIONS,
		{ "json", no_argument, NULL, 'j' },
		{ "vipd", required_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	struct etcd_flags flags = { .endpoints = "http://127.0.0.1:2379" };
	struct ctl c = { .json = false, .vipd = CTL_VIPD_DEFAULT };
	const struct subcommand *s;
	int opt;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		if (etcd_flag(&flags, opt, optarg))
			continue;
		switch (opt) {
		case 'j': c.json = true; break;
		case 'D':
			if (!ctl_vipd_url_valid(optarg)) {
				fprintf(stderr, "vipctl: --vipd %s: expected http://HOST:PORT (or https://)\n",
					optarg);
				return CTL_USAGE;
			}
			c.vipd = optarg;
			break;
		case 'h': return usage(true);
		case 'V': printf("vipctl %s\n", VIPD_VERSION); return CTL_OK;
		default:
			fprintf(stderr, "vipctl: unknown or incomplete option %s (see vipctl --help)\n",
				argv[optind - 1]);
			return CTL_USAGE;
		}
	}
	if (optind >= argc)
		return usage(false);
	if (!strcmp(argv[optind], "help"))
		return help(&c, argc - optind, argv + optind);
	if (!(s = subcommand_find(argv[optind]))) {
		fprintf(stderr, "vipctl: unknown command %s\n", argv[optind]);
		return usage(false);
	}
	return run(s, &c, &flags, argc - optind, argv + optind);
}

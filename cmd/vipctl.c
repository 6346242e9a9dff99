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
};

static int usage(void)
{
	fprintf(stderr, "usage: vipctl [--etcd-endpoints URL[,URL...]] [--etcd-prefix /vipd]\n"
			"              [--etcd-cacert F --etcd-cert F --etcd-key F] [--etcd-user U[:P]]\n"
			"              [--etcd-password-file F]\n"
			"              [--json] COMMAND ...\n"
			"       vipctl --version\n");
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		fprintf(stderr, "  %-9s %s\n", subcommands[i].name, subcommands[i].help);
	return CTL_USAGE;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		ETCD_OPTIONS,
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	struct etcd_flags flags = { .endpoints = "http://127.0.0.1:2379" };
	struct ctl c = { .json = false };
	char err[ETCD_ERR_LEN];
	int opt, ret;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		if (etcd_flag(&flags, opt, optarg))
			continue;
		switch (opt) {
		case 'j': c.json = true; break;
		case 'h': usage(); return CTL_OK;
		case 'V': printf("vipctl %s\n", VIPD_VERSION); return CTL_OK;
		default:
			fprintf(stderr, "vipctl: unknown or incomplete option %s (see vipctl --help)\n",
				argv[optind - 1]);
			return CTL_USAGE;
		}
	}
	if (optind >= argc)
		return usage();
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++) {
		const struct subcommand *s = &subcommands[i];

		if (strcmp(argv[optind], s->name))
			continue;
		if (s->etcd && etcd_conf_init(&c.conf, &flags, err) < 0) {
			fprintf(stderr, "vipctl: %s\n", err);
			etcd_conf_fini(&c.conf);
			return CTL_USAGE;
		}
		if (s->etcd && (!(c.loop = loop_alloc()) ||
				!(c.etcd = etcd_client_alloc(c.loop, &c.conf)))) {
			fprintf(stderr, "vipctl: out of memory\n");
			ret = CTL_FAIL;
		} else {
			if (c.etcd)
				etcd_client_set_every_endpoint(c.etcd, true);
			ret = s->run(&c, argc - optind, argv + optind);
		}
		etcd_client_free(c.etcd);
		loop_free(c.loop);
		etcd_conf_fini(&c.conf);
		return ret;
	}
	fprintf(stderr, "vipctl: unknown command %s\n", argv[optind]);
	return usage();
}

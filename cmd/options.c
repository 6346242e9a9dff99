#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "codec.h"
#include "config.h"
#include "etcd.h"

static const char usage[] =
"usage: vipd [--etcd-endpoints URL[,URL...]] [--etcd-prefix /vipd]\n"
"            [--etcd-cacert F --etcd-cert F --etcd-key F] [--etcd-user U:P]\n"
"            [--services-file PATH] [--table NAME] [--node-name NAME]\n"
"            [--once] [--cleanup] [--dry-run] [-v|--verbose]\n"
"\n"
"  --etcd-endpoints URLS the registry (etcd v3, JSON gateway); failover in order\n"
"  --etcd-prefix P       registry prefix (default /vipd)\n"
"  --etcd-cacert/-cert/-key F   TLS: CA bundle, client certificate and key\n"
"  --etcd-user U:P       etcd username and password\n"
"  --services-file PATH  services and endpoints as JSON, re-read when it changes\n"
"                        (default without etcd: " DEFAULT_SERVICES_FILE ")\n"
"  --table NAME          nftables table name, ip and ip6 (default " DEFAULT_TABLE ")\n"
"  --node-name NAME      this node, for traffic_policy local\n"
"  --once                converge the kernel once and exit\n"
"  --cleanup             delete vipd's tables and exit\n"
"  --dry-run             print the ruleset that would be programmed and exit\n"
"  -v, --verbose         log each reconcile (twice: more)\n";

static bool table_name_valid(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > 32)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(s[i] == '-' || s[i] == '_' || (s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= '0' && s[i] <= '9')))
			return false;
	return true;
}

int config_parse(struct vipd_config *cfg, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "services-file", required_argument, NULL, 'f' },
		ETCD_OPTIONS,
		{ "table", required_argument, NULL, 't' },
		{ "node-name", required_argument, NULL, 'n' },
		{ "once", no_argument, NULL, 'o' },
		{ "cleanup", no_argument, NULL, 'c' },
		{ "dry-run", no_argument, NULL, 'd' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	int c;

	memset(cfg, 0, sizeof(*cfg));
	cfg->table = DEFAULT_TABLE;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (c) {
		case 'f': cfg->services_file = optarg; break;
		case 'E': cfg->etcd_endpoints = optarg; break;
		case 'P': cfg->etcd_prefix = optarg; break;
		case 'A': cfg->etcd_cacert = optarg; break;
		case 'C': cfg->etcd_cert = optarg; break;
		case 'K': cfg->etcd_key = optarg; break;
		case 'U': cfg->etcd_user = optarg; break;
		case 't': cfg->table = optarg; break;
		case 'n': cfg->node_name = optarg; break;
		case 'o': cfg->once = true; break;
		case 'c': cfg->cleanup = true; break;
		case 'd': cfg->dry_run = true; break;
		case 'v': cfg->verbose++; break;
		case 'h':
			fputs(usage, stdout);
			return 1;
		default:
			fprintf(stderr, "vipd: error: unknown or incomplete option %s (see vipd --help)\n",
				argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vipd: error: unexpected argument %s\n", argv[optind]);
		return -EINVAL;
	}
	if (!table_name_valid(cfg->table)) {
		fprintf(stderr, "vipd: error: --table %s: use 1..32 of a-z 0-9 - _\n", cfg->table);
		return -EINVAL;
	}
	if (cfg->node_name && !codec_name_valid(cfg->node_name)) {
		fprintf(stderr, "vipd: error: --node-name %s: not a valid name\n", cfg->node_name);
		return -EINVAL;
	}
	if (cfg->cleanup + cfg->dry_run + cfg->once > 1) {
		fprintf(stderr, "vipd: error: --once, --cleanup and --dry-run exclude each other\n");
		return -EINVAL;
	}
	if (!cfg->services_file && !cfg->etcd_endpoints)
		cfg->services_file = DEFAULT_SERVICES_FILE;
	if ((cfg->etcd_cert != NULL) != (cfg->etcd_key != NULL)) {
		fprintf(stderr, "vipd: error: --etcd-cert and --etcd-key go together\n");
		return -EINVAL;
	}
	return 0;
}

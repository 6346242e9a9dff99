#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "codec.h"
#include "config.h"
#include "version.h"	/* generated: build/version.h */
#include "etcd.h"
#include "state_cache.h"
#include "log.h"

static const char usage[] =
"usage: vipd [--etcd-endpoints URL[,URL...]] [--etcd-prefix /vipd]\n"
"            [--etcd-cacert F --etcd-cert F --etcd-key F] [--etcd-user U[:P]]\n"
"            [--etcd-password-file F]\n"
"            [--services-file PATH] [--services-file-max BYTES]\n"
"            [--docker off|local|register] [--docker-socket PATH]\n"
"            [--docker-label-prefix P] [--docker-name-from SPEC]... [--docker-network NAME]\n"
"            [--node-name NAME] [--node-ip IP] [--register-ttl S] [--docker-relist S]\n"
"            [--cluster-cidr CIDR[,CIDR]] [--masquerade-all] [--table NAME]\n"
"            [--metrics ADDR:PORT|off] [--state-dir DIR|off] [--source-wait S]\n"
"            [--log-format text|journal]\n"
"            [--once] [--cleanup] [--dry-run] [-v|--verbose] [--version] [--help]\n"
"\n"
"  --etcd-endpoints URLS the registry (etcd v3, JSON gateway); failover in order\n"
"  --etcd-prefix P       registry prefix (default /vipd)\n"
"  --etcd-cacert F, --etcd-cert F, --etcd-key F\n"
"                        TLS: CA bundle, client certificate and key\n"
"  --etcd-user U[:P]     etcd username (and password: visible in ps)\n"
"  --etcd-password-file F   the password, first line of F (else $" ETCD_PASSWORD_ENV ")\n"
"  --services-file PATH  services and endpoints as JSON, re-read when it changes\n"
"                        (default without etcd or docker: " DEFAULT_SERVICES_FILE ")\n"
"  --services-file-max B refuse a larger file (default 64 MiB: 250,000 endpoints)\n"
"  --docker MODE         containers announce themselves by labels: local (into this\n"
"                        node's routing) or register (into etcd, for every node)\n"
"  --docker-socket PATH  the Engine API (default " DOCKER_DEFAULT_SOCKET ")\n"
"  --docker-label-prefix P   label prefix (default " DOCKER_DEFAULT_PREFIX ")\n"
"  --docker-name-from SPEC   service name of containers without vipd.service or\n"
"                        SERVICE_NAME: label:KEY, env:KEY or a template such as\n"
"                        '{label:group}.{label:service}'; repeat to try several\n"
"  --docker-network NAME the network whose address is the endpoint's (default:\n"
"                        the container's only one, else the first by name)\n"
"  --node-ip IP          endpoint address of host-network containers\n"
"  --register-ttl S      register mode: lease TTL in seconds (default 10)\n"
"  --docker-relist S     list containers this often to mend lost events (default 60, 0: never)\n"
"  --cluster-cidr CIDRS  the pods' or containers' range, one IPv4 and/or one IPv6\n"
"                        CIDR, comma-separated: traffic to a VIP, external IP or\n"
"                        node port from outside it is masqueraded\n"
"  --masquerade-all      masquerade all traffic to VIPs, external IPs and node ports\n"
"                        (default: only hairpin, and with --cluster-cidr, outsiders)\n"
"  --table NAME          nftables table name, ip and ip6 (default " DEFAULT_TABLE ")\n"
"  --node-name NAME      this node, for traffic_policy local and register keys\n"
"                        (register mode default: the host name)\n"
"  --metrics ADDR:PORT   serve /metrics, /healthz and /status here (default\n"
"                        " DEFAULT_METRICS "; [::1]:PORT for IPv6; off: none)\n"
"  --state-dir DIR|off   where the state last applied is kept, for a boot with a\n"
"                        source down (default " DEFAULT_STATE_DIR ", with another\n"
"                        --table " DEFAULT_STATE_DIR "/TABLE)\n"
"  --source-wait S       at a boot (no tables), program that state when a source\n"
"                        has not answered after S seconds (default 5, 0: never)\n"
"  --once                converge the kernel once and exit\n"
"  --cleanup             delete vipd's tables and exit\n"
"  --dry-run             print the ruleset that would be programmed and exit\n"
"  -v, --verbose         log each reconcile and each of its changes\n"
"  --log-format F        text (a UTC timestamp first) or journal (<6>-style\n"
"                        priorities); default journal when stderr is the journal\n"
"  --version             print the version and exit\n"
"  --help                print this and exit\n"
"\n"
"Exit status: 0 done, 1 runtime failure, 2 bad input (a flag, or a services\n"
"file that cannot be read at start).\n";

/* Long options without a short letter: past every char (the letters
 * are taken by ETCD_OPTIONS and the flags above). */
enum { OPT_CLUSTER_CIDR = 0x100, OPT_MASQUERADE_ALL, OPT_METRICS, OPT_LOG_FORMAT };
enum { OPT_STATE_DIR = 0x140, OPT_SOURCE_WAIT };

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

/* --cluster-cidr CIDR[,CIDR]: at most one per family, each ADDRESS/LENGTH
 * with the host bits zero. Repeating the flag adds to the same two. */
static int cluster_cidr_add(struct vipd_config *cfg, const char *arg)
{
	const char *p = arg;

	for (;;) {
		size_t n = strcspn(p, ",");
		char item[CIDR_STRLEN + 1], net[CIDR_STRLEN];
		struct cidr c;
		int fam;

		if (n == 0 || n >= sizeof(item)) {
			fprintf(stderr, "vipd: error: --cluster-cidr %s: expected one IPv4 and/or one IPv6 CIDR, comma-separated (10.244.0.0/16,fd00:244::/56)\n",
				arg);
			return -EINVAL;
		}
		memcpy(item, p, n);
		item[n] = '\0';
		if (!strchr(item, '/') || cidr_parse(&c, item) < 0) {
			fprintf(stderr, "vipd: error: --cluster-cidr %s: %s is not a CIDR (ADDRESS/LENGTH with the host bits zero)\n",
				arg, item);
			return -EINVAL;
		}
		fam = c.addr.family == AF_INET6;
		if (cfg->has_cluster_cidr[fam]) {
			fprintf(stderr, "vipd: error: --cluster-cidr %s: a second %s CIDR (%s and %s): give one per family\n",
				arg, fam ? "IPv6" : "IPv4",
				cidr_format(&cfg->cluster_cidr[fam], net), item);
			return -EINVAL;
		}
		cfg->cluster_cidr[fam] = c;
		cfg->has_cluster_cidr[fam] = true;
		if (!p[n])
			return 0;
		p += n + 1;
	}
}

/* --metrics ADDR:PORT: an IP address (IPv6 in brackets) and a port. */
static int metrics_flag(struct vipd_config *cfg, const char *arg)
{
	char host[ADDR_STRLEN + 2];
	const char *colon = strrchr(arg, ':');
	size_t n = colon ? (size_t)(colon - arg) : 0;
	struct vaddr a;
	char *end;
	long port;

	cfg->metrics = arg;
	if (!strcmp(arg, "off")) {
		cfg->metrics_len = 0;
		return 0;
	}
	if (n >= 2 && arg[0] == '[' && arg[n - 1] == ']') {
		arg++;
		n -= 2;
	}
	/* digits only: strtol would take " 80" and "+80" */
	if (!colon || !colon[1] || strspn(colon + 1, "0123456789") != strlen(colon + 1) ||
	    strlen(colon + 1) > 5)
		goto bad;
	port = strtol(colon + 1, &end, 10);
	if (n >= sizeof(host) || port < 1 || port > 65535)
		goto bad;
	memcpy(host, arg, n);
	host[n] = '\0';
	if (addr_parse(&a, host) < 0 || (a.family == AF_INET6) != (arg != cfg->metrics))
		goto bad;
	cfg->metrics_len = addr_sockaddr(&a, (uint16_t)port, &cfg->metrics_addr);
	return 0;
bad:
	fprintf(stderr, "vipd: error: --metrics %s: expected ADDRESS:PORT (127.0.0.1:9464, [::1]:9464) or off\n",
		cfg->metrics);
	return -EINVAL;
}

/* label:KEY and env:KEY are short for the templates {label:KEY}, {env:KEY}. */
static int name_from_add(struct vipd_config *cfg, const char *spec)
{
	struct docker_conf *d = &cfg->docker_map;
	char *buf = cfg->name_from[d->n_name_from];
	size_t size = sizeof(cfg->name_from[0]);

	if (d->n_name_from == DOCKER_NAME_FROM_MAX) {
		fprintf(stderr, "vipd: error: --docker-name-from: at most %d\n", DOCKER_NAME_FROM_MAX);
		return -EINVAL;
	}
	if ((size_t)snprintf(buf, size, strchr(spec, '{') ? "%s" : "{%s}", spec) >= size ||
	    docker_name_from_check(buf) < 0) {
		fprintf(stderr, "vipd: error: --docker-name-from %s: expected label:KEY, env:KEY or a template of {label:KEY} and {env:KEY} parts\n",
			spec);
		return -EINVAL;
	}
	d->name_from[d->n_name_from++] = buf;
	return 0;
}

static int log_format_parse(struct vipd_config *cfg, const char *arg)
{
	if (!strcmp(arg, "text"))
		cfg->log_format = VLOG_TEXT;
	else if (!strcmp(arg, "journal"))
		cfg->log_format = VLOG_JOURNAL;
	else {
		fprintf(stderr, "vipd: error: --log-format %s: expected text or journal\n", arg);
		return -EINVAL;
	}
	return 0;
}

/* Register mode's keys need a node name: the host name unless given. */
static int default_node_name(struct vipd_config *cfg)
{
	static char host[256];

	if (cfg->node_name)
		return 0;
	if (gethostname(host, sizeof(host) - 1) == 0) {
		for (char *p = host; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		if (codec_name_valid(host)) {
			cfg->node_name = host;
			return 0;
		}
	}
	fprintf(stderr, "vipd: error: --docker register: give --node-name (the host name %s is not a valid name)\n",
		host);
	return -EINVAL;
}

static int docker_flags(struct vipd_config *cfg, const char *mode, const char *ttl)
{
	static const char *const modes[] = { "off", "local", "register" };
	struct vaddr a;
	char *end;

	for (int i = 0; mode && i < 3; i++) {
		if (!strcmp(mode, modes[i])) {
			cfg->docker = (enum docker_mode)i;
			mode = NULL;
		}
	}
	if (mode) {
		fprintf(stderr, "vipd: error: --docker %s: expected off, local or register\n", mode);
		return -EINVAL;
	}
	/* an empty prefix would make every label of every container vipd's */
	if (!*cfg->docker_map.prefix || strlen(cfg->docker_map.prefix) > 32 ||
	    strspn(cfg->docker_map.prefix, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/") !=
	    strlen(cfg->docker_map.prefix)) {
		fprintf(stderr, "vipd: error: --docker-label-prefix %s: use 1..32 of letters, digits and ._-/\n",
			cfg->docker_map.prefix);
		return -EINVAL;
	}
	if (cfg->docker_map.node_ip && addr_parse(&a, cfg->docker_map.node_ip) < 0) {
		fprintf(stderr, "vipd: error: --node-ip %s: not an IP address\n", cfg->docker_map.node_ip);
		return -EINVAL;
	}
	if (ttl && ((cfg->register_ttl = strtol(ttl, &end, 10)) < 2 || *end || cfg->register_ttl > 3600)) {
		fprintf(stderr, "vipd: error: --register-ttl %s: expected seconds, 2..3600\n", ttl);
		return -EINVAL;
	}
	if (cfg->docker == DOCKER_REGISTER && !cfg->etcd_flags.endpoints) {
		fprintf(stderr, "vipd: error: --docker register writes to etcd: give --etcd-endpoints\n");
		return -EINVAL;
	}
	if (cfg->docker == DOCKER_REGISTER && (cfg->once || cfg->dry_run)) {
		fprintf(stderr, "vipd: error: --docker register keeps registrations alive: not with --once or --dry-run\n");
		return -EINVAL;
	}
	if (cfg->docker == DOCKER_REGISTER && default_node_name(cfg) < 0)
		return -EINVAL;
	cfg->docker_map.node_name = cfg->node_name;
	return 0;
}

static const char default_state_dir[] = DEFAULT_STATE_DIR;

/* --state-dir and --source-wait; --once and --dry-run neither read nor
 * write the cache, --cleanup removes it. */
static int state_flags(struct vipd_config *cfg, const char *dir, const char *wait)
{
	static char per_table[sizeof(DEFAULT_STATE_DIR) + 40];
	char *end;

	if (wait && ((cfg->source_wait = strtol(wait, &end, 10)) < 0 || *end || !*wait ||
		     cfg->source_wait > 3600)) {
		fprintf(stderr, "vipd: error: --source-wait %s: expected seconds, 0..3600 (0: never use the state cache)\n",
			wait);
		return -EINVAL;
	}
	if (!*dir || strlen(dir) > SC_PATH_MAX) {
		fprintf(stderr, "vipd: error: --state-dir %.40s%s: expected a directory (at most %d bytes) or off\n",
			dir, strlen(dir) > 40 ? "..." : "", SC_PATH_MAX);
		return -EINVAL;
	}
	/* a second vipd (another --table) must not share the first's cache */
	if (dir == default_state_dir && strcmp(cfg->table, DEFAULT_TABLE)) {
		snprintf(per_table, sizeof(per_table), "%s/%s", DEFAULT_STATE_DIR, cfg->table);
		dir = per_table;
	}
	cfg->state_dir = strcmp(dir, "off") && !cfg->once && !cfg->dry_run ? dir : NULL;
	return 0;
}

/* Hands each source its own part of the command line. */
static int sources_conf(struct vipd_config *cfg)
{
	char err[ETCD_ERR_LEN];

	cfg->file_src.path = cfg->services_file;
	cfg->file_src.max_bytes = (size_t)cfg->services_file_max;
	if (cfg->etcd_flags.endpoints && etcd_conf_init(&cfg->etcd, &cfg->etcd_flags, err) < 0) {
		fprintf(stderr, "vipd: error: %s\n", err);
		return -EINVAL;
	}
	cfg->etcd_src = (struct etcd_source_conf){
		.etcd = &cfg->etcd,
		.own_node = cfg->docker == DOCKER_REGISTER ? cfg->node_name : NULL,
	};
	cfg->docker_src = (struct docker_source_conf){
		.mode = cfg->docker,
		.socket = cfg->docker_socket,
		.map = &cfg->docker_map,
		.reg = { .etcd = &cfg->etcd, .node = cfg->node_name, .ttl = cfg->register_ttl },
		.relist_ms = (uint32_t)cfg->docker_relist * 1000,
	};
	return 0;
}

int config_parse(struct vipd_config *cfg, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "services-file", required_argument, NULL, 'f' },
		ETCD_OPTIONS,
		{ "table", required_argument, NULL, 't' },
		{ "node-name", required_argument, NULL, 'n' },
		{ "node-ip", required_argument, NULL, 'I' },
		{ "docker", required_argument, NULL, 'D' },
		{ "docker-socket", required_argument, NULL, 'S' },
		{ "docker-label-prefix", required_argument, NULL, 'L' },
		{ "docker-name-from", required_argument, NULL, 'N' },
		{ "docker-network", required_argument, NULL, 'W' },
		{ "register-ttl", required_argument, NULL, 'T' },
		{ "docker-relist", required_argument, NULL, 'R' },
		{ "services-file-max", required_argument, NULL, 'M' },
		{ "cluster-cidr", required_argument, NULL, OPT_CLUSTER_CIDR },
		{ "masquerade-all", no_argument, NULL, OPT_MASQUERADE_ALL },
		{ "metrics", required_argument, NULL, OPT_METRICS },
		{ "state-dir", required_argument, NULL, OPT_STATE_DIR },
		{ "source-wait", required_argument, NULL, OPT_SOURCE_WAIT },
		{ "once", no_argument, NULL, 'o' },
		{ "cleanup", no_argument, NULL, 'c' },
		{ "dry-run", no_argument, NULL, 'd' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "log-format", required_argument, NULL, OPT_LOG_FORMAT },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	const char *mode = NULL, *ttl = NULL, *relist = NULL, *file_max = NULL;
	const char *state_dir = default_state_dir, *source_wait = NULL;
	char *end;
	int c;

	memset(cfg, 0, sizeof(*cfg));
	cfg->table = DEFAULT_TABLE;
	cfg->docker_socket = DOCKER_DEFAULT_SOCKET;
	cfg->docker_map.prefix = DOCKER_DEFAULT_PREFIX;
	cfg->register_ttl = DEFAULT_REGISTER_TTL;
	cfg->docker_relist = DEFAULT_DOCKER_RELIST;
	cfg->services_file_max = CODEC_FILE_MAX_DEFAULT;
	metrics_flag(cfg, DEFAULT_METRICS);
	cfg->log_format = -1;
	cfg->source_wait = DEFAULT_SOURCE_WAIT;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		if (etcd_flag(&cfg->etcd_flags, c, optarg))
			continue;
		switch (c) {
		case 'f': cfg->services_file = optarg; break;
		case 't': cfg->table = optarg; break;
		case 'n': cfg->node_name = optarg; break;
		case 'I': cfg->docker_map.node_ip = optarg; break;
		case 'D': mode = optarg; break;
		case 'S': cfg->docker_socket = optarg; break;
		case 'L': cfg->docker_map.prefix = optarg; break;
		case 'W': cfg->docker_map.network = optarg; break;
		case 'T': ttl = optarg; break;
		case 'R': relist = optarg; break;
		case 'M': file_max = optarg; break;
		case 'N':
			if (name_from_add(cfg, optarg) < 0)
				return -EINVAL;
			break;
		case OPT_CLUSTER_CIDR:
			if (cluster_cidr_add(cfg, optarg) < 0)
				return -EINVAL;
			break;
		case OPT_MASQUERADE_ALL: cfg->masquerade_all = true; break;
		case OPT_METRICS:
			if (metrics_flag(cfg, optarg) < 0)
				return -EINVAL;
			break;
		case OPT_STATE_DIR: state_dir = optarg; break;
		case OPT_SOURCE_WAIT: source_wait = optarg; break;
		case 'o': cfg->once = true; break;
		case 'c': cfg->cleanup = true; break;
		case 'd': cfg->dry_run = true; break;
		case 'v': cfg->verbose++; break;
		case OPT_LOG_FORMAT:
			if (log_format_parse(cfg, optarg) < 0)
				return -EINVAL;
			break;
		case 'h':
			fputs(usage, stdout);
			return 1;
		case 'V':
			printf("vipd %s\n", VIPD_VERSION);
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
	if (relist && ((cfg->docker_relist = strtol(relist, &end, 10)) < 0 || *end || !*relist ||
		       cfg->docker_relist > 86400)) {
		fprintf(stderr, "vipd: error: --docker-relist %s: expected seconds, 0..86400 (0: never)\n", relist);
		return -EINVAL;
	}
	if (file_max && ((cfg->services_file_max = strtoll(file_max, &end, 10)) < 1024 ||
			 *end || cfg->services_file_max > (1LL << 40))) {
		fprintf(stderr, "vipd: error: --services-file-max %s: expected bytes, 1024..2^40\n", file_max);
		return -EINVAL;
	}
	if (docker_flags(cfg, mode, ttl) < 0 || state_flags(cfg, state_dir, source_wait) < 0)
		return -EINVAL;
	if (!cfg->services_file && !cfg->etcd_flags.endpoints && cfg->docker == DOCKER_OFF)
		cfg->services_file = DEFAULT_SERVICES_FILE;
	return sources_conf(cfg);
}

void config_fini(struct vipd_config *cfg)
{
	etcd_conf_fini(&cfg->etcd);
}

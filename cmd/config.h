/* config.h: vipd's command line, parsed once. Each source gets its own
 * small part of it (source.h); no part but cmd/ sees the whole. */
#ifndef VIPD_CONFIG_H
#define VIPD_CONFIG_H

#include <stdbool.h>
#include <sys/socket.h>

#include "addr.h"
#include "docker.h"
#include "etcd.h"
#include "source.h"

#define DEFAULT_TABLE		"vipd"
#define DEFAULT_SERVICES_FILE	"/etc/vipd/services.json"
#define DEFAULT_REGISTER_TTL	10
#define DEFAULT_DOCKER_RELIST	60
#define DEFAULT_METRICS		"127.0.0.1:9464"
#define DEFAULT_STATE_DIR	"/var/lib/vipd"
#define DEFAULT_SOURCE_WAIT	5

struct vipd_config {
	const char *services_file;	/* NULL: no file source */
	struct etcd_flags etcd_flags;	/* endpoints NULL: no etcd source */
	const char *table;
	const char *node_name;
	enum docker_mode docker;
	const char *docker_socket;
	struct docker_conf docker_map;	/* how containers announce themselves */
	char name_from[DOCKER_NAME_FROM_MAX][128];	/* docker_map.name_from */
	long register_ttl;		/* seconds */
	long docker_relist;		/* seconds, 0: never */
	long long services_file_max;	/* bytes */
	/* --cluster-cidr and --masquerade-all (DESIGN.md "Service semantics":
	 * whom to masquerade besides hairpin traffic). */
	struct cidr cluster_cidr[2];
	bool has_cluster_cidr[2];	/* [0] IPv4, [1] IPv6 */
	bool masquerade_all;
	/* --metrics: where /metrics, /healthz and /status listen;
	 * metrics_len 0: off */
	const char *metrics;
	struct sockaddr_storage metrics_addr;
	socklen_t metrics_len;
	bool once, cleanup, dry_run;
	/* --state-dir (NULL: off) and --source-wait (seconds, 0: never use
	 * the cache): a boot with a source down routes the cached state. */
	const char *state_dir;
	long source_wait;
	int verbose;
	int log_format;			/* enum vlog_format; -1: by where stderr goes */
	/* What the sources are handed, filled from the flags above. */
	struct file_source_conf file_src;
	struct etcd_conf etcd;			/* owned: config_fini */
	struct etcd_source_conf etcd_src;
	struct docker_source_conf docker_src;
};

/* Returns 0, 1 when --help/--version was answered, or -EINVAL after
 * printing one line naming the bad flag. */
int config_parse(struct vipd_config *cfg, int argc, char **argv);
void config_fini(struct vipd_config *cfg);

#endif

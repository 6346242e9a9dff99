/* config.h: vipd's command line, parsed once, read by every part. */
#ifndef VIPD_CONFIG_H
#define VIPD_CONFIG_H

#include <stdbool.h>

#include "docker.h"

#define DEFAULT_TABLE		"vipd"
#define DEFAULT_SERVICES_FILE	"/etc/vipd/services.json"
#define DEFAULT_REGISTER_TTL	10

struct vipd_config {
	const char *services_file;	/* NULL: no file source */
	const char *etcd_endpoints;	/* NULL: no etcd source */
	const char *etcd_prefix;
	const char *etcd_cacert, *etcd_cert, *etcd_key, *etcd_user;
	const char *table;
	const char *node_name;
	enum docker_mode docker;
	const char *docker_socket;
	struct docker_conf docker_map;	/* how containers announce themselves */
	char name_from[DOCKER_NAME_FROM_MAX][128];	/* docker_map.name_from */
	long register_ttl;		/* seconds */
	bool once, cleanup, dry_run;
	int verbose;
};

/* Returns 0, 1 when --help/--version was answered, or -EINVAL after
 * printing one line naming the bad flag. */
int config_parse(struct vipd_config *cfg, int argc, char **argv);

#endif

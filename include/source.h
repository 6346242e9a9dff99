/* source.h: a source of truth (file, etcd, docker) feeds the model.
 *
 * Every source is the same small ops table, driven by the event loop. A
 * source only changes the model; the daemon reconciles afterwards. A source
 * that misbehaves at run time logs and keeps what it last knew.
 */
#ifndef VIPD_SOURCE_H
#define VIPD_SOURCE_H

#include <stdbool.h>
#include <stdint.h>

#include "docker.h"

struct etcd_conf;
struct loop;
struct model;

/* Each source's own configuration, filled by cmd/ from the command line
 * and borrowed for the source's life. */
struct file_source_conf {
	const char *path;
	size_t max_bytes;		/* refused past this size; 0: no limit */
};

struct etcd_source_conf {
	const struct etcd_conf *etcd;
	/* Keys <own_node>:... under endpoints/ are this node's containers in
	 * register mode; they reach the model from Docker directly, so a
	 * restart or an etcd outage never takes them out of this node's
	 * kernel. NULL: take every key. */
	const char *own_node;
};

/* Register mode: where and how this node's containers are written (or,
 * with what "health", the verdicts this node publishes). */
struct register_conf {
	const struct etcd_conf *etcd;
	const char *node;		/* keys are <node>:<container> */
	long ttl;			/* lease, seconds */
	const char *what;		/* the keys, for log lines ("health");
					 * NULL: "endpoint" */
};

struct docker_source_conf {
	enum docker_mode mode;		/* DOCKER_LOCAL or DOCKER_REGISTER */
	const char *socket;
	const struct docker_conf *map;	/* how containers announce themselves */
	struct register_conf reg;	/* DOCKER_REGISTER only */
	uint32_t relist_ms;		/* list again this often (lost events); 0: never */
};

struct source {
	const struct source_ops *ops;
	struct loop *loop;		/* borrowed */
	struct model *model;		/* borrowed */
	union {				/* borrowed; the one that ops reads */
		const struct file_source_conf *file;
		const struct etcd_source_conf *etcd;
		const struct docker_source_conf *docker;
	} conf;
	void *priv;			/* the source's own */
	/* Set once the source has read its whole state: until every source
	 * is ready vipd does not touch the kernel, so a restart while etcd is
	 * unreachable deletes nothing. */
	bool ready;
	/* For operators (/metrics, /status): whether the source answers now,
	 * a word for how it is ("watching", "connected", "ok", ...; static
	 * storage), and how many changes it has read since the start. */
	bool up;
	const char *state;
	uint64_t events;
};

struct source_ops {
	const char *name;
	const char *kind;	/* "file", "etcd", "docker": metrics and status */
	/* Reads the current state into the model and starts watching.
	 * Returns 0, or a negative errno after logging why. */
	int (*start)(struct source *src);
	/* Reads everything again (SIGHUP). */
	void (*resync)(struct source *src);
	void (*stop)(struct source *src);
};

extern const struct source_ops source_file_ops;
extern const struct source_ops source_etcd_ops;
extern const struct source_ops source_docker_ops;

#endif

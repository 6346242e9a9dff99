/* source.h: a source of truth (file, etcd, docker) feeds the model.
 *
 * Every source is the same small ops table, driven by the event loop. A
 * source only changes the model; the daemon reconciles afterwards. A source
 * that misbehaves at run time logs and keeps what it last knew.
 */
#ifndef VIPD_SOURCE_H
#define VIPD_SOURCE_H

#include <stdbool.h>

struct loop;
struct model;
struct vipd_config;

struct source {
	const struct source_ops *ops;
	struct loop *loop;		/* borrowed */
	struct model *model;		/* borrowed */
	const struct vipd_config *cfg;	/* borrowed */
	void *priv;			/* the source's own */
	/* Set once the source has read its whole state: until every source
	 * is ready vipd does not touch the kernel, so a restart while etcd is
	 * unreachable deletes nothing. */
	bool ready;
};

struct source_ops {
	const char *name;
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

/* The services file: the embedded default source for one node without a
 * registry. Re-read when it changes, also when replaced by a rename, which
 * is how editors and configuration tools write files. */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <jansson.h>

#include "codec.h"
#include "log.h"
#include "loop.h"
#include "model.h"
#include "source.h"

/* A writer's burst (truncate, write, close; or write tmp, rename) settles
 * within this; one read after it instead of one per event. */
#define SETTLE_MS 20

/* The path as given (dir, base) and, when it is a symbolic link, what it
 * resolves to now (target_dir, target_base): editors replace the link's
 * target, and a Kubernetes ConfigMap swaps a "..data" link beside it. */
struct file_source {
	const char *path;		/* borrowed from the conf */
	char dir[PATH_MAX], base[NAME_MAX + 1];
	char target[PATH_MAX], target_dir[PATH_MAX], target_base[NAME_MAX + 1];
	int ino_fd, wd, target_wd;
	uint64_t timer;
};

#define WATCH_EVENTS (IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_MOVED_FROM)

/* A file of a million bad objects must not log a million lines: the
 * first ones show what is wrong, a count says how many more. */
#define REFUSALS_SHOWN 20

struct counts {
	unsigned services, endpoints, refused, unknown;
};

/* Unknown keys, named by their path from the top of the file. */
struct unknown_ctx {
	const char *file;
	struct counts *n;
	char prefix[2 * NAME_MAX_LEN + 16];	/* "services.web." */
};

static void unknown_key(void *arg, const char *path)
{
	const struct unknown_ctx *u = arg;

	if (++u->n->unknown > REFUSALS_SHOWN)
		return;
	log_warn("services-file %s: field %s%s: unknown key; ignored", u->file,
		 u->prefix, path);
}

static void load_services(struct source *src, json_t *services, struct counts *n)
{
	const char *path = src->conf.file->path, *name;
	struct unknown_ctx u = { .file = path, .n = n };
	struct codec_report rep = { unknown_key, &u };
	char err[CODEC_ERR_LEN];
	json_t *v;

	json_object_foreach(services, name, v) {
		struct service *svc;
		int ret;

		snprintf(u.prefix, sizeof(u.prefix), "services.%.64s.", name);
		ret = codec_service_read(name, v, &rep, &svc, err);

		if (ret == 0 && model_service_put(src->model, SRC_FILE, svc) == 0) {
			n->services++;
			continue;
		}
		if (++n->refused > REFUSALS_SHOWN)
			continue;
		log_err("services-file %s: service \"%.64s\": %s%s", path, name,
			ret == -ENOMEM ? "out of memory" : err,
			model_service_keep(src->model, SRC_FILE, name) ?
			"; keeping its previous definition" : "");
	}
}

static void load_endpoints(struct source *src, const char *svc_name, json_t *eps,
			   struct counts *n)
{
	const char *path = src->conf.file->path, *id;
	struct unknown_ctx u = { .file = path, .n = n };
	struct codec_report rep = { unknown_key, &u };
	char err[CODEC_ERR_LEN];
	json_t *v;

	json_object_foreach(eps, id, v) {
		struct endpoint *ep;
		int ret;

		snprintf(u.prefix, sizeof(u.prefix), "endpoints.%.64s.%.64s.", svc_name, id);
		ret = codec_endpoint_read(id, v, &rep, &ep, err);

		if (ret == 0 && model_endpoint_put(src->model, SRC_FILE, svc_name, ep) == 0) {
			n->endpoints++;
			continue;
		}
		if (++n->refused > REFUSALS_SHOWN)
			continue;
		log_err("services-file %s: endpoint \"%.64s/%.64s\": %s%s", path,
			svc_name, id, ret == -ENOMEM ? "out of memory" : err,
			model_endpoint_keep(src->model, SRC_FILE, svc_name, id) ?
			"; keeping its previous version" : "");
	}
}

/* A file without its "services" object is refused whole, keeping what
 * was read before: "{}", a truncated write or a wrong file must not delete
 * every VIP ("{"services":{}}" does that, on purpose). */
static int load_all(struct source *src, json_t *root, bool initial, struct counts *n)
{
	const char *path = src->conf.file->path, *name;
	struct unknown_ctx u = { .file = path, .n = n };
	struct codec_report rep = { unknown_key, &u };
	json_t *services, *endpoints, *v;
	char err[CODEC_ERR_LEN];

	if (codec_file_top(root, &rep, &services, &endpoints, err) < 0) {
		log_err("services-file %s: %s; %s", path, err,
			initial ? "nothing read" : "keeping the previous state");
		return -EINVAL;
	}
	model_source_mark(src->model, SRC_FILE);
	load_services(src, services, n);
	json_object_foreach(endpoints, name, v) {
		if (!codec_name_valid(name) || !json_is_object(v)) {
			if (++n->refused > REFUSALS_SHOWN)
				continue;
			log_err("services-file %s: endpoints of \"%.64s\": field name: %s",
				path, name, json_is_object(v) ? "bad service name"
				: "must be an object keyed by endpoint id");
			continue;
		}
		load_endpoints(src, name, v, n);
	}
	model_source_sweep(src->model, SRC_FILE);
	return 0;
}

static int file_read(struct source *src, bool initial)
{
	const char *path = src->conf.file->path;
	struct counts n = { 0 };
	char err[CODEC_ERR_LEN];
	json_t *root;
	int ret = codec_file_load(path, src->conf.file->max_bytes, &root, err);

	if (ret < 0) {
		log_err("services-file %s: %s%s", path, err,
			initial ? "" : "; keeping the previous state");
		return ret;
	}
	ret = load_all(src, root, initial, &n);
	if (n.unknown > REFUSALS_SHOWN)
		log_warn("services-file %s: %u more unknown keys not shown (vipctl check %s lists them all)",
			 path, n.unknown - REFUSALS_SHOWN, path);
	if (n.refused > REFUSALS_SHOWN)
		log_err("services-file %s: %u more refused objects not shown (vipctl check %s lists them all)",
			path, n.refused - REFUSALS_SHOWN, path);
	json_decref(root);
	/* The tree of a large file is freed in many small blocks that glibc
	 * keeps (110 MB of RSS at 10,000 x 10): give them back. */
	malloc_trim(0);
	if (ret == 0)
		log_info("services-file %s: %u services, %u endpoints%s%.0u%s", path,
			 n.services, n.endpoints, n.refused ? ", refused " : "",
			 n.refused, n.refused ? " (see above)" : "");
	return ret;
}

static void settled(struct loop *l, void *arg)
{
	struct source *src = arg;
	struct file_source *fs = src->priv;

	fs->timer = 0;
	file_read(src, false);
}

/* Follows where the path leads now: watches the target's directory too
 * when that is elsewhere. Returns whether the target changed. */
static bool follow(struct file_source *fs)
{
	char real[PATH_MAX], tmp[PATH_MAX];

	if (!realpath(fs->path, real))
		return false;	/* gone for now: the next event tells */
	if (!strcmp(real, fs->target))
		return false;
	snprintf(fs->target, sizeof(fs->target), "%s", real);
	snprintf(tmp, sizeof(tmp), "%s", real);
	snprintf(fs->target_dir, sizeof(fs->target_dir), "%s", dirname(tmp));
	snprintf(tmp, sizeof(tmp), "%s", real);
	snprintf(fs->target_base, sizeof(fs->target_base), "%s", basename(tmp));
	if (fs->target_wd >= 0 && fs->target_wd != fs->wd)
		inotify_rm_watch(fs->ino_fd, fs->target_wd);
	fs->target_wd = -1;
	if (fs->ino_fd >= 0)
		fs->target_wd = inotify_add_watch(fs->ino_fd, fs->target_dir, WATCH_EVENTS);
	return true;
}

static void on_inotify(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct source *src = arg;
	struct file_source *fs = src->priv;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool ours = false;
	ssize_t len;

	while ((len = read(fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + len;) {
			const struct inotify_event *ev = (const void *)p;

			if (ev->len && ((ev->wd == fs->wd && !strcmp(ev->name, fs->base)) ||
					(ev->wd == fs->target_wd && !strcmp(ev->name, fs->target_base))))
				ours = true;
			p += sizeof(*ev) + ev->len;
		}
	}
	/* anything beside the link (a ConfigMap's "..data" swap) may move
	 * where it leads */
	ours = follow(fs) || ours;
	if (ours && !fs->timer && !(fs->timer = loop_timer_add(l, SETTLE_MS, settled, src)))
		file_read(src, false);	/* no timer: read now rather than never */
}

static int file_start(struct source *src)
{
	struct file_source *fs = calloc(1, sizeof(*fs));
	char tmp[PATH_MAX];
	int ret;

	if (!fs)
		return -ENOMEM;
	src->priv = fs;
	fs->ino_fd = fs->wd = fs->target_wd = -1;
	fs->path = src->conf.file->path;
	snprintf(tmp, sizeof(tmp), "%s", src->conf.file->path);
	snprintf(fs->dir, sizeof(fs->dir), "%s", dirname(tmp));
	snprintf(tmp, sizeof(tmp), "%s", src->conf.file->path);
	snprintf(fs->base, sizeof(fs->base), "%s", basename(tmp));
	ret = file_read(src, true);
	if (ret < 0 || !src->loop)
		return ret;
	/* Watch the directory, not the file: a rename replaces the inode. */
	fs->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fs->ino_fd < 0 ||
	    (fs->wd = inotify_add_watch(fs->ino_fd, fs->dir, WATCH_EVENTS)) < 0 ||
	    loop_fd_add(src->loop, fs->ino_fd, EPOLLIN, on_inotify, src) < 0) {
		ret = -errno;
		log_err("services-file %s: cannot watch %s: %s", src->conf.file->path,
			fs->dir, strerror(errno));
		return ret;
	}
	follow(fs);
	return 0;
}

static void file_resync(struct source *src)
{
	file_read(src, false);
}

static void file_stop(struct source *src)
{
	struct file_source *fs = src->priv;

	if (!fs)
		return;
	if (fs->timer)
		loop_timer_del(src->loop, fs->timer);
	if (fs->ino_fd >= 0) {
		loop_fd_del(src->loop, fs->ino_fd);
		close(fs->ino_fd);
	}
	free(fs);
	src->priv = NULL;
}

const struct source_ops source_file_ops = {
	.name = "services-file",
	.start = file_start,
	.resync = file_resync,
	.stop = file_stop,
};

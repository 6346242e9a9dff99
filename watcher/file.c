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

/* What one read of the file brings, held until the whole file is known
 * to be good: a truncated or malformed file changes nothing. */
struct pending {
	struct source *src;
	struct counts *n;
	struct unknown_ctx u;
	struct codec_report rep;
	struct service **svcs;
	size_t n_svcs, cap_svcs;
	struct pending_ep {
		char *service;
		struct endpoint *ep;	/* NULL: refused, keep the previous one */
		char *id;		/* of a refused one */
		int line;		/* its refusal's line, -1: not shown */
	} *eps;
	size_t n_eps, cap_eps;
	struct refused_svc {
		char *name;		/* its previous definition stays */
		int line;
	} *refused_svcs;
	size_t n_refused_svcs, cap_refused_svcs;
	struct {
		char text[CODEC_ERR_LEN + 160];
		const char *kept;	/* "; keeping its previous ..." or "" */
	} *lines;			/* the refusals shown */
	size_t n_lines;
};

static int grow(void **v, size_t *cap, size_t n, size_t size)
{
	void *nv;

	if (n < *cap)
		return 0;
	if (!(nv = realloc(*v, (*cap ? *cap * 2 : 64) * size)))
		return -ENOMEM;
	*v = nv;
	*cap = *cap ? *cap * 2 : 64;
	return 0;
}

/* A refusal: counted, and its line kept while REFUSALS_SHOWN allows (it is
 * logged once the previous version's fate is known). Returns the line's
 * index, or -1 when it is not shown. */
static int refusal(struct pending *p, const char *fmt, const char *a, const char *b,
		   const char *why)
{
	if (++p->n->refused > REFUSALS_SHOWN)
		return -1;
	if (!p->lines && !(p->lines = calloc(REFUSALS_SHOWN, sizeof(*p->lines))))
		return -1;
	snprintf(p->lines[p->n_lines].text, sizeof(p->lines[0].text), fmt, a, b, why);
	p->lines[p->n_lines].kept = "";
	return (int)p->n_lines++;
}

static int take_service(void *arg, const char *name, json_t *v)
{
	struct pending *p = arg;
	char err[CODEC_ERR_LEN];
	struct service *svc;
	int ret;

	snprintf(p->u.prefix, sizeof(p->u.prefix), "services.%.64s.", name);
	ret = codec_service_read(name, v, &p->rep, &svc, err);
	if (ret == -ENOMEM)
		return ret;
	if (ret < 0) {
		int line = refusal(p, "service \"%.64s\"%s: %s", name, "", err);

		if (grow((void **)&p->refused_svcs, &p->cap_refused_svcs, p->n_refused_svcs,
			 sizeof(*p->refused_svcs)) < 0)
			return -ENOMEM;
		p->refused_svcs[p->n_refused_svcs] = (struct refused_svc){ strdup(name), line };
		return p->refused_svcs[p->n_refused_svcs++].name ? 0 : -ENOMEM;
	}
	if (grow((void **)&p->svcs, &p->cap_svcs, p->n_svcs, sizeof(*p->svcs)) < 0) {
		service_free(svc);
		return -ENOMEM;
	}
	p->svcs[p->n_svcs++] = svc;
	return 0;
}

static int add_ep(struct pending *p, const char *service, struct endpoint *ep, const char *id,
		  int line)
{
	struct pending_ep *e;

	if (grow((void **)&p->eps, &p->cap_eps, p->n_eps, sizeof(*p->eps)) < 0) {
		endpoint_free(ep);
		return -ENOMEM;
	}
	e = &p->eps[p->n_eps];
	*e = (struct pending_ep){ .service = strdup(service), .ep = ep,
				  .id = id ? strdup(id) : NULL, .line = line };
	p->n_eps++;
	return e->service && (ep || e->id) ? 0 : -ENOMEM;
}

static int take_endpoints(void *arg, const char *service, json_t *eps)
{
	struct pending *p = arg;
	char err[CODEC_ERR_LEN];
	const char *id;
	json_t *v;
	int ret = 0;

	if (!codec_name_valid(service) || !json_is_object(eps)) {
		refusal(p, "endpoints of \"%.64s\"%s: field name: %s", service, "",
			json_is_object(eps) ? "bad service name" :
			"must be an object keyed by endpoint id");
		return 0;
	}
	json_object_foreach(eps, id, v) {
		struct endpoint *ep;
		int line = -1;

		snprintf(p->u.prefix, sizeof(p->u.prefix), "endpoints.%.64s.%.64s.", service, id);
		ret = codec_endpoint_read(id, v, &p->rep, &ep, err);
		if (ret == -ENOMEM)
			return ret;
		if (ret < 0) {
			line = refusal(p, "endpoint \"%.64s/%.64s\": %s", service, id, err);
			ep = NULL;
		}
		if ((ret = add_ep(p, service, ep, ret < 0 ? id : NULL, line)) < 0)
			return ret;
	}
	return 0;
}

/* The whole file was good: it is the file source's state now. */
static void apply(struct pending *p)
{
	struct model *m = p->src->model;

	model_source_mark(m, SRC_FILE);
	for (size_t i = 0; i < p->n_svcs; i++) {
		if (model_service_put(m, SRC_FILE, p->svcs[i]) == 0)
			p->n->services++;
		p->svcs[i] = NULL;	/* the model's, also after a failure */
	}
	for (size_t i = 0; i < p->n_refused_svcs; i++) {
		const struct refused_svc *r = &p->refused_svcs[i];

		if (model_service_keep(m, SRC_FILE, r->name) && r->line >= 0)
			p->lines[r->line].kept = "; keeping its previous definition";
	}
	for (size_t i = 0; i < p->n_eps; i++) {
		struct pending_ep *e = &p->eps[i];

		if (!e->ep) {
			if (model_endpoint_keep(m, SRC_FILE, e->service, e->id) && e->line >= 0)
				p->lines[e->line].kept = "; keeping its previous version";
		} else if (model_endpoint_put(m, SRC_FILE, e->service, e->ep) == 0)
			p->n->endpoints++;
		e->ep = NULL;
	}
	model_source_sweep(m, SRC_FILE);
	for (size_t i = 0; i < p->n_lines; i++)
		log_err("services-file %s: %s%s", p->u.file, p->lines[i].text, p->lines[i].kept);
}

static void pending_fini(struct pending *p)
{
	for (size_t i = 0; i < p->n_svcs; i++)
		service_free(p->svcs[i]);
	for (size_t i = 0; i < p->n_eps; i++) {
		endpoint_free(p->eps[i].ep);
		free(p->eps[i].service);
		free(p->eps[i].id);
	}
	for (size_t i = 0; i < p->n_refused_svcs; i++)
		free(p->refused_svcs[i].name);
	free(p->svcs);
	free(p->eps);
	free(p->refused_svcs);
	free(p->lines);
}

/* A file that cannot be read whole (unreadable, too big, not JSON, a key
 * listed twice, no "services" object) is refused whole, keeping what was
 * read before: "{}", a truncated write or a wrong file must not delete
 * every VIP ("{"services":{}}" does that, on purpose). */
static int file_read(struct source *src, bool initial)
{
	const char *path = src->conf.file->path;
	struct counts n = { 0 };
	struct pending p = { .src = src, .n = &n, .u = { .file = path, .n = &n } };
	struct file_walk w = { take_service, take_endpoints, &p.rep, &p, NULL };
	char err[CODEC_ERR_LEN];
	int ret;

	p.rep = (struct codec_report){ unknown_key, &p.u };
	ret = codec_file_walk(path, src->conf.file->max_bytes, &w, err);
	src->events++;
	src->up = ret == 0;
	src->state = ret == 0 ? "ok" : "unreadable";
	if (ret == 0)
		apply(&p);
	else
		log_err("services-file %s: %s; %s", path, ret == -ENOMEM ? "out of memory" : err,
			initial ? "nothing read" : "keeping the previous state");
	pending_fini(&p);
	if (n.unknown > REFUSALS_SHOWN)
		log_warn("services-file %s: %u more unknown keys not shown (vipctl check %s lists them all)",
			 path, n.unknown - REFUSALS_SHOWN, path);
	if (ret == 0 && n.refused > REFUSALS_SHOWN)
		log_err("services-file %s: %u more refused objects not shown (vipctl check %s lists them all)",
			path, n.refused - REFUSALS_SHOWN, path);
	/* parsed objects are freed in many small blocks that glibc keeps:
	 * give them back */
	malloc_trim(0);
	if (ret == 0)
		log_info("services-file %s: %u services, %u endpoints%s%.0u%s", path,
			 n.services, n.endpoints, n.refused ? ", refused " : "",
			 n.refused, n.refused ? " (see above)" : "");
	return ret < 0 ? ret : 0;
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
	.kind = "file",
	.start = file_start,
	.resync = file_resync,
	.stop = file_stop,
};

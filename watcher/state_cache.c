/* The state cache's file (include/state_cache.h): the model written as a
 * services file with a header, atomically, and read back. It is written
 * member by member, never built as one tree: 100,000 endpoints would
 * cost ~18 times the text. The daemon's writer is state_writer.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <jansson.h>

#include "codec.h"
#include "state_cache.h"

#define HEADER_KEY "vipd_state"

/* The file being written. Each member is dumped into buf and written in
 * one piece: jansson's dumpf writes token by token, a fwrite each. */
struct out {
	FILE *f;
	char *buf;
	size_t cap;
};

static int dump(struct out *o, const json_t *v, size_t flags)
{
	size_t n = json_dumpb(v, o->buf, o->cap, flags);

	if (n > o->cap) {
		char *nb = realloc(o->buf, n * 2);

		if (!nb)
			return -ENOMEM;
		o->buf = nb;
		o->cap = n * 2;
		n = json_dumpb(v, o->buf, o->cap, flags);
	}
	if (!n)
		return -ENOMEM;
	errno = 0;
	return fwrite(o->buf, 1, n, o->f) == n ? 0 : -(errno ?: EIO);	/* ENOSPC, say */
}

/* ,"key":<v> (v consumed). The first member of an object has no comma. */
static int put_member(struct out *o, bool *first, const char *key, json_t *v)
{
	json_t *k = json_string(key);
	int ret = k && v ? 0 : -ENOMEM;

	if (!ret && !*first)
		fputs(",\n", o->f);
	ret = ret ?: dump(o, k, JSON_ENCODE_ANY);
	if (!ret)
		fputc(':', o->f);
	ret = ret ?: dump(o, v, JSON_COMPACT);
	*first = false;
	json_decref(k);
	json_decref(v);
	return ret;
}

/* What an endpoint did when written: taking new connections or not. */
static json_t *endpoint_json(const struct service *svc, const struct endpoint *ep,
			     sc_weigh_fn weigh, void *arg)
{
	json_t *o = codec_endpoint_json(ep);
	bool taking = weigh ? weigh(arg, svc, ep) > 0 : ep->ready && !ep->terminating;

	if (o && weigh && (json_object_set_new(o, "ready", json_boolean(taking)) ||
			   json_object_set_new(o, "terminating", json_boolean(ep->terminating && !taking)))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *endpoints_json(const struct model *m, const struct service *svc,
			      sc_weigh_fn weigh, void *arg)
{
	struct endpoint *const *eps;
	size_t n = model_endpoints_get(m, svc->name, &eps);
	json_t *o = n ? json_object() : NULL;

	for (size_t i = 0; o && i < n; i++)
		if (json_object_set_new(o, eps[i]->id, endpoint_json(svc, eps[i], weigh, arg))) {
			json_decref(o);
			return NULL;
		}
	return o;
}

static json_t *header_json(const char *node)
{
	char at[32];
	time_t now = time(NULL);
	struct tm tm;

	strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
	/* "s*": no "node" without a --node-name */
	return json_pack("{s:i, s:s, s:s*}", "version", SC_VERSION, "written_at", at, "node", node);
}

static int write_section(struct out *o, const char *name, const struct model *m, bool eps,
			 sc_weigh_fn weigh, void *arg)
{
	const char *svc_name;
	bool first = true;
	int ret = 0;

	fprintf(o->f, ",\n\"%s\":{\n", name);
	for (size_t it = 0; !ret && (svc_name = model_service_next(m, &it));) {
		const struct service *svc = model_service_get(m, svc_name);
		struct endpoint *const *v;

		if (!svc || (eps && !model_endpoints_get(m, svc_name, &v)))
			continue;
		ret = put_member(o, &first, svc_name, eps ? endpoints_json(m, svc, weigh, arg) :
							    codec_service_json(svc));
	}
	fputs("\n}", o->f);
	return ret;
}

static int write_all(FILE *f, const char *node, const struct model *m, sc_weigh_fn weigh,
		     void *arg)
{
	struct out o = { .f = f };
	json_t *h = header_json(node);
	int ret;

	if (!h)
		return -ENOMEM;
	fputs("{\"" HEADER_KEY "\":", f);
	ret = dump(&o, h, JSON_COMPACT);
	json_decref(h);
	ret = ret ?: write_section(&o, "services", m, false, weigh, arg);
	ret = ret ?: write_section(&o, "endpoints", m, true, weigh, arg);
	fputs("}\n", f);
	free(o.buf);
	return ret;
}

/* DIR, and its parent when that is missing too (/var/lib/vipd/<table>
 * of a second instance). */
static int dir_ready(const char *dir)
{
	char parent[SC_PATH_MAX + 1];
	struct stat st;

	if (mkdir(dir, 0700) == 0)
		return 0;
	if (errno == ENOENT && snprintf(parent, sizeof(parent), "%s", dir) < (int)sizeof(parent) &&
	    strrchr(parent, '/') && strrchr(parent, '/') != parent) {
		*strrchr(parent, '/') = '\0';
		if ((mkdir(parent, 0700) == 0 || errno == EEXIST) && mkdir(dir, 0700) == 0)
			return 0;
	}
	if (errno != EEXIST)
		return -errno;
	if (stat(dir, &st) < 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

/* The file's bytes on disk before its name is: a crash leaves the old
 * file or the new one, never a torn one. */
static int write_tmp(const char *tmp, const char *node, const struct model *m,
		     sc_weigh_fn weigh, void *arg, size_t *bytes)
{
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	FILE *f = fd < 0 ? NULL : fdopen(fd, "w");
	int ret;

	if (!f) {
		ret = -errno;
		if (fd >= 0)
			close(fd);
		return ret;
	}
	ret = write_all(f, node, m, weigh, arg);
	if (!ret && (fflush(f) || ferror(f)))
		ret = -(errno ?: EIO);
	if (!ret && fsync(fd) < 0)
		ret = -errno;
	if (!ret)
		*bytes = (size_t)ftell(f);
	if (fclose(f) && !ret)
		ret = -(errno ?: EIO);
	return ret;
}

static int dir_sync(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

int sc_save(const char *dir, const char *node, const struct model *m, sc_weigh_fn weigh,
	    void *arg, size_t *bytes, char err[SC_ERR_LEN])
{
	char tmp[SC_PATH_MAX + 32], path[SC_PATH_MAX + 32];
	const char *what = path;
	size_t n = 0;
	int ret = 0;

	if (strlen(dir) > SC_PATH_MAX) {
		what = dir;
		ret = -ENAMETOOLONG;
	}
	snprintf(tmp, sizeof(tmp), "%s/" SC_TMP_FILE, dir);
	snprintf(path, sizeof(path), "%s/" SC_FILE, dir);
	if (ret < 0)
		;
	else if ((ret = dir_ready(dir)) < 0)
		what = dir;
	else if ((ret = write_tmp(tmp, node, m, weigh, arg, &n)) < 0)
		what = tmp;
	else if (rename(tmp, path) < 0)
		ret = -errno;
	else if ((ret = dir_sync(dir)) < 0)
		what = dir;
	if (ret < 0) {
		snprintf(err, SC_ERR_LEN, "%s: %s", what, strerror(-ret));
		if (what != dir)	/* a failed rename leaves it too */
			unlink(tmp);
	}
	if (bytes)
		*bytes = n;
	return ret;
}


struct reader {
	struct model *m;
	struct sc_header *h;
	struct codec_report quiet;	/* a newer field is not worth a line here */
	bool header;
	char err[512];			/* a callback's refusal ("" none) */
};

static void ignore(void *arg, const char *path)
{
}

static int read_header(void *arg, const char *key, json_t *v)
{
	struct reader *r = arg;
	json_int_t version = 0;
	const char *at = "?", *node = NULL;

	if (strcmp(key, HEADER_KEY))
		return 0;
	if (json_unpack(v, "{s:I, s?s, s?s}", "version", &version, "written_at", &at,
			"node", &node) < 0) {
		snprintf(r->err, sizeof(r->err), "field " HEADER_KEY ": not {\"version\":N, ...}");
		return -EINVAL;
	}
	if (version != SC_VERSION) {
		snprintf(r->err, sizeof(r->err), "field " HEADER_KEY ".version: %lld, this vipd reads %d",
			 (long long)version, SC_VERSION);
		return -EINVAL;
	}
	snprintf(r->h->written_at, sizeof(r->h->written_at), "%s", at);
	snprintf(r->h->node, sizeof(r->h->node), "%s", node ? node : "");
	r->header = true;
	return 0;
}

static int read_service(void *arg, const char *name, json_t *v)
{
	struct reader *r = arg;
	char err[CODEC_ERR_LEN];
	struct service *svc;
	int ret = codec_service_read(name, v, &r->quiet, &svc, err);

	if (ret < 0) {
		snprintf(r->err, sizeof(r->err), "service \"%.64s\": %s", name, err);
		return ret;
	}
	r->h->services++;
	return model_service_put(r->m, SRC_FILE, svc);
}

static int read_endpoints(void *arg, const char *service, json_t *eps)
{
	struct reader *r = arg;
	char err[CODEC_ERR_LEN];
	const char *id;
	json_t *v;

	if (!json_is_object(eps)) {
		snprintf(r->err, sizeof(r->err), "endpoints of \"%.64s\": not an object", service);
		return -EINVAL;
	}
	json_object_foreach(eps, id, v) {
		struct endpoint *ep;
		int ret = codec_endpoint_read(id, v, &r->quiet, &ep, err);

		if (ret < 0) {
			snprintf(r->err, sizeof(r->err), "endpoint \"%.64s/%.64s\": %s", service, id, err);
			return ret;
		}
		if ((ret = model_endpoint_put(r->m, SRC_FILE, service, ep)) < 0)
			return ret;
		r->h->endpoints++;
	}
	return 0;
}

int sc_load(const char *dir, struct model *m, struct sc_header *h, char err[SC_ERR_LEN])
{
	char path[400], why[CODEC_ERR_LEN] = "";
	struct reader r = { .m = m, .h = h, .quiet = { ignore, NULL } };
	struct file_walk w = { read_service, read_endpoints, NULL, &r, read_header };
	int ret;

	memset(h, 0, sizeof(*h));
	snprintf(path, sizeof(path), "%s/" SC_FILE, dir);
	ret = codec_file_walk(path, 0, &w, why);
	if (ret == 0 && !r.header) {
		snprintf(r.err, sizeof(r.err), "no " HEADER_KEY " header: not a vipd state cache");
		ret = -EINVAL;
	}
	if (ret < 0)
		snprintf(err, SC_ERR_LEN, "%s: %s", path,
			 *r.err ? r.err : *why ? why : strerror(-ret));
	return ret;
}

int sc_remove(const char *dir)
{
	char path[SC_PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/" SC_FILE, dir);
	if (unlink(path) == 0)
		return 1;
	return errno == ENOENT ? 0 : -errno;
}

/* Reading a services file, bounded, member by member: for vipd's file
 * source and for vipctl check alike (include/codec.h). The file is framed
 * (lib/jscan.c), never built into one tree: each service, and each
 * service's endpoints, is parsed alone and handed over. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "codec.h"
#include "hmap.h"
#include "jscan.h"

struct walk {
	const struct file_walk *w;
	const char *text;		/* the whole file */
	char *err;
	json_t *top;			/* the top level, sections emptied */
	struct hmap *seen;		/* keys of the member being walked */
	const char *section;		/* "services", "endpoints" */
	bool in_services;
	/* the sections' text, walked once the top level is known good */
	const char *sections[2];
	size_t section_len[2];
};

static const char *const section_names[2] = { "services", "endpoints" };

/* "line L column C" of an offset into the file. */
static void where(const struct walk *k, size_t off, char *buf, size_t len)
{
	size_t line = 1, col = 1;

	for (size_t i = 0; i < off; i++) {
		if (k->text[i] == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	snprintf(buf, len, "line %zu column %zu", line, col);
}

/* A member value parsed alone; on failure err names the member and where. */
static json_t *parse(struct walk *k, const char *path, const char *v, size_t len)
{
	json_error_t jerr;
	json_t *o = json_loadb(v, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	char at[64];

	if (!o) {
		where(k, (size_t)(v - k->text) + (size_t)jerr.position, at, sizeof(at));
		snprintf(k->err, CODEC_ERR_LEN, "%s: %s: %s", at, path, jerr.text);
	}
	return o;
}

static int once(struct walk *k, const char *path, const char *key)
{
	if (hmap_get_str(k->seen, key)) {
		snprintf(k->err, CODEC_ERR_LEN, "field %s: listed twice", path);
		return -EINVAL;
	}
	return hmap_put_str(k->seen, key, (void *)1) < 0 ? -ENOMEM : 0;
}

static int section_member(const char *key, const char *v, size_t len, void *arg)
{
	struct walk *k = arg;
	char path[2 * 256 + 16];
	json_t *o;
	int ret;

	snprintf(path, sizeof(path), "%s.%.200s", k->section, key);
	if ((ret = once(k, path, key)) < 0)
		return ret;
	if (!(o = parse(k, path, v, len)))
		return -EINVAL;
	ret = k->in_services ? k->w->service(k->w->arg, key, o) :
			       k->w->endpoints(k->w->arg, key, o);
	json_decref(o);
	return ret;
}

static int walk_section(struct walk *k, const char *name, const char *v, size_t len)
{
	struct hmap *outer = k->seen;
	size_t at = 0;
	int ret;

	if (!(k->seen = hmap_alloc())) {
		k->seen = outer;
		return -ENOMEM;
	}
	k->section = name;
	k->in_services = !strcmp(name, "services");
	ret = jscan_object(v, len, section_member, k, &at);
	if (ret == -EINVAL && !*k->err) {
		char pos[64];

		where(k, (size_t)(v - k->text) + at, pos, sizeof(pos));
		snprintf(k->err, CODEC_ERR_LEN, "%s: %s: not JSON", pos, name);
	}
	hmap_free(k->seen, NULL);
	k->seen = outer;
	return ret;
}

static int top_member(const char *key, const char *v, size_t len, void *arg)
{
	struct walk *k = arg;
	int ret = once(k, key, key);
	json_t *o;

	if (ret < 0)
		return ret;
	for (int i = 0; i < 2; i++)
		if (!strcmp(key, section_names[i]) && *v == '{') {
			/* its place in the top level, for codec_file_top */
			k->sections[i] = v;
			k->section_len[i] = len;
			return json_object_set_new(k->top, key, json_object()) ? -ENOMEM : 0;
		}
	/* anything else is small, or refused by codec_file_top */
	if (!(o = parse(k, key, v, len)))
		return -EINVAL;
	return json_object_set_new(k->top, key, o) ? -ENOMEM : 0;
}

/* The top level's own members, for a caller that reads more than the
 * two sections. */
static int walk_members(const struct walk *k)
{
	const char *key;
	json_t *v;
	int ret;

	if (!k->w->member)
		return 0;
	json_object_foreach(k->top, key, v) {
		if (!strcmp(key, section_names[0]) || !strcmp(key, section_names[1]))
			continue;
		if ((ret = k->w->member(k->w->arg, key, v)) != 0)
			return ret;
	}
	return 0;
}

/* The file's bytes, checked to be a regular file within max; NULL with
 * *ret and err saying why. */
static char *read_all(const char *path, size_t max, size_t *len, int *ret, char *err)
{
	FILE *f = fopen(path, "re");
	struct stat st;
	char *buf = NULL;

	*ret = -errno;
	if (!f) {
		snprintf(err, CODEC_ERR_LEN, "%s", strerror(errno));
		return NULL;
	}
	if (fstat(fileno(f), &st) < 0) {
		*ret = -errno;
		snprintf(err, CODEC_ERR_LEN, "%s", strerror(errno));
	} else if (!S_ISREG(st.st_mode)) {
		*ret = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
		snprintf(err, CODEC_ERR_LEN, "%s, not a file",
			 S_ISDIR(st.st_mode) ? "a directory" : "a special file");
	} else if (max && (size_t)st.st_size > max) {
		*ret = -EFBIG;
		snprintf(err, CODEC_ERR_LEN, "%lld bytes: over the limit of %zu (--services-file-max)",
			 (long long)st.st_size, max);
	} else if (!(buf = malloc((size_t)st.st_size + 1))) {
		*ret = -ENOMEM;
		snprintf(err, CODEC_ERR_LEN, "out of memory");
	} else if ((*len = fread(buf, 1, (size_t)st.st_size, f)) != (size_t)st.st_size && ferror(f)) {
		*ret = -EIO;
		snprintf(err, CODEC_ERR_LEN, "%s", strerror(errno));
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

int codec_file_walk(const char *path, size_t max, const struct file_walk *w,
		    char err[CODEC_ERR_LEN])
{
	struct walk k = { .w = w, .err = err };
	json_t *services, *endpoints;
	size_t len = 0, at = 0;
	int ret;
	char *text = read_all(path, max, &len, &ret, err);

	if (!text)
		return ret;
	err[0] = '\0';
	k.text = text;
	k.top = json_object();
	k.seen = hmap_alloc();
	ret = k.top && k.seen ? jscan_object(text, len, top_member, &k, &at) : -ENOMEM;
	if (ret == -EINVAL && !*err) {
		char pos[64];

		where(&k, at, pos, sizeof(pos));
		snprintf(err, CODEC_ERR_LEN, "%s: not a JSON object", pos);
	}
	/* the top level first: a file refused whole costs no object */
	if (ret == 0)
		ret = codec_file_top(k.top, w->rep, &services, &endpoints, err);
	if (ret == 0)
		ret = walk_members(&k);
	for (int i = 0; i < 2 && ret == 0; i++)
		if (k.sections[i])
			ret = walk_section(&k, section_names[i], k.sections[i], k.section_len[i]);
	if (ret == -ENOMEM)
		snprintf(err, CODEC_ERR_LEN, "out of memory");
	hmap_free(k.seen, NULL);
	json_decref(k.top);
	free(text);
	return ret;
}

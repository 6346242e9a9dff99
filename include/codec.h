/* codec.h: service, endpoint and verdict JSON (DESIGN.md) to model objects.
 *
 * Every source (file, etcd, docker) parses through here, so one object is
 * refused the same way wherever it comes from. On error the functions return
 * -EINVAL and write "field F: value V: why" into err; the caller prefixes the
 * key it knows and logs the line.
 */
#ifndef VIPD_CODEC_H
#define VIPD_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "model.h"

#define CODEC_ERR_LEN 256
/* A service with 64 ports is under 8 KiB; a value far past that is a
 * mistake or an attack, refused before parsing. */
#define CODEC_TEXT_MAX (64u * 1024)

bool codec_name_valid(const char *name);
bool codec_id_valid(const char *id);

/* Keys the codec does not know are ignored, so that a newer writer's field
 * does not get an object refused by an older vipd, but reported, since a
 * typo ("wieght", "endpoint") would silently change behaviour. unknown is
 * called once per such key of an accepted object, with its JSON path
 * inside the object: "wieght", "ports[0].protcol", "health.intervall_ms"
 * (non-printable bytes shown as '?'). The caller prefixes where the object
 * came from and logs (or counts) it. */
struct codec_report {
	void (*unknown)(void *arg, const char *path);
	void *arg;
};

/* *out is owned by the caller on success. rep NULL: each unknown key is
 * logged as a warning naming the object ('service "web": field wieght:
 * unknown key; ignored'), which is what the _parse and _parse_text forms
 * do. */
int codec_service_read(const char *name, const json_t *obj,
		       const struct codec_report *rep, struct service **out,
		       char err[CODEC_ERR_LEN]);
int codec_endpoint_read(const char *id, const json_t *obj,
			const struct codec_report *rep, struct endpoint **out,
			char err[CODEC_ERR_LEN]);
int codec_service_parse(const char *name, const json_t *obj,
			struct service **out, char err[CODEC_ERR_LEN]);
int codec_endpoint_parse(const char *id, const json_t *obj,
			 struct endpoint **out, char err[CODEC_ERR_LEN]);

/* The top level of a services file (DESIGN.md "Command line"): an object
 * with a "services" object (required: a file without it is refused as a
 * whole, since an empty or wrong file must not delete every VIP) and an
 * optional "endpoints" object. Unknown top-level keys go to rep as above
 * (NULL: not reported). Returns 0 with *services and *endpoints (NULL when
 * absent) borrowed from root, or -EINVAL with err. */
int codec_file_top(const json_t *root, const struct codec_report *rep,
		   json_t **services, json_t **endpoints, char err[CODEC_ERR_LEN]);

/* The same for a raw JSON text (an etcd value): also refuses bad JSON. */
int codec_service_parse_text(const char *name, const char *text, size_t len,
			     struct service **out, char err[CODEC_ERR_LEN]);
int codec_endpoint_parse_text(const char *id, const char *text, size_t len,
			      struct endpoint **out, char err[CODEC_ERR_LEN]);

/* The endpoint and the service as DESIGN.md's JSON (what registrars
 * write, what the state cache keeps), read back equal by the functions
 * above; NULL: out of memory. */
json_t *codec_endpoint_json(const struct endpoint *ep);
json_t *codec_service_json(const struct service *svc);

/* A health verdict, {"healthy":false,"reason":"HTTP 500 (3 of 3)"}
 * (DESIGN.md "etcd registry"): "healthy" is required, "reason" optional
 * (absent: ""). The reason is cut to fit reason_len bytes (at a character
 * boundary) and control characters in it become '?': it is for log lines
 * and vipctl, not worth refusing a verdict over. name is what an unknown
 * key's warning names when rep is NULL ('verdict "web/b1": ...'). */
int codec_verdict_read(const char *name, const json_t *obj,
		       const struct codec_report *rep, bool *healthy,
		       char *reason, size_t reason_len, char err[CODEC_ERR_LEN]);
int codec_verdict_parse_text(const char *name, const char *text, size_t len,
			     bool *healthy, char *reason, size_t reason_len,
			     char err[CODEC_ERR_LEN]);
/* What a node publishes; reason NULL or "": none. NULL: out of memory, or
 * reason is not UTF-8. */
json_t *codec_verdict_json(bool healthy, const char *reason);

/* A services file is refused past this size unless told otherwise: room
 * for 250,000 endpoints of ~100 bytes and their services. */
#define CODEC_FILE_MAX_DEFAULT (64u << 20)
/* What a services file holds, member by member: the file is framed and
 * each service (and each service's endpoints object) is parsed alone, so
 * a file costs its size, not a tree of it. Objects are borrowed for the
 * call; a non-zero return stops the walk and is returned. rep: unknown
 * top-level keys. */
struct file_walk {
	int (*service)(void *arg, const char *name, json_t *obj);
	int (*endpoints)(void *arg, const char *service, json_t *obj);
	const struct codec_report *rep;
	void *arg;
	/* Every other top-level member, before the sections (NULL: none
	 * wanted; the state cache's header is one). */
	int (*member)(void *arg, const char *key, json_t *obj);
};
/* Reads path (at most max bytes; 0: no limit) and walks it. Returns 0, a
 * callback's return, or a negative errno with err saying why the file as
 * a whole is refused: -EINVAL for its content (not JSON, and where; a key
 * listed twice; no "services" object: codec_file_top), the file's own
 * errno when it cannot be read (-ENOENT, -EISDIR, ...), -EFBIG past max. The callbacks may have
 * run before such a refusal: apply what they gave only after a 0. */
int codec_file_walk(const char *path, size_t max, const struct file_walk *w,
		    char err[CODEC_ERR_LEN]);

#endif

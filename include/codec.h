/* codec.h: service and endpoint JSON (DESIGN.md) to model objects.
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

/* *out is owned by the caller on success. */
int codec_service_parse(const char *name, const json_t *obj,
			struct service **out, char err[CODEC_ERR_LEN]);
int codec_endpoint_parse(const char *id, const json_t *obj,
			 struct endpoint **out, char err[CODEC_ERR_LEN]);

/* The same for a raw JSON text (an etcd value): also refuses bad JSON. */
int codec_service_parse_text(const char *name, const char *text, size_t len,
			     struct service **out, char err[CODEC_ERR_LEN]);
int codec_endpoint_parse_text(const char *id, const char *text, size_t len,
			      struct endpoint **out, char err[CODEC_ERR_LEN]);

/* The endpoint as DESIGN.md's JSON (what registrars write); NULL: ENOMEM. */
json_t *codec_endpoint_json(const struct endpoint *ep);

#endif

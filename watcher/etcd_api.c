#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "etcd.h"
#include "http.h"
#include "jstream.h"

int64_t etcd_int(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);

	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_string(v))
		return strtoll(json_string_value(v), NULL, 10);
	return 0;
}

const char *etcd_error(const json_t *reply, int *code)
{
	const json_t *e = json_object_get(reply, "error");

	*code = (int)etcd_int(reply, "code");
	if (json_is_string(e))
		return json_string_value(e);
	if (json_is_object(e)) {	/* streams wrap it: {"error":{"message":...}} */
		*code = (int)etcd_int(e, "grpc_code") ?: (int)etcd_int(e, "code");
		return json_string_value(json_object_get(e, "message")) ?: "error";
	}
	return NULL;
}

bool etcd_reply_failed(int err, long status, const json_t *root, char *why,
		       size_t len, bool *unauthenticated)
{
	const char *msg;
	int code = 0;

	*unauthenticated = false;
	if (err) {
		snprintf(why, len, "%s", http_strerror(err));
		return true;
	}
	msg = root ? etcd_error(root, &code) : NULL;
	*unauthenticated = status == 401 || code == ETCD_CODE_UNAUTHENTICATED;
	if (status != 200 || msg || !root) {
		snprintf(why, len, "HTTP %ld%s%s", status, msg ? ": " : "",
			 msg ? msg : root ? "" : " (reply is not JSON)");
		return true;
	}
	return false;
}

int etcd_kv_decode(const json_t *kv, struct etcd_kv *out)
{
	const char *k = json_string_value(json_object_get(kv, "key"));
	const char *v = json_string_value(json_object_get(kv, "value"));

	size_t sent;

	memset(out, 0, sizeof(*out));
	out->mod_revision = etcd_int(kv, "mod_revision");
	out->lease = etcd_int(kv, "lease");
	if (!k || !(out->key = b64_decode(k, &out->key_len)))
		return -EINVAL;
	if (v && jstream_cut(v, &sent)) {
		out->value_cut = true;
		out->value_len = sent / 4 * 3;
	} else if (v && !(out->value = b64_decode(v, &out->value_len))) {
		out->value_bad = true;
	}
	return 0;
}

void etcd_kv_fini(struct etcd_kv *kv)
{
	free(kv->key);
	free(kv->value);
	memset(kv, 0, sizeof(*kv));
}

static char *dump(json_t *o)
{
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	return s;
}

/* {"key": b64} plus an optional b64 range end. */
static json_t *key_obj(const char *key, size_t key_len, const char *end)
{
	char *k = b64_encode(key, key_len), *e = end && *end ? b64_encode(end, strlen(end)) : NULL;
	json_t *o = k ? json_pack("{ss}", "key", k) : NULL;

	if (o && e)
		json_object_set_new(o, "range_end", json_string(e));
	free(k);
	free(e);
	return o;
}

static void set_int(json_t *o, const char *key, int64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%lld", (long long)v);
	json_object_set_new(o, key, json_string(buf));
}

char *etcd_range_body(const char *key, size_t key_len, const char *end,
		      long limit, int64_t revision, bool keys_only)
{
	json_t *o = key_obj(key, key_len, end);

	if (!o)
		return NULL;
	if (limit)
		set_int(o, "limit", limit);
	if (revision)
		set_int(o, "revision", revision);
	if (keys_only)
		json_object_set_new(o, "keys_only", json_true());
	return dump(o);
}

char *etcd_watch_body(const char *key, const char *end, int64_t start_revision)
{
	json_t *o = key_obj(key, strlen(key), end), *w;

	if (!o)
		return NULL;
	set_int(o, "start_revision", start_revision);
	json_object_set_new(o, "progress_notify", json_true());
	w = json_pack("{so}", "create_request", o);
	return dump(w);
}

json_t *etcd_put_obj(const char *key, const char *value, int64_t lease)
{
	json_t *o = key_obj(key, strlen(key), NULL);
	char *v = b64_encode(value, strlen(value));

	if (!o || !v) {
		json_decref(o);
		free(v);
		return NULL;
	}
	json_object_set_new(o, "value", json_string(v));
	free(v);
	if (lease)
		set_int(o, "lease", lease);
	return o;
}

char *etcd_put_body(const char *key, const char *value, int64_t lease)
{
	return dump(etcd_put_obj(key, value, lease));
}

json_t *etcd_delete_obj(const char *key)
{
	return key_obj(key, strlen(key), NULL);
}

char *etcd_lease_body(int64_t id, long ttl)
{
	json_t *o = json_object();

	if (o && id)
		set_int(o, "ID", id);
	if (o && ttl)
		set_int(o, "TTL", ttl);
	return dump(o);
}

char *etcd_delete_body(const char *key, const char *end)
{
	return dump(key_obj(key, strlen(key), end));
}

char *etcd_auth_body(const char *user, const char *password)
{
	return dump(json_pack("{ssss}", "name", user, "password", password));
}

char *etcd_prefix_end(const char *prefix_slash)
{
	char *end = strdup(prefix_slash);
	size_t n = end ? strlen(end) : 0;

	if (n)
		end[n - 1]++;
	return end;
}

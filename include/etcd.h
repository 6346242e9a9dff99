/* etcd.h: etcd's v3 JSON gateway, the parts vipd and vipctl share: where
 * the registry lives, request bodies, and decoding of replies (keys and
 * values are base64, 64-bit numbers are strings). */
#ifndef VIPD_ETCD_H
#define VIPD_ETCD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#define ETCD_DEFAULT_PREFIX "/vipd"

/* The etcd flags vipd and vipctl share, for their getopt_long tables
 * (<getopt.h>); etcd_flag takes the letters E P A C K U Y. */
#define ETCD_OPTIONS \
	{ "etcd-endpoints", required_argument, NULL, 'E' }, \
	{ "etcd-prefix", required_argument, NULL, 'P' }, \
	{ "etcd-cacert", required_argument, NULL, 'A' }, \
	{ "etcd-cert", required_argument, NULL, 'C' }, \
	{ "etcd-key", required_argument, NULL, 'K' }, \
	{ "etcd-user", required_argument, NULL, 'U' }, \
	{ "etcd-password-file", required_argument, NULL, 'Y' }
/* The password, when neither --etcd-user U:P nor --etcd-password-file
 * gives it (so that it need not show in ps). */
#define ETCD_PASSWORD_ENV "VIPD_ETCD_PASSWORD"
#define ETCD_ERR_LEN 256

/* The flags as given (borrowed from argv). */
struct etcd_flags {
	const char *endpoints, *prefix, *cacert, *cert, *key, *user, *password_file;
};
/* Stores an etcd flag's value; returns whether letter was one. */
bool etcd_flag(struct etcd_flags *f, int letter, const char *value);

struct etcd_conf {
	char **endpoints;		/* URLs, e.g. http://127.0.0.1:2379 */
	size_t n_endpoints;
	const char *prefix;		/* without trailing '/' */
	const char *cacert, *cert, *key;
	char *user, *password;		/* NULL: no auth */
};

/* Fills c from the flags (f->endpoints must be set). Returns 0, or
 * -EINVAL with err naming the flag and value ("--etcd-prefix vipd: must
 * start with /"), or -ENOMEM. c is safe to etcd_conf_fini either way. */
int etcd_conf_init(struct etcd_conf *c, const struct etcd_flags *f, char err[ETCD_ERR_LEN]);
void etcd_conf_fini(struct etcd_conf *c);

/* A key-value pair of a reply, decoded. */
struct etcd_kv {
	char *key, *value;		/* NUL-terminated; value NULL if absent */
	size_t key_len, value_len;
	int64_t mod_revision, lease;
	/* The value was too big to keep (jstream cut it; value_len is its
	 * decoded size), or is no base64: value is NULL, the key is known. */
	bool value_cut, value_bad;
};
/* Returns 0, or -EINVAL when the key is absent or no base64 (mod_revision
 * is still set when the reply has it). */
int etcd_kv_decode(const json_t *kv, struct etcd_kv *out);
void etcd_kv_fini(struct etcd_kv *kv);

/* 64-bit integers travel as strings; absent or malformed -> 0. */
int64_t etcd_int(const json_t *obj, const char *key);
/* The gateway's error text in a reply ({"error": ..., "code": N}) or NULL. */
const char *etcd_error(const json_t *reply, int *code);
#define ETCD_CODE_UNAUTHENTICATED 16
/* Whether a reply (err: curl's, status: HTTP) is a failure; why receives
 * the reason, *unauthenticated whether the token was refused. */
bool etcd_reply_failed(int err, long status, const json_t *root, char *why,
		       size_t len, bool *unauthenticated);

/* Request bodies (malloc'd JSON text). end: range end ("" = no end). */
char *etcd_range_body(const char *key, size_t key_len, const char *end,
		      long limit, int64_t revision, bool keys_only);
char *etcd_watch_body(const char *key, const char *end, int64_t start_revision);
char *etcd_put_body(const char *key, const char *value, int64_t lease);
/* The same requests as objects, for a txn's request_put/request_delete_range. */
json_t *etcd_put_obj(const char *key, const char *value, int64_t lease);
json_t *etcd_delete_obj(const char *key);
/* lease/grant (id 0, ttl), lease/keepalive and lease/revoke (id, ttl 0). */
char *etcd_lease_body(int64_t id, long ttl);
char *etcd_delete_body(const char *key, const char *end);
char *etcd_auth_body(const char *user, const char *password);

/* The range end covering every key under prefix: prefix + "/" with its
 * last byte incremented, i.e. prefix + "0". Malloc'd. */
char *etcd_prefix_end(const char *prefix_slash);

#endif

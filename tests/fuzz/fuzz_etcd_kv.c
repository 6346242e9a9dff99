/* libFuzzer target: any bytes as what etcd's JSON gateway sends (a range
 * reply or a watch stream), through the pure decoders of include/etcd.h
 * and the codec, no source file included: jstream_feed framing, each
 * reply's error (etcd_error, etcd_reply_failed), its key-values
 * (etcd_kv_decode, etcd_int) and the values under services/ and
 * endpoints/ and health/ (codec_service_parse_text,
 * codec_endpoint_parse_text, codec_verdict_parse_text).
 *
 * Invariants: framing does not depend on where the stream is cut; a reply
 * fails exactly when it carries an error; a decoded key-value encoded
 * again decodes the same; an endpoint the codec accepts, written as JSON
 * and read back, is the same endpoint; a service it accepts is named
 * validly, has ports and a VIP, and parses the same twice. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "codec.h"
#include "etcd.h"
#include "log.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_service(const char *name, const char *text, size_t len)
{
	char err[CODEC_ERR_LEN];
	struct service *s = NULL, *again = NULL;
	int ret = codec_service_parse_text(name, text, len, &s, err);

	CHECK(ret == 0 || ret == -EINVAL || ret == -ENOMEM);
	CHECK(codec_service_parse_text(name, text, len, &again, err) == ret);
	if (ret == 0) {
		CHECK(codec_name_valid(name) && !strcmp(s->name, name));
		CHECK(s->n_ports && (s->vip4.family || s->vip6.family));
		for (unsigned i = 0; i < s->n_ports; i++)
			CHECK(s->ports[i].port);
		CHECK(service_equal(s, again));
	}
	service_free(s);
	service_free(again);
}

static void check_endpoint(const char *id, const char *text, size_t len)
{
	char err[CODEC_ERR_LEN];
	struct endpoint *e = NULL, *back = NULL;
	int ret = codec_endpoint_parse_text(id, text, len, &e, err);
	json_t *j;
	char *out;

	CHECK(ret == 0 || ret == -EINVAL || ret == -ENOMEM);
	if (ret)
		return;
	CHECK(codec_id_valid(id) && !strcmp(e->id, id));
	CHECK(e->weight >= WEIGHT_MIN && e->weight <= WEIGHT_MAX && e->ip.family);
	/* what a registrar writes, from what was read: the same endpoint */
	CHECK((j = codec_endpoint_json(e)) && (out = json_dumps(j, JSON_COMPACT)));
	if (codec_endpoint_parse_text(id, out, strlen(out), &back, err) != 0) {
		fprintf(stderr, "endpoint %s written as %s is refused: %s\n", id, out, err);
		abort();
	}
	CHECK(ep_same(e, back));
	free(out);
	json_decref(j);
	endpoint_free(back);
	endpoint_free(e);
}

/* A verdict the codec accepts has a printable reason that fits, is valid
 * UTF-8 (the cut splits no character), and reads back the same when
 * written as a node publishes it. */
static void check_verdict(const char *text, size_t len)
{
	char err[CODEC_ERR_LEN], reason[16], back_reason[16], *out;
	bool healthy, back;
	int ret = codec_verdict_parse_text("web/e1", text, len, &healthy, reason,
					   sizeof(reason), err);
	json_t *j;

	CHECK(ret == 0 || ret == -EINVAL || ret == -ENOMEM);
	if (ret)
		return;
	CHECK(strlen(reason) < sizeof(reason));
	for (const unsigned char *p = (const unsigned char *)reason; *p; p++)
		CHECK(*p >= 0x20 && *p != 0x7f);
	CHECK((j = codec_verdict_json(healthy, reason)) && (out = json_dumps(j, JSON_COMPACT)));
	CHECK(codec_verdict_parse_text("web/e1", out, strlen(out), &back, back_reason,
				       sizeof(back_reason), err) == 0);
	CHECK(back == healthy && !strcmp(back_reason, reason));
	free(out);
	json_decref(j);
}

/* A key-value of a reply; under /vipd/services/, /vipd/endpoints/ or
 * /vipd/health/ its value goes to the codec as the etcd source would give
 * it. */
static void check_kv(const json_t *kvj)
{
	struct etcd_kv kv, again;
	char *k64, *v64 = NULL, rev[24], lease[24];
	const char *slash;
	json_t *o;

	if (etcd_kv_decode(kvj, &kv) < 0) {
		CHECK(!kv.key && !kv.value);
		return;
	}
	CHECK(kv.key && kv.key[kv.key_len] == '\0');
	CHECK(!kv.value || kv.value[kv.value_len] == '\0');
	CHECK(kv.mod_revision == etcd_int(kvj, "mod_revision") && kv.lease == etcd_int(kvj, "lease"));
	/* encoded again, as etcd would send it: decoded the same */
	CHECK((k64 = b64_encode(kv.key, kv.key_len)));
	CHECK(!kv.value || (v64 = b64_encode(kv.value, kv.value_len)));
	snprintf(rev, sizeof(rev), "%lld", (long long)kv.mod_revision);
	snprintf(lease, sizeof(lease), "%lld", (long long)kv.lease);
	CHECK((o = json_pack("{s:s, s:s, s:s}", "key", k64, "mod_revision", rev, "lease", lease)));
	if (v64)
		json_object_set_new(o, "value", json_string(v64));
	CHECK(etcd_kv_decode(o, &again) == 0);
	CHECK(again.key_len == kv.key_len && !memcmp(again.key, kv.key, kv.key_len));
	CHECK(!again.value == !kv.value);
	CHECK(!kv.value || (again.value_len == kv.value_len &&
			    !memcmp(again.value, kv.value, kv.value_len)));
	CHECK(again.mod_revision == kv.mod_revision && again.lease == kv.lease);
	etcd_kv_fini(&again);
	json_decref(o);
	free(k64);
	free(v64);

	if (kv.value && !strncmp(kv.key, "/vipd/services/", 15)) {
		check_service(kv.key + 15, kv.value, kv.value_len);
	} else if (kv.value && !strncmp(kv.key, "/vipd/endpoints/", 16) &&
		   (slash = strchr(kv.key + 16, '/'))) {
		check_endpoint(slash + 1, kv.value, kv.value_len);
	} else if (kv.value && !strncmp(kv.key, "/vipd/health/", 13)) {
		check_verdict(kv.value, kv.value_len);
	}
	etcd_kv_fini(&kv);
}

static bool on_value(json_t *v, void *arg)
{
	const json_t *result = json_object_get(v, "result");
	const json_t *header = json_object_get(result ? result : v, "header");
	const char *msg;
	char why[256];
	bool unauth;
	int code = 0;
	size_t i;
	json_t *x;

	/* a reply fails when it carries an error, or is no 200 */
	msg = etcd_error(v, &code);
	CHECK(etcd_reply_failed(0, 200, v, why, sizeof(why), &unauth) == !!msg);
	CHECK(unauth == (code == ETCD_CODE_UNAUTHENTICATED));
	CHECK(etcd_reply_failed(0, 401, v, why, sizeof(why), &unauth) && unauth);
	CHECK(strnlen(why, sizeof(why)) < sizeof(why));
	(void)etcd_int(header, "revision");
	(void)etcd_int(result, "compact_revision");
	json_array_foreach(json_object_get(v, "kvs"), i, x)	/* a range reply */
		check_kv(x);
	json_array_foreach(json_object_get(result, "events"), i, x) {	/* a watch */
		check_kv(json_object_get(x, "kv"));
		check_kv(json_object_get(x, "prev_kv"));
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct jstream s = { 0 };

	vlog_threshold = VLOG_ERR - 1;
	frames_check(text, size);
	jstream_feed(&s, text, size, on_value, NULL);
	jstream_fini(&s);
	/* the whole input as one value, as a range's single key gives it */
	check_service("web", text, size);
	check_endpoint("e1", text, size);
	check_verdict(text, size);
	return 0;
}

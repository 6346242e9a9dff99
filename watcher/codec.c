#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "log.h"

#define SVC_PORTS_MAX	64	/* kube-proxy users rarely pass a dozen */
#define EP_PORTS_MAX	64
#define EXTERNAL_IPS_MAX 16	/* addresses a service answers on besides its VIPs */
#define SOURCE_RANGES_MAX 64	/* kube-proxy's loadBalancerSourceRanges are a few */
#define VALUE_SHOWN	48	/* long bad values are cut in log lines */

static int fail(char *err, const char *field, const json_t *value,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* "field F: value V: why" with V as compact JSON, cut to VALUE_SHOWN. */
static int fail(char *err, const char *field, const json_t *value,
		const char *fmt, ...)
{
	char shown[VALUE_SHOWN + 4] = "(missing)", why[128];
	va_list ap;

	if (value) {
		char *dump = json_dumps(value, JSON_ENCODE_ANY | JSON_COMPACT);

		if (dump) {
			snprintf(shown, sizeof(shown), "%.*s%s", VALUE_SHOWN, dump,
				 strlen(dump) > VALUE_SHOWN ? "..." : "");
			free(dump);
		}
	}
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(err, CODEC_ERR_LEN, "field %s: value %s: %s", field, shown, why);
	return -EINVAL;
}

/* A key that is not JSON yet (a map key, an etcd key) as a JSON string. */
static int fail_str(char *err, const char *field, const char *value,
		    const char *why)
{
	json_t *v = json_stringn_nocheck(value, strlen(value));
	int ret = fail(err, field, v, "%s", why);

	json_decref(v);
	return ret;
}

/* ---- unknown keys --------------------------------------------------------- */

static const char *const service_keys[] = {
	"vip", "vip6", "ports", "algorithm", "traffic_policy", "affinity_timeout",
	"slow_start", "drain_seconds", "health", "external_ips", "source_ranges", NULL,
};
static const char *const port_keys[] = {
	"name", "port", "protocol", "target_port", "node_port", NULL,
};
static const char *const health_keys[] = {
	"type", "path", "port", "expect", "interval_ms", "timeout_ms", "rise", "fall", NULL,
};
static const char *const endpoint_keys[] = {
	"ip", "port", "ports", "weight", "node", "zone", "ready", "terminating", NULL,
};
static const char *const verdict_keys[] = { "healthy", "reason", NULL };
static const char *const file_keys[] = { "services", "endpoints", NULL };

struct unknown_log {
	const char *kind, *name;
};

static void unknown_log(void *arg, const char *path)
{
	const struct unknown_log *u = arg;

	log_warn("%s \"%.64s\": field %s: unknown key; ignored", u->kind, u->name, path);
}

/* Reports each key of obj not in known, as prefix + key. */
static void keys_check(const json_t *obj, const char *prefix,
		       const char *const *known, const struct codec_report *rep)
{
	const char *key;
	json_t *v;

	if (!rep || !json_is_object(obj))
		return;
	json_object_foreach((json_t *)obj, key, v) {
		char path[160];
		size_t at, i;

		for (i = 0; known[i] && strcmp(known[i], key); i++)
			;
		if (known[i])
			continue;
		at = (size_t)snprintf(path, sizeof(path), "%s%.*s%s", prefix, VALUE_SHOWN,
				      key, strlen(key) > VALUE_SHOWN ? "..." : "");
		for (i = strlen(prefix); i < at && i < sizeof(path) - 1; i++)
			if (!isprint((unsigned char)path[i]))
				path[i] = '?';
		rep->unknown(rep->arg, path);
	}
}

static void service_keys_check(const json_t *obj, const struct codec_report *rep)
{
	const json_t *ports = json_object_get(obj, "ports");
	char prefix[32];

	keys_check(obj, "", service_keys, rep);
	for (size_t i = 0; i < json_array_size(ports); i++) {
		snprintf(prefix, sizeof(prefix), "ports[%zu].", i);
		keys_check(json_array_get(ports, i), prefix, port_keys, rep);
	}
	keys_check(json_object_get(obj, "health"), "health.", health_keys, rep);
}

int codec_file_top(const json_t *root, const struct codec_report *rep,
		   json_t **services, json_t **endpoints, char err[CODEC_ERR_LEN])
{
	*services = json_object_get(root, "services");
	*endpoints = json_object_get(root, "endpoints");
	if (!json_is_object(root))
		return fail(err, "(top level)", root, "must be an object with \"services\"");
	if (!*services)
		return fail(err, "services", NULL,
			    "required (a file with no services says {\"services\":{}})");
	if (!json_is_object(*services))
		return fail(err, "services", *services, "must be an object keyed by service name");
	if (*endpoints && json_is_null(*endpoints))
		*endpoints = NULL;
	if (*endpoints && !json_is_object(*endpoints))
		return fail(err, "endpoints", *endpoints,
			    "must be an object keyed by service name");
	keys_check(root, "", file_keys, rep);
	return 0;
}

static bool name_chars(const char *s, size_t max, const char *inner)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		bool edge = i == 0 || i == n - 1;
		unsigned char c = (unsigned char)s[i];

		if (islower(c) || isdigit(c))
			continue;
		if (edge || !strchr(inner, c))
			return false;
	}
	return true;
}

bool codec_name_valid(const char *name)
{
	return name_chars(name, NAME_MAX_LEN, ".-");
}

/* Ids come from registrars (container ids, host:port, pod names): allow
 * what those use, but nothing that breaks a key path or a log line. */
bool codec_id_valid(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > NAME_MAX_LEN)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)id[i];

		if (!isalnum(c) && !strchr("._:-", c))
			return false;
	}
	return true;
}

static bool port_name_valid(const char *s)
{
	return !*s || name_chars(s, PORT_NAME_LEN, "-");
}

/* Reads an optional integer field within [min, max]; absent leaves *out. */
static int get_uint(const json_t *obj, const char *key, const char *field,
		    long long min, long long max, uint32_t *out, char *err)
{
	const json_t *v = json_object_get(obj, key);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v))
		return fail(err, field, v, "must be an integer");
	if (json_integer_value(v) < min || json_integer_value(v) > max)
		return fail(err, field, v, "out of range %lld..%lld", min, max);
	*out = (uint32_t)json_integer_value(v);
	return 0;
}

static int get_str(const json_t *obj, const char *key, const char *field,
		   const char **out, char *err)
{
	const json_t *v = json_object_get(obj, key);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return fail(err, field, v, "must be a string");
	*out = json_string_value(v);
	return 0;
}

/* A name that ends up in log lines and keys (node, zone): printable and
 * at most NAME_MAX_LEN bytes, so it cannot forge a line or a key. */
static int get_label(const json_t *obj, const char *key, const char **out, char *err)
{
	int ret = get_str(obj, key, key, out, err);

	if (ret < 0 || !*out)
		return ret;
	if (strlen(*out) > NAME_MAX_LEN)
		return fail(err, key, json_object_get(obj, key), "longer than %d bytes", NAME_MAX_LEN);
	for (const unsigned char *p = (const unsigned char *)*out; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return fail(err, key, json_object_get(obj, key), "control characters are not allowed");
	return 0;
}

static int get_bool(const json_t *obj, const char *key, bool *out, char *err)
{
	const json_t *v = json_object_get(obj, key);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_boolean(v))
		return fail(err, key, v, "must be true or false");
	*out = json_is_true(v);
	return 0;
}

static int get_addr(const json_t *obj, const char *key, int family,
		    struct vaddr *out, char *err)
{
	const json_t *v = json_object_get(obj, key);
	const char *s = NULL;
	int ret = get_str(obj, key, key, &s, err);

	if (ret < 0 || !s)
		return ret;
	if (addr_parse(out, s) < 0)
		return fail(err, key, v, "not an IP address");
	if (family && out->family != family)
		return fail(err, key, v, "must be an %s address",
			    family == AF_INET ? "IPv4" : "IPv6");
	if (out->family == AF_INET &&
	    (out->bytes[0] == 0 || out->bytes[0] >= 224))
		return fail(err, key, v, "not a unicast address");
	if (out->family == AF_INET6 &&
	    (out->bytes[0] == 0xff || !memcmp(out->bytes, (uint8_t[16]){0}, 16)))
		return fail(err, key, v, "not a unicast address");
	return 0;
}

static int parse_proto(const json_t *port, const char *field, uint8_t *out,
		       char *err)
{
	const char *s = "tcp";
	int ret = get_str(port, "protocol", field, &s, err);

	if (ret < 0)
		return ret;
	if (!strcmp(s, "tcp"))
		*out = IPPROTO_TCP;
	else if (!strcmp(s, "udp"))
		*out = IPPROTO_UDP;
	else if (!strcmp(s, "sctp"))
		*out = IPPROTO_SCTP;
	else
		return fail(err, field, json_object_get(port, "protocol"),
			    "must be tcp, udp or sctp");
	return 0;
}

static int parse_port(const json_t *v, unsigned i, struct svc_port *p, char *err)
{
	char f[64];
	const char *name = "";
	uint32_t n = 0;
	int ret;

	snprintf(f, sizeof(f), "ports[%u]", i);
	if (!json_is_object(v))
		return fail(err, f, v, "must be an object");
	snprintf(f, sizeof(f), "ports[%u].name", i);
	if ((ret = get_str(v, "name", f, &name, err)) < 0)
		return ret;
	if (!port_name_valid(name))
		return fail(err, f, json_object_get(v, "name"),
			    "must be lower-case letters, digits and '-'");
	strcpy(p->name, name);
	snprintf(f, sizeof(f), "ports[%u].port", i);
	if (json_is_null(json_object_get(v, "port")) || !json_object_get(v, "port"))
		return fail(err, f, NULL, "required");
	if ((ret = get_uint(v, "port", f, 1, 65535, &n, err)) < 0)
		return ret;
	p->port = (uint16_t)n;
	n = 0;
	snprintf(f, sizeof(f), "ports[%u].target_port", i);
	if ((ret = get_uint(v, "target_port", f, 1, 65535, &n, err)) < 0)
		return ret;
	p->target_port = (uint16_t)n;
	n = 0;
	snprintf(f, sizeof(f), "ports[%u].node_port", i);
	if ((ret = get_uint(v, "node_port", f, 1, 65535, &n, err)) < 0)
		return ret;
	p->node_port = (uint16_t)n;
	snprintf(f, sizeof(f), "ports[%u].protocol", i);
	return parse_proto(v, f, &p->proto, err);
}

static int parse_ports(const json_t *obj, struct service *svc, char *err)
{
	const json_t *ports = json_object_get(obj, "ports");
	size_t n = json_array_size(ports);

	if (!ports)
		return fail(err, "ports", NULL, "required");
	if (!json_is_array(ports) || n == 0)
		return fail(err, "ports", ports, "must be a non-empty array");
	if (n > SVC_PORTS_MAX)
		return fail(err, "ports", ports, "more than %d ports", SVC_PORTS_MAX);
	svc->ports = calloc(n, sizeof(*svc->ports));
	if (!svc->ports)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		int ret = parse_port(json_array_get(ports, i), i, &svc->ports[i], err);

		if (ret < 0)
			return ret;
		svc->n_ports++;
		for (size_t j = 0; j < i; j++) {
			const struct svc_port *a = &svc->ports[j], *b = &svc->ports[i];

			if (a->port == b->port && a->proto == b->proto)
				return fail(err, "ports", json_array_get(ports, i),
					    "port %u/%s listed twice", b->port,
					    model_proto_name(b->proto));
			if (*a->name && !strcmp(a->name, b->name))
				return fail(err, "ports", json_array_get(ports, i),
					    "port name \"%s\" listed twice", b->name);
			if (b->node_port && a->node_port == b->node_port && a->proto == b->proto) {
				char f[64];

				snprintf(f, sizeof(f), "ports[%zu].node_port", i);
				return fail(err, f, json_object_get(json_array_get(ports, i), "node_port"),
					    "node port %u/%s is already ports[%zu]'s", b->node_port,
					    model_proto_name(b->proto), j);
			}
		}
	}
	return 0;
}

static int parse_enum(const json_t *obj, const char *key,
		      const char *const *names, int n, int *out, char *err)
{
	const char *s = NULL;
	int ret = get_str(obj, key, key, &s, err);

	if (ret < 0 || !s)
		return ret;
	for (int i = 0; i < n; i++)
		if (names[i] && !strcmp(s, names[i])) {
			*out = i;
			return 0;
		}
	return fail(err, key, json_object_get(obj, key), "unknown value");
}

static int parse_health(const json_t *obj, struct health_spec *h, char *err)
{
	const json_t *v = json_object_get(obj, "health");
	const char *type = "tcp", *path = "/";
	uint32_t port = 0, expect = 200, rise = 2, fall = 3;
	int ret;

	h->interval_ms = 1000;
	h->timeout_ms = 1000;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return fail(err, "health", v, "must be an object");
	if ((ret = get_str(v, "type", "health.type", &type, err)) < 0 ||
	    (ret = get_str(v, "path", "health.path", &path, err)) < 0 ||
	    (ret = get_uint(v, "port", "health.port", 1, 65535, &port, err)) < 0 ||
	    (ret = get_uint(v, "expect", "health.expect", 100, 599, &expect, err)) < 0 ||
	    (ret = get_uint(v, "interval_ms", "health.interval_ms", 10, 3600000,
			    &h->interval_ms, err)) < 0 ||
	    (ret = get_uint(v, "timeout_ms", "health.timeout_ms", 10, 3600000,
			    &h->timeout_ms, err)) < 0 ||
	    (ret = get_uint(v, "rise", "health.rise", 1, 100, &rise, err)) < 0 ||
	    (ret = get_uint(v, "fall", "health.fall", 1, 100, &fall, err)) < 0)
		return ret;
	if (strcmp(type, "tcp") && strcmp(type, "http"))
		return fail(err, "health.type", json_object_get(v, "type"),
			    "must be tcp or http");
	if (path[0] != '/' || strpbrk(path, " \r\n"))
		return fail(err, "health.path", json_object_get(v, "path"),
			    "must be an absolute path without spaces");
	h->enabled = true;
	h->http = !strcmp(type, "http");
	h->port = (uint16_t)port;
	h->expect = (uint16_t)expect;
	h->rise = (uint8_t)rise;
	h->fall = (uint8_t)fall;
	h->path = strdup(path);
	return h->path ? 0 : -ENOMEM;
}

/* An optional array of strings; absent or null: n 0. */
static int get_str_array(const json_t *obj, const char *key, size_t max,
			 const char *what, size_t *n, char *err)
{
	const json_t *v = json_object_get(obj, key), *e;
	size_t i;

	*n = 0;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return fail(err, key, v, "must be an array of %s", what);
	if (json_array_size(v) > max)
		return fail(err, key, v, "more than %zu %s", max, what);
	json_array_foreach(v, i, e) {
		char f[48];

		snprintf(f, sizeof(f), "%s[%zu]", key, i);
		if (!json_is_string(e))
			return fail(err, f, e, "must be a string");
		/* "203.0.113.7\u0000x" must not pass as 203.0.113.7 */
		if (strlen(json_string_value(e)) != json_string_length(e))
			return fail(err, f, e, "must not contain NUL characters");
	}
	*n = json_array_size(v);
	return 0;
}

/* "external_ips": plain unicast addresses of either family, each once,
 * none of them the service's own VIP. */
static int parse_external(const json_t *obj, struct service *svc, char *err)
{
	const json_t *arr = json_object_get(obj, "external_ips");
	size_t n;
	int ret = get_str_array(obj, "external_ips", EXTERNAL_IPS_MAX, "addresses", &n, err);

	if (ret < 0 || !n)
		return ret;
	svc->external_ips = calloc(n, sizeof(*svc->external_ips));
	if (!svc->external_ips)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const json_t *v = json_array_get(arr, i);
		struct vaddr *a = &svc->external_ips[i];
		const uint8_t *b = a->bytes;
		char f[48];

		snprintf(f, sizeof(f), "external_ips[%zu]", i);
		if (addr_parse(a, json_string_value(v)) < 0)
			return fail(err, f, v, "not an IP address");
		if ((a->family == AF_INET && (b[0] == 0 || b[0] >= 224)) ||
		    (a->family == AF_INET6 && (b[0] == 0xff || !memcmp(b, (uint8_t[16]){0}, 16))))
			return fail(err, f, v, "not a unicast address");
		/* kube-proxy refuses these too: no node forwards them */
		if ((a->family == AF_INET && b[0] == 127) ||
		    (a->family == AF_INET6 && !memcmp(b, (uint8_t[16]){ [15] = 1 }, 16)))
			return fail(err, f, v, "a loopback address cannot be external");
		if ((a->family == AF_INET && b[0] == 169 && b[1] == 254) ||
		    (a->family == AF_INET6 && b[0] == 0xfe && (b[1] & 0xc0) == 0x80))
			return fail(err, f, v, "a link-local address cannot be external");
		if (addr_equal(a, &svc->vip4) || addr_equal(a, &svc->vip6))
			return fail(err, f, v, "is the service's own %s",
				    a->family == AF_INET ? "vip" : "vip6");
		for (size_t j = 0; j < i; j++)
			if (addr_equal(a, &svc->external_ips[j]))
				return fail(err, f, v, "listed twice (also external_ips[%zu])", j);
		svc->n_external++;
	}
	return 0;
}

/* Why text is no CIDR: host bits set (and the range meant), or malformed. */
static int cidr_refuse(char *err, const char *field, const json_t *v)
{
	const char *text = json_string_value(v), *slash = strchr(text, '/');
	char buf[ADDR_STRLEN + 8], net[CIDR_STRLEN];
	struct cidr c;

	if (slash && (size_t)(slash - text) < ADDR_STRLEN) {
		snprintf(buf, sizeof(buf), "%.*s", (int)(slash - text), text);
		if (addr_parse(&c.addr, buf) == 0 && slash[1] >= '0' && slash[1] <= '9' &&
		    strlen(slash + 1) <= 3) {
			unsigned max = c.addr.family == AF_INET6 ? 128 : 32;
			unsigned len = (unsigned)strtoul(slash + 1, NULL, 10);

			if (len <= max && strspn(slash + 1, "0123456789") == strlen(slash + 1) &&
			    (slash[1] != '0' || !slash[2])) {
				c.len = (uint8_t)len;
				for (unsigned bit = len; bit < max; bit++)
					c.addr.bytes[bit / 8] &= (uint8_t)~(0x80 >> (bit % 8));
				return fail(err, field, v, "host bits set (the range is %s)",
					    cidr_format(&c, net));
			}
		}
	}
	return fail(err, field, v, "not a CIDR (expected ADDRESS/LENGTH, e.g. 198.51.100.0/24)");
}

/* "source_ranges": CIDRs of either family, each once. They restrict who
 * reaches the external IPs; without external IPs they restrict nothing
 * and are accepted as given (like health.path on a tcp check). */
static int parse_ranges(const json_t *obj, struct service *svc, char *err)
{
	const json_t *arr = json_object_get(obj, "source_ranges");
	size_t n;
	int ret = get_str_array(obj, "source_ranges", SOURCE_RANGES_MAX, "ranges", &n, err);

	if (ret < 0 || !n)
		return ret;
	svc->source_ranges = calloc(n, sizeof(*svc->source_ranges));
	if (!svc->source_ranges)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const json_t *v = json_array_get(arr, i);
		struct cidr *c = &svc->source_ranges[i];
		char f[48];

		snprintf(f, sizeof(f), "source_ranges[%zu]", i);
		if (cidr_parse(c, json_string_value(v)) < 0)
			return cidr_refuse(err, f, v);
		for (size_t j = 0; j < i; j++)
			if (c->len == svc->source_ranges[j].len &&
			    addr_equal(&c->addr, &svc->source_ranges[j].addr))
				return fail(err, f, v, "listed twice (also source_ranges[%zu])", j);
		svc->n_ranges++;
	}
	return 0;
}

static int service_fields(const json_t *obj, struct service *svc, char *err)
{
	static const char *const algos[] = {
		"random", "round-robin", "source-hash", "maglev",
	};
	static const char *const policies[] = { "cluster", "local" };
	int algo = ALGO_RANDOM, policy = POLICY_CLUSTER, ret;

	if ((ret = get_addr(obj, "vip", AF_INET, &svc->vip4, err)) < 0 ||
	    (ret = get_addr(obj, "vip6", AF_INET6, &svc->vip6, err)) < 0)
		return ret;
	if (!svc->vip4.family && !svc->vip6.family)
		return fail(err, "vip", NULL, "a service needs vip or vip6");
	if ((ret = parse_ports(obj, svc, err)) < 0 ||
	    (ret = parse_enum(obj, "algorithm", algos, 4, &algo, err)) < 0 ||
	    (ret = parse_enum(obj, "traffic_policy", policies, 2, &policy, err)) < 0 ||
	    (ret = get_uint(obj, "affinity_timeout", "affinity_timeout", 0, 86400,
			    &svc->affinity_timeout, err)) < 0 ||
	    (ret = get_uint(obj, "slow_start", "slow_start", 0, 3600,
			    &svc->slow_start, err)) < 0 ||
	    (ret = get_uint(obj, "drain_seconds", "drain_seconds", 0, 86400,
			    &svc->drain_seconds, err)) < 0 ||
	    (ret = parse_external(obj, svc, err)) < 0 ||
	    (ret = parse_ranges(obj, svc, err)) < 0)
		return ret;
	svc->algo = algo;
	svc->policy = policy;
	return parse_health(obj, &svc->health, err);
}

int codec_service_read(const char *name, const json_t *obj,
		       const struct codec_report *rep, struct service **out,
		       char err[CODEC_ERR_LEN])
{
	struct unknown_log ul = { "service", name };
	struct codec_report dflt = { unknown_log, &ul };
	struct service *svc;
	int ret;

	if (!codec_name_valid(name))
		return fail_str(err, "name", name,
				"must match [a-z0-9]([a-z0-9.-]*[a-z0-9])?, at most 253 characters");
	if (!json_is_object(obj))
		return fail(err, "service", obj, "must be an object");
	svc = calloc(1, sizeof(*svc));
	if (!svc || !(svc->name = strdup(name))) {
		free(svc);
		return -ENOMEM;
	}
	ret = service_fields(obj, svc, err);
	if (ret < 0) {
		service_free(svc);
		return ret;
	}
	service_keys_check(obj, rep ? rep : &dflt);
	*out = svc;
	return 0;
}

int codec_service_parse(const char *name, const json_t *obj,
			struct service **out, char err[CODEC_ERR_LEN])
{
	return codec_service_read(name, obj, NULL, out, err);
}

static int parse_ep_ports(const json_t *obj, struct endpoint *ep, char *err)
{
	const json_t *ports = json_object_get(obj, "ports"), *v;
	const char *key;
	char f[96];

	if (!ports || json_is_null(ports))
		return 0;
	if (!json_is_object(ports))
		return fail(err, "ports", ports, "must be an object of name: port");
	if (json_object_size(ports) > EP_PORTS_MAX)
		return fail(err, "ports", ports, "more than %d ports", EP_PORTS_MAX);
	ep->ports = calloc(json_object_size(ports) + 1, sizeof(*ep->ports));
	if (!ep->ports)
		return -ENOMEM;
	json_object_foreach((json_t *)ports, key, v) {
		struct ep_port *p = &ep->ports[ep->n_ports];
		uint32_t n = 0;
		int ret;

		snprintf(f, sizeof(f), "ports.%.60s", key);
		if (!*key || !port_name_valid(key))
			return fail(err, f, v, "bad port name");
		if (!json_is_integer(v))
			return fail(err, f, v, "must be an integer");
		if ((ret = get_uint(ports, key, f, 1, 65535, &n, err)) < 0)
			return ret;
		strcpy(p->name, key);
		p->port = (uint16_t)n;
		ep->n_ports++;
	}
	return 0;
}

static int endpoint_fields(const json_t *obj, struct endpoint *ep, char *err)
{
	const char *node = NULL, *zone = NULL;
	uint32_t port = 0;
	int ret;

	if (json_is_null(json_object_get(obj, "ip")) || !json_object_get(obj, "ip"))
		return fail(err, "ip", NULL, "required");
	if ((ret = get_addr(obj, "ip", 0, &ep->ip, err)) < 0 ||
	    (ret = get_uint(obj, "port", "port", 1, 65535, &port, err)) < 0 ||
	    (ret = get_uint(obj, "weight", "weight", WEIGHT_MIN, WEIGHT_MAX,
			    &ep->weight, err)) < 0 ||
	    (ret = get_label(obj, "node", &node, err)) < 0 ||
	    (ret = get_label(obj, "zone", &zone, err)) < 0 ||
	    (ret = get_bool(obj, "ready", &ep->ready, err)) < 0 ||
	    (ret = get_bool(obj, "terminating", &ep->terminating, err)) < 0 ||
	    (ret = parse_ep_ports(obj, ep, err)) < 0)
		return ret;
	ep->port = (uint16_t)port;
	if (node && !(ep->node = strdup(node)))
		return -ENOMEM;
	if (zone && !(ep->zone = strdup(zone)))
		return -ENOMEM;
	return 0;
}

int codec_endpoint_read(const char *id, const json_t *obj,
			const struct codec_report *rep, struct endpoint **out,
			char err[CODEC_ERR_LEN])
{
	struct unknown_log ul = { "endpoint", id };
	struct codec_report dflt = { unknown_log, &ul };
	struct endpoint *ep;
	int ret;

	if (!codec_id_valid(id))
		return fail_str(err, "id", id,
				"must be 1..253 letters, digits and ._:-");
	if (!json_is_object(obj))
		return fail(err, "endpoint", obj, "must be an object");
	ep = calloc(1, sizeof(*ep));
	if (!ep || !(ep->id = strdup(id))) {
		free(ep);
		return -ENOMEM;
	}
	ep->weight = WEIGHT_DEFAULT;
	ep->ready = true;
	ret = endpoint_fields(obj, ep, err);
	if (ret < 0) {
		endpoint_free(ep);
		return ret;
	}
	keys_check(obj, "", endpoint_keys, rep ? rep : &dflt);
	*out = ep;
	return 0;
}

int codec_endpoint_parse(const char *id, const json_t *obj,
			 struct endpoint **out, char err[CODEC_ERR_LEN])
{
	return codec_endpoint_read(id, obj, NULL, out, err);
}

/* ---- verdicts ------------------------------------------------------------ */

/* reason into out[size]: cut before a character that does not fit (jansson
 * strings are valid UTF-8), control bytes (and NULs) shown as '?'. */
static void reason_fit(const json_t *v, char *out, size_t size)
{
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);

	if (!size)
		return;
	if (n >= size) {
		n = size - 1;
		while (n && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	for (size_t i = 0; i < n; i++)
		out[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	out[n] = '\0';
}

int codec_verdict_read(const char *name, const json_t *obj,
		       const struct codec_report *rep, bool *healthy,
		       char *reason, size_t reason_len, char err[CODEC_ERR_LEN])
{
	struct unknown_log ul = { "verdict", name };
	struct codec_report dflt = { unknown_log, &ul };
	const json_t *h = json_object_get(obj, "healthy"), *r = json_object_get(obj, "reason");

	if (!json_is_object(obj))
		return fail(err, "verdict", obj, "must be an object");
	/* no default: a verdict that says nothing must not pass for either */
	if (!h || json_is_null(h))
		return fail(err, "healthy", NULL, "required");
	if (!json_is_boolean(h))
		return fail(err, "healthy", h, "must be true or false");
	if (r && !json_is_null(r) && !json_is_string(r))
		return fail(err, "reason", r, "must be a string");
	*healthy = json_is_true(h);
	if (json_is_string(r))
		reason_fit(r, reason, reason_len);
	else if (reason_len)
		*reason = '\0';
	keys_check(obj, "", verdict_keys, rep ? rep : &dflt);
	return 0;
}

json_t *codec_verdict_json(bool healthy, const char *reason)
{
	json_t *o = json_pack("{s:b}", "healthy", healthy);

	if (o && reason && *reason &&
	    json_object_set_new(o, "reason", json_string(reason)) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *load_text(const char *text, size_t len, char *err)
{
	json_error_t jerr;
	json_t *root;

	if (len > CODEC_TEXT_MAX) {
		snprintf(err, CODEC_ERR_LEN, "field (json): value of %zu bytes: larger than %u bytes",
			 len, CODEC_TEXT_MAX);
		return NULL;
	}
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);

	if (!root)
		snprintf(err, CODEC_ERR_LEN, "field (json): value %.*s: %s at line %d column %d",
			 (int)(len < VALUE_SHOWN ? len : VALUE_SHOWN), text,
			 jerr.text, jerr.line, jerr.column);
	return root;
}

int codec_service_parse_text(const char *name, const char *text, size_t len,
			     struct service **out, char err[CODEC_ERR_LEN])
{
	json_t *root = load_text(text, len, err);
	int ret;

	if (!root)
		return -EINVAL;
	ret = codec_service_parse(name, root, out, err);
	json_decref(root);
	return ret;
}

int codec_endpoint_parse_text(const char *id, const char *text, size_t len,
			      struct endpoint **out, char err[CODEC_ERR_LEN])
{
	json_t *root = load_text(text, len, err);
	int ret;

	if (!root)
		return -EINVAL;
	ret = codec_endpoint_parse(id, root, out, err);
	json_decref(root);
	return ret;
}

int codec_verdict_parse_text(const char *name, const char *text, size_t len,
			     bool *healthy, char *reason, size_t reason_len,
			     char err[CODEC_ERR_LEN])
{
	json_t *root = load_text(text, len, err);
	int ret;

	if (!root)
		return -EINVAL;
	ret = codec_verdict_read(name, root, NULL, healthy, reason, reason_len, err);
	json_decref(root);
	return ret;
}

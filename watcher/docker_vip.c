/* The service a container defines: <prefix>vip ("IP:PORT[/proto]", comma
 * separated, IPv6 in brackets), <prefix>vip.<port name>, and the service
 * JSON's other fields as <prefix><field>. The JSON is built and handed to
 * the codec, so a container's service is checked as a registry's is; the
 * codec's "field F" comes back as the label that fed F. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "docker_internal.h"

/* ---- the service a container defines (<prefix>vip) --------------------- */

/* Numbers go to the codec as integers, anything else as a string, which
 * the codec then refuses with the value shown. */
static json_t *number_or_string(const char *s)
{
	long v;

	return dk_parse_num(s, 0, 1L << 40, &v) == 0 ? json_integer(v) : json_string(s);
}

static bool port_listed(const json_t *ports, long port, const char *proto)
{
	size_t i;
	json_t *p;

	json_array_foreach(ports, i, p)
		if (json_integer_value(json_object_get(p, "port")) == port &&
		    !strcmp(json_string_value(json_object_get(p, "protocol")), proto))
			return true;
	return false;
}

/* One "IP:PORT[/proto]" or "[IPv6]:PORT[/proto]" of a vip label. */
static int vip_one(struct dk_ctx *x, const char *key, const char *tok, json_t *svc,
		   const char *pname, uint16_t target)
{
	static const char expect[] = "expected IP:PORT[/tcp|udp|sctp] or [IPv6]:PORT[/proto], comma-separated";
	char ip[ADDR_STRLEN + 2], num[8];
	const char *colon, *slash, *proto = "tcp", *field;
	json_t *ports = json_object_get(svc, "ports"), *p, *old;
	struct vaddr a;
	long port;

	colon = tok[0] == '[' ? strstr(tok, "]:") : strrchr(tok, ':');
	if (!colon || (size_t)(colon - tok) >= sizeof(ip))
		return dk_refuse(x, "label", key, tok, expect);
	snprintf(ip, sizeof(ip), "%.*s", (int)(colon - tok - (tok[0] == '[')), tok + (tok[0] == '['));
	colon += tok[0] == '[' ? 2 : 1;
	slash = strchr(colon, '/');
	if (slash)
		proto = slash + 1;
	if ((slash ? (size_t)(slash - colon) : strlen(colon)) >= sizeof(num))
		return dk_refuse(x, "label", key, tok, expect);
	snprintf(num, sizeof(num), "%.*s", slash ? (int)(slash - colon) : 7, colon);
	if (addr_parse(&a, ip) < 0 || (a.family == AF_INET6 && tok[0] != '[') ||
	    dk_parse_num(num, 1, 65535, &port) < 0 ||
	    (strcmp(proto, "tcp") && strcmp(proto, "udp") && strcmp(proto, "sctp")))
		return dk_refuse(x, "label", key, tok, expect);
	field = a.family == AF_INET ? "vip" : "vip6";
	old = json_object_get(svc, field);
	if (old && strcmp(json_string_value(old), ip))
		return dk_refuse(x, "label", key, tok, "a service has one %s VIP, not %s and %s",
			      a.family == AF_INET ? "IPv4" : "IPv6", json_string_value(old), ip);
	/* A field lost to ENOMEM would be refused as missing, or worse,
	 * routed to the wrong port: fail the whole container instead. */
	if (json_object_set_new(svc, field, json_string(ip)) < 0)
		return -ENOMEM;
	if (port_listed(ports, port, proto))
		return 0;
	p = json_pack("{s:s, s:I, s:s}", "name", pname, "port", (json_int_t)port, "protocol", proto);
	if (p && target && json_object_set_new(p, "target_port", json_integer(target)) < 0) {
		json_decref(p);
		return -ENOMEM;
	}
	return p && json_array_append_new(ports, p) == 0 ? 0 : -ENOMEM;
}

static int vip_label(struct dk_ctx *x, const char *key, const char *value, json_t *svc,
		     const char *pname, uint16_t target)
{
	char *copy, *tok, *save = NULL;
	int ret;

	if (!value || !*value)
		return dk_refuse(x, "label", key, value ? value : "", "empty: expected IP:PORT[/proto]");
	copy = strdup(value);
	ret = copy ? 0 : -ENOMEM;

	for (tok = copy ? strtok_r(copy, ",", &save) : NULL; tok && !ret;
	     tok = strtok_r(NULL, ",", &save))
		ret = vip_one(x, key, tok, svc, pname, target);
	free(copy);
	return ret;
}

static uint16_t ep_port_named(const struct endpoint *ep, const char *name)
{
	for (unsigned i = 0; ep && i < ep->n_ports; i++)
		if (!strcmp(ep->ports[i].name, name))
			return ep->ports[i].port;
	return 0;
}

/* <prefix>vip and <prefix>vip.<port name> into svc's vip/vip6 and ports. */
static int vips(struct dk_ctx *x, const struct endpoint *ep, json_t *svc)
{
	char stem[KEY_MAX];
	size_t n = (size_t)snprintf(stem, sizeof(stem), "%svip", x->c->prefix);
	const char *key;
	json_t *val;
	int ret;

	json_object_foreach((json_t *)x->labels, key, val) {
		const char *pn;

		if (strncmp(key, stem, n) || (key[n] && key[n] != '.'))
			continue;
		pn = key[n] == '.' ? key + n + 1 : "";
		ret = vip_label(x, key, json_string_value(val), svc, pn,
				*pn ? ep_port_named(ep, pn) : ep ? ep->port : 0);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* The other service fields, each from <prefix><field>. */
static int service_fields(const struct dk_ctx *x, json_t *svc)
{
	static const char *const strs[] = { "algorithm", "traffic_policy" };
	static const char *const nums[] = { "affinity_timeout", "slow_start", "drain_seconds" };
	static const char *const health[] = { "type", "path", "port", "expect",
		"interval_ms", "timeout_ms", "rise", "fall" };
	char key[KEY_MAX], suffix[32];
	json_t *h = json_object();
	const char *v;
	int lost = 0;	/* a field dropped for want of memory: fail, never guess */

	for (size_t i = 0; i < sizeof(strs) / sizeof(*strs); i++)
		if ((v = dk_plabel(x, strs[i], key)))
			lost |= json_object_set_new(svc, strs[i], json_string(v));
	for (size_t i = 0; i < sizeof(nums) / sizeof(*nums); i++)
		if ((v = dk_plabel(x, nums[i], key)))
			lost |= json_object_set_new(svc, nums[i], number_or_string(v));
	for (size_t i = 0; h && i < sizeof(health) / sizeof(*health); i++) {
		snprintf(suffix, sizeof(suffix), "health.%s", health[i]);
		if ((v = dk_plabel(x, suffix, key)))
			lost |= json_object_set_new(h, health[i], i < 2 ? json_string(v) : number_or_string(v));
	}
	if (json_object_size(h))
		lost |= json_object_set(svc, "health", h);
	json_decref(h);
	return h && !lost ? 0 : -ENOMEM;
}

/* The codec's "field F: value V: why" names the label that fed F. */
static int codec_refusal(struct dk_ctx *x, const char *cerr)
{
	bool field = !strncmp(cerr, "field ", 6);
	const char *f = field ? cerr + 6 : cerr;
	size_t n = strcspn(f, ":");

	if (!field)
		snprintf(x->err, DOCKER_ERR_LEN, "%s", cerr);
	else if (!strncmp(f, "vip", 3) || !strncmp(f, "ports", 5))
		snprintf(x->err, DOCKER_ERR_LEN, "label %svip%s", x->c->prefix, f + n);
	else
		snprintf(x->err, DOCKER_ERR_LEN, "label %s%s", x->c->prefix, f);
	return -EINVAL;
}

int dk_define(struct dk_ctx *x, struct docker_view *v, const char *name)
{
	json_t *svc = json_pack("{s:[]}", "ports");
	char cerr[CODEC_ERR_LEN], key[KEY_MAX];
	int ret;

	if (!svc)
		return -ENOMEM;
	ret = vips(x, v->n_items ? v->items[0].ep : NULL, svc);
	if (ret == 0 && json_array_size(json_object_get(svc, "ports"))) {
		if (!*name)
			ret = dk_refuse(x, "label", dk_plabel_key(x, "vip", key), NULL,
				     "defines a service, but the container names none (%sservice)",
				     x->c->prefix);
		else if ((ret = service_fields(x, svc)) == 0 &&
			 (ret = codec_service_parse(name, svc, &v->svc, cerr)) == -EINVAL)
			ret = codec_refusal(x, cerr);
	}
	json_decref(svc);
	return ret;
}

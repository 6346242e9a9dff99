/* What a container's labels and environment mean (DESIGN.md "Docker").
 *
 * The service name comes from, in order: the label <prefix>service;
 * registrator's SERVICE_<port>_NAME (one service per container port);
 * SERVICE_NAME; the --docker-name-from templates. Registrator keys are read
 * from labels, then from the environment. Every refusal names the label (or
 * env key) and its value; a refused container contributes nothing.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec.h"
#include "docker_internal.h"

/* ---- service names ----------------------------------------------------- */

/* One "{label:K}" or "{env:K}" part of a template (t past the '{', n long):
 * its value, NULL when missing; *bad when malformed. x NULL: only checks. */
static const char *part(const struct dk_ctx *x, const char *t, size_t n, bool *bad)
{
	size_t skip = !strncmp(t, "label:", 6) ? 6 : !strncmp(t, "env:", 4) ? 4 : 0;
	char key[KEY_MAX];

	if (!skip || n <= skip || n - skip >= KEY_MAX) {
		*bad = true;
		return NULL;
	}
	memcpy(key, t + skip, n - skip);
	key[n - skip] = '\0';
	if (!x)
		return "";
	return skip == 6 ? dk_label(x, key) : dk_env(x, key);
}

/* Expands a --docker-name-from template. Returns 1 when every part was
 * there, 0 when one is missing, -EINVAL when it is malformed. */
static int expand(const struct dk_ctx *x, const char *t, char *out, size_t len)
{
	size_t o = 0;

	while (*t) {
		const char *v = t, *close;
		bool bad = false;
		size_t n = 1;

		if (*t == '{') {
			if (!(close = strchr(t, '}')))
				return -EINVAL;
			v = part(x, t + 1, (size_t)(close - t - 1), &bad);
			if (bad)
				return -EINVAL;
			if (!v)
				return 0;
			n = strlen(v);
			t = close;
		}
		t++;
		if (o + n >= len)
			return 0;
		memcpy(out + o, v, n);
		o += n;
	}
	out[o] = '\0';
	return 1;
}

int docker_name_from_check(const char *spec)
{
	char out[NAME_MAX_LEN + 1];

	return strchr(spec, '{') && expand(NULL, spec, out, sizeof(out)) == 1 ? 0 : -EINVAL;
}

static int name_check(struct dk_ctx *x, const char *kind, const char *key,
		      const char *name)
{
	if (!name || !codec_name_valid(name))
		return dk_refuse(x, kind, key, name ? name : "",
			      "not a service name ([a-z0-9]([a-z0-9.-]*[a-z0-9])?)");
	return 0;
}

/* ---- endpoints --------------------------------------------------------- */

static int add_item(struct docker_view *v, const char *service, struct endpoint *ep)
{
	struct docker_item *n = realloc(v->items, (v->n_items + 1) * sizeof(*n));

	if (!n) {
		endpoint_free(ep);
		return -ENOMEM;
	}
	v->items = n;
	snprintf(n[v->n_items].service, sizeof(n->service), "%s", service);
	n[v->n_items++].ep = ep;
	return 0;
}

static int new_item(struct dk_ctx *x, struct docker_view *v, const char *service,
		    uint16_t port)
{
	struct endpoint *ep;
	/* names may be long; register keys add "<node>:" and must stay valid */
	const char *id = codec_id_valid(v->name) && strlen(v->name) + (x->c->node_name ?
			 strlen(x->c->node_name) + 1 : 0) <= NAME_MAX_LEN ? v->name : v->id;

	if (!codec_id_valid(id)) {	/* dockerd sends hex ids: not dockerd */
		snprintf(x->err, DOCKER_ERR_LEN, "field Id: value \"%s\": not a container id", v->id);
		return -EINVAL;
	}
	if (!(ep = calloc(1, sizeof(*ep))))
		return -ENOMEM;
	ep->id = strdup(id);
	ep->node = x->c->node_name ? strdup(x->c->node_name) : NULL;
	ep->port = port;
	ep->weight = WEIGHT_DEFAULT;
	ep->ready = true;
	if (!ep->id || (x->c->node_name && !ep->node)) {
		endpoint_free(ep);
		return -ENOMEM;
	}
	return add_item(v, service, ep);
}

/* <prefix>port.<name> labels: a multi-port endpoint. */
static int named_ports(struct dk_ctx *x, struct endpoint *ep)
{
	char stem[KEY_MAX];
	const char *key;
	json_t *val;
	size_t n = (size_t)snprintf(stem, sizeof(stem), "%sport.", x->c->prefix);

	json_object_foreach((json_t *)x->labels, key, val) {
		const char *pn = key + n;
		struct ep_port *p;
		int ret;

		if (strncmp(key, stem, n))
			continue;
		if (!*pn || strlen(pn) > PORT_NAME_LEN ||
		    strspn(pn, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(pn))
			return dk_refuse(x, "label", key, NULL,
				      "the port name must be lower-case letters, digits and '-'");
		p = realloc(ep->ports, (ep->n_ports + 1) * sizeof(*p));
		if (!p)
			return -ENOMEM;
		ep->ports = p;
		p += ep->n_ports;
		memset(p, 0, sizeof(*p));	/* the model compares ports bytewise */
		snprintf(p->name, sizeof(p->name), "%s", pn);
		if ((ret = dk_port_of(x, "label", key, json_string_value(val), &p->port)) < 0)
			return ret;
		ep->n_ports++;
	}
	return 0;
}

/* The port of a single-port announcement: <prefix>port, SERVICE_PORT, the
 * one exposed port, else 0 (the service port's target port). */
static int main_port(struct dk_ctx *x, const json_t *config, uint16_t *out)
{
	const json_t *exposed = json_object_get(config, "ExposedPorts");
	char key[KEY_MAX], num[8];
	const char *v = dk_plabel(x, "port", key);
	struct dk_meta m;
	long p;

	*out = 0;
	if (v)
		return dk_port_of(x, "label", key, v, out);
	if (dk_meta_get(x, "SERVICE_PORT", &m))
		return dk_port_of(x, m.kind, m.key, m.value, out);
	if (json_object_size(exposed) == 1) {
		const char *k = json_object_iter_key(json_object_iter((json_t *)exposed));

		snprintf(num, sizeof(num), "%.*s", (int)strcspn(k, "/"), k);
		if (dk_parse_num(num, 1, 65535, &p) == 0)
			*out = (uint16_t)p;
	}
	return 0;
}

/* "SERVICE_<port>_NAME" -> port; else 0. */
static uint16_t per_port_key(const char *key, size_t len)
{
	char num[8];
	long p;

	if (len < 14 || len - 13 >= sizeof(num) || strncmp(key, "SERVICE_", 8) ||
	    strncmp(key + len - 5, "_NAME", 5))
		return 0;
	memcpy(num, key + 8, len - 13);
	num[len - 13] = '\0';
	return dk_parse_num(num, 1, 65535, &p) == 0 ? (uint16_t)p : 0;
}

static bool has_port(const struct docker_view *v, uint16_t port)
{
	for (size_t i = 0; i < v->n_items; i++)
		if (v->items[i].ep->port == port)
			return true;
	return false;
}

static int per_port_one(struct dk_ctx *x, struct docker_view *v, const char *kind,
			const char *key, size_t len, const char *name)
{
	uint16_t port = per_port_key(key, len);
	char k[KEY_MAX];
	int ret;

	if (!port || has_port(v, port))
		return 0;
	snprintf(k, sizeof(k), "%.*s", (int)len, key);
	if ((ret = name_check(x, kind, k, name)) < 0)
		return ret;
	/* one endpoint per service and container: a second port of the same
	 * service would be taken for every service port */
	for (size_t i = 0; i < v->n_items; i++)
		if (!strcmp(v->items[i].service, name))
			return dk_refuse(x, kind, k, name,
				      "service already announced on port %u; a multi-port service takes %sport.<name> labels",
				      v->items[i].ep->port, x->c->prefix);
	return new_item(x, v, name, port);
}

/* Registrator's SERVICE_<port>_NAME: labels first, then environment. */
static int per_port_names(struct dk_ctx *x, struct docker_view *v)
{
	const char *key;
	json_t *val;
	size_t i;
	int ret;

	json_object_foreach((json_t *)x->labels, key, val)
		if ((ret = per_port_one(x, v, "label", key, strlen(key),
					json_string_value(val))) < 0)
			return ret;
	json_array_foreach(x->env, i, val) {
		const char *s = json_string_value(val);

		if (s && strchr(s, '=') &&
		    (ret = per_port_one(x, v, "env", s, strcspn(s, "="),
					strchr(s, '=') + 1)) < 0)
			return ret;
	}
	return 0;
}

static bool has_prefixed_labels(const struct dk_ctx *x)
{
	const char *key;
	json_t *val;

	json_object_foreach((json_t *)x->labels, key, val)
		if (!strncmp(key, x->c->prefix, x->plen))
			return true;
	return false;
}

/* The one-service announcements: <prefix>service, SERVICE_NAME, templates.
 * name receives the service's name ("" when the container announces none). */
static int single(struct dk_ctx *x, const json_t *config, struct docker_view *v,
		  char name[NAME_MAX_LEN + 1])
{
	struct dk_meta m = { .kind = "label" };
	uint16_t port;
	int ret;

	if (!(m.value = dk_plabel(x, "service", m.key)) && !dk_meta_get(x, "SERVICE_NAME", &m)) {
		m.kind = "name from";
		for (size_t i = 0; i < x->c->n_name_from && !m.value; i++)
			if (expand(x, x->c->name_from[i], name, NAME_MAX_LEN + 1) == 1) {
				m.value = name;
				snprintf(m.key, sizeof(m.key), "%s", x->c->name_from[i]);
			}
	}
	if (!m.value) {
		name[0] = '\0';
		if (has_prefixed_labels(x))
			return dk_refuse(x, "label", dk_plabel_key(x, "service", m.key), NULL,
				      "missing (the container has other %s labels)", x->c->prefix);
		return 0;
	}
	if (m.value != name)
		snprintf(name, NAME_MAX_LEN + 1, "%s", m.value);
	if ((ret = name_check(x, m.kind, m.key, m.value)) < 0 ||
	    (ret = main_port(x, config, &port)) < 0 ||
	    (ret = new_item(x, v, name, port)) < 0)
		return ret;
	return named_ports(x, v->items[v->n_items - 1].ep);
}

static int weight(struct dk_ctx *x, struct docker_view *v)
{
	char key[KEY_MAX];
	const char *s = dk_plabel(x, "weight", key);
	long w;

	if (!s)
		return 0;
	if (dk_parse_num(s, WEIGHT_MIN, WEIGHT_MAX, &w) < 0)
		return dk_refuse(x, "label", key, s, "must be %d..%d", WEIGHT_MIN, WEIGHT_MAX);
	for (size_t i = 0; i < v->n_items; i++)
		v->items[i].ep->weight = (uint32_t)w;
	return 0;
}

/* ---- the endpoint's address -------------------------------------------- */

/* The network to take the address from: the flag, the label, else the
 * first (by name) where the container has an address. */
static int pick_network(struct dk_ctx *x, const json_t *nets, const json_t **out)
{
	char key[KEY_MAX];
	const char *want = dk_plabel(x, "network", key), *kind = "label", *name, *best = NULL;
	json_t *n;

	if (!want && (want = x->c->network)) {
		kind = "flag";
		snprintf(key, sizeof(key), "--docker-network");
	}
	if (want) {
		*out = json_object_get(nets, want);
		if (!*out)
			return dk_refuse(x, kind, key, want, "the container is not on that network");
		return 0;
	}
	json_object_foreach((json_t *)nets, name, n) {
		const char *ip = json_string_value(json_object_get(n, "IPAddress"));
		const char *ip6 = json_string_value(json_object_get(n, "GlobalIPv6Address"));

		if (((ip && *ip) || (ip6 && *ip6)) && (!best || strcmp(name, best) < 0))
			best = name, *out = n;
	}
	if (!best)
		return dk_refuse(x, "network", "(any)", NULL, "the container has no address");
	return 0;
}

static int address(struct dk_ctx *x, const json_t *insp, struct docker_view *v)
{
	const char *mode = json_string_value(json_object_get(json_object_get(insp, "HostConfig"), "NetworkMode"));
	const json_t *net = NULL;
	const char *ip;
	struct vaddr a;
	int ret;

	if (mode && !strcmp(mode, "host")) {
		if (!x->c->node_ip)
			return dk_refuse(x, "network", "host", NULL,
				      "a host-network container is reached at the node's address: start vipd with --node-ip");
		ip = x->c->node_ip;
	} else if (mode && !strncmp(mode, "container:", 10)) {
		return dk_refuse(x, "network", mode, NULL,
			      "no address of its own: label the container that owns the network");
	} else {
		ret = pick_network(x, json_object_get(json_object_get(insp, "NetworkSettings"), "Networks"), &net);
		if (ret < 0)
			return ret;
		ip = json_string_value(json_object_get(net, "IPAddress"));
		if (!ip || !*ip)
			ip = json_string_value(json_object_get(net, "GlobalIPv6Address"));
	}
	if (!ip || addr_parse(&a, ip) < 0)
		return dk_refuse(x, "network", mode ? mode : "?", ip ? ip : "", "not an IP address");
	for (size_t i = 0; i < v->n_items; i++)
		v->items[i].ep->ip = a;
	return 0;
}

/* ---- the container ----------------------------------------------------- */

int docker_signal_parse(const char *s)
{
	long n;

	if (!s)
		return -1;
	if (dk_parse_num(s, 1, 64, &n) == 0)
		return (int)n;
	if (!strncmp(s, "SIG", 3))
		s += 3;
	for (int i = 1; i < 65; i++) {
		const char *abbrev = sigabbrev_np(i);

		if (abbrev && !strcmp(abbrev, s))
			return i;
	}
	return -1;
}

/* An RFC 3339 UTC time as dockerd writes it; unknown: INT64_MAX. */
static int64_t time_ns(const char *s)
{
	struct tm tm = { 0 };
	const char *p = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
	int64_t ns = 0;
	int digits = 0;

	/* nanoseconds since 1970 in 64 bits end in April 2262 */
	if (!p || tm.tm_year < 70 || tm.tm_year > 2261 - 1900)
		return INT64_MAX;	/* unknown: counts as the youngest */
	if (*p == '.')
		for (p++; isdigit((unsigned char)*p); p++)
			if (digits < 9)
				ns = ns * 10 + (*p - '0'), digits++;
	while (digits++ < 9)
		ns *= 10;
	return (int64_t)timegm(&tm) * 1000000000 + ns;
}

/* Running: it has endpoints. A paused or restarting container answers
 * nothing and has none; its HEALTHCHECK only makes them not ready. */
static bool is_up(const json_t *state)
{
	return json_is_true(json_object_get(state, "Running")) &&
	       !json_is_true(json_object_get(state, "Paused")) &&
	       !json_is_true(json_object_get(state, "Restarting"));
}

/* Why a running container's endpoints are not ready: State.Health.Status.
 * A status this vipd does not know counts as unhealthy (no traffic on a
 * guess). */
static enum ep_cause health_cause(const json_t *state)
{
	const char *h = json_string_value(json_object_get(json_object_get(state, "Health"), "Status"));

	if (!h || !*h || !strcmp(h, "none") || !strcmp(h, "healthy"))
		return CAUSE_NONE;
	return !strcmp(h, "starting") ? CAUSE_DOCKER_STARTING : CAUSE_DOCKER_UNHEALTHY;
}

static void health(const json_t *insp, struct docker_view *v)
{
	enum ep_cause cause = health_cause(json_object_get(insp, "State"));

	for (size_t i = 0; i < v->n_items; i++) {
		v->items[i].ep->ready = cause == CAUSE_NONE;
		v->items[i].ep->cause = (uint8_t)cause;
	}
}

static bool ignored(const struct dk_ctx *x)
{
	struct dk_meta m;

	return dk_meta_get(x, "SERVICE_IGNORE", &m) && *m.value && strcmp(m.value, "false") &&
	       strcmp(m.value, "0");
}

static void drop_items(struct docker_view *v)
{
	for (size_t i = 0; i < v->n_items; i++)
		endpoint_free(v->items[i].ep);
	free(v->items);
	v->items = NULL;
	v->n_items = 0;
}

static bool known_label(const char *suffix)
{
	static const char *const whole[] = {
		"service", "port", "weight", "network", "vip", "algorithm", "traffic_policy",
		"affinity_timeout", "slow_start", "drain_seconds", "health.type", "health.path",
		"health.port", "health.expect", "health.interval_ms", "health.timeout_ms",
		"health.rise", "health.fall",
	};

	if (!strncmp(suffix, "port.", 5) || !strncmp(suffix, "vip.", 4))
		return true;
	for (size_t i = 0; i < sizeof(whole) / sizeof(*whole); i++)
		if (!strcmp(suffix, whole[i]))
			return true;
	return false;
}

/* A typo (vipd.wieght) would silently do nothing: say so, without
 * refusing the container (a newer vipd's label must not break an older). */
static void unknown_labels(const struct dk_ctx *x, struct docker_view *v)
{
	const char *key;
	json_t *val;

	json_object_foreach((json_t *)x->labels, key, val)
		if (!strncmp(key, x->c->prefix, x->plen) && !known_label(key + x->plen)) {
			snprintf(v->warning, sizeof(v->warning), "label %.*s%s: not a vipd label; ignored",
				 VALUE_SHOWN, key, strlen(key) > VALUE_SHOWN ? "..." : "");
			return;
		}
}

static int announce(struct dk_ctx *x, const json_t *insp, struct docker_view *v)
{
	const json_t *config = json_object_get(insp, "Config");
	char name[NAME_MAX_LEN + 1] = "";
	int ret;

	if (ignored(x))
		return 0;
	ret = per_port_names(x, v);
	if (ret == 0 && !v->n_items)
		ret = single(x, config, v, name);
	if (ret == 0)
		ret = weight(x, v);
	if (ret == 0)
		ret = dk_define(x, v, name);
	if (ret == 0 && v->up && v->n_items)
		ret = address(x, insp, v);
	if (ret == 0)
		health(insp, v);
	if (ret == 0)
		unknown_labels(x, v);
	if (ret < 0 || !v->up)
		drop_items(v);
	if (ret < 0) {
		service_free(v->svc);
		v->svc = NULL;
	}
	return ret;
}

int docker_view_parse(const struct docker_conf *c, const json_t *insp,
		      struct docker_view *out, char err[DOCKER_ERR_LEN])
{
	const json_t *config = json_object_get(insp, "Config");
	const char *id = json_string_value(json_object_get(insp, "Id"));
	const char *name = json_string_value(json_object_get(insp, "Name"));
	struct dk_ctx x = {
		.c = c, .err = err, .plen = strlen(c->prefix),
		.labels = json_object_get(config, "Labels"),
		.env = json_object_get(config, "Env"),
	};

	memset(out, 0, sizeof(*out));
	err[0] = '\0';
	snprintf(out->id, sizeof(out->id), "%.12s", id ? id : "?");
	if (name && *name == '/')
		name++;
	out->name = strdup(name && *name ? name : out->id);
	if (!out->name)
		return -ENOMEM;
	out->created_ns = time_ns(json_string_value(json_object_get(insp, "Created")));
	out->stop_signal = docker_signal_parse(json_string_value(json_object_get(config, "StopSignal")));
	if (out->stop_signal < 0)
		out->stop_signal = SIGTERM;
	out->up = is_up(json_object_get(insp, "State"));
	out->started_ns = time_ns(json_string_value(json_object_get(json_object_get(insp, "State"),
								    "StartedAt")));
	if (!json_is_object(x.labels))
		x.labels = NULL;
	if (!json_is_array(x.env))
		x.env = NULL;
	return announce(&x, insp, out);
}

void docker_view_fini(struct docker_view *v)
{
	drop_items(v);
	service_free(v->svc);
	free(v->name);
	memset(v, 0, sizeof(*v));
}

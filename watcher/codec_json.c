/* Model objects to DESIGN.md's JSON, the inverse of codec.c: what
 * registrars write to etcd and what the state cache keeps on disk. Each
 * object read back with codec_*_read is equal to the one written. */
#include <stdlib.h>
#include <string.h>

#include "codec.h"

/* Adds key: value (a new reference, NULL: out of memory); non-zero when
 * lost, so that a dropped field is never written as absent. */
static int set(json_t *o, const char *key, json_t *v)
{
	return !v || json_object_set_new(o, key, v);
}

static json_t *port_json(const struct svc_port *p)
{
	json_t *o = json_object();
	int lost = !o;

	if (o && *p->name)
		lost |= set(o, "name", json_string(p->name));
	if (o) {
		lost |= set(o, "port", json_integer(p->port));
		lost |= set(o, "protocol", json_string(model_proto_name(p->proto)));
	}
	if (o && p->target_port)
		lost |= set(o, "target_port", json_integer(p->target_port));
	if (o && p->node_port)
		lost |= set(o, "node_port", json_integer(p->node_port));
	if (lost) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *health_json(const struct health_spec *h)
{
	json_t *o = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I}",
			      "type", h->http ? "http" : "tcp", "path", h->path ? h->path : "/",
			      "expect", (json_int_t)h->expect, "interval_ms", (json_int_t)h->interval_ms,
			      "timeout_ms", (json_int_t)h->timeout_ms, "rise", (json_int_t)h->rise,
			      "fall", (json_int_t)h->fall);

	if (o && h->port && set(o, "port", json_integer(h->port))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *addrs_json(const struct vaddr *v, unsigned n)
{
	json_t *a = json_array();
	char buf[ADDR_STRLEN];

	for (unsigned i = 0; a && i < n; i++)
		if (json_array_append_new(a, json_string(addr_format(&v[i], buf)))) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static json_t *ranges_json(const struct cidr *v, unsigned n)
{
	json_t *a = json_array();
	char buf[CIDR_STRLEN];

	for (unsigned i = 0; a && i < n; i++)
		if (json_array_append_new(a, json_string(cidr_format(&v[i], buf)))) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static int service_extras(json_t *o, const struct service *svc)
{
	int lost = 0;

	if (svc->policy == POLICY_LOCAL)
		lost |= set(o, "traffic_policy", json_string("local"));
	if (svc->affinity_timeout)
		lost |= set(o, "affinity_timeout", json_integer(svc->affinity_timeout));
	if (svc->slow_start)
		lost |= set(o, "slow_start", json_integer(svc->slow_start));
	if (svc->drain_seconds)
		lost |= set(o, "drain_seconds", json_integer(svc->drain_seconds));
	if (svc->health.enabled)
		lost |= set(o, "health", health_json(&svc->health));
	if (svc->n_external)
		lost |= set(o, "external_ips", addrs_json(svc->external_ips, svc->n_external));
	if (svc->n_ranges)
		lost |= set(o, "source_ranges", ranges_json(svc->source_ranges, svc->n_ranges));
	return lost;
}

json_t *codec_service_json(const struct service *svc)
{
	json_t *o = json_pack("{s:s}", "algorithm", model_algo_name(svc->algo));
	json_t *ports = json_array();
	char ip[ADDR_STRLEN];
	int lost = !o || !ports;

	for (unsigned i = 0; !lost && i < svc->n_ports; i++)
		lost |= json_array_append_new(ports, port_json(&svc->ports[i])) != 0;
	if (!lost) {
		lost |= set(o, "ports", ports);
		ports = NULL;
	}
	if (!lost && svc->vip4.family)
		lost |= set(o, "vip", json_string(addr_format(&svc->vip4, ip)));
	if (!lost && svc->vip6.family)
		lost |= set(o, "vip6", json_string(addr_format(&svc->vip6, ip)));
	if (lost || service_extras(o, svc)) {
		json_decref(ports);
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *codec_endpoint_json(const struct endpoint *ep)
{
	char ip[ADDR_STRLEN];
	json_t *o = json_pack("{s:s, s:I, s:b, s:b}", "ip", addr_format(&ep->ip, ip),
			      "weight", (json_int_t)ep->weight, "ready", ep->ready,
			      "terminating", ep->terminating);
	json_t *ports = ep->n_ports ? json_object() : NULL;
	int lost = 0;	/* a field dropped would be written to etcd as absent */

	if (!o || (ep->n_ports && !ports)) {
		json_decref(o);
		json_decref(ports);
		return NULL;
	}
	if (ep->port)
		lost |= json_object_set_new(o, "port", json_integer(ep->port));
	for (unsigned i = 0; i < ep->n_ports; i++)
		lost |= json_object_set_new(ports, ep->ports[i].name, json_integer(ep->ports[i].port));
	if (ports)
		lost |= json_object_set_new(o, "ports", ports);
	if (ep->node)
		lost |= json_object_set_new(o, "node", json_string(ep->node));
	if (ep->zone)
		lost |= json_object_set_new(o, "zone", json_string(ep->zone));
	if (lost) {
		json_decref(o);
		return NULL;
	}
	return o;
}

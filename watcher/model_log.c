/* What each applied change did, one line an operator can act on. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"
#include "model_log.h"

#define LINE_MAX_LEN 512

static void emit(struct change_log *cl, const char *line)
{
	if (cl->budget) {
		cl->budget--;
		log_info("%s", line);
		return;
	}
	cl->hidden++;
	log_debug("%s", line);
}

/* A line past the budget that debug would not show: counted, not written
 * (a cold start of 100,000 endpoints spent 7% of its time formatting them). */
static bool unseen(struct change_log *cl)
{
	if (cl->budget || vlog_threshold >= VLOG_DEBUG)
		return false;
	cl->hidden++;
	return true;
}

/* Appends printf output to buf, as far as it fits. */
static void add(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(char *buf, const char *fmt, ...)
{
	size_t at = strlen(buf);
	va_list ap;

	if (at >= LINE_MAX_LEN - 1)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + at, LINE_MAX_LEN - at, fmt, ap);
	va_end(ap);
}

static const char *vip_str(const struct vaddr *a, char buf[ADDR_STRLEN])
{
	return a->family ? addr_format(a, buf) : "none";
}

/* "10.96.0.10:80/tcp, [fd00::10]:80/tcp" */
static void frontends(char *buf, const struct service *s)
{
	const struct vaddr *vips[] = { &s->vip4, &s->vip6 };
	char a[ADDR_STRLEN];
	bool first = true;

	for (int v = 0; v < 2; v++) {
		if (!vips[v]->family)
			continue;
		addr_format(vips[v], a);
		for (unsigned p = 0; p < s->n_ports; p++) {
			add(buf, "%s%s%s%s:%u/%s", first ? "" : ", ", v ? "[" : "", a,
			    v ? "]" : "", s->ports[p].port, model_proto_name(s->ports[p].proto));
			first = false;
		}
	}
}

void change_log_service(struct change_log *cl, const char *name,
			const struct service *old, const struct service *new)
{
	char line[LINE_MAX_LEN], a[ADDR_STRLEN], b[ADDR_STRLEN];
	struct service health;
	bool vip4, vip6, rest;

	if (!old && !new)
		return;
	if ((!old || !new) && unseen(cl))
		return;
	snprintf(line, sizeof(line), "%s: ", name);
	if (!old || !new) {
		add(line, "%s", new ? "added (" : "deleted");
		if (new) {
			frontends(line, new);
			add(line, "; %s)", model_algo_name(new->algo));
		}
		emit(cl, line);
		return;
	}
	if (service_equal(old, new))
		return;
	vip4 = !addr_equal(&old->vip4, &new->vip4);
	vip6 = !addr_equal(&old->vip6, &new->vip6);
	if (vip4)
		add(line, "vip %s -> %s", vip_str(&old->vip4, a), vip_str(&new->vip4, b));
	if (vip6)
		add(line, "%svip6 %s -> %s", vip4 ? ", " : "", vip_str(&old->vip6, a),
		    vip_str(&new->vip6, b));
	/* Past the VIPs, name what changed: the new definition is one
	 * vipctl service get away. */
	rest = false;
#define FIELD(cond, what) do { if (cond) { \
		add(line, "%s%s", rest ? ", " : vip4 || vip6 ? "; changed: " : "changed: ", what); \
		rest = true; } } while (0)
	FIELD(old->n_ports != new->n_ports ||
	      memcmp(old->ports, new->ports, old->n_ports * sizeof(*old->ports)), "ports");
	FIELD(old->algo != new->algo, "algorithm");
	FIELD(old->affinity_timeout != new->affinity_timeout, "affinity_timeout");
	FIELD(old->policy != new->policy, "traffic_policy");
	FIELD(old->slow_start != new->slow_start, "slow_start");
	FIELD(old->drain_seconds != new->drain_seconds, "drain_seconds");
	FIELD(old->n_external != new->n_external ||
	      (old->n_external && memcmp(old->external_ips, new->external_ips,
					 old->n_external * sizeof(*old->external_ips))), "external_ips");
	FIELD(old->n_ranges != new->n_ranges ||
	      (old->n_ranges && memcmp(old->source_ranges, new->source_ranges,
				       old->n_ranges * sizeof(*old->source_ranges))), "source_ranges");
	health = *new;
	health.health = old->health;
	FIELD(!service_equal(&health, new), "health");
#undef FIELD
	emit(cl, line);
}

/* "10.0.2.17:8080", "[fd00::2]:8080", "10.0.2.17 http=8080,grpc=9090" */
static void ep_addr(char *buf, const struct endpoint *ep)
{
	char a[ADDR_STRLEN];
	bool v6 = ep->ip.family == AF_INET6;

	addr_format(&ep->ip, a);
	if (ep->port)
		add(buf, "%s%s%s:%u", v6 ? "[" : "", a, v6 ? "]" : "", ep->port);
	else
		add(buf, "%s", a);
	for (unsigned i = 0; i < ep->n_ports; i++)
		add(buf, "%s%s=%u", i ? "," : " ", ep->ports[i].name, ep->ports[i].port);
}

static const char *state(const struct endpoint *ep)
{
	return ep->terminating ? "terminating" : ep->ready ? "ready" : "not ready";
}

void change_log_endpoint(struct change_log *cl, const char *service,
			 const struct endpoint *old, const struct endpoint *new)
{
	char line[LINE_MAX_LEN];
	const struct endpoint *ep = new ? new : old;

	if (!ep || ((!old || !new) && unseen(cl)))
		return;
	snprintf(line, sizeof(line), "%s: ", service);
	if (!old) {
		add(line, "+%s ", new->id);
		ep_addr(line, new);
		add(line, " weight %u", new->weight);
		if (!new->ready || new->terminating)
			add(line, " (%s)", state(new));
		emit(cl, line);
		return;
	}
	if (!new) {
		add(line, "-%s", old->id);
		emit(cl, line);
		return;
	}
	if (old->weight != new->weight)
		add(line, "weight %s %u -> %u", new->id, old->weight, new->weight);
	if (strcmp(state(old), state(new)))
		add(line, "%s%s %s -> %s", old->weight != new->weight ? ", " : "",
		    new->id, state(old), state(new));
	if (!addr_equal(&old->ip, &new->ip) || old->port != new->port ||
	    old->n_ports != new->n_ports ||
	    (old->n_ports && memcmp(old->ports, new->ports, old->n_ports * sizeof(*old->ports)))) {
		add(line, "%s%s ", line[strlen(service) + 2] ? ", " : "", new->id);
		ep_addr(line, old);
		add(line, " -> ");
		ep_addr(line, new);
	}
	if (!line[strlen(service) + 2] && (!old->node != !new->node ||
	    (old->node && strcmp(old->node, new->node)) || !old->zone != !new->zone ||
	    (old->zone && strcmp(old->zone, new->zone))))
		add(line, "%s: node %s zone %s", new->id, new->node ? new->node : "none",
		    new->zone ? new->zone : "none");
	if (line[strlen(service) + 2])
		emit(cl, line);
}

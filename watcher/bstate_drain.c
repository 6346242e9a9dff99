/* Draining: a backend that left (or turns terminating) with drain_seconds
 * leaves a drain behind: the conntrack matches of its connections and a
 * timer. It ends early when its address serves again. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "bstate_internal.h"
#include "hmap.h"
#include "loop.h"

static void drain_unlink(struct drain *d)
{
	for (struct drain **p = &d->sv->drains; *p; p = &(*p)->next)
		if (*p == d) {
			*p = d->next;
			return;
		}
}

void bs_drain_free(struct bstate *bs, struct drain *d)
{
	if (d->timer)
		loop_timer_del(bs->loop, d->timer);
	if (d->rec)
		d->rec->drain = NULL;
	drain_unlink(d);
	free(d->ct);
	free(d->id);
	free(d);
}

static void on_drain(struct loop *l, void *arg)
{
	struct drain *d = arg;
	struct bstate *bs = d->bs;
	struct bs_svc *sv = d->sv;

	d->timer = 0;
	log_info("service \"%s\" backend %s: drained: its established connections are cut now",
		 sv->name, d->id);
	if (bs->hooks.drain)
		bs->hooks.drain(bs->hooks.arg, sv->name, d->id, d->ct, d->n_ct);
	if (d->rec)
		d->rec->drained = true;
	bs_drain_free(bs, d);
	bs_svc_free_if_empty(bs, sv);
}

/* A drain of r's connections, drain_seconds from now (*out, or NULL for
 * none); r stays its owner while it is terminating. */
int bs_drain_begin(struct bstate *bs, struct rec *r, bool owned, struct drain **out)
{
	uint32_t seconds = r->sv->drain_seconds;
	struct drain *d;

	*out = NULL;
	if (!seconds || !r->n_ct || !bs->loop)
		return 0;
	if (!(d = calloc(1, sizeof(*d))) || !(d->id = strdup(r->id)) ||
	    !(d->ct = malloc(r->n_ct * sizeof(*d->ct)))) {
		if (d)
			free(d->id);
		free(d);
		return -ENOMEM;
	}
	memcpy(d->ct, r->ct, r->n_ct * sizeof(*d->ct));
	d->n_ct = r->n_ct;
	d->bs = bs;
	d->sv = r->sv;
	d->source = r->source;
	d->ip = r->ip;
	d->port = r->port;
	d->weight = r->f.weight;
	d->since = loop_now_ms();
	d->until = d->since + (uint64_t)seconds * 1000;
	d->timer = loop_timer_add(bs->loop, (uint64_t)seconds * 1000, on_drain, d);
	if (!d->timer) {
		free(d->ct);
		free(d->id);
		free(d);
		return -ENOMEM;
	}
	d->next = r->sv->drains;
	r->sv->drains = d;
	if (owned) {
		d->rec = r;
		r->drain = d;
	}
	*out = d;
	return 0;
}

/* The entries a drain cuts: DNATed to this backend through any frontend
 * of the service (VIP, external IPs, node port), TCP and SCTP (UDP
 * entries go at once when the backend leaves, in the planner). Kept in
 * the record's own buffer: filled at each evaluation, allocated when it
 * grows. */
int bs_ct_matches(struct rec *r, const struct service *svc, const struct endpoint *ep)
{
	const struct vaddr *vip = fam_ix(&ep->ip) ? &svc->vip6 : &svc->vip4;
	size_t cap = (size_t)svc->n_ports * (svc->n_external + 2), n = 0;

	if (cap > r->cap_ct) {
		struct ct_match *m = realloc(r->ct, cap * sizeof(*m));

		if (!m)
			return -ENOMEM;
		r->ct = m;
		r->cap_ct = cap;
	}
	for (unsigned p = 0; p < svc->n_ports; p++) {
		const struct svc_port *sp = &svc->ports[p];
		struct ct_match t = {
			.family = ep->ip.family, .proto = sp->proto, .kind = CT_TO_BACKEND,
			.port = sp->port, .be_port = endpoint_port_for(ep, sp),
		};

		if (sp->proto == IPPROTO_UDP)
			continue;
		memcpy(t.be, ep->ip.bytes, sizeof(t.be));
		if (vip->family) {
			memcpy(t.dst, vip->bytes, sizeof(t.dst));
			r->ct[n++] = t;
		}
		for (unsigned x = 0; x < svc->n_external; x++)
			if (svc->external_ips[x].family == ep->ip.family) {
				memcpy(t.dst, svc->external_ips[x].bytes, sizeof(t.dst));
				r->ct[n++] = t;
			}
		if (sp->node_port) {
			t.any_dst = true;
			t.port = sp->node_port;
			memset(t.dst, 0, sizeof(t.dst));
			r->ct[n++] = t;
		}
	}
	r->n_ct = n;
	return 0;
}

/* A drain whose address serves again (the backend back, or another one
 * on its address) must not cut what are now that backend's connections. */
void bs_drains_settle(struct bstate *bs, struct bs_svc *sv)
{
	for (struct drain *d = sv->drains, *next; d; d = next) {
		next = d->next;
		for (struct rec *r = sv->recs; r; r = r->next)
			if (r != d->rec && r->port == d->port && addr_equal(&r->ip, &d->ip)) {
				bs_drain_free(bs, d);
				break;
			}
	}
}

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <netinet/in.h>

#include "hmap.h"
#include "loop.h"
#include "log.h"
#include "model.h"
#include "model_log.h"

/* Everything known under one service name: its definition from each source
 * and the endpoints every source reported. */
struct entry {
	char *name;
	struct service *def[SRC_MAX];
	uint8_t def_stale;		/* bit per source */
	struct endpoint **eps;
	size_t n_eps, cap_eps;
	bool dirty;
};

struct model {
	struct hmap *entries;		/* name -> struct entry */
	/* "<service>\0<id>" -> struct verdict. Apart from the entries: a
	 * verdict may come before its service or endpoint, and outlive them
	 * (another node's key, under another lease). NUL is in neither a
	 * service name nor an id, so the key splits one way only. */
	struct hmap *verdicts;
	struct name_list dirty;
	size_t dirty_cap;
	/* A name that could not be recorded as dirty (out of memory): the
	 * next take asks for a full plan instead. Simpler than failing every
	 * put and delete (their callers could not undo the change anyway),
	 * and no change is ever lost. */
	bool dirty_lost;
	uint64_t dirty_since;	/* loop_now_us() of the first mark since the take */
	/* Each applied change is logged here, where the previous version is
	 * known, so that etcd, file and Docker say it alike, and a source
	 * re-putting an identical object (a resync) logs nothing. */
	struct change_log log;
};

void service_free(struct service *svc)
{
	if (!svc)
		return;
	free(svc->name);
	free(svc->ports);
	free(svc->health.path);
	free(svc->external_ips);
	free(svc->source_ranges);
	free(svc);
}

void endpoint_free(struct endpoint *ep)
{
	if (!ep)
		return;
	free(ep->id);
	free(ep->ports);
	free(ep->node);
	free(ep->zone);
	free(ep);
}

/* A copy of n bytes (NULL for none, or when out of memory). */
static void *mem_dup(const void *p, size_t n)
{
	void *d = n ? malloc(n) : NULL;

	if (d)
		memcpy(d, p, n);
	return d;
}

struct service *service_dup(const struct service *svc)
{
	struct service *d = malloc(sizeof(*d));

	if (!d)
		return NULL;
	*d = *svc;
	d->name = strdup(svc->name);
	d->ports = malloc(svc->n_ports * sizeof(*d->ports));
	d->health.path = svc->health.path ? strdup(svc->health.path) : NULL;
	d->external_ips = mem_dup(svc->external_ips, svc->n_external * sizeof(*d->external_ips));
	d->source_ranges = mem_dup(svc->source_ranges, svc->n_ranges * sizeof(*d->source_ranges));
	if (d->ports)
		memcpy(d->ports, svc->ports, svc->n_ports * sizeof(*d->ports));
	if (!d->name || (svc->n_ports && !d->ports) || (svc->health.path && !d->health.path) ||
	    (svc->n_external && !d->external_ips) || (svc->n_ranges && !d->source_ranges)) {
		service_free(d);
		return NULL;
	}
	return d;
}

static bool dup_str(char **out, const char *s)
{
	*out = s ? strdup(s) : NULL;
	return !s || *out;
}

struct endpoint *endpoint_dup(const struct endpoint *ep)
{
	struct endpoint *d = malloc(sizeof(*d));
	bool ok;

	if (!d)
		return NULL;
	*d = *ep;
	d->ports = ep->n_ports ? malloc(ep->n_ports * sizeof(*d->ports)) : NULL;
	if (d->ports)
		memcpy(d->ports, ep->ports, ep->n_ports * sizeof(*d->ports));
	ok = dup_str(&d->id, ep->id) & dup_str(&d->node, ep->node) & dup_str(&d->zone, ep->zone);
	if (!ok || (ep->n_ports && !d->ports)) {
		endpoint_free(d);
		return NULL;
	}
	return d;
}

uint16_t endpoint_port_for(const struct endpoint *ep, const struct svc_port *sp)
{
	for (unsigned i = 0; i < ep->n_ports; i++)
		if (!strcmp(ep->ports[i].name, sp->name))
			return ep->ports[i].port;
	if (ep->port)
		return ep->port;
	return sp->target_port ? sp->target_port : sp->port;
}

static void entry_free(void *p)
{
	struct entry *e = p;

	for (int s = 0; s < SRC_MAX; s++)
		service_free(e->def[s]);
	for (size_t i = 0; i < e->n_eps; i++)
		endpoint_free(e->eps[i]);
	free(e->eps);
	free(e->name);
	free(e);
}

struct model *model_alloc(void)
{
	struct model *m = calloc(1, sizeof(*m));

	if (m && (!(m->entries = hmap_alloc()) || !(m->verdicts = hmap_alloc()))) {
		hmap_free(m->entries, NULL);
		free(m);
		return NULL;
	}
	if (m)
		m->log.budget = CHANGE_LINES_MAX;
	return m;
}

void model_free(struct model *m)
{
	if (!m)
		return;
	hmap_free(m->entries, entry_free);
	hmap_free(m->verdicts, free);
	model_names_free(&m->dirty);
	free(m);
}

static void mark_dirty(struct model *m, struct entry *e)
{
	char *copy;

	if (e->dirty)
		return;
	if (!m->dirty_since)
		m->dirty_since = loop_now_us();
	if (m->dirty.n == m->dirty_cap) {
		size_t cap = m->dirty_cap ? m->dirty_cap * 2 : 64;
		char **names = realloc(m->dirty.names, cap * sizeof(*names));

		if (!names) {
			m->dirty_lost = true;
			return;
		}
		m->dirty.names = names;
		m->dirty_cap = cap;
	}
	copy = strdup(e->name);
	if (!copy) {
		m->dirty_lost = true;
		return;
	}
	m->dirty.names[m->dirty.n++] = copy;
	e->dirty = true;
}

static struct entry *entry_get(struct model *m, const char *name, bool create)
{
	struct entry *e = hmap_get_str(m->entries, name);

	if (e || !create)
		return e;
	e = calloc(1, sizeof(*e));
	if (!e || !(e->name = strdup(name)) ||
	    hmap_put_str(m->entries, name, e) < 0) {
		if (e)
			free(e->name);
		free(e);
		return NULL;
	}
	return e;
}

static void entry_drop_if_empty(struct model *m, struct entry *e)
{
	for (int s = 0; s < SRC_MAX; s++)
		if (e->def[s])
			return;
	if (e->n_eps)
		return;
	hmap_del_str(m->entries, e->name);
	entry_free(e);
}

static bool str_equal(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/* Ports arrays come from calloc and strcpy, so memcmp sees no stale bytes.
 * Whether two versions of a service route the same: a source that re-reads
 * everything (the file, an etcd resync) then dirties only what changed. */
bool service_equal(const struct service *a, const struct service *b)
{
	return a && b && addr_equal(&a->vip4, &b->vip4) && addr_equal(&a->vip6, &b->vip6) &&
	       a->n_ports == b->n_ports &&
	       (!a->n_ports || !memcmp(a->ports, b->ports, a->n_ports * sizeof(*a->ports))) &&
	       a->algo == b->algo && a->affinity_timeout == b->affinity_timeout &&
	       a->policy == b->policy && a->slow_start == b->slow_start &&
	       a->drain_seconds == b->drain_seconds &&
	       a->health.enabled == b->health.enabled && a->health.http == b->health.http &&
	       str_equal(a->health.path, b->health.path) &&
	       a->health.port == b->health.port && a->health.expect == b->health.expect &&
	       a->health.interval_ms == b->health.interval_ms &&
	       a->health.timeout_ms == b->health.timeout_ms &&
	       a->health.rise == b->health.rise && a->health.fall == b->health.fall &&
	       a->n_external == b->n_external &&
	       (!a->n_external || !memcmp(a->external_ips, b->external_ips,
					  a->n_external * sizeof(*a->external_ips))) &&
	       a->n_ranges == b->n_ranges &&
	       (!a->n_ranges || !memcmp(a->source_ranges, b->source_ranges,
					a->n_ranges * sizeof(*a->source_ranges)));
}

static bool endpoint_equal(const struct endpoint *a, const struct endpoint *b)
{
	return addr_equal(&a->ip, &b->ip) && a->port == b->port &&
	       a->n_ports == b->n_ports &&
	       (!a->n_ports || !memcmp(a->ports, b->ports, a->n_ports * sizeof(*a->ports))) &&
	       a->weight == b->weight && a->ready == b->ready &&
	       a->terminating == b->terminating && a->cause == b->cause &&
	       str_equal(a->node, b->node) &&
	       str_equal(a->zone, b->zone);
}

int model_service_put(struct model *m, enum source_id src, struct service *svc)
{
	struct entry *e = entry_get(m, svc->name, true);
	bool same;

	if (!e) {
		service_free(svc);
		return -ENOMEM;
	}
	same = service_equal(e->def[src], svc);
	change_log_service(&m->log, svc->name, e->def[src], svc);
	service_free(e->def[src]);
	e->def[src] = svc;
	e->def_stale &= ~(1u << src);
	if (!same)
		mark_dirty(m, e);
	return 0;
}

void model_service_del(struct model *m, enum source_id src, const char *name)
{
	struct entry *e = entry_get(m, name, false);

	if (!e || !e->def[src])
		return;
	change_log_service(&m->log, name, e->def[src], NULL);
	service_free(e->def[src]);
	e->def[src] = NULL;
	mark_dirty(m, e);
	entry_drop_if_empty(m, e);
}

static ssize_t ep_find(const struct entry *e, enum source_id src, const char *id)
{
	for (size_t i = 0; i < e->n_eps; i++)
		if (e->eps[i]->source == src && !strcmp(e->eps[i]->id, id))
			return (ssize_t)i;
	return -1;
}

int model_endpoint_put(struct model *m, enum source_id src, const char *service,
		       struct endpoint *ep)
{
	struct entry *e = entry_get(m, service, true);
	ssize_t i;

	if (!e) {
		endpoint_free(ep);
		return -ENOMEM;
	}
	ep->source = src;
	ep->stale = false;
	i = ep_find(e, src, ep->id);
	if (i >= 0) {
		bool same = endpoint_equal(e->eps[i], ep);

		ep->bs_state = e->eps[i]->bs_state;
		ep->bs_cause = e->eps[i]->bs_cause;
		ep->bs_weight = e->eps[i]->bs_weight;
		ep->bs_since = e->eps[i]->bs_since;
		if (!same)
			change_log_endpoint(&m->log, service, e->eps[i], ep);
		endpoint_free(e->eps[i]);
		e->eps[i] = ep;
		if (same)
			return 0;
	} else {
		if (e->n_eps == e->cap_eps) {
			size_t cap = e->cap_eps ? e->cap_eps * 2 : 4;
			struct endpoint **eps = realloc(e->eps, cap * sizeof(*eps));

			if (!eps) {
				endpoint_free(ep);
				entry_drop_if_empty(m, e);
				return -ENOMEM;
			}
			e->eps = eps;
			e->cap_eps = cap;
		}
		e->eps[e->n_eps++] = ep;
		change_log_endpoint(&m->log, service, NULL, ep);
	}
	mark_dirty(m, e);
	return 0;
}

static void ep_remove_at(struct model *m, struct entry *e, size_t i)
{
	change_log_endpoint(&m->log, e->name, e->eps[i], NULL);
	endpoint_free(e->eps[i]);
	e->eps[i] = e->eps[--e->n_eps];
	mark_dirty(m, e);
}

void model_endpoint_del(struct model *m, enum source_id src,
			const char *service, const char *id)
{
	struct entry *e = entry_get(m, service, false);
	ssize_t i;

	if (!e || (i = ep_find(e, src, id)) < 0)
		return;
	ep_remove_at(m, e, (size_t)i);
	entry_drop_if_empty(m, e);
}

/* ---- verdicts ------------------------------------------------------------ */

/* The verdict table's key: service, NUL, id (*len bytes, no final NUL).
 * Returns NULL when out of memory. */
static char *verdict_key(const char *service, const char *id, size_t *len)
{
	size_t ls = strlen(service), li = strlen(id);
	char *k = malloc(ls + 1 + li + 1);

	if (!k)
		return NULL;
	memcpy(k, service, ls + 1);
	memcpy(k + ls + 1, id, li + 1);
	*len = ls + 1 + li;
	return k;
}

/* A reason cut to fit, at a character boundary: a UTF-8 sequence cut in
 * half would make the JSON vipctl prints, or a log line, invalid. */
static void reason_copy(char *dst, size_t size, const char *src)
{
	size_t n = src ? strlen(src) : 0;

	if (n >= size) {
		n = size - 1;
		while (n && ((unsigned char)src[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(dst, src ? src : "", n);
	dst[n] = '\0';
}

/* The service's entry, when the model knows it, is dirty; a verdict for a
 * name it does not know waits: the service is planned when it appears. */
static void verdict_changed(struct model *m, const char *service)
{
	struct entry *e = entry_get(m, service, false);

	if (e)
		mark_dirty(m, e);
}

int model_verdict_put(struct model *m, const char *service, const char *id,
		      bool healthy, const char *reason)
{
	struct verdict *v, nv = { .healthy = healthy };
	size_t len;
	char *key = verdict_key(service, id, &len);
	int ret = 0;

	if (!key)
		return -ENOMEM;
	reason_copy(nv.reason, sizeof(nv.reason), reason);
	v = hmap_get(m->verdicts, key, len);
	if (v) {
		bool same = v->healthy == nv.healthy && !strcmp(v->reason, nv.reason);

		*v = nv;	/* also unmarks it */
		if (!same)
			verdict_changed(m, service);
	} else if (!(v = malloc(sizeof(*v))) || hmap_put(m->verdicts, key, len, v) < 0) {
		free(v);
		ret = -ENOMEM;
	} else {
		*v = nv;
		verdict_changed(m, service);
	}
	free(key);
	return ret;
}

void model_verdict_del(struct model *m, const char *service, const char *id)
{
	size_t len;
	char *key = verdict_key(service, id, &len);
	struct verdict *v;

	/* out of memory: the verdict stays, and the resync after the next
	 * reconnect or compaction sweeps it */
	if (!key)
		return;
	if ((v = hmap_del(m->verdicts, key, len))) {
		free(v);
		verdict_changed(m, service);
	}
	free(key);
}

const struct verdict *model_verdict_get(const struct model *m, const char *service,
					const char *id)
{
	size_t ls = strlen(service), li = strlen(id);
	char buf[2 * (NAME_MAX_LEN + 1)];

	/* names and ids the sources accept fit; a longer one has no verdict */
	if (ls + 1 + li > sizeof(buf))
		return NULL;
	memcpy(buf, service, ls + 1);
	memcpy(buf + ls + 1, id, li);
	return hmap_get(m->verdicts, buf, ls + 1 + li);
}

static void verdicts_mark(struct model *m)
{
	struct verdict *v;

	for (size_t it = 0; hmap_next(m->verdicts, &it, NULL, NULL, (void **)&v);)
		v->stale = true;
}

static void verdicts_sweep(struct model *m)
{
	const void *key;
	struct verdict *v;
	size_t len;

	for (size_t it = 0; hmap_next(m->verdicts, &it, &key, &len, (void **)&v);) {
		if (!v->stale)
			continue;
		/* the key starts with the service name and its NUL */
		verdict_changed(m, key);
		free(hmap_del(m->verdicts, key, len));
	}
}

void model_source_mark(struct model *m, enum source_id src)
{
	struct entry *e;

	for (size_t it = 0; hmap_next(m->entries, &it, NULL, NULL, (void **)&e);) {
		if (e->def[src])
			e->def_stale |= 1u << src;
		for (size_t i = 0; i < e->n_eps; i++)
			if (e->eps[i]->source == src)
				e->eps[i]->stale = true;
	}
	if (src == SRC_ETCD)
		verdicts_mark(m);
}

void model_source_sweep(struct model *m, enum source_id src)
{
	struct entry *e;

	for (size_t it = 0; hmap_next(m->entries, &it, NULL, NULL, (void **)&e);) {
		if (e->def_stale & (1u << src)) {
			change_log_service(&m->log, e->name, e->def[src], NULL);
			service_free(e->def[src]);
			e->def[src] = NULL;
			e->def_stale &= ~(1u << src);
			mark_dirty(m, e);
		}
		for (size_t i = e->n_eps; i-- > 0;)
			if (e->eps[i]->source == src && e->eps[i]->stale)
				ep_remove_at(m, e, i);
		entry_drop_if_empty(m, e);
	}
	if (src == SRC_ETCD)
		verdicts_sweep(m);
}

bool model_service_keep(struct model *m, enum source_id src, const char *name)
{
	struct entry *e = entry_get(m, name, false);

	if (!e || !e->def[src])
		return false;
	e->def_stale &= ~(1u << src);
	return true;
}

bool model_endpoint_keep(struct model *m, enum source_id src,
			 const char *service, const char *id)
{
	struct entry *e = entry_get(m, service, false);
	ssize_t i;

	if (!e || (i = ep_find(e, src, id)) < 0)
		return false;
	e->eps[i]->stale = false;
	return true;
}

static const struct service *entry_def(const struct entry *e)
{
	for (int s = 0; s < SRC_MAX; s++)
		if (e->def[s])
			return e->def[s];
	return NULL;
}

const struct service *model_service_get(const struct model *m, const char *name)
{
	const struct entry *e = hmap_get_str(m->entries, name);

	return e ? entry_def(e) : NULL;
}

size_t model_endpoints_get(const struct model *m, const char *service,
			   struct endpoint *const **eps)
{
	const struct entry *e = hmap_get_str(m->entries, service);

	*eps = e ? e->eps : NULL;
	return e ? e->n_eps : 0;
}

const char *model_service_next(const struct model *m, size_t *it)
{
	struct entry *e;

	while (hmap_next(m->entries, it, NULL, NULL, (void **)&e))
		if (entry_def(e))
			return e->name;
	return NULL;
}

size_t model_service_count(const struct model *m)
{
	size_t n = 0, it = 0;

	while (model_service_next(m, &it))
		n++;
	return n;
}

void model_touch(struct model *m, const char *name)
{
	struct entry *e = entry_get(m, name, false);

	if (e)
		mark_dirty(m, e);
}

bool model_dirty(const struct model *m)
{
	return m->dirty.n > 0 || m->dirty_lost;
}

bool model_dirty_take(struct model *m, struct name_list *out)
{
	bool lost = m->dirty_lost;

	if (m->log.hidden)
		log_info("... and %u more changes (-v shows each)", m->log.hidden);
	m->log.hidden = 0;
	m->log.budget = CHANGE_LINES_MAX;

	for (size_t i = 0; i < m->dirty.n; i++) {
		struct entry *e = hmap_get_str(m->entries, m->dirty.names[i]);

		if (e)
			e->dirty = false;
	}
	*out = m->dirty;
	memset(&m->dirty, 0, sizeof(m->dirty));
	m->dirty_cap = 0;
	m->dirty_lost = false;
	m->dirty_since = 0;
	return lost;
}

uint64_t model_dirty_since(const struct model *m)
{
	return m->dirty_since;
}

void model_names_free(struct name_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->names[i]);
	free(l->names);
	memset(l, 0, sizeof(*l));
}

const char *model_algo_name(enum lb_algo algo)
{
	static const char *const names[] = {
		[ALGO_RANDOM] = "random", [ALGO_ROUND_ROBIN] = "round-robin",
		[ALGO_SOURCE_HASH] = "source-hash", [ALGO_MAGLEV] = "maglev",
	};
	return names[algo];
}

const char *model_proto_name(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP: return "tcp";
	case IPPROTO_UDP: return "udp";
	case IPPROTO_SCTP: return "sctp";
	}
	return "?";
}

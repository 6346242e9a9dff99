#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include "hmap.h"
#include "log.h"
#include "rec_internal.h"
#include "reconcile.h"
#include "slots.h"

struct class_state {
	unsigned refs;
	bool present;		/* in the kernel, or added by this plan */
};

/* Service name -> the frontends it claimed in the last plan. */
struct owned {
	size_t n;
	struct fe_key keys[];
};

struct reconciler {
	const char *node;
	rec_weigh_fn weigh;	/* NULL: the plain rule of eligible() */
	void *weigh_arg;
	struct hmap *fes;	/* fe_key -> struct fe_state */
	struct hmap *classes;	/* class_key -> struct class_state */
	struct hmap *owned;	/* service name -> struct owned */
	struct hmap *conflicts;	/* service name -> (void *)1 */
	/* service name -> the weights note last logged for it (render.c), so
	 * a service whose weights the slots cannot hold is told once, not at
	 * every plan; kept across loads. */
	struct hmap *noted;
	struct hmap *family_noted;	/* service -> its family note, logged */
	bool note_seen;		/* the service being planned has a note */
	int load_err;		/* first failure inside a read-back callback */
	uint32_t gen;
	unsigned conflict_hits;	/* grows with each refused claim */
	bool reassert;		/* rewrite every class chain's rule once */
	bool masq;		/* frontends go in masq-frontends too */
	unsigned tables;	/* tables found by the last load */
};

static void fe_state_free(void *p)
{
	struct fe_state *fe = p;

	free(fe->slots);
	free(fe->owner);
	free(fe->fwr);
	free(fe);
}

struct reconciler *rec_alloc(const char *node_name)
{
	struct reconciler *rec = calloc(1, sizeof(*rec));

	if (!rec)
		return NULL;
	rec->node = node_name;
	rec->fes = hmap_alloc();
	rec->classes = hmap_alloc();
	rec->owned = hmap_alloc();
	rec->conflicts = hmap_alloc();
	rec->noted = hmap_alloc();
	rec->family_noted = hmap_alloc();
	if (!rec->fes || !rec->classes || !rec->owned || !rec->conflicts ||
	    !rec->noted || !rec->family_noted) {
		rec_free(rec);
		return NULL;
	}
	return rec;
}

void rec_set_masq(struct reconciler *rec, bool on)
{
	rec->masq = on;
}

static void reset(struct reconciler *rec)
{
	hmap_free(rec->fes, fe_state_free);
	hmap_free(rec->classes, free);
	hmap_free(rec->owned, free);
	hmap_free(rec->conflicts, NULL);
	rec->fes = rec->classes = rec->owned = rec->conflicts = NULL;
}

void rec_free(struct reconciler *rec)
{
	if (!rec)
		return;
	reset(rec);
	hmap_free(rec->noted, free);
	hmap_free(rec->family_noted, free);
	free(rec);
}

/* ---- read back ---------------------------------------------------------- */

static struct fe_state *fe_get(struct reconciler *rec, const struct fe_key *k,
			       bool create)
{
	struct fe_state *fe = hmap_get(rec->fes, k, sizeof(*k));

	if (fe || !create)
		return fe;
	fe = calloc(1, sizeof(*fe));
	if (!fe)
		return NULL;
	fe->key = *k;
	if (hmap_put(rec->fes, k, sizeof(*k), fe) < 0) {
		free(fe);
		return NULL;
	}
	return fe;
}

static struct class_state *class_get(struct reconciler *rec,
				     const struct class_key *k, bool create)
{
	struct class_state *cs = hmap_get(rec->classes, k, sizeof(*k));

	if (cs || !create)
		return cs;
	cs = calloc(1, sizeof(*cs));
	if (cs && hmap_put(rec->classes, k, sizeof(*k), cs) < 0) {
		free(cs);
		return NULL;
	}
	return cs;
}

static int fe_grow(struct fe_state *fe, uint16_t n)
{
	struct slot *s;

	if (n <= fe->n)
		return 0;
	s = realloc(fe->slots, n * sizeof(*s));
	if (!s)
		return -ENOMEM;
	memset(s + fe->n, 0, (n - fe->n) * sizeof(*s));
	fe->slots = s;
	fe->n = n;
	return 0;
}

/* The read-back callbacks cannot fail the dump: they record the first
 * failure, and rec_load returns it (a state learnt in part would make the
 * planner delete or skip what it did not see). */
static void load_fail(struct reconciler *rec, int err)
{
	if (!rec->load_err)
		rec->load_err = err;
}

static void load_class(void *arg, const struct class_key *cls)
{
	struct class_state *cs = class_get(arg, cls, true);

	if (cs)
		cs->present = true;
	else
		load_fail(arg, -ENOMEM);
}

static void load_service(void *arg, const struct fe_key *k,
			 const struct class_key *cls, const char *comment)
{
	struct reconciler *rec = arg;
	struct fe_state *fe = fe_get(rec, k, true);
	struct class_state *cs = class_get(rec, cls, true);

	if (!fe || !cs) {
		load_fail(rec, -ENOMEM);
		return;
	}
	fe->cls = *cls;
	fe->svc = true;
	fe->tag = tag_of(comment);
	cs->refs++;
	if (fe_grow(fe, cls->n) < 0)
		load_fail(rec, -ENOMEM);
}

/* A backends element beyond the frontend's slot count is a leftover; keep
 * it so the sweep deletes it. */
static void load_backend(void *arg, const struct fe_key *k, uint16_t slot,
			 const struct be_addr *be, const char *comment)
{
	struct fe_state *fe = fe_get(arg, k, true);

	if (slot >= SLOTS_MAX)
		return;		/* not one of ours: no frontend has that slot */
	if (!fe || fe_grow(fe, slot + 1) < 0) {
		load_fail(arg, -ENOMEM);
		return;
	}
	fe->slots[slot].be = *be;
	fe->slots[slot].tag = tag_of(comment);
}

static void load_noep(void *arg, const struct fe_key *k, const char *comment)
{
	struct fe_state *fe = fe_get(arg, k, true);

	if (fe) {
		fe->noep = true;
		fe->tag = tag_of(comment);
	} else {
		load_fail(arg, -ENOMEM);
	}
}

static void load_masq(void *arg, const struct fe_key *k)
{
	struct fe_state *fe = fe_get(arg, k, true);

	if (fe)
		fe->masq = true;
	else
		load_fail(arg, -ENOMEM);
}

static void load_affine(void *arg, const struct fe_key *k, const struct class_key *cls)
{
	struct reconciler *rec = arg;
	struct fe_state *fe = fe_get(rec, k, true);
	struct class_state *cs = class_get(rec, cls, true);

	if (!fe || !cs) {
		load_fail(rec, -ENOMEM);
		return;
	}
	fe->aff = true;
	fe->aff_cls = *cls;
	cs->refs++;
}

/* ---- source_ranges: read back ---- */

static void load_fw(void *arg, const struct fe_key *k, const char *comment)
{
	struct fe_state *fe = fe_get(arg, k, true);

	if (fe) {
		fe->fw = true;
		fe->fw_tag = tag_of(comment);
	} else {
		load_fail(arg, -ENOMEM);
	}
}

static void load_fw_allow(void *arg, const struct fe_key *k, const struct fw_src *src,
			  const char *comment)
{
	struct fe_state *fe = fe_get(arg, k, true);
	struct fw_src *v;

	if (fe && fe->n_fwr == UINT16_MAX)
		return;		/* not ours: a service has at most a few */
	if (!fe || !(v = realloc(fe->fwr, (fe->n_fwr + 1u) * sizeof(*v)))) {
		load_fail(arg, -ENOMEM);
		return;
	}
	v[fe->n_fwr++] = *src;
	fe->fwr = v;
}

static void load_table(void *arg, uint8_t family)
{
	struct reconciler *rec = arg;

	rec->tables++;
}

bool rec_tables_present(const struct reconciler *rec)
{
	return rec->tables == 2;
}

int rec_load(struct reconciler *rec, struct dp *dp, bool rewrite_rules)
{
	struct dp_reader r = {
		.arg = rec, .table = load_table, .class_chain = load_class,
		.service = load_service, .backend = load_backend, .noep = load_noep,
		.masq = load_masq, .affine = load_affine,
		.firewall = load_fw, .firewall_allow = load_fw_allow,	/* source_ranges */
	};
	int ret = -EAGAIN;

	/* A dump that raced with another writer is retried from scratch. */
	for (int tries = 0; tries < 3 && ret == -EAGAIN; tries++) {
		reset(rec);
		rec->tables = 0;
		rec->load_err = 0;
		rec->fes = hmap_alloc();
		rec->classes = hmap_alloc();
		rec->owned = hmap_alloc();
		rec->conflicts = hmap_alloc();
		if (!rec->fes || !rec->classes || !rec->owned || !rec->conflicts)
			return -ENOMEM;
		ret = dp_read(dp, &r);
	}
	ret = ret ?: rec->load_err;
	if (ret < 0)
		return ret;
	rec->reassert = rewrite_rules;
	return 0;
}

/* ---- planning ----------------------------------------------------------- */

static int emit(struct changes *out, uint8_t op, const struct fe_key *k,
		const char *comment)
{
	struct change ch = { .op = op, .fe = *k };

	return changes_push(out, &ch, comment);
}

static int class_ref(struct reconciler *rec, const struct class_key *cls,
		     struct changes *out)
{
	struct class_state *cs = class_get(rec, cls, true);
	struct change ch = { .op = CH_CLASS_ADD, .cls = *cls };

	if (!cs)
		return -ENOMEM;
	cs->refs++;
	if (cs->present)
		return 0;
	cs->present = true;
	return changes_push(out, &ch, NULL);
}

static void class_unref(struct reconciler *rec, const struct class_key *cls)
{
	struct class_state *cs = class_get(rec, cls, false);

	if (cs && cs->refs)
		cs->refs--;
}

static bool cls_equal(const struct class_key *a, const struct class_key *b)
{
	return a->family == b->family && a->kind == b->kind && a->n == b->n && a->arg == b->arg;
}

static int be_change(struct changes *out, uint8_t op, const struct fe_key *k,
		     uint16_t slot, const struct be_addr *be, const char *comment)
{
	struct change ch = { .op = op, .fe = *k, .slot = slot };

	if (be)
		ch.be = *be;
	return changes_push(out, &ch, comment);
}

static bool slot_same(const struct fe_state *fe, const struct fe_want *want,
		      uint16_t s)
{
	return s < fe->n && s < want->n && fe->slots[s].tag == want->slots[s].tag &&
	       !memcmp(&fe->slots[s].be, &want->slots[s].be, sizeof(struct be_addr));
}

static bool be_in(const struct slot *v, size_t n, const struct be_addr *be)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].be.port && !memcmp(&v[i].be, be, sizeof(*be)))
			return true;
	return false;
}

/* What outlives a backend in the kernel, for the caller to delete right
 * after the commit: UDP flows stay on the backend their conntrack entry
 * names (a one-way sender's entry never ends), and affine clients on the
 * one their affinity entry names. A frontend that gets its first backend
 * also drops the UDP entries made while nothing DNATed it (DESIGN.md "UDP
 * and conntrack"). */
static int stale_flows(const struct fe_state *fe, const struct slot *want, size_t n,
		       struct changes *out)
{
	bool udp = fe->key.proto == IPPROTO_UDP, had = false;
	int ret = 0;

	if (!udp && !fe->aff)
		return 0;
	for (uint16_t s = 0; s < fe->n && !ret; s++) {
		const struct be_addr *be = &fe->slots[s].be;

		if (!be->port)
			continue;
		had = true;
		if (be_in(want, n, be) || be_in(fe->slots, s, be))
			continue;
		if (udp)
			ret = be_change(out, CH_CT_BACKEND, &fe->key, 0, be, NULL);
		if (fe->aff && !ret)
			ret = be_change(out, CH_AFF_PURGE, &fe->key, 0, be, NULL);
	}
	if (udp && !had && n && !ret)
		ret = emit(out, CH_CT_UNNATED, &fe->key, NULL);
	return ret;
}

/* The frontend's affine element: jump to aff-<T> for its timeout T. A
 * changed or dropped timeout also forgets every client. */
static int aff_diff(struct reconciler *rec, struct fe_state *fe, uint32_t want_t,
		    struct changes *out)
{
	struct class_key cls = { .family = fe->key.family, .kind = CLASS_AFF, .arg = want_t };
	struct change ch = { .op = CH_AFF_ADD, .fe = fe->key, .cls = cls };
	int ret = 0;

	if (fe->aff && fe->aff_cls.arg == want_t)
		return 0;
	if (fe->aff) {
		ret = emit(out, CH_AFF_DEL, &fe->key, NULL) ?:
		      be_change(out, CH_AFF_PURGE, &fe->key, 0, NULL, NULL);
		class_unref(rec, &fe->aff_cls);
		fe->aff = false;
	}
	if (ret || !want_t)
		return ret;
	fe->aff = true;
	fe->aff_cls = cls;
	return class_ref(rec, &cls, out) ?: changes_push(out, &ch, fe->owner);
}

/* ---- source_ranges: planning ------------------------------------------
 * An external IP of a service with source_ranges is in the firewall set,
 * and in firewall-allow once per range of its own family: the prerouting
 * and output rule drops a connection to it from any other source. A
 * service whose ranges are all of the other family therefore drops every
 * source to that external IP (closed, not open: the ranges say who may
 * connect, and nobody of this family may). VIPs and node ports are never
 * filtered. CIDRs either nest or are apart, and pipapo refuses an element
 * that overlaps another (EEXIST): a range inside another one is left out. */

static bool cidr_inside(const struct cidr *in, const struct cidr *out)
{
	if (in->addr.family != out->addr.family || out->len > in->len)
		return false;
	for (unsigned bit = 0; bit < out->len; bit++) {
		uint8_t m = (uint8_t)(0x80 >> (bit % 8));

		if ((in->addr.bytes[bit / 8] & m) != (out->addr.bytes[bit / 8] & m))
			return false;
	}
	return true;
}

/* Whether range i of r[0..n) is an element of a frontend of this family:
 * of the family, and not inside another one (the first of equal ones). */
static bool fw_range_on(const struct cidr *r, unsigned n, unsigned i, uint8_t family)
{
	if (r[i].addr.family != family)
		return false;
	for (unsigned j = 0; j < n; j++)
		if (j != i && cidr_inside(&r[i], &r[j]) && (r[j].len < r[i].len || j < i))
			return false;
	return true;
}

static bool fw_src_is(const struct fw_src *s, const struct cidr *c)
{
	return s->len == c->len && !memcmp(s->addr, c->addr.bytes, addr_len(c->addr.family));
}

static void fw_want(const struct service *svc, struct fe_want *want)
{
	want->fw = false;
	want->fw_ranges = svc->source_ranges;
	want->n_fw_ranges = svc->n_ranges;
	if (want->key.kind != FE_ADDR || !svc->n_ranges)
		return;
	for (unsigned x = 0; x < svc->n_external && !want->fw; x++)
		want->fw = svc->external_ips[x].family == want->key.family &&
			   !memcmp(svc->external_ips[x].bytes, want->key.addr,
				   addr_len(want->key.family));
}

static int fw_range_change(struct changes *out, uint8_t op, const struct fe_key *k,
			   const struct fw_src *src, const char *comment)
{
	struct change ch = { .op = op, .fe = *k };

	ch.src = *src;
	return changes_push(out, &ch, comment);
}

/* What the kernel holds for fe in firewall and firewall-allow, deleted. */
static int fw_remove(struct fe_state *fe, struct changes *out)
{
	int ret = 0;

	for (uint16_t i = 0; i < fe->n_fwr && !ret; i++)
		ret = fw_range_change(out, CH_FWR_DEL, &fe->key, &fe->fwr[i], fe->owner);
	if (fe->fw && !ret)
		ret = emit(out, CH_FW_DEL, &fe->key, fe->owner);
	fe->fw = false;
	fe->n_fwr = 0;
	return ret;
}

static int fw_diff(struct fe_state *fe, const struct fe_want *want, const char *label,
		   struct changes *out)
{
	const struct cidr *r = want->fw_ranges;
	unsigned n = want->fw ? want->n_fw_ranges : 0;
	uint8_t family = fe->key.family;
	bool relabel = want->fw && fe->fw_tag != tag_of(label);
	struct fw_src *now;
	uint16_t n_now = 0;
	int ret = 0;

	if (!want->fw)
		return fw_remove(fe, out);
	now = malloc((n + 1) * sizeof(*now));
	if (!now)
		return -ENOMEM;
	for (uint16_t i = 0; i < fe->n_fwr && !ret; i++) {
		bool keep = false;

		for (unsigned j = 0; j < n && !keep && !relabel; j++)
			keep = fw_range_on(r, n, j, family) && fw_src_is(&fe->fwr[i], &r[j]);
		if (!keep)
			ret = fw_range_change(out, CH_FWR_DEL, &fe->key, &fe->fwr[i], label);
	}
	if (!ret && fe->fw && relabel)
		ret = emit(out, CH_FW_DEL, &fe->key, label);
	if (!ret && (!fe->fw || relabel))
		ret = emit(out, CH_FW_ADD, &fe->key, label);
	for (unsigned j = 0; j < n && !ret; j++) {
		bool had = false;

		if (!fw_range_on(r, n, j, family))
			continue;
		memcpy(now[n_now].addr, r[j].addr.bytes, sizeof(now[0].addr));
		now[n_now].len = r[j].len;
		for (uint16_t i = 0; i < fe->n_fwr && !had && !relabel; i++)
			had = fw_src_is(&fe->fwr[i], &r[j]);
		if (!had)
			ret = fw_range_change(out, CH_FWR_ADD, &fe->key, &now[n_now], label);
		n_now++;
	}
	free(fe->fwr);
	fe->fwr = now;
	fe->n_fwr = n_now;
	fe->fw = true;
	fe->fw_tag = tag_of(label);
	return ret;
}

/* Moves fe from what it is to want, as element changes. Read-back state
 * may have holes (a slot without its element, a services element without
 * slots): only what exists is deleted. */
static int fe_diff(struct reconciler *rec, struct fe_state *fe,
		   const struct fe_want *want, const char *svc,
		   const char *port_label, struct changes *out)
{
	bool noep = want->n == 0, relabel = fe->tag != tag_of(port_label);
	bool same_class = fe->svc && want->n && !relabel &&
			  cls_equal(&fe->cls, &want->cls);
	int ret = 0;

	if (fe->noep && (!noep || relabel))
		ret = emit(out, CH_NOEP_DEL, &fe->key, port_label);
	if (noep && (!fe->noep || relabel))
		ret = ret ?: emit(out, CH_NOEP_ADD, &fe->key, port_label);
	fe->noep = noep;
	fe->tag = tag_of(port_label);
	ret = ret ?: stale_flows(fe, want->slots, want->n, out);
	ret = ret ?: aff_diff(rec, fe, want->aff, out);
	if (fe->masq != rec->masq)
		ret = ret ?: emit(out, rec->masq ? CH_MASQ_ADD : CH_MASQ_DEL, &fe->key, fe->owner);
	fe->masq = rec->masq;
	if (fe->svc && !same_class) {
		ret = ret ?: emit(out, CH_SVC_DEL, &fe->key, port_label);
		class_unref(rec, &fe->cls);
		fe->svc = false;
	}
	for (uint16_t s = 0; s < fe->n && !ret; s++)
		if (fe->slots[s].be.port && !slot_same(fe, want, s))
			ret = be_change(out, CH_BE_DEL, &fe->key, s, NULL, svc);
	if (!ret && want->n > fe->n)
		ret = fe_grow(fe, want->n);
	for (uint16_t s = 0; s < want->n && !ret; s++) {
		if (slot_same(fe, want, s))
			continue;
		ret = be_change(out, CH_BE_ADD, &fe->key, s, &want->slots[s].be,
				want->ep_id[s]);
		fe->slots[s] = want->slots[s];
	}
	fe->n = want->n;
	if (!ret && want->n && !same_class) {
		struct change ch = { .op = CH_SVC_ADD, .fe = fe->key, .cls = want->cls };

		fe->cls = want->cls;
		fe->svc = true;
		ret = class_ref(rec, &want->cls, out) ?:
		      changes_push(out, &ch, port_label);
	}
	return ret ?: fw_diff(fe, want, port_label, out);
}

static int fe_remove(struct reconciler *rec, struct fe_state *fe,
		     struct changes *out)
{
	int ret = stale_flows(fe, NULL, 0, out);

	if (fe->svc && !ret) {
		ret = emit(out, CH_SVC_DEL, &fe->key, fe->owner);
		class_unref(rec, &fe->cls);
	}
	for (uint16_t s = 0; s < fe->n && !ret; s++)
		if (fe->slots[s].be.port)
			ret = be_change(out, CH_BE_DEL, &fe->key, s, NULL, fe->owner);
	if (fe->noep)
		ret = ret ?: emit(out, CH_NOEP_DEL, &fe->key, fe->owner);
	if (fe->masq)
		ret = ret ?: emit(out, CH_MASQ_DEL, &fe->key, NULL);
	ret = ret ?: aff_diff(rec, fe, 0, out);
	ret = ret ?: fw_remove(fe, out);

	hmap_del(rec->fes, &fe->key, sizeof(fe->key));
	fe_state_free(fe);
	return ret;
}

/* The weight ep takes new connections with (0: none). vipd asks its
 * backend states (bstate.h); without them (tests, tools) a backend takes
 * its weight while ready, not terminating and, for a local service, on
 * this node. */
static uint32_t weigh(const struct reconciler *rec, const struct service *svc,
		      const struct endpoint *ep)
{
	if (rec->weigh)
		return rec->weigh(rec->weigh_arg, svc, ep);
	if (!ep->ready || ep->terminating)
		return 0;
	if (svc->policy == POLICY_LOCAL && !(rec->node && ep->node && !strcmp(rec->node, ep->node)))
		return 0;
	return ep->weight;
}

static bool eligible(const struct reconciler *rec, const struct service *svc,
		     const struct endpoint *ep, uint8_t family)
{
	return ep->ip.family == family && weigh(rec, svc, ep) > 0;
}

void rec_set_weigh(struct reconciler *rec, rec_weigh_fn fn, void *arg)
{
	rec->weigh = fn;
	rec->weigh_arg = arg;
}

static bool owned_has(const struct owned *o, size_t upto, const struct fe_key *k)
{
	for (size_t i = 0; i < upto; i++)
		if (!memcmp(&o->keys[i], k, sizeof(*k)))
			return true;
	return false;
}

static int claim(struct reconciler *rec, const char *name, struct fe_want *want,
		 const char *label, struct owned *now, struct changes *out)
{
	struct fe_state *fe = fe_get(rec, &want->key, true);
	const struct owned *other;
	char vip[ADDR_STRLEN];

	if (!fe)
		return -ENOMEM;
	if (fe->owner && strcmp(fe->owner, name) &&
	    (other = hmap_get_str(rec->owned, fe->owner)) &&
	    owned_has(other, other->n, &want->key)) {
		struct vaddr a = { .family = want->key.family };

		memcpy(a.bytes, want->key.addr, sizeof(a.bytes));
		if (!hmap_get_str(rec->conflicts, name) && want->key.kind == FE_NODEPORT)
			log_err("service \"%s\": field node_port: value %u/%s: already used by service \"%s\"; ignored",
				name, want->key.port, model_proto_name(want->key.proto), fe->owner);
		else if (!hmap_get_str(rec->conflicts, name))
			log_err("service \"%s\": field vip: value %s port %u/%s: already used by service \"%s\"; ignored",
				name, addr_format(&a, vip), want->key.port,
				model_proto_name(want->key.proto), fe->owner);
		rec->conflict_hits++;
		/* Unrecorded, the service would never be retried when the
		 * holder lets go of the VIP. */
		return hmap_put_str(rec->conflicts, name, (void *)1);
	}
	if (!fe->owner || strcmp(fe->owner, name)) {
		free(fe->owner);
		if (!(fe->owner = strdup(name)))
			return -ENOMEM;
	}
	fe->gen = rec->gen;
	now->keys[now->n++] = want->key;
	return fe_diff(rec, fe, want, name, label, out);
}

/* Logs "name: note" unless notes already holds that note for name, and
 * remembers it: a warning once for as long as it holds. */
static int note_once(struct hmap *notes, const char *name, const char *note)
{
	char *old = hmap_get_str(notes, name), *copy;

	if (old && !strcmp(old, note))
		return 0;
	log_warn("%s: %s", name, note);
	if (!(copy = strdup(note)))
		return -ENOMEM;
	if (hmap_put_str(notes, name, copy) < 0) {
		free(copy);
		return -ENOMEM;
	}
	free(old);
	return 0;
}

/* A service's weights note, logged when new or different. */
static int note_weights(struct reconciler *rec, const char *name, const char *note)
{
	rec->note_seen = true;
	return note_once(rec->noted, name, note);
}

/* One frontend (want->key) of service port sp, rendered and claimed. */
static int plan_frontend(struct reconciler *rec, const struct service *svc,
			 const struct svc_port *sp, struct endpoint **eps, char **labels,
			 size_t n, const char *label, struct fe_want *want,
			 struct owned *now, struct changes *out)
{
	int ret = fe_render(svc, sp, eps, labels, n, fe_get(rec, &want->key, false), want);

	if (ret < 0)
		return ret;
	want->aff = svc->affinity_timeout;
	fw_want(svc, want);
	if (want->weights_note[0])
		ret = note_weights(rec, svc->name, want->weights_note);
	return ret ?: claim(rec, svc->name, want, label, now, out);
}

static int plan_family(struct reconciler *rec, const struct model *m,
		       const struct service *svc, const struct vaddr *vip,
		       struct fe_want *want, struct owned *now,
		       struct changes *out)
{
	struct endpoint *const *all;
	size_t n_all = model_endpoints_get(m, svc->name, &all), n = 0;
	struct endpoint **eps = malloc((n_all + 1) * sizeof(*eps));
	/* shallow copies that carry the effective weight; their strings stay
	 * the model's */
	struct endpoint *view = malloc((n_all + 1) * sizeof(*view));
	char **labels = calloc(n_all + 1, sizeof(*labels));
	char label[NAME_MAX_LEN + PORT_NAME_LEN + 2];
	int ret = 0;

	if (!eps || !labels || !view) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n_all; i++) {
		uint32_t w = all[i]->ip.family == vip->family ? weigh(rec, svc, all[i]) : 0;

		if (!w)
			continue;
		view[n] = *all[i];
		view[n].weight = w;
		eps[n] = &view[n];
		n++;
	}
	qsort(eps, n, sizeof(*eps), ep_cmp);
	/* Element comments name the endpoint: "service/id". */
	for (size_t i = 0; i < n && !ret; i++)
		if (asprintf(&labels[i], "%s/%s", svc->name, eps[i]->id) < 0) {
			labels[i] = NULL;
			ret = -ENOMEM;
		} else {
			dp_comment_fit(labels[i]);
		}
	for (unsigned p = 0; p < svc->n_ports && !ret; p++) {
		const struct svc_port *sp = &svc->ports[p];

		port_label(label, sizeof(label), svc->name, sp);
		dp_comment_fit(label);
		/* the VIP, each external IP of its family, the node port: the
		 * same backends behind each */
		fe_key_of(&want->key, vip, sp);
		ret = plan_frontend(rec, svc, sp, eps, labels, n, label, want, now, out);
		/* external IPs with source_ranges are filtered (fw_want) */
		for (unsigned x = 0; x < svc->n_external && !ret; x++) {
			if (svc->external_ips[x].family != vip->family)
				continue;
			fe_key_of(&want->key, &svc->external_ips[x], sp);
			ret = plan_frontend(rec, svc, sp, eps, labels, n, label, want, now, out);
		}
		if (sp->node_port && !ret) {
			fe_key_np(&want->key, vip->family, sp);
			ret = plan_frontend(rec, svc, sp, eps, labels, n, label, want, now, out);
		}
	}
out:
	for (size_t i = 0; labels && i < n; i++)
		free(labels[i]);
	free(labels);
	free(eps);
	free(view);
	return ret;
}

/* Endpoints of a family the service has no VIP for reach nobody: say so,
 * once for as long as it holds (else clients are refused with no word
 * why). */
static int note_family(struct reconciler *rec, const struct model *m,
		       const struct service *svc, const char *name)
{
	struct endpoint *const *eps;
	size_t n = svc ? model_endpoints_get(m, name, &eps) : 0, v4 = 0, v6 = 0;
	char note[160] = "";

	for (size_t i = 0; i < n; i++) {
		v4 += !svc->vip4.family && eligible(rec, svc, eps[i], AF_INET);
		v6 += !svc->vip6.family && eligible(rec, svc, eps[i], AF_INET6);
	}
	if (v4 || v6)
		snprintf(note, sizeof(note), "%zu %s endpoint%s left out: the service has no %s VIP (%s)",
			 v4 ? v4 : v6, v4 ? "IPv4" : "IPv6", (v4 ? v4 : v6) > 1 ? "s" : "",
			 v4 ? "IPv4" : "IPv6", v4 ? "vip" : "vip6");
	if (!*note) {
		free(hmap_del_str(rec->family_noted, name));
		return 0;
	}
	return note_once(rec->family_noted, name, note);
}

static int plan_service(struct reconciler *rec, const struct model *m,
			const char *name, struct fe_want *want,
			struct changes *out)
{
	const struct service *svc = model_service_get(m, name);
	struct owned *old = hmap_get_str(rec->owned, name), *now;
	/* per family and port: the VIP, the external IPs, the node port */
	size_t cap = svc ? 2 * (size_t)svc->n_ports * (svc->n_external + 2) : 0;
	unsigned hits = rec->conflict_hits;
	int ret = 0;

	now = calloc(1, sizeof(*now) + cap * sizeof(now->keys[0]));
	if (!now)
		return -ENOMEM;
	rec->note_seen = false;
	if (svc && svc->vip4.family)
		ret = plan_family(rec, m, svc, &svc->vip4, want, now, out);
	if (svc && svc->vip6.family && !ret)
		ret = plan_family(rec, m, svc, &svc->vip6, want, now, out);
	for (size_t i = 0; old && i < old->n && !ret; i++) {
		struct fe_state *fe = fe_get(rec, &old->keys[i], false);

		if (owned_has(now, now->n, &old->keys[i]) || !fe ||
		    !fe->owner || strcmp(fe->owner, name))
			continue;
		ret = fe_remove(rec, fe, out);
	}
	if (hits == rec->conflict_hits)
		hmap_del_str(rec->conflicts, name);
	if (!ret && !rec->note_seen)
		free(hmap_del_str(rec->noted, name));
	ret = ret ?: note_family(rec, m, svc, name);
	free(hmap_del_str(rec->owned, name));
	if (!now->n) {
		free(now);
		return ret;
	}
	/* Unrecorded, the frontends it claimed would not be removed when the
	 * service drops a port or goes. */
	if (hmap_put_str(rec->owned, name, now) < 0) {
		free(now);
		return ret ?: -ENOMEM;
	}
	return ret;
}

/* Full plans also delete what nobody claimed: leftovers of earlier runs,
 * of services deleted while vipd was down, of foreign edits. */
static int sweep(struct reconciler *rec, const struct model *m,
		 struct changes *out)
{
	struct fe_state *fe;
	const void *key;
	size_t len;
	int ret = 0;

	for (size_t it = 0; !ret && hmap_next(rec->fes, &it, NULL, NULL, (void **)&fe);)
		if (fe->gen != rec->gen)
			ret = fe_remove(rec, fe, out);
	for (size_t it = 0; hmap_next(rec->owned, &it, &key, &len, NULL);) {
		char name[NAME_MAX_LEN + 1];

		snprintf(name, sizeof(name), "%.*s", (int)len, (const char *)key);
		if (!model_service_get(m, name))
			free(hmap_del_str(rec->owned, name));
	}
	return ret;
}

static int classes_settle(struct reconciler *rec, struct changes *out)
{
	struct class_state *cs;
	const void *key;
	int ret = 0;

	for (size_t it = 0; !ret && hmap_next(rec->classes, &it, &key, NULL, (void **)&cs);) {
		struct change ch = { .op = CH_CLASS_ADD };

		memcpy(&ch.cls, key, sizeof(ch.cls));
		if (cs->refs && cs->present && rec->reassert)
			ret = changes_push(out, &ch, NULL);
		if (cs->refs)
			continue;
		if (cs->present) {
			ch.op = CH_CLASS_DEL;
			ret = changes_push(out, &ch, NULL);
		}
		free(hmap_del(rec->classes, &ch.cls, sizeof(ch.cls)));
	}
	rec->reassert = false;
	return ret;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* In name order, so that when two services claim one VIP the same one
 * wins on every node and after every restart. */
static int plan_all(struct reconciler *rec, const struct model *m,
		    struct fe_want *want, struct changes *out)
{
	size_t n = 0, it = 0, cap = model_service_count(m);
	const char **names = malloc((cap + 1) * sizeof(*names));
	const char *name;
	int ret = 0;

	if (!names)
		return -ENOMEM;
	while (n < cap && (name = model_service_next(m, &it)))
		names[n++] = name;
	qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 0; i < n && !ret; i++)
		ret = plan_service(rec, m, names[i], want, out);
	free(names);
	return ret;
}

int rec_plan(struct reconciler *rec, const struct model *m,
	     const struct name_list *dirty, bool full, struct changes *out)
{
	struct fe_want *want = malloc(sizeof(*want));
	struct name_list retry = { 0 };
	int ret = 0;

	if (!want)
		return -ENOMEM;
	rec->gen++;
	if (full) {
		ret = plan_all(rec, m, want, out);
		ret = ret ?: sweep(rec, m, out);
	} else {
		for (size_t i = 0; !ret && i < dirty->n; i++)
			ret = plan_service(rec, m, dirty->names[i], want, out);
	}
	/* A service refused for a VIP another one held may get it now that
	 * the holder changed: try those once more. */
	if (!ret && hmap_count(rec->conflicts)) {
		const void *key;
		size_t len;

		retry.names = calloc(hmap_count(rec->conflicts), sizeof(char *));
		if (!retry.names)
			ret = -ENOMEM;
		for (size_t it = 0; !ret &&
		     hmap_next(rec->conflicts, &it, &key, &len, NULL);)
			if (!(retry.names[retry.n++] = strndup(key, len)))
				ret = -ENOMEM;
		for (size_t i = 0; !ret && i < retry.n; i++)
			ret = plan_service(rec, m, retry.names[i], want, out);
		model_names_free(&retry);
	}
	ret = ret ?: classes_settle(rec, out);
	free(want);
	return ret;
}

void rec_stats(const struct reconciler *rec, struct rec_stats *st)
{
	struct fe_state *fe;

	memset(st, 0, sizeof(*st));
	st->frontends = hmap_count(rec->fes);
	st->classes = hmap_count(rec->classes);
	for (size_t it = 0; hmap_next(rec->fes, &it, NULL, NULL, (void **)&fe);)
		st->slots += fe->n;
}

int rec_vip_chain(const struct reconciler *rec, const struct vaddr *vip,
		  const struct svc_port *sp, char *buf, size_t len)
{
	const struct fe_state *fe;
	struct fe_key k;

	fe_key_of(&k, vip, sp);
	fe = hmap_get(rec->fes, &k, sizeof(k));
	if (!fe || !fe->n) {
		snprintf(buf, len, "%s", fe && fe->noep ? "noendpoints" : "");
		return 0;
	}
	return class_chain_name(&fe->cls, buf, len);
}

/* Rendering: what one frontend of a service should hold, slot by slot. */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "hash.h"
#include "rec_internal.h"

static enum class_kind class_kind_of(enum lb_algo algo, uint8_t fe_kind)
{
	bool np = fe_kind == FE_NODEPORT;

	switch (algo) {
	case ALGO_ROUND_ROBIN: return np ? CLASS_NP_RR : CLASS_RR;
	case ALGO_SOURCE_HASH:
	case ALGO_MAGLEV: return np ? CLASS_NP_SH : CLASS_SH;
	default: return np ? CLASS_NP_LB : CLASS_LB;
	}
}

/* A frontend's own round-robin chain: a hash of its key, never 0. */
static uint32_t rr_id(const struct fe_key *k)
{
	uint64_t h = hash_bytes(k, sizeof(*k));
	uint32_t id = (uint32_t)(h ^ h >> 32);

	return id ? id : 1;
}

int ep_cmp(const void *a, const void *b)
{
	const struct endpoint *x = *(struct endpoint *const *)a;
	const struct endpoint *y = *(struct endpoint *const *)b;
	int c = memcmp(x->ip.bytes, y->ip.bytes, sizeof(x->ip.bytes));

	if (c)
		return c;
	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	return strcmp(x->id, y->id);
}

/* Random and round-robin pick slots without regard to who asks, so a
 * backend may keep the slots it holds: then one endpoint change is a few
 * element changes, not a reshuffle of the service. Backends keep old slots
 * up to their new share; the rest is filled in the spread order of idx.
 * (Hash classes stay a pure function of the endpoints: every node, and
 * every restart, must send a client to the same backend.) */
static void keep_slots(const struct fe_state *old, const struct be_addr *be,
		       const uint32_t *tags, size_t n, uint16_t *idx, size_t slots)
{
	uint16_t need[SLOTS_MAX] = { 0 }, out[SLOTS_MAX];
	size_t next = 0;

	for (size_t s = 0; s < slots; s++) {
		need[idx[s]]++;
		out[s] = UINT16_MAX;
	}
	for (size_t s = 0; s < slots && s < old->n; s++)
		for (size_t i = 0; i < n; i++)
			if (need[i] && tags[i] == old->slots[s].tag &&
			    !memcmp(&be[i], &old->slots[s].be, sizeof(be[i]))) {
				out[s] = (uint16_t)i;
				need[i]--;
				break;
			}
	for (size_t k = 0; k < slots; k++) {
		uint16_t i = idx[k];

		if (!need[i])
			continue;
		while (out[next] != UINT16_MAX)
			next++;
		out[next] = i;
		need[i]--;
	}
	memcpy(idx, out, slots * sizeof(*idx));
}

/* Appends "a:b:c" (at most NOTE_SHOWN numbers, then ":...") to buf. */
#define NOTE_SHOWN 8
static void ratio_append(char *buf, size_t len, const uint32_t *v, size_t n)
{
	size_t at = strlen(buf);

	for (size_t i = 0; i < n && i < NOTE_SHOWN && at < len; i++)
		at += (size_t)snprintf(buf + at, len - at, "%s%u", i ? ":" : "", v[i]);
	if (n > NOTE_SHOWN && at < len)
		snprintf(buf + at, len - at, ":...");
}

/* Whether the slot counts hold the weights' ratios (within the slots'
 * tolerance); if not, says how they were programmed. all is the number of eligible backends, of which the
 * first n got rendered (SLOTS_MAX at most). */
static void weights_check(const uint32_t *w, char **labels, size_t n, size_t all,
			  const uint16_t *idx, size_t slots, char *note, size_t len)
{
	uint32_t count[SLOTS_MAX] = { 0 };
	bool exact = n == all;

	for (size_t s = 0; s < slots; s++)
		count[idx[s]]++;
	note[0] = '\0';
	if (exact && slots_close(w, count, n))
		return;
	snprintf(note, len, "weights ");
	ratio_append(note, len, w, n);
	/* of backends (ids, from their "service/id" labels) */
	for (size_t i = 0; i < n && i < NOTE_SHOWN; i++) {
		const char *id = strchr(labels[i], '/');

		snprintf(note + strlen(note), len - strlen(note), "%s%.32s",
			 i ? ":" : " (", id ? id + 1 : labels[i]);
	}
	snprintf(note + strlen(note), len - strlen(note), "%s)", n > NOTE_SHOWN ? ":..." : "");
	snprintf(note + strlen(note), len - strlen(note), " programmed as ");
	ratio_append(note, len, count, n);
	snprintf(note + strlen(note), len - strlen(note), " slots (at most %d per frontend",
		 SLOTS_MAX);
	if (all > n)
		snprintf(note + strlen(note), len - strlen(note),
			 "; %zu of %zu backends left out", all - n, all);
	snprintf(note + strlen(note), len - strlen(note), ")");
}

/* Fills want for one VIP and service port from the eligible endpoints,
 * which are sorted so every node and every restart computes the same. */
int fe_render(const struct service *svc, const struct svc_port *sp,
	      struct endpoint **eps, char **labels, size_t n,
	      const struct fe_state *old, struct fe_want *want)
{
	uint32_t tags[SLOTS_MAX];
	uint32_t w[SLOTS_MAX];
	uint64_t keys[SLOTS_MAX];
	struct be_addr be[SLOTS_MAX];
	uint16_t idx[SLOTS_MAX];
	size_t all = n;
	ssize_t slots;

	if (n > SLOTS_MAX)
		n = SLOTS_MAX;
	for (size_t i = 0; i < n; i++) {
		memcpy(be[i].addr, eps[i]->ip.bytes, sizeof(be[i].addr));
		be[i].port = endpoint_port_for(eps[i], sp);
		w[i] = eps[i]->weight;
		keys[i] = hash_bytes(&be[i], sizeof(be[i]));
		tags[i] = tag_of(labels[i]);
	}
	want->weights_note[0] = '\0';
	/* Maglev's shares are a sample of the weights (each slot drawn
	 * w_i / sum(w)), within a few percent at 1021 slots, never exact:
	 * weights_check's exact-split tolerance would flag every maglev
	 * service, so it is not asked. */
	if (svc->algo == ALGO_MAGLEV)
		slots = slots_maglev(keys, w, n, idx, SLOTS_MAX);
	else
		slots = slots_fill(w, n, idx, SLOTS_MAX);
	if (slots < 0)
		return (int)slots;
	if (svc->algo != ALGO_MAGLEV && n)
		weights_check(w, labels, n, all, idx, (size_t)slots, want->weights_note,
			      sizeof(want->weights_note));
	if (old && old->n && (svc->algo == ALGO_RANDOM || svc->algo == ALGO_ROUND_ROBIN))
		keep_slots(old, be, tags, n, idx, (size_t)slots);
	want->n = (uint16_t)slots;
	want->cls.n = (uint16_t)slots;
	want->cls.kind = class_kind_of(svc->algo, want->key.kind);
	want->cls.family = want->key.family;
	/* numgen inc counts per rule: a round-robin frontend that shared
	 * rr-N with others would see every other pick go to them */
	want->cls.arg = svc->algo == ALGO_ROUND_ROBIN ? rr_id(&want->key) : 0;
	for (ssize_t s = 0; s < slots; s++) {
		want->slots[s].be = be[idx[s]];
		want->slots[s].tag = tags[idx[s]];
		want->ep_id[s] = labels[idx[s]];
	}
	return 0;
}

void fe_key_of(struct fe_key *k, const struct vaddr *vip,
		      const struct svc_port *sp)
{
	memset(k, 0, sizeof(*k));
	k->family = vip->family;
	k->proto = sp->proto;
	k->port = sp->port;
	memcpy(k->addr, vip->bytes, sizeof(k->addr));
}

void fe_key_np(struct fe_key *k, uint8_t family, const struct svc_port *sp)
{
	memset(k, 0, sizeof(*k));
	k->family = family;
	k->kind = FE_NODEPORT;
	k->proto = sp->proto;
	k->port = sp->node_port;
}

void port_label(char *buf, size_t len, const char *name,
		       const struct svc_port *sp)
{
	if (*sp->name)
		snprintf(buf, len, "%s:%s", name, sp->name);
	else
		snprintf(buf, len, "%s:%u/%s", name, sp->port,
			 model_proto_name(sp->proto));
}


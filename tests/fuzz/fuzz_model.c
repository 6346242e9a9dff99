/* libFuzzer target: any bytes as a sequence of operations on the model
 * (include/model.h only): service and endpoint puts and deletes from the
 * three sources, verdict puts and deletes, resyncs (mark, puts and keeps,
 * sweep; etcd's cover verdicts) and takes of the dirty names, over a few
 * names, ids and versions so that they collide.
 *
 * The harness keeps what the model should hold in plain arrays. At every
 * take and at the end the model must match it: the effective service of
 * each name (the lowest source's), and each name's endpoints from every
 * source, and each verdict; a take must name every service whose
 * effective definition or endpoints changed since the previous take, or
 * whose verdicts did while the model knows the name. At the end a second model,
 * given only the final state, must serve the same. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "model.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define N_NAMES	3
#define N_IDS	3
#define N_VERS	4	/* versions of one object */

static const char *const names[N_NAMES] = { "web", "dns", "arch.task.http" };
static const char *const ids[N_IDS] = { "e1", "e2", "ctr-9af7624e5f06" };

enum op { OP_SVC_PUT, OP_SVC_DEL, OP_EP_PUT, OP_EP_DEL, OP_MARK, OP_SWEEP,
	  OP_SVC_KEEP, OP_EP_KEEP, OP_TAKE, OP_VD_PUT, OP_VD_DEL, OP_MAX };

/* Verdict versions: healthy is ver & 1; the last reason is cut to fit. */
static const char *const reasons[N_VERS] = {
	NULL, "HTTP 500 (3 of 3)", "timeout",
	"a reason longer than the model keeps: 0123456789012345678901234567890123456789"
	"0123456789012345678901234567890123456789012345678901234567890123456789",
};

/* What the model should hold: a version, or -1; and whether a resync has
 * marked it and not yet seen it. */
struct ref {
	int8_t svc[SRC_MAX][N_NAMES];
	bool svc_stale[SRC_MAX][N_NAMES];
	int8_t ep[SRC_MAX][N_NAMES][N_IDS];
	bool ep_stale[SRC_MAX][N_NAMES][N_IDS];
	int8_t vd[N_NAMES][N_IDS];	/* only etcd reports verdicts */
	bool vd_stale[N_NAMES][N_IDS];
};

/* What one name looked like at the last take, to know what changed. */
struct seen {
	int8_t svc;
	int8_t ep[SRC_MAX][N_IDS];
	int8_t vd[N_IDS];
};

static struct service *svc_new(int name, int ver)
{
	struct service *s = calloc(1, sizeof(*s));

	CHECK(s && (s->name = strdup(names[name])));
	s->n_ports = ver & 1 ? 2 : 1;
	CHECK((s->ports = calloc(s->n_ports, sizeof(*s->ports))));
	strcpy(s->ports[0].name, "http");
	s->ports[0].port = 80;
	s->ports[0].proto = IPPROTO_TCP;
	if (ver & 1) {
		strcpy(s->ports[1].name, "dns");
		s->ports[1].port = 53;
		s->ports[1].target_port = 5353;
		s->ports[1].proto = IPPROTO_UDP;
	}
	CHECK(addr_parse(&s->vip4, ver & 2 ? "10.96.0.2" : "10.96.0.1") == 0);
	s->algo = ver & 2 ? ALGO_MAGLEV : ALGO_RANDOM;
	return s;
}

static struct endpoint *ep_new(int id, int ver)
{
	struct endpoint *e = calloc(1, sizeof(*e));

	CHECK(e && (e->id = strdup(ids[id])));
	CHECK(addr_parse(&e->ip, ver & 1 ? "10.0.0.2" : "fd00::1") == 0);
	e->weight = ver & 2 ? 5 : WEIGHT_DEFAULT;
	e->ready = ver != 3;
	if (ver & 2)
		CHECK((e->node = strdup("node-a")));
	return e;
}

static int ref_svc(const struct ref *r, int name)
{
	for (int s = 0; s < SRC_MAX; s++)
		if (r->svc[s][name] >= 0)
			return r->svc[s][name];
	return -1;
}

/* Whether the model has an entry for the name (a verdict alone is none). */
static bool ref_known(const struct ref *r, int name)
{
	for (int s = 0; s < SRC_MAX; s++) {
		if (r->svc[s][name] >= 0)
			return true;
		for (int i = 0; i < N_IDS; i++)
			if (r->ep[s][name][i] >= 0)
				return true;
	}
	return false;
}

static void check_verdict(const struct verdict *v, int ver)
{
	const char *want = reasons[ver] ? reasons[ver] : "";
	size_t n = strlen(want) < sizeof(v->reason) ? strlen(want) : sizeof(v->reason) - 1;

	CHECK(v && v->healthy == (ver & 1));
	CHECK(strlen(v->reason) == n && !strncmp(v->reason, want, n));
}

static int name_of(const char *name)
{
	for (int i = 0; i < N_NAMES; i++)
		if (!strcmp(names[i], name))
			return i;
	return -1;
}

static int id_of(const char *id)
{
	for (int i = 0; i < N_IDS; i++)
		if (!strcmp(ids[i], id))
			return i;
	return -1;
}

/* The model serves exactly what r says. */
static void check_model(const struct model *m, const struct ref *r)
{
	size_t it = 0, n_svc = 0, want_svc = 0;
	const char *name;

	for (int n = 0; n < N_NAMES; n++) {
		const struct service *got = model_service_get(m, names[n]);
		int ver = ref_svc(r, n);
		struct endpoint *const *eps;
		size_t n_eps = model_endpoints_get(m, names[n], &eps), want = 0;

		if (ver < 0) {
			CHECK(!got);
		} else {
			struct service *exp = svc_new(n, ver);

			CHECK(got && !strcmp(got->name, names[n]) && service_equal(got, exp));
			service_free(exp);
			want_svc++;
		}
		for (int s = 0; s < SRC_MAX; s++)
			for (int i = 0; i < N_IDS; i++)
				want += r->ep[s][n][i] >= 0;
		CHECK(n_eps == want);
		for (size_t k = 0; k < n_eps; k++) {
			int i = id_of(eps[k]->id), s = eps[k]->source;
			struct endpoint *exp;

			CHECK(i >= 0 && s < SRC_MAX && r->ep[s][n][i] >= 0);
			exp = ep_new(i, r->ep[s][n][i]);
			CHECK(ep_same(eps[k], exp));
			endpoint_free(exp);
			for (size_t j = 0; j < k; j++)	/* one per source and id */
				CHECK(eps[j]->source != eps[k]->source || strcmp(eps[j]->id, eps[k]->id));
		}
		for (int i = 0; i < N_IDS; i++) {
			const struct verdict *v = model_verdict_get(m, names[n], ids[i]);

			if (r->vd[n][i] < 0)
				CHECK(!v);
			else
				check_verdict(v, r->vd[n][i]);
		}
	}
	while ((name = model_service_next(m, &it))) {
		CHECK(name_of(name) >= 0 && ref_svc(r, name_of(name)) >= 0);
		n_svc++;
	}
	CHECK(n_svc == want_svc && model_service_count(m) == want_svc);
}

static void seen_now(const struct ref *r, struct seen seen[N_NAMES])
{
	for (int n = 0; n < N_NAMES; n++) {
		seen[n].svc = (int8_t)ref_svc(r, n);
		for (int s = 0; s < SRC_MAX; s++)
			for (int i = 0; i < N_IDS; i++)
				seen[n].ep[s][i] = r->ep[s][n][i];
		for (int i = 0; i < N_IDS; i++)
			seen[n].vd[i] = r->vd[n][i];
	}
}

/* A take names every service that changed since the last one. */
static void take(struct model *m, const struct ref *r, struct seen seen[N_NAMES])
{
	struct seen now[N_NAMES];
	struct name_list l;

	check_model(m, r);
	seen_now(r, now);
	model_dirty_take(m, &l);
	for (int n = 0; n < N_NAMES; n++) {
		bool named = false;

		for (size_t k = 0; k < l.n; k++)
			named |= !strcmp(l.names[k], names[n]);
		if (now[n].svc != seen[n].svc || memcmp(now[n].ep, seen[n].ep, sizeof(now[n].ep)))
			CHECK(named);
		/* a verdict changed while the name was unknown is planned when
		 * the service appears: that put names it */
		if (memcmp(now[n].vd, seen[n].vd, sizeof(now[n].vd)) && ref_known(r, n))
			CHECK(named);
	}
	CHECK(!model_dirty(m));
	model_names_free(&l);
	memcpy(seen, now, sizeof(now));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct model *m = model_alloc(), *replay = model_alloc();
	struct seen seen[N_NAMES];
	struct ref r;

	CHECK(m && replay);
	memset(r.svc, -1, sizeof(r.svc));
	memset(r.ep, -1, sizeof(r.ep));
	memset(r.svc_stale, 0, sizeof(r.svc_stale));
	memset(r.ep_stale, 0, sizeof(r.ep_stale));
	memset(r.vd, -1, sizeof(r.vd));
	memset(r.vd_stale, 0, sizeof(r.vd_stale));
	seen_now(&r, seen);
	for (size_t k = 0; k + 1 < size; k += 2) {
		enum op op = data[k] % OP_MAX;
		enum source_id src = (enum source_id)(data[k] / OP_MAX % SRC_MAX);
		int n = data[k + 1] % N_NAMES, i = data[k + 1] / N_NAMES % N_IDS;
		int ver = data[k + 1] / (N_NAMES * N_IDS) % N_VERS;

		switch (op) {
		case OP_SVC_PUT:
			CHECK(model_service_put(m, src, svc_new(n, ver)) == 0);
			r.svc[src][n] = (int8_t)ver;
			r.svc_stale[src][n] = false;
			break;
		case OP_SVC_DEL:
			model_service_del(m, src, names[n]);
			r.svc[src][n] = -1;
			break;
		case OP_EP_PUT:
			CHECK(model_endpoint_put(m, src, names[n], ep_new(i, ver)) == 0);
			r.ep[src][n][i] = (int8_t)ver;
			r.ep_stale[src][n][i] = false;
			break;
		case OP_EP_DEL:
			model_endpoint_del(m, src, names[n], ids[i]);
			r.ep[src][n][i] = -1;
			break;
		case OP_MARK:
			model_source_mark(m, src);
			for (n = 0; n < N_NAMES; n++) {
				r.svc_stale[src][n] = r.svc[src][n] >= 0;
				for (i = 0; i < N_IDS; i++) {
					r.ep_stale[src][n][i] = r.ep[src][n][i] >= 0;
					if (src == SRC_ETCD)
						r.vd_stale[n][i] = r.vd[n][i] >= 0;
				}
			}
			break;
		case OP_SWEEP:
			model_source_sweep(m, src);
			for (n = 0; n < N_NAMES; n++) {
				if (r.svc[src][n] >= 0 && r.svc_stale[src][n])
					r.svc[src][n] = -1;
				r.svc_stale[src][n] = false;
				for (i = 0; i < N_IDS; i++) {
					if (r.ep[src][n][i] >= 0 && r.ep_stale[src][n][i])
						r.ep[src][n][i] = -1;
					r.ep_stale[src][n][i] = false;
					if (src == SRC_ETCD && r.vd_stale[n][i])
						r.vd[n][i] = -1;
					if (src == SRC_ETCD)
						r.vd_stale[n][i] = false;
				}
			}
			break;
		case OP_SVC_KEEP:
			CHECK(model_service_keep(m, src, names[n]) == (r.svc[src][n] >= 0));
			r.svc_stale[src][n] = false;
			break;
		case OP_EP_KEEP:
			CHECK(model_endpoint_keep(m, src, names[n], ids[i]) == (r.ep[src][n][i] >= 0));
			r.ep_stale[src][n][i] = false;
			break;
		case OP_VD_PUT:
			CHECK(model_verdict_put(m, names[n], ids[i], ver & 1, reasons[ver]) == 0);
			r.vd[n][i] = (int8_t)ver;
			r.vd_stale[n][i] = false;
			break;
		case OP_VD_DEL:
			model_verdict_del(m, names[n], ids[i]);
			r.vd[n][i] = -1;
			r.vd_stale[n][i] = false;
			break;
		case OP_TAKE:
		case OP_MAX:
			take(m, &r, seen);
			break;
		}
	}
	take(m, &r, seen);

	/* the same final state, put at once, serves the same */
	for (int s = 0; s < SRC_MAX; s++)
		for (int n = 0; n < N_NAMES; n++) {
			if (r.svc[s][n] >= 0)
				CHECK(model_service_put(replay, (enum source_id)s, svc_new(n, r.svc[s][n])) == 0);
			for (int i = 0; i < N_IDS; i++)
				if (r.ep[s][n][i] >= 0)
					CHECK(model_endpoint_put(replay, (enum source_id)s, names[n],
								 ep_new(i, r.ep[s][n][i])) == 0);
		}
	for (int n = 0; n < N_NAMES; n++)
		for (int i = 0; i < N_IDS; i++)
			if (r.vd[n][i] >= 0)
				CHECK(model_verdict_put(replay, names[n], ids[i], r.vd[n][i] & 1,
							reasons[r.vd[n][i]]) == 0);
	check_model(replay, &r);
	for (int n = 0; n < N_NAMES; n++) {
		const struct service *a = model_service_get(m, names[n]);
		const struct service *b = model_service_get(replay, names[n]);
		struct endpoint *const *ea, *const *eb;
		size_t na = model_endpoints_get(m, names[n], &ea);
		size_t nb = model_endpoints_get(replay, names[n], &eb);

		CHECK(!a == !b && (!a || service_equal(a, b)));
		CHECK(na == nb);
		for (size_t k = 0; k < na; k++) {
			bool found = false;

			for (size_t j = 0; j < nb; j++)
				found |= ea[k]->source == eb[j]->source && ep_same(ea[k], eb[j]);
			CHECK(found);
		}
	}
	model_free(replay);
	model_free(m);
	return 0;
}

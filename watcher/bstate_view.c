/* Backend states, said: reasons, the line a move logs, the status view. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "bstate_internal.h"
#include "health.h"
#include "hmap.h"
#include "loop.h"

static const char *const state_names[BS_MAX] = {
	[BS_HEALTHY] = "healthy", [BS_SLOW_START] = "slow_start",
	[BS_UNHEALTHY] = "unhealthy", [BS_NOT_READY] = "not_ready",
	[BS_TERMINATING] = "terminating", [BS_DRAINING] = "draining",
	[BS_NOT_LOCAL] = "not_local",
};

const char *bs_state_name(enum bs_state s)
{
	return s < BS_MAX ? state_names[s] : "?";
}

static const char *cause_text(uint8_t cause)
{
	switch (cause) {
	case CAUSE_DOCKER_KILL: return ": docker kill";
	case CAUSE_DOCKER_STOP: return ": docker stop";
	case CAUSE_DOCKER_UNHEALTHY: return ": docker health unhealthy";
	case CAUSE_DOCKER_STARTING: return ": docker health starting";
	default: return "";
	}
}

static void drain_text(uint64_t until, char *buf, size_t len)
{
	uint64_t now = loop_now_ms(), left = until > now ? until - now : 0;

	snprintf(buf, len, "draining %llu s left", (unsigned long long)((left + 999) / 1000));
}

/* The reason as status and logs show it. */
const char *bs_reason(const struct facts *f, char *buf, size_t len)
{
	char drain[48] = "";

	if (f->drain_until)
		drain_text(f->drain_until, drain, sizeof(drain));
	switch (f->state) {
	case BS_SLOW_START:
		snprintf(buf, len, "slow start %u%%", f->weight ? f->eff * 100 / f->weight : 0);
		break;
	case BS_UNHEALTHY:
		snprintf(buf, len, "unhealthy: %s%s", f->why ? f->why : "failed",
			 f->open ? "; fail open: every backend fails its check" : "");
		break;
	case BS_NOT_READY:
		snprintf(buf, len, "not ready%s", cause_text(f->cause));
		break;
	case BS_TERMINATING:
		snprintf(buf, len, "terminating%s%s%s%s", cause_text(f->cause), *drain ? ", " : "",
			 drain, f->fallback ? "; still serving: no ready backend" : "");
		break;
	case BS_DRAINING:
		snprintf(buf, len, "removed, %s", drain);
		break;
	case BS_NOT_LOCAL:
		snprintf(buf, len, "not local");
		break;
	case BS_HEALTHY:
		snprintf(buf, len, "healthy");
		break;
	default:
		snprintf(buf, len, "new");
	}
	return buf;
}

void bs_say_move(const char *service, const char *id, const struct vaddr *ip,
		     uint16_t port, enum vlog_level level, const struct facts *was,
		     const struct facts *now)
{
	char a[REASON_LEN], b[REASON_LEN], addr[ADDR_STRLEN];

	vlog(level, "service \"%s\" backend %s (%s port %u): %s -> %s", service, id,
	     addr_format(ip, addr), port, bs_reason(was, a, sizeof(a)), bs_reason(now, b, sizeof(b)));
}

static void rec_view(struct bstate *bs, const struct rec *r, struct bs_view *v)
{
	*v = (struct bs_view){
		.service = r->sv->name, .id = r->id, .ip = &r->ip, .port = r->port,
		.state = r->f.state, .weight = r->f.weight, .effective = r->f.eff,
		.reason = bs_reason(&r->f, bs->view_reason, sizeof(bs->view_reason)),
		.source = r->source, .since_ms = r->since,
	};
}

static void drain_view(struct bstate *bs, const struct drain *d, struct bs_view *v)
{
	struct facts f = { .state = BS_DRAINING, .weight = d->weight, .drain_until = d->until };

	*v = (struct bs_view){
		.service = d->sv->name, .id = d->id, .ip = &d->ip, .port = d->port,
		.state = BS_DRAINING, .weight = d->weight,
		.reason = bs_reason(&f, bs->view_reason, sizeof(bs->view_reason)),
		.source = d->source, .since_ms = d->since,
	};
}

static void plain_view(struct bstate *bs, const struct service *svc, const struct endpoint *ep,
		       struct bs_view *v)
{
	struct facts f = {
		.state = ep->bs_state - 1, .cause = ep->cause, .weight = ep->weight,
		.eff = ep->bs_weight,
	};

	f.fallback = f.state == BS_TERMINATING && f.eff;
	*v = (struct bs_view){
		.service = svc->name, .id = ep->id, .ip = &ep->ip,
		.port = svc->n_ports ? endpoint_port_for(ep, &svc->ports[0]) : 0,
		.state = f.state, .weight = f.weight, .effective = f.eff,
		.reason = bs_reason(&f, bs->view_reason, sizeof(bs->view_reason)),
		.source = ep->source, .since_ms = ep->bs_since,
	};
}

bool bs_view(struct bstate *bs, const struct service *svc, const struct endpoint *ep,
	     struct bs_view *v)
{
	char key[KEY_MAX];
	const struct rec *r;

	if (!ep->bs_state)	/* not decided yet */
		return false;
	r = hmap_get(bs->recs, key, key_of(key, svc->name, ep->source, ep->id));
	if (r)
		rec_view(bs, r, v);
	else
		plain_view(bs, svc, ep, v);
	return true;
}

bool bs_next_drain(struct bstate *bs, const char *service, struct bs_iter *it,
		   struct bs_view *v)
{
	const struct bs_svc *sv;

	if (!it->drains) {
		it->drains = true;
		sv = hmap_get_str(bs->svcs, service);
		it->d = sv ? sv->drains : NULL;
	}
	while (it->d && it->d->rec)	/* shown with its record */
		it->d = it->d->next;
	if (!it->d)
		return false;
	drain_view(bs, it->d, v);
	it->d = it->d->next;
	return true;
}

void bs_check_stats(const struct bstate *bs, struct checker_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (bs->checker)
		checker_stats(bs->checker, st);
}

/* The model's services and endpoints (a record's view where there is
 * one), then the drains of backends that left. */
bool bs_next(struct bstate *bs, struct bs_iter *it, struct bs_view *v)
{
	struct bs_svc *sv;

	while (!it->drains) {
		if (it->svc && it->i < it->n) {
			if (bs_view(bs, it->svc, it->eps[it->i++], v))
				return true;
			continue;
		}
		if ((it->name = model_service_next(bs->model, &it->sit))) {
			it->svc = model_service_get(bs->model, it->name);
			it->n = model_endpoints_get(bs->model, it->name, &it->eps);
			it->i = 0;
		} else {
			it->drains = true;
		}
	}
	for (;;) {
		while (it->d && it->d->rec)	/* shown with its record */
			it->d = it->d->next;
		if (it->d) {
			drain_view(bs, it->d, v);
			it->d = it->d->next;
			return true;
		}
		if (!hmap_next(bs->svcs, &it->dit, NULL, NULL, (void **)&sv))
			return false;
		it->d = sv->drains;
	}
}

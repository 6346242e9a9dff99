/* Active checks: a probe per interval per backend, counted into a verdict.
 *
 * Each check has its own loop timer. The first probe fires at a random
 * point of the first interval and every later one an interval (+-10 %)
 * after the previous one started, so a thousand backends added in one
 * batch are probed spread over the interval, not in one burst, and stay
 * spread (HAProxy's spread-checks does the same).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "health.h"
#include "log.h"
#include "loop.h"
#include "probe.h"

#define WHY_LEN 96

struct checker {
	struct loop *loop;
	struct prober *pr;
	uint64_t rng;
	unsigned checks;
	uint64_t ok, failed;
};

struct check {
	struct checker *ck;
	struct vaddr addr;
	uint16_t port;
	struct health_spec spec;	/* path: our own copy */
	check_cb cb;
	void *arg;
	uint64_t timer, started;
	struct probe *probe;
	unsigned ok_run, fail_run;
	bool healthy;
	char why[WHY_LEN];		/* of the verdict last told */
};

/* xorshift64*: jitter needs no quality, only no two nodes or checks in
 * step; rand() would share its state with whoever else calls it. */
static uint32_t rnd(struct checker *ck)
{
	ck->rng ^= ck->rng >> 12;
	ck->rng ^= ck->rng << 25;
	ck->rng ^= ck->rng >> 27;
	return (uint32_t)((ck->rng * 2685821657736338717ull) >> 32);
}

struct checker *checker_alloc(struct loop *loop)
{
	struct checker *ck = calloc(1, sizeof(*ck));
	struct timespec ts;

	if (!ck)
		return NULL;
	ck->loop = loop;
	if (!(ck->pr = prober_alloc(loop))) {
		free(ck);
		return NULL;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ck->rng = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 40) ^ 1;
	return ck;
}

void checker_free(struct checker *ck)
{
	if (!ck)
		return;
	prober_free(ck->pr);	/* probes in flight: no callbacks */
	free(ck);
}

static void on_timer(struct loop *l, void *arg);

/* The next probe, delay ms from now; a check with no timer is stuck
 * (healthy or not, for ever), so running out is said. */
static void arm(struct check *c, uint64_t delay)
{
	c->timer = loop_timer_add(c->ck->loop, delay, on_timer, c);
	if (!c->timer)
		log_err("health: out of memory arming a check timer; a backend goes unchecked");
}

static uint64_t next_delay(struct check *c)
{
	uint32_t iv = c->spec.interval_ms, span = iv / 5 + 1;
	uint64_t due = c->started + iv - iv / 10 + rnd(c->ck) % span, now = loop_now_ms();

	return due > now ? due - now : 0;
}

/* A verdict changes after fall failures or rise successes in a row; an
 * unhealthy backend whose failure changed (HTTP 500, then refused) is
 * told again, so its reason stays true. */
static void on_probe(struct probe *p, bool ok, const char *why, void *arg)
{
	struct check *c = arg;
	bool was = c->healthy, tell = false;
	char text[WHY_LEN];

	c->probe = NULL;
	ok ? c->ck->ok++ : c->ck->failed++;
	if (ok) {
		c->fail_run = 0;
		c->ok_run++;
		if (!c->healthy && c->ok_run >= c->spec.rise)
			c->healthy = tell = true;
	} else {
		c->ok_run = 0;
		c->fail_run++;
		if (c->fail_run >= c->spec.fall)
			c->healthy = false;
	}
	if (!c->healthy && !ok) {
		/* it turned unhealthy after fall failures: the count that says
		 * so stays while it is out, whatever came between */
		snprintf(text, sizeof(text), "%s (%u of %u)", why, (unsigned)c->spec.fall,
			 (unsigned)c->spec.fall);
		if (was || strcmp(text, c->why)) {
			memcpy(c->why, text, sizeof(text));
			tell = true;
		}
	} else if (c->healthy) {
		c->why[0] = '\0';
	}
	arm(c, next_delay(c));
	if (tell)
		c->cb(c, c->healthy, c->why, c->arg);	/* may stop c: last */
}

static void on_timer(struct loop *l, void *arg)
{
	struct check *c = arg;
	const struct health_spec *s = &c->spec;

	c->timer = 0;
	c->started = loop_now_ms();
	c->probe = s->http ? probe_http(c->ck->pr, &c->addr, c->port, s->path ? s->path : "/",
					s->expect, s->timeout_ms, on_probe, c)
			   : probe_tcp(c->ck->pr, &c->addr, c->port, s->timeout_ms, on_probe, c);
	if (!c->probe)	/* out of memory: try again next interval */
		arm(c, next_delay(c));
}

struct check *check_start(struct checker *ck, const struct vaddr *addr, uint16_t port,
			  const struct health_spec *spec, bool healthy, check_cb cb, void *arg)
{
	struct check *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	*c = (struct check){
		.ck = ck, .addr = *addr, .port = port, .spec = *spec,
		.cb = cb, .arg = arg, .healthy = healthy,
	};
	c->spec.path = spec->path ? strdup(spec->path) : NULL;
	if (spec->path && !c->spec.path) {
		free(c);
		return NULL;
	}
	if (!(c->timer = loop_timer_add(ck->loop, rnd(ck) % (spec->interval_ms + 1), on_timer, c))) {
		free(c->spec.path);
		free(c);
		return NULL;
	}
	ck->checks++;
	return c;
}

void check_stop(struct check *c)
{
	if (!c)
		return;
	if (c->timer)
		loop_timer_del(c->ck->loop, c->timer);
	if (c->probe)
		probe_cancel(c->probe);
	c->ck->checks--;
	free(c->spec.path);
	free(c);
}

static bool str_same(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

bool check_target_same(const struct check *c, const struct vaddr *addr, uint16_t port,
		       const struct health_spec *s)
{
	const struct health_spec *o = &c->spec;

	return addr_equal(&c->addr, addr) && c->port == port && o->http == s->http &&
	       str_same(o->path, s->path) && o->expect == s->expect;
}

bool check_same(const struct check *c, const struct vaddr *addr, uint16_t port,
		const struct health_spec *s)
{
	const struct health_spec *o = &c->spec;

	return check_target_same(c, addr, port, s) && o->interval_ms == s->interval_ms &&
	       o->timeout_ms == s->timeout_ms && o->rise == s->rise && o->fall == s->fall;
}

void checker_stats(const struct checker *ck, struct checker_stats *st)
{
	st->checks = ck->checks;
	st->probes_ok = ck->ok;
	st->probes_failed = ck->failed;
}

/* health.h: active health checks of backends, scheduled on the event loop.
 *
 * A check probes one backend every interval (TCP connect or HTTP GET, see
 * probe.h), jittered so that many checks do not fire together, and turns
 * the probes into a verdict: a backend starts healthy (a vipd restart
 * moves no traffic), turns unhealthy after `fall` failures in a row and
 * healthy again after `rise` successes in a row.
 */
#ifndef VIPD_HEALTH_H
#define VIPD_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "model.h"

struct loop;
struct checker;
struct check;

/* Runs at each change of verdict. why: "" when healthy, else what the
 * last probe saw and the count, "HTTP 500 (3 of 3)"; borrowed for the
 * call. The callback may stop any check, its own included. */
typedef void (*check_cb)(struct check *c, bool healthy, const char *why, void *arg);

/* Owned by the caller; checker_free stops every check. */
struct checker *checker_alloc(struct loop *loop);
void checker_free(struct checker *ck);

/* Starts checking addr:port as spec says (spec->enabled must be set; the
 * path is copied), with the verdict healthy (a new backend: true; one
 * whose check only got new timings: what it had). NULL when out of
 * memory. */
struct check *check_start(struct checker *ck, const struct vaddr *addr, uint16_t port,
			  const struct health_spec *spec, bool healthy, check_cb cb, void *arg);
/* Stops the check (never calls back) and frees it; NULL is fine. */
void check_stop(struct check *c);
/* Whether a running check would be the same as one started with these;
 * whether it probes the same thing the same way (timings aside). */
bool check_same(const struct check *c, const struct vaddr *addr, uint16_t port,
		const struct health_spec *spec);
bool check_target_same(const struct check *c, const struct vaddr *addr, uint16_t port,
		       const struct health_spec *spec);

/* Counts for tests and metrics. */
struct checker_stats {
	unsigned checks;
	uint64_t probes_ok, probes_failed;
};
void checker_stats(const struct checker *ck, struct checker_stats *st);

#endif

/* slots.h: how a service's backends share its slots.
 *
 * The datapath picks slot = hash-or-random mod N, so a backend holding k of N
 * slots gets k/N of new connections. Weights become slot counts here.
 */
#ifndef VIPD_SLOTS_H
#define VIPD_SLOTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Every distinct N is a class chain (lb-N, rr-N, sh-N), so N is bounded:
 * 1024 keeps weight ratios within 0.1% and the chain count small. */
#define SLOTS_MAX 1024

/* Weights whose reduced sum passes the cap are approximated by the fewest
 * slots (at most SLOTS_SEARCH_MAX) that give every backend its share within
 * SLOTS_TOLERANCE_PCT percent of it, or SLOTS_TOLERANCE_PERMILLE of all
 * connections, whichever is looser: 7 backends of weights 100..550 get a
 * few hundred slots instead of 1024. With more backends than
 * SLOTS_SEARCH_BACKENDS the search is skipped (its cost grows with n^2). */
#define SLOTS_TOLERANCE_PCT		1
#define SLOTS_TOLERANCE_PERMILLE	1
#define SLOTS_SEARCH_MAX		512
#define SLOTS_SEARCH_BACKENDS		64
/* Whether count[] (slots of each backend) holds weights[] within that
 * tolerance. */
bool slots_close(const uint32_t *weights, const uint32_t *count, size_t n);

/* The maglev table: always this many slots, whatever the backends. A
 * size that changed with n would reshuffle every client when n crossed
 * the threshold; the largest one under SLOTS_MAX samples the weights
 * best: a backend's slot count is binomial(1021, w / sum), so at 1:3 the
 * light one's share has a standard error of 5.4% of itself (11% at 251
 * slots), and n equal backends sqrt((n - 1) / 1021) each (9.4% at 10).
 * A prime is no longer needed (Maglev's skips needed it); 1021 keeps the
 * sh-1021 chain of the large tables vipd already programmed. */
#define MAGLEV_SLOTS 1021

/* Both return the number of slots N filled, 0 only when n == 0 (a service
 * without backends), or a negative errno: -ENOMEM, or -ENOSPC when cap
 * cannot hold a table. A caller must never plan "no endpoints" from an
 * error: clients would get resets from a service that has backends. */

/* Fills out[0..N) with indexes into weights[0..n), slots of one backend
 * spread evenly (smooth weighted round robin). N <= cap; the ratios are
 * exact when the reduced weights fit in cap, else within the tolerance
 * above when it can be had in SLOTS_SEARCH_MAX slots, else as near as cap
 * slots allow (every backend keeps a slot while n <= cap). */
ssize_t slots_fill(const uint32_t *weights, size_t n, uint16_t *out, size_t cap);

/* Maglev: keys[i] identifies backend i the same way on every node (hash of
 * its address and port), weights[i] its weight (0: no slots). Each slot
 * goes to the backend of the highest weighted rendezvous score for it, so
 * a backend gets a weight-proportional share of the MAGLEV_SLOTS slots
 * (within sampling error, not exactly), the table depends only on the set
 * of (key, weight) pairs, and a backend leaving or joining moves only
 * slots it had or takes. N is MAGLEV_SLOTS; -EINVAL when every weight is
 * 0 or n does not fit out[]'s indexes. */
ssize_t slots_maglev(const uint64_t *keys, const uint32_t *weights, size_t n, uint16_t *out,
		     size_t cap);

#endif

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

/* Maglev lookup tables: primes, so every skip visits every slot. */
#define MAGLEV_SMALL 251
#define MAGLEV_LARGE 1021

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
 * its address and port). N is the table size. */
ssize_t slots_maglev(const uint64_t *keys, size_t n, uint16_t *out, size_t cap);

#endif

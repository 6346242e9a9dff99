/* slots.h: how a service's backends share its slots.
 *
 * The datapath picks slot = hash-or-random mod N, so a backend holding k of N
 * slots gets k/N of new connections. Weights become slot counts here.
 */
#ifndef VIPD_SLOTS_H
#define VIPD_SLOTS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Every distinct N is a class chain (lb-N, rr-N, sh-N), so N is bounded:
 * 1024 keeps weight ratios within 0.1% and the chain count small. */
#define SLOTS_MAX 1024

/* Maglev lookup tables: primes, so every skip visits every slot. */
#define MAGLEV_SMALL 251
#define MAGLEV_LARGE 1021

/* Both return the number of slots N filled, 0 only when n == 0 (a service
 * without backends), or a negative errno: -ENOMEM, or -ENOSPC when cap
 * cannot hold a table. A caller must never plan "no endpoints" from an
 * error: clients would get resets from a service that has backends. */

/* Fills out[0..N) with indexes into weights[0..n), slots of one backend
 * spread evenly (smooth weighted round robin). N <= cap; the ratios are
 * exact when the reduced weights fit in cap, else as near as integers allow
 * (every backend keeps a slot while n <= cap). */
ssize_t slots_fill(const uint32_t *weights, size_t n, uint16_t *out, size_t cap);

/* Maglev: keys[i] identifies backend i the same way on every node (hash of
 * its address and port). N is the table size. */
ssize_t slots_maglev(const uint64_t *keys, size_t n, uint16_t *out, size_t cap);

#endif

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "slots.h"

static uint32_t gcd(uint32_t a, uint32_t b)
{
	while (b) {
		uint32_t t = a % b;

		a = b;
		b = t;
	}
	return a;
}

/* Brings counts down to a total of at most cap, keeping every backend
 * (while there are fewer backends than slots) and the ratios as near as
 * integers allow. */
static void scale(uint32_t *count, size_t n, size_t cap)
{
	uint64_t total = 0, sum = 0;

	for (size_t i = 0; i < n; i++)
		total += count[i];
	if (total <= cap)
		return;
	for (size_t i = 0; i < n; i++) {
		uint64_t c = (uint64_t)count[i] * cap / total;

		count[i] = c ? (uint32_t)c : (i < cap ? 1 : 0);
		sum += count[i];
	}
	while (sum > cap) {
		size_t big = 0;

		for (size_t i = 1; i < n; i++)
			if (count[i] > count[big])
				big = i;
		count[big]--;
		sum--;
	}
}

/* Whether count[i] of slots is within the tolerance of r[i] of rsum. */
static bool shares_close(const uint32_t *r, const uint32_t *count, size_t n, uint64_t rsum,
			 uint64_t slots)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t want = slots * r[i], have = (uint64_t)count[i] * rsum;
		uint64_t err = want > have ? want - have : have - want;
		uint64_t rel = want * SLOTS_TOLERANCE_PCT / 100;
		uint64_t abs = slots * rsum * SLOTS_TOLERANCE_PERMILLE / 1000;

		if (err > (rel > abs ? rel : abs))
			return false;
	}
	return true;
}

bool slots_close(const uint32_t *weights, const uint32_t *count, size_t n)
{
	uint64_t wsum = 0, slots = 0;

	for (size_t i = 0; i < n; i++) {
		wsum += weights[i];
		slots += count[i];
	}
	return wsum && slots && shares_close(weights, count, n, wsum, slots);
}

/* N slots shared in proportion to r[] (sum rsum) by largest remainder,
 * every backend keeping one. Returns whether each share is within
 * SLOTS_TOLERANCE of its weight's. */
static bool apportion(const uint32_t *r, size_t n, uint64_t rsum, size_t slots,
		      uint32_t *count)
{
	size_t sum = 0;

	for (size_t i = 0; i < n; i++) {
		uint64_t c = (uint64_t)slots * r[i] / rsum;

		count[i] = c ? (uint32_t)c : 1;
		sum += count[i];
	}
	while (sum < slots) {		/* the largest remainders take the rest */
		size_t best = 0;
		uint64_t best_rem = 0;

		for (size_t i = 0; i < n; i++) {
			uint64_t want = (uint64_t)slots * r[i], have = (uint64_t)count[i] * rsum;
			uint64_t rem = want > have ? want - have : 0;

			if (rem > best_rem)
				best = i, best_rem = rem;
		}
		count[best]++;
		sum++;
	}
	/* the ones kept at 1 may have taken too many */
	return sum == slots && shares_close(r, count, n, rsum, slots);
}

/* The slot count of each backend: the reduced weights when they fit in
 * cap (exact), else the fewest slots that hold every share within the
 * tolerance, else cap slots as near as integers allow. Fewer slots are
 * fewer kernel elements, and a weight change rewrites fewer of them.
 * Returns the total. */
static size_t counts(const uint32_t *weights, size_t n, size_t cap, uint32_t *count)
{
	uint32_t g = 0;
	uint64_t rsum = 0;
	size_t total = 0;

	for (size_t i = 0; i < n; i++)
		g = gcd(g, weights[i]);
	for (size_t i = 0; i < n; i++) {
		count[i] = weights[i] / (g ? g : 1);
		rsum += count[i];
	}
	if (rsum > cap && n <= SLOTS_SEARCH_BACKENDS) {
		uint32_t *r = malloc(n * sizeof(*r));

		if (r) {
			memcpy(r, count, n * sizeof(*r));
			for (size_t slots = n; slots <= cap && slots <= SLOTS_SEARCH_MAX; slots++)
				if (apportion(r, n, rsum, slots, count)) {
					rsum = slots;
					break;
				}
			if (rsum > cap)
				memcpy(count, r, n * sizeof(*r));
			free(r);
		}
	}
	scale(count, n, cap);
	g = 0;
	for (size_t i = 0; i < n; i++)
		g = gcd(g, count[i]);
	for (size_t i = 0; i < n; i++) {
		count[i] /= g ? g : 1;
		total += count[i];
	}
	return total;
}

ssize_t slots_fill(const uint32_t *weights, size_t n, uint16_t *out, size_t cap)
{
	uint32_t *count;
	int64_t *cur;
	size_t total = 0;

	if (!n)
		return 0;
	if (!cap)
		return -ENOSPC;
	count = malloc(n * sizeof(*count));
	cur = calloc(n, sizeof(*cur));
	if (!count || !cur) {
		free(count);
		free(cur);
		return -ENOMEM;
	}
	total = counts(weights, n, cap, count);
	if (!total) {		/* every weight 0: nothing to share by */
		free(count);
		free(cur);
		return -EINVAL;
	}
	/* Smooth weighted round robin: every round the backend furthest
	 * behind its share takes the slot, so a backend's slots are spread
	 * out, and round-robin over slots follows the weights smoothly. */
	for (size_t s = 0; s < total; s++) {
		size_t best = 0;

		for (size_t i = 0; i < n; i++) {
			cur[i] += count[i];
			if (cur[i] > cur[best])
				best = i;
		}
		cur[best] -= (int64_t)total;
		out[s] = (uint16_t)best;
	}
	free(count);
	free(cur);
	return (ssize_t)total;
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

ssize_t slots_maglev(const uint64_t *keys, size_t n, uint16_t *out, size_t cap)
{
	size_t m = n * 10 <= MAGLEV_SMALL ? MAGLEV_SMALL : MAGLEV_LARGE;
	size_t *next, filled = 0;

	if (!n)
		return 0;
	if (m > cap)
		return -ENOSPC;
	if (n > m)
		n = m;
	next = calloc(n, sizeof(*next));
	if (!next)
		return -ENOMEM;
	for (size_t s = 0; s < m; s++)
		out[s] = UINT16_MAX;
	/* Each backend walks its own permutation of the table (offset and
	 * skip from its key) and takes its next free slot, in turns, until
	 * the table is full: a backend leaving frees only its own slots. */
	while (filled < m) {
		for (size_t i = 0; i < n && filled < m; i++) {
			uint64_t offset = mix(keys[i]) % m;
			uint64_t skip = mix(keys[i] ^ 0x9e3779b97f4a7c15ULL) % (m - 1) + 1;
			size_t s;

			do {
				s = (offset + next[i]++ * skip) % m;
			} while (out[s] != UINT16_MAX);
			out[s] = (uint16_t)i;
			filled++;
		}
	}
	free(next);
	return (ssize_t)m;
}

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

/* murmur3's 64-bit finaliser: every input bit flips every output bit
 * with probability near 1/2, so consecutive slots and nearby keys give
 * unrelated draws. */
static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

/* The fraction bits of -log2 below, within about one unit of the true
 * value: a winning draw is near 1.4 / n, so two draws that round alike are
 * rare even at n = 1024, and those go to the next rule of hrw_beats, not
 * to a biased coin. With 63 integer bits a draw stays under 2^30, so a
 * draw times a 32-bit weight fits in 64 bits. */
#define HRW_FRAC_BITS 24

/* -log2(x / 2^63) in fixed point (HRW_FRAC_BITS), for x in [1, 2^63]: an
 * exponential draw from a uniform one. Integers only, so every node gets
 * the same bits: libm's log is not required to round alike everywhere,
 * and a compiler may fuse float operations on one machine, not another.
 * The fraction comes from repeated squaring of the mantissa in Q31, whose
 * square still fits in 64 bits; floors keep the order, so the result
 * never rises as x grows (hrw_beats relies on that). */
static uint64_t neglog2(uint64_t x)
{
	int p = 63 - __builtin_clzll(x);
	uint64_t m = p >= 31 ? x >> (p - 31) : x << (31 - p);
	uint64_t frac = 0;

	for (int b = 0; b < HRW_FRAC_BITS; b++) {
		uint64_t bit;

		m = m * m >> 31;	/* in [1, 4): bit 32 is the next bit */
		bit = m >> 32;
		frac = frac << 1 | bit;
		m >>= bit;
	}
	return ((uint64_t)(63 - p) << HRW_FRAC_BITS) - frac;
}

/* One backend's draw for one slot: u = x / 2^63, x in [1, 2^63], from the
 * key and the slot alone, never from the other backends; e is -log2(u),
 * computed only when needed (HRW_NO_E until then). */
struct hrw {
	uint64_t key, x, e;
	uint32_t w;
};
#define HRW_NO_E UINT64_MAX

static void hrw_draw(struct hrw *d, uint64_t key, uint32_t w, size_t s)
{
	uint64_t h = mix(mix(key) + ((uint64_t)s + 1) * 0x9e3779b97f4a7c15ULL);

	d->key = key;
	d->w = w;
	d->x = (h >> 1) + 1;
	d->e = HRW_NO_E;
}

static uint64_t hrw_e(struct hrw *d)
{
	if (d->e == HRW_NO_E)
		d->e = neglog2(d->x);
	return d->e;
}

/* Whether a beats b for a slot. The order: smaller e / w first (weighted
 * rendezvous: the largest w / -ln(u); the log's base cancels), compared
 * by cross products, exact in integers; then larger x (e is x rounded);
 * then smaller key, so the winner never depends on input order (equal
 * keys, one address and port twice, stay with the earlier, which the
 * caller's sort fixes). Since e falls as x grows, x alone decides when
 * the weights are equal or favour the same backend as x does: no log
 * for most pairs, none at all with equal weights. */
static bool hrw_beats(struct hrw *a, struct hrw *b)
{
	uint64_t p, q;

	if (a->x != b->x && (a->w == b->w || (a->w > b->w) == (a->x > b->x)))
		return a->x > b->x;
	p = hrw_e(a) * b->w;
	q = hrw_e(b) * a->w;
	if (p != q)
		return p < q;
	if (a->x != b->x)
		return a->x > b->x;
	return a->key < b->key;
}

/* The backend of slot s: the best draw of those with a weight. */
static uint16_t hrw_owner(const uint64_t *keys, const uint32_t *weights, size_t n, size_t s)
{
	struct hrw best = { .w = 0 }, d;
	uint16_t owner = 0;

	for (size_t i = 0; i < n; i++) {
		if (!weights[i])
			continue;
		hrw_draw(&d, keys[i], weights[i], s);
		if (!best.w || hrw_beats(&d, &best)) {
			best = d;
			owner = (uint16_t)i;
		}
	}
	return owner;
}

ssize_t slots_maglev(const uint64_t *keys, const uint32_t *weights, size_t n, uint16_t *out,
		     size_t cap)
{
	size_t live = 0;

	if (!n)
		return 0;
	if (MAGLEV_SLOTS > cap)
		return -ENOSPC;
	if (n > UINT16_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		live += weights[i] != 0;
	if (!live)		/* every weight 0: nothing to share by */
		return -EINVAL;
	/* A draw depends only on (key, weight, slot), so a backend leaving
	 * frees exactly its slots, one joining takes slots only for itself,
	 * and the table is the same whatever the history or order of the
	 * set; backend i wins a slot with probability w_i / sum(w). */
	for (size_t s = 0; s < MAGLEV_SLOTS; s++)
		out[s] = hrw_owner(keys, weights, n, s);
	return MAGLEV_SLOTS;
}

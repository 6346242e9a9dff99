/* Weights to slots: shares follow weights, slots of one backend spread
 * out; maglev's table holds weights (within sampling error), depends only
 * on the set of backends, and moves only the slots of a backend that
 * leaves or joins. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "slots.h"

static uint16_t out[SLOTS_MAX];

static size_t count(size_t n, uint16_t who)
{
	size_t c = 0;

	for (size_t i = 0; i < n; i++)
		c += out[i] == who;
	return c;
}

static void equal_weights(void **state)
{
	const uint32_t w[] = { 100, 100, 100 };

	assert_int_equal(slots_fill(w, 3, out, SLOTS_MAX), 3);
	assert_int_equal(count(3, 0), 1);
	assert_int_equal(count(3, 1), 1);
	assert_int_equal(count(3, 2), 1);
}

static void ratios(void **state)
{
	const uint32_t a[] = { 25, 100 };
	const uint32_t b[] = { 1, 2, 7 };
	size_t n;

	n = slots_fill(a, 2, out, SLOTS_MAX);
	assert_int_equal(n, 5);
	assert_int_equal(count(n, 0), 1);
	n = slots_fill(b, 3, out, SLOTS_MAX);
	assert_int_equal(n, 10);
	assert_int_equal(count(n, 2), 7);
	/* spread: the heavy backend never holds more than 3 slots in a row */
	for (size_t i = 0; i + 3 < n; i++)
		assert_false(out[i] == 2 && out[i + 1] == 2 && out[i + 2] == 2 && out[i + 3] == 2);
}

static void capped(void **state)
{
	uint32_t w[3] = { 10000, 9999, 1 };
	size_t n = slots_fill(w, 3, out, SLOTS_MAX);

	assert_true(n <= SLOTS_MAX);
	assert_true(count(n, 2) >= 1);		/* every backend keeps a slot */
	assert_true(count(n, 0) >= count(n, 1));
}

static void more_backends_than_slots(void **state)
{
	static uint32_t w[SLOTS_MAX + 10];
	size_t n;

	for (size_t i = 0; i < SLOTS_MAX + 10; i++)
		w[i] = 1;
	n = slots_fill(w, SLOTS_MAX + 10, out, SLOTS_MAX);
	assert_int_equal(n, SLOTS_MAX);
}

/* Weights are reduced before anything else: scaling first to the cap
 * turned 1000:2000:3000 into 1,023 slots (170:341:512). */
static void reduced_first(void **state)
{
	const uint32_t w[] = { 1000, 2000, 3000 };
	size_t n = slots_fill(w, 3, out, SLOTS_MAX);

	assert_int_equal(n, 6);
	assert_int_equal(count(n, 0), 1);
	assert_int_equal(count(n, 1), 2);
	assert_int_equal(count(n, 2), 3);
}

/* Weights that do not reduce below the cap take the fewest slots that
 * hold every share within the tolerance, not the cap. */
static void fewest_slots_within_tolerance(void **state)
{
	uint32_t seed = 12345, w[10], c[10];
	size_t worst = 0;

	for (int round = 0; round < 200; round++) {
		size_t k = 7 + (size_t)round % 4, n;

		for (size_t i = 0; i < k; i++) {
			seed = seed * 1103515245u + 12345u;
			w[i] = 100 + (seed >> 16) % 451;	/* 100..550 */
		}
		n = (size_t)slots_fill(w, k, out, SLOTS_MAX);
		assert_true(n >= k && n <= SLOTS_SEARCH_MAX);
		for (size_t i = 0; i < k; i++)
			c[i] = (uint32_t)count(n, (uint16_t)i);
		assert_true(slots_close(w, c, k));
		worst = n > worst ? n : worst;
	}
	print_message("weights 100..550 over 7..10 backends: at most %zu slots\n", worst);
}

/* ---- maglev -------------------------------------------------------------- */

static uint64_t rng = 0x5eed;

static uint64_t next_rand(void)
{
	rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
	return rng >> 11 ^ rng << 31;
}

/* The table as backend keys, so tables of differently ordered or sized
 * inputs compare. */
static void maglev_keys(const uint64_t *keys, const uint32_t *w, size_t n, uint64_t *owner)
{
	assert_int_equal(slots_maglev(keys, w, n, out, SLOTS_MAX), MAGLEV_SLOTS);
	for (size_t s = 0; s < MAGLEV_SLOTS; s++) {
		assert_true(out[s] < n);
		owner[s] = keys[out[s]];
	}
}

/* A backend's slot count is binomial(1021, w / sum): at 1:3 the light
 * one's share has a standard error of 0.0136 (13.8 slots). Every one of
 * 200 key pairs is within 4 of those (55 slots), and their mean within 4
 * of the mean's (0.0038). (Maglev's own fill ignored weights: about
 * half each.) */
static void maglev_weights(void **state)
{
	const uint32_t w[] = { 100, 300 };
	uint64_t keys[2];
	size_t sum = 0, lo = SIZE_MAX, hi = 0;

	for (int r = 0; r < 200; r++) {
		size_t c;

		keys[0] = next_rand();
		keys[1] = next_rand();
		assert_int_equal(slots_maglev(keys, w, 2, out, SLOTS_MAX), MAGLEV_SLOTS);
		c = count(MAGLEV_SLOTS, 0);
		assert_true(c >= 255 - 55 && c <= 255 + 55);
		sum += c;
		lo = c < lo ? c : lo;
		hi = c > hi ? c : hi;
	}
	print_message("100:300 over 200 key pairs: light backend %zu..%zu of %d slots, mean %.4f\n",
		      lo, hi, MAGLEV_SLOTS, (double)sum / 200 / MAGLEV_SLOTS);
	assert_true(sum >= 200 * (255 - 4) && sum <= 200 * (256 + 4));
}

/* Equal weights: 10 backends near 102 slots each (standard error 9.6). */
static void maglev_equal(void **state)
{
	const uint32_t w[10] = { 100, 100, 100, 100, 100, 100, 100, 100, 100, 100 };
	uint64_t keys[10];

	for (int i = 0; i < 10; i++)
		keys[i] = 0x1234567ULL * (uint64_t)(i + 1);
	assert_int_equal(slots_maglev(keys, w, 10, out, SLOTS_MAX), MAGLEV_SLOTS);
	for (int i = 0; i < 10; i++)
		assert_true(count(MAGLEV_SLOTS, (uint16_t)i) >= 64 &&
			    count(MAGLEV_SLOTS, (uint16_t)i) <= 141);
}

/* n random backends with random weights, 1..10000 as the model allows. */
static void random_set(uint64_t *keys, uint32_t *w, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		keys[i] = next_rand();
		w[i] = 1 + (uint32_t)(next_rand() % 10000);
	}
}

/* One of N (2..20) leaving, each in turn: every slot it did not hold
 * keeps its backend, and none of its slots stays with it. */
static void maglev_remove_moves_only_its_slots(void **state)
{
	static uint64_t before[MAGLEV_SLOTS], after[MAGLEV_SLOTS];
	uint64_t keys[20], k2[20];
	uint32_t w[20], w2[20];
	size_t moved = 0, freed = 0;

	for (size_t n = 2; n <= 20; n++) {
		random_set(keys, w, n);
		if (n % 2)	/* equal weights too: the path without logs */
			for (size_t i = 0; i < n; i++)
				w[i] = 100;
		maglev_keys(keys, w, n, before);
		for (size_t gone = 0; gone < n; gone++) {
			size_t m = 0;

			for (size_t i = 0; i < n; i++)
				if (i != gone) {
					k2[m] = keys[i];
					w2[m++] = w[i];
				}
			maglev_keys(k2, w2, m, after);
			for (size_t s = 0; s < MAGLEV_SLOTS; s++) {
				if (before[s] == keys[gone])
					freed++;
				else
					moved += before[s] != after[s];
				assert_true(after[s] != keys[gone]);
			}
		}
	}
	print_message("one of 2..20 leaving, 209 times: %zu slots freed, %zu others moved\n",
		      freed, moved);
	assert_int_equal(moved, 0);
}

/* One joining N (1..20): every slot that changes goes to it. */
static void maglev_add_takes_only_for_itself(void **state)
{
	static uint64_t before[MAGLEV_SLOTS], after[MAGLEV_SLOTS];
	uint64_t keys[21];
	uint32_t w[21];

	for (size_t n = 1; n <= 20; n++) {
		size_t taken = 0;

		random_set(keys, w, n + 1);
		maglev_keys(keys, w, n, before);
		maglev_keys(keys, w, n + 1, after);
		for (size_t s = 0; s < MAGLEV_SLOTS; s++)
			if (before[s] != after[s]) {
				assert_true(after[s] == keys[n]);
				taken++;
			}
		assert_true(taken > 0);
	}
}

/* The table is a function of the set: reversed or shuffled input gives
 * the same backend in every slot. */
static void maglev_order_free(void **state)
{
	static uint64_t want[MAGLEV_SLOTS], got[MAGLEV_SLOTS];
	uint64_t keys[16], k2[16];
	uint32_t w[16], w2[16];

	for (int round = 0; round < 20; round++) {
		size_t n = 2 + (size_t)round % 15;

		random_set(keys, w, n);
		if (round % 3 == 0)
			w[1] = w[0];	/* equal weights meet */
		maglev_keys(keys, w, n, want);
		for (size_t i = 0; i < n; i++) {
			k2[i] = keys[n - 1 - i];
			w2[i] = w[n - 1 - i];
		}
		maglev_keys(k2, w2, n, got);
		assert_memory_equal(want, got, sizeof(want));
		for (size_t i = n - 1; i > 0; i--) {	/* Fisher-Yates */
			size_t j = next_rand() % (i + 1);
			uint64_t k = k2[i];
			uint32_t x = w2[i];

			k2[i] = k2[j], k2[j] = k;
			w2[i] = w2[j], w2[j] = x;
		}
		maglev_keys(k2, w2, n, got);
		assert_memory_equal(want, got, sizeof(want));
	}
}

/* A weight of 0 takes no slot; the others share the table. */
static void maglev_weight_zero(void **state)
{
	const uint64_t keys[] = { 11, 22, 33 };
	const uint32_t w[] = { 100, 0, 100 };

	assert_int_equal(slots_maglev(keys, w, 3, out, SLOTS_MAX), MAGLEV_SLOTS);
	assert_int_equal(count(MAGLEV_SLOTS, 1), 0);
	assert_int_equal(count(MAGLEV_SLOTS, 0) + count(MAGLEV_SLOTS, 2), MAGLEV_SLOTS);
}

/* Every node, build and release must compute the same table: a change
 * here moves clients on upgrade, and nodes of two versions disagree. */
static void maglev_pinned(void **state)
{
	const uint64_t keys[] = { 0x0123456789abcdefULL, 0xfedcba9876543210ULL, 42 };
	const uint32_t w[] = { 100, 200, 300 };

	assert_int_equal(slots_maglev(keys, w, 3, out, SLOTS_MAX), MAGLEV_SLOTS);
	assert_int_equal(out[0], 1);
	assert_int_equal(out[1], 2);
	assert_int_equal(out[2], 2);
	assert_int_equal(out[500], 2);
	assert_int_equal(out[1019], 0);
	assert_int_equal(out[1020], 2);
	assert_int_equal(count(MAGLEV_SLOTS, 0), 184);
	assert_int_equal(count(MAGLEV_SLOTS, 1), 309);
	assert_int_equal(count(MAGLEV_SLOTS, 2), 528);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(equal_weights),
		cmocka_unit_test(ratios),
		cmocka_unit_test(capped),
		cmocka_unit_test(more_backends_than_slots),
		cmocka_unit_test(reduced_first),
		cmocka_unit_test(fewest_slots_within_tolerance),
		cmocka_unit_test(maglev_weights),
		cmocka_unit_test(maglev_equal),
		cmocka_unit_test(maglev_remove_moves_only_its_slots),
		cmocka_unit_test(maglev_add_takes_only_for_itself),
		cmocka_unit_test(maglev_order_free),
		cmocka_unit_test(maglev_weight_zero),
		cmocka_unit_test(maglev_pinned),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

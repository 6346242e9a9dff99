/* Weights to slots: shares follow weights, slots of one backend spread
 * out, maglev moves few slots when a backend leaves. */
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

static void maglev_stable(void **state)
{
	uint64_t keys[10];
	uint16_t before[MAGLEV_LARGE];
	size_t m, moved = 0;

	for (int i = 0; i < 10; i++)
		keys[i] = 0x1234567ULL * (uint64_t)(i + 1);
	m = slots_maglev(keys, 10, out, SLOTS_MAX);
	assert_int_equal(m, MAGLEV_SMALL);
	memcpy(before, out, m * sizeof(out[0]));
	for (int i = 0; i < 10; i++)	/* fair within a few slots */
		assert_true(count(m, (uint16_t)i) >= 23 && count(m, (uint16_t)i) <= 27);
	/* backend 9 leaves: only its slots, and few others, move */
	m = slots_maglev(keys, 9, out, SLOTS_MAX);
	assert_int_equal(m, MAGLEV_SMALL);
	/* gone means gone: none of its slots stay (a table left as it was
	 * would move nothing, and pass the count below) */
	assert_int_equal(count(m, 9), 0);
	for (size_t s = 0; s < m; s++)
		if (before[s] != 9 && before[s] != out[s])
			moved++;
	assert_true(moved < m / 10);
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
		cmocka_unit_test(maglev_stable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

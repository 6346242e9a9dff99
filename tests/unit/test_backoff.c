/* Backoff: the delay doubles within its bounds, and two processes (two
 * nodes) draw different jitter, so they do not retry in lockstep. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "loop.h"

#define DRAWS 16

static void draws(uint64_t out[DRAWS])
{
	for (int i = 0; i < DRAWS; i++) {
		uint64_t ms = 0;

		for (int j = 0; j <= i % 5; j++)
			out[i] = backoff_next(&ms, 100, 1000);
	}
}

/* The draws of a fresh process (a child that has not drawn before). */
static void child_draws(uint64_t out[DRAWS])
{
	int fds[2];
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		uint64_t v[DRAWS];

		draws(v);
		_exit(write(fds[1], v, sizeof(v)) == (ssize_t)sizeof(v) ? 0 : 1);
	}
	close(fds[1]);
	assert_int_equal(read(fds[0], out, sizeof(uint64_t) * DRAWS), sizeof(uint64_t) * DRAWS);
	close(fds[0]);
	waitpid(pid, NULL, 0);
}

static void two_processes_differ(void **state)
{
	uint64_t a[DRAWS], b[DRAWS];

	child_draws(a);
	child_draws(b);
	assert_memory_not_equal(a, b, sizeof(a));
}

static void doubles_within_bounds(void **state)
{
	uint64_t ms = 0, d;

	for (uint64_t want = 100; want <= 1000; want *= 2) {
		d = backoff_next(&ms, 100, 1000);
		assert_int_equal(ms, want > 800 ? 1000 : want);
		assert_true(d >= ms / 2 && d <= ms);
	}
	d = backoff_next(&ms, 100, 1000);
	assert_int_equal(ms, 1000);
	assert_true(d >= 500 && d <= 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(two_processes_differ),
		cmocka_unit_test(doubles_within_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

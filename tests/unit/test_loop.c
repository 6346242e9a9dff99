/* The loop's timers: thousands of them fire in due order, any of them can
 * be deleted, ids are unique and never 0, a callback may re-arm its own
 * timer and add or delete others, and a timer re-arming itself at 0 ms
 * does not starve the file descriptors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <cmocka.h>

#include "loop.h"

#define MANY 3000

struct fired {
	struct loop *loop;
	uint64_t due[MANY];	/* when each timer was due at the earliest */
	uint64_t late[MANY];	/* and at the latest (a clock tick apart) */
	int order[MANY];	/* indices in firing order */
	int n;
	int left;		/* stop the loop when it reaches 0 */
};

struct tick {
	struct fired *f;
	int i;
};

static void on_stop(struct loop *l, void *arg)
{
	loop_stop(l);
}

static void on_tick(struct loop *l, void *arg)
{
	struct tick *t = arg;

	assert_true(loop_now_ms() >= t->f->due[t->i]);
	t->f->order[t->f->n++] = t->i;
	if (--t->f->left == 0)
		loop_stop(l);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void fire_in_due_order(void **state)
{
	struct loop *l = loop_alloc();
	struct fired *f = calloc(1, sizeof(*f));
	struct tick *ticks = calloc(MANY, sizeof(*ticks));
	uint64_t ids[MANY];

	srandom(7);
	for (int i = 0; i < MANY; i++) {
		uint64_t ms = (uint64_t)(random() % 60);

		ticks[i] = (struct tick){ .f = f, .i = i };
		f->due[i] = loop_now_ms() + ms;
		ids[i] = loop_timer_add(l, ms, on_tick, &ticks[i]);
		f->late[i] = loop_now_ms() + ms;
		assert_true(ids[i] > 0);
	}
	f->left = MANY;
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(f->n, MANY);
	for (int i = 1; i < MANY; i++)
		assert_true(f->due[f->order[i - 1]] <= f->late[f->order[i]]);
	qsort(ids, MANY, sizeof(ids[0]), cmp_u64);
	for (int i = 1; i < MANY; i++)
		assert_true(ids[i - 1] != ids[i]);
	free(ticks);
	free(f);
	loop_free(l);
}

/* Timers of the same delay fire in the order they were added. */
static void ties_in_order_added(void **state)
{
	struct loop *l = loop_alloc();
	struct fired *f = calloc(1, sizeof(*f));
	struct tick *ticks = calloc(MANY, sizeof(*ticks));
	uint64_t ids[MANY];

	for (int i = 0; i < MANY; i++) {
		ticks[i] = (struct tick){ .f = f, .i = i };
		f->due[i] = loop_now_ms() + 3;
		ids[i] = loop_timer_add(l, 3, on_tick, &ticks[i]);
		/* Some gone from the middle of the heap. */
		if (i % 7 == 3) {
			loop_timer_del(l, ids[i / 2]);
			f->left--;
		}
	}
	f->left += MANY;
	loop_timer_add(l, 50, on_stop, NULL);	/* a bound, should that fail */
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(f->left, 0);
	for (int i = 1; i < f->n; i++)
		assert_true(f->order[i - 1] < f->order[i]);
	qsort(ids, MANY, sizeof(ids[0]), cmp_u64);
	for (int i = 1; i < MANY; i++)
		assert_true(ids[i - 1] != ids[i]);
	free(ticks);
	free(f);
	loop_free(l);
}


/* Deleted timers do not fire, whatever their place in the heap; deleting
 * an id twice, an unknown id, 0 or a fired one does nothing. */
static void delete_any(void **state)
{
	struct loop *l = loop_alloc();
	struct fired *f = calloc(1, sizeof(*f));
	struct tick *ticks = calloc(MANY, sizeof(*ticks));
	uint64_t ids[MANY], fired_id;
	bool gone[MANY] = { false };
	int kept = 0;

	srandom(11);
	for (int i = 0; i < MANY; i++) {
		ticks[i] = (struct tick){ .f = f, .i = i };
		f->due[i] = loop_now_ms() + (uint64_t)(i % 17);
		ids[i] = loop_timer_add(l, (uint64_t)(i % 17), on_tick, &ticks[i]);
	}
	for (int i = 0; i < MANY; i++)
		if (i % 3 == 0 || random() % 4 == 0) {
			loop_timer_del(l, ids[i]);
			loop_timer_del(l, ids[i]);
			gone[i] = true;
		} else {
			kept++;
		}
	loop_timer_del(l, 0);
	loop_timer_del(l, UINT64_MAX);
	loop_timer_del(l, ids[0] + (UINT64_C(1) << 40));
	f->left = -1;
	loop_timer_add(l, 40, on_stop, NULL);
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(f->n, kept);
	for (int i = 0; i < f->n; i++)
		assert_false(gone[f->order[i]]);

	/* A fired id matches nothing, though its slot serves a new timer. */
	fired_id = ids[f->order[0]];
	f->n = 0;
	for (int i = 0; i < MANY; i++)
		ids[i] = loop_timer_add(l, 0, on_tick, &ticks[i]);
	loop_timer_del(l, fired_id);
	for (int i = 0; i < MANY; i++) {
		f->due[i] = 0;
		assert_true(ids[i] != fired_id);
	}
	loop_timer_add(l, 5, on_stop, NULL);
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(f->n, MANY);
	free(ticks);
	free(f);
	loop_free(l);
}

#define REARMS 100000

struct rearm {
	int n;
	uint64_t *ids;
};

static void on_rearm(struct loop *l, void *arg)
{
	struct rearm *r = arg;
	uint64_t id;

	if (r->n == REARMS) {
		loop_stop(l);
		return;
	}
	id = loop_timer_add(l, 0, on_rearm, r);
	assert_true(id > 0);
	r->ids[r->n++] = id;
}

/* One slot reused again and again still yields a new id each time. */
static void rearm_own_ids_unique(void **state)
{
	struct loop *l = loop_alloc();
	struct rearm r = { .ids = calloc(REARMS, sizeof(uint64_t)) };

	assert_true(loop_timer_add(l, 0, on_rearm, &r) > 0);
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(r.n, REARMS);
	qsort(r.ids, REARMS, sizeof(r.ids[0]), cmp_u64);
	for (int i = 1; i < REARMS; i++)
		assert_true(r.ids[i - 1] != r.ids[i]);
	free(r.ids);
	loop_free(l);
}

/* A callback deletes a timer due in the same pass and adds many more. */
struct juggle {
	uint64_t victim;
	int victim_fired, added_fired;
};

static void on_victim(struct loop *l, void *arg)
{
	((struct juggle *)arg)->victim_fired++;
}

static void on_added(struct loop *l, void *arg)
{
	((struct juggle *)arg)->added_fired++;
}

static void on_juggler(struct loop *l, void *arg)
{
	struct juggle *j = arg;

	loop_timer_del(l, j->victim);
	for (int i = 0; i < 500; i++)
		assert_true(loop_timer_add(l, (uint64_t)(i % 5), on_added, j) > 0);
	loop_timer_add(l, 30, on_stop, NULL);
}

static void callback_adds_and_deletes(void **state)
{
	struct loop *l = loop_alloc();
	struct juggle j = { 0 };

	assert_true(loop_timer_add(l, 0, on_juggler, &j) > 0);
	j.victim = loop_timer_add(l, 0, on_victim, &j);
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(j.victim_fired, 0);
	assert_int_equal(j.added_fired, 500);
	loop_free(l);
}

struct spin {
	int spins, reads;
	int fds[2];
};

static void on_spin(struct loop *l, void *arg)
{
	struct spin *s = arg;

	s->spins++;
	loop_timer_add(l, 0, on_spin, s);
}

static void on_readable(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct spin *s = arg;
	char c;

	assert_int_equal(read(fd, &c, 1), 1);
	s->reads++;
	loop_stop(l);
}

/* A 0 ms timer re-armed from its callback fires once per pass, not in a
 * loop of its own: a readable fd is served. */
static void zero_rearm_does_not_starve(void **state)
{
	struct loop *l = loop_alloc();
	struct spin s = { 0 };

	assert_int_equal(pipe(s.fds), 0);
	assert_int_equal(loop_fd_add(l, s.fds[0], EPOLLIN, on_readable, &s), 0);
	assert_true(loop_timer_add(l, 0, on_spin, &s) > 0);
	assert_int_equal(write(s.fds[1], "x", 1), 1);
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(s.reads, 1);
	assert_true(s.spins >= 1 && s.spins <= 2);
	loop_fd_del(l, s.fds[0]);
	close(s.fds[0]);
	close(s.fds[1]);
	loop_free(l);	/* frees the spinning timer */
}

/* The first 64 live timers are there from loop_alloc; more grow. */
static void reserved_then_grow(void **state)
{
	struct loop *l = loop_alloc();
	uint64_t ids[200];

	for (int i = 0; i < 200; i++)
		assert_true((ids[i] = loop_timer_add(l, 1000, on_stop, NULL)) > 0);
	for (int i = 0; i < 200; i += 2)
		loop_timer_del(l, ids[i]);
	for (int i = 0; i < 100; i++)
		assert_true(loop_timer_add(l, 1000, on_stop, NULL) > 0);
	loop_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fire_in_due_order),
		cmocka_unit_test(ties_in_order_added),
		cmocka_unit_test(delete_any),
		cmocka_unit_test(rearm_own_ids_unique),
		cmocka_unit_test(callback_adds_and_deletes),
		cmocka_unit_test(zero_rearm_does_not_starve),
		cmocka_unit_test(reserved_then_grow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

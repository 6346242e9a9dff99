/* An epoll loop in the shape of redis' ae: file events, timers in a binary
 * min-heap, and a before-sleep hook. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>

#include "loop.h"

/* Timer slots allocated with the loop, so that a daemon holding only its
 * handful of timers (one per source state, one per HTTP client, the retry
 * and verify ticks) never needs memory to add one. Health probes hold
 * thousands: the slots then grow by doubling. */
#define TIMERS_RESERVED 64

/* A timer id is its slot's generation above its slot number (plus one, so
 * that no id is 0): loop_timer_del finds the slot without a map, and an id
 * kept after its timer fired or was deleted matches nothing, until one slot
 * has been reused 2^40 times (decades at a thousand re-arms a second). */
#define SLOT_BITS 24
#define SLOT_MASK ((UINT64_C(1) << SLOT_BITS) - 1)
#define NO_POS UINT32_MAX

struct fd_reg {
	int fd;
	bool dead;		/* deleted during dispatch; freed after it */
	loop_fd_cb cb;
	void *arg;
	struct fd_reg *next;
};

struct timer {
	uint64_t id, due;
	uint64_t seq;		/* order of adding: ties on due fire in it */
	loop_cb cb;
	void *arg;
	uint32_t pos;		/* index in the heap, NO_POS when free */
	uint32_t next_free;	/* free slots form a stack */
};

struct loop {
	int epfd;
	bool stop;
	struct fd_reg *fds;
	struct timer *slots;	/* by slot number; realloc may move them */
	uint32_t *heap;		/* slot numbers, earliest (due, seq) first */
	uint32_t n_heap, cap, free_top;
	uint64_t seq;
	loop_cb before_sleep;
	void *before_sleep_arg;
};

uint64_t loop_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t loop_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Slots cap..n-1 become free, pushed so that the lowest is taken first. */
static int timers_grow(struct loop *l, uint32_t n)
{
	struct timer *t = realloc(l->slots, n * sizeof(*t));
	uint32_t *h;

	if (!t)
		return -ENOMEM;
	l->slots = t;
	h = realloc(l->heap, n * sizeof(*h));
	if (!h)
		return -ENOMEM;	/* slots grew alone: harmless, cap did not */
	l->heap = h;
	for (uint32_t i = n; i-- > l->cap;) {
		l->slots[i] = (struct timer){ .pos = NO_POS, .next_free = l->free_top };
		l->free_top = i;
	}
	l->cap = n;
	return 0;
}

struct loop *loop_alloc(void)
{
	struct loop *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->epfd = -1;
	l->free_top = NO_POS;
	if (timers_grow(l, TIMERS_RESERVED) < 0 ||
	    (l->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		free(l->slots);
		free(l->heap);
		free(l);
		return NULL;
	}
	return l;
}

void loop_free(struct loop *l)
{
	if (!l)
		return;
	while (l->fds) {
		struct fd_reg *r = l->fds;

		l->fds = r->next;
		free(r);
	}
	free(l->slots);
	free(l->heap);
	close(l->epfd);
	free(l);
}

static struct fd_reg *fd_find(struct loop *l, int fd)
{
	for (struct fd_reg *r = l->fds; r; r = r->next)
		if (r->fd == fd && !r->dead)
			return r;
	return NULL;
}

int loop_fd_add(struct loop *l, int fd, uint32_t events, loop_fd_cb cb, void *arg)
{
	struct fd_reg *r = calloc(1, sizeof(*r));
	struct epoll_event ev = { .events = events };

	if (!r)
		return -ENOMEM;
	r->fd = fd;
	r->cb = cb;
	r->arg = arg;
	ev.data.ptr = r;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int err = -errno;

		free(r);
		return err;
	}
	r->next = l->fds;
	l->fds = r;
	return 0;
}

int loop_fd_mod(struct loop *l, int fd, uint32_t events)
{
	struct fd_reg *r = fd_find(l, fd);
	struct epoll_event ev = { .events = events, .data.ptr = r };

	if (!r)
		return -ENOENT;
	return epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
}

void loop_fd_del(struct loop *l, int fd)
{
	struct fd_reg *r = fd_find(l, fd);

	if (!r)
		return;
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
	r->dead = true;
}

static void reap(struct loop *l)
{
	for (struct fd_reg **p = &l->fds; *p;) {
		struct fd_reg *r = *p;

		if (r->dead) {
			*p = r->next;
			free(r);
		} else {
			p = &r->next;
		}
	}
}

static bool before(const struct loop *l, uint32_t a, uint32_t b)
{
	const struct timer *x = &l->slots[a], *y = &l->slots[b];

	return x->due < y->due || (x->due == y->due && x->seq < y->seq);
}

static void heap_set(struct loop *l, uint32_t pos, uint32_t slot)
{
	l->heap[pos] = slot;
	l->slots[slot].pos = pos;
}

/* Moves the slot at pos up or down until the heap is ordered again. */
static void heap_fix(struct loop *l, uint32_t pos)
{
	uint32_t slot = l->heap[pos];

	while (pos > 0 && before(l, slot, l->heap[(pos - 1) / 2])) {
		heap_set(l, pos, l->heap[(pos - 1) / 2]);
		pos = (pos - 1) / 2;
	}
	for (;;) {
		uint32_t kid = 2 * pos + 1;

		if (kid >= l->n_heap)
			break;
		if (kid + 1 < l->n_heap && before(l, l->heap[kid + 1], l->heap[kid]))
			kid++;
		if (!before(l, l->heap[kid], slot))
			break;
		heap_set(l, pos, l->heap[kid]);
		pos = kid;
	}
	heap_set(l, pos, slot);
}

/* Takes the timer out of the heap and frees its slot (its id stays, so the
 * next generation differs). */
static void timer_remove(struct loop *l, struct timer *t)
{
	uint32_t pos = t->pos, last = l->heap[--l->n_heap];

	t->pos = NO_POS;
	t->next_free = l->free_top;
	l->free_top = (uint32_t)(t - l->slots);
	if (pos < l->n_heap) {
		heap_set(l, pos, last);
		heap_fix(l, pos);
	}
}

uint64_t loop_timer_add(struct loop *l, uint64_t ms, loop_cb cb, void *arg)
{
	struct timer *t;
	uint32_t slot;

	if (l->free_top == NO_POS &&
	    (l->cap > SLOT_MASK / 2 || timers_grow(l, l->cap * 2) < 0))
		return 0;
	slot = l->free_top;
	t = &l->slots[slot];
	l->free_top = t->next_free;
	t->id = ((t->id >> SLOT_BITS) + 1) << SLOT_BITS | (slot + 1);
	t->due = loop_now_ms() + ms;
	t->seq = ++l->seq;
	t->cb = cb;
	t->arg = arg;
	heap_set(l, l->n_heap++, slot);
	heap_fix(l, t->pos);
	return t->id;
}

void loop_timer_del(struct loop *l, uint64_t id)
{
	uint64_t slot = (id & SLOT_MASK) - 1;

	if (slot < l->cap && l->slots[slot].pos != NO_POS && l->slots[slot].id == id)
		timer_remove(l, &l->slots[slot]);
}

void loop_before_sleep(struct loop *l, loop_cb cb, void *arg)
{
	l->before_sleep = cb;
	l->before_sleep_arg = arg;
}

void loop_stop(struct loop *l)
{
	l->stop = true;
}

static int next_timeout(const struct loop *l)
{
	uint64_t now = loop_now_ms(), first;

	if (!l->n_heap)
		return -1;
	first = l->slots[l->heap[0]].due;
	return first <= now ? 0 : (int)(first - now > 60000 ? 60000 : first - now);
}

/* Fires due timers, earliest first; one is removed before its callback,
 * which may then add others: its slot is free by then, so a callback
 * re-arming itself cannot fail. Timers added meanwhile wait for the next
 * pass, so that one re-arming itself at 0 ms cannot starve the fds. */
static void run_timers(struct loop *l)
{
	uint64_t now = loop_now_ms(), last = l->seq;

	while (l->n_heap) {
		struct timer *t = &l->slots[l->heap[0]];
		loop_cb cb = t->cb;
		void *arg = t->arg;

		if (t->due > now || t->seq > last)
			break;
		timer_remove(l, t);
		cb(l, arg);
	}
}

int loop_run(struct loop *l)
{
	struct epoll_event evs[64];

	while (!l->stop) {
		int n;

		if (l->before_sleep)
			l->before_sleep(l, l->before_sleep_arg);
		if (l->stop)
			break;
		n = epoll_wait(l->epfd, evs, 64, next_timeout(l));
		if (n < 0 && errno != EINTR)
			return -errno;
		for (int i = 0; i < n; i++) {
			struct fd_reg *r = evs[i].data.ptr;

			if (!r->dead)
				r->cb(l, r->fd, evs[i].events, r->arg);
		}
		reap(l);
		run_timers(l);
	}
	l->stop = false;	/* the loop may run again (one call at a time) */
	return 0;
}

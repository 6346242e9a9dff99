/* An epoll loop in the shape of redis' ae: file events, timers kept in a
 * small array (vipd has a handful), and a before-sleep hook. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>

#include "loop.h"

/* Timer slots allocated with the loop. vipd holds a handful of timers at
 * once (one per source state, one per HTTP client, the daemon's retry and
 * verify ticks), so adding one never needs memory after loop_alloc in
 * practice; growth past this is still tried. */
#define TIMERS_RESERVED 64

struct fd_reg {
	int fd;
	bool dead;		/* deleted during dispatch; freed after it */
	loop_fd_cb cb;
	void *arg;
	struct fd_reg *next;
};

struct timer {
	uint64_t id, due;
	loop_cb cb;
	void *arg;
};

struct loop {
	int epfd;
	bool stop;
	struct fd_reg *fds;
	struct timer *timers;
	size_t n_timers, cap_timers;
	uint64_t next_id;
	loop_cb before_sleep;
	void *before_sleep_arg;
};

uint64_t loop_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct loop *loop_alloc(void)
{
	struct loop *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->timers = calloc(TIMERS_RESERVED, sizeof(*l->timers));
	l->epfd = l->timers ? epoll_create1(EPOLL_CLOEXEC) : -1;
	if (l->epfd < 0) {
		free(l->timers);
		free(l);
		return NULL;
	}
	l->cap_timers = TIMERS_RESERVED;
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
	free(l->timers);
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

uint64_t loop_timer_add(struct loop *l, uint64_t ms, loop_cb cb, void *arg)
{
	if (l->n_timers == l->cap_timers) {
		size_t cap = l->cap_timers ? l->cap_timers * 2 : 8;
		struct timer *t = realloc(l->timers, cap * sizeof(*t));

		if (!t)
			return 0;
		l->timers = t;
		l->cap_timers = cap;
	}
	l->timers[l->n_timers++] = (struct timer){
		.id = ++l->next_id, .due = loop_now_ms() + ms, .cb = cb, .arg = arg,
	};
	return l->next_id;
}

void loop_timer_del(struct loop *l, uint64_t id)
{
	for (size_t i = 0; i < l->n_timers; i++)
		if (l->timers[i].id == id) {
			l->timers[i] = l->timers[--l->n_timers];
			return;
		}
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
	uint64_t now = loop_now_ms(), first = UINT64_MAX;

	for (size_t i = 0; i < l->n_timers; i++)
		if (l->timers[i].due < first)
			first = l->timers[i].due;
	if (first == UINT64_MAX)
		return -1;
	return first <= now ? 0 : (int)(first - now > 60000 ? 60000 : first - now);
}

/* Fires due timers; one removed before its callback may add others. Its
 * slot is free by then, so a callback re-arming itself cannot fail. */
static void run_timers(struct loop *l)
{
	uint64_t now = loop_now_ms();

	for (size_t i = 0; i < l->n_timers;) {
		struct timer t = l->timers[i];

		if (t.due > now) {
			i++;
			continue;
		}
		l->timers[i] = l->timers[--l->n_timers];
		t.cb(l, t.arg);
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

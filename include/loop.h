/* loop.h: the one event loop: file descriptors, timers, and a hook that
 * runs before each sleep (where a burst of source events becomes one
 * reconcile). Single-threaded; callbacks must not block. */
#ifndef VIPD_LOOP_H
#define VIPD_LOOP_H

#include <stdint.h>

struct loop;

typedef void (*loop_fd_cb)(struct loop *l, int fd, uint32_t events, void *arg);
typedef void (*loop_cb)(struct loop *l, void *arg);

struct loop *loop_alloc(void);
void loop_free(struct loop *l);

/* events are EPOLLIN/EPOLLOUT; fd stays the caller's. */
int loop_fd_add(struct loop *l, int fd, uint32_t events, loop_fd_cb cb, void *arg);
int loop_fd_mod(struct loop *l, int fd, uint32_t events);
void loop_fd_del(struct loop *l, int fd);

/* One-shot timers; a callback re-arms its own. Returns an id > 0, or 0
 * when out of memory: then there is no timer, and the caller must handle
 * that (log it and retry some other way), since a retry that never fires
 * is a silent hang. A callback re-arming its own timer never gets 0, and
 * nor does anyone while fewer than 64 timers are live (they are reserved
 * with the loop). Due timers fire earliest first, ties in the order they
 * were added; one added by a callback fires on a later pass, never in the
 * pass that added it (so a 0 ms re-arm cannot starve the fds). Thousands
 * may be live: adding and deleting are O(log n). */
uint64_t loop_timer_add(struct loop *l, uint64_t ms, loop_cb cb, void *arg);
void loop_timer_del(struct loop *l, uint64_t id);

void loop_before_sleep(struct loop *l, loop_cb cb, void *arg);
/* Runs until loop_stop; returns 0, or a negative errno from epoll. It may
 * be run again after it returned. */
int loop_run(struct loop *l);
void loop_stop(struct loop *l);

uint64_t loop_now_ms(void);
/* The same clock in microseconds (for latencies under a millisecond). */
uint64_t loop_now_us(void);

/* Exponential backoff with jitter: doubles *ms within [min, max] and
 * returns a delay in [*ms / 2, *ms], so that many clients losing one
 * server do not come back in step. Reset with *ms = 0. */
uint64_t backoff_next(uint64_t *ms, uint64_t min, uint64_t max);

#endif

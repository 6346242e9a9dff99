/* The daemon's state cache writer (include/state_cache.h): changes are
 * coalesced by a loop timer, and each write runs in a forked child, so
 * that neither the serialising (~200 ms at 100,000 endpoints) nor the
 * fsync (measured up to ~1 s on a busy disk) stalls the loop: the child
 * has the model as it was at the fork, copy-on-write, and reports one
 * line through a pipe before it exits. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/wait.h>

#include "log.h"
#include "loop.h"
#include "state_cache.h"

struct state_cache {
	struct loop *loop;
	const char *dir, *node;
	const struct model *m;
	sc_weigh_fn weigh;
	void *arg;
	uint64_t timer;		/* 0: none armed */
	bool pending;		/* changed since the write in flight began */
	pid_t child;		/* 0: no write in flight */
	int fd;			/* the child's report, -1: none */
	char report[SC_ERR_LEN + 64];
	size_t got;
	uint64_t t0;
	bool failing;		/* the last write failed (said once) */
	unsigned writes;
};

static void arm(struct state_cache *sc);

/* One log line per outcome; a failure only when it is new. */
static void outcome(struct state_cache *sc, int ret, size_t bytes, const char *err)
{
	if (ret < 0 && !sc->failing)
		log_warn("state cache: writing %s; retried every %d s", err, SC_RETRY_MS / 1000);
	else if (ret < 0)
		log_debug("state cache: writing %s (again)", err);
	else if (sc->failing)
		log_info("state cache: %s/" SC_FILE " written again (%zu bytes)", sc->dir, bytes);
	else
		log_debug("state cache: %zu bytes written to %s/" SC_FILE " in %llu ms", bytes,
			  sc->dir, (unsigned long long)(loop_now_ms() - sc->t0));
	sc->failing = ret < 0;
	sc->writes += ret == 0;
}

static void write_here(struct state_cache *sc)
{
	char err[SC_ERR_LEN];
	size_t bytes = 0;
	int ret;

	sc->t0 = loop_now_ms();
	ret = sc_save(sc->dir, sc->node, sc->m, sc->weigh, sc->arg, &bytes, err);
	outcome(sc, ret, bytes, err);
}

/* The child: nothing of the parent's but the pipe (a netlink socket or
 * the table's claim held past the parent's death would be in the way of
 * the next vipd), one report "RET BYTES ERR", and _exit: no atexit
 * handler, no stdio buffer of the parent's flushed twice. SIGTERM stays
 * blocked as in the parent: a stop waits for the write (sc_free) rather
 * than losing it. */
static void child_write(struct state_cache *sc, int out)
{
	char err[SC_ERR_LEN] = "";
	size_t bytes = 0;
	int ret;

	if (out != 3 && dup2(out, 3) < 0)
		_exit(1);
	/* before Linux 5.9 (or under a filter without it): one by one */
	if (close_range(4, ~0U, 0) < 0)
		for (long fd = 4, max = sysconf(_SC_OPEN_MAX); fd < max && fd < 1 << 20; fd++)
			close((int)fd);
	ret = sc_save(sc->dir, sc->node, sc->m, sc->weigh, sc->arg, &bytes, err);
	dprintf(3, "%d %zu %s", ret, bytes, err);
	_exit(0);
}

static void report_done(struct state_cache *sc)
{
	int ret = -EIO, n = 0, status = 0;
	unsigned long bytes = 0;
	char err[SC_ERR_LEN];

	loop_fd_del(sc->loop, sc->fd);
	close(sc->fd);
	sc->fd = -1;
	/* EOF: the child is exiting, the wait is short */
	waitpid(sc->child, &status, 0);
	sc->report[sc->got] = '\0';
	if (sscanf(sc->report, "%d %lu %n", &ret, &bytes, &n) < 2 || !n) {
		snprintf(err, sizeof(err), "%s/" SC_FILE ": the writer (pid %d) ended without a report (status %d)",
			 sc->dir, (int)sc->child, status);
		ret = -EIO;
	} else {
		snprintf(err, sizeof(err), "%s", sc->report + n);
	}
	sc->child = 0;
	outcome(sc, ret, bytes, err);
	if (sc->pending || sc->failing) {
		sc->pending = false;
		arm(sc);
	}
}

static void on_report(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct state_cache *sc = arg;
	ssize_t n = read(fd, sc->report + sc->got, sizeof(sc->report) - 1 - sc->got);

	if (n > 0)
		sc->got += (size_t)n;
	if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN) ||
	    sc->got == sizeof(sc->report) - 1)
		report_done(sc);
}

static void write_forked(struct state_cache *sc)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
		goto here;
	sc->t0 = loop_now_ms();
	sc->child = fork();
	if (sc->child == 0)
		child_write(sc, p[1]);
	close(p[1]);
	if (sc->child < 0) {
		close(p[0]);
		sc->child = 0;
		goto here;
	}
	sc->fd = p[0];
	sc->got = 0;
	if (loop_fd_add(sc->loop, p[0], EPOLLIN, on_report, sc) < 0) {
		/* the child writes anyway: wait for its report here */
		fcntl(sc->fd, F_SETFL, 0);
		while (sc->child)
			on_report(sc->loop, sc->fd, EPOLLIN, sc);
	}
	return;
here:
	log_debug("state cache: no writer process (%s); writing in the loop", strerror(errno));
	write_here(sc);
	if (sc->failing)
		arm(sc);
}

static void due(struct loop *l, void *arg)
{
	struct state_cache *sc = arg;

	sc->timer = 0;
	write_forked(sc);
}

static void arm(struct state_cache *sc)
{
	uint64_t ms = sc->failing ? SC_RETRY_MS : SC_WRITE_DELAY_MS;

	if (sc->timer)
		return;
	/* out of memory: the next change tries again */
	if (!(sc->timer = loop_timer_add(sc->loop, ms, due, sc)))
		log_warn("state cache: out of memory arming its timer; written at a later change");
}

struct state_cache *sc_alloc(struct loop *loop, const char *dir, const char *node,
			     const struct model *m, sc_weigh_fn weigh, void *arg)
{
	struct state_cache *sc = calloc(1, sizeof(*sc));

	if (sc)
		*sc = (struct state_cache){ .loop = loop, .dir = dir, .node = node, .m = m,
					    .weigh = weigh, .arg = arg, .fd = -1 };
	return sc;
}

/* A write in flight is waited for (its own time, bounded by the disk);
 * one pending is done here, so that a stop loses no change. */
void sc_free(struct state_cache *sc)
{
	if (!sc)
		return;
	if (sc->child)
		fcntl(sc->fd, F_SETFL, 0);	/* blocking: read to EOF */
	while (sc->child)
		on_report(sc->loop, sc->fd, EPOLLIN, sc);
	if (sc->timer) {
		loop_timer_del(sc->loop, sc->timer);
		sc->timer = 0;
		sc->pending = true;
	}
	if (sc->pending)
		write_here(sc);
	free(sc);
}

void sc_changed(struct state_cache *sc)
{
	if (!sc || sc->timer)
		return;
	if (sc->child)
		sc->pending = true;
	else
		arm(sc);
}

unsigned sc_writes(const struct state_cache *sc)
{
	return sc->writes;
}

struct model *sc_boot_model(const struct state_cache *sc, struct sc_header *h)
{
	enum vlog_level was = vlog_threshold;
	char err[SC_ERR_LEN];
	struct model *m = model_alloc();
	int ret;

	/* the model would log each cached object as "added", which reads
	 * as a source's change: the caller says what was loaded instead */
	if (vlog_threshold > VLOG_WARN)
		vlog_threshold = VLOG_WARN;
	ret = m ? sc_load(sc->dir, m, h, err) : -ENOMEM;
	vlog_threshold = was;
	if (ret == 0)
		return m;
	if (ret == -ENOENT)
		log_warn("no state cache at %s/" SC_FILE ": waiting for every source", sc->dir);
	else if (ret == -ENOMEM)
		log_err("state cache: out of memory reading it; waiting for every source");
	else
		log_err("state cache %s; not used, waiting for every source", err);
	model_free(m);
	return NULL;
}

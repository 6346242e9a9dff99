#define _GNU_SOURCE	/* program_invocation_short_name */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "log.h"
#include "timefmt.h"

enum vlog_level vlog_threshold = VLOG_INFO;
void (*vlog_sink)(enum vlog_level level, const char *line);

static const char *ident;	/* NULL: program_invocation_short_name */
static enum vlog_format format = VLOG_PLAIN;

static const char *const level_name[] = {
	[VLOG_ERR] = "error", [VLOG_WARN] = "warning",
	[VLOG_INFO] = "info", [VLOG_DEBUG] = "debug",
};

/* sd-daemon(3): LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG */
static const char journal_prio[] = {
	[VLOG_ERR] = '3', [VLOG_WARN] = '4', [VLOG_INFO] = '6', [VLOG_DEBUG] = '7',
};

void vlog_set_ident(const char *name)
{
	ident = name;
}

void vlog_set_format(enum vlog_format f)
{
	format = f;
}

enum vlog_format vlog_detect_format(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	uintmax_t dev, ino;
	struct stat st;
	int end = 0;

	/* systemd sets it for a unit whose stderr is the journal; a child
	 * that inherits the variable with stderr sent elsewhere has another
	 * device or inode, and gets the text format */
	if (!env || sscanf(env, "%ju:%ju%n", &dev, &ino, &end) != 2 || env[end])
		return VLOG_TEXT;
	if (fstat(STDERR_FILENO, &st) < 0)
		return VLOG_TEXT;
	return (uintmax_t)st.st_dev == dev && (uintmax_t)st.st_ino == ino ? VLOG_JOURNAL : VLOG_TEXT;
}

/* Values in log lines come from the registry, files and containers: a
 * name holding "\n" or an escape sequence must not forge a line or drive
 * the operator's terminal, so control bytes are written as \xHH. Returns
 * the length of out, which is cut to fit. */
static size_t escape(const char *in, char *out, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (const unsigned char *p = (const unsigned char *)in; *p && o + 5 < size; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		} else {
			out[o++] = (char)*p;
		}
	}
	out[o] = '\0';
	return o;
}


/* One write per line so lines of concurrent writers never interleave;
 * a short write (a full pipe, a signal) goes on from where it stopped,
 * a few times at most. */
static void emit(const char *line, size_t n)
{
	for (int tries = 0; n && tries < 8; tries++) {
		ssize_t w = write(STDERR_FILENO, line, n);

		if (w < 0 && errno != EINTR && errno != EAGAIN)
			return;
		if (w > 0) {
			line += w;
			n -= (size_t)w;
		}
	}
}

static void put(enum vlog_level level, const char *msg)
{
	char out[1200], ts[RFC3339_MS_LEN] = "";
	int n;

	if (format == VLOG_JOURNAL) {
		n = snprintf(out, sizeof(out), "<%c>%s\n", journal_prio[level], msg);
	} else {
		if (format == VLOG_TEXT)
			rfc3339_ms(wall_now_us() / 1000, ts);
		n = snprintf(out, sizeof(out), "%s%s%s: %s: %s\n", ts, *ts ? " " : "",
			     ident ? ident : program_invocation_short_name, level_name[level], msg);
	}
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(out)) {	/* cut, but still one line */
		n = sizeof(out) - 1;
		out[n - 1] = '\n';
	}
	emit(out, (size_t)n);
}

void vlog(enum vlog_level level, const char *fmt, ...)
{
	char line[1024], safe[1024];
	int saved = errno;	/* a caller may log, then read errno */
	va_list ap;

	if (level > vlog_threshold)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	escape(line, safe, sizeof(safe));
	if (vlog_sink)
		vlog_sink(level, safe);
	else
		put(level, safe);
	errno = saved;
}

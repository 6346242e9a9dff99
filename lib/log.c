#include <stdarg.h>
#include <stdio.h>

#include "log.h"

enum vlog_level vlog_threshold = VLOG_INFO;
void (*vlog_sink)(enum vlog_level level, const char *line);

static const char *const level_name[] = {
	[VLOG_ERR] = "error", [VLOG_WARN] = "warning",
	[VLOG_INFO] = "info", [VLOG_DEBUG] = "debug",
};

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

void vlog(enum vlog_level level, const char *fmt, ...)
{
	char line[1024], safe[1024];
	va_list ap;

	if (level > vlog_threshold)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	escape(line, safe, sizeof(safe));
	if (vlog_sink) {
		vlog_sink(level, safe);
		return;
	}
	/* One write per line so lines of concurrent writers never interleave. */
	fprintf(stderr, "vipd: %s: %s\n", level_name[level], safe);
}

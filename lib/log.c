#include <stdarg.h>
#include <stdio.h>

#include "log.h"

enum vlog_level vlog_threshold = VLOG_INFO;
void (*vlog_sink)(enum vlog_level level, const char *line);

static const char *const level_name[] = {
	[VLOG_ERR] = "error", [VLOG_WARN] = "warning",
	[VLOG_INFO] = "info", [VLOG_DEBUG] = "debug",
};

void vlog(enum vlog_level level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (level > vlog_threshold)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (vlog_sink) {
		vlog_sink(level, line);
		return;
	}
	/* One write per line so lines of concurrent writers never interleave. */
	fprintf(stderr, "vipd: %s: %s\n", level_name[level], line);
}

/* log.h: one line per event on stderr, with a level the operator can raise. */
#ifndef VIPD_LOG_H
#define VIPD_LOG_H

enum vlog_level { VLOG_ERR, VLOG_WARN, VLOG_INFO, VLOG_DEBUG };

/* Messages above this level are dropped; -v raises it. */
extern enum vlog_level vlog_threshold;

/* Tests capture lines here (NULL, the default: stderr). */
extern void (*vlog_sink)(enum vlog_level level, const char *line);

void vlog(enum vlog_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_err(...)   vlog(VLOG_ERR, __VA_ARGS__)
#define log_warn(...)  vlog(VLOG_WARN, __VA_ARGS__)
#define log_info(...)  vlog(VLOG_INFO, __VA_ARGS__)
#define log_debug(...) vlog(VLOG_DEBUG, __VA_ARGS__)

#endif

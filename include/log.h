/* log.h: one line per event on stderr, with a level the operator can raise. */
#ifndef VIPD_LOG_H
#define VIPD_LOG_H

enum vlog_level { VLOG_ERR, VLOG_WARN, VLOG_INFO, VLOG_DEBUG };

/* How a line is spelled on stderr:
 *   VLOG_PLAIN    "ident: level: msg" (the default: a command's messages)
 *   VLOG_TEXT     "2026-12-01T18:20:01.123Z ident: level: msg" (UTC)
 *   VLOG_JOURNAL  "<6>msg": sd-daemon(3) priority; the journal adds the
 *                 time and the program */
enum vlog_format { VLOG_PLAIN, VLOG_TEXT, VLOG_JOURNAL };

/* Messages above this level are dropped; -v raises it. */
extern enum vlog_level vlog_threshold;

/* Tests capture lines here (NULL, the default: stderr). */
extern void (*vlog_sink)(enum vlog_level level, const char *line);

/* The program named in plain and text lines (borrowed; default: the
 * name the program was run by, as err(3) does). */
void vlog_set_ident(const char *ident);
void vlog_set_format(enum vlog_format format);
/* VLOG_JOURNAL when stderr is the journal's stream (systemd's
 * JOURNAL_STREAM names its device and inode), else VLOG_TEXT. */
enum vlog_format vlog_detect_format(void);

void vlog(enum vlog_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_err(...)   vlog(VLOG_ERR, __VA_ARGS__)
#define log_warn(...)  vlog(VLOG_WARN, __VA_ARGS__)
#define log_info(...)  vlog(VLOG_INFO, __VA_ARGS__)
#define log_debug(...) vlog(VLOG_DEBUG, __VA_ARGS__)

#endif

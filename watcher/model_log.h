/* model_log.h: private to watcher/model.c: the info lines that say what a
 * source changed ("web: +b3 10.0.2.17:8080 weight 100"). */
#ifndef VIPD_MODEL_LOG_H
#define VIPD_MODEL_LOG_H

#include "model.h"

/* At most this many change lines per reconcile reach the info level; the
 * rest go to debug and one line counts them, so a cold start with 250,000
 * endpoints does not write 250,000 lines. */
#define CHANGE_LINES_MAX 64

/* old NULL: added; new NULL: deleted; both: the line says what differs
 * (nothing is logged when nothing does). *budget counts down the info
 * lines left (CHANGE_LINES_MAX after each take); past 0 lines go to debug
 * and *hidden counts them. */
struct change_log {
	unsigned budget, hidden;
};
void change_log_service(struct change_log *cl, const char *name,
			const struct service *old, const struct service *new);
void change_log_endpoint(struct change_log *cl, const char *service,
			 const struct endpoint *old, const struct endpoint *new);

#endif

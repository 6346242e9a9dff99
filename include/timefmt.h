/* timefmt.h: wall-clock times as operators read them. */
#ifndef VIPD_TIMEFMT_H
#define VIPD_TIMEFMT_H

#include <stdint.h>

/* "2026-12-01T18:20:01.123Z" and its terminator. */
#define RFC3339_MS_LEN	25

/* The time now, in µs since the epoch. */
int64_t wall_now_us(void);
/* wall_ms (ms since the epoch) as RFC 3339, UTC, with milliseconds. */
void rfc3339_ms(int64_t wall_ms, char buf[RFC3339_MS_LEN]);

#endif

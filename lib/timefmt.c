#include <stdio.h>
#include <time.h>

#include "timefmt.h"

int64_t wall_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void rfc3339_ms(int64_t wall_ms, char buf[RFC3339_MS_LEN])
{
	time_t secs = (time_t)(wall_ms / 1000);
	struct tm tm;
	size_t n;

	gmtime_r(&secs, &tm);
	n = strftime(buf, RFC3339_MS_LEN, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, RFC3339_MS_LEN - n, ".%03uZ", (unsigned)(wall_ms % 1000) % 1000);
}

#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>
#include <sys/random.h>

#include "loop.h"

/* xorshift64*: plenty for jitter. Seeded from the kernel, so that the
 * nodes of a cluster that lost one etcd member do not all come back in the
 * same millisecond, as they would with rand()'s fixed default seed. */
static uint64_t next_random(void)
{
	static uint64_t s;

	if (!s) {
		if (getrandom(&s, sizeof(s), GRND_NONBLOCK) != sizeof(s))
			s = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
		s |= 1;
	}
	s ^= s >> 12;
	s ^= s << 25;
	s ^= s >> 27;
	return s * 0x2545f4914f6cdd1dULL;
}

uint64_t backoff_next(uint64_t *ms, uint64_t min, uint64_t max)
{
	*ms = *ms ? *ms * 2 : min;
	if (*ms > max)
		*ms = max;
	return *ms / 2 + next_random() % (*ms / 2 + 1);
}

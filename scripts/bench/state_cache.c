/* state_cache: the cost of vipd's state cache at S services x E endpoints
 * (defaults 10,000 x 10): one write (sc_save: stream, fsync, rename,
 * fsync of the dir: what vipd's writer child does), its size, one read
 * back (sc_load), and a fork of a process holding that model (what the
 * loop itself waits for per write). Built and run by state_cache.sh
 * against the release objects; not part of make bench.
 *
 *   state_cache DIR [S [E [REPS]]]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#include "codec.h"
#include "log.h"
#include "loop.h"
#include "model.h"
#include "state_cache.h"

static int put(struct model *m, int s, int e)
{
	char name[32], text[256], err[CODEC_ERR_LEN];
	struct service *svc;

	snprintf(name, sizeof(name), "svc-%d", s);
	snprintf(text, sizeof(text),
		 "{\"vip\":\"10.%d.%d.%d\",\"ports\":[{\"name\":\"http\",\"port\":80,\"target_port\":8080}]}",
		 96 + s / 65536, s / 256 % 256, s % 256);
	if (codec_service_parse_text(name, text, strlen(text), &svc, err) < 0 ||
	    model_service_put(m, SRC_ETCD, svc) < 0)
		return -1;
	for (int i = 0; i < e; i++) {
		struct endpoint *ep;
		char id[16];
		long n = (long)s * e + i + 1;

		snprintf(id, sizeof(id), "e%d", i);
		snprintf(text, sizeof(text), "{\"ip\":\"10.%ld.%ld.%ld\",\"port\":8080,\"node\":\"node-%d\"}",
			 128 + n / 65536 % 64, n / 256 % 256, n % 256, i % 16);
		if (codec_endpoint_parse_text(id, text, strlen(text), &ep, err) < 0 ||
		    model_endpoint_put(m, SRC_ETCD, name, ep) < 0)
			return -1;
	}
	return 0;
}

/* fork() as the parent sees it: until the child runs on its own. */
static double fork_cost(void)
{
	struct timespec a, b;
	pid_t pid;

	clock_gettime(CLOCK_MONOTONIC, &a);
	if ((pid = fork()) == 0)
		_exit(0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	return (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
}

int main(int argc, char **argv)
{
	int s = argc > 2 ? atoi(argv[2]) : 10000, e = argc > 3 ? atoi(argv[3]) : 10;
	int reps = argc > 4 ? atoi(argv[4]) : 5;
	struct model *m = model_alloc();
	char err[SC_ERR_LEN];

	if (argc < 2 || !m)
		return 2;
	vlog_threshold = VLOG_WARN;
	for (int i = 0; i < s; i++)
		if (put(m, i, e) < 0)
			return 1;
	for (int r = 0; r < reps; r++) {
		struct model *back = model_alloc();
		struct sc_header h;
		uint64_t t0 = loop_now_ms(), t1, t2;
		size_t bytes;
		double fork_ms;

		if (sc_save(argv[1], "node-a", m, NULL, NULL, &bytes, err) < 0) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		t1 = loop_now_ms();
		if (sc_load(argv[1], back, &h, err) < 0) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		t2 = loop_now_ms();
		fork_ms = fork_cost();
		printf("%d services x %d endpoints: write %llu ms, %zu bytes; read %llu ms (%zu endpoints); fork %.2f ms\n",
		       s, e, (unsigned long long)(t1 - t0), bytes, (unsigned long long)(t2 - t1),
		       h.endpoints, fork_ms);
		model_free(back);
	}
	model_free(m);
	return 0;
}

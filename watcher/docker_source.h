/* docker_source.h: the Docker source's state, shared by docker.c (the
 * Engine API: version, list, inspect, events) and docker_ctrs.c (what each
 * container contributes to the model or the registrar). Not an interface:
 * only those two include it. */
#ifndef VIPD_DOCKER_SOURCE_H
#define VIPD_DOCKER_SOURCE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "docker.h"
#include "http.h"
#include "jstream.h"

enum state { ST_VERSION, ST_LIST, ST_EVENTS, ST_WAIT };

struct ctr {
	struct docker *d;
	char *id;
	struct docker_view view;	/* what it contributes now */
	char *refusal;			/* the refusal or warning last logged */
	struct http_req *req;		/* inspect in flight */
	bool again;			/* an event came during the inspect */
	bool initial;			/* counted in docker.initial */
	bool seen;			/* in the last list */
	bool terminating;		/* stop signal sent, not dead yet */
	bool retry;			/* the last inspect failed */
	int64_t term_started_ns;	/* StartedAt of the run being stopped */
	uint8_t term_cause;		/* enum ep_cause: the kill or stop */
	uint64_t print;			/* docker_inspect_print of the last inspect */
	bool said_disagree, said_register;
};

struct docker {
	struct source *src;
	const struct docker_conf *conf;
	struct registrar *reg;		/* register mode; NULL: local */
	const char *socket;
	struct http *http;
	struct http_opts opts;
	char base[48];			/* "http://docker/v1.41" */
	char api[16];			/* "1.41" */
	struct hmap *ctrs;		/* full id -> struct ctr */
	enum state state;
	struct http_req *req;		/* version, list or events */
	struct http_req *relist;	/* the periodic list, beside the events */
	uint64_t relist_ms, relist_timer;
	struct jstream stream;
	uint64_t timer, retry_timer, backoff_ms;
	struct timespec list_time;	/* when the last list was asked for */
	size_t initial;			/* inspects of the last list to come */
	bool up, said_down;
};

/* The container with this full id; created when asked (NULL: out of memory). */
struct ctr *dk_ctr_get(struct docker *d, const char *id, bool create);
/* Takes over nv: what the container contributes from now on. */
void dk_ctr_apply(struct ctr *c, struct docker_view *nv);
/* The container is gone: so is everything it contributed; c is freed. */
void dk_ctr_remove(struct ctr *c);
/* The hmap destructor: frees c alone (cancelling its inspect). */
void dk_ctr_free(void *c);
/* Its stop signal was sent (cause CAUSE_DOCKER_STOP or _KILL): no new
 * connections. The first cause of a run stays until the next run. */
void dk_ctr_terminating(struct ctr *c, enum ep_cause cause);
/* Logs a refusal or warning of a new view once per reason. */
void dk_ctr_judged(struct ctr *c, const struct docker_view *nv, int ret, const char *err);

#endif

/* docker.h: containers announce themselves (DESIGN.md "Docker").
 *
 * docker_view_parse reads one container as the Engine API's inspect shows
 * it and says what it means for vipd: the endpoints it is, per service, and
 * the service it defines (vipd.vip). It is pure (no I/O), so the Docker
 * source, the unit tests and the fuzzer share it.
 */
#ifndef VIPD_DOCKER_H
#define VIPD_DOCKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "model.h"

#define DOCKER_DEFAULT_SOCKET	"/var/run/docker.sock"
#define DOCKER_DEFAULT_PREFIX	"vipd."
#define DOCKER_NAME_FROM_MAX	8
#define DOCKER_ERR_LEN		320

enum docker_mode { DOCKER_OFF, DOCKER_LOCAL, DOCKER_REGISTER };

struct docker_conf {
	const char *prefix;		/* label prefix, "vipd." */
	/* Templates for the service name of containers without vipd.service
	 * or SERVICE_NAME: "{label:group}.{label:service}", "{env:NAMESPACE}". */
	const char *name_from[DOCKER_NAME_FROM_MAX];
	size_t n_name_from;
	const char *network;		/* NULL: the only one, else first by name */
	const char *node_ip;		/* host-network containers; NULL: refuse */
	const char *node_name;		/* endpoints' node field; NULL: none */
};

/* One endpoint of one service. */
struct docker_item {
	char service[NAME_MAX_LEN + 1];
	struct endpoint *ep;		/* owned */
};

struct docker_view {
	char id[13];			/* short id, for log lines */
	char *name;			/* without the leading '/' */
	int64_t created_ns;		/* oldest definition of a service wins */
	bool up;			/* running, not paused or restarting: its
					 * endpoints exist (ready as its
					 * HEALTHCHECK says: ep->ready, ep->cause) */
	int stop_signal;		/* Config.StopSignal, default SIGTERM */
	int64_t started_ns;		/* State.StartedAt: which run this is */
	size_t n_items;
	struct docker_item *items;
	struct service *svc;		/* vipd.vip's service, owned, or NULL */
	char warning[DOCKER_ERR_LEN];	/* accepted, but worth a line ("" none) */
};

/* Fills *out from an inspect object. A container that announces nothing has
 * no items and no svc. Returns 0; -EINVAL with err "label L: value V: why"
 * (the view then holds only id, name and created_ns); -ENOMEM. The view is
 * always safe to docker_view_fini. */
int docker_view_parse(const struct docker_conf *c, const json_t *inspect,
		      struct docker_view *out, char err[DOCKER_ERR_LEN]);
void docker_view_fini(struct docker_view *v);

/* One value of the Engine API's /events stream, and what it asks of the
 * source. Pure like docker_view_parse: the source, the unit tests and the
 * fuzzer share it. */
enum docker_event_kind {
	DOCKER_EV_IGNORE,	/* nothing to do (not ours, malformed, exec_*) */
	DOCKER_EV_INSPECT,	/* inspect container id again */
	DOCKER_EV_DESTROY,	/* container id is gone */
	DOCKER_EV_KILL,		/* container id was sent signal */
};

struct docker_event {
	enum docker_event_kind kind;
	const char *id;		/* full container id, borrowed from ev; NULL when ignored */
	bool create;		/* create/start: a container not known yet is new */
	int signal;		/* DOCKER_EV_KILL: the signal, -1 unknown */
	int64_t time_ns;	/* timeNano, 0 when absent */
};

/* Fills *out from one event object (anything else is DOCKER_EV_IGNORE) and
 * returns out->kind. A network event names the container it concerns in
 * Actor.Attributes.container: that one is inspected, never created. */
enum docker_event_kind docker_event_parse(const json_t *ev, struct docker_event *out);
/* Whether a DOCKER_EV_KILL stops the run v describes: SIGKILL or the
 * container's stop signal, not sent before that run started (the events
 * replayed after a relist start a second early). */
bool docker_event_stops(const struct docker_event *e, const struct docker_view *v);
/* Why such a kill stops it: CAUSE_DOCKER_STOP for the container's stop
 * signal (what `docker stop` sends first), CAUSE_DOCKER_KILL for SIGKILL
 * (`docker kill`); CAUSE_NONE when it stops nothing. A SIGKILL after the
 * stop timeout comes when the endpoint is terminating already, and the
 * first cause stays. */
enum ep_cause docker_event_cause(const struct docker_event *e, const struct docker_view *v);

/* What can change a container's endpoints (state, health, name, networks
 * and addresses) as one number, from an entry of /containers/json and
 * from an inspect: the two are equal for the same container at the same
 * moment, so a list that disagrees with the last inspect shows an event
 * that never arrived. Uptime text and the like do not count. */
uint64_t docker_list_print(const json_t *item);
uint64_t docker_inspect_print(const json_t *inspect);

/* "SIGTERM", "TERM" or "15" -> 15; unknown -> -1. */
int docker_signal_parse(const char *s);
/* A template as --docker-name-from takes it; 0 or -EINVAL. */
int docker_name_from_check(const char *spec);

#endif

/* What one /events value asks of the Docker source (include/docker.h).
 * No I/O and no state: the source acts on the result. */
#include <signal.h>
#include <string.h>

#include "docker.h"

enum docker_event_kind docker_event_parse(const json_t *ev, struct docker_event *out)
{
	const char *type = json_string_value(json_object_get(ev, "Type"));
	const char *action = json_string_value(json_object_get(ev, "Action"));
	const json_t *actor = json_object_get(ev, "Actor");
	const json_t *attrs = json_object_get(actor, "Attributes");
	const char *id = json_string_value(json_object_get(actor, "ID"));
	const json_t *t = json_object_get(ev, "timeNano");

	memset(out, 0, sizeof(*out));
	out->kind = DOCKER_EV_IGNORE;
	out->signal = -1;
	if (!type || !action || !id)
		return out->kind;
	if (!strcmp(type, "network")) {
		/* a container (dis)connected: its address may have changed */
		if ((id = json_string_value(json_object_get(attrs, "container")))) {
			out->id = id;
			out->kind = DOCKER_EV_INSPECT;
		}
		return out->kind;
	}
	if (strcmp(type, "container") || !strncmp(action, "exec_", 5))
		return out->kind;
	out->id = id;
	out->create = !strcmp(action, "create") || !strcmp(action, "start");
	out->time_ns = json_is_integer(t) ? json_integer_value(t) : 0;
	if (!strcmp(action, "destroy")) {
		out->kind = DOCKER_EV_DESTROY;
	} else if (!strcmp(action, "kill")) {
		out->kind = DOCKER_EV_KILL;
		out->signal = docker_signal_parse(json_string_value(json_object_get(attrs, "signal")));
	} else {
		out->kind = DOCKER_EV_INSPECT;
	}
	return out->kind;
}

bool docker_event_stops(const struct docker_event *e, const struct docker_view *v)
{
	/* other signals (HUP to reload, QUIT for a thread dump) stop nothing */
	if (e->kind != DOCKER_EV_KILL || (e->signal != SIGKILL && e->signal != v->stop_signal))
		return false;
	return !(e->time_ns && v->started_ns != INT64_MAX && e->time_ns < v->started_ns);
}

enum ep_cause docker_event_cause(const struct docker_event *e, const struct docker_view *v)
{
	if (!docker_event_stops(e, v))
		return CAUSE_NONE;
	return e->signal == v->stop_signal ? CAUSE_DOCKER_STOP : CAUSE_DOCKER_KILL;
}

/* libFuzzer target: any bytes as Docker's answers, through the pure
 * decoders the Docker source uses (no source file included). The first
 * half is one container's inspect reply (docker_view_parse), the second
 * the /events stream (jstream_feed framing, docker_event_parse).
 *
 * Invariants: a view's items have valid service names and endpoints that
 * survive codec_endpoint_json -> codec_endpoint_parse unchanged; a refused
 * container contributes nothing; parsing is deterministic; framing does
 * not depend on where the stream is cut; an event's meaning survives
 * being written back as a canonical event. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "docker.h"
#include "log.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct docker_conf confs[] = {
	{ .prefix = "vipd.", .node_ip = "10.0.2.15", .node_name = "node-a",
	  .name_from = { "{env:NAMESPACE}", "{label:group}.{label:service}" }, .n_name_from = 2 },
	{ .prefix = "acme.lb.", .network = "vipdnet" },
};

static void check_endpoint(const struct endpoint *ep)
{
	char err[CODEC_ERR_LEN];
	struct endpoint *back = NULL;
	json_t *j;

	CHECK(ep && codec_id_valid(ep->id));
	CHECK(ep->ip.family == AF_INET || ep->ip.family == AF_INET6);
	CHECK(ep->weight >= WEIGHT_MIN && ep->weight <= WEIGHT_MAX);
	for (unsigned i = 0; i < ep->n_ports; i++)
		CHECK(ep->ports[i].port && ep->ports[i].name[0]);
	/* what a registrar writes to etcd is read back as the same endpoint */
	CHECK((j = codec_endpoint_json(ep)));
	if (codec_endpoint_parse(ep->id, j, &back, err) != 0) {
		fprintf(stderr, "endpoint %s refused on the way back: %s\n", ep->id, err);
		abort();
	}
	CHECK(ep_same(ep, back));
	endpoint_free(back);
	json_decref(j);
}

static void check_view(int ret, const struct docker_view *v, const char *err)
{
	CHECK(ret == 0 || ret == -EINVAL || ret == -ENOMEM);
	CHECK(v->name && strnlen(v->warning, DOCKER_ERR_LEN) < DOCKER_ERR_LEN);
	CHECK(strnlen(err, DOCKER_ERR_LEN) < DOCKER_ERR_LEN);
	if (ret < 0) {		/* refused: nothing, not even its vipd.vip */
		CHECK(!v->n_items && !v->svc && err[0]);
		return;
	}
	CHECK(v->up || !v->n_items);
	CHECK(v->stop_signal >= 1 && v->stop_signal <= 64);
	for (size_t i = 0; i < v->n_items; i++) {
		CHECK(codec_name_valid(v->items[i].service));
		check_endpoint(v->items[i].ep);
		/* only its HEALTHCHECK holds a new view back, and says why */
		CHECK(!v->items[i].ep->terminating);
		CHECK(v->items[i].ep->ready == (v->items[i].ep->cause == CAUSE_NONE));
		CHECK(v->items[i].ep->cause == CAUSE_NONE ||
		      v->items[i].ep->cause == CAUSE_DOCKER_UNHEALTHY ||
		      v->items[i].ep->cause == CAUSE_DOCKER_STARTING);
		for (size_t k = 0; k < i; k++)	/* one endpoint per service */
			CHECK(strcmp(v->items[k].service, v->items[i].service) ||
			      strcmp(v->items[k].ep->id, v->items[i].ep->id));
	}
	if (v->svc) {
		struct service *dup = service_dup(v->svc);

		CHECK(codec_name_valid(v->svc->name) && v->svc->n_ports);
		CHECK(v->svc->vip4.family || v->svc->vip6.family);
		CHECK(dup && service_equal(dup, v->svc));
		service_free(dup);
	}
}

static bool views_same(const struct docker_view *a, const struct docker_view *b)
{
	if (strcmp(a->id, b->id) || strcmp(a->name, b->name) || a->created_ns != b->created_ns ||
	    a->up != b->up || a->stop_signal != b->stop_signal || a->started_ns != b->started_ns ||
	    a->n_items != b->n_items || !a->svc != !b->svc || strcmp(a->warning, b->warning))
		return false;
	for (size_t i = 0; i < a->n_items; i++)
		if (strcmp(a->items[i].service, b->items[i].service) ||
		    !ep_same(a->items[i].ep, b->items[i].ep))
			return false;
	return !a->svc || service_equal(a->svc, b->svc);
}

static void inspect(const char *text, size_t len, struct docker_view *keep)
{
	json_t *root = json_loadb(text, len, 0, NULL);

	memset(keep, 0, sizeof(*keep));
	keep->stop_signal = SIGTERM;
	keep->started_ns = INT64_MAX;
	if (!root)
		return;
	for (size_t i = 0; i < sizeof(confs) / sizeof(*confs); i++) {
		char err[DOCKER_ERR_LEN], err2[DOCKER_ERR_LEN];
		struct docker_view v, again;
		int ret = docker_view_parse(&confs[i], root, &v, err);
		int ret2 = docker_view_parse(&confs[i], root, &again, err2);

		check_view(ret, &v, err);
		CHECK(ret == ret2 && !strcmp(err, err2) && (ret == -ENOMEM || views_same(&v, &again)));
		docker_view_fini(&again);
		if (i == 0 && ret == 0)
			*keep = v;
		else
			docker_view_fini(&v);
	}
	json_decref(root);
}

/* The event written back with only what docker_event_parse kept. */
static json_t *canonical(const struct docker_event *e)
{
	static const char *const action[] = {
		[DOCKER_EV_INSPECT] = "update", [DOCKER_EV_DESTROY] = "destroy",
		[DOCKER_EV_KILL] = "kill",
	};
	char sig[16];

	snprintf(sig, sizeof(sig), "%d", e->signal);
	return json_pack("{s:s, s:s, s:I, s:{s:s, s:{s:s}}}", "Type", "container",
			 "Action", e->create ? "start" : action[e->kind],
			 "timeNano", (json_int_t)e->time_ns, "Actor", "ID", e->id,
			 "Attributes", "signal", e->signal > 0 ? sig : "NOPE");
}

static bool on_event(json_t *ev, void *arg)
{
	const struct docker_view *v = arg;
	struct docker_event e, back;
	json_t *j;

	CHECK(docker_event_parse(ev, &e) == e.kind);
	CHECK(e.kind >= DOCKER_EV_IGNORE && e.kind <= DOCKER_EV_KILL);
	CHECK(!docker_event_stops(&e, v) || e.kind == DOCKER_EV_KILL);
	CHECK((docker_event_cause(&e, v) != CAUSE_NONE) == docker_event_stops(&e, v));
	if (e.kind == DOCKER_EV_IGNORE) {
		CHECK(!e.id && !e.create);
		return true;
	}
	CHECK(e.id && (!e.create || e.kind == DOCKER_EV_INSPECT));
	CHECK(e.kind == DOCKER_EV_KILL ? e.signal == -1 || (e.signal >= 1 && e.signal <= 64)
				       : e.signal == -1);
	CHECK((j = canonical(&e)));
	CHECK(docker_event_parse(j, &back) == e.kind);
	CHECK(!strcmp(back.id, e.id) && back.create == e.create && back.signal == e.signal);
	CHECK(back.time_ns == e.time_ns);
	CHECK(docker_event_stops(&back, v) == docker_event_stops(&e, v));
	json_decref(j);
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	size_t half = size / 2;
	struct jstream s = { 0 };
	struct docker_view v;

	vlog_threshold = VLOG_ERR - 1;
	inspect(text, half, &v);
	jstream_feed(&s, text + half, size - half, on_event, &v);
	jstream_fini(&s);
	frames_check(text + half, size - half);
	docker_view_fini(&v);
	return 0;
}

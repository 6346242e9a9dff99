/* libFuzzer target: any bytes as Docker's answers. The first half is one
 * container's inspect reply, the second the /events stream (in two chunks),
 * both through the Docker source (local mode) into the model. The source
 * file is included so that its static handlers are what gets fuzzed. */
#include "../../watcher/docker.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct loop *loop;
	static const struct docker_conf map = {
		.prefix = "vipd.", .node_ip = "10.0.2.15", .node_name = "node-a",
		.name_from = { "{env:NAMESPACE}", "{label:group}.{label:service}" },
		.n_name_from = 2,
	};
	static const struct docker_source_conf conf = {
		.mode = DOCKER_LOCAL, .socket = "/nonexistent/docker.sock", .map = &map,
	};
	struct model *m = model_alloc();
	struct source src = { .ops = &source_docker_ops, .model = m, .conf.docker = &conf };
	size_t half = size / 2, quarter = half + (size - half) / 2;
	struct docker *d;
	struct ctr *c;

	vlog_threshold = VLOG_ERR - 1;
	if (!loop)
		loop = loop_alloc();
	src.loop = loop;
	if (docker_start(&src) < 0)
		abort();
	d = src.priv;
	http_cancel(d->req);	/* the start's /version request: never sent */
	d->req = NULL;
	d->state = ST_EVENTS;
	strcpy(d->base, "http://docker/v1.41");
	c = dk_ctr_get(d, "9af7624e5f06d47c82b700660c9a9f4446d530ee1caa2d5fdf3f6811462df24f", true);
	inspect_done(NULL, 0, 200, (const char *)data, half, c);
	if (events_data(NULL, (const char *)data + half, quarter - half, d) == 0)
		events_data(NULL, (const char *)data + quarter, size - quarter, d);
	docker_stop(&src);
	model_free(m);
	return 0;
}

/* libFuzzer target: any bytes as etcd watch stream chunks (the JSON
 * gateway's framing, base64 keys and values, events, cancellations) into
 * the etcd source and the model. The source file is included so that its
 * static message handling is what gets fuzzed. */
#include "../../watcher/etcd.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct loop *loop;
	static char *endpoints[] = { "http://127.0.0.1:1" };
	static const struct etcd_conf etcd = {
		.endpoints = endpoints, .n_endpoints = 1, .prefix = "/vipd",
	};
	static const struct etcd_source_conf conf = { .etcd = &etcd };
	struct model *m = model_alloc();
	struct source src = { .ops = &source_etcd_ops, .model = m, .conf.etcd = &conf };
	struct etcd *e;
	size_t half = size / 2;

	vlog_threshold = VLOG_ERR - 1;
	if (!loop)
		loop = loop_alloc();
	src.loop = loop;
	if (etcd_start(&src) < 0)
		abort();
	e = src.priv;
	etcd_call_cancel(e->req);	/* the start's range request: never sent */
	e->req = NULL;
	e->need_range = false;
	/* two chunks, so framing across a boundary is exercised */
	if (watch_data((const char *)data, half, e) == 0)
		watch_data((const char *)data + half, size - half, e);
	etcd_stop(&src);
	model_free(m);
	return 0;
}

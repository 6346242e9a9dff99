/* What containers mean: labels, registrator environment, name templates,
 * addresses, health, and how a refusal names label and value. The seed
 * fleet's own `docker inspect` (tests/unit/data) must be served as it is. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "codec.h"
#include "docker.h"
#include "docker_source.h"
#include "hmap.h"
#include "log.h"
#include "source.h"

static struct docker_conf conf(void)
{
	return (struct docker_conf){ .prefix = "vipd.", .node_name = "node-a" };
}

/* An inspect object: labels and env as JSON text, network mode, state. */
static json_t *ctr(const char *labels, const char *env, const char *mode,
		   const char *state)
{
	char text[8192];	/* labels up to 4 KiB, and the rest */
	json_t *j;

	snprintf(text, sizeof(text),
		 "{\"Id\":\"3f2ab1c0d9e8aa\",\"Name\":\"/c1\",\"Created\":\"2026-11-25T10:00:00.5Z\","
		 "\"State\":%s,\"HostConfig\":{\"NetworkMode\":\"%s\"},"
		 "\"Config\":{\"Labels\":%s,\"Env\":%s},"
		 "\"NetworkSettings\":{\"Networks\":{"
		 "\"vipdnet\":{\"IPAddress\":\"10.252.0.2\"},"
		 "\"backnet\":{\"IPAddress\":\"10.253.0.2\"}}}}",
		 state ? state : "{\"Running\":true}", mode ? mode : "vipdnet",
		 labels ? labels : "{}", env ? env : "[]");
	j = json_loads(text, 0, NULL);
	assert_non_null(j);
	return j;
}

static int parse(const struct docker_conf *c, json_t *j, struct docker_view *v, char *err)
{
	int ret = docker_view_parse(c, j, v, err);

	json_decref(j);
	return ret;
}

#define REFUSED(labels, env, needle) do {					\
	struct docker_conf c = conf();						\
	struct docker_view v;							\
	char err[DOCKER_ERR_LEN];						\
	assert_int_equal(parse(&c, ctr(labels, env, NULL, NULL), &v, err), -EINVAL); \
	if (!strstr(err, needle))						\
		fail_msg("error \"%s\" lacks \"%s\"", err, needle);		\
	assert_int_equal(v.n_items, 0);						\
	assert_null(v.svc);							\
	docker_view_fini(&v);							\
} while (0)

static void seed_fleet(void **state)
{
	struct docker_conf c = conf();
	struct docker_view v;
	char err[DOCKER_ERR_LEN], ip[ADDR_STRLEN];
	json_t *seed = json_load_file("tests/unit/data/seed_inspect.json", 0, NULL);

	assert_non_null(seed);
	/* No name source configured: the container announces nothing. */
	assert_int_equal(docker_view_parse(&c, seed, &v, err), 0);
	assert_int_equal(v.n_items, 0);
	assert_string_equal(v.name, "arch.demo.task.1");
	assert_true(v.created_ns == 1615281473048284414LL);
	docker_view_fini(&v);

	c.name_from[c.n_name_from++] = "{env:NAMESPACE}";
	assert_int_equal(docker_view_parse(&c, seed, &v, err), -EINVAL);
	assert_non_null(strstr(err, "--node-ip"));
	docker_view_fini(&v);

	c.node_ip = "10.0.2.15";
	assert_int_equal(docker_view_parse(&c, seed, &v, err), 0);
	assert_int_equal(v.n_items, 1);
	assert_string_equal(v.items[0].service, "arch.task.http");
	assert_string_equal(addr_format(&v.items[0].ep->ip, ip), "10.0.2.15");
	assert_int_equal(v.items[0].ep->port, 0);	/* the service's target port */
	assert_string_equal(v.items[0].ep->id, "arch.demo.task.1");
	assert_string_equal(v.items[0].ep->node, "node-a");
	docker_view_fini(&v);

	/* The labels alone, joined: the first template that resolves wins. */
	c.name_from[0] = "{label:group}.{label:missing}";
	c.name_from[c.n_name_from++] = "{label:group}.{label:service}";
	assert_int_equal(docker_view_parse(&c, seed, &v, err), 0);
	assert_string_equal(v.items[0].service, "arch.task");
	docker_view_fini(&v);
	json_decref(seed);
}

static void labels(void **state)
{
	struct docker_conf c = conf();
	struct docker_view v;
	char err[DOCKER_ERR_LEN], ip[ADDR_STRLEN];

	assert_int_equal(parse(&c, ctr("{\"vipd.service\":\"web\",\"vipd.port\":\"8080\","
				       "\"vipd.weight\":\"50\"}", NULL, NULL, NULL), &v, err), 0);
	assert_true(v.up);
	assert_int_equal(v.n_items, 1);
	assert_string_equal(v.items[0].service, "web");
	assert_string_equal(v.items[0].ep->id, "c1");
	assert_int_equal(v.items[0].ep->port, 8080);
	assert_int_equal(v.items[0].ep->weight, 50);
	/* two networks, none chosen: the first by name */
	assert_string_equal(addr_format(&v.items[0].ep->ip, ip), "10.253.0.2");
	assert_null(v.svc);
	assert_string_equal(v.warning, "");
	docker_view_fini(&v);

	/* a typo is accepted with a warning naming it */
	assert_int_equal(parse(&c, ctr("{\"vipd.service\":\"web\",\"vipd.wieght\":\"50\"}",
				       NULL, NULL, NULL), &v, err), 0);
	assert_int_equal(v.n_items, 1);
	assert_string_equal(v.warning, "label vipd.wieght: not a vipd label; ignored");
	docker_view_fini(&v);

	assert_int_equal(parse(&c, ctr("{\"vipd.service\":\"web\",\"vipd.network\":\"vipdnet\","
				       "\"vipd.port.http\":\"8080\",\"vipd.port.admin\":\"9000\"}",
				       NULL, NULL, NULL), &v, err), 0);
	assert_string_equal(addr_format(&v.items[0].ep->ip, ip), "10.252.0.2");
	assert_int_equal(v.items[0].ep->n_ports, 2);
	docker_view_fini(&v);

	/* another prefix: vipd.* labels mean nothing then */
	c.prefix = "acme.lb.";
	assert_int_equal(parse(&c, ctr("{\"acme.lb.service\":\"web\",\"acme.lb.weight\":\"7\","
				       "\"vipd.weight\":\"0\"}", NULL, NULL, NULL), &v, err), 0);
	assert_int_equal(v.items[0].ep->weight, 7);
	docker_view_fini(&v);
	c.prefix = "vipd.";

	c.network = "vipdnet";
	assert_int_equal(parse(&c, ctr("{\"vipd.service\":\"web\"}", NULL, NULL, NULL), &v, err), 0);
	assert_string_equal(addr_format(&v.items[0].ep->ip, ip), "10.252.0.2");
	docker_view_fini(&v);
	c.network = "elsewhere";
	assert_int_equal(parse(&c, ctr("{\"vipd.service\":\"web\"}", NULL, NULL, NULL), &v, err), -EINVAL);
	assert_non_null(strstr(err, "--docker-network: value \"elsewhere\""));
	docker_view_fini(&v);
}

static void vip_defines_service(void **state)
{
	struct docker_conf c = conf();
	struct docker_view v;
	char err[DOCKER_ERR_LEN], ip[ADDR_STRLEN];

	assert_int_equal(parse(&c, ctr("{\"vipd.service\":\"web\",\"vipd.port\":\"8080\","
				       "\"vipd.vip\":\"10.96.0.10:80,[fd00::10]:80/tcp\","
				       "\"vipd.vip.dns\":\"10.96.0.10:53/udp\",\"vipd.port.dns\":\"5353\","
				       "\"vipd.algorithm\":\"round-robin\",\"vipd.slow_start\":\"30\"}",
				       NULL, NULL, NULL), &v, err), 0);
	assert_non_null(v.svc);
	assert_string_equal(v.svc->name, "web");
	assert_string_equal(addr_format(&v.svc->vip4, ip), "10.96.0.10");
	assert_string_equal(addr_format(&v.svc->vip6, ip), "fd00::10");
	assert_int_equal(v.svc->n_ports, 2);
	assert_int_equal(v.svc->algo, ALGO_ROUND_ROBIN);
	assert_int_equal(v.svc->slow_start, 30);
	for (unsigned i = 0; i < v.svc->n_ports; i++) {
		const struct svc_port *p = &v.svc->ports[i];

		if (p->port == 80)
			assert_int_equal(p->target_port, 8080);
		else
			assert_true(p->port == 53 && p->proto == IPPROTO_UDP &&
				    p->target_port == 5353 && !strcmp(p->name, "dns"));
	}
	docker_view_fini(&v);

	/* A stopped container keeps defining its service, with no endpoint. */
	assert_int_equal(parse(&c, ctr("{\"vipd.service\":\"web\",\"vipd.vip\":\"10.96.0.10:80\"}",
				       NULL, NULL, "{\"Running\":false}"), &v, err), 0);
	assert_false(v.up);
	assert_int_equal(v.n_items, 0);
	assert_non_null(v.svc);
	docker_view_fini(&v);
}

static void refusals(void **state)
{
	REFUSED("{\"vipd.service\":\"web\",\"vipd.weight\":\"0\"}", NULL,
		"label vipd.weight: value \"0\": must be 1..10000");
	REFUSED("{\"vipd.service\":\"web\",\"vipd.port\":\"abc\"}", NULL,
		"label vipd.port: value \"abc\"");
	REFUSED("{\"vipd.service\":\"web\",\"vipd.port\":\"70000\"}", NULL,
		"label vipd.port: value \"70000\"");
	REFUSED("{\"vipd.service\":\"Bad_Name\"}", NULL, "label vipd.service: value \"Bad_Name\"");
	REFUSED("{\"vipd.service\":\"web\",\"vipd.vip\":\"nonsense\"}", NULL,
		"label vipd.vip: value \"nonsense\"");
	REFUSED("{\"vipd.service\":\"web\",\"vipd.vip\":\"10.96.0.10\"}", NULL,
		"label vipd.vip: value \"10.96.0.10\"");
	REFUSED("{\"vipd.service\":\"web\",\"vipd.vip\":\"fd00::10:80\"}", NULL, "label vipd.vip");
	REFUSED("{\"vipd.service\":\"web\",\"vipd.vip\":\"10.96.0.10:80/icmp\"}", NULL, "label vipd.vip");
	REFUSED("{\"vipd.service\":\"web\",\"vipd.vip\":\"10.96.0.10:80,10.96.0.11:81\"}", NULL,
		"one IPv4 VIP");
	REFUSED("{\"vipd.service\":\"web\",\"vipd.vip\":\"224.0.0.1:80\"}", NULL,
		"label vipd.vip: value \"224.0.0.1\": not a unicast address");
	REFUSED("{\"vipd.service\":\"web\",\"vipd.vip\":\"10.96.0.10:80\",\"vipd.algorithm\":\"fastest\"}",
		NULL, "label vipd.algorithm: value \"fastest\"");
	REFUSED("{\"vipd.service\":\"web\",\"vipd.vip\":\"10.96.0.10:80\",\"vipd.health.rise\":\"many\"}",
		NULL, "label vipd.health.rise: value \"many\"");
	REFUSED("{\"vipd.port\":\"8080\"}", NULL, "label vipd.service: missing");
	REFUSED("{\"vipd.service\":\"web\",\"vipd.port.Admin\":\"1\"}", NULL, "label vipd.port.Admin");
	REFUSED(NULL, "[\"SERVICE_NAME=api\",\"SERVICE_PORT=http\"]", "env SERVICE_PORT: value \"http\"");
	REFUSED(NULL, "[\"SERVICE_80_NAME=My_App\"]", "env SERVICE_80_NAME: value \"My_App\"");
	REFUSED(NULL, "[\"SERVICE_80_NAME=web\",\"SERVICE_443_NAME=web\"]", "already announced on port");
	REFUSED("{\"vipd.service\":\"web\",\"vipd.vip\":\"10.96.0.10:0000080999\"}", NULL, "label vipd.vip");
	REFUSED("{\"vipd.service\":\"web\",\"vipd.vip\":\"\"}", NULL, "label vipd.vip: value \"\"");
	REFUSED("{\"vipd.service\":\"web\",\"vipd.vip\":5}", NULL, "label vipd.vip");
	REFUSED("{\"vipd.service\":7}", NULL, "label vipd.service");
}

/* Keys and values are the container's: a refusal of a huge one stays in
 * its buffer (ASan watches). */
static void huge_labels(void **state)
{
	char key[1200], labels[4096];

	memset(key, 'a', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	snprintf(labels, sizeof(labels), "{\"vipd.service\":\"web\",\"vipd.vip.%s\":\"x\"}", key);
	REFUSED(labels, NULL, "label vipd.vip.aaaa");
	snprintf(labels, sizeof(labels), "{\"vipd.service\":\"web\",\"vipd.port.%s\":\"1\"}", key);
	REFUSED(labels, NULL, "...");
	snprintf(labels, sizeof(labels), "{\"vipd.service\":\"web\",\"vipd.network\":\"%s\"}", key);
	{
		struct docker_conf c = conf();
		struct docker_view v;
		char err[DOCKER_ERR_LEN];

		assert_int_equal(parse(&c, ctr(labels, NULL, NULL, NULL), &v, err), -EINVAL);
		/* the value is cut short, and the line still says why */
		assert_non_null(strstr(err, "label vipd.network: value \"aaaa"));
		assert_non_null(strstr(err, "aaaa...\": the container is not on that network"));
		assert_true(strlen(err) < 200);
		docker_view_fini(&v);
	}
}

static void registrator(void **state)
{
	struct docker_conf c = conf();
	struct docker_view v;
	char err[DOCKER_ERR_LEN];

	assert_int_equal(parse(&c, ctr(NULL, "[\"SERVICE_NAME=api\",\"SERVICE_PORT=9000\"]",
				       NULL, NULL), &v, err), 0);
	assert_int_equal(v.n_items, 1);
	assert_string_equal(v.items[0].service, "api");
	assert_int_equal(v.items[0].ep->port, 9000);
	docker_view_fini(&v);

	/* one service per port; a label beats the environment */
	assert_int_equal(parse(&c, ctr("{\"SERVICE_80_NAME\":\"web\"}",
				       "[\"SERVICE_80_NAME=other\",\"SERVICE_9090_NAME=metrics\"]",
				       NULL, NULL), &v, err), 0);
	assert_int_equal(v.n_items, 2);
	for (size_t i = 0; i < 2; i++)
		assert_true((v.items[i].ep->port == 80 && !strcmp(v.items[i].service, "web")) ||
			    (v.items[i].ep->port == 9090 && !strcmp(v.items[i].service, "metrics")));
	/* both of them, not one twice */
	assert_int_not_equal(v.items[0].ep->port, v.items[1].ep->port);
	docker_view_fini(&v);

	assert_int_equal(parse(&c, ctr("{\"vipd.service\":\"web\"}", "[\"SERVICE_IGNORE=true\"]",
				       NULL, NULL), &v, err), 0);
	assert_int_equal(v.n_items, 0);
	docker_view_fini(&v);
}

static void health_and_state(void **state)
{
	static const struct {
		const char *state;
		uint8_t cause;
	} unready[] = {
		{ "{\"Running\":true,\"Health\":{\"Status\":\"starting\"}}", CAUSE_DOCKER_STARTING },
		{ "{\"Running\":true,\"Health\":{\"Status\":\"unhealthy\"}}", CAUSE_DOCKER_UNHEALTHY },
		{ "{\"Running\":true,\"Health\":{\"Status\":\"confused\"}}", CAUSE_DOCKER_UNHEALTHY },
	};
	static const char *const down[] = {
		"{\"Running\":true,\"Paused\":true}",
		"{\"Running\":true,\"Restarting\":true}",
		"{\"Running\":false}",
	};
	struct docker_conf c = conf();
	struct docker_view v;
	char err[DOCKER_ERR_LEN], ip[ADDR_STRLEN];

	/* a running container that its HEALTHCHECK holds back is a backend,
	 * not ready, with its address, port and weight */
	for (size_t i = 0; i < sizeof(unready) / sizeof(*unready); i++) {
		assert_int_equal(parse(&c, ctr("{\"vipd.service\":\"web\",\"vipd.port\":\"8080\","
					       "\"vipd.weight\":\"7\"}", NULL, NULL, unready[i].state),
				       &v, err), 0);
		assert_true(v.up);
		assert_int_equal(v.n_items, 1);
		assert_false(v.items[0].ep->ready);
		assert_int_equal(v.items[0].ep->cause, unready[i].cause);
		assert_false(v.items[0].ep->terminating);
		assert_string_equal(addr_format(&v.items[0].ep->ip, ip), "10.253.0.2");
		assert_int_equal(v.items[0].ep->port, 8080);
		assert_int_equal(v.items[0].ep->weight, 7);
		docker_view_fini(&v);
	}
	/* paused, restarting, stopped: no backend at all */
	for (size_t i = 0; i < sizeof(down) / sizeof(*down); i++) {
		assert_int_equal(parse(&c, ctr("{\"vipd.service\":\"web\"}", NULL, NULL, down[i]),
				       &v, err), 0);
		assert_false(v.up);
		assert_int_equal(v.n_items, 0);
		docker_view_fini(&v);
	}
	assert_int_equal(parse(&c, ctr("{\"vipd.service\":\"web\"}", NULL, NULL,
				       "{\"Running\":true,\"Health\":{\"Status\":\"healthy\"}}"),
			       &v, err), 0);
	assert_int_equal(v.n_items, 1);
	assert_true(v.items[0].ep->ready);
	assert_int_equal(v.items[0].ep->cause, CAUSE_NONE);
	docker_view_fini(&v);
	/* no HEALTHCHECK: ready */
	assert_int_equal(parse(&c, ctr("{\"vipd.service\":\"web\"}", NULL, NULL, NULL), &v, err), 0);
	assert_true(v.items[0].ep->ready);
	assert_int_equal(v.items[0].ep->cause, CAUSE_NONE);
	docker_view_fini(&v);
	/* a network namespace borrowed from another container has no address */
	assert_int_equal(parse(&c, ctr("{\"vipd.service\":\"web\"}", NULL, "container:abc", NULL),
			       &v, err), -EINVAL);
	assert_non_null(strstr(err, "network container:abc"));
	docker_view_fini(&v);
}

static void signals_and_templates(void **state)
{
	assert_int_equal(docker_signal_parse("SIGQUIT"), SIGQUIT);
	assert_int_equal(docker_signal_parse("TERM"), SIGTERM);
	assert_int_equal(docker_signal_parse("9"), SIGKILL);
	assert_int_equal(docker_signal_parse("SIGNOPE"), -1);
	assert_int_equal(docker_name_from_check("{label:service}"), 0);
	assert_int_equal(docker_name_from_check("{label:group}.{env:NAMESPACE}"), 0);
	assert_int_equal(docker_name_from_check("{lab:x}"), -EINVAL);
	assert_int_equal(docker_name_from_check("{label:x"), -EINVAL);
	assert_int_equal(docker_name_from_check("plain"), -EINVAL);
}

/* What a fuzzer found: the endpoint id falls back to the container id,
 * which must be one; a creation time past 2262 is unknown, not overflowed. */
static void odd_inspect(void **state)
{
	struct docker_conf c = conf();
	struct docker_view v;
	char err[DOCKER_ERR_LEN];
	json_t *j = json_loads("{\"Name\":\"/web[1\",\"Created\":\"2999-01-01T00:00:00Z\","
			       "\"State\":{\"Running\":true},\"Config\":{\"Labels\":{\"vipd.service\":\"web\"}},"
			       "\"NetworkSettings\":{\"Networks\":{\"n\":{\"IPAddress\":\"10.0.0.2\"}}}}",
			       0, NULL);

	assert_non_null(j);
	assert_int_equal(docker_view_parse(&c, j, &v, err), -EINVAL);
	assert_non_null(strstr(err, "field Id: value \"?\""));
	assert_int_equal(v.n_items, 0);
	assert_true(v.created_ns == INT64_MAX);
	docker_view_fini(&v);
	json_object_set_new(j, "Id", json_string("3f2ab1c0d9e8aa"));
	assert_int_equal(docker_view_parse(&c, j, &v, err), 0);
	assert_int_equal(v.n_items, 1);
	assert_string_equal(v.items[0].ep->id, "3f2ab1c0d9e8");
	docker_view_fini(&v);
	json_decref(j);
}

static enum docker_event_kind event(const char *text, struct docker_event *e)
{
	json_t *j = json_loads(text, 0, NULL);
	enum docker_event_kind k;

	assert_non_null(j);
	k = docker_event_parse(j, e);
	/* e->id is borrowed from j: compare it before letting go */
	if (k != DOCKER_EV_IGNORE)
		assert_string_equal(e->id, "c0ffee");
	json_decref(j);
	return k;
}

static void events(void **state)
{
	struct docker_view v = { .stop_signal = SIGTERM, .started_ns = 2000 };
	struct docker_event e;

	assert_int_equal(event("{\"Type\":\"container\",\"Action\":\"start\","
			       "\"Actor\":{\"ID\":\"c0ffee\"}}", &e), DOCKER_EV_INSPECT);
	assert_true(e.create);
	assert_int_equal(event("{\"Type\":\"container\",\"Action\":\"health_status: healthy\","
			       "\"Actor\":{\"ID\":\"c0ffee\"}}", &e), DOCKER_EV_INSPECT);
	assert_false(e.create);
	assert_int_equal(event("{\"Type\":\"container\",\"Action\":\"destroy\","
			       "\"Actor\":{\"ID\":\"c0ffee\"}}", &e), DOCKER_EV_DESTROY);
	assert_false(e.create);
	/* a network event concerns the container in its attributes */
	assert_int_equal(event("{\"Type\":\"network\",\"Action\":\"connect\","
			       "\"Actor\":{\"ID\":\"n1\",\"Attributes\":{\"container\":\"c0ffee\"}}}",
			       &e), DOCKER_EV_INSPECT);
	assert_false(e.create);
	assert_int_equal(event("{\"Type\":\"network\",\"Action\":\"connect\",\"Actor\":{\"ID\":\"n1\"}}",
			       &e), DOCKER_EV_IGNORE);
	assert_null(e.id);
	assert_int_equal(event("{\"Type\":\"container\",\"Action\":\"exec_start: sh\","
			       "\"Actor\":{\"ID\":\"c0ffee\"}}", &e), DOCKER_EV_IGNORE);
	assert_int_equal(event("{\"Type\":\"image\",\"Action\":\"pull\","
			       "\"Actor\":{\"ID\":\"c0ffee\"}}", &e), DOCKER_EV_IGNORE);
	assert_int_equal(event("{\"Type\":\"container\",\"Actor\":{\"ID\":\"c0ffee\"}}", &e),
			 DOCKER_EV_IGNORE);
	assert_int_equal(event("[1]", &e), DOCKER_EV_IGNORE);

	/* kills: the stop signal or SIGKILL stop this run, others do not */
	assert_int_equal(event("{\"Type\":\"container\",\"Action\":\"kill\",\"timeNano\":3000,"
			       "\"Actor\":{\"ID\":\"c0ffee\",\"Attributes\":{\"signal\":\"15\"}}}",
			       &e), DOCKER_EV_KILL);
	assert_int_equal(e.signal, SIGTERM);
	assert_int_equal(e.time_ns, 3000);
	assert_true(docker_event_stops(&e, &v));
	assert_int_equal(docker_event_cause(&e, &v), CAUSE_DOCKER_STOP);
	e.signal = SIGHUP;
	assert_false(docker_event_stops(&e, &v));
	assert_int_equal(docker_event_cause(&e, &v), CAUSE_NONE);
	e.signal = SIGKILL;
	assert_true(docker_event_stops(&e, &v));
	assert_int_equal(docker_event_cause(&e, &v), CAUSE_DOCKER_KILL);
	/* a container whose stop signal is another one */
	v.stop_signal = SIGQUIT;
	e.signal = SIGQUIT;
	assert_int_equal(docker_event_cause(&e, &v), CAUSE_DOCKER_STOP);
	e.signal = SIGTERM;
	assert_int_equal(docker_event_cause(&e, &v), CAUSE_NONE);
	v.stop_signal = SIGTERM;
	e.signal = SIGKILL;
	/* sent before this run started: replayed, over already */
	e.time_ns = 1000;
	assert_false(docker_event_stops(&e, &v));
	assert_int_equal(docker_event_cause(&e, &v), CAUSE_NONE);
	e.time_ns = 0;
	assert_true(docker_event_stops(&e, &v));
	e.kind = DOCKER_EV_INSPECT;
	assert_false(docker_event_stops(&e, &v));
}


/* ---- the source: what containers do to the model ----------------------- */

/* The Docker source without dockerd: inspects are fed by hand. */
struct fix {
	struct docker_conf conf;
	struct source src;
	struct docker d;
};

static char logged[8192];	/* every line since fix_init, one a line */

static void capture(enum vlog_level level, const char *line)
{
	size_t n = strlen(logged);

	snprintf(logged + n, sizeof(logged) - n, "%s\n", line);
}

static void fix_init(struct fix *f)
{
	memset(f, 0, sizeof(*f));
	f->conf = conf();
	f->src.model = model_alloc();
	f->d.src = &f->src;
	f->d.conf = &f->conf;
	f->d.ctrs = hmap_alloc();
	assert_non_null(f->src.model);
	assert_non_null(f->d.ctrs);
	logged[0] = '\0';
	vlog_sink = capture;
	vlog_threshold = VLOG_DEBUG;	/* the model's change lines too */
}

static void fix_fini(struct fix *f)
{
	hmap_free(f->d.ctrs, dk_ctr_free);
	model_free(f->src.model);
	vlog_sink = NULL;
	vlog_threshold = VLOG_INFO;
}

/* An inspect of container NAME (id ID), created at CREATED, in STATE. */
static json_t *ctr_as(const char *labels, const char *state, const char *id,
		      const char *name, const char *created)
{
	json_t *j = ctr(labels, NULL, NULL, state);
	char slashed[64];

	snprintf(slashed, sizeof(slashed), "/%s", name);
	json_object_set_new(j, "Id", json_string(id));
	json_object_set_new(j, "Name", json_string(slashed));
	json_object_set_new(j, "Created", json_string(created));
	return j;
}

/* What an inspect reply does (docker.c's inspect_done without the I/O). */
static struct ctr *feed(struct fix *f, const char *id, json_t *insp)
{
	struct ctr *c = dk_ctr_get(&f->d, id, true);
	char err[DOCKER_ERR_LEN];
	struct docker_view nv;
	int ret;

	assert_non_null(c);
	ret = docker_view_parse(&f->conf, insp, &nv, err);
	json_decref(insp);
	assert_int_equal(ret, 0);
	dk_ctr_judged(c, &nv, ret, err);
	dk_ctr_apply(c, &nv);
	return c;
}

/* The only endpoint of service web in the model. */
static const struct endpoint *web_ep(const struct fix *f)
{
	struct endpoint *const *eps;

	assert_int_equal(model_endpoints_get(f->src.model, "web", &eps), 1);
	return eps[0];
}

#define WEB_LABELS "{\"vipd.service\":\"web\",\"vipd.port\":\"8080\",\"vipd.weight\":\"30\"}"
#define RUN_AT(t, health) "{\"Running\":true,\"StartedAt\":\"" t "\"" health "}"
#define HEALTH(s) ",\"Health\":{\"Status\":\"" s "\"}"

/* health_status events make the inspect flip ready on the same endpoint:
 * the model sees one backend turn ready, never a removal and an add. */
static void source_health_flips(void **state)
{
	struct fix f;
	const struct endpoint *ep;
	char ip[ADDR_STRLEN];

	fix_init(&f);
	feed(&f, "aa01", ctr_as(WEB_LABELS, RUN_AT("2026-11-25T10:00:01Z", HEALTH("starting")),
				 "aa01", "c1", "2026-11-25T10:00:00Z"));
	ep = web_ep(&f);
	assert_false(ep->ready);
	assert_int_equal(ep->cause, CAUSE_DOCKER_STARTING);
	assert_string_equal(addr_format(&ep->ip, ip), "10.253.0.2");
	assert_int_equal(ep->weight, 30);
	assert_non_null(strstr(logged, "web: +c1 10.253.0.2:8080 weight 30 (not ready)"));

	feed(&f, "aa01", ctr_as(WEB_LABELS, RUN_AT("2026-11-25T10:00:01Z", HEALTH("healthy")),
				 "aa01", "c1", "2026-11-25T10:00:00Z"));
	ep = web_ep(&f);
	assert_true(ep->ready);
	assert_int_equal(ep->cause, CAUSE_NONE);
	feed(&f, "aa01", ctr_as(WEB_LABELS, RUN_AT("2026-11-25T10:00:01Z", HEALTH("unhealthy")),
				 "aa01", "c1", "2026-11-25T10:00:00Z"));
	ep = web_ep(&f);
	assert_false(ep->ready);
	assert_int_equal(ep->cause, CAUSE_DOCKER_UNHEALTHY);
	assert_non_null(strstr(logged, "web: c1 not ready -> ready\n"));
	assert_non_null(strstr(logged, "web: c1 ready -> not ready\n"));
	if (strstr(logged, "web: -c1"))
		fail_msg("the health change removed the endpoint:\n%s", logged);

	/* paused (or dead): no endpoint, as before */
	feed(&f, "aa01", ctr_as(WEB_LABELS, "{\"Running\":true,\"Paused\":true,"
				 "\"StartedAt\":\"2026-11-25T10:00:01Z\"}", "aa01", "c1",
				 "2026-11-25T10:00:00Z"));
	assert_int_equal(model_endpoints_get(f.src.model, "web", &(struct endpoint *const *){ NULL }), 0);
	fix_fini(&f);
}

/* A kill event turns the endpoint terminating with why; the next run of
 * the container is a fresh one. */
static void source_terminating_cause(void **state)
{
	static const char *const kill_ev[] = {
		"{\"Type\":\"container\",\"Action\":\"kill\",\"Actor\":{\"ID\":\"aa01\","
		"\"Attributes\":{\"signal\":\"15\"}}}",
		"{\"Type\":\"container\",\"Action\":\"kill\",\"Actor\":{\"ID\":\"aa01\","
		"\"Attributes\":{\"signal\":\"9\"}}}",
	};
	static const uint8_t want[] = { CAUSE_DOCKER_STOP, CAUSE_DOCKER_KILL };

	for (size_t i = 0; i < 2; i++) {
		struct docker_event e;
		struct fix f;
		struct ctr *c;
		json_t *j;
		const struct endpoint *ep;

		fix_init(&f);
		c = feed(&f, "aa01", ctr_as(WEB_LABELS, RUN_AT("2026-11-25T10:00:01Z", ""),
					    "aa01", "c1", "2026-11-25T10:00:00Z"));
		j = json_loads(kill_ev[i], 0, NULL);
		assert_int_equal(docker_event_parse(j, &e), DOCKER_EV_KILL);
		dk_ctr_terminating(c, docker_event_cause(&e, &c->view));
		json_decref(j);
		ep = web_ep(&f);
		assert_true(ep->terminating);
		assert_int_equal(ep->cause, want[i]);
		/* docker stop's SIGKILL after the timeout: the first cause stays */
		dk_ctr_terminating(c, CAUSE_DOCKER_KILL);
		assert_int_equal(web_ep(&f)->cause, want[i]);
		/* an inspect during the stop window (a health_status) keeps it */
		feed(&f, "aa01", ctr_as(WEB_LABELS, RUN_AT("2026-11-25T10:00:01Z", HEALTH("unhealthy")),
					"aa01", "c1", "2026-11-25T10:00:00Z"));
		ep = web_ep(&f);
		assert_true(ep->terminating);
		assert_false(ep->ready);
		assert_int_equal(ep->cause, want[i]);
		/* restarted: a new run, neither terminating nor a cause */
		feed(&f, "aa01", ctr_as(WEB_LABELS, RUN_AT("2026-11-25T10:05:00Z", ""),
					"aa01", "c1", "2026-11-25T10:00:00Z"));
		ep = web_ep(&f);
		assert_false(ep->terminating);
		assert_true(ep->ready);
		assert_int_equal(ep->cause, CAUSE_NONE);
		fix_fini(&f);
	}
}

/* Register mode writes what codec_endpoint_json makes of the endpoint:
 * not ready is written, the cause (node-local) is not. */
static void register_not_ready(void **state)
{
	struct docker_conf c = conf();
	struct docker_view v;
	struct endpoint *back;
	char err[DOCKER_ERR_LEN], cerr[CODEC_ERR_LEN];
	json_t *o;

	assert_int_equal(parse(&c, ctr(WEB_LABELS, NULL, NULL,
				       "{\"Running\":true" HEALTH("unhealthy") "}"), &v, err), 0);
	assert_non_null(o = codec_endpoint_json(v.items[0].ep));
	assert_true(json_is_false(json_object_get(o, "ready")));
	assert_true(json_is_false(json_object_get(o, "terminating")));
	assert_null(json_object_get(o, "cause"));
	assert_int_equal(json_integer_value(json_object_get(o, "port")), 8080);
	assert_int_equal(json_integer_value(json_object_get(o, "weight")), 30);
	assert_int_equal(codec_endpoint_parse("node-a:c1", o, &back, cerr), 0);
	assert_false(back->ready);
	assert_int_equal(back->cause, CAUSE_NONE);
	endpoint_free(back);
	json_decref(o);
	docker_view_fini(&v);
}

#define SVC_LABELS(extra) "{\"vipd.service\":\"web\",\"vipd.port\":\"8080\"," \
	"\"vipd.vip\":\"10.96.0.10:80\"" extra "}"

/* vipd.health.<field>, vipd.slow_start and vipd.drain_seconds are the
 * service's fields; containers that disagree: the oldest wins, said once. */
static void service_labels(void **state)
{
	struct fix f;
	const struct service *svc;

	fix_init(&f);
	feed(&f, "bb02", ctr_as(SVC_LABELS(",\"vipd.slow_start\":\"10\",\"vipd.drain_seconds\":\"5\""),
				 NULL, "bb02", "young", "2026-11-25T11:00:00Z"));
	assert_non_null(svc = model_service_get(f.src.model, "web"));
	assert_int_equal(svc->slow_start, 10);
	assert_false(svc->health.enabled);

	feed(&f, "aa01", ctr_as(SVC_LABELS(",\"vipd.slow_start\":\"30\",\"vipd.drain_seconds\":\"20\","
					   "\"vipd.health.type\":\"http\",\"vipd.health.path\":\"/healthz\","
					   "\"vipd.health.port\":\"8081\",\"vipd.health.expect\":\"204\","
					   "\"vipd.health.interval_ms\":\"500\",\"vipd.health.timeout_ms\":\"300\","
					   "\"vipd.health.rise\":\"3\",\"vipd.health.fall\":\"4\""),
				 NULL, "aa01", "old", "2026-11-25T10:00:00Z"));
	assert_non_null(svc = model_service_get(f.src.model, "web"));
	assert_int_equal(svc->slow_start, 30);
	assert_int_equal(svc->drain_seconds, 20);
	assert_true(svc->health.enabled);
	assert_true(svc->health.http);
	assert_string_equal(svc->health.path, "/healthz");
	assert_int_equal(svc->health.port, 8081);
	assert_int_equal(svc->health.expect, 204);
	assert_int_equal(svc->health.interval_ms, 500);
	assert_int_equal(svc->health.timeout_ms, 300);
	assert_int_equal(svc->health.rise, 3);
	assert_int_equal(svc->health.fall, 4);
	assert_non_null(strstr(logged, "docker: service web: container young defines it differently "
				       "from the oldest, old; old's definition is used"));

	/* the young one again (any inspect): no second line */
	logged[0] = '\0';
	feed(&f, "bb02", ctr_as(SVC_LABELS(",\"vipd.slow_start\":\"10\",\"vipd.drain_seconds\":\"5\""),
				 NULL, "bb02", "young", "2026-11-25T11:00:00Z"));
	assert_null(strstr(logged, "defines it differently"));
	assert_int_equal(model_service_get(f.src.model, "web")->slow_start, 30);

	/* the oldest gone: the next one's definition */
	dk_ctr_remove(dk_ctr_get(&f.d, "aa01", false));
	assert_non_null(svc = model_service_get(f.src.model, "web"));
	assert_int_equal(svc->slow_start, 10);
	assert_int_equal(svc->drain_seconds, 5);
	assert_false(svc->health.enabled);
	fix_fini(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(seed_fleet),
		cmocka_unit_test(labels),
		cmocka_unit_test(vip_defines_service),
		cmocka_unit_test(refusals),
		cmocka_unit_test(huge_labels),
		cmocka_unit_test(registrator),
		cmocka_unit_test(health_and_state),
		cmocka_unit_test(signals_and_templates),
		cmocka_unit_test(events),
		cmocka_unit_test(odd_inspect),
		cmocka_unit_test(source_health_flips),
		cmocka_unit_test(source_terminating_cause),
		cmocka_unit_test(register_not_ready),
		cmocka_unit_test(service_labels),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

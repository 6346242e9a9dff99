/* Validation of service and endpoint JSON: what is refused, and how the
 * refusal names the field and the value. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "codec.h"

static int svc(const char *name, const char *json, char *err)
{
	struct service *s = NULL;
	int ret = codec_service_parse_text(name, json, strlen(json), &s, err);

	service_free(s);
	return ret;
}

static int ep(const char *id, const char *json, char *err)
{
	struct endpoint *e = NULL;
	int ret = codec_endpoint_parse_text(id, json, strlen(json), &e, err);

	endpoint_free(e);
	return ret;
}

#define REFUSED(call, needle) do {					\
	char err[CODEC_ERR_LEN] = "";					\
	assert_int_equal(call, -EINVAL);				\
	if (!strstr(err, needle))					\
		fail_msg("error \"%s\" lacks \"%s\"", err, needle);	\
} while (0)

static void service_good(void **state)
{
	const char *j = "{\"vip\":\"10.96.0.10\",\"vip6\":\"fd00::10\","
		"\"ports\":[{\"name\":\"http\",\"port\":80,\"protocol\":\"tcp\",\"target_port\":8080},"
		"{\"name\":\"dns\",\"port\":53,\"protocol\":\"udp\"}],"
		"\"algorithm\":\"maglev\",\"traffic_policy\":\"local\",\"slow_start\":30,"
		"\"health\":{\"type\":\"http\",\"path\":\"/healthz\"}}";
	struct service *s = NULL;
	char err[CODEC_ERR_LEN];

	assert_int_equal(codec_service_parse_text("arch.task.http", j, strlen(j), &s, err), 0);
	assert_int_equal(s->n_ports, 2);
	assert_int_equal(s->ports[0].target_port, 8080);
	assert_int_equal(s->ports[1].proto, IPPROTO_UDP);
	assert_int_equal(s->algo, ALGO_MAGLEV);
	assert_int_equal(s->policy, POLICY_LOCAL);
	assert_int_equal(s->vip6.family, AF_INET6);
	assert_true(s->health.http);
	assert_int_equal(s->health.fall, 3);
	service_free(s);
}

static void service_refused(void **state)
{
	const char *ok_ports = "\"ports\":[{\"port\":80}]";
	char j[512];

	REFUSED(svc("bad name", "{}", err), "value \"bad name\"");
	REFUSED(svc("x;y", "{}", err), "field name");
	REFUSED(svc("-web", "{}", err), "field name");
	REFUSED(svc("Web", "{}", err), "field name");
	REFUSED(svc("web", "{", err), "field (json)");
	REFUSED(svc("web", "[]", err), "must be an object");
	snprintf(j, sizeof(j), "{\"vip\":\"10.0.0.300\",%s}", ok_ports);
	REFUSED(svc("web", j, err), "field vip: value \"10.0.0.300\": not an IP address");
	snprintf(j, sizeof(j), "{\"vip\":\"fd00::1\",%s}", ok_ports);
	REFUSED(svc("web", j, err), "must be an IPv4 address");
	snprintf(j, sizeof(j), "{\"vip\":\"224.0.0.1\",%s}", ok_ports);
	REFUSED(svc("web", j, err), "not a unicast");
	REFUSED(svc("web", "{\"vip\":\"10.1.1.1\",\"ports\":[{\"port\":0}]}", err),
		"field ports[0].port: value 0: out of range 1..65535");
	REFUSED(svc("web", "{\"vip\":\"10.1.1.1\",\"ports\":[{\"port\":70000}]}", err),
		"value 70000");
	REFUSED(svc("web", "{\"vip\":\"10.1.1.1\",\"ports\":[{\"port\":\"80\"}]}", err),
		"must be an integer");
	REFUSED(svc("web", "{\"vip\":\"10.1.1.1\",\"ports\":[]}", err), "non-empty");
	REFUSED(svc("web", "{\"vip\":\"10.1.1.1\",\"ports\":[{\"port\":null}]}", err), "required");
	REFUSED(ep("e1", "{\"ip\":null}", err), "field ip");
	REFUSED(svc("web", "{\"vip\":\"10.1.1.1\"}", err), "field ports: value (missing)");
	REFUSED(svc("web", "{\"ports\":[{\"port\":80}]}", err), "needs vip or vip6");
	REFUSED(svc("web", "{\"vip\":\"10.1.1.1\",\"ports\":[{\"port\":80},{\"port\":80}]}", err),
		"listed twice");
	REFUSED(svc("web", "{\"vip\":\"10.1.1.1\",\"ports\":[{\"port\":80,\"protocol\":\"icmp\"}]}", err),
		"field ports[0].protocol: value \"icmp\"");
	REFUSED(svc("web", "{\"vip\":\"10.1.1.1\",\"ports\":[{\"port\":80}],\"algorithm\":\"wrr\"}", err),
		"field algorithm");
	REFUSED(svc("web", "{\"vip\":\"10.1.1.1\",\"ports\":[{\"port\":80}],\"health\":{\"fall\":0}}", err),
		"field health.fall");
}

static void endpoint_good(void **state)
{
	const char *j = "{\"ip\":\"10.0.2.15\",\"ports\":{\"http\":8080},\"weight\":5,"
		"\"node\":\"node-a\",\"ready\":false}";
	struct endpoint *e = NULL;
	struct svc_port sp = { .name = "http", .port = 80 };
	struct svc_port other = { .name = "x", .port = 81, .target_port = 9000 };
	char err[CODEC_ERR_LEN];

	assert_int_equal(codec_endpoint_parse_text("c1", j, strlen(j), &e, err), 0);
	assert_int_equal(e->weight, 5);
	assert_false(e->ready);
	assert_string_equal(e->node, "node-a");
	assert_int_equal(endpoint_port_for(e, &sp), 8080);
	assert_int_equal(endpoint_port_for(e, &other), 9000);
	other.target_port = 0;
	assert_int_equal(endpoint_port_for(e, &other), 81);
	endpoint_free(e);
}

static void endpoint_refused(void **state)
{
	REFUSED(ep("e1", "{\"port\":80}", err), "field ip: value (missing)");
	REFUSED(ep("e1", "{\"ip\":\"10.0.0.300\"}", err), "field ip");
	REFUSED(ep("e1", "{\"ip\":\"10.0.0.3\",\"port\":0}", err), "field port: value 0");
	REFUSED(ep("e1", "{\"ip\":\"10.0.0.3\",\"port\":70000}", err), "value 70000");
	REFUSED(ep("e1", "{\"ip\":\"10.0.0.3\",\"weight\":0}", err), "field weight: value 0");
	REFUSED(ep("e1", "{\"ip\":\"10.0.0.3\",\"weight\":10001}", err), "field weight");
	REFUSED(ep("e1", "{\"ip\":\"10.0.0.3\",\"ready\":\"yes\"}", err), "field ready");
	REFUSED(ep("e 1", "{\"ip\":\"10.0.0.3\"}", err), "field id");
	REFUSED(ep("e;1", "{\"ip\":\"10.0.0.3\"}", err), "field id");
	REFUSED(ep("e1", "{\"ip\":\"10.0.0.3\",\"ports\":{\"http\":0}}", err), "field ports.http");
	/* node and zone reach log lines and registry keys: no control bytes */
	REFUSED(ep("e1", "{\"ip\":\"10.0.0.3\",\"node\":\"a\\nvipd: info: forged\"}", err),
		"field node: value \"a\\nvipd: info: forged\": control characters are not allowed");
	REFUSED(ep("e1", "{\"ip\":\"10.0.0.3\",\"zone\":\"z\\u001b[2J\"}", err),
		"field zone");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(service_good),
		cmocka_unit_test(service_refused),
		cmocka_unit_test(endpoint_good),
		cmocka_unit_test(endpoint_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

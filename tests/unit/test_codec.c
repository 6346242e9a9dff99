/* Validation of service, endpoint and verdict JSON: what is refused, and
 * how the refusal names the field and the value. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
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

static void count_unknown(void *arg, const char *path)
{
	(*(int *)arg)++;
}

/* external_ips and source_ranges of either family, in the order given;
 * known keys, so not reported as unknown. */
static void service_external_good(void **state)
{
	const char *j = "{\"vip\":\"10.96.0.10\",\"vip6\":\"fd00::10\","
		"\"ports\":[{\"port\":80,\"node_port\":30080},{\"port\":80,\"protocol\":\"udp\",\"node_port\":30080}],"
		"\"external_ips\":[\"203.0.113.7\",\"2001:db8::7\"],"
		"\"source_ranges\":[\"198.51.100.0/24\",\"2001:db8:1::/48\",\"192.0.2.9\",\"0.0.0.0/0\"],"
		"\"affinity_timeout\":10800,\"algorithm\":\"round-robin\"}";
	struct service *s = NULL;
	char err[CODEC_ERR_LEN], buf[CIDR_STRLEN], a[ADDR_STRLEN];
	int unknown = 0;
	struct codec_report rep = { count_unknown, &unknown };
	json_t *obj = json_loads(j, 0, NULL);

	assert_non_null(obj);
	assert_int_equal(codec_service_read("web", obj, &rep, &s, err), 0);
	assert_int_equal(unknown, 0);
	assert_int_equal(s->n_external, 2);
	assert_string_equal(addr_format(&s->external_ips[0], a), "203.0.113.7");
	assert_int_equal(s->external_ips[1].family, AF_INET6);
	assert_string_equal(addr_format(&s->external_ips[1], a), "2001:db8::7");
	assert_int_equal(s->n_ranges, 4);
	assert_string_equal(cidr_format(&s->source_ranges[0], buf), "198.51.100.0/24");
	assert_string_equal(cidr_format(&s->source_ranges[1], buf), "2001:db8:1::/48");
	assert_string_equal(cidr_format(&s->source_ranges[2], buf), "192.0.2.9/32");
	assert_string_equal(cidr_format(&s->source_ranges[3], buf), "0.0.0.0/0");
	/* one node port for tcp and udp: distinct per protocol */
	assert_int_equal(s->ports[0].node_port, 30080);
	assert_int_equal(s->ports[1].node_port, 30080);
	assert_int_equal(s->affinity_timeout, 10800);
	assert_int_equal(s->algo, ALGO_ROUND_ROBIN);
	service_free(s);
	json_decref(obj);

	/* absent, null and empty: none */
	j = "{\"vip\":\"10.96.0.10\",\"ports\":[{\"port\":80}],\"external_ips\":null,\"source_ranges\":[]}";
	assert_int_equal(codec_service_parse_text("web", j, strlen(j), &s, err), 0);
	assert_int_equal(s->n_external, 0);
	assert_int_equal(s->n_ranges, 0);
	assert_null(s->external_ips);
	service_free(s);
	/* source_ranges without external_ips filter nothing: accepted as
	 * given, without a report (as health.path of a tcp check) */
	j = "{\"vip6\":\"fd00::10\",\"ports\":[{\"port\":80}],\"source_ranges\":[\"10.0.0.0/8\"]}";
	assert_int_equal(codec_service_parse_text("web", j, strlen(j), &s, err), 0);
	assert_int_equal(s->n_ranges, 1);
	service_free(s);
	/* an external IP of the other family than the only VIP: endpoints of
	 * that family serve it */
	j = "{\"vip\":\"10.96.0.10\",\"ports\":[{\"port\":80}],\"external_ips\":[\"2001:db8::7\"]}";
	assert_int_equal(codec_service_parse_text("web", j, strlen(j), &s, err), 0);
	assert_int_equal(s->n_external, 1);
	service_free(s);
	/* 16 addresses and 64 ranges are the limits */
	{
		char big[4096];
		size_t o = (size_t)snprintf(big, sizeof(big), "{\"vip\":\"10.96.0.10\",\"ports\":[{\"port\":80}],\"external_ips\":[");

		for (int i = 0; i < 16; i++)
			o += (size_t)snprintf(big + o, sizeof(big) - o, "%s\"203.0.113.%d\"", i ? "," : "", i + 1);
		o += (size_t)snprintf(big + o, sizeof(big) - o, "],\"source_ranges\":[");
		for (int i = 0; i < 64; i++)
			o += (size_t)snprintf(big + o, sizeof(big) - o, "%s\"10.%d.0.0/16\"", i ? "," : "", i);
		snprintf(big + o, sizeof(big) - o, "]}");
		assert_int_equal(codec_service_parse_text("web", big, strlen(big), &s, err), 0);
		assert_int_equal(s->n_external, 16);
		assert_int_equal(s->n_ranges, 64);
		service_free(s);
	}
}

static void service_external_refused(void **state)
{
	const char *head = "{\"vip\":\"10.96.0.10\",\"vip6\":\"fd00::10\",\"ports\":[{\"port\":80}],";
	char j[4096];
	size_t o;

#define WITH(tail) (snprintf(j, sizeof(j), "%s%s}", head, tail), j)
	REFUSED(svc("web", WITH("\"external_ips\":\"203.0.113.7\""), err),
		"field external_ips: value \"203.0.113.7\": must be an array of addresses");
	REFUSED(svc("web", WITH("\"external_ips\":[7]"), err),
		"field external_ips[0]: value 7: must be a string");
	REFUSED(svc("web", WITH("\"external_ips\":[\"203.0.113.7\",\"203.0.113.300\"]"), err),
		"field external_ips[1]: value \"203.0.113.300\": not an IP address");
	REFUSED(svc("web", WITH("\"external_ips\":[\"203.0.113.0/24\"]"), err),
		"field external_ips[0]: value \"203.0.113.0/24\": not an IP address");
	/* JSON text refuses \u0000 already; an object built in memory (as
	 * Docker labels are) must not pass "203.0.113.7\0x" as 203.0.113.7 */
	{
		json_t *nul = json_pack("{s:s, s:[{s:i}], s:[o]}", "vip", "10.96.0.10", "ports", "port", 80,
				      "external_ips", json_stringn("203.0.113.7\0x", 13));
		struct service *s = NULL;
		char err[CODEC_ERR_LEN];

		assert_non_null(nul);
		assert_int_equal(codec_service_parse("web", nul, &s, err), -EINVAL);
		assert_non_null(strstr(err, "field external_ips[0]: value \"203.0.113.7\\u0000x\": must not contain NUL"));
		json_decref(nul);
	}
	REFUSED(svc("web", WITH("\"external_ips\":[\" 203.0.113.7\"]"), err),
		"field external_ips[0]: value \" 203.0.113.7\": not an IP address");
	REFUSED(svc("web", WITH("\"external_ips\":[\"203.0.113.7\",\"203.0.113.7\"]"), err),
		"field external_ips[1]: value \"203.0.113.7\": listed twice (also external_ips[0])");
	REFUSED(svc("web", WITH("\"external_ips\":[\"2001:db8::7\",\"2001:DB8:0::7\"]"), err),
		"field external_ips[1]: value \"2001:DB8:0::7\": listed twice");
	REFUSED(svc("web", WITH("\"external_ips\":[\"10.96.0.10\"]"), err),
		"field external_ips[0]: value \"10.96.0.10\": is the service's own vip");
	REFUSED(svc("web", WITH("\"external_ips\":[\"fd00:0::10\"]"), err),
		"field external_ips[0]: value \"fd00:0::10\": is the service's own vip6");
	REFUSED(svc("web", WITH("\"external_ips\":[\"224.0.0.5\"]"), err),
		"field external_ips[0]: value \"224.0.0.5\": not a unicast address");
	REFUSED(svc("web", WITH("\"external_ips\":[\"0.0.0.0\"]"), err), "not a unicast address");
	REFUSED(svc("web", WITH("\"external_ips\":[\"::\"]"), err), "not a unicast address");
	REFUSED(svc("web", WITH("\"external_ips\":[\"ff02::1\"]"), err), "not a unicast address");
	REFUSED(svc("web", WITH("\"external_ips\":[\"127.0.0.1\"]"), err),
		"field external_ips[0]: value \"127.0.0.1\": a loopback address");
	REFUSED(svc("web", WITH("\"external_ips\":[\"::1\"]"), err), "a loopback address");
	REFUSED(svc("web", WITH("\"external_ips\":[\"169.254.1.1\"]"), err), "a link-local address");
	REFUSED(svc("web", WITH("\"external_ips\":[\"fe80::1\"]"), err),
		"field external_ips[0]: value \"fe80::1\": a link-local address");
	o = (size_t)snprintf(j, sizeof(j), "%s\"external_ips\":[", head);
	for (int i = 0; i < 17; i++)
		o += (size_t)snprintf(j + o, sizeof(j) - o, "%s\"203.0.113.%d\"", i ? "," : "", i + 1);
	snprintf(j + o, sizeof(j) - o, "]}");
	REFUSED(svc("web", j, err), "field external_ips: value [\"203.0.113.1\"");
	REFUSED(svc("web", j, err), "more than 16 addresses");

	REFUSED(svc("web", WITH("\"source_ranges\":{}"), err),
		"field source_ranges: value {}: must be an array of ranges");
	REFUSED(svc("web", WITH("\"source_ranges\":[null]"), err),
		"field source_ranges[0]: value null: must be a string");
	REFUSED(svc("web", WITH("\"source_ranges\":[\"198.51.100.7/24\"]"), err),
		"field source_ranges[0]: value \"198.51.100.7/24\": host bits set (the range is 198.51.100.0/24)");
	REFUSED(svc("web", WITH("\"source_ranges\":[\"10.0.0.0/8\",\"2001:db8:1::1/48\"]"), err),
		"field source_ranges[1]: value \"2001:db8:1::1/48\": host bits set (the range is 2001:db8:1::/48)");
	REFUSED(svc("web", WITH("\"source_ranges\":[\"10.0.0.0/33\"]"), err),
		"field source_ranges[0]: value \"10.0.0.0/33\": not a CIDR");
	REFUSED(svc("web", WITH("\"source_ranges\":[\"10.0.0.0/\"]"), err), "not a CIDR");
	REFUSED(svc("web", WITH("\"source_ranges\":[\"10.0.0.0/08\"]"), err), "not a CIDR");
	REFUSED(svc("web", WITH("\"source_ranges\":[\"10.0.0.0/-8\"]"), err), "not a CIDR");
	REFUSED(svc("web", WITH("\"source_ranges\":[\"10.0.0/8\"]"), err),
		"field source_ranges[0]: value \"10.0.0/8\": not a CIDR");
	REFUSED(svc("web", WITH("\"source_ranges\":[\"fd00::/129\"]"), err), "not a CIDR");
	REFUSED(svc("web", WITH("\"source_ranges\":[\"\"]"), err), "not a CIDR");
	REFUSED(svc("web", WITH("\"source_ranges\":[\"10.0.0.0/8\",\"10.0.0.0/8\"]"), err),
		"field source_ranges[1]: value \"10.0.0.0/8\": listed twice (also source_ranges[0])");
	o = (size_t)snprintf(j, sizeof(j), "%s\"source_ranges\":[", head);
	for (int i = 0; i < 65; i++)
		o += (size_t)snprintf(j + o, sizeof(j) - o, "%s\"10.%d.0.0/16\"", i ? "," : "", i);
	snprintf(j + o, sizeof(j) - o, "]}");
	REFUSED(svc("web", j, err), "more than 64 ranges");

	/* node_port: once per protocol among a service's ports */
	REFUSED(svc("web", "{\"vip\":\"10.1.1.1\",\"ports\":[{\"port\":80,\"node_port\":30080},"
		    "{\"port\":443,\"node_port\":30080}]}", err),
		"field ports[1].node_port: value 30080: node port 30080/tcp is already ports[0]'s");
	REFUSED(svc("web", "{\"vip\":\"10.1.1.1\",\"ports\":[{\"port\":53,\"protocol\":\"udp\",\"node_port\":30053},"
		    "{\"port\":80},{\"port\":54,\"protocol\":\"udp\",\"node_port\":30053}]}", err),
		"field ports[2].node_port: value 30053: node port 30053/udp is already ports[0]'s");
	REFUSED(svc("web", "{\"vip\":\"10.1.1.1\",\"ports\":[{\"port\":80,\"node_port\":0}]}", err),
		"field ports[0].node_port: value 0: out of range 1..65535");
	REFUSED(svc("web", "{\"vip\":\"10.1.1.1\",\"ports\":[{\"port\":80,\"node_port\":\"30080\"}]}", err),
		"field ports[0].node_port: value \"30080\": must be an integer");
	REFUSED(svc("web", WITH("\"affinity_timeout\":86401"), err),
		"field affinity_timeout: value 86401: out of range 0..86400");
	REFUSED(svc("web", WITH("\"traffic_policy\":\"Local\""), err),
		"field traffic_policy: value \"Local\": unknown value");
#undef WITH
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

static int vd(const char *json, char *err)
{
	char reason[32];
	bool healthy;

	return codec_verdict_parse_text("web/b1", json, strlen(json), &healthy, reason,
					sizeof(reason), err);
}

static void verdict_good(void **state)
{
	char err[CODEC_ERR_LEN], reason[8];
	const char *j = "{\"healthy\":false,\"reason\":\"HTTP 500 (3 of 3)\"}";
	bool healthy = true;
	char *text;
	json_t *o;

	assert_int_equal(codec_verdict_parse_text("web/b1", j, strlen(j), &healthy, reason,
						  sizeof(reason), err), 0);
	assert_false(healthy);
	assert_string_equal(reason, "HTTP 50");		/* cut to fit */
	j = "{\"healthy\":true,\"reason\":null}";
	assert_int_equal(codec_verdict_parse_text("web/b1", j, strlen(j), &healthy, reason,
						  sizeof(reason), err), 0);
	assert_true(healthy);
	assert_string_equal(reason, "");
	/* a cut never splits a character; control bytes cannot forge a line */
	j = "{\"healthy\":false,\"reason\":\"abcde\\u00e9\"}";	/* é: 2 bytes at 5..6 */
	assert_int_equal(codec_verdict_parse_text("web/b1", j, strlen(j), &healthy, reason,
						  7, err), 0);
	assert_string_equal(reason, "abcde");
	j = "{\"healthy\":false,\"reason\":\"a\\nb\\u0001c\"}";
	assert_int_equal(codec_verdict_parse_text("web/b1", j, strlen(j), &healthy, reason,
						  sizeof(reason), err), 0);
	assert_string_equal(reason, "a?b?c");
	o = json_pack("{sbso}", "healthy", 0, "reason", json_stringn("a\0b", 3));
	assert_int_equal(codec_verdict_read("web/b1", o, NULL, &healthy, reason, sizeof(reason), err), 0);
	assert_string_equal(reason, "a?b");
	json_decref(o);

	/* what a node publishes reads back the same */
	o = codec_verdict_json(false, "HTTP 500 (3 of 3)");
	assert_non_null(o);
	text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(text, "{\"healthy\":false,\"reason\":\"HTTP 500 (3 of 3)\"}");
	free(text);
	json_decref(o);
	o = codec_verdict_json(true, NULL);
	text = json_dumps(o, JSON_COMPACT);
	assert_string_equal(text, "{\"healthy\":true}");
	free(text);
	json_decref(o);
	assert_null(codec_verdict_json(false, "\xff"));	/* not UTF-8 */
}

static void verdict_refused(void **state)
{
	REFUSED(vd("{}", err), "field healthy: value (missing): required");
	REFUSED(vd("{\"healthy\":null}", err), "field healthy: value (missing): required");
	REFUSED(vd("{\"healthy\":\"no\"}", err),
		"field healthy: value \"no\": must be true or false");
	REFUSED(vd("{\"healthy\":0}", err), "field healthy: value 0: must be true or false");
	REFUSED(vd("{\"healthy\":false,\"reason\":500}", err),
		"field reason: value 500: must be a string");
	REFUSED(vd("[true]", err), "field verdict: value [true]: must be an object");
	REFUSED(vd("{\"healthy\":fals", err), "field (json)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(service_good),
		cmocka_unit_test(service_refused),
		cmocka_unit_test(service_external_good),
		cmocka_unit_test(service_external_refused),
		cmocka_unit_test(endpoint_good),
		cmocka_unit_test(endpoint_refused),
		cmocka_unit_test(verdict_good),
		cmocka_unit_test(verdict_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

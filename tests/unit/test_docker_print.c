/* The periodic relist finds lost events by comparing a container's list
 * entry with its last inspect: equal for the same container, different
 * when anything that moves an endpoint changed, whatever the uptime text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>
#include <jansson.h>

#include "docker.h"

static const char inspect_text[] =
	"{\"Id\":\"9af7624e5f06\",\"Name\":\"/web1\","
	"\"State\":{\"Status\":\"running\",\"Running\":true,\"Health\":{\"Status\":\"healthy\"}},"
	"\"NetworkSettings\":{\"Networks\":{"
	"\"front\":{\"IPAddress\":\"172.18.0.3\",\"GlobalIPv6Address\":\"\"},"
	"\"back\":{\"IPAddress\":\"10.0.2.7\",\"GlobalIPv6Address\":\"fd00::7\"}}}}";

/* A list entry: state, status text, name, the two networks' addresses. */
static uint64_t listed(const char *state, const char *status, const char *name,
		       const char *back_ip)
{
	char text[1024];
	json_t *v;
	uint64_t p;

	snprintf(text, sizeof(text),
		 "{\"Id\":\"9af7624e5f06\",\"Names\":[\"%s\"],\"State\":\"%s\",\"Status\":\"%s\","
		 "\"NetworkSettings\":{\"Networks\":{"
		 "\"back\":{\"IPAddress\":\"%s\",\"GlobalIPv6Address\":\"fd00::7\"},"
		 "\"front\":{\"IPAddress\":\"172.18.0.3\",\"GlobalIPv6Address\":\"\"}}}}",
		 name, state, status, back_ip);
	v = json_loads(text, 0, NULL);
	assert_non_null(v);
	p = docker_list_print(v);
	json_decref(v);
	return p;
}

static uint64_t inspected(void)
{
	json_t *v = json_loads(inspect_text, 0, NULL);
	uint64_t p;

	assert_non_null(v);
	p = docker_inspect_print(v);
	json_decref(v);
	return p;
}

static void list_agrees_with_inspect(void **state)
{
	uint64_t want = inspected();

	assert_int_equal(listed("running", "Up 5 minutes (healthy)", "/web1", "10.0.2.7"), want);
	/* time passing changes nothing */
	assert_int_equal(listed("running", "Up 2 hours (healthy)", "/web1", "10.0.2.7"), want);
}

static void list_disagrees_after_a_lost_event(void **state)
{
	uint64_t want = inspected();

	assert_int_not_equal(listed("exited", "Exited (0) 3 seconds ago", "/web1", "10.0.2.7"), want);
	assert_int_not_equal(listed("paused", "Up 5 minutes (Paused)", "/web1", "10.0.2.7"), want);
	assert_int_not_equal(listed("running", "Up 5 minutes (unhealthy)", "/web1", "10.0.2.7"), want);
	assert_int_not_equal(listed("running", "Up 5 minutes (health: starting)", "/web1", "10.0.2.7"), want);
	assert_int_not_equal(listed("running", "Up 5 minutes (healthy)", "/web2", "10.0.2.7"), want);
	assert_int_not_equal(listed("running", "Up 5 minutes (healthy)", "/web1", "10.0.2.8"), want);
}

/* Stopped: inspect keeps the last health, the list shows none. */
static void stopped_container_health_ignored(void **state)
{
	json_t *v = json_loads(inspect_text, 0, NULL);
	uint64_t p;

	json_object_set_new(json_object_get(v, "State"), "Status", json_string("exited"));
	p = docker_inspect_print(v);
	json_decref(v);
	assert_int_equal(listed("exited", "Exited (137) 2 seconds ago", "/web1", "10.0.2.7"), p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(list_agrees_with_inspect),
		cmocka_unit_test(list_disagrees_after_a_lost_event),
		cmocka_unit_test(stopped_container_health_ignored),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

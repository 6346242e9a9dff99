/* What a container looks like to vipd in the Engine API's container list
 * and in its inspect, reduced to one number each, so that a periodic list
 * finds containers whose events were lost (include/docker.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker.h"
#include "hash.h"

#define PRINT_MAX 2048

/* The list says "Up 5 minutes (healthy)", inspect says "healthy". */
static const char *list_health(const char *status)
{
	if (!status)
		return "";
	if (strstr(status, "(unhealthy)"))
		return "unhealthy";
	if (strstr(status, "(healthy)"))
		return "healthy";
	if (strstr(status, "(health: starting)"))
		return "starting";
	return "";
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Networks by name (not in reply order), each with its addresses; all
 * names are sorted before any is left out for want of room. */
static size_t put_networks(char *buf, size_t o, const json_t *networks)
{
	size_t total = json_object_size(networks), n = 0;
	const char **names = malloc((total + 1) * sizeof(*names));
	const char *k;
	json_t *v;

	if (!names)
		return o;	/* a print that differs: one inspect too many */
	json_object_foreach((json_t *)networks, k, v)
		names[n++] = k;
	qsort(names, n, sizeof(names[0]), cmp_str);
	for (size_t i = 0; i < n && o < PRINT_MAX; i++) {
		const json_t *net = json_object_get(networks, names[i]);
		const char *ip = json_string_value(json_object_get(net, "IPAddress"));
		const char *ip6 = json_string_value(json_object_get(net, "GlobalIPv6Address"));

		o += (size_t)snprintf(buf + o, PRINT_MAX - o, "|%s=%s,%s", names[i],
				      ip ? ip : "", ip6 ? ip6 : "");
	}
	free(names);
	return o;
}

static uint64_t print_of(const char *state, const char *health, const char *name,
			 const json_t *networks)
{
	char buf[PRINT_MAX + 64];
	size_t o;

	/* a stopped container's inspect keeps its last health; its list
	 * entry shows none */
	if (!state || strcmp(state, "running"))
		health = "";
	o = (size_t)snprintf(buf, PRINT_MAX, "%s|%s|%s", state ? state : "", health,
			     name ? name : "");

	if (o < PRINT_MAX)
		o = put_networks(buf, o, networks);
	return hash_bytes(buf, o < PRINT_MAX ? o : PRINT_MAX);
}

uint64_t docker_list_print(const json_t *item)
{
	const char *status = json_string_value(json_object_get(item, "Status"));

	return print_of(json_string_value(json_object_get(item, "State")), list_health(status),
			json_string_value(json_array_get(json_object_get(item, "Names"), 0)),
			json_object_get(json_object_get(item, "NetworkSettings"), "Networks"));
}

uint64_t docker_inspect_print(const json_t *inspect)
{
	const json_t *state = json_object_get(inspect, "State");
	const char *health = json_string_value(json_object_get(json_object_get(state, "Health"),
							       "Status"));

	return print_of(json_string_value(json_object_get(state, "Status")), health ? health : "",
			json_string_value(json_object_get(inspect, "Name")),
			json_object_get(json_object_get(inspect, "NetworkSettings"), "Networks"));
}

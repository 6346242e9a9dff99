/* vipctl endpoint add|del|list; add --ttl keeps a lease alive in the
 * foreground and revokes it on SIGINT/SIGTERM, as a registrar would. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec.h"
#include "ctl.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = sig;
}

static const char usage_add[] =
	"usage: vipctl endpoint add SERVICE ID --ip IP [--port P] [--weight W]\n"
	"                           [--node N] [--zone Z] [--not-ready] [--ttl SECONDS]\n"
	"  Writes the endpoint ID of SERVICE (replacing it), checked first as vipd reads it.\n"
	"  --ip IP         the backend's address\n"
	"  --port P        its port (default: the service's target port)\n"
	"  --weight W      1..10000 (default 100)\n"
	"  --node N        the node it runs on; --zone Z its zone\n"
	"  --not-ready     written, but not routed to\n"
	"  --ttl SECONDS   under a lease that vipctl keeps alive in the foreground\n"
	"                  until SIGINT/SIGTERM, which removes the endpoint\n";
static const char usage_del[] =
	"usage: vipctl endpoint del SERVICE ID\n"
	"  Deletes the endpoint ID of SERVICE.\n";
static const char usage_list[] =
	"usage: vipctl endpoint list [SERVICE]\n"
	"  One line per endpoint, with its health verdict (--json: an array).\n";

#define LEASE_TIMEOUT_MS	10000

/* One lease call; what get reads in its answer, or fallback when etcd
 * did not answer. */
static int64_t lease_run(struct ctl *c, struct etcd_call *call, const char *what,
			 int64_t (*get)(const json_t *), int64_t fallback)
{
	json_t *reply = NULL;
	int64_t v = fallback;

	if (ctl_run(c, call, what, &reply) == 0 && get)
		v = get(reply);
	json_decref(reply);
	return v;
}

static int64_t lease_grant(struct ctl *c, long ttl)
{
	return lease_run(c, etcd_lease_grant(c->etcd, ttl, LEASE_TIMEOUT_MS, NULL, NULL),
			 "lease/grant", etcd_lease_granted, 0);
}

/* Returns the lease's remaining TTL after the refresh, 0 if it is gone,
 * -1 when etcd did not answer. */
static int64_t lease_keepalive(struct ctl *c, int64_t id)
{
	return lease_run(c, etcd_lease_keepalive(c->etcd, id, LEASE_TIMEOUT_MS, NULL, NULL),
			 "lease/keepalive", etcd_lease_ttl_left, -1);
}

static void lease_revoke(struct ctl *c, int64_t id)
{
	lease_run(c, etcd_lease_revoke(c->etcd, id, LEASE_TIMEOUT_MS, NULL, NULL),
		  "lease/revoke", NULL, 0);
}

static int put(struct ctl *c, const char *key, const char *value, int64_t lease)
{
	char *body = etcd_put_body(key, value, lease);
	json_t *reply = NULL;
	int ret = body ? ctl_call(c, "kv/put", body, &reply) : -ENOMEM;

	free(body);
	json_decref(reply);
	return ret;
}

/* Refreshes the lease every third of its TTL until a signal; a failed
 * refresh is retried each second until the lease would have run out. */
static int keep_alive(struct ctl *c, const char *key, int64_t id, long ttl)
{
	struct sigaction sa = { .sa_handler = on_signal };
	time_t last_ok = time(NULL);

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	fprintf(stderr, "vipctl: %s registered under lease %lld (%ld s); SIGINT/SIGTERM removes it\n",
		key, (long long)id, ttl);
	while (!stop) {
		struct timespec ts = { .tv_sec = ttl / 3 ? ttl / 3 : 1 };
		int64_t left;

		nanosleep(&ts, NULL);
		if (stop)
			break;
		left = lease_keepalive(c, id);
		if (left > 0) {
			last_ok = time(NULL);
		} else if (left == 0 || time(NULL) - last_ok > ttl) {
			fprintf(stderr, "vipctl: lease %lld expired; %s is gone\n", (long long)id, key);
			return CTL_FAIL;
		}
	}
	lease_revoke(c, id);
	fprintf(stderr, "vipctl: lease %lld revoked; %s removed\n", (long long)id, key);
	return CTL_OK;
}

static int endpoint_add(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ip", required_argument, NULL, 'i' }, { "port", required_argument, NULL, 'p' },
		{ "weight", required_argument, NULL, 'w' }, { "node", required_argument, NULL, 'n' },
		{ "zone", required_argument, NULL, 'z' }, { "not-ready", no_argument, NULL, 'r' },
		{ "ttl", required_argument, NULL, 't' }, { 0 }
	};
	json_t *obj = json_object();
	char err[CODEC_ERR_LEN], *key = NULL, *value = NULL, *end;
	struct endpoint *ep;
	long ttl = 0;
	int opt, ret = CTL_USAGE;
	int64_t lease = 0;

	optind = 0;	/* 0: glibc re-initialises getopt for a new vector */
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		long n = optarg ? strtol(optarg, &end, 10) : 0;
		bool number = optarg && *optarg && !*end;

		switch (opt) {
		case 'i': json_object_set_new(obj, "ip", json_string(optarg)); break;
		case 'n': json_object_set_new(obj, "node", json_string(optarg)); break;
		case 'z': json_object_set_new(obj, "zone", json_string(optarg)); break;
		case 'r': json_object_set_new(obj, "ready", json_false()); break;
		case 'p':
		case 'w':
			/* a non-number goes in as a string: the codec names it */
			json_object_set_new(obj, opt == 'p' ? "port" : "weight",
					    number ? json_integer(n) : json_string(optarg));
			break;
		case 't':
			if (!number || n < 2 || n > 86400) {
				fprintf(stderr, "vipctl: --ttl %s: seconds, 2..86400\n", optarg);
				goto out;
			}
			ttl = n;
			break;
		default:
			fprintf(stderr, "vipctl: endpoint add: unknown or incomplete option %s "
				"(see vipctl endpoint add --help)\n", argv[optind - 1]);
			goto out;
		}
	}
	if (optind != argc - 2) {
		ctl_usage(usage_add, false);
		goto out;
	}
	if (!codec_name_valid(argv[optind])) {
		fprintf(stderr, "vipctl: service \"%s\": not a valid service name\n", argv[optind]);
		goto out;
	}
	if (codec_endpoint_parse(argv[optind + 1], obj, &ep, err) < 0) {
		fprintf(stderr, "vipctl: endpoint \"%s/%s\": %s\n", argv[optind], argv[optind + 1], err);
		goto out;
	}
	endpoint_free(ep);
	ret = CTL_FAIL;
	key = ctl_key(c, "endpoints", argv[optind], argv[optind + 1]);
	value = json_dumps(obj, JSON_COMPACT);
	if (!key || !value || (ttl && !(lease = lease_grant(c, ttl))) ||
	    put(c, key, value, lease) < 0)
		goto out;
	ret = ttl ? keep_alive(c, key, lease, ttl) : CTL_OK;
out:
	free(key);
	free(value);
	json_decref(obj);
	return ret;
}

static int endpoint_del(struct ctl *c, int argc, char **argv)
{
	char *key, what[2 * NAME_MAX_LEN + 16];
	int ret;

	if (argc != 3)
		return ctl_usage(usage_del, false);
	if (!codec_name_valid(argv[1]) || !codec_id_valid(argv[2])) {
		fprintf(stderr, "vipctl: endpoint \"%s/%s\": not a valid %s\n", argv[1], argv[2],
			codec_name_valid(argv[1]) ? "endpoint id" : "service name");
		return CTL_USAGE;
	}
	key = ctl_key(c, "endpoints", argv[1], argv[2]);
	snprintf(what, sizeof(what), "endpoint \"%s/%s\"", argv[1], argv[2]);
	ret = ctl_delete(c, key, what);
	free(key);
	return ret;
}

/* The published verdicts (health/<service>/<id>) as "<service>/<id>" ->
 * "healthy" or "unhealthy: <reason>"; empty when there are none or etcd
 * does not answer (the list still shows the endpoints). */
static json_t *verdicts_load(struct ctl *c, const char *service)
{
	char *prefix = ctl_key(c, "health", service, service ? "" : NULL);
	char *end = prefix ? etcd_prefix_end(prefix) : NULL;
	char *body = end ? etcd_range_body(prefix, strlen(prefix), end, 0, 0, false) : NULL;
	size_t i, base = strlen(c->conf.prefix) + strlen("/health/");
	json_t *reply = NULL, *out = json_object(), *v;

	if (out && body && ctl_call(c, "kv/range", body, &reply) == 0) {
		json_array_foreach(json_object_get(reply, "kvs"), i, v) {
			char err[CODEC_ERR_LEN], reason[120], shown[160] = "unreadable (counts as healthy)";
			struct etcd_kv kv;
			bool ok;

			if (etcd_kv_decode(v, &kv) < 0 || kv.key_len <= base)
				continue;
			/* the codec makes the reason printable */
			if (codec_verdict_parse_text(kv.key + base, kv.value ? kv.value : "", kv.value_len,
						     &ok, reason, sizeof(reason), err) == 0)
				snprintf(shown, sizeof(shown), "%s%s%s", ok ? "healthy" : "unhealthy",
					 *reason ? ": " : "", reason);
			json_object_set_new(out, kv.key + base, json_string(shown));
			etcd_kv_fini(&kv);
		}
	}
	free(prefix);
	free(end);
	free(body);
	json_decref(reply);
	return out;
}

static void print_row(const char *path, json_t *v, int64_t lease, const char *health)
{
	const char *slash = strchr(path, '/');
	json_t *port = json_object_get(v, "port");
	char leased[24] = "-", ports[16] = "-";

	if (lease)
		snprintf(leased, sizeof(leased), "%lld", (long long)lease);
	if (port)
		snprintf(ports, sizeof(ports), "%lld", (long long)json_integer_value(port));
	else if (json_object_get(v, "ports"))
		snprintf(ports, sizeof(ports), "named");
	printf("%-20.*s %-20s %-16s %-6s %-6lld %-10s %-5s %-10s %s\n",
	       (int)(slash ? slash - path : 0), path, slash ? slash + 1 : path,
	       json_string_value(json_object_get(v, "ip")) ?: "?", ports,
	       json_object_get(v, "weight") ? (long long)json_integer_value(json_object_get(v, "weight")) : 100LL,
	       json_string_value(json_object_get(v, "node")) ?: "-",
	       json_is_false(json_object_get(v, "ready")) ? "no" : "yes", leased,
	       health ? health : "-");
}

static int endpoint_list(struct ctl *c, int argc, char **argv)
{
	char *prefix = argc > 1 ? ctl_key(c, "endpoints", argv[1], "") : ctl_key(c, "endpoints", NULL, NULL);
	char *end = prefix ? etcd_prefix_end(prefix) : NULL, *body = NULL;
	json_t *reply = NULL, *out = json_array(), *v, *verdicts = NULL;
	size_t i, base = strlen(c->conf.prefix) + strlen("/endpoints/");
	int ret = CTL_FAIL;

	if (argc > 2) {
		ret = ctl_usage(usage_list, false);
		goto out;
	}
	if (argc > 1 && !codec_name_valid(argv[1])) {
		fprintf(stderr, "vipctl: service \"%s\": not a valid service name\n", argv[1]);
		ret = CTL_USAGE;
		goto out;
	}
	if (end)
		body = etcd_range_body(prefix, strlen(prefix), end, 0, 0, false);
	if (!body || ctl_call(c, "kv/range", body, &reply) < 0)
		goto out;
	verdicts = verdicts_load(c, argc > 1 ? argv[1] : NULL);
	if (!c->json)
		printf("%-20s %-20s %-16s %-6s %-6s %-10s %-5s %-10s %s\n", "SERVICE", "ID", "IP",
		       "PORT", "WEIGHT", "NODE", "READY", "LEASE", "HEALTH");
	json_array_foreach(json_object_get(reply, "kvs"), i, v) {
		struct etcd_kv kv;
		json_t *ep, *row;
		const char *health;

		if (etcd_kv_decode(v, &kv) < 0 || kv.key_len <= base)
			continue;
		ep = json_loads(kv.value ? kv.value : "", 0, NULL);
		health = json_string_value(json_object_get(verdicts, kv.key + base));
		if (c->json) {
			row = json_pack("{sssO}", "key", kv.key + base, "endpoint", ep ? ep : json_null());
			if (row && health)
				json_object_set_new(row, "health", json_string(health));
			json_array_append_new(out, row);
		} else {
			print_row(kv.key + base, ep, kv.lease, health);
		}
		json_decref(ep);
		etcd_kv_fini(&kv);
	}
	if (c->json)
		ctl_print_json(out);
	ret = CTL_OK;
out:
	free(prefix);
	free(end);
	free(body);
	json_decref(reply);
	json_decref(out);
	json_decref(verdicts);
	return ret;
}

int ctl_endpoint(struct ctl *c, int argc, char **argv)
{
	static const struct ctl_verb verbs[] = {
		{ "add", usage_add, endpoint_add }, { "del", usage_del, endpoint_del },
		{ "list", usage_list, endpoint_list },
	};

	return ctl_dispatch(c, verbs, sizeof(verbs) / sizeof(verbs[0]), "endpoint", argc, argv);
}

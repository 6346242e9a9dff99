/* vipctl service add|del|get|list */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "ctl.h"

#define PORTS_MAX 64

/* [NAME=]PORT[/PROTO][:TARGET] -> {"name","port","protocol","target_port"} */
static json_t *port_spec(const char *spec)
{
	char name[PORT_NAME_LEN + 1] = "", proto[8] = "tcp";
	const char *p = strchr(spec, '=');
	long port, target = 0;
	char *end;
	json_t *o;

	if (p) {
		if ((size_t)(p - spec) > PORT_NAME_LEN)
			return NULL;
		memcpy(name, spec, (size_t)(p - spec));
		name[p - spec] = '\0';
		p++;
	} else {
		p = spec;
	}
	port = strtol(p, &end, 10);
	if (end == p)
		return NULL;
	if (*end == '/') {
		size_t n = strcspn(end + 1, ":");

		if (!n || n >= sizeof(proto))
			return NULL;
		memcpy(proto, end + 1, n);
		proto[n] = '\0';
		end += 1 + n;
	}
	if (*end == ':') {
		p = end + 1;
		target = strtol(p, &end, 10);
		if (end == p)
			return NULL;
	}
	if (*end)
		return NULL;
	o = json_pack("{sIss}", "port", (json_int_t)port, "protocol", proto);
	if (o && *name)
		json_object_set_new(o, "name", json_string(name));
	if (o && target)
		json_object_set_new(o, "target_port", json_integer(target));
	return o;
}

/* A number as a JSON integer, anything else as a string: the codec then
 * refuses it naming the field and showing the value. */
static json_t *number_or_string(const char *s)
{
	char *end;
	long long v = strtoll(s, &end, 10);

	return *s && !*end && v >= 0 && v <= (1LL << 40) ? json_integer(v) : json_string(s);
}

/* --node-port [PORT[/PROTO]=|NAME=]NODEPORT onto the port it names (no
 * prefix: the service's only port). Returns 0, or -1 after saying why. */
static int node_port_apply(json_t *ports, const char *spec)
{
	const char *eq = strrchr(spec, '='), *np = eq ? eq + 1 : spec;
	char key[PORT_NAME_LEN + 8] = "";
	json_t *p, *hit = NULL;
	size_t i, hits = 0;

	if (eq && ((size_t)(eq - spec) >= sizeof(key) || eq == spec)) {
		fprintf(stderr, "vipctl: --node-port %s: expected [PORT[/PROTO]=|NAME=]NODEPORT\n", spec);
		return -1;
	}
	if (eq)
		snprintf(key, sizeof(key), "%.*s", (int)(eq - spec), spec);
	json_array_foreach(ports, i, p) {
		char num[16], numproto[24];
		const char *name = json_string_value(json_object_get(p, "name"));
		const char *proto = json_string_value(json_object_get(p, "protocol"));

		snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(json_object_get(p, "port")));
		snprintf(numproto, sizeof(numproto), "%s/%s", num, proto ? proto : "tcp");
		if (!eq || !strcmp(key, num) || !strcmp(key, numproto) || (name && !strcmp(key, name))) {
			hit = p;
			hits++;
		}
	}
	if (hits != 1) {
		fprintf(stderr, "vipctl: --node-port %s: %s\n", spec,
			!hits && !eq ? "give --port first" :
			!hits ? "no such --port (give PORT, PORT/PROTO or the port's NAME before =)" :
			!eq ? "the service has several ports: say which, PORT[/PROTO]=NODEPORT or NAME=NODEPORT" :
			"matches several ports: say PORT/PROTO=NODEPORT");
		return -1;
	}
	return json_object_set_new(hit, "node_port", number_or_string(np)) < 0 ? -1 : 0;
}

static const char usage_add[] =
	"usage: vipctl service add NAME --vip IP [--vip6 IP] --port [NAME=]PORT[/PROTO][:TARGET]...\n"
	"                          [--algorithm A] [--traffic-policy P] [--affinity-timeout S]\n"
	"                          [--node-port [PORT[/PROTO]=|NAME=]NODEPORT]...\n"
	"                          [--external-ip IP]... [--source-range CIDR]...\n"
	"       vipctl service add NAME --from-json JSON\n"
	"  Writes the service NAME (replacing it), checked first as vipd reads it.\n"
	"  --vip IP, --vip6 IP       its virtual IPv4 and IPv6 addresses\n"
	"  --port SPEC               a port (repeatable); TARGET: the backends' port\n"
	"  --algorithm A             random (default), round-robin, source-hash or maglev\n"
	"  --traffic-policy P        cluster (default) or local\n"
	"  --affinity-timeout S      session affinity in seconds (0: none)\n"
	"  --node-port SPEC          a node port for one of the ports (repeatable)\n"
	"  --external-ip IP          an external address (repeatable)\n"
	"  --source-range CIDR       who may reach the external addresses (repeatable)\n"
	"  --from-json JSON          the whole service JSON instead of the flags\n";
static const char usage_del[] =
	"usage: vipctl service del NAME\n"
	"  Deletes the service NAME (its endpoints stay).\n";
static const char usage_get[] =
	"usage: vipctl service get NAME\n"
	"  Prints the service NAME's JSON (--json: on one line).\n";
static const char usage_list[] =
	"usage: vipctl service list\n"
	"  One line per service: VIP, ports, algorithm, endpoints (--json: an array).\n";

static int put_checked(struct ctl *c, const char *name, json_t *obj)
{
	char err[CODEC_ERR_LEN], *key, *value, *body = NULL;
	struct service *svc;
	json_t *reply = NULL;
	int ret;

	if (codec_service_parse(name, obj, &svc, err) < 0) {
		fprintf(stderr, "vipctl: service \"%s\": %s\n", name, err);
		return CTL_USAGE;
	}
	service_free(svc);
	key = ctl_key(c, "services", name, NULL);
	value = json_dumps(obj, JSON_COMPACT);
	if (key && value)
		body = etcd_put_body(key, value, 0);
	ret = body ? ctl_call(c, "kv/put", body, &reply) : -1;
	free(key);
	free(value);
	free(body);
	json_decref(reply);
	return ret < 0 ? CTL_FAIL : CTL_OK;
}

static int service_add(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "vip", required_argument, NULL, 'v' }, { "vip6", required_argument, NULL, '6' },
		{ "port", required_argument, NULL, 'p' }, { "algorithm", required_argument, NULL, 'a' },
		{ "traffic-policy", required_argument, NULL, 't' },
		{ "affinity-timeout", required_argument, NULL, 'T' },
		{ "node-port", required_argument, NULL, 'n' },
		{ "external-ip", required_argument, NULL, 'e' },
		{ "source-range", required_argument, NULL, 's' },
		{ "from-json", required_argument, NULL, 'j' }, { 0 }
	};
	json_t *obj = json_object(), *ports = json_array(), *from = NULL;
	json_t *external = json_array(), *ranges = json_array();
	const char *node_ports[PORTS_MAX];
	size_t n_node_ports = 0;
	int opt, ret;

	optind = 0;	/* 0: glibc re-initialises getopt for a new vector */
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		json_t *p;

		switch (opt) {
		case 'v': json_object_set_new(obj, "vip", json_string(optarg)); break;
		case '6': json_object_set_new(obj, "vip6", json_string(optarg)); break;
		case 'a': json_object_set_new(obj, "algorithm", json_string(optarg)); break;
		case 't': json_object_set_new(obj, "traffic_policy", json_string(optarg)); break;
		case 'T': json_object_set_new(obj, "affinity_timeout", number_or_string(optarg)); break;
		case 'e': json_array_append_new(external, json_string(optarg)); break;
		case 's': json_array_append_new(ranges, json_string(optarg)); break;
		case 'n':
			if (n_node_ports == PORTS_MAX) {
				fprintf(stderr, "vipctl: --node-port: at most %d\n", PORTS_MAX);
				ret = CTL_USAGE;
				goto out;
			}
			node_ports[n_node_ports++] = optarg;
			break;
		case 'p':
			if (!(p = port_spec(optarg))) {
				fprintf(stderr, "vipctl: --port %s: expected [NAME=]PORT[/PROTO][:TARGET]\n", optarg);
				ret = CTL_USAGE;
				goto out;
			}
			json_array_append_new(ports, p);
			break;
		case 'j':
			json_decref(from);
			if (!(from = json_loads(optarg, 0, NULL))) {
				fprintf(stderr, "vipctl: --from-json: not JSON\n");
				ret = CTL_USAGE;
				goto out;
			}
			break;
		default:
			fprintf(stderr, "vipctl: service add: unknown or incomplete option %s "
				"(see vipctl service add --help)\n", argv[optind - 1]);
			ret = CTL_USAGE;
			goto out;
		}
	}
	if (optind != argc - 1) {
		ret = ctl_usage(usage_add, false);
		goto out;
	}
	/* after every --port, so that their order does not matter */
	for (size_t i = 0; i < n_node_ports; i++)
		if (node_port_apply(ports, node_ports[i]) < 0) {
			ret = CTL_USAGE;
			goto out;
		}
	if (json_array_size(ports))
		json_object_set(obj, "ports", ports);
	if (json_array_size(external))
		json_object_set(obj, "external_ips", external);
	if (json_array_size(ranges))
		json_object_set(obj, "source_ranges", ranges);
	ret = put_checked(c, argv[optind], from ? from : obj);
out:
	json_decref(obj);
	json_decref(ports);
	json_decref(external);
	json_decref(ranges);
	json_decref(from);
	return ret;
}

/* A name given on the command line: a bad one is bad input, not a
 * service that is not there. */
static bool name_ok(const char *name)
{
	if (codec_name_valid(name))
		return true;
	fprintf(stderr, "vipctl: service \"%s\": not a valid service name\n", name);
	return false;
}

/* The value under one key, parsed, or NULL (after saying why). */
static json_t *get_one(struct ctl *c, const char *kind, const char *name)
{
	char *key = ctl_key(c, kind, name, NULL), *body = NULL;
	json_t *reply = NULL, *value = NULL;
	struct etcd_kv kv;

	if (key)
		body = etcd_range_body(key, strlen(key), "", 0, 0, false);
	if (body && ctl_call(c, "kv/range", body, &reply) == 0 &&
	    etcd_kv_decode(json_array_get(json_object_get(reply, "kvs"), 0), &kv) == 0) {
		value = json_loads(kv.value ? kv.value : "", 0, NULL);
		if (!value)
			fprintf(stderr, "vipctl: %s holds no valid JSON\n", key);
		etcd_kv_fini(&kv);
	} else if (reply) {
		fprintf(stderr, "vipctl: no service \"%s\"\n", name);
	}
	free(key);
	free(body);
	json_decref(reply);
	return value;
}

static int service_get(struct ctl *c, int argc, char **argv)
{
	json_t *v;

	if (argc != 2)
		return ctl_usage(usage_get, false);
	if (!name_ok(argv[1]))
		return CTL_USAGE;
	if (!(v = get_one(c, "services", argv[1])))
		return CTL_FAIL;
	json_dumpf(v, stdout, c->json ? JSON_COMPACT : JSON_INDENT(2));
	putchar('\n');
	json_decref(v);
	return CTL_OK;
}

static int service_del(struct ctl *c, int argc, char **argv)
{
	char *key, what[NAME_MAX_LEN + 16];
	int ret;

	if (argc != 2)
		return ctl_usage(usage_del, false);
	if (!name_ok(argv[1]))
		return CTL_USAGE;
	key = ctl_key(c, "services", argv[1], NULL);
	snprintf(what, sizeof(what), "service \"%s\"", argv[1]);
	ret = ctl_delete(c, key, what);
	free(key);
	return ret;
}

/* Endpoints per service, from a keys-only range of the endpoints prefix. */
static size_t endpoint_count(const json_t *kvs, const char *prefix, const char *name)
{
	size_t n = 0, i, plen = strlen(prefix), nlen = strlen(name);
	json_t *v;

	json_array_foreach(kvs, i, v) {
		struct etcd_kv kv;

		if (etcd_kv_decode(v, &kv) < 0)
			continue;
		if (kv.key_len > plen + nlen && !strncmp(kv.key + plen, name, nlen) &&
		    kv.key[plen + nlen] == '/')
			n++;
		etcd_kv_fini(&kv);
	}
	return n;
}

static void print_row(const char *name, json_t *svc, size_t eps)
{
	json_t *ports = json_object_get(svc, "ports"), *p;
	char list[256] = "";
	size_t i, o = 0;

	json_array_foreach(ports, i, p) {
		if (o >= sizeof(list))
			break;
		o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%lld/%s", i ? "," : "",
				      (long long)json_integer_value(json_object_get(p, "port")),
				      json_string_value(json_object_get(p, "protocol")) ?: "tcp");
	}
	printf("%-24s %-16s %-20s %-12s %zu\n", name,
	       json_string_value(json_object_get(svc, "vip")) ?:
	       json_string_value(json_object_get(svc, "vip6")) ?: "-",
	       list, json_string_value(json_object_get(svc, "algorithm")) ?: "random", eps);
}

static int service_list(struct ctl *c, int argc, char **argv)
{
	char *sp = ctl_key(c, "services", NULL, NULL), *ep = ctl_key(c, "endpoints", NULL, NULL);
	char *send = sp ? etcd_prefix_end(sp) : NULL, *eend = ep ? etcd_prefix_end(ep) : NULL;
	char *b1 = send ? etcd_range_body(sp, strlen(sp), send, 0, 0, false) : NULL;
	char *b2 = eend ? etcd_range_body(ep, strlen(ep), eend, 0, 0, true) : NULL;
	json_t *svcs = NULL, *eps = NULL, *out = json_array(), *v;
	int ret = CTL_FAIL;
	size_t i;

	if (argc != 1) {
		ret = ctl_usage(usage_list, false);
		goto out;
	}
	if (!b1 || !b2 || ctl_call(c, "kv/range", b1, &svcs) < 0 ||
	    ctl_call(c, "kv/range", b2, &eps) < 0)
		goto out;
	if (!c->json)
		printf("%-24s %-16s %-20s %-12s %s\n", "SERVICE", "VIP", "PORTS", "ALGORITHM", "ENDPOINTS");
	json_array_foreach(json_object_get(svcs, "kvs"), i, v) {
		struct etcd_kv kv;
		json_t *svc;
		const char *name;
		size_t n;

		if (etcd_kv_decode(v, &kv) < 0)
			continue;
		name = kv.key + strlen(sp);
		svc = json_loads(kv.value ? kv.value : "", 0, NULL);
		n = endpoint_count(json_object_get(eps, "kvs"), ep, name);
		if (c->json)
			json_array_append_new(out, json_pack("{sssOsI}", "name", name, "service",
				svc ? svc : json_null(), "endpoints", (json_int_t)n));
		else
			print_row(name, svc, n);
		json_decref(svc);
		etcd_kv_fini(&kv);
	}
	if (c->json)
		ctl_print_json(out);
	ret = CTL_OK;
out:
	free(sp); free(ep); free(send); free(eend); free(b1); free(b2);
	json_decref(svcs);
	json_decref(eps);
	json_decref(out);
	return ret;
}

int ctl_service(struct ctl *c, int argc, char **argv)
{
	static const struct ctl_verb verbs[] = {
		{ "add", usage_add, service_add }, { "del", usage_del, service_del },
		{ "get", usage_get, service_get }, { "list", usage_list, service_list },
	};

	return ctl_dispatch(c, verbs, sizeof(verbs) / sizeof(verbs[0]), "service", argc, argv);
}

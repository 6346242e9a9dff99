/* vipctl: the operator's tool. One subcommand per entry of the table, as
 * wireguard-tools does; the registry commands arrive with the etcd source. */
#include <stdio.h>
#include <string.h>
#include <jansson.h>

#include "codec.h"

struct subcommand {
	const char *name, *help;
	int (*run)(int argc, char **argv);
};

/* Validates a services file exactly as vipd reads it: one line per refused
 * object, exit 1 if any. */
static int check_file(int argc, char **argv)
{
	json_error_t jerr;
	json_t *root, *services, *endpoints, *v, *eps, *ev;
	const char *name, *id;
	char err[CODEC_ERR_LEN];
	int bad = 0, n = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: vipctl check FILE\n");
		return 2;
	}
	root = json_load_file(argv[1], JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		fprintf(stderr, "%s: line %d column %d: %s\n", argv[1], jerr.line,
			jerr.column, jerr.text);
		return 1;
	}
	services = json_object_get(root, "services");
	endpoints = json_object_get(root, "endpoints");
	json_object_foreach(services, name, v) {
		struct service *svc;

		n++;
		if (codec_service_parse(name, v, &svc, err) < 0) {
			printf("service \"%s\": %s\n", name, err);
			bad++;
			continue;
		}
		service_free(svc);
	}
	json_object_foreach(endpoints, name, eps) {
		json_object_foreach(eps, id, ev) {
			struct endpoint *ep;

			n++;
			if (codec_endpoint_parse(id, ev, &ep, err) < 0) {
				printf("endpoint \"%s/%s\": %s\n", name, id, err);
				bad++;
				continue;
			}
			endpoint_free(ep);
		}
	}
	json_decref(root);
	printf("%s: %d objects, %d refused\n", argv[1], n, bad);
	return bad ? 1 : 0;
}

static const struct subcommand subcommands[] = {
	{ "check", "validate a services file as vipd would read it", check_file },
};

int main(int argc, char **argv)
{
	size_t n = sizeof(subcommands) / sizeof(subcommands[0]);

	if (argc >= 2)
		for (size_t i = 0; i < n; i++)
			if (!strcmp(argv[1], subcommands[i].name))
				return subcommands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "usage: vipctl COMMAND [ARGS]\n");
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, "  %-8s %s\n", subcommands[i].name, subcommands[i].help);
	return argc >= 2 && strcmp(argv[1], "--help") ? 2 : 0;
}

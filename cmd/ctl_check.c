/* vipctl check FILE */
#include <stdio.h>
#include <jansson.h>

#include "codec.h"
#include "ctl.h"

/* Validates a services file exactly as vipd reads it: one line per refused
 * object, exit 1 if any. */
int ctl_check(struct ctl *c, int argc, char **argv)
{
	json_error_t jerr;
	json_t *root, *services, *endpoints, *v, *eps, *ev;
	const char *name, *id;
	char err[CODEC_ERR_LEN];
	int bad = 0, n = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: vipctl check FILE\n");
		return CTL_USAGE;
	}
	root = json_load_file(argv[1], JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		fprintf(stderr, "%s: line %d column %d: %s\n", argv[1], jerr.line,
			jerr.column, jerr.text);
		return CTL_FAIL;
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


/* vipctl check FILE */
#include <stdio.h>
#include <jansson.h>

#include "codec.h"
#include "ctl.h"

struct unknown_ctx {
	char prefix[2 * NAME_MAX_LEN + 16];	/* "services.web." */
	int n;
};

static void unknown_key(void *arg, const char *path)
{
	struct unknown_ctx *u = arg;

	printf("field %s%s: unknown key; vipd ignores it\n", u->prefix, path);
	u->n++;
}

/* Validates a services file exactly as vipd reads it: one line per refused
 * object and per unknown key. Exit 1 if the file or an object is refused,
 * else 2 if a key is unknown (vipd would warn and ignore it: likely a
 * typo), else 0. */
int ctl_check(struct ctl *c, int argc, char **argv)
{
	struct unknown_ctx u = { .n = 0 };
	struct codec_report rep = { unknown_key, &u };
	json_t *root, *services, *endpoints, *v, *eps, *ev;
	const char *name, *id;
	char err[CODEC_ERR_LEN];
	int bad = 0, n = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: vipctl check FILE\n");
		return CTL_USAGE;
	}
	if (codec_file_load(argv[1], 0, &root, err) < 0) {
		fprintf(stderr, "vipctl: %s: %s\n", argv[1], err);
		return CTL_FAIL;
	}
	if (codec_file_top(root, &rep, &services, &endpoints, err) < 0) {
		printf("%s: %s; vipd refuses the whole file\n", argv[1], err);
		json_decref(root);
		return CTL_FAIL;
	}
	json_object_foreach(services, name, v) {
		struct service *svc;

		n++;
		snprintf(u.prefix, sizeof(u.prefix), "services.%.64s.", name);
		if (codec_service_read(name, v, &rep, &svc, err) < 0) {
			printf("service \"%s\": %s\n", name, err);
			bad++;
			continue;
		}
		service_free(svc);
	}
	json_object_foreach(endpoints, name, eps) {
		if (!json_is_object(eps)) {
			printf("endpoints of \"%s\": must be an object keyed by endpoint id\n", name);
			bad++;
			continue;
		}
		json_object_foreach(eps, id, ev) {
			struct endpoint *ep;

			n++;
			snprintf(u.prefix, sizeof(u.prefix), "endpoints.%.64s.%.64s.", name, id);
			if (codec_endpoint_read(id, ev, &rep, &ep, err) < 0) {
				printf("endpoint \"%s/%s\": %s\n", name, id, err);
				bad++;
				continue;
			}
			endpoint_free(ep);
		}
	}
	json_decref(root);
	printf("%s: %d objects, %d refused, %d unknown keys\n", argv[1], n, bad, u.n);
	return bad ? CTL_FAIL : u.n ? CTL_USAGE : CTL_OK;
}

/* vipctl check FILE */
#include <errno.h>
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

struct check {
	struct unknown_ctx u;
	struct codec_report rep;
	int bad, n;
};

static int check_service(void *arg, const char *name, json_t *v)
{
	struct check *k = arg;
	char err[CODEC_ERR_LEN];
	struct service *svc;

	k->n++;
	snprintf(k->u.prefix, sizeof(k->u.prefix), "services.%.64s.", name);
	if (codec_service_read(name, v, &k->rep, &svc, err) < 0) {
		printf("service \"%s\": %s\n", name, err);
		k->bad++;
		return 0;
	}
	service_free(svc);
	return 0;
}

static int check_endpoints(void *arg, const char *name, json_t *eps)
{
	struct check *k = arg;
	char err[CODEC_ERR_LEN];
	const char *id;
	json_t *ev;

	if (!codec_name_valid(name) || !json_is_object(eps)) {
		printf("endpoints of \"%s\": %s\n", name, json_is_object(eps) ? "bad service name" :
		       "must be an object keyed by endpoint id");
		k->bad++;
		return 0;
	}
	json_object_foreach(eps, id, ev) {
		struct endpoint *ep;

		k->n++;
		snprintf(k->u.prefix, sizeof(k->u.prefix), "endpoints.%.64s.%.64s.", name, id);
		if (codec_endpoint_read(id, ev, &k->rep, &ep, err) < 0) {
			printf("endpoint \"%s/%s\": %s\n", name, id, err);
			k->bad++;
			continue;
		}
		endpoint_free(ep);
	}
	return 0;
}

static const char usage[] =
	"usage: vipctl check FILE\n"
	"  Validates a services file as vipd reads it, touching nothing: one line per\n"
	"  refused object and per unknown key. Exit 0: clean; 2: FILE is unreadable,\n"
	"  refused, or has unknown keys (vipd ignores them: likely typos).\n";

/* Validates a services file exactly as vipd reads it: one line per refused
 * object and per unknown key. A file given on the command line that vipd
 * would refuse, in whole or in part, is bad input (exit 2), and so is an
 * unknown key: vipd would warn and ignore it, and it is likely a typo. */
int ctl_check(struct ctl *c, int argc, char **argv)
{
	struct check k = { .u = { .n = 0 } };
	struct file_walk w = { check_service, check_endpoints, &k.rep, &k, NULL };
	char err[CODEC_ERR_LEN];
	int ret;

	if (ctl_wants_help(argc, argv) || argc != 2)
		return ctl_usage(usage, ctl_wants_help(argc, argv));
	k.rep = (struct codec_report){ unknown_key, &k.u };
	ret = codec_file_walk(argv[1], 0, &w, err);
	if (ret == -EINVAL) {
		printf("%s: %s; vipd refuses the whole file\n", argv[1], err);
		return CTL_USAGE;
	}
	if (ret < 0) {
		fprintf(stderr, "vipctl: %s: %s\n", argv[1], err);
		return CTL_USAGE;
	}
	printf("%s: %d objects, %d refused, %d unknown keys\n", argv[1], k.n, k.bad, k.u.n);
	return k.bad || k.u.n ? CTL_USAGE : CTL_OK;
}

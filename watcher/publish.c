/* Health verdicts for other nodes: a second registrar, of health keys. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "codec.h"
#include "log.h"
#include "model.h"
#include "publish.h"
#include "register.h"
#include "source.h"

struct publisher {
	struct registrar *reg;
	const char *node;		/* borrowed from the conf */
	bool docker_register;
};

int publisher_open(struct loop *loop, const struct register_conf *conf, bool docker_register,
		   struct publisher **out)
{
	struct publisher *p = calloc(1, sizeof(*p));

	*out = p;
	if (!p)
		return -ENOMEM;
	p->node = conf->node;
	p->docker_register = docker_register;
	return registrar_open(loop, conf, &p->reg);
}

void publisher_verdict(struct publisher *p, const char *service, const char *id,
		       uint8_t source, bool healthy, const char *reason, bool gone)
{
	json_t *o = gone ? NULL : codec_verdict_json(healthy, reason);
	char *key = NULL, *value = o ? json_dumps(o, JSON_COMPACT) : NULL;
	int ret;

	json_decref(o);
	if (source == SRC_ETCD)
		ret = asprintf(&key, "health/%s/%s", service, id);
	else if (source == SRC_DOCKER && p->docker_register)
		ret = asprintf(&key, "health/%s/%s:%s", service, p->node, id);
	else
		ret = 0;	/* known here only: nobody follows it */
	if (ret < 0 || (!gone && !value))
		log_err("health: out of memory publishing %s/%s", service, id);
	else if (ret > 0)
		registrar_set(p->reg, key, value);
	if (ret < 0)
		key = NULL;
	free(key);
	free(value);
}

void publisher_close(struct publisher *p)
{
	if (!p)
		return;
	registrar_close(p->reg);
	free(p);
}

/* What each container contributes. Its endpoints go to the model, and in
 * register mode to the registrar too, which writes them to etcd for the
 * other nodes (the etcd source skips this node's own keys). The service
 * its vipd.vip defines goes to the model, the oldest container's
 * definition winning. An endpoint is deleted only when no other container
 * now contributes it: names move between containers (docker rename, a
 * re-created container). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker_source.h"
#include "hmap.h"
#include "log.h"
#include "model.h"
#include "register.h"
#include "source.h"

/* ---- where endpoints go ------------------------------------------------- */

static void sink_put(struct docker *d, const char *service, const struct endpoint *ep)
{
	struct endpoint *copy;

	if (d->reg)
		registrar_put(d->reg, service, ep);
	if (!(copy = endpoint_dup(ep)) ||
	    model_endpoint_put(d->src->model, SRC_DOCKER, service, copy) < 0)
		log_err("docker: out of memory adding %s/%s", service, ep->id);
}

static void sink_del(struct docker *d, const char *service, const char *id)
{
	if (d->reg)
		registrar_del(d->reg, service, id);
	model_endpoint_del(d->src->model, SRC_DOCKER, service, id);
}

static bool older(const struct ctr *a, const struct ctr *b)
{
	if (a->view.created_ns != b->view.created_ns)
		return a->view.created_ns < b->view.created_ns;
	return strcmp(a->id, b->id) < 0;
}

/* The oldest container that defines a service wins; the others are told
 * (once) when they disagree. */
static void redefine(struct docker *d, const char *name)
{
	struct ctr *best = NULL, *c;
	struct service *copy;
	const void *k;
	size_t it = 0, len;

	while (hmap_next(d->ctrs, &it, &k, &len, (void **)&c))
		if (c->view.svc && !strcmp(c->view.svc->name, name) && (!best || older(c, best)))
			best = c;
	if (!best) {
		model_service_del(d->src->model, SRC_DOCKER, name);
		return;
	}
	for (it = 0; hmap_next(d->ctrs, &it, &k, &len, (void **)&c);) {
		bool differs;

		if (!c->view.svc || strcmp(c->view.svc->name, name))
			continue;
		differs = !service_equal(c->view.svc, best->view.svc);
		if (differs && !c->said_disagree)
			log_warn("docker: service %s: container %s defines it differently from the oldest, %s; %s's definition is used",
				 name, c->view.name, best->view.name, best->view.name);
		c->said_disagree = differs;
	}
	if (!(copy = service_dup(best->view.svc)) ||
	    model_service_put(d->src->model, SRC_DOCKER, copy) < 0)
		log_err("docker: out of memory defining service %s", name);
}

static bool has_item(const struct docker_view *v, const struct docker_item *it)
{
	for (size_t i = 0; i < v->n_items; i++)
		if (!strcmp(v->items[i].service, it->service) &&
		    !strcmp(v->items[i].ep->id, it->ep->id))
			return true;
	return false;
}

/* Names move between containers (docker rename, a re-created container):
 * an endpoint is only deleted when no other container now contributes it. */
static bool owned_elsewhere(struct docker *d, const struct ctr *self,
			    const struct docker_item *it)
{
	const void *k;
	size_t i = 0, len;
	struct ctr *c;

	while (hmap_next(d->ctrs, &i, &k, &len, (void **)&c))
		if (c != self && has_item(&c->view, it))
			return true;
	return false;
}

static void define(struct docker *d, struct ctr *c, const char *old_name)
{
	const char *name = c->view.svc ? c->view.svc->name : NULL;

	if (d->reg) {
		if (name && !c->said_register)
			log_info("docker: container %s: label %svip ignored in register mode (define service %s in etcd: vipctl service add)",
				 c->view.name, d->conf->prefix, name);
		c->said_register = name != NULL;
		return;
	}
	if (old_name)
		redefine(d, old_name);
	if (name && (!old_name || strcmp(name, old_name)))
		redefine(d, name);
}

/* While it stops, why it stops says more than its health: the kill or
 * stop is the cause the endpoint shows. */
static void mark_terminating(const struct ctr *c, struct endpoint *ep)
{
	ep->terminating = c->terminating;
	if (c->terminating)
		ep->cause = c->term_cause;
}

/* Takes over nv: what the container contributes from now on. */
void dk_ctr_apply(struct ctr *c, struct docker_view *nv)
{
	struct docker *d = c->d;
	struct docker_view old = c->view;

	c->view = *nv;
	/* a container stopped and started again (also while we were away) */
	if (c->terminating && c->view.started_ns != c->term_started_ns) {
		c->terminating = false;
		c->term_cause = CAUSE_NONE;
	}
	for (size_t i = 0; i < old.n_items; i++)
		if (!has_item(&c->view, &old.items[i]) && !owned_elsewhere(d, c, &old.items[i]))
			sink_del(d, old.items[i].service, old.items[i].ep->id);
	/* An item that stays is put over its old self: a health change is
	 * the same backend turning (not) ready, never a removal and a new one. */
	for (size_t i = 0; i < c->view.n_items; i++) {
		mark_terminating(c, c->view.items[i].ep);
		sink_put(d, c->view.items[i].service, c->view.items[i].ep);
	}
	define(d, c, old.svc ? old.svc->name : NULL);
	docker_view_fini(&old);
}

/* ---- containers --------------------------------------------------------- */

struct ctr *dk_ctr_get(struct docker *d, const char *id, bool create)
{
	struct ctr *c = hmap_get_str(d->ctrs, id);

	if (c || !create)
		return c;
	c = calloc(1, sizeof(*c));
	if (!c || !(c->id = strdup(id)) || hmap_put_str(d->ctrs, id, c) < 0) {
		if (c)
			free(c->id);
		free(c);
		log_err("docker: out of memory tracking container %.12s", id);
		return NULL;
	}
	c->d = d;
	return c;
}

void dk_ctr_free(void *p)
{
	struct ctr *c = p;

	http_cancel(c->req);
	docker_view_fini(&c->view);
	free(c->refusal);
	free(c->id);
	free(c);
}

/* The container is gone: so is everything it contributed. */
void dk_ctr_remove(struct ctr *c)
{
	struct docker *d = c->d;
	struct docker_view none = { 0 };

	dk_ctr_apply(c, &none);
	hmap_del_str(d->ctrs, c->id);
	dk_ctr_free(c);
}

void dk_ctr_terminating(struct ctr *c, enum ep_cause cause)
{
	if (c->terminating)
		return;
	c->terminating = true;
	c->term_cause = (uint8_t)cause;
	c->term_started_ns = c->view.started_ns;
	for (size_t i = 0; i < c->view.n_items; i++) {
		mark_terminating(c, c->view.items[i].ep);
		sink_put(c->d, c->view.items[i].service, c->view.items[i].ep);
	}
	if (c->view.n_items)
		log_debug("docker: container %s is stopping (%s): no new connections", c->view.name,
			  cause == CAUSE_DOCKER_KILL ? "docker kill" : "docker stop");
}

/* One refusal line per container and reason. */
void dk_ctr_judged(struct ctr *c, const struct docker_view *nv, int ret, const char *err)
{
	if (ret == -EINVAL && (!c->refusal || strcmp(c->refusal, err))) {
		log_err("docker: container %s (%s): %s; ignored", nv->name ? nv->name : "?", nv->id, err);
		free(c->refusal);
		c->refusal = strdup(err);
	} else if (ret == 0 && *nv->warning && (!c->refusal || strcmp(c->refusal, nv->warning))) {
		log_warn("docker: container %s (%s): %s", nv->name, nv->id, nv->warning);
		free(c->refusal);
		c->refusal = strdup(nv->warning);
	} else if (ret == 0 && !*nv->warning && c->refusal) {
		log_info("docker: container %s (%s): labels accepted now", nv->name, nv->id);
		free(c->refusal);
		c->refusal = NULL;
	}
}

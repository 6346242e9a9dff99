/* publish.h: this node's health verdicts, written to etcd for the nodes
 * that route to its backends (DESIGN.md: <prefix>/health/<service>/<id>,
 * under a lease of its own, so they go with the node). */
#ifndef VIPD_PUBLISH_H
#define VIPD_PUBLISH_H

#include <stdbool.h>
#include <stdint.h>

struct loop;
struct publisher;
struct register_conf;

/* conf is borrowed for the publisher's life (etcd, node, lease TTL). With
 * docker_register this node's containers are in etcd as <node>:<id>, and
 * their verdicts are published under that id. Returns 0 or -errno; *out
 * is set either way (publisher_close frees it). */
int publisher_open(struct loop *loop, const struct register_conf *conf, bool docker_register,
		   struct publisher **out);
/* A verdict of bstate.h's publish hook: endpoints that other nodes know (from etcd, or this node's registered containers) get their
 * verdict written, and deleted when gone; others are this node's alone. */
void publisher_verdict(struct publisher *p, const char *service, const char *id,
		       uint8_t source, bool healthy, const char *reason, bool gone);
/* Revokes the lease (every verdict goes at once) and frees p. */
void publisher_close(struct publisher *p);

#endif

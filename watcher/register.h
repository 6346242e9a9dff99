/* register.h: register mode (DESIGN.md "Docker"): the endpoints of this
 * node's containers are written to etcd under one lease that vipd keeps
 * alive, so a dead node's endpoints expire by themselves. Keys are
 * <prefix>/endpoints/<service>/<node>:<id>: node names have no ':', so two
 * nodes never write the same key.
 *
 * The same machinery publishes this node's health verdicts
 * (<prefix>/health/<service>/<id>) from a second registrar, under a lease
 * of its own, so that they expire with the node too. */
#ifndef VIPD_REGISTER_H
#define VIPD_REGISTER_H

#include <stdbool.h>

struct endpoint;
struct loop;
struct registrar;
struct register_conf;

/* Returns 0 or a negative errno (a bad flag is printed). *out is set
 * either way: the caller frees it with registrar_close, also after a
 * failure. */
int registrar_open(struct loop *loop, const struct register_conf *conf,
		   struct registrar **out);
/* Writes (soon, batched) the endpoint; ep is copied, not kept. */
void registrar_put(struct registrar *r, const char *service, const struct endpoint *ep);
void registrar_del(struct registrar *r, const char *service, const char *id);
/* Any key under the prefix: rel_key is relative to it ("health/web/b1");
 * value is copied, NULL deletes the key. Written soon, batched, like the
 * above. */
void registrar_set(struct registrar *r, const char *rel_key, const char *value);
/* health/<service>/<id> as codec_verdict_json (reason NULL: none). */
void registrar_put_verdict(struct registrar *r, const char *service, const char *id,
			   bool healthy, const char *reason);
/* Revokes the lease, which deletes every key at once, and frees r. Waits
 * for etcd at most about a second per endpoint (two with --etcd-user: it
 * authenticates again). */
void registrar_close(struct registrar *r);

#endif

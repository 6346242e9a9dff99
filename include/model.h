/* model.h: services and endpoints, as every source reports them.
 *
 * Sources (file, etcd, docker) put and delete objects; the reconciler reads
 * them and the names that changed since it last looked. The model owns every
 * object put into it: _put takes ownership, also when it fails.
 */
#ifndef VIPD_MODEL_H
#define VIPD_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define NAME_MAX_LEN	253	/* a DNS name: services are named like one */
#define PORT_NAME_LEN	63
#define WEIGHT_MIN	1
#define WEIGHT_MAX	10000
#define WEIGHT_DEFAULT	100

enum lb_algo { ALGO_RANDOM, ALGO_ROUND_ROBIN, ALGO_SOURCE_HASH, ALGO_MAGLEV };
enum traffic_policy { POLICY_CLUSTER, POLICY_LOCAL };
/* Lower wins when two sources define the same service. */
enum source_id { SRC_FILE, SRC_ETCD, SRC_DOCKER, SRC_MAX };

struct svc_port {
	char name[PORT_NAME_LEN + 1];
	uint16_t port;
	uint16_t target_port;	/* 0: same as port */
	uint16_t node_port;	/* 0: none */
	uint8_t proto;		/* IPPROTO_TCP, _UDP, _SCTP */
};

struct health_spec {
	bool enabled;
	bool http;
	char *path;
	uint16_t port;
	uint16_t expect;
	uint32_t interval_ms, timeout_ms;
	uint8_t rise, fall;
};

struct service {
	char *name;
	struct vaddr vip4, vip6;	/* family 0 when absent */
	unsigned n_ports;
	struct svc_port *ports;
	enum lb_algo algo;
	uint32_t affinity_timeout;
	enum traffic_policy policy;
	struct health_spec health;
	uint32_t slow_start, drain_seconds;
	/* Extra addresses that route like the VIPs, and the sources allowed
	 * to reach them (none: every source). */
	unsigned n_external;
	struct vaddr *external_ips;
	unsigned n_ranges;
	struct cidr *source_ranges;
};

struct ep_port {
	char name[PORT_NAME_LEN + 1];
	uint16_t port;
};

/* Why a source reports an endpoint not ready or terminating, when it
 * knows more than the flag (shown in the backend's reason). */
enum ep_cause {
	CAUSE_NONE,
	CAUSE_DOCKER_KILL,	/* terminating: a kill event */
	CAUSE_DOCKER_STOP,	/* terminating: a stop event */
	CAUSE_DOCKER_UNHEALTHY,	/* not ready: HEALTHCHECK says unhealthy */
	CAUSE_DOCKER_STARTING,	/* not ready: HEALTHCHECK still starting */
};

struct endpoint {
	char *id;
	struct vaddr ip;
	uint16_t port;		/* 0: take the service port's target */
	unsigned n_ports;
	struct ep_port *ports;
	uint32_t weight;
	char *node, *zone;
	bool ready, terminating;
	uint8_t cause;		/* enum ep_cause */
	uint8_t source;		/* enum source_id; set by the model */
	bool stale;		/* model bookkeeping during a source resync */
	/* The backend states' own (bstate.h): the state + 1 (0: not yet
	 * decided), the cause it was decided with, and the weight the
	 * endpoint takes new connections with.
	 * Kept here, not in a table of their own, so that a plain backend
	 * costs nothing more; carried over when a source puts a new version
	 * of the endpoint. */
	uint8_t bs_state, bs_cause;
	uint32_t bs_weight;
	uint64_t bs_since;	/* loop_now_ms() when bs_state last moved */
};

struct model;

/* "random", "round-robin", ...; "tcp", "udp", "sctp" ("?" for others). */
const char *model_algo_name(enum lb_algo algo);
const char *model_proto_name(uint8_t proto);

struct model *model_alloc(void);
void model_free(struct model *m);

void service_free(struct service *svc);
void endpoint_free(struct endpoint *ep);
/* Deep copies (NULL when out of memory), and equality of every field. */
struct service *service_dup(const struct service *svc);
struct endpoint *endpoint_dup(const struct endpoint *ep);
bool service_equal(const struct service *a, const struct service *b);
/* Backend port of ep for service port sp, as DESIGN.md orders the choices. */
uint16_t endpoint_port_for(const struct endpoint *ep, const struct svc_port *sp);

int model_service_put(struct model *m, enum source_id src, struct service *svc);
void model_service_del(struct model *m, enum source_id src, const char *name);
int model_endpoint_put(struct model *m, enum source_id src, const char *service,
		       struct endpoint *ep);
void model_endpoint_del(struct model *m, enum source_id src,
			const char *service, const char *id);

/* A source that re-reads everything marks its objects, puts what it found
 * (which unmarks them) and sweeps: what is still marked is deleted. For
 * SRC_ETCD that includes the verdicts. */
void model_source_mark(struct model *m, enum source_id src);
void model_source_sweep(struct model *m, enum source_id src);
/* During a resync: keep an object as it was (its new version was refused).
 * Returns whether there was one to keep. */
bool model_service_keep(struct model *m, enum source_id src, const char *name);
bool model_endpoint_keep(struct model *m, enum source_id src,
			 const char *service, const char *id);

/* The effective definition, or NULL. Borrowed until the next change. */
const struct service *model_service_get(const struct model *m, const char *name);
/* Endpoints of a service from every source, in no particular order. */
size_t model_endpoints_get(const struct model *m, const char *service,
			   struct endpoint *const **eps);
/* for (size_t it = 0; (name = model_service_next(m, &it));) */
const char *model_service_next(const struct model *m, size_t *it);
size_t model_service_count(const struct model *m);

/* Health verdicts that another node published for the endpoints it
 * checks (/vipd/health/<service>/<id>; only etcd reports them). A verdict
 * may arrive before or outlive its endpoint. A put or delete that changes
 * a verdict marks the service dirty. reason is copied (may be NULL). */
struct verdict {
	bool healthy;
	bool stale;		/* model bookkeeping during an etcd resync */
	char reason[120];
};
int model_verdict_put(struct model *m, const char *service, const char *id,
		      bool healthy, const char *reason);
void model_verdict_del(struct model *m, const char *service, const char *id);
/* Borrowed until the next change; NULL: no verdict (the backend counts as
 * healthy, as every checked backend starts). */
const struct verdict *model_verdict_get(const struct model *m, const char *service,
					const char *id);

/* Marks a service dirty although no source changed it: its backends'
 * state (health, slow start) moved. Unknown names are ignored. */
void model_touch(struct model *m, const char *name);

/* Names whose services or endpoints changed since the last take. The caller
 * owns the array and its strings (model_names_free). model_dirty_take
 * returns true when some name could not be recorded (out of memory): the
 * caller must then plan every service, not only those in out. */
struct name_list {
	char **names;
	size_t n;
};
bool model_dirty(const struct model *m);
bool model_dirty_take(struct model *m, struct name_list *out);
/* When the oldest change not yet taken was made (loop_now_us()), 0 when
 * none: where the network programming latency starts. */
uint64_t model_dirty_since(const struct model *m);
void model_names_free(struct name_list *l);

#endif

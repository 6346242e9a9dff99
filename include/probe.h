/* probe.h: one-shot health probes on the event loop: a TCP connect, or an
 * HTTP GET that must answer an expected status. Non-blocking: a TCP probe
 * is a non-blocking connect() watched by the loop, an HTTP probe a
 * request on a libcurl multi handle of the prober's own (so probes never
 * queue behind the registry's long watches). Every probe opens a fresh
 * connection and closes it: a check must see a server that accepts now,
 * not a connection kept alive from before it died.
 *
 * Knows nothing of vipd: addresses, ports, a path, a status, a timeout.
 */
#ifndef VIPD_PROBE_H
#define VIPD_PROBE_H

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"

struct loop;
struct prober;
struct probe;

/* ok: the server answered as expected. why: a short text for logs and
 * status when !ok ("connect refused", "connect timeout", "no route",
 * "HTTP 500", "HTTP timeout", "HTTP connect refused", ...), "" when ok;
 * borrowed for the call. The probe is freed after the callback returns;
 * the callback may start probes and cancel others. */
typedef void (*probe_cb)(struct probe *p, bool ok, const char *why, void *arg);

/* Owned by the caller; prober_free cancels every live probe without
 * calling back. Not from inside a probe's callback (the HTTP client is
 * still on the stack there). */
struct prober *prober_alloc(struct loop *loop);
void prober_free(struct prober *pr);

/* Starts a probe; the callback runs exactly once (from the loop, never
 * from inside these calls) unless the probe is cancelled first. Returns
 * NULL only when out of memory or the address family is unusable (or,
 * for probe_http, the path does not begin with '/'); a socket that
 * cannot be had for want of descriptors is a failed probe ("socket: ...").
 * The struct probe is the caller's handle until the callback returns or
 * the probe is cancelled; a probe_cancel of it inside its own callback
 * does nothing. */
struct probe *probe_tcp(struct prober *pr, const struct vaddr *addr, uint16_t port,
			uint32_t timeout_ms, probe_cb cb, void *arg);
/* GET http://addr:port<path> (path begins with '/', sent as it is); ok
 * when the status equals expect ("HTTP <status>" when not). The whole
 * probe (connect and answer) gets timeout_ms; the body is not read. */
struct probe *probe_http(struct prober *pr, const struct vaddr *addr, uint16_t port,
			 const char *path, uint16_t expect, uint32_t timeout_ms,
			 probe_cb cb, void *arg);
void probe_cancel(struct probe *p);

/* Probes in flight, for tests and status. */
unsigned prober_live(const struct prober *pr);

#endif

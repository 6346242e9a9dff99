/* http.h: HTTP requests on libcurl's multi interface, driven by the one
 * event loop (no threads, no blocking). Used by the etcd and Docker sources.
 *
 * A request either collects its body (on_data NULL) and hands it to on_done,
 * or streams it chunk by chunk to on_data (watches, event streams). on_done
 * runs once per request unless it was cancelled; the request is freed after
 * on_done returns. Callbacks may start new requests and cancel any request,
 * including their own.
 */
#ifndef VIPD_HTTP_H
#define VIPD_HTTP_H

#include <stdbool.h>
#include <stddef.h>

struct loop;
struct http;
struct http_req;

struct http_opts {
	const char *cacert, *cert, *key;	/* TLS; NULL: none */
	const char *unix_socket;		/* Docker's socket; NULL: TCP */
	const char *header;			/* one extra header line, or NULL */
	long connect_timeout_ms;		/* 0: curl's default */
	long timeout_ms;			/* 0: none (streams) */
	/* Health checks: a new connection that is never reused, closed with
	 * a reset (no TIME_WAIT piling up on this node), and never through
	 * a proxy from the environment. */
	bool fresh;
};

/* on_data returns 0 to go on, non-zero to stop the transfer (on_done then
 * sees an error, unless the request was cancelled). */
typedef int (*http_data_cb)(struct http_req *req, const char *data, size_t len,
			    void *arg);
/* err: 0, or a curl error text's code (CURLE_*); status: HTTP status, 0 if
 * none; body: NUL-terminated (streams: NULL). */
typedef void (*http_done_cb)(struct http_req *req, int err, long status,
			     const char *body, size_t len, void *arg);

struct http *http_alloc(struct loop *loop);
void http_free(struct http *h);	/* cancels every request */

/* POST (body non-NULL) or GET (body NULL) url. Returns NULL on failure. */
struct http_req *http_request(struct http *h, const char *url, const char *body,
			      const struct http_opts *opts, http_data_cb on_data,
			      http_done_cb on_done, void *arg);
void http_cancel(struct http_req *req);
/* s URL-encoded, malloc'd; NULL when out of memory. */
char *http_escape(const char *s);
/* At most n connections at once; further requests wait in curl's queue. */
void http_max_connections(struct http *h, long n);
const char *http_strerror(int err);
/* The same for req's err, in its on_done only: a failed connect says why
 * ("connection refused", "no route to host"). */
const char *http_req_strerror(struct http_req *req, int err);

#endif

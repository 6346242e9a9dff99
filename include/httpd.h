/* httpd.h: a small HTTP listener (libmicrohttpd) inside the one event
 * loop: no thread of its own, bounded in connections, time and memory,
 * so a slow or hostile client never holds the loop.
 *
 * Every request is answered at once by one handler call, from the loop:
 * the handler must be quick (it renders from memory) and must not block.
 */
#ifndef VIPD_HTTPD_H
#define VIPD_HTTPD_H

#include <stddef.h>
#include <sys/socket.h>

struct loop;
struct httpd;

/* A body that many responses may send at once (one rendering for every
 * client that asks before it changes): each response in flight holds a
 * reference, and the last one frees it. */
struct httpd_blob {
	unsigned refs;
	size_t len;
	char *data;
};
/* Takes data (malloc'd); one reference, the caller's. NULL: out of
 * memory (data is freed). */
struct httpd_blob *httpd_blob_new(char *data, size_t len);
void httpd_blob_unref(struct httpd_blob *b);

struct httpd_resp {
	unsigned status;	/* 200 unless the handler says otherwise */
	const char *type;	/* Content-Type; NULL: text/plain */
	char *body;		/* malloc'd, taken by the listener; NULL: empty */
	size_t len;
	struct httpd_blob *blob;	/* instead of body: borrowed, the listener
					 * takes its own reference */
};

/* method is "GET" or "HEAD" (others get 405 without a call); path has no
 * query string. */
typedef void (*httpd_handler)(void *arg, const char *path, struct httpd_resp *out);

struct httpd_conf {
	const struct sockaddr *addr;	/* borrowed for the call */
	socklen_t addr_len;
	unsigned max_conns;		/* 0: 64 */
	unsigned timeout_s;		/* idle connection; 0: 10 */
};

/* Listens and serves from l until httpd_close. Returns 0 or a negative
 * errno (-EADDRINUSE, -EACCES...), after which *out is NULL. */
int httpd_open(struct loop *l, const struct httpd_conf *c, httpd_handler h, void *arg,
	       struct httpd **out);
void httpd_close(struct httpd *h);

#endif

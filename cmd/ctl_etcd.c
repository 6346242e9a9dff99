/* vipctl's etcd client: blocking curl easy requests, endpoint failover in
 * order, username/password authentication on first use. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>

#include "ctl.h"

#define CONNECT_TIMEOUT_MS	2000
#define REQUEST_TIMEOUT_MS	10000

struct buf {
	char *p;
	size_t len;
};

static size_t collect(char *data, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;
	char *p = realloc(b->p, b->len + size * n + 1);

	if (!p)
		return 0;
	memcpy(p + b->len, data, size * n);
	b->p = p;
	b->len += size * n;
	p[b->len] = '\0';
	return size * n;
}

/* One POST; returns the curl result, status and body. */
static CURLcode post(struct ctl *c, const char *url, const char *body,
		     long *status, struct buf *out)
{
	CURL *e = curl_easy_init();
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	CURLcode rc;

	if (!e)
		return CURLE_OUT_OF_MEMORY;
	if (c->auth_header)
		h = curl_slist_append(h, c->auth_header);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)CONNECT_TIMEOUT_MS);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)REQUEST_TIMEOUT_MS);
	if (c->cacert)
		curl_easy_setopt(e, CURLOPT_CAINFO, c->cacert);
	if (c->cert)
		curl_easy_setopt(e, CURLOPT_SSLCERT, c->cert);
	if (c->key)
		curl_easy_setopt(e, CURLOPT_SSLKEY, c->key);
	rc = curl_easy_perform(e);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, status);
	curl_slist_free_all(h);
	curl_easy_cleanup(e);
	return rc;
}

static int call_one(struct ctl *c, const char *base, const char *path,
		    const char *body, json_t **reply, char *why, size_t len)
{
	struct buf out = { 0 };
	char *url;
	long status = 0;
	CURLcode rc;
	const char *msg;
	int code = 0;

	if (asprintf(&url, "%s/v3/%s", base, path) < 0)
		return -ENOMEM;
	rc = post(c, url, body, &status, &out);
	free(url);
	if (rc != CURLE_OK) {
		snprintf(why, len, "%s", curl_easy_strerror(rc));
		free(out.p);
		return -EAGAIN;		/* try the next endpoint */
	}
	*reply = out.p ? json_loads(out.p, 0, NULL) : NULL;
	free(out.p);
	msg = *reply ? etcd_error(*reply, &code) : "reply is not JSON";
	if (status == 200 && !msg)
		return 0;
	snprintf(why, len, "HTTP %ld: %s", status, msg ? msg : "error");
	json_decref(*reply);
	*reply = NULL;
	return -EIO;
}

static int authenticate(struct ctl *c, const char *base, char *why, size_t len)
{
	char *body = etcd_auth_body(c->conf.user, c->conf.password);
	json_t *reply = NULL;
	const char *token;
	int ret;

	ret = body ? call_one(c, base, "auth/authenticate", body, &reply, why, len) : -ENOMEM;
	free(body);
	if (ret < 0)
		return ret;
	token = json_string_value(json_object_get(reply, "token"));
	if (token && asprintf(&c->auth_header, "Authorization: %s", token) < 0)
		c->auth_header = NULL;
	json_decref(reply);
	return c->auth_header ? 0 : -EIO;
}

int ctl_call(struct ctl *c, const char *path, const char *body, json_t **reply)
{
	char why[256] = "no endpoint";
	int ret = -EIO;

	for (size_t i = 0; i < c->conf.n_endpoints; i++) {
		const char *base = c->conf.endpoints[i];

		if (c->conf.user && !c->auth_header &&
		    (ret = authenticate(c, base, why, sizeof(why))) == -EAGAIN)
			continue;
		if (ret == -EIO && c->conf.user && !c->auth_header)
			break;
		ret = call_one(c, base, path, body, reply, why, sizeof(why));
		if (ret != -EAGAIN)
			break;
	}
	if (ret < 0)
		fprintf(stderr, "vipctl: etcd %s: %s\n", path, why);
	return ret < 0 ? -EIO : 0;
}

void ctl_print_json(const json_t *v)
{
	json_dumpf(v, stdout, JSON_INDENT(2));
	putchar('\n');
}

char *ctl_key(const struct ctl *c, const char *kind, const char *service,
	      const char *id)
{
	char *k;
	int n;

	if (id)
		n = asprintf(&k, "%s/%s/%s/%s", c->conf.prefix, kind, service, id);
	else if (service)
		n = asprintf(&k, "%s/%s/%s", c->conf.prefix, kind, service);
	else
		n = asprintf(&k, "%s/%s/", c->conf.prefix, kind);
	return n < 0 ? NULL : k;
}

int ctl_delete(struct ctl *c, const char *key, const char *what)
{
	char *body = key ? etcd_delete_body(key, "") : NULL;
	json_t *reply = NULL;
	int ret = CTL_FAIL;

	if (body && ctl_call(c, "kv/deleterange", body, &reply) == 0) {
		if (etcd_int(reply, "deleted"))
			ret = CTL_OK;
		else
			fprintf(stderr, "vipctl: no %s\n", what);
	}
	free(body);
	json_decref(reply);
	return ret;
}

int ctl_dispatch(struct ctl *c, const struct ctl_verb *verbs, size_t n,
		 const char *noun, int argc, char **argv)
{
	for (size_t i = 0; argc >= 2 && i < n; i++)
		if (!strcmp(argv[1], verbs[i].name))
			return verbs[i].run(c, argc - 1, argv + 1);
	fprintf(stderr, "usage: vipctl %s", noun);
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, "%s%s", i ? "|" : " ", verbs[i].name);
	fprintf(stderr, " ...\n");
	return CTL_USAGE;
}

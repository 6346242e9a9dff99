/* Where the registry lives and how to log in, from the etcd flags that
 * vipd and vipctl share. Every refusal names the flag and its value. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>

#include "etcd.h"

bool etcd_flag(struct etcd_flags *f, int letter, const char *value)
{
	switch (letter) {
	case 'E': f->endpoints = value; return true;
	case 'P': f->prefix = value; return true;
	case 'A': f->cacert = value; return true;
	case 'C': f->cert = value; return true;
	case 'K': f->key = value; return true;
	case 'U': f->user = value; return true;
	case 'Y': f->password_file = value; return true;
	}
	return false;
}

/* http[s]://host[:port], nothing else: a typo here would otherwise be
 * retried forever at run time. */
static int url_check(const char *u, char *err)
{
	CURLU *h = curl_url();
	char *scheme = NULL, *host = NULL, *path = NULL, *query = NULL;
	CURLUcode uc;
	int ret = -EINVAL;

	if (!h)
		return -ENOMEM;
	if (strpbrk(u, " \t\r\n"))
		snprintf(err, ETCD_ERR_LEN, "--etcd-endpoints %s: a URL has no spaces", u);
	else if ((uc = curl_url_set(h, CURLUPART_URL, u, 0)) == CURLUE_BAD_PORT_NUMBER)
		snprintf(err, ETCD_ERR_LEN, "--etcd-endpoints %s: port out of range 1..65535", u);
	else if (uc != CURLUE_OK ||
		 curl_url_get(h, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
		 (strcmp(scheme, "http") && strcmp(scheme, "https")))
		snprintf(err, ETCD_ERR_LEN, "--etcd-endpoints %s: expected http://HOST[:PORT] or https://HOST[:PORT]", u);
	else if (curl_url_get(h, CURLUPART_HOST, &host, 0) != CURLUE_OK || !*host)
		snprintf(err, ETCD_ERR_LEN, "--etcd-endpoints %s: no host", u);
	else if ((curl_url_get(h, CURLUPART_PATH, &path, 0) == CURLUE_OK && strcmp(path, "/")) ||
		 curl_url_get(h, CURLUPART_QUERY, &query, 0) == CURLUE_OK)
		snprintf(err, ETCD_ERR_LEN, "--etcd-endpoints %s: no path or query after the host and port", u);
	else
		ret = 0;
	curl_free(scheme);
	curl_free(host);
	curl_free(path);
	curl_free(query);
	curl_url_cleanup(h);
	return ret;
}

static int endpoints_add(struct etcd_conf *c, const char *list_text, char *err)
{
	char *list = strdup(list_text), *save = NULL;
	int ret = 0;

	if (!list)
		return -ENOMEM;
	for (char *u = strtok_r(list, ",", &save); u && !ret; u = strtok_r(NULL, ",", &save)) {
		size_t n = strlen(u);
		char **eps;

		if ((ret = url_check(u, err)) < 0)
			break;
		while (n && u[n - 1] == '/')
			u[--n] = '\0';
		eps = realloc(c->endpoints, (c->n_endpoints + 1) * sizeof(*eps));
		if (!eps || !(eps[c->n_endpoints] = strdup(u))) {
			if (eps)
				c->endpoints = eps;
			ret = -ENOMEM;
			break;
		}
		c->endpoints = eps;
		c->n_endpoints++;
	}
	free(list);
	if (!ret && !c->n_endpoints) {
		snprintf(err, ETCD_ERR_LEN, "--etcd-endpoints %s: no URL given", list_text);
		ret = -EINVAL;
	}
	return ret;
}

/* The first line of the file, without its newline. */
static int password_read(const char *path, char **out, char *err)
{
	FILE *f = fopen(path, "re");
	size_t cap = 0;
	ssize_t n;

	if (!f) {
		snprintf(err, ETCD_ERR_LEN, "--etcd-password-file %s: %s", path, strerror(errno));
		return -EINVAL;
	}
	n = getline(out, &cap, f);
	fclose(f);
	if (n <= 0) {
		free(*out);
		*out = NULL;
		snprintf(err, ETCD_ERR_LEN, "--etcd-password-file %s: empty", path);
		return -EINVAL;
	}
	(*out)[strcspn(*out, "\r\n")] = '\0';
	return 0;
}

/* --etcd-user U:P, or U with the password from the file or the
 * environment, in that order. */
static int credentials(struct etcd_conf *c, const struct etcd_flags *f, char *err)
{
	const char *colon = f->user ? strchr(f->user, ':') : NULL, *env = getenv(ETCD_PASSWORD_ENV);
	size_t ulen = colon ? (size_t)(colon - f->user) : f->user ? strlen(f->user) : 0;

	if (!f->user) {
		if (f->password_file)
			snprintf(err, ETCD_ERR_LEN, "--etcd-password-file %s: give --etcd-user too", f->password_file);
		return f->password_file ? -EINVAL : 0;
	}
	if (!ulen) {
		snprintf(err, ETCD_ERR_LEN, "--etcd-user %s: no user name", f->user);
		return -EINVAL;
	}
	if (!(c->user = strndup(f->user, ulen)))
		return -ENOMEM;
	if (colon)
		c->password = strdup(colon + 1);
	else if (f->password_file)
		return password_read(f->password_file, &c->password, err);
	else if (env)
		c->password = strdup(env);
	else {
		snprintf(err, ETCD_ERR_LEN, "--etcd-user %s: no password (give USER:PASSWORD, --etcd-password-file or %s)",
			 f->user, ETCD_PASSWORD_ENV);
		return -EINVAL;
	}
	return c->password ? 0 : -ENOMEM;
}

int etcd_conf_init(struct etcd_conf *c, const struct etcd_flags *f, char err[ETCD_ERR_LEN])
{
	int ret;

	memset(c, 0, sizeof(*c));
	c->prefix = f->prefix ? f->prefix : ETCD_DEFAULT_PREFIX;
	c->cacert = f->cacert;
	c->cert = f->cert;
	c->key = f->key;
	snprintf(err, ETCD_ERR_LEN, "out of memory");
	if ((ret = endpoints_add(c, f->endpoints, err)) < 0)
		return ret;
	if (c->prefix[0] != '/' || strlen(c->prefix) < 2 || c->prefix[strlen(c->prefix) - 1] == '/') {
		snprintf(err, ETCD_ERR_LEN, "--etcd-prefix %s: must start with / and not end with it", c->prefix);
		return -EINVAL;
	}
	if ((f->cert != NULL) != (f->key != NULL)) {
		snprintf(err, ETCD_ERR_LEN, "--etcd-cert and --etcd-key go together");
		return -EINVAL;
	}
	return credentials(c, f, err);
}

void etcd_conf_fini(struct etcd_conf *c)
{
	for (size_t i = 0; i < c->n_endpoints; i++)
		free(c->endpoints[i]);
	free(c->endpoints);
	free(c->user);
	free(c->password);
	memset(c, 0, sizeof(*c));
}

/* vipctl status [SERVICE] [--json]: what vipd on this node routes, read
 * from its HTTP listener's /status (DESIGN.md "Observability"). One GET on
 * vipctl's own loop, through the same HTTP client as etcd's calls. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "ctl.h"
#include "http.h"
#include "loop.h"

/* The whole request: vipd answers from memory, so a slow answer means a
 * stuck daemon, which is worth saying soon. */
#define STATUS_TIMEOUT_MS	5000

static const char usage[] =
	"usage: vipctl [--vipd URL] status [SERVICE] [--json]\n"
	"  What vipd on this node routes, from its /status (--vipd, default "
	CTL_VIPD_DEFAULT "):\n"
	"  one line per backend: service, VIP, ports, backend, address, state, weight\n"
	"  (effective/configured when they differ) and why. SERVICE: that one only\n"
	"  (exit 1 when vipd does not know it).\n"
	"  --json   vipd's JSON as it is (with SERVICE: that service's object)\n";

bool ctl_vipd_url_valid(const char *url)
{
	const char *host = !strncmp(url, "http://", 7) ? url + 7 :
			   !strncmp(url, "https://", 8) ? url + 8 : NULL;

	return host && *host && *host != '/' && *host != ':' && !strpbrk(url, " \t\r\n");
}

struct fetch {
	struct loop *loop;
	bool over;
	int err;
	long status;
	char *body;
	char why[128];
};

static void fetched(struct http_req *req, int err, long status, const char *body,
		    size_t len, void *arg)
{
	struct fetch *f = arg;

	f->over = true;
	loop_stop(f->loop);
	f->err = err;
	f->status = status;
	if (err)
		snprintf(f->why, sizeof(f->why), "%s", http_req_strerror(req, err));
	else if (!(f->body = strdup(body)))
		snprintf(f->why, sizeof(f->why), "out of memory");
}

static void on_deadline(struct loop *l, void *arg)
{
	*(bool *)arg = true;
	loop_stop(l);
}

/* Drives one GET to its end (curl's timeout ends it; the deadline is a
 * second bound, in case it does not). Returns the body (caller's) or NULL
 * and f->why. */
static char *get(struct loop *l, const char *url, struct fetch *f)
{
	const struct http_opts opts = {
		.connect_timeout_ms = STATUS_TIMEOUT_MS, .timeout_ms = STATUS_TIMEOUT_MS,
	};
	struct http *h = http_alloc(l);
	bool late = false;
	uint64_t timer = loop_timer_add(l, STATUS_TIMEOUT_MS + 1000, on_deadline, &late);

	f->loop = l;
	if (!h || !timer || !http_request(h, url, NULL, &opts, NULL, fetched, f)) {
		snprintf(f->why, sizeof(f->why), "cannot start a request");
	} else {
		while (!f->over && !late && loop_run(l) == 0)
			;
		if (!f->over)
			snprintf(f->why, sizeof(f->why), "no answer within %d ms", STATUS_TIMEOUT_MS);
		else if (!f->err && f->body && f->status != 200)
			snprintf(f->why, sizeof(f->why), "HTTP %ld from %s", f->status, url);
	}
	if (timer && !late)
		loop_timer_del(l, timer);
	http_free(h);
	if (!f->over || f->err || f->status != 200) {
		free(f->body);
		f->body = NULL;
	}
	return f->body;
}

/* vipd's status document (with only, /status/ONLY: one service, so a
 * node with 10,000 renders one, not all), or NULL after saying why
 * (naming the URL). */
static json_t *status_load(const char *vipd, const char *only)
{
	struct loop *l = loop_alloc();
	struct fetch f = { .over = false };
	size_t n = strlen(vipd);
	char *url = NULL, *body = NULL;
	json_t *doc = NULL;

	while (n > 0 && vipd[n - 1] == '/')	/* "http://h:9464/" works too */
		n--;
	if (l && asprintf(&url, "%.*s/status%s%s", (int)n, vipd, only ? "/" : "", only ? only : "") >= 0)
		body = get(l, url, &f);
	else
		snprintf(f.why, sizeof(f.why), "out of memory");
	if (only && f.over && !f.err && f.status == 404) {
		fprintf(stderr, "vipctl: service \"%s\" is not known to vipd at %s\n", only, vipd);
		goto out;
	}
	if (body && !(doc = json_loads(body, 0, NULL)))
		snprintf(f.why, sizeof(f.why), "%s is not JSON", url);
	if (doc && !json_is_object(json_object_get(doc, "services"))) {
		snprintf(f.why, sizeof(f.why), "%s has no \"services\" object", url);
		json_decref(doc);
		doc = NULL;
	}
	if (!doc)
		fprintf(stderr, "vipctl: vipd %.*s: %s\n", (int)n, vipd, f.why);
out:
	free(body);
	free(url);
	loop_free(l);
	return doc;
}

/* ---- the table ---------------------------------------------------------- */

enum { SERVICE, VIP, PORT, BACKEND, ADDRESS, STATE, WEIGHT, REASON, N_COLS };
static const char *const heads[N_COLS] = {
	"SERVICE", "VIP", "PORT", "BACKEND", "ADDRESS", "STATE", "WEIGHT", "REASON",
};

struct table {
	char *(*rows)[N_COLS];	/* each cell malloc'd */
	size_t n, cap;
};

static const char *str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static long long num(const json_t *o, const char *key, long long fallback)
{
	const json_t *v = json_object_get(o, key);

	return json_is_integer(v) ? (long long)json_integer_value(v) : fallback;
}

/* "10.96.0.10,fd00::10" */
static char *vips(const json_t *svc)
{
	const char *v4 = str(svc, "vip"), *v6 = str(svc, "vip6");
	char *s;

	if (asprintf(&s, "%s%s%s", v4 ? v4 : "", v4 && v6 ? "," : "", v6 ? v6 : "") < 0)
		return NULL;
	if (!*s) {
		free(s);
		return strdup("-");
	}
	return s;
}

/* "80/tcp,443/tcp" */
static char *ports(const json_t *svc)
{
	json_t *p;
	char *s = strdup(""), *next;
	size_t i;

	json_array_foreach(json_object_get(svc, "ports"), i, p) {
		if (!s || asprintf(&next, "%s%s%lld/%s", s, i ? "," : "", num(p, "port", 0),
				   str(p, "protocol") ? str(p, "protocol") : "tcp") < 0)
			next = NULL;
		free(s);
		s = next;
	}
	if (s && !*s) {
		free(s);
		s = strdup("-");
	}
	return s;
}

/* "10.250.2.11:8080", "[fd00::11]:8080" */
static char *address(const json_t *b)
{
	const char *ip = str(b, "ip") ? str(b, "ip") : "?";
	bool v6 = strchr(ip, ':') != NULL;
	long long port = num(b, "port", 0);
	char *s;

	if (!port)
		return strdup(ip);
	return asprintf(&s, v6 ? "[%s]:%lld" : "%s:%lld", ip, port) < 0 ? NULL : s;
}

/* "100", or "0/100" when the effective weight is not the configured one */
static char *weight(const json_t *b)
{
	long long w = num(b, "weight", 100), eff = num(b, "effective", w);
	char *s;

	if (eff == w)
		return asprintf(&s, "%lld", w) < 0 ? NULL : s;
	return asprintf(&s, "%lld/%lld", eff, w) < 0 ? NULL : s;
}

static int row_add(struct table *t, const char *name, const json_t *svc, const json_t *b)
{
	char **r;

	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 16;
		void *rows = realloc(t->rows, cap * sizeof(*t->rows));

		if (!rows)
			return -1;
		t->rows = rows;
		t->cap = cap;
	}
	r = t->rows[t->n++];
	r[SERVICE] = strdup(name);
	r[VIP] = vips(svc);
	r[PORT] = ports(svc);
	r[BACKEND] = strdup(b && str(b, "id") ? str(b, "id") : "-");
	r[ADDRESS] = b ? address(b) : strdup("-");
	r[STATE] = strdup(b && str(b, "state") ? str(b, "state") : "-");
	r[WEIGHT] = b ? weight(b) : strdup("-");
	r[REASON] = strdup(b && str(b, "reason") ? str(b, "reason") : "");
	for (int i = 0; i < N_COLS; i++)
		if (!r[i])
			return -1;
	return 0;
}

/* One row per backend; a service without any gets one row of "-". */
static int service_rows(struct table *t, const char *name, const json_t *svc)
{
	const json_t *backends = json_object_get(svc, "backends"), *b;
	size_t i;

	if (!json_array_size(backends))
		return row_add(t, name, svc, NULL);
	json_array_foreach(backends, i, b)
		if (row_add(t, name, svc, b) < 0)
			return -1;
	return 0;
}

/* Columns as wide as their widest cell, two spaces apart; the last one
 * (REASON) unpadded, and no trailing blanks. */
static void line_print(char *const *cells, const size_t *width)
{
	int last = N_COLS - 1;

	while (last > 0 && !*cells[last])
		last--;
	for (int i = 0; i < last; i++)
		printf("%-*s  ", (int)width[i], cells[i]);
	printf("%s\n", cells[last]);
}

static void table_print(const struct table *t)
{
	size_t width[N_COLS];

	for (int i = 0; i < N_COLS; i++) {
		width[i] = strlen(heads[i]);
		for (size_t r = 0; r < t->n; r++)
			if (strlen(t->rows[r][i]) > width[i])
				width[i] = strlen(t->rows[r][i]);
	}
	line_print((char *const *)heads, width);
	for (size_t r = 0; r < t->n; r++)
		line_print(t->rows[r], width);
}

static void table_fini(struct table *t)
{
	for (size_t r = 0; r < t->n; r++)
		for (int i = 0; i < N_COLS; i++)
			free(t->rows[r][i]);
	free(t->rows);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Services by name, whatever order vipd wrote them in. */
static int table_fill(struct table *t, const json_t *services, const char *only)
{
	size_t n = json_object_size(services), i = 0;
	const char **names = calloc(n ? n : 1, sizeof(*names));
	const char *name;
	json_t *svc;
	int ret = names ? 0 : -1;

	json_object_foreach((json_t *)services, name, svc)
		if (names && (!only || !strcmp(name, only)))
			names[i++] = name;
	if (names)
		qsort(names, i, sizeof(*names), cmp_names);
	for (size_t k = 0; !ret && k < i; k++)
		ret = service_rows(t, names[k], json_object_get(services, names[k]));
	free(names);
	return ret;
}

/* What the operator must know before trusting the rows. */
static void banners(const json_t *doc, const char *vipd)
{
	const char *pending = str(doc, "pending_since");

	if (json_is_true(json_object_get(doc, "stale")))
		printf("vipd at %s: state is stale (programmed from the state cache; sources not read yet)\n",
		       vipd);
	if (pending)
		printf("vipd at %s: a change is pending since %s\n", vipd, pending);
}

static int show(const struct ctl *c, const json_t *doc, const char *only)
{
	const json_t *services = json_object_get(doc, "services");
	struct table t = { .n = 0 };
	int ret = CTL_OK;

	if (only && !json_object_get(services, only)) {
		fprintf(stderr, "vipctl: service \"%s\" is not known to vipd at %s\n", only, c->vipd);
		return CTL_FAIL;
	}
	if (c->json) {
		ctl_print_json(only ? json_object_get(services, only) : doc);
		return CTL_OK;
	}
	if (table_fill(&t, services, only) < 0) {
		fprintf(stderr, "vipctl: out of memory\n");
		ret = CTL_FAIL;
	} else {
		banners(doc, c->vipd);
		table_print(&t);
	}
	table_fini(&t);
	return ret;
}

int ctl_status(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = { { "json", no_argument, NULL, 'j' }, { 0 } };
	const char *only;
	json_t *doc;
	int opt, ret;

	if (ctl_wants_help(argc, argv))
		return ctl_usage(usage, true);
	optind = 0;	/* 0: glibc re-initialises getopt for a new vector */
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (opt != 'j') {
			fprintf(stderr, "vipctl: status: unknown option %s "
				"(see vipctl status --help)\n", argv[optind - 1]);
			return CTL_USAGE;
		}
		c->json = true;
	}
	if (argc - optind > 1)
		return ctl_usage(usage, false);
	only = optind < argc ? argv[optind] : NULL;
	if (only && !codec_name_valid(only)) {
		fprintf(stderr, "vipctl: service \"%s\": not a valid service name\n", only);
		return CTL_USAGE;
	}
	if (!(doc = status_load(c->vipd, only)))
		return CTL_FAIL;
	ret = show(c, doc, only);
	json_decref(doc);
	return ret;
}

/* The diff: a model change becomes the least element changes, and a plan
 * applied twice changes nothing the second time. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "codec.h"
#include "reconcile.h"
#include "rec_fixture.h"

static void put_svc(struct fixture *f, const char *name, const char *json)
{
	struct service *s;
	char err[CODEC_ERR_LEN];

	assert_int_equal(codec_service_parse_text(name, json, strlen(json), &s, err), 0);
	assert_int_equal(model_service_put(f->m, SRC_FILE, s), 0);
}

static void put_ep(struct fixture *f, const char *svc, const char *id, const char *json)
{
	struct endpoint *e;
	char err[CODEC_ERR_LEN];

	assert_int_equal(codec_endpoint_parse_text(id, json, strlen(json), &e, err), 0);
	assert_int_equal(model_endpoint_put(f->m, SRC_FILE, svc, e), 0);
}

/* Plans the dirty services; returns the number of changes of op. */
static size_t plan(struct fixture *f, bool full)
{
	struct name_list dirty;

	changes_free(&f->c);
	model_dirty_take(f->m, &dirty);
	assert_int_equal(rec_plan(f->rec, f->m, &dirty, full, &f->c), 0);
	model_names_free(&dirty);
	return f->c.n;
}

static size_t ops(const struct fixture *f, uint8_t op)
{
	size_t n = 0;

	for (size_t i = 0; i < f->c.n; i++)
		n += f->c.v[i].op == op;
	return n;
}

static const char *web = "{\"vip\":\"10.96.0.10\",\"ports\":[{\"name\":\"http\",\"port\":80,\"target_port\":8080}]}";

static void web3(struct fixture *f)
{
	put_svc(f, "web", web);
	put_ep(f, "web", "b1", "{\"ip\":\"10.0.0.1\"}");
	put_ep(f, "web", "b2", "{\"ip\":\"10.0.0.2\"}");
	put_ep(f, "web", "b3", "{\"ip\":\"10.0.0.3\"}");
}

static void cold_start(void **state)
{
	struct fixture *f = *state;

	web3(f);
	plan(f, true);
	assert_int_equal(ops(f, CH_CLASS_ADD), 1);
	assert_int_equal(ops(f, CH_BE_ADD), 3);
	assert_int_equal(ops(f, CH_SVC_ADD), 1);
	assert_int_equal(f->c.n, 5);
	for (size_t i = 0; i < f->c.n; i++)
		if (f->c.v[i].op == CH_BE_ADD) {
			assert_int_equal(f->c.v[i].be.port, 8080);
			assert_non_null(strstr(f->c.v[i].comment, "web/b"));
		}
	/* nothing changed: nothing to do, also in a full plan */
	assert_int_equal(plan(f, false), 0);
	assert_int_equal(plan(f, true), 0);
}

static void endpoint_moves(void **state)
{
	struct fixture *f = *state;

	web3(f);
	plan(f, true);
	put_ep(f, "web", "b2", "{\"ip\":\"10.0.0.9\"}");
	plan(f, false);
	/* one slot replaced: its old element out, the new one in */
	assert_int_equal(ops(f, CH_BE_DEL), 1);
	assert_int_equal(ops(f, CH_BE_ADD), 1);
	assert_int_equal(f->c.n, 2);
}

/* The change of op at slot, or NULL. */
static const struct change *at_slot(const struct fixture *f, uint8_t op, uint16_t slot)
{
	for (size_t i = 0; i < f->c.n; i++)
		if (f->c.v[i].op == op && f->c.v[i].slot == slot)
			return &f->c.v[i];
	return NULL;
}

static void one_of_many_changes(void **state)
{
	struct fixture *f = *state;
	const struct change *ch;
	char id[16], ip[32];

	put_svc(f, "web", web);
	for (int i = 0; i < 10; i++) {
		snprintf(id, sizeof(id), "e%d", i);
		snprintf(ip, sizeof(ip), "{\"ip\":\"10.0.0.%d\"}", i + 1);
		put_ep(f, "web", id, ip);
	}
	plan(f, true);
	/* the lowest address moves to the top: sorted order shifts, slots
	 * stay, so only e0's slot 0 is rewritten */
	put_ep(f, "web", "e0", "{\"ip\":\"10.0.0.99\"}");
	assert_int_equal(plan(f, false), 2);
	assert_non_null(at_slot(f, CH_BE_DEL, 0));
	assert_non_null(ch = at_slot(f, CH_BE_ADD, 0));
	assert_string_equal(ch->comment, "web/e0");
	assert_int_equal(ch->be.addr[3], 99);
	model_endpoint_del(f->m, SRC_FILE, "web", "e5");
	plan(f, false);
	/* 10 -> 9 slots: only the freed slot and the last one move; e9 leaves
	 * slot 9 for e5's slot 5, and the class chain is the 9-slot one */
	assert_int_equal(ops(f, CH_BE_DEL), 2);
	assert_non_null(at_slot(f, CH_BE_DEL, 5));
	assert_non_null(at_slot(f, CH_BE_DEL, 9));
	assert_int_equal(ops(f, CH_BE_ADD), 1);
	assert_non_null(ch = at_slot(f, CH_BE_ADD, 5));
	assert_string_equal(ch->comment, "web/e9");
	assert_int_equal(ops(f, CH_CLASS_ADD), 1);
	assert_int_equal(ops(f, CH_CLASS_DEL), 1);
	assert_int_equal(f->c.n, 7);
}

static void same_again_is_clean(void **state)
{
	struct fixture *f = *state;
	struct name_list dirty;

	web3(f);
	plan(f, true);
	/* a source re-reading everything puts equal objects: nothing is dirty */
	web3(f);
	model_dirty_take(f->m, &dirty);
	assert_int_equal(dirty.n, 0);
	model_names_free(&dirty);
	put_ep(f, "web", "b2", "{\"ip\":\"10.0.0.2\",\"weight\":5}");
	assert_true(model_dirty(f->m));
}

static void endpoint_leaves_and_returns(void **state)
{
	struct fixture *f = *state;

	web3(f);
	plan(f, true);
	model_endpoint_del(f->m, SRC_FILE, "web", "b3");
	plan(f, false);
	/* 3 -> 2 slots: new class chain, services element re-pointed, lb-3 gone */
	assert_int_equal(ops(f, CH_CLASS_ADD), 1);
	assert_int_equal(ops(f, CH_CLASS_DEL), 1);
	assert_int_equal(ops(f, CH_SVC_DEL), 1);
	assert_int_equal(ops(f, CH_SVC_ADD), 1);
	assert_int_equal(ops(f, CH_BE_DEL), 1);
	assert_int_equal(ops(f, CH_BE_ADD), 0);
	put_ep(f, "web", "b3", "{\"ip\":\"10.0.0.3\"}");
	plan(f, false);
	assert_int_equal(ops(f, CH_BE_ADD), 1);
	assert_int_equal(ops(f, CH_SVC_ADD), 1);
}

static void not_ready_and_empty(void **state)
{
	struct fixture *f = *state;

	put_svc(f, "web", web);
	put_ep(f, "web", "b1", "{\"ip\":\"10.0.0.1\",\"ready\":false}");
	plan(f, true);
	assert_int_equal(ops(f, CH_NOEP_ADD), 1);
	assert_int_equal(ops(f, CH_BE_ADD), 0);
	put_ep(f, "web", "b1", "{\"ip\":\"10.0.0.1\"}");
	plan(f, false);
	assert_int_equal(ops(f, CH_NOEP_DEL), 1);
	assert_int_equal(ops(f, CH_BE_ADD), 1);
	put_ep(f, "web", "b1", "{\"ip\":\"10.0.0.1\",\"terminating\":true}");
	plan(f, false);
	assert_int_equal(ops(f, CH_NOEP_ADD), 1);
	assert_int_equal(ops(f, CH_BE_DEL), 1);
	assert_int_equal(ops(f, CH_SVC_DEL), 1);
}

static void service_deleted(void **state)
{
	struct fixture *f = *state;

	web3(f);
	plan(f, true);
	model_service_del(f->m, SRC_FILE, "web");
	plan(f, false);
	assert_int_equal(ops(f, CH_BE_DEL), 3);
	assert_int_equal(ops(f, CH_SVC_DEL), 1);
	assert_int_equal(ops(f, CH_CLASS_DEL), 1);
	assert_int_equal(f->c.n, 5);
}

static void vip_conflict(void **state)
{
	struct fixture *f = *state;

	web3(f);
	plan(f, true);
	put_svc(f, "web2", web);
	put_ep(f, "web2", "x", "{\"ip\":\"10.0.0.7\"}");
	assert_int_equal(plan(f, false), 0);	/* refused: web holds the VIP */
	model_service_del(f->m, SRC_FILE, "web");
	plan(f, false);
	/* web2 takes the VIP over in the same plan */
	assert_int_equal(ops(f, CH_SVC_ADD), 1);
	assert_int_equal(ops(f, CH_BE_ADD), 1);
	for (size_t i = 0; i < f->c.n; i++)
		if (f->c.v[i].op == CH_SVC_ADD)
			assert_string_equal(f->c.v[i].comment, "web2:http");
}

static void weights_and_policy(void **state)
{
	struct fixture *f = *state;

	put_svc(f, "w", "{\"vip\":\"10.96.0.20\",\"ports\":[{\"port\":80}],\"traffic_policy\":\"local\"}");
	put_ep(f, "w", "a", "{\"ip\":\"10.0.0.1\",\"weight\":25,\"node\":\"node-a\"}");
	put_ep(f, "w", "b", "{\"ip\":\"10.0.0.2\",\"weight\":100,\"node\":\"node-a\"}");
	put_ep(f, "w", "c", "{\"ip\":\"10.0.0.3\",\"node\":\"node-b\"}");
	plan(f, true);
	assert_int_equal(ops(f, CH_BE_ADD), 5);	/* 1 + 4 slots; node-b's left out */
	for (size_t i = 0; i < f->c.n; i++)
		if (f->c.v[i].op == CH_BE_ADD)
			assert_int_not_equal(f->c.v[i].be.addr[3], 3);
}

static void dual_stack(void **state)
{
	struct fixture *f = *state;
	size_t v6 = 0;

	put_svc(f, "d", "{\"vip\":\"10.96.0.30\",\"vip6\":\"fd00::30\",\"ports\":[{\"port\":80},{\"port\":53,\"protocol\":\"udp\"}]}");
	put_ep(f, "d", "v4", "{\"ip\":\"10.0.0.1\"}");
	put_ep(f, "d", "v6", "{\"ip\":\"fd01::1\"}");
	plan(f, true);
	assert_int_equal(ops(f, CH_SVC_ADD), 4);
	assert_int_equal(ops(f, CH_BE_ADD), 4);
	/* each family's frontends get that family's backend, on both ports */
	for (size_t i = 0; i < f->c.n; i++)
		if (f->c.v[i].op == CH_BE_ADD && f->c.v[i].fe.family == AF_INET6) {
			assert_int_equal(f->c.v[i].be.addr[0], 0xfd);
			v6++;
		} else if (f->c.v[i].op == CH_BE_ADD) {
			assert_int_equal(f->c.v[i].be.addr[0], 10);
		}
	assert_int_equal(v6, 2);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(cold_start), T(endpoint_moves), T(one_of_many_changes), T(same_again_is_clean),
		T(endpoint_leaves_and_returns),
		T(not_ready_and_empty), T(service_deleted), T(vip_conflict),
		T(weights_and_policy), T(dual_stack),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

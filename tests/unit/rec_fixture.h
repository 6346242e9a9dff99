/* rec_fixture.h: a model and a reconciler of node "node-a", and the changes
 * a plan gave, for the planner's unit tests (cmocka setup/teardown). */
#ifndef VIPD_TEST_REC_FIXTURE_H
#define VIPD_TEST_REC_FIXTURE_H

#include <stdlib.h>

#include "model.h"
#include "reconcile.h"

struct fixture {
	struct model *m;
	struct reconciler *rec;
	struct changes c;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->m = model_alloc();
	f->rec = rec_alloc("node-a");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	changes_free(&f->c);
	rec_free(f->rec);
	model_free(f->m);
	free(f);
	return 0;
}

#endif

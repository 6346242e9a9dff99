/* Endpoints by state, kept per service as bs_update decides them, so that
 * /metrics adds up a few totals instead of visiting every endpoint (at
 * 10,000 services x 10 that visit was ~5 ms of the loop per scrape). */
#include <stdlib.h>
#include <string.h>

#include "bstate_internal.h"
#include "hmap.h"

struct svc_count {
	uint32_t n[BS_MAX];
};

/* Counts name's endpoints again (none when the service is gone) and moves
 * the totals by the difference. Out of memory, the service is left out of
 * the totals rather than counted wrong. */
void bs_count_service(struct bstate *bs, const char *name)
{
	struct svc_count now = { { 0 } }, *old = hmap_get_str(bs->counts, name);
	struct endpoint *const *eps;
	size_t n = model_service_get(bs->model, name) ? model_endpoints_get(bs->model, name, &eps) : 0;

	for (size_t i = 0; i < n; i++)
		if (eps[i]->bs_state)
			now.n[eps[i]->bs_state - 1]++;
	for (int s = 0; s < BS_MAX; s++)
		bs->totals[s] += (uint64_t)now.n[s] - (old ? old->n[s] : 0);
	if (old && !n) {
		free(hmap_del_str(bs->counts, name));
		return;
	}
	if (!old && n && (!(old = malloc(sizeof(*old))) || hmap_put_str(bs->counts, name, old) < 0)) {
		for (int s = 0; s < BS_MAX; s++)
			bs->totals[s] -= now.n[s];
		free(old);
		return;
	}
	if (old)
		*old = now;
}

/* After a full update: services the model no longer has. */
void bs_count_sweep(struct bstate *bs)
{
	const void *key;
	size_t len;
	char name[256];

	for (size_t it = 0; hmap_next(bs->counts, &it, &key, &len, NULL);) {
		if (len >= sizeof(name))
			continue;
		memcpy(name, key, len);
		name[len] = '\0';
		if (!model_service_get(bs->model, name))
			bs_count_service(bs, name);	/* deletes: allowed while iterating */
	}
}

void bs_state_counts(const struct bstate *bs, uint64_t out[BS_MAX])
{
	memcpy(out, bs->totals, sizeof(bs->totals));
}

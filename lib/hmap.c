/* Open addressing with linear probing and tombstones. Deletion leaves a
 * tombstone instead of moving entries, which is what keeps iteration valid
 * while entries are deleted. Tombstones are dropped when the table grows. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "hmap.h"

struct slot {
	uint64_t hash;
	void *key;		/* NULL: empty; TOMBSTONE: deleted */
	size_t len;
	void *value;
};

struct hmap {
	struct slot *slots;
	size_t cap;		/* power of two */
	size_t used;		/* live + tombstones */
	size_t live;
};

static char tombstone_mark;
#define TOMBSTONE ((void *)&tombstone_mark)

/* A final mix so that keys differing in the last bytes (slot numbers,
 * ports) still spread over the low bits used for indexing. */
static uint64_t hash_key(const void *key, size_t len)
{
	uint64_t h = hash_bytes(key, len);

	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

struct hmap *hmap_alloc(void)
{
	return calloc(1, sizeof(struct hmap));
}

void hmap_free(struct hmap *map, void (*free_value)(void *))
{
	if (!map)
		return;
	for (size_t i = 0; i < map->cap; i++) {
		struct slot *s = &map->slots[i];

		if (!s->key || s->key == TOMBSTONE)
			continue;
		free(s->key);
		if (free_value)
			free_value(s->value);
	}
	free(map->slots);
	free(map);
}

static struct slot *find(const struct hmap *map, const void *key, size_t len,
			 uint64_t hash)
{
	if (!map->cap)
		return NULL;
	for (size_t i = hash & (map->cap - 1);; i = (i + 1) & (map->cap - 1)) {
		struct slot *s = &map->slots[i];

		if (!s->key)
			return NULL;
		if (s->key != TOMBSTONE && s->hash == hash && s->len == len &&
		    !memcmp(s->key, key, len))
			return s;
	}
}

static int grow(struct hmap *map)
{
	size_t cap = map->cap ? map->cap * 2 : 16;
	struct slot *slots;

	/* Only tombstones filled the table: rehash at the same size. */
	if (map->live * 2 < map->cap)
		cap = map->cap;
	slots = calloc(cap, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < map->cap; i++) {
		struct slot *s = &map->slots[i];
		size_t j;

		if (!s->key || s->key == TOMBSTONE)
			continue;
		for (j = s->hash & (cap - 1); slots[j].key; j = (j + 1) & (cap - 1))
			;
		slots[j] = *s;
	}
	free(map->slots);
	map->slots = slots;
	map->cap = cap;
	map->used = map->live;
	return 0;
}

void *hmap_get(const struct hmap *map, const void *key, size_t len)
{
	struct slot *s = find(map, key, len, hash_key(key, len));

	return s ? s->value : NULL;
}

int hmap_put(struct hmap *map, const void *key, size_t len, void *value)
{
	uint64_t hash = hash_key(key, len);
	struct slot *s = find(map, key, len, hash);
	void *copy;
	size_t i;

	if (s) {
		s->value = value;
		return 0;
	}
	if ((map->used + 1) * 4 > map->cap * 3 && grow(map) < 0)
		return -ENOMEM;
	for (i = hash & (map->cap - 1); map->slots[i].key &&
	     map->slots[i].key != TOMBSTONE; i = (i + 1) & (map->cap - 1))
		;
	s = &map->slots[i];
	/* Allocated aside: a tombstone overwritten by NULL would cut the probe
	 * chains that run through it, losing keys stored after it. */
	copy = malloc(len ? len : 1);
	if (!copy)
		return -ENOMEM;
	if (!s->key)
		map->used++;
	s->key = copy;
	memcpy(s->key, key, len);
	s->len = len;
	s->hash = hash;
	s->value = value;
	map->live++;
	return 0;
}

void *hmap_del(struct hmap *map, const void *key, size_t len)
{
	struct slot *s = find(map, key, len, hash_key(key, len));
	void *value;

	if (!s)
		return NULL;
	value = s->value;
	free(s->key);
	s->key = TOMBSTONE;
	s->value = NULL;
	map->live--;
	return value;
}

size_t hmap_count(const struct hmap *map)
{
	return map->live;
}

bool hmap_next(const struct hmap *map, size_t *it, const void **key,
	       size_t *len, void **value)
{
	for (; *it < map->cap; (*it)++) {
		struct slot *s = &map->slots[*it];

		if (!s->key || s->key == TOMBSTONE)
			continue;
		if (key)
			*key = s->key;
		if (len)
			*len = s->len;
		if (value)
			*value = s->value;
		(*it)++;
		return true;
	}
	return false;
}

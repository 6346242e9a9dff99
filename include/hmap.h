/* hmap.h: a hash map from byte strings to pointers.
 *
 * The map copies keys and borrows values: the caller owns what it stores and
 * frees it (hmap_free takes a destructor for what is left). Deleting during
 * iteration is allowed; inserting is not.
 */
#ifndef VIPD_HMAP_H
#define VIPD_HMAP_H

#include <stdbool.h>
#include <stddef.h>

struct hmap;

struct hmap *hmap_alloc(void);
void hmap_free(struct hmap *map, void (*free_value)(void *));

void *hmap_get(const struct hmap *map, const void *key, size_t len);
/* Returns 0, or -ENOMEM. Replaces (without freeing) a value under the key. */
int hmap_put(struct hmap *map, const void *key, size_t len, void *value);
/* Returns the value that was stored, or NULL. */
void *hmap_del(struct hmap *map, const void *key, size_t len);
size_t hmap_count(const struct hmap *map);

/* for (size_t it = 0; hmap_next(map, &it, &key, &len, &value);) */
bool hmap_next(const struct hmap *map, size_t *it, const void **key,
	       size_t *len, void **value);

static inline void *hmap_get_str(const struct hmap *map, const char *s);
static inline int hmap_put_str(struct hmap *map, const char *s, void *value);
static inline void *hmap_del_str(struct hmap *map, const char *s);

#include <string.h>
static inline void *hmap_get_str(const struct hmap *map, const char *s)
{
	return hmap_get(map, s, strlen(s));
}
static inline int hmap_put_str(struct hmap *map, const char *s, void *value)
{
	return hmap_put(map, s, strlen(s), value);
}
static inline void *hmap_del_str(struct hmap *map, const char *s)
{
	return hmap_del(map, s, strlen(s));
}

#endif

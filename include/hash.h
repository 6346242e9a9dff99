/* hash.h: the one byte-string hash (FNV-1a, 64 bits). Its values are part
 * of what nodes agree on (maglev tables are built from backend hashes), so
 * it must never change. */
#ifndef VIPD_HASH_H
#define VIPD_HASH_H

#include <stddef.h>
#include <stdint.h>

uint64_t hash_bytes(const void *data, size_t len);

#endif

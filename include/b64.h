/* b64.h: base64 (RFC 4648, padded), as etcd's JSON gateway encodes bytes. */
#ifndef VIPD_B64_H
#define VIPD_B64_H

#include <stddef.h>

/* Returns a malloc'd, NUL-terminated string, or NULL. */
char *b64_encode(const void *data, size_t len);
/* Returns malloc'd bytes plus a NUL (so text can be used as a string), or
 * NULL on bad input; *out_len is the decoded length. */
char *b64_decode(const char *text, size_t *out_len);

#endif

/* jscan.h: the members of one JSON object, one at a time, without building
 * the object: each member's key (unescaped) and the text of its value, for
 * the caller to parse alone. For documents far larger than any one member
 * (a services file of 250,000 endpoints), whose tree costs ~18 times the
 * text. */
#ifndef VIPD_JSCAN_H
#define VIPD_JSCAN_H

#include <stddef.h>

/* key: NUL-terminated, borrowed for the call; value: its text, framed
 * (brackets and strings balanced), not yet checked. Non-zero stops. */
typedef int (*jscan_cb)(const char *key, const char *value, size_t len, void *arg);

/* text[0..len) must be one object, blanks around it allowed. Returns 0,
 * the first non-zero return of cb, -EINVAL with *where at the first byte
 * that breaks the framing, or -ENOMEM. */
int jscan_object(const char *text, size_t len, jscan_cb cb, void *arg, size_t *where);

#endif

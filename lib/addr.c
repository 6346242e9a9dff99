#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "addr.h"

int addr_parse(struct vaddr *out, const char *text)
{
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, text, out->bytes) == 1) {
		out->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, text, out->bytes) == 1) {
		out->family = AF_INET6;
		return 0;
	}
	return -EINVAL;
}

const char *addr_format(const struct vaddr *a, char buf[ADDR_STRLEN])
{
	if (!a->family || !inet_ntop(a->family, a->bytes, buf, ADDR_STRLEN))
		strcpy(buf, "?");
	return buf;
}

bool addr_equal(const struct vaddr *a, const struct vaddr *b)
{
	return a->family == b->family &&
	       !memcmp(a->bytes, b->bytes, addr_len(a->family));
}

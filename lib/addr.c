#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

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

int cidr_parse(struct cidr *out, const char *text)
{
	char buf[ADDR_STRLEN], *end;
	const char *slash = strchr(text, '/');
	size_t alen = slash ? (size_t)(slash - text) : strlen(text);
	unsigned long len;
	unsigned max;

	memset(out, 0, sizeof(*out));
	if (alen >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, text, alen);
	buf[alen] = '\0';
	if (addr_parse(&out->addr, buf) < 0)
		return -EINVAL;
	max = out->addr.family == AF_INET6 ? 128 : 32;
	len = max;
	if (slash) {
		/* digits only: no sign, space or empty length */
		if (slash[1] < '0' || slash[1] > '9')
			return -EINVAL;
		len = strtoul(slash + 1, &end, 10);
		if (*end || len > max || (slash[1] == '0' && slash[2]))
			return -EINVAL;
	}
	out->len = (uint8_t)len;
	for (unsigned bit = out->len; bit < max; bit++)
		if (out->addr.bytes[bit / 8] & (0x80 >> (bit % 8)))
			return -EINVAL;
	return 0;
}

const char *cidr_format(const struct cidr *c, char *buf)
{
	char a[ADDR_STRLEN];

	snprintf(buf, CIDR_STRLEN, "%s/%u", addr_format(&c->addr, a), c->len);
	return buf;
}

unsigned addr_sockaddr(const struct vaddr *a, uint16_t port, struct sockaddr_storage *out)
{
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)out;
	struct sockaddr_in *s4 = (struct sockaddr_in *)out;

	memset(out, 0, sizeof(*out));
	if (a->family == AF_INET6) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		memcpy(&s6->sin6_addr, a->bytes, 16);
		return sizeof(*s6);
	}
	if (a->family != AF_INET)
		return 0;
	s4->sin_family = AF_INET;
	s4->sin_port = htons(port);
	memcpy(&s4->sin_addr, a->bytes, 4);
	return sizeof(*s4);
}

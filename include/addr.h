/* addr.h: IPv4/IPv6 addresses as the datapath stores them. */
#ifndef VIPD_ADDR_H
#define VIPD_ADDR_H

#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>

/* Longest text form, with room for the terminator. */
#define ADDR_STRLEN INET6_ADDRSTRLEN

struct vaddr {
	uint8_t family;		/* AF_INET, AF_INET6; 0 when unset */
	uint8_t bytes[16];	/* network order; IPv4 uses the first 4 */
};

/* Returns 0, or -EINVAL when text is no plain IPv4 or IPv6 address. */
int addr_parse(struct vaddr *out, const char *text);
const char *addr_format(const struct vaddr *a, char buf[ADDR_STRLEN]);
static inline unsigned addr_len(uint8_t family)
{
	return family == AF_INET6 ? 16 : 4;
}
bool addr_equal(const struct vaddr *a, const struct vaddr *b);
/* a and port (host order) as a socket address; returns its length (0:
 * a has no family). */
struct sockaddr_storage;
unsigned addr_sockaddr(const struct vaddr *a, uint16_t port, struct sockaddr_storage *out);

/* An address range: addr/len with the host bits zero. */
struct cidr {
	struct vaddr addr;
	uint8_t len;		/* 0..32, 0..128 */
};
/* "10.0.0.0/8", "fd00::/64", or a plain address (a /32 or /128). Returns 0,
 * or -EINVAL for a malformed text or host bits set (10.0.0.1/8). */
int cidr_parse(struct cidr *out, const char *text);
/* "10.0.0.0/8" into buf (ADDR_STRLEN + 4 bytes). */
const char *cidr_format(const struct cidr *c, char *buf);
#define CIDR_STRLEN (ADDR_STRLEN + 4)

#endif

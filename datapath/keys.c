/* Key and data layouts of vipd's sets: concatenations padded to 32-bit
 * registers (see nft.h). */
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>

#include "addr.h"
#include "nft.h"

unsigned fe_key_len(uint8_t family) { return addr_len(family) + 8; }
unsigned be_key_len(uint8_t family) { return addr_len(family) + 12; }
unsigned be_data_len(uint8_t family) { return addr_len(family) + 4; }

void fe_key_pack(const struct fe_key *k, uint8_t *buf)
{
	unsigned a = addr_len(k->family);
	uint16_t port = htons(k->port);

	memset(buf, 0, fe_key_len(k->family));
	memcpy(buf, k->addr, a);
	buf[a] = k->proto;
	memcpy(buf + a + 4, &port, 2);
}

void be_key_pack(const struct fe_key *k, uint16_t slot, uint8_t *buf)
{
	uint32_t s = slot;

	fe_key_pack(k, buf);
	memcpy(buf + fe_key_len(k->family), &s, 4);
}

void be_data_pack(uint8_t family, const struct be_addr *be, uint8_t *buf)
{
	uint16_t port = htons(be->port);

	memset(buf, 0, be_data_len(family));
	memcpy(buf, be->addr, addr_len(family));
	memcpy(buf + addr_len(family), &port, 2);
}

int fe_key_unpack(uint8_t family, const void *buf, uint32_t len, struct fe_key *k)
{
	const uint8_t *b = buf;
	unsigned a = addr_len(family);
	uint16_t port;

	if (len < fe_key_len(family))
		return -EINVAL;
	memset(k, 0, sizeof(*k));
	k->family = family;
	memcpy(k->addr, b, a);
	k->proto = b[a];
	memcpy(&port, b + a + 4, 2);
	k->port = ntohs(port);
	return 0;
}

int be_key_unpack(uint8_t family, const void *buf, uint32_t len,
		  struct fe_key *k, uint16_t *slot)
{
	uint32_t s;

	if (len != be_key_len(family) || fe_key_unpack(family, buf, len, k) < 0)
		return -EINVAL;
	memcpy(&s, (const uint8_t *)buf + fe_key_len(family), 4);
	if (s > UINT16_MAX)
		return -EINVAL;
	*slot = (uint16_t)s;
	return 0;
}

int be_data_unpack(uint8_t family, const void *buf, uint32_t len,
		   struct be_addr *be)
{
	uint16_t port;

	if (len != be_data_len(family))
		return -EINVAL;
	memset(be, 0, sizeof(*be));
	memcpy(be->addr, buf, addr_len(family));
	memcpy(&port, (const uint8_t *)buf + addr_len(family), 2);
	be->port = ntohs(port);
	return 0;
}


unsigned np_key_pack(const struct fe_key *k, uint16_t slot, bool with_slot, uint8_t *buf)
{
	uint16_t port = htons(k->port);
	uint32_t s = slot;

	memset(buf, 0, 12);
	buf[0] = k->proto;
	memcpy(buf + 4, &port, 2);
	if (with_slot)
		memcpy(buf + 8, &s, 4);
	return with_slot ? 12 : 8;
}

int np_key_unpack(uint8_t family, const void *buf, uint32_t len, bool with_slot,
		  struct fe_key *k, uint16_t *slot)
{
	const uint8_t *b = buf;
	uint16_t port;
	uint32_t s = 0;

	if (len != (with_slot ? 12u : 8u))
		return -EINVAL;
	memset(k, 0, sizeof(*k));
	k->family = family;
	k->kind = FE_NODEPORT;
	k->proto = b[0];
	memcpy(&port, b + 4, 2);
	k->port = ntohs(port);
	if (with_slot)
		memcpy(&s, b + 8, 4);
	if (s > UINT16_MAX)
		return -EINVAL;
	if (slot)
		*slot = (uint16_t)s;
	return 0;
}

/* ---- source_ranges: firewall-allow keys ---- */

unsigned fw_key_len(uint8_t family) { return fe_key_len(family) + addr_len(family); }

unsigned fw_key_pack(const struct fe_key *k, const uint8_t *src, uint8_t *buf)
{
	fe_key_pack(k, buf);
	memcpy(buf + fe_key_len(k->family), src, addr_len(k->family));
	return fw_key_len(k->family);
}

int fw_key_unpack(uint8_t family, const void *buf, uint32_t len, struct fe_key *k,
		  uint8_t *src)
{
	if (len != fw_key_len(family) || fe_key_unpack(family, buf, len, k) < 0)
		return -EINVAL;
	memset(src, 0, 16);
	memcpy(src, (const uint8_t *)buf + fe_key_len(family), addr_len(family));
	return 0;
}

void fw_src_last(uint8_t family, const struct fw_src *s, uint8_t *last)
{
	unsigned a = addr_len(family);

	memset(last, 0, 16);
	memcpy(last, s->addr, a);
	if (s->len == FW_SRC_POINT)
		return;
	for (unsigned bit = s->len; bit < a * 8; bit++)
		last[bit / 8] |= (uint8_t)(0x80 >> (bit % 8));
}

void fw_src_of(uint8_t family, const uint8_t *from, const uint8_t *to, struct fw_src *out)
{
	unsigned a = addr_len(family);
	uint8_t last[16];

	memset(out, 0, sizeof(*out));
	memcpy(out->addr, from, a);
	/* the shortest prefix whose range is exactly from..to, if any */
	for (unsigned len = 0; len <= a * 8; len++) {
		bool aligned = true;

		for (unsigned bit = len; bit < a * 8 && aligned; bit++)
			aligned = !(from[bit / 8] & (0x80 >> (bit % 8)));
		if (!aligned)
			continue;
		out->len = (uint8_t)len;
		fw_src_last(family, out, last);
		if (!memcmp(last, to, a))
			return;
	}
	out->len = FW_SRC_POINT;
}

/* libFuzzer target: any bytes as a service and as an endpoint JSON value
 * (what etcd and the services file hand to the codec). Must never crash,
 * leak, or accept an object that breaks the model's invariants. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* At most 16, each once, a set family, never a VIP; the text form parses
 * back to the same address. */
static void external_check(const struct service *svc)
{
	char buf[ADDR_STRLEN];

	if (svc->n_external > 16 || (svc->n_external && !svc->external_ips))
		abort();
	for (unsigned i = 0; i < svc->n_external; i++) {
		const struct vaddr *a = &svc->external_ips[i];
		struct vaddr back;

		if ((a->family != AF_INET && a->family != AF_INET6) ||
		    addr_equal(a, &svc->vip4) || addr_equal(a, &svc->vip6))
			abort();
		if (addr_parse(&back, addr_format(a, buf)) < 0 ||
		    memcmp(&back, a, sizeof(back)))
			abort();
		for (unsigned j = 0; j < i; j++)
			if (addr_equal(a, &svc->external_ips[j]))
				abort();
	}
}

/* At most 64, each once, host bits zero: cidr_format parses back to the
 * same range, byte for byte (what service_equal compares). */
static void ranges_check(const struct service *svc)
{
	char buf[CIDR_STRLEN];

	if (svc->n_ranges > 64 || (svc->n_ranges && !svc->source_ranges))
		abort();
	for (unsigned i = 0; i < svc->n_ranges; i++) {
		const struct cidr *c = &svc->source_ranges[i];
		struct cidr back;

		if (c->len > (c->addr.family == AF_INET6 ? 128 : 32) ||
		    cidr_parse(&back, cidr_format(c, buf)) < 0 || memcmp(&back, c, sizeof(back)))
			abort();
		for (unsigned j = 0; j < i; j++)
			if (!memcmp(c, &svc->source_ranges[j], sizeof(*c)))
				abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[CODEC_ERR_LEN];
	struct service *svc = NULL;
	struct endpoint *ep = NULL;

	if (codec_service_parse_text("fuzz", (const char *)data, size, &svc, err) == 0) {
		if (!svc->n_ports || (!svc->vip4.family && !svc->vip6.family))
			abort();
		for (unsigned i = 0; i < svc->n_ports; i++) {
			const struct svc_port *p = &svc->ports[i];

			if (!p->port)
				abort();
			for (unsigned j = 0; j < i; j++)
				if (p->node_port && p->node_port == svc->ports[j].node_port &&
				    p->proto == svc->ports[j].proto)
					abort();
		}
		external_check(svc);
		ranges_check(svc);
		service_free(svc);
	}
	if (codec_endpoint_parse_text("fuzz", (const char *)data, size, &ep, err) == 0) {
		if (ep->weight < WEIGHT_MIN || ep->weight > WEIGHT_MAX || !ep->ip.family)
			abort();
		endpoint_free(ep);
	}
	return 0;
}

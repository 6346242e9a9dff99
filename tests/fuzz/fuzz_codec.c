/* libFuzzer target: any bytes as a service and as an endpoint JSON value
 * (what etcd and the services file hand to the codec). Must never crash,
 * leak, or accept an object that breaks the model's invariants. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[CODEC_ERR_LEN];
	struct service *svc = NULL;
	struct endpoint *ep = NULL;

	if (codec_service_parse_text("fuzz", (const char *)data, size, &svc, err) == 0) {
		if (!svc->n_ports || (!svc->vip4.family && !svc->vip6.family))
			abort();
		for (unsigned i = 0; i < svc->n_ports; i++)
			if (!svc->ports[i].port)
				abort();
		service_free(svc);
	}
	if (codec_endpoint_parse_text("fuzz", (const char *)data, size, &ep, err) == 0) {
		if (ep->weight < WEIGHT_MIN || ep->weight > WEIGHT_MAX || !ep->ip.family)
			abort();
		endpoint_free(ep);
	}
	return 0;
}

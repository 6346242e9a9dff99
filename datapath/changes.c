#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "datapath.h"

int changes_push(struct changes *c, const struct change *ch, const char *comment)
{
	struct change *v;

	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;

		v = realloc(c->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		c->v = v;
		c->cap = cap;
	}
	v = &c->v[c->n];
	*v = *ch;
	v->comment = NULL;
	if (comment && !(v->comment = strdup(comment)))
		return -ENOMEM;
	c->n++;
	return 0;
}

void changes_free(struct changes *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->v[i].comment);
	free(c->v);
	memset(c, 0, sizeof(*c));
}

static const char class_prefix[][3] = {
	[CLASS_LB] = "lb", [CLASS_RR] = "rr", [CLASS_SH] = "sh",
};

int class_chain_name(const struct class_key *cls, char *buf, size_t len)
{
	if (cls->kind > CLASS_SH || !cls->n)
		return -EINVAL;
	snprintf(buf, len, "%s-%u", class_prefix[cls->kind], cls->n);
	return 0;
}

bool class_chain_parse(const char *name, uint8_t family, struct class_key *out)
{
	for (uint8_t k = 0; k <= CLASS_SH; k++) {
		char *end;
		unsigned long n;

		if (strncmp(name, class_prefix[k], 2) || name[2] != '-')
			continue;
		n = strtoul(name + 3, &end, 10);
		if (*end || n == 0 || n > UINT16_MAX || name[3] == '0')
			return false;
		out->family = family;
		out->kind = k;
		out->n = (uint16_t)n;
		return true;
	}
	return false;
}

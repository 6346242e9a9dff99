#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "datapath.h"
#include "hash.h"

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

void dp_comment_fit(char *comment)
{
	size_t len = strlen(comment);

	if (len <= DP_COMMENT_MAX)
		return;
	snprintf(comment + DP_COMMENT_MAX - 9, 10, "~%08x",
		 (uint32_t)hash_bytes(comment, len));
}

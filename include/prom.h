/* prom.h: Prometheus text format 0.0.4, written to a stdio stream: a
 * histogram type and the few lines every metric needs. */
#ifndef VIPD_PROM_H
#define VIPD_PROM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Buckets in seconds that resolve milliseconds and still reach a minute:
 * 0.5 ms .. 60 s. */
#define PROM_MS_BUCKETS	16
extern const double prom_ms_buckets[PROM_MS_BUCKETS];

struct prom_hist {
	uint64_t counts[PROM_MS_BUCKETS];	/* not cumulative; +Inf is count */
	uint64_t count;
	double sum;
};

void prom_observe(struct prom_hist *h, double seconds);

/* "# HELP name help\n# TYPE name type\n" */
void prom_head(FILE *f, const char *name, const char *type, const char *help);
/* One histogram's _bucket, _sum and _count lines; labels is "" or
 * `kind="full"` (no braces), and must need no escaping. */
void prom_hist_write(FILE *f, const char *name, const char *labels, const struct prom_hist *h);
/* A label value with \, " and newline escaped. */
void prom_label_value(FILE *f, const char *v);

#endif

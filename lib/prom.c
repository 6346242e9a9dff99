#include "prom.h"

const double prom_ms_buckets[PROM_MS_BUCKETS] = {
	0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1,
	0.2, 0.5, 1, 2, 5, 10, 30, 60,
};

void prom_observe(struct prom_hist *h, double seconds)
{
	for (size_t i = 0; i < PROM_MS_BUCKETS; i++)
		if (seconds <= prom_ms_buckets[i]) {
			h->counts[i]++;
			break;
		}
	h->count++;
	h->sum += seconds;
}

void prom_head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void prom_hist_write(FILE *f, const char *name, const char *labels, const struct prom_hist *h)
{
	const char *sep = *labels ? "," : "";
	uint64_t cum = 0;

	for (size_t i = 0; i < PROM_MS_BUCKETS; i++) {
		cum += h->counts[i];
		fprintf(f, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep, prom_ms_buckets[i],
			(unsigned long long)cum);
	}
	fprintf(f, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep,
		(unsigned long long)h->count);
	fprintf(f, *labels ? "%s_sum{%s} %.9g\n" : "%s_sum%s %.9g\n", name, labels, h->sum);
	fprintf(f, *labels ? "%s_count{%s} %llu\n" : "%s_count%s %llu\n", name, labels,
		(unsigned long long)h->count);
}

void prom_label_value(FILE *f, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fprintf(f, "\\%c", *v);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

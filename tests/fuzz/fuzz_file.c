/* libFuzzer target: any bytes as a whole services file, read through the
 * file source into a model, then planned into kernel changes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "datapath.h"
#include "log.h"
#include "model.h"
#include "reconcile.h"
#include "source.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[] = "/tmp/vipd-fuzz-XXXXXX";
	int fd = mkstemp(path);
	struct file_source_conf conf = { .path = path };
	struct model *m = model_alloc();
	struct reconciler *rec = rec_alloc(NULL);
	struct source src = { .ops = &source_file_ops, .model = m, .conf.file = &conf };
	struct changes c = { 0 };

	vlog_threshold = VLOG_ERR - 1;	/* quiet: refusals are expected */
	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);
	if (src.ops->start(&src) == 0 && rec_plan(rec, m, NULL, true, &c) < 0)
		abort();
	src.ops->stop(&src);
	unlink(path);
	changes_free(&c);
	rec_free(rec);
	model_free(m);
	return 0;
}

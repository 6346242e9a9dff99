/* Reading a services file whole, bounded: for vipd's file source and for
 * vipctl check alike (include/codec.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "codec.h"

int codec_file_load(const char *path, size_t max, json_t **root, char err[CODEC_ERR_LEN])
{
	json_error_t jerr;
	struct stat st;
	FILE *f = fopen(path, "re");
	int ret = 0;

	*root = NULL;
	if (!f) {
		ret = -errno;
		snprintf(err, CODEC_ERR_LEN, "%s", strerror(errno));
		return ret;
	}
	if (fstat(fileno(f), &st) < 0) {
		ret = -errno;
		snprintf(err, CODEC_ERR_LEN, "%s", strerror(errno));
	} else if (!S_ISREG(st.st_mode)) {
		ret = -EINVAL;
		snprintf(err, CODEC_ERR_LEN, "%s, not a file",
			 S_ISDIR(st.st_mode) ? "a directory" : "a special file");
	} else if (max && (size_t)st.st_size > max) {
		ret = -EFBIG;
		snprintf(err, CODEC_ERR_LEN, "%lld bytes: over the limit of %zu (--services-file-max)",
			 (long long)st.st_size, max);
	} else if (!(*root = json_loadf(f, JSON_REJECT_DUPLICATES, &jerr))) {
		ret = -EINVAL;
		if (jerr.line > 0)
			snprintf(err, CODEC_ERR_LEN, "line %d column %d: %s", jerr.line,
				 jerr.column, jerr.text);
		else
			snprintf(err, CODEC_ERR_LEN, "%s", jerr.text);
	}
	fclose(f);
	return ret;
}

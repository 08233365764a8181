/*
 * Replays files through a fuzz target without libFuzzer, so that every
 * corpus entry stays a regression test in a plain `make check`.
 * Usage: run_X FILE|DIR...  (directories: every regular file in them, in
 * name order).  Exit 0 when every input ran; a bug aborts in the target.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz/fuzz.h"

#define INPUT_MAX (1024 * 1024) /* far above any corpus entry */

/* Run one file through the target.  0, or -1 (message printed). */
static int
run_file(const char *path, unsigned long *count)
{
	FILE *f = NULL;
	uint8_t *buf = NULL, *exact = NULL;
	size_t n;
	int r = -1;

	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		goto out;
	}
	if ((buf = malloc(INPUT_MAX + 1)) == NULL) {
		fprintf(stderr, "%s: out of memory\n", path);
		goto out;
	}
	n = fread(buf, 1, INPUT_MAX + 1, f);
	if (ferror(f)) {
		fprintf(stderr, "%s: read error\n", path);
		goto out;
	}
	if (n > INPUT_MAX) {
		fprintf(stderr, "%s: larger than %d bytes; keep corpus entries small\n", path,
			INPUT_MAX);
		goto out;
	}
	/* An exact-size copy, so ASan sees reads past the end of the input. */
	if ((exact = malloc(n > 0 ? n : 1)) == NULL) {
		fprintf(stderr, "%s: out of memory\n", path);
		goto out;
	}
	if (n > 0)
		memcpy(exact, buf, n);
	(void)LLVMFuzzerTestOneInput(exact, n);
	(*count)++;
	r = 0;
out:
	free(exact);
	free(buf);
	if (f != NULL)
		fclose(f);
	return r;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file of a directory, in name order. */
static int
run_dir(const char *dir, unsigned long *count)
{
	DIR *d = NULL;
	struct dirent *e;
	struct stat sb;
	char **names = NULL, **grown, *path = NULL;
	size_t n = 0, cap = 0, i;
	int r = -1;

	if ((d = opendir(dir)) == NULL) {
		fprintf(stderr, "%s: %s\n", dir, strerror(errno));
		goto out;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap > 0 ? 2 * cap : 64;
			if ((grown = realloc(names, cap * sizeof(*names))) == NULL)
				goto nomem;
			names = grown;
		}
		if ((names[n] = strdup(e->d_name)) == NULL)
			goto nomem;
		n++;
	}
	if (n > 0)
		qsort(names, n, sizeof(*names), name_cmp);
	for (i = 0; i < n; i++) {
		size_t len = strlen(dir) + strlen(names[i]) + 2;

		free(path);
		if ((path = malloc(len)) == NULL)
			goto nomem;
		snprintf(path, len, "%s/%s", dir, names[i]);
		if (stat(path, &sb) != 0) {
			fprintf(stderr, "%s: %s\n", path, strerror(errno));
			goto out;
		}
		if (S_ISREG(sb.st_mode) && run_file(path, count) != 0)
			goto out;
	}
	r = 0;
	goto out;
nomem:
	fprintf(stderr, "%s: out of memory\n", dir);
out:
	free(path);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (d != NULL)
		closedir(d);
	return r;
}

int
main(int argc, char **argv)
{
	unsigned long count = 0;
	struct stat sb;
	int i;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return 2;
	}
	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &sb) != 0) {
			fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
			return 1;
		}
		if ((S_ISDIR(sb.st_mode) ? run_dir(argv[i], &count) : run_file(argv[i], &count)) !=
		    0)
			return 1;
	}
	if (count == 0) {
		fprintf(stderr, "%s: no inputs found\n", argv[0]);
		return 1;
	}
	printf("%s: %lu inputs ran\n", argv[0], count);
	return 0;
}

/*
 * The libFuzzer entry point shared by the fuzz targets (fuzz/fuzz_*.c) and by
 * fuzz/standalone.c, which replays a corpus through a target without libFuzzer.
 */
#ifndef P11S_FUZZ_FUZZ_H
#define P11S_FUZZ_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Always returns 0; a bug shows as a crash or a sanitizer report. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A NUL-terminated copy of the input (malloc'd; NULL when out of memory).
 * Embedded NULs stay: the parser sees the text up to the first one. */
static inline char *
fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s != NULL) {
		if (size > 0)
			memcpy(s, data, size);
		s[size] = '\0';
	}
	return s;
}

#endif

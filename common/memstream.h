/* Text built with open_memstream(3): one way to finish it. */
#ifndef P11S_COMMON_MEMSTREAM_H
#define P11S_COMMON_MEMSTREAM_H

#include <stddef.h>
#include <stdio.h>

#include "common/error.h"

/*
 * Finish a stream opened with open_memstream(buf, blen): close *f (it becomes
 * NULL); then, when out is not NULL, move the text to *out and *outlen (the
 * caller frees it; *buf becomes NULL). P11S_E_NOMEM, with "out of memory
 * WHAT" recorded, when the stream could not hold its text; *buf then stays
 * for the caller to free.
 */
P11S_MUST_CHECK int p11s_memstream_finish(FILE **f, char **buf, size_t *blen, char **out,
					  size_t *outlen, const char *what);

#endif

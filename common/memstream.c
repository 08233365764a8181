#include "config.h"

#include "common/memstream.h"

int
p11s_memstream_finish(FILE **f, char **buf, size_t *blen, char **out, size_t *outlen,
		      const char *what)
{
	int failed = fclose(*f) != 0;

	*f = NULL;
	if (failed)
		return p11s_fail(P11S_E_NOMEM, "out of memory %s", what);
	if (out != NULL) {
		*out = *buf;
		*outlen = *blen;
		*buf = NULL;
	}
	return 0;
}

/*
 * Fuzz target: the operator-input parsers of common/parse.h (dates,
 * durations, thumbprints), each on the whole input as one string.  The local
 * zone is fixed to one with daylight saving time so the US-form date path
 * (gaps and overlaps) is exercised the same way everywhere.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/parse.h"
#include "fuzz/fuzz.h"

#define DURATION_LIMIT ((int64_t)36500 * 86400) /* parse.c's documented ceiling */

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int zone_set;
	p11s_time when = 0;
	int64_t secs = 0;
	char thumb[65], *s;
	size_t n;
	int r;

	if (!zone_set) {
		setenv("TZ", "America/New_York", 1);
		tzset();
		zone_set = 1;
	}
	if ((s = fuzz_strndup(data, size)) == NULL)
		return 0;
	if ((r = p11s_parse_date(s, &when)) != 0 && (when != 0 || r != P11S_E_INVAL))
		abort(); /* out-parameter set on failure, or not an input error */
	if ((r = p11s_parse_duration(s, &secs)) == 0) {
		if (secs < 0 || secs > DURATION_LIMIT)
			abort(); /* "no sign, no overflow" */
	} else if (secs != 0 || r != P11S_E_INVAL) {
		abort();
	}
	memset(thumb, 'x', sizeof(thumb));
	if (p11s_thumbprint_normalize(s, thumb) == 0) {
		n = strnlen(thumb, sizeof(thumb));
		if (n < 8 || n > 64 || strspn(thumb, "0123456789abcdef") != n)
			abort(); /* normalised: 8..64 lower-case hex digits */
	}
	free(s);
	return 0;
}

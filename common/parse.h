/* Parsers for operator input (SPEC §8): durations, dates, thumbprints. */
#ifndef P11S_COMMON_PARSE_H
#define P11S_COMMON_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/util.h"

/*
 * "90s", "15m", "8h", "1d" or plain seconds ("300"); no sign, no spaces, no
 * overflow.  Errors (P11S_E_INVAL) quote the input and show accepted forms.
 */
P11S_MUST_CHECK int p11s_parse_duration(const char *s, int64_t *seconds);

/*
 * RFC 3339 / ISO 8601 with a zone ("2012-07-22T06:00:00Z",
 * "2012-07-22T08:00:00+02:00", "2012-07-22 06:00:00Z"; fractional seconds
 * refused, second precision); or the US form "7/22/2012 6:00:00 AM" (also
 * without seconds, and 24-hour "7/22/2012 18:00") interpreted in the local
 * zone (TZ) only when unambiguous (not in a DST gap or overlap).  Invalid
 * calendar dates (2/30) are refused.  Errors show what was expected.
 */
P11S_MUST_CHECK int p11s_parse_date(const char *s, p11s_time *out);

/*
 * Normalise an operator-typed thumbprint: drop spaces and colons, lower-case,
 * require hex only, length 8..64.  out must hold 65 bytes.
 */
P11S_MUST_CHECK int p11s_thumbprint_normalize(const char *in, char out[65]);

/*
 * Match a normalised thumbprint (full SHA-1 / SHA-256 or a prefix of >= 8
 * hex digits of either) against n candidates.  Exactly one match: *index.
 * None: P11S_E_NOTFOUND.  Several: P11S_E_AMBIGUOUS, the message lists the
 * candidates' SHA-1 thumbprints.
 */
P11S_MUST_CHECK int p11s_thumbprint_match(const char *query, const char *const *sha1,
					  const char *const *sha256, size_t n, size_t *index);

#endif

/*
 * The roll as a picture (SPEC §7): an SVG timeline per type of the key
 * epochs (previous key issuing then verifying until its safe removal, the
 * current key issuing, a staged key published then issuing), with now, the
 * effective instant, the old certificate's expiry, the safe-removal instant
 * and the roll deadline marked and labelled in UTC.  One renderer for
 * `signer status --svg FILE` and signerd's GET /v1/timeline.svg.
 */
#ifndef P11S_SIGNER_TIMELINE_SVG_H
#define P11S_SIGNER_TIMELINE_SVG_H

#include <stddef.h>

#include "common/error.h"
#include "policy/policy.h"

/* *out (malloc'd, NUL-terminated, *len bytes) is a standalone SVG document. */
P11S_MUST_CHECK int timeline_svg(const pol_conf *c, const pol_state *s, p11s_time now, char **out,
				 size_t *len);

#endif

/*
 * The per-type part of the status document, one schema for `signer status
 * --json` and signerd's GET /v1/status: the current, staged and previous keys
 * and the type's timeline (policy/'s pol_timeline_events), every instant an
 * RFC 3339 UTC string.
 */
#ifndef P11S_SIGNER_STATUS_H
#define P11S_SIGNER_STATUS_H

#include <jansson.h>

#include "common/error.h"
#include "signer/conf.h"
#include "signer/state.h"
#include "signer/tokens.h"

/* "2012-07-22T14:00:00Z"; JSON null for 0 (no instant).  NULL when out of memory. */
json_t *status_time_json(p11s_time t);

/*
 * The status object of configured type `tc` at `now`.  ks (may be NULL)
 * supplies each key's kid.  *out is cleared on entry and set on success.
 */
P11S_MUST_CHECK int status_type_json(const signer_conf *c, const signer_state *st,
				     const tokens_keyset *ks, const pol_type_conf *tc,
				     p11s_time now, json_t **out);

#endif

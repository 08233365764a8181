/*
 * policy/internal.h — helpers shared by the files of policy/ only.  No other
 * folder includes this header.
 */
#ifndef P11S_POLICY_INTERNAL_H
#define P11S_POLICY_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "policy/policy.h"

/* Room for an RFC 3339 UTC instant or a formatted duration. */
#define POLI_TS_LEN 40

/* Index of the issuing epoch (last with effective <= now), or -1. */
long poli_issuing_idx(const pol_type_state *ts, p11s_time now);
/* Index of the staged epoch (first with effective > now), or -1. */
long poli_staged_idx(const pol_type_state *ts, p11s_time now);

/* Is types[i] a repetition of an earlier name in the list? */
int poli_dup_before(const char *const *types, size_t i);

/* "2012-07-22T14:00:00Z" */
void poli_fmt_utc(p11s_time t, char out[POLI_TS_LEN]);
/* Human-readable duration: "8h", "24h", "7h59m59s", "5m", "0s". */
void poli_fmt_dur(int64_t seconds, char out[POLI_TS_LEN]);

/*
 * Fill *why (rule, type, bound, nearest and the printf-formatted sentence),
 * record the sentence with p11s_fail and return P11S_E_POLICY.
 */
int poli_refuse(pol_refusal *why, pol_rule rule, const char *type, int64_t bound, p11s_time nearest,
		const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* POL_R_UNKNOWN_TYPE for the first name that is not configured (the
 * message lists the configured types); 0 if all are. */
int poli_check_known_types(const pol_conf *c, const char *const *types, size_t n_types,
			   pol_refusal *why);

/* Clear *why on entry to a checking function. */
void poli_refusal_clear(pol_refusal *why);

#endif

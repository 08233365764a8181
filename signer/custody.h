/*
 * Custodians and quorum (SPEC §3 rule 5, §6): proposals, approvals and the
 * quorum evidence that makes a staged roll count.
 *
 * A proposal in signer_state.proposals:
 *   {"id": hex SHA-256 of the canonical content,
 *    "content": {"types":[sorted], "key":sha1, "key_sha256":..., "effective":E,
 *                "replace":bool, "created_at":T, "expires_at":T+proposal_lifetime,
 *                "timeline":[{"type","current","current_expires","safe_removal"}]},
 *    "proposed_by":U, "status":"pending"|"staged"|"rejected",
 *    "approvals":[{"custodian":N, "approved_at":T, "alg":"ES256"|"ES384"|"RS256",
 *                  "signature":base64url, "cert_sha256":hex}],
 *    "staged_at":T | "rejected_at":T, "rejected_by":U, "reason":R}
 * Canonical content = json_dumps(JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII).
 *
 * An approval signs custody_message(): "p11-signer approval v1\n" followed by
 * "proposal=<id>\ncustodian=<name>\napproved_at=<seconds>\n", so the
 * custodian's name and the instant are bound by the signature.  EC signatures
 * are DER (ECDSA-Sig-Value) over SHA-256 (ES256) or SHA-384 (ES384); RSA is
 * PKCS#1 v1.5 with SHA-256 (RS256).
 *
 * An approval counts when its custodian is configured, the signature verifies
 * with that custodian's certificate, the certificate is valid at approved_at,
 * and created_at <= approved_at < expires_at.  One custodian (and one
 * certificate) counts once.
 */
#ifndef P11S_SIGNER_CUSTODY_H
#define P11S_SIGNER_CUSTODY_H

#include <stddef.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "common/error.h"
#include "policy/policy.h"
#include "signer/conf.h"
#include "signer/state.h"

#define CUSTODY_DOMAIN "p11-signer approval v1\n"

/* ---- custodians --------------------------------------------------------- */

typedef struct custody_set custody_set;

P11S_MUST_CHECK int custody_set_new(custody_set **out);
/* Add a custodian (takes its own reference to cert). */
P11S_MUST_CHECK int custody_set_add(custody_set *s, const char *name, X509 *cert);
/* Every [custodian NAME] certificate of the configuration. */
P11S_MUST_CHECK int custody_set_load(const signer_conf *c, custody_set **out);
void custody_set_free(custody_set *s);

/* The custodian whose certificate holds this public key (P11S_E_POLICY when
 * none: an unknown key).  *name is owned by the set. */
P11S_MUST_CHECK int custody_identify(const custody_set *s, EVP_PKEY *pub, const char **name);
/* Thumbprint and validity of a custodian's certificate. */
P11S_MUST_CHECK int custody_cert_info(const custody_set *s, const char *name, char sha256[65],
				      p11s_time *not_before, p11s_time *not_after);

/* ---- proposals ---------------------------------------------------------- */

/* Canonical content of a roll plan (after the §3 checks passed).  The key
 * must be the candidate; the timeline is computed from ps. */
P11S_MUST_CHECK int custody_content(const pol_conf *pc, const pol_state *ps,
				    const char *const *types, size_t n_types, const pol_key *key,
				    p11s_time effective, int replace, p11s_time now, json_t **out);
/* Hex SHA-256 of the canonical content. */
P11S_MUST_CHECK int custody_id(const json_t *content, char id[65]);
/*
 * Store a new pending proposal (content stolen) and prune proposals that were
 * not staged and expired long ago.  The same content twice: P11S_E_EXISTS.
 */
P11S_MUST_CHECK int custody_propose(signer_state *st, json_t *content, const char *actor,
				    p11s_time now, char id[65]);
/* A proposal by id or unique prefix of >= 8 hex digits (borrowed). */
P11S_MUST_CHECK int custody_find(const signer_state *st, const char *query, json_t **proposal);
/* "pending", "expired", "staged" or "rejected" at now. */
const char *custody_status(const json_t *proposal, p11s_time now);
/* Mark a pending (or expired) proposal rejected. */
P11S_MUST_CHECK int custody_reject(json_t *proposal, const char *actor, const char *reason,
				   p11s_time now);

/* ---- approvals ---------------------------------------------------------- */

/* The message a custodian signs (*msg malloc'd). */
P11S_MUST_CHECK int custody_message(const char *id, const char *custodian, p11s_time at, char **msg,
				    size_t *len);
/* JWS name of the approval algorithm for a custodian key ("ES256"...). */
P11S_MUST_CHECK int custody_key_alg(EVP_PKEY *pub, p11s_alg *alg);

/*
 * An approval file made by 'signer approve ID --sign-only' (text of len
 * bytes; `what` names it in messages): a JSON object with the string members
 * custodian, alg, signature and the integer approved_at.  *out is a new
 * object, *custodian borrowed from it.  Anything else: P11S_E_INVAL.
 */
P11S_MUST_CHECK int custody_approval_parse(const char *text, size_t len, const char *what,
					   json_t **out, const char **custodian);

/* Does this approval count for this proposal?  0, or P11S_E_POLICY with the
 * reason (unknown custodian, expired certificate, bad signature, ...). */
P11S_MUST_CHECK int custody_check_approval(const custody_set *s, const json_t *proposal,
					   const json_t *approval);
/* Distinct custodians with a valid approval; names (if not NULL) receives
 * their names (a new array). */
unsigned custody_count(const custody_set *s, const json_t *proposal, json_t **names);

/*
 * Add an approval to a pending proposal (approval stolen).  Refused
 * (P11S_E_POLICY, nothing changed) when the proposal is not pending at now,
 * the custodian already approved it, or the approval does not count.
 * *count = valid approvals afterwards.
 */
P11S_MUST_CHECK int custody_add_approval(const custody_set *s, json_t *proposal, json_t *approval,
					 p11s_time now, unsigned *count);
/* Mark the proposal staged (call after pol_apply_roll succeeded). */
P11S_MUST_CHECK int custody_mark_staged(json_t *proposal, p11s_time now);

/* ---- quorum enforcement on load ----------------------------------------- */

/*
 * With quorum > 1, drop from st->pol every rolled epoch (every epoch of a type
 * but its first, the assignment) without quorum evidence: a proposal in
 * st->proposals whose id matches its content, which names that type, key and
 * effective instant, with at least `quorum` approvals that count.  Each
 * dropped epoch is logged: "roll to KEY for TYPE has no valid quorum:
 * ignored".  *ignored (may be NULL) counts them.
 */
P11S_MUST_CHECK int custody_filter_set(const custody_set *s, unsigned quorum, signer_state *st,
				       size_t *ignored);
/* The same with the configured custodians and quorum (a no-op at quorum 1).
 * Call after every state_load whose result is used to issue or verify. */
P11S_MUST_CHECK int custody_filter(const signer_conf *c, signer_state *st);

#endif

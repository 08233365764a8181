/*
 * Issue and verify JWTs for a type from a loaded state: the glue between the
 * pure effective view (policy/), JOSE (jose.h) and the token (hsm.h), shared
 * by the CLI and signerd.
 */
#ifndef P11S_SIGNER_TOKENS_H
#define P11S_SIGNER_TOKENS_H

#include <jansson.h>

#include "hsm/hsm.h"
#include "policy/policy.h"
#include "signer/conf.h"
#include "signer/jose/jose.h"
#include "signer/state.h"

/* Public keys of every key of a state, parsed once (certificates -> EVP_PKEY). */
typedef struct tokens_keyset tokens_keyset;

P11S_MUST_CHECK int tokens_keyset_new(const signer_state *st, tokens_keyset **out);
void tokens_keyset_free(tokens_keyset *ks);
/* kid / x5t (base64url) of a key by SHA-1 name; NULL when unknown. */
const char *tokens_kid(const tokens_keyset *ks, const char *sha1);
const char *tokens_x5t(const tokens_keyset *ks, const char *sha1);
EVP_PKEY *tokens_pubkey(const tokens_keyset *ks, const char *sha1);

typedef struct tokens_verdict {
	int valid;
	const char *type; /* type whose set verified (config-owned) */
	pol_role role;	  /* current / previous / staged */
	char sha1[41];	  /* key that verified */
	int key_expired;  /* refused: the certificate of the token's key (by kid) has
			     expired (rule 3c), whatever its role */
	jwt_result jwt;	  /* claims, kid, error */
} tokens_verdict;

/*
 * Verify against the verification set of `type` at `now` (NULL: every
 * configured type, in configuration order).  Returns 0 with v->valid set
 * either way; other codes only for internal failures.  Call
 * tokens_verdict_clear() afterwards.
 */
P11S_MUST_CHECK int tokens_verify(const signer_conf *c, const signer_state *st,
				  const tokens_keyset *ks, const char *type, const char *aud,
				  const char *token, size_t len, p11s_time now, tokens_verdict *v);
void tokens_verdict_clear(tokens_verdict *v);

typedef struct tokens_request {
	const char *type;
	const char *sub;
	const char *aud;      /* NULL: the type's configured audience, if any */
	int64_t lifetime;     /* 0: the type's token lifetime; more is refused */
	const json_t *claims; /* extra claims or NULL */
} tokens_request;

/*
 * The issuing key of req->type at `now` (P11S_E_NOTFOUND when the type has
 * none yet, P11S_E_INVAL for an unknown type or a bad lifetime,
 * P11S_E_POLICY when its certificate is expired or not yet valid: rule 3c,
 * the message names the key and its notAfter / notBefore).
 */
P11S_MUST_CHECK int tokens_issuing_key(const signer_conf *c, const signer_state *st,
				       const tokens_request *req, p11s_time now,
				       const pol_key **key, int *type_index);

/* Sign a token for req with `signer` (which must hold `key`).  The lifetime
 * is shortened so that exp is not later than the key certificate's notAfter
 * (rule 3c); *exp is the token's. */
P11S_MUST_CHECK int tokens_issue(const signer_conf *c, const tokens_keyset *ks, int type_index,
				 const pol_key *key, hsm_signer *signer, const tokens_request *req,
				 p11s_time now, char **token, p11s_time *exp);

#endif

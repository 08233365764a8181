/*
 * JWS compact JWT (RFC 7515/7519) issue and strict verification, and JWK
 * export.  No HSM here: signing goes through a callback; verification uses
 * only public keys taken from certificates.
 */
#ifndef P11S_SIGNER_JOSE_H
#define P11S_SIGNER_JOSE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "common/alg.h"
#include "common/error.h"
#include "common/util.h"

#define JWT_MAX_LEN 8192 /* tokens above this are refused unread */

/* Signature in JWS form (EC: raw r||s); *siglen in: capacity, out: written. */
typedef int (*jws_sign_fn)(void *ctx, const uint8_t *msg, size_t len, uint8_t *sig, size_t *siglen);

/* kid = base64url(SHA-256 of certificate DER), x5t = base64url(SHA-1 ...),
 * from the hex thumbprints.  out: 44 / 28 bytes suffice. */
P11S_MUST_CHECK int jose_kid_from_hex(const char *sha256_hex, char *out, size_t outlen);
P11S_MUST_CHECK int jose_x5t_from_hex(const char *sha1_hex, char *out, size_t outlen);

typedef struct jwt_issue_params {
	p11s_alg alg;
	const char *kid; /* base64url SHA-256 thumbprint */
	const char *x5t; /* base64url SHA-1 thumbprint */
	const char *iss;
	const char *sub;      /* required */
	const char *aud;      /* NULL: no aud claim */
	p11s_time now;	      /* iat = nbf = now */
	int64_t lifetime;     /* exp = now + lifetime; > 0 */
	const json_t *claims; /* extra claims (object) or NULL; registered names
			       * (iss sub aud iat nbf exp jti) are refused */
	jws_sign_fn sign;
	void *sign_ctx;
} jwt_issue_params;

/* Header {alg, typ:"JWT", kid, x5t}; claims with a 128-bit random jti.
 * *token is malloc'd. */
P11S_MUST_CHECK int jwt_issue(const jwt_issue_params *p, char **token, p11s_time *exp);

typedef struct jwt_vkey {
	p11s_alg alg;	 /* bound to the key record, never taken from the header */
	const char *kid; /* base64url SHA-256 thumbprint */
	EVP_PKEY *pub;	 /* public key from the certificate */
} jwt_vkey;

typedef struct jwt_verify_params {
	const jwt_vkey *keys; /* in trial order: new key first */
	size_t n_keys;
	p11s_time now;
	int64_t leeway;	      /* clock_skew, for exp/nbf/iat */
	int64_t max_lifetime; /* exp - iat must not exceed this (type's token lifetime) */
	const char *aud;      /* NULL: not checked */
	const char *iss;      /* NULL: not checked */
} jwt_verify_params;

/*
 * Why a token did not verify: one value per failure class, as policy/ names
 * its rules.  jwt_verify sets the first nine; the last three are set by the
 * caller that knows the key's history (signer/tokens.c).  Metrics labels, the
 * API's "reason" and the ranking of failures across types use this value,
 * never the sentence in `error`.
 */
typedef enum jwt_reason {
	JWT_R_NONE = 0,	     /* valid, or an internal failure (no verdict) */
	JWT_R_MALFORMED,     /* structure, encoding, JSON, header or claim types */
	JWT_R_ALGORITHM,     /* alg missing, unsupported, none/HMAC, or not the key's */
	JWT_R_NO_KEY,	     /* the verification set is empty */
	JWT_R_UNKNOWN_KEY,   /* the kid names no key of the verification set */
	JWT_R_SIGNATURE,     /* no key of the set verifies the signature */
	JWT_R_EXPIRED,	     /* exp has passed */
	JWT_R_NOT_YET_VALID, /* nbf or iat in the future */
	JWT_R_LIFETIME,	     /* exp - iat longer than the type allows */
	JWT_R_AUDIENCE,	     /* aud missing or different */
	JWT_R_ISSUER,	     /* iss missing or different */
	JWT_R_KEY_REMOVED,   /* the kid names a key removed from the token */
	JWT_R_KEY_RETIRED,   /* the kid names a known key that left the set (rolled away) */
	JWT_R_KEY_EXPIRED,   /* the key's certificate has expired (rule 3c) */
} jwt_reason;

/* Label of a reason: "malformed", "algorithm", "no_key", "unknown_key",
 * "signature", "expired", "not_yet_valid", "lifetime", "audience", "issuer",
 * "key_removed", "key_retired", "key_expired" ("none" for JWT_R_NONE). */
const char *jwt_reason_name(jwt_reason r);

typedef struct jwt_result {
	jwt_reason reason; /* on failure: the class of `error` */
	int key_index;	   /* index into keys that verified, -1 if none */
	json_t *claims;	   /* on success: the claims object (caller json_decref) */
	char *claims_json; /* on success: the same claims as signed: their JSON text */
	size_t claims_json_len;
	char kid[64];	 /* header kid if any */
	char error[256]; /* on failure: one specific reason */
} jwt_result;

/*
 * Strict verification: size cap, exactly three segments, canonical unpadded
 * base64url, JSON objects without duplicate members, typ JWT if present, no
 * crit, alg equal to the key's alg (no none, no HMAC), kid narrows the
 * candidate keys, jku/jwk/x5u/x5c ignored for trust, EC signatures exactly
 * 64/96 raw bytes, exp required, numeric exp/nbf/iat with leeway, lifetime
 * cap, aud/iss when asked.  Returns 0 (valid) or P11S_E_BADTOKEN with
 * res->reason and res->error set; other codes for internal failures.
 */
P11S_MUST_CHECK int jwt_verify(const char *token, size_t len, const jwt_verify_params *p,
			       jwt_result *res);
void jwt_result_clear(jwt_result *res);

/* JWK of a public key: {kty, crv|n,e, x,y, alg, use:"sig", kid, x5t}. */
P11S_MUST_CHECK int jose_jwk(EVP_PKEY *pub, p11s_alg alg, const char *kid, const char *x5t,
			     json_t **out);

#endif

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

typedef struct jwt_result {
	int key_index;	 /* index into keys that verified, -1 if none */
	json_t *claims;	 /* on success: the claims object (caller json_decref) */
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
 * res->error set; other codes for internal failures.
 */
P11S_MUST_CHECK int jwt_verify(const char *token, size_t len, const jwt_verify_params *p,
			       jwt_result *res);
void jwt_result_clear(jwt_result *res);

/* JWK of a public key: {kty, crv|n,e, x,y, alg, use:"sig", kid, x5t}. */
P11S_MUST_CHECK int jose_jwk(EVP_PKEY *pub, p11s_alg alg, const char *kid, const char *x5t,
			     json_t **out);

#endif

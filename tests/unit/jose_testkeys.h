/* Test keys and token builders for the signer/jose unit tests (OpenSSL, in memory). */
#ifndef P11S_TESTS_JOSE_TESTKEYS_H
#define P11S_TESTS_JOSE_TESTKEYS_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "signer/jose/jose.h"

#define TK_NOW ((p11s_time)1700000000)
#define TK_LEEWAY 60
#define TK_MAXLIFE 3600
#define TK_ISS "https://issuer.test"
#define TK_AUD "api"

/* Our keys (the verification set) and the attacker's. */
enum { TK_ES256, TK_ES384, TK_RS256, TK_PS256, TK_NKEYS };

typedef struct tk_keys {
	EVP_PKEY *key[TK_NKEYS];
	char kid[TK_NKEYS][44];
	char x5t[TK_NKEYS][28];
	jwt_vkey vkeys[TK_NKEYS];
	EVP_PKEY *atk_ec;  /* attacker P-256 */
	EVP_PKEY *atk_rsa; /* attacker RSA-2048 */
} tk_keys;

/* Sign callback context. */
typedef struct tk_signer {
	EVP_PKEY *key;
	p11s_alg alg;
	size_t truncate; /* > 0: return only this many bytes (tests) */
} tk_signer;

int tk_keys_init(tk_keys *k);
void tk_keys_free(tk_keys *k);
const char *tk_alg_name(int which);
p11s_alg tk_alg(int which);

/* jws_sign_fn: EVP signature, EC converted to raw r||s. */
int tk_sign(void *ctx, const uint8_t *msg, size_t len, uint8_t *sig, size_t *siglen);

/* Raw JWS signature of msg (EC: r||s); *siglen in: capacity.  0 on success. */
int tk_sign_raw(EVP_PKEY *key, p11s_alg alg, const char *msg, uint8_t *sig, size_t *siglen);
/* DER ECDSA signature as OpenSSL makes it. */
int tk_sign_der(EVP_PKEY *key, const char *msg, uint8_t *sig, size_t *siglen);

/* base64url of text (malloc'd). */
char *tk_b64(const char *text, size_t len);
/* "b64(hdr).b64(payload)" (malloc'd). */
char *tk_input(const char *hdr, const char *payload);
/* Input plus "." plus base64url of sig (malloc'd). */
char *tk_with_sig(const char *input, const uint8_t *sig, size_t siglen);
/* Header and payload signed with key under alg (malloc'd). */
char *tk_token(const char *hdr, const char *payload, EVP_PKEY *key, p11s_alg alg);

/* The standard verification parameters for keys k at TK_NOW. */
jwt_verify_params tk_params(const tk_keys *k);

/* Standard good header for key `which` (with kid) and good claims (static buffers). */
const char *tk_hdr(const tk_keys *k, int which);
const char *tk_claims(void);

#endif

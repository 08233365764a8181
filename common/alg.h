/* JWS algorithms and token key types, shared by hsm/, policy/ and signer/. */
#ifndef P11S_COMMON_ALG_H
#define P11S_COMMON_ALG_H

#include <stddef.h>

typedef enum {
	P11S_ALG_NONE = 0,
	P11S_ALG_ES256,
	P11S_ALG_ES384,
	P11S_ALG_RS256,
	P11S_ALG_PS256,
} p11s_alg;

typedef enum {
	P11S_KT_NONE = 0,
	P11S_KT_EC_P256,
	P11S_KT_EC_P384,
	P11S_KT_RSA,
} p11s_keytype;

/* "ES256" etc.; NULL for P11S_ALG_NONE. */
const char *p11s_alg_name(p11s_alg alg);
/* Exact, case-sensitive JOSE name -> alg; P11S_ALG_NONE when unknown. */
p11s_alg p11s_alg_parse(const char *name);
/* "EC P-256", "EC P-384", "RSA" */
const char *p11s_keytype_name(p11s_keytype kt);
/* Does a key of type kt with `bits` (RSA modulus size) fit alg? */
int p11s_alg_fits(p11s_alg alg, p11s_keytype kt, unsigned bits);
/* Size in bytes of a raw JWS signature for alg (EC: r||s), given RSA bits. */
size_t p11s_alg_sig_len(p11s_alg alg, unsigned bits);
/* What alg accepts, for messages: "an EC P-256 key", ... */
const char *p11s_alg_needs(p11s_alg alg);
/* The algorithm a key of type kt signs with when nothing else is asked
 * (EC curve's ES*, RS256 for RSA); P11S_ALG_NONE for an unknown type. */
p11s_alg p11s_alg_natural(p11s_keytype kt);

#endif

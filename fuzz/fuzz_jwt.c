/*
 * Fuzz target: strict JWT verification (jwt_verify), which reads tokens
 * from any client of POST /v1/verify.  The verification set is fixed: one
 * P-256 key (ES256) and one RSA-2048 key (RS256) from fuzz_jwt_keys.h, kid =
 * base64url(SHA-256 of the public key DER); now, leeway 60 s, lifetime cap
 * 3600 s.
 *
 * Input: one control byte, then the rest.
 *   bit 0 clear: the rest is a compact token, verified as it is.
 *   bit 0 set:   the rest is "HEADER-JSON\nCLAIMS-JSON"; the target encodes
 *                both and signs them itself (bit 1: RS256 key, else ES256)
 *                so the claim checks behind the signature are reached.
 *   bit 2:       also require iss FUZZ_ISS and aud FUZZ_AUD.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "common/log.h"
#include "common/text.h"
#include "common/util.h"
#include "fuzz/fuzz.h"
#include "fuzz/fuzz_jwt_keys.h"
#include "signer/jose/jose.h"

#define FUZZ_NOW ((p11s_time)1700000000) /* 2023-11-14T22:13:20Z */
#define FUZZ_ISS "https://issuer.test"
#define FUZZ_AUD "api"

enum { K_EC, K_RSA, K_N };

static EVP_PKEY *keys[K_N];
static char kids[K_N][64];
static jwt_vkey vkeys[K_N];

static EVP_PKEY *
load_key(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *k = b != NULL ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;

	BIO_free(b);
	return k;
}

/* kid as tests/unit/jose_testkeys.c makes it: the public key DER stands in
 * for the certificate. */
static int
make_kid(EVP_PKEY *k, char *kid, size_t kidlen)
{
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(k, &der), r = -1;
	char hex[65];

	if (n > 0 && p11s_sha256_hex(der, (size_t)n, hex) == 0 &&
	    jose_kid_from_hex(hex, kid, kidlen) == 0)
		r = 0;
	OPENSSL_free(der);
	return r;
}

/* Once per process; a failure here is a broken harness, not a finding. */
static void
init_keys(void)
{
	static const p11s_alg algs[K_N] = {P11S_ALG_ES256, P11S_ALG_RS256};

	if (keys[K_EC] != NULL)
		return;
	p11s_log_set_level(LOG_CRIT);
	keys[K_EC] = load_key(fuzz_key_p256);
	keys[K_RSA] = load_key(fuzz_key_rsa2048);
	for (int i = 0; i < K_N; i++) {
		if (keys[i] == NULL || make_kid(keys[i], kids[i], sizeof(kids[i])) != 0)
			abort();
		vkeys[i].alg = algs[i];
		vkeys[i].kid = kids[i];
		vkeys[i].pub = keys[i];
	}
}

/* JWS signature of msg: RS256, or ES256 as raw r||s.  0 on success. */
static int
sign(int which, const char *msg, size_t len, uint8_t *sig, size_t *siglen)
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	uint8_t der[128];
	size_t derlen = sizeof(der);
	const unsigned char *p = der;
	ECDSA_SIG *es = NULL;
	const BIGNUM *br, *bs;
	int r = -1;

	if (m == NULL || EVP_DigestSignInit(m, NULL, EVP_sha256(), NULL, keys[which]) != 1)
		goto out;
	if (which == K_RSA) {
		r = EVP_DigestSign(m, sig, siglen, (const uint8_t *)msg, len) == 1 ? 0 : -1;
		goto out;
	}
	if (*siglen < 64 || EVP_DigestSign(m, der, &derlen, (const uint8_t *)msg, len) != 1 ||
	    (es = d2i_ECDSA_SIG(NULL, &p, (long)derlen)) == NULL)
		goto out;
	ECDSA_SIG_get0(es, &br, &bs);
	if (BN_bn2binpad(br, sig, 32) != 32 || BN_bn2binpad(bs, sig + 32, 32) != 32)
		goto out;
	*siglen = 64;
	r = 0;
out:
	ECDSA_SIG_free(es);
	EVP_MD_CTX_free(m);
	return r;
}

/* "b64(header).b64(claims).b64(sig)" from "header\nclaims" (malloc'd). */
static char *
signed_token(int which, const uint8_t *in, size_t len)
{
	const uint8_t *nl = memchr(in, '\n', len);
	size_t hlen = nl != NULL ? (size_t)(nl - in) : len;
	char *h64 = NULL, *p64 = NULL, *s64 = NULL, *input = NULL, *tok = NULL;
	uint8_t sig[512];
	size_t siglen = sizeof(sig), n;

	if (p11s_b64url_encode(in, hlen, &h64) != 0 ||
	    p11s_b64url_encode(nl != NULL ? nl + 1 : in + len, nl != NULL ? len - hlen - 1 : 0,
			       &p64) != 0)
		goto out;
	n = strlen(h64) + 1 + strlen(p64) + 1;
	if ((input = malloc(n)) == NULL)
		goto out;
	snprintf(input, n, "%s.%s", h64, p64);
	if (sign(which, input, n - 1, sig, &siglen) != 0 ||
	    p11s_b64url_encode(sig, siglen, &s64) != 0)
		goto out;
	n += strlen(s64) + 1;
	if ((tok = malloc(n)) != NULL)
		snprintf(tok, n, "%s.%s", input, s64);
out:
	free(h64);
	free(p64);
	free(s64);
	free(input);
	return tok;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	jwt_verify_params p;
	jwt_result res;
	char *tok = NULL;
	const char *t;
	size_t tlen;
	int r;

	init_keys();
	if (size == 0)
		return 0;
	memset(&p, 0, sizeof(p));
	p.keys = vkeys;
	p.n_keys = K_N;
	p.now = FUZZ_NOW;
	p.leeway = 60;
	p.max_lifetime = 3600;
	if (data[0] & 4) {
		p.iss = FUZZ_ISS;
		p.aud = FUZZ_AUD;
	}
	if (data[0] & 1) {
		if ((tok = signed_token((data[0] & 2) ? K_RSA : K_EC, data + 1, size - 1)) == NULL)
			return 0;
		t = tok;
		tlen = strlen(tok);
	} else {
		t = (const char *)data + 1; /* not terminated: len alone must bound it */
		tlen = size - 1;
	}
	r = jwt_verify(t, tlen, &p, &res);
	if (r == 0) {
		json_t *again;

		if (res.key_index < 0 || res.key_index >= K_N || !json_is_object(res.claims) ||
		    !json_is_integer(json_object_get(res.claims, "exp")))
			abort();
		/* signerd answers the claims' own text: it is the object that was
		 * checked, and JSON with no NUL byte */
		again =
		    json_loadb(res.claims_json, res.claims_json_len, JSON_REJECT_DUPLICATES, NULL);
		if (again == NULL || !json_equal(again, res.claims) ||
		    memchr(res.claims_json, '\0', res.claims_json_len) != NULL)
			abort();
		json_decref(again);
	} else if ((r != P11S_E_BADTOKEN && r != P11S_E_NOMEM) || res.key_index != -1 ||
		   res.claims != NULL || res.claims_json != NULL || res.error[0] == '\0') {
		/* Anything a client sends is a bad token (401), never a 500. */
		abort();
	}
	if (strnlen(res.kid, sizeof(res.kid)) == sizeof(res.kid) ||
	    strnlen(res.error, sizeof(res.error)) == sizeof(res.error))
		abort();
	/* A refusal has its reason, and its sentence goes into a JSON answer as
	 * is: it must be valid UTF-8 whatever the token held. */
	if (r == P11S_E_BADTOKEN &&
	    (res.reason == JWT_R_NONE || !p11s_utf8_valid(res.error, strlen(res.error))))
		abort();
	jwt_result_clear(&res);
	free(tok);
	return 0;
}

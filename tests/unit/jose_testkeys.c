#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "tests/unit/jose_testkeys.h"

static const struct {
	const char *name;
	p11s_alg alg;
} tk_algs[TK_NKEYS] = {
    {"ES256", P11S_ALG_ES256},
    {"ES384", P11S_ALG_ES384},
    {"RS256", P11S_ALG_RS256},
    {"PS256", P11S_ALG_PS256},
};

const char *
tk_alg_name(int which)
{
	return tk_algs[which].name;
}

p11s_alg
tk_alg(int which)
{
	return tk_algs[which].alg;
}

static EVP_PKEY *
gen(int which)
{
	switch (tk_algs[which].alg) {
	case P11S_ALG_ES256:
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	case P11S_ALG_ES384:
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	default:
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	}
}

/* Thumbprints of the public key DER stand in for the certificate's. */
static int
thumbs(EVP_PKEY *key, char kid[44], char x5t[28])
{
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(key, &der), r = -1;
	char h256[65], h1[41];

	if (n > 0 && p11s_sha256_hex(der, (size_t)n, h256) == 0 &&
	    p11s_sha1_hex(der, (size_t)n, h1) == 0 && jose_kid_from_hex(h256, kid, 44) == 0 &&
	    jose_x5t_from_hex(h1, x5t, 28) == 0)
		r = 0;
	OPENSSL_free(der);
	return r;
}

int
tk_keys_init(tk_keys *k)
{
	memset(k, 0, sizeof(*k));
	for (int i = 0; i < TK_NKEYS; i++) {
		if ((k->key[i] = gen(i)) == NULL || thumbs(k->key[i], k->kid[i], k->x5t[i]) != 0)
			return -1;
		k->vkeys[i].alg = tk_algs[i].alg;
		k->vkeys[i].kid = k->kid[i];
		k->vkeys[i].pub = k->key[i];
	}
	k->atk_ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	k->atk_rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	return k->atk_ec != NULL && k->atk_rsa != NULL ? 0 : -1;
}

void
tk_keys_free(tk_keys *k)
{
	for (int i = 0; i < TK_NKEYS; i++)
		EVP_PKEY_free(k->key[i]);
	EVP_PKEY_free(k->atk_ec);
	EVP_PKEY_free(k->atk_rsa);
	memset(k, 0, sizeof(*k));
}

static int
evp_sign(EVP_PKEY *key, p11s_alg alg, const char *msg, size_t len, uint8_t *sig, size_t *siglen)
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	int r = -1;

	if (m == NULL ||
	    EVP_DigestSignInit(m, &pctx, alg == P11S_ALG_ES384 ? EVP_sha384() : EVP_sha256(), NULL,
			       key) != 1)
		goto out;
	if (alg == P11S_ALG_PS256 &&
	    (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
	     EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) != 1 ||
	     EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) != 1))
		goto out;
	if (EVP_DigestSign(m, sig, siglen, (const unsigned char *)msg, len) != 1)
		goto out;
	r = 0;
out:
	EVP_MD_CTX_free(m);
	return r;
}

int
tk_sign_der(EVP_PKEY *key, const char *msg, uint8_t *sig, size_t *siglen)
{
	return evp_sign(key, P11S_ALG_ES256, msg, strlen(msg), sig, siglen);
}

static int
sign_len(EVP_PKEY *key, p11s_alg alg, const char *msg, size_t len, uint8_t *sig, size_t *siglen)
{
	uint8_t der[256];
	size_t derlen = sizeof(der), half;
	const unsigned char *p = der;
	ECDSA_SIG *es = NULL;
	const BIGNUM *br, *bs;
	int r = -1;

	if (alg != P11S_ALG_ES256 && alg != P11S_ALG_ES384)
		return evp_sign(key, alg, msg, len, sig, siglen);
	half = alg == P11S_ALG_ES384 ? 48 : 32;
	if (*siglen < 2 * half || evp_sign(key, alg, msg, len, der, &derlen) != 0 ||
	    (es = d2i_ECDSA_SIG(NULL, &p, (long)derlen)) == NULL)
		goto out;
	ECDSA_SIG_get0(es, &br, &bs);
	if (BN_bn2binpad(br, sig, (int)half) != (int)half ||
	    BN_bn2binpad(bs, sig + half, (int)half) != (int)half)
		goto out;
	*siglen = 2 * half;
	r = 0;
out:
	ECDSA_SIG_free(es);
	return r;
}

int
tk_sign_raw(EVP_PKEY *key, p11s_alg alg, const char *msg, uint8_t *sig, size_t *siglen)
{
	return sign_len(key, alg, msg, strlen(msg), sig, siglen);
}

int
tk_sign(void *ctx, const uint8_t *msg, size_t len, uint8_t *sig, size_t *siglen)
{
	tk_signer *s = ctx;

	if (sign_len(s->key, s->alg, (const char *)msg, len, sig, siglen) != 0)
		return p11s_fail(P11S_E_CRYPTO, "test signer failed");
	if (s->truncate > 0 && s->truncate < *siglen)
		*siglen = s->truncate;
	return 0;
}

char *
tk_b64(const char *text, size_t len)
{
	char *out = NULL;

	if (p11s_b64url_encode((const uint8_t *)text, len, &out) != 0)
		abort();
	return out;
}

char *
tk_input(const char *hdr, const char *payload)
{
	char *h = tk_b64(hdr, strlen(hdr)), *p = tk_b64(payload, strlen(payload)), *out;
	size_t n = strlen(h) + strlen(p) + 2;

	if ((out = malloc(n)) == NULL)
		abort();
	snprintf(out, n, "%s.%s", h, p);
	free(h);
	free(p);
	return out;
}

char *
tk_with_sig(const char *input, const uint8_t *sig, size_t siglen)
{
	char *s = NULL, *out;
	size_t n;

	if (p11s_b64url_encode(sig, siglen, &s) != 0)
		abort();
	n = strlen(input) + strlen(s) + 2;
	if ((out = malloc(n)) == NULL)
		abort();
	snprintf(out, n, "%s.%s", input, s);
	free(s);
	return out;
}

char *
tk_token(const char *hdr, const char *payload, EVP_PKEY *key, p11s_alg alg)
{
	char *in = tk_input(hdr, payload), *out;
	uint8_t sig[1024];
	size_t siglen = sizeof(sig);

	if (tk_sign_raw(key, alg, in, sig, &siglen) != 0)
		abort();
	out = tk_with_sig(in, sig, siglen);
	free(in);
	return out;
}

jwt_verify_params
tk_params(const tk_keys *k)
{
	jwt_verify_params p = {
	    .keys = k->vkeys,
	    .n_keys = TK_NKEYS,
	    .now = TK_NOW,
	    .leeway = TK_LEEWAY,
	    .max_lifetime = TK_MAXLIFE,
	    .aud = TK_AUD,
	    .iss = TK_ISS,
	};
	return p;
}

const char *
tk_hdr(const tk_keys *k, int which)
{
	static char buf[TK_NKEYS][160];

	snprintf(buf[which], sizeof(buf[which]), "{\"alg\":\"%s\",\"typ\":\"JWT\",\"kid\":\"%s\"}",
		 tk_algs[which].name, k->kid[which]);
	return buf[which];
}

const char *
tk_claims(void)
{
	static char buf[256];

	snprintf(buf, sizeof(buf),
		 "{\"iss\":\"%s\",\"sub\":\"alice\",\"aud\":\"%s\",\"iat\":%lld,\"nbf\":%lld,"
		 "\"exp\":%lld,\"jti\":\"AAAAAAAAAAAAAAAAAAAAAA\"}",
		 TK_ISS, TK_AUD, (long long)TK_NOW, (long long)TK_NOW, (long long)TK_NOW + 600);
	return buf;
}

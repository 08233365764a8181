/*
 * signer/jose.c: adversarial tokens.  Each must be refused with its own
 * specific reason, with no claims, no key index and nothing leaked.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "tests/unit/jose_testkeys.h"

static tk_keys K;
static char *hdr_es256_b64; /* cached pieces of the good ES256 token */

static int
group_setup(void **state)
{
	const char *h;

	if (tk_keys_init(&K) != 0)
		return -1;
	h = tk_hdr(&K, TK_ES256);
	hdr_es256_b64 = tk_b64(h, strlen(h));
	return 0;
}

static int
group_teardown(void **state)
{
	free(hdr_es256_b64);
	tk_keys_free(&K);
	return 0;
}

/* The reason the next expect_bad must report (JWT_R_NONE: any). */
static jwt_reason want_reason;

static void
expect_bad_len(const char *tok, size_t len, const jwt_verify_params *vp, const char *want)
{
	jwt_result res;
	int r;

	memset(&res, 0x5a, sizeof(res)); /* cleared on entry */
	r = jwt_verify(tok, len, vp, &res);
	if (r != P11S_E_BADTOKEN || strstr(res.error, want) == NULL)
		fail_msg("expected BADTOKEN '%s', got %d '%s'", want, r, res.error);
	/* every refusal carries its class; the label is never parsed from the text */
	if (res.reason == JWT_R_NONE || strcmp(jwt_reason_name(res.reason), "none") == 0)
		fail_msg("'%s' has no reason", res.error);
	if (want_reason != JWT_R_NONE && res.reason != want_reason)
		fail_msg("'%s': reason %s, want %s", res.error, jwt_reason_name(res.reason),
			 jwt_reason_name(want_reason));
	want_reason = JWT_R_NONE;
	assert_null(res.claims);
	assert_int_equal(res.key_index, -1);
	assert_string_equal(p11s_errmsg(P11S_E_BADTOKEN), res.error);
}

static void
expect_bad(const char *tok, const char *want)
{
	jwt_verify_params vp = tk_params(&K);

	expect_bad_len(tok, strlen(tok), &vp, want);
}

/* Sign hdr.claims with our key `which` and expect the reason. */
static void
signed_bad(const char *hdr, const char *claims, int which, const char *want)
{
	char *t = tk_token(hdr, claims, K.key[which], tk_alg(which));

	expect_bad(t, want);
	free(t);
}

/* Input with a raw signature of the given bytes. */
static void
raw_sig_bad(const char *hdr, const uint8_t *sig, size_t siglen, const char *want)
{
	char *in = tk_input(hdr, tk_claims()), *t = tk_with_sig(in, sig, siglen);

	expect_bad(t, want);
	free(in);
	free(t);
}

static char *
good_es256(void)
{
	return tk_token(tk_hdr(&K, TK_ES256), tk_claims(), K.key[TK_ES256], P11S_ALG_ES256);
}

#define NOW ((long long)TK_NOW)

static char *claims_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *
claims_fmt(const char *fmt, ...)
{
	static char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return buf;
}

#define STD_CLAIMS(extra) "{\"iss\":\"" TK_ISS "\",\"aud\":\"" TK_AUD "\"" extra "}"

/* ------------------------------------------------------------ alg attacks */

static void
test_alg_none_unsigned(void **state)
{
	char *in = tk_input("{\"alg\":\"none\",\"typ\":\"JWT\"}", tk_claims()), t[1024];

	snprintf(t, sizeof(t), "%s.", in);
	expect_bad(t, "unsupported alg \"none\"");
	free(in);
}

static void
test_alg_none_with_signature(void **state)
{
	signed_bad("{\"alg\":\"none\"}", tk_claims(), TK_ES256, "unsupported alg \"none\"");
	signed_bad("{\"alg\":\"nOnE\"}", tk_claims(), TK_ES256, "unsupported alg \"nOnE\"");
}

static void
test_alg_hs256_key_confusion(void **state)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *pem = NULL, *in = tk_input("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", tk_claims()), *t;
	long pemlen;
	uint8_t mac[32];
	size_t maclen = 0;

	assert_int_equal(PEM_write_bio_PUBKEY(b, K.key[TK_RS256]), 1);
	pemlen = BIO_get_mem_data(b, &pem);
	assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, pem, (size_t)pemlen,
				  (const unsigned char *)in, strlen(in), mac, sizeof(mac),
				  &maclen));
	t = tk_with_sig(in, mac, maclen);
	expect_bad(t, "alg \"HS256\" is never accepted");
	free(t);
	free(in);
	BIO_free(b);
}

static void
test_alg_hs512(void **state)
{
	signed_bad("{\"alg\":\"HS512\"}", tk_claims(), TK_RS256, "alg \"HS512\" is never accepted");
}

static void
test_alg_unknown(void **state)
{
	signed_bad("{\"alg\":\"ES512\"}", tk_claims(), TK_ES256, "unsupported alg \"ES512\"");
	signed_bad("{\"alg\":\"es256\"}", tk_claims(), TK_ES256, "unsupported alg \"es256\"");
}

static void
test_alg_missing_or_not_string(void **state)
{
	signed_bad("{\"typ\":\"JWT\"}", tk_claims(), TK_ES256, "alg missing");
	signed_bad("{\"alg\":256}", tk_claims(), TK_ES256, "alg is not a string");
}

static void
test_rs256_header_on_ec_key(void **state)
{
	char h[160];

	/* Signed with RS256 by the attacker's RSA key, naming our EC key. */
	snprintf(h, sizeof(h), "{\"alg\":\"RS256\",\"kid\":\"%s\"}", K.kid[TK_ES256]);
	{
		char *t = tk_token(h, tk_claims(), K.atk_rsa, P11S_ALG_RS256);

		expect_bad(t, "alg 'RS256' does not match the key's ES256");
		free(t);
	}
}

static void
test_es256_header_with_rsa_kid(void **state)
{
	char h[160];
	char *t;

	snprintf(h, sizeof(h), "{\"alg\":\"ES256\",\"kid\":\"%s\"}", K.kid[TK_RS256]);
	t = tk_token(h, tk_claims(), K.atk_ec, P11S_ALG_ES256);
	expect_bad(t, "alg 'ES256' does not match the key's RS256");
	free(t);
}

static void
test_ps256_header_on_rs256_key(void **state)
{
	char h[160];

	/* A genuine PSS signature by the key, but the key is bound to RS256. */
	snprintf(h, sizeof(h), "{\"alg\":\"PS256\",\"kid\":\"%s\"}", K.kid[TK_RS256]);
	{
		char *t = tk_token(h, tk_claims(), K.key[TK_RS256], P11S_ALG_PS256);

		expect_bad(t, "alg 'PS256' does not match the key's RS256");
		free(t);
	}
}

static void
test_alg_without_kid_matches_no_key(void **state)
{
	jwt_verify_params vp = tk_params(&K);
	char *t = tk_token("{\"alg\":\"RS256\"}", tk_claims(), K.key[TK_RS256], P11S_ALG_RS256);

	vp.n_keys = 2; /* ES256 and ES384 only */
	expect_bad_len(t, strlen(t), &vp, "alg 'RS256' does not match the alg of any key");
	free(t);
}

/* ------------------------------------------------------ EC signature form */

static void
test_ec_r_s_zero(void **state)
{
	uint8_t sig[64] = {0};

	raw_sig_bad(tk_hdr(&K, TK_ES256), sig, sizeof(sig),
		    "ES256 signature has r or s equal to zero");
}

static void
test_ec_s_zero(void **state)
{
	char *t = good_es256();
	uint8_t sig[64];
	size_t len = sizeof(sig);
	char *in = tk_input(tk_hdr(&K, TK_ES256), tk_claims());

	assert_int_equal(tk_sign_raw(K.key[TK_ES256], P11S_ALG_ES256, in, sig, &len), 0);
	memset(sig + 32, 0, 32);
	raw_sig_bad(tk_hdr(&K, TK_ES256), sig, sizeof(sig), "r or s equal to zero");
	free(in);
	free(t);
}

static const uint8_t p256_order[32] = {
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
};

static void
test_ec_r_equals_order(void **state)
{
	uint8_t sig[64] = {0};

	memcpy(sig, p256_order, 32);
	sig[63] = 1;
	raw_sig_bad(tk_hdr(&K, TK_ES256), sig, sizeof(sig), "not below the P-256 group order");
}

static void
test_ec_s_all_ones(void **state)
{
	uint8_t sig[96];

	memset(sig, 0xff, sizeof(sig));
	raw_sig_bad(tk_hdr(&K, TK_ES384), sig, sizeof(sig), "not below the P-384 group order");
}

static void
test_ec_der_signature(void **state)
{
	char *in = tk_input(tk_hdr(&K, TK_ES256), tk_claims()), *t, want[64];
	uint8_t der[80];
	size_t len = sizeof(der);

	assert_int_equal(tk_sign_der(K.key[TK_ES256], in, der, &len), 0);
	t = tk_with_sig(in, der, len);
	snprintf(want, sizeof(want), "ES256 signature must be 64 bytes, got %zu", len);
	expect_bad(t, want);
	free(t);
	free(in);
}

static void
test_ec_signature_short_long(void **state)
{
	char *in = tk_input(tk_hdr(&K, TK_ES256), tk_claims()), *t;
	uint8_t sig[65];
	size_t len = 64;

	assert_int_equal(tk_sign_raw(K.key[TK_ES256], P11S_ALG_ES256, in, sig, &len), 0);
	t = tk_with_sig(in, sig, 63);
	expect_bad(t, "ES256 signature must be 64 bytes, got 63");
	free(t);
	sig[64] = 0;
	t = tk_with_sig(in, sig, 65);
	expect_bad(t, "ES256 signature must be 64 bytes, got 65");
	free(t);
	free(in);
}

static void
test_rsa_signature_short(void **state)
{
	char *in = tk_input(tk_hdr(&K, TK_RS256), tk_claims()), *t;
	uint8_t sig[256];
	size_t len = sizeof(sig);

	assert_int_equal(tk_sign_raw(K.key[TK_RS256], P11S_ALG_RS256, in, sig, &len), 0);
	t = tk_with_sig(in, sig + 1, 255);
	expect_bad(t, "RS256 signature must be 256 bytes, got 255");
	free(t);
	free(in);
}

/* ---------------------------------------------------------- base64url form */

static const char b64u[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Set the lowest unused bit of the last character of a segment. */
static void
set_trailing_bit(char *c)
{
	int v = (int)(strchr(b64u, *c) - b64u);

	*c = b64u[v | 1];
}

static void
test_noncanonical_signature(void **state)
{
	char *t = good_es256();

	set_trailing_bit(t + strlen(t) - 1); /* 64 bytes: 4 unused bits */
	expect_bad(t, "signature is not canonical base64url");
	free(t);
}

static void
test_noncanonical_header(void **state)
{
	char *in, *t;
	char *h = tk_b64("{\"alg\":\"ES256\" }", 16); /* 16 bytes: 2 unused bits */
	char *p = tk_b64(tk_claims(), strlen(tk_claims()));
	uint8_t sig[64];
	size_t len = sizeof(sig), n;

	set_trailing_bit(h + strlen(h) - 1);
	n = strlen(h) + strlen(p) + 2;
	in = malloc(n);
	assert_non_null(in);
	snprintf(in, n, "%s.%s", h, p);
	assert_int_equal(tk_sign_raw(K.key[TK_ES256], P11S_ALG_ES256, in, sig, &len), 0);
	t = tk_with_sig(in, sig, len);
	expect_bad(t, "header is not canonical base64url");
	free(t);
	free(in);
	free(h);
	free(p);
}

static void
test_impossible_length(void **state)
{
	char *t = good_es256(), buf[1024];

	snprintf(buf, sizeof(buf), "%sA", t);  /* 87 characters: length mod 4 == 3 -> 87 ok; */
	snprintf(buf, sizeof(buf), "%sAA", t); /* 88: fine length, but 66 bytes */
	expect_bad(buf, "ES256 signature must be 64 bytes, got 66");
	snprintf(buf, sizeof(buf), "%sAAA", t); /* 89 mod 4 == 1: impossible */
	expect_bad(buf, "signature is not canonical base64url");
	free(t);
}

static void
test_padding(void **state)
{
	char *t = good_es256(), buf[1024];

	snprintf(buf, sizeof(buf), "%s==", t);
	expect_bad(buf, "signature has base64 padding '='");
	free(t);
}

static void
test_plus_slash(void **state)
{
	char *t = good_es256();
	char *sig = strrchr(t, '.') + 1;

	sig[0] = '+';
	expect_bad(t, "signature uses the base64 characters '+' or '/'");
	sig[0] = '/';
	expect_bad(t, "signature uses the base64 characters '+' or '/'");
	free(t);
}

static void
test_whitespace(void **state)
{
	char *t = good_es256(), buf[1024];
	size_t hl = strlen(hdr_es256_b64);

	snprintf(buf, sizeof(buf), "%.*s %s", (int)(hl + 5), t, t + hl + 5);
	expect_bad(buf, "payload contains whitespace");
	snprintf(buf, sizeof(buf), "%s\n", t);
	expect_bad(buf, "signature contains whitespace");
	free(t);
}

/* ------------------------------------------------------------------ shape */

static void
test_dots(void **state)
{
	char *t = good_es256(), buf[1024];

	expect_bad(hdr_es256_b64, "exactly three dot-separated parts, found 1");
	snprintf(buf, sizeof(buf), "%s.%s", t, "AAAA");
	expect_bad(buf, "exactly three dot-separated parts, found 4");
	snprintf(buf, sizeof(buf), "%s.%s.%s", t, "AAAA", "AAAA");
	expect_bad(buf, "exactly three dot-separated parts, found 5");
	expect_bad("", "exactly three dot-separated parts, found 1");
	free(t);
}

static void
test_empty_parts(void **state)
{
	char *t = good_es256(), buf[1024];
	const char *d1 = strchr(t, '.'), *d2 = strrchr(t, '.');

	expect_bad("..", "header is empty");
	snprintf(buf, sizeof(buf), "%s", d1); /* ".payload.sig" */
	expect_bad(buf, "header is empty");
	snprintf(buf, sizeof(buf), "%.*s.%s", (int)(d1 - t), t, d2); /* "hdr..sig" */
	expect_bad(buf, "payload is empty");
	snprintf(buf, sizeof(buf), "%.*s.", (int)(d2 - t), t); /* "hdr.payload." */
	expect_bad(buf, "signature is empty");
	free(t);
}

static void
test_nul_byte(void **state)
{
	char *t = good_es256();
	jwt_verify_params vp = tk_params(&K);
	size_t len = strlen(t);

	t[len - 3] = '\0';
	expect_bad_len(t, len, &vp, "token contains a NUL byte");
	free(t);
}

static void
test_too_large(void **state)
{
	size_t len = 1u << 20;
	char *t = malloc(len + 1);
	jwt_verify_params vp = tk_params(&K);

	assert_non_null(t);
	memset(t, 'A', len);
	t[100] = '.';
	t[200] = '.';
	t[len] = '\0';
	expect_bad_len(t, len, &vp, "token larger than 8192 bytes");
	/* One byte over the cap is enough. */
	expect_bad_len(t, JWT_MAX_LEN + 1, &vp, "token larger than 8192 bytes");
	free(t);
}

/* ------------------------------------------------------------ header JSON */

static void
test_header_not_object(void **state)
{
	signed_bad("[\"alg\",\"ES256\"]", tk_claims(), TK_ES256, "header is not a JSON object");
	signed_bad("\"ES256\"", tk_claims(), TK_ES256, "header is not a JSON object");
	signed_bad("42", tk_claims(), TK_ES256, "header is not a JSON object");
	signed_bad("null", tk_claims(), TK_ES256, "header is not a JSON object");
}

static void
test_header_invalid_utf8(void **state)
{
	signed_bad("{\"alg\":\"ES256\",\"x\":\"\xff\xfe\"}", tk_claims(), TK_ES256,
		   "header is not valid UTF-8");
}

static void
test_header_garbage(void **state)
{
	signed_bad("{\"alg\":", tk_claims(), TK_ES256, "header is not valid JSON");
	signed_bad("{\"alg\":\"ES256\"} trailing", tk_claims(), TK_ES256,
		   "header is not valid JSON");
	signed_bad("\xef\xbb\xbf{\"alg\":\"ES256\"}", tk_claims(), TK_ES256,
		   "header is not valid JSON");
}

static void
test_header_duplicate_alg(void **state)
{
	signed_bad("{\"alg\":\"ES256\",\"alg\":\"none\"}", tk_claims(), TK_ES256,
		   "duplicate member in header");
	signed_bad("{\"alg\":\"none\",\"alg\":\"ES256\"}", tk_claims(), TK_ES256,
		   "duplicate member in header");
}

static void
test_header_deep(void **state)
{
	size_t depth = 3000;
	char *h = malloc(2 * depth + 1), *t;

	assert_non_null(h);
	memset(h, '[', depth);
	memset(h + depth, ']', depth);
	h[2 * depth] = '\0';
	t = tk_token(h, "{}", K.key[TK_ES256], P11S_ALG_ES256);
	assert_true(strlen(t) <= JWT_MAX_LEN);
	expect_bad(t, "header is nested too deeply");
	free(t);
	free(h);
}

static void
test_crit(void **state)
{
	signed_bad("{\"alg\":\"ES256\",\"crit\":[\"exp\"],\"exp\":1}", tk_claims(), TK_ES256,
		   "crit header is not supported");
	signed_bad("{\"alg\":\"ES256\",\"crit\":[]}", tk_claims(), TK_ES256,
		   "crit header is not supported");
	signed_bad("{\"alg\":\"ES256\",\"b64\":false,\"crit\":[\"b64\"]}", tk_claims(), TK_ES256,
		   "crit header is not supported");
}

static void
test_cty(void **state)
{
	signed_bad("{\"alg\":\"ES256\",\"cty\":\"JWT\"}", tk_claims(), TK_ES256,
		   "cty header is not supported");
}

static void
test_typ(void **state)
{
	signed_bad("{\"alg\":\"ES256\",\"typ\":\"JWS\"}", tk_claims(), TK_ES256,
		   "typ \"JWS\" is not JWT");
	signed_bad("{\"alg\":\"ES256\",\"typ\":\"at+jwt\"}", tk_claims(), TK_ES256,
		   "typ \"at+jwt\" is not JWT");
	signed_bad("{\"alg\":\"ES256\",\"typ\":1}", tk_claims(), TK_ES256, "typ is not a string");
}

static void
test_kid_unknown(void **state)
{
	signed_bad("{\"alg\":\"ES256\",\"kid\":\"no-such-key\"}", tk_claims(), TK_ES256,
		   "unknown kid \"no-such-key\"");
	signed_bad("{\"alg\":\"ES256\",\"kid\":\"\"}", tk_claims(), TK_ES256, "unknown kid \"\"");
}

static void
test_kid_long_or_not_string(void **state)
{
	char h[256];

	snprintf(h, sizeof(h), "{\"alg\":\"ES256\",\"kid\":\"%s%s\"}", K.kid[TK_ES256],
		 K.kid[TK_ES256]);
	signed_bad(h, tk_claims(), TK_ES256, "longer than any thumbprint");
	signed_bad("{\"alg\":\"ES256\",\"kid\":7}", tk_claims(), TK_ES256, "kid is not a string");
}

/* ------------------------------------------- embedded keys are not trusted */

static void
attacker_signed(const char *hdr, const char *want)
{
	char *t = tk_token(hdr, tk_claims(), K.atk_ec, P11S_ALG_ES256);

	expect_bad(t, want);
	free(t);
}

static void
test_jwk_header(void **state)
{
	json_t *jwk = NULL, *h;
	char *txt;

	assert_int_equal(jose_jwk(K.atk_ec, P11S_ALG_ES256, "attacker", NULL, &jwk), 0);
	h = json_pack("{s:s, s:o}", "alg", "ES256", "jwk", jwk);
	txt = json_dumps(h, JSON_COMPACT);
	attacker_signed(txt, "no key of the verification set verifies the signature");
	free(txt);
	json_decref(h);
}

static void
test_jku_header(void **state)
{
	attacker_signed("{\"alg\":\"ES256\",\"jku\":\"https://attacker.test/jwks.json\"}",
			"no key of the verification set verifies the signature");
}

static void
test_x5u_header(void **state)
{
	attacker_signed("{\"alg\":\"ES256\",\"x5u\":\"https://attacker.test/cert.pem\"}",
			"no key of the verification set verifies the signature");
}

static void
test_x5c_header(void **state)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	unsigned char *der = NULL;
	int len;
	char *b64 = NULL, hdr[2048];
	size_t blen;

	assert_non_null(x);
	assert_int_equal(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
						    (const unsigned char *)"attacker", -1, -1, 0),
			 1);
	assert_int_equal(X509_set_subject_name(x, n), 1);
	assert_int_equal(X509_set_issuer_name(x, n), 1);
	assert_int_equal(X509_set_pubkey(x, K.atk_ec), 1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), -3600));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 3600));
	assert_true(X509_sign(x, K.atk_ec, EVP_sha256()) > 0);
	len = i2d_X509(x, &der);
	assert_true(len > 0);
	blen = 4 * (((size_t)len + 2) / 3) + 1;
	b64 = malloc(blen);
	assert_non_null(b64);
	assert_int_equal(EVP_EncodeBlock((unsigned char *)b64, der, len), (int)blen - 1);
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"ES256\",\"x5c\":[\"%s\"]}", b64);
	attacker_signed(hdr, "no key of the verification set verifies the signature");
	/* Naming our kid does not help either. */
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"ES256\",\"kid\":\"%s\",\"x5c\":[\"%s\"]}",
		 K.kid[TK_ES256], b64);
	attacker_signed(hdr, "no key of the verification set verifies the signature");
	free(b64);
	OPENSSL_free(der);
	X509_NAME_free(n);
	X509_free(x);
}

/* ------------------------------------------------------- splicing, tamper */

static void
test_spliced_signature(void **state)
{
	char *a = good_es256(), buf[1024];
	char *b = tk_token(tk_hdr(&K, TK_ES256),
			   claims_fmt("{\"iss\":\"" TK_ISS "\",\"aud\":\"" TK_AUD
				      "\",\"sub\":\"mallory\","
				      "\"iat\":%lld,\"nbf\":%lld,\"exp\":%lld}",
				      NOW, NOW, NOW + 60),
			   K.key[TK_ES256], P11S_ALG_ES256);

	snprintf(buf, sizeof(buf), "%.*s%s", (int)(strrchr(b, '.') - b), b, strrchr(a, '.'));
	expect_bad(buf, "no key of the verification set verifies the signature");
	free(a);
	free(b);
}

static void
test_payload_modified(void **state)
{
	char *t = good_es256(), *in, buf[1024];
	const char *d1 = strchr(t, '.'), *d2 = strrchr(t, '.');
	char *p = tk_b64(
	    claims_fmt(STD_CLAIMS(",\"sub\":\"admin\",\"iat\":%lld,\"nbf\":%lld,\"exp\":%lld"), NOW,
		       NOW, NOW + 600),
	    strlen(
		claims_fmt(STD_CLAIMS(",\"sub\":\"admin\",\"iat\":%lld,\"nbf\":%lld,\"exp\":%lld"),
			   NOW, NOW, NOW + 600)));

	in = t;
	snprintf(buf, sizeof(buf), "%.*s.%s%s", (int)(d1 - in), in, p, d2);
	expect_bad(buf, "no key of the verification set verifies the signature");
	free(p);
	free(t);
}

static void
test_header_modified(void **state)
{
	char *t = good_es256(), buf[1024], hdr[256];
	const char *d1 = strchr(t, '.');
	char *h;

	snprintf(hdr, sizeof(hdr), "{\"alg\":\"ES256\",\"typ\":\"JWT\",\"kid\":\"%s\",\"x\":1}",
		 K.kid[TK_ES256]);
	h = tk_b64(hdr, strlen(hdr));
	snprintf(buf, sizeof(buf), "%s%s", h, d1);
	expect_bad(buf, "no key of the verification set verifies the signature");
	free(h);
	free(t);
}

static void
test_rs256_signed_as_pss(void **state)
{
	char *t = tk_token(tk_hdr(&K, TK_RS256), tk_claims(), K.key[TK_RS256], P11S_ALG_PS256);

	expect_bad(t, "no key of the verification set verifies the signature");
	free(t);
}

/* ---------------------------------------------------------------- claims */

static void
test_claims_duplicate_exp(void **state)
{
	signed_bad(tk_hdr(&K, TK_ES256),
		   claims_fmt(STD_CLAIMS(",\"iat\":%lld,\"exp\":%lld,\"exp\":%lld"), NOW, NOW + 60,
			      NOW + 999999999),
		   TK_ES256, "duplicate member in claims");
}

static void
test_claims_not_object(void **state)
{
	signed_bad(tk_hdr(&K, TK_ES256), "[1,2,3]", TK_ES256, "claims is not a JSON object");
	signed_bad(tk_hdr(&K, TK_ES256), "{\"exp\":", TK_ES256, "claims is not valid JSON");
}

static void
test_claims_deep(void **state)
{
	size_t depth = 3000;
	char *c = malloc(2 * depth + 8), *t;

	assert_non_null(c);
	memcpy(c, "{\"a\":", 5);
	memset(c + 5, '[', depth);
	memset(c + 5 + depth, ']', depth);
	memcpy(c + 5 + 2 * depth, "}", 2);
	t = tk_token("{\"alg\":\"ES256\"}", c, K.key[TK_ES256], P11S_ALG_ES256);
	assert_true(strlen(t) <= JWT_MAX_LEN);
	expect_bad(t, "claims is nested too deeply");
	free(t);
	free(c);
}

static void
test_claims_10000_deep(void **state)
{
	size_t depth = 10000;
	char *c = malloc(2 * depth + 1), *t;
	json_error_t e;

	assert_non_null(c);
	memset(c, '[', depth);
	memset(c + depth, ']', depth);
	c[2 * depth] = '\0';
	/* The size cap refuses it unread... */
	t = tk_token("{\"alg\":\"ES256\"}", c, K.key[TK_ES256], P11S_ALG_ES256);
	expect_bad(t, "token larger than 8192 bytes");
	/* ...and the parser we rely on refuses the depth cleanly on its own. */
	assert_null(json_loadb(c, 2 * depth, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &e));
	assert_int_equal(json_error_code(&e), json_error_stack_overflow);
	free(t);
	free(c);
}

static void
test_exp_missing(void **state)
{
	signed_bad(tk_hdr(&K, TK_ES256),
		   claims_fmt(STD_CLAIMS(",\"iat\":%lld,\"nbf\":%lld"), NOW, NOW), TK_ES256,
		   "exp missing");
}

static void
test_exp_string(void **state)
{
	signed_bad(tk_hdr(&K, TK_ES256),
		   claims_fmt(STD_CLAIMS(",\"iat\":%lld,\"exp\":\"%lld\""), NOW, NOW + 60),
		   TK_ES256, "exp is not a number");
}

static void
test_exp_float(void **state)
{
	signed_bad(tk_hdr(&K, TK_ES256),
		   claims_fmt(STD_CLAIMS(",\"iat\":%lld,\"exp\":%lld.5"), NOW, NOW + 60), TK_ES256,
		   "exp is not an integer");
	signed_bad(tk_hdr(&K, TK_ES256),
		   claims_fmt(STD_CLAIMS(",\"iat\":%lld,\"exp\":%lld.0"), NOW, NOW + 60), TK_ES256,
		   "exp is not an integer");
}

static void
test_exp_too_big(void **state)
{
	signed_bad(tk_hdr(&K, TK_ES256),
		   claims_fmt(STD_CLAIMS(",\"iat\":%lld,\"exp\":99999999999999999999999"), NOW),
		   TK_ES256, "claims is not valid JSON");
}

static void
test_nbf_iat_types(void **state)
{
	signed_bad(tk_hdr(&K, TK_ES256),
		   claims_fmt(STD_CLAIMS(",\"nbf\":null,\"iat\":%lld,\"exp\":%lld"), NOW, NOW + 60),
		   TK_ES256, "nbf is not a number");
	signed_bad(tk_hdr(&K, TK_ES256),
		   claims_fmt(STD_CLAIMS(",\"iat\":true,\"exp\":%lld"), NOW + 60), TK_ES256,
		   "iat is not a number");
}

/* The reason of each failure class, as metrics and the API report it. */
static void
test_reasons(void **state)
{
	jwt_verify_params vp = tk_params(&K);
	char c[256];

	(void)state;
	want_reason = JWT_R_MALFORMED;
	expect_bad("..", "header is empty");
	want_reason = JWT_R_ALGORITHM;
	signed_bad("{\"alg\":\"none\"}", tk_claims(), TK_ES256, "unsupported alg");
	want_reason = JWT_R_UNKNOWN_KEY;
	signed_bad("{\"alg\":\"ES256\",\"kid\":\"no-such-key\"}", tk_claims(), TK_ES256,
		   "unknown kid");
	want_reason = JWT_R_EXPIRED;
	signed_bad(tk_hdr(&K, TK_ES256),
		   claims_fmt(STD_CLAIMS(",\"iat\":%lld,\"exp\":%lld"), NOW - 600, NOW - TK_LEEWAY),
		   TK_ES256, "token expired");
	snprintf(c, sizeof(c), "{\"iss\":\"%s\",\"aud\":\"other\",\"iat\":%lld,\"exp\":%lld}",
		 TK_ISS, (long long)TK_NOW, (long long)TK_NOW + 60);
	want_reason = JWT_R_AUDIENCE;
	signed_bad(tk_hdr(&K, TK_ES256), c, TK_ES256, "aud mismatch");
	vp.n_keys = 0;
	want_reason = JWT_R_NO_KEY;
	expect_bad_len("a.b.c", 5, &vp, "verification set is empty");
	assert_string_equal(jwt_reason_name(JWT_R_KEY_REMOVED), "key_removed");
	assert_string_equal(jwt_reason_name(JWT_R_KEY_EXPIRED), "key_expired");
	assert_string_equal(jwt_reason_name(JWT_R_KEY_RETIRED), "key_retired");
}

static void
test_expired(void **state)
{
	/* exactly at exp + leeway is too late */
	signed_bad(tk_hdr(&K, TK_ES256),
		   claims_fmt(STD_CLAIMS(",\"iat\":%lld,\"exp\":%lld"), NOW - 600, NOW - TK_LEEWAY),
		   TK_ES256, "token expired at 2023-11-14T22:12:20Z");
}

static void
test_nbf_future(void **state)
{
	signed_bad(
	    tk_hdr(&K, TK_ES256),
	    claims_fmt(STD_CLAIMS(",\"nbf\":%lld,\"exp\":%lld"), NOW + TK_LEEWAY + 1, NOW + 600),
	    TK_ES256, "token not valid before 2023-11-14T22:14:21Z");
}

static void
test_iat_future(void **state)
{
	signed_bad(tk_hdr(&K, TK_ES256),
		   claims_fmt(STD_CLAIMS(",\"iat\":%lld,\"nbf\":%lld,\"exp\":%lld"),
			      NOW + TK_LEEWAY + 1, NOW, NOW + 600),
		   TK_ES256, "iat in the future");
}

static void
test_lifetime_over_cap(void **state)
{
	signed_bad(tk_hdr(&K, TK_ES256),
		   claims_fmt(STD_CLAIMS(",\"iat\":%lld,\"nbf\":%lld,\"exp\":%lld"), NOW, NOW,
			      NOW + TK_MAXLIFE + 1),
		   TK_ES256, "lifetime exceeds the type's token lifetime");
	/* Without iat the lifetime is measured from nbf. */
	signed_bad(tk_hdr(&K, TK_ES256),
		   claims_fmt(STD_CLAIMS(",\"nbf\":%lld,\"exp\":%lld"), NOW - 10, NOW + TK_MAXLIFE),
		   TK_ES256, "lifetime exceeds the type's token lifetime");
	/* Far past iat with a far future exp: no overflow. */
	signed_bad(tk_hdr(&K, TK_ES256),
		   claims_fmt(STD_CLAIMS(",\"iat\":%lld,\"exp\":%lld"), -9223372036854775807LL,
			      9223372036854775807LL),
		   TK_ES256, "lifetime exceeds the type's token lifetime");
}

static void
test_iat_and_nbf_missing(void **state)
{
	signed_bad(tk_hdr(&K, TK_ES256), claims_fmt(STD_CLAIMS(",\"exp\":%lld"), NOW + 60),
		   TK_ES256, "iat missing");
}

static void
test_exp_before_iat(void **state)
{
	signed_bad(tk_hdr(&K, TK_ES256),
		   claims_fmt(STD_CLAIMS(",\"iat\":%lld,\"exp\":%lld"), NOW, NOW - 5), TK_ES256,
		   "exp is not after iat");
}

static void
test_aud(void **state)
{
	char c[256];

	snprintf(c, sizeof(c), "{\"iss\":\"%s\",\"aud\":\"other\",\"iat\":%lld,\"exp\":%lld}",
		 TK_ISS, (long long)TK_NOW, (long long)TK_NOW + 60);
	signed_bad(tk_hdr(&K, TK_ES256), c, TK_ES256, "aud mismatch");
	snprintf(c, sizeof(c),
		 "{\"iss\":\"%s\",\"aud\":[\"other\",\"API\"],\"iat\":%lld,\"exp\":%lld}", TK_ISS,
		 (long long)TK_NOW, (long long)TK_NOW + 60);
	signed_bad(tk_hdr(&K, TK_ES256), c, TK_ES256, "aud mismatch");
	snprintf(c, sizeof(c), "{\"iss\":\"%s\",\"aud\":[\"api\",1],\"iat\":%lld,\"exp\":%lld}",
		 TK_ISS, (long long)TK_NOW, (long long)TK_NOW + 60);
	signed_bad(tk_hdr(&K, TK_ES256), c, TK_ES256, "aud is not a string or an array of strings");
	snprintf(c, sizeof(c), "{\"iss\":\"%s\",\"iat\":%lld,\"exp\":%lld}", TK_ISS,
		 (long long)TK_NOW, (long long)TK_NOW + 60);
	signed_bad(tk_hdr(&K, TK_ES256), c, TK_ES256, "aud missing");
}

static void
test_iss(void **state)
{
	char c[256];

	snprintf(c, sizeof(c),
		 "{\"iss\":\"https://evil.test\",\"aud\":\"%s\",\"iat\":%lld,\"exp\":%lld}", TK_AUD,
		 (long long)TK_NOW, (long long)TK_NOW + 60);
	signed_bad(tk_hdr(&K, TK_ES256), c, TK_ES256, "iss mismatch");
	snprintf(c, sizeof(c), "{\"iss\":[\"%s\"],\"aud\":\"%s\",\"iat\":%lld,\"exp\":%lld}",
		 TK_ISS, TK_AUD, (long long)TK_NOW, (long long)TK_NOW + 60);
	signed_bad(tk_hdr(&K, TK_ES256), c, TK_ES256, "iss mismatch");
	snprintf(c, sizeof(c), "{\"aud\":\"%s\",\"iat\":%lld,\"exp\":%lld}", TK_AUD,
		 (long long)TK_NOW, (long long)TK_NOW + 60);
	signed_bad(tk_hdr(&K, TK_ES256), c, TK_ES256, "iss missing");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_alg_none_unsigned),
	    cmocka_unit_test(test_alg_none_with_signature),
	    cmocka_unit_test(test_alg_hs256_key_confusion),
	    cmocka_unit_test(test_alg_hs512),
	    cmocka_unit_test(test_alg_unknown),
	    cmocka_unit_test(test_alg_missing_or_not_string),
	    cmocka_unit_test(test_rs256_header_on_ec_key),
	    cmocka_unit_test(test_es256_header_with_rsa_kid),
	    cmocka_unit_test(test_ps256_header_on_rs256_key),
	    cmocka_unit_test(test_alg_without_kid_matches_no_key),
	    cmocka_unit_test(test_ec_r_s_zero),
	    cmocka_unit_test(test_ec_s_zero),
	    cmocka_unit_test(test_ec_r_equals_order),
	    cmocka_unit_test(test_ec_s_all_ones),
	    cmocka_unit_test(test_ec_der_signature),
	    cmocka_unit_test(test_ec_signature_short_long),
	    cmocka_unit_test(test_rsa_signature_short),
	    cmocka_unit_test(test_noncanonical_signature),
	    cmocka_unit_test(test_noncanonical_header),
	    cmocka_unit_test(test_impossible_length),
	    cmocka_unit_test(test_padding),
	    cmocka_unit_test(test_plus_slash),
	    cmocka_unit_test(test_whitespace),
	    cmocka_unit_test(test_dots),
	    cmocka_unit_test(test_empty_parts),
	    cmocka_unit_test(test_nul_byte),
	    cmocka_unit_test(test_too_large),
	    cmocka_unit_test(test_header_not_object),
	    cmocka_unit_test(test_header_invalid_utf8),
	    cmocka_unit_test(test_header_garbage),
	    cmocka_unit_test(test_header_duplicate_alg),
	    cmocka_unit_test(test_header_deep),
	    cmocka_unit_test(test_crit),
	    cmocka_unit_test(test_cty),
	    cmocka_unit_test(test_typ),
	    cmocka_unit_test(test_kid_unknown),
	    cmocka_unit_test(test_kid_long_or_not_string),
	    cmocka_unit_test(test_jwk_header),
	    cmocka_unit_test(test_jku_header),
	    cmocka_unit_test(test_x5u_header),
	    cmocka_unit_test(test_x5c_header),
	    cmocka_unit_test(test_spliced_signature),
	    cmocka_unit_test(test_payload_modified),
	    cmocka_unit_test(test_header_modified),
	    cmocka_unit_test(test_rs256_signed_as_pss),
	    cmocka_unit_test(test_claims_duplicate_exp),
	    cmocka_unit_test(test_claims_not_object),
	    cmocka_unit_test(test_claims_deep),
	    cmocka_unit_test(test_claims_10000_deep),
	    cmocka_unit_test(test_exp_missing),
	    cmocka_unit_test(test_exp_string),
	    cmocka_unit_test(test_exp_float),
	    cmocka_unit_test(test_exp_too_big),
	    cmocka_unit_test(test_nbf_iat_types),
	    cmocka_unit_test(test_expired),
	    cmocka_unit_test(test_reasons),
	    cmocka_unit_test(test_nbf_future),
	    cmocka_unit_test(test_iat_future),
	    cmocka_unit_test(test_lifetime_over_cap),
	    cmocka_unit_test(test_iat_and_nbf_missing),
	    cmocka_unit_test(test_exp_before_iat),
	    cmocka_unit_test(test_aud),
	    cmocka_unit_test(test_iss),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

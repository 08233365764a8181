/* signer/jose.c: issue, verify round trips, thumbprints, JWK, key order. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>

#include "tests/unit/jose_testkeys.h"

static tk_keys K;

static int
group_setup(void **state)
{
	return tk_keys_init(&K);
}

static int
group_teardown(void **state)
{
	tk_keys_free(&K);
	return 0;
}

/* The decoded bytes of one segment (0 header, 1 payload) of a token. */
static uint8_t *
segment_bytes(const char *tok, int which, size_t *len)
{
	const char *s = tok, *e;
	uint8_t *buf = NULL;

	for (int i = 0; i < which; i++)
		s = strchr(s, '.') + 1;
	e = strchr(s, '.');
	assert_non_null(e);
	assert_int_equal(p11s_b64url_decode(s, (size_t)(e - s), &buf, len), 0);
	return buf;
}

/* Decode one segment of a token as JSON. */
static json_t *
segment(const char *tok, int which)
{
	size_t len = 0;
	uint8_t *buf = segment_bytes(tok, which, &len);
	json_t *j = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, NULL);

	free(buf);
	assert_non_null(j);
	return j;
}

static jwt_issue_params
issue_params(int which, tk_signer *s)
{
	jwt_issue_params p = {
	    .alg = tk_alg(which),
	    .kid = K.kid[which],
	    .x5t = K.x5t[which],
	    .iss = TK_ISS,
	    .sub = "alice",
	    .aud = TK_AUD,
	    .now = TK_NOW,
	    .lifetime = 600,
	    .claims = NULL,
	    .sign = tk_sign,
	    .sign_ctx = s,
	};
	s->key = K.key[which];
	s->alg = tk_alg(which);
	s->truncate = 0;
	return p;
}

static void
round_trip(int which)
{
	tk_signer s;
	jwt_issue_params ip = issue_params(which, &s);
	jwt_verify_params vp = tk_params(&K);
	jwt_result res;
	char *tok = NULL, *tok2 = NULL;
	p11s_time exp = 0;
	json_t *h, *c;
	uint8_t *jti = NULL, *sig = NULL;
	size_t jtilen = 0, siglen = 0;
	const char *dot;

	assert_int_equal(jwt_issue(&ip, &tok, &exp), 0);
	assert_int_equal(exp, TK_NOW + 600);

	h = segment(tok, 0);
	assert_int_equal(json_object_size(h), 4);
	assert_string_equal(json_string_value(json_object_get(h, "alg")), tk_alg_name(which));
	assert_string_equal(json_string_value(json_object_get(h, "typ")), "JWT");
	assert_string_equal(json_string_value(json_object_get(h, "kid")), K.kid[which]);
	assert_string_equal(json_string_value(json_object_get(h, "x5t")), K.x5t[which]);
	json_decref(h);

	c = segment(tok, 1);
	assert_int_equal(json_object_size(c), 7);
	assert_string_equal(json_string_value(json_object_get(c, "iss")), TK_ISS);
	assert_string_equal(json_string_value(json_object_get(c, "sub")), "alice");
	assert_string_equal(json_string_value(json_object_get(c, "aud")), TK_AUD);
	assert_int_equal(json_integer_value(json_object_get(c, "iat")), TK_NOW);
	assert_int_equal(json_integer_value(json_object_get(c, "nbf")), TK_NOW);
	assert_int_equal(json_integer_value(json_object_get(c, "exp")), TK_NOW + 600);
	assert_int_equal(json_string_length(json_object_get(c, "jti")), 22);
	assert_int_equal(
	    p11s_b64url_decode(json_string_value(json_object_get(c, "jti")), 22, &jti, &jtilen), 0);
	assert_int_equal(jtilen, 16);
	json_decref(c);

	dot = strrchr(tok, '.');
	assert_int_equal(p11s_b64url_decode(dot + 1, strlen(dot + 1), &sig, &siglen), 0);
	assert_int_equal(siglen, p11s_alg_sig_len(tk_alg(which), 2048));

	assert_int_equal(jwt_verify(tok, strlen(tok), &vp, &res), 0);
	assert_int_equal(res.key_index, which);
	assert_string_equal(res.kid, K.kid[which]);
	assert_string_equal(res.error, "");
	assert_non_null(res.claims);
	assert_string_equal(json_string_value(json_object_get(res.claims, "sub")), "alice");
	jwt_result_clear(&res);
	assert_null(res.claims);
	assert_int_equal(res.key_index, -1);

	/* Two tokens never share a jti. */
	assert_int_equal(jwt_issue(&ip, &tok2, NULL), 0);
	assert_string_not_equal(tok, tok2);
	free(jti);
	free(sig);
	free(tok);
	free(tok2);
}

static void
test_round_trip_es256(void **state)
{
	round_trip(TK_ES256);
}

static void
test_round_trip_es384(void **state)
{
	round_trip(TK_ES384);
}

static void
test_round_trip_rs256(void **state)
{
	round_trip(TK_RS256);
}

static void
test_round_trip_ps256(void **state)
{
	round_trip(TK_PS256);
}

static void
test_extra_claims(void **state)
{
	tk_signer s;
	jwt_issue_params ip = issue_params(TK_ES256, &s);
	jwt_verify_params vp = tk_params(&K);
	jwt_result res;
	json_t *extra = json_pack("{s:s, s:[i,i], s:{s:b}}", "scope", "read write", "roles", 1, 2,
				  "ctx", "admin", 0);
	char *tok = NULL;

	ip.claims = extra;
	ip.aud = NULL;
	vp.aud = NULL;
	assert_int_equal(jwt_issue(&ip, &tok, NULL), 0);
	assert_int_equal(jwt_verify(tok, strlen(tok), &vp, &res), 0);
	assert_string_equal(json_string_value(json_object_get(res.claims, "scope")), "read write");
	assert_int_equal(json_array_size(json_object_get(res.claims, "roles")), 2);
	assert_true(json_is_false(json_object_get(json_object_get(res.claims, "ctx"), "admin")));
	assert_null(json_object_get(res.claims, "aud"));
	/* The caller's object is left as it was. */
	assert_int_equal(json_object_size(extra), 3);
	jwt_result_clear(&res);
	free(tok);
	json_decref(extra);
}

static void expect_issue_fail(jwt_issue_params *ip, int code, const char *msg);

/* The segment's text is exactly what jansson's compact, sorted dump of its
 * own parse gives, and holds the strings given. */
static json_t *
canonical_segment(const char *tok, int which)
{
	size_t len = 0;
	uint8_t *buf = segment_bytes(tok, which, &len);
	json_t *j = segment(tok, which);
	char *dump = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);

	assert_non_null(dump);
	if (strlen(dump) != len || memcmp(dump, buf, len) != 0)
		fail_msg("segment %d is %.*s, jansson would write %s", which, (int)len,
			 (const char *)buf, dump);
	free(dump);
	free(buf);
	return j;
}

/* Header and registered claims are written without jansson: byte for byte
 * what jansson writes, for every character that must be escaped, and the
 * same refusal of text that is not UTF-8 (for sub: test_issue_params_refused). */
static void
test_issue_text(void **state)
{
	static const char *const texts[] = {
	    "alice",
	    "quote\" and \\ back",
	    "ctl \b\f\n\r\t \x01\x1f\x7f end",
	    "/slash/",
	    "caf\xc3\xa9 \xe2\x80\xae \xf0\x9f\x94\x91",
	    "{\"not\":\"json\"}",
	};
	tk_signer s;
	jwt_issue_params ip = issue_params(TK_ES256, &s);
	char *tok = NULL;

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		json_t *h, *c;

		ip = issue_params(TK_ES256, &s);
		ip.sub = ip.iss = ip.kid = ip.x5t = texts[i];
		ip.aud = i % 2 == 0 ? texts[i] : NULL;
		assert_int_equal(jwt_issue(&ip, &tok, NULL), 0);
		h = canonical_segment(tok, 0);
		c = canonical_segment(tok, 1);
		assert_string_equal(json_string_value(json_object_get(h, "kid")), texts[i]);
		assert_string_equal(json_string_value(json_object_get(h, "x5t")), texts[i]);
		assert_string_equal(json_string_value(json_object_get(c, "sub")), texts[i]);
		assert_string_equal(json_string_value(json_object_get(c, "iss")), texts[i]);
		if (ip.aud != NULL)
			assert_string_equal(json_string_value(json_object_get(c, "aud")), texts[i]);
		else
			assert_null(json_object_get(c, "aud"));
		json_decref(h);
		json_decref(c);
		free(tok);
	}
	ip = issue_params(TK_ES256, &s);
	ip.kid = "surrogate \xed\xa0\x80";
	expect_issue_fail(&ip, P11S_E_INVAL, "kid is not valid UTF-8");
}

/* Parsed headers are kept by their segment (a few per thread): the same
 * verdicts whether a header was seen before, after more headers than are
 * kept, and for a header that does not parse, each time. */
static void
test_header_reuse(void **state)
{
	static const char bad_hdr[] = "eyJhbGciOiJFUzI1NiIsImtpZCI6"; /* {"alg":"ES256","kid": */
	tk_signer s;
	jwt_issue_params ip = issue_params(TK_ES256, &s);
	jwt_verify_params vp = tk_params(&K);
	jwt_result res;
	char *tok = NULL, *broken, kid[16];

	assert_int_equal(jwt_issue(&ip, &tok, NULL), 0);
	for (int round = 0; round < 2; round++) {
		assert_int_equal(jwt_verify(tok, strlen(tok), &vp, &res), 0);
		assert_int_equal(res.key_index, TK_ES256);
		jwt_result_clear(&res);
		for (int i = 0; i < 6; i++) {
			char *other = NULL;

			snprintf(kid, sizeof(kid), "other-%d", i);
			ip.kid = kid;
			assert_int_equal(jwt_issue(&ip, &other, NULL), 0);
			assert_int_equal(jwt_verify(other, strlen(other), &vp, &res),
					 P11S_E_BADTOKEN);
			assert_int_equal(res.reason, JWT_R_UNKNOWN_KEY);
			assert_non_null(strstr(res.error, kid));
			jwt_result_clear(&res);
			free(other);
		}
		ip.kid = K.kid[TK_ES256];
	}
	assert_int_equal(asprintf(&broken, "%s%s", bad_hdr, strchr(tok, '.')),
			 (int)strlen(bad_hdr) + (int)strlen(strchr(tok, '.')));
	for (int round = 0; round < 2; round++) {
		assert_int_equal(jwt_verify(broken, strlen(broken), &vp, &res), P11S_E_BADTOKEN);
		assert_int_equal(res.reason, JWT_R_MALFORMED);
		assert_non_null(strstr(res.error, "header is not valid JSON"));
		jwt_result_clear(&res);
	}
	free(broken);
	free(tok);
}

static void
test_registered_claims_refused(void **state)
{
	static const char *names[] = {"iss", "sub", "aud", "iat", "nbf", "exp", "jti"};
	tk_signer s;
	jwt_issue_params ip = issue_params(TK_ES256, &s);

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		json_t *extra = json_pack("{s:s, s:i}", "scope", "x", names[i], 1);
		char dummy[] = "untouched", *tok = dummy;
		p11s_time exp = 7;
		char want[32];

		ip.claims = extra;
		assert_int_equal(jwt_issue(&ip, &tok, &exp), P11S_E_INVAL);
		snprintf(want, sizeof(want), "claim '%s'", names[i]);
		assert_non_null(strstr(p11s_errmsg(P11S_E_INVAL), want));
		assert_null(tok);
		assert_int_equal(exp, 0);
		json_decref(extra);
	}
}

static void
expect_issue_fail(jwt_issue_params *ip, int code, const char *msg)
{
	char *tok = NULL;

	assert_int_equal(jwt_issue(ip, &tok, NULL), code);
	assert_null(tok);
	if (strstr(p11s_errmsg(code), msg) == NULL)
		fail_msg("expected '%s', got '%s'", msg, p11s_errmsg(code));
}

static void
test_issue_params_refused(void **state)
{
	tk_signer s;
	jwt_issue_params ip;
	json_t *arr = json_array(), *big = json_object();
	char *longtxt = malloc(7000);
	char dummy[] = "untouched", *tok = dummy;

	assert_non_null(longtxt);
	memset(longtxt, 'a', 6999);
	longtxt[6999] = '\0';
	json_object_set_new(big, "blob", json_string(longtxt));

	ip = issue_params(TK_ES256, &s);
	assert_int_equal(jwt_issue(NULL, &tok, NULL), P11S_E_INVAL);
	assert_null(tok);
	ip.sub = NULL;
	expect_issue_fail(&ip, P11S_E_INVAL, "sub is required");
	ip = issue_params(TK_ES256, &s);
	ip.sub = "";
	expect_issue_fail(&ip, P11S_E_INVAL, "sub is required");
	ip = issue_params(TK_ES256, &s);
	ip.iss = NULL;
	expect_issue_fail(&ip, P11S_E_INVAL, "iss is required");
	ip = issue_params(TK_ES256, &s);
	ip.kid = NULL;
	expect_issue_fail(&ip, P11S_E_INVAL, "kid is required");
	ip = issue_params(TK_ES256, &s);
	ip.x5t = "";
	expect_issue_fail(&ip, P11S_E_INVAL, "x5t is required");
	ip = issue_params(TK_ES256, &s);
	ip.aud = "";
	expect_issue_fail(&ip, P11S_E_INVAL, "aud must not be empty");
	ip = issue_params(TK_ES256, &s);
	ip.alg = P11S_ALG_NONE;
	expect_issue_fail(&ip, P11S_E_INVAL, "no signing algorithm");
	ip = issue_params(TK_ES256, &s);
	ip.lifetime = 0;
	expect_issue_fail(&ip, P11S_E_INVAL, "lifetime must be positive");
	ip = issue_params(TK_ES256, &s);
	ip.lifetime = INT64_MAX;
	expect_issue_fail(&ip, P11S_E_INVAL, "overflows");
	ip = issue_params(TK_ES256, &s);
	ip.sign = NULL;
	expect_issue_fail(&ip, P11S_E_INVAL, "no signing callback");
	ip = issue_params(TK_ES256, &s);
	ip.claims = arr;
	expect_issue_fail(&ip, P11S_E_INVAL, "must be a JSON object");
	ip = issue_params(TK_ES256, &s);
	ip.sub = "caf\xc3";
	expect_issue_fail(&ip, P11S_E_INVAL, "sub is not valid UTF-8");
	ip = issue_params(TK_ES256, &s);
	ip.claims = big;
	expect_issue_fail(&ip, P11S_E_INVAL, "above the 8192-byte limit");
	/* The signer must return exactly 64 bytes for ES256. */
	ip = issue_params(TK_ES256, &s);
	s.truncate = 63;
	expect_issue_fail(&ip, P11S_E_CRYPTO, "ES256 signature has 63 bytes; expected 64");
	/* A failing signer's error is passed through. */
	ip = issue_params(TK_ES256, &s);
	s.key = K.key[TK_RS256]; /* RSA key under ES256: EVP yields no r||s */
	expect_issue_fail(&ip, P11S_E_CRYPTO, "test signer failed");
	json_decref(arr);
	json_decref(big);
	free(longtxt);
}

static void
test_thumbprints(void **state)
{
	char kid[44], x5t[28], small[10];

	/* SHA-256 and SHA-1 of the empty string. */
	assert_int_equal(
	    jose_kid_from_hex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
			      kid, sizeof(kid)),
	    0);
	assert_string_equal(kid, "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU");
	assert_int_equal(
	    jose_x5t_from_hex("da39a3ee5e6b4b0d3255bfef95601890afd80709", x5t, sizeof(x5t)), 0);
	assert_string_equal(x5t, "2jmj7l5rSw0yVb_vlWAYkK_YBwk");
	/* Upper-case hex is the same thumbprint. */
	assert_int_equal(
	    jose_x5t_from_hex("DA39A3EE5E6B4B0D3255BFEF95601890AFD80709", x5t, sizeof(x5t)), 0);
	assert_string_equal(x5t, "2jmj7l5rSw0yVb_vlWAYkK_YBwk");

	assert_int_equal(
	    jose_kid_from_hex("da39a3ee5e6b4b0d3255bfef95601890afd80709", kid, sizeof(kid)),
	    P11S_E_INVAL);
	assert_non_null(strstr(p11s_errmsg(P11S_E_INVAL), "64 hex digits"));
	assert_string_equal(kid, "");
	assert_int_equal(
	    jose_x5t_from_hex("zz39a3ee5e6b4b0d3255bfef95601890afd80709", x5t, sizeof(x5t)),
	    P11S_E_INVAL);
	assert_non_null(strstr(p11s_errmsg(P11S_E_INVAL), "40 hex digits"));
	assert_int_equal(jose_x5t_from_hex(NULL, x5t, sizeof(x5t)), P11S_E_INVAL);
	assert_int_equal(
	    jose_x5t_from_hex("da39a3ee5e6b4b0d3255bfef95601890afd80709", small, sizeof(small)),
	    P11S_E_INVAL);
	assert_non_null(strstr(p11s_errmsg(P11S_E_INVAL), "too small"));
	assert_string_equal(small, "");
}

static void
check_b64_bn(json_t *jwk, const char *name, EVP_PKEY *key, const char *param, size_t fixed)
{
	const char *v = json_string_value(json_object_get(jwk, name));
	uint8_t *buf = NULL;
	size_t len = 0;
	BIGNUM *want = NULL, *got;

	assert_non_null(v);
	assert_int_equal(p11s_b64url_decode(v, strlen(v), &buf, &len), 0);
	if (fixed != 0)
		assert_int_equal(len, fixed);
	else
		assert_true(len > 0 && buf[0] != 0); /* minimal big-endian */
	assert_int_equal(EVP_PKEY_get_bn_param(key, param, &want), 1);
	got = BN_bin2bn(buf, (int)len, NULL);
	assert_int_equal(BN_cmp(want, got), 0);
	BN_free(want);
	BN_free(got);
	free(buf);
}

static void
test_jwk(void **state)
{
	json_t *jwk = NULL;

	assert_int_equal(
	    jose_jwk(K.key[TK_ES256], P11S_ALG_ES256, K.kid[TK_ES256], K.x5t[TK_ES256], &jwk), 0);
	assert_string_equal(json_string_value(json_object_get(jwk, "kty")), "EC");
	assert_string_equal(json_string_value(json_object_get(jwk, "crv")), "P-256");
	assert_string_equal(json_string_value(json_object_get(jwk, "alg")), "ES256");
	assert_string_equal(json_string_value(json_object_get(jwk, "use")), "sig");
	assert_string_equal(json_string_value(json_object_get(jwk, "kid")), K.kid[TK_ES256]);
	assert_string_equal(json_string_value(json_object_get(jwk, "x5t")), K.x5t[TK_ES256]);
	check_b64_bn(jwk, "x", K.key[TK_ES256], OSSL_PKEY_PARAM_EC_PUB_X, 32);
	check_b64_bn(jwk, "y", K.key[TK_ES256], OSSL_PKEY_PARAM_EC_PUB_Y, 32);
	assert_int_equal(json_object_size(jwk), 8);
	json_decref(jwk);

	assert_int_equal(
	    jose_jwk(K.key[TK_ES384], P11S_ALG_ES384, K.kid[TK_ES384], K.x5t[TK_ES384], &jwk), 0);
	assert_string_equal(json_string_value(json_object_get(jwk, "crv")), "P-384");
	check_b64_bn(jwk, "x", K.key[TK_ES384], OSSL_PKEY_PARAM_EC_PUB_X, 48);
	check_b64_bn(jwk, "y", K.key[TK_ES384], OSSL_PKEY_PARAM_EC_PUB_Y, 48);
	json_decref(jwk);

	assert_int_equal(jose_jwk(K.key[TK_PS256], P11S_ALG_PS256, K.kid[TK_PS256], NULL, &jwk), 0);
	assert_string_equal(json_string_value(json_object_get(jwk, "kty")), "RSA");
	assert_string_equal(json_string_value(json_object_get(jwk, "alg")), "PS256");
	assert_string_equal(json_string_value(json_object_get(jwk, "e")), "AQAB");
	assert_null(json_object_get(jwk, "x5t"));
	assert_null(json_object_get(jwk, "crv"));
	check_b64_bn(jwk, "n", K.key[TK_PS256], OSSL_PKEY_PARAM_RSA_N, 256);
	json_decref(jwk);

	jwk = json_object(); /* must be cleared on entry, not freed */
	{
		json_t *keep = jwk;

		assert_int_equal(jose_jwk(K.key[TK_ES256], P11S_ALG_ES384, "k", NULL, &jwk),
				 P11S_E_KEY_TYPE);
		assert_null(jwk);
		assert_non_null(strstr(p11s_errmsg(P11S_E_KEY_TYPE), "does not fit ES384"));
		json_decref(keep);
	}
	assert_int_equal(jose_jwk(K.key[TK_RS256], P11S_ALG_ES256, "k", NULL, &jwk),
			 P11S_E_KEY_TYPE);
	assert_int_equal(jose_jwk(K.key[TK_ES256], P11S_ALG_RS256, "k", NULL, &jwk),
			 P11S_E_KEY_TYPE);
	assert_int_equal(jose_jwk(K.key[TK_ES256], P11S_ALG_ES256, NULL, NULL, &jwk), P11S_E_INVAL);
	assert_non_null(strstr(p11s_errmsg(P11S_E_INVAL), "needs a kid"));
	assert_int_equal(jose_jwk(NULL, P11S_ALG_ES256, "k", NULL, &jwk), P11S_E_INVAL);
	assert_int_equal(jose_jwk(K.key[TK_ES256], P11S_ALG_NONE, "k", NULL, &jwk), P11S_E_INVAL);
	assert_null(jwk);
}

/* Rollover: [new, old] with the same alg; the new key is tried first. */
static void
test_key_order_and_kid(void **state)
{
	jwt_vkey set[2] = {
	    {P11S_ALG_ES256, "kid-new", K.atk_ec},
	    {P11S_ALG_ES256, "kid-old", K.key[TK_ES256]},
	};
	jwt_verify_params vp = tk_params(&K);
	jwt_result res;
	char *t;

	vp.keys = set;
	vp.n_keys = 2;

	t = tk_token("{\"alg\":\"ES256\"}", tk_claims(), K.key[TK_ES256], P11S_ALG_ES256);
	assert_int_equal(jwt_verify(t, strlen(t), &vp, &res), 0);
	assert_int_equal(res.key_index, 1);
	assert_string_equal(res.kid, "");
	jwt_result_clear(&res);
	free(t);

	t = tk_token("{\"alg\":\"ES256\"}", tk_claims(), K.atk_ec, P11S_ALG_ES256);
	assert_int_equal(jwt_verify(t, strlen(t), &vp, &res), 0);
	assert_int_equal(res.key_index, 0);
	jwt_result_clear(&res);
	free(t);

	t = tk_token("{\"alg\":\"ES256\",\"kid\":\"kid-old\"}", tk_claims(), K.key[TK_ES256],
		     P11S_ALG_ES256);
	assert_int_equal(jwt_verify(t, strlen(t), &vp, &res), 0);
	assert_int_equal(res.key_index, 1);
	assert_string_equal(res.kid, "kid-old");
	jwt_result_clear(&res);
	free(t);

	/* kid narrows: signed by the new key but naming the old one. */
	t = tk_token("{\"alg\":\"ES256\",\"kid\":\"kid-old\"}", tk_claims(), K.atk_ec,
		     P11S_ALG_ES256);
	assert_int_equal(jwt_verify(t, strlen(t), &vp, &res), P11S_E_BADTOKEN);
	assert_non_null(strstr(res.error, "no key of the verification set verifies"));
	assert_int_equal(res.key_index, -1);
	assert_null(res.claims);
	assert_string_equal(res.kid, "kid-old");
	assert_string_equal(p11s_errmsg(P11S_E_BADTOKEN), res.error);
	free(t);
}

static void
expect_valid(const char *hdr, const char *claims, int which, jwt_verify_params *vp)
{
	jwt_result res;
	char *t = tk_token(hdr, claims, K.key[which], tk_alg(which));
	int r = jwt_verify(t, strlen(t), vp, &res);

	if (r != 0)
		fail_msg("expected valid, got %d: %s", r, res.error);
	assert_int_equal(res.key_index, which);
	jwt_result_clear(&res);
	free(t);
}

static void
test_accepted_variants(void **state)
{
	jwt_verify_params vp = tk_params(&K);
	char c[512];
	long long now = TK_NOW;

	/* typ is case-insensitive and optional; unknown informational members are ignored. */
	expect_valid("{\"alg\":\"ES256\",\"typ\":\"jwt\"}", tk_claims(), TK_ES256, &vp);
	expect_valid("{\"alg\":\"ES384\"}", tk_claims(), TK_ES384, &vp);
	expect_valid("{\"alg\":\"RS256\",\"jku\":\"https://evil.test/jwks\",\"x5u\":\"https://"
		     "evil.test/c\"}",
		     tk_claims(), TK_RS256, &vp);
	/* Leeway: expired 30 s ago, nbf and iat 30 s ahead. */
	snprintf(c, sizeof(c), "{\"iss\":\"%s\",\"aud\":\"%s\",\"iat\":%lld,\"exp\":%lld}", TK_ISS,
		 TK_AUD, now - 600, now - 30);
	expect_valid("{\"alg\":\"ES256\"}", c, TK_ES256, &vp);
	snprintf(c, sizeof(c),
		 "{\"iss\":\"%s\",\"aud\":\"%s\",\"iat\":%lld,\"nbf\":%lld,\"exp\":%lld}", TK_ISS,
		 TK_AUD, now + 30, now + 30, now + 600);
	expect_valid("{\"alg\":\"ES256\"}", c, TK_ES256, &vp);
	/* aud as an array; nbf as the lifetime base when iat is absent; exactly the cap. */
	snprintf(c, sizeof(c),
		 "{\"iss\":\"%s\",\"aud\":[\"other\",\"%s\"],\"nbf\":%lld,\"exp\":%lld}", TK_ISS,
		 TK_AUD, now, now + TK_MAXLIFE);
	expect_valid("{\"alg\":\"PS256\"}", c, TK_PS256, &vp);
	/* aud and iss are only checked when asked. */
	vp.aud = NULL;
	vp.iss = NULL;
	snprintf(c, sizeof(c), "{\"iat\":%lld,\"exp\":%lld}", now, now + 10);
	expect_valid("{\"alg\":\"ES256\"}", c, TK_ES256, &vp);
}

static void
test_verify_params_refused(void **state)
{
	jwt_verify_params vp = tk_params(&K);
	jwt_result res;
	char *t = tk_token(tk_hdr(&K, TK_ES256), tk_claims(), K.key[TK_ES256], P11S_ALG_ES256);

	vp.leeway = -1;
	assert_int_equal(jwt_verify(t, strlen(t), &vp, &res), P11S_E_INVAL);
	assert_non_null(strstr(res.error, "leeway >= 0"));
	vp = tk_params(&K);
	vp.max_lifetime = 0;
	assert_int_equal(jwt_verify(t, strlen(t), &vp, &res), P11S_E_INVAL);
	assert_int_equal(jwt_verify(t, strlen(t), NULL, &res), P11S_E_INVAL);
	assert_int_equal(jwt_verify(t, strlen(t), &vp, NULL), P11S_E_INVAL);
	vp = tk_params(&K);
	vp.n_keys = 0;
	assert_int_equal(jwt_verify(t, strlen(t), &vp, &res), P11S_E_BADTOKEN);
	assert_non_null(strstr(res.error, "verification set is empty"));
	vp = tk_params(&K);
	assert_int_equal(jwt_verify(NULL, 0, &vp, &res), P11S_E_BADTOKEN);
	assert_non_null(strstr(res.error, "no token"));
	jwt_result_clear(NULL);
	free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip_es256),
	    cmocka_unit_test(test_round_trip_es384),
	    cmocka_unit_test(test_round_trip_rs256),
	    cmocka_unit_test(test_round_trip_ps256),
	    cmocka_unit_test(test_extra_claims),
	    cmocka_unit_test(test_issue_text),
	    cmocka_unit_test(test_header_reuse),
	    cmocka_unit_test(test_registered_claims_refused),
	    cmocka_unit_test(test_issue_params_refused),
	    cmocka_unit_test(test_thumbprints),
	    cmocka_unit_test(test_jwk),
	    cmocka_unit_test(test_key_order_and_kid),
	    cmocka_unit_test(test_accepted_variants),
	    cmocka_unit_test(test_verify_params_refused),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

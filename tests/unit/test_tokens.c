/*
 * signer/tokens.c: which keys verify a token for a type at an instant (the
 * verification set), and which failure is reported when every type refuses
 * it (the most telling one, whatever the order of the types).  Real
 * certificates and signatures made in memory with OpenSSL.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "common/error.h"
#include "signer/conf.h"
#include "signer/state.h"
#include "signer/tokens.h"
#include "tests/unit/jose_testkeys.h"

#define AV "AudioVideoAuthentication"
#define OA "OAuthTokenIssuer"
#define NOW ((p11s_time)1700000000)
#define DAY ((p11s_time)86400)
#define OLD_EXP (NOW + DAY)
#define E (NOW + 3600)

enum { K_OLD, K_NEW, K_OA, K_ATK, K_N };

typedef struct tx {
	signer_conf *c;
	signer_state *st;
	tokens_keyset *ks;
	EVP_PKEY *key[K_N];
	char sha1[K_N][41];
	p11s_alg alg[K_N];
} tx;

static void
hex(const unsigned char *md, unsigned len, char *out)
{
	for (unsigned i = 0; i < len; i++)
		sprintf(out + 2 * i, "%02x", md[i]);
}

/* A key with a self-signed certificate valid [nb, na], recorded in the state. */
static void
make_key(tx *x, int i, int ec, p11s_time nb, p11s_time na)
{
	EVP_PKEY *k = ec ? EVP_EC_gen("P-256") : EVP_RSA_gen(2048);
	X509 *c = X509_new();
	X509_NAME *n;
	unsigned char md[EVP_MAX_MD_SIZE], *der = NULL;
	unsigned mdlen;
	pol_key pk;
	int len;

	assert_non_null(k);
	assert_non_null(c);
	memset(&pk, 0, sizeof(pk));
	X509_set_version(c, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(c), i + 1);
	ASN1_TIME_set(X509_getm_notBefore(c), (time_t)nb);
	ASN1_TIME_set(X509_getm_notAfter(c), (time_t)na);
	n = X509_get_subject_name(c);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"t", -1, -1, 0);
	X509_set_issuer_name(c, n);
	X509_set_pubkey(c, k);
	assert_true(X509_sign(c, k, EVP_sha256()) > 0);
	assert_true(X509_digest(c, EVP_sha1(), md, &mdlen) == 1);
	hex(md, mdlen, pk.sha1);
	assert_true(X509_digest(c, EVP_sha256(), md, &mdlen) == 1);
	hex(md, mdlen, pk.sha256);
	assert_true((len = i2d_X509(c, &der)) > 0);
	pk.cert_der = der;
	pk.cert_len = (size_t)len;
	pk.keytype = ec ? P11S_KT_EC_P256 : P11S_KT_RSA;
	pk.bits = ec ? 256 : 2048;
	pk.not_before = nb;
	pk.not_after = na;
	snprintf(pk.id_hex, sizeof(pk.id_hex), "%02x", i + 1);
	if (i != K_ATK)
		assert_int_equal(pol_state_put_key(&x->st->pol, &pk), 0);
	memcpy(x->sha1[i], pk.sha1, sizeof(x->sha1[i]));
	x->key[i] = k;
	x->alg[i] = ec ? P11S_ALG_ES256 : P11S_ALG_RS256;
	OPENSSL_free(der);
	X509_free(c);
}

static int
setup(void **state)
{
	tx *x = calloc(1, sizeof(*x));

	assert_non_null(x);
	assert_int_equal(signer_conf_defaults(&x->c), 0);
	assert_int_equal(state_new(&x->st), 0);
	make_key(x, K_OLD, 1, NOW - DAY, OLD_EXP);
	make_key(x, K_NEW, 1, NOW - DAY, NOW + 30 * DAY);
	make_key(x, K_OA, 0, NOW - DAY, NOW + 30 * DAY);
	make_key(x, K_ATK, 1, NOW - DAY, NOW + 30 * DAY);
	*state = x;
	return 0;
}

static int
teardown(void **state)
{
	tx *x = *state;

	tokens_keyset_free(x->ks);
	state_free(x->st);
	signer_conf_free(x->c);
	for (int i = 0; i < K_N; i++)
		EVP_PKEY_free(x->key[i]);
	free(x);
	return 0;
}

static void
assign(tx *x, const char *type, int k, p11s_time at)
{
	const char *types[] = {type};

	assert_int_equal(
	    pol_apply_assign(&x->st->pol, types, 1, pol_state_key(&x->st->pol, x->sha1[k]), at), 0);
}

static void
keyset(tx *x)
{
	tokens_keyset_free(x->ks);
	x->ks = NULL;
	int r = tokens_keyset_new(x->st, &x->ks);

	if (r != 0)
		fail_msg("key set: %s", p11s_errmsg(r));
}

/* A/V: old key since a day ago, new key staged at NOW for E; OAuth's key. */
static void
rolled(tx *x, int with_oa)
{
	const char *types[] = {AV};

	assign(x, AV, K_OLD, NOW - DAY);
	assert_int_equal(pol_apply_roll(&x->st->pol, types, 1,
					pol_state_key(&x->st->pol, x->sha1[K_NEW]), E, NOW, 0),
			 0);
	if (with_oa)
		assign(x, OA, K_OA, NOW - DAY);
	keyset(x);
}

/* A token signed with key k at `at`, its kid the one the key set gives
 * (for the attacker's key: the kid of `kid_of`). */
static char *
token(tx *x, int k, int kid_of, p11s_time at, int64_t lifetime)
{
	tk_signer s = {x->key[k], x->alg[k], 0};
	jwt_issue_params p;
	char *tok = NULL;
	p11s_time exp;
	const char *kid = tokens_kid(x->ks, x->sha1[kid_of]);
	int r;

	memset(&p, 0, sizeof(p));
	p.alg = x->alg[k];
	p.kid = kid != NULL ? kid : "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
	p.x5t = kid != NULL ? tokens_x5t(x->ks, x->sha1[kid_of]) : "AAAAAAAAAAAAAAAAAAAAAAAAAAA";
	p.iss = "https://issuer.test";
	p.sub = "alice";
	p.now = at;
	p.lifetime = lifetime;
	p.sign = tk_sign;
	p.sign_ctx = &s;
	if ((r = jwt_issue(&p, &tok, &exp)) != 0)
		fail_msg("jwt_issue: %s", p11s_errmsg(r));
	return tok;
}

static void
verify(tx *x, const char *type, const char *tok, p11s_time now, tokens_verdict *v)
{
	assert_int_equal(tokens_verify(x->c, x->st, x->ks, type, NULL, tok, strlen(tok), now, v),
			 0);
}

static void
assert_valid(tx *x, const char *type, const char *tok, p11s_time now, const char *want_type,
	     pol_role role, int key)
{
	tokens_verdict v;

	verify(x, type, tok, now, &v);
	if (!v.valid)
		fail_msg("not valid: %s", v.jwt.error);
	assert_string_equal(v.type, want_type);
	assert_int_equal(v.role, role);
	assert_string_equal(v.sha1, x->sha1[key]);
	tokens_verdict_clear(&v);
}

static void
assert_invalid(tx *x, const char *type, const char *tok, p11s_time now, const char *want)
{
	tokens_verdict v;

	verify(x, type, tok, now, &v);
	assert_false(v.valid);
	if (strstr(v.jwt.error, want) == NULL)
		fail_msg("error '%s' lacks '%s'", v.jwt.error, want);
	tokens_verdict_clear(&v);
}

/* ---- the verification set over a roll ------------------------------------ */

static void
test_set_over_time(void **state)
{
	tx *x = *state;
	char *old_now, *new_early, *new_skew, *old_late, *new_after, *old_exp;

	rolled(x, 0);
	/* Before E: the old key verifies (current); the staged key not yet. */
	old_now = token(x, K_OLD, K_OLD, NOW, 600);
	assert_valid(x, AV, old_now, NOW + 1, AV, POL_ROLE_CURRENT, K_OLD);
	new_early = token(x, K_NEW, K_NEW, NOW, 600);
	assert_invalid(x, AV, new_early, NOW + 1, "not in the verification set of " AV);
	/* From E - clock skew the staged key verifies too (role staged). */
	new_skew = token(x, K_NEW, K_NEW, E - 60, 600);
	assert_valid(x, AV, new_skew, E - 60, AV, POL_ROLE_STAGED, K_NEW);
	assert_invalid(x, AV, new_skew, E - 61, "not in the verification set");
	/* After E: new is current, old is previous and still verifies. */
	old_late = token(x, K_OLD, K_OLD, E - 100, 600);
	assert_valid(x, AV, old_late, E + 10, AV, POL_ROLE_PREVIOUS, K_OLD);
	new_after = token(x, K_NEW, K_NEW, E + 5, 600);
	assert_valid(x, AV, new_after, E + 10, AV, POL_ROLE_CURRENT, K_NEW);
	/* Once the old certificate expired, its tokens fail, and say why. */
	old_exp = token(x, K_OLD, K_OLD, OLD_EXP - 5, 600);
	assert_valid(x, AV, old_exp, OLD_EXP - 1, AV, POL_ROLE_PREVIOUS, K_OLD);
	assert_invalid(x, AV, old_exp, OLD_EXP, "expired at");
	free(old_now);
	free(new_early);
	free(new_skew);
	free(old_late);
	free(new_after);
	free(old_exp);
}

static void
test_removed_key(void **state)
{
	tx *x = *state;
	char *tok;

	rolled(x, 0);
	tok = token(x, K_OLD, K_OLD, E + 3600, 600);
	assert_valid(x, AV, tok, E + 3601, AV, POL_ROLE_PREVIOUS, K_OLD);
	assert_int_equal(pol_apply_remove(&x->st->pol, x->sha1[K_OLD], E + 3602), 0);
	assert_invalid(x, AV, tok, E + 3603, "was removed at");
	assert_invalid(x, NULL, tok, E + 3603, "was removed at");
	free(tok);
}

static void
test_every_type(void **state)
{
	tx *x = *state;
	char *oa, *av;

	rolled(x, 1);
	oa = token(x, K_OA, K_OA, NOW, 600);
	av = token(x, K_OLD, K_OLD, NOW, 600);
	/* type NULL: every configured type in turn; the verdict names the one. */
	assert_valid(x, NULL, oa, NOW + 1, OA, POL_ROLE_CURRENT, K_OA);
	assert_valid(x, NULL, av, NOW + 1, AV, POL_ROLE_CURRENT, K_OLD);
	/* A named type accepts only its own keys. */
	assert_invalid(x, AV, oa, NOW + 1, "not in the verification set of " AV);
	assert_invalid(x, OA, av, NOW + 1, "not in the verification set of " OA);
	free(oa);
	free(av);
}

/* ---- failure ranking across types ---------------------------------------- */

static void
test_rank_signature_over_empty(void **state)
{
	tx *x = *state;
	char *tok;
	size_t len;

	/* A/V (first) refuses a bad signature, OAuth (no key) has an empty set:
	 * the signature failure is reported, not the later, emptier one. */
	assign(x, AV, K_OLD, NOW - DAY);
	keyset(x);
	tok = token(x, K_ATK, K_OLD, NOW, 600);
	assert_invalid(x, OA, tok, NOW + 1, "verification set");
	assert_invalid(x, NULL, tok, NOW + 1, "signature");
	/* The same with a damaged signature of the right key. */
	free(tok);
	tok = token(x, K_OLD, K_OLD, NOW, 600);
	len = strlen(tok);
	tok[len - 3] = tok[len - 3] == 'A' ? 'B' : 'A';
	assert_invalid(x, NULL, tok, NOW + 1, "signature");
	free(tok);
}

static void
test_rank_expiry_over_empty(void **state)
{
	tx *x = *state;
	char *tok;

	/* A/V (first) has no key, OAuth (second) refuses an expired token: the
	 * expiry is reported, not the first type's empty set. */
	assign(x, OA, K_OA, NOW - DAY);
	keyset(x);
	tok = token(x, K_OA, K_OA, NOW - 7200, 600);
	assert_invalid(x, AV, tok, NOW, "verification set");
	assert_invalid(x, NULL, tok, NOW, "expired");
	free(tok);
}

static void
test_rank_unknown_kid_over_empty(void **state)
{
	tx *x = *state;
	char *tok;
	tokens_verdict v;

	/* A kid nobody knows: A/V says so, OAuth (empty) is less telling. */
	assign(x, AV, K_OLD, NOW - DAY);
	keyset(x);
	tok = token(x, K_ATK, K_ATK, NOW, 600);
	verify(x, NULL, tok, NOW + 1, &v);
	assert_false(v.valid);
	assert_non_null(strstr(v.jwt.error, "unknown kid"));
	assert_string_equal(v.jwt.kid, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	tokens_verdict_clear(&v);
	assert_int_equal(v.jwt.error[0], '\0');
	free(tok);
}

/* ---- bad input ------------------------------------------------------------ */

static void
test_negative(void **state)
{
	tx *x = *state;
	tokens_verdict v;
	tokens_keyset *ks = (tokens_keyset *)1;
	tokens_request rq;
	const pol_key *k = (const pol_key *)1;
	int ti = 7;

	rolled(x, 0);
	/* Unknown type: an error naming it, no verdict. */
	assert_int_equal(tokens_verify(x->c, x->st, x->ks, "Nope", NULL, "a.b.c", 5, NOW, &v),
			 P11S_E_INVAL);
	assert_non_null(strstr(p11s_errmsg(P11S_E_INVAL), "Nope"));
	assert_false(v.valid);
	/* Not a JWT: refused with a reason, not an error. */
	verify(x, AV, "garbage", NOW, &v);
	assert_false(v.valid);
	assert_true(v.jwt.error[0] != '\0');
	tokens_verdict_clear(&v);
	/* Unknown keys have no kid, x5t or public key. */
	assert_null(tokens_kid(x->ks, x->sha1[K_ATK]));
	assert_null(tokens_x5t(x->ks, x->sha1[K_ATK]));
	assert_null(tokens_pubkey(x->ks, x->sha1[K_ATK]));
	assert_non_null(tokens_kid(x->ks, x->sha1[K_OLD]));
	/* A certificate that does not parse: the key set is refused, naming it. */
	x->st->pol.keys[1].cert_der[0] ^= 0xff;
	assert_int_equal(tokens_keyset_new(x->st, &ks), P11S_E_STATE);
	assert_null(ks);
	assert_non_null(strstr(p11s_errmsg(P11S_E_STATE), x->st->pol.keys[1].sha1));
	x->st->pol.keys[1].cert_der[0] ^= 0xff;
	tokens_keyset_free(NULL);
	/* The issuing key: unknown type, bad lifetime, no key yet. */
	memset(&rq, 0, sizeof(rq));
	rq.type = "Nope";
	assert_int_equal(tokens_issuing_key(x->c, x->st, &rq, NOW, &k, &ti), P11S_E_INVAL);
	assert_null(k);
	assert_int_equal(ti, -1);
	rq.type = AV;
	rq.lifetime = 8 * 3600 + 1;
	assert_int_equal(tokens_issuing_key(x->c, x->st, &rq, NOW, &k, &ti), P11S_E_INVAL);
	assert_non_null(strstr(p11s_errmsg(P11S_E_INVAL), "give 1 to 28800"));
	rq.lifetime = -1;
	assert_int_equal(tokens_issuing_key(x->c, x->st, &rq, NOW, &k, &ti), P11S_E_INVAL);
	rq.type = OA;
	rq.lifetime = 0;
	assert_int_equal(tokens_issuing_key(x->c, x->st, &rq, NOW, &k, &ti), P11S_E_NOTFOUND);
	/* and the right one: the old key before E, the new one from E */
	rq.type = AV;
	assert_int_equal(tokens_issuing_key(x->c, x->st, &rq, E - 1, &k, &ti), 0);
	assert_string_equal(k->sha1, x->sha1[K_OLD]);
	assert_int_equal(tokens_issuing_key(x->c, x->st, &rq, E, &k, &ti), 0);
	assert_string_equal(k->sha1, x->sha1[K_NEW]);
	assert_int_equal(ti, 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_set_over_time),
	    T(test_removed_key),
	    T(test_every_type),
	    T(test_rank_signature_over_empty),
	    T(test_rank_expiry_over_empty),
	    T(test_rank_unknown_kid_over_empty),
	    T(test_negative),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

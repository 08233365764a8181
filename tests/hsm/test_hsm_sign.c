/* Signers on a real SoftHSM2 token: every JWS algorithm, session copies, refusals and
 * concurrent signers on two threads. */
#include "config.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "tests/hsm/hsmtest.h"

static struct test_token tt;
static hsm_token *tok;
static uint8_t id_p256[HSM_ID_MAX], id_p384[HSM_ID_MAX], id_rsa[HSM_ID_MAX];
static size_t id_p256_len, id_p384_len, id_rsa_len;

static int
setup(void **state)
{
	test_token_create(&tt, "sign");
	tok = ht_open(&tt);
	if (hsm_keygen(tok, "p256", P11S_KT_EC_P256, 0, id_p256, &id_p256_len) != 0 ||
	    hsm_keygen(tok, "p384", P11S_KT_EC_P384, 0, id_p384, &id_p384_len) != 0 ||
	    hsm_keygen(tok, "rsa", P11S_KT_RSA, 2048, id_rsa, &id_rsa_len) != 0)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	hsm_close(tok);
	test_token_destroy(&tt);
	return 0;
}

static void
test_es256(void **state)
{
	ht_sign_verify(tok, id_p256, id_p256_len, P11S_ALG_ES256, 0);
	ht_sign_verify(tok, id_p256, id_p256_len, P11S_ALG_ES256, 1);
}

static void
test_es384(void **state)
{
	ht_sign_verify(tok, id_p384, id_p384_len, P11S_ALG_ES384, 0);
	ht_sign_verify(tok, id_p384, id_p384_len, P11S_ALG_ES384, 1);
}

static void
test_rs256(void **state)
{
	ht_sign_verify(tok, id_rsa, id_rsa_len, P11S_ALG_RS256, 0);
	ht_sign_verify(tok, id_rsa, id_rsa_len, P11S_ALG_RS256, 1);
}

static void
test_ps256(void **state)
{
	ht_sign_verify(tok, id_rsa, id_rsa_len, P11S_ALG_PS256, 0);
	ht_sign_verify(tok, id_rsa, id_rsa_len, P11S_ALG_PS256, 1);
}

/* A signer keeps working over many signatures, and ECDSA signatures differ each time. */
static void
test_repeated(void **state)
{
	hsm_signer *g = NULL;
	EVP_PKEY *pk = NULL;
	uint8_t a[64], b[64];
	size_t alen = sizeof(a), blen = sizeof(b);

	assert_int_equal(hsm_signer_open(tok, id_p256, id_p256_len, P11S_ALG_ES256, 1, &g), 0);
	assert_int_equal(hsm_public_key(tok, id_p256, id_p256_len, &pk), 0);
	assert_int_equal(hsm_sign(g, (const uint8_t *)"m", 1, a, &alen), 0);
	assert_int_equal(hsm_sign(g, (const uint8_t *)"m", 1, b, &blen), 0);
	assert_int_equal(alen, 64);
	assert_memory_not_equal(a, b, 64);
	assert_true(ht_verify(pk, P11S_ALG_ES256, (const uint8_t *)"m", 1, a, alen));
	assert_true(ht_verify(pk, P11S_ALG_ES256, (const uint8_t *)"m", 1, b, blen));
	/* a flipped bit does not verify */
	a[10] ^= 1;
	assert_false(ht_verify(pk, P11S_ALG_ES256, (const uint8_t *)"m", 1, a, alen));
	EVP_PKEY_free(pk);
	hsm_signer_free(g);
	hsm_signer_free(NULL);
}

static void
test_key_type_mismatch(void **state)
{
	hsm_signer *g = (hsm_signer *)&g;

	ht_expect(hsm_signer_open(tok, id_p256, id_p256_len, P11S_ALG_RS256, 0, &g),
		  P11S_E_KEY_TYPE, "RS256 needs an RSA key");
	assert_null(g);
	ht_expect(hsm_signer_open(tok, id_p256, id_p256_len, P11S_ALG_ES384, 0, &g),
		  P11S_E_KEY_TYPE, "EC P-384");
	ht_expect(hsm_signer_open(tok, id_rsa, id_rsa_len, P11S_ALG_ES256, 1, &g), P11S_E_KEY_TYPE,
		  "EC P-256");
	ht_expect(hsm_signer_open(tok, id_p384, id_p384_len, P11S_ALG_PS256, 1, &g),
		  P11S_E_KEY_TYPE, "is EC P-384");
	assert_null(g);
}

static void
test_signer_refusals(void **state)
{
	static const uint8_t missing[] = {0xde, 0xad};
	hsm_signer *g = (hsm_signer *)&g;
	uint8_t sig[256];
	size_t siglen = 63;

	ht_expect(hsm_signer_open(tok, missing, sizeof(missing), P11S_ALG_ES256, 0, &g),
		  P11S_E_NOTFOUND, "dead");
	assert_null(g);
	ht_expect(hsm_signer_open(tok, id_p256, 0, P11S_ALG_ES256, 0, &g), P11S_E_INVAL, "CKA_ID");
	ht_expect(hsm_signer_open(tok, id_p256, id_p256_len, P11S_ALG_NONE, 0, &g), P11S_E_INVAL,
		  "ES256");
	assert_int_equal(hsm_signer_open(tok, id_p256, id_p256_len, P11S_ALG_ES256, 0, &g), 0);
	ht_expect(hsm_sign(g, (const uint8_t *)"m", 1, sig, &siglen), P11S_E_INVAL, "needs 64");
	assert_int_equal(siglen, 63);
	hsm_signer_free(g);
	g = NULL;
	assert_int_equal(hsm_signer_open(tok, id_rsa, id_rsa_len, P11S_ALG_RS256, 0, &g), 0);
	siglen = 255;
	ht_expect(hsm_sign(g, (const uint8_t *)"m", 1, sig, &siglen), P11S_E_INVAL, "needs 256");
	hsm_signer_free(g);
}

/* The signer's key destroyed behind its back: it re-finds by CKA_ID and reports NOTFOUND. */
static void
test_key_destroyed_under_signer(void **state)
{
	uint8_t id[HSM_ID_MAX], sig[64];
	size_t id_len = 0, siglen = sizeof(sig);
	hsm_signer *g = NULL;

	assert_int_equal(hsm_keygen(tok, "doomed", P11S_KT_EC_P256, 0, id, &id_len), 0);
	assert_int_equal(hsm_signer_open(tok, id, id_len, P11S_ALG_ES256, 0, &g), 0);
	assert_int_equal(hsm_sign(g, (const uint8_t *)"m", 1, sig, &siglen), 0);
	assert_int_equal(hsm_destroy_key(tok, id, id_len), 0);
	siglen = sizeof(sig);
	ht_expect(hsm_sign(g, (const uint8_t *)"m", 1, sig, &siglen), P11S_E_NOTFOUND,
		  "no private key");
	hsm_signer_free(g);
}

struct worker {
	hsm_signer *g;
	EVP_PKEY *pk;
	p11s_alg alg;
	int n;
	int signed_ok;
	int verified;
	char err[256];
};

static void *
work(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < w->n; i++) {
		uint8_t msg[32], sig[512];
		size_t siglen = sizeof(sig);
		int r, len = snprintf((char *)msg, sizeof(msg), "message %d", i);

		if ((r = hsm_sign(w->g, msg, (size_t)len, sig, &siglen)) != 0) {
			snprintf(w->err, sizeof(w->err), "%s", p11s_errmsg(r));
			break;
		}
		w->signed_ok++;
		w->verified += ht_verify(w->pk, w->alg, msg, (size_t)len, sig, siglen);
	}
	return NULL;
}

static void
test_two_threads(void **state)
{
	struct worker w[2] = {
	    {.alg = P11S_ALG_ES256, .n = 500},
	    {.alg = P11S_ALG_RS256, .n = 500},
	};
	const uint8_t *ids[2] = {id_p256, id_rsa};
	size_t lens[2] = {id_p256_len, id_rsa_len};
	pthread_t th[2];

	for (int i = 0; i < 2; i++) {
		assert_int_equal(hsm_signer_open(tok, ids[i], lens[i], w[i].alg, i == 0, &w[i].g),
				 0);
		assert_int_equal(hsm_public_key(tok, ids[i], lens[i], &w[i].pk), 0);
	}
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	for (int i = 0; i < 2; i++) {
		if (w[i].err[0] != '\0')
			fail_msg("thread %d: %s", i, w[i].err);
		assert_int_equal(w[i].signed_ok, 500);
		assert_int_equal(w[i].verified, 500);
		hsm_signer_free(w[i].g);
		EVP_PKEY_free(w[i].pk);
	}
}

/* Two signers on the same key, one per thread, while the main thread manages the token. */
static void
test_same_key_two_threads_with_management(void **state)
{
	struct worker w[2] = {
	    {.alg = P11S_ALG_ES256, .n = 500},
	    {.alg = P11S_ALG_ES256, .n = 500},
	};
	pthread_t th[2];

	for (int i = 0; i < 2; i++) {
		assert_int_equal(
		    hsm_signer_open(tok, id_p256, id_p256_len, P11S_ALG_ES256, i, &w[i].g), 0);
		assert_int_equal(hsm_public_key(tok, id_p256, id_p256_len, &w[i].pk), 0);
	}
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
	for (int i = 0; i < 20; i++) {
		hsm_key_list *l = NULL;

		assert_int_equal(hsm_list_keys(tok, &l), 0);
		assert_int_equal(l->n, 3);
		hsm_key_list_free(l);
	}
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	for (int i = 0; i < 2; i++) {
		if (w[i].err[0] != '\0')
			fail_msg("thread %d: %s", i, w[i].err);
		assert_int_equal(w[i].verified, 500);
		hsm_signer_free(w[i].g);
		EVP_PKEY_free(w[i].pk);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_es256),
	    cmocka_unit_test(test_es384),
	    cmocka_unit_test(test_rs256),
	    cmocka_unit_test(test_ps256),
	    cmocka_unit_test(test_repeated),
	    cmocka_unit_test(test_key_type_mismatch),
	    cmocka_unit_test(test_signer_refusals),
	    cmocka_unit_test(test_key_destroyed_under_signer),
	    cmocka_unit_test(test_two_threads),
	    cmocka_unit_test(test_same_key_two_threads_with_management),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

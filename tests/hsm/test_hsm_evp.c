/*
 * hsm/evp.c: token keys as OpenSSL EVP_PKEYs through libp11, next to the raw
 * side in one process (one module instance, neither side finalising it under
 * the other), URI forms, refusals and session-loss detection.
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

#include "tests/hsm/hsmtest.h"

static struct test_token tt;
static uint8_t id[HSM_ID_MAX];
static size_t id_len;
static char wrap[PATH_MAX];

static int
setup(void **state)
{
	hsm_token *t;

	test_token_create(&tt, "evp");
	t = ht_open(&tt);
	assert_int_equal(hsm_keygen(t, "tls", P11S_KT_EC_P256, 0, id, &id_len), 0);
	hsm_close(t);
	snprintf(wrap, sizeof(wrap), "%s/tests/lib/p11wrap.so",
		 getenv("top_builddir") != NULL ? getenv("top_builddir") : ".");
	setenv("P11WRAP_MODULE", SOFTHSM_MODULE, 1);
	return 0;
}

static int
teardown(void **state)
{
	test_token_destroy(&tt);
	return 0;
}

/* An ES256 signature by the EVP_PKEY verifies with the token's public key. */
static void
sign_check(hsm_evp_key *k, hsm_token *t)
{
	static const uint8_t msg[] = "evp message";
	uint8_t sig[256];
	size_t len = sizeof(sig);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY *pub = NULL;

	assert_non_null(md);
	assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, hsm_evp_pkey(k)), 1);
	assert_int_equal(EVP_DigestSign(md, sig, &len, msg, sizeof(msg)), 1);
	EVP_MD_CTX_free(md);
	assert_int_equal(hsm_public_key(t, id, id_len, &pub), 0);
	md = EVP_MD_CTX_new();
	assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pub), 1);
	assert_int_equal(EVP_DigestVerify(md, sig, len, msg, sizeof(msg)), 1);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pub);
}

static void
test_open_sign(void **state)
{
	char uri[PATH_MAX + 256];
	hsm_evp_key *k = NULL;
	hsm_token *t = ht_open(&tt);

	snprintf(uri, sizeof(uri),
		 "pkcs11:model=SoftHSM%%20v2;manufacturer=SoftHSM%%20project;token=evp;"
		 "object=tls;type=private?module-path=%s",
		 SOFTHSM_MODULE);
	assert_int_equal(hsm_evp_open(uri, tt.pin_source, tt.lock_file, &k), 0);
	assert_int_equal(EVP_PKEY_get_base_id(hsm_evp_pkey(k)), EVP_PKEY_EC);
	sign_check(k, t);
	assert_int_equal(hsm_evp_probe(k), 0);
	hsm_evp_free(k);
	hsm_evp_free(NULL);
	hsm_close(t);
}

/* Either side may go first and go away: the other keeps working. */
static void
test_shared_module(void **state)
{
	char uri[PATH_MAX + 256];
	hsm_evp_key *k = NULL;
	hsm_token *t;

	snprintf(uri, sizeof(uri), "pkcs11:token=evp;object=tls?module-path=%s", SOFTHSM_MODULE);
	/* the raw side initialises the module, libp11 joins, the raw side's
	 * last token closes: it must not C_Finalize under libp11 */
	t = ht_open(&tt);
	assert_int_equal(hsm_evp_open(uri, tt.pin_source, tt.lock_file, &k), 0);
	sign_check(k, t);
	hsm_close(t);
	assert_int_equal(hsm_evp_probe(k), 0);
	/* and libp11 going away leaves the raw side working */
	t = ht_open(&tt);
	hsm_evp_free(k);
	ht_sign_verify(t, id, id_len, P11S_ALG_ES256, 0);
	hsm_close(t);
}

static void
test_refusals(void **state)
{
	char uri[PATH_MAX + 256];
	hsm_evp_key *k = (hsm_evp_key *)&k;

	snprintf(uri, sizeof(uri), "pkcs11:token=evp?module-path=%s", SOFTHSM_MODULE);
	ht_expect(hsm_evp_open(uri, tt.pin_source, NULL, &k), P11S_E_INVAL, "names no key");
	assert_null(k);
	snprintf(uri, sizeof(uri), "pkcs11:token=evp;object=nope?module-path=%s", SOFTHSM_MODULE);
	ht_expect(hsm_evp_open(uri, tt.pin_source, NULL, &k), P11S_E_NOTFOUND,
		  "no private key object 'nope'");
	snprintf(uri, sizeof(uri), "pkcs11:token=other;object=tls?module-path=%s", SOFTHSM_MODULE);
	ht_expect(hsm_evp_open(uri, tt.pin_source, NULL, &k), P11S_E_TOKEN_NOT_FOUND, "no token");
	ht_expect(hsm_evp_open("pkcs11:token=evp;object=tls", tt.pin_source, NULL, &k),
		  P11S_E_MODULE, "names no PKCS#11 module");
	snprintf(uri, sizeof(uri), "pkcs11:token=evp;object=tls?module-path=%s", SOFTHSM_MODULE);
	ht_expect(hsm_evp_open(uri, NULL, NULL, &k), P11S_E_PIN_SOURCE, "no PIN source");
	assert_null(k);
	/* nothing is logged in now (no session open): a wrong PIN is refused */
	{
		char bad[PATH_MAX + 16], src[PATH_MAX + 24];
		FILE *f;

		snprintf(bad, sizeof(bad), "%s/badpin", tt.dir);
		snprintf(src, sizeof(src), "file:%s", bad);
		assert_non_null(f = fopen(bad, "w"));
		fputs("000000\n", f);
		fclose(f);
		ht_expect(hsm_evp_open(uri, src, NULL, &k), P11S_E_PIN_INCORRECT,
			  "refused the PIN");
		assert_null(k);
	}
	assert_true(hsm_evp_is_uri("PKCS11:token=a"));
	assert_false(hsm_evp_is_uri("/etc/key.pem"));
	assert_false(hsm_evp_is_uri(NULL));
}

/* A killed session: the probe says so; a fresh open signs again. */
static void
test_session_loss(void **state)
{
	char uri[PATH_MAX + 256], plan[PATH_MAX + 16];
	hsm_evp_key *k = NULL, *k2 = NULL;
	hsm_token *t = ht_open(&tt);
	FILE *f;

	snprintf(plan, sizeof(plan), "%s/faults", tt.dir);
	setenv("P11WRAP_FAULTS", plan, 1);
	snprintf(uri, sizeof(uri), "pkcs11:token=evp;object=tls?module-path=%s", wrap);
	assert_int_equal(hsm_evp_open(uri, tt.pin_source, tt.lock_file, &k), 0);
	assert_int_equal(hsm_evp_probe(k), 0);
	assert_non_null(f = fopen(plan, "w"));
	fputs("C_Sign CKR_SESSION_HANDLE_INVALID 1\n", f);
	fclose(f);
	assert_int_not_equal(hsm_evp_probe(k), 0);
	assert_int_not_equal(hsm_evp_probe(k), 0); /* the session is gone for real */
	assert_int_equal(hsm_evp_open(uri, tt.pin_source, tt.lock_file, &k2), 0);
	assert_int_equal(hsm_evp_probe(k2), 0);
	hsm_evp_free(k);
	hsm_evp_free(k2);
	unsetenv("P11WRAP_FAULTS");
	hsm_close(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_open_sign),
	    cmocka_unit_test(test_shared_module),
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_session_loss),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

/* PKCS#11 functions the module does not provide (NULL in its function list):
 * a clear error or a documented fallback, never a call through NULL.  A real
 * SoftHSM2 token behind tests/lib/p11wrap.so with P11WRAP_OMIT. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/hsm/hsmtest.h"

static struct test_token tt;
static char uri[PATH_MAX + 128], log_path[PATH_MAX + 16];
static hsm_token *tok;

static int
count(const char *prefix)
{
	return ht_count_lines(log_path, prefix);
}

static int
setup(void **state)
{
	const char *b = getenv("top_builddir");
	hsm_open_params p;

	test_token_create(&tt, "omit");
	snprintf(uri, sizeof(uri), "pkcs11:token=omit?module-path=%s/tests/lib/p11wrap.so",
		 b != NULL ? b : ".");
	snprintf(log_path, sizeof(log_path), "%s/p11.log", tt.dir);
	setenv("P11WRAP_MODULE", SOFTHSM_MODULE, 1);
	setenv("P11WRAP_LOG", log_path, 1);
	/* read when the module hands out its function list, at hsm_open */
	setenv("P11WRAP_OMIT", "C_CopyObject C_GenerateKeyPair", 1);
	memset(&p, 0, sizeof(p));
	p.uri = uri;
	p.lock_file = tt.lock_file;
	p.pin_source = tt.pin_source;
	return hsm_open(&p, &tok) == 0 ? 0 : -1;
}

static int
teardown(void **state)
{
	hsm_close(tok);
	unsetenv("P11WRAP_OMIT");
	test_token_destroy(&tt);
	return 0;
}

/* A function the operation needs: its error names the function, no crash. */
static void
test_missing_function_is_an_error(void **state)
{
	uint8_t id[HSM_ID_MAX];
	size_t id_len = 99;

	ht_expect(hsm_keygen(tok, "k", P11S_KT_EC_P256, 0, id, &id_len), P11S_E_HSM,
		  "C_GenerateKeyPair returned CKR_FUNCTION_NOT_SUPPORTED (the PKCS#11 module "
		  "does not provide C_GenerateKeyPair");
	assert_int_equal(id_len, 0);
	/* the token still works for everything else */
	assert_int_equal(ht_count_objects(tok), 0);
}

/* An optional function (C_CopyObject for session copies): the signer falls
 * back to the token object and signs. */
static void
test_missing_optional_function_falls_back(void **state)
{
	EVP_PKEY *key = EVP_EC_gen("P-256"), *ca_key = NULL;
	X509 *ca = NULL, *cert = NULL;
	uint8_t id[HSM_ID_MAX];
	size_t id_len = 0;

	assert_non_null(key);
	ht_ca_new(&ca_key, &ca);
	cert = ht_issue(ca_key, ca, key, "omit");
	assert_int_equal(hsm_import_key(tok, key, cert, "imported", id, &id_len), 0);
	ht_sign_verify(tok, id, id_len, P11S_ALG_ES256, 1);
	/* never reached the module: the pointer is NULL */
	assert_int_equal(count("C_CopyObject "), 0);
	assert_true(count("C_Sign CKR_OK") > 0);
	X509_free(cert);
	X509_free(ca);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(key);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_missing_function_is_an_error),
	    cmocka_unit_test(test_missing_optional_function_falls_back),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

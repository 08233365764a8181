/* Session-loss recovery and PIN latching, on a real SoftHSM2 token behind the
 * fault-injecting wrapper module (tests/lib/p11wrap.so). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/hsm/hsmtest.h"

static struct test_token tt;
static char uri[PATH_MAX + 128], faults[PATH_MAX + 16], log_path[PATH_MAX + 16];
static hsm_token *tok;
static uint8_t id[HSM_ID_MAX];
static size_t id_len;
static EVP_PKEY *pub;

/* Replace the fault plan atomically (the wrapper reloads it at its next call). */
static void
plan(const char *text)
{
	char tmp[PATH_MAX + 32];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", faults);
	assert_non_null(f = fopen(tmp, "w"));
	fputs(text, f);
	fclose(f);
	assert_int_equal(rename(tmp, faults), 0);
}

static int
count(const char *prefix)
{
	char line[256];
	int n = 0;
	FILE *f = fopen(log_path, "r");

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		n += strncmp(line, prefix, strlen(prefix)) == 0;
	fclose(f);
	return n;
}

static int
setup(void **state)
{
	const char *b = getenv("top_builddir");
	hsm_open_params p;

	test_token_create(&tt, "recovery");
	snprintf(uri, sizeof(uri), "pkcs11:token=recovery?module-path=%s/tests/lib/p11wrap.so",
		 b != NULL ? b : ".");
	snprintf(faults, sizeof(faults), "%s/faults", tt.dir);
	snprintf(log_path, sizeof(log_path), "%s/p11.log", tt.dir);
	setenv("P11WRAP_MODULE", SOFTHSM_MODULE, 1);
	setenv("P11WRAP_FAULTS", faults, 1);
	setenv("P11WRAP_LOG", log_path, 1);
	memset(&p, 0, sizeof(p));
	p.uri = uri;
	p.lock_file = tt.lock_file;
	p.pin_source = tt.pin_source;
	if (hsm_open(&p, &tok) != 0 || hsm_keygen(tok, "k", P11S_KT_EC_P256, 0, id, &id_len) != 0 ||
	    hsm_public_key(tok, id, id_len, &pub) != 0)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	EVP_PKEY_free(pub);
	hsm_close(tok);
	test_token_destroy(&tt);
	return 0;
}

static int
sign_once(hsm_signer *s)
{
	static const uint8_t msg[] = "header.payload";
	uint8_t sig[64];
	size_t siglen = sizeof(sig);
	int r = hsm_sign(s, msg, sizeof(msg) - 1, sig, &siglen);

	if (r == 0)
		assert_int_equal(ht_verify(pub, P11S_ALG_ES256, msg, sizeof(msg) - 1, sig, siglen),
				 1);
	return r;
}

static void
test_session_lost_once(void **state)
{
	hsm_signer *s = NULL;
	int opens;

	for (int copy = 0; copy <= 1; copy++) {
		plan("");
		assert_int_equal(hsm_signer_open(tok, id, id_len, P11S_ALG_ES256, copy, &s), 0);
		assert_int_equal(sign_once(s), 0);
		opens = count("C_OpenSession ");
		/* the real session is closed too: recovery must open a new one */
		plan("C_Sign CKR_SESSION_HANDLE_INVALID 1\n");
		assert_int_equal(sign_once(s), 0);
		assert_true(count("C_OpenSession ") > opens);
		assert_int_equal(sign_once(s), 0);
		hsm_signer_free(s);
	}
}

static void
test_device_errors_recovered(void **state)
{
	hsm_signer *s = NULL;

	plan("");
	assert_int_equal(hsm_signer_open(tok, id, id_len, P11S_ALG_ES256, 0, &s), 0);
	plan("C_Sign CKR_DEVICE_ERROR 2\n");
	assert_int_equal(sign_once(s), 0);
	plan("C_Sign CKR_OBJECT_HANDLE_INVALID 1\n");
	assert_int_equal(sign_once(s), 0);
	hsm_signer_free(s);
}

static void
test_relogin(void **state)
{
	hsm_signer *s = NULL;
	int logins;

	plan("");
	assert_int_equal(hsm_signer_open(tok, id, id_len, P11S_ALG_ES256, 0, &s), 0);
	logins = count("C_Login ");
	plan("C_Sign CKR_USER_NOT_LOGGED_IN 1\n");
	assert_int_equal(sign_once(s), 0);
	assert_int_equal(count("C_Login "), logins + 1);
	hsm_signer_free(s);
}

static void
test_bounded_then_recovers(void **state)
{
	hsm_signer *s = NULL;

	plan("");
	assert_int_equal(hsm_signer_open(tok, id, id_len, P11S_ALG_ES256, 0, &s), 0);
	/* the token is gone for good: a clear error after a bounded number of tries */
	plan("C_Sign CKR_TOKEN_NOT_PRESENT -1\nC_OpenSession CKR_TOKEN_NOT_PRESENT -1\n");
	ht_expect(sign_once(s), P11S_E_SESSION, "CKR_TOKEN_NOT_PRESENT");
	/* 3 recoveries, each at most 2 opens (slot, then the token found again) */
	assert_true(count("C_OpenSession CKR_TOKEN_NOT_PRESENT") <= 6);
	/* it comes back: the same signer works again without being recreated */
	plan("");
	assert_int_equal(sign_once(s), 0);
	hsm_signer_free(s);
}

static void
test_pin_locked_not_retried(void **state)
{
	hsm_open_params p;
	hsm_token *t = NULL;
	int before;

	plan("C_Login CKR_PIN_LOCKED -1\n");
	before = count("C_Login ");
	memset(&p, 0, sizeof(p));
	p.uri = uri;
	p.lock_file = tt.lock_file;
	p.pin_source = tt.pin_source;
	/* this process is logged in already through `tok`; a second module user
	 * still calls C_Login once, and must not retry a locked PIN */
	ht_expect(hsm_open(&p, &t), P11S_E_PIN_LOCKED, "locked");
	assert_null(t);
	assert_int_equal(count("C_Login "), before + 1);
	plan("");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_session_lost_once),
	    cmocka_unit_test(test_device_errors_recovered),
	    cmocka_unit_test(test_relogin),
	    cmocka_unit_test(test_bounded_then_recovers),
	    cmocka_unit_test(test_pin_locked_not_retried),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

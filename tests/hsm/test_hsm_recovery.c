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
	return ht_count_lines(log_path, prefix);
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

#define APP "p11-signer/state"

static size_t
listed(hsm_token *t, int *r)
{
	char **labels = NULL;
	size_t n = 0;

	*r = hsm_data_labels(t, APP, &labels, &n);
	if (*r != 0) {
		assert_null(labels);
		assert_int_equal(n, 0);
	}
	hsm_data_labels_free(labels, n);
	return n;
}

/* Issue 9 item 1: the program is logged out for real (a signer's C_Sign
 * answered CKR_USER_NOT_LOGGED_IN) and its own re-logins failed; the state
 * listing must log in again, not report an empty store. */
static void
test_logged_out_listing_logs_in(void **state)
{
	static const uint8_t v[] = "a state record";
	hsm_signer *s = NULL;
	int logins, r;

	plan("");
	assert_int_equal(hsm_data_create(tok, APP, "v1", v, sizeof(v)), 0);
	assert_int_equal(hsm_data_create(tok, APP, "v2", v, sizeof(v)), 0);
	assert_int_equal(listed(tok, &r), 2);
	assert_int_equal(hsm_signer_open(tok, id, id_len, P11S_ALG_ES256, 0, &s), 0);
	plan("C_Sign CKR_USER_NOT_LOGGED_IN 1\nC_Login CKR_DEVICE_ERROR 3\n");
	ht_expect(sign_once(s), P11S_E_SESSION, "CKR_DEVICE_ERROR");
	logins = count("C_Login ");
	/* logged out now: one C_Login, then the objects */
	assert_int_equal(listed(tok, &r), 2);
	assert_int_equal(r, 0);
	assert_int_equal(count("C_Login "), logins + 1);
	assert_int_equal(sign_once(s), 0);
	hsm_signer_free(s);
}

/* Logged out, and logging in keeps failing: an error every time, never an
 * empty list, and one C_Login per call. */
static void
test_logged_out_listing_fails_not_empty(void **state)
{
	hsm_signer *s = NULL;
	hsm_data *d = NULL;
	size_t n = 7, gone = 7;
	int logins, r;

	plan("");
	assert_int_equal(hsm_signer_open(tok, id, id_len, P11S_ALG_ES256, 0, &s), 0);
	plan("C_Sign CKR_USER_NOT_LOGGED_IN 1\nC_Login CKR_DEVICE_ERROR -1\n");
	ht_expect(sign_once(s), P11S_E_SESSION, NULL);
	hsm_signer_free(s);
	logins = count("C_Login ");
	(void)listed(tok, &r);
	ht_expect(r, P11S_E_SESSION, "C_Login returned CKR_DEVICE_ERROR");
	assert_int_equal(count("C_Login "), logins + 1);
	ht_expect(hsm_data_read(tok, APP, NULL, &d, &n), P11S_E_SESSION, "C_Login");
	assert_null(d);
	assert_int_equal(n, 0);
	ht_expect(hsm_data_destroy(tok, APP, "v1", &gone), P11S_E_SESSION, "C_Login");
	assert_int_equal(gone, 0);
	assert_int_equal(count("C_Login "), logins + 3);
	plan("");
	assert_int_equal(listed(tok, &r), 2);
}

/* The logout lands between the session check and the search (p11wrap's
 * LOGOUT: a real C_Logout just before C_FindObjectsInit).  The empty search
 * is not believed: one login, the search once more. */
static void
test_logout_during_search(void **state)
{
	hsm_data *d = NULL;
	hsm_key_list *keys = NULL;
	size_t n = 0, gone = 9;
	int logins, r;

	plan("C_FindObjectsInit LOGOUT 1\n");
	logins = count("C_Login ");
	assert_int_equal(listed(tok, &r), 2);
	assert_int_equal(count("C_Login "), logins + 1);

	plan("C_FindObjectsInit LOGOUT 1\n");
	assert_int_equal(hsm_data_read(tok, APP, "v1", &d, &n), 0);
	assert_int_equal(n, 1);
	hsm_data_free(d, n);

	/* the key listing too: the private key, not an empty token */
	plan("C_FindObjectsInit LOGOUT 1\n");
	assert_int_equal(hsm_list_keys(tok, &keys), 0);
	assert_int_equal(keys->n, 1);
	assert_true(keys->keys[0].has_private);
	hsm_key_list_free(keys);

	/* logged out at every search: an error after exactly one login */
	plan("C_FindObjectsInit LOGOUT -1\n");
	logins = count("C_Login ");
	(void)listed(tok, &r);
	ht_expect(r, P11S_E_SESSION, "logged this program out");
	assert_int_equal(count("C_Login "), logins + 1);
	ht_expect(hsm_data_destroy(tok, APP, "v1", &gone), P11S_E_SESSION, "logged");
	assert_int_equal(gone, 0);
	plan("");
	assert_int_equal(listed(tok, &r), 2);
}

/* A call answers CKR_USER_NOT_LOGGED_IN: the management session is dropped,
 * reopened (logged in if need be) and the call runs once more. */
static void
test_not_logged_in_answer_retried(void **state)
{
	hsm_data *d = NULL;
	size_t n = 0;
	int r, tries;

	plan("C_FindObjectsInit CKR_USER_NOT_LOGGED_IN 1\n");
	assert_int_equal(listed(tok, &r), 2);
	plan("C_GetAttributeValue CKR_USER_NOT_LOGGED_IN 1\n");
	assert_int_equal(hsm_data_read(tok, APP, "v1", &d, &n), 0);
	assert_int_equal(n, 1);
	hsm_data_free(d, n);
	/* once more only: a token that keeps answering so is an error */
	plan("C_FindObjectsInit CKR_USER_NOT_LOGGED_IN -1\n");
	tries = count("C_FindObjectsInit CKR_USER_NOT_LOGGED_IN");
	(void)listed(tok, &r);
	ht_expect(r, P11S_E_SESSION, "CKR_USER_NOT_LOGGED_IN");
	assert_int_equal(count("C_FindObjectsInit CKR_USER_NOT_LOGGED_IN"), tries + 2);
	plan("");
	assert_int_equal(listed(tok, &r), 2);
}

/* A refused PIN at the re-login is latched: reported, never tried again. */
static void
test_relogin_wrong_pin_latched(void **state)
{
	hsm_open_params p;
	hsm_token *t = NULL;
	int logins, r;

	plan("");
	memset(&p, 0, sizeof(p));
	p.uri = uri;
	p.lock_file = tt.lock_file;
	p.pin_source = tt.pin_source;
	assert_int_equal(hsm_open(&p, &t), 0);
	plan("C_FindObjectsInit LOGOUT 1\nC_Login CKR_PIN_INCORRECT -1\n");
	logins = count("C_Login ");
	(void)listed(t, &r);
	ht_expect(r, P11S_E_PIN_INCORRECT, "refused the PIN");
	assert_int_equal(count("C_Login "), logins + 1);
	(void)listed(t, &r);
	ht_expect(r, P11S_E_PIN_INCORRECT, "refused the PIN earlier");
	assert_int_equal(count("C_Login "), logins + 1);
	hsm_close(t);
	plan("");
	/* another handle, not latched, logs in again */
	assert_int_equal(listed(tok, &r), 2);
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
	    cmocka_unit_test(test_logged_out_listing_logs_in),
	    cmocka_unit_test(test_logged_out_listing_fails_not_empty),
	    cmocka_unit_test(test_logout_during_search),
	    cmocka_unit_test(test_not_logged_in_answer_retried),
	    cmocka_unit_test(test_relogin_wrong_pin_latched),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

/* hsm_open/hsm_close, PIN handling, token discovery, module loading and the host lock,
 * against real SoftHSM2 tokens. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/hsm/hsmtest.h"

static struct test_token tt;

static int
setup(void **state)
{
	test_token_create(&tt, "main");
	test_token_add(&tt, "second");
	test_token_add(&tt, "dup");
	test_token_add(&tt, "dup");
	return 0;
}

static int
teardown(void **state)
{
	test_token_destroy(&tt);
	return 0;
}

static int
try_open(const char *uri, const char *pin_source, const char *lock_file, hsm_token **t)
{
	hsm_open_params p = {
	    .uri = uri, .lock_file = lock_file, .pin_source = pin_source, .start_attempts = 2};

	p11s_err_clear();
	return hsm_open(&p, t);
}

static void
test_open_close(void **state)
{
	hsm_token *t = ht_open(&tt);

	assert_string_equal(hsm_token_label(t), "main");
	assert_true(strlen(hsm_token_serial(t)) > 0);
	hsm_close(t);
	hsm_close(NULL);
}

static void
test_open_without_pin(void **state)
{
	hsm_token *t = NULL;

	assert_int_equal(try_open(tt.uri, NULL, tt.lock_file, &t), 0);
	assert_string_equal(hsm_token_label(t), "main");
	hsm_close(t);
}

/* RFC 7512 as other tools write it: model=, manufacturer=, module-name=. */
static void
test_uri_forms(void **state)
{
	char uri[512];
	hsm_open_params p = {.uri = uri, .pin_source = tt.pin_source};
	hsm_token *t = NULL;

	snprintf(uri, sizeof(uri),
		 "pkcs11:model=SoftHSM%%20v2;manufacturer=SoftHSM%%20project;token=main"
		 "?module-path=%s",
		 SOFTHSM_MODULE);
	assert_int_equal(hsm_open(&p, &t), 0);
	assert_string_equal(hsm_token_label(t), "main");
	hsm_close(t);
	/* a model the token does not have: not this token */
	snprintf(uri, sizeof(uri), "pkcs11:model=Other;token=main?module-path=%s", SOFTHSM_MODULE);
	p.start_attempts = 1;
	t = (hsm_token *)&t;
	ht_expect(hsm_open(&p, &t), P11S_E_TOKEN_NOT_FOUND, "of model 'Other'");
	assert_null(t);
	/* p11-kit's packaged configuration names SoftHSM2 "softhsm2" */
	snprintf(uri, sizeof(uri), "pkcs11:token=main?module-name=softhsm2");
	assert_int_equal(hsm_open(&p, &t), 0);
	assert_string_equal(hsm_token_label(t), "main");
	hsm_close(t);
	/* no module at all: refused, listing the configured ones */
	snprintf(uri, sizeof(uri), "pkcs11:token=main");
	t = (hsm_token *)&t;
	ht_expect(hsm_open(&p, &t), P11S_E_MODULE, "softhsm2");
	assert_null(t);
	ht_expect(hsm_open(&p, &t), P11S_E_MODULE, "names no PKCS#11 module");
}

static void
test_pin_from_fd(void **state)
{
	char src[32];
	int fds[2];
	hsm_token *t = NULL;

	assert_int_equal(pipe(fds), 0);
	assert_int_equal(write(fds[1], TEST_PIN "\n", strlen(TEST_PIN) + 1),
			 (ssize_t)strlen(TEST_PIN) + 1);
	close(fds[1]);
	snprintf(src, sizeof(src), "fd:%d", fds[0]);
	assert_int_equal(try_open(tt.uri, src, tt.lock_file, &t), 0);
	close(fds[0]);
	hsm_close(t);
}

static void
test_wrong_pin(void **state)
{
	char path[PATH_MAX + 16], src[PATH_MAX + 32];
	hsm_token *t = (hsm_token *)&t;
	FILE *f;
	int r;

	snprintf(path, sizeof(path), "%s/wrong-pin", tt.dir);
	assert_non_null(f = fopen(path, "w"));
	fputs("999999\n", f);
	fclose(f);
	snprintf(src, sizeof(src), "file:%s", path);
	r = try_open(tt.uri, src, tt.lock_file, &t);
	ht_expect(r, P11S_E_PIN_INCORRECT, "refused the PIN");
	ht_expect(r, P11S_E_PIN_INCORRECT, "'main'");
	assert_null(strstr(p11s_errmsg(r), "999999"));
	assert_null(t);
	/* the right PIN still works: nothing was locked by the single try */
	t = ht_open(&tt);
	hsm_close(t);
}

static void
test_pin_source_unreadable(void **state)
{
	hsm_token *t = (hsm_token *)&t;
	int r;

	ht_expect(try_open(tt.uri, "file:/nonexistent/pin", tt.lock_file, &t), P11S_E_PIN_SOURCE,
		  "/nonexistent/pin");
	assert_null(t);
	unsetenv("P11S_TEST_NO_SUCH_PIN");
	ht_expect(try_open(tt.uri, "env:P11S_TEST_NO_SUCH_PIN", tt.lock_file, &t),
		  P11S_E_PIN_SOURCE, "P11S_TEST_NO_SUCH_PIN");
	/* a PIN typed where a source was expected is refused without echo */
	r = try_open(tt.uri, "123456", tt.lock_file, &t);
	ht_expect(r, P11S_E_PIN_SOURCE, "file:PATH");
	assert_null(strstr(p11s_errmsg(r), "123456"));
	assert_null(t);
}

static void
test_missing_token(void **state)
{
	char uri[PATH_MAX];
	hsm_token *t = (hsm_token *)&t;
	int r;

	snprintf(uri, sizeof(uri), "pkcs11:token=absent?module-path=%s", SOFTHSM_MODULE);
	r = try_open(uri, tt.pin_source, tt.lock_file, &t);
	ht_expect(r, P11S_E_TOKEN_NOT_FOUND, "'absent'");
	ht_expect(r, P11S_E_TOKEN_NOT_FOUND, "'main'"); /* the labels seen */
	assert_null(t);
}

static void
test_bad_module(void **state)
{
	char uri[2 * PATH_MAX], pin[PATH_MAX + 16];
	hsm_token *t = (hsm_token *)&t;

	ht_expect(try_open("pkcs11:token=main?module-path=/nonexistent/libnone.so", tt.pin_source,
			   tt.lock_file, &t),
		  P11S_E_MODULE, "/nonexistent/libnone.so");
	assert_null(t);
	/* a file that is not a shared library */
	snprintf(pin, sizeof(pin), "%s/pin", tt.dir);
	snprintf(uri, sizeof(uri), "pkcs11:token=main?module-path=%s", pin);
	ht_expect(try_open(uri, tt.pin_source, tt.lock_file, &t), P11S_E_MODULE, "cannot load");
	assert_null(t);
}

static void
test_bad_params(void **state)
{
	hsm_open_params p = {0};
	hsm_token *t = (hsm_token *)&t;
	char uri[PATH_MAX];

	ht_expect(hsm_open(&p, &t), P11S_E_INVAL, "no token URI");
	assert_null(t);
	ht_expect(hsm_open(NULL, &t), P11S_E_INVAL, "no token URI");
	snprintf(uri, sizeof(uri), "pkcs11:object=x?module-path=%s", SOFTHSM_MODULE);
	ht_expect(try_open(uri, tt.pin_source, NULL, &t), P11S_E_INVAL, "names no token");
	ht_expect(try_open("pkcs11:id=%zz", tt.pin_source, NULL, &t), P11S_E_INVAL, "bad id=");
	assert_null(t);
}

static void
test_lock_missing_dir(void **state)
{
	char lock[PATH_MAX + 32];
	hsm_token *t = (hsm_token *)&t;

	snprintf(lock, sizeof(lock), "%s/no-such-dir/token.lock", tt.dir);
	ht_expect(try_open(tt.uri, tt.pin_source, lock, &t), P11S_E_LOCK, lock);
	assert_null(t);
}

/* Can another open file description take the lock right now? */
static int
lock_free(const char *path)
{
	int fd = open(path, O_RDWR);
	int ok;

	assert_true(fd >= 0);
	ok = flock(fd, LOCK_EX | LOCK_NB) == 0;
	if (!ok)
		assert_int_equal(errno, EWOULDBLOCK);
	close(fd);
	return ok;
}

static void
test_lock_reentrant(void **state)
{
	hsm_token *t = ht_open(&tt);
	char **labels = NULL;
	size_t n = 0;
	struct stat st;

	assert_int_equal(stat(tt.lock_file, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_true(lock_free(tt.lock_file));
	assert_int_equal(hsm_lock(t), 0);
	assert_false(lock_free(tt.lock_file));
	assert_int_equal(hsm_lock(t), 0);
	/* management calls take the lock themselves: re-entrant in this thread */
	assert_int_equal(hsm_data_labels(t, "p11s-test", &labels, &n), 0);
	hsm_data_labels_free(labels, n);
	hsm_unlock(t);
	assert_false(lock_free(tt.lock_file));
	hsm_unlock(t);
	assert_true(lock_free(tt.lock_file));
	hsm_close(t);
}

static void
test_two_tokens_one_module(void **state)
{
	char uri2[PATH_MAX];
	hsm_token *a = ht_open(&tt), *b = NULL;
	uint8_t id[HSM_ID_MAX], id2[HSM_ID_MAX];
	size_t id_len = 0, id2_len = 0;

	snprintf(uri2, sizeof(uri2), "pkcs11:token=second?module-path=%s", SOFTHSM_MODULE);
	assert_int_equal(try_open(uri2, tt.pin_source, tt.lock_file, &b), 0);
	assert_string_equal(hsm_token_label(b), "second");
	assert_int_equal(hsm_keygen(b, "on-second", P11S_KT_EC_P256, 0, id, &id_len), 0);
	/* the key is on the second token only */
	ht_expect(hsm_find_key_by_label(a, "on-second", id2, &id2_len), P11S_E_NOTFOUND, "'main'");
	/* closing one token leaves the shared module usable by the other */
	hsm_close(a);
	assert_int_equal(hsm_find_key_by_label(b, "on-second", id2, &id2_len), 0);
	assert_memory_equal(id, id2, id_len);
	ht_sign_verify(b, id, id_len, P11S_ALG_ES256, 1);
	assert_int_equal(hsm_destroy_key(b, id, id_len), 0);
	hsm_close(b);
}

static void
test_ambiguous_label_and_serial(void **state)
{
	char uri[PATH_MAX + 64], serial[17] = "";
	const char *p;
	hsm_token *t = (hsm_token *)&t;
	int r;

	snprintf(uri, sizeof(uri), "pkcs11:token=dup?module-path=%s", SOFTHSM_MODULE);
	r = try_open(uri, tt.pin_source, tt.lock_file, &t);
	ht_expect(r, P11S_E_AMBIGUOUS, "add serial=");
	assert_null(t);
	assert_non_null(p = strstr(p11s_errmsg(r), "(serials "));
	assert_int_equal(sscanf(p, "(serials %16[0-9a-fA-F]", serial), 1);
	snprintf(uri, sizeof(uri), "pkcs11:token=dup;serial=%s?module-path=%s", serial,
		 SOFTHSM_MODULE);
	assert_int_equal(try_open(uri, tt.pin_source, tt.lock_file, &t), 0);
	assert_string_equal(hsm_token_serial(t), serial);
	assert_string_equal(hsm_token_label(t), "dup");
	hsm_close(t);
	/* serial alone */
	snprintf(uri, sizeof(uri), "pkcs11:serial=%s?module-path=%s", serial, SOFTHSM_MODULE);
	assert_int_equal(try_open(uri, tt.pin_source, tt.lock_file, &t), 0);
	assert_string_equal(hsm_token_label(t), "dup");
	hsm_close(t);
	/* label and serial that do not belong together */
	snprintf(uri, sizeof(uri), "pkcs11:token=main;serial=%s?module-path=%s", serial,
		 SOFTHSM_MODULE);
	ht_expect(try_open(uri, tt.pin_source, tt.lock_file, &t), P11S_E_TOKEN_NOT_FOUND, serial);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_open_close),
	    cmocka_unit_test(test_open_without_pin),
	    cmocka_unit_test(test_uri_forms),
	    cmocka_unit_test(test_pin_from_fd),
	    cmocka_unit_test(test_wrong_pin),
	    cmocka_unit_test(test_pin_source_unreadable),
	    cmocka_unit_test(test_missing_token),
	    cmocka_unit_test(test_bad_module),
	    cmocka_unit_test(test_bad_params),
	    cmocka_unit_test(test_lock_missing_dir),
	    cmocka_unit_test(test_lock_reentrant),
	    cmocka_unit_test(test_two_tokens_one_module),
	    cmocka_unit_test(test_ambiguous_label_and_serial),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

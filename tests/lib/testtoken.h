/* A throwaway SoftHSM2 token for one test binary: its own directory,
 * softhsm2.conf and SOFTHSM2_CONF; never /var/lib/softhsm. */
#ifndef P11S_TESTS_TESTTOKEN_H
#define P11S_TESTS_TESTTOKEN_H

#include <limits.h>

#define TEST_PIN "123456"
#define TEST_SO_PIN "12345678"

struct test_token {
	char dir[PATH_MAX];	       /* temp root: conf, tokens/, pin, lock */
	char conf[PATH_MAX];	       /* softhsm2.conf */
	char pin_source[PATH_MAX + 8]; /* "file:<dir>/pin" */
	char lock_file[PATH_MAX];
	char uri[PATH_MAX + 128]; /* pkcs11:token=<label>?module-path=<module> */
	char label[33];
};

/* Create the directory and config, export SOFTHSM2_CONF, and initialise a
 * token `label` (PIN TEST_PIN).  Aborts the test program on failure. */
void test_token_create(struct test_token *t, const char *label);
/* Initialise one more token with this label in the same SoftHSM2 config. */
void test_token_add(struct test_token *t, const char *label);
/* Remove the directory tree. */
void test_token_destroy(struct test_token *t);

#endif

/* Private CKO_DATA objects on a real SoftHSM2 token. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "tests/hsm/hsmtest.h"

#define APP "p11-signer/state"

static struct test_token tt;
static hsm_token *tok;

static int
setup(void **state)
{
	test_token_create(&tt, "data");
	tok = ht_open(&tt);
	return 0;
}

static int
teardown(void **state)
{
	hsm_close(tok);
	test_token_destroy(&tt);
	return 0;
}

static int
has_label(char **labels, size_t n, const char *label)
{
	int count = 0;

	for (size_t i = 0; i < n; i++)
		count += strcmp(labels[i], label) == 0;
	return count;
}

static void
test_create_labels_read_destroy(void **state)
{
	static const uint8_t v1[] = "state version 1", v2[] = {0, 1, 2, 0xff};
	char **labels = NULL;
	hsm_data *d = NULL;
	size_t n = 0, destroyed = 0;

	assert_int_equal(hsm_data_labels(tok, APP, &labels, &n), 0);
	assert_int_equal(n, 0);
	hsm_data_labels_free(labels, n);

	assert_int_equal(hsm_data_create(tok, APP, "v1", v1, sizeof(v1)), 0);
	assert_int_equal(hsm_data_create(tok, APP, "v2", v2, sizeof(v2)), 0);
	assert_int_equal(hsm_data_create(tok, APP, "v2", v1, sizeof(v1)), 0);
	assert_int_equal(hsm_data_create(tok, "other-app", "v1", v2, sizeof(v2)), 0);

	assert_int_equal(hsm_data_labels(tok, APP, &labels, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(has_label(labels, n, "v1"), 1);
	assert_int_equal(has_label(labels, n, "v2"), 2);
	hsm_data_labels_free(labels, n);

	assert_int_equal(hsm_data_read(tok, APP, "v1", &d, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(d[0].label, "v1");
	assert_int_equal(d[0].len, sizeof(v1));
	assert_memory_equal(d[0].value, v1, sizeof(v1));
	hsm_data_free(d, n);

	assert_int_equal(hsm_data_read(tok, "other-app", NULL, &d, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(d[0].len, sizeof(v2));
	assert_memory_equal(d[0].value, v2, sizeof(v2));
	hsm_data_free(d, n);

	assert_int_equal(hsm_data_read(tok, APP, NULL, &d, &n), 0);
	assert_int_equal(n, 3);
	hsm_data_free(d, n);

	assert_int_equal(hsm_data_destroy(tok, APP, "v2", &destroyed), 0);
	assert_int_equal(destroyed, 2);
	assert_int_equal(hsm_data_read(tok, APP, "v2", &d, &n), 0);
	assert_int_equal(n, 0);
	hsm_data_free(d, n);
	assert_int_equal(hsm_data_destroy(tok, APP, "v2", &destroyed), 0);
	assert_int_equal(destroyed, 0);
	assert_int_equal(hsm_data_destroy(tok, APP, "v1", &destroyed), 0);
	assert_int_equal(destroyed, 1);
	/* the other application's object is untouched */
	assert_int_equal(hsm_data_labels(tok, "other-app", &labels, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(labels[0], "v1");
	hsm_data_labels_free(labels, n);
	assert_int_equal(hsm_data_destroy(tok, "other-app", "v1", &destroyed), 0);
	hsm_data_free(NULL, 0);
	hsm_data_labels_free(NULL, 0);
}

static void
test_empty_value(void **state)
{
	hsm_data *d = NULL;
	size_t n = 0, destroyed = 0;

	assert_int_equal(hsm_data_create(tok, APP, "empty", NULL, 0), 0);
	assert_int_equal(hsm_data_read(tok, APP, "empty", &d, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(d[0].len, 0);
	hsm_data_free(d, n);
	assert_int_equal(hsm_data_destroy(tok, APP, "empty", &destroyed), 0);
	assert_int_equal(destroyed, 1);
}

/* Private objects: invisible to a session that is not logged in. */
static void
test_private(void **state)
{
	hsm_open_params p = {.uri = tt.uri, .lock_file = tt.lock_file};
	hsm_token *anon = NULL;
	char **labels = NULL;
	size_t n = 0, destroyed = 0;

	assert_int_equal(hsm_data_create(tok, APP, "secret", (const uint8_t *)"x", 1), 0);
	hsm_close(tok);
	tok = NULL;
	assert_int_equal(hsm_open(&p, &anon), 0);
	assert_int_equal(hsm_data_labels(anon, APP, &labels, &n), 0);
	assert_int_equal(n, 0);
	hsm_data_labels_free(labels, n);
	hsm_close(anon);
	tok = ht_open(&tt);
	assert_int_equal(hsm_data_labels(tok, APP, &labels, &n), 0);
	assert_int_equal(n, 1);
	hsm_data_labels_free(labels, n);
	assert_int_equal(hsm_data_destroy(tok, APP, "secret", &destroyed), 0);
}

static void
test_refusals(void **state)
{
	char **labels = (char **)&labels;
	hsm_data *d = (hsm_data *)&d;
	size_t n = 7, destroyed = 7;

	ht_expect(hsm_data_create(tok, NULL, "l", (const uint8_t *)"x", 1), P11S_E_INVAL,
		  "application");
	ht_expect(hsm_data_create(tok, "", "l", (const uint8_t *)"x", 1), P11S_E_INVAL,
		  "application");
	ht_expect(hsm_data_create(tok, APP, NULL, (const uint8_t *)"x", 1), P11S_E_INVAL, "label");
	ht_expect(hsm_data_create(tok, APP, "l", NULL, 3), P11S_E_INVAL, "no value");
	ht_expect(hsm_data_labels(tok, NULL, &labels, &n), P11S_E_INVAL, "application");
	assert_null(labels);
	assert_int_equal(n, 0);
	ht_expect(hsm_data_read(tok, APP, "", &d, &n), P11S_E_INVAL, "label is empty");
	assert_null(d);
	ht_expect(hsm_data_destroy(tok, APP, NULL, &destroyed), P11S_E_INVAL, "label");
	assert_int_equal(destroyed, 0);
	/* nothing was created by the refused calls */
	assert_int_equal(hsm_data_labels(tok, APP, &labels, &n), 0);
	assert_int_equal(n, 0);
	hsm_data_labels_free(labels, n);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_create_labels_read_destroy),
	    cmocka_unit_test(test_empty_value),
	    cmocka_unit_test(test_private),
	    cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

/* A reader that holds state version N never goes back (issue 9 item 1): on a
 * real SoftHSM2 token, state_load_since refuses a store that shows no record
 * (what a session that is not logged in lists) or only an older version,
 * and state_peek_version reports 0 for "none visible". */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "signer/state.h"
#include "tests/hsm/hsmtest.h"

static struct test_token tt;
static hsm_token *tok;

static int
edit(signer_state *st, void *arg)
{
	(void)arg;
	return state_log(st, 1, "test", NULL);
}

static void
test_never_back(void **state)
{
	signer_state *st = NULL, dummy;
	char **labels = NULL;
	size_t n = 0, gone = 0;
	uint64_t v = 99;

	(void)state;
	/* nothing stored: version 0, an empty state for a reader holding none */
	assert_int_equal(state_peek_version(tok, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(state_load_since(tok, 0, &st), 0);
	assert_int_equal(st->version, 0);
	state_free(st);
	assert_int_equal(state_update(tok, edit, NULL, NULL), 0);
	assert_int_equal(state_update(tok, edit, NULL, NULL), 0);
	assert_int_equal(state_load_since(tok, 2, &st), 0);
	assert_int_equal(st->version, 2);
	state_free(st);
	st = &dummy; /* cleared on entry */
	assert_int_equal(state_load_since(tok, 3, &st), P11S_E_STATE);
	assert_null(st);
	assert_non_null(strstr(p11s_errmsg(P11S_E_STATE), "version 2, older than version 3"));

	/* every record gone from view: an error for a reader holding version 2 */
	assert_int_equal(hsm_data_labels(tok, STATE_APPLICATION, &labels, &n), 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(hsm_data_destroy(tok, STATE_APPLICATION, labels[i], &gone), 0);
	hsm_data_labels_free(labels, n);
	assert_int_equal(state_peek_version(tok, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(state_load_since(tok, 2, &st), P11S_E_STATE);
	assert_null(st);
	assert_non_null(strstr(p11s_errmsg(P11S_E_STATE), "no usable state record is visible"));
}

static int
setup(void **state)
{
	(void)state;
	test_token_create(&tt, "since");
	tok = ht_open(&tt);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	hsm_close(tok);
	test_token_destroy(&tt);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_never_back),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

/* The state store's cross-host conflict path on a real SoftHSM2 token: a
 * record written by "another host" (a replicated HSM, no shared lock file)
 * lands between our read and our write.  Neither update may be lost. */
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
count_actions(const signer_state *st, const char *action)
{
	json_t *ev;
	size_t i;
	int n = 0;

	json_array_foreach(st->history, i, ev) n +=
	    strcmp(json_string_value(json_object_get(ev, "action")), action) == 0;
	return n;
}

struct race {
	int calls;
	int inject;
};

/* Our edit.  On its first run it also plays the other host: a valid record
 * of the next version, with the lowest possible nonce, appears on the token
 * after we read and before we write. */
static int
edit(signer_state *st, void *arg)
{
	struct race *rc = arg;
	char label[64], *text = NULL;
	signer_state *other = NULL;
	size_t len = 0;

	rc->calls++;
	if (rc->inject && rc->calls == 1) {
		assert_int_equal(state_to_json(st, &text, &len), 0);
		assert_int_equal(state_from_json(text, len, &other), 0);
		free(text);
		assert_int_equal(state_log(other, 1, "other-host", NULL), 0);
		other->version = st->version + 1;
		assert_int_equal(state_to_json(other, &text, &len), 0);
		snprintf(label, sizeof(label), "v%020llu.%016x", (unsigned long long)other->version,
			 0);
		assert_int_equal(
		    hsm_data_create(tok, STATE_APPLICATION, label, (const uint8_t *)text, len), 0);
		free(text);
		state_free(other);
	}
	return state_log(st, 2, "ours", NULL);
}

static void
test_conflict_retried(void **state)
{
	struct race rc = {0, 0};
	signer_state *st = NULL;
	char **labels = NULL;
	size_t n = 0;

	/* version 1: a plain write */
	assert_int_equal(state_update(tok, edit, &rc, NULL), 0);
	/* version 2 is taken by the other host while we edit: we lose, retry on
	 * top of its record, and write version 3 */
	rc.calls = 0;
	rc.inject = 1;
	assert_int_equal(state_update(tok, edit, &rc, &st), 0);
	assert_int_equal(rc.calls, 2);
	assert_int_equal(st->version, 3);
	state_free(st);
	st = NULL;
	assert_int_equal(state_load(tok, &st), 0);
	assert_int_equal(st->version, 3);
	assert_int_equal(count_actions(st, "other-host"), 1);
	assert_int_equal(count_actions(st, "ours"), 2);
	state_free(st);
	/* the loser withdrew its record and the old versions are gone */
	assert_int_equal(hsm_data_labels(tok, STATE_APPLICATION, &labels, &n), 0);
	assert_int_equal(n, 1);
	assert_non_null(strstr(labels[0], "v00000000000000000003."));
	hsm_data_labels_free(labels, n);
}

/* A torn record (digest fails) of a newer version is skipped by readers and
 * swept by the next writer. */
static void
test_torn_record_skipped(void **state)
{
	static const char junk[] = "{\"format\":1,\"version\":9}\n0000";
	signer_state *st = NULL;
	struct race rc = {0, 0};
	uint64_t v = 0;

	assert_int_equal(hsm_data_create(tok, STATE_APPLICATION,
					 "v00000000000000000009.0000000000000001",
					 (const uint8_t *)junk, sizeof(junk) - 1),
			 0);
	assert_int_equal(state_load(tok, &st), 0);
	assert_int_equal(st->version, 3);
	state_free(st);
	assert_int_equal(state_peek_version(tok, &v), 0);
	assert_int_equal(v, 9); /* labels only: a poller reloads, then keeps 3 */
	assert_int_equal(state_update(tok, edit, &rc, &st), 0);
	assert_int_equal(st->version, 4);
	state_free(st);
	assert_int_equal(state_peek_version(tok, &v), 0);
	assert_int_equal(v, 4);
}

static int
setup(void **state)
{
	test_token_create(&tt, "conflict");
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_conflict_retried),
	    cmocka_unit_test(test_torn_record_skipped),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

/* Serialization of the rollover state: round trip, integrity, versioning. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "signer/state.h"

static const uint8_t cert_bytes[] = {0x30, 0x03, 0x02, 0x01, 0x05};

static signer_state *
sample(void)
{
	signer_state *st = NULL;
	pol_key k;
	const char *types[] = {"AudioVideoAuthentication"};

	assert_int_equal(state_new(&st), 0);
	memset(&k, 0, sizeof(k));
	strcpy(k.sha1, "00112233445566778899aabbccddeeff00112233");
	memset(k.sha256, 'a', 64);
	k.keytype = P11S_KT_EC_P256;
	k.bits = 256;
	k.not_before = 1000;
	k.not_after = 900000;
	strcpy(k.id_hex, "0a0b");
	k.cert_der = (uint8_t *)(uintptr_t)cert_bytes;
	k.cert_len = sizeof(cert_bytes);
	assert_int_equal(pol_apply_assign(&st->pol, types, 1, &k, 5000), 0);
	st->version = 7;
	st->written_at = 5001;
	assert_int_equal(state_log(st, 5000, "assign", json_pack("{s:s}", "key", k.sha1)), 0);
	return st;
}

static void
test_round_trip(void **unused)
{
	signer_state *st = sample(), *back = NULL;
	char *text = NULL, *text2 = NULL;
	size_t len = 0, len2 = 0;

	(void)unused;
	assert_int_equal(state_to_json(st, &text, &len), 0);
	assert_int_equal(state_from_json(text, len, &back), 0);
	assert_int_equal(back->version, 7);
	assert_int_equal(back->written_at, 5001);
	assert_int_equal(back->pol.n_keys, 1);
	assert_string_equal(back->pol.keys[0].sha1, st->pol.keys[0].sha1);
	assert_int_equal(back->pol.keys[0].not_after, 900000);
	assert_int_equal(back->pol.keys[0].keytype, P11S_KT_EC_P256);
	assert_int_equal(back->pol.keys[0].cert_len, sizeof(cert_bytes));
	assert_memory_equal(back->pol.keys[0].cert_der, cert_bytes, sizeof(cert_bytes));
	assert_int_equal(back->pol.n_types, 1);
	assert_int_equal(back->pol.types[0].n_epochs, 1);
	assert_int_equal(back->pol.types[0].epochs[0].effective, 5000);
	assert_int_equal(json_array_size(back->history), 1);
	/* serialization is deterministic */
	assert_int_equal(state_to_json(back, &text2, &len2), 0);
	assert_int_equal(len, len2);
	assert_memory_equal(text, text2, len);
	free(text);
	free(text2);
	state_free(st);
	state_free(back);
}

static void
expect_refused(const char *text, size_t len, const char *why)
{
	signer_state *st = (signer_state *)1;

	assert_int_equal(state_from_json(text, len, &st), P11S_E_STATE);
	assert_null(st);
	assert_non_null(strstr(p11s_errmsg(P11S_E_STATE), why));
}

static void
test_tampered_or_torn(void **unused)
{
	signer_state *st = sample();
	char *text = NULL;
	size_t len = 0;

	(void)unused;
	assert_int_equal(state_to_json(st, &text, &len), 0);
	/* torn: any prefix is refused */
	expect_refused(text, len - 1, "digest");
	expect_refused(text, len / 2, "digest");
	expect_refused(text, 10, "digest");
	/* one flipped byte in the body */
	text[5] ^= 1;
	expect_refused(text, len, "digest");
	free(text);
	state_free(st);
}

/* Build "body\n<sha256(body)>" for hand-written bodies. */
static char *
with_digest(const char *body, size_t *len)
{
	size_t b = strlen(body);
	char *t = malloc(b + 66);

	assert_non_null(t);
	memcpy(t, body, b);
	t[b] = '\n';
	assert_int_equal(p11s_sha256_hex((const uint8_t *)body, b, t + b + 1), 0);
	*len = b + 65;
	return t;
}

static void
test_versions(void **unused)
{
	size_t len;
	char *t;
	signer_state *st = NULL;

	(void)unused;
	/* a whole record in a newer format is not "unusable": its own error, so
	 * that readers stop instead of skipping it and writers never sweep it */
	t = with_digest("{\"format\":2,\"version\":1,\"written_at\":1,\"keys\":[],\"types\":[]}",
			&len);
	st = (signer_state *)1;
	assert_int_equal(state_from_json(t, len, &st), P11S_E_STATE_FORMAT);
	assert_null(st);
	assert_non_null(strstr(p11s_errmsg(P11S_E_STATE_FORMAT),
			       "written by a newer p11-signer (format 2); upgrade"));
	/* the same record torn is torn, whatever format it claims */
	expect_refused(t, len - 1, "digest");
	t[3] ^= 1;
	expect_refused(t, len, "digest");
	free(t);
	t = with_digest("{\"format\":17,\"anything\":\"else\"}", &len);
	assert_int_equal(state_from_json(t, len, &st), P11S_E_STATE_FORMAT);
	assert_null(st);
	assert_non_null(strstr(p11s_errmsg(P11S_E_STATE_FORMAT), "(format 17); upgrade"));
	free(t);
	t = with_digest("{\"version\":1,\"written_at\":1,\"keys\":[],\"types\":[]}", &len);
	expect_refused(t, len, "format");
	free(t);
	t = with_digest(
	    "{\"format\":1,\"version\":1,\"written_at\":1,\"keys\":[],\"types\":[{\"name\":\"X\","
	    "\"epochs\":[{\"key\":\"ff\",\"effective\":1,\"staged_at\":1}]}]}",
	    &len);
	expect_refused(t, len, "unknown key");
	free(t);
	t = with_digest("{\"format\":1,\"format\":1,\"version\":1}", &len);
	expect_refused(t, len, "not JSON");
	free(t);
	/* an older record without proposals/history still loads */
	t = with_digest("{\"format\":1,\"version\":3,\"written_at\":1,\"keys\":[],\"types\":[]}",
			&len);
	assert_int_equal(state_from_json(t, len, &st), 0);
	assert_int_equal(st->version, 3);
	assert_int_equal(json_array_size(st->history), 0);
	state_free(st);
	free(t);
}

/* Members are stale after 10 x poll interval or 30 s, whichever is larger. */
static void
test_member_stale(void **state)
{
	(void)state;
	assert_int_equal(member_stale_after(200), 30);
	assert_int_equal(member_stale_after(0), 30); /* older records: 500 ms */
	assert_int_equal(member_stale_after(3000), 30);
	assert_int_equal(member_stale_after(3001), 31);
	assert_int_equal(member_stale_after(5000), 50);
	assert_false(member_is_stale(1000, 200, 1030));
	assert_true(member_is_stale(1000, 200, 1031));
	assert_false(member_is_stale(1000, 5000, 1050));
	assert_true(member_is_stale(1000, 5000, 1051));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_tampered_or_torn),
	    cmocka_unit_test(test_versions),
	    cmocka_unit_test(test_member_stale),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for common/text.c (quoting untrusted text) and the error
 * classes and message hygiene of common/error.c. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "common/error.h"
#include "common/text.h"

static const char *
q(const char *in, size_t len, size_t outlen)
{
	static char buf[512];

	assert_true(outlen <= sizeof(buf));
	memset(buf, 'Z', sizeof(buf));
	p11s_quote(in, len, buf, outlen);
	assert_true(strlen(buf) < outlen);
	assert_true(p11s_utf8_valid(buf, strlen(buf)));
	return buf;
}

static void
test_quote_plain(void **state)
{
	(void)state;
	assert_string_equal(q("abc", 3, 32), "\"abc\"");
	assert_string_equal(q("", 0, 32), "\"\"");
	assert_string_equal(q(NULL, 5, 32), "\"\"");
	assert_string_equal(q("caf\xc3\xa9", 5, 32), "\"caf\xc3\xa9\"");
	/* 4-byte character kept whole */
	assert_string_equal(q("\xf0\x9f\x94\x91", 4, 32), "\"\xf0\x9f\x94\x91\"");
	/* quotes and backslashes are escaped */
	assert_string_equal(q("a\"b\\c", 5, 32), "\"a\\\"b\\\\c\"");
	/* a NUL inside the counted bytes is shown, not a terminator */
	assert_string_equal(q("a\0b", 3, 32), "\"a\\x00b\"");
	assert_string_equal(p11s_quote_str(NULL, (char[16]){0}, 16), "\"\"");
}

static void
test_quote_control(void **state)
{
	(void)state;
	assert_string_equal(q("a\nb\tc\x1b[31m\x7f", 11, 64), "\"a\\x0Ab\\x09c\\x1B[31m\\x7F\"");
	/* C1 control U+0085 and a right-to-left override U+202E */
	assert_string_equal(q("\xc2\x85x\xe2\x80\xae", 6, 64), "\"\\u0085x\\u202E\"");
}

static void
test_quote_invalid(void **state)
{
	(void)state;
	/* a lone lead byte, as a cut path gives it */
	assert_string_equal(q("\xc3", 1, 32), "\"\\xC3\"");
	/* lead byte followed by ASCII: the ASCII survives */
	assert_string_equal(q("\xc3.json", 6, 32), "\"\\xC3.json\"");
	/* stray continuation bytes */
	assert_string_equal(q("\x80\xbf", 2, 32), "\"\\x80\\xBF\"");
	/* overlong '/' (C0 AF), overlong 3-byte (E0 80 AF) */
	assert_string_equal(q("\xc0\xaf", 2, 32), "\"\\xC0\\xAF\"");
	assert_string_equal(q("\xe0\x80\xaf", 3, 32), "\"\\xE0\\x80\\xAF\"");
	/* surrogate U+D800 (ED A0 80) and beyond U+10FFFF (F4 90 80 80) */
	assert_string_equal(q("\xed\xa0\x80", 3, 32), "\"\\xED\\xA0\\x80\"");
	assert_string_equal(q("\xf4\x90\x80\x80", 4, 40), "\"\\xF4\\x90\\x80\\x80\"");
	/* FE and FF never appear in UTF-8 */
	assert_string_equal(q("\xfe\xff", 2, 32), "\"\\xFE\\xFF\"");
	/* a 3-byte sequence cut after 2 bytes */
	assert_string_equal(q("a\xe2\x82", 3, 32), "\"a\\xE2\\x82\"");
}

static void
test_quote_truncation(void **state)
{
	char in[200];
	const char *s;
	size_t n;

	(void)state;
	/* outlen 16: 10 bytes of text fit between the quotes */
	assert_string_equal(q("0123456789", 10, 16), "\"0123456789\"");
	assert_string_equal(q("0123456789A", 11, 16), "\"0123456789\"...");
	/* two-byte characters: never cut in half, at every buffer size */
	for (n = 0; n < 40; n++) {
		in[2 * n] = '\xc3';
		in[2 * n + 1] = '\xa9';
	}
	for (size_t outlen = 8; outlen < 100; outlen++) {
		s = q(in, 80, outlen);
		assert_true(s[0] == '"');
		if (outlen >= 2 + 80 + 1 + 3)
			assert_int_equal(strlen(s), 82);
		else
			assert_non_null(strstr(s, "\"..."));
	}
	/* an escape is not cut either */
	s = q("ab\x01", 3, 11);
	assert_string_equal(s, "\"ab\"...");
	/* the 40 two-byte characters after 'a' fit a quote buffer whole */
	in[0] = 'a';
	for (n = 0; n < 40; n++) {
		in[1 + 2 * n] = '\xc3';
		in[2 + 2 * n] = '\xa9';
	}
	s = q(in, 81, P11S_QUOTE_BUF);
	assert_int_equal(strlen(s), 83);
	/* too small to hold anything useful */
	assert_string_equal(q("abc", 3, 7), "");
}

static void
test_utf8_valid(void **state)
{
	(void)state;
	assert_true(p11s_utf8_valid("", 0));
	assert_true(p11s_utf8_valid("a\xc3\xa9\xe2\x82\xac\xf0\x9f\x94\x91", 10));
	assert_false(p11s_utf8_valid("\xc3", 1));
	assert_false(p11s_utf8_valid("\xed\xa0\x80", 3));
	assert_false(p11s_utf8_valid("\xc1\xbf", 2));
}

static void
test_text_fix(void **state)
{
	char s[64];

	(void)state;
	snprintf(s, sizeof(s), "ok \xc3\xa9 tab\there\nline");
	assert_string_equal(p11s_text_fix(s), "ok \xc3\xa9 tab\there\nline");
	snprintf(s, sizeof(s), "cut \xc3");
	assert_string_equal(p11s_text_fix(s), "cut ?");
	snprintf(s, sizeof(s), "bad \x80\xff esc\x1b end");
	assert_string_equal(p11s_text_fix(s), "bad ?? esc? end");
	assert_null(p11s_text_fix(NULL));
}

/* p11s_fail keeps its message valid UTF-8 even when its buffer cuts it. */
static void
test_fail_message_valid(void **state)
{
	char big[2048];
	const char *m;

	(void)state;
	for (size_t i = 0; i + 1 < sizeof(big); i += 2) {
		big[i] = '\xc3';
		big[i + 1] = '\xa9';
	}
	big[sizeof(big) - 1] = '\0';
	/* "x" shifts every character by one byte: the 1024-byte buffer ends mid-character */
	assert_int_equal(p11s_fail(P11S_E_INVAL, "x%s", big), P11S_E_INVAL);
	m = p11s_errmsg(P11S_E_INVAL);
	assert_true(strlen(m) > 1000);
	assert_true(p11s_utf8_valid(m, strlen(m)));
	assert_int_equal(p11s_fail(P11S_E_INVAL, "raw %s", "\xc3(\x80"), P11S_E_INVAL);
	assert_string_equal(p11s_errmsg(P11S_E_INVAL), "raw ?(?");
	p11s_err_clear();
}

/* Every error code and its class: one table for the CLI and the daemon. */
static void
test_error_classes(void **state)
{
	static const struct {
		int err;
		p11s_err_class c;
	} want[] = {
	    {P11S_OK, P11S_CLASS_OK},
	    {P11S_E_INTERNAL, P11S_CLASS_INTERNAL},
	    {P11S_E_NOMEM, P11S_CLASS_INTERNAL},
	    {P11S_E_INVAL, P11S_CLASS_USAGE},
	    {P11S_E_NOTFOUND, P11S_CLASS_USAGE},
	    {P11S_E_AMBIGUOUS, P11S_CLASS_USAGE},
	    {P11S_E_EXISTS, P11S_CLASS_REFUSED},
	    {P11S_E_IO, P11S_CLASS_USAGE},
	    {P11S_E_CRYPTO, P11S_CLASS_INTERNAL},
	    {P11S_E_CONFIG, P11S_CLASS_USAGE},
	    {P11S_E_PIN_SOURCE, P11S_CLASS_USAGE},
	    {P11S_E_MODULE, P11S_CLASS_TOKEN_TRANSIENT},
	    {P11S_E_TOKEN_NOT_FOUND, P11S_CLASS_TOKEN_TRANSIENT},
	    {P11S_E_PIN_INCORRECT, P11S_CLASS_TOKEN_FATAL},
	    {P11S_E_PIN_LOCKED, P11S_CLASS_TOKEN_FATAL},
	    {P11S_E_HSM, P11S_CLASS_TOKEN_TRANSIENT},
	    {P11S_E_SESSION, P11S_CLASS_TOKEN_TRANSIENT},
	    {P11S_E_KEY_MISMATCH, P11S_CLASS_REFUSED},
	    {P11S_E_KEY_TYPE, P11S_CLASS_REFUSED},
	    {P11S_E_MECHANISM, P11S_CLASS_TOKEN_FATAL},
	    {P11S_E_LOCK, P11S_CLASS_TOKEN_TRANSIENT},
	    {P11S_E_STATE, P11S_CLASS_STATE},
	    {P11S_E_CONFLICT, P11S_CLASS_STATE},
	    {P11S_E_STATE_FORMAT, P11S_CLASS_STATE},
	    {P11S_E_JOURNAL, P11S_CLASS_STATE},
	    {P11S_E_POLICY, P11S_CLASS_REFUSED},
	    {P11S_E_BADTOKEN, P11S_CLASS_REFUSED},
	};
	size_t n = sizeof(want) / sizeof(want[0]);

	(void)state;
	for (size_t i = 0; i < n; i++) {
		if (p11s_err_classify(want[i].err) != want[i].c)
			fail_msg("%s (%d): class %s, want %s", p11s_strerror(want[i].err),
				 want[i].err, p11s_err_class_name(p11s_err_classify(want[i].err)),
				 p11s_err_class_name(want[i].c));
	}
	/* Every code the project defines is in the table above: a new code
	 * must be given its class on purpose. */
	for (int err = -1; err >= -200; err--) {
		int listed = 0;

		if (strcmp(p11s_strerror(err), "unknown error") == 0)
			continue;
		for (size_t i = 0; i < n; i++)
			listed |= want[i].err == err;
		if (!listed)
			fail_msg("error %d (%s) has no class in this test", err,
				 p11s_strerror(err));
	}
	assert_int_equal(p11s_err_classify(-9999), P11S_CLASS_INTERNAL);
	assert_string_equal(p11s_err_class_name(P11S_CLASS_TOKEN_FATAL), "token_fatal");
}

/* Byte for byte what jansson writes for the same string; NULL for text
 * that is not UTF-8. */
static void
test_json_quote(void **state)
{
	static const char *const texts[] = {
	    "",
	    "plain",
	    "quote\" and \\ back",
	    "ctl \b\f\n\r\t \x01\x1f\x7f end",
	    "/slash/ </script>",
	    "caf\xc3\xa9 \xe2\x80\xae \xe2\x80\xa8 \xf0\x9f\x94\x91",
	};
	static const char *const bad[] = {"\xc3\x28", "\xed\xa0\x80", "\xc0\xaf",
					  "\xf4\x90\x80\x80"};

	(void)state;
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		json_t *j = json_string(texts[i]);
		char *want = json_dumps(j, JSON_ENCODE_ANY), *got = p11s_json_quote(texts[i]);

		assert_non_null(want);
		assert_non_null(got);
		assert_string_equal(got, want);
		free(want);
		free(got);
		json_decref(j);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_null(p11s_json_quote(bad[i]));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_quote_plain),	       cmocka_unit_test(test_quote_control),
	    cmocka_unit_test(test_quote_invalid),      cmocka_unit_test(test_quote_truncation),
	    cmocka_unit_test(test_utf8_valid),	       cmocka_unit_test(test_text_fix),
	    cmocka_unit_test(test_fail_message_valid), cmocka_unit_test(test_error_classes),
	    cmocka_unit_test(test_json_quote),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for common/parse.c: durations, dates, thumbprints. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "common/parse.h"

static const char date_forms[] = "2012-07-22T06:00:00Z or 7/22/2012 6:00:00 AM (local time)";

static void
set_tz(const char *tz)
{
	assert_int_equal(setenv("TZ", tz, 1), 0);
	tzset();
}

static int
setup_utc(void **state)
{
	(void)state;
	set_tz("UTC");
	return 0;
}

static int
setup_new_york(void **state)
{
	(void)state;
	set_tz("America/New_York");
	return 0;
}

/* ---- durations ------------------------------------------------------------- */

static void
dur_ok(const char *s, int64_t want)
{
	int64_t v = -1;

	assert_int_equal(p11s_parse_duration(s, &v), 0);
	assert_int_equal(v, want);
}

static void
dur_bad(const char *s, const char *why)
{
	int64_t v = 12345;
	char quoted[128];
	const char *msg;

	assert_int_equal(p11s_parse_duration(s, &v), P11S_E_INVAL);
	assert_int_equal(v, 0);
	msg = p11s_errmsg(P11S_E_INVAL);
	if (*s != '\0') {
		snprintf(quoted, sizeof(quoted), "\"%s\"", s);
		assert_non_null(strstr(msg, quoted));
	}
	assert_non_null(strstr(msg, why));
	assert_non_null(strstr(msg, "90s, 15m, 8h, 1d"));
}

static void
test_duration_valid(void **state)
{
	(void)state;
	dur_ok("90s", 90);
	dur_ok("15m", 900);
	dur_ok("8h", 28800);
	dur_ok("1d", 86400);
	dur_ok("300", 300);
	dur_ok("0", 0);
	dur_ok("0s", 0);
	dur_ok("007m", 420);
	dur_ok("36500d", (int64_t)36500 * 86400);
	dur_ok("3153600000", (int64_t)3153600000);
}

static void
test_duration_invalid(void **state)
{
	(void)state;
	dur_bad("", "empty duration");
	dur_bad("-5s", "must start with a digit");
	dur_bad("+5s", "must start with a digit");
	dur_bad(" 5s", "must start with a digit");
	dur_bad("5 s", "unknown unit");
	dur_bad("5s ", "unexpected text after the unit");
	dur_bad("1.5h", "fractions are not accepted");
	dur_bad("1,5h", "fractions are not accepted");
	dur_bad("5w", "unknown unit");
	dur_bad("5H", "unknown unit");
	dur_bad("1h30m", "unexpected text after the unit");
	dur_bad("h", "must start with a digit");
	dur_bad("36501d", "too large");
	dur_bad("3153600001", "too large");
	dur_bad("99999999999999999999999999s", "too large");
	dur_bad("9223372036854775807d", "too large");
}

static void
test_duration_null(void **state)
{
	int64_t v = 7;

	(void)state;
	assert_int_equal(p11s_parse_duration(NULL, &v), P11S_E_INVAL);
	assert_int_equal(v, 0);
}

/* ---- dates ------------------------------------------------------------------ */

static void
date_ok(const char *s, p11s_time want)
{
	p11s_time t = -1;

	assert_int_equal(p11s_parse_date(s, &t), 0);
	assert_int_equal(t, want);
}

static void
date_bad(const char *s, const char *why)
{
	p11s_time t = 4242;
	char quoted[128];
	const char *msg;

	assert_int_equal(p11s_parse_date(s, &t), P11S_E_INVAL);
	assert_int_equal(t, 0);
	msg = p11s_errmsg(P11S_E_INVAL);
	if (*s != '\0') {
		snprintf(quoted, sizeof(quoted), "\"%s\"", s);
		assert_non_null(strstr(msg, quoted));
	}
	if (strstr(msg, why) == NULL)
		fail_msg("message for \"%s\" lacks \"%s\": %s", s, why, msg);
	assert_non_null(strstr(msg, date_forms));
}

#define T_0600Z ((p11s_time)1342936800) /* 2012-07-22T06:00:00Z */

static void
test_date_iso(void **state)
{
	(void)state;
	date_ok("2012-07-22T06:00:00Z", T_0600Z);
	date_ok("2012-07-22T14:00:00Z", 1342965600);
	date_ok("2012-07-21T13:00:00Z", 1342875600);
	date_ok("2012-07-22T08:00:00+02:00", T_0600Z);
	date_ok("2012-07-22T08:00:00+0200", T_0600Z);
	date_ok("2012-07-22T01:00:00-05:00", T_0600Z);
	date_ok("2012-07-22T01:00:00-0500", T_0600Z);
	date_ok("2012-07-22T11:45:00+05:45", T_0600Z);
	date_ok("2012-07-22T06:00:00-00:00", T_0600Z);
	date_ok("2012-07-22t06:00:00z", T_0600Z);
	date_ok("2012-07-22 06:00:00Z", T_0600Z);
	date_ok("2012-07-22T06:00Z", T_0600Z);
	date_ok("2000-02-29T00:00:00Z", 951782400);
	date_ok("1970-01-01T00:00:00Z", 0);
}

static void
test_date_iso_invalid(void **state)
{
	(void)state;
	date_bad("2012-07-22T06:00:00", "add Z or an offset like +02:00");
	date_bad("2012-07-22 06:00", "add Z or an offset like +02:00");
	date_bad("2012-07-22T06:00:00.5Z", "fractional seconds are not accepted");
	date_bad("2012-07-22T06:00:00,000+02:00", "fractional seconds are not accepted");
	date_bad("2012-07-22", "the time of day is missing");
	date_bad("2012-07-22X06:00:00Z", "separated by T or a space");
	date_bad("2012-7-22T06:00:00Z", "YYYY-MM-DD");
	date_bad("2012-07-22T6:00:00Z", "HH:MM:SS");
	date_bad("2012-07-22T06:00:0Z", "seconds must be two digits");
	date_bad("2012-02-30T00:00:00Z", "no such day in that month");
	date_bad("2013-02-29T00:00:00Z", "no such day in that month");
	date_bad("2012-13-01T00:00:00Z", "month must be between 1 and 12");
	date_bad("2012-00-01T00:00:00Z", "month must be between 1 and 12");
	date_bad("2012-07-00T00:00:00Z", "no such day");
	date_bad("2012-07-22T24:00:00Z", "hour must be between 0 and 23");
	date_bad("2012-07-22T06:60:00Z", "minutes must be between");
	date_bad("2012-07-22T06:00:60Z", "seconds must be between");
	date_bad("2012-07-22T06:00:00+2:00", "+HH:MM or +HHMM");
	date_bad("2012-07-22T06:00:00+02", "+HH:MM or +HHMM");
	date_bad("2012-07-22T06:00:00+24:00", "offset is out of range");
	date_bad("2012-07-22T06:00:00+02:60", "offset is out of range");
	date_bad("2012-07-22T06:00:00Z ", "unexpected text after the time zone");
	date_bad("2012-07-22T06:00:00 Z", "unexpected text after the time");
	date_bad("2012-07-22T06:00:00EST", "unexpected text after the time");
	date_bad("1969-12-31T23:59:59Z", "year must be between 1970 and 9999");
	date_bad("", "empty date");
	date_bad("tomorrow", "not a recognised date form");
	date_bad("22.07.2012 06:00", "not a recognised date form");
	date_bad(" 2012-07-22T06:00:00Z", "not a recognised date form");
}

static void
test_date_us_utc(void **state)
{
	(void)state;
	date_ok("7/22/2012 6:00:00 AM", T_0600Z);
	date_ok("7/22/2012 6:00 AM", T_0600Z);
	date_ok("7/22/2012 6:00:00 am", T_0600Z);
	date_ok("7/22/2012 6:00AM", T_0600Z);
	date_ok("7/22/2012 6:00", T_0600Z);
	date_ok("07/22/2012 06:00:00", T_0600Z);
	date_ok("7/22/2012 18:00", 1342980000);
	date_ok("07/22/2012 18:00:00", 1342980000);
	date_ok("7/22/2012 6:00:00 PM", 1342980000);
	date_ok("7/22/2012 12:00:00 AM", 1342915200);
	date_ok("7/22/2012 12:00 PM", 1342915200 + 12 * 3600);
	date_ok("7/22/2012 0:00", 1342915200);
	date_ok("7/21/2012 1:00:00 PM", 1342875600);
	date_ok("2/29/2000 0:00", 951782400);
}

static void
test_date_us_invalid(void **state)
{
	(void)state;
	date_bad("2/30/2012 6:00 AM", "no such day in that month");
	date_bad("2/29/2013 6:00 AM", "no such day in that month");
	date_bad("13/1/2012 6:00", "month must be between 1 and 12");
	date_bad("0/1/2012 6:00", "month must be between 1 and 12");
	date_bad("7/22/2012 13:00 PM", "with AM or PM the hour must be between 1 and 12");
	date_bad("7/22/2012 0:00 AM", "with AM or PM the hour must be between 1 and 12");
	date_bad("7/22/2012 24:00", "hour must be between 0 and 23");
	date_bad("7/22/2012 6:61", "minutes must be between");
	date_bad("7/22/2012 6:00:00.5 AM", "fractional seconds are not accepted");
	date_bad("7/22/2012", "the time of day is missing");
	date_bad("7/22/12 6:00 AM", "M/D/YYYY");
	date_bad("7/22/2012T6:00", "separated by a space");
	date_bad("7/22/2012 6 AM", "H:MM:SS or H:MM");
	date_bad("7/22/2012 6:00 XM", "only AM or PM may follow");
	date_bad("7/22/2012 6:00 ", "only AM or PM may follow");
	date_bad("7/22/2012 6:00 AM ", "only AM or PM may follow");
	date_bad("7/22/2012 6:00:00Z", "only AM or PM may follow");
	date_bad("7/22/2012 6:00:00 +02:00", "only AM or PM may follow");
}

static void
test_date_us_local_new_york(void **state)
{
	(void)state;
	/* EDT (-04:00) in July */
	date_ok("7/22/2012 2:00:00 AM", T_0600Z);
	/* EST (-05:00) in January */
	date_ok("1/15/2012 1:00 AM", 1326607200);
	/* just after the spring-forward gap and just after the fall-back overlap */
	date_ok("3/14/2021 3:30 AM", 1615707000);
	date_ok("3/14/2021 1:59:59 AM", 1615705199);
	date_ok("11/7/2021 2:30 AM", 1636270200);
	date_ok("11/7/2021 12:59:59 AM", 1636261199);
	/* ISO with a zone is independent of TZ */
	date_ok("2012-07-22T06:00:00Z", T_0600Z);
}

static void
test_date_dst_gap(void **state)
{
	(void)state;
	date_bad("3/14/2021 2:30 AM", "does not exist in America/New_York");
	date_bad("3/14/2021 2:00:00 AM", "does not exist");
	date_bad("03/14/2021 02:59:59", "does not exist");
}

static void
test_date_dst_overlap(void **state)
{
	const char *msg;
	p11s_time t = 1;

	(void)state;
	date_bad("11/7/2021 1:30 AM", "ambiguous local time in America/New_York");
	assert_int_equal(p11s_parse_date("11/7/2021 1:30 AM", &t), P11S_E_INVAL);
	msg = p11s_errmsg(P11S_E_INVAL);
	/* both candidates, in local time with offset and in UTC */
	assert_non_null(strstr(msg, "2021-11-07T01:30:00-04:00 = 2021-11-07T05:30:00Z"));
	assert_non_null(strstr(msg, "2021-11-07T01:30:00-05:00 = 2021-11-07T06:30:00Z"));
	date_bad("11/07/2021 01:00:00", "ambiguous");
	date_bad("11/7/2021 1:59:59 AM", "ambiguous");
}

/* ---- thumbprints ---------------------------------------------------------------- */

static void
norm_ok(const char *in, const char *want)
{
	char out[65];

	assert_int_equal(p11s_thumbprint_normalize(in, out), 0);
	assert_string_equal(out, want);
}

static void
norm_bad(const char *in, const char *why)
{
	char out[65];
	const char *msg;

	memset(out, 'x', sizeof(out));
	assert_int_equal(p11s_thumbprint_normalize(in, out), P11S_E_INVAL);
	assert_int_equal(out[0], '\0');
	msg = p11s_errmsg(P11S_E_INVAL);
	assert_non_null(strstr(msg, why));
	assert_non_null(strstr(msg, "at least 8 hex digits"));
}

static void
test_thumbprint_normalize(void **state)
{
	(void)state;
	norm_ok("AB:CD:EF:01:23:45:67:89", "abcdef0123456789");
	norm_ok("ab cd ef 01 23 45 67 89", "abcdef0123456789");
	norm_ok("  ABCDEF0123456789\t", "abcdef0123456789");
	/* the invisible U+200E that Windows' certificate viewer puts in front */
	norm_ok("\xE2\x80\x8E"
		"a9 4a 8f e5",
		"a94a8fe5");
	norm_ok("12345678", "12345678");
	norm_ok("a94a8fe5ccb19ba61c4c0873d391e987982fbbd3",
		"a94a8fe5ccb19ba61c4c0873d391e987982fbbd3");
	norm_ok("9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08",
		"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
	norm_bad("abc:def", "too short (6 hex digits)");
	norm_bad("", "too short (0 hex digits)");
	norm_bad(": : :", "too short");
	norm_bad("abcdefg1234", "characters other than hex digits");
	norm_bad("0x12345678", "characters other than hex digits");
	norm_bad("12345678-9abc", "characters other than hex digits");
	norm_bad("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a080",
		 "more than 64 hex digits");
	norm_bad(NULL, "empty thumbprint");
}

static const char *const sha1s[] = {
    "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3",
    "a94a8fe5ff000000000000000000000000000001",
    "1111111122222222333333334444444455555555",
    "",
};
static const char *const sha256s[] = {
    "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752",
    "a94a8fe5ccb19ba6000000000000000000000000000000000000000000000000",
    "",
};

static void
match_bad(const char *q, int err, const char *why)
{
	size_t idx = 99;
	const char *msg;

	assert_int_equal(p11s_thumbprint_match(q, sha1s, sha256s, 4, &idx), err);
	assert_int_equal(idx, 0);
	msg = p11s_errmsg(err);
	if (strstr(msg, why) == NULL)
		fail_msg("message for %s lacks \"%s\": %s", q, why, msg);
}

static void
match_ok(const char *q, size_t want)
{
	size_t idx = 99;

	assert_int_equal(p11s_thumbprint_match(q, sha1s, sha256s, 4, &idx), 0);
	assert_int_equal(idx, want);
}

static void
test_thumbprint_match(void **state)
{
	char q[65];

	(void)state;
	/* unique prefixes of the SHA-1 or of the SHA-256 */
	match_ok("11111111", 2);
	match_ok("9f86d081", 0);
	match_ok("60303ae2", 1);
	/* the SHA-1 of #0 and the SHA-256 of #2 share a prefix; a longer one is unique */
	match_bad("a94a8fe5ccb19ba6", P11S_E_AMBIGUOUS,
		  "matches 2 certificates (SHA-1 a94a8fe5ccb19ba61c4c0873d391e987982fbbd3, "
		  "1111111122222222333333334444444455555555)");
	match_ok("a94a8fe5ccb19ba61c", 0);
	/* full values must match exactly */
	match_ok("a94a8fe5ccb19ba61c4c0873d391e987982fbbd3", 0);
	match_ok("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", 0);
	match_bad("a94a8fe5ccb19ba61c4c0873d391e987982fbbd4", P11S_E_NOTFOUND,
		  "equal to \"a94a8fe5ccb19ba61c4c0873d391e987982fbbd4\" (searched 4 keys)");
	match_bad("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a09",
		  P11S_E_NOTFOUND, "searched 4 keys");
	/* normalised operator input end to end */
	assert_int_equal(p11s_thumbprint_normalize("11:11:11:11:22", q), 0);
	match_ok(q, 2);
}

static void
test_thumbprint_match_refusals(void **state)
{
	size_t idx = 5;
	const char *msg;

	(void)state;
	match_bad("1111111", P11S_E_INVAL, "at least 8 hex digits");
	match_bad("1111111G", P11S_E_INVAL, "at least 8 hex digits");
	match_bad("DEADBEEF", P11S_E_INVAL, "invalid thumbprint");
	match_bad("deadbeef", P11S_E_NOTFOUND, "starting with \"deadbeef\" (searched 4 keys)");
	/* ambiguous: three certificates start with a94a8fe5 */
	match_bad("a94a8fe5", P11S_E_AMBIGUOUS, "matches 3 certificates");
	msg = p11s_errmsg(P11S_E_AMBIGUOUS);
	assert_non_null(strstr(msg, sha1s[0]));
	assert_non_null(strstr(msg, sha1s[1]));
	assert_non_null(strstr(msg, sha1s[2]));
	assert_non_null(strstr(msg, "give more hex digits"));
	/* no candidates at all */
	assert_int_equal(p11s_thumbprint_match("deadbeef", NULL, NULL, 0, &idx), P11S_E_NOTFOUND);
	assert_int_equal(idx, 0);
	assert_non_null(strstr(p11s_errmsg(P11S_E_NOTFOUND), "searched 0 keys"));
	/* one key searched */
	assert_int_equal(p11s_thumbprint_match("deadbeef", sha1s, sha256s, 1, &idx),
			 P11S_E_NOTFOUND);
	assert_non_null(strstr(p11s_errmsg(P11S_E_NOTFOUND), "searched 1 key)"));
	assert_int_equal(p11s_thumbprint_match(NULL, sha1s, sha256s, 4, &idx), P11S_E_INVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_duration_valid),
	    cmocka_unit_test(test_duration_invalid),
	    cmocka_unit_test(test_duration_null),
	    cmocka_unit_test_setup(test_date_iso, setup_utc),
	    cmocka_unit_test_setup(test_date_iso_invalid, setup_utc),
	    cmocka_unit_test_setup(test_date_us_utc, setup_utc),
	    cmocka_unit_test_setup(test_date_us_invalid, setup_utc),
	    cmocka_unit_test_setup(test_date_us_local_new_york, setup_new_york),
	    cmocka_unit_test_setup(test_date_dst_gap, setup_new_york),
	    cmocka_unit_test_setup(test_date_dst_overlap, setup_new_york),
	    cmocka_unit_test(test_thumbprint_normalize),
	    cmocka_unit_test(test_thumbprint_match),
	    cmocka_unit_test(test_thumbprint_match_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

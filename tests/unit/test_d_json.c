/* signerd request bodies: strict parsing, with a negative test per rule. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "signer/daemon/json.h"

static int
parse_issue(const char *body, d_issue_req *q)
{
	return d_issue_req_parse((const uint8_t *)body, strlen(body), q);
}

static void
assert_zero_issue(const d_issue_req *q)
{
	d_issue_req z;

	memset(&z, 0, sizeof(z));
	assert_memory_equal(q, &z, sizeof(z));
}

static void
expect_issue_error(const char *body, const char *msg)
{
	d_issue_req q;
	int r;

	memset(&q, 0x5a, sizeof(q));
	r = parse_issue(body, &q);
	assert_int_equal(r, P11S_E_INVAL);
	if (strstr(p11s_errmsg(r), msg) == NULL)
		fail_msg("message '%s' lacks '%s' for body %s", p11s_errmsg(r), msg, body);
	assert_zero_issue(&q);
}

static void
test_issue_minimal(void **state)
{
	d_issue_req q;

	(void)state;
	assert_int_equal(parse_issue("{\"type\":\"OAuthTokenIssuer\",\"sub\":\"alice\"}", &q), 0);
	assert_string_equal(q.type, "OAuthTokenIssuer");
	assert_string_equal(q.sub, "alice");
	assert_null(q.aud);
	assert_int_equal(q.lifetime, 0);
	assert_null(q.claims);
	d_issue_req_clear(&q);
	assert_zero_issue(&q);
}

static void
test_issue_full(void **state)
{
	d_issue_req q;

	(void)state;
	assert_int_equal(
	    parse_issue("{\"type\":\"T\",\"sub\":\"bob\",\"aud\":\"relay\",\"lifetime\":90,"
			"\"claims\":{\"role\":\"admin\",\"n\":[1,2]}}",
			&q),
	    0);
	assert_string_equal(q.aud, "relay");
	assert_int_equal(q.lifetime, 90);
	assert_non_null(q.claims);
	assert_string_equal(json_string_value(json_object_get(q.claims, "role")), "admin");
	d_issue_req_clear(&q);
}

static void
test_issue_nulls_are_absent(void **state)
{
	d_issue_req q;

	(void)state;
	assert_int_equal(parse_issue("{\"type\":\"T\",\"sub\":\"s\",\"aud\":null,\"lifetime\":null,"
				     "\"claims\":null}",
				     &q),
			 0);
	assert_null(q.aud);
	assert_int_equal(q.lifetime, 0);
	assert_null(q.claims);
	d_issue_req_clear(&q);
}

static void
test_issue_refusals(void **state)
{
	char big[D_SUB_MAX + 64];
	char claims[64 * 16 + 64];
	size_t i, n;

	(void)state;
	expect_issue_error("", "empty");
	expect_issue_error("{", "not valid JSON");
	expect_issue_error("{\"type\":\"T\",\"sub\":\"s\"} trailing", "not valid JSON");
	expect_issue_error("[1,2]", "must be a JSON object");
	expect_issue_error("\"x\"", "not valid JSON");
	expect_issue_error("{\"sub\":\"s\"}", "\"type\" is required");
	expect_issue_error("{\"type\":\"T\"}", "\"sub\" is required");
	expect_issue_error("{\"type\":5,\"sub\":\"s\"}", "\"type\" must be a string");
	expect_issue_error("{\"type\":\"T\",\"sub\":\"\"}", "\"sub\" must not be empty");
	expect_issue_error("{\"type\":\"T\",\"sub\":\"a\\u0000b\"}", "NUL");
	expect_issue_error("{\"type\":\"T\",\"sub\":\"s\",\"sub\":\"t\"}", "not valid JSON");
	expect_issue_error("{\"type\":\"T\",\"sub\":\"s\",\"extra\":1}",
			   "unknown member \"extra\"");
	expect_issue_error("{\"type\":\"T\",\"sub\":\"s\",\"lifetime\":0}",
			   "positive whole number");
	expect_issue_error("{\"type\":\"T\",\"sub\":\"s\",\"lifetime\":-5}",
			   "positive whole number");
	expect_issue_error("{\"type\":\"T\",\"sub\":\"s\",\"lifetime\":1.5}",
			   "positive whole number");
	expect_issue_error("{\"type\":\"T\",\"sub\":\"s\",\"lifetime\":\"1h\"}",
			   "positive whole number");
	expect_issue_error("{\"type\":\"T\",\"sub\":\"s\",\"claims\":[1]}",
			   "\"claims\" must be a JSON object");
	expect_issue_error("{\"type\":\"T\",\"sub\":\"s\",\"aud\":7}", "\"aud\" must be a string");

	n = (size_t)snprintf(big, sizeof(big), "{\"type\":\"T\",\"sub\":\"");
	for (i = 0; i < D_SUB_MAX + 1; i++)
		big[n++] = 'a';
	memcpy(big + n, "\"}", 3);
	expect_issue_error(big, "\"sub\" is 1025 bytes long; at most 1024");

	n = (size_t)snprintf(big, sizeof(big), "{\"sub\":\"s\",\"type\":\"");
	for (i = 0; i < D_TYPE_MAX + 1; i++)
		big[n++] = 'T';
	memcpy(big + n, "\"}", 3);
	expect_issue_error(big, "\"type\" is 64 bytes long");

	n = (size_t)snprintf(claims, sizeof(claims), "{\"type\":\"T\",\"sub\":\"s\",\"claims\":{");
	for (i = 0; i < D_CLAIMS_MAX + 1; i++)
		n += (size_t)snprintf(claims + n, sizeof(claims) - n, "%s\"c%zu\":1", i ? "," : "",
				      i);
	snprintf(claims + n, sizeof(claims) - n, "}}");
	expect_issue_error(claims, "at most 64 are accepted");
}

static void
test_issue_null_body(void **state)
{
	d_issue_req q;

	(void)state;
	assert_int_equal(d_issue_req_parse(NULL, 0, &q), P11S_E_INVAL);
	assert_non_null(strstr(p11s_errmsg(P11S_E_INVAL), "empty"));
	assert_zero_issue(&q);
}

static void
test_verify(void **state)
{
	d_verify_req q;
	const char *b = "{\"token\":\"a.b.c\",\"type\":\"T\",\"aud\":\"x\"}";

	(void)state;
	assert_int_equal(d_verify_req_parse((const uint8_t *)b, strlen(b), 100, &q), 0);
	assert_string_equal(q.token, "a.b.c");
	assert_int_equal(q.token_len, 5);
	assert_string_equal(q.type, "T");
	assert_string_equal(q.aud, "x");
	d_verify_req_clear(&q);
	b = "{\"token\":\"a.b.c\"}";
	assert_int_equal(d_verify_req_parse((const uint8_t *)b, strlen(b), 100, &q), 0);
	assert_null(q.type);
	assert_null(q.aud);
	d_verify_req_clear(&q);
}

static void
expect_verify_error(const char *body, size_t max, const char *msg)
{
	d_verify_req q, z;
	int r;

	memset(&q, 0x5a, sizeof(q));
	memset(&z, 0, sizeof(z));
	r = d_verify_req_parse((const uint8_t *)body, strlen(body), max, &q);
	assert_int_equal(r, P11S_E_INVAL);
	if (strstr(p11s_errmsg(r), msg) == NULL)
		fail_msg("message '%s' lacks '%s'", p11s_errmsg(r), msg);
	assert_memory_equal(&q, &z, sizeof(z));
}

static void
test_verify_refusals(void **state)
{
	(void)state;
	expect_verify_error("{}", 100, "\"token\" is required");
	expect_verify_error("{\"token\":1}", 100, "\"token\" must be a string");
	expect_verify_error("{\"token\":\"abcdef\"}", 5, "\"token\" is 6 bytes long; at most 5");
	expect_verify_error("{\"token\":\"a\",\"kid\":\"x\"}", 100, "unknown member \"kid\"");
	expect_verify_error("{\"token\":\"a\",\"type\":\"\"}", 100, "\"type\" must not be empty");
	expect_verify_error("nope", 100, "not valid JSON");
}

/* The common body is read without a JSON tree; the result is the same as the
 * general parser's, and anything else still goes through it. */
static void
test_verify_simple_body(void **state)
{
	static const struct {
		const char *body, *token;
	} ok[] = {
	    {"{\"token\":\"eyJ.e-y_J.s1g\"}", "eyJ.e-y_J.s1g"},
	    {" \r\n{ \"token\" :\t\"a.b.c\" }\n", "a.b.c"},
	    {"{\"token\":\"a\\u002eb\"}", "a.b"}, /* an escape: jansson */
	    {"{\"token\":\"a/b.c\"}", "a/b.c"},	  /* not base64url: jansson */
	    {"{\"token\":\"a.b\",\"type\":null}", "a.b"},
	};
	d_verify_req q;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(
		    d_verify_req_parse((const uint8_t *)ok[i].body, strlen(ok[i].body), 100, &q),
		    0);
		assert_string_equal(q.token, ok[i].token);
		assert_int_equal(q.token_len, strlen(ok[i].token));
		assert_null(q.type);
		assert_null(q.aud);
		d_verify_req_clear(&q);
	}
	/* the same refusals as the general parser */
	expect_verify_error("{\"token\":\"\"}", 100, "\"token\" must not be empty");
	expect_verify_error("{\"token\":\"abcdef\"}", 5, "\"token\" is 6 bytes long; at most 5");
	expect_verify_error("{\"token\":\"a.b\"}x", 100, "not valid JSON");
	expect_verify_error("{\"token\":\"a.b\",}", 100, "not valid JSON");
	expect_verify_error("{\"token\":\"a.b\"", 100, "not valid JSON");
	expect_verify_error("{\"token\":\"a.b\",\"token\":\"c\"}", 100, "not valid JSON");
}

/* The report: an unknown member of 40 two-byte characters after an ASCII
 * byte was cut at 64 bytes, and the message could not become JSON. */
static void
test_unknown_member_utf8(void **state)
{
	char body[256], name[128];
	const char *msg;
	d_issue_req q;
	json_t *o;
	size_t n = 0;

	(void)state;
	name[n++] = 'a';
	for (int i = 0; i < 40; i++) {
		name[n++] = '\xc3';
		name[n++] = '\xa9';
	}
	name[n] = '\0';
	snprintf(body, sizeof(body), "{\"%s\":1,\"type\":\"T\",\"sub\":\"x\"}", name);
	assert_int_equal(d_issue_req_parse((const uint8_t *)body, strlen(body), &q), P11S_E_INVAL);
	msg = p11s_errmsg(P11S_E_INVAL);
	assert_non_null(strstr(msg, name));
	assert_non_null(strstr(msg, "accepted: type, sub, aud, lifetime, claims"));
	o = json_pack("{s:s, s:s}", "error", "bad_request", "detail", msg);
	assert_non_null(o);
	json_decref(o);
	/* a member name with a control byte is shown escaped */
	snprintf(body, sizeof(body), "{\"a\\u001bb\":1}");
	assert_int_equal(d_issue_req_parse((const uint8_t *)body, strlen(body), &q), P11S_E_INVAL);
	assert_non_null(strstr(p11s_errmsg(P11S_E_INVAL), "unknown member \"a\\x1Bb\""));
}

static void
test_content_type(void **state)
{
	(void)state;
	/* no Content-Type is not JSON: 415 like any other type */
	assert_false(d_content_type_is_json(NULL));
	assert_true(d_content_type_is_json("application/json"));
	assert_true(d_content_type_is_json("Application/JSON; charset=utf-8"));
	assert_true(d_content_type_is_json(" application/json ;x=y"));
	assert_false(d_content_type_is_json("application/jsonx"));
	assert_false(d_content_type_is_json("application/x-www-form-urlencoded"));
	assert_false(d_content_type_is_json("text/plain"));
	assert_false(d_content_type_is_json(""));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_issue_minimal),
	    cmocka_unit_test(test_issue_full),
	    cmocka_unit_test(test_issue_nulls_are_absent),
	    cmocka_unit_test(test_issue_refusals),
	    cmocka_unit_test(test_issue_null_body),
	    cmocka_unit_test(test_verify),
	    cmocka_unit_test(test_verify_refusals),
	    cmocka_unit_test(test_verify_simple_body),
	    cmocka_unit_test(test_content_type),
	    cmocka_unit_test(test_unknown_member_utf8),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

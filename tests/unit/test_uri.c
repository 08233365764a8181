/* hsm_uri_parse: valid forms, percent-encoding, and every refusal with its message. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hsm/hsm.h"

static hsm_uri *
parse_ok(const char *s)
{
	hsm_uri *u = NULL;
	int r = hsm_uri_parse(s, &u);

	if (r != 0)
		fail_msg("'%s' refused: %s", s, p11s_errmsg(r));
	assert_non_null(u);
	return u;
}

/* A refused URI: the code, *out left NULL, and a message containing `needle`. */
static void
parse_bad(const char *s, const char *needle)
{
	hsm_uri *u = (hsm_uri *)&u; /* must be cleared */
	int r;

	p11s_err_clear();
	r = hsm_uri_parse(s, &u);
	assert_int_equal(r, P11S_E_INVAL);
	assert_null(u);
	if (strstr(p11s_errmsg(r), needle) == NULL)
		fail_msg("message for '%s' lacks '%s': %s", s, needle, p11s_errmsg(r));
}

static void
test_token_and_module(void **state)
{
	hsm_uri *u = parse_ok("pkcs11:token=edge?module-path=/usr/lib/softhsm/libsofthsm2.so");

	assert_string_equal(u->token, "edge");
	assert_string_equal(u->module_path, "/usr/lib/softhsm/libsofthsm2.so");
	assert_null(u->serial);
	assert_null(u->object);
	assert_int_equal(u->id_len, 0);
	hsm_uri_free(u);
}

static void
test_all_parts(void **state)
{
	hsm_uri *u = parse_ok("pkcs11:token=edge;serial=0123abcd;object=jwt%20key;id=%01%a2%FF");
	static const uint8_t id[] = {0x01, 0xa2, 0xff};

	assert_string_equal(u->token, "edge");
	assert_string_equal(u->serial, "0123abcd");
	assert_string_equal(u->object, "jwt key");
	assert_int_equal(u->id_len, 3);
	assert_memory_equal(u->id, id, 3);
	assert_null(u->module_path);
	hsm_uri_free(u);
}

static void
test_percent_encoding(void **state)
{
	hsm_uri *u = parse_ok("pkcs11:token=my%20token%3b%3d?module-path=/opt/a%20b/lib.so");

	assert_string_equal(u->token, "my token;=");
	assert_string_equal(u->module_path, "/opt/a b/lib.so");
	hsm_uri_free(u);
}

static void
test_upper_case_scheme_and_type(void **state)
{
	hsm_uri *u = parse_ok("PKCS11:token=x;type=private");

	assert_string_equal(u->token, "x");
	hsm_uri_free(u);
}

static void
test_label_32_bytes(void **state)
{
	hsm_uri *u = parse_ok("pkcs11:token=0123456789abcdef0123456789abcdef");

	assert_string_equal(u->token, "0123456789abcdef0123456789abcdef");
	hsm_uri_free(u);
}

static void
test_empty(void **state)
{
	hsm_uri *u = (hsm_uri *)&u;

	parse_bad("", "empty PKCS#11 URI");
	p11s_err_clear();
	assert_int_equal(hsm_uri_parse(NULL, &u), P11S_E_INVAL);
	assert_null(u);
	/* the example form is shown */
	parse_bad("", "pkcs11:token=edge?module-path=");
}

static void
test_bad_scheme(void **state)
{
	parse_bad("http://example.com/", "must start with 'pkcs11:'");
	parse_bad("token=edge", "must start with 'pkcs11:'");
	parse_bad("pkcs11", "must start with 'pkcs11:'");
}

static void
test_bad_id_encoding(void **state)
{
	parse_bad("pkcs11:token=a;id=%zz", "bad id=");
	parse_bad("pkcs11:token=a;id=%1", "bad id=");
}

static void
test_id_too_long(void **state)
{
	char s[8 + 3 * 65 + 16] = "pkcs11:id=";

	for (int i = 0; i < 65; i++)
		strcat(s, "%01");
	parse_bad(s, "1 to 64 bytes");
}

static void
test_bad_token_encoding(void **state)
{
	parse_bad("pkcs11:token=a%g0", "bad token=");
}

static void
test_label_too_long(void **state)
{
	parse_bad("pkcs11:token=0123456789abcdef0123456789abcdefX", "at most 32 bytes");
	parse_bad("pkcs11:serial=0123456789abcdefX", "at most 16 bytes");
}

static void
test_empty_values(void **state)
{
	parse_bad("pkcs11:token=", "token= is empty");
	parse_bad("pkcs11:token=a?module-path=", "module-path= is empty");
}

static void
test_unknown_attributes(void **state)
{
	parse_bad("pkcs11:tokn=edge", "unsupported attribute 'tokn'");
	parse_bad("pkcs11:slot-id=3", "never by slot");
	parse_bad("pkcs11:token=a?module_path=/x.so", "unsupported query attribute 'module_path'");
	parse_bad("pkcs11:token=a?slot-id=1", "unsupported query attribute 'slot-id'");
	parse_bad("pkcs11:library-description=x", "unsupported attribute 'library-description'");
	parse_bad("pkcs11:token=a;junk", "expected name=value");
}

static void
test_pin_in_uri_refused(void **state)
{
	parse_bad("pkcs11:token=a?pin-value=123456", "never in the URI");
	/* the PIN is not echoed */
	assert_null(strstr(p11s_errmsg(P11S_E_INVAL), "123456"));
	parse_bad("pkcs11:token=a?pin-value=%31%32", "pin-source=file:/path");
}

static void
test_model_manufacturer(void **state)
{
	hsm_uri *u = parse_ok(
	    "pkcs11:model=SoftHSM%20v2;manufacturer=SoftHSM%20project;token=t;type=private");

	assert_string_equal(u->model, "SoftHSM v2");
	assert_string_equal(u->manufacturer, "SoftHSM project");
	assert_string_equal(u->token, "t");
	hsm_uri_free(u);
	parse_bad("pkcs11:model=0123456789abcdefX", "bad model=");
	parse_bad("pkcs11:manufacturer=0123456789abcdef0123456789abcdefX", "at most 32 bytes");
	parse_bad("pkcs11:model=", "model= is empty");
	parse_bad("pkcs11:model=a;model=b", "model= more than once");
	parse_bad("pkcs11:model=a%zz", "bad model=");
}

static void
test_module_name(void **state)
{
	hsm_uri *u = parse_ok("pkcs11:token=t?module-name=softhsm2");

	assert_string_equal(u->module_name, "softhsm2");
	assert_null(u->module_path);
	hsm_uri_free(u);
	parse_bad("pkcs11:token=t?module-name=", "module-name= is empty");
	parse_bad("pkcs11:token=t?module-name=a&module-name=b", "module-name= more than once");
	parse_bad("pkcs11:token=t?module-name=a%g1", "bad module-name=");
}

static void
test_pin_source(void **state)
{
	hsm_uri *u = parse_ok("pkcs11:token=t?pin-source=file:/etc/p11%20signer/pin");

	assert_string_equal(u->pin_source, "file:/etc/p11 signer/pin");
	hsm_uri_free(u);
	u = parse_ok("pkcs11:token=t?pin-source=/run/pin&module-name=softhsm2");
	assert_string_equal(u->pin_source, "file:/run/pin");
	hsm_uri_free(u);
	parse_bad("pkcs11:token=t?pin-source=env:PIN", "absolute path");
	parse_bad("pkcs11:token=t?pin-source=1234", "absolute path");
	/* a PIN typed there by mistake is not echoed */
	assert_null(strstr(p11s_errmsg(P11S_E_INVAL), "1234"));
	parse_bad("pkcs11:token=t?pin-source=file:relative", "absolute path");
	parse_bad("pkcs11:token=t?pin-source=/a&pin-source=/b", "pin-source= more than once");
}

/* No module-path= and no module-name=: an error listing p11-kit's modules. */
static void
test_module_required(void **state)
{
	hsm_uri *u = parse_ok("pkcs11:token=t");
	char *path = (char *)&path;

	p11s_err_clear();
	assert_int_equal(hsm_uri_module(u, &path), P11S_E_MODULE);
	assert_null(path);
	assert_non_null(strstr(p11s_errmsg(P11S_E_MODULE), "names no PKCS#11 module"));
	assert_non_null(strstr(p11s_errmsg(P11S_E_MODULE), "configured: "));
	hsm_uri_free(u);
	u = parse_ok("pkcs11:token=t?module-name=p11s-no-such-module");
	path = (char *)&path;
	assert_int_equal(hsm_uri_module(u, &path), P11S_E_MODULE);
	assert_null(path);
	assert_non_null(strstr(p11s_errmsg(P11S_E_MODULE), "no PKCS#11 module named "
							   "'p11s-no-such-module'"));
	hsm_uri_free(u);
	u = parse_ok("pkcs11:token=t?module-path=/x/m.so&module-name=other");
	assert_int_equal(hsm_uri_module(u, &path), 0);
	assert_string_equal(path, "/x/m.so"); /* module-path= wins */
	free(path);
	hsm_uri_free(u);
}

static void
test_repeated_attribute(void **state)
{
	parse_bad("pkcs11:token=a;token=b", "token= more than once");
}

static void
test_free_null(void **state)
{
	hsm_uri_free(NULL);
}

/* p11-kit would cut a label at an encoded NUL: "no token" or a shorter label. */
static void
test_encoded_nul(void **state)
{
	parse_bad("pkcs11:token=%00?module-path=/m.so", "NUL");
	parse_bad("pkcs11:token=a%00b", "NUL");
	parse_bad("pkcs11:serial=1%002", "NUL");
	parse_bad("pkcs11:token=edge?module-path=/x%00y", "NUL");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_token_and_module),
	    cmocka_unit_test(test_encoded_nul),
	    cmocka_unit_test(test_all_parts),
	    cmocka_unit_test(test_percent_encoding),
	    cmocka_unit_test(test_upper_case_scheme_and_type),
	    cmocka_unit_test(test_label_32_bytes),
	    cmocka_unit_test(test_empty),
	    cmocka_unit_test(test_bad_scheme),
	    cmocka_unit_test(test_bad_id_encoding),
	    cmocka_unit_test(test_id_too_long),
	    cmocka_unit_test(test_bad_token_encoding),
	    cmocka_unit_test(test_label_too_long),
	    cmocka_unit_test(test_empty_values),
	    cmocka_unit_test(test_unknown_attributes),
	    cmocka_unit_test(test_pin_in_uri_refused),
	    cmocka_unit_test(test_repeated_attribute),
	    cmocka_unit_test(test_free_null),
	    cmocka_unit_test(test_model_manufacturer),
	    cmocka_unit_test(test_module_name),
	    cmocka_unit_test(test_pin_source),
	    cmocka_unit_test(test_module_required),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for signer/config.c: signer.conf parsing, defaults, every error
 * class and the cross-field checks. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "signer/conf.h"
#include "signer/listen.h"

#define H ((int64_t)3600)
#define D ((int64_t)86400)

static char datadir[512];

static int
group_setup(void **state)
{
	const char *top = getenv("top_srcdir");

	(void)state;
	snprintf(datadir, sizeof(datadir), "%s/tests/data/conf", top != NULL ? top : ".");
	return 0;
}

static signer_conf *
load_data(const char *name)
{
	char path[700];
	signer_conf *c = NULL;
	int r;

	snprintf(path, sizeof(path), "%s/%s", datadir, name);
	r = signer_conf_load(path, &c);
	if (r != 0)
		fail_msg("%s: %s", path, p11s_errmsg(r));
	assert_non_null(c);
	assert_string_equal(c->path, path);
	return c;
}

static signer_conf *
parse_ok(const char *text)
{
	signer_conf *c = NULL;
	int r = signer_conf_parse("test.conf", text, &c);

	if (r != 0)
		fail_msg("%s", p11s_errmsg(r));
	assert_non_null(c);
	return c;
}

/* Refused with P11S_E_CONFIG; the message starts with `where` ("test.conf:3: ")
 * and contains each of the NULL-terminated strings. */
static void
parse_bad(const char *text, const char *where, ...)
{
	signer_conf *c = (signer_conf *)&c;
	const char *msg, *want;
	va_list ap;

	assert_int_equal(signer_conf_parse("test.conf", text, &c), P11S_E_CONFIG);
	assert_null(c);
	msg = p11s_errmsg(P11S_E_CONFIG);
	if (strncmp(msg, where, strlen(where)) != 0)
		fail_msg("message does not start with \"%s\": %s", where, msg);
	va_start(ap, where);
	while ((want = va_arg(ap, const char *)) != NULL)
		if (strstr(msg, want) == NULL) {
			va_end(ap);
			fail_msg("message lacks \"%s\": %s", want, msg);
		}
	va_end(ap);
}

static const pol_type_conf *
type_of(const signer_conf *c, const char *name, const signer_type_extra **extra)
{
	int i = signer_conf_type_index(c, name);

	if (i < 0)
		fail_msg("type %s not configured", name);
	if (extra != NULL)
		*extra = &c->type_extra[i];
	return &c->policy.types[i];
}

static void
check_builtin_defaults(const signer_conf *c)
{
	const signer_type_extra *e;
	const pol_type_conf *t;

	assert_int_equal(c->policy.n_types, 2);
	t = type_of(c, "AudioVideoAuthentication", &e);
	assert_int_equal(t->alg, P11S_ALG_ES256);
	assert_int_equal(t->token_lifetime, 8 * H);
	assert_int_equal(t->min_lead, 8 * H);
	assert_string_equal(e->issuer, "http://localhost/AudioVideoAuthentication");
	assert_null(e->audience);
	t = type_of(c, "OAuthTokenIssuer", &e);
	assert_int_equal(t->alg, P11S_ALG_RS256);
	assert_int_equal(t->token_lifetime, 1 * H);
	assert_int_equal(t->min_lead, 24 * H);
	assert_string_equal(e->issuer, "http://localhost/OAuthTokenIssuer");
	assert_null(e->audience);
}

static void
check_defaults(const signer_conf *c)
{
	assert_string_equal(c->token_uri, "pkcs11:token=edge?module-path=" SOFTHSM_MODULE);
	assert_string_equal(c->token_pin, "file:" SYSCONFDIR "/p11-signer/pin");
	assert_string_equal(c->lock_file, RUNSTATEDIR "/p11-signer/token.lock");
	assert_int_equal(c->session_keys, 0);
	assert_int_equal(c->sessions, 32);
	assert_int_equal(c->sign_queue, 4096);
	assert_int_equal(c->sign_timeout_ms, 1000);
	assert_int_equal(c->policy.clock_skew, 60);
	assert_int_equal(c->policy.jwks_max_age, 300);
	assert_int_equal(c->policy.past_grace, 5);
	assert_int_equal(c->policy.quorum, 1);
	assert_int_equal(c->policy.proposal_lifetime, 72 * H);
	check_builtin_defaults(c);
	assert_int_equal(c->n_listen, 1);
	assert_string_equal(c->listen[0], "unix:" RUNSTATEDIR "/p11-signer/signerd.sock");
	assert_null(c->tls_certificate);
	assert_null(c->tls_key);
	assert_null(c->client_ca);
	assert_int_equal(c->mtls_routes, SIGNER_MTLS_NONE);
	assert_int_equal(c->workers, 0);
	assert_int_equal(c->max_body, 65536);
	assert_int_equal(c->request_timeout, 10);
	assert_int_equal(c->poll_interval_ms, 500);
	assert_string_equal(c->journal, LOCALSTATEDIR "/lib/p11-signer/audit.jsonl");
	assert_int_equal(c->n_custodians, 0);
	assert_null(c->custodians);
}

static void
test_defaults(void **state)
{
	signer_conf *c = (signer_conf *)&c;

	(void)state;
	assert_int_equal(signer_conf_defaults(&c), 0);
	assert_non_null(c);
	assert_null(c->path);
	check_defaults(c);
	assert_int_equal(signer_conf_type_index(c, "AudioVideoAuthentication"), 0);
	assert_int_equal(signer_conf_type_index(c, "OAuthTokenIssuer"), 1);
	assert_int_equal(signer_conf_type_index(c, "oauthtokenissuer"), -1);
	assert_int_equal(signer_conf_type_index(c, "Nope"), -1);
	assert_int_equal(signer_conf_type_index(NULL, "Nope"), -1);
	signer_conf_free(c);
	signer_conf_free(NULL);
}

static void
test_empty_file(void **state)
{
	signer_conf *c;

	(void)state;
	c = load_data("empty.conf");
	check_defaults(c);
	signer_conf_free(c);
	c = parse_ok("");
	check_defaults(c);
	assert_string_equal(c->path, "test.conf");
	signer_conf_free(c);
	/* empty sections change nothing */
	c = parse_ok("[token]\n[policy]\n[server]\n[audit]\n[type OAuthTokenIssuer]\n");
	check_defaults(c);
	signer_conf_free(c);
}

static void
test_spec_example(void **state)
{
	const signer_type_extra *e;
	const pol_type_conf *t;
	signer_conf *c;

	(void)state;
	c = load_data("spec-example.conf");
	assert_string_equal(c->token_uri,
			    "pkcs11:token=edge?module-path=/usr/lib/softhsm/libsofthsm2.so");
	assert_string_equal(c->token_pin, "file:/etc/p11-signer/pin");
	assert_string_equal(c->lock_file, "/run/p11-signer/token.lock");
	assert_int_equal(c->session_keys, 0);
	assert_int_equal(c->policy.clock_skew, 60);
	assert_int_equal(c->policy.jwks_max_age, 300);
	assert_int_equal(c->policy.past_grace, 5);
	assert_int_equal(c->policy.quorum, 1);
	assert_int_equal(c->policy.proposal_lifetime, 72 * H);
	assert_int_equal(c->policy.n_types, 2);
	t = type_of(c, "AudioVideoAuthentication", &e);
	assert_int_equal(t->alg, P11S_ALG_ES256);
	assert_int_equal(t->token_lifetime, 8 * H);
	assert_int_equal(t->min_lead, 8 * H);
	assert_string_equal(e->issuer, "https://edge.example.net");
	assert_string_equal(e->audience, "media-relay");
	t = type_of(c, "OAuthTokenIssuer", &e);
	assert_int_equal(t->alg, P11S_ALG_RS256);
	assert_int_equal(t->token_lifetime, 1 * H);
	assert_int_equal(t->min_lead, 24 * H);
	assert_string_equal(e->issuer, "https://localhost:8443/OAuthTokenIssuer");
	assert_null(e->audience);
	assert_int_equal(c->n_listen, 2);
	assert_string_equal(c->listen[0], "unix:/run/p11-signer/signerd.sock");
	assert_string_equal(c->listen[1], "https://0.0.0.0:8443");
	assert_string_equal(c->tls_certificate, "/etc/p11-signer/tls.pem");
	assert_string_equal(c->tls_key, "/etc/p11-signer/tls.key");
	assert_string_equal(c->client_ca, "/etc/p11-signer/clients-ca.pem");
	assert_int_equal(c->mtls_routes, SIGNER_MTLS_ISSUE);
	assert_int_equal(c->workers, 0);
	assert_int_equal(c->max_body, 65536);
	assert_int_equal(c->request_timeout, 10);
	assert_int_equal(c->poll_interval_ms, 500);
	assert_string_equal(c->journal, "/var/lib/p11-signer/audit.jsonl");
	assert_int_equal(c->n_custodians, 1);
	assert_string_equal(c->custodians[0].name, "alice");
	assert_string_equal(c->custodians[0].certificate, "/etc/p11-signer/custodians/alice.pem");
	signer_conf_free(c);
}

static void
test_full(void **state)
{
	const signer_type_extra *e;
	const pol_type_conf *t;
	signer_conf *c;

	(void)state;
	c = load_data("full.conf");
	assert_string_equal(c->token_uri,
			    "pkcs11:token=pool;serial=42?module-path=/opt/hsm/lib/libvendor.so");
	assert_string_equal(c->token_pin, "env:P11S_TEST_PIN");
	assert_string_equal(c->lock_file, "/tmp/p11s/token.lock");
	assert_int_equal(c->session_keys, 1);
	assert_int_equal(c->policy.clock_skew, 120);
	assert_int_equal(c->policy.jwks_max_age, 3600);
	assert_int_equal(c->policy.past_grace, 30);
	assert_int_equal(c->policy.quorum, 2);
	assert_int_equal(c->policy.proposal_lifetime, 7 * D);
	assert_int_equal(c->policy.n_types, 4);
	/* a built-in type overridden: min_lead follows its new token_lifetime */
	t = type_of(c, "AudioVideoAuthentication", &e);
	assert_int_equal(t->alg, P11S_ALG_ES256);
	assert_int_equal(t->token_lifetime, 4 * H);
	assert_int_equal(t->min_lead, 4 * H);
	t = type_of(c, "OAuthTokenIssuer", NULL);
	assert_int_equal(t->min_lead, 24 * H);
	t = type_of(c, "edge.media-v2", &e);
	assert_int_equal(t->alg, P11S_ALG_PS256);
	assert_int_equal(t->token_lifetime, 15 * 60);
	assert_int_equal(t->min_lead, 2 * D);
	assert_string_equal(e->issuer, "https://edge2.example.net");
	assert_string_equal(e->audience, "media");
	/* a new type with only its algorithm */
	t = type_of(c, "minimal_type", &e);
	assert_int_equal(t->alg, P11S_ALG_ES384);
	assert_int_equal(t->token_lifetime, 1 * H);
	assert_int_equal(t->min_lead, 1 * H);
	assert_string_equal(e->issuer, "http://127.0.0.1:8080/minimal_type");
	assert_null(e->audience);
	assert_int_equal(c->n_listen, 3);
	assert_string_equal(c->listen[0], "unix:/tmp/p11s/signerd.sock");
	assert_string_equal(c->listen[1], "http://127.0.0.1:8080");
	assert_string_equal(c->listen[2], "https://[::1]:8443");
	assert_string_equal(c->tls_certificate, "/tmp/p11s/tls.pem");
	assert_string_equal(c->tls_key, "/tmp/p11s/tls.key");
	assert_string_equal(c->client_ca, "/tmp/p11s/ca.pem");
	assert_int_equal(c->mtls_routes, SIGNER_MTLS_ISSUE | SIGNER_MTLS_VERIFY | SIGNER_MTLS_READ);
	assert_int_equal(c->workers, 4);
	assert_int_equal(c->max_body, 1048576);
	assert_int_equal(c->request_timeout, 30);
	assert_int_equal(c->poll_interval_ms, 250);
	assert_string_equal(c->journal, "/tmp/p11s/audit.jsonl");
	assert_int_equal(c->n_custodians, 2);
	assert_string_equal(c->custodians[0].name, "alice");
	assert_string_equal(c->custodians[1].name, "bob");
	assert_string_equal(c->custodians[1].certificate, "/tmp/p11s/bob.pem");
	signer_conf_free(c);
}

static void
test_syntax_variants(void **state)
{
	signer_conf *c;

	(void)state;
	/* comments, blank lines, inline comments, indentation, CRLF, a BOM, key: value */
	c = parse_ok("\xEF\xBB\xBF# comment\r\n"
		     "; another\r\n"
		     "\r\n"
		     "  [ policy ]  \r\n"
		     "\tquorum = 2 ; two approvals\r\n"
		     "clock_skew: 0\r\n"
		     "[token]\n"
		     "session_keys = ON\n"
		     "[custodian a]\ncertificate = /a.pem\n"
		     "[custodian b]\ncertificate = /b.pem\n");
	assert_int_equal(c->policy.quorum, 2);
	assert_int_equal(c->policy.clock_skew, 0);
	assert_int_equal(c->session_keys, 1);
	signer_conf_free(c);
	/* a section may appear twice; its keys are still counted once */
	c = parse_ok("[policy]\nquorum = 1\n[token]\n[policy]\nclock_skew = 1m\n");
	assert_int_equal(c->policy.clock_skew, 60);
	signer_conf_free(c);
	/* bools, sizes, route lists */
	c = parse_ok("[token]\nsession_keys = False\nsessions = 64\n[server]\nmax_body = 64k\n"
		     "client_ca = /ca.pem\nmtls_routes = none\nsign_queue = 10\n"
		     "sign_timeout = 250\n");
	assert_int_equal(c->session_keys, 0);
	assert_int_equal(c->sessions, 64);
	assert_int_equal(c->sign_queue, 10);
	assert_int_equal(c->sign_timeout_ms, 250);
	assert_int_equal(c->max_body, 65536);
	assert_int_equal(c->mtls_routes, SIGNER_MTLS_NONE);
	signer_conf_free(c);
	c = parse_ok("[server]\nmax_body = 16M\nclient_ca = /ca.pem\nmtls_routes = read\n"
		     "listen = http://localhost:80\n");
	assert_int_equal(c->max_body, 16777216);
	assert_int_equal(c->mtls_routes, SIGNER_MTLS_READ);
	assert_int_equal(c->n_listen, 1);
	assert_string_equal(c->listen[0], "http://localhost:80");
	signer_conf_free(c);
}

static void
test_file_errors(void **state)
{
	signer_conf *c = (signer_conf *)&c;
	char path[700];
	const char *msg;

	(void)state;
	snprintf(path, sizeof(path), "%s/no-such.conf", datadir);
	assert_int_equal(signer_conf_load(path, &c), P11S_E_CONFIG);
	assert_null(c);
	msg = p11s_errmsg(P11S_E_CONFIG);
	assert_non_null(strstr(msg, path));
	assert_non_null(strstr(msg, "No such file or directory"));
	c = (signer_conf *)&c;
	assert_int_equal(signer_conf_load(datadir, &c), P11S_E_CONFIG);
	assert_null(c);
	msg = p11s_errmsg(P11S_E_CONFIG);
	assert_non_null(strstr(msg, datadir));
	assert_non_null(strstr(msg, "Is a directory"));
}

static void
test_structure_errors(void **state)
{
	(void)state;
	parse_bad("[tokens]\n", "test.conf:1: [tokens]: unknown section; ",
		  "expected [token], [policy], [type NAME], [server], [audit] or [custodian NAME]",
		  NULL);
	parse_bad("# c\n\n[Token]\n", "test.conf:3: [Token]: unknown section", NULL);
	parse_bad("[typewriter]\n", "test.conf:1: [typewriter]: unknown section", NULL);
	parse_bad("uri = pkcs11:x\n", "test.conf:1: uri: outside any section", NULL);
	parse_bad("[token]\nurl = pkcs11:x\n", "test.conf:2: [token] url: unknown key; ",
		  "expected one of uri, pin, lock_file, session_keys", NULL);
	parse_bad("[policy]\nquorom = 2\n", "test.conf:2: [policy] quorom: unknown key",
		  "clock_skew, jwks_max_age, past_grace, quorum, proposal_lifetime", NULL);
	parse_bad("[type X]\nalgorithm = ES256\nlifetime = 1h\n",
		  "test.conf:3: [type X] lifetime: unknown key",
		  "algorithm, token_lifetime, min_lead, issuer, audience", NULL);
	parse_bad("[server]\nport = 1\n", "test.conf:2: [server] port: unknown key",
		  "listen, tls_certificate, tls_key, client_ca, mtls_routes, workers, max_body, "
		  "request_timeout, poll_interval_ms",
		  NULL);
	parse_bad("[audit]\npath = /x\n", "test.conf:2: [audit] path: unknown key",
		  "expected one of journal", NULL);
	parse_bad("[custodian a]\nkey = /x\n", "test.conf:2: [custodian a] key: unknown key",
		  "expected one of certificate", NULL);
	parse_bad("[token]\nuri = pkcs11:a\n; between\nuri = pkcs11:b\n",
		  "test.conf:4: [token] uri: given twice (first on line 2)", NULL);
	parse_bad("[policy]\nquorum = 1\n[token]\n[policy]\nquorum = 1\n",
		  "test.conf:5: [policy] quorum: given twice (first on line 2)", NULL);
	parse_bad("[type AudioVideoAuthentication]\nissuer = a\n[type AudioVideoAuthentication]\n"
		  "issuer = b\n",
		  "test.conf:4: [type AudioVideoAuthentication] issuer: given twice", NULL);
	parse_bad("[token\n", "test.conf:1: syntax error; expected [section], key = value", NULL);
	parse_bad("[token]\nsession_keys\n", "test.conf:2: syntax error", NULL);
	parse_bad("[type]\n", "test.conf:1: [type]: invalid type name \"\"",
		  "expected [type NAME] with NAME of 1 to 63 characters", NULL);
	parse_bad("[type a/b]\n", "test.conf:1: [type a/b]: invalid type name \"a/b\"", NULL);
	parse_bad("[type "
		  "x123456789x123456789x123456789x123456789x123456789x123456789xxxx]\n",
		  "test.conf:1: [type x123", "1 to 63 characters", NULL);
	parse_bad("[custodian]\n", "test.conf:1: [custodian]: invalid custodian name", NULL);
	parse_bad("[custodian al ice]\n", "test.conf:1: [custodian al ice]: invalid custodian name",
		  NULL);
}

static void
test_line_limits(void **state)
{
	char text[400];
	signer_conf *c;

	(void)state;
	/* inih's line buffer: 197 characters of content fit, 198 do not */
	snprintf(text, sizeof(text), "[type A]\nalgorithm = ES256\nissuer = %0188d\n", 0);
	c = parse_ok(text);
	assert_int_equal(strlen(c->type_extra[2].issuer), 188);
	signer_conf_free(c);
	snprintf(text, sizeof(text), "[type A]\nalgorithm = ES256\nissuer = %0189d\r\n", 0);
	parse_bad(text, "test.conf:3: line longer than 197 characters", NULL);
}

static void
test_value_errors_token(void **state)
{
	(void)state;
	parse_bad("[token]\nuri = softhsm\n",
		  "test.conf:2: [token] uri: \"softhsm\" does not start with pkcs11:; ",
		  "expected a PKCS#11 URI such as pkcs11:token=edge?module-path=", NULL);
	parse_bad("[token]\nuri =\n", "test.conf:2: [token] uri: \"\" is empty", NULL);
	parse_bad("[token]\nlock_file = run/lock\n",
		  "test.conf:2: [token] lock_file: \"run/lock\" is not an absolute path; "
		  "expected an absolute path",
		  NULL);
	parse_bad("[token]\nsession_keys = maybe\n",
		  "test.conf:2: [token] session_keys: \"maybe\" is not a yes/no value; ",
		  "expected yes, no, true, false, on, off, 1 or 0", NULL);
	parse_bad("[token]\nsession_keys = 2\n", "test.conf:2: [token] session_keys:", NULL);
}

/* A bare PIN (or anything not a source) in pin = is refused without echoing it. */
static void
test_pin_never_echoed(void **state)
{
	static const char *const values[] = {
	    "123456", "S3cr3t-PIN-9731", "file:", "env:", "fd:x", "pin:123456", "0000 1111"};
	char text[200];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		snprintf(text, sizeof(text), "[token]\npin = %s\n", values[i]);
		parse_bad(text, "test.conf:2: [token] pin: ", "(the value is not shown)",
			  "expected file:PATH, env:NAME, fd:N, credential:NAME or prompt", NULL);
		/* "file:" and "env:" are part of the expected forms */
		if (strstr("file:PATH, env:NAME", values[i]) == NULL)
			assert_null(strstr(p11s_errmsg(P11S_E_CONFIG), values[i]));
	}
	parse_bad("[token]\npin = env:A\npin = 123456\n",
		  "test.conf:3: [token] pin: given twice (first on line 2)", NULL);
	assert_null(strstr(p11s_errmsg(P11S_E_CONFIG), "123456"));
}

static void
test_value_errors_policy(void **state)
{
	(void)state;
	parse_bad("[policy]\nclock_skew = 2h\n",
		  "test.conf:2: [policy] clock_skew: \"2h\" is out of range; ",
		  "expected a duration between 0s and 1h", NULL);
	parse_bad("[policy]\nclock_skew = 5 minutes\n",
		  "test.conf:2: [policy] clock_skew: \"5 minutes\" is not a duration", NULL);
	parse_bad("[policy]\njwks_max_age = 8d\n",
		  "test.conf:2: [policy] jwks_max_age:", "between 0s and 7d", NULL);
	parse_bad("[policy]\npast_grace = -1s\n",
		  "test.conf:2: [policy] past_grace: \"-1s\" is not a duration", NULL);
	parse_bad("[policy]\npast_grace = 61m\n",
		  "test.conf:2: [policy] past_grace:", "between 0s and 1h", NULL);
	parse_bad("[policy]\nquorum = 0\n", "test.conf:2: [policy] quorum: \"0\" is out of range",
		  "expected a whole number between 1 and 16", NULL);
	parse_bad("[policy]\nquorum = 17\n", "test.conf:2: [policy] quorum: \"17\" is out of range",
		  NULL);
	parse_bad("[policy]\nquorum = 99999999999999999999\n",
		  "test.conf:2: [policy] quorum:", "out of range", NULL);
	parse_bad("[policy]\nquorum = two\n",
		  "test.conf:2: [policy] quorum: \"two\" is not a whole number", NULL);
	parse_bad("[policy]\nquorum = -1\n", "test.conf:2: [policy] quorum:", "not a whole number",
		  NULL);
	parse_bad("[policy]\nproposal_lifetime = 59s\n",
		  "test.conf:2: [policy] proposal_lifetime:", "between 1m and 30d", NULL);
	parse_bad("[policy]\nproposal_lifetime = 31d\n",
		  "test.conf:2: [policy] proposal_lifetime:", NULL);
}

static void
test_value_errors_type(void **state)
{
	(void)state;
	parse_bad("[type X]\nalgorithm = HS256\n",
		  "test.conf:2: [type X] algorithm: \"HS256\" is not a supported algorithm; ",
		  "expected ES256, ES384, RS256 or PS256", NULL);
	parse_bad("[type X]\nalgorithm = es256\n", "test.conf:2: [type X] algorithm:", NULL);
	parse_bad("[type X]\nalgorithm = EdDSA\n", "test.conf:2: [type X] algorithm:", NULL);
	parse_bad("# new\n[type NewType]\ntoken_lifetime = 1h\n",
		  "test.conf:2: [type NewType] algorithm: missing; a new type must set it", NULL);
	parse_bad("[type X]\nalgorithm = ES256\ntoken_lifetime = 0\n",
		  "test.conf:3: [type X] token_lifetime: \"0\" is out of range",
		  "between 1s and 30d", NULL);
	parse_bad("[type X]\nalgorithm = ES256\ntoken_lifetime = 31d\n",
		  "test.conf:3: [type X] token_lifetime:", NULL);
	parse_bad("[type X]\nalgorithm = ES256\nmin_lead = 366d\n",
		  "test.conf:3: [type X] min_lead:", "between 0s and 365d", NULL);
	parse_bad("[type X]\nalgorithm = ES256\nissuer =\n",
		  "test.conf:3: [type X] issuer:", "is empty", "expected non-empty text", NULL);
	parse_bad("[type X]\nalgorithm = ES256\naudience = a\x01b\n",
		  "test.conf:3: [type X] audience:", "contains control characters", NULL);
}

static void
test_type_lead_check(void **state)
{
	signer_conf *c;

	(void)state;
	parse_bad("[type X]\nalgorithm = ES256\ntoken_lifetime = 2h\nmin_lead = 1h\n",
		  "test.conf:4: [type X] min_lead: 1h is shorter than token_lifetime 2h ",
		  "outlive its certificate", "expected min_lead >= token_lifetime", NULL);
	/* a built-in type keeps its 24 h lead: a longer lifetime is caught at its line */
	parse_bad(
	    "[type OAuthTokenIssuer]\n\ntoken_lifetime = 2d\n",
	    "test.conf:3: [type OAuthTokenIssuer] min_lead: 1d is shorter than token_lifetime 2d",
	    NULL);
	parse_bad("[type AudioVideoAuthentication]\nmin_lead = 7h\n",
		  "test.conf:2: [type AudioVideoAuthentication] min_lead: 7h is shorter than "
		  "token_lifetime 8h",
		  NULL);
	/* equal is fine; a new type's lead follows its lifetime */
	c = parse_ok("[type X]\nalgorithm = RS256\ntoken_lifetime = 3h\n"
		     "[type AudioVideoAuthentication]\ntoken_lifetime = 10h\n"
		     "[type OAuthTokenIssuer]\ntoken_lifetime = 24h\n");
	assert_int_equal(c->policy.n_types, 3);
	assert_int_equal(type_of(c, "X", NULL)->min_lead, 3 * H);
	assert_int_equal(type_of(c, "AudioVideoAuthentication", NULL)->min_lead, 10 * H);
	assert_int_equal(type_of(c, "OAuthTokenIssuer", NULL)->min_lead, 24 * H);
	signer_conf_free(c);
}

/* ---- the one listen-address parser (configuration and signerd) ---------- */

static void
test_listen_parse(void **state)
{
	signer_listen a;

	(void)state;
	assert_int_equal(signer_listen_parse("unix:/run/x.sock", &a, NULL), 0);
	assert_int_equal(a.kind, SIGNER_LISTEN_UNIX);
	assert_string_equal(a.path, "/run/x.sock");
	assert_int_equal(a.max_connections, 0);
	assert_int_equal(signer_listen_parse("http://127.0.0.1:8080", &a, NULL), 0);
	assert_int_equal(a.kind, SIGNER_LISTEN_HTTP);
	assert_string_equal(a.host, "127.0.0.1");
	assert_string_equal(a.port, "8080");
	assert_int_equal(signer_listen_parse("https://[::1]:8443", &a, NULL), 0);
	assert_int_equal(a.kind, SIGNER_LISTEN_HTTPS);
	assert_string_equal(a.host, "::1");
	assert_string_equal(a.port, "8443");
	assert_int_equal(signer_listen_parse("https://[::ffff:10.0.0.1]:1", &a, NULL), 0);
	assert_string_equal(a.host, "::ffff:10.0.0.1");
	/* "*": every address, for the daemon and the configuration alike */
	assert_int_equal(signer_listen_parse("https://*:443", &a, NULL), 0);
	assert_string_equal(a.host, "");
	assert_string_equal(a.port, "443");
	assert_int_equal(signer_listen_parse("http://edge-1.example.net:065535", &a, NULL), 0);
	assert_string_equal(a.port, "65535");
	/* options after the address */
	assert_int_equal(signer_listen_parse("http://*:80 max_connections=200", &a, NULL), 0);
	assert_int_equal(a.max_connections, 200);
	assert_string_equal(a.port, "80");
	assert_int_equal(signer_listen_parse("unix:/run/s.sock\t  max_connections=65536", &a, NULL),
			 0);
	assert_string_equal(a.path, "/run/s.sock");
	assert_int_equal(a.max_connections, 65536);
	/* the configuration takes what signerd serves: "*" and options */
	{
		signer_conf *c = parse_ok("[server]\nlisten = http://*:8080 max_connections=20\n"
					  "listen = unix:/run/s.sock max_connections=4\n");

		assert_int_equal(c->n_listen, 2);
		assert_string_equal(c->listen[0], "http://*:8080 max_connections=20");
		signer_conf_free(c);
	}
}

static void
expect_listen_error(const char *s, const char *why)
{
	signer_listen a, z;
	const char *got = "unset";
	int r;

	memset(&a, 0x5a, sizeof(a));
	memset(&z, 0, sizeof(z));
	r = signer_listen_parse(s, &a, &got);
	assert_int_equal(r, P11S_E_CONFIG);
	assert_non_null(got);
	if (strstr(got, why) == NULL)
		fail_msg("'%s': reason '%s' lacks '%s'", s ? s : "(null)", got, why);
	/* the message names the value, the reason and what is accepted */
	if (strstr(p11s_errmsg(r), got) == NULL ||
	    strstr(p11s_errmsg(r), "expected unix:/absolute/path, http://HOST:PORT") == NULL)
		fail_msg("'%s': message '%s'", s ? s : "(null)", p11s_errmsg(r));
	assert_memory_equal(&a, &z, sizeof(z));
}

static void
test_listen_parse_refusals(void **state)
{
	char l[300];

	(void)state;
	expect_listen_error(NULL, "is empty");
	expect_listen_error("", "is empty");
	/* scheme */
	expect_listen_error("tcp://1.2.3.4:5", "is not a listen address");
	expect_listen_error("HTTP://1.2.3.4:5", "is not a listen address");
	expect_listen_error("unix", "is not a listen address");
	/* port 0: "any free port" is no address clients can use */
	expect_listen_error("http://127.0.0.1:0", "0 would bind a port clients cannot know");
	expect_listen_error("https://*:00", "0 would bind a port clients cannot know");
	expect_listen_error("http://host:65536", "invalid port");
	expect_listen_error("http://host:80x", "invalid port");
	expect_listen_error("http://host:-1", "invalid port");
	expect_listen_error("http://host:", "invalid port");
	expect_listen_error("http://host:80/v1", "invalid port");
	/* missing port */
	expect_listen_error("http://localhost", "has no :PORT");
	expect_listen_error("http://[::1]", "has no :PORT");
	expect_listen_error("https://[::1]8443", "has no :PORT");
	/* hosts: "*" alone, names, IPv4, IPv6 in brackets only */
	expect_listen_error("http://:80", "invalid host");
	expect_listen_error("http://**:80", "invalid host");
	expect_listen_error("http://*.example:80", "invalid host");
	expect_listen_error("http://a_b:80", "invalid host");
	expect_listen_error("http://a/b:80", "invalid host");
	expect_listen_error("http://::1:80", "invalid host");
	expect_listen_error("http://[]:80", "invalid IPv6 host");
	expect_listen_error("http://[fe80::1%eth0]:80", "invalid IPv6 host");
	expect_listen_error("http://[::1:80", "without its closing ]");
	/* UNIX paths */
	expect_listen_error("unix:", "needs an absolute socket path");
	expect_listen_error("unix:run/s.sock", "needs an absolute socket path");
	memset(l, 'a', sizeof(l) - 1);
	l[sizeof(l) - 1] = '\0';
	memcpy(l, "unix:/", 6);
	l[5 + 108] = '\0'; /* a 108-byte path: one too many for sun_path */
	expect_listen_error(l, "longer than 107 bytes");
	l[5 + 107] = '\0';
	{
		signer_listen a;

		assert_int_equal(signer_listen_parse(l, &a, NULL), 0);
		assert_int_equal(strlen(a.path), 107);
	}
	expect_listen_error("unix:/run/a\x01b.sock", "control characters");
	/* options */
	expect_listen_error("http://h:80 max_connections=0", "invalid max_connections");
	expect_listen_error("http://h:80 max_connections=65537", "invalid max_connections");
	expect_listen_error("http://h:80 max_connections=", "invalid max_connections");
	expect_listen_error("http://h:80 max_connections=1k", "invalid max_connections");
	expect_listen_error("http://h:80 backlog=5", "unknown option");
	expect_listen_error("http://h:80 max_connections", "unknown option");
	expect_listen_error("http://h:80 max_connections=1 max_connections=2",
			    "max_connections twice");
}

static void
test_value_errors_server(void **state)
{
	(void)state;
	parse_bad("[server]\nlisten = tcp://0.0.0.0:1\n",
		  "test.conf:2: [server] listen: \"tcp://0.0.0.0:1\" is not a listen address; ",
		  "expected unix:/absolute/path, http://HOST:PORT or https://HOST:PORT", NULL);
	parse_bad("[server]\nlisten = unix:run/s.sock\n",
		  "test.conf:2: [server] listen:", "needs an absolute socket path", NULL);
	parse_bad("[server]\nlisten = unix:/"
		  "x123456789x123456789x123456789x123456789x123456789x123456789"
		  "x123456789x123456789x123456789x123456789x123456789\n",
		  "test.conf:2: [server] listen:", "longer than 107 bytes", NULL);
	parse_bad("[server]\nlisten = http://localhost\n",
		  "test.conf:2: [server] listen:", "has no :PORT", NULL);
	parse_bad("[server]\nlisten = http://[::1]\n",
		  "test.conf:2: [server] listen:", "has no :PORT", NULL);
	parse_bad("[server]\nlisten = http://:80\n",
		  "test.conf:2: [server] listen:", "invalid host", NULL);
	parse_bad("[server]\nlisten = http://a_b:80\n",
		  "test.conf:2: [server] listen:", "invalid host", NULL);
	parse_bad("[server]\nlisten = http://host:0\n",
		  "test.conf:2: [server] listen:", "0 would bind a port clients cannot know", NULL);
	parse_bad("[server]\nlisten = http://host:80 max_connections=0\n",
		  "test.conf:2: [server] listen:", "invalid max_connections", NULL);
	parse_bad("[server]\nlisten = http://host:65536\n",
		  "test.conf:2: [server] listen:", "invalid port", NULL);
	parse_bad("[server]\nlisten = http://host:80/v1\n",
		  "test.conf:2: [server] listen:", "invalid port", NULL);
	parse_bad("[server]\nlisten = http://host:80\nlisten = nope\n",
		  "test.conf:3: [server] listen:", NULL);
	parse_bad("[server]\ntls_certificate = tls.pem\n",
		  "test.conf:2: [server] tls_certificate:", "not an absolute path", NULL);
	parse_bad("[server]\nclient_ca = ca.pem\n", "test.conf:2: [server] client_ca:", NULL);
	parse_bad("[server]\nclient_ca = /ca.pem\nmtls_routes = issue,sign\n",
		  "test.conf:3: [server] mtls_routes: \"issue,sign\" is not a list of routes; ",
		  "expected a comma-separated list of issue, verify and read, or none", NULL);
	parse_bad("[server]\nclient_ca = /ca.pem\nmtls_routes = issue,,read\n",
		  "test.conf:3: [server] mtls_routes:", NULL);
	parse_bad("[server]\nclient_ca = /ca.pem\nmtls_routes =\n",
		  "test.conf:3: [server] mtls_routes:", NULL);
	parse_bad("[server]\nlog_format = syslog\n",
		  "test.conf:2: [server] log_format: \"syslog\" is not a log format; ",
		  "expected text or json", NULL);
	parse_bad("[server]\naccess_log = maybe\n",
		  "test.conf:2: [server] access_log:", "expected yes, no", NULL);
	parse_bad("[server]\nworkers = 257\n",
		  "test.conf:2: [server] workers:", "between 0 and 256", NULL);
	parse_bad("[server]\nmax_body = 1023\n", "test.conf:2: [server] max_body: \"1023\"",
		  "between 1024 and 16777216", NULL);
	parse_bad("[server]\nmax_body = 16777217\n", "test.conf:2: [server] max_body:", NULL);
	parse_bad("[server]\nmax_body = 17M\n", "test.conf:2: [server] max_body:", NULL);
	parse_bad("[server]\nmax_body = 64KB\n", "test.conf:2: [server] max_body:", NULL);
	parse_bad("[server]\nmax_body = k\n", "test.conf:2: [server] max_body:", NULL);
	parse_bad("[server]\nrequest_timeout = 0\n",
		  "test.conf:2: [server] request_timeout:", "between 1s and 5m", NULL);
	parse_bad("[server]\nrequest_timeout = 6m\n",
		  "test.conf:2: [server] request_timeout:", NULL);
	parse_bad("[server]\npoll_interval_ms = 49\n",
		  "test.conf:2: [server] poll_interval_ms:", "milliseconds between 50 and 2000",
		  NULL);
	parse_bad("[server]\npoll_interval_ms = 2001\n",
		  "test.conf:2: [server] poll_interval_ms:", NULL);
	parse_bad("[server]\npoll_interval_ms = 500ms\n",
		  "test.conf:2: [server] poll_interval_ms: \"500ms\" is not a whole number", NULL);
	parse_bad("[token]\nsessions = 0\n",
		  "test.conf:2: [token] sessions:", "a whole number between 1 and 1024", NULL);
	parse_bad("[token]\nsessions = 1025\n", "test.conf:2: [token] sessions:", NULL);
	parse_bad("[server]\nsign_queue = 0\n",
		  "test.conf:2: [server] sign_queue:", "between 1 and 1000000", NULL);
	parse_bad("[server]\nsign_timeout = 0\n",
		  "test.conf:2: [server] sign_timeout:", "milliseconds between 1 and 60000", NULL);
	parse_bad("[server]\nsign_timeout = 1s\n", "test.conf:2: [server] sign_timeout:", NULL);
	parse_bad("[audit]\njournal = audit.jsonl\n",
		  "test.conf:2: [audit] journal:", "is not an absolute path", NULL);
	parse_bad("[custodian bob]\ncertificate = bob.pem\n",
		  "test.conf:2: [custodian bob] certificate:", "not an absolute path", NULL);
}

static void
test_server_cross_checks(void **state)
{
	signer_conf *c;

	(void)state;
	parse_bad(
	    "[server]\nlisten = unix:/s.sock\nlisten = https://0.0.0.0:8443\n",
	    "test.conf:3: [server] listen: \"https://0.0.0.0:8443\" needs tls_certificate and "
	    "tls_key",
	    NULL);
	parse_bad("[server]\nlisten = https://0.0.0.0:8443\ntls_key = /k.pem\n",
		  "test.conf:3: [server] tls_key: set without tls_certificate",
		  "expected tls_certificate and tls_key together", NULL);
	parse_bad("[server]\ntls_certificate = /c.pem\n",
		  "test.conf:2: [server] tls_certificate: set without tls_key", NULL);
	/* tls_key: a PEM file or a key on a token */
	c = parse_ok("[server]\nlisten = https://h:1\ntls_certificate = /c\n"
		     "tls_key = pkcs11:token=edge;object=tls?module-name=softhsm2\n");
	assert_string_equal(c->tls_key, "pkcs11:token=edge;object=tls?module-name=softhsm2");
	signer_conf_free(c);
	parse_bad("[server]\ntls_certificate = /c\ntls_key = tls.key\n",
		  "test.conf:3: [server] tls_key", "neither an absolute path nor a pkcs11: URI",
		  "pkcs11:token=edge;object=tls", NULL);
	parse_bad("[server]\n\nmtls_routes = issue\n",
		  "test.conf:3: [server] mtls_routes: set without client_ca", "expected client_ca",
		  NULL);
	/* client_ca alone: mTLS on issue by default */
	c = parse_ok("[server]\nlisten = https://h:1\ntls_certificate = /c\ntls_key = /k\n"
		     "client_ca = /ca\n");
	assert_int_equal(c->mtls_routes, SIGNER_MTLS_ISSUE);
	assert_int_equal(c->n_listen, 1);
	signer_conf_free(c);
}

static void
test_custodian_checks(void **state)
{
	signer_conf *c;

	(void)state;
	parse_bad("[custodian alice]\ncertificate = /a.pem\n\n[custodian bob]\n",
		  "test.conf:4: [custodian bob] certificate: missing; ",
		  "expected the path of the custodian's X.509 certificate", NULL);
	parse_bad("[policy]\nquorum = 2\n[custodian alice]\ncertificate = /a.pem\n",
		  "test.conf:2: [policy] quorum: 2 approvals needed but 1 custodian is configured",
		  NULL);
	parse_bad("[policy]\nquorum = 3\n",
		  "test.conf:2: [policy] quorum:", "0 custodians are configured", NULL);
	parse_bad("[custodian a]\ncertificate = /a.pem\n[custodian a]\ncertificate = /b.pem\n",
		  "test.conf:4: [custodian a] certificate: given twice (first on line 2)", NULL);
	c = parse_ok("[policy]\nquorum = 2\n[custodian a]\ncertificate = /a.pem\n"
		     "[custodian b.c-d_e]\ncertificate = /b.pem\n");
	assert_int_equal(c->n_custodians, 2);
	assert_string_equal(c->custodians[1].name, "b.c-d_e");
	signer_conf_free(c);
}

/* log_format and access_log: defaults and values. */
static void
test_log_keys(void **state)
{
	signer_conf *c = NULL;

	(void)state;
	assert_int_equal(signer_conf_parse("t", "[server]\n", &c), 0);
	assert_int_equal(c->log_json, 0);
	assert_int_equal(c->access_log, 0);
	signer_conf_free(c);
	assert_int_equal(
	    signer_conf_parse("t", "[server]\nlog_format = json\naccess_log = yes\n", &c), 0);
	assert_int_equal(c->log_json, 1);
	assert_int_equal(c->access_log, 1);
	signer_conf_free(c);
}

/* What `signer config check` prints is itself a valid configuration with
 * the same values: printing what it parses to gives the same text. */
static void
test_print_round_trip(void **state)
{
	signer_conf *c = NULL, *c2 = NULL;
	char *a = NULL, *b = NULL;
	size_t alen = 0, blen = 0;
	FILE *f;

	(void)state;
	c = load_data("full.conf");
	assert_non_null(f = open_memstream(&a, &alen));
	signer_conf_print(c, f);
	assert_int_equal(fclose(f), 0);
	assert_non_null(strstr(a, "[token]\n"));
	assert_non_null(strstr(a, "\nlog_format = text\n"));
	assert_int_equal(signer_conf_parse("printed", a, &c2), 0);
	free(c2->path);
	assert_non_null(c2->path = strdup(c->path));
	assert_non_null(f = open_memstream(&b, &blen));
	signer_conf_print(c2, f);
	assert_int_equal(fclose(f), 0);
	assert_string_equal(a, b);
	free(a);
	free(b);
	signer_conf_free(c);
	signer_conf_free(c2);
}

/* A missing file names itself and how to choose another. */
static void
test_missing_file(void **state)
{
	signer_conf *c = (signer_conf *)&c;
	const char *msg;

	(void)state;
	assert_int_equal(unsetenv("SIGNER_CONFIG"), 0);
	assert_int_equal(signer_conf_load_default("/nonexistent/p11s/signer.conf", &c),
			 P11S_E_CONFIG);
	assert_null(c);
	msg = p11s_errmsg(P11S_E_CONFIG);
	assert_non_null(strstr(msg, "no configuration file /nonexistent/p11s/signer.conf"));
	assert_non_null(strstr(msg, "given with --config"));
	assert_non_null(strstr(msg, "--config FILE or the environment variable SIGNER_CONFIG"));
	assert_int_equal(setenv("SIGNER_CONFIG", "/nonexistent/p11s/env.conf", 1), 0);
	assert_string_equal(signer_conf_path(NULL), "/nonexistent/p11s/env.conf");
	assert_string_equal(signer_conf_path("/x.conf"), "/x.conf");
	assert_int_equal(signer_conf_load_default(NULL, &c), P11S_E_CONFIG);
	assert_non_null(strstr(p11s_errmsg(P11S_E_CONFIG), "named by SIGNER_CONFIG"));
	assert_int_equal(setenv("SIGNER_CONFIG", "", 1), 0);
	assert_string_equal(signer_conf_path(NULL), SYSCONFDIR "/p11-signer/signer.conf");
	assert_int_equal(unsetenv("SIGNER_CONFIG"), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_empty_file),
	    cmocka_unit_test(test_spec_example),
	    cmocka_unit_test(test_full),
	    cmocka_unit_test(test_syntax_variants),
	    cmocka_unit_test(test_file_errors),
	    cmocka_unit_test(test_structure_errors),
	    cmocka_unit_test(test_line_limits),
	    cmocka_unit_test(test_value_errors_token),
	    cmocka_unit_test(test_pin_never_echoed),
	    cmocka_unit_test(test_value_errors_policy),
	    cmocka_unit_test(test_value_errors_type),
	    cmocka_unit_test(test_type_lead_check),
	    cmocka_unit_test(test_listen_parse),
	    cmocka_unit_test(test_listen_parse_refusals),
	    cmocka_unit_test(test_value_errors_server),
	    cmocka_unit_test(test_log_keys),
	    cmocka_unit_test(test_print_round_trip),
	    cmocka_unit_test(test_missing_file),
	    cmocka_unit_test(test_server_cross_checks),
	    cmocka_unit_test(test_custodian_checks),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}

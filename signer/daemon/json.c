/* Strict parsing of signerd's request bodies.  See d_json.h. */
#include "config.h"

#include "signer/daemon/json.h"

#include <string.h>
#include <strings.h>

#include "common/text.h"

/* Parse an object body with the same JSON library as the state store;
 * duplicate members are refused (an ambiguous request is a bad request). */
static int
parse_object(const uint8_t *body, size_t len, json_t **out)
{
	json_error_t e;
	json_t *root;

	*out = NULL;
	if (body == NULL || len == 0)
		return p11s_fail(P11S_E_INVAL,
				 "the request body is empty; a JSON object is expected");
	root = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &e);
	if (root == NULL)
		return p11s_fail(P11S_E_INVAL,
				 "the request body is not valid JSON (line %d, column %d: %s)",
				 e.line, e.column, e.text);
	if (!json_is_object(root)) {
		json_decref(root);
		return p11s_fail(P11S_E_INVAL, "the request body must be a JSON object");
	}
	*out = root;
	return 0;
}

static int
check_members(json_t *root, const char *const *allowed, const char *list)
{
	const char *k;
	json_t *v;

	json_object_foreach(root, k, v)
	{
		size_t i;
		int ok = 0;

		(void)v;
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(k, allowed[i]) == 0)
				ok = 1;
		if (!ok) {
			char q[P11S_QUOTE_BUF];

			return p11s_fail(P11S_E_INVAL, "unknown member %s; accepted: %s",
					 p11s_quote_str(k, q, sizeof(q)), list);
		}
	}
	return 0;
}

/* A string member: required or optional, non-empty, at most max bytes. */
static int
get_string(const json_t *root, const char *name, int required, size_t max, const char **out,
	   size_t *outlen)
{
	const json_t *v = json_object_get(root, name);
	size_t n;

	*out = NULL;
	if (outlen != NULL)
		*outlen = 0;
	if (v == NULL || json_is_null(v)) {
		if (required)
			return p11s_fail(P11S_E_INVAL, "\"%s\" is required", name);
		return 0;
	}
	if (!json_is_string(v))
		return p11s_fail(P11S_E_INVAL, "\"%s\" must be a string", name);
	n = json_string_length(v);
	if (n == 0)
		return p11s_fail(P11S_E_INVAL, "\"%s\" must not be empty", name);
	if (n > max)
		return p11s_fail(P11S_E_INVAL, "\"%s\" is %zu bytes long; at most %zu are accepted",
				 name, n, max);
	if (strlen(json_string_value(v)) != n)
		return p11s_fail(P11S_E_INVAL, "\"%s\" must not contain NUL characters", name);
	*out = json_string_value(v);
	if (outlen != NULL)
		*outlen = n;
	return 0;
}

void
d_issue_req_clear(d_issue_req *r)
{
	json_decref(r->root);
	memset(r, 0, sizeof(*r));
}

int
d_issue_req_parse(const uint8_t *body, size_t len, d_issue_req *out)
{
	static const char *const allowed[] = {"type", "sub", "aud", "lifetime", "claims", NULL};
	d_issue_req q;
	const json_t *v;
	int r;

	memset(out, 0, sizeof(*out));
	memset(&q, 0, sizeof(q));
	if ((r = parse_object(body, len, &q.root)) != 0)
		goto out;
	if ((r = check_members(q.root, allowed, "type, sub, aud, lifetime, claims")) != 0 ||
	    (r = get_string(q.root, "type", 1, D_TYPE_MAX, &q.type, NULL)) != 0 ||
	    (r = get_string(q.root, "sub", 1, D_SUB_MAX, &q.sub, NULL)) != 0 ||
	    (r = get_string(q.root, "aud", 0, D_SUB_MAX, &q.aud, NULL)) != 0)
		goto out;
	v = json_object_get(q.root, "lifetime");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) <= 0) {
			r = p11s_fail(P11S_E_INVAL,
				      "\"lifetime\" must be a positive whole number of seconds");
			goto out;
		}
		q.lifetime = (int64_t)json_integer_value(v);
	}
	v = json_object_get(q.root, "claims");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_object(v)) {
			r = p11s_fail(P11S_E_INVAL, "\"claims\" must be a JSON object");
			goto out;
		}
		if (json_object_size(v) > D_CLAIMS_MAX) {
			r = p11s_fail(P11S_E_INVAL,
				      "\"claims\" has %zu members; at most %d are accepted",
				      json_object_size(v), D_CLAIMS_MAX);
			goto out;
		}
		q.claims = v;
	}
	*out = q;
	memset(&q, 0, sizeof(q));
	r = 0;
out:
	d_issue_req_clear(&q);
	return r;
}

void
d_verify_req_clear(d_verify_req *r)
{
	json_decref(r->root);
	memset(r, 0, sizeof(*r));
}

static const uint8_t *
skip_ws(const uint8_t *p, const uint8_t *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

static int
is_jws_char(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.';
}

/*
 * The request nearly every client sends, {"token":"<compact JWS>"} (JSON
 * whitespace around its tokens allowed): the token's bounds, without the
 * cost of a JSON tree (parsing the body was 15 % of an RS256 verification's
 * instructions).  The string holds base64url characters and dots
 * only, so its JSON value is its bytes.  0 for anything else, which the
 * general parser then takes, so both agree on every body (fuzz/http_json).
 */
static int
verify_req_simple(const uint8_t *body, size_t len, const uint8_t **tok, size_t *toklen)
{
	static const char key[] = "\"token\"";
	const uint8_t *p = body, *end = body + len, *t;

	p = skip_ws(p, end);
	if (p == end || *p++ != '{')
		return 0;
	p = skip_ws(p, end);
	if ((size_t)(end - p) < sizeof(key) - 1 || memcmp(p, key, sizeof(key) - 1) != 0)
		return 0;
	p = skip_ws(p + sizeof(key) - 1, end);
	if (p == end || *p++ != ':')
		return 0;
	p = skip_ws(p, end);
	if (p == end || *p++ != '"')
		return 0;
	for (t = p; p < end && is_jws_char(*p); p++)
		;
	if (p == end || *p++ != '"')
		return 0;
	*tok = t;
	*toklen = (size_t)(p - 1 - t);
	p = skip_ws(p, end);
	if (p == end || *p++ != '}')
		return 0;
	return skip_ws(p, end) == end;
}

int
d_verify_req_parse(const uint8_t *body, size_t len, size_t max_token, d_verify_req *out)
{
	static const char *const allowed[] = {"token", "type", "aud", NULL};
	const uint8_t *tok;
	size_t toklen;
	d_verify_req q;
	int r;

	memset(out, 0, sizeof(*out));
	memset(&q, 0, sizeof(q));
	if (body != NULL && verify_req_simple(body, len, &tok, &toklen) && toklen > 0 &&
	    toklen <= max_token) {
		if ((q.root = json_stringn_nocheck((const char *)tok, toklen)) == NULL)
			return p11s_fail(P11S_E_NOMEM, "out of memory");
		q.token = json_string_value(q.root);
		q.token_len = toklen;
		*out = q;
		return 0;
	}
	if ((r = parse_object(body, len, &q.root)) != 0)
		goto out;
	if ((r = check_members(q.root, allowed, "token, type, aud")) != 0 ||
	    (r = get_string(q.root, "token", 1, max_token, &q.token, &q.token_len)) != 0 ||
	    (r = get_string(q.root, "type", 0, D_TYPE_MAX, &q.type, NULL)) != 0 ||
	    (r = get_string(q.root, "aud", 0, D_SUB_MAX, &q.aud, NULL)) != 0)
		goto out;
	*out = q;
	memset(&q, 0, sizeof(q));
	r = 0;
out:
	d_verify_req_clear(&q);
	return r;
}

int
d_content_type_is_json(const char *value)
{
	static const char mt[] = "application/json";
	size_t n = sizeof(mt) - 1;

	if (value == NULL)
		return 0;
	while (*value == ' ' || *value == '\t')
		value++;
	if (strncasecmp(value, mt, n) != 0)
		return 0;
	value += n;
	while (*value == ' ' || *value == '\t')
		value++;
	return *value == '\0' || *value == ';';
}

/*
 * Fuzz target: signerd's request parsers (signer/d_json.h), which see the
 * bodies of POST /v1/tokens and POST /v1/verify from any client that may
 * connect, and the Content-Type check.  Input: the request body; both
 * parsers read every input.
 *
 * Oracle of the answers (issue: 500 "out of memory" for a cut UTF-8
 * sequence): every error message a parser leaves, and every message signerd
 * builds around the client's strings (p11s_quote), is valid UTF-8 and makes
 * a JSON answer {"error", "detail"} that serialises and parses back to the
 * same text.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/text.h"
#include "fuzz/fuzz.h"
#include "signer/daemon/json.h"
#include "signer/jose/jose.h"

/* A parsed optional string: absent, or non-empty without NUL and <= max bytes. */
static void
check_str(const char *s, int required, size_t max)
{
	if (s == NULL) {
		if (required)
			abort();
		return;
	}
	if (s[0] == '\0' || strlen(s) > max)
		abort();
}

/* The answer signerd sends for `msg` must be valid JSON carrying it whole. */
static void
check_answer(const char *msg)
{
	json_t *o, *back;
	char *text;

	if (!p11s_utf8_valid(msg, strlen(msg)))
		abort();
	o = json_pack("{s:s, s:s}", "error", "bad_request", "detail", msg);
	if (o == NULL)
		abort();
	text = json_dumps(o, JSON_COMPACT);
	if (text == NULL)
		abort();
	back = json_loads(text, 0, NULL);
	if (back == NULL || strcmp(json_string_value(json_object_get(back, "detail")), msg) != 0)
		abort();
	json_decref(back);
	free(text);
	json_decref(o);
}

/* A message quoting client text as the handlers do ("type X is not configured"). */
static void
check_quoted(const void *text, size_t len)
{
	char q[P11S_QUOTE_BUF], msg[256];

	p11s_quote(text, len, q, sizeof(q));
	snprintf(msg, sizeof(msg), "type %s is not configured", q);
	check_answer(msg);
}

/* A member of a parsed object as a string, or NULL (absent or null). */
static const char *
ref_member(const json_t *o, const char *name, size_t *len)
{
	const json_t *v = json_object_get(o, name);

	*len = json_string_length(v);
	return json_string_value(v);
}

static int
same_str(const char *a, size_t alen, const char *b, size_t blen)
{
	return a == NULL ? b == NULL : b != NULL && alen == blen && memcmp(a, b, alen) == 0;
}

/* d_verify_req_parse reads the common {"token":...} without jansson: what it
 * accepts, jansson reads as the same request. */
static void
same_as_jansson(const uint8_t *data, size_t size, const d_verify_req *q)
{
	json_error_t e;
	json_t *ref = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &e);
	const char *v;
	size_t n;

	if (ref == NULL && json_error_code(&e) == json_error_out_of_memory)
		return; /* nothing to compare */
	if (!json_is_object(ref))
		abort();
	v = ref_member(ref, "token", &n);
	if (!same_str(v, n, q->token, q->token_len))
		abort();
	v = ref_member(ref, "type", &n);
	if (!same_str(v, n, q->type, q->type != NULL ? strlen(q->type) : 0))
		abort();
	v = ref_member(ref, "aud", &n);
	if (!same_str(v, n, q->aud, q->aud != NULL ? strlen(q->aud) : 0))
		abort();
	json_decref(ref);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	d_issue_req iq;
	d_verify_req vq;
	char *s;
	int r;

	r = d_issue_req_parse(data, size, &iq);
	if (r == 0) {
		check_str(iq.type, 1, D_TYPE_MAX);
		check_str(iq.sub, 1, D_SUB_MAX);
		check_str(iq.aud, 0, D_SUB_MAX);
		if (iq.lifetime < 0 ||
		    (iq.claims != NULL &&
		     (!json_is_object(iq.claims) || json_object_size(iq.claims) > D_CLAIMS_MAX)))
			abort();
		check_quoted(iq.type, strlen(iq.type));
	} else if (iq.root != NULL || (r != P11S_E_INVAL && r != P11S_E_NOMEM) ||
		   strlen(p11s_errmsg(r)) == 0) {
		abort();
	} else {
		check_answer(p11s_errmsg(r));
	}
	d_issue_req_clear(&iq);

	r = d_verify_req_parse(data, size, JWT_MAX_LEN, &vq);
	if (r == 0) {
		check_str(vq.token, 1, JWT_MAX_LEN);
		if (strlen(vq.token) != vq.token_len)
			abort();
		check_str(vq.type, 0, D_TYPE_MAX);
		check_str(vq.aud, 0, D_SUB_MAX);
		if (vq.type != NULL)
			check_quoted(vq.type, strlen(vq.type));
		same_as_jansson(data, size, &vq);
	} else if (vq.root != NULL || (r != P11S_E_INVAL && r != P11S_E_NOMEM) ||
		   strlen(p11s_errmsg(r)) == 0) {
		abort();
	} else {
		check_answer(p11s_errmsg(r));
	}
	d_verify_req_clear(&vq);

	/* The raw bytes as a path's type name (GET /.well-known/jwks/X.json). */
	check_quoted(data, size);

	/* Header values are text from the same client. */
	if ((s = fuzz_strndup(data, size)) != NULL) {
		(void)d_content_type_is_json(s);
		free(s);
	}
	return 0;
}

/*
 * Fuzz target: signerd's request parsers (signer/d_json.h), which see the
 * bodies of POST /v1/tokens and POST /v1/verify from any client that may
 * connect, and the Content-Type check.  Input: the request body; both
 * parsers read every input.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

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
	} else if (iq.root != NULL || (r != P11S_E_INVAL && r != P11S_E_NOMEM) ||
		   strlen(p11s_errmsg(r)) == 0) {
		abort();
	}
	d_issue_req_clear(&iq);

	r = d_verify_req_parse(data, size, JWT_MAX_LEN, &vq);
	if (r == 0) {
		check_str(vq.token, 1, JWT_MAX_LEN);
		if (strlen(vq.token) != vq.token_len)
			abort();
		check_str(vq.type, 0, D_TYPE_MAX);
		check_str(vq.aud, 0, D_SUB_MAX);
	} else if (vq.root != NULL || (r != P11S_E_INVAL && r != P11S_E_NOMEM) ||
		   strlen(p11s_errmsg(r)) == 0) {
		abort();
	}
	d_verify_req_clear(&vq);

	/* Header values and verifier messages are text from the same client. */
	if ((s = fuzz_strndup(data, size)) != NULL) {
		(void)d_content_type_is_json(s);
		(void)strlen(d_verify_reason(s));
		free(s);
	}
	return 0;
}

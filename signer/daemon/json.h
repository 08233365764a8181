/*
 * signerd request bodies: strict parsing and validation of the JSON of
 * POST /v1/tokens and POST /v1/verify (pure; no state, no HSM).
 * Errors are P11S_E_INVAL with one sentence naming the field and what is
 * accepted (p11s_errmsg); they answer 400.
 */
#ifndef P11S_SIGNER_D_JSON_H
#define P11S_SIGNER_D_JSON_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/error.h"

#define D_SUB_MAX 1024	/* bytes of sub / aud */
#define D_TYPE_MAX 63	/* bytes of a type name (POL_NAME_MAX - 1) */
#define D_CLAIMS_MAX 64 /* members of "claims" */

typedef struct d_issue_req {
	json_t *root; /* owns every pointer below */
	const char *type;
	const char *sub;
	const char *aud;      /* NULL when absent */
	int64_t lifetime;     /* seconds; 0 when absent (the type's lifetime) */
	const json_t *claims; /* object or NULL */
} d_issue_req;

/* {type, sub, aud?, lifetime?, claims?}; unknown members are refused. */
P11S_MUST_CHECK int d_issue_req_parse(const uint8_t *body, size_t len, d_issue_req *out);
void d_issue_req_clear(d_issue_req *r);

typedef struct d_verify_req {
	json_t *root; /* owns the strings below (an object, or the token's string) */
	const char *token;
	size_t token_len;
	const char *type; /* NULL: every type */
	const char *aud;  /* NULL: not checked */
} d_verify_req;

/* {token, type?, aud?}; token at most max_token bytes. */
P11S_MUST_CHECK int d_verify_req_parse(const uint8_t *body, size_t len, size_t max_token,
				       d_verify_req *out);
void d_verify_req_clear(d_verify_req *r);

/* 1 when a Content-Type header value names JSON ("application/json" with
 * optional parameters, any case); NULL (absent) does not: a body without a
 * type is refused like any other type (415). */
int d_content_type_is_json(const char *value);

#endif

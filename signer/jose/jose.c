/*
 * JWS compact JWT issue and strict verification, JWK export (SPEC §5).
 *
 * Verification order: size, shape, base64url of every segment, header JSON and
 * its members, key selection (kid narrows; alg is bound to the key record),
 * signature length and EC scalar range, the signature itself, and only then the
 * claims JSON and the time/aud/iss checks.  Nothing in the claims is trusted or
 * parsed before the signature verifies.
 */
#include "config.h"

#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "common/log.h"
#include "common/text.h"
#include "signer/jose/jose.h"

#define JTI_BYTES 16
#define RSA_MIN_SIG 256 /* 2048-bit modulus */
#define SIG_MAX 1024	/* 8192-bit modulus */

static const char *const registered_claims[] = {"iss", "sub", "aud", "iat", "nbf", "exp", "jti"};

/* ---------------------------------------------------------------- helpers */

/* Quoted copy of an untrusted string of the token for an error message. */
static const char *
show(const json_t *v, char out[P11S_QUOTE_BUF])
{
	return p11s_quote(json_string_value(v), json_string_length(v), out, P11S_QUOTE_BUF);
}

static int bad(jwt_result *res, jwt_reason why, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Record the reason and one specific sentence in res and in the error slot. */
static int
bad(jwt_result *res, jwt_reason why, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(res->error, sizeof(res->error), fmt, ap);
	va_end(ap);
	p11s_text_fix(res->error);
	res->reason = why;
	return p11s_fail(P11S_E_BADTOKEN, "%s", res->error);
}

/* Digests fetched once: an implicit fetch per call (EVP_sha256() in
 * EVP_DigestVerifyInit) searches the provider store on every token. */
static EVP_MD *md_sha256, *md_sha384;
static pthread_once_t md_once = PTHREAD_ONCE_INIT;

static void
md_fetch(void)
{
	md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	md_sha384 = EVP_MD_fetch(NULL, "SHA384", NULL);
}

static const EVP_MD *
alg_md(p11s_alg alg)
{
	pthread_once(&md_once, md_fetch);
	if (alg == P11S_ALG_ES384)
		return md_sha384 != NULL ? md_sha384 : EVP_sha384();
	return md_sha256 != NULL ? md_sha256 : EVP_sha256();
}

static int
alg_is_ec(p11s_alg alg)
{
	return alg == P11S_ALG_ES256 || alg == P11S_ALG_ES384;
}

static const char *
alg_curve(p11s_alg alg)
{
	return alg == P11S_ALG_ES384 ? "P-384" : "P-256";
}

/* The EC group name of pub as OpenSSL reports it, or "" for other keys. */
static void
ec_group_name(EVP_PKEY *pub, char *out, size_t outlen)
{
	out[0] = '\0';
	if (EVP_PKEY_get_base_id(pub) != EVP_PKEY_EC ||
	    !EVP_PKEY_get_utf8_string_param(pub, OSSL_PKEY_PARAM_GROUP_NAME, out, outlen, NULL))
		out[0] = '\0';
}

/*
 * Raw signature length expected for alg with this public key, or 0 when the
 * key does not fit the algorithm (wrong type, curve or a short modulus).
 */
static size_t
key_sig_len(EVP_PKEY *pub, p11s_alg alg)
{
	char group[32];
	int id;

	if (pub == NULL)
		return 0;
	id = EVP_PKEY_get_base_id(pub);
	switch (alg) {
	case P11S_ALG_ES256:
	case P11S_ALG_ES384:
		ec_group_name(pub, group, sizeof(group));
		if (strcmp(group, alg == P11S_ALG_ES256 ? SN_X9_62_prime256v1 : SN_secp384r1) != 0)
			return 0;
		return p11s_alg_sig_len(alg, 0);
	case P11S_ALG_RS256:
	case P11S_ALG_PS256:
		if (id != EVP_PKEY_RSA && !(alg == P11S_ALG_PS256 && id == EVP_PKEY_RSA_PSS))
			return 0;
		if (!p11s_alg_fits(alg, P11S_KT_RSA, (unsigned)EVP_PKEY_get_bits(pub)))
			return 0;
		return (size_t)EVP_PKEY_get_size(pub);
	default:
		return 0;
	}
}

/* --------------------------------------------------------------- kid, x5t */

static int
thumb_from_hex(const char *what, const char *hex, size_t nbytes, char *out, size_t outlen)
{
	uint8_t bin[32];
	char *b64 = NULL;
	int r = P11S_E_INTERNAL;

	if (outlen > 0)
		out[0] = '\0';
	if (hex == NULL || strlen(hex) != 2 * nbytes ||
	    p11s_unhex(hex, bin, sizeof(bin)) != (int)nbytes)
		return p11s_fail(P11S_E_INVAL, "%s thumbprint must be %zu hex digits", what,
				 2 * nbytes);
	if ((r = p11s_b64url_encode(bin, nbytes, &b64)) != 0)
		goto out;
	if (strlen(b64) + 1 > outlen) {
		r = p11s_fail(P11S_E_INVAL, "%s buffer too small (%zu bytes, need %zu)", what,
			      outlen, strlen(b64) + 1);
		goto out;
	}
	memcpy(out, b64, strlen(b64) + 1);
	r = 0;
out:
	free(b64);
	return r;
}

int
jose_kid_from_hex(const char *sha256_hex, char *out, size_t outlen)
{
	return thumb_from_hex("SHA-256", sha256_hex, 32, out, outlen);
}

int
jose_x5t_from_hex(const char *sha1_hex, char *out, size_t outlen)
{
	return thumb_from_hex("SHA-1", sha1_hex, 20, out, outlen);
}

/* ------------------------------------------------------------------ issue */

static int
set_string(json_t *obj, const char *name, const char *value)
{
	json_t *s = json_string(value);

	if (s == NULL)
		return p11s_fail(P11S_E_INVAL, "%s is not valid UTF-8 text", name);
	if (json_object_set_new(obj, name, s) != 0)
		return p11s_fail(P11S_E_NOMEM, "out of memory");
	return 0;
}

static int
set_int(json_t *obj, const char *name, int64_t value)
{
	if (json_object_set_new(obj, name, json_integer((json_int_t)value)) != 0)
		return p11s_fail(P11S_E_NOMEM, "out of memory");
	return 0;
}

static int
b64_json(const json_t *obj, char **out)
{
	char *txt;
	int r;

	*out = NULL;
	if ((txt = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		return p11s_fail(P11S_E_NOMEM, "cannot serialize JSON");
	r = p11s_b64url_encode((const uint8_t *)txt, strlen(txt), out);
	free(txt);
	return r;
}

/*
 * The header and the registered claims are written as text, byte for byte
 * what json_dumps(JSON_COMPACT | JSON_SORT_KEYS) makes of the same object
 * (test_jose checks this), without building a tree to dump: on the issuing
 * path that tree cost more than everything else outside the signature.
 * Extra claims from the caller still go through jansson.
 */
typedef struct jtext {
	char *s;
	size_t len, cap;
	unsigned members;
	int err; /* the first failure (P11S_E_NOMEM, or P11S_E_INVAL: not UTF-8) */
} jtext;

static void
jt_raw(jtext *t, const char *s, size_t n)
{
	if (t->err != 0)
		return;
	if (t->len + n + 1 > t->cap) {
		size_t cap = t->cap != 0 ? t->cap : 256;
		char *ns;

		while (cap < t->len + n + 1)
			cap *= 2;
		if ((ns = realloc(t->s, cap)) == NULL) {
			t->err = p11s_fail(P11S_E_NOMEM, "out of memory");
			return;
		}
		t->s = ns;
		t->cap = cap;
	}
	memcpy(t->s + t->len, s, n);
	t->len += n;
	t->s[t->len] = '\0';
}

/* The next member's "key": (the object opens with the first). */
static void
jt_key(jtext *t, const char *key)
{
	jt_raw(t, t->members++ > 0 ? ",\"" : "{\"", 2);
	jt_raw(t, key, strlen(key));
	jt_raw(t, "\":", 2);
}

static void
jt_str(jtext *t, const char *key, const char *v)
{
	char *q;

	if (t->err != 0)
		return;
	/* p11s_json_quote checks UTF-8: check again only to say why it failed */
	if ((q = p11s_json_quote(v)) == NULL) {
		t->err = p11s_utf8_valid(v, strlen(v))
			     ? p11s_fail(P11S_E_NOMEM, "out of memory")
			     : p11s_fail(P11S_E_INVAL, "%s is not valid UTF-8 text", key);
		return;
	}
	jt_key(t, key);
	jt_raw(t, q, strlen(q));
	free(q);
}

static void
jt_int(jtext *t, const char *key, int64_t v)
{
	char num[24];
	int n = snprintf(num, sizeof(num), "%lld", (long long)v);

	jt_key(t, key);
	jt_raw(t, num, (size_t)n);
}

/* Close the object and base64url-encode it; frees the text. */
static int
jt_b64(jtext *t, char **out)
{
	int r;

	jt_raw(t, "}", 1);
	r = t->err != 0 ? t->err : p11s_b64url_encode((const uint8_t *)t->s, t->len, out);
	free(t->s);
	memset(t, 0, sizeof(*t));
	return r;
}

/* {"alg":...,"kid":...,"typ":"JWT","x5t":...} */
static int
header_b64(const jwt_issue_params *p, char **out)
{
	jtext t = {0};

	jt_str(&t, "alg", p11s_alg_name(p->alg));
	jt_str(&t, "kid", p->kid);
	jt_str(&t, "typ", "JWT");
	jt_str(&t, "x5t", p->x5t);
	return jt_b64(&t, out);
}

/* {"aud":...,"exp":...,"iat":...,"iss":...,"jti":...,"nbf":...,"sub":...} */
static int
claims_b64(const jwt_issue_params *p, const char *jti, char **out)
{
	jtext t = {0};

	if (p->aud != NULL)
		jt_str(&t, "aud", p->aud);
	jt_int(&t, "exp", p->now + p->lifetime);
	jt_int(&t, "iat", p->now);
	jt_str(&t, "iss", p->iss);
	jt_str(&t, "jti", jti);
	jt_int(&t, "nbf", p->now);
	jt_str(&t, "sub", p->sub);
	return jt_b64(&t, out);
}

static int
issue_check(const jwt_issue_params *p)
{
	if (p->alg == P11S_ALG_NONE || p11s_alg_name(p->alg) == NULL)
		return p11s_fail(P11S_E_INVAL,
				 "no signing algorithm given (ES256, ES384, RS256 or PS256)");
	if (p->kid == NULL || p->kid[0] == '\0')
		return p11s_fail(P11S_E_INVAL, "kid is required");
	if (p->x5t == NULL || p->x5t[0] == '\0')
		return p11s_fail(P11S_E_INVAL, "x5t is required");
	if (p->iss == NULL || p->iss[0] == '\0')
		return p11s_fail(P11S_E_INVAL, "iss is required");
	if (p->sub == NULL || p->sub[0] == '\0')
		return p11s_fail(P11S_E_INVAL, "sub is required and must not be empty");
	if (p->aud != NULL && p->aud[0] == '\0')
		return p11s_fail(P11S_E_INVAL, "aud must not be empty (leave it out instead)");
	if (p->lifetime <= 0)
		return p11s_fail(P11S_E_INVAL, "token lifetime must be positive, got %lld",
				 (long long)p->lifetime);
	if (p->now > INT64_MAX - p->lifetime)
		return p11s_fail(P11S_E_INVAL, "token lifetime %lld overflows the expiry time",
				 (long long)p->lifetime);
	if (p->sign == NULL)
		return p11s_fail(P11S_E_INVAL, "no signing callback");
	if (p->claims != NULL) {
		if (!json_is_object(p->claims))
			return p11s_fail(P11S_E_INVAL, "extra claims must be a JSON object");
		for (size_t i = 0; i < sizeof(registered_claims) / sizeof(registered_claims[0]);
		     i++)
			if (json_object_get(p->claims, registered_claims[i]) != NULL)
				return p11s_fail(P11S_E_INVAL,
						 "claim '%s' is registered and set by the signer; "
						 "the caller may not set it",
						 registered_claims[i]);
	}
	return 0;
}

static int
new_jti(char **out)
{
	uint8_t rnd[JTI_BYTES];

	*out = NULL;
	if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
		log_openssl("RAND_bytes");
		return p11s_fail(P11S_E_CRYPTO, "no random bytes for the token id (jti)");
	}
	return p11s_b64url_encode(rnd, sizeof(rnd), out);
}

/* A token of `total` bytes must fit JWT_MAX_LEN (what the verifier reads). */
static int
check_jwt_len(size_t total)
{
	if (total > JWT_MAX_LEN)
		return p11s_fail(P11S_E_INVAL,
				 "token would be %zu bytes, above the %d-byte limit "
				 "(fewer or shorter claims)",
				 total, JWT_MAX_LEN);
	return 0;
}

/* *out = "a.b", whose length is len; the caller frees it. */
static int
dot_join(const char *a, const char *b, size_t len, char **out)
{
	*out = malloc(len + 1);
	if (*out == NULL)
		return p11s_fail(P11S_E_NOMEM, "out of memory");
	snprintf(*out, len + 1, "%s.%s", a, b);
	return 0;
}

int
jwt_issue(const jwt_issue_params *p, char **token, p11s_time *exp)
{
	int r = P11S_E_INTERNAL;
	json_t *cl = NULL;
	char *h64 = NULL, *p64 = NULL, *s64 = NULL, *jti = NULL, *input = NULL, *tok = NULL;
	uint8_t sig[SIG_MAX];
	size_t siglen = sizeof(sig), inlen, want, total;

	*token = NULL;
	if (exp != NULL)
		*exp = 0;
	if (p == NULL)
		return p11s_fail(P11S_E_INVAL, "no issue parameters");
	if ((r = issue_check(p)) != 0)
		return r;

	if ((r = header_b64(p, &h64)) != 0 || (r = new_jti(&jti)) != 0)
		goto out;
	if (p->claims == NULL) {
		if ((r = claims_b64(p, jti, &p64)) != 0)
			goto out;
	} else {
		/* the caller's claims and the registered ones, sorted by name */
		if ((cl = json_deep_copy(p->claims)) == NULL) {
			r = p11s_fail(P11S_E_NOMEM, "out of memory");
			goto out;
		}
		if ((r = set_string(cl, "iss", p->iss)) != 0 ||
		    (r = set_string(cl, "sub", p->sub)) != 0 ||
		    (p->aud != NULL && (r = set_string(cl, "aud", p->aud)) != 0) ||
		    (r = set_int(cl, "iat", p->now)) != 0 ||
		    (r = set_int(cl, "nbf", p->now)) != 0 ||
		    (r = set_int(cl, "exp", p->now + p->lifetime)) != 0 ||
		    (r = set_string(cl, "jti", jti)) != 0 || (r = b64_json(cl, &p64)) != 0)
			goto out;
	}

	/* Refuse what our own verifier would refuse unread (RSA: the smallest modulus). */
	want = alg_is_ec(p->alg) ? p11s_alg_sig_len(p->alg, 0) : RSA_MIN_SIG;
	inlen = strlen(h64) + 1 + strlen(p64);
	total = inlen + 1 + (want * 4 + 2) / 3;
	if ((r = check_jwt_len(total)) != 0)
		goto out;
	if ((r = dot_join(h64, p64, inlen, &input)) != 0)
		goto out;

	if (alg_is_ec(p->alg))
		siglen = want;
	r = p->sign(p->sign_ctx, (const uint8_t *)input, inlen, sig, &siglen);
	if (r != 0) {
		if (r > 0)
			r = p11s_fail(P11S_E_INTERNAL, "signing callback returned %d", r);
		goto out;
	}
	if (alg_is_ec(p->alg) ? siglen != want : (siglen < RSA_MIN_SIG || siglen > sizeof(sig))) {
		r = p11s_fail(P11S_E_CRYPTO, "%s signature has %zu bytes; expected %s%zu",
			      p11s_alg_name(p->alg), siglen, alg_is_ec(p->alg) ? "" : "at least ",
			      alg_is_ec(p->alg) ? want : (size_t)RSA_MIN_SIG);
		goto out;
	}
	if ((r = p11s_b64url_encode(sig, siglen, &s64)) != 0)
		goto out;
	total = inlen + 1 + strlen(s64);
	if ((r = check_jwt_len(total)) != 0)
		goto out;
	if ((r = dot_join(input, s64, total, &tok)) != 0)
		goto out;
	*token = tok;
	tok = NULL;
	if (exp != NULL)
		*exp = p->now + p->lifetime;
	r = 0;
out:
	OPENSSL_cleanse(sig, sizeof(sig));
	json_decref(cl);
	free(h64);
	free(p64);
	free(s64);
	free(jti);
	free(input);
	free(tok);
	return r;
}

/* ----------------------------------------------------------------- verify */

/* Decode one segment, naming what is wrong with it precisely. */
static int
decode_part(jwt_result *res, const char *what, const char *s, size_t len, uint8_t **out,
	    size_t *outlen)
{
	int r;

	*out = NULL;
	*outlen = 0;
	if (len == 0)
		return bad(res, JWT_R_MALFORMED, "%s is empty", what);
	if (memchr(s, '=', len) != NULL)
		return bad(res, JWT_R_MALFORMED,
			   "%s has base64 padding '=' (base64url is unpadded)", what);
	if (memchr(s, '+', len) != NULL || memchr(s, '/', len) != NULL)
		return bad(res, JWT_R_MALFORMED,
			   "%s uses the base64 characters '+' or '/' instead of base64url", what);
	for (size_t i = 0; i < len; i++)
		if (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')
			return bad(res, JWT_R_MALFORMED, "%s contains whitespace at offset %zu",
				   what, i);
	r = p11s_b64url_decode(s, len, out, outlen);
	if (r == P11S_E_NOMEM)
		return r;
	if (r != 0)
		return bad(res, JWT_R_MALFORMED, "%s is not canonical base64url: %s", what,
			   p11s_errmsg(r));
	return 0;
}

/* Parse a decoded segment as one JSON object without duplicate members. */
static int
parse_object(jwt_result *res, const char *what, const uint8_t *buf, size_t len, json_t **out)
{
	json_error_t e;
	json_t *j;

	*out = NULL;
	j = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &e);
	if (j == NULL) {
		switch (json_error_code(&e)) {
		case json_error_duplicate_key:
			return bad(res, JWT_R_MALFORMED, "duplicate member in %s (%s)", what,
				   e.text);
		case json_error_stack_overflow:
			return bad(res, JWT_R_MALFORMED,
				   "%s is nested too deeply (limit %d levels)", what,
				   JSON_PARSER_MAX_DEPTH);
		case json_error_invalid_utf8:
			return bad(res, JWT_R_MALFORMED, "%s is not valid UTF-8", what);
		case json_error_out_of_memory:
			return p11s_fail(P11S_E_NOMEM, "out of memory parsing the token %s", what);
		default:
			return bad(res, JWT_R_MALFORMED, "%s is not valid JSON: %s at offset %d",
				   what, e.text, e.position);
		}
	}
	if (!json_is_object(j)) {
		json_decref(j);
		return bad(res, JWT_R_MALFORMED, "%s is not a JSON object", what);
	}
	*out = j;
	return 0;
}

/* Header checks: crit, typ, alg.  *alg set on success; res->kid filled. */
static int
check_header(jwt_result *res, json_t *hdr, p11s_alg *alg, const char **kid)
{
	json_t *v;
	const char *name;
	char s[P11S_QUOTE_BUF];

	*alg = P11S_ALG_NONE;
	*kid = NULL;
	if (json_object_get(hdr, "crit") != NULL)
		return bad(res, JWT_R_MALFORMED,
			   "crit header is not supported (no extensions are understood)");
	if ((v = json_object_get(hdr, "typ")) != NULL) {
		if (!json_is_string(v))
			return bad(res, JWT_R_MALFORMED, "typ is not a string (expected \"JWT\")");
		if (strcasecmp(json_string_value(v), "JWT") != 0) {
			return bad(res, JWT_R_MALFORMED, "typ %s is not JWT", show(v, s));
		}
	}
	if ((v = json_object_get(hdr, "cty")) != NULL)
		return bad(res, JWT_R_MALFORMED,
			   "cty header is not supported (nested tokens are refused)");
	if ((v = json_object_get(hdr, "alg")) == NULL)
		return bad(res, JWT_R_ALGORITHM, "alg missing from the header");
	if (!json_is_string(v))
		return bad(res, JWT_R_ALGORITHM, "alg is not a string");
	name = json_string_value(v);
	show(v, s);
	if (strcasecmp(name, "none") == 0)
		return bad(res, JWT_R_ALGORITHM,
			   "unsupported alg %s: unsigned tokens are never accepted", s);
	if (strncasecmp(name, "HS", 2) == 0)
		return bad(res, JWT_R_ALGORITHM, "alg %s is never accepted (no shared-secret MACs)",
			   s);
	if ((*alg = p11s_alg_parse(name)) == P11S_ALG_NONE)
		return bad(res, JWT_R_ALGORITHM, "unsupported alg %s (ES256, ES384, RS256, PS256)",
			   s);
	if ((v = json_object_get(hdr, "kid")) != NULL) {
		if (!json_is_string(v))
			return bad(res, JWT_R_MALFORMED, "kid is not a string");
		if (json_string_length(v) >= sizeof(res->kid)) {
			return bad(res, JWT_R_UNKNOWN_KEY,
				   "unknown kid %s (longer than any thumbprint)", show(v, s));
		}
		snprintf(res->kid, sizeof(res->kid), "%s", json_string_value(v));
		*kid = res->kid;
	}
	/* jku, jwk, x5u, x5c and x5t are informational: trust comes only from p->keys. */
	return 0;
}

/* The keys to try, in order: kid narrows; the header alg must be the key's. */
static int
select_keys(jwt_result *res, const jwt_verify_params *p, p11s_alg alg, const char *kid, size_t *idx,
	    size_t *n)
{
	char s[P11S_QUOTE_BUF];
	size_t i, k = 0;
	int kid_found = 0;
	p11s_alg other = P11S_ALG_NONE;

	*n = 0;
	for (i = 0; i < p->n_keys; i++) {
		const jwt_vkey *key = &p->keys[i];

		if (kid != NULL) {
			if (key->kid == NULL || strcmp(key->kid, kid) != 0)
				continue;
			kid_found = 1;
		}
		if (key->alg != alg) {
			if (other == P11S_ALG_NONE)
				other = key->alg;
			continue;
		}
		idx[k++] = i;
	}
	if (k > 0) {
		*n = k;
		return 0;
	}
	if (kid != NULL && !kid_found) {
		return bad(res, JWT_R_UNKNOWN_KEY, "unknown kid %s",
			   p11s_quote_str(kid, s, sizeof(s)));
	}
	if (kid != NULL)
		return bad(res, JWT_R_ALGORITHM, "alg '%s' does not match the key's %s",
			   p11s_alg_name(alg),
			   p11s_alg_name(other) != NULL ? p11s_alg_name(other) : "algorithm");
	return bad(res, JWT_R_ALGORITHM,
		   "alg '%s' does not match the alg of any key in the verification set",
		   p11s_alg_name(alg));
}

/*
 * EC: r and s each in [1, order-1], then DER for OpenSSL.  Returns 0, a
 * BADTOKEN, or an internal error.  *der is OPENSSL_malloc'd.
 */
/* Group orders, big-endian (SEC 2): r and s must lie in [1, n-1]. */
static const uint8_t p256_order[32] = {
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
};
static const uint8_t p384_order[48] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xc7, 0x63, 0x4d, 0x81, 0xf4, 0x37, 0x2d, 0xdf,
    0x58, 0x1a, 0x0d, 0xb2, 0x48, 0xb0, 0xa7, 0x7a, 0xec, 0xec, 0x19, 0x6a, 0xcc, 0xc5, 0x29, 0x73,
};

static int
is_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

static int
ec_sig_to_der(jwt_result *res, p11s_alg alg, const uint8_t *sig, size_t siglen, uint8_t **der,
	      size_t *derlen)
{
	int r = P11S_E_INTERNAL, n;
	size_t half = siglen / 2;
	const uint8_t *order = alg == P11S_ALG_ES384 ? p384_order : p256_order;
	BIGNUM *br = NULL, *bs = NULL;
	ECDSA_SIG *es = NULL;
	unsigned char *d = NULL;

	*der = NULL;
	*derlen = 0;
	if (half != (alg == P11S_ALG_ES384 ? sizeof(p384_order) : sizeof(p256_order))) {
		r = bad(res, JWT_R_SIGNATURE, "%s signature has the wrong length",
			p11s_alg_name(alg));
		goto out;
	}
	if (is_zero(sig, half) || is_zero(sig + half, half)) {
		r = bad(res, JWT_R_SIGNATURE, "%s signature has r or s equal to zero",
			p11s_alg_name(alg));
		goto out;
	}
	/* fixed-length big-endian: memcmp orders them as numbers */
	if (memcmp(sig, order, half) >= 0 || memcmp(sig + half, order, half) >= 0) {
		r = bad(res, JWT_R_SIGNATURE,
			"%s signature has r or s not below the %s group order", p11s_alg_name(alg),
			alg_curve(alg));
		goto out;
	}
	br = BN_bin2bn(sig, (int)half, NULL);
	bs = BN_bin2bn(sig + half, (int)half, NULL);
	if (br == NULL || bs == NULL) {
		log_openssl("EC signature decoding");
		r = p11s_fail(P11S_E_CRYPTO, "cannot decode an EC signature");
		goto out;
	}
	if ((es = ECDSA_SIG_new()) == NULL || !ECDSA_SIG_set0(es, br, bs)) {
		log_openssl("ECDSA_SIG_set0");
		r = p11s_fail(P11S_E_CRYPTO, "cannot build an ECDSA signature");
		goto out;
	}
	br = bs = NULL; /* owned by es */
	if ((n = i2d_ECDSA_SIG(es, &d)) <= 0) {
		log_openssl("i2d_ECDSA_SIG");
		r = p11s_fail(P11S_E_CRYPTO, "cannot encode an ECDSA signature");
		goto out;
	}
	*der = d;
	*derlen = (size_t)n;
	d = NULL;
	r = 0;
out:
	OPENSSL_free(d);
	ECDSA_SIG_free(es);
	BN_free(br);
	BN_free(bs);
	return r;
}

/* A verification context for (pub, alg), ready for EVP_DigestVerify. */
static int
verify_init(EVP_MD_CTX *mctx, EVP_PKEY *pub, p11s_alg alg)
{
	EVP_PKEY_CTX *pctx = NULL;

	if (EVP_DigestVerifyInit(mctx, &pctx, alg_md(alg), NULL, pub) != 1) {
		log_openssl("EVP_DigestVerifyInit");
		return p11s_fail(P11S_E_CRYPTO, "cannot start %s verification", p11s_alg_name(alg));
	}
	if (alg == P11S_ALG_RS256 && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) {
		log_openssl("EVP_PKEY_CTX_set_rsa_padding");
		return p11s_fail(P11S_E_CRYPTO, "cannot select RSA PKCS#1 v1.5 padding");
	}
	if (alg == P11S_ALG_PS256 &&
	    (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
	     EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, alg_md(P11S_ALG_RS256)) != 1 ||
	     EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) != 1)) {
		log_openssl("PSS parameters");
		return p11s_fail(P11S_E_CRYPTO,
				 "cannot select RSA-PSS SHA-256 with a 32-byte salt");
	}
	return 0;
}

/*
 * Each thread keeps initialised contexts of the keys it verified with most
 * recently and copies one per token: setting a context up from the key
 * (provider fetches, key checks) costs more than the copy.  An entry holds a
 * reference to its key, so a key's address is not reused while cached.
 */
#define VCACHE_N 8

/*
 * It also keeps the parsed headers of the last few tokens by their base64url
 * segment: every token of a key has the same header, and a verification
 * that tries each type in turn would parse it once per type (two parses
 * were 8 % of an RS256 verification).  Equal segments decode and parse
 * alike, and a header is only read, never changed, once parsed.
 */
#define HCACHE_N 4
#define HCACHE_SEG_MAX 512

typedef struct vcache {
	struct {
		EVP_PKEY *pub;
		p11s_alg alg;
		EVP_MD_CTX *tmpl;
	} e[VCACHE_N];
	unsigned next;
	struct {
		char seg[HCACHE_SEG_MAX];
		size_t len;
		json_t *hdr;
	} h[HCACHE_N];
	unsigned hnext;
} vcache;

static pthread_key_t vcache_key;
static pthread_once_t vcache_once = PTHREAD_ONCE_INIT;
static int vcache_ok;

static void
vcache_free(void *arg)
{
	vcache *c = arg;

	for (size_t i = 0; i < VCACHE_N; i++)
		EVP_MD_CTX_free(c->e[i].tmpl);
	for (size_t i = 0; i < HCACHE_N; i++)
		json_decref(c->h[i].hdr);
	free(c);
}

static void
vcache_init(void)
{
	vcache_ok = pthread_key_create(&vcache_key, vcache_free) == 0;
}

/* This thread's cache, or NULL (then nothing is cached). */
static vcache *
vcache_this(void)
{
	vcache *c;

	pthread_once(&vcache_once, vcache_init);
	if (!vcache_ok)
		return NULL;
	if ((c = pthread_getspecific(vcache_key)) == NULL) {
		if ((c = calloc(1, sizeof(*c))) == NULL ||
		    pthread_setspecific(vcache_key, c) != 0) {
			free(c);
			return NULL;
		}
	}
	return c;
}

/* A new reference to the parsed header of this segment, or NULL. */
static json_t *
hcache_get(const char *seg, size_t len)
{
	vcache *c = len <= HCACHE_SEG_MAX ? vcache_this() : NULL;

	for (size_t i = 0; c != NULL && i < HCACHE_N; i++)
		if (c->h[i].hdr != NULL && c->h[i].len == len && memcmp(c->h[i].seg, seg, len) == 0)
			return json_incref(c->h[i].hdr);
	return NULL;
}

static void
hcache_put(const char *seg, size_t len, json_t *hdr)
{
	vcache *c = len <= HCACHE_SEG_MAX ? vcache_this() : NULL;
	size_t i;

	if (c == NULL)
		return;
	i = c->hnext++ % HCACHE_N;
	json_decref(c->h[i].hdr);
	memcpy(c->h[i].seg, seg, len);
	c->h[i].len = len;
	c->h[i].hdr = json_incref(hdr);
}

/* This thread's template for (pub, alg), or NULL (then initialise directly). */
static const EVP_MD_CTX *
vcache_get(EVP_PKEY *pub, p11s_alg alg)
{
	vcache *c = vcache_this();
	EVP_MD_CTX *t;
	size_t i;

	if (c == NULL)
		return NULL;
	for (i = 0; i < VCACHE_N; i++)
		if (c->e[i].tmpl != NULL && c->e[i].pub == pub && c->e[i].alg == alg)
			return c->e[i].tmpl;
	if ((t = EVP_MD_CTX_new()) == NULL || verify_init(t, pub, alg) != 0) {
		EVP_MD_CTX_free(t);
		ERR_clear_error();
		return NULL;
	}
	i = c->next++ % VCACHE_N;
	EVP_MD_CTX_free(c->e[i].tmpl);
	c->e[i].pub = pub;
	c->e[i].alg = alg;
	c->e[i].tmpl = t;
	return t;
}

/* 1: verifies, 0: does not, <0: internal failure. */
static int
sig_verify(EVP_PKEY *pub, p11s_alg alg, const uint8_t *msg, size_t msglen, const uint8_t *sig,
	   size_t siglen)
{
	const EVP_MD_CTX *tmpl = vcache_get(pub, alg);
	EVP_MD_CTX *mctx = NULL;
	int r = P11S_E_CRYPTO, ok;

	if ((mctx = EVP_MD_CTX_new()) == NULL) {
		r = p11s_fail(P11S_E_NOMEM, "out of memory");
		goto out;
	}
	if (tmpl == NULL || EVP_MD_CTX_copy_ex(mctx, tmpl) != 1) {
		ERR_clear_error();
		EVP_MD_CTX_reset(mctx);
		if ((r = verify_init(mctx, pub, alg)) != 0)
			goto out;
	}
	ok = EVP_DigestVerify(mctx, sig, siglen, msg, msglen);
	/* A bad signature is an expected outcome, not a library failure. */
	ERR_clear_error();
	r = ok == 1;
out:
	EVP_MD_CTX_free(mctx);
	return r;
}

/* Signature length, EC scalar range, then each candidate key in order. */
static int
check_signature(jwt_result *res, const jwt_verify_params *p, p11s_alg alg, const size_t *idx,
		size_t n, const char *msg, size_t msglen, const uint8_t *sig, size_t siglen)
{
	int r = P11S_E_INTERNAL, tried = 0;
	uint8_t *der = NULL;
	size_t derlen = 0, want = 0;

	for (size_t i = 0; i < n; i++) {
		const jwt_vkey *key = &p->keys[idx[i]];
		size_t len = key_sig_len(key->pub, alg);

		if (len == 0) {
			log_error("verification key %zu (kid %s) does not fit %s; skipped", idx[i],
				  key->kid != NULL ? key->kid : "-", p11s_alg_name(alg));
			continue;
		}
		if (len != siglen) {
			if (want == 0)
				want = len;
			continue;
		}
		if (alg_is_ec(alg) && der == NULL &&
		    (r = ec_sig_to_der(res, alg, sig, siglen, &der, &derlen)) != 0)
			goto out;
		tried = 1;
		r = alg_is_ec(alg)
			? sig_verify(key->pub, alg, (const uint8_t *)msg, msglen, der, derlen)
			: sig_verify(key->pub, alg, (const uint8_t *)msg, msglen, sig, siglen);
		if (r < 0)
			goto out;
		if (r == 1) {
			res->key_index = (int)idx[i];
			r = 0;
			goto out;
		}
	}
	if (!tried && want != 0)
		r = bad(res, JWT_R_SIGNATURE, "%s signature must be %zu bytes, got %zu",
			p11s_alg_name(alg), want, siglen);
	else
		r = bad(res, JWT_R_SIGNATURE,
			"no key of the verification set verifies the signature");
out:
	OPENSSL_free(der);
	return r;
}

/* A NumericDate claim: JSON integer only.  *have = 0 when absent. */
static int
get_time(jwt_result *res, json_t *claims, const char *name, int64_t *t, int *have)
{
	json_t *v = json_object_get(claims, name);

	*t = 0;
	*have = 0;
	if (v == NULL)
		return 0;
	if (json_is_real(v))
		return bad(res, JWT_R_MALFORMED,
			   "%s is not an integer (fractional NumericDate values are refused)",
			   name);
	if (!json_is_integer(v))
		return bad(res, JWT_R_MALFORMED, "%s is not a number", name);
	*t = (int64_t)json_integer_value(v);
	*have = 1;
	return 0;
}

static int
check_aud(jwt_result *res, json_t *claims, const char *want)
{
	char q[P11S_QUOTE_BUF];
	json_t *v = json_object_get(claims, "aud"), *e;
	size_t i;
	int match = 0;

	if (v == NULL)
		return bad(res, JWT_R_AUDIENCE, "aud missing (expected %s)",
			   p11s_quote_str(want, q, sizeof(q)));
	if (json_is_string(v))
		match = strcmp(json_string_value(v), want) == 0;
	else if (json_is_array(v)) {
		json_array_foreach(v, i, e)
		{
			if (!json_is_string(e))
				return bad(res, JWT_R_AUDIENCE,
					   "aud is not a string or an array of strings");
			if (strcmp(json_string_value(e), want) == 0)
				match = 1;
		}
	} else
		return bad(res, JWT_R_AUDIENCE, "aud is not a string or an array of strings");
	if (!match)
		return bad(res, JWT_R_AUDIENCE, "aud mismatch (expected %s)",
			   p11s_quote_str(want, q, sizeof(q)));
	return 0;
}

static int
check_claims(jwt_result *res, const jwt_verify_params *p, json_t *claims)
{
	int64_t exp, nbf, iat, base, lim, life;
	int has_exp, has_nbf, has_iat, r;
	char when[32], now[32], q[P11S_QUOTE_BUF];
	json_t *v;

	if ((r = get_time(res, claims, "exp", &exp, &has_exp)) != 0 ||
	    (r = get_time(res, claims, "nbf", &nbf, &has_nbf)) != 0 ||
	    (r = get_time(res, claims, "iat", &iat, &has_iat)) != 0)
		return r;
	if (!has_exp)
		return bad(res, JWT_R_MALFORMED, "exp missing");
	p11s_fmt_utc(p->now, now, sizeof(now));
	/* now < exp + leeway */
	if (!__builtin_add_overflow(exp, p->leeway, &lim) && p->now >= lim) {
		p11s_fmt_utc(exp, when, sizeof(when));
		return bad(res, JWT_R_EXPIRED, "token expired at %s (now %s, leeway %lld s)", when,
			   now, (long long)p->leeway);
	}
	/* nbf <= now + leeway, iat <= now + leeway (p->now + leeway checked by the caller) */
	lim = p->now + p->leeway;
	if (has_nbf && nbf > lim) {
		p11s_fmt_utc(nbf, when, sizeof(when));
		return bad(res, JWT_R_NOT_YET_VALID,
			   "token not valid before %s (now %s, leeway %lld s)", when, now,
			   (long long)p->leeway);
	}
	if (has_iat && iat > lim) {
		p11s_fmt_utc(iat, when, sizeof(when));
		return bad(res, JWT_R_NOT_YET_VALID,
			   "iat in the future (%s; now %s, leeway %lld s)", when, now,
			   (long long)p->leeway);
	}
	if (!has_iat && !has_nbf)
		return bad(res, JWT_R_MALFORMED,
			   "iat missing (and no nbf): the token lifetime cannot be checked");
	base = has_iat ? iat : nbf;
	if (exp <= base)
		return bad(res, JWT_R_LIFETIME, "exp is not after %s", has_iat ? "iat" : "nbf");
	if (__builtin_sub_overflow(exp, base, &life) || life > p->max_lifetime)
		return bad(res, JWT_R_LIFETIME,
			   "lifetime exceeds the type's token lifetime (%lld s allowed)",
			   (long long)p->max_lifetime);
	if (p->iss != NULL) {
		if ((v = json_object_get(claims, "iss")) == NULL)
			return bad(res, JWT_R_ISSUER, "iss missing (expected %s)",
				   p11s_quote_str(p->iss, q, sizeof(q)));
		if (!json_is_string(v) || strcmp(json_string_value(v), p->iss) != 0)
			return bad(res, JWT_R_ISSUER, "iss mismatch (expected %s)",
				   p11s_quote_str(p->iss, q, sizeof(q)));
	}
	if (p->aud != NULL && (r = check_aud(res, claims, p->aud)) != 0)
		return r;
	return 0;
}

void
jwt_result_clear(jwt_result *res)
{
	if (res == NULL)
		return;
	json_decref(res->claims);
	free(res->claims_json);
	memset(res, 0, sizeof(*res));
	res->key_index = -1;
}

int
jwt_verify(const char *token, size_t len, const jwt_verify_params *p, jwt_result *res)
{
	int r = P11S_E_INTERNAL;
	const char *dot1, *dot2, *kid = NULL;
	uint8_t *hbuf = NULL, *pbuf = NULL, *sig = NULL;
	size_t hlen, plen, siglen, dots = 0, n = 0, *idx = NULL;
	json_t *hdr = NULL, *claims = NULL;
	p11s_alg alg;

	if (res == NULL)
		return p11s_fail(P11S_E_INVAL, "no result buffer");
	memset(res, 0, sizeof(*res));
	res->key_index = -1;
	if (p == NULL || (p->n_keys > 0 && p->keys == NULL)) {
		r = p11s_fail(P11S_E_INVAL, "no verification parameters");
		goto out;
	}
	if (p->leeway < 0 || p->leeway > INT32_MAX || p->max_lifetime <= 0 ||
	    p->now > INT64_MAX - p->leeway) {
		r = p11s_fail(P11S_E_INVAL,
			      "verification needs a leeway >= 0 and a positive maximum lifetime");
		goto out;
	}
	if (p->n_keys == 0) {
		r = bad(res, JWT_R_NO_KEY,
			"the verification set is empty: no key can verify the token");
		goto out;
	}
	if (token == NULL) {
		r = bad(res, JWT_R_MALFORMED, "no token");
		goto out;
	}
	if (len > JWT_MAX_LEN) {
		r = bad(res, JWT_R_MALFORMED, "token larger than %d bytes (%zu)", JWT_MAX_LEN, len);
		goto out;
	}
	if (memchr(token, '\0', len) != NULL) {
		r = bad(res, JWT_R_MALFORMED, "token contains a NUL byte");
		goto out;
	}
	for (size_t i = 0; i < len; i++)
		dots += token[i] == '.';
	if (dots != 2) {
		r = bad(res, JWT_R_MALFORMED,
			"token must have exactly three dot-separated parts, found %zu", dots + 1);
		goto out;
	}
	dot1 = memchr(token, '.', len);
	dot2 = memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token));

	if ((hdr = hcache_get(token, (size_t)(dot1 - token))) == NULL) {
		if ((r = decode_part(res, "header", token, (size_t)(dot1 - token), &hbuf, &hlen)) !=
			0 ||
		    (r = parse_object(res, "header", hbuf, hlen, &hdr)) != 0)
			goto out;
		hcache_put(token, (size_t)(dot1 - token), hdr);
	}
	if ((r = check_header(res, hdr, &alg, &kid)) != 0)
		goto out;
	/* The keys before the rest of the token: a token of another type (or
	 * key) is refused without decoding its payload and signature. */
	if ((idx = calloc(p->n_keys, sizeof(*idx))) == NULL) {
		r = p11s_fail(P11S_E_NOMEM, "out of memory");
		goto out;
	}
	if ((r = select_keys(res, p, alg, kid, idx, &n)) != 0 ||
	    (r = decode_part(res, "payload", dot1 + 1, (size_t)(dot2 - dot1 - 1), &pbuf, &plen)) !=
		0 ||
	    (r = decode_part(res, "signature", dot2 + 1, len - (size_t)(dot2 + 1 - token), &sig,
			     &siglen)) != 0 ||
	    (r = check_signature(res, p, alg, idx, n, token, (size_t)(dot2 - token), sig,
				 siglen)) != 0)
		goto out;

	/* Authentic from here on: the claims may be read. */
	if ((r = parse_object(res, "claims", pbuf, plen, &claims)) != 0 ||
	    (r = check_claims(res, p, claims)) != 0)
		goto out;
	res->claims = claims;
	res->claims_json = (char *)pbuf;
	res->claims_json_len = plen;
	claims = NULL;
	pbuf = NULL;
	r = 0;
out:
	if (r != 0) {
		res->key_index = -1;
		if (r != P11S_E_BADTOKEN)
			snprintf(res->error, sizeof(res->error), "%s", p11s_errmsg(r));
	}
	json_decref(hdr);
	json_decref(claims);
	free(hbuf);
	free(pbuf);
	free(sig);
	free(idx);
	return r;
}

/* -------------------------------------------------------------------- JWK */

static int
set_bn(json_t *obj, const char *name, EVP_PKEY *pub, const char *param, size_t fixed)
{
	BIGNUM *bn = NULL;
	uint8_t buf[1024];
	char *b64 = NULL;
	int r = P11S_E_INTERNAL, n;

	if (!EVP_PKEY_get_bn_param(pub, param, &bn)) {
		log_openssl("EVP_PKEY_get_bn_param");
		return p11s_fail(P11S_E_CRYPTO, "cannot read the public key's %s", name);
	}
	if ((size_t)BN_num_bytes(bn) > (fixed != 0 ? fixed : sizeof(buf))) {
		r = p11s_fail(P11S_E_KEY_TYPE, "public key %s is too large (%d bytes)", name,
			      BN_num_bytes(bn));
		goto out;
	}
	n = fixed != 0 ? BN_bn2binpad(bn, buf, (int)fixed) : BN_bn2bin(bn, buf);
	if (n <= 0) {
		log_openssl("BN_bn2bin");
		r = p11s_fail(P11S_E_CRYPTO, "cannot encode the public key's %s", name);
		goto out;
	}
	if ((r = p11s_b64url_encode(buf, (size_t)n, &b64)) != 0 ||
	    (r = set_string(obj, name, b64)) != 0)
		goto out;
	r = 0;
out:
	free(b64);
	BN_free(bn);
	return r;
}

int
jose_jwk(EVP_PKEY *pub, p11s_alg alg, const char *kid, const char *x5t, json_t **out)
{
	int r = P11S_E_INTERNAL;
	json_t *jwk = NULL;
	size_t clen;

	*out = NULL;
	if (pub == NULL || p11s_alg_name(alg) == NULL)
		return p11s_fail(P11S_E_INVAL, "JWK needs a public key and an algorithm");
	if (kid == NULL || kid[0] == '\0')
		return p11s_fail(P11S_E_INVAL, "JWK needs a kid");
	if (key_sig_len(pub, alg) == 0)
		return p11s_fail(P11S_E_KEY_TYPE, "the public key does not fit %s",
				 p11s_alg_name(alg));
	if ((jwk = json_object()) == NULL) {
		r = p11s_fail(P11S_E_NOMEM, "out of memory");
		goto out;
	}
	if (alg_is_ec(alg)) {
		clen = alg == P11S_ALG_ES384 ? 48 : 32;
		if ((r = set_string(jwk, "kty", "EC")) != 0 ||
		    (r = set_string(jwk, "crv", alg_curve(alg))) != 0 ||
		    (r = set_bn(jwk, "x", pub, OSSL_PKEY_PARAM_EC_PUB_X, clen)) != 0 ||
		    (r = set_bn(jwk, "y", pub, OSSL_PKEY_PARAM_EC_PUB_Y, clen)) != 0)
			goto out;
	} else if ((r = set_string(jwk, "kty", "RSA")) != 0 ||
		   (r = set_bn(jwk, "n", pub, OSSL_PKEY_PARAM_RSA_N, 0)) != 0 ||
		   (r = set_bn(jwk, "e", pub, OSSL_PKEY_PARAM_RSA_E, 0)) != 0)
		goto out;
	if ((r = set_string(jwk, "alg", p11s_alg_name(alg))) != 0 ||
	    (r = set_string(jwk, "use", "sig")) != 0 || (r = set_string(jwk, "kid", kid)) != 0 ||
	    (x5t != NULL && (r = set_string(jwk, "x5t", x5t)) != 0))
		goto out;
	*out = jwk;
	jwk = NULL;
	r = 0;
out:
	json_decref(jwk);
	return r;
}

/* ----------------------------------------------------------------- reasons */

const char *
jwt_reason_name(jwt_reason r)
{
	switch (r) {
	case JWT_R_NONE:
		return "none";
	case JWT_R_MALFORMED:
		return "malformed";
	case JWT_R_ALGORITHM:
		return "algorithm";
	case JWT_R_NO_KEY:
		return "no_key";
	case JWT_R_UNKNOWN_KEY:
		return "unknown_key";
	case JWT_R_KEY_REMOVED:
		return "key_removed";
	case JWT_R_KEY_RETIRED:
		return "key_retired";
	case JWT_R_KEY_EXPIRED:
		return "key_expired";
	case JWT_R_SIGNATURE:
		return "signature";
	case JWT_R_EXPIRED:
		return "expired";
	case JWT_R_NOT_YET_VALID:
		return "not_yet_valid";
	case JWT_R_LIFETIME:
		return "lifetime";
	case JWT_R_AUDIENCE:
		return "audience";
	case JWT_R_ISSUER:
		return "issuer";
	}
	return "malformed";
}

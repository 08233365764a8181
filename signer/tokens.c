#include "config.h"

#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "signer/tokens.h"

#define TOKENS_VSET_MAX 32

struct ks_entry {
	char sha1[41];
	char kid[64];
	char x5t[40];
	EVP_PKEY *pub;
};

struct tokens_keyset {
	struct ks_entry *e;
	size_t n;
};

void
tokens_keyset_free(tokens_keyset *ks)
{
	if (ks == NULL)
		return;
	for (size_t i = 0; i < ks->n; i++)
		EVP_PKEY_free(ks->e[i].pub);
	free(ks->e);
	free(ks);
}

int
tokens_keyset_new(const signer_state *st, tokens_keyset **out)
{
	tokens_keyset *ks;
	int r = P11S_E_NOMEM;

	*out = NULL;
	if ((ks = calloc(1, sizeof(*ks))) == NULL)
		return p11s_fail(P11S_E_NOMEM, "out of memory");
	if (st->pol.n_keys > 0 && (ks->e = calloc(st->pol.n_keys, sizeof(*ks->e))) == NULL) {
		r = p11s_fail(P11S_E_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < st->pol.n_keys; i++) {
		const pol_key *k = &st->pol.keys[i];
		struct ks_entry *e = &ks->e[ks->n];
		const unsigned char *p = k->cert_der;
		X509 *x = d2i_X509(NULL, &p, (long)k->cert_len);

		if (x == NULL) {
			log_openssl("certificate in the state");
			r = p11s_fail(P11S_E_STATE,
				      "the certificate of key %s in the state is unreadable",
				      k->sha1);
			goto out;
		}
		e->pub = X509_get_pubkey(x);
		X509_free(x);
		if (e->pub == NULL) {
			r = p11s_fail(P11S_E_STATE,
				      "the certificate of key %s has no usable public key",
				      k->sha1);
			goto out;
		}
		memcpy(e->sha1, k->sha1, sizeof(e->sha1));
		ks->n++;
		if ((r = jose_kid_from_hex(k->sha256, e->kid, sizeof(e->kid))) != 0 ||
		    (r = jose_x5t_from_hex(k->sha1, e->x5t, sizeof(e->x5t))) != 0)
			goto out;
	}
	*out = ks;
	ks = NULL;
	r = 0;
out:
	tokens_keyset_free(ks);
	return r;
}

static const struct ks_entry *
ks_find(const tokens_keyset *ks, const char *sha1)
{
	for (size_t i = 0; i < ks->n; i++)
		if (strcmp(ks->e[i].sha1, sha1) == 0)
			return &ks->e[i];
	return NULL;
}

const char *
tokens_kid(const tokens_keyset *ks, const char *sha1)
{
	const struct ks_entry *e = ks_find(ks, sha1);

	return e != NULL ? e->kid : NULL;
}

const char *
tokens_x5t(const tokens_keyset *ks, const char *sha1)
{
	const struct ks_entry *e = ks_find(ks, sha1);

	return e != NULL ? e->x5t : NULL;
}

EVP_PKEY *
tokens_pubkey(const tokens_keyset *ks, const char *sha1)
{
	const struct ks_entry *e = ks_find(ks, sha1);

	return e != NULL ? e->pub : NULL;
}

void
tokens_verdict_clear(tokens_verdict *v)
{
	jwt_result_clear(&v->jwt);
	memset(v, 0, sizeof(*v));
}

/* One type: 1 = verified, 0 = not (v->jwt.error set), < 0 internal error. */
static int
verify_type(const signer_conf *c, const signer_state *st, const tokens_keyset *ks, int ti,
	    const char *aud, const char *token, size_t len, p11s_time now, tokens_verdict *v)
{
	const pol_type_conf *tc = &c->policy.types[ti];
	pol_vkey set[TOKENS_VSET_MAX];
	jwt_vkey keys[TOKENS_VSET_MAX];
	jwt_verify_params p;
	size_t n = 0, k = 0;
	int r;

	pol_verification_set(&c->policy, &st->pol, tc->name, now, NULL, set, TOKENS_VSET_MAX, &n);
	for (size_t i = 0; i < n; i++) {
		const struct ks_entry *e = ks_find(ks, set[i].key->sha1);

		if (e == NULL)
			continue;
		keys[k].alg = tc->alg;
		keys[k].kid = e->kid;
		keys[k].pub = e->pub;
		set[k] = set[i];
		k++;
	}
	memset(&p, 0, sizeof(p));
	p.keys = keys;
	p.n_keys = k;
	p.now = now;
	p.leeway = c->policy.clock_skew;
	p.max_lifetime = tc->token_lifetime;
	p.aud = aud;
	jwt_result_clear(&v->jwt);
	r = jwt_verify(token, len, &p, &v->jwt);
	if (r == P11S_E_BADTOKEN)
		return 0;
	if (r != 0)
		return r;
	v->valid = 1;
	v->type = tc->name;
	v->role = set[v->jwt.key_index].role;
	memcpy(v->sha1, set[v->jwt.key_index].key->sha1, sizeof(v->sha1));
	return 1;
}

/* How telling a failure is, to pick one reason across types. */
static int
error_rank(const char *error)
{
	if (strstr(error, "verification set is empty") != NULL)
		return 1;
	if (strstr(error, "unknown kid") != NULL)
		return 2;
	return 3;
}

/* The kid of the token's (unverified) header into v->jwt.kid, when the
 * verification set was empty and the header was never read. */
static void
header_kid(const char *token, size_t len, tokens_verdict *v)
{
	const char *dot = memchr(token, '.', len);
	uint8_t *hdr = NULL;
	size_t hlen = 0;
	json_t *h = NULL;
	const char *kid;

	if (dot == NULL || p11s_b64url_decode(token, (size_t)(dot - token), &hdr, &hlen) != 0) {
		p11s_err_clear(); /* not a reason of its own: the set was empty */
		goto out;
	}
	if ((h = json_loadb((const char *)hdr, hlen, 0, NULL)) != NULL &&
	    (kid = json_string_value(json_object_get(h, "kid"))) != NULL &&
	    strlen(kid) < sizeof(v->jwt.kid))
		snprintf(v->jwt.kid, sizeof(v->jwt.kid), "%s", kid);
out:
	json_decref(h);
	free(hdr);
}

/* A kid of a key we know that has left the verification set: say why. */
static void
explain_kid(const signer_state *st, const tokens_keyset *ks, const char *type, p11s_time now,
	    const char *token, size_t len, tokens_verdict *v)
{
	char utc[40];

	if (error_rank(v->jwt.error) > 2)
		return;
	if (v->jwt.kid[0] == '\0')
		header_kid(token, len, v);
	if (v->jwt.kid[0] == '\0')
		return;
	for (size_t i = 0; i < ks->n; i++) {
		const pol_key *k;

		if (strcmp(ks->e[i].kid, v->jwt.kid) != 0 ||
		    (k = pol_state_key(&st->pol, ks->e[i].sha1)) == NULL)
			continue;
		if (k->removed_at != 0) {
			p11s_fmt_utc(k->removed_at, utc, sizeof(utc));
			snprintf(v->jwt.error, sizeof(v->jwt.error),
				 "the token's key %s was removed at %s", k->sha1, utc);
		} else if (k->not_after <= now) {
			p11s_fmt_utc(k->not_after, utc, sizeof(utc));
			snprintf(v->jwt.error, sizeof(v->jwt.error),
				 "the certificate of the token's key %s expired at %s", k->sha1,
				 utc);
			v->key_expired = 1;
		} else {
			snprintf(v->jwt.error, sizeof(v->jwt.error),
				 "the token's key %s is not in the verification set of %s", k->sha1,
				 type != NULL ? type : "any type");
		}
		return;
	}
}

int
tokens_verify(const signer_conf *c, const signer_state *st, const tokens_keyset *ks,
	      const char *type, const char *aud, const char *token, size_t len, p11s_time now,
	      tokens_verdict *v)
{
	char error[sizeof(v->jwt.error)] = "", kid[sizeof(v->jwt.kid)] = "";
	int r, rank = 0;

	memset(v, 0, sizeof(*v));
	if (type != NULL) {
		int ti = signer_conf_type_index(c, type);

		if (ti < 0)
			return p11s_fail(P11S_E_INVAL, "unknown type '%s'", type);
		if ((r = verify_type(c, st, ks, ti, aud, token, len, now, v)) < 0)
			return r;
		if (r == 0)
			explain_kid(st, ks, c->policy.types[ti].name, now, token, len, v);
		return 0;
	}
	for (size_t ti = 0; ti < c->policy.n_types; ti++) {
		r = verify_type(c, st, ks, (int)ti, aud, token, len, now, v);
		if (r != 0)
			return r < 0 ? r : 0;
		if (error_rank(v->jwt.error) > rank) {
			rank = error_rank(v->jwt.error);
			memcpy(error, v->jwt.error, sizeof(error));
		}
		if (v->jwt.kid[0] != '\0')
			memcpy(kid, v->jwt.kid, sizeof(kid));
	}
	memcpy(v->jwt.error, error, sizeof(error));
	memcpy(v->jwt.kid, kid, sizeof(kid));
	explain_kid(st, ks, NULL, now, token, len, v);
	return 0;
}

int
tokens_issuing_key(const signer_conf *c, const signer_state *st, const tokens_request *req,
		   p11s_time now, const pol_key **key, int *type_index)
{
	const pol_type_conf *tc;
	const pol_key *k;
	pol_refusal why;
	int64_t allowed;
	int ti, r;

	*key = NULL;
	*type_index = -1;
	if (req->type == NULL || (ti = signer_conf_type_index(c, req->type)) < 0)
		return p11s_fail(P11S_E_INVAL, "unknown type '%s'",
				 req->type != NULL ? req->type : "");
	tc = &c->policy.types[ti];
	if (req->lifetime < 0 || req->lifetime > tc->token_lifetime)
		return p11s_fail(P11S_E_INVAL,
				 "lifetime %lld s is not allowed for %s: give 1 to %lld seconds",
				 (long long)req->lifetime, tc->name, (long long)tc->token_lifetime);
	if ((k = pol_issuing_key(&st->pol, tc->name, now)) == NULL)
		return p11s_fail(P11S_E_NOTFOUND, "type %s has no key yet (use 'signer assign')",
				 tc->name);
	if ((r = pol_check_issue(k, now, tc->token_lifetime, &allowed, &why)) != 0)
		return r == P11S_E_POLICY ? p11s_fail(r, "%s cannot issue: %s", tc->name, why.msg)
					  : r;
	*key = k;
	*type_index = ti;
	return 0;
}

struct sign_ctx {
	hsm_signer *signer;
};

static int
sign_cb(void *ctx, const uint8_t *msg, size_t len, uint8_t *sig, size_t *siglen)
{
	struct sign_ctx *sc = ctx;

	return hsm_sign(sc->signer, msg, len, sig, siglen);
}

int
tokens_issue(const signer_conf *c, const tokens_keyset *ks, int type_index, const pol_key *key,
	     hsm_signer *signer, const tokens_request *req, p11s_time now, char **token,
	     p11s_time *exp)
{
	const pol_type_conf *tc = &c->policy.types[type_index];
	const signer_type_extra *tx = &c->type_extra[type_index];
	const struct ks_entry *e = ks_find(ks, key->sha1);
	struct sign_ctx sc = {signer};
	jwt_issue_params p;
	pol_refusal why;
	int64_t lifetime;
	int r;

	*token = NULL;
	*exp = 0;
	if (e == NULL)
		return p11s_fail(P11S_E_INTERNAL, "issuing key %s is not in the key set",
				 key->sha1);
	if (req->sub == NULL || req->sub[0] == '\0')
		return p11s_fail(P11S_E_INVAL, "a token needs a subject (sub)");
	memset(&p, 0, sizeof(p));
	p.alg = tc->alg;
	p.kid = e->kid;
	p.x5t = e->x5t;
	p.iss = tx->issuer;
	p.sub = req->sub;
	p.aud = req->aud != NULL ? req->aud : tx->audience;
	/* rule 3c: refused with an invalid certificate; exp <= its notAfter */
	if ((r = pol_check_issue(key, now, req->lifetime > 0 ? req->lifetime : tc->token_lifetime,
				 &lifetime, &why)) != 0)
		return r == P11S_E_POLICY ? p11s_fail(r, "%s cannot issue: %s", tc->name, why.msg)
					  : r;
	p.now = now;
	p.lifetime = lifetime;
	p.claims = req->claims;
	p.sign = sign_cb;
	p.sign_ctx = &sc;
	return jwt_issue(&p, token, exp);
}

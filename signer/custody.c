/* Proposals, approvals and quorum evidence (SPEC §6); formats in custody.h. */
#include "config.h"

#include <ctype.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/util.h"
#include "signer/certfile.h"
#include "signer/custody.h"

#define SIG_MAX 1024

struct custodian {
	char *name;
	X509 *cert;
	char sha256[65];
	p11s_time not_before;
	p11s_time not_after;
};

struct custody_set {
	struct custodian *v;
	size_t n;
};

/* ---- custodians --------------------------------------------------------- */

int
custody_set_new(custody_set **out)
{
	*out = calloc(1, sizeof(**out));
	return *out == NULL ? p11s_fail(P11S_E_NOMEM, "out of memory") : 0;
}

void
custody_set_free(custody_set *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].name);
		X509_free(s->v[i].cert);
	}
	free(s->v);
	free(s);
}

static int
asn1_time(const ASN1_TIME *a, p11s_time *out)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(a, &tm) != 1)
		return p11s_fail(P11S_E_CRYPTO, "a custodian certificate has an unreadable date");
	*out = (p11s_time)timegm(&tm);
	return 0;
}

int
custody_set_add(custody_set *s, const char *name, X509 *cert)
{
	struct custodian *nv, *c;
	unsigned char *der = NULL;
	int len, r;

	if ((nv = realloc(s->v, (s->n + 1) * sizeof(*nv))) == NULL)
		return p11s_fail(P11S_E_NOMEM, "out of memory");
	s->v = nv;
	c = &s->v[s->n];
	memset(c, 0, sizeof(*c));
	if ((len = i2d_X509(cert, &der)) <= 0)
		return p11s_fail(P11S_E_CRYPTO, "cannot encode the certificate of custodian %s",
				 name);
	r = p11s_sha256_hex(der, (size_t)len, c->sha256);
	OPENSSL_free(der);
	if (r != 0 || (r = asn1_time(X509_get0_notBefore(cert), &c->not_before)) != 0 ||
	    (r = asn1_time(X509_get0_notAfter(cert), &c->not_after)) != 0 ||
	    (r = p11s_strdup(name, &c->name)) != 0)
		return r;
	if (X509_up_ref(cert) != 1) {
		free(c->name);
		return p11s_fail(P11S_E_CRYPTO, "cannot reference the certificate of %s", name);
	}
	c->cert = cert;
	s->n++;
	return 0;
}

static int
load_cert(const char *name, const char *path, X509 **out)
{
	int r;

	if ((r = signer_cert_file_load(path, out)) != 0)
		r = p11s_fail(P11S_E_CONFIG, "custodian %s: %s", name, p11s_errmsg(r));
	return r;
}

int
custody_set_load(const signer_conf *c, custody_set **out)
{
	custody_set *s = NULL;
	X509 *cert = NULL;
	int r;

	*out = NULL;
	if ((r = custody_set_new(&s)) != 0)
		return r;
	for (size_t i = 0; i < c->n_custodians; i++) {
		if ((r = load_cert(c->custodians[i].name, c->custodians[i].certificate, &cert)) !=
			0 ||
		    (r = custody_set_add(s, c->custodians[i].name, cert)) != 0)
			goto out;
		X509_free(cert);
		cert = NULL;
	}
	*out = s;
	s = NULL;
	r = 0;
out:
	X509_free(cert);
	custody_set_free(s);
	return r;
}

static const struct custodian *
find_custodian(const custody_set *s, const char *name)
{
	for (size_t i = 0; s != NULL && i < s->n; i++)
		if (strcmp(s->v[i].name, name) == 0)
			return &s->v[i];
	return NULL;
}

int
custody_identify(const custody_set *s, EVP_PKEY *pub, const char **name)
{
	*name = NULL;
	for (size_t i = 0; i < s->n; i++) {
		if (EVP_PKEY_eq(X509_get0_pubkey(s->v[i].cert), pub) == 1) {
			*name = s->v[i].name;
			return 0;
		}
	}
	ERR_clear_error();
	return p11s_fail(P11S_E_POLICY,
			 "unknown key: it belongs to none of the %zu custodian certificates "
			 "configured in [custodian NAME] sections",
			 s->n);
}

int
custody_cert_info(const custody_set *s, const char *name, char sha256[65], p11s_time *not_before,
		  p11s_time *not_after)
{
	const struct custodian *c = find_custodian(s, name);

	if (c == NULL)
		return p11s_fail(P11S_E_NOTFOUND, "'%s' is not a configured custodian", name);
	memcpy(sha256, c->sha256, 65);
	*not_before = c->not_before;
	*not_after = c->not_after;
	return 0;
}

int
custody_key_alg(EVP_PKEY *pub, p11s_alg *alg)
{
	char group[64] = "";
	size_t glen = 0;

	*alg = P11S_ALG_NONE;
	switch (EVP_PKEY_get_base_id(pub)) {
	case EVP_PKEY_EC:
		if (EVP_PKEY_get_utf8_string_param(pub, OSSL_PKEY_PARAM_GROUP_NAME, group,
						   sizeof(group), &glen) != 1)
			break;
		if (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0)
			*alg = P11S_ALG_ES256;
		else if (strcmp(group, "secp384r1") == 0 || strcmp(group, "P-384") == 0)
			*alg = P11S_ALG_ES384;
		break;
	case EVP_PKEY_RSA:
		if (EVP_PKEY_get_bits(pub) >= 2048)
			*alg = P11S_ALG_RS256;
		break;
	default:
		break;
	}
	ERR_clear_error();
	if (*alg == P11S_ALG_NONE)
		return p11s_fail(P11S_E_KEY_TYPE,
				 "custodian keys must be EC P-256, EC P-384 or RSA "
				 "of at least 2048 bits");
	return 0;
}

/* ---- proposals ---------------------------------------------------------- */

static char *
canonical(const json_t *o)
{
	return json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
}

int
custody_id(const json_t *content, char id[65])
{
	char *text;
	int r;

	if (!json_is_object(content))
		return p11s_fail(P11S_E_INVAL, "a proposal's content must be a JSON object");
	if ((text = canonical(content)) == NULL)
		return p11s_fail(P11S_E_NOMEM, "out of memory");
	r = p11s_sha256_hex((const uint8_t *)text, strlen(text), id);
	free(text);
	return r;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int
custody_content(const pol_conf *pc, const pol_state *ps, const char *const *types, size_t n_types,
		const pol_key *key, p11s_time effective, int replace, p11s_time now, json_t **out)
{
	const char **sorted = NULL;
	json_t *o = NULL, *tarr = NULL, *tl = NULL;
	pol_state after;
	int r = P11S_E_NOMEM;

	*out = NULL;
	pol_state_init(&after);
	if (n_types == 0)
		return p11s_fail(P11S_E_INVAL, "a proposal needs at least one type");
	if ((sorted = calloc(n_types, sizeof(*sorted))) == NULL)
		goto out;
	memcpy(sorted, types, n_types * sizeof(*sorted));
	qsort(sorted, n_types, sizeof(*sorted), cmp_str);
	if ((tarr = json_array()) == NULL || (tl = json_array()) == NULL)
		goto out;
	if ((r = pol_state_copy(ps, &after)) != 0 ||
	    (r = pol_apply_roll(&after, types, n_types, key, effective, now, replace)) != 0)
		goto out;
	r = P11S_E_NOMEM;
	for (size_t i = 0; i < n_types; i++) {
		const pol_key *cur;
		pol_timeline t;

		if (i > 0 && strcmp(sorted[i], sorted[i - 1]) == 0)
			continue;
		if (json_array_append_new(tarr, json_string(sorted[i])) != 0)
			goto out;
		cur = pol_issuing_key(ps, sorted[i], now);
		/* at E the current key becomes the previous one */
		if ((r = pol_timeline_of(pc, &after, sorted[i], effective, &t)) != 0)
			goto out;
		r = P11S_E_NOMEM;
		if (json_array_append_new(
			tl,
			json_pack("{s:s, s:s?, s:I, s:I}", "type", sorted[i], "current",
				  cur != NULL ? cur->sha1 : NULL, "current_expires",
				  (json_int_t)(cur != NULL ? cur->not_after : 0), "safe_removal",
				  (json_int_t)(t.previous != NULL ? t.safe_removal : 0))) != 0)
			goto out;
	}
	o = json_pack("{s:O, s:s, s:s, s:I, s:b, s:I, s:I, s:O}", "types", tarr, "key", key->sha1,
		      "key_sha256", key->sha256, "effective", (json_int_t)effective, "replace",
		      replace, "created_at", (json_int_t)now, "expires_at",
		      (json_int_t)(now + pc->proposal_lifetime), "timeline", tl);
	if (o == NULL)
		goto out;
	*out = o;
	r = 0;
out:
	if (r == P11S_E_NOMEM)
		p11s_fail(r, "out of memory");
	pol_state_free(&after);
	json_decref(tarr);
	json_decref(tl);
	free(sorted);
	return r;
}

static p11s_time
content_time(const json_t *p, const char *name)
{
	return (p11s_time)json_integer_value(json_object_get(json_object_get(p, "content"), name));
}

const char *
custody_status(const json_t *p, p11s_time now)
{
	const char *s = json_string_value(json_object_get(p, "status"));

	if (s != NULL && (strcmp(s, "staged") == 0 || strcmp(s, "rejected") == 0))
		return s;
	return now >= content_time(p, "expires_at") ? "expired" : "pending";
}

/* Not staged, and expired for longer than its lifetime: nobody needs it. */
static int
prunable(const json_t *p, p11s_time now)
{
	p11s_time created = content_time(p, "created_at"), expires = content_time(p, "expires_at");

	return strcmp(custody_status(p, now), "staged") != 0 && now > expires + (expires - created);
}

int
custody_propose(signer_state *st, json_t *content, const char *actor, p11s_time now, char id[65])
{
	json_t *p, *o;
	size_t i;
	int r;

	if ((r = custody_id(content, id)) != 0) {
		json_decref(content);
		return r;
	}
	json_array_foreach(st->proposals, i, p)
	{
		const char *pid = json_string_value(json_object_get(p, "id"));

		if (pid != NULL && strcmp(pid, id) == 0) {
			json_decref(content);
			return p11s_fail(P11S_E_EXISTS, "the same plan is already proposal %s", id);
		}
	}
	for (i = json_array_size(st->proposals); i > 0; i--)
		if (prunable(json_array_get(st->proposals, i - 1), now))
			json_array_remove(st->proposals, i - 1);
	o = json_pack("{s:s, s:o, s:s, s:s, s:[]}", "id", id, "content", content, "proposed_by",
		      actor, "status", "pending", "approvals");
	if (o == NULL || json_array_append_new(st->proposals, o) != 0)
		return p11s_fail(P11S_E_NOMEM, "out of memory");
	return 0;
}

int
custody_find(const signer_state *st, const char *query, json_t **proposal)
{
	char q[65], list[400] = "";
	json_t *p, *hit = NULL;
	size_t i, qlen = strlen(query), hits = 0;

	*proposal = NULL;
	if (qlen < 8 || qlen > 64)
		return p11s_fail(P11S_E_INVAL,
				 "proposal id '%s' must be 8 to 64 hex digits (a unique "
				 "prefix of the id 'signer proposals' shows)",
				 query);
	for (i = 0; i < qlen; i++) {
		if (!isxdigit((unsigned char)query[i]))
			return p11s_fail(P11S_E_INVAL, "proposal id '%s' is not hexadecimal",
					 query);
		q[i] = (char)tolower((unsigned char)query[i]);
	}
	q[qlen] = '\0';
	json_array_foreach(st->proposals, i, p)
	{
		const char *pid = json_string_value(json_object_get(p, "id"));

		if (pid == NULL || strncmp(pid, q, qlen) != 0)
			continue;
		hit = p;
		hits++;
		if (strlen(list) + 20 < sizeof(list))
			snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%.16s",
				 hits > 1 ? ", " : "", pid);
	}
	if (hits == 0)
		return p11s_fail(P11S_E_NOTFOUND,
				 "no proposal %s on the token; 'signer proposals' lists them",
				 query);
	if (hits > 1)
		return p11s_fail(P11S_E_AMBIGUOUS,
				 "proposal id '%s' matches %zu proposals (%s); give "
				 "more digits",
				 query, hits, list);
	*proposal = hit;
	return 0;
}

int
custody_reject(json_t *p, const char *actor, const char *reason, p11s_time now)
{
	const char *status = custody_status(p, now);

	if (strcmp(status, "staged") == 0)
		return p11s_fail(P11S_E_POLICY,
				 "proposal %.16s is already staged; withdraw it with 'signer roll "
				 "--replace' or let it take effect",
				 json_string_value(json_object_get(p, "id")));
	if (strcmp(status, "rejected") == 0)
		return p11s_fail(P11S_E_POLICY, "proposal %.16s was already rejected",
				 json_string_value(json_object_get(p, "id")));
	if (json_object_set_new(p, "status", json_string("rejected")) != 0 ||
	    json_object_set_new(p, "rejected_at", json_integer((json_int_t)now)) != 0 ||
	    json_object_set_new(p, "rejected_by", json_string(actor)) != 0 ||
	    (reason != NULL && json_object_set_new(p, "reason", json_string(reason)) != 0))
		return p11s_fail(P11S_E_NOMEM, "out of memory");
	return 0;
}

/* ---- approvals ---------------------------------------------------------- */

int
custody_message(const char *id, const char *custodian, p11s_time at, char **msg, size_t *len)
{
	int n;

	*msg = NULL;
	*len = 0;
	n = asprintf(msg, "%sproposal=%s\ncustodian=%s\napproved_at=%lld\n", CUSTODY_DOMAIN, id,
		     custodian, (long long)at);
	if (n < 0) {
		*msg = NULL;
		return p11s_fail(P11S_E_NOMEM, "out of memory");
	}
	*len = (size_t)n;
	return 0;
}

static const EVP_MD *
alg_md(p11s_alg alg)
{
	return alg == P11S_ALG_ES384 ? EVP_sha384() : EVP_sha256();
}

static int
verify_sig(EVP_PKEY *pub, p11s_alg alg, const char *msg, size_t len, const uint8_t *sig,
	   size_t siglen)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int ok;

	ok = md != NULL && EVP_DigestVerifyInit(md, NULL, alg_md(alg), NULL, pub) == 1 &&
	     EVP_DigestVerify(md, sig, siglen, (const unsigned char *)msg, len) == 1;
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	return ok;
}

int
custody_check_approval(const custody_set *s, const json_t *proposal, const json_t *a)
{
	const char *id = json_string_value(json_object_get(proposal, "id"));
	const char *name = json_string_value(json_object_get(a, "custodian"));
	const char *sig_b64 = json_string_value(json_object_get(a, "signature"));
	const char *alg_name = json_string_value(json_object_get(a, "alg"));
	json_t *at_j = json_object_get(a, "approved_at");
	const struct custodian *c;
	char when[40], nb[40], na[40], *msg = NULL;
	uint8_t *sig = NULL;
	size_t siglen = 0, mlen = 0;
	p11s_time at, created, expires;
	p11s_alg alg, want;
	int r;

	if (id == NULL || name == NULL || sig_b64 == NULL || alg_name == NULL ||
	    !json_is_integer(at_j))
		return p11s_fail(P11S_E_POLICY, "a malformed approval does not count");
	at = (p11s_time)json_integer_value(at_j);
	p11s_fmt_utc(at, when, sizeof(when));
	if ((c = find_custodian(s, name)) == NULL)
		return p11s_fail(P11S_E_POLICY,
				 "approval by '%s', who is not a configured custodian", name);
	created = content_time(proposal, "created_at");
	expires = content_time(proposal, "expires_at");
	if (at < created || at >= expires) {
		p11s_fmt_utc(expires, na, sizeof(na));
		return p11s_fail(P11S_E_POLICY,
				 "approval by %s at %s is outside the lifetime of proposal %.16s "
				 "(it expires %s)",
				 name, when, id, na);
	}
	if (at < c->not_before || at > c->not_after) {
		p11s_fmt_utc(c->not_before, nb, sizeof(nb));
		p11s_fmt_utc(c->not_after, na, sizeof(na));
		return p11s_fail(
		    P11S_E_POLICY,
		    "the certificate of custodian %s is not valid at %s (valid from %s "
		    "to %s): the approval does not count",
		    name, when, nb, na);
	}
	if ((r = custody_key_alg(X509_get0_pubkey(c->cert), &want)) != 0)
		return p11s_fail(P11S_E_POLICY, "custodian %s: %s", name, p11s_errmsg(r));
	alg = p11s_alg_parse(alg_name);
	if (alg != want)
		return p11s_fail(P11S_E_POLICY,
				 "approval by %s uses algorithm '%s' but the custodian's "
				 "certificate needs %s",
				 name, alg_name, p11s_alg_name(want));
	if (p11s_b64url_decode(sig_b64, strlen(sig_b64), &sig, &siglen) != 0 || siglen > SIG_MAX) {
		free(sig);
		return p11s_fail(P11S_E_POLICY, "approval by %s has a malformed signature", name);
	}
	if ((r = custody_message(id, name, at, &msg, &mlen)) != 0)
		goto out;
	if (!verify_sig(X509_get0_pubkey(c->cert), alg, msg, mlen, sig, siglen)) {
		r = p11s_fail(P11S_E_POLICY,
			      "the signature of custodian %s does not verify over proposal %.16s "
			      "with the certificate configured for %s (another key, or a signature "
			      "over a different proposal)",
			      name, id, name);
		goto out;
	}
	r = 0;
out:
	free(msg);
	free(sig);
	return r;
}

/* Count distinct custodians (and certificates) with an approval that counts. */
static unsigned
count_valid(const custody_set *s, const json_t *proposal, json_t *names)
{
	json_t *approvals = json_object_get(proposal, "approvals"), *a;
	const char *seen[64];
	unsigned n = 0;
	size_t i;

	json_array_foreach(approvals, i, a)
	{
		const char *name = json_string_value(json_object_get(a, "custodian"));
		const struct custodian *c;
		int dup = 0;

		if (name == NULL)
			continue;
		if (custody_check_approval(s, proposal, a) != 0)
			continue;
		c = find_custodian(s, name);
		for (unsigned k = 0; k < n; k++)
			if (strcmp(seen[k], c->sha256) == 0 ||
			    strcmp(json_string_value(json_array_get(names, k)), name) == 0)
				dup = 1;
		if (dup || n >= sizeof(seen) / sizeof(seen[0]))
			continue;
		seen[n++] = c->sha256;
		json_array_append_new(names, json_string(name));
	}
	p11s_err_clear();
	return n;
}

unsigned
custody_count(const custody_set *s, const json_t *proposal, json_t **names)
{
	json_t *v = json_array();
	unsigned n;

	if (names != NULL)
		*names = NULL;
	if (v == NULL)
		return 0;
	n = count_valid(s, proposal, v);
	if (names != NULL)
		*names = v;
	else
		json_decref(v);
	return n;
}

int
custody_add_approval(const custody_set *s, json_t *proposal, json_t *a, p11s_time now,
		     unsigned *count)
{
	const char *id = json_string_value(json_object_get(proposal, "id"));
	const char *status = custody_status(proposal, now);
	const char *name = json_string_value(json_object_get(a, "custodian"));
	const struct custodian *c;
	json_t *names = NULL, *approvals = json_object_get(proposal, "approvals"), *v;
	unsigned n;
	size_t i;
	int r;

	*count = 0;
	if (strcmp(status, "pending") != 0) {
		char exp[40];

		p11s_fmt_utc(content_time(proposal, "expires_at"), exp, sizeof(exp));
		if (strcmp(status, "expired") == 0)
			r = p11s_fail(P11S_E_POLICY,
				      "proposal %.16s expired at %s and can no longer be approved; "
				      "propose the roll again",
				      id, exp);
		else
			r = p11s_fail(P11S_E_POLICY,
				      "proposal %.16s is %s and can no longer be approved", id,
				      status);
		goto out;
	}
	if (!json_is_array(approvals)) {
		r = p11s_fail(P11S_E_STATE, "proposal %.16s has no approval list", id);
		goto out;
	}
	if ((r = custody_check_approval(s, proposal, a)) != 0)
		goto out;
	c = find_custodian(s, name);
	if ((names = json_array()) == NULL) {
		r = p11s_fail(P11S_E_NOMEM, "out of memory");
		goto out;
	}
	n = count_valid(s, proposal, names);
	json_array_foreach(names, i, v)
	{
		const char *prev = json_string_value(v);

		if (strcmp(prev, name) == 0) {
			r = p11s_fail(P11S_E_POLICY,
				      "custodian %s already approved proposal %.16s: one custodian "
				      "counts once",
				      name, id);
			goto out;
		}
		if (strcmp(find_custodian(s, prev)->sha256, c->sha256) == 0) {
			r = p11s_fail(P11S_E_POLICY,
				      "the certificate of %s already approved proposal %.16s as "
				      "custodian %s: one certificate counts once",
				      name, id, prev);
			goto out;
		}
	}
	if (json_array_append(approvals, a) != 0) {
		r = p11s_fail(P11S_E_NOMEM, "out of memory");
		goto out;
	}
	*count = n + 1;
	r = 0;
out:
	json_decref(names);
	json_decref(a);
	return r;
}

int
custody_mark_staged(json_t *proposal, p11s_time now)
{
	if (json_object_set_new(proposal, "status", json_string("staged")) != 0 ||
	    json_object_set_new(proposal, "staged_at", json_integer((json_int_t)now)) != 0)
		return p11s_fail(P11S_E_NOMEM, "out of memory");
	return 0;
}

/* ---- quorum enforcement ------------------------------------------------- */

static int
content_names(const json_t *content, const char *type)
{
	json_t *v;
	size_t i;

	json_array_foreach(json_object_get(content, "types"), i,
			   v) if (json_is_string(v) &&
				  strcmp(json_string_value(v), type) == 0) return 1;
	return 0;
}

static int
has_evidence(const custody_set *s, unsigned quorum, const signer_state *st, const char *type,
	     const pol_epoch *e)
{
	json_t *p;
	size_t i;

	json_array_foreach(st->proposals, i, p)
	{
		json_t *content = json_object_get(p, "content");
		const char *pid = json_string_value(json_object_get(p, "id"));
		const char *key = json_string_value(json_object_get(content, "key"));
		char id[65];

		if (pid == NULL || key == NULL || strcmp(key, e->key) != 0 ||
		    json_integer_value(json_object_get(content, "effective")) !=
			(json_int_t)e->effective ||
		    !content_names(content, type))
			continue;
		if (custody_id(content, id) != 0 || strcmp(id, pid) != 0)
			continue; /* content altered after it was approved */
		if (custody_count(s, p, NULL) >= quorum)
			return 1;
	}
	return 0;
}

int
custody_filter_set(const custody_set *s, unsigned quorum, signer_state *st, size_t *ignored)
{
	size_t dropped = 0;

	if (ignored != NULL)
		*ignored = 0;
	if (quorum <= 1)
		return 0;
	for (size_t t = 0; t < st->pol.n_types; t++) {
		pol_type_state *ts = &st->pol.types[t];

		/* epoch 0 is the assignment: no roll, no quorum */
		for (size_t e = 1; e < ts->n_epochs;) {
			if (has_evidence(s, quorum, st, ts->name, &ts->epochs[e])) {
				e++;
				continue;
			}
			log_warn("roll to %s for %s has no valid quorum: ignored",
				 ts->epochs[e].key, ts->name);
			memmove(&ts->epochs[e], &ts->epochs[e + 1],
				(ts->n_epochs - e - 1) * sizeof(ts->epochs[0]));
			ts->n_epochs--;
			dropped++;
		}
	}
	p11s_err_clear();
	if (ignored != NULL)
		*ignored = dropped;
	return 0;
}

int
custody_filter(const signer_conf *c, signer_state *st)
{
	custody_set *s = NULL;
	int r;

	if (c->policy.quorum <= 1)
		return 0;
	if ((r = custody_set_load(c, &s)) != 0)
		return r;
	r = custody_filter_set(s, c->policy.quorum, st, NULL);
	custody_set_free(s);
	return r;
}

int
custody_approval_parse(const char *text, size_t len, const char *what, json_t **out,
		       const char **custodian)
{
	json_error_t err;
	json_t *o;

	*out = NULL;
	*custodian = NULL;
	if ((o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err)) == NULL)
		return p11s_fail(P11S_E_INVAL, "%s is not an approval (JSON expected): %s", what,
				 err.text);
	if (!json_is_object(o) || !json_is_string(json_object_get(o, "custodian")) ||
	    !json_is_integer(json_object_get(o, "approved_at")) ||
	    !json_is_string(json_object_get(o, "alg")) ||
	    !json_is_string(json_object_get(o, "signature"))) {
		json_decref(o);
		return p11s_fail(P11S_E_INVAL,
				 "%s is not an approval: expected the output of 'signer approve ID "
				 "--key SOURCE --sign-only'",
				 what);
	}
	*out = o;
	*custodian = json_string_value(json_object_get(o, "custodian"));
	return 0;
}

/* signerd's endpoints.  See d_api.h and SPEC §5. */
#include "config.h"

#include "signer/daemon/api.h"

#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "common/log.h"
#include "common/text.h"
#include "common/util.h"
#include "signer/daemon/json.h"
#include "signer/daemon/metrics.h"
#include "signer/daemon/signpool.h"
#include "signer/jose/jose.h"
#include "signer/status.h"
#include "signer/timeline_svg.h"
#include "signer/tokens.h"

#define JWKS_SET_MAX 32
#define NO_KEY_RETRY_S 30

typedef struct wctx {
	d_metrics *m;
	d_cache settings;
	d_cache view;
} wctx;

typedef struct staged_test {
	char type[POL_NAME_MAX];
	char kid[64];
	int ok;
	p11s_time at;
} staged_test;

struct d_app {
	hsm_token *token;
	d_slot *settings;
	d_slot *view;
	member_record me;
	d_pool *pool;
	wctx *w;
	unsigned n_w;
	pthread_mutex_t mu; /* guards the poller's reports below */
	int poll_ok;
	uint64_t poll_errors;
	uint64_t poll_regressions;
	p11s_time failing_since;
	char poll_error[512];
	uint64_t version;
	p11s_time checked_at;
	staged_test *tests;
	size_t n_tests;
};

int
d_app_new(const d_app_params *p, d_app **out)
{
	d_app *a;

	*out = NULL;
	a = calloc(1, sizeof(*a));
	if (a == NULL)
		return p11s_fail(P11S_E_NOMEM, "out of memory");
	a->token = p->token;
	a->settings = p->settings;
	a->view = p->view;
	a->me = *p->me;
	a->poll_ok = 1;
	pthread_mutex_init(&a->mu, NULL);
	*out = a;
	return 0;
}

static void issue_done(d_job *j, void *arg);

int
d_app_set_workers(d_app *a, unsigned n)
{
	d_pool_params pp;
	d_ref *sr;
	unsigned i;
	int r;

	a->w = calloc(n, sizeof(*a->w));
	if (a->w == NULL)
		return p11s_fail(P11S_E_NOMEM, "out of memory");
	a->n_w = n;
	for (i = 0; i < n; i++)
		if ((r = d_metrics_new(&a->w[i].m)) != 0)
			return r;
	memset(&pp, 0, sizeof(pp));
	pp.token = a->token;
	pp.settings = a->settings;
	pp.view = a->view;
	sr = d_slot_acquire(a->settings);
	pp.sessions = sr != NULL ? ((const d_settings *)sr)->conf->sessions : 1;
	d_ref_put(sr);
	pp.workers = n;
	pp.done = issue_done;
	pp.done_arg = a;
	return d_pool_new(&pp, &a->pool);
}

void
d_app_worker_start(unsigned worker, struct event_base *base, void *arg)
{
	d_pool_worker_start(((d_app *)arg)->pool, worker, base);
}

void
d_app_worker_stop(unsigned worker, struct event_base *base, void *arg)
{
	(void)base;
	d_pool_worker_stop(((d_app *)arg)->pool, worker);
}

void
d_app_stop_signing(d_app *a)
{
	if (a != NULL)
		d_pool_stop(a->pool);
}

void
d_app_free(d_app *a)
{
	unsigned i;

	if (a == NULL)
		return;
	d_pool_free(a->pool);
	for (i = 0; i < a->n_w; i++) {
		d_cache_release(&a->w[i].settings);
		d_cache_release(&a->w[i].view);
		d_metrics_free(a->w[i].m);
	}
	free(a->w);
	free(a->tests);
	pthread_mutex_destroy(&a->mu);
	free(a);
}

void
d_app_note_poll(d_app *a, int ok, uint64_t version, p11s_time checked_at, const char *why,
		int regression)
{
	pthread_mutex_lock(&a->mu);
	if (ok) {
		a->version = version;
		a->checked_at = checked_at;
		a->failing_since = 0;
		a->poll_error[0] = '\0';
	} else {
		if (a->poll_ok)
			a->failing_since = checked_at;
		a->poll_errors++;
		if (regression)
			a->poll_regressions++;
		snprintf(a->poll_error, sizeof(a->poll_error), "%s", why != NULL ? why : "unknown");
	}
	a->poll_ok = ok;
	pthread_mutex_unlock(&a->mu);
}

void
d_app_note_staged_test(d_app *a, const char *type, const char *kid, int ok, p11s_time at)
{
	staged_test *t = NULL;
	size_t i;

	pthread_mutex_lock(&a->mu);
	for (i = 0; i < a->n_tests; i++)
		if (strcmp(a->tests[i].type, type) == 0) {
			t = &a->tests[i];
			break;
		}
	if (t == NULL) {
		staged_test *n = realloc(a->tests, (a->n_tests + 1) * sizeof(*n));

		if (n != NULL) {
			a->tests = n;
			t = &a->tests[a->n_tests++];
		}
	}
	if (t != NULL) {
		memset(t, 0, sizeof(*t));
		snprintf(t->type, sizeof(t->type), "%s", type);
		snprintf(t->kid, sizeof(t->kid), "%s", kid);
		t->ok = ok;
		t->at = at;
	}
	pthread_mutex_unlock(&a->mu);
}

/* ---- error answers ------------------------------------------------------ */

static void reply_error(d_req *r, int code, const char *error, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * An error answer whose detail is always valid UTF-8 and short enough for
 * d_reply_error to take whole, so that building the JSON cannot fail on it.
 */
static void
reply_error(d_req *r, int code, const char *error, const char *fmt, ...)
{
	char detail[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	d_reply_error(r, code, error, "%s", p11s_text_fix(detail));
}

/* A JSON answer that could not be built is our failure, never the client's
 * and not necessarily memory: log what failed, answer 500 with no details. */
static void
reply_build_failed(d_req *r, const char *what)
{
	log_error("worker %u: building the JSON answer of %s %s failed", d_req_worker(r),
		  d_req_method_name(r), what);
	d_reply_error(r, 500, "internal", "the answer could not be built; see the server log");
}

/* HTTP status of an error by its class (common/error.h): the caller's input
 * 400, a refusal 422, the token or its state 503, anything else 500. */
static int
status_of(int err)
{
	switch (p11s_err_classify(err)) {
	case P11S_CLASS_USAGE:
		return 400;
	case P11S_CLASS_REFUSED:
		return 422;
	case P11S_CLASS_TOKEN_TRANSIENT:
	case P11S_CLASS_TOKEN_FATAL:
	case P11S_CLASS_STATE:
		return 503;
	case P11S_CLASS_OK:
	case P11S_CLASS_INTERNAL:
	default:
		return 500;
	}
}

static const char *
error_code_of(int status)
{
	switch (status) {
	case 400:
		return "bad_request";
	case 422:
		return "refused";
	case 503:
		return "unavailable";
	default:
		return "internal";
	}
}

/* "type "X" is not configured", 404. */
static void
reply_unknown_type(d_req *r, const char *type)
{
	char q[P11S_QUOTE_BUF];

	reply_error(r, 404, "unknown_type", "type %s is not configured",
		    p11s_quote_str(type, q, sizeof(q)));
}

/* ---- helpers ------------------------------------------------------------- */

static json_t *
json_time(p11s_time t)
{
	return status_time_json(t);
}

static void
reply_unavailable(d_req *r, unsigned retry_s, const char *error, const char *detail)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%u", retry_s);
	d_reply_header(r, "Retry-After", buf);
	d_reply_error(r, 503, error, "%s", detail);
}

/* A body that is JSON and present, or an answer (415 / 400). */
static const uint8_t *
json_body(d_req *r, size_t *len)
{
	const uint8_t *b;

	if (!d_content_type_is_json(d_req_header(r, "Content-Type"))) {
		d_reply_error(r, 415, "unsupported_media_type",
			      "send the request body as Content-Type: application/json");
		return NULL;
	}
	b = d_req_body(r, len);
	if (b == NULL) {
		d_reply_error(r, 400, "bad_request",
			      "the request body is empty; a JSON object is expected");
		return NULL;
	}
	return b;
}

/* ---- POST /v1/tokens ----------------------------------------------------- */

/*
 * Checked here (400/404/503 at once, the same decisions the pool makes
 * again at signing time), then handed to the signing pool: the worker goes
 * on serving and answers in issue_done when the signature is back.
 */
static void
handle_issue(d_app *a, d_req *r, wctx *w, const d_settings *set, const d_view *v)
{
	const signer_conf *c = set->conf;
	d_issue_req q;
	tokens_request tr;
	const pol_key *key = NULL;
	d_job *j = NULL;
	d_req *dr;
	int ti, rc;
	const uint8_t *body;
	size_t len;

	memset(&q, 0, sizeof(q));
	if ((body = json_body(r, &len)) == NULL)
		return;
	if ((rc = d_issue_req_parse(body, len, &q)) != 0) {
		d_reply_error(r, 400, "bad_request", "%s", p11s_errmsg(rc));
		goto out;
	}
	d_req_note_type(r, q.type);
	if (signer_conf_type_index(c, q.type) < 0) {
		reply_unknown_type(r, q.type);
		goto out;
	}
	memset(&tr, 0, sizeof(tr));
	tr.type = q.type;
	tr.sub = q.sub;
	tr.aud = q.aud;
	tr.lifetime = q.lifetime;
	tr.claims = q.claims;
	rc = tokens_issuing_key(c, v->st, &tr, p11s_now(), &key, &ti);
	if (rc == P11S_E_NOTFOUND) {
		reply_unavailable(r, NO_KEY_RETRY_S, "no_issuing_key", p11s_errmsg(rc));
		goto out;
	}
	if (rc == P11S_E_POLICY) {
		/* rule 3c: the issuing key's certificate is expired or not yet valid */
		reply_unavailable(r, NO_KEY_RETRY_S, "issuing_certificate_invalid",
				  p11s_errmsg(rc));
		goto out;
	}
	if (rc != 0) {
		d_reply_error(r, 400, "bad_request", "%s", p11s_errmsg(rc));
		goto out;
	}
	if ((j = d_job_new()) == NULL || (q.sub != NULL && (j->sub = strdup(q.sub)) == NULL) ||
	    (q.aud != NULL && (j->aud = strdup(q.aud)) == NULL) ||
	    (q.claims != NULL && (j->claims = json_deep_copy(q.claims)) == NULL)) {
		d_reply_error(r, 500, "internal", "out of memory");
		goto out;
	}
	j->worker = d_req_worker(r);
	snprintf(j->type, sizeof(j->type), "%s", q.type);
	j->lifetime = q.lifetime;
	if ((dr = d_req_defer(r)) == NULL) {
		d_reply_error(r, 500, "internal", "out of memory");
		goto out;
	}
	j->req = dr;
	if (d_pool_submit(a->pool, j) == 0) {
		j = NULL; /* answered by issue_done */
		goto out;
	}
	issue_done(j, a);
out:
	(void)w;
	d_job_free(j);
	d_issue_req_clear(&q);
}

/* On the worker that took the request: answer a job back from the pool. */
static void
issue_done(d_job *j, void *arg)
{
	d_app *a = arg;
	d_req *r = j->req;
	wctx *w = &a->w[j->worker];
	uint64_t started = d_req_start_ns(r);

	if (j->body == NULL) {
		/* the pool could not build the answer's text */
		reply_build_failed(r, "/v1/tokens");
	} else if (j->status == 200) {
		d_metrics_issued(w->m, j->type, j->kid);
		d_req_note_kid(r, j->kid);
		d_reply_raw(r, 200, "application/json", j->body, strlen(j->body));
	} else {
		if (j->status == 503) {
			char ra[16];

			snprintf(ra, sizeof(ra), "%u", j->retry_after > 0 ? j->retry_after : 1);
			d_reply_header(r, "Retry-After", ra);
			if (strcmp(j->error, "token_unavailable") == 0)
				d_metrics_hsm_error(w->m);
		}
		d_reply_error(r, j->status, j->error, "%s", j->body);
	}
	j->req = NULL;
	d_metrics_request(w->m, D_ROUTE_TOKENS, d_now_ns() - started);
}

/* ---- POST /v1/verify ----------------------------------------------------- */

/* {"valid":true,"kid":...,"key":...,"type":...,"claims":{...}}, the claims
 * as the token holds them (JSON that jwt_verify parsed): what json_dumps
 * wrote of them for signerd's own tokens, without dumping a tree. */
static void
reply_valid(d_req *r, const d_view *v, const tokens_verdict *vd)
{
	const char *kid = tokens_kid(v->ks, vd->sha1);
	char *qkid = p11s_json_quote(kid != NULL ? kid : ""), *qtype = p11s_json_quote(vd->type);
	char *body = NULL;
	int n = -1;

	if (qkid != NULL && qtype != NULL && vd->jwt.claims_json_len <= INT_MAX)
		n = asprintf(
		    &body, "{\"valid\":true,\"kid\":%s,\"key\":\"%s\",\"type\":%s,\"claims\":%.*s}",
		    qkid, pol_role_name(vd->role), qtype, (int)vd->jwt.claims_json_len,
		    vd->jwt.claims_json);
	free(qkid);
	free(qtype);
	if (n < 0) {
		reply_build_failed(r, "/v1/verify");
		return;
	}
	d_req_note_type(r, vd->type);
	if (kid != NULL)
		d_req_note_kid(r, kid);
	d_reply_raw(r, 200, "application/json", body, (size_t)n);
	free(body);
}

static void
handle_verify(d_req *r, wctx *w, const d_settings *set, const d_view *v)
{
	const signer_conf *c = set->conf;
	d_verify_req q;
	tokens_verdict vd;
	json_t *o = NULL;
	const uint8_t *body;
	size_t len;
	int rc, status;

	memset(&q, 0, sizeof(q));
	memset(&vd, 0, sizeof(vd));
	if ((body = json_body(r, &len)) == NULL)
		return;
	if ((rc = d_verify_req_parse(body, len, JWT_MAX_LEN, &q)) != 0) {
		d_metrics_verify_failure(w->m, "bad_request");
		reply_error(r, 400, "bad_request", "%s", p11s_errmsg(rc));
		goto out;
	}
	if (q.type != NULL && signer_conf_type_index(c, q.type) < 0) {
		d_metrics_verify_failure(w->m, "unknown_type");
		reply_unknown_type(r, q.type);
		goto out;
	}
	rc = tokens_verify(c, v->st, v->ks, q.type, q.aud, q.token, q.token_len, p11s_now(), &vd);
	if (rc != 0) {
		status = status_of(rc);
		log_error("worker %u: verification failed (%s): %s", d_req_worker(r),
			  p11s_err_class_name(p11s_err_classify(rc)), p11s_errmsg(rc));
		reply_error(r, status, error_code_of(status), "%s", p11s_errmsg(rc));
		goto out;
	}
	if (vd.valid) {
		d_metrics_verified(w->m, vd.type, pol_role_name(vd.role));
		reply_valid(r, v, &vd);
		goto out;
	}
	d_metrics_verified(w->m, q.type != NULL ? q.type : "any", "none");
	d_metrics_verify_failure(w->m, jwt_reason_name(vd.jwt.reason));
	o = json_pack("{s:b, s:s, s:s}", "valid", 0, "reason", jwt_reason_name(vd.jwt.reason),
		      "error", vd.jwt.error);
	if (o == NULL) {
		reply_build_failed(r, "/v1/verify");
		goto out;
	}
	/* An invalid token is a client error (issue 4): 422 with the same body. */
	d_reply_json(r, 422, o);
out:
	json_decref(o);
	tokens_verdict_clear(&vd);
	d_verify_req_clear(&q);
}

/* ---- GET /.well-known/jwks.json, /.well-known/jwks/TYPE.json ------------- */

/* x5c: the certificate (base64 DER, RFC 7517 §4.7); x5t#S256 is the kid
 * (both the base64url SHA-256 of the certificate's DER). */
static int
add_x5c(json_t *jwk, const pol_key *k, const char *kid)
{
	unsigned char *b64 = NULL;
	json_t *chain = NULL;
	int r = P11S_E_NOMEM;

	if (k->cert_der == NULL || k->cert_len == 0 || k->cert_len > 65536)
		return p11s_fail(P11S_E_INTERNAL, "key %s has no certificate in the state",
				 k->sha1);
	if ((b64 = malloc(4 * ((k->cert_len + 2) / 3) + 1)) == NULL)
		goto out;
	EVP_EncodeBlock(b64, k->cert_der, (int)k->cert_len);
	if ((chain = json_pack("[s]", (const char *)b64)) == NULL ||
	    json_object_set_new(jwk, "x5c", chain) != 0) {
		chain = NULL;
		goto out;
	}
	chain = NULL;
	if (json_object_set_new(jwk, "x5t#S256", json_string(kid)) != 0)
		goto out;
	r = 0;
out:
	if (r != 0)
		r = p11s_fail(P11S_E_NOMEM, "out of memory");
	json_decref(chain);
	free(b64);
	return r;
}

static int
add_type_jwks(const signer_conf *c, const d_view *v, int ti, p11s_time now, json_t *keys)
{
	const pol_type_conf *tc = &c->policy.types[ti];
	pol_vkey set[JWKS_SET_MAX];
	size_t n = 0, i, k;
	int r;

	pol_publication_set(&c->policy, &v->st->pol, tc->name, now, set, JWKS_SET_MAX, &n);
	for (i = 0; i < n; i++) {
		const char *kid = tokens_kid(v->ks, set[i].key->sha1);
		const char *x5t = tokens_x5t(v->ks, set[i].key->sha1);
		EVP_PKEY *pub = tokens_pubkey(v->ks, set[i].key->sha1);
		json_t *jwk = NULL, *have;
		int dup = 0;

		if (kid == NULL || pub == NULL)
			continue;
		json_array_foreach(keys, k,
				   have) if (strcmp(json_string_value(json_object_get(have, "kid")),
						    kid) == 0) dup = 1;
		if (dup)
			continue; /* a combined certificate serves several types */
		if ((r = jose_jwk(pub, tc->alg, kid, x5t, &jwk)) != 0)
			return r;
		if ((r = add_x5c(jwk, set[i].key, kid)) != 0) {
			json_decref(jwk);
			return r;
		}
		if (json_array_append_new(keys, jwk) != 0)
			return p11s_fail(P11S_E_NOMEM, "out of memory");
	}
	return 0;
}

static void reply_cacheable(d_req *r, const signer_conf *c, const json_t *o);

static void
handle_jwks(d_req *r, const d_settings *set, const d_view *v, const char *type)
{
	const signer_conf *c = set->conf;
	json_t *o = NULL, *keys;
	p11s_time now = p11s_now();
	size_t ti;
	int rc = 0, one = -1;

	if (type != NULL && (one = signer_conf_type_index(c, type)) < 0) {
		reply_unknown_type(r, type);
		return;
	}
	o = json_pack("{s:[]}", "keys");
	if (o == NULL) {
		reply_build_failed(r, "JWKS");
		return;
	}
	keys = json_object_get(o, "keys");
	for (ti = 0; rc == 0 && ti < c->policy.n_types; ti++)
		if (one < 0 || (int)ti == one)
			rc = add_type_jwks(c, v, (int)ti, now, keys);
	if (rc != 0) {
		log_error("building the JWKS failed: %s", p11s_errmsg(rc));
		reply_error(r, status_of(rc), error_code_of(status_of(rc)), "%s", p11s_errmsg(rc));
	} else {
		reply_cacheable(r, c, o);
	}
	json_decref(o);
}

/* Does an If-None-Match value name this entity tag (or "*")? */
static int
etag_matches(const char *inm, const char *etag)
{
	size_t n = strlen(etag);
	const char *p;

	if (inm == NULL)
		return 0;
	for (p = inm; *p != '\0'; p++) {
		p += strspn(p, " \t");
		if (*p == '*')
			return 1;
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		if (strncmp(p, etag, n) == 0)
			return 1;
		if ((p = strchr(p, ',')) == NULL)
			break;
	}
	return 0;
}

/* A public document (JWKS, discovery): Cache-Control from jwks_max_age, a
 * strong ETag of the body, 304 for a matching If-None-Match. */
static void
reply_cacheable(d_req *r, const signer_conf *c, const json_t *o)
{
	char cc[64], hex[65], etag[36];
	char *text = json_dumps(o, JSON_COMPACT);

	if (text == NULL || p11s_sha256_hex((const uint8_t *)text, strlen(text), hex) != 0) {
		reply_build_failed(r, "JWKS or discovery document");
		goto out;
	}
	snprintf(etag, sizeof(etag), "\"%.32s\"", hex);
	snprintf(cc, sizeof(cc), "public, max-age=%lld", (long long)c->policy.jwks_max_age);
	d_reply_header(r, "Cache-Control", cc);
	d_reply_header(r, "ETag", etag);
	if (etag_matches(d_req_header(r, "If-None-Match"), etag))
		d_reply_raw(r, 304, "application/json", NULL, 0);
	else
		d_reply_raw(r, 200, "application/json", text, strlen(text));
out:
	free(text);
}

/* ---- discovery (RFC 8414, OpenID Connect Discovery 1.0) ----------------- */

#define OIDC_SUFFIX "/.well-known/openid-configuration"
#define OAUTH_PREFIX "/.well-known/oauth-authorization-server"

/* The origin (scheme://authority) and path of an http(s) issuer URL, the
 * path without a trailing '/'; -1 when the issuer is not such a URL. */
static int
issuer_split(const char *iss, size_t *origin_len, const char **path, size_t *path_len)
{
	const char *a, *slash;
	size_t n;

	if (strncmp(iss, "https://", 8) == 0)
		a = iss + 8;
	else if (strncmp(iss, "http://", 7) == 0)
		a = iss + 7;
	else
		return -1;
	if (*a == '\0' || strpbrk(iss, "?#") != NULL)
		return -1;
	slash = strchr(a, '/');
	*origin_len = slash != NULL ? (size_t)(slash - iss) : strlen(iss);
	*path = iss + *origin_len;
	n = strlen(*path);
	while (n > 0 && (*path)[n - 1] == '/')
		n--;
	*path_len = n;
	return 0;
}

/* Does a request path ask for the discovery document of issuer iss? */
static int
discovery_of(const char *req, const char *iss)
{
	size_t ol, pl, n = strlen(req), sl = sizeof(OIDC_SUFFIX) - 1, ql = sizeof(OAUTH_PREFIX) - 1;
	const char *p;

	if (issuer_split(iss, &ol, &p, &pl) != 0)
		return 0;
	if (n == pl + sl && strncmp(req, p, pl) == 0 && strcmp(req + pl, OIDC_SUFFIX) == 0)
		return 1;
	return n == ql + pl && strncmp(req, OAUTH_PREFIX, ql) == 0 && strncmp(req + ql, p, pl) == 0;
}

static void
handle_discovery(d_req *r, const d_settings *set)
{
	const signer_conf *c = set->conf;
	const char *path = d_req_path(r), *iss = NULL, *p;
	json_t *o = NULL, *algs = NULL;
	char uri[1024];
	size_t ti, n = 0, ol, pl;
	int one = -1;

	for (ti = 0; ti < c->policy.n_types; ti++) {
		const char *t = c->type_extra[ti].issuer;

		if (t == NULL || !discovery_of(path, t))
			continue;
		if (iss != NULL && strcmp(iss, t) != 0)
			continue;
		iss = t;
		one = (int)ti;
		n++;
	}
	if (iss == NULL || issuer_split(iss, &ol, &p, &pl) != 0) {
		d_reply_error(r, 404, "not_found",
			      "no configured issuer has its discovery document here; a type's "
			      "issuer ISS (an http(s) URL) is described at ISS%s and at "
			      "%s followed by ISS's path",
			      OIDC_SUFFIX, OAUTH_PREFIX);
		return;
	}
	/* one type: its own key set; types sharing an issuer: every type's set */
	if (n == 1)
		snprintf(uri, sizeof(uri), "%.*s/.well-known/jwks/%s.json", (int)ol, iss,
			 c->policy.types[one].name);
	else
		snprintf(uri, sizeof(uri), "%.*s/.well-known/jwks.json", (int)ol, iss);
	if ((algs = json_array()) == NULL)
		goto oom;
	for (ti = 0; ti < c->policy.n_types; ti++) {
		const char *a = p11s_alg_name(c->policy.types[ti].alg);
		size_t k;
		json_t *have;
		int dup = 0;

		if (c->type_extra[ti].issuer == NULL || strcmp(c->type_extra[ti].issuer, iss) != 0)
			continue;
		json_array_foreach(algs, k, have) if (strcmp(json_string_value(have), a) == 0) dup =
		    1;
		if (!dup && json_array_append_new(algs, json_string(a)) != 0)
			goto oom;
	}
	o = json_pack("{s:s, s:s, s:O, s:[s]}", "issuer", iss, "jwks_uri", uri,
		      "id_token_signing_alg_values_supported", algs, "response_types_supported",
		      "token");
	if (o == NULL)
		goto oom;
	reply_cacheable(r, c, o);
	goto out;
oom:
	reply_build_failed(r, "discovery document");
out:
	json_decref(algs);
	json_decref(o);
}

/* ---- GET /v1/status ------------------------------------------------------ */

static void
handle_status(d_app *a, d_req *r, const d_settings *set, const d_view *v)
{
	const signer_conf *c = set->conf;
	p11s_time now = p11s_now();
	json_t *o = NULL, *types, *t, *tests;
	size_t ti, i;
	int rc = 0;

	o = json_pack("{s:o, s:o, s:o}", "now", json_time(now), "types", json_array(), "proposals",
		      v->st->proposals != NULL ? json_incref(v->st->proposals) : json_array());
	if (o == NULL)
		goto oom;
	types = json_object_get(o, "types");
	for (ti = 0; ti < c->policy.n_types; ti++) {
		if ((rc = status_type_json(c, v->st, v->ks, &c->policy.types[ti], now, &t)) != 0) {
			d_reply_error(r, 500, "internal", "%s", p11s_errmsg(rc));
			goto out;
		}
		if (t == NULL || json_array_append_new(types, t) != 0)
			goto oom;
	}
	pthread_mutex_lock(&a->mu);
	t = json_pack("{s:s, s:s, s:I, s:I, s:I, s:o, s:o, s:b, s:I}", "id", a->me.id, "host",
		      a->me.host, "pid", (json_int_t)a->me.pid, "state_version",
		      (json_int_t)v->st->version, "checked_version", (json_int_t)a->version,
		      "checked_at", json_time(a->checked_at), "started_at",
		      json_time(a->me.started_at), "poll_ok", a->poll_ok, "poll_errors",
		      (json_int_t)a->poll_errors);
	tests = json_array();
	for (i = 0; tests != NULL && i < a->n_tests; i++)
		json_array_append_new(tests,
				      json_pack("{s:s, s:s, s:b, s:o}", "type", a->tests[i].type,
						"kid", a->tests[i].kid, "ok", a->tests[i].ok, "at",
						json_time(a->tests[i].at)));
	pthread_mutex_unlock(&a->mu);
	/* for `signer pool check`: when this member's last check is stale */
	if (t != NULL)
		json_object_set_new(t, "poll_interval_ms", json_integer(c->poll_interval_ms));
	if (t == NULL || tests == NULL || json_object_set_new(t, "staged_key_tests", tests) != 0 ||
	    json_object_set_new(o, "member", t) != 0)
		goto oom;
	d_reply_json(r, 200, o);
	goto out;
oom:
	reply_build_failed(r, "/v1/status");
out:
	json_decref(o);
}

/* ---- GET /metrics -------------------------------------------------------- */

static void
handle_metrics(d_app *a, d_req *r, const d_settings *set, const d_view *v)
{
	d_metrics **all = NULL;
	char *text = NULL, *extra = NULL;
	size_t len = 0, elen = 0, i;
	FILE *f;
	int rc;

	all = calloc(a->n_w, sizeof(*all));
	f = open_memstream(&extra, &elen);
	if (all == NULL || f == NULL) {
		if (f != NULL)
			fclose(f);
		d_reply_error(r, 500, "internal", "out of memory");
		goto out;
	}
	for (i = 0; i < a->n_w; i++)
		all[i] = a->w[i].m;
	pthread_mutex_lock(&a->mu);
	fprintf(f,
		"# HELP p11s_state_version State version this process serves.\n"
		"# TYPE p11s_state_version gauge\np11s_state_version %" PRIu64 "\n"
		"# HELP p11s_state_poll_errors_total Failed polls of the token for state changes.\n"
		"# TYPE p11s_state_poll_errors_total counter\np11s_state_poll_errors_total %" PRIu64
		"\n"
		"# HELP p11s_state_poll_ok 1 when the last poll of the token worked, 0 while "
		"polls fail (the last good state is served).\n"
		"# TYPE p11s_state_poll_ok gauge\np11s_state_poll_ok %d\n"
		"# HELP p11s_state_regressions_refused_total Polls that saw no state record or "
		"an older version than the one served, refused.\n"
		"# TYPE p11s_state_regressions_refused_total counter\n"
		"p11s_state_regressions_refused_total %" PRIu64 "\n"
		"# HELP p11s_state_checked_timestamp_seconds Last successful poll of the token.\n"
		"# TYPE p11s_state_checked_timestamp_seconds gauge\n"
		"p11s_state_checked_timestamp_seconds %lld\n"
		"# HELP p11s_staged_key_test_ok Last test signature with a staged key (1 ok, 0 "
		"failed).\n"
		"# TYPE p11s_staged_key_test_ok gauge\n",
		v->st->version, a->poll_errors, a->poll_ok, a->poll_regressions,
		(long long)a->checked_at);
	for (i = 0; i < a->n_tests; i++)
		fprintf(f, "p11s_staged_key_test_ok{type=\"%s\",kid=\"%s\"} %d\n", a->tests[i].type,
			a->tests[i].kid, a->tests[i].ok);
	pthread_mutex_unlock(&a->mu);
	d_pool_metrics(a->pool, f);
	d_metrics_process(f);
	rc = d_metrics_keys(f, set->conf, v, p11s_now());
	if (fclose(f) != 0 || rc != 0) {
		d_reply_error(r, 500, "internal", "%s",
			      rc != 0 ? p11s_errmsg(rc) : "out of memory");
		goto out;
	}
	if ((rc = d_metrics_render(all, a->n_w, extra, &text, &len)) != 0) {
		reply_error(r, status_of(rc), error_code_of(status_of(rc)), "%s", p11s_errmsg(rc));
		goto out;
	}
	d_reply_raw(r, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
out:
	free(text);
	free(extra);
	free(all);
}

/* ---- routing ------------------------------------------------------------- */

#define JWKS_PREFIX "/.well-known/jwks/"
#define JWKS_SUFFIX ".json"

static int
route_of(const char *path, d_route *route, unsigned *mtls, int *post, char *type, size_t tlen)
{
	size_t n = strlen(path), pl = sizeof(JWKS_PREFIX) - 1, sl = sizeof(JWKS_SUFFIX) - 1;

	type[0] = '\0';
	*post = 0;
	*mtls = SIGNER_MTLS_READ;
	if (strcmp(path, "/v1/tokens") == 0) {
		*route = D_ROUTE_TOKENS;
		*mtls = SIGNER_MTLS_ISSUE;
		*post = 1;
	} else if (strcmp(path, "/v1/verify") == 0) {
		*route = D_ROUTE_VERIFY;
		*mtls = SIGNER_MTLS_VERIFY;
		*post = 1;
	} else if (strcmp(path, "/.well-known/jwks.json") == 0) {
		*route = D_ROUTE_JWKS;
	} else if (n > pl + sl && strncmp(path, JWKS_PREFIX, pl) == 0 &&
		   strcmp(path + n - sl, JWKS_SUFFIX) == 0 && n - pl - sl < tlen &&
		   memchr(path + pl, '/', n - pl - sl) == NULL) {
		*route = D_ROUTE_JWKS;
		memcpy(type, path + pl, n - pl - sl);
		type[n - pl - sl] = '\0';
	} else if (strncmp(path, OAUTH_PREFIX, sizeof(OAUTH_PREFIX) - 1) == 0 ||
		   (n >= sizeof(OIDC_SUFFIX) - 1 &&
		    strcmp(path + n - (sizeof(OIDC_SUFFIX) - 1), OIDC_SUFFIX) == 0)) {
		*route = D_ROUTE_DISCOVERY; /* client certificates as for the JWKS */
	} else if (strcmp(path, "/v1/timeline.svg") == 0) {
		*route = D_ROUTE_TIMELINE;
	} else if (strcmp(path, "/v1/status") == 0) {
		*route = D_ROUTE_STATUS;
	} else if (strcmp(path, "/healthz") == 0) {
		*route = D_ROUTE_HEALTHZ;
		*mtls = 0;
	} else if (strcmp(path, "/metrics") == 0) {
		*route = D_ROUTE_METRICS;
	} else {
		*route = D_ROUTE_OTHER;
		return -1;
	}
	return 0;
}

void
d_app_handle(d_req *r, void *arg)
{
	d_app *a = arg;
	unsigned wi = d_req_worker(r);
	wctx *w = &a->w[wi];
	const d_settings *set = (const d_settings *)d_slot_cached(a->settings, &w->settings);
	const d_view *v = (const d_view *)d_slot_cached(a->view, &w->view);
	d_method m = d_req_method(r);
	char type[POL_NAME_MAX];
	d_route route;
	unsigned mtls;
	int post;

	if (route_of(d_req_path(r), &route, &mtls, &post, type, sizeof(type)) != 0) {
		d_reply_error(r, 404, "not_found", "no such endpoint; see signerd(8)");
		goto done;
	}
	if (post ? m != D_M_POST : (m != D_M_GET && m != D_M_HEAD)) {
		d_reply_header(r, "Allow", post ? "POST" : "GET, HEAD");
		d_reply_error(r, 405, "method_not_allowed", "%s is not allowed here; use %s",
			      d_req_method_name(r), post ? "POST" : "GET");
		goto done;
	}
	if (set == NULL || v == NULL) {
		reply_unavailable(r, 1, "starting", "the state is not loaded yet");
		goto done;
	}
	if ((set->conf->mtls_routes & mtls) != 0 && d_req_listen_kind(r) != D_LISTEN_UNIX &&
	    !d_req_peer_verified(r)) {
		d_reply_error(
		    r, 403, "client_certificate_required",
		    "this endpoint requires a TLS client certificate issued by the configured "
		    "client CA");
		goto done;
	}
	switch (route) {
	case D_ROUTE_TOKENS:
		handle_issue(a, r, w, set, v);
		return; /* counted when answered (issue_done) */
	case D_ROUTE_VERIFY:
		handle_verify(r, w, set, v);
		break;
	case D_ROUTE_JWKS:
		handle_jwks(r, set, v, type[0] != '\0' ? type : NULL);
		break;
	case D_ROUTE_DISCOVERY:
		handle_discovery(r, set);
		break;
	case D_ROUTE_TIMELINE: {
		char *svg = NULL;
		size_t len = 0;
		int rc = timeline_svg(&set->conf->policy, &v->st->pol, p11s_now(), &svg, &len);

		if (rc != 0)
			d_reply_error(r, 500, "internal", "%s", p11s_errmsg(rc));
		else
			d_reply_raw(r, 200, "image/svg+xml; charset=utf-8", svg, len);
		free(svg);
		break;
	}
	case D_ROUTE_STATUS:
		handle_status(a, r, set, v);
		break;
	case D_ROUTE_METRICS:
		handle_metrics(a, r, set, v);
		break;
	case D_ROUTE_HEALTHZ:
	default: {
		json_t *o;

		/* degraded: polls fail, the last good state is still served */
		pthread_mutex_lock(&a->mu);
		if (a->poll_ok)
			o = json_pack("{s:s, s:I}", "status", "ok", "state_version",
				      (json_int_t)v->st->version);
		else
			o = json_pack("{s:s, s:I, s:s, s:o, s:I}", "status", "degraded",
				      "state_version", (json_int_t)v->st->version, "poll_error",
				      a->poll_error, "failing_since", json_time(a->failing_since),
				      "poll_errors", (json_int_t)a->poll_errors);
		pthread_mutex_unlock(&a->mu);
		if (o == NULL)
			reply_build_failed(r, "/healthz");
		else
			d_reply_json(r, 200, o);
		json_decref(o);
		break;
	}
	}
done:
	d_metrics_request(w->m, route, d_now_ns() - d_req_start_ns(r));
}

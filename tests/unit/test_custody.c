/* Proposals, approvals, quorum counting and the quorum filter (SPEC §6). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "common/util.h"
#include "signer/custody.h"

#define AV "AudioVideoAuthentication"
#define OA "OAuthTokenIssuer"
#define T0 ((p11s_time)1700000000)
#define DAY 86400

/* ---- fixture ------------------------------------------------------------ */

typedef struct person {
	const char *name;
	EVP_PKEY *key;
	X509 *cert;
} person;

struct fx {
	pol_type_conf tc[2];
	pol_conf pc;
	signer_state *st;
	pol_key old_key, new_key;
	person alice, bob, carol, dave, mallory;
	custody_set *set;
};

static EVP_PKEY *
gen_key(const char *kind)
{
	EVP_PKEY *k = NULL;

	if (strcmp(kind, "rsa") == 0)
		k = EVP_RSA_gen(2048);
	else
		k = EVP_EC_gen(kind);
	assert_non_null(k);
	return k;
}

static X509 *
self_signed(EVP_PKEY *key, const char *cn, p11s_time nb, p11s_time na)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();

	assert_non_null(x);
	assert_int_equal(X509_set_version(x, 2), 1);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	assert_non_null(ASN1_TIME_set(X509_getm_notBefore(x), (time_t)nb));
	assert_non_null(ASN1_TIME_set(X509_getm_notAfter(x), (time_t)na));
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, name);
	X509_set_issuer_name(x, name);
	X509_NAME_free(name);
	assert_int_equal(X509_set_pubkey(x, key), 1);
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	return x;
}

static void
person_init(person *p, const char *name, const char *kind, p11s_time nb, p11s_time na)
{
	p->name = name;
	p->key = gen_key(kind);
	p->cert = self_signed(p->key, name, nb, na);
}

static void
person_free(person *p)
{
	EVP_PKEY_free(p->key);
	X509_free(p->cert);
}

static void
fake_key(pol_key *k, char tag, p11s_time nb, p11s_time na)
{
	memset(k, 0, sizeof(*k));
	memset(k->sha1, tag, 40);
	memset(k->sha256, tag, 64);
	k->keytype = P11S_KT_EC_P256;
	k->bits = 256;
	k->not_before = nb;
	k->not_after = na;
	strcpy(k->id_hex, "01");
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	const char *av[] = {AV};

	assert_non_null(f);
	strcpy(f->tc[0].name, AV);
	f->tc[0].alg = P11S_ALG_ES256;
	f->tc[0].token_lifetime = 8 * 3600;
	f->tc[0].min_lead = 8 * 3600;
	strcpy(f->tc[1].name, OA);
	f->tc[1].alg = P11S_ALG_RS256;
	f->tc[1].token_lifetime = 3600;
	f->tc[1].min_lead = DAY;
	f->pc.clock_skew = 60;
	f->pc.jwks_max_age = 300;
	f->pc.past_grace = 5;
	f->pc.quorum = 2;
	f->pc.proposal_lifetime = 3 * DAY;
	f->pc.types = f->tc;
	f->pc.n_types = 2;
	assert_int_equal(state_new(&f->st), 0);
	fake_key(&f->old_key, 'a', T0 - DAY, T0 + 10 * DAY);
	fake_key(&f->new_key, 'b', T0 - DAY, T0 + 40 * DAY);
	assert_int_equal(pol_apply_assign(&f->st->pol, av, 1, &f->old_key, T0 - 100), 0);
	person_init(&f->alice, "alice", "P-256", T0 - DAY, T0 + 365 * DAY);
	person_init(&f->bob, "bob", "rsa", T0 - DAY, T0 + 365 * DAY);
	person_init(&f->carol, "carol", "P-384", T0 - DAY, T0 + 365 * DAY);
	person_init(&f->dave, "dave", "P-256", T0 - 10 * DAY, T0 - DAY); /* expired */
	person_init(&f->mallory, "mallory", "P-256", T0 - DAY, T0 + 365 * DAY);
	assert_int_equal(custody_set_new(&f->set), 0);
	assert_int_equal(custody_set_add(f->set, "alice", f->alice.cert), 0);
	assert_int_equal(custody_set_add(f->set, "bob", f->bob.cert), 0);
	assert_int_equal(custody_set_add(f->set, "carol", f->carol.cert), 0);
	assert_int_equal(custody_set_add(f->set, "dave", f->dave.cert), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	state_free(f->st);
	custody_set_free(f->set);
	person_free(&f->alice);
	person_free(&f->bob);
	person_free(&f->carol);
	person_free(&f->dave);
	person_free(&f->mallory);
	free(f);
	return 0;
}

/* The plan "roll AV to new_key at T0 + 1 day", proposed at `now`. */
static json_t *
plan(struct fx *f, p11s_time effective, p11s_time now)
{
	const char *av[] = {AV};
	json_t *content = NULL;

	assert_int_equal(
	    custody_content(&f->pc, &f->st->pol, av, 1, &f->new_key, effective, 0, now, &content),
	    0);
	return content;
}

static json_t *
propose(struct fx *f, p11s_time effective, p11s_time now, char id[65])
{
	json_t *p = NULL;

	assert_int_equal(custody_propose(f->st, plan(f, effective, now), "op", now, id), 0);
	assert_int_equal(custody_find(f->st, id, &p), 0);
	return p;
}

/* An approval as `signer approve` makes it, signed by `signer` claiming `name`. */
static json_t *
approval(const person *signer, const char *name, const char *id, p11s_time at)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	p11s_alg alg;
	uint8_t sig[1024];
	size_t siglen = sizeof(sig), mlen;
	char *msg = NULL, *b64 = NULL;
	json_t *a;

	assert_int_equal(custody_key_alg(signer->key, &alg), 0);
	assert_int_equal(custody_message(id, name, at, &msg, &mlen), 0);
	assert_int_equal(EVP_DigestSignInit(md, NULL,
					    alg == P11S_ALG_ES384 ? EVP_sha384() : EVP_sha256(),
					    NULL, signer->key),
			 1);
	assert_int_equal(EVP_DigestSign(md, sig, &siglen, (const unsigned char *)msg, mlen), 1);
	assert_int_equal(p11s_b64url_encode(sig, siglen, &b64), 0);
	a = json_pack("{s:s, s:I, s:s, s:s, s:s}", "custodian", name, "approved_at", (json_int_t)at,
		      "alg", p11s_alg_name(alg), "signature", b64, "cert_sha256", "00");
	assert_non_null(a);
	free(msg);
	free(b64);
	EVP_MD_CTX_free(md);
	return a;
}

static void
assert_refused(int r, const char *what)
{
	assert_int_equal(r, P11S_E_POLICY);
	if (strstr(p11s_errmsg(r), what) == NULL)
		fail_msg("message '%s' lacks '%s'", p11s_errmsg(r), what);
}

/* ---- proposal ids ------------------------------------------------------- */

static void
test_id_canonical(void **state)
{
	struct fx *f = *state;
	json_t *a = plan(f, T0 + DAY, T0), *b, *c;
	char ida[65], idb[65], idc[65], hex[65], *text;
	const char *k;
	json_t *v;

	/* the id is SHA-256 of the compact, key-sorted form */
	text = json_dumps(a, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
	assert_int_equal(p11s_sha256_hex((const uint8_t *)text, strlen(text), hex), 0);
	assert_int_equal(custody_id(a, ida), 0);
	assert_string_equal(ida, hex);
	assert_non_null(strstr(text, "\"types\":[\"" AV "\"]"));
	assert_non_null(strstr(text, "\"expires_at\":1700259200"));
	free(text);
	/* member order does not matter */
	b = json_object();
	{
		const char *keys[32];
		size_t n = 0;

		json_object_foreach(a, k, v) keys[n++] = k;
		while (n > 0) {
			n--;
			json_object_set(b, keys[n], json_object_get(a, keys[n]));
		}
	}
	assert_int_equal(custody_id(b, idb), 0);
	assert_string_equal(ida, idb);
	/* any change to the plan is another id */
	c = json_deep_copy(a);
	json_object_set_new(c, "effective", json_integer(T0 + DAY + 1));
	assert_int_equal(custody_id(c, idc), 0);
	assert_string_not_equal(ida, idc);
	json_decref(c);
	c = plan(f, T0 + DAY, T0 + 1);
	assert_int_equal(custody_id(c, idc), 0);
	assert_string_not_equal(ida, idc);
	json_decref(c);
	/* types are sorted and deduplicated */
	{
		const char *both1[] = {OA, AV, AV}, *both2[] = {AV, OA};
		json_t *x = NULL, *y = NULL;
		char idx[65], idy[65];

		assert_int_equal(custody_content(&f->pc, &f->st->pol, both1, 3, &f->new_key,
						 T0 + DAY, 0, T0, &x),
				 0);
		assert_int_equal(custody_content(&f->pc, &f->st->pol, both2, 2, &f->new_key,
						 T0 + DAY, 0, T0, &y),
				 0);
		assert_int_equal(json_array_size(json_object_get(x, "types")), 2);
		assert_int_equal(custody_id(x, idx), 0);
		assert_int_equal(custody_id(y, idy), 0);
		assert_string_equal(idx, idy);
		json_decref(x);
		json_decref(y);
	}
	assert_int_equal(custody_id(json_object_get(a, "types"), idc), P11S_E_INVAL);
	json_decref(a);
	json_decref(b);
}

static void
test_content_timeline(void **state)
{
	struct fx *f = *state;
	json_t *a = plan(f, T0 + DAY, T0), *tl;

	tl = json_array_get(json_object_get(a, "timeline"), 0);
	assert_string_equal(json_string_value(json_object_get(tl, "current")), f->old_key.sha1);
	assert_int_equal(json_integer_value(json_object_get(tl, "current_expires")),
			 f->old_key.not_after);
	/* removable: switch + 8h token lifetime + 60s skew */
	assert_int_equal(json_integer_value(json_object_get(tl, "safe_removal")),
			 T0 + DAY + 8 * 3600 + 60);
	assert_string_equal(json_string_value(json_object_get(a, "key")), f->new_key.sha1);
	assert_int_equal(json_integer_value(json_object_get(a, "created_at")), T0);
	json_decref(a);
}

static void
test_propose_find_reject(void **state)
{
	struct fx *f = *state;
	char id[65], id2[65], prefix[9];
	json_t *p = propose(f, T0 + DAY, T0, id), *q;
	int r;

	assert_string_equal(custody_status(p, T0), "pending");
	assert_string_equal(custody_status(p, T0 + 3 * DAY), "expired");
	/* the same plan twice */
	r = custody_propose(f->st, plan(f, T0 + DAY, T0), "op", T0, id2);
	assert_int_equal(r, P11S_E_EXISTS);
	assert_non_null(strstr(p11s_errmsg(r), id));
	assert_int_equal(json_array_size(f->st->proposals), 1);
	/* find by prefix, case-insensitively */
	memcpy(prefix, id, 8);
	prefix[8] = '\0';
	prefix[0] = (char)(prefix[0] >= 'a' ? prefix[0] - 32 : prefix[0]);
	assert_int_equal(custody_find(f->st, prefix, &q), 0);
	assert_ptr_equal(q, p);
	assert_int_equal(custody_find(f->st, "abc", &q), P11S_E_INVAL);
	assert_null(q);
	assert_int_equal(custody_find(f->st, "zzzzzzzz", &q), P11S_E_INVAL);
	r = custody_find(f->st, "ffffffffffff", &q);
	assert_int_equal(r, P11S_E_NOTFOUND);
	assert_non_null(strstr(p11s_errmsg(r), "signer proposals"));
	json_array_append_new(f->st->proposals, json_pack("{s:s}", "id", "ffffffff00"));
	json_array_append_new(f->st->proposals, json_pack("{s:s}", "id", "ffffffff11"));
	r = custody_find(f->st, "ffffffff", &q);
	assert_int_equal(r, P11S_E_AMBIGUOUS);
	assert_non_null(strstr(p11s_errmsg(r), "2 proposals"));
	json_array_remove(f->st->proposals, 2);
	json_array_remove(f->st->proposals, 1);
	/* reject: once, never after staging */
	assert_int_equal(custody_reject(p, "op", "no", T0 + 1), 0);
	assert_string_equal(custody_status(p, T0 + 1), "rejected");
	assert_refused(custody_reject(p, "op", NULL, T0 + 2), "already rejected");
	q = propose(f, T0 + 2 * DAY, T0, id2);
	assert_int_equal(custody_mark_staged(q, T0 + 5), 0);
	assert_refused(custody_reject(q, "op", NULL, T0 + 6), "already staged");
	assert_string_equal(custody_status(q, T0 + 6), "staged");
	/* proposals not staged are pruned once expired for their lifetime */
	{
		char id3[65];

		(void)propose(f, T0 + 3 * DAY, T0 + 7 * DAY, id3);
		assert_int_equal(json_array_size(f->st->proposals), 2);
		assert_string_equal(
		    json_string_value(json_object_get(json_array_get(f->st->proposals, 0), "id")),
		    id2);
	}
}

/* ---- approvals ---------------------------------------------------------- */

static void
test_approval_checks(void **state)
{
	struct fx *f = *state;
	char id[65], other[65];
	json_t *p = propose(f, T0 + DAY, T0, id), *a;

	(void)propose(f, T0 + 2 * DAY, T0, other);
	/* valid: EC P-256, RSA, EC P-384 */
	a = approval(&f->alice, "alice", id, T0 + 10);
	assert_int_equal(custody_check_approval(f->set, p, a), 0);
	json_decref(a);
	a = approval(&f->bob, "bob", id, T0 + 10);
	assert_int_equal(custody_check_approval(f->set, p, a), 0);
	json_decref(a);
	a = approval(&f->carol, "carol", id, T0 + 10);
	assert_int_equal(custody_check_approval(f->set, p, a), 0);
	json_decref(a);
	/* unknown custodian */
	a = approval(&f->mallory, "mallory", id, T0 + 10);
	assert_refused(custody_check_approval(f->set, p, a), "not a configured custodian");
	json_decref(a);
	/* a key claiming to be a custodian */
	a = approval(&f->mallory, "alice", id, T0 + 10);
	assert_refused(custody_check_approval(f->set, p, a), "does not verify");
	json_decref(a);
	/* expired custodian certificate */
	a = approval(&f->dave, "dave", id, T0 + 10);
	assert_refused(custody_check_approval(f->set, p, a),
		       "certificate of custodian dave is not valid");
	json_decref(a);
	/* a signature over a different proposal */
	a = approval(&f->alice, "alice", other, T0 + 10);
	assert_refused(custody_check_approval(f->set, p, a), "does not verify over proposal");
	json_decref(a);
	/* the instant is signed */
	a = approval(&f->alice, "alice", id, T0 + 10);
	json_object_set_new(a, "approved_at", json_integer(T0 + 11));
	assert_refused(custody_check_approval(f->set, p, a), "does not verify");
	json_decref(a);
	/* outside the proposal's lifetime */
	a = approval(&f->alice, "alice", id, T0 + 3 * DAY);
	assert_refused(custody_check_approval(f->set, p, a), "outside the lifetime");
	json_decref(a);
	a = approval(&f->alice, "alice", id, T0 - 1);
	assert_refused(custody_check_approval(f->set, p, a), "outside the lifetime");
	json_decref(a);
	/* wrong algorithm name, malformed signature, malformed approval */
	a = approval(&f->alice, "alice", id, T0 + 10);
	json_object_set_new(a, "alg", json_string("ES384"));
	assert_refused(custody_check_approval(f->set, p, a), "needs ES256");
	json_object_set_new(a, "alg", json_string("ES256"));
	json_object_set_new(a, "signature", json_string("!!"));
	assert_refused(custody_check_approval(f->set, p, a), "malformed signature");
	json_object_del(a, "signature");
	assert_refused(custody_check_approval(f->set, p, a), "malformed approval");
	json_decref(a);
}

static void
test_identify(void **state)
{
	struct fx *f = *state;
	const char *name = NULL;
	EVP_PKEY *small;
	p11s_alg alg;

	assert_int_equal(custody_identify(f->set, f->carol.key, &name), 0);
	assert_string_equal(name, "carol");
	assert_refused(custody_identify(f->set, f->mallory.key, &name), "unknown key");
	assert_null(name);
	small = EVP_RSA_gen(1024);
	assert_int_equal(custody_key_alg(small, &alg), P11S_E_KEY_TYPE);
	EVP_PKEY_free(small);
}

static void
test_add_and_count(void **state)
{
	struct fx *f = *state;
	char id[65];
	json_t *p = propose(f, T0 + DAY, T0, id), *names = NULL;
	unsigned n = 99;

	assert_int_equal(custody_count(f->set, p, NULL), 0);
	assert_int_equal(
	    custody_add_approval(f->set, p, approval(&f->alice, "alice", id, T0 + 1), T0 + 1, &n),
	    0);
	assert_int_equal(n, 1);
	/* the same custodian again: refused, nothing changed */
	assert_refused(
	    custody_add_approval(f->set, p, approval(&f->alice, "alice", id, T0 + 2), T0 + 2, &n),
	    "custodian alice already approved");
	assert_int_equal(n, 0);
	assert_int_equal(json_array_size(json_object_get(p, "approvals")), 1);
	/* every refusal of check_approval stands, and changes nothing */
	assert_refused(custody_add_approval(f->set, p, approval(&f->mallory, "mallory", id, T0 + 2),
					    T0 + 2, &n),
		       "not a configured custodian");
	assert_refused(
	    custody_add_approval(f->set, p, approval(&f->dave, "dave", id, T0 + 2), T0 + 2, &n),
	    "not valid");
	assert_int_equal(json_array_size(json_object_get(p, "approvals")), 1);
	/* an invalid approval smuggled into the state does not count */
	json_array_append_new(json_object_get(p, "approvals"),
			      approval(&f->mallory, "bob", id, T0 + 3));
	assert_int_equal(custody_count(f->set, p, NULL), 1);
	/* ... nor block the real custodian */
	assert_int_equal(
	    custody_add_approval(f->set, p, approval(&f->bob, "bob", id, T0 + 4), T0 + 4, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(custody_count(f->set, p, &names), 2);
	assert_string_equal(json_string_value(json_array_get(names, 0)), "alice");
	assert_string_equal(json_string_value(json_array_get(names, 1)), "bob");
	json_decref(names);
	/* a repeated valid approval in the state counts once */
	json_array_append_new(json_object_get(p, "approvals"),
			      approval(&f->alice, "alice", id, T0 + 5));
	assert_int_equal(custody_count(f->set, p, NULL), 2);
	/* staged and expired proposals take no approvals */
	assert_int_equal(custody_mark_staged(p, T0 + 6), 0);
	assert_refused(
	    custody_add_approval(f->set, p, approval(&f->carol, "carol", id, T0 + 7), T0 + 7, &n),
	    "is staged");
	{
		char id2[65];
		json_t *q = propose(f, T0 + 2 * DAY, T0, id2);

		assert_refused(custody_add_approval(f->set, q,
						    approval(&f->carol, "carol", id2, T0 + 10),
						    T0 + 3 * DAY, &n),
			       "expired");
		assert_int_equal(json_array_size(json_object_get(q, "approvals")), 0);
	}
}

static void
test_same_certificate_counts_once(void **state)
{
	struct fx *f = *state;
	char id[65];
	json_t *p;
	unsigned n;

	/* alice's certificate configured a second time under another name */
	assert_int_equal(custody_set_add(f->set, "alice2", f->alice.cert), 0);
	p = propose(f, T0 + DAY, T0, id);
	assert_int_equal(
	    custody_add_approval(f->set, p, approval(&f->alice, "alice", id, T0 + 1), T0 + 1, &n),
	    0);
	assert_refused(
	    custody_add_approval(f->set, p, approval(&f->alice, "alice2", id, T0 + 2), T0 + 2, &n),
	    "one certificate counts once");
	json_array_append_new(json_object_get(p, "approvals"),
			      approval(&f->alice, "alice2", id, T0 + 3));
	assert_int_equal(custody_count(f->set, p, NULL), 1);
}

/* ---- the filter --------------------------------------------------------- */

/* Stage the proposal's roll in the state (as edit_approve does). */
static void
stage(struct fx *f, json_t *p, p11s_time now)
{
	const char *av[] = {AV};
	json_t *content = json_object_get(p, "content");

	assert_int_equal(
	    pol_apply_roll(&f->st->pol, av, 1, &f->new_key,
			   (p11s_time)json_integer_value(json_object_get(content, "effective")),
			   now, 0),
	    0);
	assert_int_equal(custody_mark_staged(p, now), 0);
}

static size_t
epochs(struct fx *f)
{
	return pol_state_type(&f->st->pol, AV)->n_epochs;
}

static void
test_filter(void **state)
{
	struct fx *f = *state;
	char id[65];
	json_t *p = propose(f, T0 + DAY, T0, id);
	size_t ignored = 99;
	unsigned n;

	assert_int_equal(
	    custody_add_approval(f->set, p, approval(&f->alice, "alice", id, T0 + 1), T0 + 1, &n),
	    0);
	assert_int_equal(
	    custody_add_approval(f->set, p, approval(&f->carol, "carol", id, T0 + 2), T0 + 2, &n),
	    0);
	stage(f, p, T0 + 2);
	assert_int_equal(epochs(f), 2);
	/* valid evidence: kept */
	assert_int_equal(custody_filter_set(f->set, 2, f->st, &ignored), 0);
	assert_int_equal(ignored, 0);
	assert_int_equal(epochs(f), 2);
	assert_int_equal(pol_issuing_key(&f->st->pol, AV, T0 + 2 * DAY)->sha1[0], 'b');
	/* quorum 3: two approvals are not enough, the roll is ignored */
	assert_int_equal(custody_filter_set(f->set, 3, f->st, &ignored), 0);
	assert_int_equal(ignored, 1);
	assert_int_equal(epochs(f), 1);
	assert_int_equal(pol_issuing_key(&f->st->pol, AV, T0 + 2 * DAY)->sha1[0], 'a');
}

static void
test_filter_without_evidence(void **state)
{
	struct fx *f = *state;
	const char *av[] = {AV};
	char id[65];
	json_t *p;
	size_t ignored = 0;
	unsigned n;

	/* a roll written without any proposal */
	assert_int_equal(pol_apply_roll(&f->st->pol, av, 1, &f->new_key, T0 + DAY, T0, 0), 0);
	/* quorum 1: nothing to enforce */
	assert_int_equal(custody_filter_set(f->set, 1, f->st, &ignored), 0);
	assert_int_equal(ignored, 0);
	assert_int_equal(epochs(f), 2);
	assert_int_equal(custody_filter_set(f->set, 2, f->st, &ignored), 0);
	assert_int_equal(ignored, 1);
	assert_int_equal(epochs(f), 1); /* the assignment stays */
	assert_int_equal(pol_issuing_key(&f->st->pol, AV, T0 + 2 * DAY)->sha1[0], 'a');

	/* one approval of two */
	p = propose(f, T0 + DAY, T0, id);
	assert_int_equal(
	    custody_add_approval(f->set, p, approval(&f->alice, "alice", id, T0 + 1), T0 + 1, &n),
	    0);
	stage(f, p, T0 + 2);
	assert_int_equal(custody_filter_set(f->set, 2, f->st, &ignored), 0);
	assert_int_equal(ignored, 1);

	/* approved, but the content changed afterwards (another effective instant) */
	json_array_append_new(json_object_get(p, "approvals"),
			      approval(&f->bob, "bob", id, T0 + 3));
	assert_int_equal(custody_count(f->set, p, NULL), 2);
	json_object_set_new(json_object_get(p, "content"), "effective", json_integer(T0 + 2 * DAY));
	assert_int_equal(pol_apply_roll(&f->st->pol, av, 1, &f->new_key, T0 + 2 * DAY, T0 + 3, 0),
			 0);
	assert_int_equal(custody_filter_set(f->set, 2, f->st, &ignored), 0);
	assert_int_equal(ignored, 1);
	assert_int_equal(epochs(f), 1);

	/* evidence for another type does not cover this one */
	{
		const char *oa[] = {OA};
		json_t *q = NULL;
		char id2[65];

		assert_int_equal(pol_apply_assign(&f->st->pol, oa, 1, &f->old_key, T0 - 50), 0);
		assert_int_equal(
		    custody_propose(f->st, plan(f, T0 + DAY, T0 + 10), "op", T0 + 10, id2), 0);
		assert_int_equal(custody_find(f->st, id2, &q), 0);
		assert_int_equal(custody_add_approval(f->set, q,
						      approval(&f->alice, "alice", id2, T0 + 11),
						      T0 + 11, &n),
				 0);
		assert_int_equal(custody_add_approval(f->set, q,
						      approval(&f->bob, "bob", id2, T0 + 12),
						      T0 + 12, &n),
				 0);
		assert_int_equal(
		    pol_apply_roll(&f->st->pol, oa, 1, &f->new_key, T0 + DAY, T0 + 12, 0), 0);
		assert_int_equal(custody_filter_set(f->set, 2, f->st, &ignored), 0);
		assert_int_equal(ignored, 1);
		assert_int_equal(pol_state_type(&f->st->pol, OA)->n_epochs, 1);
	}
}

static void
test_filter_with_config(void **state)
{
	struct fx *f = *state;
	const char *av[] = {AV};
	signer_conf *c = NULL;

	assert_int_equal(signer_conf_defaults(&c), 0);
	assert_int_equal(pol_apply_roll(&f->st->pol, av, 1, &f->new_key, T0 + DAY, T0, 0), 0);
	/* quorum 1 (the default): a no-op */
	assert_int_equal(custody_filter(c, f->st), 0);
	assert_int_equal(epochs(f), 2);
	signer_conf_free(c);
	/* quorum 2 with a custodian certificate that cannot be read: an error */
	assert_int_equal(signer_conf_parse("t.conf",
					   "[policy]\nquorum = 2\n"
					   "[custodian a]\ncertificate = /nonexistent/a.pem\n"
					   "[custodian b]\ncertificate = /nonexistent/b.pem\n",
					   &c),
			 0);
	assert_int_equal(custody_filter(c, f->st), P11S_E_CONFIG);
	assert_non_null(strstr(p11s_errmsg(P11S_E_CONFIG), "custodian a"));
	assert_int_equal(epochs(f), 2);
	signer_conf_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_id_canonical, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_content_timeline, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_propose_find_reject, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_approval_checks, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_identify, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_add_and_count, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_same_certificate_counts_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_filter, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_filter_without_evidence, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_filter_with_config, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The effective view (sets, timeline), safe removal and the state helpers. */
#include "config.h"

#include <string.h>

#include "common/error.h"
#include "tests/unit/policy_fixture.h"

static const char *const T_AV[] = {AV};
static const char *const T_OA[] = {OA};
static const char *const T_BOTH[] = {AV, OA};

#define NOW utc(2012, 7, 21, 0, 0, 0)
#define OLD_EXPIRY utc(2012, 7, 22, 14, 0, 0)

/* A/V: old EC key '1' (expires 2012-07-22T14:00Z), new key '2' staged at NOW
 * for effective instant e. */
static void
av_rolled(fx *f, p11s_time e, const pol_key **old, const pol_key **knew)
{
	*old = fx_key(f, '1', P11S_KT_EC_P256, 0, utc(2011, 7, 22, 14, 0, 0), OLD_EXPIRY);
	fx_assign(f, AV, *old, utc(2011, 7, 22, 14, 0, 0));
	*knew =
	    fx_key(f, '2', P11S_KT_EC_P256, 0, utc(2012, 7, 1, 0, 0, 0), utc(2013, 7, 1, 0, 0, 0));
	fx_roll_ok(f, T_AV, 1, *knew, e, NOW);
}

static void
assert_set(const pol_vkey *v, size_t n, size_t want_n, ...)
{
	va_list ap;

	assert_int_equal(n, want_n);
	va_start(ap, want_n);
	for (size_t i = 0; i < n; i++) {
		const char *sha1 = va_arg(ap, const char *);
		int role = va_arg(ap, int);

		assert_non_null(v[i].key);
		assert_string_equal(v[i].key->sha1, sha1);
		assert_int_equal(v[i].role, role);
	}
	va_end(ap);
}

static void
vset(fx *f, p11s_time now, const char *kid, pol_vkey *v, size_t *n)
{
	pol_verification_set(&f->conf, &f->st, AV, now, kid, v, 8, n);
}

/* ---- verification and publication sets ------------------------------------ */

static void
test_verification_set_timeline(void **state)
{
	fx *f = *state;
	const p11s_time e = utc(2012, 7, 22, 6, 0, 0);
	const pol_key *old, *knew;
	pol_vkey v[8];
	size_t n = 99;

	av_rolled(f, e, &old, &knew);
	vset(f, e - 61, NULL, v, &n);
	assert_set(v, n, 1, old->sha1, POL_ROLE_CURRENT);
	vset(f, e - 60, NULL, v, &n);
	assert_set(v, n, 2, old->sha1, POL_ROLE_CURRENT, knew->sha1, POL_ROLE_STAGED);
	vset(f, e - 1, NULL, v, &n);
	assert_set(v, n, 2, old->sha1, POL_ROLE_CURRENT, knew->sha1, POL_ROLE_STAGED);
	vset(f, e, NULL, v, &n);
	assert_set(v, n, 2, knew->sha1, POL_ROLE_CURRENT, old->sha1, POL_ROLE_PREVIOUS);
	vset(f, OLD_EXPIRY - 1, NULL, v, &n);
	assert_set(v, n, 2, knew->sha1, POL_ROLE_CURRENT, old->sha1, POL_ROLE_PREVIOUS);
	vset(f, OLD_EXPIRY, NULL, v, &n);
	assert_set(v, n, 1, knew->sha1, POL_ROLE_CURRENT);
	assert_string_equal(pol_issuing_key(&f->st, AV, e - 1)->sha1, old->sha1);
	assert_string_equal(pol_issuing_key(&f->st, AV, e)->sha1, knew->sha1);

	/* At most `max` entries, in order. */
	pol_verification_set(&f->conf, &f->st, AV, e, NULL, v, 1, &n);
	assert_set(v, n, 1, knew->sha1, POL_ROLE_CURRENT);
	/* Types without keys have an empty set. */
	pol_verification_set(&f->conf, &f->st, OA, e, NULL, v, 8, &n);
	assert_int_equal(n, 0);
	pol_verification_set(&f->conf, &f->st, "Nope", e, NULL, v, 8, &n);
	assert_int_equal(n, 0);
	assert_null(pol_issuing_key(&f->st, "Nope", e));
}

static void
test_kid_narrowing(void **state)
{
	fx *f = *state;
	const p11s_time e = utc(2012, 7, 22, 6, 0, 0);
	const pol_key *old, *knew;
	pol_vkey v[8];
	size_t n;

	av_rolled(f, e, &old, &knew);
	vset(f, e, old->sha256, v, &n);
	assert_set(v, n, 1, old->sha1, POL_ROLE_PREVIOUS);
	vset(f, e, knew->sha256, v, &n);
	assert_set(v, n, 1, knew->sha1, POL_ROLE_CURRENT);
	/* Never widened: an expired key, a staged key before E - skew, an
	 * unknown key all give an empty set. */
	vset(f, OLD_EXPIRY, old->sha256, v, &n);
	assert_int_equal(n, 0);
	vset(f, e - 61, knew->sha256, v, &n);
	assert_int_equal(n, 0);
	vset(f, e, "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", v, &n);
	assert_int_equal(n, 0);
}

static void
test_kid_case_insensitive(void **state)
{
	fx *f = *state;
	const pol_key *k =
	    fx_key(f, 'a', P11S_KT_EC_P256, 0, utc(2012, 1, 1, 0, 0, 0), utc(2013, 1, 1, 0, 0, 0));
	pol_vkey v[4];
	size_t n;

	fx_assign(f, AV, k, NOW);
	vset(f, NOW, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", v, &n);
	assert_set(v, n, 1, k->sha1, POL_ROLE_CURRENT);
}

static void
test_publication_set(void **state)
{
	fx *f = *state;
	const p11s_time e = utc(2012, 7, 22, 6, 0, 0);
	const pol_key *old, *knew;
	pol_vkey v[8];
	size_t n;

	av_rolled(f, e, &old, &knew);
	pol_publication_set(&f->conf, &f->st, AV, NOW - 1, v, 8, &n);
	assert_set(v, n, 1, old->sha1, POL_ROLE_CURRENT);
	/* Published from the moment it is staged, a day before verification. */
	pol_publication_set(&f->conf, &f->st, AV, NOW, v, 8, &n);
	assert_set(v, n, 2, old->sha1, POL_ROLE_CURRENT, knew->sha1, POL_ROLE_STAGED);
	vset(f, NOW, NULL, v, &n);
	assert_set(v, n, 1, old->sha1, POL_ROLE_CURRENT);
	pol_publication_set(&f->conf, &f->st, AV, e, v, 8, &n);
	assert_set(v, n, 2, knew->sha1, POL_ROLE_CURRENT, old->sha1, POL_ROLE_PREVIOUS);
	pol_publication_set(&f->conf, &f->st, AV, e, v, 0, &n);
	assert_int_equal(n, 0);
}

/* Rule 3c: an expired current certificate verifies nothing, and no token is
 * signed with it; exp is cut at notAfter. */
static void
test_expired_current_certificate(void **state)
{
	fx *f = *state;
	const pol_key *old, *knew;
	pol_refusal why;
	pol_vkey v[8];
	size_t n = 99;
	int64_t life = -1;

	old = fx_key(f, '1', P11S_KT_EC_P256, 0, utc(2011, 7, 22, 14, 0, 0), OLD_EXPIRY);
	fx_assign(f, AV, old, utc(2011, 7, 22, 14, 0, 0));
	vset(f, OLD_EXPIRY - 1, NULL, v, &n);
	assert_set(v, n, 1, old->sha1, POL_ROLE_CURRENT);
	vset(f, OLD_EXPIRY, NULL, v, &n);
	assert_set(v, n, 0);
	vset(f, OLD_EXPIRY, old->sha256, v, &n);
	assert_set(v, n, 0);
	pol_publication_set(&f->conf, &f->st, AV, OLD_EXPIRY, v, 8, &n);
	assert_int_equal(n, 0);

	/* issuing: full lifetime, shortened at notAfter, refused at and after it */
	assert_int_equal(pol_check_issue(old, OLD_EXPIRY - 3 * 3600, 3600, &life, &why), 0);
	assert_int_equal(life, 3600);
	assert_int_equal(pol_check_issue(old, OLD_EXPIRY - 100, 3600, &life, &why), 0);
	assert_int_equal(life, 100);
	assert_int_equal(pol_check_issue(old, OLD_EXPIRY - 1, 3600, &life, &why), 0);
	assert_int_equal(life, 1);
	fx_assert_refused(pol_check_issue(old, OLD_EXPIRY, 3600, &life, &why), &why,
			  POL_R_CERT_NOT_VALID_NOW, "", 0, old->sha1, "expired at",
			  "2012-07-22T14:00:00Z", "notAfter", NULL);
	assert_int_equal(life, 0);
	assert_string_equal(pol_rule_name(why.rule), "certificate_not_valid_now");
	fx_assert_refused(pol_check_issue(old, utc(2013, 8, 1, 0, 0, 0), 3600, &life, &why), &why,
			  POL_R_CERT_NOT_VALID_NOW, "", 0, "2012-07-22T14:00:00Z", NULL);
	knew =
	    fx_key(f, '2', P11S_KT_EC_P256, 0, utc(2012, 7, 1, 0, 0, 0), utc(2013, 7, 1, 0, 0, 0));
	fx_assert_refused(pol_check_issue(knew, utc(2012, 6, 30, 0, 0, 0), 3600, &life, &why), &why,
			  POL_R_CERT_NOT_VALID_NOW, "", utc(2012, 7, 1, 0, 0, 0),
			  "not valid until 2012-07-01T00:00:00Z", "notBefore", NULL);
	assert_int_equal(pol_check_issue(NULL, NOW, 3600, &life, &why), P11S_E_INVAL);
}

static void
test_previous_newest_first(void **state)
{
	fx *f = *state;
	const pol_key *a =
	    fx_key(f, 'a', P11S_KT_EC_P256, 0, utc(2012, 1, 1, 0, 0, 0), utc(2013, 1, 1, 0, 0, 0));
	const pol_key *b =
	    fx_key(f, 'b', P11S_KT_EC_P256, 0, utc(2012, 1, 1, 0, 0, 0), utc(2014, 1, 1, 0, 0, 0));
	const pol_key *c =
	    fx_key(f, 'c', P11S_KT_EC_P256, 0, utc(2012, 1, 1, 0, 0, 0), utc(2015, 1, 1, 0, 0, 0));
	pol_vkey v[8];
	size_t n;

	fx_assign(f, AV, a, utc(2012, 1, 1, 0, 0, 0));
	fx_roll_ok(f, T_AV, 1, b, utc(2012, 2, 2, 0, 0, 0), utc(2012, 2, 1, 0, 0, 0));
	fx_roll_ok(f, T_AV, 1, c, utc(2012, 3, 2, 0, 0, 0), utc(2012, 3, 1, 0, 0, 0));
	vset(f, utc(2012, 3, 3, 0, 0, 0), NULL, v, &n);
	assert_set(v, n, 3, c->sha1, POL_ROLE_CURRENT, b->sha1, POL_ROLE_PREVIOUS, a->sha1,
		   POL_ROLE_PREVIOUS);
	assert_int_equal(pol_apply_remove(&f->st, b->sha1, utc(2012, 3, 3, 0, 0, 0)), 0);
	vset(f, utc(2012, 3, 3, 0, 0, 1), NULL, v, &n);
	assert_set(v, n, 2, c->sha1, POL_ROLE_CURRENT, a->sha1, POL_ROLE_PREVIOUS);
	/* History is kept: the epochs stay. */
	assert_int_equal(pol_state_type(&f->st, AV)->n_epochs, 3);
}

/* ---- timeline ------------------------------------------------------------ */

static void
test_timeline(void **state)
{
	fx *f = *state;
	const p11s_time e = utc(2012, 7, 22, 6, 0, 0);
	const pol_key *old, *knew;
	pol_timeline t;

	av_rolled(f, e, &old, &knew);
	assert_int_equal(pol_timeline_of(&f->conf, &f->st, AV, NOW + 1, &t), 0);
	assert_string_equal(t.current->sha1, old->sha1);
	assert_int_equal(t.current_since, utc(2011, 7, 22, 14, 0, 0));
	assert_string_equal(t.staged->sha1, knew->sha1);
	assert_int_equal(t.effective, e);
	assert_int_equal(t.staged_at, NOW);
	assert_null(t.previous);
	assert_int_equal(t.previous_until, 0);
	assert_int_equal(t.previous_expiry, 0);
	assert_int_equal(t.safe_removal, 0);

	assert_int_equal(pol_timeline_of(&f->conf, &f->st, AV, e + 1, &t), 0);
	assert_string_equal(t.current->sha1, knew->sha1);
	assert_int_equal(t.current_since, e);
	assert_null(t.staged);
	assert_int_equal(t.effective, 0);
	assert_int_equal(t.staged_at, 0);
	assert_string_equal(t.previous->sha1, old->sha1);
	assert_int_equal(t.previous_until, e);
	assert_int_equal(t.previous_expiry, OLD_EXPIRY);
	assert_int_equal(t.safe_removal, OLD_EXPIRY);

	/* A configured type without keys: empty timeline. */
	assert_int_equal(pol_timeline_of(&f->conf, &f->st, OA, e, &t), 0);
	assert_null(t.current);
	assert_null(t.staged);
	assert_null(t.previous);
	assert_int_equal(pol_timeline_of(&f->conf, &f->st, "Nope", e, &t), P11S_E_NOTFOUND);
	assert_non_null(strstr(p11s_errmsg(P11S_E_NOTFOUND), "Nope"));
	assert_null(t.current);
}

/* ---- safe removal and remove --------------------------------------------- */

static void
test_safe_removal_cert_expiry_earlier(void **state)
{
	fx *f = *state;
	const pol_key *old, *knew;

	/* 06:00 + 8h + 60s = 14:01 is after the certificate's 14:00 expiry. */
	av_rolled(f, utc(2012, 7, 22, 6, 0, 0), &old, &knew);
	assert_int_equal(pol_safe_removal(&f->conf, &f->st, old->sha1), OLD_EXPIRY);
	/* The issuing key has no safe-removal instant; nor has an unknown key. */
	assert_int_equal(pol_safe_removal(&f->conf, &f->st, knew->sha1), 0);
	assert_int_equal(
	    pol_safe_removal(&f->conf, &f->st, "0000000000000000000000000000000000000000"), 0);
}

static void
test_safe_removal_switch_earlier(void **state)
{
	fx *f = *state;
	const pol_key *old, *knew;

	av_rolled(f, utc(2012, 7, 22, 2, 0, 0), &old, &knew);
	assert_int_equal(pol_safe_removal(&f->conf, &f->st, old->sha1), utc(2012, 7, 22, 10, 1, 0));
	f->conf.clock_skew = 0;
	assert_int_equal(pol_safe_removal(&f->conf, &f->st, old->sha1), utc(2012, 7, 22, 10, 0, 0));
}

static void
remove_refused(fx *f, const char *type, p11s_time now, pol_rule rule, const char *rtype,
	       p11s_time nearest, const char *s1, const char *s2)
{
	const pol_key *victim = (const pol_key *)f;
	int forced = 7;
	pol_refusal why;
	pol_state before;
	int r;

	assert_int_equal(pol_state_copy(&f->st, &before), 0);
	r = pol_check_remove(&f->conf, &f->st, type, now, 0, &victim, &forced, &why);
	fx_assert_refused(r, &why, rule, rtype, nearest, s1, s2, NULL);
	assert_null(victim);
	assert_int_equal(forced, 0);
	fx_assert_state_equal(&f->st, &before);
	pol_state_free(&before);
}

static void
test_remove_flow(void **state)
{
	fx *f = *state;
	const p11s_time e = utc(2012, 7, 22, 2, 0, 0);
	const p11s_time safe = utc(2012, 7, 22, 10, 1, 0);
	const pol_key *old, *knew, *victim;
	pol_refusal why;
	pol_timeline t;
	pol_vkey v[4];
	size_t n;
	int forced;

	av_rolled(f, e, &old, &knew);
	/* Before the switch the old key is still current: nothing to remove. */
	remove_refused(f, AV, e - 1, POL_R_NO_PREVIOUS, AV, 0, AV, "no previous key");
	remove_refused(f, AV, safe - 1, POL_R_REMOVE_TOO_EARLY, AV, safe, "2012-07-22T10:01:00Z",
		       "--force");
	assert_int_equal(
	    pol_check_remove(&f->conf, &f->st, AV, safe - 1, 0, &victim, &forced, &why),
	    P11S_E_POLICY);
	assert_int_equal(why.bound, safe);

	assert_int_equal(
	    pol_check_remove(&f->conf, &f->st, AV, safe - 1, 1, &victim, &forced, &why), 0);
	assert_int_equal(forced, 1);
	assert_string_equal(victim->sha1, old->sha1);
	assert_int_equal(why.rule, POL_OK);

	assert_int_equal(pol_check_remove(&f->conf, &f->st, AV, safe, 0, &victim, &forced, &why),
			 0);
	assert_int_equal(forced, 0);
	assert_string_equal(victim->sha1, old->sha1);
	assert_int_equal(pol_apply_remove(&f->st, old->sha1, safe), 0);
	assert_int_equal(pol_state_key(&f->st, old->sha1)->removed_at, safe);
	assert_int_equal(pol_state_type(&f->st, AV)->n_epochs, 2);

	vset(f, safe, NULL, v, &n);
	assert_set(v, n, 1, knew->sha1, POL_ROLE_CURRENT);
	assert_int_equal(pol_timeline_of(&f->conf, &f->st, AV, safe, &t), 0);
	assert_null(t.previous);
	remove_refused(f, AV, safe + 1, POL_R_NO_PREVIOUS, AV, 0, AV, "2012-07-22T10:01:01Z");
	assert_int_equal(pol_apply_remove(&f->st, old->sha1, safe + 1), P11S_E_INVAL);
	assert_int_equal(pol_state_key(&f->st, old->sha1)->removed_at, safe);
	assert_int_equal(pol_apply_remove(&f->st, "0000000000000000000000000000000000000000", safe),
			 P11S_E_NOTFOUND);
}

static void
test_remove_at_cert_expiry(void **state)
{
	fx *f = *state;
	const pol_key *old, *knew, *victim;
	pol_refusal why;
	int forced;

	av_rolled(f, utc(2012, 7, 22, 6, 0, 0), &old, &knew);
	remove_refused(f, AV, OLD_EXPIRY - 1, POL_R_REMOVE_TOO_EARLY, AV, OLD_EXPIRY,
		       "2012-07-22T14:00:00Z", old->sha1);
	assert_int_equal(
	    pol_check_remove(&f->conf, &f->st, AV, OLD_EXPIRY, 0, &victim, &forced, &why), 0);
	assert_string_equal(victim->sha1, old->sha1);
	assert_int_equal(forced, 0);
}

static void
test_remove_no_previous_and_unknown(void **state)
{
	fx *f = *state;
	const pol_key *k =
	    fx_key(f, 'a', P11S_KT_EC_P256, 0, utc(2012, 1, 1, 0, 0, 0), utc(2013, 1, 1, 0, 0, 0));

	remove_refused(f, AV, NOW, POL_R_NO_PREVIOUS, AV, 0, AV, "no previous key");
	fx_assign(f, AV, k, NOW);
	remove_refused(f, AV, NOW + H(100), POL_R_NO_PREVIOUS, AV, 0, AV, "no previous key");
	remove_refused(f, "Nope", NOW, POL_R_UNKNOWN_TYPE, "Nope", 0, "Nope", OA);
}

static void
test_remove_combined_in_use(void **state)
{
	fx *f = *state;
	const pol_key *old =
	    fx_key(f, '5', P11S_KT_EC_P256, 0, utc(2011, 7, 22, 14, 0, 0), OLD_EXPIRY);
	const pol_key *knew =
	    fx_key(f, '6', P11S_KT_EC_P256, 0, utc(2012, 7, 1, 0, 0, 0), utc(2013, 7, 1, 0, 0, 0));
	const pol_key *victim;
	pol_refusal why;
	int forced;

	f->tc[1].alg = P11S_ALG_ES256;
	f->tc[1].token_lifetime = H(10);
	assert_int_equal(pol_apply_assign(&f->st, T_BOTH, 2, old, utc(2011, 7, 22, 14, 0, 0)), 0);
	fx_roll_ok(f, T_OA, 1, knew, utc(2012, 7, 21, 12, 0, 0), NOW);
	/* A/V's roll of the same key: a combined certificate again. */
	fx_roll_ok(f, T_AV, 1, knew, utc(2012, 7, 22, 2, 0, 0), NOW + 60);

	/* Between the two switches: previous of OAuth, still current for A/V. */
	remove_refused(f, OA, utc(2012, 7, 22, 0, 0, 0), POL_R_IN_USE, AV, 0, "current", AV);
	assert_int_equal(pol_safe_removal(&f->conf, &f->st, old->sha1),
			 utc(2012, 7, 22, 12, 1, 0)); /* 02:00 + max(8h, 10h) + 60 s */
	remove_refused(f, OA, utc(2012, 7, 22, 12, 0, 59), POL_R_REMOVE_TOO_EARLY, OA,
		       utc(2012, 7, 22, 12, 1, 0), "2012-07-22T12:01:00Z", NULL);
	assert_int_equal(pol_check_remove(&f->conf, &f->st, AV, utc(2012, 7, 22, 12, 1, 0), 0,
					  &victim, &forced, &why),
			 0);
	assert_string_equal(victim->sha1, old->sha1);
}

static void
test_remove_staged_elsewhere(void **state)
{
	fx *f = *state;
	const pol_key *a =
	    fx_key(f, 'a', P11S_KT_EC_P256, 0, utc(2012, 1, 1, 0, 0, 0), utc(2013, 1, 1, 0, 0, 0));
	const pol_key *b =
	    fx_key(f, 'b', P11S_KT_EC_P256, 0, utc(2012, 1, 1, 0, 0, 0), utc(2014, 1, 1, 0, 0, 0));
	const pol_key *c =
	    fx_key(f, 'c', P11S_KT_EC_P256, 0, utc(2012, 1, 1, 0, 0, 0), utc(2012, 12, 1, 0, 0, 0));

	f->tc[1].alg = P11S_ALG_ES256;
	fx_assign(f, AV, a, utc(2012, 1, 1, 0, 0, 0));
	fx_roll_ok(f, T_AV, 1, b, utc(2012, 2, 2, 0, 0, 0), utc(2012, 2, 1, 0, 0, 0));
	/* a, A/V's previous key, is staged for OAuth. */
	fx_assign(f, OA, c, utc(2012, 1, 1, 0, 0, 0));
	fx_roll_ok(f, T_OA, 1, a, utc(2012, 6, 1, 0, 0, 0), utc(2012, 5, 1, 0, 0, 0));
	remove_refused(f, AV, utc(2012, 5, 2, 0, 0, 0), POL_R_IN_USE, OA, 0, "staged", OA);
	assert_int_equal(pol_safe_removal(&f->conf, &f->st, a->sha1), 0);
}

/* ---- state helpers -------------------------------------------------------- */

static void
test_state_helpers(void **state)
{
	fx *f = *state;
	const pol_key *k =
	    fx_key(f, 'a', P11S_KT_EC_P256, 0, utc(2012, 1, 1, 0, 0, 0), utc(2013, 1, 1, 0, 0, 0));
	pol_key refresh = *k, bad;
	pol_state copy;
	const pol_key *rec;

	pol_state_free(NULL);
	assert_int_equal(pol_state_put_key(&f->st, k), 0);
	assert_int_equal(pol_apply_remove(&f->st, k->sha1, NOW), 0);
	refresh.not_after = utc(2014, 1, 1, 0, 0, 0);
	refresh.cert_der = NULL;
	refresh.cert_len = 0;
	assert_int_equal(pol_state_put_key(&f->st, &refresh), 0);
	assert_int_equal(f->st.n_keys, 1);
	rec = pol_state_key(&f->st, k->sha1);
	assert_int_equal(rec->not_after, utc(2014, 1, 1, 0, 0, 0));
	assert_int_equal(rec->removed_at, NOW); /* kept */
	assert_null(rec->cert_der);
	/* Refreshing a record with itself keeps its certificate. */
	assert_int_equal(pol_state_put_key(&f->st, k), 0);
	rec = pol_state_key(&f->st, k->sha1);
	assert_int_equal(pol_state_put_key(&f->st, rec), 0);
	rec = pol_state_key(&f->st, k->sha1);
	assert_int_equal(rec->cert_len, k->cert_len);
	assert_memory_equal(rec->cert_der, k->cert_der, k->cert_len);

	fx_assign(
	    f, AV,
	    fx_key(f, 'b', P11S_KT_EC_P256, 0, utc(2012, 1, 1, 0, 0, 0), utc(2013, 1, 1, 0, 0, 0)),
	    NOW);
	assert_int_equal(pol_state_copy(&f->st, &copy), 0);
	fx_assert_state_equal(&f->st, &copy);
	assert_ptr_not_equal(copy.keys, f->st.keys);
	assert_ptr_not_equal(copy.keys[0].cert_der, f->st.keys[0].cert_der);
	assert_ptr_not_equal(copy.types[0].epochs, f->st.types[0].epochs);
	copy.types[0].epochs[0].effective = 1;
	assert_int_equal(f->st.types[0].epochs[0].effective, NOW);
	pol_state_free(&copy);
	assert_int_equal(copy.n_keys, 0);
	assert_null(copy.keys);

	assert_non_null(pol_conf_type(&f->conf, OA));
	assert_null(pol_conf_type(&f->conf, "oauthtokenissuer"));
	assert_null(pol_state_type(&f->st, OA));
	assert_null(pol_state_key(&f->st, "b"));

	memset(&bad, 0, sizeof(bad));
	assert_int_equal(pol_state_put_key(&f->st, &bad), P11S_E_INVAL);
	assert_int_equal(pol_apply_roll(&f->st, T_AV, 1, &bad, NOW, NOW, 0), P11S_E_INVAL);
	assert_int_equal(f->st.n_keys, 2);
}

static void
test_epochs_kept_sorted(void **state)
{
	fx *f = *state;
	const pol_key *a =
	    fx_key(f, 'a', P11S_KT_EC_P256, 0, utc(2012, 1, 1, 0, 0, 0), utc(2013, 1, 1, 0, 0, 0));
	const pol_key *b =
	    fx_key(f, 'b', P11S_KT_EC_P256, 0, utc(2012, 1, 1, 0, 0, 0), utc(2014, 1, 1, 0, 0, 0));
	const pol_key *c =
	    fx_key(f, 'c', P11S_KT_EC_P256, 0, utc(2012, 1, 1, 0, 0, 0), utc(2015, 1, 1, 0, 0, 0));
	const pol_type_state *ts;

	fx_assign(f, AV, a, NOW);
	assert_int_equal(pol_apply_roll(&f->st, T_AV, 1, c, NOW + H(48), NOW, 0), 0);
	assert_int_equal(pol_apply_roll(&f->st, T_AV, 1, b, NOW + H(24), NOW, 0), 0);
	ts = pol_state_type(&f->st, AV);
	assert_int_equal(ts->n_epochs, 3);
	assert_string_equal(ts->epochs[0].key, a->sha1);
	assert_string_equal(ts->epochs[1].key, b->sha1);
	assert_string_equal(ts->epochs[2].key, c->sha1);
	/* --replace withdraws every pending epoch of the type. */
	assert_int_equal(pol_apply_roll(&f->st, T_AV, 1, c, NOW + H(30), NOW + 1, 1), 0);
	ts = pol_state_type(&f->st, AV);
	assert_int_equal(ts->n_epochs, 2);
	assert_string_equal(ts->epochs[1].key, c->sha1);
	assert_int_equal(ts->epochs[1].effective, NOW + H(30));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_verification_set_timeline),
	    T(test_kid_narrowing),
	    T(test_kid_case_insensitive),
	    T(test_publication_set),
	    T(test_expired_current_certificate),
	    T(test_previous_newest_first),
	    T(test_timeline),
	    T(test_safe_removal_cert_expiry_earlier),
	    T(test_safe_removal_switch_earlier),
	    T(test_remove_flow),
	    T(test_remove_at_cert_expiry),
	    T(test_remove_no_previous_and_unknown),
	    T(test_remove_combined_in_use),
	    T(test_remove_staged_elsewhere),
	    T(test_state_helpers),
	    T(test_epochs_kept_sorted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

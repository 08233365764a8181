/* Admission of assignments and rolls (SPEC §3 rules 1-4) and `auto`. */
#include "config.h"

#include <string.h>

#include "common/error.h"
#include "tests/unit/policy_fixture.h"

static const char *const T_AV[] = {AV};
static const char *const T_OA[] = {OA};
static const char *const T_BOTH[] = {AV, OA};

#define NOW utc(2012, 7, 21, 0, 0, 0)
#define OLD_EXPIRY utc(2012, 7, 22, 14, 0, 0)

/* A/V: current EC key '1' (expires 2012-07-22T14:00Z) assigned a year
 * earlier; returns the new EC key '2', valid 2012-07-01..2013-07-01. */
static const pol_key *
av_setup(fx *f)
{
	const pol_key *old =
	    fx_key(f, '1', P11S_KT_EC_P256, 0, utc(2011, 7, 22, 14, 0, 0), OLD_EXPIRY);

	fx_assign(f, AV, old, utc(2011, 7, 22, 14, 0, 0));
	return fx_key(f, '2', P11S_KT_EC_P256, 0, utc(2012, 7, 1, 0, 0, 0),
		      utc(2013, 7, 1, 0, 0, 0));
}

/* OAuth: current RSA key '3' (expires 2012-07-22T14:00Z); new RSA key '4'. */
static const pol_key *
oa_setup(fx *f)
{
	const pol_key *old =
	    fx_key(f, '3', P11S_KT_RSA, 2048, utc(2011, 7, 22, 14, 0, 0), OLD_EXPIRY);

	fx_assign(f, OA, old, utc(2011, 7, 22, 14, 0, 0));
	return fx_key(f, '4', P11S_KT_RSA, 2048, utc(2012, 7, 1, 0, 0, 0),
		      utc(2013, 7, 1, 0, 0, 0));
}

/* Both types on ES256 with one combined current key '5'; new key '6'. */
static const pol_key *
combined_setup(fx *f)
{
	const pol_key *old =
	    fx_key(f, '5', P11S_KT_EC_P256, 0, utc(2011, 7, 22, 14, 0, 0), OLD_EXPIRY);

	f->tc[1].alg = P11S_ALG_ES256;
	assert_int_equal(pol_apply_assign(&f->st, T_BOTH, 2, old, utc(2011, 7, 22, 14, 0, 0)), 0);
	return fx_key(f, '6', P11S_KT_EC_P256, 0, utc(2012, 7, 1, 0, 0, 0),
		      utc(2013, 7, 1, 0, 0, 0));
}

static int
roll(fx *f, const char *const *types, size_t n, const pol_key *k, p11s_time e, p11s_time now,
     pol_refusal *why)
{
	pol_candidate c = fx_cand(k);

	return pol_check_roll(&f->conf, &f->st, types, n, &c, e, now, 0, why);
}

/* ---- the A/V and OAuth examples ------------------------------------------ */

static void
test_av_lead_boundary(void **state)
{
	fx *f = *state;
	const pol_key *k = av_setup(f);
	pol_candidate c = fx_cand(k);
	pol_refusal why;

	assert_int_equal(roll(f, T_AV, 1, k, utc(2012, 7, 22, 6, 0, 0), NOW, &why), 0);
	assert_int_equal(why.rule, POL_OK);
	fx_roll_refused(f, T_AV, 1, &c, utc(2012, 7, 22, 6, 0, 1), NOW, 0, POL_R_LEAD_TOO_SHORT, AV,
			utc(2012, 7, 22, 6, 0, 0), AV, "8h", "2012-07-22T06:00:00Z",
			"2012-07-22T14:00:00Z", "2012-07-22T06:00:01Z", NULL);
	assert_int_equal(roll(f, T_AV, 1, k, utc(2012, 7, 22, 6, 0, 1), NOW, &why), P11S_E_POLICY);
	assert_int_equal(why.bound, H(8));
}

static void
test_oauth_lead_boundary(void **state)
{
	fx *f = *state;
	const pol_key *k = oa_setup(f);
	pol_candidate c = fx_cand(k);
	pol_refusal why;

	assert_int_equal(roll(f, T_OA, 1, k, utc(2012, 7, 21, 13, 0, 0), NOW, &why), 0);
	assert_int_equal(roll(f, T_OA, 1, k, utc(2012, 7, 21, 14, 0, 0), NOW, &why), 0);
	fx_roll_refused(f, T_OA, 1, &c, utc(2012, 7, 21, 14, 0, 1), NOW, 0, POL_R_LEAD_TOO_SHORT,
			OA, utc(2012, 7, 21, 14, 0, 0), OA, "24h", "2012-07-21T14:00:00Z", NULL);
}

static void
test_both_types_need_largest_lead(void **state)
{
	fx *f = *state;
	const pol_key *k = combined_setup(f);
	pol_candidate c = fx_cand(k);
	pol_refusal why;

	/* A/V alone would accept 06:00 on the 22nd; with OAuth 24 h rule. */
	assert_int_equal(roll(f, T_AV, 1, k, utc(2012, 7, 22, 6, 0, 0), NOW, &why), 0);
	fx_roll_refused(f, T_BOTH, 2, &c, utc(2012, 7, 22, 6, 0, 0), NOW, 0, POL_R_LEAD_TOO_SHORT,
			OA, utc(2012, 7, 21, 14, 0, 0), OA, "24h", "2012-07-21T14:00:00Z", NULL);
	fx_roll_refused(f, T_BOTH, 2, &c, utc(2012, 7, 21, 14, 0, 1), NOW, 0, POL_R_LEAD_TOO_SHORT,
			OA, utc(2012, 7, 21, 14, 0, 0), OA, "24h", NULL);
	assert_int_equal(roll(f, T_BOTH, 2, k, utc(2012, 7, 21, 14, 0, 0), NOW, &why), 0);
}

static void
test_lead_binding_type_and_ties(void **state)
{
	fx *f = *state;
	const pol_key *av_old = fx_key(f, '1', P11S_KT_EC_P256, 0, utc(2011, 1, 1, 0, 0, 0),
				       utc(2012, 7, 22, 10, 0, 0));
	const pol_key *oa_old =
	    fx_key(f, '3', P11S_KT_EC_P256, 0, utc(2011, 1, 1, 0, 0, 0), OLD_EXPIRY);
	const pol_key *k =
	    fx_key(f, '6', P11S_KT_EC_P256, 0, utc(2012, 7, 1, 0, 0, 0), utc(2013, 7, 1, 0, 0, 0));
	pol_candidate c = fx_cand(k);

	f->tc[1].alg = P11S_ALG_ES256;
	fx_assign(f, AV, av_old, utc(2011, 1, 1, 0, 0, 0));
	fx_assign(f, OA, oa_old, utc(2011, 1, 1, 0, 0, 0));
	/* OAuth sets L = 24h; A/V's current expires first and binds. */
	fx_roll_refused(f, T_BOTH, 2, &c, utc(2012, 7, 21, 10, 0, 1), NOW, 0, POL_R_LEAD_TOO_SHORT,
			OA, utc(2012, 7, 21, 10, 0, 0), OA, AV, "24h", "2012-07-22T10:00:00Z",
			"2012-07-21T10:00:00Z", NULL);
	/* Equal leads: the first named type sets the bound. */
	f->tc[0].min_lead = H(24);
	fx_roll_refused(f, T_BOTH, 2, &c, utc(2012, 7, 21, 10, 0, 1), NOW, 0, POL_R_LEAD_TOO_SHORT,
			AV, utc(2012, 7, 21, 10, 0, 0), AV, NULL);
}

/* ---- rule 3a, rule 3 past, rule 2 ------------------------------------- */

static void
test_jwks_cache_boundary(void **state)
{
	fx *f = *state;
	const pol_key *k = av_setup(f);
	pol_candidate c = fx_cand(k);
	pol_refusal why;

	/* staged at NOW (truncated): rounded up NOW + 1, + 300 s cache, + 1 s poll */
	assert_int_equal(pol_earliest_effective(&f->conf, NOW), NOW + 302);
	assert_int_equal(roll(f, T_AV, 1, k, NOW + 302, NOW, &why), 0);
	fx_roll_refused(f, T_AV, 1, &c, NOW + 301, NOW, 0, POL_R_JWKS_CACHE, "", NOW + 302,
			"jwks_max_age 5m", "poll interval of 500 ms", "rounded up",
			"2012-07-21T00:05:02Z", "2012-07-21T00:05:01Z", NULL);
	assert_int_equal(roll(f, T_AV, 1, k, NOW + 301, NOW, &why), P11S_E_POLICY);
	assert_string_equal(pol_rule_name(why.rule), "jwks_cache");
	assert_int_equal(why.bound, 302);
	/* the poll interval counts in whole seconds, rounded up */
	f->conf.poll_interval_ms = 2000;
	assert_int_equal(pol_earliest_effective(&f->conf, NOW), NOW + 303);
	fx_roll_refused(f, T_AV, 1, &c, NOW + 302, NOW, 0, POL_R_JWKS_CACHE, "", NOW + 303,
			"2012-07-21T00:05:03Z", NULL);
	f->conf.poll_interval_ms = 2001;
	assert_int_equal(pol_earliest_effective(&f->conf, NOW), NOW + 304);
	assert_int_equal(roll(f, T_AV, 1, k, NOW + 304, NOW, &why), 0);
	f->conf.poll_interval_ms = 500;
}

static void
test_in_past(void **state)
{
	fx *f = *state;
	const pol_key *k = av_setup(f);
	pol_candidate c = fx_cand(k);

	fx_roll_refused(f, T_AV, 1, &c, NOW - 6, NOW, 0, POL_R_IN_PAST, "", NOW + 302,
			"in the past", "2012-07-20T23:59:54Z", "2012-07-21T00:05:02Z", NULL);
	fx_roll_refused(f, T_AV, 1, &c, utc(2012, 7, 1, 0, 0, 0), NOW, 0, POL_R_IN_PAST, "",
			NOW + 302, "2012-07-01T00:00:00Z", NULL);
	/* Within the grace it is not "in the past", but still too soon (3a). */
	fx_roll_refused(f, T_AV, 1, &c, NOW - 5, NOW, 0, POL_R_JWKS_CACHE, "", NOW + 302, NULL);
}

static void
test_not_yet_valid_at_e(void **state)
{
	fx *f = *state;
	const pol_key *k;
	pol_candidate c;
	pol_refusal why;

	(void)av_setup(f);
	k = fx_key(f, '7', P11S_KT_EC_P256, 0, utc(2012, 7, 21, 12, 0, 0),
		   utc(2013, 7, 1, 0, 0, 0));
	c = fx_cand(k);
	fx_roll_refused(f, T_AV, 1, &c, utc(2012, 7, 21, 11, 59, 59), NOW, 0, POL_R_NOT_YET_VALID,
			"", utc(2012, 7, 21, 12, 0, 0), "not valid until 2012-07-21T12:00:00Z",
			"2012-07-21T11:59:59Z", NULL);
	assert_int_equal(roll(f, T_AV, 1, k, utc(2012, 7, 21, 12, 0, 0), NOW, &why), 0);
}

static void
test_expires_before_current(void **state)
{
	fx *f = *state;
	const pol_key *k;
	pol_candidate c;

	(void)av_setup(f);
	k = fx_key(f, '7', P11S_KT_EC_P256, 0, utc(2012, 7, 1, 0, 0, 0),
		   utc(2012, 7, 22, 13, 0, 0));
	c = fx_cand(k);
	fx_roll_refused(f, T_AV, 1, &c, utc(2012, 7, 21, 6, 0, 0), NOW, 0,
			POL_R_EXPIRES_BEFORE_CURRENT, AV, 0, "2012-07-22T13:00:00Z",
			"2012-07-22T14:00:00Z", AV, "outlive", NULL);
	/* Expiring at the same instant does not outlive it either. */
	k = fx_key(f, '8', P11S_KT_EC_P256, 0, utc(2012, 7, 1, 0, 0, 0), OLD_EXPIRY);
	c = fx_cand(k);
	fx_roll_refused(f, T_AV, 1, &c, utc(2012, 7, 21, 6, 0, 0), NOW, 0,
			POL_R_EXPIRES_BEFORE_CURRENT, AV, 0, NULL);
}

static void
test_validity_too_short(void **state)
{
	fx *f = *state;
	const pol_key *k;
	pol_candidate c;
	pol_refusal why;

	(void)av_setup(f);
	/* Outlives the current one by 1 h, but A/V tokens live 8 h. */
	f->tc[0].min_lead = H(1);
	k = fx_key(f, '7', P11S_KT_EC_P256, 0, utc(2012, 7, 1, 0, 0, 0),
		   utc(2012, 7, 22, 15, 0, 0));
	c = fx_cand(k);
	assert_int_equal(roll(f, T_AV, 1, k, utc(2012, 7, 22, 7, 0, 0), NOW, &why), 0);
	fx_roll_refused(f, T_AV, 1, &c, utc(2012, 7, 22, 7, 0, 1), NOW, 0, POL_R_VALIDITY_TOO_SHORT,
			AV, utc(2012, 7, 22, 7, 0, 0), "8h token lifetime", AV,
			"2012-07-22T15:00:00Z", "2012-07-22T07:00:00Z", NULL);
}

static void
test_expired(void **state)
{
	fx *f = *state;
	const pol_key *k;
	pol_candidate c;

	(void)av_setup(f);
	k = fx_key(f, '7', P11S_KT_EC_P256, 0, utc(2012, 1, 1, 0, 0, 0), utc(2012, 7, 20, 0, 0, 0));
	c = fx_cand(k);
	fx_roll_refused(f, T_AV, 1, &c, utc(2012, 7, 21, 6, 0, 0), NOW, 0, POL_R_EXPIRED, "", 0,
			"expired at 2012-07-20T00:00:00Z", "2012-07-21T00:00:00Z", NULL);
}

/* ---- rule 1, 3b -------------------------------------------------------- */

static void
test_key_type_mismatch(void **state)
{
	fx *f = *state;
	const pol_key *k = oa_setup(f);
	const pol_key *ec =
	    fx_key(f, '7', P11S_KT_EC_P256, 0, utc(2012, 7, 1, 0, 0, 0), utc(2013, 7, 1, 0, 0, 0));
	const pol_key *small =
	    fx_key(f, '8', P11S_KT_RSA, 1024, utc(2012, 7, 1, 0, 0, 0), utc(2013, 7, 1, 0, 0, 0));
	pol_candidate c = fx_cand(ec);

	fx_roll_refused(f, T_OA, 1, &c, utc(2012, 7, 21, 6, 0, 0), NOW, 0, POL_R_KEY_TYPE, OA, 0,
			OA, "RS256", "EC P-256", "RSA key of at least 2048 bits", NULL);
	c = fx_cand(small);
	fx_roll_refused(f, T_OA, 1, &c, utc(2012, 7, 21, 6, 0, 0), NOW, 0, POL_R_KEY_TYPE, OA, 0,
			"1024 bits", NULL);
	/* The second type of a combined roll is checked too. */
	c = fx_cand(k);
	fx_roll_refused(f, T_BOTH, 2, &c, utc(2012, 7, 21, 6, 0, 0), NOW, 0, POL_R_KEY_TYPE, AV, 0,
			"ES256", "EC P-256 key", NULL);
}

static void
test_not_on_token_and_mismatch(void **state)
{
	fx *f = *state;
	const pol_key *k = av_setup(f);
	pol_candidate c = fx_cand(k);

	c.on_token = 0;
	fx_roll_refused(f, T_AV, 1, &c, utc(2012, 7, 21, 6, 0, 0), NOW, 0, POL_R_NOT_ON_TOKEN, "",
			0, k->sha1, "not on the token", NULL);
	c.on_token = 1;
	c.cert_matches_key = 0;
	fx_roll_refused(f, T_AV, 1, &c, utc(2012, 7, 21, 6, 0, 0), NOW, 0, POL_R_KEY_MISMATCH, "",
			0, k->sha1, "does not match", NULL);
	/* Rule 1 comes before every other rule (E is also in the past here). */
	fx_roll_refused(f, T_AV, 1, &c, NOW - 3600, NOW, 0, POL_R_KEY_MISMATCH, "", 0, NULL);
}

static void
test_test_signature(void **state)
{
	fx *f = *state;
	const pol_key *k = av_setup(f);
	pol_candidate c = fx_cand(k);

	c.test_signature_ok = 0;
	fx_roll_refused(f, T_AV, 1, &c, utc(2012, 7, 21, 6, 0, 0), NOW, 0, POL_R_TEST_SIGNATURE, "",
			0, k->sha1, "test signature", NULL);
}

static void
test_unknown_type(void **state)
{
	fx *f = *state;
	const pol_key *k = av_setup(f);
	pol_candidate c = fx_cand(k);
	const char *const types[] = {AV, "Nope"};
	pol_refusal why;

	c.on_token = 0; /* the type is checked first */
	fx_roll_refused(f, types, 2, &c, utc(2012, 7, 21, 6, 0, 0), NOW, 0, POL_R_UNKNOWN_TYPE,
			"Nope", 0, "Nope", AV ", " OA, NULL);
	fx_assert_refused(pol_check_assign(&f->conf, &f->st, types + 1, 1, &c, NOW, &why), &why,
			  POL_R_UNKNOWN_TYPE, "Nope", 0, "not configured", OA, NULL);
}

static void
test_removed_key(void **state)
{
	fx *f = *state;
	const pol_key *k = av_setup(f);
	pol_candidate c;
	pol_key again;

	assert_int_equal(pol_state_put_key(&f->st, k), 0);
	assert_int_equal(pol_apply_remove(&f->st, k->sha1, NOW - 60), 0);
	/* The candidate comes fresh from the token (removed_at 0); the state
	 * remembers the removal. */
	again = *k;
	c = fx_cand(&again);
	fx_roll_refused(f, T_AV, 1, &c, utc(2012, 7, 21, 6, 0, 0), NOW, 0, POL_R_KEY_REMOVED, "", 0,
			"removed", "2012-07-20T23:59:00Z", NULL);
}

/* ---- rule 4, same key, no current, assign ---------------------------------- */

static void
test_pending_and_replace(void **state)
{
	fx *f = *state;
	const pol_key *k = av_setup(f);
	const pol_key *k2 =
	    fx_key(f, '9', P11S_KT_EC_P256, 0, utc(2012, 7, 1, 0, 0, 0), utc(2013, 8, 1, 0, 0, 0));
	pol_candidate c2 = fx_cand(k2);
	const pol_type_state *ts;
	pol_refusal why;

	fx_roll_ok(f, T_AV, 1, k, utc(2012, 7, 22, 6, 0, 0), NOW);
	fx_roll_refused(f, T_AV, 1, &c2, utc(2012, 7, 22, 5, 0, 0), NOW + 60, 0, POL_R_PENDING, AV,
			0, AV, k->sha1, "2012-07-22T06:00:00Z", "--replace", NULL);
	/* With --replace the pending roll is withdrawn. */
	assert_int_equal(pol_check_roll(&f->conf, &f->st, T_AV, 1, &c2, utc(2012, 7, 22, 5, 0, 0),
					NOW + 60, 1, &why),
			 0);
	assert_int_equal(
	    pol_apply_roll(&f->st, T_AV, 1, k2, utc(2012, 7, 22, 5, 0, 0), NOW + 60, 1), 0);
	ts = pol_state_type(&f->st, AV);
	assert_non_null(ts);
	assert_int_equal(ts->n_epochs, 2);
	assert_string_equal(ts->epochs[0].key, "1111111111111111111111111111111111111111");
	assert_string_equal(ts->epochs[1].key, k2->sha1);
	assert_int_equal(ts->epochs[1].effective, utc(2012, 7, 22, 5, 0, 0));
	assert_int_equal(ts->epochs[1].staged_at, NOW + 60);
	assert_string_equal(pol_issuing_key(&f->st, AV, utc(2012, 7, 22, 6, 0, 0))->sha1, k2->sha1);
}

static void
test_same_key(void **state)
{
	fx *f = *state;
	const pol_key *k = av_setup(f);
	const pol_key *old = pol_issuing_key(&f->st, AV, NOW);
	pol_key cur = *old;
	pol_candidate c = fx_cand(&cur);
	const pol_type_state *ts;
	pol_refusal why;

	fx_roll_refused(f, T_AV, 1, &c, utc(2012, 7, 22, 6, 0, 0), NOW, 0, POL_R_SAME_KEY, AV, 0,
			"already the current key", AV, NULL);
	fx_roll_ok(f, T_AV, 1, k, utc(2012, 7, 22, 6, 0, 0), NOW);
	c = fx_cand(k);
	/* Staged already: refused without --replace ... */
	fx_roll_refused(f, T_AV, 1, &c, utc(2012, 7, 22, 5, 0, 0), NOW, 0, POL_R_SAME_KEY, AV, 0,
			"already staged", "2012-07-22T06:00:00Z", "--replace", NULL);
	/* ... and rescheduled with it: one pending epoch, at the new instant. */
	assert_int_equal(
	    pol_check_roll(&f->conf, &f->st, T_AV, 1, &c, utc(2012, 7, 22, 5, 0, 0), NOW, 1, &why),
	    0);
	assert_int_equal(pol_apply_roll(&f->st, T_AV, 1, k, utc(2012, 7, 22, 5, 0, 0), NOW, 1), 0);
	ts = pol_state_type(&f->st, AV);
	assert_int_equal(ts->n_epochs, 2);
	assert_int_equal(ts->epochs[1].effective, utc(2012, 7, 22, 5, 0, 0));
}

static void
test_roll_without_current(void **state)
{
	fx *f = *state;
	const pol_key *k = av_setup(f);
	pol_candidate c = fx_cand(k);

	f->tc[1].alg = P11S_ALG_ES256;
	fx_roll_refused(f, T_BOTH, 2, &c, utc(2012, 7, 21, 6, 0, 0), NOW, 0, POL_R_NO_CURRENT, OA,
			0, OA, "assign", NULL);
	/* An assignment that only becomes effective later is not current yet. */
	fx_roll_refused(f, T_AV, 1, &c, utc(2012, 7, 21, 6, 0, 0), utc(2011, 1, 1, 0, 0, 0), 0,
			POL_R_NO_CURRENT, AV, 0, "2011-01-01T00:00:00Z", NULL);
}

static void
test_assign(void **state)
{
	fx *f = *state;
	const pol_key *k =
	    fx_key(f, 'a', P11S_KT_EC_P256, 0, utc(2012, 7, 1, 0, 0, 0), utc(2013, 7, 1, 0, 0, 0));
	const pol_key *k2 =
	    fx_key(f, 'b', P11S_KT_EC_P256, 0, utc(2012, 7, 1, 0, 0, 0), utc(2013, 7, 1, 0, 0, 0));
	pol_candidate c = fx_cand(k), c2 = fx_cand(k2);
	const pol_type_state *ts;
	pol_state before;
	pol_refusal why;

	c.test_signature_ok = 0; /* ignored by assign */
	assert_int_equal(pol_check_assign(&f->conf, &f->st, T_AV, 1, &c, NOW, &why), 0);
	assert_int_equal(why.rule, POL_OK);
	assert_int_equal(pol_apply_assign(&f->st, T_AV, 1, k, NOW), 0);
	ts = pol_state_type(&f->st, AV);
	assert_int_equal(ts->n_epochs, 1);
	assert_int_equal(ts->epochs[0].effective, NOW);
	assert_int_equal(ts->epochs[0].staged_at, NOW);
	assert_string_equal(pol_issuing_key(&f->st, AV, NOW)->sha1, k->sha1);
	assert_null(pol_issuing_key(&f->st, AV, NOW - 1));
	/* The state owns a copy of the certificate. */
	assert_ptr_not_equal(pol_state_key(&f->st, k->sha1)->cert_der, k->cert_der);

	assert_int_equal(pol_state_copy(&f->st, &before), 0);
	fx_assert_refused(pol_check_assign(&f->conf, &f->st, T_AV, 1, &c2, NOW + 10, &why), &why,
			  POL_R_ALREADY_ASSIGNED, AV, 0, AV, k->sha1, "use roll", NULL);
	fx_assert_refused(pol_check_assign(&f->conf, &f->st, T_AV, 1, &c, NOW + 10, &why), &why,
			  POL_R_ALREADY_ASSIGNED, AV, 0, NULL);
	fx_assert_state_equal(&f->st, &before);
	pol_state_free(&before);
}

static void
test_assign_refusals(void **state)
{
	fx *f = *state;
	const pol_key *later =
	    fx_key(f, 'a', P11S_KT_EC_P256, 0, NOW + 1, utc(2013, 7, 1, 0, 0, 0));
	const pol_key *gone = fx_key(f, 'b', P11S_KT_EC_P256, 0, utc(2011, 7, 1, 0, 0, 0), NOW);
	const pol_key *brief =
	    fx_key(f, 'c', P11S_KT_EC_P256, 0, utc(2011, 7, 1, 0, 0, 0), NOW + H(8) - 1);
	const pol_key *rsa =
	    fx_key(f, 'd', P11S_KT_RSA, 2048, utc(2011, 7, 1, 0, 0, 0), utc(2013, 7, 1, 0, 0, 0));
	pol_candidate c;
	pol_state before;
	pol_refusal why;

	assert_int_equal(pol_state_copy(&f->st, &before), 0);
	c = fx_cand(later);
	fx_assert_refused(pol_check_assign(&f->conf, &f->st, T_AV, 1, &c, NOW, &why), &why,
			  POL_R_NOT_YET_VALID, "", NOW + 1, "2012-07-21T00:00:01Z", NULL);
	c = fx_cand(gone);
	fx_assert_refused(pol_check_assign(&f->conf, &f->st, T_AV, 1, &c, NOW, &why), &why,
			  POL_R_EXPIRED, "", 0, "expired at 2012-07-21T00:00:00Z", NULL);
	c = fx_cand(brief);
	fx_assert_refused(pol_check_assign(&f->conf, &f->st, T_BOTH, 2, &c, NOW, &why), &why,
			  POL_R_KEY_TYPE, OA, 0, NULL);
	fx_assert_refused(pol_check_assign(&f->conf, &f->st, T_AV, 1, &c, NOW, &why), &why,
			  POL_R_VALIDITY_TOO_SHORT, AV, 0, "8h token lifetime", AV,
			  "2012-07-21T07:59:59Z", NULL);
	c = fx_cand(rsa);
	fx_assert_refused(pol_check_assign(&f->conf, &f->st, T_AV, 1, &c, NOW, &why), &why,
			  POL_R_KEY_TYPE, AV, 0, "ES256", NULL);
	c.cert_matches_key = 0;
	fx_assert_refused(pol_check_assign(&f->conf, &f->st, T_OA, 1, &c, NOW, &why), &why,
			  POL_R_KEY_MISMATCH, "", 0, NULL);
	c.on_token = 0;
	fx_assert_refused(pol_check_assign(&f->conf, &f->st, T_OA, 1, &c, NOW, &why), &why,
			  POL_R_NOT_ON_TOKEN, "", 0, NULL);
	fx_assert_state_equal(&f->st, &before);
	pol_state_free(&before);
	/* Usage errors are not policy refusals. */
	c = fx_cand(rsa);
	assert_int_equal(pol_check_assign(&f->conf, &f->st, T_OA, 0, &c, NOW, &why), P11S_E_INVAL);
	c.key = NULL;
	assert_int_equal(pol_check_assign(&f->conf, &f->st, T_OA, 1, &c, NOW, &why), P11S_E_INVAL);
}

static void
test_duplicate_types_ignored(void **state)
{
	fx *f = *state;
	const pol_key *k = av_setup(f);
	const char *const dup[] = {AV, AV};
	pol_refusal why;

	assert_int_equal(roll(f, dup, 2, k, utc(2012, 7, 22, 6, 0, 0), NOW, &why), 0);
	assert_int_equal(pol_apply_roll(&f->st, dup, 2, k, utc(2012, 7, 22, 6, 0, 0), NOW, 0), 0);
	assert_int_equal(pol_state_type(&f->st, AV)->n_epochs, 2);
	assert_null(pol_state_type(&f->st, OA));
}

/* ---- auto ---------------------------------------------------------------- */

static void
test_auto_lead_boundary(void **state)
{
	fx *f = *state;
	const pol_key *k = av_setup(f);
	pol_candidate c = fx_cand(k);
	pol_refusal why;
	p11s_time e = 1;

	assert_int_equal(pol_auto_effective(&f->conf, &f->st, T_AV, 1, &c, NOW, 0, &e, &why), 0);
	assert_int_equal(e, utc(2012, 7, 22, 6, 0, 0));
	assert_int_equal(roll(f, T_AV, 1, k, e, NOW, &why), 0);
	assert_int_equal(roll(f, T_AV, 1, k, e + 1, NOW, &why), P11S_E_POLICY);
	assert_int_equal(why.rule, POL_R_LEAD_TOO_SHORT);
}

static void
test_auto_validity_bound(void **state)
{
	fx *f = *state;
	const pol_key *k;
	pol_candidate c;
	pol_refusal why;
	p11s_time e = 1;

	(void)av_setup(f);
	f->tc[0].min_lead = H(1);
	k = fx_key(f, '7', P11S_KT_EC_P256, 0, utc(2012, 7, 1, 0, 0, 0),
		   utc(2012, 7, 22, 15, 0, 0));
	c = fx_cand(k);
	assert_int_equal(pol_auto_effective(&f->conf, &f->st, T_AV, 1, &c, NOW, 0, &e, &why), 0);
	assert_int_equal(e, utc(2012, 7, 22, 7, 0, 0));
}

static void
test_auto_no_solution(void **state)
{
	fx *f = *state;
	const pol_key *k = av_setup(f);
	const pol_key *late;
	pol_candidate c = fx_cand(k);
	pol_state before;
	pol_refusal why;
	p11s_time e = 1;

	assert_int_equal(pol_state_copy(&f->st, &before), 0);
	fx_assert_refused(pol_auto_effective(&f->conf, &f->st, T_AV, 1, &c,
					     utc(2012, 7, 22, 5, 58, 0), 0, &e, &why),
			  &why, POL_R_NO_AUTO, AV, 0, "8h lead of " AV, "2012-07-22T06:00:00Z",
			  "jwks_max_age 5m", "2012-07-22T06:03:02Z", NULL);
	assert_int_equal(e, 0);
	/* 302 s before the lead bound the bounds meet: E is exactly the lead bound;
	 * one second later nothing fits. */
	assert_int_equal(pol_auto_effective(&f->conf, &f->st, T_AV, 1, &c,
					    utc(2012, 7, 22, 5, 54, 58), 0, &e, &why),
			 0);
	assert_int_equal(e, utc(2012, 7, 22, 6, 0, 0));
	fx_assert_refused(pol_auto_effective(&f->conf, &f->st, T_AV, 1, &c,
					     utc(2012, 7, 22, 5, 54, 59), 0, &e, &why),
			  &why, POL_R_NO_AUTO, AV, 0, "2012-07-22T06:00:01Z", NULL);
	/* notBefore after the lead bound. */
	late = fx_key(f, '7', P11S_KT_EC_P256, 0, utc(2012, 7, 22, 6, 0, 30),
		      utc(2013, 7, 1, 0, 0, 0));
	c = fx_cand(late);
	fx_assert_refused(pol_auto_effective(&f->conf, &f->st, T_AV, 1, &c, NOW, 0, &e, &why), &why,
			  POL_R_NO_AUTO, AV, 0, "notBefore", "2012-07-22T06:00:30Z", NULL);
	/* Key-level failures are reported as themselves. */
	c = fx_cand(k);
	c.on_token = 0;
	fx_assert_refused(pol_auto_effective(&f->conf, &f->st, T_AV, 1, &c, NOW, 0, &e, &why), &why,
			  POL_R_NOT_ON_TOKEN, "", 0, NULL);
	c = fx_cand(k);
	c.test_signature_ok = 0;
	fx_assert_refused(pol_auto_effective(&f->conf, &f->st, T_AV, 1, &c, NOW, 0, &e, &why), &why,
			  POL_R_TEST_SIGNATURE, "", 0, NULL);
	fx_assert_state_equal(&f->st, &before);
	pol_state_free(&before);
}

static void
test_auto_pending(void **state)
{
	fx *f = *state;
	const pol_key *k = av_setup(f);
	const pol_key *k2 =
	    fx_key(f, '9', P11S_KT_EC_P256, 0, utc(2012, 7, 1, 0, 0, 0), utc(2013, 8, 1, 0, 0, 0));
	pol_candidate c = fx_cand(k2);
	pol_refusal why;
	p11s_time e;

	fx_roll_ok(f, T_AV, 1, k, utc(2012, 7, 22, 1, 0, 0), NOW);
	fx_assert_refused(pol_auto_effective(&f->conf, &f->st, T_AV, 1, &c, NOW, 0, &e, &why), &why,
			  POL_R_PENDING, AV, 0, "--replace", NULL);
	assert_int_equal(pol_auto_effective(&f->conf, &f->st, T_AV, 1, &c, NOW, 1, &e, &why), 0);
	assert_int_equal(e, utc(2012, 7, 22, 6, 0, 0));
}

static void
test_corrupt_state(void **state)
{
	fx *f = *state;
	const pol_key *k = av_setup(f);
	pol_refusal why;

	/* An epoch naming a key the state does not record. */
	memset(f->st.keys[0].sha1, 'e', 40);
	assert_int_equal(roll(f, T_AV, 1, k, utc(2012, 7, 22, 6, 0, 0), NOW, &why), P11S_E_STATE);
	assert_int_equal(why.rule, POL_OK);
	assert_non_null(
	    strstr(p11s_errmsg(P11S_E_STATE), "1111111111111111111111111111111111111111"));
}

static void
test_names(void **state)
{
	(void)state;
	assert_string_equal(pol_rule_name(POL_R_LEAD_TOO_SHORT), "lead_too_short");
	assert_string_equal(pol_rule_name(POL_R_JWKS_CACHE), "jwks_cache");
	assert_string_equal(pol_rule_name(POL_R_REMOVE_TOO_EARLY), "remove_too_early");
	assert_string_equal(pol_rule_name(POL_R_EXPIRES_BEFORE_CURRENT), "expires_before_current");
	assert_string_equal(pol_rule_name(POL_OK), "ok");
	assert_string_equal(pol_rule_name((pol_rule)999), "unknown");
	assert_string_equal(pol_role_name(POL_ROLE_CURRENT), "current");
	assert_string_equal(pol_role_name(POL_ROLE_PREVIOUS), "previous");
	assert_string_equal(pol_role_name(POL_ROLE_STAGED), "staged");
	assert_string_equal(pol_role_name(POL_ROLE_NONE), "none");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_av_lead_boundary),
	    T(test_oauth_lead_boundary),
	    T(test_both_types_need_largest_lead),
	    T(test_lead_binding_type_and_ties),
	    T(test_jwks_cache_boundary),
	    T(test_in_past),
	    T(test_not_yet_valid_at_e),
	    T(test_expires_before_current),
	    T(test_validity_too_short),
	    T(test_expired),
	    T(test_key_type_mismatch),
	    T(test_not_on_token_and_mismatch),
	    T(test_test_signature),
	    T(test_unknown_type),
	    T(test_removed_key),
	    T(test_pending_and_replace),
	    T(test_same_key),
	    T(test_roll_without_current),
	    T(test_assign),
	    T(test_assign_refusals),
	    T(test_duplicate_types_ignored),
	    T(test_auto_lead_boundary),
	    T(test_auto_validity_bound),
	    T(test_auto_no_solution),
	    T(test_auto_pending),
	    T(test_corrupt_state),
	    T(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

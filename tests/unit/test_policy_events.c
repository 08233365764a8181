/* What happens next: pol_timeline_events and pol_next_events with a leaping clock. */
#include "config.h"

#include <string.h>

#include "common/error.h"
#include "tests/unit/policy_fixture.h"

static const char *const T_AV[] = {AV};
static const char *const T_OA[] = {OA};
static const char *const T_BOTH[] = {AV, OA};

#define NOW utc(2012, 7, 21, 0, 0, 0)
#define OLD_SINCE utc(2011, 7, 22, 14, 0, 0)
#define OLD_EXPIRY utc(2012, 7, 22, 14, 0, 0)
#define NEW_EXPIRY utc(2013, 7, 1, 0, 0, 0)
#define E utc(2012, 7, 22, 2, 0, 0)
/* E + A/V's token lifetime (8 h) + clock skew (60 s), before OLD_EXPIRY */
#define SAFE utc(2012, 7, 22, 10, 1, 0)

/* One expected event: kind, role, type, key tag, instant. */
typedef struct want {
	pol_event_kind kind;
	pol_role role;
	const char *type;
	char tag;
	p11s_time at;
} want;

static void
assert_events(const pol_event *ev, size_t n, const want *w, size_t wn)
{
	char sha1[41];

	assert_int_equal(n, wn);
	for (size_t i = 0; i < n; i++) {
		memset(sha1, w[i].tag, 40);
		sha1[40] = '\0';
		if (ev[i].kind != w[i].kind || ev[i].at != w[i].at)
			fail_msg("event %zu: %s at %lld, want %s at %lld", i,
				 pol_event_kind_name(ev[i].kind), (long long)ev[i].at,
				 pol_event_kind_name(w[i].kind), (long long)w[i].at);
		assert_int_equal(ev[i].role, w[i].role);
		assert_string_equal(ev[i].type, w[i].type);
		assert_string_equal(ev[i].key, sha1);
	}
}

static void
timeline(fx *f, const char *type, p11s_time now, pol_event *ev, size_t *n)
{
	assert_int_equal(pol_timeline_events(&f->conf, &f->st, type, now, ev, 32, n), 0);
}

static void
next(fx *f, const char *type, p11s_time now, pol_event *ev, size_t *n)
{
	assert_int_equal(pol_next_events(&f->conf, &f->st, type, now, ev, 32, n), 0);
}

/* A/V: old key '1' assigned a year ago. */
static void
av_assigned(fx *f)
{
	fx_assign(f, AV, fx_key(f, '1', P11S_KT_EC_P256, 0, OLD_SINCE, OLD_EXPIRY), OLD_SINCE);
}

/* ... and new key '2' staged at NOW for E. */
static void
av_rolled(fx *f)
{
	av_assigned(f);
	fx_roll_ok(f, T_AV, 1,
		   fx_key(f, '2', P11S_KT_EC_P256, 0, utc(2012, 7, 1, 0, 0, 0), NEW_EXPIRY), E,
		   NOW);
}

static void
test_before_staging(void **state)
{
	fx *f = *state;
	pol_event ev[32];
	size_t n;
	const want tl[] = {
	    {POL_EV_SWITCH, POL_ROLE_CURRENT, AV, '1', OLD_SINCE},
	    {POL_EV_EXPIRY, POL_ROLE_CURRENT, AV, '1', OLD_EXPIRY},
	};

	/* No key at all: nothing happens. */
	timeline(f, AV, NOW, ev, &n);
	assert_int_equal(n, 0);
	av_assigned(f);
	timeline(f, AV, NOW, ev, &n);
	assert_events(ev, n, tl, 2);
	next(f, AV, NOW, ev, &n);
	assert_events(ev, n, tl + 1, 1);
	/* After the only certificate expired, nothing is left to happen. */
	next(f, AV, OLD_EXPIRY, ev, &n);
	assert_int_equal(n, 0);
}

static void
test_staged_before_e(void **state)
{
	fx *f = *state;
	pol_event ev[32];
	size_t n;
	const want tl[] = {
	    {POL_EV_SWITCH, POL_ROLE_CURRENT, AV, '1', OLD_SINCE},
	    {POL_EV_PUBLISHED, POL_ROLE_STAGED, AV, '2', NOW},
	    {POL_EV_VERIFIES, POL_ROLE_STAGED, AV, '2', E - 60},
	    {POL_EV_TEST_SIGNATURE, POL_ROLE_STAGED, AV, '2', E - POL_FINAL_TEST_LEAD},
	    {POL_EV_SWITCH, POL_ROLE_STAGED, AV, '2', E},
	    {POL_EV_SAFE_REMOVAL, POL_ROLE_CURRENT, AV, '1', SAFE},
	    {POL_EV_EXPIRY, POL_ROLE_CURRENT, AV, '1', OLD_EXPIRY},
	};

	av_rolled(f);
	timeline(f, AV, NOW, ev, &n);
	assert_events(ev, n, tl, 7);
	/* At the staging instant the publication has happened: next is the rest. */
	next(f, AV, NOW, ev, &n);
	assert_events(ev, n, tl + 2, 5);
	/* One second before E: the switch (and what follows) is next. */
	next(f, AV, E - 1, ev, &n);
	assert_events(ev, n, tl + 4, 3);
	/* type NULL: A/V is the only type with keys, same answer. */
	assert_int_equal(pol_next_events(&f->conf, &f->st, NULL, E - 1, ev, 32, &n), 0);
	assert_events(ev, n, tl + 4, 3);
}

static void
test_at_and_after_e(void **state)
{
	fx *f = *state;
	pol_event ev[32];
	size_t n;
	const want tl[] = {
	    {POL_EV_SWITCH, POL_ROLE_CURRENT, AV, '2', E},
	    {POL_EV_STOPPED, POL_ROLE_PREVIOUS, AV, '1', E},
	    {POL_EV_SAFE_REMOVAL, POL_ROLE_PREVIOUS, AV, '1', SAFE},
	    {POL_EV_EXPIRY, POL_ROLE_PREVIOUS, AV, '1', OLD_EXPIRY},
	    {POL_EV_EXPIRY, POL_ROLE_CURRENT, AV, '2', NEW_EXPIRY},
	};

	av_rolled(f);
	/* At E the new key issues: the switch is history, the old key previous. */
	timeline(f, AV, E, ev, &n);
	assert_events(ev, n, tl, 5);
	next(f, AV, E, ev, &n);
	assert_events(ev, n, tl + 2, 3);
	next(f, AV, E + 1, ev, &n);
	assert_events(ev, n, tl + 2, 3);
	/* After the safe removal instant, before the old certificate expires. */
	next(f, AV, SAFE, ev, &n);
	assert_events(ev, n, tl + 3, 2);
	/* After the old certificate expired it is still listed until removed. */
	next(f, AV, OLD_EXPIRY + 1, ev, &n);
	assert_events(ev, n, tl + 4, 1);
	timeline(f, AV, OLD_EXPIRY + 1, ev, &n);
	assert_events(ev, n, tl, 5);
}

static void
test_after_removal(void **state)
{
	fx *f = *state;
	pol_event ev[32];
	size_t n;
	const want tl[] = {
	    {POL_EV_SWITCH, POL_ROLE_CURRENT, AV, '2', E},
	    {POL_EV_EXPIRY, POL_ROLE_CURRENT, AV, '2', NEW_EXPIRY},
	};
	char sha1[41];

	av_rolled(f);
	memset(sha1, '1', 40);
	sha1[40] = '\0';
	assert_int_equal(pol_apply_remove(&f->st, sha1, SAFE + 1), 0);
	timeline(f, AV, SAFE + 1, ev, &n);
	/* The removed key's instants are gone, and so is its first switch. */
	assert_events(ev, n, tl, 2);
	next(f, AV, SAFE + 1, ev, &n);
	assert_events(ev, n, tl + 1, 1);
}

static void
test_several_types(void **state)
{
	fx *f = *state;
	pol_event ev[32];
	size_t n;
	const p11s_time oa_e = utc(2012, 7, 21, 12, 0, 0);
	const p11s_time oa_exp = utc(2012, 12, 1, 0, 0, 0);
	const want next_all[] = {
	    {POL_EV_VERIFIES, POL_ROLE_STAGED, OA, 'b', oa_e - 60},
	    {POL_EV_TEST_SIGNATURE, POL_ROLE_STAGED, OA, 'b', oa_e - POL_FINAL_TEST_LEAD},
	    {POL_EV_SWITCH, POL_ROLE_STAGED, OA, 'b', oa_e},
	    /* OAuth: switch + 1 h lifetime + 60 s */
	    {POL_EV_SAFE_REMOVAL, POL_ROLE_CURRENT, OA, 'a', oa_e + H(1) + 60},
	    {POL_EV_VERIFIES, POL_ROLE_STAGED, AV, '2', E - 60},
	    {POL_EV_TEST_SIGNATURE, POL_ROLE_STAGED, AV, '2', E - POL_FINAL_TEST_LEAD},
	    {POL_EV_SWITCH, POL_ROLE_STAGED, AV, '2', E},
	    {POL_EV_SAFE_REMOVAL, POL_ROLE_CURRENT, AV, '1', SAFE},
	    {POL_EV_EXPIRY, POL_ROLE_CURRENT, AV, '1', OLD_EXPIRY},
	    {POL_EV_EXPIRY, POL_ROLE_CURRENT, OA, 'a', oa_exp},
	};

	av_rolled(f);
	fx_assign(f, OA, fx_key(f, 'a', P11S_KT_RSA, 2048, utc(2012, 1, 1, 0, 0, 0), oa_exp),
		  utc(2012, 1, 1, 0, 0, 0));
	fx_roll_ok(
	    f, T_OA, 1,
	    fx_key(f, 'b', P11S_KT_RSA, 2048, utc(2012, 1, 1, 0, 0, 0), utc(2013, 1, 1, 0, 0, 0)),
	    oa_e, NOW);
	next(f, NULL, NOW, ev, &n);
	assert_events(ev, n, next_all, 10);
	/* One type narrows to it; the order is the same. */
	next(f, OA, NOW, ev, &n);
	assert_int_equal(n, 5);
	assert_int_equal(ev[0].at, oa_e - 60);
	assert_string_equal(ev[4].type, OA);
	assert_int_equal(ev[4].kind, POL_EV_EXPIRY);
	/* Ties: two events at one instant are ordered by type (configuration
	 * order), then kind. */
	timeline(f, NULL, NOW, ev, &n);
	assert_int_equal(n, 14);
	assert_int_equal(ev[2].at, NOW);
	assert_string_equal(ev[2].type, AV);
	assert_int_equal(ev[2].kind, POL_EV_PUBLISHED);
	assert_int_equal(ev[3].at, NOW);
	assert_string_equal(ev[3].type, OA);
}

static void
test_combined_key(void **state)
{
	fx *f = *state;
	pol_event ev[32];
	size_t n;
	const pol_key *old = fx_key(f, '5', P11S_KT_EC_P256, 0, OLD_SINCE, OLD_EXPIRY);
	const pol_key *knew =
	    fx_key(f, '6', P11S_KT_EC_P256, 0, utc(2012, 7, 1, 0, 0, 0), NEW_EXPIRY);
	const p11s_time oa_e = utc(2012, 7, 21, 12, 0, 0);

	f->tc[1].alg = P11S_ALG_ES256;
	f->tc[1].token_lifetime = H(10);
	assert_int_equal(pol_apply_assign(&f->st, T_BOTH, 2, old, OLD_SINCE), 0);
	fx_roll_ok(f, T_OA, 1, knew, oa_e, NOW);
	fx_roll_ok(f, T_AV, 1, knew, E, NOW + 60);
	/* Between the two switches OAuth's old key still issues for A/V: its
	 * removal becomes safe only after A/V's switch plus the longest lifetime
	 * of the two types (10 h) plus the skew. */
	next(f, OA, oa_e, ev, &n);
	assert_int_equal(n, 3);
	assert_int_equal(ev[0].kind, POL_EV_SAFE_REMOVAL);
	assert_int_equal(ev[0].role, POL_ROLE_PREVIOUS);
	assert_int_equal(ev[0].at, utc(2012, 7, 22, 12, 1, 0));
	assert_int_equal(ev[1].kind, POL_EV_EXPIRY);
	assert_int_equal(ev[1].at, OLD_EXPIRY);
	assert_int_equal(ev[2].at, NEW_EXPIRY);
	/* A/V sees the same instant for the same key. */
	next(f, AV, oa_e, ev, &n);
	assert_int_equal(n, 5);
	assert_int_equal(ev[3].kind, POL_EV_SAFE_REMOVAL);
	assert_string_equal(ev[3].key, old->sha1);
	assert_int_equal(ev[3].at, utc(2012, 7, 22, 12, 1, 0));
	assert_string_equal(ev[2].key, knew->sha1);
	assert_int_equal(ev[2].kind, POL_EV_SWITCH);
}

static void
test_late_staging_test_due_at_once(void **state)
{
	fx *f = *state;
	pol_event ev[32];
	size_t n;
	size_t i;

	/* Staged less than POL_FINAL_TEST_LEAD before E (rule 3a allows it with a
	 * short jwks_max_age): the final test is due at staging, not before it. */
	f->conf.jwks_max_age = 5;
	f->tc[0].min_lead = 60;
	av_assigned(f);
	fx_roll_ok(f, T_AV, 1,
		   fx_key(f, '2', P11S_KT_EC_P256, 0, utc(2012, 7, 1, 0, 0, 0), NEW_EXPIRY),
		   NOW + 10, NOW);
	timeline(f, AV, NOW, ev, &n);
	for (i = 0; i < n && ev[i].kind != POL_EV_TEST_SIGNATURE; i++)
		;
	assert_true(i < n);
	assert_int_equal(ev[i].at, NOW);
}

static void
test_negative(void **state)
{
	fx *f = *state;
	pol_event ev[4];
	size_t n = 99;

	av_rolled(f);
	/* Missing arguments: refused, count cleared. */
	assert_int_equal(pol_next_events(NULL, &f->st, AV, NOW, ev, 4, &n), P11S_E_INVAL);
	assert_int_equal(n, 0);
	n = 99;
	assert_int_equal(pol_timeline_events(&f->conf, NULL, AV, NOW, ev, 4, &n), P11S_E_INVAL);
	assert_int_equal(n, 0);
	assert_int_equal(pol_timeline_events(&f->conf, &f->st, AV, NOW, ev, 4, NULL), P11S_E_INVAL);
	assert_int_equal(pol_timeline_events(&f->conf, &f->st, AV, NOW, NULL, 4, &n), P11S_E_INVAL);
	/* A type neither configured nor in the state is named in the error. */
	n = 99;
	assert_int_equal(pol_next_events(&f->conf, &f->st, "Nope", NOW, ev, 4, &n),
			 P11S_E_NOTFOUND);
	assert_int_equal(n, 0);
	assert_non_null(strstr(p11s_errmsg(P11S_E_NOTFOUND), "Nope"));
	/* Count only. */
	assert_int_equal(pol_timeline_events(&f->conf, &f->st, AV, NOW, NULL, 0, &n), 0);
	assert_int_equal(n, 7);
	/* Too little room: the earliest events, and the full count. */
	memset(ev, 0, sizeof(ev));
	assert_int_equal(pol_timeline_events(&f->conf, &f->st, AV, NOW, ev, 2, &n), 0);
	assert_int_equal(n, 7);
	assert_int_equal(ev[0].at, OLD_SINCE);
	assert_int_equal(ev[1].at, NOW);
	assert_int_equal(ev[2].kind, 0); /* untouched */
	assert_string_equal(pol_event_kind_name((pol_event_kind)0), "unknown");
	assert_string_equal(pol_event_kind_name(POL_EV_SAFE_REMOVAL), "safe_removal");
}

static void
test_state_only_type(void **state)
{
	fx *f = *state;
	pol_event ev[8];
	size_t n;

	/* A type that was configured once and is still in the state: its events
	 * are computed (only certificate expiry bounds its removal). */
	av_rolled(f);
	f->conf.n_types = 0;
	assert_int_equal(pol_timeline_events(&f->conf, &f->st, AV, E + 1, ev, 8, &n), 0);
	assert_int_equal(n, 5);
	assert_int_equal(ev[2].kind, POL_EV_EXPIRY);
	assert_int_equal(ev[3].kind, POL_EV_SAFE_REMOVAL);
	assert_int_equal(ev[3].at, OLD_EXPIRY);
	/* ... but "every configured type" no longer includes it. */
	assert_int_equal(pol_timeline_events(&f->conf, &f->st, NULL, E + 1, ev, 8, &n), 0);
	assert_int_equal(n, 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_before_staging),
	    T(test_staged_before_e),
	    T(test_at_and_after_e),
	    T(test_after_removal),
	    T(test_several_types),
	    T(test_combined_key),
	    T(test_late_staging_test_due_at_once),
	    T(test_negative),
	    T(test_state_only_type),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* signerd's poller schedule: the poll interval, or the next instant it acts
 * on (pol_next_events), whichever comes first. */
#include "config.h"

#include <string.h>

#include "signer/daemon/poll.h"
#include "tests/unit/policy_fixture.h"

static const char *const T_AV[] = {AV};
static const char *const T_OA[] = {OA};

#define NOW utc(2012, 7, 21, 0, 0, 0)
#define OLD_EXPIRY utc(2012, 7, 22, 14, 0, 0)
#define E utc(2012, 7, 22, 2, 0, 0)
#define MS(t) ((int64_t)(t)*1000)
#define IVL 2000

static void
av_rolled(fx *f)
{
	const pol_key *old =
	    fx_key(f, '1', P11S_KT_EC_P256, 0, utc(2011, 7, 22, 14, 0, 0), OLD_EXPIRY);

	fx_assign(f, AV, old, utc(2011, 7, 22, 14, 0, 0));
	fx_roll_ok(
	    f, T_AV, 1,
	    fx_key(f, '2', P11S_KT_EC_P256, 0, utc(2012, 7, 1, 0, 0, 0), utc(2013, 7, 1, 0, 0, 0)),
	    E, NOW);
}

static int64_t
wait_at(fx *f, int64_t now_ms)
{
	return d_poll_wait_ms(&f->conf, &f->st, IVL, now_ms);
}

static void
test_nothing_due(void **state)
{
	fx *f = *state;
	const pol_key *k;

	/* No keys, then a current key whose certificate expires in 100 ms: the
	 * poller has nothing to do at an expiry, so it keeps its interval. */
	assert_int_equal(wait_at(f, MS(NOW)), IVL);
	k = fx_key(f, '1', P11S_KT_EC_P256, 0, utc(2011, 7, 22, 14, 0, 0), OLD_EXPIRY);
	fx_assign(f, AV, k, utc(2011, 7, 22, 14, 0, 0));
	assert_int_equal(wait_at(f, MS(OLD_EXPIRY) - 100), IVL);
	/* A staged roll far ahead: the interval. */
	fx_roll_ok(
	    f, T_AV, 1,
	    fx_key(f, '2', P11S_KT_EC_P256, 0, utc(2012, 7, 1, 0, 0, 0), utc(2013, 7, 1, 0, 0, 0)),
	    E, NOW);
	assert_int_equal(wait_at(f, MS(NOW) + 123), IVL);
}

static void
test_final_test_and_switch(void **state)
{
	fx *f = *state;

	av_rolled(f);
	/* 300 ms before the final test signature is due: wake then. */
	assert_int_equal(wait_at(f, MS(E - POL_FINAL_TEST_LEAD) - 300), 300);
	/* Due now (the tick ran it): the switch is 29.5 s away, the interval wins. */
	assert_int_equal(wait_at(f, MS(E - POL_FINAL_TEST_LEAD) + 500), IVL);
	/* 700 ms before the switch: wake at the switch to record it. */
	assert_int_equal(wait_at(f, MS(E) - 700), 700);
	/* Never a busy loop: at least 50 ms. */
	assert_int_equal(wait_at(f, MS(E) - 10), 50);
	/* At and after E nothing the poller acts on is ahead. */
	assert_int_equal(wait_at(f, MS(E)), IVL);
	assert_int_equal(wait_at(f, MS(E) + 1500), IVL);
}

static void
test_earliest_of_types(void **state)
{
	fx *f = *state;
	const p11s_time oa_e = utc(2012, 7, 22, 1, 0, 0);

	av_rolled(f);
	fx_assign(
	    f, OA,
	    fx_key(f, 'a', P11S_KT_RSA, 2048, utc(2012, 1, 1, 0, 0, 0), utc(2012, 12, 1, 0, 0, 0)),
	    utc(2012, 1, 1, 0, 0, 0));
	fx_roll_ok(
	    f, T_OA, 1,
	    fx_key(f, 'b', P11S_KT_RSA, 2048, utc(2012, 1, 1, 0, 0, 0), utc(2013, 1, 1, 0, 0, 0)),
	    oa_e, NOW);
	/* OAuth's switch comes first, then A/V's. */
	assert_int_equal(wait_at(f, MS(oa_e) - 400), 400);
	assert_int_equal(wait_at(f, MS(E - POL_FINAL_TEST_LEAD) - 900), 900);
	/* A long interval is cut to the earliest of both types. */
	assert_int_equal(
	    d_poll_wait_ms(&f->conf, &f->st, 3600 * 1000, MS(oa_e - POL_FINAL_TEST_LEAD) - 5000),
	    5000);
}

static void
test_negative(void **state)
{
	fx *f = *state;

	av_rolled(f);
	/* No state loaded, no configuration: the interval. */
	assert_int_equal(d_poll_wait_ms(&f->conf, NULL, IVL, MS(E) - 700), IVL);
	assert_int_equal(d_poll_wait_ms(NULL, &f->st, IVL, MS(E) - 700), IVL);
	/* An interval under the floor is raised to it. */
	assert_int_equal(d_poll_wait_ms(&f->conf, &f->st, 10, MS(NOW)), 50);
	/* A type only in the state (removed from the configuration) is not
	 * waited for: the poller serves configured types. */
	f->conf.n_types = 0;
	assert_int_equal(wait_at(f, MS(E) - 700), IVL);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_nothing_due),
	    T(test_final_test_and_switch),
	    T(test_earliest_of_types),
	    T(test_negative),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

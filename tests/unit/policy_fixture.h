/* Shared fixture of the policy unit tests: configuration, keys, an injected
 * clock (plain instants), and assertions on refusals and state equality. */
#ifndef P11S_TESTS_POLICY_FIXTURE_H
#define P11S_TESTS_POLICY_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "policy/policy.h"

#define AV "AudioVideoAuthentication"
#define OA "OAuthTokenIssuer"
#define H(n) ((int64_t)(n)*3600)

typedef struct fx {
	pol_type_conf tc[3];
	pol_conf conf;
	pol_state st;
	pol_key keys[8];
	size_t n_keys;
} fx;

/* UTC instant from calendar fields. */
p11s_time utc(int y, int mo, int d, int h, int mi, int s);

/* Defaults of SPEC §3/§8: skew 60 s, jwks_max_age 300 s, grace 5 s; AV is
 * ES256 8h/8h, OAuth is RS256 1h/24h. */
int fx_setup(void **state);
int fx_teardown(void **state);

/* A key named by one hex digit (sha1 = 40 x tag, sha256 = 64 x tag). */
const pol_key *fx_key(fx *f, char tag, p11s_keytype kt, unsigned bits, p11s_time nb, p11s_time na);
/* Record an assignment without checks (setup of a history). */
void fx_assign(fx *f, const char *type, const pol_key *k, p11s_time at);
/* Check and record a roll that must be accepted. */
void fx_roll_ok(fx *f, const char *const *types, size_t n, const pol_key *k, p11s_time e,
		p11s_time now);
pol_candidate fx_cand(const pol_key *k);

void fx_assert_state_equal(const pol_state *a, const pol_state *b);

/*
 * Assert a refusal: r == P11S_E_POLICY, rule, type, nearest, and each of the
 * NULL-terminated substrings in both why->msg and p11s_errmsg(r).
 */
void fx_assert_refused(int r, const pol_refusal *why, pol_rule rule, const char *type,
		       p11s_time nearest, ...);

/* pol_check_roll that must refuse; also checks that the state did not change. */
void fx_roll_refused(fx *f, const char *const *types, size_t n, const pol_candidate *k, p11s_time e,
		     p11s_time now, int replace, pol_rule rule, const char *type, p11s_time nearest,
		     ...);

#endif

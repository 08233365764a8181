#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/error.h"
#include "tests/unit/policy_fixture.h"

p11s_time
utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	return (p11s_time)timegm(&tm);
}

int
fx_setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->tc[0].name, sizeof(f->tc[0].name), "%s", AV);
	f->tc[0].alg = P11S_ALG_ES256;
	f->tc[0].token_lifetime = H(8);
	f->tc[0].min_lead = H(8);
	snprintf(f->tc[1].name, sizeof(f->tc[1].name), "%s", OA);
	f->tc[1].alg = P11S_ALG_RS256;
	f->tc[1].token_lifetime = H(1);
	f->tc[1].min_lead = H(24);
	f->conf.clock_skew = 60;
	f->conf.jwks_max_age = 300;
	f->conf.poll_interval_ms = 500;
	f->conf.past_grace = 5;
	f->conf.quorum = 1;
	f->conf.proposal_lifetime = H(72);
	f->conf.types = f->tc;
	f->conf.n_types = 2;
	pol_state_init(&f->st);
	*state = f;
	return 0;
}

int
fx_teardown(void **state)
{
	fx *f = *state;

	pol_state_free(&f->st);
	free(f);
	return 0;
}

const pol_key *
fx_key(fx *f, char tag, p11s_keytype kt, unsigned bits, p11s_time nb, p11s_time na)
{
	static const uint8_t der[4] = {0x30, 0x02, 0x05, 0x00};
	pol_key *k;

	assert_true(f->n_keys < sizeof(f->keys) / sizeof(f->keys[0]));
	k = &f->keys[f->n_keys++];
	memset(k, 0, sizeof(*k));
	memset(k->sha1, tag, 40);
	memset(k->sha256, tag, 64);
	k->keytype = kt;
	k->bits = bits;
	k->not_before = nb;
	k->not_after = na;
	snprintf(k->id_hex, sizeof(k->id_hex), "%c%c", tag, tag);
	k->cert_der = (uint8_t *)(uintptr_t)der;
	k->cert_len = sizeof(der);
	return k;
}

void
fx_assign(fx *f, const char *type, const pol_key *k, p11s_time at)
{
	const char *types[1] = {type};

	assert_int_equal(pol_apply_assign(&f->st, types, 1, k, at), 0);
}

pol_candidate
fx_cand(const pol_key *k)
{
	pol_candidate c = {k, 1, 1, 1};

	return c;
}

void
fx_roll_ok(fx *f, const char *const *types, size_t n, const pol_key *k, p11s_time e, p11s_time now)
{
	pol_candidate c = fx_cand(k);
	pol_refusal why;
	int r = pol_check_roll(&f->conf, &f->st, types, n, &c, e, now, 0, &why);

	if (r != 0)
		fail_msg("roll refused: %s", why.msg);
	assert_int_equal(why.rule, POL_OK);
	assert_int_equal(pol_apply_roll(&f->st, types, n, k, e, now, 0), 0);
}

void
fx_assert_state_equal(const pol_state *a, const pol_state *b)
{
	assert_int_equal(a->n_keys, b->n_keys);
	for (size_t i = 0; i < a->n_keys; i++) {
		const pol_key *x = &a->keys[i], *y = &b->keys[i];

		assert_string_equal(x->sha1, y->sha1);
		assert_string_equal(x->sha256, y->sha256);
		assert_string_equal(x->id_hex, y->id_hex);
		assert_int_equal(x->keytype, y->keytype);
		assert_int_equal(x->bits, y->bits);
		assert_int_equal(x->not_before, y->not_before);
		assert_int_equal(x->not_after, y->not_after);
		assert_int_equal(x->removed_at, y->removed_at);
		assert_int_equal(x->cert_len, y->cert_len);
		if (x->cert_len != 0)
			assert_memory_equal(x->cert_der, y->cert_der, x->cert_len);
	}
	assert_int_equal(a->n_types, b->n_types);
	for (size_t i = 0; i < a->n_types; i++) {
		const pol_type_state *x = &a->types[i], *y = &b->types[i];

		assert_string_equal(x->name, y->name);
		assert_int_equal(x->n_epochs, y->n_epochs);
		for (size_t j = 0; j < x->n_epochs; j++) {
			assert_string_equal(x->epochs[j].key, y->epochs[j].key);
			assert_int_equal(x->epochs[j].effective, y->epochs[j].effective);
			assert_int_equal(x->epochs[j].staged_at, y->epochs[j].staged_at);
		}
	}
}

static void
vassert_refused(int r, const pol_refusal *why, pol_rule rule, const char *type, p11s_time nearest,
		va_list ap)
{
	const char *sub;

	if (r != P11S_E_POLICY || why->rule != rule)
		fail_msg("expected %s, got r=%d rule=%s: %s", pol_rule_name(rule), r,
			 pol_rule_name(why->rule), why->msg);
	assert_string_equal(why->type, type);
	assert_int_equal(why->nearest, nearest);
	assert_string_equal(p11s_errmsg(r), why->msg);
	/* One complete sentence. */
	assert_true(why->msg[0] >= 'A' && why->msg[0] <= 'Z');
	assert_int_equal(why->msg[strlen(why->msg) - 1], '.');
	while ((sub = va_arg(ap, const char *)) != NULL) {
		if (strstr(why->msg, sub) == NULL)
			fail_msg("message lacks \"%s\": %s", sub, why->msg);
	}
}

void
fx_assert_refused(int r, const pol_refusal *why, pol_rule rule, const char *type, p11s_time nearest,
		  ...)
{
	va_list ap;

	va_start(ap, nearest);
	vassert_refused(r, why, rule, type, nearest, ap);
	va_end(ap);
}

void
fx_roll_refused(fx *f, const char *const *types, size_t n, const pol_candidate *k, p11s_time e,
		p11s_time now, int replace, pol_rule rule, const char *type, p11s_time nearest, ...)
{
	pol_state before;
	pol_refusal why;
	va_list ap;
	int r;

	assert_int_equal(pol_state_copy(&f->st, &before), 0);
	r = pol_check_roll(&f->conf, &f->st, types, n, k, e, now, replace, &why);
	va_start(ap, nearest);
	vassert_refused(r, &why, rule, type, nearest, ap);
	va_end(ap);
	fx_assert_state_equal(&f->st, &before);
	pol_state_free(&before);
}

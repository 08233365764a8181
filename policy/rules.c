/*
 * policy/rules.c — admission of assignments and rolls (SPEC §3 rules 1-4),
 * the `--effective-date auto` search, and recording admitted decisions.
 */
#include "config.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alg.h"
#include "common/error.h"
#include "common/util.h"
#include "policy/internal.h"
#include "policy/policy.h"

/* ---- argument checks and lookups ----------------------------------------- */

static int
check_args(const char *const *types, size_t n_types, const pol_key *k)
{
	if (types == NULL || n_types == 0)
		return p11s_fail(P11S_E_INVAL, "no type was given; name at least one type");
	for (size_t i = 0; i < n_types; i++) {
		if (types[i] == NULL || types[i][0] == '\0')
			return p11s_fail(P11S_E_INVAL, "an empty type name was given");
		if (strlen(types[i]) >= POL_NAME_MAX)
			return p11s_fail(P11S_E_INVAL, "a type name is longer than %d characters",
					 POL_NAME_MAX - 1);
	}
	if (k == NULL || k->sha1[0] == '\0' || memchr(k->sha1, '\0', sizeof(k->sha1)) == NULL)
		return p11s_fail(P11S_E_INVAL, "no key was given (a SHA-1 thumbprint is required)");
	return 0;
}

/* The key recorded for an epoch; an epoch naming an unrecorded key is a
 * corrupt state. */
static int
epoch_key(const pol_state *s, const char *type, const pol_epoch *e, const pol_key **out)
{
	*out = pol_state_key(s, e->key);
	if (*out == NULL)
		return p11s_fail(
		    P11S_E_STATE,
		    "the state names key %s for type %s but holds no record of that key", e->key,
		    type);
	return 0;
}

/* Issuing key of a type at now (NULL without one) and its epoch. */
static int
current_of(const pol_state *s, const char *type, p11s_time now, const pol_key **key,
	   const pol_epoch **epoch)
{
	const pol_type_state *ts = pol_state_type(s, type);
	long i = poli_issuing_idx(ts, now);

	*key = NULL;
	*epoch = NULL;
	if (i < 0)
		return 0;
	*epoch = &ts->epochs[i];
	return epoch_key(s, type, *epoch, key);
}

/* The listed type whose int64_t field at byte offset `field` is largest
 * (ties: first named); NULL when none of the types is configured. */
static const pol_type_conf *
longest_by(const pol_conf *c, const char *const *types, size_t n_types, size_t field)
{
	const pol_type_conf *best = NULL;
	int64_t best_v = 0;

	for (size_t i = 0; i < n_types; i++) {
		const pol_type_conf *tc = pol_conf_type(c, types[i]);
		int64_t v;

		if (tc == NULL)
			continue;
		memcpy(&v, (const char *)tc + field, sizeof(v));
		if (best == NULL || v > best_v) {
			best = tc;
			best_v = v;
		}
	}
	return best;
}

/* The listed type with the largest token lifetime (ties: first named). */
static const pol_type_conf *
longest_lifetime(const pol_conf *c, const char *const *types, size_t n_types)
{
	return longest_by(c, types, n_types, offsetof(pol_type_conf, token_lifetime));
}

/* The listed type with the largest minimum lead (ties: first named). */
static const pol_type_conf *
longest_lead(const pol_conf *c, const char *const *types, size_t n_types)
{
	return longest_by(c, types, n_types, offsetof(pol_type_conf, min_lead));
}

static const char *
alg_label(p11s_alg alg)
{
	const char *name = p11s_alg_name(alg);

	return name != NULL ? name : "(none)";
}

/* ---- checks shared by assign and roll ------------------------------------- */

int
poli_check_known_types(const pol_conf *c, const char *const *types, size_t n_types,
		       pol_refusal *why)
{
	for (size_t i = 0; i < n_types; i++) {
		char list[POL_NAME_MAX * 6] = "";
		size_t off = 0;

		if (pol_conf_type(c, types[i]) != NULL)
			continue;
		for (size_t j = 0; j < c->n_types && off < sizeof(list); j++) {
			int w = snprintf(list + off, sizeof(list) - off, "%s%s", j ? ", " : "",
					 c->types[j].name);

			if (w < 0)
				break;
			off += (size_t)w;
		}
		return poli_refuse(why, POL_R_UNKNOWN_TYPE, types[i], 0, 0,
				   "Type %s is not configured; the configured types are: %s.",
				   types[i], c->n_types ? list : "(none)");
	}
	return 0;
}

/* Rule 1 and the removal record. */
static int
check_key_usable(const pol_conf *c, const pol_state *s, const char *const *types, size_t n_types,
		 const pol_candidate *k, pol_refusal *why)
{
	const pol_key *key = k->key;
	const pol_key *known = pol_state_key(s, key->sha1);
	char ts[POLI_TS_LEN];

	if (!k->on_token)
		return poli_refuse(
		    why, POL_R_NOT_ON_TOKEN, NULL, 0, 0,
		    "Key %s cannot be used: its private key or its certificate is not "
		    "on the token.",
		    key->sha1);
	if (!k->cert_matches_key)
		return poli_refuse(
		    why, POL_R_KEY_MISMATCH, NULL, 0, 0,
		    "The certificate of key %s does not match its private key on the "
		    "token.",
		    key->sha1);
	for (size_t i = 0; i < n_types; i++) {
		const pol_type_conf *tc = pol_conf_type(c, types[i]);

		if (p11s_alg_fits(tc->alg, key->keytype, key->bits))
			continue;
		if (key->keytype == P11S_KT_RSA)
			return poli_refuse(
			    why, POL_R_KEY_TYPE, tc->name, 0, 0,
			    "Key %s is an RSA key of %u bits, which does not fit type "
			    "%s: its algorithm %s needs %s.",
			    key->sha1, key->bits, tc->name, alg_label(tc->alg),
			    p11s_alg_needs(tc->alg));
		return poli_refuse(why, POL_R_KEY_TYPE, tc->name, 0, 0,
				   "Key %s is an %s key, which does not fit type %s: its algorithm "
				   "%s needs %s.",
				   key->sha1, p11s_keytype_name(key->keytype), tc->name,
				   alg_label(tc->alg), p11s_alg_needs(tc->alg));
	}
	if (key->removed_at != 0 || (known != NULL && known->removed_at != 0)) {
		poli_fmt_utc(key->removed_at != 0 ? key->removed_at : known->removed_at, ts);
		return poli_refuse(
		    why, POL_R_KEY_REMOVED, NULL, 0, 0,
		    "Key %s was removed from the token at %s and cannot be used again.", key->sha1,
		    ts);
	}
	return 0;
}

/* ---- assign ------------------------------------------------------------- */

int
pol_check_assign(const pol_conf *c, const pol_state *s, const char *const *types, size_t n_types,
		 const pol_candidate *k, p11s_time now, pol_refusal *why)
{
	int r = P11S_E_INTERNAL;
	const pol_key *key;
	const pol_type_conf *life;
	char t1[POLI_TS_LEN], t2[POLI_TS_LEN], d[POLI_TS_LEN];

	poli_refusal_clear(why);
	if (c == NULL || s == NULL || k == NULL) {
		r = p11s_fail(P11S_E_INVAL,
			      "pol_check_assign needs a configuration, state and key");
		goto out;
	}
	if ((r = check_args(types, n_types, k->key)) != 0)
		goto out;
	key = k->key;
	if ((r = poli_check_known_types(c, types, n_types, why)) != 0)
		goto out;
	if ((r = check_key_usable(c, s, types, n_types, k, why)) != 0)
		goto out;
	for (size_t i = 0; i < n_types; i++) {
		const pol_type_state *ts = pol_state_type(s, types[i]);

		if (ts == NULL || ts->n_epochs == 0)
			continue;
		poli_fmt_utc(ts->epochs[0].effective, t1);
		r = poli_refuse(why, POL_R_ALREADY_ASSIGNED, types[i], 0, 0,
				"Type %s already has key %s (effective since %s); use roll to "
				"change its key.",
				types[i], ts->epochs[0].key, t1);
		goto out;
	}
	poli_fmt_utc(now, t2);
	if (key->not_before > now) {
		poli_fmt_utc(key->not_before, t1);
		r = poli_refuse(
		    why, POL_R_NOT_YET_VALID, NULL, key->not_before, key->not_before,
		    "The certificate of key %s is not valid until %s (now is %s); assign "
		    "it at or after %s.",
		    key->sha1, t1, t2, t1);
		goto out;
	}
	if (key->not_after <= now) {
		poli_fmt_utc(key->not_after, t1);
		r = poli_refuse(why, POL_R_EXPIRED, NULL, key->not_after, 0,
				"The certificate of key %s expired at %s (now is %s).", key->sha1,
				t1, t2);
		goto out;
	}
	life = longest_lifetime(c, types, n_types);
	if (key->not_after - now < life->token_lifetime) {
		poli_fmt_utc(key->not_after, t1);
		poli_fmt_dur(life->token_lifetime, d);
		r = poli_refuse(why, POL_R_VALIDITY_TOO_SHORT, life->name, life->token_lifetime, 0,
				"The certificate of key %s expires at %s, less than the %s token "
				"lifetime of type %s after now (%s).",
				key->sha1, t1, d, life->name, t2);
		goto out;
	}
	r = 0;
out:
	return r;
}

/* ---- roll ---------------------------------------------------------------- */

/* Everything that does not depend on E: type names, rule 1, a current key
 * per type, not the same key, rule 4. */
static int
check_roll_key(const pol_conf *c, const pol_state *s, const char *const *types, size_t n_types,
	       const pol_candidate *k, p11s_time now, int replace, pol_refusal *why)
{
	int r;
	const pol_key *key = k->key;
	char t1[POLI_TS_LEN];

	if ((r = poli_check_known_types(c, types, n_types, why)) != 0)
		return r;
	if ((r = check_key_usable(c, s, types, n_types, k, why)) != 0)
		return r;
	for (size_t i = 0; i < n_types; i++) {
		const pol_key *cur;
		const pol_epoch *ep;

		if ((r = current_of(s, types[i], now, &cur, &ep)) != 0)
			return r;
		if (cur != NULL)
			continue;
		poli_fmt_utc(now, t1);
		return poli_refuse(why, POL_R_NO_CURRENT, types[i], 0, 0,
				   "Type %s has no current key at %s to roll from; use assign to "
				   "give it its first key.",
				   types[i], t1);
	}
	for (size_t i = 0; i < n_types; i++) {
		const pol_type_state *ts = pol_state_type(s, types[i]);
		long cur = poli_issuing_idx(ts, now);

		for (size_t j = (size_t)cur; j < ts->n_epochs; j++) {
			const pol_epoch *e = &ts->epochs[j];

			if (strcmp(e->key, key->sha1) != 0)
				continue;
			poli_fmt_utc(e->effective, t1);
			if ((long)j == cur)
				return poli_refuse(why, POL_R_SAME_KEY, types[i], 0, 0,
						   "Key %s is already the current key of type %s "
						   "(since %s).",
						   key->sha1, types[i], t1);
			/* --replace withdraws the pending epoch: re-staging the same
			 * key at another instant is how a roll is rescheduled. */
			if (replace)
				continue;
			return poli_refuse(why, POL_R_SAME_KEY, types[i], 0, 0,
					   "Key %s is already staged for type %s, effective at %s; "
					   "give --replace to reschedule it.",
					   key->sha1, types[i], t1);
		}
	}
	for (size_t i = 0; i < n_types && !replace; i++) {
		const pol_type_state *ts = pol_state_type(s, types[i]);
		long st = poli_staged_idx(ts, now);

		if (st < 0)
			continue;
		poli_fmt_utc(ts->epochs[st].effective, t1);
		return poli_refuse(why, POL_R_PENDING, types[i], ts->epochs[st].effective, 0,
				   "Type %s already has a roll pending: key %s is staged to become "
				   "effective at %s; withdraw it with --replace.",
				   types[i], ts->epochs[st].key, t1);
	}
	return 0;
}

/* Rule 2 parts that do not depend on E: expired at now; outlives every
 * current certificate. */
static int
check_expiry(const pol_state *s, const char *const *types, size_t n_types, const pol_key *key,
	     p11s_time now, int outlives, pol_refusal *why)
{
	int r;
	char t1[POLI_TS_LEN], t2[POLI_TS_LEN];

	if (!outlives) {
		if (key->not_after > now)
			return 0;
		poli_fmt_utc(key->not_after, t1);
		poli_fmt_utc(now, t2);
		return poli_refuse(why, POL_R_EXPIRED, NULL, key->not_after, 0,
				   "The certificate of key %s expired at %s (now is %s).",
				   key->sha1, t1, t2);
	}
	for (size_t i = 0; i < n_types; i++) {
		const pol_key *cur;
		const pol_epoch *ep;

		if ((r = current_of(s, types[i], now, &cur, &ep)) != 0)
			return r;
		if (key->not_after > cur->not_after)
			continue;
		poli_fmt_utc(key->not_after, t1);
		poli_fmt_utc(cur->not_after, t2);
		return poli_refuse(
		    why, POL_R_EXPIRES_BEFORE_CURRENT, types[i], cur->not_after, 0,
		    "The certificate of key %s expires at %s, not after the current "
		    "certificate %s of type %s (%s); the new certificate must outlive "
		    "the current one.",
		    key->sha1, t1, cur->sha1, types[i], t2);
	}
	return 0;
}

/* Latest E allowed by rule 3's lead: min over types of current.notAfter - L.
 * *lead is the type that sets L, *binding the type whose current key expires
 * first. */
static int
lead_bound(const pol_conf *c, const pol_state *s, const char *const *types, size_t n_types,
	   p11s_time now, const pol_type_conf **lead, const char **binding,
	   const pol_key **binding_cur, p11s_time *latest)
{
	int r;

	*lead = longest_lead(c, types, n_types);
	*binding = NULL;
	*binding_cur = NULL;
	*latest = 0;
	for (size_t i = 0; i < n_types; i++) {
		const pol_key *cur;
		const pol_epoch *ep;

		if ((r = current_of(s, types[i], now, &cur, &ep)) != 0)
			return r;
		if (*binding == NULL || cur->not_after - (*lead)->min_lead < *latest) {
			*latest = cur->not_after - (*lead)->min_lead;
			*binding = types[i];
			*binding_cur = cur;
		}
	}
	return 0;
}

int
pol_check_roll(const pol_conf *c, const pol_state *s, const char *const *types, size_t n_types,
	       const pol_candidate *k, p11s_time effective, p11s_time now, int replace,
	       pol_refusal *why)
{
	int r = P11S_E_INTERNAL;
	const pol_key *key, *bcur;
	const pol_type_conf *life, *lead;
	const char *binding;
	p11s_time latest;
	char tE[POLI_TS_LEN], tN[POLI_TS_LEN], t1[POLI_TS_LEN], t2[POLI_TS_LEN], d[POLI_TS_LEN];

	poli_refusal_clear(why);
	if (c == NULL || s == NULL || k == NULL) {
		r = p11s_fail(P11S_E_INVAL, "pol_check_roll needs a configuration, state and key");
		goto out;
	}
	if ((r = check_args(types, n_types, k->key)) != 0)
		goto out;
	key = k->key;
	if ((r = check_roll_key(c, s, types, n_types, k, now, replace, why)) != 0)
		goto out;
	poli_fmt_utc(effective, tE);
	poli_fmt_utc(now, tN);

	/* Rule 2. */
	if ((r = check_expiry(s, types, n_types, key, now, 0, why)) != 0)
		goto out;
	if (key->not_before > effective) {
		poli_fmt_utc(key->not_before, t1);
		r = poli_refuse(
		    why, POL_R_NOT_YET_VALID, NULL, key->not_before, key->not_before,
		    "The certificate of key %s is not valid until %s, after the effective "
		    "instant %s; choose an effective instant at or after %s.",
		    key->sha1, t1, tE, t1);
		goto out;
	}
	if ((r = check_expiry(s, types, n_types, key, now, 1, why)) != 0)
		goto out;
	life = longest_lifetime(c, types, n_types);
	if (effective > key->not_after - life->token_lifetime) {
		poli_fmt_utc(key->not_after, t1);
		poli_fmt_utc(key->not_after - life->token_lifetime, t2);
		poli_fmt_dur(life->token_lifetime, d);
		r = poli_refuse(why, POL_R_VALIDITY_TOO_SHORT, life->name, life->token_lifetime,
				key->not_after - life->token_lifetime,
				"The certificate of key %s expires at %s, less than the %s token "
				"lifetime of type %s after the effective instant %s; the latest "
				"acceptable effective instant is %s.",
				key->sha1, t1, d, life->name, tE, t2);
		goto out;
	}

	/* Rule 3. */
	if (effective < now - c->past_grace) {
		poli_fmt_utc(pol_earliest_effective(c, now), t1);
		poli_fmt_dur(c->past_grace, d);
		r = poli_refuse(
		    why, POL_R_IN_PAST, NULL, c->past_grace, pol_earliest_effective(c, now),
		    "The effective instant %s is in the past (now is %s, grace %s); the "
		    "earliest acceptable effective instant is %s.",
		    tE, tN, d, t1);
		goto out;
	}
	if ((r = lead_bound(c, s, types, n_types, now, &lead, &binding, &bcur, &latest)) != 0)
		goto out;
	if (effective > latest) {
		poli_fmt_utc(bcur->not_after, t1);
		poli_fmt_utc(latest, t2);
		poli_fmt_dur(lead->min_lead, d);
		r = poli_refuse(why, POL_R_LEAD_TOO_SHORT, lead->name, lead->min_lead, latest,
				"The effective instant %s leaves less than the %s minimum lead of "
				"%s before the current certificate of %s expires at %s; the latest "
				"acceptable effective instant is %s.",
				tE, d, lead->name, binding, t1, t2);
		goto out;
	}

	/* Rule 3a. */
	if (effective < pol_earliest_effective(c, now)) {
		p11s_time earliest = pol_earliest_effective(c, now);

		poli_fmt_utc(earliest, t1);
		poli_fmt_dur(c->jwks_max_age, d);
		r = poli_refuse(
		    why, POL_R_JWKS_CACHE, NULL, earliest - now, earliest,
		    "The effective instant %s is less than jwks_max_age %s plus the members' "
		    "poll interval of %lld ms after staging (now %s, rounded up to the "
		    "second), so verifiers may not have fetched the new key; the earliest "
		    "acceptable effective instant is %s.",
		    tE, d, (long long)c->poll_interval_ms, tN, t1);
		goto out;
	}

	/* Rule 3b. */
	if (!k->test_signature_ok) {
		if (k->test_signature_error != NULL)
			r = poli_refuse(why, POL_R_TEST_SIGNATURE, NULL, 0, 0,
					"A test signature with key %s failed: %s.", key->sha1,
					k->test_signature_error);
		else
			r = poli_refuse(why, POL_R_TEST_SIGNATURE, NULL, 0, 0,
					"A test signature made with key %s did not verify with its "
					"certificate.",
					key->sha1);
		goto out;
	}
	r = 0;
out:
	return r;
}

p11s_time
pol_earliest_effective(const pol_conf *c, p11s_time now)
{
	int64_t poll_s = c->poll_interval_ms > 0 ? (c->poll_interval_ms + 999) / 1000 : 0;

	return now + 1 + c->jwks_max_age + poll_s;
}

int
pol_auto_effective(const pol_conf *c, const pol_state *s, const char *const *types, size_t n_types,
		   const pol_candidate *k, p11s_time now, int replace, p11s_time *effective,
		   pol_refusal *why)
{
	int r = P11S_E_INTERNAL;
	const pol_key *key, *bcur;
	const pol_type_conf *life, *lead;
	const char *binding;
	p11s_time by_lead, by_life, upper, lower;
	char hi[2 * POL_NAME_MAX + 3 * POLI_TS_LEN + 96], lo[3 * POLI_TS_LEN + 64];
	char t1[POLI_TS_LEN], d[POLI_TS_LEN];

	poli_refusal_clear(why);
	if (effective != NULL)
		*effective = 0;
	if (c == NULL || s == NULL || k == NULL || effective == NULL) {
		r = p11s_fail(P11S_E_INVAL,
			      "pol_auto_effective needs a configuration, state, key and result");
		goto out;
	}
	if ((r = check_args(types, n_types, k->key)) != 0)
		goto out;
	key = k->key;
	if ((r = check_roll_key(c, s, types, n_types, k, now, replace, why)) != 0)
		goto out;
	if ((r = check_expiry(s, types, n_types, key, now, 0, why)) != 0)
		goto out;
	if ((r = check_expiry(s, types, n_types, key, now, 1, why)) != 0)
		goto out;

	life = longest_lifetime(c, types, n_types);
	if ((r = lead_bound(c, s, types, n_types, now, &lead, &binding, &bcur, &by_lead)) != 0)
		goto out;
	by_life = key->not_after - life->token_lifetime;
	upper = by_lead <= by_life ? by_lead : by_life;
	lower = pol_earliest_effective(c, now);
	if (key->not_before > lower)
		lower = key->not_before;
	if (now - c->past_grace > lower)
		lower = now - c->past_grace;

	if (upper < lower) {
		poli_fmt_utc(upper, t1);
		if (by_lead <= by_life) {
			poli_fmt_dur(lead->min_lead, d);
			(void)snprintf(hi, sizeof(hi),
				       "the latest instant allowed by the %s lead of %s before the "
				       "current certificate of %s expires, %s,",
				       d, lead->name, binding, t1);
		} else {
			poli_fmt_dur(life->token_lifetime, d);
			(void)snprintf(hi, sizeof(hi),
				       "the latest instant allowed by the %s token lifetime of %s "
				       "before the certificate of key %s expires, %s,",
				       d, life->name, key->sha1, t1);
		}
		poli_fmt_utc(lower, t1);
		if (lower == pol_earliest_effective(c, now)) {
			poli_fmt_dur(c->jwks_max_age, d);
			(void)snprintf(lo, sizeof(lo),
				       "the earliest allowed by jwks_max_age %s plus the poll "
				       "interval, %s",
				       d, t1);
		} else if (lower == key->not_before) {
			(void)snprintf(lo, sizeof(lo),
				       "the earliest allowed by the certificate's notBefore, %s",
				       t1);
		} else {
			poli_fmt_dur(c->past_grace, d);
			(void)snprintf(lo, sizeof(lo),
				       "the earliest allowed by the past grace %s, %s", d, t1);
		}
		r = poli_refuse(
		    why, POL_R_NO_AUTO, by_lead <= by_life ? lead->name : life->name,
		    by_lead <= by_life ? lead->min_lead : life->token_lifetime, 0,
		    "No effective instant satisfies every rule for key %s: %s is before "
		    "%s.",
		    key->sha1, hi, lo);
		goto out;
	}
	if ((r = pol_check_roll(c, s, types, n_types, k, upper, now, replace, why)) != 0)
		goto out;
	*effective = upper;
	r = 0;
out:
	return r;
}

/* ---- recording ----------------------------------------------------------- */

static int
type_mut(pol_state *s, const char *name, pol_type_state **out)
{
	pol_type_state *types;

	*out = NULL;
	for (size_t i = 0; i < s->n_types; i++) {
		if (strcmp(s->types[i].name, name) == 0) {
			*out = &s->types[i];
			return 0;
		}
	}
	types = realloc(s->types, (s->n_types + 1) * sizeof(*types));
	if (types == NULL)
		return p11s_fail(P11S_E_NOMEM, "out of memory recording type %s", name);
	s->types = types;
	*out = &s->types[s->n_types++];
	memset(*out, 0, sizeof(**out));
	(void)snprintf((*out)->name, sizeof((*out)->name), "%s", name);
	return 0;
}

/* Insert after every epoch with effective <= e->effective: sorted, stable. */
static int
insert_epoch(pol_type_state *ts, const pol_epoch *e)
{
	pol_epoch *ep = realloc(ts->epochs, (ts->n_epochs + 1) * sizeof(*ep));
	size_t pos = ts->n_epochs;

	if (ep == NULL)
		return p11s_fail(P11S_E_NOMEM, "out of memory recording an epoch of type %s",
				 ts->name);
	ts->epochs = ep;
	while (pos > 0 && ts->epochs[pos - 1].effective > e->effective)
		pos--;
	memmove(&ts->epochs[pos + 1], &ts->epochs[pos], (ts->n_epochs - pos) * sizeof(*ep));
	ts->epochs[pos] = *e;
	ts->n_epochs++;
	return 0;
}

static void
withdraw_pending(pol_type_state *ts, p11s_time now)
{
	size_t kept = 0;

	for (size_t i = 0; i < ts->n_epochs; i++) {
		if (ts->epochs[i].effective <= now)
			ts->epochs[kept++] = ts->epochs[i];
	}
	ts->n_epochs = kept;
}

/*
 * Work on a copy and swap it in on success, so a failure leaves *s exactly
 * as it was.  Pointers into s->keys taken before the call are invalid after
 * it (k itself may be one: it is only read before the swap).
 */
static int
apply_epochs(pol_state *s, const char *const *types, size_t n_types, const pol_key *k,
	     p11s_time effective, p11s_time now, int replace)
{
	int r = P11S_E_INTERNAL;
	pol_state tmp;
	pol_epoch e;

	pol_state_init(&tmp);
	if (s == NULL) {
		r = p11s_fail(P11S_E_INVAL, "no policy state to record the decision in");
		goto out;
	}
	if ((r = check_args(types, n_types, k)) != 0)
		goto out;
	memset(&e, 0, sizeof(e));
	memcpy(e.key, k->sha1, sizeof(e.key));
	e.effective = effective;
	e.staged_at = now;
	if ((r = pol_state_copy(s, &tmp)) != 0)
		goto out;
	if ((r = pol_state_put_key(&tmp, k)) != 0)
		goto out;
	for (size_t i = 0; i < n_types; i++) {
		pol_type_state *ts;

		if (poli_dup_before(types, i))
			continue;
		if ((r = type_mut(&tmp, types[i], &ts)) != 0)
			goto out;
		if (replace)
			withdraw_pending(ts, now);
		if ((r = insert_epoch(ts, &e)) != 0)
			goto out;
	}
	pol_state_free(s);
	*s = tmp;
	pol_state_init(&tmp);
	r = 0;
out:
	pol_state_free(&tmp);
	return r;
}

int
pol_apply_assign(pol_state *s, const char *const *types, size_t n_types, const pol_key *k,
		 p11s_time now)
{
	return apply_epochs(s, types, n_types, k, now, now, 0);
}

int
pol_apply_roll(pol_state *s, const char *const *types, size_t n_types, const pol_key *k,
	       p11s_time effective, p11s_time now, int replace)
{
	return apply_epochs(s, types, n_types, k, effective, now, replace);
}

p11s_time
pol_roll_deadline(const pol_conf *c, const pol_state *s, const char *type, p11s_time now)
{
	const pol_key *cur, *other;
	const pol_epoch *ep;
	int64_t lead = 0;

	if (current_of(s, type, now, &cur, &ep) != 0 || cur == NULL)
		return 0;
	for (size_t i = 0; i < c->n_types; i++)
		if (current_of(s, c->types[i].name, now, &other, &ep) == 0 && other != NULL &&
		    strcmp(other->sha1, cur->sha1) == 0 && c->types[i].min_lead > lead)
			lead = c->types[i].min_lead;
	return cur->not_after - lead;
}

/*
 * policy/view.c — the effective view, a pure function of (state, now):
 * issuing key, verification and publication sets, timeline, and the safe
 * removal of a previous key.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/error.h"
#include "common/util.h"
#include "policy/internal.h"
#include "policy/policy.h"

const pol_key *
pol_issuing_key(const pol_state *s, const char *type, p11s_time now)
{
	const pol_type_state *ts = pol_state_type(s, type);
	long i = poli_issuing_idx(ts, now);

	return i < 0 ? NULL : pol_state_key(s, ts->epochs[i].key);
}

int
pol_check_issue(const pol_key *key, p11s_time now, int64_t lifetime, int64_t *allowed,
		pol_refusal *why)
{
	char t1[POLI_TS_LEN], t2[POLI_TS_LEN];
	int r;

	poli_refusal_clear(why);
	if (allowed != NULL)
		*allowed = 0;
	if (key == NULL || allowed == NULL || lifetime <= 0) {
		r = p11s_fail(P11S_E_INVAL, "pol_check_issue needs a key, a result and a lifetime");
		goto out;
	}
	poli_fmt_utc(now, t2);
	if (now >= key->not_after) {
		poli_fmt_utc(key->not_after, t1);
		r = poli_refuse(why, POL_R_CERT_NOT_VALID_NOW, NULL, key->not_after, 0,
				"The certificate of key %s expired at %s (notAfter; now is %s): "
				"no token is signed with it; stage a roll to a key with a valid "
				"certificate.",
				key->sha1, t1, t2);
		goto out;
	}
	if (now < key->not_before) {
		poli_fmt_utc(key->not_before, t1);
		r = poli_refuse(
		    why, POL_R_CERT_NOT_VALID_NOW, NULL, key->not_before, key->not_before,
		    "The certificate of key %s is not valid until %s (notBefore; now is "
		    "%s): no token is signed with it before then.",
		    key->sha1, t1, t2);
		goto out;
	}
	*allowed = key->not_after - now < lifetime ? key->not_after - now : lifetime;
	r = 0;
out:
	return r;
}

/* Does key sha1 appear in epochs [from, to] of ts? */
static int
key_in_epochs(const pol_type_state *ts, const char *sha1, long from, long to)
{
	for (long j = from; j <= to; j++) {
		if (strcmp(ts->epochs[j].key, sha1) == 0)
			return 1;
	}
	return 0;
}

/* Output with the kid filter and the `max` limit applied. */
typedef struct set_sink {
	const char *kid;
	pol_vkey *out;
	size_t max;
	size_t n;
} set_sink;

static void
sink_add(set_sink *sk, const pol_key *key, pol_role role)
{
	if (key == NULL)
		return;
	if (sk->kid != NULL && strcasecmp(sk->kid, key->sha256) != 0)
		return;
	if (sk->n < sk->max) {
		sk->out[sk->n].key = key;
		sk->out[sk->n].role = role;
		sk->n++;
	}
}

static void
build_set(const pol_conf *c, const pol_state *s, const char *type, p11s_time now, const char *kid,
	  int from_staging, pol_vkey *out, size_t max, size_t *n)
{
	const pol_type_state *ts = pol_state_type(s, type);
	long cur = poli_issuing_idx(ts, now);
	long st = poli_staged_idx(ts, now);
	set_sink sk = {kid, out, out != NULL ? max : 0, 0};

	if (n != NULL)
		*n = 0;
	if (ts == NULL)
		return;
	if (cur >= 0) {
		const pol_key *key = pol_state_key(s, ts->epochs[cur].key);

		/* rule 3c: an expired certificate verifies nothing, current or not */
		if (key != NULL && now < key->not_after)
			sink_add(&sk, key, POL_ROLE_CURRENT);
	}
	for (long j = cur - 1; j >= 0; j--) {
		const pol_key *key = pol_state_key(s, ts->epochs[j].key);

		/* A key listed for a newer epoch is already in the set (or filtered). */
		if (key == NULL || key_in_epochs(ts, key->sha1, j + 1, cur))
			continue;
		if (key->removed_at != 0 || now >= key->not_after)
			continue;
		sink_add(&sk, key, POL_ROLE_PREVIOUS);
	}
	if (st >= 0) {
		const pol_epoch *e = &ts->epochs[st];
		const pol_key *key = pol_state_key(s, e->key);
		int visible =
		    now >= e->effective - c->clock_skew || (from_staging && now >= e->staged_at);

		/* A staged key that is also an older key keeps its place above. */
		if (visible && key != NULL && key->removed_at == 0 && now < key->not_after &&
		    !key_in_epochs(ts, key->sha1, 0, cur))
			sink_add(&sk, key, POL_ROLE_STAGED);
	}
	if (n != NULL)
		*n = sk.n;
}

void
pol_verification_set(const pol_conf *c, const pol_state *s, const char *type, p11s_time now,
		     const char *kid_sha256, pol_vkey *out, size_t max, size_t *n)
{
	build_set(c, s, type, now, kid_sha256, 0, out, max, n);
}

void
pol_publication_set(const pol_conf *c, const pol_state *s, const char *type, p11s_time now,
		    pol_vkey *out, size_t max, size_t *n)
{
	build_set(c, s, type, now, NULL, 1, out, max, n);
}

/* ---- previous keys and removal ------------------------------------------- */

/* Newest epoch before the issuing one whose key is neither the issuing key
 * nor removed; -1 without. */
static long
previous_idx(const pol_state *s, const pol_type_state *ts, p11s_time now)
{
	long cur = poli_issuing_idx(ts, now);

	for (long j = cur - 1; j >= 0; j--) {
		const pol_key *key = pol_state_key(s, ts->epochs[j].key);

		if (key == NULL || key->removed_at != 0 ||
		    strcmp(ts->epochs[j].key, ts->epochs[cur].key) == 0)
			continue;
		return j;
	}
	return -1;
}

/* Instant at which the key at epoch j stopped issuing in ts: the effective of
 * the next epoch with another key.  Returns 0 if there is none (the key still
 * issues or is staged there). */
static int
switch_instant(const pol_type_state *ts, size_t j, p11s_time *at)
{
	*at = 0;
	for (size_t i = j + 1; i < ts->n_epochs; i++) {
		if (strcmp(ts->epochs[i].key, ts->epochs[j].key) != 0) {
			*at = ts->epochs[i].effective;
			return 1;
		}
	}
	return 0;
}

/*
 * Returns 0 for a key that is unknown, never issued, or whose last epoch in
 * some type is that type's last epoch (it still issues or is staged there).
 * A type that is no longer configured has an unknown token lifetime: then
 * only the certificate's expiry makes removal safe.
 */
p11s_time
pol_safe_removal(const pol_conf *c, const pol_state *s, const char *sha1)
{
	const pol_key *key = pol_state_key(s, sha1);
	p11s_time stopped = 0, safe;
	int64_t life = 0;
	int used = 0, unknown_life = 0;

	if (key == NULL || c == NULL)
		return 0;
	for (size_t t = 0; t < s->n_types; t++) {
		const pol_type_state *ts = &s->types[t];
		const pol_type_conf *tc = pol_conf_type(c, ts->name);
		long last = -1;
		p11s_time sw;

		for (size_t j = 0; j < ts->n_epochs; j++) {
			if (strcmp(ts->epochs[j].key, sha1) == 0)
				last = (long)j;
		}
		if (last < 0)
			continue;
		if (!switch_instant(ts, (size_t)last, &sw))
			return 0;
		if (!used || sw > stopped)
			stopped = sw;
		used = 1;
		if (tc == NULL)
			unknown_life = 1;
		else if (tc->token_lifetime > life)
			life = tc->token_lifetime;
	}
	if (!used)
		return 0;
	if (unknown_life)
		return key->not_after;
	safe = stopped + life + c->clock_skew;
	return key->not_after < safe ? key->not_after : safe;
}

int
pol_timeline_of(const pol_conf *c, const pol_state *s, const char *type, p11s_time now,
		pol_timeline *out)
{
	int r = P11S_E_INTERNAL;
	const pol_type_state *ts;
	long cur, st, prev;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (c == NULL || s == NULL || type == NULL || out == NULL) {
		r = p11s_fail(P11S_E_INVAL,
			      "pol_timeline_of needs a configuration, state and type");
		goto out;
	}
	ts = pol_state_type(s, type);
	if (ts == NULL && pol_conf_type(c, type) == NULL) {
		r = p11s_fail(P11S_E_NOTFOUND, "type %s is neither configured nor in the state",
			      type);
		goto out;
	}
	cur = poli_issuing_idx(ts, now);
	st = poli_staged_idx(ts, now);
	if (cur >= 0) {
		out->current = pol_state_key(s, ts->epochs[cur].key);
		out->current_since = ts->epochs[cur].effective;
		if ((prev = previous_idx(s, ts, now)) >= 0) {
			out->previous = pol_state_key(s, ts->epochs[prev].key);
			(void)switch_instant(ts, (size_t)prev, &out->previous_until);
			out->previous_expiry = out->previous->not_after;
			out->safe_removal = pol_safe_removal(c, s, out->previous->sha1);
		}
	}
	if (st >= 0) {
		out->staged = pol_state_key(s, ts->epochs[st].key);
		out->effective = ts->epochs[st].effective;
		out->staged_at = ts->epochs[st].staged_at;
	}
	r = 0;
out:
	return r;
}

/* Is the key current or staged for some type at now?  *where names it. */
static int
in_use(const pol_state *s, const char *sha1, p11s_time now, const char **where, pol_role *role,
       p11s_time *since)
{
	for (size_t t = 0; t < s->n_types; t++) {
		const pol_type_state *ts = &s->types[t];
		long cur = poli_issuing_idx(ts, now);

		for (size_t j = cur < 0 ? 0 : (size_t)cur; j < ts->n_epochs; j++) {
			if (strcmp(ts->epochs[j].key, sha1) != 0)
				continue;
			*where = ts->name;
			*role = (long)j == cur ? POL_ROLE_CURRENT : POL_ROLE_STAGED;
			*since = ts->epochs[j].effective;
			return 1;
		}
	}
	return 0;
}

int
pol_check_remove(const pol_conf *c, const pol_state *s, const char *type, p11s_time now, int force,
		 const pol_key **victim, int *forced_early, pol_refusal *why)
{
	int r = P11S_E_INTERNAL;
	const pol_type_state *ts;
	const pol_key *key;
	const char *where = NULL;
	pol_role role = POL_ROLE_NONE;
	p11s_time since = 0, safe;
	long prev;
	char t1[POLI_TS_LEN], t2[POLI_TS_LEN];

	poli_refusal_clear(why);
	if (victim != NULL)
		*victim = NULL;
	if (forced_early != NULL)
		*forced_early = 0;
	if (c == NULL || s == NULL || type == NULL || victim == NULL || forced_early == NULL) {
		r = p11s_fail(P11S_E_INVAL, "pol_check_remove needs a configuration, state, type "
					    "and results");
		goto out;
	}
	ts = pol_state_type(s, type);
	if (ts == NULL && (r = poli_check_known_types(c, &type, 1, why)) != 0)
		goto out;
	if (ts == NULL || (prev = previous_idx(s, ts, now)) < 0) {
		poli_fmt_utc(now, t1);
		r = poli_refuse(why, POL_R_NO_PREVIOUS, type, 0, 0,
				"Type %s has no previous key to remove at %s.", type, t1);
		goto out;
	}
	key = pol_state_key(s, ts->epochs[prev].key);
	if (in_use(s, key->sha1, now, &where, &role, &since)) {
		poli_fmt_utc(since, t1);
		r = poli_refuse(why, POL_R_IN_USE, where, 0, 0,
				"Key %s cannot be removed: it is the %s key of type %s (effective "
				"%s).",
				key->sha1, pol_role_name(role), where, t1);
		goto out;
	}
	safe = pol_safe_removal(c, s, key->sha1);
	if (now < safe && !force) {
		poli_fmt_utc(safe, t1);
		poli_fmt_utc(now, t2);
		r = poli_refuse(
		    why, POL_R_REMOVE_TOO_EARLY, type, safe, safe,
		    "Removing previous key %s of type %s is not safe before %s (now is "
		    "%s): tokens it signed may still be valid; wait, or use --force and "
		    "accept that they will fail verification.",
		    key->sha1, type, t1, t2);
		goto out;
	}
	*forced_early = now < safe;
	*victim = key;
	r = 0;
out:
	return r;
}

int
pol_apply_remove(pol_state *s, const char *sha1, p11s_time now)
{
	char t1[POLI_TS_LEN];

	if (s == NULL || sha1 == NULL)
		return p11s_fail(P11S_E_INVAL, "pol_apply_remove needs a state and a key");
	for (size_t i = 0; i < s->n_keys; i++) {
		pol_key *key = &s->keys[i];

		if (strcmp(key->sha1, sha1) != 0)
			continue;
		if (key->removed_at != 0) {
			poli_fmt_utc(key->removed_at, t1);
			return p11s_fail(P11S_E_INVAL, "key %s was already removed at %s", sha1,
					 t1);
		}
		key->removed_at = now;
		return 0;
	}
	return p11s_fail(P11S_E_NOTFOUND, "no key %s is recorded in the state", sha1);
}

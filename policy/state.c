/*
 * policy/state.c — ownership of pol_state, lookups, names and the small
 * formatting helpers of the policy module.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/util.h"
#include "policy/internal.h"
#include "policy/policy.h"

/* ---- shared helpers ------------------------------------------------------ */

long
poli_issuing_idx(const pol_type_state *ts, p11s_time now)
{
	long idx = -1;

	if (ts == NULL)
		return -1;
	for (size_t i = 0; i < ts->n_epochs; i++) {
		if (ts->epochs[i].effective <= now)
			idx = (long)i;
	}
	return idx;
}

long
poli_staged_idx(const pol_type_state *ts, p11s_time now)
{
	if (ts == NULL)
		return -1;
	for (size_t i = 0; i < ts->n_epochs; i++) {
		if (ts->epochs[i].effective > now)
			return (long)i;
	}
	return -1;
}

int
poli_dup_before(const char *const *types, size_t i)
{
	for (size_t j = 0; j < i; j++) {
		if (strcmp(types[j], types[i]) == 0)
			return 1;
	}
	return 0;
}

void
poli_fmt_utc(p11s_time t, char out[POLI_TS_LEN])
{
	p11s_fmt_utc(t, out, POLI_TS_LEN);
}

void
poli_fmt_dur(int64_t seconds, char out[POLI_TS_LEN])
{
	/* Magnitude as unsigned so that INT64_MIN does not overflow. */
	uint64_t v = seconds < 0 ? (uint64_t)0 - (uint64_t)seconds : (uint64_t)seconds;
	uint64_t h = v / 3600, m = (v % 3600) / 60, s = v % 60;
	size_t off = 0;

	out[0] = '\0';
	if (seconds < 0)
		off += (size_t)snprintf(out + off, POLI_TS_LEN - off, "-");
	if (h != 0)
		off +=
		    (size_t)snprintf(out + off, POLI_TS_LEN - off, "%lluh", (unsigned long long)h);
	if (m != 0)
		off +=
		    (size_t)snprintf(out + off, POLI_TS_LEN - off, "%llum", (unsigned long long)m);
	if (s != 0 || v == 0)
		(void)snprintf(out + off, POLI_TS_LEN - off, "%llus", (unsigned long long)s);
}

void
poli_refusal_clear(pol_refusal *why)
{
	if (why != NULL)
		memset(why, 0, sizeof(*why));
}

int
poli_refuse(pol_refusal *why, pol_rule rule, const char *type, int64_t bound, p11s_time nearest,
	    const char *fmt, ...)
{
	pol_refusal local;
	va_list ap;

	if (why == NULL)
		why = &local;
	memset(why, 0, sizeof(*why));
	why->rule = rule;
	if (type != NULL)
		(void)snprintf(why->type, sizeof(why->type), "%s", type);
	why->bound = bound;
	why->nearest = nearest;
	va_start(ap, fmt);
	(void)vsnprintf(why->msg, sizeof(why->msg), fmt, ap);
	va_end(ap);
	return p11s_fail(P11S_E_POLICY, "%s", why->msg);
}

/* ---- names --------------------------------------------------------------- */

const char *
pol_rule_name(pol_rule r)
{
	switch (r) {
	case POL_OK:
		return "ok";
	case POL_R_UNKNOWN_TYPE:
		return "unknown_type";
	case POL_R_NOT_ON_TOKEN:
		return "not_on_token";
	case POL_R_KEY_MISMATCH:
		return "key_mismatch";
	case POL_R_KEY_TYPE:
		return "key_type";
	case POL_R_KEY_REMOVED:
		return "key_removed";
	case POL_R_NOT_YET_VALID:
		return "not_yet_valid";
	case POL_R_EXPIRED:
		return "expired";
	case POL_R_EXPIRES_BEFORE_CURRENT:
		return "expires_before_current";
	case POL_R_VALIDITY_TOO_SHORT:
		return "validity_too_short";
	case POL_R_IN_PAST:
		return "in_past";
	case POL_R_LEAD_TOO_SHORT:
		return "lead_too_short";
	case POL_R_JWKS_CACHE:
		return "jwks_cache";
	case POL_R_TEST_SIGNATURE:
		return "test_signature";
	case POL_R_PENDING:
		return "pending";
	case POL_R_NO_CURRENT:
		return "no_current";
	case POL_R_ALREADY_ASSIGNED:
		return "already_assigned";
	case POL_R_SAME_KEY:
		return "same_key";
	case POL_R_NO_AUTO:
		return "no_auto";
	case POL_R_NO_PREVIOUS:
		return "no_previous";
	case POL_R_IN_USE:
		return "in_use";
	case POL_R_REMOVE_TOO_EARLY:
		return "remove_too_early";
	case POL_R_CERT_NOT_VALID_NOW:
		return "certificate_not_valid_now";
	}
	return "unknown";
}

const char *
pol_role_name(pol_role r)
{
	switch (r) {
	case POL_ROLE_CURRENT:
		return "current";
	case POL_ROLE_PREVIOUS:
		return "previous";
	case POL_ROLE_STAGED:
		return "staged";
	case POL_ROLE_NONE:
		break;
	}
	return "none";
}

/* ---- state ownership ----------------------------------------------------- */

void
pol_state_init(pol_state *s)
{
	memset(s, 0, sizeof(*s));
}

void
pol_state_free(pol_state *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n_keys; i++)
		free(s->keys[i].cert_der);
	free(s->keys);
	for (size_t i = 0; i < s->n_types; i++)
		free(s->types[i].epochs);
	free(s->types);
	pol_state_init(s);
}

static int
dup_bytes(const uint8_t *src, size_t len, uint8_t **out)
{
	*out = NULL;
	if (src == NULL || len == 0)
		return 0;
	if ((*out = malloc(len)) == NULL)
		return p11s_fail(P11S_E_NOMEM, "out of memory copying a certificate of %zu bytes",
				 len);
	memcpy(*out, src, len);
	return 0;
}

int
pol_state_copy(const pol_state *src, pol_state *dst)
{
	int r = P11S_E_INTERNAL;
	pol_state tmp;

	pol_state_init(&tmp);
	pol_state_init(dst);
	if (src->n_keys != 0) {
		if ((tmp.keys = calloc(src->n_keys, sizeof(*tmp.keys))) == NULL) {
			r = p11s_fail(P11S_E_NOMEM, "out of memory copying the policy state");
			goto out;
		}
		for (size_t i = 0; i < src->n_keys; i++) {
			tmp.keys[i] = src->keys[i];
			tmp.keys[i].cert_der = NULL;
			tmp.n_keys = i + 1;
			if ((r = dup_bytes(src->keys[i].cert_der, src->keys[i].cert_len,
					   &tmp.keys[i].cert_der)) != 0)
				goto out;
			if (tmp.keys[i].cert_der == NULL)
				tmp.keys[i].cert_len = 0;
		}
	}
	if (src->n_types != 0) {
		if ((tmp.types = calloc(src->n_types, sizeof(*tmp.types))) == NULL) {
			r = p11s_fail(P11S_E_NOMEM, "out of memory copying the policy state");
			goto out;
		}
		for (size_t i = 0; i < src->n_types; i++) {
			const pol_type_state *st = &src->types[i];

			memcpy(tmp.types[i].name, st->name, sizeof(st->name));
			tmp.n_types = i + 1;
			if (st->n_epochs == 0)
				continue;
			tmp.types[i].epochs = calloc(st->n_epochs, sizeof(*st->epochs));
			if (tmp.types[i].epochs == NULL) {
				r = p11s_fail(P11S_E_NOMEM,
					      "out of memory copying the policy state");
				goto out;
			}
			memcpy(tmp.types[i].epochs, st->epochs, st->n_epochs * sizeof(*st->epochs));
			tmp.types[i].n_epochs = st->n_epochs;
		}
	}
	*dst = tmp;
	pol_state_init(&tmp);
	r = 0;
out:
	pol_state_free(&tmp);
	return r;
}

const pol_key *
pol_state_key(const pol_state *s, const char *sha1)
{
	if (s == NULL || sha1 == NULL)
		return NULL;
	for (size_t i = 0; i < s->n_keys; i++) {
		if (strcmp(s->keys[i].sha1, sha1) == 0)
			return &s->keys[i];
	}
	return NULL;
}

const pol_type_state *
pol_state_type(const pol_state *s, const char *type)
{
	if (s == NULL || type == NULL)
		return NULL;
	for (size_t i = 0; i < s->n_types; i++) {
		if (strcmp(s->types[i].name, type) == 0)
			return &s->types[i];
	}
	return NULL;
}

const pol_type_conf *
pol_conf_type(const pol_conf *c, const char *type)
{
	if (c == NULL || type == NULL)
		return NULL;
	for (size_t i = 0; i < c->n_types; i++) {
		if (strcmp(c->types[i].name, type) == 0)
			return &c->types[i];
	}
	return NULL;
}

int
pol_state_put_key(pol_state *s, const pol_key *k)
{
	int r = P11S_E_INTERNAL;
	uint8_t *der = NULL;
	pol_key *slot = NULL;

	if (s == NULL || k == NULL || memchr(k->sha1, '\0', sizeof(k->sha1)) == NULL ||
	    k->sha1[0] == '\0') {
		r = p11s_fail(P11S_E_INVAL, "a key without a SHA-1 thumbprint cannot be recorded");
		goto out;
	}
	if ((r = dup_bytes(k->cert_der, k->cert_len, &der)) != 0)
		goto out;
	for (size_t i = 0; i < s->n_keys; i++) {
		if (strcmp(s->keys[i].sha1, k->sha1) == 0) {
			slot = &s->keys[i];
			break;
		}
	}
	if (slot != NULL) {
		/* Refresh the certificate facts; the removal record stays. */
		p11s_time removed_at = slot->removed_at;

		free(slot->cert_der);
		*slot = *k;
		slot->removed_at = removed_at;
	} else {
		pol_key *keys = realloc(s->keys, (s->n_keys + 1) * sizeof(*keys));

		if (keys == NULL) {
			r = p11s_fail(P11S_E_NOMEM, "out of memory recording key %s", k->sha1);
			goto out;
		}
		s->keys = keys;
		slot = &s->keys[s->n_keys++];
		*slot = *k;
	}
	slot->cert_der = der;
	slot->cert_len = der != NULL ? k->cert_len : 0;
	der = NULL;
	r = 0;
out:
	free(der);
	return r;
}

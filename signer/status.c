/*
 * The per-type status document shared by the CLI and signerd.  See
 * signer/status.h; the schema is documented in signer(1) and signerd(8).
 */
#include "config.h"

#include "signer/status.h"

#include <string.h>

#include "common/util.h"

json_t *
status_time_json(p11s_time t)
{
	char buf[32];

	if (t == 0)
		return json_null();
	p11s_fmt_utc(t, buf, sizeof(buf));
	return json_string(buf);
}

static json_t *
key_json(const tokens_keyset *ks, const pol_key *k)
{
	if (k == NULL)
		return json_null();
	return json_pack("{s:s, s:s, s:s?, s:o, s:o}", "thumbprint", k->sha1, "sha256", k->sha256,
			 "kid", ks != NULL ? tokens_kid(ks, k->sha1) : NULL, "not_before",
			 status_time_json(k->not_before), "not_after",
			 status_time_json(k->not_after));
}

/* One role's object: `fields` (instants, consumed) plus {"key": ...} and,
 * while a key holds the role, the deprecated `sha1` of the former CLI schema. */
static int
set_role(json_t *o, const char *role, const tokens_keyset *ks, const pol_key *k, json_t *fields)
{
	int r = P11S_E_NOMEM;

	if (fields == NULL || json_object_set_new(fields, "key", key_json(ks, k)) != 0)
		goto out;
	if (k != NULL && json_object_set_new(fields, "sha1", json_string(k->sha1)) != 0)
		goto out;
	r = json_object_set_new(o, role, fields) == 0 ? 0 : P11S_E_NOMEM;
	fields = NULL;
out:
	json_decref(fields);
	return r;
}

static json_t *
event_json(const pol_event *e)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:o}", "kind", pol_event_kind_name(e->kind), "type",
			 e->type, "key", e->key, "role", pol_role_name(e->role), "at",
			 status_time_json(e->at));
}

int
status_type_json(const signer_conf *c, const signer_state *st, const tokens_keyset *ks,
		 const pol_type_conf *tc, p11s_time now, json_t **out)
{
	int r = P11S_E_INTERNAL;
	pol_event ev[POL_EVENTS_PER_TYPE];
	pol_timeline tl;
	json_t *o = NULL, *arr, *next = NULL;
	size_t n = 0;

	if (out != NULL)
		*out = NULL;
	if (c == NULL || st == NULL || tc == NULL || out == NULL) {
		r = p11s_fail(P11S_E_INVAL,
			      "status_type_json needs a configuration, state and type");
		goto out;
	}
	if ((r = pol_timeline_of(&c->policy, &st->pol, tc->name, now, &tl)) != 0 ||
	    (r = pol_timeline_events(&c->policy, &st->pol, tc->name, now, ev, POL_EVENTS_PER_TYPE,
				     &n)) != 0)
		goto out;
	o = json_pack("{s:s, s:s, s:I, s:I, s:[]}", "type", tc->name, "algorithm",
		      p11s_alg_name(tc->alg), "token_lifetime", (json_int_t)tc->token_lifetime,
		      "min_lead", (json_int_t)tc->min_lead, "timeline");
	r = P11S_E_NOMEM;
	if (o == NULL ||
	    set_role(o, "current", ks, tl.current,
		     json_pack("{s:o}", "since", status_time_json(tl.current_since))) != 0 ||
	    set_role(o, "staged", ks, tl.staged,
		     json_pack("{s:o, s:o}", "effective", status_time_json(tl.effective),
			       "staged_at", status_time_json(tl.staged_at))) != 0 ||
	    set_role(o, "previous", ks, tl.previous,
		     json_pack("{s:o, s:o, s:o}", "until", status_time_json(tl.previous_until),
			       "expiry", status_time_json(tl.previous_expiry), "safe_removal",
			       status_time_json(tl.previous != NULL ? tl.safe_removal : 0))) != 0)
		goto nomem;
	/* Rule 3c: a current certificate not valid now issues and verifies nothing. */
	if (tl.current != NULL &&
	    json_object_set_new(
		json_object_get(o, "current"), "certificate_valid",
		json_boolean(now >= tl.current->not_before && now < tl.current->not_after)) != 0)
		goto nomem;
	/* The former CLI schema's integer fields (deprecated). */
	if (tl.current != NULL && json_object_set_new(json_object_get(o, "current"), "not_after",
						      json_integer(tl.current->not_after)) != 0)
		goto nomem;
	if (tl.previous != NULL && json_object_set_new(json_object_get(o, "previous"), "expires",
						       json_integer(tl.previous_expiry)) != 0)
		goto nomem;
	arr = json_object_get(o, "timeline");
	for (size_t i = 0; i < n && i < POL_EVENTS_PER_TYPE; i++) {
		json_t *e = event_json(&ev[i]);

		if (e == NULL || json_array_append_new(arr, e) != 0)
			goto nomem;
		if (next == NULL && ev[i].at > now)
			next = e;
	}
	if (json_object_set(o, "next_event", next != NULL ? next : json_null()) != 0)
		goto nomem;
	*out = o;
	o = NULL;
	r = 0;
	goto out;
nomem:
	r = p11s_fail(P11S_E_NOMEM, "out of memory");
out:
	json_decref(o);
	return r;
}

/*
 * policy/events.c — what happens next: the timeline of each type as a list of
 * events {kind, type, key, at}, a pure function of (configuration, state,
 * now).  `signer status`, the status JSON of both programs and signerd's
 * poller read the instants from here and nowhere else.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "policy/internal.h"
#include "policy/policy.h"

const char *
pol_event_kind_name(pol_event_kind k)
{
	switch (k) {
	case POL_EV_SWITCH:
		return "switch";
	case POL_EV_PUBLISHED:
		return "published";
	case POL_EV_TEST_SIGNATURE:
		return "test_signature";
	case POL_EV_VERIFIES:
		return "verifies";
	case POL_EV_STOPPED:
		return "stopped";
	case POL_EV_EXPIRY:
		return "expiry";
	case POL_EV_SAFE_REMOVAL:
		return "safe_removal";
	}
	return "unknown";
}

/* Events of one type, unsorted, into ev[POL_EVENTS_PER_TYPE]. */
typedef struct ev_list {
	pol_event ev[POL_EVENTS_PER_TYPE];
	size_t n;
} ev_list;

static void
ev_add(ev_list *l, pol_event_kind kind, pol_role role, const char *type, const pol_key *k,
       p11s_time at)
{
	pol_event *e;

	if (k == NULL || l->n >= POL_EVENTS_PER_TYPE)
		return;
	e = &l->ev[l->n++];
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->role = role;
	snprintf(e->type, sizeof(e->type), "%s", type);
	memcpy(e->key, k->sha1, sizeof(e->key));
	e->at = at;
}

static int
type_events(const pol_conf *c, const pol_state *s, const char *type, p11s_time now, ev_list *l)
{
	pol_timeline tl;
	p11s_time t;
	int r;

	l->n = 0;
	if ((r = pol_timeline_of(c, s, type, now, &tl)) != 0)
		return r;
	if (tl.current != NULL) {
		ev_add(l, POL_EV_SWITCH, POL_ROLE_CURRENT, type, tl.current, tl.current_since);
		ev_add(l, POL_EV_EXPIRY, POL_ROLE_CURRENT, type, tl.current, tl.current->not_after);
	}
	if (tl.staged != NULL) {
		ev_add(l, POL_EV_PUBLISHED, POL_ROLE_STAGED, type, tl.staged, tl.staged_at);
		t = tl.effective - POL_FINAL_TEST_LEAD;
		ev_add(l, POL_EV_TEST_SIGNATURE, POL_ROLE_STAGED, type, tl.staged,
		       t > tl.staged_at ? t : tl.staged_at);
		ev_add(l, POL_EV_VERIFIES, POL_ROLE_STAGED, type, tl.staged,
		       tl.effective - c->clock_skew);
		ev_add(l, POL_EV_SWITCH, POL_ROLE_STAGED, type, tl.staged, tl.effective);
		if (tl.current != NULL) {
			/* Safe once the switch is old enough, or at the latest when the
			 * certificate expires (also when another type keeps the key). */
			t = pol_safe_removal(c, s, tl.current->sha1);
			ev_add(l, POL_EV_SAFE_REMOVAL, POL_ROLE_CURRENT, type, tl.current,
			       t > 0 ? t : tl.current->not_after);
		}
	}
	if (tl.previous != NULL) {
		if (tl.previous_until != 0)
			ev_add(l, POL_EV_STOPPED, POL_ROLE_PREVIOUS, type, tl.previous,
			       tl.previous_until);
		ev_add(l, POL_EV_EXPIRY, POL_ROLE_PREVIOUS, type, tl.previous, tl.previous_expiry);
		ev_add(l, POL_EV_SAFE_REMOVAL, POL_ROLE_PREVIOUS, type, tl.previous,
		       tl.safe_removal);
	}
	return 0;
}

/* Insert e into the sorted out[0..*n) keeping at most max entries; `order`
 * is the type's rank.  Stable: equal keys keep their arrival order. */
static void
insert_sorted(pol_event *out, unsigned *rank, size_t max, size_t *n, const pol_event *e,
	      unsigned order)
{
	size_t i = *n;

	while (i > 0 &&
	       (out[i - 1].at > e->at ||
		(out[i - 1].at == e->at &&
		 (rank[i - 1] > order || (rank[i - 1] == order && out[i - 1].kind > e->kind)))))
		i--;
	if (i >= max)
		return;
	memmove(&out[i + 1], &out[i], (*n - i - (*n == max ? 1 : 0)) * sizeof(*out));
	memmove(&rank[i + 1], &rank[i], (*n - i - (*n == max ? 1 : 0)) * sizeof(*rank));
	out[i] = *e;
	rank[i] = order;
	if (*n < max)
		(*n)++;
}

static int
collect(const pol_conf *c, const pol_state *s, const char *type, p11s_time now, int future_only,
	pol_event *out, size_t max, size_t *n)
{
	int r = P11S_E_INTERNAL;
	unsigned *rank = NULL;
	size_t total = 0, kept = 0, first = 0, last;
	ev_list l;

	if (n != NULL)
		*n = 0;
	if (c == NULL || s == NULL || n == NULL || (out == NULL && max > 0)) {
		r = p11s_fail(P11S_E_INVAL, "the timeline needs a configuration, a state and room "
					    "for the count");
		goto out;
	}
	if (max > 0 && (rank = calloc(max, sizeof(*rank))) == NULL) {
		r = p11s_fail(P11S_E_NOMEM, "out of memory");
		goto out;
	}
	first = 0;
	last = c->n_types;
	if (type != NULL) {
		const pol_type_conf *tc = pol_conf_type(c, type);

		/* A type known only to the state ranks after the configured ones. */
		first = tc != NULL ? (size_t)(tc - c->types) : c->n_types;
		last = first + 1;
	}
	for (size_t t = first; t < last; t++) {
		const char *name = t < c->n_types ? c->types[t].name : type;

		if ((r = type_events(c, s, name, now, &l)) != 0)
			goto out;
		for (size_t i = 0; i < l.n; i++) {
			if (future_only && l.ev[i].at <= now)
				continue;
			total++;
			if (max > 0)
				insert_sorted(out, rank, max, &kept, &l.ev[i], (unsigned)t);
		}
	}
	*n = total;
	r = 0;
out:
	free(rank);
	return r;
}

int
pol_timeline_events(const pol_conf *c, const pol_state *s, const char *type, p11s_time now,
		    pol_event *out, size_t max, size_t *n)
{
	return collect(c, s, type, now, 0, out, max, n);
}

int
pol_next_events(const pol_conf *c, const pol_state *s, const char *type, p11s_time now,
		pol_event *out, size_t max, size_t *n)
{
	return collect(c, s, type, now, 1, out, max, n);
}

/*
 * policy/ — the rollover rules of SPEC §3 as pure functions of
 * (configuration, state, now).  No I/O, no PKCS#11, no global clock.
 *
 * Model: each type has a list of epochs sorted by `effective`; from its
 * effective instant an epoch's key issues for the type.  Current, staged and
 * previous are derived from (epochs, now), never stored:
 *   issuing (current) = last epoch with effective <= now
 *   staged            = an epoch with effective > now (at most one: rule 4)
 *   previous          = epochs before the issuing one whose key is not removed
 * Nothing mutates state for a switch to happen.
 */
#ifndef P11S_POLICY_H
#define P11S_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "common/alg.h"
#include "common/error.h"
#include "common/util.h"

#define POL_NAME_MAX 64

typedef struct pol_type_conf {
	char name[POL_NAME_MAX];
	p11s_alg alg;
	int64_t token_lifetime; /* seconds */
	int64_t min_lead;	/* seconds */
} pol_type_conf;

typedef struct pol_conf {
	int64_t clock_skew;	   /* default 60 s */
	int64_t jwks_max_age;	   /* default 300 s (rule 3a) */
	int64_t poll_interval_ms;  /* members' state poll interval (rule 3a) */
	int64_t past_grace;	   /* how far in the past E may be; default 5 s (rule 3) */
	unsigned quorum;	   /* default 1 (rule 5, SPEC §6) */
	int64_t proposal_lifetime; /* default 72 h */
	pol_type_conf *types;
	size_t n_types;
} pol_conf;

/* A key known to the state: its certificate's facts.  The policy ignores the
 * fields marked (store). */
typedef struct pol_key {
	char sha1[41];	 /* certificate SHA-1 thumbprint, lower-case hex: the key's name */
	char sha256[65]; /* certificate SHA-256 thumbprint */
	p11s_keytype keytype;
	unsigned bits;
	p11s_time not_before;
	p11s_time not_after;
	p11s_time removed_at;	 /* 0 while on the token */
	char id_hex[2 * 64 + 1]; /* (store) CKA_ID */
	uint8_t *cert_der;	 /* (store) DER certificate, owned */
	size_t cert_len;	 /* (store) */
} pol_key;

typedef struct pol_epoch {
	char key[41];	     /* pol_key.sha1 */
	p11s_time effective; /* from this instant the key issues */
	p11s_time staged_at; /* when the roll (or assignment) was accepted */
} pol_epoch;

typedef struct pol_type_state {
	char name[POL_NAME_MAX];
	pol_epoch *epochs; /* sorted by effective, ascending */
	size_t n_epochs;
} pol_type_state;

typedef struct pol_state {
	pol_key *keys;
	size_t n_keys;
	pol_type_state *types;
	size_t n_types;
} pol_state;

/* ---- state helpers (allocation; the only non-const functions) ----------- */

void pol_state_init(pol_state *s);
void pol_state_free(pol_state *s); /* frees members, not s itself */
P11S_MUST_CHECK int pol_state_copy(const pol_state *src, pol_state *dst);
const pol_key *pol_state_key(const pol_state *s, const char *sha1);
const pol_type_state *pol_state_type(const pol_state *s, const char *type);
const pol_type_conf *pol_conf_type(const pol_conf *c, const char *type);
/* Add (or refresh the certificate facts of) a key; copies cert_der. */
P11S_MUST_CHECK int pol_state_put_key(pol_state *s, const pol_key *k);

/* ---- refusals ----------------------------------------------------------- */

typedef enum {
	POL_OK = 0,
	POL_R_UNKNOWN_TYPE,	      /* type not configured */
	POL_R_NOT_ON_TOKEN,	      /* rule 1: private key or certificate missing */
	POL_R_KEY_MISMATCH,	      /* rule 1: certificate does not match the key */
	POL_R_KEY_TYPE,		      /* rule 1: key type does not fit the type's algorithm */
	POL_R_KEY_REMOVED,	      /* the key was removed earlier */
	POL_R_NOT_YET_VALID,	      /* rule 2: notBefore > E */
	POL_R_EXPIRED,		      /* rule 2: certificate expired (or expires before E) */
	POL_R_EXPIRES_BEFORE_CURRENT, /* rule 2: does not outlive the current certificate */
	POL_R_VALIDITY_TOO_SHORT,     /* rule 2: notAfter - E < largest token lifetime */
	POL_R_IN_PAST,		      /* rule 3: E < now - past_grace */
	POL_R_LEAD_TOO_SHORT,	      /* rule 3: current.notAfter - E < max min_lead */
	POL_R_JWKS_CACHE,	      /* rule 3a: E < pol_earliest_effective(now) */
	POL_R_TEST_SIGNATURE,	      /* rule 3b */
	POL_R_PENDING,		      /* rule 4: another roll pending, no --replace */
	POL_R_NO_CURRENT,	      /* roll of a type that has no key yet (use assign) */
	POL_R_ALREADY_ASSIGNED,	      /* assign to a type that already has a key (use roll) */
	POL_R_SAME_KEY,		      /* the key already issues for the type */
	POL_R_NO_AUTO,		      /* --effective-date auto: no instant satisfies every rule */
	POL_R_NO_PREVIOUS,	      /* remove --previous: nothing to remove */
	POL_R_IN_USE,		      /* the key still issues or is staged for some type */
	POL_R_REMOVE_TOO_EARLY,	      /* remove before the safe instant (without force) */
	POL_R_CERT_NOT_VALID_NOW, /* rule 3c: issuing key's certificate expired / not yet valid */
} pol_rule;

typedef struct pol_refusal {
	pol_rule rule;
	char type[POL_NAME_MAX]; /* the type that set the bound, "" if none */
	int64_t bound;	   /* the limit violated: seconds (lead, lifetime, cache) or an instant */
	p11s_time nearest; /* nearest acceptable instant (e.g. latest acceptable E), 0 = none */
	char msg[640];	   /* one complete sentence; instants in UTC (RFC 3339) */
} pol_refusal;

/* Name of a rule for logs and JSON ("lead_too_short"). */
const char *pol_rule_name(pol_rule r);

/* Facts about the candidate key that only the token can establish (rule 1, 3b). */
typedef struct pol_candidate {
	const pol_key *key;
	int on_token;	       /* private key and certificate are on the token */
	int cert_matches_key;  /* certificate public key == private key */
	int test_signature_ok; /* rule 3b; ignored by pol_check_assign */
} pol_candidate;

/*
 * Admission.  Return 0, or P11S_E_POLICY with *why filled in (first rule
 * that fails, in the order of SPEC §3).  `types` are type names; duplicates
 * are allowed and ignored.
 */
P11S_MUST_CHECK int pol_check_assign(const pol_conf *c, const pol_state *s,
				     const char *const *types, size_t n_types,
				     const pol_candidate *k, p11s_time now, pol_refusal *why);
P11S_MUST_CHECK int pol_check_roll(const pol_conf *c, const pol_state *s, const char *const *types,
				   size_t n_types, const pol_candidate *k, p11s_time effective,
				   p11s_time now, int replace, pol_refusal *why);
/*
 * Rule 3a: the earliest effective instant of a roll staged at `now`, a clock
 * reading truncated to the second (p11s_now): the staging instant rounded up
 * (at most now + 1) + jwks_max_age + the members' poll interval rounded up
 * to the second, because a member publishes the staged key from its next
 * poll and a verifier may hold a JWKS for jwks_max_age.
 */
p11s_time pol_earliest_effective(const pol_conf *c, p11s_time now);
/* The latest E that satisfies every rule of pol_check_roll, or P11S_E_POLICY
 * (POL_R_NO_AUTO, or the rule that cannot be met whatever E) with the reason. */
P11S_MUST_CHECK int pol_auto_effective(const pol_conf *c, const pol_state *s,
				       const char *const *types, size_t n_types,
				       const pol_candidate *k, p11s_time now, int replace,
				       p11s_time *effective, pol_refusal *why);

/* Record admitted decisions (call only after the matching check passed). */
P11S_MUST_CHECK int pol_apply_assign(pol_state *s, const char *const *types, size_t n_types,
				     const pol_key *k, p11s_time now);
/* Appends the epoch; with replace, first withdraws pending epochs of those types. */
P11S_MUST_CHECK int pol_apply_roll(pol_state *s, const char *const *types, size_t n_types,
				   const pol_key *k, p11s_time effective, p11s_time now,
				   int replace);

/* ---- the effective view ------------------------------------------------- */

typedef enum {
	POL_ROLE_NONE = 0,
	POL_ROLE_CURRENT,
	POL_ROLE_PREVIOUS,
	POL_ROLE_STAGED,
} pol_role;

const char *pol_role_name(pol_role r); /* "current", "previous", "staged" */

typedef struct pol_vkey {
	const pol_key *key;
	pol_role role;
} pol_vkey;

/* The key that issues for `type` at `now`, or NULL. */
const pol_key *pol_issuing_key(const pol_state *s, const char *type, p11s_time now);

/*
 * Rule 3c: may `key` sign a token of `lifetime` seconds at `now`?  Refused
 * (P11S_E_POLICY, POL_R_CERT_NOT_VALID_NOW, naming the key and its notAfter
 * or notBefore) when its certificate is expired or not yet valid; else
 * *allowed is the lifetime to use: `lifetime` shortened so that the token's
 * exp is not later than the certificate's notAfter.
 */
P11S_MUST_CHECK int pol_check_issue(const pol_key *key, p11s_time now, int64_t lifetime,
				    int64_t *allowed, pol_refusal *why);

/*
 * Verification set of `type` at `now`, in order: the issuing key; each older
 * key that is not removed, newest first; then the staged key once now >=
 * E - clock_skew.  A key whose certificate has expired (now >= not_after) is
 * in no set, whatever its role (rule 3c).
 * kid_sha256 (hex, or NULL) narrows the set to that key if it is in it.
 * Writes at most `max` entries; *n is the count written.
 */
void pol_verification_set(const pol_conf *c, const pol_state *s, const char *type, p11s_time now,
			  const char *kid_sha256, pol_vkey *out, size_t max, size_t *n);

/* Published keys (JWKS): the verification set plus the staged key from the
 * moment it is staged.  Same order and conventions. */
void pol_publication_set(const pol_conf *c, const pol_state *s, const char *type, p11s_time now,
			 pol_vkey *out, size_t max, size_t *n);

typedef struct pol_timeline {
	const pol_key *current;
	p11s_time current_since; /* effective instant of the current key */
	const pol_key *staged;
	p11s_time effective; /* E of the staged key (0 without) */
	p11s_time staged_at;
	const pol_key *previous;   /* newest older key not removed, or NULL */
	p11s_time previous_until;  /* when it stopped issuing (switch instant) */
	p11s_time previous_expiry; /* its certificate's notAfter */
	p11s_time safe_removal;	   /* pol_safe_removal() for previous */
} pol_timeline;

P11S_MUST_CHECK int pol_timeline_of(const pol_conf *c, const pol_state *s, const char *type,
				    p11s_time now, pol_timeline *out);

/*
 * Safe-removal instant of a key that no longer issues: the earlier of its
 * certificate's expiry and (switch instant + longest token lifetime among the
 * types it served + clock_skew).
 */
p11s_time pol_safe_removal(const pol_conf *c, const pol_state *s, const char *sha1);

/* ---- what happens next ------------------------------------------------- */

/* signerd repeats a staged key's test signature (rule 3b) this long before
 * its effective instant: the final pre-switch test. */
#define POL_FINAL_TEST_LEAD 30

/* Most events one type's timeline holds (current 3, staged 4, previous 3). */
#define POL_EVENTS_PER_TYPE 10

typedef enum {
	POL_EV_SWITCH = 1,     /* the key issues from `at` (its effective instant) */
	POL_EV_PUBLISHED,      /* the staged key is in the JWKS (staged_at) */
	POL_EV_TEST_SIGNATURE, /* signerd's final test signature of the staged key is due */
	POL_EV_VERIFIES,       /* the staged key enters the verification set (E - clock_skew) */
	POL_EV_STOPPED,	       /* the previous key stopped issuing */
	POL_EV_EXPIRY,	       /* the key's certificate expires: it stops verifying */
	POL_EV_SAFE_REMOVAL,   /* from `at` removing the key fails no valid token */
} pol_event_kind;

/* "switch", "published", "test_signature", "verifies", "stopped", "expiry",
 * "safe_removal"; "unknown" for any other value. */
const char *pol_event_kind_name(pol_event_kind k);

typedef struct pol_event {
	pol_event_kind kind;
	pol_role role; /* the key's role in the type at `now` */
	char type[POL_NAME_MAX];
	char key[41]; /* pol_key.sha1 */
	p11s_time at;
} pol_event;

/*
 * The timeline of `type` (NULL: every configured type) as of `now`: every
 * event the state determines, past and future, sorted by instant (ties: in
 * configuration order of the type, then in the order of pol_event_kind).
 * Writes at most `max` entries to out (out may be NULL when max is 0); *n is
 * the number of events, which may exceed max.  P11S_E_NOTFOUND for a type
 * that is neither configured nor in the state.
 */
P11S_MUST_CHECK int pol_timeline_events(const pol_conf *c, const pol_state *s, const char *type,
					p11s_time now, pol_event *out, size_t max, size_t *n);

/* The same restricted to events after `now`: what happens next. */
P11S_MUST_CHECK int pol_next_events(const pol_conf *c, const pol_state *s, const char *type,
				    p11s_time now, pol_event *out, size_t max, size_t *n);

/*
 * remove --type T --previous.  On success *victim is the key to destroy.
 * Before the safe instant: P11S_E_POLICY (POL_R_REMOVE_TOO_EARLY, nearest =
 * safe instant) unless force, which succeeds with *forced_early = 1.
 */
P11S_MUST_CHECK int pol_check_remove(const pol_conf *c, const pol_state *s, const char *type,
				     p11s_time now, int force, const pol_key **victim,
				     int *forced_early, pol_refusal *why);
P11S_MUST_CHECK int pol_apply_remove(pol_state *s, const char *sha1, p11s_time now);

/*
 * The deadline of a roll of `type`'s current key at `now`: the latest
 * effective instant rule 3 accepts for its successor, current.notAfter minus
 * the largest min_lead of the types that key issues for (a roll of them all
 * at once must meet the largest).  0 when the type has no current key.
 */
p11s_time pol_roll_deadline(const pol_conf *c, const pol_state *s, const char *type, p11s_time now);

#endif

/*
 * The rollover state (SPEC §4), kept on the token as private CKO_DATA objects.
 *
 * Storage: application "p11-signer/state", one object per version, label
 * "v<20-digit version>.<16 hex nonce>", value = JSON document:
 *   {"format":1, "version":N, "written_at":T, "keys":[...], "types":[...],
 *    "proposals":[...], "history":[...], "digest":"<sha256 of the rest>"}
 * Readers take the highest version whose digest verifies (a torn or partial
 * object is skipped, and swept by writers).  A record whose digest verifies
 * but whose "format" is above STATE_FORMAT stops readers and writers with
 * P11S_E_STATE_FORMAT; a whole record is never destroyed by a release that
 * cannot parse it.  Writers, under the host lock: read the newest, apply
 * the change, create version N+1, re-list; if another N+1 exists (a writer on
 * another host of a replicated token) the lowest nonce wins and the loser
 * withdraws its object and retries; then older versions are destroyed.
 * A crash at any point leaves the old or the new version readable.
 *
 * Member records (SPEC §4): application "p11-signer/member", label = member
 * id, value {"member":id,"host":h,"pid":p,"version":N,"checked_at":T,...}.
 */
#ifndef P11S_SIGNER_STATE_H
#define P11S_SIGNER_STATE_H

#include <stdint.h>

#include <jansson.h>

#include "common/error.h"
#include "hsm/hsm.h"
#include "policy/policy.h"

#define STATE_FORMAT 1
#define STATE_APPLICATION "p11-signer/state"
#define MEMBER_APPLICATION "p11-signer/member"

typedef struct signer_state {
	uint64_t version; /* 0 = nothing stored yet */
	p11s_time written_at;
	pol_state pol;	   /* keys + per-type epochs */
	json_t *proposals; /* array (SPEC §6) */
	json_t *history;   /* array of {at, action, ...} events */
} signer_state;

P11S_MUST_CHECK int state_new(signer_state **out);
void state_free(signer_state *st);

/* Pure serialization (unit-tested).  Unknown future formats are refused. */
P11S_MUST_CHECK int state_to_json(const signer_state *st, char **text, size_t *len);
P11S_MUST_CHECK int state_from_json(const char *text, size_t len, signer_state **out);

/* Load the newest valid version (an empty state when none is stored). */
P11S_MUST_CHECK int state_load(hsm_token *t, signer_state **out);
/*
 * For a reader that already holds version `loaded`: P11S_E_STATE, and no
 * state, when the newest usable record is older (or none is visible: a
 * session that is not logged in lists no private object).  Never goes back.
 */
P11S_MUST_CHECK int state_load_since(hsm_token *t, uint64_t loaded, signer_state **out);
/* The newest stored version number, from labels only (cheap; for polling);
 * 0 when no record is visible, which a reader holding a version must treat
 * as an error, not as an empty store. */
P11S_MUST_CHECK int state_peek_version(hsm_token *t, uint64_t *version);

/*
 * Read-modify-write under the host lock with conflict retry.  `fn` edits a
 * fresh copy of the newest state; a non-zero return aborts and is returned
 * unchanged (nothing written).  On success *out (if not NULL) is the state as
 * written.
 */
typedef int (*state_edit_fn)(signer_state *st, void *arg);
P11S_MUST_CHECK int state_update(hsm_token *t, state_edit_fn fn, void *arg, signer_state **out);
/*
 * state_update with a hook run for each attempt after `fn` and before the
 * new record is created (st: the state about to be written, version set); a
 * non-zero return aborts and is returned unchanged (nothing written).  The
 * audit journal writes its entries there, before the state (audit.h).
 */
typedef int (*state_write_hook)(const signer_state *st, void *arg);
P11S_MUST_CHECK int state_update_hooked(hsm_token *t, state_edit_fn fn,
					state_write_hook before_write, void *arg,
					signer_state **out);

/* Append {at, action, version, ...details} to st->history (details: object,
 * stolen); version is the state version that carries the event, for an edit
 * inside state_update (which writes st->version + 1). */
P11S_MUST_CHECK int state_log(signer_state *st, p11s_time at, const char *action, json_t *details);

typedef struct member_record {
	char id[128];
	char host[64];
	long pid;
	uint64_t version;     /* state version loaded */
	p11s_time checked_at; /* last successful poll */
	p11s_time started_at;
	int64_t poll_interval_ms; /* 0 in records of older releases */
	char boot_id[40];	  /* the host's boot id; "" when unknown */
} member_record;

P11S_MUST_CHECK int member_write(hsm_token *t, const member_record *m);
P11S_MUST_CHECK int member_list(hsm_token *t, member_record **out, size_t *n);
/* One record's value: its JSON text (*text malloc'd), and back (strings
 * longer than the fields are cut; anything but a record: P11S_E_STATE). */
P11S_MUST_CHECK int member_to_text(const member_record *m, char **text);
P11S_MUST_CHECK int member_parse(const uint8_t *value, size_t len, member_record *m);
P11S_MUST_CHECK int member_remove(hsm_token *t, const char *id);

/*
 * A member is stale when its last successful check is more than
 * member_stale_after() seconds old: 10 x its poll interval or 30 s, whichever
 * is larger (a live member rewrites its record at least every 10 s).  The one
 * rule for `signer status` and `signer pool check`; poll_interval_ms <= 0
 * means the default 500 ms.
 */
#define MEMBER_STALE_POLLS 10
#define MEMBER_STALE_MIN_S 30
int64_t member_stale_after(int64_t poll_interval_ms);
int member_is_stale(p11s_time checked_at, int64_t poll_interval_ms, p11s_time now);

#endif

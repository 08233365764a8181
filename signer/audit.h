/*
 * The audit journal (SPEC §6): one JSON line per event,
 *   {"action":A,"actor":U,"at":T,"details":{...},"hash":H,"prev":P,"seq":N}
 * written canonically (compact, sorted keys).  hash = SHA-256 (hex) of the
 * canonical line without its "hash" member; prev = hash of the line before
 * (64 zeros for the first); seq counts from 1.  Writers hold flock(LOCK_EX)
 * on the journal, append with O_APPEND in one write() and fsync.
 *
 * A state change is journalled in a transaction: audit_begin() (the journal
 * is opened and locked before the token state is touched, so an unwritable
 * journal refuses the operation), audit_add() inside the state edit (which
 * returns an anchor {"seq","hash"} to store in the state's history event),
 * audit_commit() after the state is written.  The anchors kept on the token
 * let `signer audit verify` notice lines deleted from the end.
 */
#ifndef P11S_SIGNER_AUDIT_H
#define P11S_SIGNER_AUDIT_H

#include <stddef.h>

#include <jansson.h>

#include "common/error.h"
#include "common/util.h"
#include "hsm/hsm.h"
#include "signer/conf.h"
#include "signer/state.h"

typedef struct audit_txn audit_txn;

/* Open (creating it 0600 if needed) and lock the journal c->journal. */
P11S_MUST_CHECK int audit_begin(const signer_conf *c, audit_txn **out);
/*
 * Queue one entry (details: object or NULL, stolen).  *anchor, when not
 * NULL, receives {"seq":N,"hash":H} of the queued entry (new reference).
 */
P11S_MUST_CHECK int audit_add(audit_txn *x, const char *actor, const char *action, json_t *details,
			      p11s_time at, json_t **anchor);
/* Drop the queued entries (a state edit that is retried or refused). */
void audit_rewind(audit_txn *x);
/* Write the queued entries in one write() and fsync. */
P11S_MUST_CHECK int audit_commit(audit_txn *x);
/* Unlock and close; uncommitted entries are dropped.  Accepts NULL. */
void audit_end(audit_txn *x);

/*
 * A state change, journal first (SPEC §6): state_update where, for each
 * attempt, the entries queued by fn (through audit_add, with details
 * "state_version" = the version about to be written) are written and flushed
 * BEFORE the state record; a journal that cannot be written aborts the
 * attempt with P11S_E_JOURNAL and nothing is changed.  after_intent (may be
 * NULL) runs next, before the state record is created (remove destroys the
 * key there).  Once the state is written an entry "completed" {first, last,
 * state_version} follows; a change left without it (a crash, a lost write
 * conflict, a state write that failed) gets "completed" or "not_completed"
 * from the next change, decided by whether the newest state on the token
 * carries the change's first entry as an anchor.
 */
P11S_MUST_CHECK int audit_state_update(audit_txn *x, hsm_token *t, state_edit_fn fn,
				       int (*after_intent)(void *arg), void *arg,
				       signer_state **out);
/* Settle the change left open in the journal, from the state `st`. */
P11S_MUST_CHECK int audit_reconcile(audit_txn *x, const signer_state *st);

/* begin + add + commit + end: one event that changes no state (refusals). */
P11S_MUST_CHECK int audit_append(const signer_conf *c, const char *actor, const char *action,
				 json_t *details);

/*
 * Check one journal line (without its newline) as line number n of the
 * chain whose previous hash is prev: 0 = intact, and prev becomes this
 * line's hash; else 1 and why says what is wrong (prev unchanged).
 */
P11S_MUST_CHECK int audit_check_line(const char *line, size_t len, size_t n, char prev[65],
				     char *why, size_t whylen);

/* The OS user running this process (getpwuid(geteuid())), or "uid N". */
const char *audit_os_user(void);

typedef struct audit_report {
	size_t count;	 /* lines read */
	size_t bad_line; /* first broken line, 1-based; 0 = intact */
	char why[400];	 /* what is wrong with it */
	char note[400];	 /* intact, but the last change has no outcome yet */
} audit_report;

/*
 * Check the whole chain of the journal at `path`, and, when history (the
 * state's history array) is given, that each anchor {"journal":{seq,hash}}
 * stored there names a line that exists with that hash.  Returns 0 when the
 * check ran (rep->bad_line says whether it passed); P11S_E_IO etc. when the
 * journal cannot be read.
 */
P11S_MUST_CHECK int audit_verify(const char *path, const json_t *history, audit_report *rep);

/*
 * signerd: record "switch_observed" for (type, key, effective) unless the
 * journal already holds that event (checked under the journal lock, so it is
 * written once per type per roll whichever member sees it first).
 * *written = 1 when this call wrote it.
 */
P11S_MUST_CHECK int audit_switch_observed(const signer_conf *c, const char *member,
					  const char *type, const char *sha1, p11s_time effective,
					  int *written);

#endif

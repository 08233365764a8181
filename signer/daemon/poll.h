/*
 * signerd's state poller: one thread that checks the state version on the
 * token every poll_interval_ms (a label-only search, cheap), loads and
 * publishes a new d_view when it changed, writes this member's record on
 * change and every 10 s, and repeats the test signature of every staged key
 * when it is first seen and again when policy/ says the final test is due
 * (SPEC §3 rule 3b), logging an alert when it fails.  It sleeps until the
 * earlier of the poll interval and the next instant it acts on (a final test
 * signature, a switch to record), from policy/'s next events.
 */
#ifndef P11S_SIGNER_D_POLL_H
#define P11S_SIGNER_D_POLL_H

#include "common/error.h"
#include "hsm/hsm.h"
#include "signer/daemon/api.h"
#include "signer/daemon/snapshot.h"
#include "signer/state.h"

typedef struct d_poller d_poller;

typedef struct d_poll_params {
	hsm_token *token;
	d_slot *settings;
	d_slot *view;
	d_app *app;
	const member_record *me; /* identity (copied); version/checked_at are ours */
} d_poll_params;

P11S_MUST_CHECK int d_poller_start(const d_poll_params *p, d_poller **out);
/* Stop and join; removes this member's record from the token. */
void d_poller_stop(d_poller *p);

/*
 * Milliseconds to sleep after a tick at now_ms (wall clock, ms since the
 * epoch): interval_ms, or less when a staged key's final test signature or
 * switch (pol_next_events) falls due sooner; never under 50 ms.  s NULL (no
 * state loaded): interval_ms.
 */
int64_t d_poll_wait_ms(const pol_conf *c, const pol_state *s, int64_t interval_ms, int64_t now_ms);

/* The test signature of rule 3b with key `k` for a type: a JWT signed on the
 * token in a session of its own, verified with the certificate's key. */
P11S_MUST_CHECK int d_staged_key_test(hsm_token *t, const pol_type_conf *tc, const d_view *v,
				      const pol_key *k);

#endif

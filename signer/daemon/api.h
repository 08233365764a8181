/*
 * signerd's endpoints (SPEC §5) on top of d_http: request routing, per-route
 * client-certificate enforcement, issuing through the signing pool
 * (signpool.h: no C_Sign on an HTTP worker), verification from the loaded
 * state's certificates only, JWKS, status, health and metrics.
 */
#ifndef P11S_SIGNER_D_API_H
#define P11S_SIGNER_D_API_H

#include <stdint.h>

#include "common/error.h"
#include "hsm/hsm.h"
#include "signer/daemon/http.h"
#include "signer/daemon/snapshot.h"
#include "signer/state.h"

typedef struct d_app d_app;

typedef struct d_app_params {
	hsm_token *token;	 /* shared; the signing pool opens its sessions */
	d_slot *settings;	 /* d_settings */
	d_slot *view;		 /* d_view */
	const member_record *me; /* this member's identity (copied) */
} d_app_params;

P11S_MUST_CHECK int d_app_new(const d_app_params *p, d_app **out);
/* Per-worker data for n workers (before the server starts). */
P11S_MUST_CHECK int d_app_set_workers(d_app *a, unsigned n);
/* The d_http handler (arg = d_app). */
void d_app_handle(d_req *r, void *arg);
/* d_http's worker hooks (arg = d_app): the signing pool's completion queue
 * of each worker. */
void d_app_worker_start(unsigned worker, struct event_base *base, void *arg);
void d_app_worker_stop(unsigned worker, struct event_base *base, void *arg);
/* After the server has stopped: stops the signing pool. */
void d_app_stop_signing(d_app *a);
void d_app_free(d_app *a);

/* Reports from the state poller, shown in /v1/status, /healthz and /metrics:
 * why (when !ok) is the cause; regression: the token showed no state or an
 * older one than the version being served (refused, counted apart). */
void d_app_note_poll(d_app *a, int ok, uint64_t version, p11s_time checked_at, const char *why,
		     int regression);
/* Result of a staged key's test signature (rule 3b). */
void d_app_note_staged_test(d_app *a, const char *type, const char *kid, int ok, p11s_time at);

#endif

/*
 * signerd's signing pool: the only threads that call C_Sign.
 *
 * `sessions` pool threads each own one PKCS#11 session per issuing key (an
 * hsm_signer, with a session copy of the key where session_keys is on), so
 * no session is ever used by two threads.  HTTP workers hand issue jobs to a
 * bounded FIFO queue and go on serving; a pool thread takes a job, chooses
 * the issuing key at that instant from the newest published state and
 * configuration (so a roll switches at E on every session), signs, and
 * posts the job to the completion queue of the worker that submitted it,
 * waking that worker's event_base (event_active) so that the answer is
 * written on the thread that owns the connection.
 *
 * Back-pressure: a full queue refuses at once; a job that has not started
 * within sign_timeout is answered 503 by the pool's reaper.  Faults: a
 * session whose token call fails closes its signers and rests with doubling
 * back-off (100 ms .. 2 s) while the others go on; when every session
 * rests, jobs are refused at once (503, Retry-After) until one is due; a
 * refused PIN stops signing for good (never retried, a restart is needed).
 */
#ifndef P11S_SIGNER_D_SIGNPOOL_H
#define P11S_SIGNER_D_SIGNPOOL_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "common/error.h"
#include "hsm/hsm.h"
#include "policy/policy.h"
#include "signer/daemon/http.h"
#include "signer/daemon/snapshot.h"

typedef struct d_pool d_pool;

/* One POST /v1/tokens, from its worker to the pool and back. */
typedef struct d_job {
	struct d_job *next;
	d_req *req; /* deferred; answered by the worker only */
	unsigned worker;
	uint64_t enqueued_ns;
	uint64_t deadline_ns; /* must have started by then */
	/* the request (owned) */
	char type[POL_NAME_MAX];
	char *sub;
	char *aud;
	int64_t lifetime;
	json_t *claims;
	/* the result */
	int status;	      /* HTTP status */
	unsigned retry_after; /* seconds, with 503 */
	char error[32];	      /* JSON "error" when status != 200 */
	char *body;	      /* 200: the JSON answer; else the detail text */
	char kid[64];	      /* 200: kid of the signing key */
} d_job;

/* Called on the submitting worker's thread for each finished job; it must
 * answer job->req.  The pool frees the job afterwards. */
typedef void (*d_pool_done_fn)(d_job *job, void *arg);

typedef struct d_pool_params {
	hsm_token *token;
	d_slot *settings; /* d_settings: session_keys, sign_queue, sign_timeout */
	d_slot *view;	  /* d_view: the keys that issue */
	unsigned sessions;
	unsigned workers;
	d_pool_done_fn done;
	void *done_arg;
} d_pool_params;

/* Starts the pool threads; each opens its sessions for the keys that issue
 * now (others on first use). */
P11S_MUST_CHECK int d_pool_new(const d_pool_params *p, d_pool **out);
/* Stop and join the threads (every worker must have stopped first). */
void d_pool_stop(d_pool *p);
void d_pool_free(d_pool *p);

/* Hooks for each HTTP worker's thread (d_server_params worker_start/stop).
 * Stop answers every job of the worker still in the pool, waiting for those
 * being signed. */
void d_pool_worker_start(d_pool *p, unsigned worker, struct event_base *base);
void d_pool_worker_stop(d_pool *p, unsigned worker);

/* A job with its request fields filled (worker, type, sub, aud, lifetime,
 * claims; strings malloc'd), or NULL when out of memory. */
d_job *d_job_new(void);
void d_job_free(d_job *j);

/*
 * Queue a job.  0: the pool owns it and will hand it back through `done`.
 * Otherwise the job stays the caller's, filled with a 503 answer (status,
 * error, body, retry_after): queue full, token unavailable, PIN refused.
 */
P11S_MUST_CHECK int d_pool_submit(d_pool *p, d_job *j);

/* Prometheus text: in-flight signatures, queue depth, time waited for a
 * session (histogram), signing failures by session, sessions resting. */
void d_pool_metrics(d_pool *p, FILE *f);

#endif

/* signerd's signing pool.  See signpool.h. */
#include "config.h"

#include "signer/daemon/signpool.h"

#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/log.h"
#include "common/util.h"
#include "signer/tokens.h"

#define SIGNERS_PER_SESSION 8
#define BACKOFF_FIRST_MS 100u
#define BACKOFF_MAX_MS 2000u
#define NO_KEY_RETRY_S 30
#define PRUNE_EVERY_NS 250000000u
#define N_WAIT_BUCKETS 12

/* Upper bounds of the wait histogram, in seconds (plus +Inf). */
static const double wait_le[N_WAIT_BUCKETS] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
};

typedef struct psigner {
	char sha1[41];
	p11s_alg alg;
	hsm_signer *s;
} psigner;

/* One pool thread and the sessions it owns (one per key it signs with). */
typedef struct psession {
	d_pool *pool;
	unsigned idx;
	pthread_t thread;
	int started;
	psigner sig[SIGNERS_PER_SESSION];
	d_cache settings;
	d_cache view;
	uint64_t pruned_ns;
	unsigned view_gen;
	/* under pool->mu */
	uint64_t retry_at_ns; /* resting until (after a failure) */
	unsigned backoff_ms;
	uint64_t failures;
} psession;

/* A worker's completion queue. */
typedef struct pworker {
	d_pool *pool;
	pthread_mutex_t mu;
	pthread_cond_t cv; /* outstanding went down */
	d_job *head, *tail;
	struct event *ev;
	unsigned outstanding; /* submitted, not yet answered */
	int running;
} pworker;

struct d_pool {
	hsm_token *token;
	d_slot *settings;
	d_slot *view;
	d_pool_done_fn done;
	void *done_arg;

	pthread_mutex_t mu; /* queue, session states */
	pthread_cond_t work_cv;
	pthread_cond_t reap_cv;
	d_job *head, *tail;
	size_t depth;
	uint64_t reap_at_ns; /* when the reaper looks next (UINT64_MAX: when woken) */
	int stopping;
	int pin_refused;
	unsigned resting; /* sessions in back-off */
	unsigned warmed;  /* sessions done opening their signers at start */
	psession *s;
	unsigned n_s;
	pthread_t reaper;
	int reaper_started;

	pworker *w;
	unsigned n_w;

	/* metrics */
	atomic_uint in_flight;
	uint64_t wait_bucket[N_WAIT_BUCKETS + 1];
	uint64_t wait_count;
	uint64_t wait_sum_ns;
	uint64_t refused_full;
	uint64_t timed_out;
};

static unsigned
retry_s(uint64_t at_ns, uint64_t now_ns)
{
	uint64_t left = at_ns > now_ns ? at_ns - now_ns : 0;
	unsigned s = (unsigned)((left + 999999999u) / 1000000000u);

	return s > 0 ? s : 1;
}

static void job_answer(d_job *j, int status, const char *error, unsigned retry_after,
		       const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void
job_answer(d_job *j, int status, const char *error, unsigned retry_after, const char *fmt, ...)
{
	va_list ap;
	char *text = NULL;

	j->status = status;
	j->retry_after = retry_after;
	snprintf(j->error, sizeof(j->error), "%s", error);
	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) < 0)
		text = NULL;
	va_end(ap);
	free(j->body);
	j->body = text;
}

d_job *
d_job_new(void)
{
	return calloc(1, sizeof(d_job));
}

void
d_job_free(d_job *j)
{
	if (j == NULL)
		return;
	free(j->sub);
	free(j->aud);
	json_decref(j->claims);
	free(j->body);
	free(j);
}

/* ---- completion ---------------------------------------------------------- */

static void
complete(d_pool *p, d_job *j)
{
	pworker *w = &p->w[j->worker];
	int wake;

	pthread_mutex_lock(&w->mu);
	wake = w->head == NULL;
	if (w->tail != NULL)
		w->tail->next = j;
	else
		w->head = j;
	w->tail = j;
	j->next = NULL;
	if (w->running && wake)
		event_active(w->ev, 0, 0);
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

/* Answer what came back; returns how many. */
static unsigned
answer_completed(d_pool *p, pworker *w)
{
	d_job *list, *j;
	unsigned n = 0;

	pthread_mutex_lock(&w->mu);
	list = w->head;
	w->head = w->tail = NULL;
	pthread_mutex_unlock(&w->mu);
	while ((j = list) != NULL) {
		list = j->next;
		p->done(j, p->done_arg);
		d_job_free(j);
		n++;
	}
	if (n > 0) {
		pthread_mutex_lock(&w->mu);
		w->outstanding -= n;
		pthread_mutex_unlock(&w->mu);
	}
	return n;
}

static void
completion_cb(evutil_socket_t fd, short what, void *arg)
{
	pworker *w = arg;

	(void)fd;
	(void)what;
	(void)answer_completed(w->pool, w);
}

void
d_pool_worker_start(d_pool *p, unsigned worker, struct event_base *base)
{
	pworker *w;

	if (p == NULL || worker >= p->n_w)
		return;
	w = &p->w[worker];
	w->ev = event_new(base, -1, 0, completion_cb, w);
	pthread_mutex_lock(&w->mu);
	w->running = w->ev != NULL;
	if (w->ev == NULL)
		log_error("worker %u: cannot create the signing completion event", worker);
	pthread_mutex_unlock(&w->mu);
}

void
d_pool_worker_stop(d_pool *p, unsigned worker)
{
	pworker *w;

	if (p == NULL || worker >= p->n_w)
		return;
	w = &p->w[worker];
	pthread_mutex_lock(&w->mu);
	w->running = 0;
	pthread_mutex_unlock(&w->mu);
	for (;;) {
		(void)answer_completed(p, w);
		pthread_mutex_lock(&w->mu);
		if (w->outstanding == 0) {
			pthread_mutex_unlock(&w->mu);
			break;
		}
		if (w->head == NULL)
			pthread_cond_wait(&w->cv, &w->mu);
		pthread_mutex_unlock(&w->mu);
	}
	if (w->ev != NULL)
		event_free(w->ev);
	w->ev = NULL;
}

/* ---- queue --------------------------------------------------------------- */

int
d_pool_submit(d_pool *p, d_job *j)
{
	const d_settings *set;
	d_ref *sr;
	unsigned cap;
	int64_t timeout_ms;
	uint64_t now = d_now_ns(), soonest = UINT64_MAX;
	unsigned i;
	int r, wake_reaper;

	sr = d_slot_acquire(p->settings);
	set = (const d_settings *)sr;
	cap = set != NULL ? set->conf->sign_queue : 1;
	timeout_ms = set != NULL ? set->conf->sign_timeout_ms : 1000;
	d_ref_put(sr);
	pthread_mutex_lock(&p->mu);
	if (p->stopping) {
		job_answer(j, 503, "shutting_down", 1, "signerd is stopping");
		r = P11S_E_SESSION;
		goto refuse;
	}
	if (p->pin_refused) {
		job_answer(j, 503, "token_unavailable", 3600,
			   "the token refused the PIN; signing stays off until signerd is "
			   "restarted with the right [token] pin (never retried, to avoid locking "
			   "it)");
		r = P11S_E_PIN_INCORRECT;
		goto refuse;
	}
	if (p->resting == p->n_s) {
		for (i = 0; i < p->n_s; i++)
			if (p->s[i].retry_at_ns < soonest)
				soonest = p->s[i].retry_at_ns;
		if (soonest > now) {
			job_answer(j, 503, "token_unavailable", retry_s(soonest, now),
				   "every signing session failed recently; retrying with back-off");
			r = P11S_E_SESSION;
			goto refuse;
		}
	}
	if (p->depth >= cap) {
		p->refused_full++;
		job_answer(
		    j, 503, "overloaded", 1,
		    "%zu signing jobs are already waiting ([server] sign_queue); retry later",
		    p->depth);
		r = P11S_E_CONFLICT;
		goto refuse;
	}
	j->enqueued_ns = now;
	j->deadline_ns = now + (uint64_t)timeout_ms * 1000000u;
	j->next = NULL;
	if (p->tail != NULL)
		p->tail->next = j;
	else
		p->head = j;
	p->tail = j;
	p->depth++;
	/* the reaper sleeps until the oldest job's deadline: wake it only for a
	 * job due earlier (the first one, or sign_timeout lowered by SIGHUP) */
	wake_reaper = j->deadline_ns < p->reap_at_ns;
	if (wake_reaper)
		p->reap_at_ns = j->deadline_ns;
	pthread_mutex_lock(&p->w[j->worker].mu);
	p->w[j->worker].outstanding++;
	pthread_mutex_unlock(&p->w[j->worker].mu);
	pthread_mutex_unlock(&p->mu);
	/* signalled after the unlock, so that the woken session does not at
	 * once block on the lock this thread still holds */
	if (wake_reaper)
		pthread_cond_signal(&p->reap_cv);
	pthread_cond_signal(&p->work_cv);
	return 0;
refuse:
	pthread_mutex_unlock(&p->mu);
	return r;
}

static d_job *
pop_locked(d_pool *p)
{
	d_job *j = p->head;

	if (j == NULL)
		return NULL;
	p->head = j->next;
	if (p->head == NULL)
		p->tail = NULL;
	p->depth--;
	j->next = NULL;
	return j;
}

/* Answer a job that did not start within sign_timeout (p->mu held; it is
 * released while the answer is made). */
static void
time_out_locked(d_pool *p, d_job *j)
{
	p->timed_out++;
	pthread_mutex_unlock(&p->mu);
	job_answer(j, 503, "overloaded", 1,
		   "no signing session became free within [server] sign_timeout; retry later");
	complete(p, j);
	pthread_mutex_lock(&p->mu);
}

/* Answers jobs that did not start within sign_timeout, oldest first. */
static void *
reaper_main(void *arg)
{
	d_pool *p = arg;
	struct timespec ts;

	pthread_mutex_lock(&p->mu);
	while (!p->stopping) {
		uint64_t now = d_now_ns();

		if (p->head == NULL) {
			p->reap_at_ns = UINT64_MAX;
			pthread_cond_wait(&p->reap_cv, &p->mu);
			continue;
		}
		if (p->head->deadline_ns > now) {
			p->reap_at_ns = p->head->deadline_ns;
			d_abstime(p->head->deadline_ns, &ts);
			pthread_cond_timedwait(&p->reap_cv, &p->mu, &ts);
			continue;
		}
		time_out_locked(p, pop_locked(p));
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* ---- signing ------------------------------------------------------------- */

static int
is_token_fault(int r)
{
	/* after the request's own checks (400, 503 for rule 3c), what fails while
	 * signing is the token's doing (a session or the key on it: 503 and the
	 * session rests) unless it is internal (a bug, memory, OpenSSL: 500) */
	return p11s_err_classify(r) != P11S_CLASS_INTERNAL;
}

static void
drop_signers(psession *s)
{
	size_t i;

	for (i = 0; i < SIGNERS_PER_SESSION; i++) {
		hsm_signer_free(s->sig[i].s);
		memset(&s->sig[i], 0, sizeof(s->sig[i]));
	}
}

/* Close the sessions of keys that no longer issue for any type. */
static void
prune(psession *s, const signer_conf *c, const d_view *v, p11s_time now)
{
	size_t i, t;

	for (i = 0; i < SIGNERS_PER_SESSION; i++) {
		int issues = 0;

		if (s->sig[i].s == NULL)
			continue;
		for (t = 0; !issues && t < c->policy.n_types; t++) {
			tokens_request tr;
			const pol_key *k = NULL;
			int ti;

			memset(&tr, 0, sizeof(tr));
			tr.type = c->policy.types[t].name;
			if (tokens_issuing_key(c, v->st, &tr, now, &k, &ti) == 0 && k != NULL &&
			    strcmp(k->sha1, s->sig[i].sha1) == 0 &&
			    c->policy.types[t].alg == s->sig[i].alg)
				issues = 1;
		}
		if (!issues) {
			log_debug("signing session %u: key %s no longer issues; session closed",
				  s->idx, s->sig[i].sha1);
			hsm_signer_free(s->sig[i].s);
			memset(&s->sig[i], 0, sizeof(s->sig[i]));
		}
	}
}

static psigner *
signer_for(psession *s, const char *sha1, p11s_alg alg)
{
	psigner *free_slot = NULL;
	size_t i;

	for (i = 0; i < SIGNERS_PER_SESSION; i++) {
		psigner *e = &s->sig[i];

		if (e->s != NULL && e->alg == alg && strcmp(e->sha1, sha1) == 0)
			return e;
		if (e->s == NULL && free_slot == NULL)
			free_slot = e;
	}
	if (free_slot == NULL) { /* more keys than slots: reuse the first */
		free_slot = &s->sig[0];
		hsm_signer_free(free_slot->s);
	}
	memset(free_slot, 0, sizeof(*free_slot));
	memcpy(free_slot->sha1, sha1, sizeof(free_slot->sha1));
	free_slot->alg = alg;
	return free_slot;
}

static void
session_failed(psession *s, const char *what, int err)
{
	d_pool *p = s->pool;
	uint64_t now = d_now_ns();
	int pin = err == P11S_E_PIN_INCORRECT || err == P11S_E_PIN_LOCKED;

	drop_signers(s);
	pthread_mutex_lock(&p->mu);
	s->failures++;
	s->backoff_ms =
	    s->backoff_ms == 0
		? BACKOFF_FIRST_MS
		: (s->backoff_ms >= BACKOFF_MAX_MS / 2 ? BACKOFF_MAX_MS : 2 * s->backoff_ms);
	if (s->retry_at_ns <= now)
		p->resting++;
	s->retry_at_ns = now + (uint64_t)s->backoff_ms * 1000000u;
	if (pin && !p->pin_refused) {
		p->pin_refused = 1;
		log_error("signing session %u: the token refused the PIN (%s); signing is off "
			  "until a restart (never retried, to avoid locking the token)",
			  s->idx, p11s_errmsg(err));
	}
	pthread_mutex_unlock(&p->mu);
	if (!pin)
		log_error("signing session %u: %s failed (%s); this session rests %u ms, the "
			  "others go on",
			  s->idx, what, p11s_errmsg(err), s->backoff_ms);
}

static void
session_ok(psession *s)
{
	d_pool *p = s->pool;

	if (s->backoff_ms == 0)
		return;
	pthread_mutex_lock(&p->mu);
	s->backoff_ms = 0;
	pthread_mutex_unlock(&p->mu);
	log_info("signing session %u: signing again", s->idx);
}

static void
run_job(psession *s, d_job *j)
{
	d_pool *p = s->pool;
	const d_settings *set = (const d_settings *)d_slot_cached(p->settings, &s->settings);
	const d_view *v = (const d_view *)d_slot_cached(p->view, &s->view);
	const signer_conf *c;
	tokens_request tr;
	const pol_key *key = NULL;
	psigner *e;
	char *token = NULL;
	const char *kid;
	p11s_time now = p11s_now(), exp = 0;
	uint64_t now_ns = d_now_ns();
	uint8_t id[HSM_ID_MAX];
	int ti, id_len, rc;

	if (set == NULL || v == NULL) {
		job_answer(j, 503, "starting", 1, "the state is not loaded yet");
		return;
	}
	c = set->conf;
	if (now_ns - s->pruned_ns >= PRUNE_EVERY_NS || s->view_gen != s->view.gen) {
		prune(s, c, v, now);
		s->pruned_ns = now_ns;
		s->view_gen = s->view.gen;
	}
	memset(&tr, 0, sizeof(tr));
	tr.type = j->type;
	tr.sub = j->sub;
	tr.aud = j->aud;
	tr.lifetime = j->lifetime;
	tr.claims = j->claims;
	rc = tokens_issuing_key(c, v->st, &tr, now, &key, &ti);
	if (rc == P11S_E_NOTFOUND) {
		job_answer(j, 503, "no_issuing_key", NO_KEY_RETRY_S, "%s", p11s_errmsg(rc));
		return;
	}
	if (rc == P11S_E_POLICY) {
		/* rule 3c: the issuing key's certificate is expired or not yet valid */
		job_answer(j, 503, "issuing_certificate_invalid", NO_KEY_RETRY_S, "%s",
			   p11s_errmsg(rc));
		return;
	}
	if (rc != 0) {
		job_answer(j, 400, "bad_request", 0, "%s", p11s_errmsg(rc));
		return;
	}
	e = signer_for(s, key->sha1, c->policy.types[ti].alg);
	if (e->s == NULL) {
		id_len = p11s_unhex(key->id_hex, id, sizeof(id));
		if (id_len <= 0) {
			job_answer(j, 500, "internal", 0,
				   "key %s has no usable CKA_ID in the state", key->sha1);
			return;
		}
		rc = hsm_signer_open(p->token, id, (size_t)id_len, c->policy.types[ti].alg,
				     c->session_keys, &e->s);
		if (rc != 0) {
			memset(e, 0, sizeof(*e));
			session_failed(s, "opening a session", rc);
			job_answer(j, 503, "token_unavailable", retry_s(s->retry_at_ns, d_now_ns()),
				   "%s", p11s_errmsg(rc));
			return;
		}
		log_debug("signing session %u: open for key %s (%s)", s->idx, key->sha1,
			  p11s_alg_name(c->policy.types[ti].alg));
	}
	atomic_fetch_add(&p->in_flight, 1);
	rc = tokens_issue(c, v->ks, ti, key, e->s, &tr, now, &token, &exp);
	atomic_fetch_sub(&p->in_flight, 1);
	if (rc == P11S_E_INVAL) {
		job_answer(j, 400, "bad_request", 0, "%s", p11s_errmsg(rc));
		goto out;
	}
	if (rc == P11S_E_POLICY) {
		job_answer(j, 503, "issuing_certificate_invalid", NO_KEY_RETRY_S, "%s",
			   p11s_errmsg(rc));
		goto out;
	}
	if (rc != 0) {
		if (is_token_fault(rc)) {
			session_failed(s, "signing", rc);
			job_answer(j, 503, "token_unavailable", retry_s(s->retry_at_ns, d_now_ns()),
				   "%s", p11s_errmsg(rc));
		} else {
			log_error("signing session %u: issuing a %s token failed: %s", s->idx,
				  j->type, p11s_errmsg(rc));
			job_answer(j, 500, "internal", 0, "%s", p11s_errmsg(rc));
		}
		goto out;
	}
	session_ok(s);
	kid = tokens_kid(v->ks, key->sha1);
	snprintf(j->kid, sizeof(j->kid), "%s", kid != NULL ? kid : "");
	/* token and kid are base64url (and dots): nothing to escape */
	j->status = 200;
	if (asprintf(&j->body, "{\"token\":\"%s\",\"kid\":\"%s\",\"exp\":%lld}", token, j->kid,
		     (long long)exp) < 0) {
		/* no body: issue_done answers the generic internal error and logs */
		j->body = NULL;
		j->status = 500;
		snprintf(j->error, sizeof(j->error), "internal");
	}
out:
	free(token);
}

/* Open this session's signers for every key that issues now, before the
 * first job: the first requests do not wait for C_OpenSession and the key
 * search, and the token's start-up work is done before signerd serves. */
static void
warm(psession *s)
{
	d_pool *p = s->pool;
	const d_settings *set = (const d_settings *)d_slot_cached(p->settings, &s->settings);
	const d_view *v = (const d_view *)d_slot_cached(p->view, &s->view);
	p11s_time now = p11s_now();
	size_t t;

	if (set == NULL || v == NULL)
		return;
	for (t = 0; t < set->conf->policy.n_types; t++) {
		const signer_conf *c = set->conf;
		tokens_request tr;
		const pol_key *key = NULL;
		uint8_t id[HSM_ID_MAX];
		psigner *e;
		int ti, id_len, rc;

		memset(&tr, 0, sizeof(tr));
		tr.type = c->policy.types[t].name;
		if (tokens_issuing_key(c, v->st, &tr, now, &key, &ti) != 0 || key == NULL)
			continue;
		e = signer_for(s, key->sha1, c->policy.types[ti].alg);
		if (e->s != NULL || (id_len = p11s_unhex(key->id_hex, id, sizeof(id))) <= 0)
			continue;
		rc = hsm_signer_open(p->token, id, (size_t)id_len, c->policy.types[ti].alg,
				     c->session_keys, &e->s);
		if (rc != 0) {
			memset(e, 0, sizeof(*e));
			session_failed(s, "opening a session", rc);
			return;
		}
		log_debug("signing session %u: open for key %s (%s)", s->idx, key->sha1,
			  p11s_alg_name(c->policy.types[ti].alg));
	}
	s->pruned_ns = d_now_ns();
	s->view_gen = s->view.gen;
}

static void *
session_main(void *arg)
{
	psession *s = arg;
	d_pool *p = s->pool;
	struct sched_param sp = {0};
	struct timespec ts;
	int e;

	/* SCHED_BATCH: a signing thread that wakes (a job, a signature back
	 * from the token) never preempts a running HTTP worker, which goes on
	 * through its ready requests, while a worker that wakes still gets the
	 * CPU.  Measured in bench/README.md ("Signing threads"): fewer context
	 * switches per token than the nice 10 used before, which made every
	 * worker wake-up preempt a signing thread. */
	if ((e = pthread_setschedparam(pthread_self(), SCHED_BATCH, &sp)) != 0 && s->idx == 0)
		log_debug("signing threads keep the default scheduling: %s", strerror(e));
	warm(s);
	pthread_mutex_lock(&p->mu);
	p->warmed++;
	pthread_cond_broadcast(&p->reap_cv);
	for (;;) {
		uint64_t now = d_now_ns(), waited;
		d_job *j;
		size_t b;

		if (p->stopping)
			break;
		if (s->retry_at_ns > now) {
			d_abstime(s->retry_at_ns, &ts);
			pthread_cond_timedwait(&p->work_cv, &p->mu, &ts);
			continue;
		}
		if (s->retry_at_ns != 0) { /* rested: available again */
			s->retry_at_ns = 0;
			p->resting--;
		}
		if ((j = pop_locked(p)) == NULL) {
			pthread_cond_wait(&p->work_cv, &p->mu);
			continue;
		}
		if (now >= j->deadline_ns) {
			/* past its deadline before the reaper got to it: never started late */
			time_out_locked(p, j);
			continue;
		}
		waited = now - j->enqueued_ns;
		for (b = 0; b < N_WAIT_BUCKETS && (double)waited / 1e9 > wait_le[b]; b++)
			;
		p->wait_bucket[b]++;
		p->wait_count++;
		p->wait_sum_ns += waited;
		pthread_mutex_unlock(&p->mu);
		run_job(s, j);
		complete(p, j);
		pthread_mutex_lock(&p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	drop_signers(s);
	d_cache_release(&s->settings);
	d_cache_release(&s->view);
	return NULL;
}

/* ---- life ---------------------------------------------------------------- */

int
d_pool_new(const d_pool_params *pp, d_pool **out)
{
	d_pool *p;
	unsigned i;
	int r = P11S_E_NOMEM, e;

	*out = NULL;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return p11s_fail(P11S_E_NOMEM, "out of memory");
	p->token = pp->token;
	p->settings = pp->settings;
	p->view = pp->view;
	p->done = pp->done;
	p->done_arg = pp->done_arg;
	pthread_mutex_init(&p->mu, NULL);
	d_cond_init_monotonic(&p->work_cv);
	d_cond_init_monotonic(&p->reap_cv);
	p->reap_at_ns = UINT64_MAX;
	atomic_init(&p->in_flight, 0);
	p->w = calloc(pp->workers, sizeof(*p->w));
	p->s = calloc(pp->sessions, sizeof(*p->s));
	if (p->w == NULL || p->s == NULL) {
		r = p11s_fail(P11S_E_NOMEM, "out of memory");
		goto fail;
	}
	p->n_w = pp->workers;
	for (i = 0; i < p->n_w; i++) {
		p->w[i].pool = p;
		pthread_mutex_init(&p->w[i].mu, NULL);
		pthread_cond_init(&p->w[i].cv, NULL);
	}
	for (i = 0; i < pp->sessions; i++) {
		p->s[i].pool = p;
		p->s[i].idx = i;
		if ((e = pthread_create(&p->s[i].thread, NULL, session_main, &p->s[i])) != 0) {
			r = p11s_fail(P11S_E_INTERNAL, "cannot start signing thread %u: %s", i,
				      strerror(e));
			goto fail;
		}
		p->s[i].started = 1;
		p->n_s = i + 1;
	}
	if ((e = pthread_create(&p->reaper, NULL, reaper_main, p)) != 0) {
		r = p11s_fail(P11S_E_INTERNAL, "cannot start the signing queue's reaper: %s",
			      strerror(e));
		goto fail;
	}
	p->reaper_started = 1;
	/* Serve only once every session is open: their start-up work on the
	 * token (files, the host lock) is then over before the first request. */
	pthread_mutex_lock(&p->mu);
	while (p->warmed < p->n_s)
		pthread_cond_wait(&p->reap_cv, &p->mu);
	pthread_mutex_unlock(&p->mu);
	*out = p;
	return 0;
fail:
	d_pool_free(p);
	return r;
}

void
d_pool_stop(d_pool *p)
{
	unsigned i;
	d_job *j;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	p->stopping = 1;
	pthread_cond_broadcast(&p->work_cv);
	pthread_cond_broadcast(&p->reap_cv);
	pthread_mutex_unlock(&p->mu);
	for (i = 0; i < p->n_s; i++)
		if (p->s[i].started) {
			pthread_join(p->s[i].thread, NULL);
			p->s[i].started = 0;
		}
	if (p->reaper_started) {
		pthread_join(p->reaper, NULL);
		p->reaper_started = 0;
	}
	/* Nothing is queued once every worker has stopped; a job left (a worker
	 * that never ran) has no thread to answer on. */
	while ((j = pop_locked(p)) != NULL) {
		log_warn("a signing job was left unanswered at stop");
		d_job_free(j);
	}
}

void
d_pool_free(d_pool *p)
{
	unsigned i;

	if (p == NULL)
		return;
	d_pool_stop(p);
	for (i = 0; p->w != NULL && i < p->n_w; i++) {
		d_job *j;

		while ((j = p->w[i].head) != NULL) {
			p->w[i].head = j->next;
			d_job_free(j);
		}
		pthread_mutex_destroy(&p->w[i].mu);
		pthread_cond_destroy(&p->w[i].cv);
	}
	free(p->w);
	free(p->s);
	pthread_cond_destroy(&p->work_cv);
	pthread_cond_destroy(&p->reap_cv);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

/* ---- metrics ------------------------------------------------------------- */

void
d_pool_metrics(d_pool *p, FILE *f)
{
	uint64_t cum = 0;
	unsigned i;
	size_t b;

	pthread_mutex_lock(&p->mu);
	fprintf(f,
		"# HELP p11s_sign_sessions Signing sessions of the pool ([token] sessions).\n"
		"# TYPE p11s_sign_sessions gauge\np11s_sign_sessions %u\n"
		"# HELP p11s_sign_sessions_resting Signing sessions in back-off after a token "
		"failure.\n"
		"# TYPE p11s_sign_sessions_resting gauge\np11s_sign_sessions_resting %u\n"
		"# HELP p11s_sign_in_flight Signatures being made on the token now.\n"
		"# TYPE p11s_sign_in_flight gauge\np11s_sign_in_flight %u\n"
		"# HELP p11s_sign_queue_depth Issue jobs waiting for a signing session.\n"
		"# TYPE p11s_sign_queue_depth gauge\np11s_sign_queue_depth %zu\n"
		"# HELP p11s_sign_refused_total Issue jobs refused: queue full or not started "
		"within sign_timeout.\n"
		"# TYPE p11s_sign_refused_total counter\n"
		"p11s_sign_refused_total{reason=\"queue_full\"} %" PRIu64 "\n"
		"p11s_sign_refused_total{reason=\"timeout\"} %" PRIu64 "\n"
		"# HELP p11s_sign_wait_seconds Time an issue job waited for a signing session.\n"
		"# TYPE p11s_sign_wait_seconds histogram\n",
		p->n_s, p->resting, atomic_load(&p->in_flight), p->depth, p->refused_full,
		p->timed_out);
	for (b = 0; b < N_WAIT_BUCKETS; b++) {
		cum += p->wait_bucket[b];
		fprintf(f, "p11s_sign_wait_seconds_bucket{le=\"%g\"} %" PRIu64 "\n", wait_le[b],
			cum);
	}
	cum += p->wait_bucket[N_WAIT_BUCKETS];
	fprintf(f,
		"p11s_sign_wait_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n"
		"p11s_sign_wait_seconds_sum %.9f\np11s_sign_wait_seconds_count %" PRIu64 "\n"
		"# HELP p11s_sign_session_failures_total Token failures by signing session.\n"
		"# TYPE p11s_sign_session_failures_total counter\n",
		cum, (double)p->wait_sum_ns / 1e9, p->wait_count);
	for (i = 0; i < p->n_s; i++)
		fprintf(f, "p11s_sign_session_failures_total{session=\"%u\"} %" PRIu64 "\n", i,
			p->s[i].failures);
	pthread_mutex_unlock(&p->mu);
}

/* signerd's state poller.  See poll.h. */
#include "config.h"

#include "signer/daemon/poll.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "signer/audit.h"
#include "signer/custody.h"
#include "signer/jose/jose.h"
#include "signer/keytest.h"
#include "signer/tokens.h"

#define MEMBER_EVERY_S 10
#define MIN_INTERVAL_MS 50

typedef struct tested {
	char type[POL_NAME_MAX];
	char sha1[41];
	p11s_time effective;
	int first_done;
	int final_done;
	int switch_logged;
} tested;

struct d_poller {
	hsm_token *token;
	d_slot *settings;
	d_slot *view;
	d_app *app;
	member_record me;
	pthread_t thread;
	int started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stop;
	tested *tests;
	size_t n_tests;
	int failing;
	char last_error[512];
	p11s_time member_written;
	uint64_t version;
};

int
d_staged_key_test(hsm_token *t, const pol_type_conf *tc, const d_view *v, const pol_key *k)
{
	uint8_t id[HSM_ID_MAX];
	EVP_PKEY *pub = tokens_pubkey(v->ks, k->sha1);
	int id_len = p11s_unhex(k->id_hex, id, sizeof(id));

	if (pub == NULL || id_len <= 0)
		return p11s_fail(P11S_E_STATE, "key %s has no certificate or CKA_ID in the state",
				 k->sha1);
	return signer_test_signature(t, id, (size_t)id_len, tc->alg, pub, k->sha1, k->sha256);
}

static tested *
test_entry(d_poller *p, const char *type, const char *sha1, p11s_time effective)
{
	tested *t;
	size_t i;

	for (i = 0; i < p->n_tests; i++) {
		t = &p->tests[i];
		if (strcmp(t->type, type) == 0 && strcmp(t->sha1, sha1) == 0 &&
		    t->effective == effective)
			return t;
	}
	t = realloc(p->tests, (p->n_tests + 1) * sizeof(*t));
	if (t == NULL)
		return NULL;
	p->tests = t;
	t = &p->tests[p->n_tests++];
	memset(t, 0, sizeof(*t));
	snprintf(t->type, sizeof(t->type), "%s", type);
	memcpy(t->sha1, sha1, sizeof(t->sha1));
	t->effective = effective;
	return t;
}

/* The event of `kind` for `type` and key `sha1` in ev[0..n), or NULL. */
static const pol_event *
find_event(const pol_event *ev, size_t n, pol_event_kind kind, pol_role role, const char *type,
	   const char *sha1)
{
	for (size_t i = 0; i < n; i++) {
		if (ev[i].kind == kind && ev[i].role == role && strcmp(ev[i].type, type) == 0 &&
		    (sha1 == NULL || strcmp(ev[i].key, sha1) == 0))
			return &ev[i];
	}
	return NULL;
}

/*
 * Test signatures of staged keys: when the poller first sees a staged key,
 * and again once its final test is due (policy's test_signature event).
 */
static void
staged_tests(d_poller *p, const signer_conf *c, const d_view *v, const pol_event *ev, size_t n,
	     p11s_time now)
{
	for (size_t i = 0; i < n; i++) {
		const pol_event *sw = &ev[i], *due;
		const pol_type_conf *tc;
		const pol_key *k;
		tested *t;
		const char *kid;
		int r, final;

		if (sw->kind != POL_EV_SWITCH || sw->role != POL_ROLE_STAGED || now >= sw->at)
			continue;
		tc = pol_conf_type(&c->policy, sw->type);
		k = pol_state_key(&v->st->pol, sw->key);
		if (tc == NULL || k == NULL ||
		    (t = test_entry(p, sw->type, sw->key, sw->at)) == NULL)
			continue;
		due = find_event(ev, n, POL_EV_TEST_SIGNATURE, POL_ROLE_STAGED, sw->type, sw->key);
		final = due != NULL && now >= due->at;
		if (t->first_done && (t->final_done || !final))
			continue;
		kid = tokens_kid(v->ks, k->sha1);
		r = d_staged_key_test(p->token, tc, v, k);
		if (r == 0) {
			log_info(
			    "staged key %s for %s passed its test signature (effective in %lld s)",
			    k->sha1, tc->name, (long long)(sw->at - now));
		} else {
			char eff[32];

			p11s_fmt_utc(sw->at, eff, sizeof(eff));
			log_error(
			    "ALERT: staged key %s for %s FAILED its test signature, %lld s before "
			    "it "
			    "becomes effective at %s: %s; tokens issued from then on will fail "
			    "unless the token is fixed or the roll is replaced",
			    k->sha1, tc->name, (long long)(sw->at - now), eff, p11s_errmsg(r));
		}
		d_app_note_staged_test(p->app, tc->name, kid != NULL ? kid : k->sha1, r == 0, now);
		/* A failed first test is repeated at the final check. */
		t->first_done = 1;
		if (final)
			t->final_done = 1;
	}
}

/*
 * Record "switch observed" in the audit journal once a staged key this
 * process saw is issuing (policy's switch event of the current key; the
 * journal deduplicates across members).  The journal lock is taken before
 * any token lock, so this runs with none held.
 */
static void
observe_switches(d_poller *p, const signer_conf *c, const pol_event *ev, size_t n, p11s_time now)
{
	for (size_t i = 0; i < p->n_tests; i++) {
		tested *t = &p->tests[i];
		int written = 0, r;

		if (t->switch_logged || now < t->effective)
			continue;
		t->switch_logged = 1;
		if (find_event(ev, n, POL_EV_SWITCH, POL_ROLE_CURRENT, t->type, t->sha1) == NULL)
			continue; /* replaced or withdrawn before its instant */
		r = audit_switch_observed(c, p->me.id, t->type, t->sha1, t->effective, &written);
		if (r != 0)
			log_warn("cannot record the switch of %s to %s in the audit journal: %s",
				 t->type, t->sha1, p11s_errmsg(r));
		else if (written)
			log_info("switch of %s to %s observed and recorded", t->type, t->sha1);
	}
}

/* Staged-key tests and switch observation from the view's timeline at now. */
static void
timed_work(d_poller *p, const signer_conf *c, const d_view *v, p11s_time now)
{
	size_t max = c->policy.n_types * POL_EVENTS_PER_TYPE, n = 0;
	pol_event *ev = calloc(max > 0 ? max : 1, sizeof(*ev));
	int r;

	if (ev == NULL) {
		log_warn("out of memory for the timeline; staged-key tests wait for the next poll");
		goto out;
	}
	if ((r = pol_timeline_events(&c->policy, &v->st->pol, NULL, now, ev, max, &n)) != 0) {
		log_warn("cannot compute the timeline: %s", p11s_errmsg(r));
		goto out;
	}
	if (n > max)
		n = max;
	staged_tests(p, c, v, ev, n, now);
	observe_switches(p, c, ev, n, now);
out:
	free(ev);
}

int64_t
d_poll_wait_ms(const pol_conf *c, const pol_state *s, int64_t interval_ms, int64_t now_ms)
{
	pol_event ev[POL_EVENTS_PER_TYPE];
	int64_t wait = interval_ms;
	p11s_time now = now_ms / 1000;

	if (c != NULL && s != NULL) {
		for (size_t t = 0; t < c->n_types; t++) {
			size_t n = 0;

			if (pol_next_events(c, s, c->types[t].name, now, ev, POL_EVENTS_PER_TYPE,
					    &n) != 0) {
				p11s_err_clear();
				continue;
			}
			for (size_t i = 0; i < n && i < POL_EVENTS_PER_TYPE; i++) {
				/* Only the instants this poller acts on. */
				if (ev[i].kind != POL_EV_TEST_SIGNATURE &&
				    !(ev[i].kind == POL_EV_SWITCH && ev[i].role == POL_ROLE_STAGED))
					continue;
				if (ev[i].at * 1000 - now_ms < wait)
					wait = ev[i].at * 1000 - now_ms;
				break; /* sorted: the first one is the earliest */
			}
		}
	}
	return wait < MIN_INTERVAL_MS ? MIN_INTERVAL_MS : wait;
}

/* The host's boot id (tells a predecessor of an earlier boot); "" if unknown. */
static void
read_boot_id(char *out, size_t len)
{
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");

	out[0] = '\0';
	if (f == NULL)
		return;
	if (fgets(out, (int)len, f) == NULL)
		out[0] = '\0';
	out[strcspn(out, "\n")] = '\0';
	fclose(f);
}

/* Is the process of a member record of this host gone for sure? */
static int
predecessor_dead(const member_record *me, const member_record *m)
{
	if (strcmp(m->host, me->host) != 0 || strcmp(m->id, me->id) == 0)
		return 0;
	if (m->boot_id[0] != '\0' && me->boot_id[0] != '\0' && strcmp(m->boot_id, me->boot_id) != 0)
		return 1; /* written before this host last booted */
	return m->pid > 0 && kill((pid_t)m->pid, 0) != 0 && errno == ESRCH;
}

/*
 * At start: remove the member records of this host's dead predecessors
 * (killed, crashed) so `signer status` does not show them forever.  A record
 * whose pid is alive (another signerd, or a reused pid) stays; it goes stale.
 */
static void
sweep_predecessors(d_poller *p)
{
	member_record *m = NULL;
	size_t n = 0;
	int r;

	if ((r = member_list(p->token, &m, &n)) != 0) {
		log_warn("cannot list member records: %s", p11s_errmsg(r));
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (!predecessor_dead(&p->me, &m[i]))
			continue;
		if ((r = member_remove(p->token, m[i].id)) != 0)
			log_warn("cannot remove the member record %s of a dead process: %s",
				 m[i].id, p11s_errmsg(r));
		else
			log_info("removed the member record %s: process %ld of this host is gone "
				 "(last check at %lld)",
				 m[i].id, m[i].pid, (long long)m[i].checked_at);
	}
	free(m);
}

static void
write_member(d_poller *p, p11s_time now)
{
	member_record m = p->me;
	int r;

	m.version = p->version;
	m.checked_at = now;
	if ((r = member_write(p->token, &m)) != 0) {
		log_warn("cannot write member record %s: %s", m.id, p11s_errmsg(r));
		return;
	}
	p->member_written = now;
}

static void poll_failed(d_poller *p, p11s_time now, int regression, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * A failed poll keeps the state being served (SPEC §4, §5: verification
 * answers from the last good certificates).  Logged when it starts or its
 * cause changes, counted, and shown by /healthz as degraded.
 */
static void
poll_failed(d_poller *p, p11s_time now, int regression, const char *fmt, ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (!p->failing || strcmp(why, p->last_error) != 0)
		log_warn("state poll failed: %s; serving version %" PRIu64 " meanwhile", why,
			 p->version);
	snprintf(p->last_error, sizeof(p->last_error), "%s", why);
	p->failing = 1;
	d_app_note_poll(p->app, 0, p->version, now, why, regression);
}

static void
tick(d_poller *p, const signer_conf *c)
{
	p11s_time now = p11s_now();
	signer_state *st = NULL;
	d_view *nv = NULL;
	d_ref *vr;
	uint64_t ver = 0;
	int r, changed = 0;

	if ((r = state_peek_version(p->token, &ver)) != 0) {
		poll_failed(p, now, 0, "cannot list the state records: %s", p11s_errmsg(r));
		return;
	}
	if (ver < p->version) {
		/* no record visible (logged out?) or an older one: never served */
		poll_failed(p, now, 1,
			    "the token lists state version %" PRIu64 " (0: none), older than "
			    "version %" PRIu64 " already loaded",
			    ver, p->version);
		return;
	}
	if (ver != p->version) {
		if ((r = state_load_since(p->token, p->version, &st)) != 0) {
			poll_failed(p, now, r == P11S_E_STATE,
				    "cannot load state version %" PRIu64 ": %s", ver,
				    p11s_errmsg(r));
			return;
		}
		ver = st->version;
		/* honour only staged rolls that carry a valid quorum (SPEC §6) */
		if ((r = custody_filter(c, st)) != 0) {
			state_free(st);
			poll_failed(p, now, 0,
				    "state version %" PRIu64 ": cannot check roll approvals: %s",
				    ver, p11s_errmsg(r));
			return;
		}
		if (ver != p->version) {
			if ((r = d_view_new(st, now, &nv)) != 0) {
				poll_failed(p, now, 0, "state version %" PRIu64 " is unusable: %s",
					    ver, p11s_errmsg(r));
				return;
			}
			d_slot_publish(p->view, &nv->ref);
			log_info("state version %" PRIu64 " loaded (was %" PRIu64 ")", ver,
				 p->version);
			p->version = ver;
			changed = 1;
		} else {
			state_free(st);
		}
	}
	if (p->failing)
		log_info("polling the token works again (state version %" PRIu64 ")", p->version);
	p->failing = 0;
	p->me.poll_interval_ms = c->poll_interval_ms;
	p->last_error[0] = '\0';
	d_app_note_poll(p->app, 1, p->version, now, NULL, 0);
	if (changed || now - p->member_written >= MEMBER_EVERY_S)
		write_member(p, now);
	vr = d_slot_acquire(p->view);
	if (vr != NULL)
		timed_work(p, c, (const d_view *)vr, now);
	d_ref_put(vr);
}

static int64_t
realtime_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *
poll_main(void *arg)
{
	d_poller *p = arg;

	pthread_mutex_lock(&p->mu);
	while (!p->stop) {
		d_ref *sr;
		int64_t ms = 500;
		struct timespec ts;

		pthread_mutex_unlock(&p->mu);
		sr = d_slot_acquire(p->settings);
		if (sr != NULL) {
			const signer_conf *c = ((const d_settings *)sr)->conf;
			d_ref *vr;

			tick(p, c);
			/* Sleep until the poll interval or the next instant to act on. */
			vr = d_slot_acquire(p->view);
			ms = d_poll_wait_ms(&c->policy,
					    vr != NULL ? &((const d_view *)vr)->st->pol : NULL,
					    c->poll_interval_ms, realtime_ms());
			d_ref_put(vr);
		}
		hsm_log_flush();
		d_ref_put(sr);
		if (ms < MIN_INTERVAL_MS)
			ms = MIN_INTERVAL_MS;
		d_abstime(d_now_ns() + (uint64_t)ms * 1000000u, &ts);
		pthread_mutex_lock(&p->mu);
		while (!p->stop && pthread_cond_timedwait(&p->cv, &p->mu, &ts) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

int
d_poller_start(const d_poll_params *pp, d_poller **out)
{
	d_poller *p;
	d_ref *vr;
	int e;

	*out = NULL;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return p11s_fail(P11S_E_NOMEM, "out of memory");
	p->token = pp->token;
	p->settings = pp->settings;
	p->view = pp->view;
	p->app = pp->app;
	p->me = *pp->me;
	read_boot_id(p->me.boot_id, sizeof(p->me.boot_id));
	sweep_predecessors(p);
	vr = d_slot_acquire(p->view);
	if (vr != NULL)
		p->version = ((const d_view *)vr)->st->version;
	d_ref_put(vr);
	pthread_mutex_init(&p->mu, NULL);
	d_cond_init_monotonic(&p->cv);
	e = pthread_create(&p->thread, NULL, poll_main, p);
	if (e != 0) {
		d_poller_stop(p);
		return p11s_fail(P11S_E_INTERNAL, "cannot start the state poller: %s", strerror(e));
	}
	p->started = 1;
	*out = p;
	return 0;
}

void
d_poller_stop(d_poller *p)
{
	int r;

	if (p == NULL)
		return;
	if (p->started) {
		pthread_mutex_lock(&p->mu);
		p->stop = 1;
		pthread_cond_signal(&p->cv);
		pthread_mutex_unlock(&p->mu);
		pthread_join(p->thread, NULL);
		if (p->member_written != 0 && (r = member_remove(p->token, p->me.id)) != 0)
			log_warn("cannot remove member record %s: %s", p->me.id, p11s_errmsg(r));
	}
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p->tests);
	free(p);
}

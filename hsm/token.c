/* Opening and closing a token, its host lock, and start-up retries. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "common/log.h"
#include "common/util.h"
#include "hsm/internal.h"

#define DEFAULT_START_ATTEMPTS 5
#define START_BACKOFF_MS 20
#define URI_EXAMPLE "pkcs11:token=edge?module-path=/usr/lib/softhsm/libsofthsm2.so"

void
hsm_sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* ---- host lock ---------------------------------------------------------- */

int
hsm_lock(hsm_token *t)
{
	int e;

	if ((e = pthread_mutex_lock(&t->lock_mu)) != 0)
		return p11s_fail(P11S_E_LOCK, "cannot take the process lock of token '%s': %s",
				 t->label, strerror(e));
	if (t->lock_depth == 0 && t->lock_fd >= 0) {
		while (flock(t->lock_fd, LOCK_EX) != 0) {
			if (errno == EINTR)
				continue;
			e = errno;
			pthread_mutex_unlock(&t->lock_mu);
			return p11s_fail(P11S_E_LOCK, "cannot lock the token lock file %s: %s",
					 t->lock_path, strerror(e));
		}
	}
	t->lock_depth++;
	return 0;
}

void
hsm_unlock(hsm_token *t)
{
	if (t == NULL || t->lock_depth == 0)
		return;
	if (--t->lock_depth == 0 && t->lock_fd >= 0)
		(void)flock(t->lock_fd, LOCK_UN);
	pthread_mutex_unlock(&t->lock_mu);
}

/* ---- open / close ------------------------------------------------------- */

static void
stop(hsm_token *t)
{
	if (t->session != CK_INVALID_HANDLE)
		(void)hsm_C_CloseSession(t, t->session);
	t->session = CK_INVALID_HANDLE;
	hsm_module_release(t->mod);
	t->mod = NULL;
	t->f = NULL;
	t->have_slot = 0;
}

static int
start_once(hsm_token *t, p11s_secret **pin, int *transient)
{
	CK_RV rv;
	int r;

	if (t->mod == NULL) {
		if ((r = hsm_module_acquire(t->module_path, &t->mod, transient)) != 0)
			return r;
		t->f = t->mod->f;
	}
	if ((r = hsm_find_slot(t, transient)) != 0)
		return r;
	rv = hsm_C_OpenSession(t, t->slot, &t->session);
	if (rv != CKR_OK) {
		t->session = CK_INVALID_HANDLE;
		*transient = rv == CKR_GENERAL_ERROR;
		return HSM_RV_FAIL(rv, "C_OpenSession", "cannot open a session on token '%s'",
				   t->label);
	}
	if (t->pin_source == NULL)
		return 0;
	return hsm_login(t, t->session, pin, transient);
}

static int
start(hsm_token *t)
{
	p11s_secret *pin = NULL;
	unsigned delay = START_BACKOFF_MS;
	int r = P11S_E_INTERNAL;

	for (unsigned attempt = 1;; attempt++) {
		int transient = 0;

		if ((r = start_once(t, &pin, &transient)) == 0)
			break;
		if (!transient || attempt >= t->start_attempts)
			break;
		log_warn("token '%s': start-up attempt %u of %u failed (%s); retrying in %u ms",
			 t->label, attempt, t->start_attempts, p11s_errmsg(r), delay);
		stop(t);
		hsm_sleep_ms(delay);
		delay *= 2;
	}
	if (r == 0 && pin != NULL && !p11s_secret_source_rereadable(t->pin_source)) {
		t->kept_pin = pin; /* the source cannot be read again for a re-login */
		pin = NULL;
	}
	p11s_secret_free(pin);
	return r;
}

static int
open_lock_file(hsm_token *t, const char *path)
{
	int r;

	if ((r = p11s_strdup(path, &t->lock_path)) != 0)
		return r;
	t->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (t->lock_fd < 0)
		return p11s_fail(P11S_E_LOCK, "cannot open the token lock file %s: %s%s", path,
				 strerror(errno),
				 errno == ENOENT ? " (does its directory exist?)" : "");
	return 0;
}

int
hsm_open(const hsm_open_params *p, hsm_token **out)
{
	hsm_token *t = NULL;
	hsm_uri *u = NULL;
	pthread_mutexattr_t ma;
	char *module = NULL;
	const char *pin;
	int r = P11S_E_INTERNAL, locked = 0;

	*out = NULL;
	if (p == NULL || p->uri == NULL || *p->uri == '\0')
		return p11s_fail(P11S_E_INVAL, "no token URI given; use e.g. %s", URI_EXAMPLE);
	if ((r = hsm_uri_parse(p->uri, &u)) != 0)
		return r;
	if (u->token == NULL && u->serial == NULL) {
		r = p11s_fail(P11S_E_INVAL,
			      "the token URI names no token: add token=LABEL (or serial=), e.g. %s",
			      URI_EXAMPLE);
		goto out;
	}
	if ((r = hsm_uri_module(u, &module)) != 0)
		goto out;
	/* The URI's pin-source= names this token's PIN: it overrides the
	 * caller's PIN source, but never makes a caller that does not log in
	 * log in. */
	pin = p->pin_source != NULL && u->pin_source != NULL ? u->pin_source : p->pin_source;
	if (pin != NULL && (r = p11s_secret_source_check(pin)) != 0)
		goto out;
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		r = p11s_fail(P11S_E_NOMEM, "out of memory");
		goto out;
	}
	t->lock_fd = -1;
	t->session = CK_INVALID_HANDLE;
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&t->lock_mu, &ma);
	pthread_mutexattr_destroy(&ma);
	t->start_attempts = p->start_attempts != 0 ? p->start_attempts : DEFAULT_START_ATTEMPTS;
	snprintf(t->label, sizeof(t->label), "%s", u->token != NULL ? u->token : u->serial);
	if ((u->token != NULL && (r = p11s_strdup(u->token, &t->want_label)) != 0) ||
	    (u->serial != NULL && (r = p11s_strdup(u->serial, &t->want_serial)) != 0) ||
	    (u->model != NULL && (r = p11s_strdup(u->model, &t->want_model)) != 0) ||
	    (u->manufacturer != NULL &&
	     (r = p11s_strdup(u->manufacturer, &t->want_manufacturer)) != 0) ||
	    (r = p11s_strdup(module, &t->module_path)) != 0 ||
	    (pin != NULL && (r = p11s_strdup(pin, &t->pin_source)) != 0))
		goto out;
	if (p->lock_file != NULL && (r = open_lock_file(t, p->lock_file)) != 0)
		goto out;
	if ((r = hsm_lock(t)) != 0)
		goto out;
	locked = 1;
	if ((r = start(t)) != 0)
		goto out;
	log_info("opened token '%s' (serial %s)%s", t->label, t->serial,
		 t->pin_source != NULL ? ", logged in" : "");
	*out = t;
	t = NULL;
	r = 0;
out:
	if (locked && t != NULL) {
		stop(t);
		hsm_unlock(t);
	} else if (locked) {
		hsm_unlock(*out);
	}
	hsm_close(t);
	hsm_uri_free(u);
	free(module);
	return r;
}

void
hsm_close(hsm_token *t)
{
	int locked;

	if (t == NULL)
		return;
	locked = t->mod != NULL && hsm_lock(t) == 0;
	stop(t);
	if (locked)
		hsm_unlock(t);
	if (t->lock_fd >= 0)
		close(t->lock_fd);
	p11s_secret_free(t->kept_pin);
	free(t->lock_path);
	free(t->want_label);
	free(t->want_serial);
	free(t->want_model);
	free(t->want_manufacturer);
	free(t->module_path);
	free(t->pin_source);
	pthread_mutex_destroy(&t->lock_mu);
	OPENSSL_cleanse(t, sizeof(*t));
	free(t);
}

const char *
hsm_token_label(const hsm_token *t)
{
	return t->label;
}

const char *
hsm_token_serial(const hsm_token *t)
{
	return t->serial;
}

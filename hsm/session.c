/* Sessions: the management session and new user sessions, logged in. */
#include "config.h"

#include "common/log.h"
#include "hsm/internal.h"

/* A token that keeps logging the program out would otherwise add these
 * lines at every state poll (hsm_log_flush reports the counts). */
static p11s_ratelimit rl_relogin =
    P11S_RATELIMIT_INIT("management session found logged out and logged in again", 60, 3);
static p11s_ratelimit rl_retry =
    P11S_RATELIMIT_INIT("token calls tried once more on a logged-in session", 60, 3);

void
hsm_log_flush(void)
{
	p11s_log_rl_flush(&rl_relogin, LOG_WARNING, __func__, __LINE__);
	p11s_log_rl_flush(&rl_retry, LOG_INFO, __func__, __LINE__);
}

static int
rv_slot_gone(CK_RV rv)
{
	return rv == CKR_SLOT_ID_INVALID || rv == CKR_TOKEN_NOT_PRESENT ||
	       rv == CKR_DEVICE_REMOVED || rv == CKR_TOKEN_NOT_RECOGNIZED || rv == CKR_DEVICE_ERROR;
}

int
hsm_open_user_session(hsm_token *t, CK_SESSION_HANDLE *out)
{
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	CK_RV rv = CKR_SLOT_ID_INVALID;
	int transient = 0, r;

	*out = CK_INVALID_HANDLE;
	if (t->have_slot)
		rv = hsm_C_OpenSession(t, t->slot, &s);
	if (rv != CKR_OK && rv_slot_gone(rv)) {
		log_info("token '%s': slot unusable; looking for the token again", t->label);
		t->have_slot = 0;
		if ((r = hsm_find_slot(t, &transient)) != 0)
			return r;
		rv = hsm_C_OpenSession(t, t->slot, &s);
	}
	if (rv != CKR_OK)
		return HSM_RV_FAIL(rv, "C_OpenSession", "cannot open a session on token '%s'",
				   t->label);
	if ((r = hsm_ensure_login(t, s)) != 0) {
		(void)hsm_C_CloseSession(t, s);
		return r;
	}
	*out = s;
	return 0;
}

int
hsm_session(hsm_token *t, CK_SESSION_HANDLE *out)
{
	int r, logged_in = 1;

	*out = CK_INVALID_HANDLE;
	/* Logged out meanwhile (a token reset, a signer's C_Sign answered
	 * CKR_USER_NOT_LOGGED_IN)?  Private objects would be invisible. */
	if (t->session != CK_INVALID_HANDLE && t->pin_source != NULL &&
	    (r = hsm_logged_in(t, t->session, &logged_in)) != 0 && t->session != CK_INVALID_HANDLE)
		return r; /* not a lost session, which is reopened below */
	if (t->session == CK_INVALID_HANDLE) {
		log_info("token '%s': reopening the management session", t->label);
		if ((r = hsm_open_user_session(t, &t->session)) != 0)
			return r;
	} else if (!logged_in) {
		log_warn_rl(&rl_relogin,
			    "token '%s': the management session is no longer logged in; logging "
			    "in again",
			    t->label);
		if ((r = hsm_relogin(t, t->session)) != 0)
			return r;
	}
	*out = t->session;
	return 0;
}

int
hsm_run(hsm_token *t, hsm_op_fn fn, void *arg)
{
	unsigned logins;
	int r;

	if ((r = hsm_lock(t)) != 0)
		return r;
	logins = t->logins;
	r = fn(t, arg);
	/* lost or logged out, and no C_Login tried: once more, logging in once */
	if (r == P11S_E_SESSION && t->logins == logins) {
		log_info_rl(&rl_retry, "token '%s': %s; trying once more on a logged-in session",
			    t->label, p11s_errmsg(r));
		r = fn(t, arg);
	}
	hsm_unlock(t);
	return r;
}

void
hsm_session_check(hsm_token *t, CK_SESSION_HANDLE s, CK_RV rv)
{
	if (!hsm_rv_session_lost(rv) || s != t->session || t->session == CK_INVALID_HANDLE)
		return;
	(void)hsm_C_CloseSession(t, t->session);
	t->session = CK_INVALID_HANDLE;
}

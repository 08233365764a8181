/* Token discovery (by label and serial, never slot id) and login. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "hsm/internal.h"

/* ---- token discovery ---------------------------------------------------- */

static void
trim_field(const unsigned char *in, size_t len, char *out)
{
	while (len > 0 && (in[len - 1] == ' ' || in[len - 1] == '\0'))
		len--;
	memcpy(out, in, len);
	out[len] = '\0';
}

static void
append(char *buf, size_t len, const char *s)
{
	size_t used = strlen(buf);

	if (used < len)
		snprintf(buf + used, len - used, "%s", s);
}

static void
describe_wanted(const hsm_token *t, char *buf, size_t len)
{
	if (t->want_label != NULL && t->want_serial != NULL)
		snprintf(buf, len, "labelled '%s' with serial '%s'", t->want_label, t->want_serial);
	else if (t->want_label != NULL)
		snprintf(buf, len, "labelled '%s'", t->want_label);
	else
		snprintf(buf, len, "with serial '%s'", t->want_serial);
	if (t->want_model != NULL)
		append(buf, len, " of model '"), append(buf, len, t->want_model),
		    append(buf, len, "'");
	if (t->want_manufacturer != NULL)
		append(buf, len, " by manufacturer '"), append(buf, len, t->want_manufacturer),
		    append(buf, len, "'");
}

/* Find the slot holding the wanted token: by label and/or serial, never slot id. */
int
hsm_find_slot(hsm_token *t, int *transient)
{
	CK_SLOT_ID *slots = NULL;
	CK_ULONG n = 0;
	CK_RV rv;
	size_t matches = 0;
	char seen[512] = "", serials[256] = "", wanted[320];
	char label[TOKEN_LABEL_LEN + 1], serial[TOKEN_SERIAL_LEN + 1];
	char model[sizeof(((CK_TOKEN_INFO *)0)->model) + 1];
	char manufacturer[sizeof(((CK_TOKEN_INFO *)0)->manufacturerID) + 1];
	int r = P11S_E_INTERNAL;

	describe_wanted(t, wanted, sizeof(wanted));
	for (;;) {
		if ((rv = hsm_C_GetSlotList(t, NULL, &n)) != CKR_OK) {
			*transient = hsm_rv_transient_start(rv);
			r = HSM_RV_FAIL(rv, "C_GetSlotList", "cannot list the tokens of module %s",
					t->module_path);
			goto out;
		}
		free(slots);
		if ((slots = calloc(n + 1, sizeof(*slots))) == NULL) {
			r = p11s_fail(P11S_E_NOMEM, "out of memory");
			goto out;
		}
		rv = hsm_C_GetSlotList(t, slots, &n);
		if (rv == CKR_OK)
			break;
		if (rv != CKR_BUFFER_TOO_SMALL) {
			*transient = hsm_rv_transient_start(rv);
			r = HSM_RV_FAIL(rv, "C_GetSlotList", "cannot list the tokens of module %s",
					t->module_path);
			goto out;
		}
	}
	for (CK_ULONG i = 0; i < n; i++) {
		CK_TOKEN_INFO ti;

		if ((rv = hsm_C_GetTokenInfo(t, slots[i], &ti)) != CKR_OK) {
			char nb[32];

			if (hsm_rv_transient_start(rv))
				*transient = 1;
			log_warn("C_GetTokenInfo on slot %lu returned %s; skipping that slot",
				 (unsigned long)slots[i], hsm_rv_name(rv, nb));
			continue;
		}
		if (!(ti.flags & CKF_TOKEN_INITIALIZED))
			continue; /* SoftHSM's spare slot holds an uninitialised token */
		trim_field(ti.label, sizeof(ti.label), label);
		trim_field(ti.serialNumber, sizeof(ti.serialNumber), serial);
		trim_field(ti.model, sizeof(ti.model), model);
		trim_field(ti.manufacturerID, sizeof(ti.manufacturerID), manufacturer);
		append(seen, sizeof(seen), seen[0] != '\0' ? ", '" : "'");
		append(seen, sizeof(seen), label);
		append(seen, sizeof(seen), "'");
		if ((t->want_label != NULL && strcmp(t->want_label, label) != 0) ||
		    (t->want_serial != NULL && strcmp(t->want_serial, serial) != 0) ||
		    (t->want_model != NULL && strcmp(t->want_model, model) != 0) ||
		    (t->want_manufacturer != NULL &&
		     strcmp(t->want_manufacturer, manufacturer) != 0))
			continue;
		append(serials, sizeof(serials), matches > 0 ? ", " : "");
		append(serials, sizeof(serials), serial);
		if (matches++ == 0) {
			t->slot = slots[i];
			memcpy(t->label, label, sizeof(label));
			memcpy(t->serial, serial, sizeof(serial));
		}
	}
	if (matches == 0) {
		*transient = 1;
		r = p11s_fail(P11S_E_TOKEN_NOT_FOUND,
			      "no token %s in the PKCS#11 module %s (tokens present: %s)", wanted,
			      t->module_path, seen[0] != '\0' ? seen : "none");
		goto out;
	}
	if (matches > 1) {
		r = p11s_fail(P11S_E_AMBIGUOUS,
			      "%zu tokens are %s (serials %s): add serial= to the URI, e.g. "
			      "pkcs11:token=%s;serial=%s",
			      matches, wanted, serials, t->label, t->serial);
		goto out;
	}
	t->have_slot = 1;
	r = 0;
out:
	free(slots);
	return r;
}

/* ---- login -------------------------------------------------------------- */

/*
 * Log in with the secret (read now if *pin is NULL; the caller owns *pin
 * afterwards).  PIN failures are latched and never retried.
 */
int
hsm_login(hsm_token *t, CK_SESSION_HANDLE s, p11s_secret **pin, int *transient)
{
	CK_RV rv;
	int r;

	if (t->pin_latched != 0)
		return p11s_fail(t->pin_latched,
				 "the token '%s' refused the PIN earlier: not logging in again (an "
				 "operator must correct the PIN and restart)",
				 t->label);
	if (*pin == NULL && (r = p11s_secret_read(t->pin_source, "PIN", pin)) != 0)
		return r;
	t->logins++;
	rv = hsm_C_Login(t, s, (const uint8_t *)(*pin)->buf, (*pin)->len);
	if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN) {
		log_debug("logged in to token '%s'", t->label);
		return 0;
	}
	r = HSM_RV_FAIL(rv, "C_Login", "cannot log in to token '%s'", t->label);
	if (rv == CKR_PIN_INCORRECT) {
		t->pin_latched = P11S_E_PIN_INCORRECT;
		return p11s_fail(
		    P11S_E_PIN_INCORRECT,
		    "the token '%s' refused the PIN (not retried: repeated wrong PINs can "
		    "lock a token)",
		    t->label);
	}
	if (rv == CKR_PIN_LOCKED) {
		t->pin_latched = P11S_E_PIN_LOCKED;
		return p11s_fail(P11S_E_PIN_LOCKED,
				 "the user PIN of token '%s' is locked: a security officer must "
				 "unlock it (not retried)",
				 t->label);
	}
	if (rv == CKR_GENERAL_ERROR)
		*transient = 1;
	return r;
}

int
hsm_logged_in(hsm_token *t, CK_SESSION_HANDLE s, int *yes)
{
	CK_SESSION_INFO si;
	CK_RV rv;

	*yes = 0;
	if ((rv = hsm_C_GetSessionInfo(t, s, &si)) != CKR_OK)
		return HSM_RV_FAIL(rv, "C_GetSessionInfo", "token '%s'", t->label);
	*yes = si.state == CKS_RW_USER_FUNCTIONS || si.state == CKS_RO_USER_FUNCTIONS;
	return 0;
}

int
hsm_relogin(hsm_token *t, CK_SESSION_HANDLE s)
{
	p11s_secret *pin = NULL;
	int transient = 0, r;

	if (t->kept_pin != NULL)
		return hsm_login(t, s, &t->kept_pin, &transient);
	r = hsm_login(t, s, &pin, &transient);
	p11s_secret_free(pin);
	return r;
}

/* Log in on s unless the application is already logged in to the token. */
int
hsm_ensure_login(hsm_token *t, CK_SESSION_HANDLE s)
{
	int yes = 0, r;

	if (t->pin_source == NULL)
		return 0;
	if ((r = hsm_logged_in(t, s, &yes)) != 0 || yes)
		return r;
	log_info("token '%s': session not logged in; logging in again", t->label);
	return hsm_relogin(t, s);
}

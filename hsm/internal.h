/*
 * Private to hsm/: struct bodies and helpers shared by the hsm/ sources.
 * Never included outside hsm/.
 */
#ifndef P11S_HSM_INTERNAL_H
#define P11S_HSM_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <p11-kit/pkcs11.h>
/*
 * p11-kit's compatibility names are macros ("#define value pValue"): drop the
 * ones that would rename our own identifiers (hsm_data.value, counters).  Code
 * in hsm/ uses the standard names pValue/ulValueLen/ulCount directly.
 */
#undef value
#undef count
#undef params

#include "common/pin.h"
#include "hsm/hsm.h"

/*
 * PKCS#11 templates and inputs are `void *` / `CK_BYTE_PTR` even where the
 * module only reads them; this is the one place a const is dropped.
 */
static inline void *
hsm_ck_ptr(const void *p)
{
	union {
		const void *c;
		void *v;
	} u = {.c = p};

	return u.v;
}

#define TOKEN_LABEL_LEN 32
#define TOKEN_SERIAL_LEN 16

/* One loaded PKCS#11 module, shared by every hsm_token naming its path. */
struct hsm_module {
	char *path;
	void *dl;
	CK_FUNCTION_LIST_PTR f;
	unsigned refs;
	int finalize; /* we initialised it: C_Finalize on the last release */
	struct hsm_module *next;
};

struct hsm_token {
	struct hsm_module *mod;
	CK_FUNCTION_LIST_PTR f;
	CK_SLOT_ID slot; /* read and changed only under the host lock */
	int have_slot;
	CK_SESSION_HANDLE session; /* management session; CK_INVALID_HANDLE when lost */
	char label[TOKEN_LABEL_LEN + 1];
	char serial[TOKEN_SERIAL_LEN + 1];
	char *want_label; /* from the URI */
	char *want_serial;
	char *want_model; /* model= and manufacturer= of the URI, or NULL */
	char *want_manufacturer;
	char *module_path;
	char *pin_source;      /* NULL: never log in */
	p11s_secret *kept_pin; /* only for sources that cannot be re-read */
	int pin_latched;       /* 0 or P11S_E_PIN_INCORRECT / P11S_E_PIN_LOCKED */
	unsigned start_attempts;
	unsigned logins; /* C_Login calls made (host lock held) */

	pthread_mutex_t lock_mu; /* recursive */
	unsigned lock_depth;
	int lock_fd; /* -1 without lock file */
	char *lock_path;
};

/* ---- rv.c: CK_RV names and the one mapping ------------------------------ */

/* Is rv one of the codes after which a session must be reopened? */
int hsm_rv_session_lost(CK_RV rv);
/* Is rv a start-up failure that STACK-NOTES shows to be transient? */
int hsm_rv_transient_start(CK_RV rv);
/* Name of a CKR_ value ("CKR_PIN_INCORRECT"), or "CKR_0x..." in buf. */
const char *hsm_rv_name(CK_RV rv, char buf[32]);
/*
 * The single CK_RV -> p11s mapping: logs the raw CKR_ name with the call and
 * records "<what>: <call> returned CKR_X" through p11s_fail.  rv != CKR_OK.
 */
int hsm_rv_fail(CK_RV rv, const char *call, const char *func, int line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
#define HSM_RV_FAIL(rv, call, ...) hsm_rv_fail((rv), (call), __func__, __LINE__, __VA_ARGS__)

/* ---- call.c: one wrapper per PKCS#11 function -------------------------- */

/*
 * Each returns the function's CK_RV, or CKR_FUNCTION_NOT_SUPPORTED when the
 * module does not provide it; failures are logged (debug, raw CK_RV) and a
 * lost management session is dropped (hsm_session_check).  Nothing else in
 * hsm/ calls through a CK_FUNCTION_LIST.
 */
CK_RV hsm_C_Initialize(CK_FUNCTION_LIST_PTR f, CK_C_INITIALIZE_ARGS *args);
CK_RV hsm_C_Finalize(CK_FUNCTION_LIST_PTR f);
/* Slots with a token present. */
CK_RV hsm_C_GetSlotList(hsm_token *t, CK_SLOT_ID *slots, CK_ULONG *n);
CK_RV hsm_C_GetTokenInfo(hsm_token *t, CK_SLOT_ID slot, CK_TOKEN_INFO *info);
/* A serial R/W session. */
CK_RV hsm_C_OpenSession(hsm_token *t, CK_SLOT_ID slot, CK_SESSION_HANDLE *s);
CK_RV hsm_C_CloseSession(hsm_token *t, CK_SESSION_HANDLE s);
CK_RV hsm_C_GetSessionInfo(hsm_token *t, CK_SESSION_HANDLE s, CK_SESSION_INFO *info);
/* Log in as CKU_USER. */
CK_RV hsm_C_Login(hsm_token *t, CK_SESSION_HANDLE s, const uint8_t *pin, size_t len);
CK_RV hsm_C_FindObjectsInit(hsm_token *t, CK_SESSION_HANDLE s, CK_ATTRIBUTE *tmpl, CK_ULONG n);
CK_RV hsm_C_FindObjects(hsm_token *t, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE *h, CK_ULONG max,
			CK_ULONG *got);
CK_RV hsm_C_FindObjectsFinal(hsm_token *t, CK_SESSION_HANDLE s);
CK_RV hsm_C_GetAttributeValue(hsm_token *t, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
			      CK_ATTRIBUTE *tmpl, CK_ULONG n);
CK_RV hsm_C_SetAttributeValue(hsm_token *t, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
			      CK_ATTRIBUTE *tmpl, CK_ULONG n);
CK_RV hsm_C_CreateObject(hsm_token *t, CK_SESSION_HANDLE s, CK_ATTRIBUTE *tmpl, CK_ULONG n,
			 CK_OBJECT_HANDLE *out);
CK_RV hsm_C_CopyObject(hsm_token *t, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE *tmpl,
		       CK_ULONG n, CK_OBJECT_HANDLE *out);
CK_RV hsm_C_DestroyObject(hsm_token *t, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o);
CK_RV hsm_C_GenerateKeyPair(hsm_token *t, CK_SESSION_HANDLE s, CK_MECHANISM *mech,
			    CK_ATTRIBUTE *pub, CK_ULONG npub, CK_ATTRIBUTE *priv, CK_ULONG npriv,
			    CK_OBJECT_HANDLE *hpub, CK_OBJECT_HANDLE *hpriv);
CK_RV hsm_C_SignInit(hsm_token *t, CK_SESSION_HANDLE s, CK_MECHANISM *mech, CK_OBJECT_HANDLE key);
CK_RV hsm_C_Sign(hsm_token *t, CK_SESSION_HANDLE s, const uint8_t *data, size_t len, uint8_t *sig,
		 CK_ULONG *siglen);

/* ---- module.c: the module registry -------------------------------------- */

/*
 * Load and initialise the module at path, or take another reference to it.
 * *transient: set when the failure may go away on a later attempt.
 */
P11S_MUST_CHECK int hsm_module_acquire(const char *path, struct hsm_module **out, int *transient);
/* Drop a reference; the last one finalises the module if we initialised it. */
void hsm_module_release(struct hsm_module *m);

/* ---- slot.c: token discovery and login ---------------------------------- */

/* Find the slot holding the wanted token: by label and/or serial, never slot id. */
P11S_MUST_CHECK int hsm_find_slot(hsm_token *t, int *transient);
/*
 * Log in with the secret (read now if *pin is NULL; the caller owns *pin
 * afterwards).  PIN failures are latched and never retried.
 */
P11S_MUST_CHECK int hsm_login(hsm_token *t, CK_SESSION_HANDLE s, p11s_secret **pin, int *transient);
/* Log in on s unless the application is already logged in to the token. */
P11S_MUST_CHECK int hsm_ensure_login(hsm_token *t, CK_SESSION_HANDLE s);
/* Is the application logged in to the token (session state of s)? */
P11S_MUST_CHECK int hsm_logged_in(hsm_token *t, CK_SESSION_HANDLE s, int *yes);
/* One C_Login on s from the PIN source (or the kept PIN); latched PIN failures refused. */
P11S_MUST_CHECK int hsm_relogin(hsm_token *t, CK_SESSION_HANDLE s);

/* ---- session.c: sessions ------------------------------------------------ */

/*
 * The management session, reopened (slot re-found, logged in again) when a
 * previous call lost it, and logged in again (one C_Login) when the token
 * logged the application out.  Caller holds the host lock.
 */
P11S_MUST_CHECK int hsm_session(hsm_token *t, CK_SESSION_HANDLE *out);
/* A call on session s returned rv: if s is the management session and rv
 * says the session is lost, drop it (the next management call reopens it). */
void hsm_session_check(hsm_token *t, CK_SESSION_HANDLE s, CK_RV rv);
/*
 * Run the management operation fn(t, arg) under the host lock.  When it
 * fails with P11S_E_SESSION (its session was lost, or logged out so that a
 * search saw nothing) and no C_Login was tried meanwhile, run it once more:
 * its hsm_session then reopens the session or logs in again, once.  fn must
 * leave its outputs untouched unless it succeeds.
 */
typedef int (*hsm_op_fn)(hsm_token *t, void *arg);
P11S_MUST_CHECK int hsm_run(hsm_token *t, hsm_op_fn fn, void *arg);

/*
 * Open a new R/W session on the token's slot, re-finding the slot by
 * label/serial if the old one is gone, and log in if the session is not
 * logged in (never after a latched PIN failure).  Caller holds the host lock.
 */
P11S_MUST_CHECK int hsm_open_user_session(hsm_token *t, CK_SESSION_HANDLE *out);

/* ---- token.c: open, close, host lock ------------------------------------ */

/* Sleep for ms milliseconds (back-off between retries). */
void hsm_sleep_ms(unsigned ms);

/* ---- objects.c ---------------------------------------------------------- */

#define HSM_FIND_MAX 4096

/*
 * Find objects matching tmpl (at most HSM_FIND_MAX).  *out malloc'd.  With a
 * PIN source, finding nothing on a session that is not logged in is
 * P11S_E_SESSION, never an empty result.
 */
P11S_MUST_CHECK int hsm_find(hsm_token *t, CK_SESSION_HANDLE s, CK_ATTRIBUTE *tmpl, CK_ULONG n,
			     CK_OBJECT_HANDLE **out, size_t *nout);
/* Read one variable-length attribute; *out malloc'd (NUL-terminated for convenience). */
P11S_MUST_CHECK int hsm_get_attr(hsm_token *t, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
				 CK_ATTRIBUTE_TYPE type, uint8_t **out, size_t *len);
/* Read a CK_BBOOL attribute; unavailable attributes read as 0. */
P11S_MUST_CHECK int hsm_get_bool(hsm_token *t, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
				 CK_ATTRIBUTE_TYPE type, int *out);
/* Read a CK_ULONG attribute. */
P11S_MUST_CHECK int hsm_get_ulong(hsm_token *t, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
				  CK_ATTRIBUTE_TYPE type, CK_ULONG *out);

/* Key type and size of a private or public key object. */
P11S_MUST_CHECK int hsm_key_type(hsm_token *t, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
				 p11s_keytype *kt, unsigned *bits);
/* Public key of a public key object. */
P11S_MUST_CHECK int hsm_pubkey_from_object(hsm_token *t, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
					   EVP_PKEY **out);
/* Public key for this CKA_ID from the public key object, else the certificate. */
P11S_MUST_CHECK int hsm_pubkey_by_id(hsm_token *t, CK_SESSION_HANDLE s, const uint8_t *id,
				     size_t id_len, EVP_PKEY **out);
/* CKA_ID of a public key: SHA-1 over its DER SubjectPublicKeyInfo (20 bytes). */
P11S_MUST_CHECK int hsm_key_id(EVP_PKEY *pk, uint8_t id[HSM_ID_MAX], size_t *id_len);
/* DER OID for CKA_EC_PARAMS of an EC key type; NULL otherwise. */
const uint8_t *hsm_ec_params(p11s_keytype kt, size_t *len);
/* OpenSSL group name of an EC key type ("prime256v1", "secp384r1"). */
const char *hsm_ec_group(p11s_keytype kt);
/* Build an EVP_PKEY from public components. */
P11S_MUST_CHECK int hsm_pkey_ec(p11s_keytype kt, const uint8_t *point, size_t len, EVP_PKEY **out);
P11S_MUST_CHECK int hsm_pkey_rsa(const uint8_t *n, size_t nlen, const uint8_t *e, size_t elen,
				 EVP_PKEY **out);
/* Key type and bits of an OpenSSL key; unsupported: P11S_E_KEY_TYPE. */
P11S_MUST_CHECK int hsm_pkey_type(EVP_PKEY *pk, p11s_keytype *kt, unsigned *bits);

/* Lower-case hex of an id, for messages (buf of 2*HSM_ID_MAX+1). */
const char *hsm_id_hex(const uint8_t *id, size_t len, char buf[2 * HSM_ID_MAX + 1]);

/* ---- sign.c ------------------------------------------------------------- */

/* Raw r||s to DER ECDSA-Sig-Value; *der is OPENSSL_malloc'd. */
P11S_MUST_CHECK int hsm_ecdsa_raw_to_der(const uint8_t *raw, size_t len, uint8_t **der,
					 size_t *der_len);

#endif

/*
 * One wrapper per PKCS#11 function the project calls: the only place that
 * dereferences a CK_FUNCTION_LIST.  Each wrapper
 *   - answers CKR_FUNCTION_NOT_SUPPORTED when the module left the function
 *     pointer NULL (optional functions such as C_CopyObject often are);
 *   - on failure logs the raw CK_RV with the function's name at debug level
 *     and, for a call on a token's management session, drops that session
 *     when the code says it is lost (hsm_session_check);
 *   - returns the CK_RV unchanged: call sites map it to the project's error
 *     (HSM_RV_FAIL) and decide what it means for them.
 */
#include "config.h"

#include "common/log.h"
#include "hsm/internal.h"

/* A call of `fn` on session s of t (CK_INVALID_HANDLE: none) returned rv. */
static CK_RV
returned(hsm_token *t, CK_SESSION_HANDLE s, const char *fn, CK_RV rv)
{
	char nb[32];

	if (rv == CKR_OK)
		return rv;
	log_debug("%s returned %s (0x%lx)%s", fn, hsm_rv_name(rv, nb), (unsigned long)rv,
		  rv == CKR_FUNCTION_NOT_SUPPORTED ? " (the module may not provide it)" : "");
	if (t != NULL && s != CK_INVALID_HANDLE)
		hsm_session_check(t, s, rv);
	return rv;
}

/*
 * Call f->fn with the parenthesised arguments, or answer
 * CKR_FUNCTION_NOT_SUPPORTED for a missing function; then `returned`.
 */
#define P11_CALL(t, s, f, fn, args)                                                                \
	returned((t), (s), #fn,                                                                    \
		 (f) == NULL || (f)->fn == NULL ? CKR_FUNCTION_NOT_SUPPORTED : (f)->fn args)

/* ---- module level ------------------------------------------------------- */

CK_RV
hsm_C_Initialize(CK_FUNCTION_LIST_PTR f, CK_C_INITIALIZE_ARGS *args)
{
	return P11_CALL(NULL, CK_INVALID_HANDLE, f, C_Initialize, (args));
}

CK_RV
hsm_C_Finalize(CK_FUNCTION_LIST_PTR f)
{
	return P11_CALL(NULL, CK_INVALID_HANDLE, f, C_Finalize, (NULL));
}

CK_RV
hsm_C_GetSlotList(hsm_token *t, CK_SLOT_ID *slots, CK_ULONG *n)
{
	return P11_CALL(t, CK_INVALID_HANDLE, t->f, C_GetSlotList, (CK_TRUE, slots, n));
}

CK_RV
hsm_C_GetTokenInfo(hsm_token *t, CK_SLOT_ID slot, CK_TOKEN_INFO *info)
{
	return P11_CALL(t, CK_INVALID_HANDLE, t->f, C_GetTokenInfo, (slot, info));
}

/* ---- sessions and login ------------------------------------------------- */

CK_RV
hsm_C_OpenSession(hsm_token *t, CK_SLOT_ID slot, CK_SESSION_HANDLE *s)
{
	return P11_CALL(t, CK_INVALID_HANDLE, t->f, C_OpenSession,
			(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, s));
}

CK_RV
hsm_C_CloseSession(hsm_token *t, CK_SESSION_HANDLE s)
{
	/* no session check: that is what closes a lost session */
	return P11_CALL(t, CK_INVALID_HANDLE, t->f, C_CloseSession, (s));
}

CK_RV
hsm_C_GetSessionInfo(hsm_token *t, CK_SESSION_HANDLE s, CK_SESSION_INFO *info)
{
	return P11_CALL(t, s, t->f, C_GetSessionInfo, (s, info));
}

CK_RV
hsm_C_Login(hsm_token *t, CK_SESSION_HANDLE s, const uint8_t *pin, size_t len)
{
	return P11_CALL(t, s, t->f, C_Login, (s, CKU_USER, hsm_ck_ptr(pin), (CK_ULONG)len));
}

/* ---- objects ------------------------------------------------------------ */

CK_RV
hsm_C_FindObjectsInit(hsm_token *t, CK_SESSION_HANDLE s, CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
	return P11_CALL(t, s, t->f, C_FindObjectsInit, (s, tmpl, n));
}

CK_RV
hsm_C_FindObjects(hsm_token *t, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE *h, CK_ULONG max,
		  CK_ULONG *got)
{
	return P11_CALL(t, s, t->f, C_FindObjects, (s, h, max, got));
}

CK_RV
hsm_C_FindObjectsFinal(hsm_token *t, CK_SESSION_HANDLE s)
{
	return P11_CALL(t, s, t->f, C_FindObjectsFinal, (s));
}

CK_RV
hsm_C_GetAttributeValue(hsm_token *t, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE *tmpl,
			CK_ULONG n)
{
	return P11_CALL(t, s, t->f, C_GetAttributeValue, (s, o, tmpl, n));
}

CK_RV
hsm_C_SetAttributeValue(hsm_token *t, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE *tmpl,
			CK_ULONG n)
{
	return P11_CALL(t, s, t->f, C_SetAttributeValue, (s, o, tmpl, n));
}

CK_RV
hsm_C_CreateObject(hsm_token *t, CK_SESSION_HANDLE s, CK_ATTRIBUTE *tmpl, CK_ULONG n,
		   CK_OBJECT_HANDLE *out)
{
	return P11_CALL(t, s, t->f, C_CreateObject, (s, tmpl, n, out));
}

CK_RV
hsm_C_CopyObject(hsm_token *t, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE *tmpl,
		 CK_ULONG n, CK_OBJECT_HANDLE *out)
{
	return P11_CALL(t, s, t->f, C_CopyObject, (s, o, tmpl, n, out));
}

CK_RV
hsm_C_DestroyObject(hsm_token *t, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o)
{
	return P11_CALL(t, s, t->f, C_DestroyObject, (s, o));
}

/* ---- keys and signing --------------------------------------------------- */

CK_RV
hsm_C_GenerateKeyPair(hsm_token *t, CK_SESSION_HANDLE s, CK_MECHANISM *mech, CK_ATTRIBUTE *pub,
		      CK_ULONG npub, CK_ATTRIBUTE *priv, CK_ULONG npriv, CK_OBJECT_HANDLE *hpub,
		      CK_OBJECT_HANDLE *hpriv)
{
	return P11_CALL(t, s, t->f, C_GenerateKeyPair,
			(s, mech, pub, npub, priv, npriv, hpub, hpriv));
}

CK_RV
hsm_C_SignInit(hsm_token *t, CK_SESSION_HANDLE s, CK_MECHANISM *mech, CK_OBJECT_HANDLE key)
{
	return P11_CALL(t, s, t->f, C_SignInit, (s, mech, key));
}

CK_RV
hsm_C_Sign(hsm_token *t, CK_SESSION_HANDLE s, const uint8_t *data, size_t len, uint8_t *sig,
	   CK_ULONG *siglen)
{
	return P11_CALL(t, s, t->f, C_Sign, (s, hsm_ck_ptr(data), (CK_ULONG)len, sig, siglen));
}

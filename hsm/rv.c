/* CK_RV names and the one mapping from CK_RV to the project's error space. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>

#include "common/log.h"
#include "hsm/internal.h"

/* ---- CK_RV names and the one mapping ------------------------------------ */

/* A dense table reads better than one name per line. */
/* clang-format off */
#define RV(x) { x, #x }
static const struct {
	CK_RV rv;
	const char *name;
} rv_names[] = {
	RV(CKR_OK), RV(CKR_CANCEL), RV(CKR_HOST_MEMORY), RV(CKR_SLOT_ID_INVALID),
	RV(CKR_GENERAL_ERROR), RV(CKR_FUNCTION_FAILED), RV(CKR_ARGUMENTS_BAD), RV(CKR_NO_EVENT),
	RV(CKR_NEED_TO_CREATE_THREADS), RV(CKR_CANT_LOCK), RV(CKR_ATTRIBUTE_READ_ONLY),
	RV(CKR_ATTRIBUTE_SENSITIVE), RV(CKR_ATTRIBUTE_TYPE_INVALID),
	RV(CKR_ATTRIBUTE_VALUE_INVALID), RV(CKR_ACTION_PROHIBITED), RV(CKR_DATA_INVALID),
	RV(CKR_DATA_LEN_RANGE), RV(CKR_DEVICE_ERROR), RV(CKR_DEVICE_MEMORY),
	RV(CKR_DEVICE_REMOVED), RV(CKR_ENCRYPTED_DATA_INVALID), RV(CKR_ENCRYPTED_DATA_LEN_RANGE),
	RV(CKR_FUNCTION_CANCELED), RV(CKR_FUNCTION_NOT_PARALLEL), RV(CKR_FUNCTION_NOT_SUPPORTED),
	RV(CKR_KEY_HANDLE_INVALID), RV(CKR_KEY_SIZE_RANGE), RV(CKR_KEY_TYPE_INCONSISTENT),
	RV(CKR_KEY_NOT_NEEDED), RV(CKR_KEY_CHANGED), RV(CKR_KEY_NEEDED), RV(CKR_KEY_INDIGESTIBLE),
	RV(CKR_KEY_FUNCTION_NOT_PERMITTED), RV(CKR_KEY_NOT_WRAPPABLE), RV(CKR_KEY_UNEXTRACTABLE),
	RV(CKR_MECHANISM_INVALID), RV(CKR_MECHANISM_PARAM_INVALID), RV(CKR_OBJECT_HANDLE_INVALID),
	RV(CKR_OPERATION_ACTIVE), RV(CKR_OPERATION_NOT_INITIALIZED), RV(CKR_PIN_INCORRECT),
	RV(CKR_PIN_INVALID), RV(CKR_PIN_LEN_RANGE), RV(CKR_PIN_EXPIRED), RV(CKR_PIN_LOCKED),
	RV(CKR_SESSION_CLOSED), RV(CKR_SESSION_COUNT), RV(CKR_SESSION_HANDLE_INVALID),
	RV(CKR_SESSION_PARALLEL_NOT_SUPPORTED), RV(CKR_SESSION_READ_ONLY), RV(CKR_SESSION_EXISTS),
	RV(CKR_SESSION_READ_ONLY_EXISTS), RV(CKR_SESSION_READ_WRITE_SO_EXISTS),
	RV(CKR_SIGNATURE_INVALID), RV(CKR_SIGNATURE_LEN_RANGE), RV(CKR_TEMPLATE_INCOMPLETE),
	RV(CKR_TEMPLATE_INCONSISTENT), RV(CKR_TOKEN_NOT_PRESENT), RV(CKR_TOKEN_NOT_RECOGNIZED),
	RV(CKR_TOKEN_WRITE_PROTECTED), RV(CKR_USER_ALREADY_LOGGED_IN), RV(CKR_USER_NOT_LOGGED_IN),
	RV(CKR_USER_PIN_NOT_INITIALIZED), RV(CKR_USER_TYPE_INVALID),
	RV(CKR_USER_ANOTHER_ALREADY_LOGGED_IN), RV(CKR_USER_TOO_MANY_TYPES),
	RV(CKR_DOMAIN_PARAMS_INVALID), RV(CKR_CURVE_NOT_SUPPORTED), RV(CKR_BUFFER_TOO_SMALL),
	RV(CKR_SAVED_STATE_INVALID), RV(CKR_INFORMATION_SENSITIVE), RV(CKR_STATE_UNSAVEABLE),
	RV(CKR_CRYPTOKI_NOT_INITIALIZED), RV(CKR_CRYPTOKI_ALREADY_INITIALIZED), RV(CKR_MUTEX_BAD),
	RV(CKR_MUTEX_NOT_LOCKED), RV(CKR_FUNCTION_REJECTED),
};
#undef RV
/* clang-format on */

const char *
hsm_rv_name(CK_RV rv, char buf[32])
{
	for (size_t i = 0; i < sizeof(rv_names) / sizeof(rv_names[0]); i++)
		if (rv_names[i].rv == rv)
			return rv_names[i].name;
	snprintf(buf, 32, "CKR_0x%08lx", (unsigned long)rv);
	return buf;
}

int
hsm_rv_session_lost(CK_RV rv)
{
	switch (rv) {
	case CKR_SESSION_HANDLE_INVALID:
	case CKR_SESSION_CLOSED:
	case CKR_USER_NOT_LOGGED_IN:
	case CKR_OBJECT_HANDLE_INVALID:
	case CKR_KEY_HANDLE_INVALID:
	case CKR_DEVICE_REMOVED:
	case CKR_DEVICE_ERROR:
	case CKR_TOKEN_NOT_PRESENT:
		return 1;
	default:
		return 0;
	}
}

static int
rv_to_err(CK_RV rv)
{
	if (hsm_rv_session_lost(rv))
		return P11S_E_SESSION;
	switch (rv) {
	case CKR_HOST_MEMORY:
		return P11S_E_NOMEM;
	case CKR_PIN_INCORRECT:
		return P11S_E_PIN_INCORRECT;
	case CKR_PIN_LOCKED:
		return P11S_E_PIN_LOCKED;
	case CKR_MECHANISM_INVALID:
	case CKR_MECHANISM_PARAM_INVALID:
		return P11S_E_MECHANISM;
	case CKR_KEY_TYPE_INCONSISTENT:
	case CKR_KEY_FUNCTION_NOT_PERMITTED:
	case CKR_KEY_SIZE_RANGE:
	case CKR_CURVE_NOT_SUPPORTED:
		return P11S_E_KEY_TYPE;
	default:
		return P11S_E_HSM;
	}
}

int
hsm_rv_fail(CK_RV rv, const char *call, const char *func, int line, const char *fmt, ...)
{
	char what[512], nb[32], hint[128] = "";
	const char *name = hsm_rv_name(rv, nb);
	int err = rv_to_err(rv);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (rv == CKR_FUNCTION_NOT_SUPPORTED)
		snprintf(hint, sizeof(hint),
			 " (the PKCS#11 module does not provide %s: use a module that does)", call);
	p11s_log(err == P11S_E_SESSION ? LOG_WARNING : LOG_ERR, func, line, "%s: %s returned %s%s",
		 what, call, name, hint);
	return p11s_fail(err, "%s: %s returned %s%s", what, call, name, hint);
}

/* Failures at C_Initialize that STACK-NOTES shows to be transient. */
int
hsm_rv_transient_start(CK_RV rv)
{
	return rv == CKR_GENERAL_ERROR || rv == CKR_TOKEN_NOT_RECOGNIZED || rv == CKR_DEVICE_ERROR;
}

#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/error.h"
#include "common/text.h"

static _Thread_local char last_msg[1024];
static _Thread_local int last_err;

const char *
p11s_strerror(int err)
{
	switch (err) {
	case P11S_OK:
		return "success";
	case P11S_E_INTERNAL:
		return "internal error";
	case P11S_E_NOMEM:
		return "out of memory";
	case P11S_E_INVAL:
		return "invalid input";
	case P11S_E_NOTFOUND:
		return "not found";
	case P11S_E_AMBIGUOUS:
		return "ambiguous";
	case P11S_E_EXISTS:
		return "already exists";
	case P11S_E_IO:
		return "I/O error";
	case P11S_E_CRYPTO:
		return "cryptographic operation failed";
	case P11S_E_CONFIG:
		return "configuration refused";
	case P11S_E_PIN_SOURCE:
		return "PIN source unreadable";
	case P11S_E_MODULE:
		return "PKCS#11 module could not be loaded";
	case P11S_E_TOKEN_NOT_FOUND:
		return "token not found";
	case P11S_E_PIN_INCORRECT:
		return "the token refused the PIN";
	case P11S_E_PIN_LOCKED:
		return "the token's PIN is locked";
	case P11S_E_HSM:
		return "token error";
	case P11S_E_SESSION:
		return "token session lost";
	case P11S_E_KEY_MISMATCH:
		return "certificate does not match the private key";
	case P11S_E_KEY_TYPE:
		return "key type does not fit the algorithm";
	case P11S_E_MECHANISM:
		return "mechanism not supported by the token";
	case P11S_E_LOCK:
		return "token lock file unusable";
	case P11S_E_STATE:
		return "state on the token unreadable";
	case P11S_E_CONFLICT:
		return "concurrent update conflict";
	case P11S_E_POLICY:
		return "refused by policy";
	case P11S_E_BADTOKEN:
		return "invalid token";
	case P11S_E_STATE_FORMAT:
		return "state written by a newer p11-signer";
	case P11S_E_JOURNAL:
		return "the audit journal cannot be written";
	default:
		return "unknown error";
	}
}

p11s_err_class
p11s_err_classify(int err)
{
	switch (err) {
	case P11S_OK:
		return P11S_CLASS_OK;
	case P11S_E_INVAL:
	case P11S_E_NOTFOUND:
	case P11S_E_AMBIGUOUS:
	case P11S_E_IO:
	case P11S_E_CONFIG:
	case P11S_E_PIN_SOURCE:
		return P11S_CLASS_USAGE;
	case P11S_E_EXISTS:
	case P11S_E_KEY_MISMATCH:
	case P11S_E_KEY_TYPE:
	case P11S_E_POLICY:
	case P11S_E_BADTOKEN:
		return P11S_CLASS_REFUSED;
	case P11S_E_MODULE:
	case P11S_E_TOKEN_NOT_FOUND:
	case P11S_E_HSM:
	case P11S_E_SESSION:
	case P11S_E_LOCK:
		return P11S_CLASS_TOKEN_TRANSIENT;
	case P11S_E_PIN_INCORRECT:
	case P11S_E_PIN_LOCKED:
	case P11S_E_MECHANISM:
		return P11S_CLASS_TOKEN_FATAL;
	case P11S_E_STATE:
	case P11S_E_CONFLICT:
	case P11S_E_STATE_FORMAT:
	case P11S_E_JOURNAL:
		return P11S_CLASS_STATE;
	case P11S_E_INTERNAL:
	case P11S_E_NOMEM:
	case P11S_E_CRYPTO:
	default:
		return P11S_CLASS_INTERNAL;
	}
}

const char *
p11s_err_class_name(p11s_err_class c)
{
	switch (c) {
	case P11S_CLASS_OK:
		return "ok";
	case P11S_CLASS_USAGE:
		return "usage";
	case P11S_CLASS_REFUSED:
		return "refused";
	case P11S_CLASS_TOKEN_TRANSIENT:
		return "token_transient";
	case P11S_CLASS_TOKEN_FATAL:
		return "token_fatal";
	case P11S_CLASS_STATE:
		return "state";
	case P11S_CLASS_INTERNAL:
	default:
		return "internal";
	}
}

int
p11s_fail(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_msg, sizeof(last_msg), fmt, ap);
	va_end(ap);
	/* A message may quote outside input or be cut: keep it valid UTF-8. */
	p11s_text_fix(last_msg);
	last_err = err;
	return err;
}

const char *
p11s_errmsg(int err)
{
	if (last_msg[0] != '\0' && last_err == err)
		return last_msg;
	return p11s_strerror(err);
}

void
p11s_err_clear(void)
{
	last_msg[0] = '\0';
	last_err = 0;
}

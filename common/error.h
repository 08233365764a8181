/* One error space for p11-signer: negative values, 0 is success. */
#ifndef P11S_COMMON_ERROR_H
#define P11S_COMMON_ERROR_H

#define P11S_MUST_CHECK __attribute__((warn_unused_result))

enum p11s_err {
	P11S_OK = 0,
	P11S_E_INTERNAL = -1, /* a bug or an unexpected library failure */
	P11S_E_NOMEM = -2,
	P11S_E_INVAL = -3,	 /* malformed input (usage-level) */
	P11S_E_NOTFOUND = -4,	 /* no such key, type, object */
	P11S_E_AMBIGUOUS = -5,	 /* a prefix or label names several objects */
	P11S_E_EXISTS = -6,	 /* would create a duplicate */
	P11S_E_IO = -7,		 /* file or socket I/O */
	P11S_E_CRYPTO = -8,	 /* OpenSSL failure (queue drained and logged) */
	P11S_E_CONFIG = -9,	 /* configuration file refused */
	P11S_E_PIN_SOURCE = -10, /* PIN source unreadable or malformed */

	P11S_E_MODULE = -20, /* PKCS#11 module could not be loaded/initialised */
	P11S_E_TOKEN_NOT_FOUND = -21,
	P11S_E_PIN_INCORRECT = -22, /* never retried automatically */
	P11S_E_PIN_LOCKED = -23,    /* never retried automatically */
	P11S_E_HSM = -24,	    /* any other token/device failure */
	P11S_E_SESSION = -25,	    /* session lost and not recovered in time */
	P11S_E_KEY_MISMATCH = -26,  /* certificate and private key differ */
	P11S_E_KEY_TYPE = -27,	    /* key type does not fit the algorithm */
	P11S_E_MECHANISM = -28,	    /* token lacks a mechanism */
	P11S_E_LOCK = -29,	    /* host lock file */

	P11S_E_STATE = -40,    /* state on the token unreadable / unsupported */
	P11S_E_CONFLICT = -41, /* concurrent write conflict (retry) */
	P11S_E_POLICY = -42,   /* refused by the rollover policy */
	P11S_E_BADTOKEN = -43, /* a JWT failed verification */

	/* state written by a newer release (format number above ours): upgrade */
	P11S_E_STATE_FORMAT = -44,
	/* the audit journal cannot be written: the change is refused */
	P11S_E_JOURNAL = -45,
};

/* Static description of an error code. */
const char *p11s_strerror(int err);

/*
 * Record a detailed, human-readable reason for the error `err` (printf-style)
 * in a thread-local buffer and return `err`.  The reason must never contain a
 * PIN, passphrase or key material.
 */
int p11s_fail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The last reason recorded by p11s_fail() in this thread, or strerror(err). */
const char *p11s_errmsg(int err);

/* Forget the recorded reason. */
void p11s_err_clear(void);

#endif

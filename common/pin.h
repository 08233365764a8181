/*
 * Secret sources for PINs and passphrases: "file:PATH", "env:NAME", "fd:N",
 * "credential:NAME" (systemd: $CREDENTIALS_DIRECTORY/NAME) or "prompt".  Never the secret itself.
 * Secrets live in locked memory and are wiped with OPENSSL_cleanse by p11s_secret_free().
 */
#ifndef P11S_COMMON_PIN_H
#define P11S_COMMON_PIN_H

#include <stddef.h>

#include "common/error.h"

#define P11S_SECRET_MAX 256

typedef struct p11s_secret {
	char *buf;  /* NUL-terminated, locked memory of P11S_SECRET_MAX + 1 bytes */
	size_t len; /* bytes of secret, without the NUL */
} p11s_secret;

/* Syntax check only; the message names the accepted forms. */
P11S_MUST_CHECK int p11s_secret_source_check(const char *source);
/* 1 when the source can be read again later (file:, env:, credential:), else 0. */
int p11s_secret_source_rereadable(const char *source);
/*
 * Read the secret.  One trailing "\n" or "\r\n" is dropped; an empty secret is
 * refused.  `what` ("PIN", "passphrase") names it in prompts and messages.
 * *out must be released with p11s_secret_free().
 */
P11S_MUST_CHECK int p11s_secret_read(const char *source, const char *what, p11s_secret **out);
void p11s_secret_free(p11s_secret *s);

#endif

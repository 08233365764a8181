/* Small helpers: hex, base64url, digests, secure memory, files, time. */
#ifndef P11S_COMMON_UTIL_H
#define P11S_COMMON_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

typedef int64_t p11s_time; /* seconds since the epoch, UTC */

/* Lower-case hex of len bytes into out (2*len+1 bytes). */
void p11s_hex(const uint8_t *in, size_t len, char *out);
/* Strict hex decode (even length, [0-9a-fA-F]); returns bytes written or -1. */
P11S_MUST_CHECK int p11s_unhex(const char *in, uint8_t *out, size_t outmax);

/* base64url without padding (RFC 7515 §2).  *out is malloc'd and NUL-terminated. */
P11S_MUST_CHECK int p11s_b64url_encode(const uint8_t *in, size_t len, char **out);
/*
 * Strict decode: alphabet [A-Za-z0-9_-] only, no padding, no whitespace, and the
 * encoding must be canonical (unused trailing bits zero, length mod 4 != 1).
 * *out is malloc'd (NUL-terminated for convenience), *outlen its length.
 */
P11S_MUST_CHECK int p11s_b64url_decode(const char *in, size_t len, uint8_t **out, size_t *outlen);

/* SHA-1 (40 hex) and SHA-256 (64 hex) thumbprints of DER bytes. */
P11S_MUST_CHECK int p11s_sha1_hex(const uint8_t *der, size_t len, char out[41]);
P11S_MUST_CHECK int p11s_sha256_hex(const uint8_t *der, size_t len, char out[65]);

/* Memory for secrets: locked (best effort), wiped with OPENSSL_cleanse on free. */
void *p11s_secure_alloc(size_t len);
void p11s_secure_free(void *p, size_t len);

/*
 * Read a whole file of at most max bytes; *out is malloc'd with a trailing
 * NUL.  The bytes land in one buffer that is never grown or copied (sized
 * from fstat for a regular file, max for a pipe), wiped before it is freed
 * on a failure; the caller wipes it after use when it holds a secret.  A
 * file larger than max, or one that grows while it is read, is refused
 * (P11S_E_IO).
 */
P11S_MUST_CHECK int p11s_read_file(const char *path, size_t max, uint8_t **out, size_t *len);

/* Current UTC time in seconds. */
p11s_time p11s_now(void);
/* "2012-07-22T14:00:00Z" into out (>= 21 bytes). */
void p11s_fmt_utc(p11s_time t, char *out, size_t outlen);
/* Same instant in the local zone (TZ), RFC 3339 with numeric offset. */
void p11s_fmt_local(p11s_time t, char *out, size_t outlen);

/* strdup that reports P11S_E_NOMEM through p11s_fail. */
P11S_MUST_CHECK int p11s_strdup(const char *s, char **out);

#endif

/* Helpers shared by the SoftHSM2-backed hsm/ tests (plain OpenSSL, no hsm internals). */
#ifndef P11S_TESTS_HSMTEST_H
#define P11S_TESTS_HSMTEST_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "hsm/hsm.h"
#include "tests/lib/testtoken.h"

/* hsm_open on the test token with its PIN and lock file; fails the test otherwise. */
hsm_token *ht_open(const struct test_token *tt);
/* Verify a JWS signature (EC: raw r||s) over msg with plain OpenSSL: 1 good, 0 bad. */
int ht_verify(EVP_PKEY *pk, p11s_alg alg, const uint8_t *msg, size_t len, const uint8_t *sig,
	      size_t siglen);
/* Sign msg with the key `id` on the token and verify with its public key. */
void ht_sign_verify(hsm_token *t, const uint8_t *id, size_t id_len, p11s_alg alg, int session_copy);
/* An in-memory EC P-256 CA. */
void ht_ca_new(EVP_PKEY **key, X509 **cert);
/* A certificate for `pub` with subject CN=cn, issued by the CA. */
X509 *ht_issue(EVP_PKEY *ca_key, X509 *ca_cert, EVP_PKEY *pub, const char *cn);
/* Same, valid for `seconds` from now. */
X509 *ht_issue_valid(EVP_PKEY *ca_key, X509 *ca_cert, EVP_PKEY *pub, const char *cn, long seconds);
/* Objects on the token: private + public + certificate objects over all keys. */
size_t ht_count_objects(hsm_token *t);
/* Lines of the file at path that start with prefix (0 without the file). */
int ht_count_lines(const char *path, const char *prefix);
/* Assert that r is err and the message contains needle. */
void ht_expect(int r, int err, const char *needle);

#endif

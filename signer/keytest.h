/*
 * The test signature of rule 3b (SPEC §3), one implementation for the CLI
 * (before staging, assigning or approving) and signerd (before E).
 */
#ifndef P11S_SIGNER_KEYTEST_H
#define P11S_SIGNER_KEYTEST_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "common/alg.h"
#include "common/error.h"
#include "hsm/hsm.h"

/*
 * Sign a test JWT on the token with the private key `id` under `alg` (the
 * algorithm of the type the key is for, so PS256 exercises the token's PSS
 * mechanism), in a signing session of its own, and verify it with `pub`,
 * the certificate's public key (sha1/sha256: the certificate thumbprints, hex).
 * Returns 0 when it verifies.  Otherwise the error of the token (e.g.
 * P11S_E_MECHANISM when it refuses the algorithm's mechanism) or
 * P11S_E_KEY_MISMATCH when the signature does not verify with the
 * certificate, with a message naming the key, the algorithm and its
 * mechanism.
 */
P11S_MUST_CHECK int signer_test_signature(hsm_token *t, const uint8_t *id, size_t id_len,
					  p11s_alg alg, EVP_PKEY *pub, const char *sha1,
					  const char *sha256);

#endif

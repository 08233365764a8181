/*
 * Parsers of the key files operators and custodians hand to `signer`
 * (import, approve): a certificate (PEM or DER), a PEM private key
 * (encrypted or not) and a PKCS#12 bundle, from bytes already in memory.
 * `what` names the input in messages (the file's path).  The passphrase is
 * read from pass_source (file:, env:, fd:, prompt; NULL = none) only when
 * the input is encrypted.  The caller reads and wipes the bytes.
 */
#ifndef P11S_SIGNER_KEYFILE_H
#define P11S_SIGNER_KEYFILE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "common/error.h"

/* An X.509 certificate, PEM or DER; else P11S_E_INVAL. */
P11S_MUST_CHECK int keyfile_cert_parse(const uint8_t *buf, size_t len, const char *what,
				       X509 **out);
/* A PEM private key; P11S_E_INVAL, or P11S_E_PIN_SOURCE when it is
 * encrypted and no passphrase could be read. */
P11S_MUST_CHECK int keyfile_key_parse(const uint8_t *buf, size_t len, const char *what,
				      const char *pass_source, EVP_PKEY **out);
/* A PKCS#12 file holding one private key and its certificate; both or
 * neither are set. */
P11S_MUST_CHECK int keyfile_pkcs12_parse(const uint8_t *buf, size_t len, const char *what,
					 const char *pass_source, EVP_PKEY **key, X509 **cert);

#endif

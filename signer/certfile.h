/* Certificate files given by operators: one reader for the CLI and the core. */
#ifndef P11S_SIGNER_CERTFILE_H
#define P11S_SIGNER_CERTFILE_H

#include <openssl/x509.h>

#include "common/error.h"

/* The largest certificate file read. */
#define SIGNER_CERT_FILE_MAX (1u << 20)

/*
 * Read an X.509 certificate, PEM or DER, from the file `path` into *out
 * (the caller frees it with X509_free). Errors: p11s_read_file()'s for a file
 * that cannot be read or is larger than SIGNER_CERT_FILE_MAX;
 * keyfile_cert_parse()'s (P11S_E_INVAL, naming the path) for bytes that are
 * not a certificate.
 */
P11S_MUST_CHECK int signer_cert_file_load(const char *path, X509 **out);

#endif

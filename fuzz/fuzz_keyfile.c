/*
 * Fuzz target: key files given to `signer import` and `signer approve`
 * (signer/keyfile.c): certificates (PEM or DER), PEM private keys and
 * PKCS#12 bundles, parsed from memory as after reading the file.
 *
 * Input: a control byte, then the file.  Control byte mod 3: 0 certificate,
 * 1 PEM private key, 2 PKCS#12.  The passphrase source is env:P11S_FUZZ_PASS
 * = "fuzz" (the passphrase of the encrypted seeds) when bit 2 is set, else
 * none.
 *
 * Oracle besides no crash: a refusal leaves the out-params empty with a
 * documented error and a message; an accepted PKCS#12 has both a key and a
 * certificate; an accepted key or certificate is set.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "common/log.h"
#include "fuzz/fuzz.h"
#include "signer/keyfile.h"

#define PASS_SOURCE "env:P11S_FUZZ_PASS"

static void
check_refusal(int r, int has_out)
{
	if (has_out || (r != P11S_E_INVAL && r != P11S_E_PIN_SOURCE && r != P11S_E_NOMEM) ||
	    strlen(p11s_errmsg(r)) == 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	const char *pass;
	int r;

	p11s_log_set_level(LOG_CRIT);
	if (size < 1)
		return 0;
	setenv("P11S_FUZZ_PASS", "fuzz", 1);
	pass = (data[0] & 4) ? PASS_SOURCE : NULL;
	switch (data[0] % 3) {
	case 0:
		r = keyfile_cert_parse(data + 1, size - 1, "cert", &cert);
		if (r != 0)
			check_refusal(r, cert != NULL);
		else if (cert == NULL)
			abort();
		break;
	case 1:
		r = keyfile_key_parse(data + 1, size - 1, "key", pass, &key);
		if (r != 0)
			check_refusal(r, key != NULL);
		else if (key == NULL)
			abort();
		break;
	default:
		r = keyfile_pkcs12_parse(data + 1, size - 1, "p12", pass, &key, &cert);
		if (r != 0)
			check_refusal(r, key != NULL || cert != NULL);
		else if (key == NULL || cert == NULL)
			abort();
		break;
	}
	EVP_PKEY_free(key);
	X509_free(cert);
	ERR_clear_error();
	return 0;
}

/*
 * Fuzz target: certificate request subjects (hsm_dn_parse, the parser of
 * `signer csr --subject`).  Input: the subject text.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "common/log.h"
#include "fuzz/fuzz.h"
#include "hsm/hsm.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	X509_NAME *n = NULL;
	unsigned char *der = NULL;
	char *s;
	int r;

	p11s_log_set_level(LOG_CRIT);
	if ((s = fuzz_strndup(data, size)) == NULL)
		return 0;
	r = hsm_dn_parse(s, &n);
	if (r == 0) {
		/* accepted: at most DN_MAX (1024) bytes of text, at least one
		 * entry, and a name that encodes (what the CSR carries) */
		if (n == NULL || strlen(s) > 1024 || X509_NAME_entry_count(n) < 1 ||
		    i2d_X509_NAME(n, &der) <= 0)
			abort();
	} else if (n != NULL || (r != P11S_E_INVAL && r != P11S_E_NOMEM) ||
		   strlen(p11s_errmsg(r)) == 0) {
		abort();
	}
	OPENSSL_free(der);
	X509_NAME_free(n);
	ERR_clear_error();
	free(s);
	return 0;
}

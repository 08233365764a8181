/*
 * Fuzz target: PKCS#11 token URIs (hsm_uri_parse), from signer.conf, the
 * command line and the environment.  Input: the URI text.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "common/log.h"
#include "fuzz/fuzz.h"
#include "hsm/hsm.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	hsm_uri *u = NULL;
	char *s;
	int r;

	p11s_log_set_level(LOG_CRIT);
	if ((s = fuzz_strndup(data, size)) == NULL)
		return 0;
	r = hsm_uri_parse(s, &u);
	if (r == 0) {
		/* What the token finder reads: strings are non-empty, id fits. */
		if ((u->token != NULL && u->token[0] == '\0') ||
		    (u->serial != NULL && u->serial[0] == '\0') ||
		    (u->object != NULL && u->object[0] == '\0') ||
		    (u->module_path != NULL && u->module_path[0] == '\0') || u->id_len > HSM_ID_MAX)
			abort();
	} else if (u != NULL || (r != P11S_E_INVAL && r != P11S_E_NOMEM) ||
		   strlen(p11s_errmsg(r)) == 0) {
		abort();
	}
	hsm_uri_free(u);
	free(s);
	return 0;
}

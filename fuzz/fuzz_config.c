/*
 * Fuzz target: signer.conf text (signer_conf_parse), the operator's file
 * and the first thing signerd and signer read.  Input: the file's bytes.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "common/log.h"
#include "fuzz/fuzz.h"
#include "signer/conf.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	signer_conf *conf = NULL;
	char *text;
	int r;

	p11s_log_set_level(LOG_CRIT); /* refusals are the expected outcome */
	if ((text = fuzz_strndup(data, size)) == NULL)
		return 0;
	r = signer_conf_parse("fuzz.conf", text, &conf);
	if (r == 0) {
		/* Touch what callers use first; type names are unique. */
		for (size_t i = 0; i < conf->policy.n_types; i++)
			if (signer_conf_type_index(conf, conf->policy.types[i].name) != (int)i)
				abort();
		for (size_t i = 0; i < conf->n_listen; i++)
			(void)strlen(conf->listen[i]);
	} else if (conf != NULL || (r != P11S_E_CONFIG && r != P11S_E_NOMEM) ||
		   strlen(p11s_errmsg(r)) == 0) {
		abort(); /* a refusal is P11S_E_CONFIG, sets nothing and says why */
	}
	signer_conf_free(conf);
	free(text);
	return 0;
}

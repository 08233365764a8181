/*
 * Fuzz target: member records on the token (member_parse, what
 * member_list, `signer status` and every signerd's predecessor sweep read
 * from data objects any process logged in to the token may write).  Input:
 * the record's value.
 *
 * Oracle besides no crash: a refusal is P11S_E_STATE with a message; an
 * accepted record has NUL-terminated fields, can be written back
 * (member_to_text) and reads back to the same record.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "common/log.h"
#include "fuzz/fuzz.h"
#include "signer/state.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	member_record m, again;
	char *text = NULL;
	int r;

	p11s_log_set_level(LOG_CRIT);
	r = member_parse(data, size, &m);
	if (r != 0) {
		if (r != P11S_E_STATE || strlen(p11s_errmsg(r)) == 0)
			abort();
		return 0;
	}
	if (memchr(m.id, '\0', sizeof(m.id)) == NULL ||
	    memchr(m.host, '\0', sizeof(m.host)) == NULL ||
	    memchr(m.boot_id, '\0', sizeof(m.boot_id)) == NULL)
		abort();
	/* what a member writes, any reader reads back as it was */
	if (member_to_text(&m, &text) != 0 ||
	    member_parse((const uint8_t *)text, strlen(text), &again) != 0 ||
	    memcmp(&m, &again, sizeof(m)) != 0)
		abort();
	free(text);
	return 0;
}

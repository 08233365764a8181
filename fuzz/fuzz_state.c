/*
 * Fuzz target: the rollover state record (state_from_json), read from data
 * objects on a token that other hosts (or an attacker with the user PIN) can
 * write.  Input: one control byte, then the record.  Control byte odd: the
 * target appends "\n" and the SHA-256 of the rest itself, so the JSON
 * reader is reached; even: the rest goes in as it is (digest line checks).
 * Every record that loads must survive a write-and-read round trip
 * unchanged; every refusal must be P11S_E_STATE, the code on which
 * state_load skips a bad record instead of failing, or P11S_E_STATE_FORMAT
 * (a whole record of a newer release, which stops state_load).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "common/log.h"
#include "common/util.h"
#include "fuzz/fuzz.h"
#include "signer/state.h"

/* state_to_json(st), read back, written again: both texts must be equal. */
static void
round_trip(const signer_state *st)
{
	signer_state *again = NULL;
	char *t1 = NULL, *t2 = NULL;
	size_t l1 = 0, l2 = 0;

	if (state_to_json(st, &t1, &l1) != 0 || state_from_json(t1, l1, &again) != 0 ||
	    state_to_json(again, &t2, &l2) != 0 || l1 != l2 || memcmp(t1, t2, l1) != 0)
		abort();
	state_free(again);
	free(t1);
	free(t2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	signer_state *st = NULL;
	char *rec = NULL, digest[65];
	size_t len, total;
	int r;

	p11s_log_set_level(LOG_CRIT);
	if (size == 0)
		return 0;
	len = size - 1;
	total = (data[0] & 1) ? len + 1 + 64 : len;
	/* Exact size, no terminator: the reader must honour the length alone,
	 * and ASan sees any read beyond it. */
	if ((rec = malloc(total > 0 ? total : 1)) == NULL)
		return 0;
	if (len > 0)
		memcpy(rec, data + 1, len);
	if (data[0] & 1) {
		if (p11s_sha256_hex(data + 1, len, digest) != 0)
			abort();
		rec[len] = '\n';
		memcpy(rec + len + 1, digest, 64);
	}
	r = state_from_json(rec, total, &st);
	if (r == 0) {
		if (st->proposals == NULL || !json_is_array(st->proposals) || st->history == NULL ||
		    !json_is_array(st->history))
			abort();
		round_trip(st);
	} else if (st != NULL ||
		   (r != P11S_E_STATE && r != P11S_E_STATE_FORMAT && r != P11S_E_NOMEM) ||
		   strlen(p11s_errmsg(r)) == 0) {
		/* state_load skips a record only on P11S_E_STATE; a newer
		 * format (P11S_E_STATE_FORMAT) stops it. */
		abort();
	}
	state_free(st);
	free(rec);
	return 0;
}

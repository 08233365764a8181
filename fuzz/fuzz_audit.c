/*
 * Fuzz target: audit journal lines (audit_check_line, what `signer audit
 * verify` runs on every line of a journal someone may have edited).
 *
 * Input: a control byte, then lines separated by '\n', checked in order as
 * lines 1, 2, ... of one chain (the first chains to 64 zeros) until one is
 * refused.  Control bit 0 set: before checking, the target rewrites each
 * line that is a JSON object so that its "seq", "prev" and "hash" are right
 * (canonical form, as audit.c writes it), so the fuzzer also reaches the
 * checks behind the hash.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <jansson.h>

#include "common/log.h"
#include "common/util.h"
#include "fuzz/fuzz.h"
#include "signer/audit.h"

#define CANON (JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII)

/* The line with seq, prev and hash set as a writer would; NULL if the line
 * is not a JSON object (then it is checked as it is). */
static char *
fix_line(const char *line, size_t len, size_t n, const char prev[65])
{
	json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
	char *text = NULL, hash[65];

	if (!json_is_object(o))
		goto out;
	json_object_set_new(o, "seq", json_integer((json_int_t)n));
	json_object_set_new(o, "prev", json_string(prev));
	json_object_del(o, "hash");
	if ((text = json_dumps(o, CANON)) == NULL ||
	    p11s_sha256_hex((const uint8_t *)text, strlen(text), hash) != 0)
		goto out;
	free(text);
	json_object_set_new(o, "hash", json_string(hash));
	text = json_dumps(o, CANON);
out:
	json_decref(o);
	return text;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char prev[65], before[65], why[400];
	size_t n = 1, pos = 1;
	int fix;

	p11s_log_set_level(LOG_CRIT);
	if (size < 1)
		return 0;
	fix = data[0] & 1;
	memset(prev, '0', 64);
	prev[64] = '\0';
	while (pos <= size) {
		const uint8_t *nl = pos < size ? memchr(data + pos, '\n', size - pos) : NULL;
		size_t end = nl != NULL ? (size_t)(nl - data) : size;
		char *fixed = NULL;
		const char *line;
		size_t len;
		int bad;

		if (fix &&
		    (fixed = fix_line((const char *)data + pos, end - pos, n, prev)) != NULL) {
			line = fixed;
			len = strlen(fixed);
		} else {
			line = (const char *)data + pos;
			len = end - pos;
		}
		memcpy(before, prev, sizeof(prev));
		why[0] = '\0';
		bad = audit_check_line(line, len, n, prev, why, sizeof(why));
		if (bad) {
			/* refused: a reason, and the chain is where it was */
			if (why[0] == '\0' || memchr(why, '\0', sizeof(why)) == NULL ||
			    memcmp(before, prev, sizeof(prev)) != 0)
				abort();
		} else {
			/* intact: prev moved to this line's hash (64 hex digits) */
			if (strlen(prev) != 64 || strspn(prev, "0123456789abcdef") != 64)
				abort();
			/* and the same line is refused out of place */
			if (!audit_check_line(line, len, n + 1, before, why, sizeof(why)))
				abort();
		}
		free(fixed);
		if (bad || nl == NULL)
			break;
		pos = end + 1;
		n++;
	}
	return 0;
}

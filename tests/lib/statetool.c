/*
 * statetool — drives the state store on a real token for the concurrency and
 * crash tests.  Each increment is one read-modify-write: version + 1 and a
 * history event {"action":"test-increment","n":<new version>}, so a loaded
 * state is consistent iff its last event's n equals its version.
 *
 *   statetool URI PIN_SOURCE LOCK_FILE incr N
 *   statetool URI PIN_SOURCE LOCK_FILE hammer      (prints "ready" once logged in,
 *                                                   then increments until killed)
 *   statetool URI PIN_SOURCE LOCK_FILE get         (prints "VERSION N")
 *   statetool URI PIN_SOURCE LOCK_FILE put-raw VERSION FORMAT [VALUE]
 *                                   (a whole record, valid digest, in any format
 *                                    number: what another release would write;
 *                                    VALUE: the JSON of its "version" member)
 *   statetool URI PIN_SOURCE LOCK_FILE labels      (the state records' labels)
 *   statetool URI PIN_SOURCE LOCK_FILE destroy LABEL
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "signer/state.h"

static int
incr(signer_state *st, void *arg)
{
	(void)arg;
	return state_log(st, p11s_now(), "test-increment",
			 json_pack("{s:I}", "n", (json_int_t)(st->version + 1)));
}

static int
put_raw(hsm_token *t, const char *version, const char *format, const char *value)
{
	char body[256], text[400], label[64];
	size_t blen;
	int r;

	snprintf(body, sizeof(body),
		 "{\"format\":%s,\"version\":%s,\"written_at\":%lld,\"keys\":[],"
		 "\"types\":[],\"from\":\"statetool\"}",
		 format, value != NULL ? value : version, (long long)p11s_now());
	blen = strlen(body);
	memcpy(text, body, blen);
	text[blen] = '\n';
	if ((r = p11s_sha256_hex((const uint8_t *)body, blen, text + blen + 1)) != 0)
		return r;
	snprintf(label, sizeof(label), "v%020llu.%016x", strtoull(version, NULL, 10), 1u);
	if ((r = hsm_lock(t)) != 0)
		return r;
	r = hsm_data_create(t, STATE_APPLICATION, label, (const uint8_t *)text, blen + 65);
	hsm_unlock(t);
	return r;
}

static int
labels(hsm_token *t)
{
	char **l = NULL;
	size_t n = 0;
	int r;

	if ((r = hsm_lock(t)) != 0)
		return r;
	if ((r = hsm_data_labels(t, STATE_APPLICATION, &l, &n)) == 0)
		for (size_t i = 0; i < n; i++)
			printf("%s\n", l[i]);
	hsm_unlock(t);
	hsm_data_labels_free(l, n);
	return r;
}

int
main(int argc, char **argv)
{
	hsm_open_params p;
	hsm_token *t = NULL;
	signer_state *st = NULL;
	int r = 0;

	p11s_log_init("statetool", 0, LOG_ERR);
	if (argc < 5) {
		fprintf(stderr,
			"usage: statetool URI PIN_SOURCE LOCK_FILE "
			"incr N|hammer|get|put-raw VERSION FORMAT [VALUE]|labels|destroy L\n");
		return 2;
	}
	memset(&p, 0, sizeof(p));
	p.uri = argv[1];
	p.pin_source = argv[2];
	p.lock_file = argv[3];
	if ((r = hsm_open(&p, &t)) != 0) {
		fprintf(stderr, "statetool: %s\n", p11s_errmsg(r));
		return 3;
	}
	if (strcmp(argv[4], "incr") == 0 && argc == 6) {
		long n = strtol(argv[5], NULL, 10);

		for (long i = 0; i < n && r == 0; i++)
			r = state_update(t, incr, NULL, NULL);
	} else if (strcmp(argv[4], "hammer") == 0) {
		printf("ready\n"); /* logged in: the test kills only during state writes */
		fflush(stdout);
		while ((r = state_update(t, incr, NULL, NULL)) == 0)
			;
	} else if (strcmp(argv[4], "get") == 0) {
		if ((r = state_load(t, &st)) == 0) {
			size_t h = json_array_size(st->history);
			json_t *last = h > 0 ? json_array_get(st->history, h - 1) : NULL;
			json_int_t n =
			    last != NULL ? json_integer_value(json_object_get(last, "n")) : 0;

			printf("%llu %lld\n", (unsigned long long)st->version, (long long)n);
		}
	} else if (strcmp(argv[4], "put-raw") == 0 && (argc == 7 || argc == 8)) {
		r = put_raw(t, argv[5], argv[6], argc == 8 ? argv[7] : NULL);
	} else if (strcmp(argv[4], "labels") == 0) {
		r = labels(t);
	} else if (strcmp(argv[4], "destroy") == 0 && argc == 6) {
		size_t gone = 0;

		if ((r = hsm_lock(t)) == 0) {
			r = hsm_data_destroy(t, STATE_APPLICATION, argv[5], &gone);
			hsm_unlock(t);
		}
		if (r == 0 && gone != 1)
			r = p11s_fail(P11S_E_NOTFOUND, "no state record %s", argv[5]);
	} else {
		fprintf(stderr, "statetool: unknown command\n");
		r = P11S_E_INVAL;
	}
	if (r != 0)
		fprintf(stderr, "statetool: %s\n", p11s_errmsg(r));
	state_free(st);
	hsm_close(t);
	return r == 0 ? 0 : 1;
}

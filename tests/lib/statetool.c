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
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "signer/state.h"

static int
incr(signer_state *st, void *arg)
{
	(void)arg;
	return state_log(st, p11s_now(), "test-increment",
			 json_pack("{s:I}", "n", (json_int_t)(st->version + 1)));
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
		fprintf(stderr, "usage: statetool URI PIN_SOURCE LOCK_FILE incr N|hammer|get\n");
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

/*
 * Fuzz target: `signer pool check`'s reading of its members' GET /v1/status
 * answers (signer/poolcheck.c), bytes any host named on the command line,
 * or a machine in the middle of a plain-HTTP member, can send.  Input: up to
 * four answer bodies separated by NUL bytes (a JSON text holds none), checked
 * together at now = 1700000000.
 *
 * Oracle besides no crash: every member's id, error and problems are valid
 * UTF-8 and make JSON strings; a member that answered a JSON object has no
 * error; and no problem is dropped: for every deadline, a member that holds
 * the type but neither has its key staged at that instant nor (once it has
 * passed) issues with it, or lacks the type, is not ready.
 */
#include "config.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "common/log.h"
#include "common/parse.h"
#include "common/text.h"
#include "fuzz/fuzz.h"
#include "signer/poolcheck.h"

#define NOW ((p11s_time)1700000000)
#define MEMBERS 4

static int
valid_text(const char *s)
{
	json_t *j = json_string(s);

	json_decref(j);
	return j != NULL && p11s_utf8_valid(s, strlen(s));
}

/* The member's entry of type, by name, as a reader of the document would find it. */
static const char *
find_key(const pool_member *m, const char *type, const char *role, p11s_time *effective)
{
	json_t *t, *ref;
	size_t i;

	json_array_foreach(json_object_get(m->doc, "types"), i, t)
	{
		const char *name = json_string_value(json_object_get(t, "type"));
		const char *k;

		if (name == NULL || strcmp(name, type) != 0)
			continue;
		ref = json_object_get(t, role);
		k = json_string_value(json_object_get(ref, "sha1"));
		if (k == NULL)
			k = json_string_value(
			    json_object_get(json_object_get(ref, "key"), "thumbprint"));
		if (effective != NULL) {
			json_t *e = json_object_get(ref, "effective");

			*effective = 0;
			if (json_is_integer(e))
				*effective = (p11s_time)json_integer_value(e);
			else if (json_is_string(e) &&
				 p11s_parse_date(json_string_value(e), effective) != 0)
				*effective = 0;
			p11s_err_clear();
		}
		return k != NULL ? k : "";
	}
	return NULL;
}

static int
holds(const pool_member *m, const pool_deadline *d)
{
	p11s_time e;
	const char *staged = find_key(m, d->type, "staged", &e);
	const char *current = find_key(m, d->type, "current", NULL);

	if (staged == NULL)
		return 0; /* the type is not configured */
	return (strcmp(staged, d->key) == 0 && e == d->at) ||
	       (strcmp(current, d->key) == 0 && NOW >= d->at);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pool_member ms[MEMBERS];
	pool_deadline *dl = NULL;
	const pool_deadline *earliest;
	static const char *urls[MEMBERS] = {"http://a:1", "http://b:2", "unix:/c", "https://d"};
	size_t n = 0, nd;
	const uint8_t *p = data, *end = data + size;

	p11s_log_set_level(LOG_CRIT);
	while (n < MEMBERS) {
		const uint8_t *z = memchr(p, '\0', (size_t)(end - p));
		size_t len = z != NULL ? (size_t)(z - p) : (size_t)(end - p);

		if (pool_member_init(&ms[n], urls[n]) != 0)
			abort();
		pool_member_read(&ms[n], (const char *)p, len);
		if (!valid_text(ms[n].id) || (ms[n].doc == NULL) != (*ms[n].error != '\0') ||
		    (ms[n].doc == NULL && !valid_text(ms[n].error)))
			abort();
		n++;
		if (z == NULL)
			break;
		p = z + 1;
	}
	if (pool_check(ms, n, NOW, &dl, &nd, &earliest) != 0)
		abort();
	if ((nd == 0) != (earliest == NULL))
		abort();
	for (size_t i = 0; i < n; i++) {
		json_t *pr;
		size_t k;

		json_array_foreach(ms[i].problems, k, pr) if (!valid_text(json_string_value(pr)))
		    abort();
		if (ms[i].doc == NULL)
			continue;
		for (size_t d = 0; d < nd; d++)
			if (!holds(&ms[i], &dl[d]) && pool_member_ready(&ms[i]))
				abort();
	}
	for (size_t i = 0; i < n; i++)
		pool_member_clear(&ms[i]);
	free(dl);
	return 0;
}

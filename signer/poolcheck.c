/*
 * signer pool check's reading of its members' status documents: which
 * member lacks the staged key, has another effective instant, or is stale.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/log.h"
#include "common/parse.h"
#include "common/text.h"
#include "signer/poolcheck.h"
#include "signer/state.h"

int
pool_member_init(pool_member *m, const char *url)
{
	memset(m, 0, sizeof(*m));
	m->url = url;
	snprintf(m->id, sizeof(m->id), "%s", url);
	p11s_text_fix(m->id);
	if ((m->problems = json_array()) == NULL)
		return p11s_fail(P11S_E_NOMEM, "out of memory");
	return 0;
}

void
pool_member_clear(pool_member *m)
{
	json_decref(m->doc);
	json_decref(m->problems);
	m->doc = m->problems = NULL;
}

void
pool_member_unreachable(pool_member *m, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m->error, sizeof(m->error), fmt, ap);
	va_end(ap);
	p11s_text_fix(m->error);
}

void
pool_member_read(pool_member *m, const char *body, size_t len)
{
	json_error_t jerr;
	json_t *mem;
	const char *id;

	json_decref(m->doc);
	m->doc = body != NULL ? json_loadb(body, len, 0, &jerr) : NULL;
	if (!json_is_object(m->doc)) {
		pool_member_unreachable(m, "the status is not a JSON object%s%s",
					m->doc == NULL && body != NULL ? ": " : "",
					m->doc == NULL && body != NULL ? jerr.text : "");
		json_decref(m->doc);
		m->doc = NULL;
		return;
	}
	mem = json_object_get(m->doc, "member");
	id = json_is_string(mem) ? json_string_value(mem)
				 : json_string_value(json_object_get(mem, "id"));
	/* the member's bytes, cut to size: keep them valid text */
	snprintf(m->id, sizeof(m->id), "%s", id != NULL ? id : m->url);
	p11s_text_fix(m->id);
}

int
pool_member_ready(const pool_member *m)
{
	return m->doc != NULL && json_array_size(m->problems) == 0 && m->unlisted == 0;
}

static void problem(pool_member *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Record a problem of a member.  It is never lost: the text is made valid
 * UTF-8 before it becomes a JSON string, and a problem that still cannot be
 * listed (memory) is counted, so the member is not ready either way. */
static void
problem(pool_member *m, const char *fmt, ...)
{
	char buf[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	p11s_text_fix(buf);
	if (json_array_append_new(m->problems, json_string(buf)) != 0) {
		m->unlisted++;
		log_error("member %s: %s", m->url, buf);
	}
}

/* A key reference as `signer status --json` ({sha1}) or signerd ({key:{thumbprint}}) shows it. */
static const char *
ref_sha1(const json_t *o)
{
	const char *s = json_string_value(json_object_get(o, "sha1"));

	if (s == NULL)
		s = json_string_value(json_object_get(json_object_get(o, "key"), "thumbprint"));
	return s;
}

/* Seconds or RFC 3339 in o[name]; 0 when absent, null or malformed. */
static p11s_time
doc_time(const json_t *o, const char *name)
{
	json_t *v = json_object_get(o, name);
	p11s_time t = 0;

	if (json_is_integer(v))
		return (p11s_time)json_integer_value(v);
	if (json_is_string(v) && p11s_parse_date(json_string_value(v), &t) != 0)
		t = 0;
	p11s_err_clear();
	return t;
}

static const json_t *
member_type(const pool_member *m, const char *type)
{
	json_t *t;
	size_t i;

	json_array_foreach(json_object_get(m->doc, "types"), i, t)
	{
		const char *name = json_string_value(json_object_get(t, "type"));

		if (name != NULL && strcmp(name, type) == 0)
			return t;
	}
	return NULL;
}

/*
 * A member whose last successful check of its token (member.checked_at) is
 * older than the stale bound of its poll interval may serve an outdated
 * state: not ready.
 */
static void
check_fresh(pool_member *m, p11s_time now)
{
	json_t *mem = json_object_get(m->doc, "member");
	int64_t poll = json_integer_value(json_object_get(mem, "poll_interval_ms"));
	p11s_time checked = doc_time(mem, "checked_at"), since = checked;
	char when[40];

	if (!json_is_object(mem) || json_object_get(mem, "checked_at") == NULL)
		return; /* no member facts (e.g. a `signer status --json` document) */
	if (since == 0)
		since = doc_time(mem, "started_at"); /* not checked yet: since its start */
	if (since != 0 && !member_is_stale(since, poll, now))
		return;
	if (checked == 0) {
		problem(m, "stale: no successful check of its token since it started");
		return;
	}
	p11s_fmt_utc(checked, when, sizeof(when));
	problem(m,
		"stale: its last successful check of the token was at %s, %lld s ago (more "
		"than %lld s); it may serve an outdated state",
		when, (long long)(now - checked), (long long)member_stale_after(poll));
}

/* Check one type across the members; returns the deadline (0: nothing staged). */
static p11s_time
check_type(pool_member *ms, size_t n, const char *type, p11s_time now, pool_deadline *d)
{
	const char *key = NULL;
	char when[40], qk[P11S_QUOTE_BUF], qs[P11S_QUOTE_BUF];
	p11s_time first = 0;

	for (size_t i = 0; i < n; i++) {
		const json_t *t = ms[i].doc != NULL ? member_type(&ms[i], type) : NULL;
		const json_t *st = json_object_get(t, "staged");
		p11s_time e = doc_time(st, "effective");

		if (ref_sha1(st) != NULL && e > 0 && (first == 0 || e < first)) {
			first = e;
			key = ref_sha1(st);
		}
	}
	if (first == 0)
		return 0;
	d->type = type;
	d->key = key;
	d->at = first;
	p11s_fmt_utc(first, when, sizeof(when));
	p11s_quote_str(key, qk, sizeof(qk));
	for (size_t i = 0; i < n; i++) {
		const json_t *t, *st;
		const char *sk, *ck;
		char mine[40];
		p11s_time e;

		if (ms[i].doc == NULL)
			continue;
		t = member_type(&ms[i], type);
		st = json_object_get(t, "staged");
		sk = ref_sha1(st);
		ck = ref_sha1(json_object_get(t, "current"));
		e = doc_time(st, "effective");
		if (sk != NULL && strcmp(sk, key) == 0) {
			if (e != first) {
				p11s_fmt_utc(e, mine, sizeof(mine));
				problem(&ms[i], "%s: key %s is staged effective %s, not %s", type,
					qk, mine, when);
			}
		} else if (ck != NULL && strcmp(ck, key) == 0) {
			if (now < first)
				problem(&ms[i], "%s: key %s already issues, before %s", type, qk,
					when);
		} else if (t == NULL) {
			problem(&ms[i], "%s: the type is not configured on this member", type);
		} else {
			problem(&ms[i], "%s: lacks the staged key %s (effective %s)%s%s%s", type,
				qk, when, sk != NULL ? "; it has " : "",
				sk != NULL ? p11s_quote_str(sk, qs, sizeof(qs)) : "",
				sk != NULL ? " staged instead" : "");
		}
	}
	return first;
}

int
pool_check(pool_member *ms, size_t n, p11s_time now, pool_deadline **dl, size_t *nd,
	   const pool_deadline **earliest)
{
	json_t *types = json_array();
	int r = 0;

	*dl = NULL;
	*nd = 0;
	*earliest = NULL;
	/* the union of type names, in order of appearance */
	for (size_t i = 0; i < n && types != NULL && r == 0; i++) {
		json_t *t;
		size_t k;

		json_array_foreach(json_object_get(ms[i].doc, "types"), k, t)
		{
			json_t *name = json_object_get(t, "type"), *have;
			size_t j;
			int dup = 0;

			if (!json_is_string(name))
				continue;
			json_array_foreach(types, j, have) dup |= json_equal(have, name);
			if (!dup && json_array_append(types, name) != 0)
				r = -1;
		}
	}
	if (types == NULL || r != 0 ||
	    (*dl = calloc(json_array_size(types) + 1, sizeof(**dl))) == NULL) {
		json_decref(types);
		return p11s_fail(P11S_E_NOMEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++)
		if (ms[i].doc != NULL)
			check_fresh(&ms[i], now);
	for (size_t k = 0; k < json_array_size(types); k++)
		if (check_type(ms, n, json_string_value(json_array_get(types, k)), now,
			       &(*dl)[*nd]) > 0)
			(*nd)++;
	for (size_t k = 0; k < *nd; k++)
		if (*earliest == NULL || (*dl)[k].at < (*earliest)->at)
			*earliest = &(*dl)[k];
	json_decref(types);
	return 0;
}

/* The audit journal: appends, transactions, chain verification, anchors. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "signer/audit.h"

struct fx {
	char dir[64];
	char path[128];
	signer_conf *c;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	strcpy(f->dir, "/tmp/p11s-audit-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/audit.jsonl", f->dir);
	assert_int_equal(signer_conf_defaults(&f->c), 0);
	free(f->c->journal);
	f->c->journal = strdup(f->path);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char cmd[160];

	signer_conf_free(f->c);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void
append_n(struct fx *f, int n)
{
	for (int i = 0; i < n; i++)
		assert_int_equal(audit_append(f->c, "alice", "test", json_pack("{s:i}", "i", i)),
				 0);
}

static char *
slurp(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *buf;
	long len;

	assert_non_null(fp);
	fseek(fp, 0, SEEK_END);
	len = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	buf = calloc(1, (size_t)len + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)len, fp), (size_t)len);
	fclose(fp);
	return buf;
}

static void
spit(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

/* Line n (1-based) of text: pointer and length (with its newline). */
static const char *
line_of(const char *text, int n, size_t *len)
{
	const char *p = text, *nl;

	for (int i = 1; i < n; i++)
		p = strchr(p, '\n') + 1;
	nl = strchr(p, '\n');
	*len = (size_t)(nl - p) + 1;
	return p;
}

/* Rewrite the journal without line n. */
static void
delete_line(const char *path, int n)
{
	char *text = slurp(path), *out = calloc(1, strlen(text) + 1);
	size_t len;
	const char *l = line_of(text, n, &len);

	memcpy(out, text, (size_t)(l - text));
	strcat(out, l + len);
	spit(path, out);
	free(out);
	free(text);
}

static void
expect_broken(const char *path, const json_t *history, size_t line, const char *what)
{
	audit_report rep;

	assert_int_equal(audit_verify(path, history, &rep), 0);
	assert_int_equal(rep.bad_line, line);
	assert_non_null(strstr(rep.why, what));
}

static void
test_chain_intact(void **state)
{
	struct fx *f = *state;
	audit_report rep;
	char *text;
	json_t *e;

	append_n(f, 5);
	assert_int_equal(audit_verify(f->path, NULL, &rep), 0);
	assert_int_equal(rep.bad_line, 0);
	assert_int_equal(rep.count, 5);
	/* the format: canonical, seq from 1, prev of the first is zeros */
	text = slurp(f->path);
	e = json_loadb(text, strchr(text, '\n') - text, 0, NULL);
	assert_non_null(e);
	assert_int_equal(json_integer_value(json_object_get(e, "seq")), 1);
	assert_string_equal(json_string_value(json_object_get(e, "actor")), "alice");
	assert_string_equal(json_string_value(json_object_get(e, "prev")),
			    "0000000000000000000000000000000000000000000000000000000000000000");
	assert_int_equal(strlen(json_string_value(json_object_get(e, "hash"))), 64);
	json_decref(e);
	free(text);
	/* an absent journal with nothing recorded on the token is empty, not broken */
	assert_int_equal(unlink(f->path), 0);
	assert_int_equal(audit_verify(f->path, NULL, &rep), 0);
	assert_int_equal(rep.count, 0);
	assert_int_equal(rep.bad_line, 0);
}

static void
test_edit_any_line(void **state)
{
	struct fx *f = *state;
	char *good;

	append_n(f, 6);
	good = slurp(f->path);
	for (int n = 1; n <= 6; n++) {
		char *text = strdup(good), *at;
		size_t len;

		/* change one digit of the "at" member of line n */
		at = text + (line_of(text, n, &len) - text);
		at = strstr(at, "\"at\":") + 5;
		*at = *at == '9' ? '8' : (char)(*at + 1);
		spit(f->path, text);
		expect_broken(f->path, NULL, (size_t)n, "edited");
		free(text);
	}
	/* whitespace is an edit too */
	{
		char *text = calloc(1, strlen(good) + 2);
		size_t len;
		const char *l2 = line_of(good, 2, &len);

		memcpy(text, good, (size_t)(l2 - good) + 1);
		strcat(text, " ");
		strcat(text, l2 + 1);
		spit(f->path, text);
		expect_broken(f->path, NULL, 2, "line 2");
		free(text);
	}
	free(good);
}

static void
test_delete_and_insert(void **state)
{
	struct fx *f = *state;
	char *good;

	append_n(f, 5);
	good = slurp(f->path);
	for (int n = 1; n <= 4; n++) {
		spit(f->path, good);
		delete_line(f->path, n);
		expect_broken(f->path, NULL, (size_t)n, "line");
	}
	/* a duplicated line */
	{
		size_t len;
		const char *l3 = line_of(good, 3, &len);
		char *text = calloc(1, strlen(good) + len + 1);

		memcpy(text, good, (size_t)(l3 - good) + len);
		memcpy(text + (l3 - good) + len, l3, len);
		strcat(text, l3 + len);
		spit(f->path, text);
		expect_broken(f->path, NULL, 4, "line 4");
		free(text);
	}
	/* an incomplete last line */
	spit(f->path, good);
	{
		FILE *fp = fopen(f->path, "a");

		fputs("{\"seq\":6", fp);
		fclose(fp);
	}
	expect_broken(f->path, NULL, 6, "incomplete");
	free(good);
}

static void
test_anchors(void **state)
{
	struct fx *f = *state;
	audit_txn *x = NULL;
	json_t *anchor = NULL, *history = json_array();
	char *good;

	append_n(f, 2);
	/* a state change: its anchor goes into the state's history */
	assert_int_equal(audit_begin(f->c, &x), 0);
	assert_int_equal(audit_add(x, "bob", "stage", json_object(), 100, &anchor), 0);
	assert_int_equal(audit_commit(x), 0);
	audit_end(x);
	assert_int_equal(json_integer_value(json_object_get(anchor, "seq")), 3);
	json_array_append_new(history, json_pack("{s:I, s:s, s:o}", "at", (json_int_t)100, "action",
						 "stage", "journal", anchor));
	good = slurp(f->path);
	expect_broken(f->path, history, 0, "");
	/* the last line deleted: only the token's anchor notices */
	delete_line(f->path, 3);
	expect_broken(f->path, NULL, 0, "");
	expect_broken(f->path, history, 3, "deleted from the end");
	/* a recorded entry replaced by another valid entry */
	spit(f->path, good);
	delete_line(f->path, 3);
	assert_int_equal(audit_append(f->c, "mallory", "stage", NULL), 0);
	expect_broken(f->path, NULL, 0, "");
	expect_broken(f->path, history, 3, "differs from the entry the token's state recorded");
	free(good);
	json_decref(history);
}

static void
test_transactions(void **state)
{
	struct fx *f = *state;
	audit_txn *x = NULL;
	audit_report rep;
	json_t *a1 = NULL, *a2 = NULL;

	append_n(f, 1);
	assert_int_equal(audit_begin(f->c, &x), 0);
	/* a retried edit queues its entry again: only the last attempt is written */
	assert_int_equal(audit_add(x, "op", "assign", NULL, 5, &a1), 0);
	audit_rewind(x);
	assert_int_equal(audit_add(x, "op", "assign", NULL, 6, &a2), 0);
	assert_int_equal(json_integer_value(json_object_get(a1, "seq")), 2);
	assert_int_equal(json_integer_value(json_object_get(a2, "seq")), 2);
	assert_int_equal(audit_add(x, "op", "stage", NULL, 6, NULL), 0);
	assert_int_equal(audit_commit(x), 0);
	/* uncommitted entries are dropped */
	assert_int_equal(audit_add(x, "op", "never", NULL, 7, NULL), 0);
	audit_end(x);
	assert_int_equal(audit_verify(f->path, NULL, &rep), 0);
	assert_int_equal(rep.bad_line, 0);
	assert_int_equal(rep.count, 3);
	json_decref(a1);
	json_decref(a2);
	audit_end(NULL);
}

static void
test_open_errors(void **state)
{
	struct fx *f = *state;
	audit_txn *x = NULL;
	char path[200];
	int r;

	/* a missing directory */
	snprintf(path, sizeof(path), "%s/missing/audit.jsonl", f->dir);
	free(f->c->journal);
	f->c->journal = strdup(path);
	r = audit_begin(f->c, &x);
	assert_int_equal(r, P11S_E_IO);
	assert_null(x);
	assert_non_null(strstr(p11s_errmsg(r), "does not exist"));
	assert_int_equal(audit_append(f->c, "a", "b", json_object()), P11S_E_IO);
	/* none configured */
	free(f->c->journal);
	f->c->journal = NULL;
	r = audit_begin(f->c, &x);
	assert_int_equal(r, P11S_E_CONFIG);
	assert_non_null(strstr(p11s_errmsg(r), "[audit] journal"));
	/* an incomplete last line is a write that did not finish (its change was
	 * never made): cut off under the lock, and the chain goes on */
	f->c->journal = strdup(f->path);
	append_n(f, 2);
	{
		char *good = slurp(f->path), *text;
		FILE *fp = fopen(f->path, "a");

		fputs("{\"seq\":3,\"at\"", fp);
		fclose(fp);
		assert_int_equal(audit_begin(f->c, &x), 0);
		text = slurp(f->path);
		assert_string_equal(text, good);
		free(text);
		assert_int_equal(audit_add(x, "a", "b", json_object(), 1, NULL), 0);
		assert_int_equal(audit_commit(x), 0);
		audit_end(x);
		x = NULL;
		{
			audit_report rep;

			assert_int_equal(audit_verify(f->path, NULL, &rep), 0);
			assert_int_equal(rep.bad_line, 0);
			assert_int_equal(rep.count, 3);
		}
		free(good);
	}
	/* only an incomplete line: cut back to nothing */
	spit(f->path, "{\"seq\":1");
	assert_int_equal(audit_begin(f->c, &x), 0);
	audit_end(x);
	x = NULL;
	{
		char *text = slurp(f->path);

		assert_string_equal(text, "");
		free(text);
	}
	/* nor one whose last line is not an entry */
	spit(f->path, "hello\n");
	r = audit_begin(f->c, &x);
	assert_int_equal(r, P11S_E_IO);
	assert_non_null(strstr(p11s_errmsg(r), "not a journal entry"));
	{
		char *text = slurp(f->path);

		assert_string_equal(text, "hello\n");
		free(text);
	}
}

static void
test_long_last_line(void **state)
{
	struct fx *f = *state;
	audit_report rep;
	char *big = malloc(20000);

	/* the head is read backwards in chunks: a line longer than one chunk */
	memset(big, 'x', 19999);
	big[19999] = '\0';
	assert_int_equal(audit_append(f->c, "alice", "test", json_pack("{s:s}", "big", big)), 0);
	assert_int_equal(audit_append(f->c, "alice", "test", json_pack("{s:s}", "big", big)), 0);
	append_n(f, 1);
	assert_int_equal(audit_verify(f->path, NULL, &rep), 0);
	assert_int_equal(rep.bad_line, 0);
	assert_int_equal(rep.count, 3);
	free(big);
}

static void
test_switch_observed_once(void **state)
{
	struct fx *f = *state;
	audit_report rep;
	int w = -1;

	append_n(f, 1);
	assert_int_equal(audit_switch_observed(f->c, "m1", "AV", "ab", 1000, &w), 0);
	assert_int_equal(w, 1);
	assert_int_equal(audit_switch_observed(f->c, "m2", "AV", "ab", 1000, &w), 0);
	assert_int_equal(w, 0);
	/* another type, key or instant is another switch */
	assert_int_equal(audit_switch_observed(f->c, "m2", "OA", "ab", 1000, &w), 0);
	assert_int_equal(w, 1);
	assert_int_equal(audit_switch_observed(f->c, "m2", "AV", "cd", 1000, &w), 0);
	assert_int_equal(w, 1);
	assert_int_equal(audit_switch_observed(f->c, "m2", "AV", "ab", 2000, &w), 0);
	assert_int_equal(w, 1);
	assert_int_equal(audit_verify(f->path, NULL, &rep), 0);
	assert_int_equal(rep.count, 5);
	assert_int_equal(rep.bad_line, 0);
}

/* Append one entry through a transaction; *anchor (optional) is its anchor. */
static void
add_one(struct fx *f, const char *action, json_t *details, json_t **anchor)
{
	audit_txn *x = NULL;

	assert_int_equal(audit_begin(f->c, &x), 0);
	assert_int_equal(audit_add(x, "alice", action, details, 100, anchor), 0);
	assert_int_equal(audit_commit(x), 0);
	audit_end(x);
}

/* History holding the anchor of a change, as the token's state does. */
static json_t *
history_with(json_t *anchor)
{
	return json_pack("[{s:s, s:I, s:o}]", "action", "stage", "at", (json_int_t)100, "journal",
			 anchor);
}

static void
test_intent_and_outcome(void **state)
{
	struct fx *f = *state;
	json_t *anchor = NULL, *hist, *other;
	audit_report rep;
	char *good;

	append_n(f, 1);
	/* a change journalled before its state, no outcome yet: intact, and the
	 * note tells from the state whether it completed */
	add_one(f, "stage", json_pack("{s:s, s:i}", "key", "k1", "state_version", 7), &anchor);
	hist = history_with(json_incref(anchor));
	other = json_array();
	assert_int_equal(audit_verify(f->path, hist, &rep), 0);
	assert_int_equal(rep.bad_line, 0);
	assert_non_null(strstr(rep.note, "'stage' at line 2, state version 7"));
	assert_non_null(strstr(rep.note, "carries it, it completed"));
	assert_int_equal(audit_verify(f->path, other, &rep), 0);
	assert_int_equal(rep.bad_line, 0);
	assert_non_null(strstr(rep.note, "does not carry it, it did not complete"));
	assert_int_equal(audit_verify(f->path, NULL, &rep), 0);
	assert_non_null(strstr(rep.note, "cannot be told"));
	good = slurp(f->path);
	/* its outcome settles it: no note */
	add_one(f, "not_completed",
		json_pack("{s:i, s:i, s:i, s:s}", "first", 2, "last", 2, "state_version", 7, "how",
			  "test"),
		NULL);
	assert_int_equal(audit_verify(f->path, other, &rep), 0);
	assert_int_equal(rep.bad_line, 0);
	assert_string_equal(rep.note, "");
	/* ... unless the state carries the change it calls not completed */
	expect_broken(f->path, hist, 3, "did not complete, but the token's state carries it");
	/* an outcome of lines that are not the open change */
	spit(f->path, good);
	add_one(f, "completed",
		json_pack("{s:i, s:i, s:i, s:s}", "first", 1, "last", 2, "state_version", 7, "how",
			  "test"),
		NULL);
	expect_broken(f->path, NULL, 3, "not the open change");
	/* a second change while the first has no outcome: an entry went missing */
	spit(f->path, good);
	add_one(f, "remove", json_pack("{s:s, s:i}", "key", "k0", "state_version", 9), NULL);
	expect_broken(f->path, NULL, 3, "has no outcome");
	/* other events (a refusal, a switch seen) may come between */
	spit(f->path, good);
	append_n(f, 1);
	add_one(f, "completed",
		json_pack("{s:i, s:i, s:i, s:s}", "first", 2, "last", 2, "state_version", 7, "how",
			  "made"),
		NULL);
	assert_int_equal(audit_verify(f->path, hist, &rep), 0);
	assert_int_equal(rep.bad_line, 0);
	assert_string_equal(rep.note, "");
	free(good);
	json_decref(anchor);
	json_decref(hist);
	json_decref(other);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_chain_intact, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_edit_any_line, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_delete_and_insert, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_anchors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_transactions, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_long_last_line, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_switch_observed_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_intent_and_outcome, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

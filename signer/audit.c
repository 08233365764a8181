/* The hash-chained audit journal; the format is described in audit.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "signer/audit.h"
#include "signer/state.h"

#define ZERO_HASH "0000000000000000000000000000000000000000000000000000000000000000"
#define LINE_MAX_BYTES (1u << 20)

struct audit_txn {
	int fd;
	char *path;
	uint64_t head_seq; /* last committed entry (0: empty journal) */
	char head_hash[65];
	char *pending; /* queued lines */
	size_t pending_len;
	uint64_t next_seq;   /* seq of the next queued entry */
	char next_prev[65];  /* its prev */
	char first_hash[65]; /* hash of the first queued entry */
	off_t size;	     /* bytes of whole lines in the file */
	/* the last change whose entries were written before its state and
	 * that has no outcome entry yet (audit.h) */
	int open;
	uint64_t open_first, open_last, open_version;
	char open_hash[65];
};

const char *
audit_os_user(void)
{
	static char name[64];
	struct passwd *pw = getpwuid(geteuid());

	if (pw != NULL && pw->pw_name != NULL)
		snprintf(name, sizeof(name), "%s", pw->pw_name);
	else
		snprintf(name, sizeof(name), "uid %lu", (unsigned long)geteuid());
	return name;
}

/* Canonical text of an object. */
static char *
canonical(const json_t *o)
{
	return json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
}

/* hash of an entry = SHA-256 of its canonical form without "hash". */
static int
entry_hash(const json_t *entry, char out[65])
{
	json_t *copy = json_deep_copy(entry);
	char *text = NULL;
	int r;

	if (copy == NULL) {
		return p11s_fail(P11S_E_NOMEM, "out of memory");
	}
	json_object_del(copy, "hash");
	if ((text = canonical(copy)) == NULL)
		r = p11s_fail(P11S_E_NOMEM, "out of memory");
	else
		r = p11s_sha256_hex((const uint8_t *)text, strlen(text), out);
	free(text);
	json_decref(copy);
	return r;
}

/* Parse one journal line: an object with exactly the seven members. */
static int
parse_entry(const char *line, size_t len, json_t **out, char *why, size_t whylen)
{
	static const char *const names[] = {"action", "actor", "at", "details",
					    "hash",   "prev",  "seq"};
	json_error_t err;
	json_t *o;
	const char *h, *p;

	*out = NULL;
	if ((o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &err)) == NULL) {
		snprintf(why, whylen, "not JSON (%s)", err.text);
		return -1;
	}
	if (!json_is_object(o) || json_object_size(o) != sizeof(names) / sizeof(names[0])) {
		snprintf(why, whylen,
			 "not a journal entry (expected the members action, actor, at, "
			 "details, hash, prev, seq)");
		json_decref(o);
		return -1;
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (json_object_get(o, names[i]) == NULL) {
			snprintf(why, whylen, "not a journal entry (member '%s' missing)",
				 names[i]);
			json_decref(o);
			return -1;
		}
	}
	h = json_string_value(json_object_get(o, "hash"));
	p = json_string_value(json_object_get(o, "prev"));
	if (!json_is_integer(json_object_get(o, "seq")) ||
	    !json_is_integer(json_object_get(o, "at")) ||
	    !json_is_string(json_object_get(o, "actor")) ||
	    !json_is_string(json_object_get(o, "action")) ||
	    !json_is_object(json_object_get(o, "details")) || h == NULL || strlen(h) != 64 ||
	    p == NULL || strlen(p) != 64) {
		snprintf(why, whylen, "a member has the wrong type");
		json_decref(o);
		return -1;
	}
	*out = o;
	return 0;
}

/* Read the last line of the open journal (without its newline). */
static int
read_last_line(struct audit_txn *x, off_t size, char **line, size_t *len)
{
	size_t want = 4096, got;
	char *buf = NULL, *nb, *nl;
	ssize_t n;

	*line = NULL;
	*len = 0;
	for (;;) {
		off_t from;

		if (want > (size_t)size)
			want = (size_t)size;
		if ((nb = realloc(buf, want + 1)) == NULL) {
			free(buf);
			return p11s_fail(P11S_E_NOMEM, "out of memory");
		}
		buf = nb;
		from = size - (off_t)want;
		for (got = 0; got < want; got += (size_t)n) {
			n = pread(x->fd, buf + got, want - got, from + (off_t)got);
			if (n < 0 && errno == EINTR) {
				n = 0;
				continue;
			}
			if (n <= 0) {
				free(buf);
				return p11s_fail(P11S_E_IO, "cannot read the audit journal %s: %s",
						 x->path, n < 0 ? strerror(errno) : "file shrank");
			}
		}
		buf[want] = '\0';
		if (buf[want - 1] != '\n') {
			free(buf);
			return p11s_fail(
			    P11S_E_IO,
			    "the audit journal %s ends with an incomplete line; check it "
			    "with 'signer audit verify' and repair it before any change",
			    x->path);
		}
		buf[want - 1] = '\0';
		nl = strrchr(buf, '\n');
		if (nl != NULL || want == (size_t)size) {
			const char *start = nl != NULL ? nl + 1 : buf;

			*len = strlen(start);
			memmove(buf, start, *len + 1);
			*line = buf;
			return 0;
		}
		if (want >= LINE_MAX_BYTES) {
			free(buf);
			return p11s_fail(P11S_E_IO,
					 "the last line of the audit journal %s is longer "
					 "than %u bytes",
					 x->path, LINE_MAX_BYTES);
		}
		want *= 2;
	}
}

/*
 * A last line without its newline is a write that did not finish (a crash,
 * a full disk): its change was never made, since the state is written only
 * after the journal entry is on disk.  Cut it off, under the journal lock.
 */
static int
repair_tail(struct audit_txn *x)
{
	struct stat sb;
	char buf[4096];
	off_t end, keep = 0;
	int found = 0;

	if (fstat(x->fd, &sb) != 0)
		return p11s_fail(P11S_E_IO, "cannot stat the audit journal %s: %s", x->path,
				 strerror(errno));
	x->size = sb.st_size;
	if (!S_ISREG(sb.st_mode) || sb.st_size == 0)
		return 0;
	for (end = sb.st_size; end > 0 && !found;) {
		size_t want = end > (off_t)sizeof(buf) ? sizeof(buf) : (size_t)end;
		ssize_t n = pread(x->fd, buf, want, end - (off_t)want);

		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)want)
			return p11s_fail(P11S_E_IO, "cannot read the audit journal %s: %s", x->path,
					 n < 0 ? strerror(errno) : "file shrank");
		if (end == sb.st_size && buf[want - 1] == '\n')
			return 0;
		for (size_t i = want; i > 0 && !found; i--) {
			if (buf[i - 1] == '\n') {
				keep = end - (off_t)want + (off_t)i;
				found = 1;
			}
		}
		end -= (off_t)want;
	}
	if (ftruncate(x->fd, keep) != 0 || fsync(x->fd) != 0)
		return p11s_fail(P11S_E_JOURNAL,
				 "the audit journal %s ends in an incomplete line that cannot be "
				 "cut off: %s; nothing was changed",
				 x->path, strerror(errno));
	log_warn("the audit journal %s ended in an incomplete line (a write that did not "
		 "finish; its change was not made): %lld bytes cut off",
		 x->path, (long long)(sb.st_size - keep));
	x->size = keep;
	return 0;
}

/* An entry of a change written before its state: its state_version. */
static int
intent_version(const json_t *e, uint64_t *version)
{
	const char *a = json_string_value(json_object_get(e, "action"));
	json_t *v = json_object_get(json_object_get(e, "details"), "state_version");

	if (a == NULL || strcmp(a, "completed") == 0 || strcmp(a, "not_completed") == 0 ||
	    !json_is_integer(v) || json_integer_value(v) < 1)
		return 0;
	*version = (uint64_t)json_integer_value(v);
	return 1;
}

/* An outcome entry: the range of the change it settles. */
static int
outcome_of(const json_t *e, uint64_t *first, uint64_t *last, int *completed)
{
	const char *a = json_string_value(json_object_get(e, "action"));
	json_t *d = json_object_get(e, "details");

	if (a == NULL || (strcmp(a, "completed") != 0 && strcmp(a, "not_completed") != 0))
		return 0;
	*completed = strcmp(a, "completed") == 0;
	*first = (uint64_t)json_integer_value(json_object_get(d, "first"));
	*last = (uint64_t)json_integer_value(json_object_get(d, "last"));
	return 1;
}

/* Find the change without an outcome, if any (x->open). */
static int
find_open(struct audit_txn *x)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t got;
	FILE *f;
	int fd;

	x->open = 0;
	if ((fd = dup(x->fd)) < 0 || (f = fdopen(fd, "r")) == NULL) {
		if (fd >= 0)
			close(fd);
		return p11s_fail(P11S_E_IO, "cannot read the audit journal %s: %s", x->path,
				 strerror(errno));
	}
	rewind(f);
	while ((got = getline(&line, &cap, f)) > 0) {
		uint64_t v = 0, first = 0, last = 0, seq;
		int completed;
		json_t *e;

		if (strstr(line, "\"state_version\"") == NULL &&
		    strstr(line, "completed\"") == NULL)
			continue;
		if ((e = json_loadb(line, (size_t)got, 0, NULL)) == NULL)
			continue;
		seq = (uint64_t)json_integer_value(json_object_get(e, "seq"));
		if (intent_version(e, &v)) {
			if (x->open && x->open_last + 1 == seq && x->open_version == v) {
				x->open_last = seq;
			} else {
				x->open = 1;
				x->open_first = x->open_last = seq;
				x->open_version = v;
				snprintf(x->open_hash, sizeof(x->open_hash), "%s",
					 json_string_value(json_object_get(e, "hash")));
			}
		} else if (outcome_of(e, &first, &last, &completed) && x->open &&
			   first == x->open_first) {
			x->open = 0;
		}
		json_decref(e);
	}
	free(line);
	fclose(f);
	return 0;
}

static int
read_head(struct audit_txn *x)
{
	struct stat sb;
	json_t *e = NULL;
	char *line = NULL, why[200];
	size_t len;
	int r;

	x->head_seq = 0;
	memcpy(x->head_hash, ZERO_HASH, 65);
	if (fstat(x->fd, &sb) != 0)
		return p11s_fail(P11S_E_IO, "cannot stat the audit journal %s: %s", x->path,
				 strerror(errno));
	if (!S_ISREG(sb.st_mode))
		return p11s_fail(P11S_E_IO, "the audit journal %s is not a regular file", x->path);
	if (sb.st_size == 0)
		return 0;
	if ((r = read_last_line(x, sb.st_size, &line, &len)) != 0)
		return r;
	if (parse_entry(line, len, &e, why, sizeof(why)) != 0 ||
	    json_integer_value(json_object_get(e, "seq")) < 1) {
		r = p11s_fail(P11S_E_IO,
			      "the last line of the audit journal %s is not a journal entry (%s); "
			      "check it with 'signer audit verify'",
			      x->path, e == NULL ? why : "bad seq");
		goto out;
	}
	x->head_seq = (uint64_t)json_integer_value(json_object_get(e, "seq"));
	memcpy(x->head_hash, json_string_value(json_object_get(e, "hash")), 65);
	r = 0;
out:
	json_decref(e);
	free(line);
	return r;
}

static void
txn_free(struct audit_txn *x)
{
	if (x == NULL)
		return;
	if (x->fd >= 0) {
		(void)flock(x->fd, LOCK_UN);
		close(x->fd);
	}
	free(x->path);
	free(x->pending);
	free(x);
}

int
audit_begin(const signer_conf *c, audit_txn **out)
{
	struct audit_txn *x = NULL;
	char dir[PATH_MAX];
	int r = P11S_E_INTERNAL;

	*out = NULL;
	if (c->journal == NULL || *c->journal == '\0')
		return p11s_fail(P11S_E_CONFIG,
				 "no audit journal is configured: set [audit] journal");
	if ((x = calloc(1, sizeof(*x))) == NULL)
		return p11s_fail(P11S_E_NOMEM, "out of memory");
	x->fd = -1;
	if ((r = p11s_strdup(c->journal, &x->path)) != 0)
		goto out;
	x->fd = open(c->journal, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (x->fd < 0) {
		int e = errno;

		snprintf(dir, sizeof(dir), "%s", c->journal);
		if (e == ENOENT)
			r = p11s_fail(
			    P11S_E_IO,
			    "cannot open the audit journal %s: its directory %s does not "
			    "exist; create it or set [audit] journal; nothing was changed",
			    c->journal, dirname(dir));
		else
			r = p11s_fail(P11S_E_IO,
				      "cannot open the audit journal %s: %s; nothing was changed",
				      c->journal, strerror(e));
		goto out;
	}
	while (flock(x->fd, LOCK_EX) != 0) {
		if (errno != EINTR) {
			r = p11s_fail(P11S_E_IO, "cannot lock the audit journal %s: %s", c->journal,
				      strerror(errno));
			goto out;
		}
	}
	if ((r = repair_tail(x)) != 0 || (r = read_head(x)) != 0 || (r = find_open(x)) != 0)
		goto out;
	audit_rewind(x);
	*out = x;
	x = NULL;
	r = 0;
out:
	txn_free(x);
	return r;
}

void
audit_rewind(audit_txn *x)
{
	if (x == NULL)
		return;
	free(x->pending);
	x->pending = NULL;
	x->pending_len = 0;
	x->next_seq = x->head_seq + 1;
	memcpy(x->next_prev, x->head_hash, 65);
}

int
audit_add(audit_txn *x, const char *actor, const char *action, json_t *details, p11s_time at,
	  json_t **anchor)
{
	json_t *e = NULL;
	char hash[65], *line = NULL, *np;
	size_t len;
	int r;

	if (anchor != NULL)
		*anchor = NULL;
	if (details == NULL)
		details = json_object();
	e = json_pack("{s:I, s:I, s:s, s:s, s:o, s:s}", "seq", (json_int_t)x->next_seq, "at",
		      (json_int_t)at, "actor", actor, "action", action, "details", details, "prev",
		      x->next_prev);
	if (e == NULL)
		return p11s_fail(P11S_E_INVAL, "cannot build an audit entry for '%s'", action);
	if ((r = entry_hash(e, hash)) != 0)
		goto out;
	if (json_object_set_new(e, "hash", json_string(hash)) != 0 ||
	    (line = canonical(e)) == NULL) {
		r = p11s_fail(P11S_E_NOMEM, "out of memory");
		goto out;
	}
	len = strlen(line);
	if ((np = realloc(x->pending, x->pending_len + len + 2)) == NULL) {
		r = p11s_fail(P11S_E_NOMEM, "out of memory");
		goto out;
	}
	x->pending = np;
	memcpy(x->pending + x->pending_len, line, len);
	x->pending[x->pending_len + len] = '\n';
	x->pending_len += len + 1;
	x->pending[x->pending_len] = '\0';
	if (x->next_seq == x->head_seq + 1)
		memcpy(x->first_hash, hash, 65);
	if (anchor != NULL && (*anchor = json_pack("{s:I, s:s}", "seq", (json_int_t)x->next_seq,
						   "hash", hash)) == NULL) {
		r = p11s_fail(P11S_E_NOMEM, "out of memory");
		goto out;
	}
	x->next_seq++;
	memcpy(x->next_prev, hash, 65);
	r = 0;
out:
	free(line);
	json_decref(e);
	return r;
}

/* A write that failed part-way: cut the file back to its whole lines. */
static void
cut_back(struct audit_txn *x)
{
	if (ftruncate(x->fd, x->size) != 0 || fsync(x->fd) != 0)
		log_warn("cannot cut the audit journal %s back after a failed write: %s (the "
			 "next writer does)",
			 x->path, strerror(errno));
}

int
audit_commit(audit_txn *x)
{
	size_t off = 0;

	while (off < x->pending_len) {
		ssize_t n = write(x->fd, x->pending + off, x->pending_len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = n < 0 ? errno : ENOSPC;

			cut_back(x);
			return p11s_fail(P11S_E_JOURNAL, "cannot write the audit journal %s: %s",
					 x->path, strerror(e));
		}
		off += (size_t)n;
	}
	if (fsync(x->fd) != 0) {
		int e = errno;

		cut_back(x);
		return p11s_fail(P11S_E_JOURNAL, "cannot flush the audit journal %s to disk: %s",
				 x->path, strerror(e));
	}
	x->size += (off_t)x->pending_len;
	x->head_seq = x->next_seq - 1;
	memcpy(x->head_hash, x->next_prev, 65);
	audit_rewind(x);
	return 0;
}

void
audit_end(audit_txn *x)
{
	txn_free(x);
}

int
audit_append(const signer_conf *c, const char *actor, const char *action, json_t *details)
{
	audit_txn *x = NULL;
	int r;

	if ((r = audit_begin(c, &x)) != 0) {
		json_decref(details);
		return r;
	}
	if ((r = audit_add(x, actor, action, details, p11s_now(), NULL)) == 0)
		r = audit_commit(x);
	audit_end(x);
	return r;
}

/* ---- state changes: the journal first ----------------------------------- */

/* Does the state history carry the journal entry (seq, hash)? */
static int
history_has(const json_t *history, uint64_t seq, const char *hash)
{
	const json_t *ev;
	size_t i;

	json_array_foreach(history, i, ev)
	{
		json_t *j = json_object_get(ev, "journal");
		const char *h = json_string_value(json_object_get(j, "hash"));

		if (h != NULL && strcmp(h, hash) == 0 &&
		    json_integer_value(json_object_get(j, "seq")) == (json_int_t)seq)
			return 1;
	}
	return 0;
}

/* Write the queued entries of a change before its state (version). */
static int
audit_intend(audit_txn *x, uint64_t version)
{
	uint64_t first = x->head_seq + 1, last = x->next_seq - 1;
	char hash[65];
	int r;

	if (x->pending_len == 0)
		return 0;
	memcpy(hash, x->first_hash, 65);
	if ((r = audit_commit(x)) != 0) {
		char msg[900];

		snprintf(msg, sizeof(msg), "%s", p11s_errmsg(r));
		return p11s_fail(r, "%s; the change is refused: nothing on the token was changed",
				 msg);
	}
	x->open = 1;
	x->open_first = first;
	x->open_last = last;
	x->open_version = version;
	memcpy(x->open_hash, hash, 65);
	return 0;
}

/* Append the outcome of the open change. */
static int
audit_resolve(audit_txn *x, int completed, const char *how)
{
	int r;

	if (!x->open)
		return 0;
	audit_rewind(x);
	if ((r = audit_add(x, audit_os_user(), completed ? "completed" : "not_completed",
			   json_pack("{s:I, s:I, s:I, s:s}", "first", (json_int_t)x->open_first,
				     "last", (json_int_t)x->open_last, "state_version",
				     (json_int_t)x->open_version, "how", how),
			   p11s_now(), NULL)) != 0 ||
	    (r = audit_commit(x)) != 0)
		return r;
	if (!completed)
		log_warn("the change journalled at lines %" PRIu64 "-%" PRIu64 " (state version "
			 "%" PRIu64 ") did not complete; recorded",
			 x->open_first, x->open_last, x->open_version);
	x->open = 0;
	return 0;
}

int
audit_reconcile(audit_txn *x, const signer_state *st)
{
	if (!x->open)
		return 0;
	return audit_resolve(x, history_has(st->history, x->open_first, x->open_hash),
			     "reconciled from the state on the token");
}

struct audit_update {
	audit_txn *x;
	state_edit_fn fn;
	int (*after_intent)(void *arg);
	void *arg;
};

static int
update_edit(signer_state *st, void *arg)
{
	struct audit_update *u = arg;
	int r;

	/* st is the newest state, read under the host lock: it settles the
	 * outcome of a change left open by a crash or by an earlier attempt */
	if ((r = audit_reconcile(u->x, st)) != 0)
		return r;
	audit_rewind(u->x);
	return u->fn(st, u->arg);
}

static int
update_before_write(const signer_state *st, void *arg)
{
	struct audit_update *u = arg;
	int r;

	if ((r = audit_intend(u->x, st->version)) != 0)
		return r;
	return u->after_intent != NULL ? u->after_intent(u->arg) : 0;
}

int
audit_state_update(audit_txn *x, hsm_token *t, state_edit_fn fn, int (*after_intent)(void *arg),
		   void *arg, signer_state **out)
{
	struct audit_update u = {x, fn, after_intent, arg};
	signer_state *now = NULL;
	char msg[1024];
	int r;

	r = state_update_hooked(t, update_edit, update_before_write, &u, out);
	if (r == 0) {
		if (audit_resolve(x, 1, "made") != 0)
			log_warn("the change was made and its entries are in the audit journal, "
				 "but its outcome could not be added (%s); the next change adds it",
				 p11s_errmsg(P11S_E_JOURNAL));
		return 0;
	}
	if (x->open) {
		/* written to the journal, then the state write failed: settle it
		 * now if the token can tell, else the next change does */
		snprintf(msg, sizeof(msg), "%s", p11s_errmsg(r));
		if (state_load(t, &now) == 0 && audit_reconcile(x, now) != 0)
			log_warn("the outcome of the failed change is left to the next change");
		state_free(now);
		p11s_fail(r, "%s", msg);
	}
	return r;
}

/* ---- verification ------------------------------------------------------- */

struct anchor {
	uint64_t seq;
	char hash[65];
	p11s_time at;
};

static int
cmp_anchor(const void *a, const void *b)
{
	const struct anchor *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int
collect_anchors(const json_t *history, struct anchor **out, size_t *n)
{
	struct anchor *v = NULL;
	size_t i, k = 0;
	json_t *ev;

	*out = NULL;
	*n = 0;
	if (!json_is_array(history) || json_array_size(history) == 0)
		return 0;
	if ((v = calloc(json_array_size(history), sizeof(*v))) == NULL)
		return p11s_fail(P11S_E_NOMEM, "out of memory");
	json_array_foreach(history, i, ev)
	{
		json_t *j = json_object_get(ev, "journal");
		const char *h = json_string_value(json_object_get(j, "hash"));
		json_t *s = json_object_get(j, "seq");

		if (h == NULL || strlen(h) != 64 || !json_is_integer(s) ||
		    json_integer_value(s) < 1)
			continue;
		v[k].seq = (uint64_t)json_integer_value(s);
		memcpy(v[k].hash, h, 65);
		v[k].at = (p11s_time)json_integer_value(json_object_get(ev, "at"));
		k++;
	}
	qsort(v, k, sizeof(*v), cmp_anchor);
	*out = v;
	*n = k;
	return 0;
}

static void mark_bad(audit_report *rep, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
mark_bad(audit_report *rep, size_t line, const char *fmt, ...)
{
	va_list ap;

	if (rep->bad_line != 0 && rep->bad_line <= line)
		return;
	rep->bad_line = line;
	va_start(ap, fmt);
	vsnprintf(rep->why, sizeof(rep->why), fmt, ap);
	va_end(ap);
}

/* Check one line (number n) against the chain; 0 = intact. */
static int
check_line(const char *line, size_t len, size_t n, char prev[65], char *why, size_t whylen)
{
	json_t *e = NULL;
	char hash[65], *text = NULL;
	int bad = 1;

	if (parse_entry(line, len, &e, why, whylen) != 0)
		return 1;
	if (json_integer_value(json_object_get(e, "seq")) != (json_int_t)n) {
		snprintf(why, whylen,
			 "its sequence number is %" JSON_INTEGER_FORMAT ", expected %zu "
			 "(a line before it was deleted or added)",
			 json_integer_value(json_object_get(e, "seq")), n);
		goto out;
	}
	if (strcmp(json_string_value(json_object_get(e, "prev")), prev) != 0) {
		snprintf(why, whylen,
			 "it does not chain to the line before it (prev differs): a line "
			 "was edited, deleted or inserted");
		goto out;
	}
	if (entry_hash(e, hash) != 0) {
		snprintf(why, whylen, "its hash cannot be computed");
		goto out;
	}
	if (strcmp(hash, json_string_value(json_object_get(e, "hash"))) != 0) {
		snprintf(why, whylen, "its content does not match its hash: the line was edited");
		goto out;
	}
	if ((text = canonical(e)) == NULL || strlen(text) != len || memcmp(text, line, len) != 0) {
		snprintf(why, whylen, "it is not in canonical form: the line was edited");
		goto out;
	}
	memcpy(prev, hash, 65);
	bad = 0;
out:
	free(text);
	json_decref(e);
	return bad;
}

/* The change (intent entries) still without an outcome while verifying. */
struct open_change {
	int open;
	uint64_t first, last, version;
	char hash[65], action[32];
};

/* Follow intents and outcomes on one intact line (number n). */
static void
track_change(struct open_change *oc, const char *line, size_t len, size_t n, const json_t *history,
	     audit_report *rep)
{
	uint64_t v = 0, first = 0, last = 0;
	int completed = 0;
	json_t *e;

	if (memmem(line, len, "\"state_version\"", 15) == NULL &&
	    memmem(line, len, "completed\"", 10) == NULL)
		return;
	if ((e = json_loadb(line, len, 0, NULL)) == NULL)
		return;
	if (intent_version(e, &v)) {
		if (oc->open && oc->last + 1 == n && oc->version == v) {
			oc->last = n;
		} else if (oc->open) {
			mark_bad(rep, n,
				 "line %zu: a change begins while the change at lines %" PRIu64
				 "-%" PRIu64 " has no outcome: an entry was deleted",
				 n, oc->first, oc->last);
		} else {
			oc->open = 1;
			oc->first = oc->last = n;
			oc->version = v;
			snprintf(oc->hash, sizeof(oc->hash), "%s",
				 json_string_value(json_object_get(e, "hash")));
			snprintf(oc->action, sizeof(oc->action), "%s",
				 json_string_value(json_object_get(e, "action")));
		}
	} else if (outcome_of(e, &first, &last, &completed)) {
		if (!oc->open || first != oc->first || last != oc->last)
			mark_bad(rep, n,
				 "line %zu: the outcome of lines %" PRIu64 "-%" PRIu64
				 ", which are not the open change",
				 n, first, last);
		else if (!completed && history != NULL && history_has(history, first, oc->hash))
			mark_bad(rep, n,
				 "line %zu says the change at lines %" PRIu64 "-%" PRIu64
				 " did not complete, but the token's state carries it",
				 n, first, last);
		oc->open = 0;
	}
	json_decref(e);
}

int
audit_verify(const char *path, const json_t *history, audit_report *rep)
{
	struct anchor *anchors = NULL;
	struct open_change oc;
	size_t n_anchors = 0, ai = 0, cap = 0, n = 0;
	char prev[65] = ZERO_HASH, why[300], *line = NULL;
	int broken = 0, r;
	ssize_t got;
	FILE *f = NULL;

	memset(&oc, 0, sizeof(oc));

	memset(rep, 0, sizeof(*rep));
	if ((r = collect_anchors(history, &anchors, &n_anchors)) != 0)
		return r;
	if ((f = fopen(path, "re")) == NULL) {
		if (errno == ENOENT && n_anchors == 0) {
			free(anchors);
			return 0; /* nothing journalled yet */
		}
		r = p11s_fail(P11S_E_IO, "cannot open the audit journal %s: %s", path,
			      strerror(errno));
		goto out;
	}
	while ((got = getline(&line, &cap, f)) > 0) {
		size_t len = (size_t)got;

		n++;
		if (line[len - 1] != '\n') {
			mark_bad(rep, n,
				 "line %zu is incomplete (no newline at the end of the file)", n);
			broken = 1;
		} else {
			len--;
		}
		if (!broken && check_line(line, len, n, prev, why, sizeof(why)) != 0) {
			mark_bad(rep, n, "line %zu: %s", n, why);
			broken = 1;
		}
		if (!broken)
			track_change(&oc, line, len, n, history, rep);
		for (; ai < n_anchors && anchors[ai].seq <= n; ai++) {
			char h[65];
			json_t *e = NULL;

			if (anchors[ai].seq != n)
				continue;
			if (parse_entry(line, len, &e, why, sizeof(why)) != 0 ||
			    entry_hash(e, h) != 0 || strcmp(h, anchors[ai].hash) != 0 ||
			    strcmp(json_string_value(json_object_get(e, "hash")), h) != 0)
				mark_bad(
				    rep, n,
				    "line %zu differs from the entry the token's state recorded "
				    "for it: the line was edited",
				    n);
			json_decref(e);
		}
	}
	if (ferror(f)) {
		r = p11s_fail(P11S_E_IO, "cannot read the audit journal %s: %s", path,
			      strerror(errno));
		goto out;
	}
	rep->count = n;
	for (; ai < n_anchors; ai++) {
		char at[40];

		p11s_fmt_utc(anchors[ai].at, at, sizeof(at));
		mark_bad(rep, n + 1,
			 "the journal ends at line %zu but the token's state records entry %" PRIu64
			 " (written %s): lines were deleted from the end",
			 n, anchors[ai].seq, at);
		break;
	}
	if (oc.open) {
		char lines[64];

		if (oc.first == oc.last)
			snprintf(lines, sizeof(lines), "line %" PRIu64, oc.first);
		else
			snprintf(lines, sizeof(lines), "lines %" PRIu64 "-%" PRIu64, oc.first,
				 oc.last);
		snprintf(rep->note, sizeof(rep->note),
			 "the last change ('%s' at %s, state version %" PRIu64
			 ") has no outcome entry yet: %s; the next change records it",
			 oc.action, lines, oc.version,
			 history == NULL
			     ? "without the token it cannot be told whether it completed"
			 : history_has(history, oc.first, oc.hash)
			     ? "the token's state carries it, it completed"
			     : "the token's state does not carry it, it did not complete");
	}
	r = 0;
out:
	free(line);
	free(anchors);
	if (f != NULL)
		fclose(f);
	return r;
}

/* ---- signerd: switch observed ------------------------------------------- */

static int
journal_has_switch(audit_txn *x, const char *type, const char *sha1, p11s_time effective,
		   int *found)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t got;
	FILE *f;
	int fd;

	*found = 0;
	if ((fd = open(x->path, O_RDONLY | O_CLOEXEC)) < 0 || (f = fdopen(fd, "r")) == NULL) {
		if (fd >= 0)
			close(fd);
		return p11s_fail(P11S_E_IO, "cannot read the audit journal %s: %s", x->path,
				 strerror(errno));
	}
	while (!*found && (got = getline(&line, &cap, f)) > 0) {
		json_t *e, *d;

		if (strstr(line, "\"switch_observed\"") == NULL)
			continue;
		if ((e = json_loadb(line, (size_t)got, 0, NULL)) == NULL)
			continue;
		d = json_object_get(e, "details");
		*found =
		    json_is_string(json_object_get(e, "action")) &&
		    strcmp(json_string_value(json_object_get(e, "action")), "switch_observed") ==
			0 &&
		    json_is_string(json_object_get(d, "type")) &&
		    strcmp(json_string_value(json_object_get(d, "type")), type) == 0 &&
		    json_is_string(json_object_get(d, "key")) &&
		    strcmp(json_string_value(json_object_get(d, "key")), sha1) == 0 &&
		    json_integer_value(json_object_get(d, "effective")) == (json_int_t)effective;
		json_decref(e);
	}
	free(line);
	fclose(f);
	return 0;
}

int
audit_switch_observed(const signer_conf *c, const char *member, const char *type, const char *sha1,
		      p11s_time effective, int *written)
{
	audit_txn *x = NULL;
	int r, found = 0;

	*written = 0;
	if ((r = audit_begin(c, &x)) != 0)
		return r;
	if ((r = journal_has_switch(x, type, sha1, effective, &found)) != 0 || found)
		goto out;
	if ((r = audit_add(x, audit_os_user(), "switch_observed",
			   json_pack("{s:s, s:s, s:I, s:s}", "type", type, "key", sha1, "effective",
				     (json_int_t)effective, "member", member),
			   p11s_now(), NULL)) != 0 ||
	    (r = audit_commit(x)) != 0)
		goto out;
	*written = 1;
	log_info("switch observed: %s issues with %s since %lld", type, sha1, (long long)effective);
out:
	audit_end(x);
	return r;
}

int
audit_check_line(const char *line, size_t len, size_t n, char prev[65], char *why, size_t whylen)
{
	return check_line(line, len, n, prev, why, whylen);
}

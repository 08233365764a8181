/*
 * The rollover state on the token (SPEC §4); the record format and the write
 * protocol are described in state.h.
 */
#include "config.h"

#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "signer/state.h"

#define STATE_HISTORY_MAX 1000 /* the audit journal keeps the full record */
#define STATE_WRITE_ATTEMPTS 8
#define STATE_VALUE_MAX (4u << 20)

/* ---- serialization ------------------------------------------------------ */

static const struct {
	p11s_keytype kt;
	const char *name;
} keytype_names[] = {
    {P11S_KT_EC_P256, "ec-p256"},
    {P11S_KT_EC_P384, "ec-p384"},
    {P11S_KT_RSA, "rsa"},
};

static const char *
keytype_str(p11s_keytype kt)
{
	for (size_t i = 0; i < sizeof(keytype_names) / sizeof(keytype_names[0]); i++)
		if (keytype_names[i].kt == kt)
			return keytype_names[i].name;
	return "none";
}

static p11s_keytype
keytype_parse(const char *s)
{
	for (size_t i = 0; i < sizeof(keytype_names) / sizeof(keytype_names[0]); i++)
		if (strcmp(keytype_names[i].name, s) == 0)
			return keytype_names[i].kt;
	return P11S_KT_NONE;
}

int
state_new(signer_state **out)
{
	signer_state *st;

	*out = NULL;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return p11s_fail(P11S_E_NOMEM, "out of memory");
	pol_state_init(&st->pol);
	st->proposals = json_array();
	st->history = json_array();
	if (st->proposals == NULL || st->history == NULL) {
		state_free(st);
		return p11s_fail(P11S_E_NOMEM, "out of memory");
	}
	*out = st;
	return 0;
}

void
state_free(signer_state *st)
{
	if (st == NULL)
		return;
	pol_state_free(&st->pol);
	json_decref(st->proposals);
	json_decref(st->history);
	free(st);
}

static json_t *
key_to_json(const pol_key *k)
{
	char *cert = NULL;
	json_t *o;

	if (p11s_b64url_encode(k->cert_der, k->cert_len, &cert) != 0)
		return NULL;
	o = json_pack("{s:s, s:s, s:s, s:i, s:I, s:I, s:I, s:s, s:s}", "sha1", k->sha1, "sha256",
		      k->sha256, "keytype", keytype_str(k->keytype), "bits", (int)k->bits,
		      "not_before", (json_int_t)k->not_before, "not_after",
		      (json_int_t)k->not_after, "removed_at", (json_int_t)k->removed_at, "id",
		      k->id_hex, "cert", cert);
	free(cert);
	return o;
}

static json_t *
type_to_json(const pol_type_state *ts)
{
	json_t *epochs = json_array(), *o = NULL;

	if (epochs == NULL)
		return NULL;
	for (size_t i = 0; i < ts->n_epochs; i++) {
		json_t *e = json_pack("{s:s, s:I, s:I}", "key", ts->epochs[i].key, "effective",
				      (json_int_t)ts->epochs[i].effective, "staged_at",
				      (json_int_t)ts->epochs[i].staged_at);

		if (e == NULL || json_array_append_new(epochs, e) != 0) {
			json_decref(epochs);
			return NULL;
		}
	}
	o = json_pack("{s:s, s:o}", "name", ts->name, "epochs", epochs);
	return o;
}

/* The JSON body (without the digest line). */
static int
state_body(const signer_state *st, char **text)
{
	json_t *doc = NULL, *keys = NULL, *types = NULL;
	int r = P11S_E_NOMEM;

	*text = NULL;
	if ((keys = json_array()) == NULL || (types = json_array()) == NULL)
		goto out;
	for (size_t i = 0; i < st->pol.n_keys; i++)
		if (json_array_append_new(keys, key_to_json(&st->pol.keys[i])) != 0)
			goto out;
	for (size_t i = 0; i < st->pol.n_types; i++)
		if (json_array_append_new(types, type_to_json(&st->pol.types[i])) != 0)
			goto out;
	doc = json_pack("{s:i, s:I, s:I, s:O, s:O, s:O, s:O}", "format", STATE_FORMAT, "version",
			(json_int_t)st->version, "written_at", (json_int_t)st->written_at, "keys",
			keys, "types", types, "proposals", st->proposals, "history", st->history);
	if (doc == NULL)
		goto out;
	if ((*text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		goto out;
	r = 0;
out:
	if (r != 0)
		p11s_fail(r, "cannot serialise the state");
	json_decref(keys);
	json_decref(types);
	json_decref(doc);
	return r;
}

int
state_to_json(const signer_state *st, char **text, size_t *len)
{
	char *body = NULL, digest[65], *out;
	size_t blen;
	int r;

	*text = NULL;
	*len = 0;
	if ((r = state_body(st, &body)) != 0)
		return r;
	blen = strlen(body);
	if ((r = p11s_sha256_hex((const uint8_t *)body, blen, digest)) != 0)
		goto out;
	if ((out = malloc(blen + 1 + 64 + 1)) == NULL) {
		r = p11s_fail(P11S_E_NOMEM, "out of memory");
		goto out;
	}
	memcpy(out, body, blen);
	out[blen] = '\n';
	memcpy(out + blen + 1, digest, 65);
	*text = out;
	*len = blen + 1 + 64;
	r = 0;
out:
	free(body);
	return r;
}

static int
get_time(json_t *o, const char *name, p11s_time *out)
{
	json_t *v = json_object_get(o, name);

	if (!json_is_integer(v))
		return p11s_fail(P11S_E_STATE, "state record: '%s' is missing or not an integer",
				 name);
	*out = (p11s_time)json_integer_value(v);
	return 0;
}

static int
get_str(json_t *o, const char *name, char *out, size_t outlen)
{
	json_t *v = json_object_get(o, name);

	if (!json_is_string(v) || json_string_length(v) >= outlen)
		return p11s_fail(P11S_E_STATE, "state record: '%s' is missing or too long", name);
	memcpy(out, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

static int
key_from_json(json_t *o, pol_state *ps)
{
	pol_key k;
	json_t *v;
	size_t len;
	int r;

	memset(&k, 0, sizeof(k));
	if ((r = get_str(o, "sha1", k.sha1, sizeof(k.sha1))) != 0 ||
	    (r = get_str(o, "sha256", k.sha256, sizeof(k.sha256))) != 0 ||
	    (r = get_str(o, "id", k.id_hex, sizeof(k.id_hex))) != 0 ||
	    (r = get_time(o, "not_before", &k.not_before)) != 0 ||
	    (r = get_time(o, "not_after", &k.not_after)) != 0 ||
	    (r = get_time(o, "removed_at", &k.removed_at)) != 0)
		return r;
	/* Refused here, not by pol_state_put_key (P11S_E_INVAL), so that
	 * load_newest skips the record instead of failing the load. */
	if (k.sha1[0] == '\0')
		return p11s_fail(P11S_E_STATE, "state record: a key has no SHA-1 thumbprint");
	v = json_object_get(o, "keytype");
	if (!json_is_string(v) || (k.keytype = keytype_parse(json_string_value(v))) == P11S_KT_NONE)
		return p11s_fail(P11S_E_STATE, "state record: key %s has an unknown key type",
				 k.sha1);
	v = json_object_get(o, "bits");
	if (!json_is_integer(v) || json_integer_value(v) <= 0 || json_integer_value(v) > 65536)
		return p11s_fail(P11S_E_STATE, "state record: key %s has bad 'bits'", k.sha1);
	k.bits = (unsigned)json_integer_value(v);
	v = json_object_get(o, "cert");
	if (!json_is_string(v) ||
	    p11s_b64url_decode(json_string_value(v), json_string_length(v), &k.cert_der, &len) != 0)
		return p11s_fail(P11S_E_STATE, "state record: key %s has a bad certificate",
				 k.sha1);
	k.cert_len = len;
	r = pol_state_put_key(ps, &k);
	free(k.cert_der);
	return r;
}

static int
type_from_json(json_t *o, pol_state *ps)
{
	pol_type_state *ts, *nt;
	json_t *epochs = json_object_get(o, "epochs"), *e;
	size_t i;
	int r;

	if (!json_is_array(epochs))
		return p11s_fail(P11S_E_STATE, "state record: a type has no epoch list");
	if ((nt = realloc(ps->types, (ps->n_types + 1) * sizeof(*nt))) == NULL)
		return p11s_fail(P11S_E_NOMEM, "out of memory");
	ps->types = nt;
	ts = &ps->types[ps->n_types];
	memset(ts, 0, sizeof(*ts));
	ps->n_types++;
	if ((r = get_str(o, "name", ts->name, sizeof(ts->name))) != 0)
		return r;
	if (json_array_size(epochs) == 0)
		return 0;
	if ((ts->epochs = calloc(json_array_size(epochs), sizeof(*ts->epochs))) == NULL)
		return p11s_fail(P11S_E_NOMEM, "out of memory");
	json_array_foreach(epochs, i, e)
	{
		pol_epoch *ep = &ts->epochs[i];

		if ((r = get_str(e, "key", ep->key, sizeof(ep->key))) != 0 ||
		    (r = get_time(e, "effective", &ep->effective)) != 0 ||
		    (r = get_time(e, "staged_at", &ep->staged_at)) != 0)
			return r;
		if (pol_state_key(ps, ep->key) == NULL)
			return p11s_fail(P11S_E_STATE, "state record: type %s names unknown key %s",
					 ts->name, ep->key);
		if (i > 0 && ep->effective < ts->epochs[i - 1].effective)
			return p11s_fail(P11S_E_STATE,
					 "state record: epochs of %s are out of order", ts->name);
		ts->n_epochs++;
	}
	return 0;
}

/*
 * Parse one record.  *whole is set to 1 once its digest verifies: such a
 * record was written completely by some p11-signer, so a reader that cannot
 * use it must leave it alone (only torn records, *whole == 0, are swept).
 */
static int
parse_record(const char *text, size_t len, signer_state **out, int *whole)
{
	signer_state *st = NULL;
	json_t *doc = NULL, *v, *item;
	json_error_t jerr;
	const char *nl;
	char digest[65];
	p11s_time version = 0;
	size_t i, blen;
	int r;

	*out = NULL;
	*whole = 0;
	nl = len > 65 ? text + len - 65 : NULL;
	if (nl == NULL || *nl != '\n')
		return p11s_fail(P11S_E_STATE, "state record has no digest line (torn)");
	blen = (size_t)(nl - text);
	if ((r = p11s_sha256_hex((const uint8_t *)text, blen, digest)) != 0)
		return r;
	if (CRYPTO_memcmp(digest, nl + 1, 64) != 0)
		return p11s_fail(P11S_E_STATE,
				 "state record digest does not match (torn or altered)");
	*whole = 1;
	if ((doc = json_loadb(text, blen, JSON_REJECT_DUPLICATES, &jerr)) == NULL)
		return p11s_fail(P11S_E_STATE, "state record is not JSON: %s", jerr.text);
	if ((r = state_new(&st)) != 0)
		goto out;
	v = json_object_get(doc, "format");
	if (!json_is_integer(v) || json_integer_value(v) < 1) {
		r = p11s_fail(P11S_E_STATE, "state record has no format number");
		goto out;
	}
	if (json_integer_value(v) > STATE_FORMAT) {
		r = p11s_fail(P11S_E_STATE_FORMAT,
			      "the state on the token was written by a newer p11-signer (format "
			      "%" JSON_INTEGER_FORMAT "); upgrade: this release reads format %d "
			      "and changes nothing",
			      json_integer_value(v), STATE_FORMAT);
		goto out;
	}
	if ((r = get_time(doc, "version", &version)) != 0 ||
	    (r = get_time(doc, "written_at", &st->written_at)) != 0)
		goto out;
	if (version < 0) {
		r = p11s_fail(P11S_E_STATE, "state record has a negative version");
		goto out;
	}
	st->version = (uint64_t)version;
	v = json_object_get(doc, "keys");
	if (!json_is_array(v)) {
		r = p11s_fail(P11S_E_STATE, "state record has no key list");
		goto out;
	}
	json_array_foreach(v, i, item) if ((r = key_from_json(item, &st->pol)) != 0) goto out;
	v = json_object_get(doc, "types");
	if (!json_is_array(v)) {
		r = p11s_fail(P11S_E_STATE, "state record has no type list");
		goto out;
	}
	json_array_foreach(v, i, item) if ((r = type_from_json(item, &st->pol)) != 0) goto out;
	if (json_is_array(v = json_object_get(doc, "proposals"))) {
		json_decref(st->proposals);
		st->proposals = json_incref(v);
	}
	if (json_is_array(v = json_object_get(doc, "history"))) {
		json_decref(st->history);
		st->history = json_incref(v);
	}
	*out = st;
	st = NULL;
	r = 0;
out:
	state_free(st);
	json_decref(doc);
	return r;
}

int
state_from_json(const char *text, size_t len, signer_state **out)
{
	int whole;

	return parse_record(text, len, out, &whole);
}

int
state_log(signer_state *st, p11s_time at, const char *action, json_t *details)
{
	json_t *ev = details != NULL ? details : json_object();

	if (ev == NULL || json_object_set_new(ev, "at", json_integer(at)) != 0 ||
	    json_object_set_new(ev, "action", json_string(action)) != 0 ||
	    json_object_set_new(ev, "version", json_integer((json_int_t)(st->version + 1))) != 0 ||
	    json_array_append_new(st->history, ev) != 0) {
		return p11s_fail(P11S_E_NOMEM, "out of memory");
	}
	while (json_array_size(st->history) > STATE_HISTORY_MAX)
		json_array_remove(st->history, 0);
	return 0;
}

/* ---- storage ------------------------------------------------------------ */

typedef struct label_ver {
	uint64_t version;
	uint64_t nonce;
	const char *label;
} label_ver;

static int
parse_label(const char *label, label_ver *lv)
{
	unsigned long long v, n;
	int end = 0;

	if (sscanf(label, "v%20llu.%16llx%n", &v, &n, &end) != 2 || label[end] != '\0')
		return -1;
	lv->version = v;
	lv->nonce = n;
	lv->label = label;
	return 0;
}

/* Newest first; for one version, the lowest nonce first (the winner). */
static int
cmp_label(const void *a, const void *b)
{
	const label_ver *x = a, *y = b;

	if (x->version != y->version)
		return x->version > y->version ? -1 : 1;
	if (x->nonce != y->nonce)
		return x->nonce < y->nonce ? -1 : 1;
	return 0;
}

static int
list_versions(hsm_token *t, char ***labels, size_t *n, label_ver **lvs, size_t *nlv)
{
	label_ver *v = NULL;
	size_t k = 0;
	int r;

	*lvs = NULL;
	*nlv = 0;
	if ((r = hsm_data_labels(t, STATE_APPLICATION, labels, n)) != 0)
		return r;
	if (*n > 0 && (v = calloc(*n, sizeof(*v))) == NULL) {
		hsm_data_labels_free(*labels, *n);
		*labels = NULL;
		return p11s_fail(P11S_E_NOMEM, "out of memory");
	}
	for (size_t i = 0; i < *n; i++)
		if (parse_label((*labels)[i], &v[k]) == 0)
			k++;
	if (k > 1)
		qsort(v, k, sizeof(*v), cmp_label);
	*lvs = v;
	*nlv = k;
	return 0;
}

/*
 * Read and verify one record: P11S_E_STATE when it is unusable (*whole = 1
 * when its digest verified all the same), P11S_E_STATE_FORMAT when a newer
 * release wrote it.
 */
static int
read_record(hsm_token *t, const char *label, signer_state **out, int *whole)
{
	hsm_data *d = NULL;
	size_t n = 0;
	int r;

	*out = NULL;
	*whole = 0;
	if ((r = hsm_data_read(t, STATE_APPLICATION, label, &d, &n)) != 0)
		return r;
	if (n != 1)
		r = p11s_fail(P11S_E_STATE, "state record %s vanished", label);
	else
		r = parse_record((const char *)d[0].value, d[0].len, out, whole);
	hsm_data_free(d, n);
	return r;
}

/*
 * The newest valid record.  *winner_label (optional) receives its label
 * (pointer into labels).  Unusable records are skipped, and destroyed when
 * `sweep` (only under the host lock, by a writer).
 */
static int
load_newest(hsm_token *t, int sweep, signer_state **out)
{
	char **labels = NULL;
	label_ver *lv = NULL;
	size_t n = 0, nlv = 0, gone;
	int r;

	*out = NULL;
	if ((r = list_versions(t, &labels, &n, &lv, &nlv)) != 0)
		return r;
	for (size_t i = 0; i < nlv; i++) {
		int whole = 0;

		r = read_record(t, lv[i].label, out, &whole);
		if (r == 0)
			break;
		/* a newer release's record stops readers and writers alike: it
		 * is never skipped (that would serve an older state) nor swept */
		if (r != P11S_E_STATE)
			goto out;
		log_warn("skipping unusable state record %s: %s", lv[i].label, p11s_errmsg(r));
		if (whole) {
			log_warn("state record %s is whole (its digest verifies): left in place",
				 lv[i].label);
			continue;
		}
		if (sweep && hsm_data_destroy(t, STATE_APPLICATION, lv[i].label, &gone) != 0)
			log_warn("cannot remove unusable state record %s", lv[i].label);
	}
	if (*out == NULL) {
		if (nlv > 0 && !sweep)
			log_warn("no usable state record among %zu; starting from an empty state",
				 nlv);
		r = state_new(out);
	} else {
		r = 0;
	}
out:
	free(lv);
	hsm_data_labels_free(labels, n);
	return r;
}

int
state_load(hsm_token *t, signer_state **out)
{
	return state_load_since(t, 0, out);
}

int
state_load_since(hsm_token *t, uint64_t loaded, signer_state **out)
{
	signer_state *st = NULL;
	int r;

	*out = NULL;
	if ((r = hsm_lock(t)) != 0)
		return r;
	r = load_newest(t, 0, &st);
	hsm_unlock(t);
	if (r != 0)
		goto out;
	/* Seeing no record (a session that is not logged in sees no private
	 * object) or an older one is never a state to serve. */
	if (st->version < loaded) {
		if (st->version == 0)
			r = p11s_fail(P11S_E_STATE,
				      "no usable state record is visible on the token, but version "
				      "%" PRIu64 " was loaded before; keeping it",
				      loaded);
		else
			r = p11s_fail(P11S_E_STATE,
				      "the newest usable state record on the token is version "
				      "%" PRIu64 ", older than version %" PRIu64
				      " loaded before; keeping it",
				      st->version, loaded);
		goto out;
	}
	*out = st;
	st = NULL;
out:
	state_free(st);
	return r;
}

int
state_peek_version(hsm_token *t, uint64_t *version)
{
	char **labels = NULL;
	label_ver *lv = NULL;
	size_t n = 0, nlv = 0;
	int r;

	*version = 0;
	if ((r = hsm_lock(t)) != 0)
		return r;
	if ((r = list_versions(t, &labels, &n, &lv, &nlv)) == 0 && nlv > 0)
		*version = lv[0].version;
	hsm_unlock(t);
	free(lv);
	hsm_data_labels_free(labels, n);
	return r;
}

/* After creating `mine`, decide: 0 = we won, P11S_E_CONFLICT = retry. */
static int
settle(hsm_token *t, const label_ver *mine)
{
	char **labels = NULL;
	label_ver *lv = NULL;
	size_t n = 0, nlv = 0, gone;
	int r, lost = 0;

	if ((r = list_versions(t, &labels, &n, &lv, &nlv)) != 0)
		return r;
	for (size_t i = 0; i < nlv && !lost; i++) {
		signer_state *other = NULL;
		int whole = 0;

		if (strcmp(lv[i].label, mine->label) == 0)
			break; /* everything before us in sort order beats us, if valid */
		r = read_record(t, lv[i].label, &other, &whole);
		if (r == 0 || r == P11S_E_STATE_FORMAT)
			lost = 1;
		state_free(other);
	}
	if (lost) {
		log_info("state version %" PRIu64 " was written concurrently elsewhere; retrying",
			 mine->version);
		if (hsm_data_destroy(t, STATE_APPLICATION, mine->label, &gone) != 0)
			log_warn("cannot withdraw state record %s", mine->label);
		r = P11S_E_CONFLICT;
		goto out;
	}
	/* We won: older versions and torn leftovers below us go; a whole record
	 * this release cannot parse stays for the release that can. */
	for (size_t i = 0; i < nlv; i++) {
		signer_state *old = NULL;
		int whole = 0;

		if (lv[i].version >= mine->version)
			continue;
		r = read_record(t, lv[i].label, &old, &whole);
		state_free(old);
		if (r != 0 && whole) {
			log_warn("state record %s is whole but unusable here: left in place",
				 lv[i].label);
			continue;
		}
		if (hsm_data_destroy(t, STATE_APPLICATION, lv[i].label, &gone) != 0)
			log_warn("cannot remove old state record %s (harmless)", lv[i].label);
	}
	r = 0;
out:
	free(lv);
	hsm_data_labels_free(labels, n);
	return r;
}

int
state_update(hsm_token *t, state_edit_fn fn, void *arg, signer_state **out)
{
	return state_update_hooked(t, fn, NULL, arg, out);
}

int
state_update_hooked(hsm_token *t, state_edit_fn fn, state_write_hook before_write, void *arg,
		    signer_state **out)
{
	signer_state *st = NULL;
	char *text = NULL, label[64];
	size_t len = 0;
	int r, locked = 0;

	if (out != NULL)
		*out = NULL;
	if ((r = hsm_lock(t)) != 0)
		return r;
	locked = 1;
	for (int attempt = 0; attempt < STATE_WRITE_ATTEMPTS; attempt++) {
		uint64_t nonce = 0;
		label_ver mine;

		state_free(st);
		st = NULL;
		free(text);
		text = NULL;
		if ((r = load_newest(t, 1, &st)) != 0)
			goto out;
		if ((r = fn(st, arg)) != 0)
			goto out;
		st->version++;
		st->written_at = p11s_now();
		if ((r = state_to_json(st, &text, &len)) != 0)
			goto out;
		if (len > STATE_VALUE_MAX) {
			r = p11s_fail(P11S_E_STATE, "state record would be %zu bytes (limit %u)",
				      len, STATE_VALUE_MAX);
			goto out;
		}
		if (RAND_bytes((unsigned char *)&nonce, sizeof(nonce)) != 1) {
			r = p11s_fail(P11S_E_CRYPTO, "no randomness for the state record nonce");
			goto out;
		}
		snprintf(label, sizeof(label), "v%020" PRIu64 ".%016" PRIx64, st->version, nonce);
		if (before_write != NULL && (r = before_write(st, arg)) != 0)
			goto out;
		if ((r = hsm_data_create(t, STATE_APPLICATION, label, (const uint8_t *)text,
					 len)) != 0)
			goto out;
		mine.version = st->version;
		mine.nonce = nonce;
		mine.label = label;
		r = settle(t, &mine);
		if (r == P11S_E_CONFLICT) {
			usleep((useconds_t)(1000u << (attempt < 8 ? attempt : 8)));
			continue;
		}
		if (r != 0)
			goto out;
		if (out != NULL) {
			*out = st;
			st = NULL;
		}
		goto out;
	}
	r = p11s_fail(P11S_E_CONFLICT, "the state kept changing under %d write attempts; try again",
		      STATE_WRITE_ATTEMPTS);
out:
	if (locked)
		hsm_unlock(t);
	free(text);
	state_free(st);
	return r;
}

/* ---- member records ----------------------------------------------------- */

int
member_to_text(const member_record *m, char **text)
{
	json_t *o;

	*text = NULL;
	o = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:s}", "member", m->id, "host", m->host,
		      "pid", (json_int_t)m->pid, "version", (json_int_t)m->version, "checked_at",
		      (json_int_t)m->checked_at, "started_at", (json_int_t)m->started_at,
		      "poll_interval_ms", (json_int_t)m->poll_interval_ms, "boot_id", m->boot_id);
	if (o == NULL || (*text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
		json_decref(o);
		return p11s_fail(P11S_E_NOMEM, "out of memory");
	}
	json_decref(o);
	return 0;
}

/* Copy UTF-8 text into a field of size bytes, cut (when it must be) before
 * a character rather than inside one, so that the field stays valid UTF-8
 * and the record can be written as JSON again. */
static void
copy_field(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);

	if (n >= size) {
		n = size - 1;
		while (n > 0 && ((unsigned char)src[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(dst, src, n);
	dst[n] = '\0';
}

int
member_parse(const uint8_t *value, size_t len, member_record *m)
{
	json_t *o = json_loadb((const char *)value, len, 0, NULL);
	json_int_t pid = 0, ver = 0, chk = 0, start = 0, poll = 0;
	const char *id = NULL, *host = NULL, *boot = NULL;

	memset(m, 0, sizeof(*m));
	if (o == NULL ||
	    json_unpack(o, "{s:s, s:s, s:I, s:I, s:I, s:I, s?I, s?s}", "member", &id, "host", &host,
			"pid", &pid, "version", &ver, "checked_at", &chk, "started_at", &start,
			"poll_interval_ms", &poll, "boot_id", &boot) != 0) {
		json_decref(o);
		return p11s_fail(P11S_E_STATE, "not a member record");
	}
	copy_field(m->id, sizeof(m->id), id);
	copy_field(m->host, sizeof(m->host), host);
	m->pid = (long)pid;
	m->version = (uint64_t)ver;
	m->checked_at = (p11s_time)chk;
	m->started_at = (p11s_time)start;
	m->poll_interval_ms = (int64_t)poll;
	copy_field(m->boot_id, sizeof(m->boot_id), boot != NULL ? boot : "");
	json_decref(o);
	return 0;
}

int
member_write(hsm_token *t, const member_record *m)
{
	char *text = NULL, label[160];
	size_t gone;
	int r;

	if ((r = member_to_text(m, &text)) != 0)
		return r;
	snprintf(label, sizeof(label), "%s", m->id);
	/* Under the host lock nobody on this host sees the gap; a record lost
	 * to a crash here is rewritten at the next heartbeat. */
	if ((r = hsm_lock(t)) != 0)
		goto out;
	if ((r = hsm_data_destroy(t, MEMBER_APPLICATION, label, &gone)) == 0)
		r = hsm_data_create(t, MEMBER_APPLICATION, label, (const uint8_t *)text,
				    strlen(text));
	hsm_unlock(t);
out:
	free(text);
	return r;
}

int
member_list(hsm_token *t, member_record **out, size_t *n)
{
	hsm_data *d = NULL;
	size_t nd = 0, k = 0;
	member_record *m = NULL;
	int r;

	*out = NULL;
	*n = 0;
	if ((r = hsm_data_read(t, MEMBER_APPLICATION, NULL, &d, &nd)) != 0)
		return r;
	if (nd > 0 && (m = calloc(nd, sizeof(*m))) == NULL) {
		r = p11s_fail(P11S_E_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < nd; i++)
		if (member_parse(d[i].value, d[i].len, &m[k]) == 0)
			k++; /* a malformed record is skipped */
	*out = m;
	*n = k;
	m = NULL;
	r = 0;
out:
	free(m);
	hsm_data_free(d, nd);
	return r;
}

int
member_remove(hsm_token *t, const char *id)
{
	size_t gone;

	return hsm_data_destroy(t, MEMBER_APPLICATION, id, &gone);
}

int64_t
member_stale_after(int64_t poll_interval_ms)
{
	int64_t ms = poll_interval_ms > 0 ? poll_interval_ms : 500;
	int64_t s = (MEMBER_STALE_POLLS * ms + 999) / 1000;

	return s > MEMBER_STALE_MIN_S ? s : MEMBER_STALE_MIN_S;
}

int
member_is_stale(p11s_time checked_at, int64_t poll_interval_ms, p11s_time now)
{
	return now - checked_at > member_stale_after(poll_interval_ms);
}

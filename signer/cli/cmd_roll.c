/* signer assign, roll, status, remove: the rollover lifecycle (SPEC §3). */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/parse.h"
#include "common/util.h"
#include "signer/cli/cli.h"
#include "signer/custody.h"
#include "signer/status.h"
#include "signer/timeline_svg.h"
#include "signer/tokens.h"

/* Everything a state edit needs; the edit re-runs the policy on the fresh
 * state under the host lock, so a concurrent change cannot slip between the
 * check and the write. */
struct plan {
	const pol_conf *pc;
	const char *const *types;
	size_t n_types;
	const pol_candidate *cand;
	p11s_time effective; /* 0 with auto */
	int is_auto;
	int replace;
	int dry_run;
	p11s_time now;
	pol_refusal why;
	/* remove */
	const char *type;
	int force;
	int forced_early;
	pol_key victim;
	hsm_token *tok;
	/* journal and custody */
	audit_txn *audit;
	const char *actor;
	char id[65];
	p11s_time expires_at;
};

static json_t *
types_json(const char *const *types, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && i < n; i++)
		json_array_append_new(a, json_string(types[i]));
	return a;
}

/* Exit code of a command that may be refused by policy: a refusal prints its
 * rule and sentence, any other error its reason. */
static int
finish(int r, const pol_refusal *why)
{
	if (r == P11S_E_POLICY && why->rule != POL_OK) {
		fprintf(stderr, "signer: refused (%s): %s\n", pol_rule_name(why->rule), why->msg);
		return EXIT_REFUSED;
	}
	return r == 0 ? EXIT_OK : cli_fail(r);
}

/* Resolve --thumbprint to a key on the token with its candidate facts. */
static int
resolve_key(cli *c, const char *thumb, const char *const *types, size_t n_types, hsm_key_list **l,
	    pol_key *pk, pol_candidate *cand)
{
	const hsm_key_info *ki;
	hsm_token *t;
	int r;

	*l = NULL;
	memset(pk, 0, sizeof(*pk));
	if ((r = cli_token(c, &t)) != 0 || (r = hsm_list_keys(t, l)) != 0 ||
	    (r = cli_find_key(*l, thumb, &ki)) != 0 || (r = cli_pol_key(ki, pk)) != 0)
		return r;
	return cli_candidate(c, ki, pk, types, n_types, cand);
}

static int
check_types(const signer_conf *conf, const char *const *types, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (signer_conf_type_index(conf, types[i]) < 0) {
			char known[512] = "";

			for (size_t k = 0; k < conf->policy.n_types; k++) {
				if (k > 0)
					strncat(known, ", ", sizeof(known) - strlen(known) - 1);
				strncat(known, conf->policy.types[k].name,
					sizeof(known) - strlen(known) - 1);
			}
			return p11s_fail(P11S_E_INVAL, "unknown type '%s'; configured types: %s",
					 types[i], known);
		}
	}
	return 0;
}

/* What assign and roll take from --type and --thumbprint. */
struct key_args {
	char *types_buf;
	const char **types;
	size_t n;
	hsm_key_list *l;
	pol_key pk;
	pol_candidate cand;
};

/* Split and check --type, open the journal (when `journal`), resolve
 * --thumbprint on the token, and point the plan at the result. */
static int
plan_for_key(cli *c, const char *type_arg, const char *thumb, int journal, struct key_args *ka,
	     struct plan *p)
{
	int r;

	if ((r = cli_split_types(type_arg, &ka->types_buf, &ka->types, &ka->n)) != 0 ||
	    (r = check_types(c->conf, ka->types, ka->n)) != 0 ||
	    (journal && (r = audit_begin(c->conf, &p->audit)) != 0) ||
	    (r = resolve_key(c, thumb, ka->types, ka->n, &ka->l, &ka->pk, &ka->cand)) != 0)
		return r;
	p->pc = &c->conf->policy;
	p->types = ka->types;
	p->n_types = ka->n;
	p->cand = &ka->cand;
	p->actor = audit_os_user();
	return 0;
}

static void
key_args_clear(struct key_args *ka)
{
	free(ka->pk.cert_der);
	hsm_key_list_free(ka->l);
	free(ka->types);
	free(ka->types_buf);
	memset(ka, 0, sizeof(*ka));
}

/* ---- assign ------------------------------------------------------------- */

static int
edit_assign(signer_state *st, void *arg)
{
	struct plan *p = arg;
	int r;

	audit_rewind(p->audit);
	if ((r = pol_check_assign(p->pc, &st->pol, p->types, p->n_types, p->cand, p->now,
				  &p->why)) != 0)
		return r;
	if ((r = pol_apply_assign(&st->pol, p->types, p->n_types, p->cand->key, p->now)) != 0)
		return r;
	return cli_journal_edit(p->audit, st, p->actor, "assign",
				json_pack("{s:s, s:o}", "key", p->cand->key->sha1, "types",
					  types_json(p->types, p->n_types)),
				p->now);
}

static int
run_assign(cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"type", required_argument, NULL, 't'},
	    {"thumbprint", required_argument, NULL, 'x'},
	    {NULL, 0, NULL, 0},
	};
	const char *type_arg = NULL, *thumb = NULL;
	struct key_args ka;
	struct plan p;
	int o, r;

	memset(&ka, 0, sizeof(ka));
	memset(&p, 0, sizeof(p));
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 't':
			type_arg = optarg;
			break;
		case 'x':
			thumb = optarg;
			break;
		default:
			return cli_usage(&cli_cmd_assign, "unknown option");
		}
	}
	if (optind < argc)
		return cli_usage(&cli_cmd_assign, "unexpected argument '%s'", argv[optind]);
	if (type_arg == NULL || thumb == NULL)
		return cli_usage(&cli_cmd_assign, "--type and --thumbprint are required");
	if ((r = plan_for_key(c, type_arg, thumb, 1, &ka, &p)) != 0)
		goto out;
	p.now = p11s_now();
	if ((r = audit_state_update(p.audit, c->tok, edit_assign, NULL, &p, NULL)) != 0)
		goto out;
	printf("assigned key %s to", ka.pk.sha1);
	for (size_t i = 0; i < ka.n; i++)
		printf(" %s", ka.types[i]);
	printf("; it issues from now on\n");
out:
	if (r != 0 && p.audit != NULL && cli_exit_code(r) == EXIT_REFUSED)
		cli_journal_refusal(c, p.audit, audit_os_user(), "assign",
				    json_pack("{s:s, s:s}", "types", type_arg, "thumbprint", thumb),
				    r);
	audit_end(p.audit);
	key_args_clear(&ka);
	return finish(r, &p.why);
}

const cli_command cli_cmd_assign = {
    "assign",
    "--type T[,T2] --thumbprint X",
    "Make a key the first key of one or more types (no roll: it issues at once).",
    "  --type T[,T2]    type names from signer.conf\n"
    "  --thumbprint X   SHA-1 or SHA-256 certificate thumbprint, or a unique prefix of\n"
    "                   at least 8 hex digits (case, spaces and colons ignored)\n",
    run_assign,
};

/* ---- status (also used by roll to show the result) ---------------------- */

static void
timeline_event(p11s_time now, p11s_time at, const char *what)
{
	char utc[40], rel[48];

	p11s_fmt_utc(at, utc, sizeof(utc));
	if (at == now) {
		printf("    %s  %-17s %s\n", utc, "", what);
		return;
	}
	cli_fmt_duration(at > now ? at - now : now - at, rel, sizeof(rel));
	printf("    %s  %-8s %-8s %s\n", utc, rel, at > now ? "from now" : "ago", what);
}

/* One line of the text timeline for event e of a type. */
static void
event_text(const pol_event *e, const pol_timeline *tl, char *out, size_t len)
{
	const char *k = e->key;

	switch (e->kind) {
	case POL_EV_SWITCH:
		if (e->role == POL_ROLE_STAGED)
			snprintf(out, len, "switch: %.12s… issues (effective instant)", k);
		else
			snprintf(out, len, "%.12s… issues (current)", k);
		break;
	case POL_EV_PUBLISHED:
		snprintf(out, len, "%.12s… staged: published in the JWKS", k);
		break;
	case POL_EV_TEST_SIGNATURE:
		snprintf(out, len, "%.12s… final test signature by signerd", k);
		break;
	case POL_EV_VERIFIES:
		snprintf(out, len, "%.12s… verifies (effective instant - clock skew)", k);
		break;
	case POL_EV_STOPPED:
		snprintf(out, len, "%.12s… stopped issuing", k);
		break;
	case POL_EV_EXPIRY:
		snprintf(out, len, "%.12s… certificate expires%s", k,
			 e->role == POL_ROLE_CURRENT && tl->staged != NULL ? ": stops verifying"
									   : "");
		break;
	case POL_EV_SAFE_REMOVAL:
		if (e->role == POL_ROLE_PREVIOUS)
			snprintf(out, len,
				 "%.12s… safe to remove ('signer remove --type %s --previous')", k,
				 e->type);
		else
			snprintf(out, len, "%.12s… removable after the switch", k);
		break;
	default:
		snprintf(out, len, "%.12s… %s", k, pol_event_kind_name(e->kind));
		break;
	}
}

/* Rule 3c, loudly: a current key whose certificate is not valid now
 * neither issues nor verifies. */
static void
print_cert_warning(const char *type, const pol_key *k, p11s_time now)
{
	char at[40];

	if (now >= k->not_after) {
		p11s_fmt_utc(k->not_after, at, sizeof(at));
		printf("  !!! CERTIFICATE EXPIRED at %s: key %s issues no token and verifies "
		       "none;\n  !!! %s is down until a roll to a key with a valid certificate "
		       "(signer roll --type %s ...)\n",
		       at, k->sha1, type, type);
	} else if (now < k->not_before) {
		p11s_fmt_utc(k->not_before, at, sizeof(at));
		printf("  !!! CERTIFICATE NOT YET VALID (until %s): key %s issues no token before "
		       "then\n",
		       at, k->sha1);
	}
}

static void
print_type_status(const signer_conf *conf, const signer_state *st, int ti, p11s_time now)
{
	const pol_type_conf *tc = &conf->policy.types[ti];
	pol_event ev[POL_EVENTS_PER_TYPE];
	pol_timeline tl;
	char life[32], lead[32], in[48], what[160];
	size_t n = 0, i;
	int shown_now = 0;

	cli_fmt_duration(tc->token_lifetime, life, sizeof(life));
	cli_fmt_duration(tc->min_lead, lead, sizeof(lead));
	printf("%s (%s, token lifetime %s, minimum lead %s)\n", tc->name, p11s_alg_name(tc->alg),
	       life, lead);
	if (pol_timeline_of(&conf->policy, &st->pol, tc->name, now, &tl) != 0 ||
	    tl.current == NULL ||
	    pol_timeline_events(&conf->policy, &st->pol, tc->name, now, ev, POL_EVENTS_PER_TYPE,
				&n) != 0) {
		printf("  no key yet: 'signer assign --type %s --thumbprint X'\n\n", tc->name);
		return;
	}
	printf("  current   %s\n", tl.current->sha1);
	print_cert_warning(tc->name, tl.current, now);
	if (tl.staged != NULL) {
		cli_fmt_duration(tl.effective - now, in, sizeof(in));
		printf("  staged    %s  effective in %s\n", tl.staged->sha1, in);
	} else {
		printf("  staged    -\n");
	}
	if (tl.previous != NULL)
		printf("  previous  %s  %s\n", tl.previous->sha1,
		       tl.previous_expiry > now ? "still verifies" : "expired, no longer verifies");
	else
		printf("  previous  -\n");
	printf("  timeline:\n");
	for (i = 0; i < n && i < POL_EVENTS_PER_TYPE; i++) {
		if (!shown_now && ev[i].at > now) {
			timeline_event(now, now, "<- now");
			shown_now = 1;
		}
		event_text(&ev[i], &tl, what, sizeof(what));
		timeline_event(now, ev[i].at, what);
	}
	if (!shown_now)
		timeline_event(now, now, "<- now");
	printf("\n");
}

/* The state version that staged `sha1` most recently (0 if unknown). */
static uint64_t
staged_in_version(const signer_state *st, const char *sha1)
{
	json_t *ev;
	size_t i;
	uint64_t v = 0;

	json_array_foreach(st->history, i, ev)
	{
		const char *key = json_string_value(json_object_get(ev, "key"));

		if (json_is_string(json_object_get(ev, "action")) &&
		    strcmp(json_string_value(json_object_get(ev, "action")), "stage") == 0 &&
		    key != NULL && strcmp(key, sha1) == 0)
			v = (uint64_t)json_integer_value(json_object_get(ev, "version"));
	}
	return v;
}

/*
 * signerd members attached to the token: the state version each has loaded,
 * and for every staged roll whether that member has loaded it yet.
 */
static int
print_members(const signer_conf *conf, hsm_token *t, const signer_state *st, p11s_time now,
	      json_t *json_out)
{
	member_record *m = NULL;
	size_t n = 0;
	int r;

	if ((r = member_list(t, &m, &n)) != 0)
		return r;
	if (json_out == NULL)
		printf("members attached to this token: %s\n", n == 0 ? "none" : "");
	for (size_t i = 0; i < n; i++) {
		int current = m[i].version >= st->version;
		int stale = member_is_stale(m[i].checked_at, m[i].poll_interval_ms, now);
		json_t *rolls = json_object();

		if (json_out == NULL && stale)
			printf("  %-32s state v%llu, STALE: last check %llds ago (more than %llds: "
			       "the process is gone or cannot reach the token)\n",
			       m[i].id, (unsigned long long)m[i].version,
			       (long long)(now - m[i].checked_at),
			       (long long)member_stale_after(m[i].poll_interval_ms));
		else if (json_out == NULL)
			printf("  %-32s state v%llu %s, last check %llds ago\n", m[i].id,
			       (unsigned long long)m[i].version,
			       current ? "(up to date)" : "(BEHIND)",
			       (long long)(now - m[i].checked_at));
		for (size_t ti = 0; ti < conf->policy.n_types; ti++) {
			const char *type = conf->policy.types[ti].name;
			pol_timeline tl;
			uint64_t v;

			if (pol_timeline_of(&conf->policy, &st->pol, type, now, &tl) != 0 ||
			    tl.staged == NULL)
				continue;
			v = staged_in_version(st, tl.staged->sha1);
			json_object_set_new(rolls, type, json_boolean(v != 0 && m[i].version >= v));
			if (json_out == NULL)
				printf("  %-32s   staged roll of %s to %.12s…: %s\n", "", type,
				       tl.staged->sha1,
				       v != 0 && m[i].version >= v ? "loaded"
				       : stale			   ? "NOT LOADED (member stale)"
								   : "NOT LOADED YET");
		}
		if (json_out != NULL) {
			json_t *mo = json_pack(
			    "{s:s, s:s, s:I, s:I, s:I, s:b, s:o}", "member", m[i].id, "host",
			    m[i].host, "pid", (json_int_t)m[i].pid, "version",
			    (json_int_t)m[i].version, "checked_at", (json_int_t)m[i].checked_at,
			    "up_to_date", current, "staged_loaded", rolls);

			/* stale: no check for longer than the documented bound */
			if (mo != NULL) {
				json_object_set_new(mo, "stale", json_boolean(stale));
				json_object_set_new(
				    mo, "stale_after",
				    json_integer(member_stale_after(m[i].poll_interval_ms)));
			}
			json_array_append_new(json_out, mo);
		} else
			json_decref(rolls);
	}
	free(m);
	return 0;
}

/* The timeline of every type as SVG into path ("-": standard output),
 * written to path.tmp and renamed, so a reader never sees half a file. */
static int
write_svg(const signer_conf *conf, const signer_state *st, p11s_time now, const char *path)
{
	char *doc = NULL, *tmp = NULL;
	size_t len = 0;
	FILE *f = NULL;
	int r;

	if ((r = timeline_svg(&conf->policy, &st->pol, now, &doc, &len)) != 0)
		goto out;
	if (strcmp(path, "-") == 0) {
		if (fwrite(doc, 1, len, stdout) != len || fflush(stdout) != 0)
			r = p11s_fail(P11S_E_IO, "cannot write the SVG to standard output");
		goto out;
	}
	if (asprintf(&tmp, "%s.tmp", path) < 0) {
		tmp = NULL;
		r = p11s_fail(P11S_E_NOMEM, "out of memory");
		goto out;
	}
	if ((f = fopen(tmp, "we")) == NULL) {
		r = p11s_fail(P11S_E_IO, "cannot create %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (fwrite(doc, 1, len, f) != len || fclose(f) != 0) {
		f = NULL;
		unlink(tmp);
		r = p11s_fail(P11S_E_IO, "cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	f = NULL;
	if (rename(tmp, path) != 0) {
		r = p11s_fail(P11S_E_IO, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	r = 0;
out:
	if (f != NULL) {
		fclose(f);
		unlink(tmp);
	}
	free(tmp);
	free(doc);
	return r;
}

static int
run_status(cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"type", required_argument, NULL, 't'},
	    {"json", no_argument, NULL, 'j'},
	    {"svg", required_argument, NULL, 's'},
	    {NULL, 0, NULL, 0},
	};
	const char *type = NULL, *svg = NULL;
	signer_state *st = NULL;
	tokens_keyset *ks = NULL;
	json_t *doc = NULL, *arr = NULL, *mem = NULL;
	p11s_time now = p11s_now();
	hsm_token *t;
	int o, r, json = 0, ti = -1;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 't':
			type = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 's':
			svg = optarg;
			break;
		default:
			return cli_usage(&cli_cmd_status, "unknown option");
		}
	}
	if (optind < argc)
		return cli_usage(&cli_cmd_status, "unexpected argument '%s'", argv[optind]);
	if (type != NULL && (r = check_types(c->conf, &type, 1)) != 0)
		return cli_fail(r);
	if (type != NULL)
		ti = signer_conf_type_index(c->conf, type);
	if (svg != NULL && (svg[0] == '\0' || json))
		return cli_usage(&cli_cmd_status,
				 svg[0] == '\0' ? "--svg needs a file name (- for standard output)"
						: "--svg and --json cannot be combined");
	if ((r = cli_token(c, &t)) != 0 || (r = cli_load_state(c, &st)) != 0)
		goto out;
	if (svg != NULL) {
		r = write_svg(c->conf, st, now, svg);
		goto out;
	}
	if (json) {
		if ((arr = json_array()) == NULL || (mem = json_array()) == NULL) {
			r = p11s_fail(P11S_E_NOMEM, "out of memory");
			goto out;
		}
		if ((r = tokens_keyset_new(st, &ks)) != 0)
			goto out;
		for (size_t i = 0; i < c->conf->policy.n_types; i++) {
			json_t *tj = NULL;

			if (ti >= 0 && (int)i != ti)
				continue;
			if ((r = status_type_json(c->conf, st, ks, &c->conf->policy.types[i], now,
						  &tj)) != 0)
				goto out;
			if (json_array_append_new(arr, tj) != 0) {
				r = p11s_fail(P11S_E_NOMEM, "out of memory");
				goto out;
			}
		}
		if ((r = print_members(c->conf, t, st, now, mem)) != 0)
			goto out;
		doc = json_pack("{s:I, s:I, s:O, s:O, s:O}", "now", (json_int_t)now,
				"state_version", (json_int_t)st->version, "types", arr, "members",
				mem, "proposals", st->proposals);
		json_dumpf(doc, stdout, JSON_INDENT(2));
		printf("\n");
	} else {
		cli_print_instant(stdout, "now", now);
		printf("token '%s', state version %llu\n\n", hsm_token_label(t),
		       (unsigned long long)st->version);
		for (size_t i = 0; i < c->conf->policy.n_types; i++)
			if (ti < 0 || (int)i == ti)
				print_type_status(c->conf, st, (int)i, now);
		if ((r = print_members(c->conf, t, st, now, NULL)) != 0)
			goto out;
	}
	r = 0;
out:
	json_decref(doc);
	json_decref(arr);
	json_decref(mem);
	tokens_keyset_free(ks);
	state_free(st);
	return r == 0 ? EXIT_OK : cli_fail(r);
}

const cli_command cli_cmd_status = {
    "status",
    "[--type T] [--json | --svg FILE]",
    "Show per type the current, staged and previous keys and a timeline.",
    "  --type T         one type only\n"
    "  --json           machine-readable output: each type as signerd's GET /v1/status\n"
    "                   shows it (RFC 3339 UTC instants, a timeline); \"now\" and the\n"
    "                   members' \"checked_at\" stay in seconds since the epoch\n"
    "  --svg FILE       write the timeline of every type as an SVG picture to FILE\n"
    "                   (- for standard output) instead of printing the status\n",
    run_status,
};

/* ---- roll --------------------------------------------------------------- */

static int
decide_roll(struct plan *p, const pol_state *ps)
{
	if (p->is_auto)
		return pol_auto_effective(p->pc, ps, p->types, p->n_types, p->cand, p->now,
					  p->replace, &p->effective, &p->why);
	return pol_check_roll(p->pc, ps, p->types, p->n_types, p->cand, p->effective, p->now,
			      p->replace, &p->why);
}

static int
edit_roll(signer_state *st, void *arg)
{
	struct plan *p = arg;
	int r;

	p->now = p11s_now();
	audit_rewind(p->audit);
	if ((r = decide_roll(p, &st->pol)) != 0)
		return r;
	if ((r = pol_apply_roll(&st->pol, p->types, p->n_types, p->cand->key, p->effective, p->now,
				p->replace)) != 0)
		return r;
	return cli_journal_edit(p->audit, st, p->actor, "stage",
				json_pack("{s:s, s:o, s:I, s:b}", "key", p->cand->key->sha1,
					  "types", types_json(p->types, p->n_types), "effective",
					  (json_int_t)p->effective, "replace", p->replace),
				p->now);
}

/* quorum > 1: the checked plan becomes a proposal (SPEC §6), not a roll */
static int
edit_propose(signer_state *st, void *arg)
{
	struct plan *p = arg;
	json_t *content = NULL;
	int r;

	p->now = p11s_now();
	audit_rewind(p->audit);
	if ((r = decide_roll(p, &st->pol)) != 0)
		return r;
	if ((r = custody_content(p->pc, &st->pol, p->types, p->n_types, p->cand->key, p->effective,
				 p->replace, p->now, &content)) != 0)
		return r;
	p->expires_at = (p11s_time)json_integer_value(json_object_get(content, "expires_at"));
	if ((r = custody_propose(st, content, p->actor, p->now, p->id)) != 0)
		return r;
	return cli_journal_edit(p->audit, st, p->actor, "propose",
				json_pack("{s:s, s:s, s:o, s:I, s:b, s:I}", "proposal", p->id,
					  "key", p->cand->key->sha1, "types",
					  types_json(p->types, p->n_types), "effective",
					  (json_int_t)p->effective, "replace", p->replace,
					  "expires_at", (json_int_t)p->expires_at),
				p->now);
}

static void
print_plan(const signer_conf *conf, const struct plan *p, const pol_state *ps)
{
	pol_state tmp;

	printf("roll of");
	for (size_t i = 0; i < p->n_types; i++)
		printf(" %s", p->types[i]);
	printf(" to key %s\n", p->cand->key->sha1);
	cli_print_instant(stdout, "  effective", p->effective);
	cli_print_instant(stdout, "  new certificate expires", p->cand->key->not_after);
	/* Show the timeline as it will be, from a scratch copy. */
	pol_state_init(&tmp);
	if (pol_state_copy(ps, &tmp) == 0 &&
	    pol_apply_roll(&tmp, p->types, p->n_types, p->cand->key, p->effective, p->now,
			   p->replace) == 0) {
		signer_state view;

		memset(&view, 0, sizeof(view));
		view.pol = tmp;
		printf("\n");
		for (size_t i = 0; i < p->n_types; i++)
			print_type_status(conf, &view, signer_conf_type_index(conf, p->types[i]),
					  p->now);
		/* and the instant after the switch, where the old key becomes previous */
		for (size_t i = 0; i < p->n_types; i++) {
			pol_timeline tl;

			if (pol_timeline_of(&conf->policy, &tmp, p->types[i], p->effective, &tl) ==
				0 &&
			    tl.previous != NULL)
				cli_print_instant(stdout, "  previous key safe to remove from",
						  tl.safe_removal);
		}
	}
	pol_state_free(&tmp);
}

static int
run_roll(cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"type", required_argument, NULL, 't'},
	    {"thumbprint", required_argument, NULL, 'x'},
	    {"effective-date", required_argument, NULL, 'e'},
	    {"dry-run", no_argument, NULL, 'n'},
	    {"replace", no_argument, NULL, 'r'},
	    {NULL, 0, NULL, 0},
	};
	const char *type_arg = NULL, *thumb = NULL, *date = NULL;
	signer_state *st = NULL;
	struct key_args ka;
	struct plan p;
	int o, r;

	memset(&ka, 0, sizeof(ka));
	memset(&p, 0, sizeof(p));
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 't':
			type_arg = optarg;
			break;
		case 'x':
			thumb = optarg;
			break;
		case 'e':
			date = optarg;
			break;
		case 'n':
			p.dry_run = 1;
			break;
		case 'r':
			p.replace = 1;
			break;
		default:
			return cli_usage(&cli_cmd_roll, "unknown option");
		}
	}
	if (optind < argc)
		return cli_usage(&cli_cmd_roll, "unexpected argument '%s'", argv[optind]);
	if (type_arg == NULL || thumb == NULL || date == NULL)
		return cli_usage(&cli_cmd_roll,
				 "--type, --thumbprint and --effective-date are required");
	if (strcmp(date, "auto") == 0) {
		p.is_auto = 1;
	} else {
		if ((r = p11s_parse_date(date, &p.effective)) != 0)
			return cli_fail(r);
		cli_print_instant(stdout, "effective date accepted as", p.effective);
	}
	if ((r = plan_for_key(c, type_arg, thumb, !p.dry_run, &ka, &p)) != 0)
		goto out;
	if (p.dry_run) {
		if ((r = state_load(c->tok, &st)) != 0)
			goto out;
		p.now = p11s_now();
		if ((r = decide_roll(&p, &st->pol)) != 0)
			goto out;
		printf("dry run: nothing was changed\n");
		if (c->conf->policy.quorum > 1)
			printf("quorum is %u: this would create a proposal for the custodians to "
			       "approve\n",
			       c->conf->policy.quorum);
		print_plan(c->conf, &p, &st->pol);
		goto out;
	}
	if (c->conf->policy.quorum > 1) {
		char exp[40];

		if ((r = audit_state_update(p.audit, c->tok, edit_propose, NULL, &p, &st)) != 0)
			goto out;
		p11s_fmt_utc(p.expires_at, exp, sizeof(exp));
		printf("proposal %s\n", p.id);
		printf("quorum is %u: the roll is staged when %u custodians have approved it with "
		       "'signer approve %.16s --key SOURCE' before %s\n",
		       c->conf->policy.quorum, c->conf->policy.quorum, p.id, exp);
		print_plan(c->conf, &p, &st->pol);
		goto out;
	}
	if ((r = audit_state_update(p.audit, c->tok, edit_roll, NULL, &p, &st)) != 0)
		goto out;
	printf("staged\n");
	print_plan(c->conf, &p, &st->pol);
out:
	if (r != 0 && p.audit != NULL && cli_exit_code(r) == EXIT_REFUSED)
		cli_journal_refusal(c, p.audit, audit_os_user(), "roll",
				    json_pack("{s:s, s:s, s:s}", "types", type_arg, "thumbprint",
					      thumb, "effective", date),
				    r);
	audit_end(p.audit);
	state_free(st);
	key_args_clear(&ka);
	return finish(r, &p.why);
}

const cli_command cli_cmd_roll = {
    "roll",
    "--type T[,T2] --thumbprint X --effective-date D|auto [--dry-run] [--replace]",
    "Stage a roll: from the effective instant key X issues for the types.",
    "  --type T[,T2]          types to roll (a combined certificate rolls all of them)\n"
    "  --thumbprint X         the new key's certificate thumbprint (SHA-1/SHA-256 or a\n"
    "                         unique prefix of at least 8 hex digits)\n"
    "  --effective-date D     RFC 3339 with zone (2012-07-22T06:00:00Z), or the US form\n"
    "                         7/22/2012 6:00:00 AM in the local zone (TZ); 'auto' picks the\n"
    "                         latest instant that satisfies every rule\n"
    "  --dry-run              print the timeline, change nothing\n"
    "  --replace              withdraw a roll already pending for these types (also to\n"
    "                         reschedule the same key to another instant)\n",
    run_roll,
};

/* ---- remove ------------------------------------------------------------- */

static int
edit_remove(signer_state *st, void *arg)
{
	struct plan *p = arg;
	const pol_key *victim;
	int r;

	audit_rewind(p->audit);
	if ((r = pol_check_remove(p->pc, &st->pol, p->type, p->now, p->force, &victim,
				  &p->forced_early, &p->why)) != 0)
		return r;
	if (strcmp(victim->sha1, p->victim.sha1) != 0)
		return p11s_fail(
		    P11S_E_CONFLICT,
		    "the previous key of %s changed while removing; run the command again",
		    p->type);
	if ((r = pol_apply_remove(&st->pol, victim->sha1, p->now)) != 0)
		return r;
	return cli_journal_edit(p->audit, st, p->actor, "remove",
				json_pack("{s:s, s:s, s:b}", "key", p->victim.sha1, "type", p->type,
					  "forced", p->forced_early),
				p->now);
}

/*
 * Destroy the key on the token once the journal holds the change and before
 * the state says "removed": a state that says "removed" for a key that still
 * exists would hide it; the reverse (a crash here) is repaired by running
 * remove again (a missing key is not an error then), and the journal records
 * that change as not completed.
 */
static int
destroy_victim(void *arg)
{
	struct plan *p = arg;
	uint8_t id[HSM_ID_MAX];
	int r, idlen;

	if ((idlen = p11s_unhex(p->victim.id_hex, id, sizeof(id))) < 0)
		return p11s_fail(P11S_E_STATE, "the state holds a malformed CKA_ID for key %s",
				 p->victim.sha1);
	r = hsm_destroy_key(p->tok, id, (size_t)idlen);
	if (r == P11S_E_NOTFOUND) {
		log_info("key %s was already gone from the token", p->victim.sha1);
		r = 0;
	}
	return r;
}

static int
run_remove(cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"type", required_argument, NULL, 't'},
	    {"previous", no_argument, NULL, 'p'},
	    {"force", no_argument, NULL, 'f'},
	    {NULL, 0, NULL, 0},
	};
	signer_state *st = NULL;
	const pol_key *victim;
	struct plan p;
	hsm_token *t;
	int o, r, previous = 0;

	memset(&p, 0, sizeof(p));
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 't':
			p.type = optarg;
			break;
		case 'p':
			previous = 1;
			break;
		case 'f':
			p.force = 1;
			break;
		default:
			return cli_usage(&cli_cmd_remove, "unknown option");
		}
	}
	if (optind < argc)
		return cli_usage(&cli_cmd_remove, "unexpected argument '%s'", argv[optind]);
	if (p.type == NULL || !previous)
		return cli_usage(&cli_cmd_remove, "--type T and --previous are required");
	if ((r = check_types(c->conf, &p.type, 1)) != 0)
		return cli_fail(r);
	p.pc = &c->conf->policy;
	p.now = p11s_now();
	p.actor = audit_os_user();
	if ((r = audit_begin(c->conf, &p.audit)) != 0 || (r = cli_token(c, &t)) != 0 ||
	    (r = cli_load_state(c, &st)) != 0)
		goto out;
	if ((r = pol_check_remove(p.pc, &st->pol, p.type, p.now, p.force, &victim, &p.forced_early,
				  &p.why)) != 0)
		goto out;
	p.victim = *victim;
	p.victim.cert_der = NULL;
	if (p.forced_early)
		fprintf(
		    stderr,
		    "signer: warning: removing key %s before its safe instant: tokens it signed "
		    "that have not expired yet will fail verification\n",
		    victim->sha1);
	p.tok = t;
	if ((r = audit_state_update(p.audit, t, edit_remove, destroy_victim, &p, NULL)) != 0)
		goto out;
	printf("removed previous key %s of %s (private key and certificate destroyed)\n",
	       p.victim.sha1, p.type);
out:
	if (r != 0 && p.audit != NULL && cli_exit_code(r) == EXIT_REFUSED)
		cli_journal_refusal(c, p.audit, audit_os_user(), "remove",
				    json_pack("{s:s, s:b}", "type", p.type, "force", p.force), r);
	audit_end(p.audit);
	state_free(st);
	return finish(r, &p.why);
}

const cli_command cli_cmd_remove = {
    "remove",
    "--type T --previous [--force]",
    "Destroy the previous key of a type and its certificate, once that is safe.",
    "  --type T         the type\n"
    "  --previous       the key that issued before the current one (required)\n"
    "  --force          remove before the safe instant; tokens it signed will fail\n",
    run_remove,
};

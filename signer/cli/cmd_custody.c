/* signer proposals, approve, reject: custodian quorum (SPEC §6). */
#include "config.h"

#include <getopt.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/pin.h"
#include "common/util.h"
#include "signer/cli/cli.h"
#include "signer/custody.h"

#define KEY_FILE_PEEK 64
#define APPROVAL_FILE_MAX (1u << 20) /* an approval is a few hundred bytes */

static void
print_instant_rel(const char *what, p11s_time t, p11s_time now)
{
	char utc[40], rel[48];

	p11s_fmt_utc(t, utc, sizeof(utc));
	cli_fmt_duration(t > now ? t - now : now - t, rel, sizeof(rel));
	printf("  %-10s %s (%s %s)\n", what, utc, rel, t > now ? "from now" : "ago");
}

/* ---- proposals ---------------------------------------------------------- */

static json_t *
proposal_json(const custody_set *set, unsigned quorum, json_t *p, p11s_time now)
{
	json_t *names = NULL, *o;

	(void)custody_count(set, p, &names);
	o = json_pack(
	    "{s:O, s:s, s:O, s:O, s:o, s:I, s:I}", "id", json_object_get(p, "id"), "status",
	    custody_status(p, now), "content", json_object_get(p, "content"), "approvals",
	    json_object_get(p, "approvals"), "approved_by", names != NULL ? names : json_array(),
	    "needed", (json_int_t)quorum, "expires_at",
	    json_integer_value(json_object_get(json_object_get(p, "content"), "expires_at")));
	if (o != NULL && json_object_get(p, "proposed_by") != NULL)
		json_object_set(o, "proposed_by", json_object_get(p, "proposed_by"));
	return o;
}

static void
print_proposal(const json_t *o, p11s_time now)
{
	const json_t *content = json_object_get(o, "content"), *v, *names;
	const char *status = json_string_value(json_object_get(o, "status"));
	size_t i;

	names = json_object_get(o, "approved_by");
	printf("proposal %s\n", json_string_value(json_object_get(o, "id")));
	printf("  status     %s, %zu of %d approvals", status, json_array_size(names),
	       (int)json_integer_value(json_object_get(o, "needed")));
	json_array_foreach(names, i, v) printf("%s%s", i == 0 ? ": " : ", ", json_string_value(v));
	printf("\n  roll       ");
	json_array_foreach(json_object_get(content, "types"), i, v)
	    printf("%s%s", i == 0 ? "" : ",", json_string_value(v));
	printf(" to key %s%s\n", json_string_value(json_object_get(content, "key")),
	       json_is_true(json_object_get(content, "replace")) ? " (replacing a pending roll)"
								 : "");
	print_instant_rel(
	    "effective", (p11s_time)json_integer_value(json_object_get(content, "effective")), now);
	print_instant_rel(
	    "proposed", (p11s_time)json_integer_value(json_object_get(content, "created_at")), now);
	if (json_string_value(json_object_get(o, "proposed_by")) != NULL)
		printf("  by         %s\n", json_string_value(json_object_get(o, "proposed_by")));
	print_instant_rel(strcmp(status, "expired") == 0 ? "expired" : "expires",
			  (p11s_time)json_integer_value(json_object_get(content, "expires_at")),
			  now);
	json_array_foreach(json_object_get(content, "timeline"), i, v)
	{
		char exp[40] = "-", safe[40] = "-";
		json_int_t ce = json_integer_value(json_object_get(v, "current_expires"));
		json_int_t sr = json_integer_value(json_object_get(v, "safe_removal"));

		if (ce > 0)
			p11s_fmt_utc((p11s_time)ce, exp, sizeof(exp));
		if (sr > 0)
			p11s_fmt_utc((p11s_time)sr, safe, sizeof(safe));
		printf("  %s: current %s expires %s; removable from %s\n",
		       json_string_value(json_object_get(v, "type")),
		       json_string_value(json_object_get(v, "current")) != NULL
			   ? json_string_value(json_object_get(v, "current"))
			   : "-",
		       exp, safe);
	}
	printf("\n");
}

static int
run_proposals(cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {NULL, 0, NULL, 0},
	};
	custody_set *set = NULL;
	signer_state *st = NULL;
	json_t *arr = NULL, *p;
	p11s_time now = p11s_now();
	hsm_token *t;
	size_t i;
	int o, r, json = 0;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (o != 'j')
			return cli_usage(&cli_cmd_proposals, "unknown option");
		json = 1;
	}
	if (optind < argc)
		return cli_usage(&cli_cmd_proposals, "unexpected argument '%s'", argv[optind]);
	if ((r = custody_set_load(c->conf, &set)) != 0 || (r = cli_token(c, &t)) != 0 ||
	    (r = state_load(t, &st)) != 0)
		goto out;
	if ((arr = json_array()) == NULL) {
		r = p11s_fail(P11S_E_NOMEM, "out of memory");
		goto out;
	}
	json_array_foreach(st->proposals, i, p)
	    json_array_append_new(arr, proposal_json(set, c->conf->policy.quorum, p, now));
	if (json) {
		json_dumpf(arr, stdout, JSON_INDENT(2));
		printf("\n");
	} else {
		if (json_array_size(arr) == 0)
			printf("no proposals (quorum %u)\n", c->conf->policy.quorum);
		json_array_foreach(arr, i, p) print_proposal(p, now);
	}
	r = 0;
out:
	json_decref(arr);
	state_free(st);
	custody_set_free(set);
	return r == 0 ? EXIT_OK : cli_fail(r);
}

const cli_command cli_cmd_proposals = {
    "proposals",
    "[--json]",
    "List roll proposals: id, plan, approvals so far, status and expiry.",
    "  --json           machine-readable output (instants in seconds since the epoch)\n"
    "Status is pending, expired (can no longer be approved), staged (the quorum was met\n"
    "and the roll is staged) or rejected.\n",
    run_proposals,
};

/* ---- the custodian's signing key ---------------------------------------- */

typedef struct approver {
	EVP_PKEY *key;	  /* private: a file key, or a token key through libp11 */
	X509 *p12_cert;	  /* from a PKCS#12 file (unused beyond identification) */
	hsm_evp_key *tok; /* the custodian's token key (owns what key points to) */
	EVP_PKEY *pub;	  /* public key (owned) */
	p11s_alg alg;
} approver;

/* Done with the custodian's token: its key and session go. */
static void
approver_drop_token(approver *a)
{
	if (a->tok == NULL)
		return;
	EVP_PKEY_free(a->key);
	EVP_PKEY_free(a->pub);
	a->key = a->pub = NULL;
	hsm_evp_free(a->tok);
	a->tok = NULL;
}

static void
approver_clear(approver *a)
{
	approver_drop_token(a);
	EVP_PKEY_free(a->key); /* OpenSSL clears private key components on free */
	X509_free(a->p12_cert);
	EVP_PKEY_free(a->pub);
	memset(a, 0, sizeof(*a));
}

/* A key on the custodian's token, as an OpenSSL key through libp11. */
static int
open_token_key(cli *c, const char *uri, const char *pin, approver *a)
{
	int r;

	if ((r = hsm_evp_open(uri, pin, c->conf->lock_file, &a->tok)) != 0)
		return r;
	a->key = hsm_evp_pkey(a->tok);
	a->pub = a->key;
	if (EVP_PKEY_up_ref(a->key) != 1 || EVP_PKEY_up_ref(a->pub) != 1) {
		a->key = a->pub = NULL;
		return p11s_fail(P11S_E_CRYPTO, "cannot reference the key of %s", uri);
	}
	return 0;
}

static int
open_file_key(const char *path, const char *pass, approver *a)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int r, pem;

	if ((r = p11s_read_file(path, 1u << 20, &buf, &len)) != 0)
		return r;
	pem = len >= 11 &&
	      memmem(buf, len < KEY_FILE_PEEK ? len : KEY_FILE_PEEK, "-----BEGIN", 10) != NULL;
	OPENSSL_cleanse(buf, len);
	free(buf);
	if (pem)
		r = cli_load_key_file(path, pass, &a->key);
	else
		r = cli_load_pkcs12(path, pass, &a->key, &a->p12_cert);
	if (r != 0)
		return r;
	if (EVP_PKEY_up_ref(a->key) != 1)
		return p11s_fail(P11S_E_CRYPTO, "cannot reference the key of %s", path);
	a->pub = a->key;
	return 0;
}

/* One path for file and token keys: OpenSSL signs (libp11 on the token). */
static int
approver_sign(approver *a, const char *msg, size_t len, uint8_t **sig, size_t *siglen)
{
	EVP_MD_CTX *md = NULL;
	int r = P11S_E_CRYPTO;

	*sig = NULL;
	*siglen = 0;
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(md, NULL, a->alg == P11S_ALG_ES384 ? EVP_sha384() : EVP_sha256(),
			       NULL, a->key) != 1 ||
	    EVP_DigestSign(md, NULL, siglen, (const unsigned char *)msg, len) != 1 ||
	    (*sig = malloc(*siglen)) == NULL ||
	    EVP_DigestSign(md, *sig, siglen, (const unsigned char *)msg, len) != 1) {
		log_openssl("signing the approval");
		free(*sig);
		*sig = NULL;
		*siglen = 0;
		r = p11s_fail(P11S_E_CRYPTO, "cannot sign the approval with the custodian's key");
		goto out;
	}
	r = 0;
out:
	EVP_MD_CTX_free(md);
	return r;
}

/* ---- approve ------------------------------------------------------------ */

struct approval_plan {
	const signer_conf *conf;
	custody_set *set;
	audit_txn *audit;
	const char *custodian;
	char id[65];
	json_t *approval;
	const pol_candidate *cand;
	unsigned count;
	int staged;
	p11s_time now;
	pol_refusal why;
};

static int
edit_approve(signer_state *st, void *arg)
{
	struct approval_plan *ap = arg;
	const pol_conf *pc = &ap->conf->policy;
	const char **types = NULL;
	json_t *p, *content, *v, *names = NULL;
	p11s_time effective;
	size_t i, n = 0;
	int r, replace;

	ap->now = p11s_now();
	ap->staged = 0;
	memset(&ap->why, 0, sizeof(ap->why));
	audit_rewind(ap->audit);
	if ((r = custody_find(st, ap->id, &p)) != 0 ||
	    (r = custody_add_approval(ap->set, p, json_deep_copy(ap->approval), ap->now,
				      &ap->count)) != 0 ||
	    (r = cli_journal_edit(
		 ap->audit, st, ap->custodian, "approve",
		 json_pack("{s:s, s:s, s:I, s:i, s:i}", "proposal", ap->id, "custodian",
			   ap->custodian, "approved_at",
			   json_integer_value(json_object_get(ap->approval, "approved_at")),
			   "approvals", (int)ap->count, "quorum", (int)pc->quorum),
		 ap->now)) != 0)
		return r;
	if (ap->count < pc->quorum)
		return 0;
	/* The quorum is met: every §3 check again, now, on the current state. */
	content = json_object_get(p, "content");
	effective = (p11s_time)json_integer_value(json_object_get(content, "effective"));
	replace = json_is_true(json_object_get(content, "replace"));
	if ((types = calloc(json_array_size(json_object_get(content, "types")) + 1,
			    sizeof(*types))) == NULL)
		return p11s_fail(P11S_E_NOMEM, "out of memory");
	json_array_foreach(json_object_get(content, "types"), i, v) types[n++] =
	    json_string_value(v);
	if ((r = pol_check_roll(pc, &st->pol, types, n, ap->cand, effective, ap->now, replace,
				&ap->why)) != 0 ||
	    (r = pol_apply_roll(&st->pol, types, n, ap->cand->key, effective, ap->now, replace)) !=
		0 ||
	    (r = custody_mark_staged(p, ap->now)) != 0)
		goto out;
	(void)custody_count(ap->set, p, &names);
	r = cli_journal_edit(
	    ap->audit, st, ap->custodian, "stage",
	    json_pack("{s:s, s:O, s:I, s:b, s:{s:s, s:O, s:O}}", "key", ap->cand->key->sha1,
		      "types", json_object_get(content, "types"), "effective",
		      (json_int_t)effective, "replace", replace, "quorum", "proposal", ap->id,
		      "custodians", names != NULL ? names : json_null(), "approvals",
		      json_object_get(p, "approvals")),
	    ap->now);
	if (r == 0)
		ap->staged = 1;
out:
	json_decref(names);
	free(types);
	return r;
}

/* The candidate key for a staging approval: rule 1 and 3b facts from the token. */
static int
staging_candidate(cli *c, const json_t *content, hsm_key_list **l, pol_key *pk, pol_candidate *cand)
{
	const char *sha1 = json_string_value(json_object_get(content, "key"));
	const char *sha256 = json_string_value(json_object_get(content, "key_sha256"));
	const hsm_key_info *ki = NULL;
	hsm_token *t;
	int r;

	*l = NULL;
	memset(pk, 0, sizeof(*pk));
	memset(cand, 0, sizeof(*cand));
	if (sha1 == NULL || strlen(sha1) != 40 || sha256 == NULL || strlen(sha256) != 64)
		return p11s_fail(P11S_E_STATE, "the proposal names no valid key");
	if ((r = cli_token(c, &t)) != 0 || (r = hsm_list_keys(t, l)) != 0)
		return r;
	for (size_t i = 0; i < (*l)->n; i++)
		if ((*l)->keys[i].has_cert && strcmp((*l)->keys[i].sha1, sha1) == 0)
			ki = &(*l)->keys[i];
	if (ki == NULL) {
		/* gone from the token: rule 1 refuses it */
		memcpy(pk->sha1, sha1, 41);
		memcpy(pk->sha256, sha256, 65);
		cand->key = pk;
		return 0;
	}
	if ((r = cli_pol_key(ki, pk)) != 0)
		return r;
	{
		const char *types[16];
		size_t n = 0, i;
		json_t *v;

		json_array_foreach(json_object_get(content, "types"), i, v)
		{
			if (json_is_string(v) && n < sizeof(types) / sizeof(types[0]))
				types[n++] = json_string_value(v);
		}
		return cli_candidate(c, ki, pk, types, n, cand);
	}
}

/* Sign the approval of ap->id as ap->custodian at ap->now into ap->approval. */
static int
sign_approval(struct approval_plan *ap, approver *a, const char *cert_sha256)
{
	char *msg = NULL, *sig_b64 = NULL;
	uint8_t *sig = NULL;
	size_t mlen = 0, siglen = 0;
	int r;

	if (ap->now == 0)
		ap->now = p11s_now();
	if ((r = custody_message(ap->id, ap->custodian, ap->now, &msg, &mlen)) != 0 ||
	    (r = approver_sign(a, msg, mlen, &sig, &siglen)) != 0 ||
	    (r = p11s_b64url_encode(sig, siglen, &sig_b64)) != 0)
		goto out;
	ap->approval = json_pack("{s:s, s:I, s:s, s:s, s:s}", "custodian", ap->custodian,
				 "approved_at", (json_int_t)ap->now, "alg", p11s_alg_name(a->alg),
				 "signature", sig_b64, "cert_sha256", cert_sha256);
	r = ap->approval == NULL ? p11s_fail(P11S_E_NOMEM, "out of memory") : 0;
out:
	free(msg);
	free(sig);
	free(sig_b64);
	return r;
}

/* An approval made with --sign-only (parsed by custody_approval_parse). */
static int
load_approval(const char *path, json_t **out, const char **custodian)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int r;

	*out = NULL;
	*custodian = NULL;
	if ((r = p11s_read_file(path, APPROVAL_FILE_MAX, &buf, &len)) != 0)
		return r;
	r = custody_approval_parse((const char *)buf, len, path, out, custodian);
	free(buf);
	return r;
}

static int
run_approve(cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"key", required_argument, NULL, 'k'},
	    {"passphrase", required_argument, NULL, 'P'},
	    {"key-pin", required_argument, NULL, 'p'},
	    {"sign-only", no_argument, NULL, 's'},
	    {"approval", required_argument, NULL, 'a'},
	    {NULL, 0, NULL, 0},
	};
	const char *key_src = NULL, *pass = NULL, *key_pin = NULL, *query, *approval_file = NULL;
	int sign_only = 0;
	struct approval_plan ap;
	hsm_key_list *l = NULL;
	signer_state *st = NULL;
	approver a;
	pol_candidate cand;
	pol_key pk;
	json_t *p, *trial = NULL;
	char sha256[65];
	p11s_time nb, na;
	hsm_token *t;
	unsigned count = 0;
	int o, r;

	memset(&ap, 0, sizeof(ap));
	memset(&a, 0, sizeof(a));
	memset(&pk, 0, sizeof(pk));
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'k':
			key_src = optarg;
			break;
		case 'P':
			pass = optarg;
			break;
		case 'p':
			key_pin = optarg;
			break;
		case 's':
			sign_only = 1;
			break;
		case 'a':
			approval_file = optarg;
			break;
		default:
			return cli_usage(&cli_cmd_approve, "unknown option");
		}
	}
	if (argc - optind != 1)
		return cli_usage(&cli_cmd_approve, "give exactly one proposal ID");
	query = argv[optind];
	if ((key_src == NULL) == (approval_file == NULL))
		return cli_usage(&cli_cmd_approve, "give --key SOURCE, or --approval FILE");
	if (sign_only && key_src == NULL)
		return cli_usage(&cli_cmd_approve, "--sign-only needs --key SOURCE");
	if (sign_only && (strlen(query) != 64 || strspn(query, "0123456789abcdef") != 64))
		return cli_usage(
		    &cli_cmd_approve,
		    "--sign-only needs the whole proposal id (64 lower-case hex digits)");
	if ((pass != NULL && (r = p11s_secret_source_check(pass)) != 0) ||
	    (key_pin != NULL && (r = p11s_secret_source_check(key_pin)) != 0))
		return cli_fail(r);
	if (c->conf->policy.quorum <= 1)
		return cli_fail(p11s_fail(P11S_E_POLICY,
					  "quorum is 1: rolls are staged by 'signer roll' without "
					  "approvals; set [policy] quorum to use proposals"));
	ap.conf = c->conf;
	if ((r = custody_set_load(c->conf, &ap.set)) != 0)
		goto out;
	if (key_src != NULL) {
		if (strncmp(key_src, "pkcs11:", 7) == 0)
			r = open_token_key(c, key_src, key_pin != NULL ? key_pin : c->pin_source,
					   &a);
		else
			r = open_file_key(key_src, pass, &a);
		if (r != 0 || (r = custody_key_alg(a.pub, &a.alg)) != 0)
			goto out;
	} else if ((r = load_approval(approval_file, &ap.approval, &ap.custodian)) != 0) {
		goto out;
	}
	if (sign_only) {
		/* offline: the approval is printed, to be submitted with --approval */
		memcpy(ap.id, query, 65);
		if ((r = custody_identify(ap.set, a.pub, &ap.custodian)) != 0 ||
		    (r = custody_cert_info(ap.set, ap.custodian, sha256, &nb, &na)) != 0 ||
		    (r = sign_approval(&ap, &a, sha256)) != 0)
			goto out;
		json_dumpf(ap.approval, stdout, JSON_COMPACT | JSON_SORT_KEYS);
		printf("\n");
		goto out;
	}
	/* the journal first: without it nothing may change */
	if ((r = audit_begin(c->conf, &ap.audit)) != 0)
		goto out;
	if (key_src != NULL &&
	    ((r = custody_identify(ap.set, a.pub, &ap.custodian)) != 0 ||
	     (r = custody_cert_info(ap.set, ap.custodian, sha256, &nb, &na)) != 0))
		goto out;
	if ((r = cli_token(c, &t)) != 0 || (r = state_load(t, &st)) != 0 ||
	    (r = custody_find(st, query, &p)) != 0)
		goto out;
	memcpy(ap.id, json_string_value(json_object_get(p, "id")), 65);
	ap.now = p11s_now();
	if (key_src != NULL && (r = sign_approval(&ap, &a, sha256)) != 0)
		goto out;
	approver_drop_token(&a); /* done with the custodian's token before the state is locked */
	if (approval_file != NULL &&
	    json_integer_value(json_object_get(ap.approval, "approved_at")) >
		ap.now + c->conf->policy.clock_skew) {
		r = p11s_fail(P11S_E_POLICY, "the approval in %s is dated in the future",
			      approval_file);
		goto out;
	}
	/* every refusal before anything is written: a trial on a copy */
	if ((trial = json_deep_copy(p)) == NULL) {
		r = p11s_fail(P11S_E_NOMEM, "out of memory");
		goto out;
	}
	if ((r = custody_add_approval(ap.set, trial, json_deep_copy(ap.approval), ap.now,
				      &count)) != 0)
		goto out;
	if ((r = staging_candidate(c, json_object_get(p, "content"), &l, &pk, &cand)) != 0)
		goto out;
	ap.cand = &cand;
	if ((r = audit_state_update(ap.audit, t, edit_approve, NULL, &ap, NULL)) != 0)
		goto out;
	printf("approved proposal %s as custodian %s (%u of %u)\n", ap.id, ap.custodian, ap.count,
	       c->conf->policy.quorum);
	if (ap.staged)
		printf(
		    "the quorum is met: the roll is staged; 'signer status' shows its timeline\n");
	else
		printf("the roll stays a proposal until %u more custodian%s approve%s it\n",
		       c->conf->policy.quorum - ap.count,
		       c->conf->policy.quorum - ap.count == 1 ? "" : "s",
		       c->conf->policy.quorum - ap.count == 1 ? "s" : "");
	r = 0;
out:
	if (r != 0 && cli_exit_code(r) == EXIT_REFUSED)
		cli_journal_refusal(
		    c, ap.audit,
		    ap.custodian != NULL && key_src != NULL ? ap.custodian : audit_os_user(),
		    "approve",
		    json_pack("{s:s, s:s}", "proposal", ap.id[0] ? ap.id : query, "key",
			      key_src == NULL			    ? "approval file"
			      : strncmp(key_src, "pkcs11:", 7) == 0 ? key_src
								    : "key file"),
		    r);
	audit_end(ap.audit);
	json_decref(trial);
	json_decref(ap.approval);
	free(pk.cert_der);
	hsm_key_list_free(l);
	state_free(st);
	approver_clear(&a);
	custody_set_free(ap.set);
	if (r == P11S_E_POLICY && ap.why.rule != POL_OK) {
		fprintf(
		    stderr,
		    "signer: refused (%s): %s\nsigner: the roll was not staged and the approval "
		    "was not recorded; propose the roll again with a safe plan\n",
		    pol_rule_name(ap.why.rule), ap.why.msg);
		return EXIT_REFUSED;
	}
	return r == 0 ? EXIT_OK : cli_fail(r);
}

const cli_command cli_cmd_approve = {
    "approve",
    "ID --key SOURCE [--passphrase SOURCE] [--key-pin SOURCE] [--sign-only] | ID --approval FILE",
    "Approve a roll proposal as a custodian; at the quorum the roll is staged.",
    "  ID                   the proposal id, or a unique prefix of at least 8 hex digits\n"
    "  --key SOURCE         the custodian's own key: a PEM private key file, a PKCS#12\n"
    "                       file, or a PKCS#11 URI of a key on the custodian's token\n"
    "                       (pkcs11:token=T;object=LABEL?module-path=/path/module.so)\n"
    "  --passphrase SOURCE  passphrase of an encrypted PEM or PKCS#12 file\n"
    "                       (file:PATH, env:NAME, fd:N or prompt)\n"
    "  --key-pin SOURCE     PIN of the custodian's token (default: the global --pin)\n"
    "  --sign-only          print the signed approval (JSON) instead of storing it: for\n"
    "                       custodians without access to the service token; needs the\n"
    "                       whole 64-digit ID\n"
    "  --approval FILE      store an approval made with --sign-only\n"
    "The key must match the certificate of a [custodian NAME] in signer.conf that is valid\n"
    "now.  The approval that meets the quorum re-runs every rollover rule at that moment\n"
    "and stages the roll only if they all pass.\n",
    run_approve,
};

/* ---- reject ------------------------------------------------------------- */

struct reject_plan {
	audit_txn *audit;
	const char *query;
	const char *reason;
	char id[65];
};

static int
edit_reject(signer_state *st, void *arg)
{
	struct reject_plan *rp = arg;
	p11s_time now = p11s_now();
	json_t *p;
	int r;

	audit_rewind(rp->audit);
	if ((r = custody_find(st, rp->query, &p)) != 0)
		return r;
	memcpy(rp->id, json_string_value(json_object_get(p, "id")), 65);
	if ((r = custody_reject(p, audit_os_user(), rp->reason, now)) != 0)
		return r;
	return cli_journal_edit(rp->audit, st, audit_os_user(), "reject",
				json_pack("{s:s, s:s?}", "proposal", rp->id, "reason", rp->reason),
				now);
}

static int
run_reject(cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"reason", required_argument, NULL, 'r'},
	    {NULL, 0, NULL, 0},
	};
	struct reject_plan rp;
	hsm_token *t;
	int o, r;

	memset(&rp, 0, sizeof(rp));
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (o != 'r')
			return cli_usage(&cli_cmd_reject, "unknown option");
		rp.reason = optarg;
	}
	if (argc - optind != 1)
		return cli_usage(&cli_cmd_reject, "give exactly one proposal ID");
	rp.query = argv[optind];
	if ((r = audit_begin(c->conf, &rp.audit)) != 0 || (r = cli_token(c, &t)) != 0 ||
	    (r = audit_state_update(rp.audit, t, edit_reject, NULL, &rp, NULL)) != 0)
		goto out;
	printf("rejected proposal %s; it can no longer be approved\n", rp.id);
out:
	if (r != 0 && cli_exit_code(r) == EXIT_REFUSED)
		cli_journal_refusal(c, rp.audit, audit_os_user(), "reject",
				    json_pack("{s:s}", "proposal", rp.query), r);
	audit_end(rp.audit);
	return r == 0 ? EXIT_OK : cli_fail(r);
}

const cli_command cli_cmd_reject = {
    "reject",
    "ID [--reason TEXT]",
    "Withdraw a roll proposal (recorded); it can no longer be approved.",
    "  ID               the proposal id, or a unique prefix of at least 8 hex digits\n"
    "  --reason TEXT    why, for the record\n",
    run_reject,
};

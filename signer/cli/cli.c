/* signer — the operators' and key custodians' command line (SPEC §8). */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <openssl/x509.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/harden.h"
#include "common/log.h"
#include "common/parse.h"
#include "common/pin.h"
#include "common/util.h"
#include "signer/cli/cli.h"
#include "signer/custody.h"
#include "signer/jose/jose.h"
#include "signer/keytest.h"

static const cli_command *const commands[] = {
    &cli_cmd_keygen, &cli_cmd_csr,    &cli_cmd_import,	  &cli_cmd_list,
    &cli_cmd_assign, &cli_cmd_roll,   &cli_cmd_status,	  &cli_cmd_remove,
    &cli_cmd_issue,  &cli_cmd_verify, &cli_cmd_proposals, &cli_cmd_approve,
    &cli_cmd_reject, &cli_cmd_audit,  &cli_cmd_pool,	  &cli_cmd_config,
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void
main_usage(FILE *f)
{
	fprintf(f,
		"usage: signer [--config FILE] [--token URI] [--pin SOURCE] COMMAND [OPTIONS]\n\n"
		"  --config FILE   configuration (default $SIGNER_CONFIG, then %s)\n"
		"  --token URI     PKCS#11 URI of the token (overrides [token] uri)\n"
		"  --pin SOURCE    file:PATH, env:NAME, fd:N, credential:NAME (systemd) or "
		"prompt;\n"
		"                  where to read the PIN, never the PIN itself\n"
		"  -v, --verbose   log more (repeat for debug)\n\n"
		"commands:\n",
		SIGNER_DEFAULT_CONFIG);
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(f, "  %-9s %s\n", commands[i]->name, commands[i]->summary);
	fprintf(f, "\n'signer COMMAND --help' describes a command.  Exit codes: 0 success, "
		   "1 refused by policy or invalid token, 2 usage error, 3 token/HSM error.\n");
}

int
cli_exit_code(int err)
{
	/* One classification for the CLI and signerd (common/error.h). */
	switch (p11s_err_classify(err)) {
	case P11S_CLASS_OK:
		return EXIT_OK;
	case P11S_CLASS_REFUSED:
		return EXIT_REFUSED;
	case P11S_CLASS_USAGE:
		return EXIT_USAGE;
	case P11S_CLASS_TOKEN_TRANSIENT:
	case P11S_CLASS_TOKEN_FATAL:
	case P11S_CLASS_STATE:
	case P11S_CLASS_INTERNAL:
	default:
		return EXIT_TOKEN;
	}
}

int
cli_fail(int err)
{
	fprintf(stderr, "signer: %s\n", p11s_errmsg(err));
	return cli_exit_code(err);
}

static void
command_help(const cli_command *cmd, FILE *f)
{
	fprintf(f, "usage: signer [global options] %s %s\n\n%s\n%s", cmd->name, cmd->usage,
		cmd->summary, cmd->help);
}

int
cli_usage(const cli_command *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "signer %s: ", cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: signer %s %s\n(see 'signer %s --help')\n", cmd->name, cmd->usage,
		cmd->name);
	return EXIT_USAGE;
}

int
cli_wants_help(const cli_command *cmd, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			command_help(cmd, stdout);
			return 1;
		}
	}
	return 0;
}

int
cli_token(cli *c, hsm_token **out)
{
	hsm_open_params p;
	int r;

	*out = NULL;
	if (c->tok == NULL) {
		memset(&p, 0, sizeof(p));
		p.uri = c->token_uri;
		p.lock_file = c->conf->lock_file;
		p.pin_source = c->pin_source;
		if ((r = hsm_open(&p, &c->tok)) != 0)
			return r;
	}
	*out = c->tok;
	return 0;
}

int
cli_load_state(cli *c, signer_state **out)
{
	signer_state *st = NULL;
	hsm_token *t;
	int r;

	*out = NULL;
	if ((r = cli_token(c, &t)) != 0 || (r = state_load(t, &st)) != 0)
		return r;
	if ((r = custody_filter(c->conf, st)) != 0) {
		state_free(st);
		return r;
	}
	*out = st;
	return 0;
}

int
cli_journal_edit(audit_txn *x, signer_state *st, const char *actor, const char *action,
		 json_t *details, p11s_time now)
{
	json_t *anchor = NULL, *copy;
	int r;

	if (details == NULL || (copy = json_deep_copy(details)) == NULL ||
	    json_object_set_new(copy, "state_version",
				json_integer((json_int_t)(st->version + 1))) != 0) {
		json_decref(details);
		return p11s_fail(P11S_E_NOMEM, "out of memory");
	}
	if ((r = audit_add(x, actor, action, copy, now, &anchor)) != 0) {
		json_decref(details);
		return r;
	}
	if (json_object_set_new(details, "journal", anchor) != 0) {
		json_decref(details);
		return p11s_fail(P11S_E_NOMEM, "out of memory");
	}
	return state_log(st, now, action, details);
}

void
cli_journal_refusal(cli *c, audit_txn *x, const char *actor, const char *attempt, json_t *details,
		    int err)
{
	char reason[700];
	int r;

	snprintf(reason, sizeof(reason), "%s", p11s_errmsg(err));
	if (details == NULL)
		details = json_object();
	if (details != NULL) {
		json_object_set_new(details, "attempt", json_string(attempt));
		json_object_set_new(details, "reason", json_string(reason));
	}
	if (x != NULL) {
		audit_rewind(x);
		if ((r = audit_add(x, actor, "refused", details, p11s_now(), NULL)) == 0)
			r = audit_commit(x);
	} else {
		r = audit_append(c->conf, actor, "refused", details);
	}
	if (r != 0)
		fprintf(stderr, "signer: warning: the refusal could not be journalled: %s\n",
			p11s_errmsg(r));
	/* keep the refusal's own message for the caller */
	p11s_fail(err, "%s", reason);
}

int
cli_find_key(const hsm_key_list *l, const char *thumbprint, const hsm_key_info **out)
{
	const char **sha1 = NULL, **sha256 = NULL;
	const hsm_key_info **map = NULL;
	char norm[65];
	size_t n = 0, idx;
	int r;

	*out = NULL;
	if ((r = p11s_thumbprint_normalize(thumbprint, norm)) != 0)
		return r;
	if ((sha1 = calloc(l->n + 1, sizeof(*sha1))) == NULL ||
	    (sha256 = calloc(l->n + 1, sizeof(*sha256))) == NULL ||
	    (map = calloc(l->n + 1, sizeof(*map))) == NULL) {
		r = p11s_fail(P11S_E_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < l->n; i++) {
		if (!l->keys[i].has_cert)
			continue;
		sha1[n] = l->keys[i].sha1;
		sha256[n] = l->keys[i].sha256;
		map[n] = &l->keys[i];
		n++;
	}
	if ((r = p11s_thumbprint_match(norm, sha1, sha256, n, &idx)) != 0)
		goto out;
	*out = map[idx];
out:
	free(sha1);
	free(sha256);
	free(map);
	return r;
}

static int
asn1_to_time(const ASN1_TIME *a, p11s_time *out)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(a, &tm) != 1)
		return p11s_fail(P11S_E_CRYPTO, "certificate has an unreadable validity date");
	*out = (p11s_time)timegm(&tm);
	return 0;
}

int
cli_pol_key(const hsm_key_info *ki, pol_key *out)
{
	unsigned char *der = NULL;
	int len, r;

	memset(out, 0, sizeof(*out));
	if (!ki->has_cert)
		return p11s_fail(P11S_E_NOTFOUND, "key %s has no certificate on the token",
				 ki->label != NULL ? ki->label : "(no label)");
	if ((r = asn1_to_time(X509_get0_notBefore(ki->cert), &out->not_before)) != 0 ||
	    (r = asn1_to_time(X509_get0_notAfter(ki->cert), &out->not_after)) != 0)
		return r;
	if ((len = i2d_X509(ki->cert, &der)) <= 0)
		return p11s_fail(P11S_E_CRYPTO, "cannot encode the certificate");
	memcpy(out->sha1, ki->sha1, sizeof(out->sha1));
	memcpy(out->sha256, ki->sha256, sizeof(out->sha256));
	out->keytype = ki->keytype;
	out->bits = ki->bits;
	p11s_hex(ki->id, ki->id_len, out->id_hex);
	/* i2d allocates with OPENSSL_malloc; keep ownership rules simple (free()). */
	if ((out->cert_der = malloc((size_t)len)) == NULL) {
		OPENSSL_free(der);
		return p11s_fail(P11S_E_NOMEM, "out of memory");
	}
	memcpy(out->cert_der, der, (size_t)len);
	out->cert_len = (size_t)len;
	OPENSSL_free(der);
	return 0;
}

int
cli_candidate(cli *c, const hsm_key_info *ki, const pol_key *pk, const char *const *types,
	      size_t n_types, pol_candidate *out)
{
	static _Thread_local char why[480]; /* out lives no longer than this thread */
	p11s_alg natural = p11s_alg_natural(ki->keytype), done[8];
	EVP_PKEY *pub;
	hsm_token *t;
	size_t n_done = 0;
	int r;

	memset(out, 0, sizeof(*out));
	out->key = pk;
	out->on_token = ki->has_private && ki->has_cert;
	if (!out->on_token || natural == P11S_ALG_NONE)
		return 0;
	if ((r = cli_token(c, &t)) != 0)
		return r;
	pub = X509_get0_pubkey(ki->cert);
	/* Rule 1: the certificate belongs to the private key, shown by a
	 * signature of the key's own kind verifying with the certificate. */
	r = signer_test_signature(t, ki->id, ki->id_len, natural, pub, pk->sha1, pk->sha256);
	if (r != 0 && r != P11S_E_KEY_MISMATCH) {
		log_warn("%s", p11s_errmsg(r));
		return 0;
	}
	out->cert_matches_key = (r == 0);
	out->test_signature_ok = out->cert_matches_key;
	if (!out->cert_matches_key)
		return 0;
	done[n_done++] = natural;
	/* Rule 3b: a test signature with each algorithm the key is for (PS256
	 * needs the token's PSS mechanism, which RS256 never touches).  A type
	 * whose algorithm does not fit the key is refused by rule 1 instead. */
	for (size_t i = 0; i < n_types; i++) {
		int ti = signer_conf_type_index(c->conf, types[i]);
		p11s_alg alg;
		int seen = 0;

		if (ti < 0)
			continue;
		alg = c->conf->policy.types[ti].alg;
		if (!p11s_alg_fits(alg, ki->keytype, ki->bits))
			continue;
		for (size_t k = 0; k < n_done; k++)
			seen |= done[k] == alg;
		if (seen || n_done == sizeof(done) / sizeof(done[0]))
			continue;
		done[n_done++] = alg;
		if ((r = signer_test_signature(t, ki->id, ki->id_len, alg, pub, pk->sha1,
					       pk->sha256)) != 0) {
			snprintf(why, sizeof(why), "%s", p11s_errmsg(r));
			p11s_err_clear();
			out->test_signature_ok = 0;
			out->test_signature_error = why;
			return 0;
		}
	}
	return 0;
}

int
cli_split_types(const char *arg, char **buf, const char ***types, size_t *n)
{
	const char **v = NULL;
	size_t cap = 1, k = 0;
	char *save = NULL, *tok;

	*buf = NULL;
	*types = NULL;
	*n = 0;
	for (const char *p = arg; *p != '\0'; p++)
		cap += (*p == ',');
	if ((*buf = strdup(arg)) == NULL || (v = calloc(cap, sizeof(*v))) == NULL) {
		free(*buf);
		*buf = NULL;
		return p11s_fail(P11S_E_NOMEM, "out of memory");
	}
	for (tok = strtok_r(*buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save))
		if (*tok != '\0')
			v[k++] = tok;
	if (k == 0) {
		free(v);
		free(*buf);
		*buf = NULL;
		return p11s_fail(P11S_E_INVAL, "--type needs at least one type name (T or T1,T2)");
	}
	*types = v;
	*n = k;
	return 0;
}

void
cli_print_instant(FILE *f, const char *what, p11s_time t)
{
	char utc[40], local[48];

	p11s_fmt_utc(t, utc, sizeof(utc));
	p11s_fmt_local(t, local, sizeof(local));
	fprintf(f, "%s %s (local %s)\n", what, utc, local);
}

void
cli_fmt_duration(int64_t s, char *out, size_t len)
{
	char *p = out;
	size_t left = len;
	int n;

	if (s < 0) {
		n = snprintf(p, left, "-");
		p += n;
		left -= (size_t)n;
		s = -s;
	}
	if (s == 0) {
		snprintf(p, left, "0s");
		return;
	}
	if (s >= 86400 && left > 1) {
		n = snprintf(p, left, "%lldd", (long long)(s / 86400));
		p += n, left -= (size_t)n, s %= 86400;
	}
	if (s >= 3600 && left > 1) {
		n = snprintf(p, left, "%lldh", (long long)(s / 3600));
		p += n, left -= (size_t)n, s %= 3600;
	}
	if (s >= 60 && left > 1) {
		n = snprintf(p, left, "%lldm", (long long)(s / 60));
		p += n, left -= (size_t)n, s %= 60;
	}
	if (s > 0 && left > 1)
		snprintf(p, left, "%llds", (long long)s);
}

/*
 * Every command that touches a token needs the configuration file: a
 * missing one is an error naming the file looked for.  `pool check` reads
 * only the URLs it is given, so without a file it runs on the defaults.
 */
static int
load_config(const cli_command *cmd, const char *path, signer_conf **conf)
{
	*conf = NULL;
	if (cmd == &cli_cmd_pool && path == NULL && access(signer_conf_path(NULL), F_OK) != 0)
		return signer_conf_defaults(conf);
	return signer_conf_load_default(path, conf);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"token", required_argument, NULL, 't'},
	    {"pin", required_argument, NULL, 'p'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	const char *config_path = NULL, *token_uri = NULL, *pin = NULL;
	const cli_command *cmd = NULL;
	cli c;
	int o, r, dumps, level = LOG_WARNING;

	p11s_log_init("signer", 0, LOG_WARNING);
	/* before any PIN or key file is read: no core dumps (harden.h) */
	if ((r = p11s_harden_process(&dumps)) != 0)
		return cli_fail(r);
	if (dumps)
		log_warn("core dumps allowed (%s=1): a core file would hold token keys",
			 P11S_COREDUMP_ENV);
	while ((o = getopt_long(argc, argv, "+c:t:p:vhV", opts, NULL)) != -1) {
		switch (o) {
		case 'c':
			config_path = optarg;
			break;
		case 't':
			token_uri = optarg;
			break;
		case 'p':
			pin = optarg;
			break;
		case 'v':
			level = level < LOG_INFO ? LOG_INFO : LOG_DEBUG;
			break;
		case 'h':
			main_usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("signer (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION);
			return EXIT_OK;
		default:
			main_usage(stderr);
			return EXIT_USAGE;
		}
	}
	p11s_log_set_level(level);
	if (optind >= argc) {
		main_usage(stderr);
		return EXIT_USAGE;
	}
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strcmp(argv[optind], commands[i]->name) == 0)
			cmd = commands[i];
	if (cmd == NULL) {
		fprintf(stderr, "signer: unknown command '%s'\n", argv[optind]);
		main_usage(stderr);
		return EXIT_USAGE;
	}
	if (cli_wants_help(cmd, argc - optind, argv + optind))
		return EXIT_OK;
	if (pin != NULL && (r = p11s_secret_source_check(pin)) != 0)
		return cli_fail(r);
	memset(&c, 0, sizeof(c));
	if ((r = load_config(cmd, config_path, &c.conf)) != 0)
		return cli_fail(r);
	c.token_uri = token_uri != NULL ? token_uri : c.conf->token_uri;
	c.pin_source = pin != NULL ? pin : c.conf->token_pin;
	argc -= optind;
	argv += optind;
	optind = 0; /* reset getopt for the command's own options */
	r = cmd->run(&c, argc, argv);
	hsm_close(c.tok);
	signer_conf_free(c.conf);
	return r;
}

/* The signer command line: shared context and helpers of the commands. */
#ifndef P11S_SIGNER_CLI_H
#define P11S_SIGNER_CLI_H

#include <stdio.h>

#include "hsm/hsm.h"
#include "policy/policy.h"
#include "signer/audit.h"
#include "signer/conf.h"
#include "signer/state.h"

enum { EXIT_OK = 0, EXIT_REFUSED = 1, EXIT_USAGE = 2, EXIT_TOKEN = 3 };

typedef struct cli {
	signer_conf *conf;
	const char *token_uri;	/* --token, else conf */
	const char *pin_source; /* --pin, else conf */
	hsm_token *tok;		/* opened lazily by cli_token() */
} cli;

typedef struct cli_command {
	const char *name;
	const char *usage;   /* options synopsis */
	const char *summary; /* one line */
	const char *help;    /* option details */
	int (*run)(cli *c, int argc, char **argv);
} cli_command;

extern const cli_command cli_cmd_keygen, cli_cmd_csr, cli_cmd_import, cli_cmd_list;
extern const cli_command cli_cmd_assign, cli_cmd_roll, cli_cmd_status, cli_cmd_remove;
extern const cli_command cli_cmd_issue, cli_cmd_verify;
extern const cli_command cli_cmd_proposals, cli_cmd_approve, cli_cmd_reject;
extern const cli_command cli_cmd_audit, cli_cmd_pool, cli_cmd_config;

/* Print "signer: <reason>" and return the exit code for err. */
int cli_fail(int err);
/* Usage error for a command: message + hint; returns EXIT_USAGE. */
int cli_usage(const cli_command *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Exit code of an error code (SPEC §8). */
int cli_exit_code(int err);
/* Standard per-command option parsing helper: prints help for --help. */
int cli_wants_help(const cli_command *cmd, int argc, char **argv);

/* Open (once) and log in to the configured token. */
P11S_MUST_CHECK int cli_token(cli *c, hsm_token **out);

/*
 * Load the state for reading (status, list, issue, verify): state_load, then
 * custody_filter, so rolls without a valid quorum are ignored.
 */
P11S_MUST_CHECK int cli_load_state(cli *c, signer_state **out);

/*
 * Journal one event of a state edit (inside the audit_state_update
 * callback): queue it in x with the state version it goes into, and log it in
 * the state's history with its journal anchor.  details: object, stolen.
 */
P11S_MUST_CHECK int cli_journal_edit(audit_txn *x, signer_state *st, const char *actor,
				     const char *action, json_t *details, p11s_time now);
/*
 * Journal a refused attempt (err is the refusal; details: object or NULL,
 * stolen) through x when the caller holds the journal, else on its own.  A
 * journal failure is reported on stderr: the refusal stands either way.
 */
void cli_journal_refusal(cli *c, audit_txn *x, const char *actor, const char *attempt,
			 json_t *details, int err);

/* Key and certificate files (PEM/DER, PKCS#12), as import reads them. */
P11S_MUST_CHECK int cli_load_cert(const char *path, X509 **out);
P11S_MUST_CHECK int cli_load_key_file(const char *path, const char *pass_source, EVP_PKEY **out);
P11S_MUST_CHECK int cli_load_pkcs12(const char *path, const char *pass_source, EVP_PKEY **key,
				    X509 **cert);

/* Find the key whose certificate matches an operator-typed thumbprint. */
P11S_MUST_CHECK int cli_find_key(const hsm_key_list *l, const char *thumbprint,
				 const hsm_key_info **out);
/* Certificate facts of a listed key; out->cert_der is malloc'd (free it). */
P11S_MUST_CHECK int cli_pol_key(const hsm_key_info *ki, pol_key *out);
/*
 * Rule 1 and 3b facts for a key on the token: a test JWT signed with the
 * key's own kind of signature and verified with the certificate (the pair
 * matches), then one with each algorithm of `types` that fits the key
 * (signer_test_signature).  A failed test sets out->test_signature_error.
 */
P11S_MUST_CHECK int cli_candidate(cli *c, const hsm_key_info *ki, const pol_key *pk,
				  const char *const *types, size_t n_types, pol_candidate *out);
/* Split "A,B" into type names (malloc'd array of pointers into *buf). */
P11S_MUST_CHECK int cli_split_types(const char *arg, char **buf, const char ***types, size_t *n);
/* Print an instant as "UTC (local: ...)". */
void cli_print_instant(FILE *f, const char *what, p11s_time t);
/* Human duration "1d2h3m4s". */
void cli_fmt_duration(int64_t s, char *out, size_t len);

#endif

/* signer audit verify: check the hash chain of the audit journal (SPEC §6). */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "signer/audit.h"
#include "signer/cli/cli.h"

static int
run_audit(cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"journal", required_argument, NULL, 'j'},
	    {"no-token", no_argument, NULL, 'n'},
	    {NULL, 0, NULL, 0},
	};
	const char *path = c->conf->journal;
	signer_state *st = NULL;
	audit_report rep;
	hsm_token *t;
	int o, r, no_token = 0;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'j':
			path = optarg;
			break;
		case 'n':
			no_token = 1;
			break;
		default:
			return cli_usage(&cli_cmd_audit, "unknown option");
		}
	}
	if (argc - optind != 1 || strcmp(argv[optind], "verify") != 0)
		return cli_usage(&cli_cmd_audit, "the only subcommand is 'verify'");
	if (path == NULL || *path == '\0')
		return cli_fail(p11s_fail(P11S_E_CONFIG, "no audit journal is configured: set "
							 "[audit] journal or give --journal F"));
	/* the anchors on the token reveal lines deleted from the end */
	if (!no_token && ((r = cli_token(c, &t)) != 0 || (r = state_load(t, &st)) != 0))
		return cli_fail(r);
	r = audit_verify(path, st != NULL ? st->history : NULL, &rep);
	state_free(st);
	if (r != 0)
		return cli_fail(r);
	if (rep.bad_line != 0) {
		printf("audit journal %s: BROKEN at line %zu: %s\n", path, rep.bad_line, rep.why);
		return EXIT_REFUSED;
	}
	printf("audit journal %s: %zu entr%s, chain intact%s\n", path, rep.count,
	       rep.count == 1 ? "y" : "ies",
	       no_token ? " (not compared with the token: lines deleted from the end go unnoticed)"
			: ", consistent with the token's state");
	if (rep.note[0] != '\0')
		printf("note: %s\n", rep.note);
	return EXIT_OK;
}

const cli_command cli_cmd_audit = {
    "audit",
    "verify [--journal F] [--no-token]",
    "Check the audit journal's hash chain; report the first broken line.",
    "  verify           check every line from the first: sequence, chain, hash, canonical\n"
    "                   form; and that the entries the token's state recorded are there\n"
    "  --journal F      another journal file (default: [audit] journal)\n"
    "  --no-token       do not open the token (the chain only)\n"
    "A change is journalled before the state on the token is written, then followed\n"
    "by an entry 'completed' (or, written by the next change after a crash or a\n"
    "failed write, 'not_completed'); a last change without it is reported in a note\n"
    "saying whether the token's state carries it.\n"
    "Exit 0 when intact, 1 when a line was edited, deleted or inserted.\n",
    run_audit,
};

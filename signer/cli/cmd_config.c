/* signer config check: validate the configuration file and print the values in
 * effect, defaults included (like `sshd -T`, `nginx -t`). */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "common/pin.h"
#include "signer/cli/cli.h"

static int
run_config(cli *c, int argc, char **argv)
{
	int r;

	if (argc != 2 || strcmp(argv[1], "check") != 0)
		return cli_usage(&cli_cmd_config, "the only subcommand is 'check'");
	/* main() has loaded and checked the file (a refusal names file, line and key) */
	if ((r = p11s_secret_source_check(c->pin_source)) != 0)
		return cli_fail(r);
	signer_conf_print(c->conf, stdout);
	fprintf(stderr, "signer: configuration %s is valid\n", c->conf->path);
	return EXIT_OK;
}

const cli_command cli_cmd_config = {
    "config",
    "check",
    "Check the configuration file and print the values in effect.",
    "  check   read the file --config, $SIGNER_CONFIG or the default names, refuse it\n"
    "          with the file, line and key of the first error (exit 2), else print\n"
    "          every value in effect, defaults included, in signer.conf syntax\n",
    run_config,
};

/* signer issue, verify. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/parse.h"
#include "common/util.h"
#include "signer/cli/cli.h"
#include "signer/tokens.h"

static int
add_claim(json_t *claims, const char *kv)
{
	const char *eq = strchr(kv, '=');
	char *name;
	int r;

	if (eq == NULL || eq == kv)
		return p11s_fail(P11S_E_INVAL, "--claim '%s' must look like NAME=VALUE", kv);
	if ((name = strndup(kv, (size_t)(eq - kv))) == NULL)
		return p11s_fail(P11S_E_NOMEM, "out of memory");
	if (json_object_get(claims, name) != NULL)
		r = p11s_fail(P11S_E_INVAL, "claim '%s' is given twice", name);
	else if (json_object_set_new(claims, name, json_string(eq + 1)) != 0)
		r = p11s_fail(P11S_E_INVAL, "claim '%s' has a value that is not valid UTF-8", name);
	else
		r = 0;
	free(name);
	return r;
}

static int
run_issue(cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"type", required_argument, NULL, 't'},  {"sub", required_argument, NULL, 's'},
	    {"aud", required_argument, NULL, 'a'},   {"lifetime", required_argument, NULL, 'l'},
	    {"claim", required_argument, NULL, 'c'}, {NULL, 0, NULL, 0},
	};
	tokens_request req;
	tokens_keyset *ks = NULL;
	signer_state *st = NULL;
	hsm_signer *signer = NULL;
	const pol_key *key;
	json_t *claims = json_object();
	char *token = NULL;
	uint8_t id[HSM_ID_MAX];
	p11s_time now, exp;
	hsm_token *t;
	int o, r = 0, ti, idlen;

	memset(&req, 0, sizeof(req));
	if (claims == NULL)
		return cli_fail(p11s_fail(P11S_E_NOMEM, "out of memory"));
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 't':
			req.type = optarg;
			break;
		case 's':
			req.sub = optarg;
			break;
		case 'a':
			req.aud = optarg;
			break;
		case 'l':
			if ((r = p11s_parse_duration(optarg, &req.lifetime)) != 0)
				goto out;
			if (req.lifetime == 0) {
				r = p11s_fail(P11S_E_INVAL, "--lifetime must be at least 1s");
				goto out;
			}
			break;
		case 'c':
			if ((r = add_claim(claims, optarg)) != 0)
				goto out;
			break;
		default:
			json_decref(claims);
			return cli_usage(&cli_cmd_issue, "unknown option");
		}
	}
	if (optind < argc || req.type == NULL || req.sub == NULL) {
		json_decref(claims);
		return cli_usage(&cli_cmd_issue, optind < argc ? "unexpected argument"
							       : "--type and --sub are required");
	}
	req.claims = claims;
	if ((r = cli_token(c, &t)) != 0 || (r = cli_load_state(c, &st)) != 0 ||
	    (r = tokens_keyset_new(st, &ks)) != 0)
		goto out;
	now = p11s_now();
	if ((r = tokens_issuing_key(c->conf, st, &req, now, &key, &ti)) != 0)
		goto out;
	if ((idlen = p11s_unhex(key->id_hex, id, sizeof(id))) < 0) {
		r = p11s_fail(P11S_E_STATE, "the state holds a malformed CKA_ID for key %s",
			      key->sha1);
		goto out;
	}
	if ((r = hsm_signer_open(t, id, (size_t)idlen, c->conf->policy.types[ti].alg, 0,
				 &signer)) != 0 ||
	    (r = tokens_issue(c->conf, ks, ti, key, signer, &req, now, &token, &exp)) != 0)
		goto out;
	if (exp == key->not_after &&
	    exp < now + (req.lifetime > 0 ? req.lifetime
					  : c->conf->policy.types[ti].token_lifetime)) {
		char at[40];

		p11s_fmt_utc(exp, at, sizeof(at));
		fprintf(stderr,
			"signer: note: the token expires at %s, the notAfter of the certificate "
			"of key %s (its lifetime was shortened)\n",
			at, key->sha1);
	}
	printf("%s\n", token);
out:
	free(token);
	hsm_signer_free(signer);
	tokens_keyset_free(ks);
	state_free(st);
	json_decref(claims);
	return r == 0 ? EXIT_OK : cli_fail(r);
}

const cli_command cli_cmd_issue = {
    "issue",
    "--type T --sub S [--aud A] [--lifetime DUR] [--claim K=V]...",
    "Print a JWT signed on the token with the key that issues for T now.",
    "  --type T         token type\n"
    "  --sub S          subject\n"
    "  --aud A          audience (default: the type's configured audience)\n"
    "  --lifetime DUR   90s, 15m, 8h, 1d or seconds; at most the type's token lifetime;\n"
    "                   shortened to end at the key certificate's notAfter\n"
    "  --claim K=V      extra string claim (repeatable); registered claims cannot be set\n",
    run_issue,
};

/*
 * Read the token from a file or standard input.  Only JWT_MAX_LEN + 2 bytes
 * are read: anything longer is reported by jwt_verify as too large, however
 * much larger it is.
 */
static int
read_token(const char *path, char **out, size_t *len)
{
	size_t cap = JWT_MAX_LEN + 2, have = 0;
	int fd = STDIN_FILENO, more = 0;
	char *buf;

	*out = NULL;
	*len = 0;
	if (path != NULL && strcmp(path, "-") != 0 && (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return p11s_fail(P11S_E_IO, "cannot open the token file %s: %s", path,
				 strerror(errno));
	if ((buf = malloc(cap + 1)) == NULL) {
		if (fd != STDIN_FILENO)
			close(fd);
		return p11s_fail(P11S_E_NOMEM, "out of memory");
	}
	for (;;) {
		char extra;
		ssize_t n = have < cap ? read(fd, buf + have, cap - have) : read(fd, &extra, 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			if (fd != STDIN_FILENO)
				close(fd);
			return p11s_fail(P11S_E_IO, "cannot read the token: %s", strerror(errno));
		}
		if (n == 0)
			break;
		if (have == cap) {
			more = 1;
			break;
		}
		have += (size_t)n;
	}
	if (fd != STDIN_FILENO)
		close(fd);
	/* A trailing newline (as `signer issue > f` writes) is not part of a token. */
	while (!more && have > 0 && (buf[have - 1] == '\n' || buf[have - 1] == '\r'))
		have--;
	buf[have] = '\0';
	*out = buf;
	*len = more ? JWT_MAX_LEN + 1 : have;
	return 0;
}

static int
run_verify(cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"type", required_argument, NULL, 't'},
	    {"aud", required_argument, NULL, 'a'},
	    {"token-file", required_argument, NULL, 'f'},
	    {NULL, 0, NULL, 0},
	};
	const char *type = NULL, *aud = NULL, *file = NULL;
	tokens_keyset *ks = NULL;
	signer_state *st = NULL;
	tokens_verdict v;
	json_t *out = NULL;
	char *token = NULL;
	size_t len = 0;
	hsm_token *t;
	int o, r;

	memset(&v, 0, sizeof(v));
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 't':
			type = optarg;
			break;
		case 'a':
			aud = optarg;
			break;
		case 'f':
			file = optarg;
			break;
		default:
			return cli_usage(&cli_cmd_verify, "unknown option");
		}
	}
	if (optind < argc)
		return cli_usage(&cli_cmd_verify, "unexpected argument '%s'", argv[optind]);
	if (type != NULL && signer_conf_type_index(c->conf, type) < 0)
		return cli_fail(p11s_fail(P11S_E_INVAL, "unknown type '%s'", type));
	if ((r = read_token(file, &token, &len)) != 0 || (r = cli_token(c, &t)) != 0 ||
	    (r = cli_load_state(c, &st)) != 0 || (r = tokens_keyset_new(st, &ks)) != 0 ||
	    (r = tokens_verify(c->conf, st, ks, type, aud, token, len, p11s_now(), &v)) != 0)
		goto out;
	if (v.valid)
		out = json_pack("{s:b, s:s, s:s, s:s, s:s, s:O}", "valid", 1, "type", v.type, "kid",
				v.jwt.kid, "key", pol_role_name(v.role), "sha1", v.sha1, "claims",
				v.jwt.claims);
	else
		out = json_pack("{s:b, s:s}", "valid", 0, "error", v.jwt.error);
	if (out == NULL) {
		r = p11s_fail(P11S_E_NOMEM, "out of memory");
		goto out;
	}
	json_dumpf(out, stdout, JSON_COMPACT | JSON_SORT_KEYS);
	printf("\n");
	r = v.valid ? 0 : P11S_E_BADTOKEN;
out:
	json_decref(out);
	tokens_verdict_clear(&v);
	tokens_keyset_free(ks);
	state_free(st);
	free(token);
	if (r == P11S_E_BADTOKEN)
		return EXIT_REFUSED;
	return r == 0 ? EXIT_OK : cli_fail(r);
}

const cli_command cli_cmd_verify = {
    "verify",
    "[--type T] [--aud A] [--token-file F]",
    "Verify a token (from F or standard input) and print the result as JSON.",
    "  --type T         verify against T's keys only (default: every type)\n"
    "  --aud A          require this audience\n"
    "  --token-file F   read the token from F ('-' or absent: standard input)\n"
    "Exit 0 when valid, 1 when invalid.\n",
    run_verify,
};

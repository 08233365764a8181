/*
 * csign — the C_Sign rate of a token key: the limit for any issuer whose key
 * lives on the token.  It signs through hsm/ (hsm_signer: its own session per
 * thread, then C_SignInit + C_Sign per signature), the same path signerd
 * takes, with nothing else around it.
 *
 *   csign --token LABEL --pin-file F --key LABEL --alg ES256|RS256
 *         [--module SO] [--threads N] [--seconds S] [--warmup S] [--session-copy]
 *
 * Every thread opens its own signer (session); with --session-copy it copies
 * the key into a session object (C_CopyObject, CKA_TOKEN=FALSE) and signs
 * with that.  ES256: SHA-256 of the message, then CKM_ECDSA; RS256:
 * CKM_SHA256_RSA_PKCS over the message.  The message is a JWS signing input
 * of the size the issuer signs.  Prints one JSON line.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"
#include "common/error.h"
#include "hsm/hsm.h"

/* header.claims of an issued token: the size signerd signs */
static const char msg[] =
    "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6IjNxWnBnUmZ5b0VrU0pQVjJkQ1hWb2RfY0h4NFRSZ"
    "zh1VzZpRjU5OHdCUWsiLCJ4NXQiOiJtYUhHcHBnWGVyTldqNV9FaWR3cGxfRjBUcmcifQ.eyJpc3MiOiJodHRw"
    "czovL2VkZ2UuZXhhbXBsZS5uZXQiLCJzdWIiOiJiZW5jaCIsImF1ZCI6Im1lZGlhLXJlbGF5IiwiaWF0IjoxN"
    "zY0MDI0MDAwLCJuYmYiOjE3NjQwMjQwMDAsImV4cCI6MTc2NDA1MjgwMCwianRpIjoiVnBfNVp4LVd0QjRsb2"
    "ZQVjJkQ1hWbyJ9";

static int
sign_op(void *p)
{
	hsm_signer *g = p;
	uint8_t sig[512];
	size_t sig_len = sizeof(sig);
	int r;

	if ((r = hsm_sign(g, (const uint8_t *)msg, sizeof(msg) - 1, sig, &sig_len)) != 0) {
		fprintf(stderr, "csign: %s\n", p11s_errmsg(r));
		return -1;
	}
	return 0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: csign --token LABEL --pin-file F --key LABEL --alg ES256|RS256\n"
			"             [--module SO] [--threads N] [--seconds S] [--warmup S] "
			"[--session-copy]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"module", required_argument, NULL, 'm'},	{"token", required_argument, NULL, 't'},
	    {"pin-file", required_argument, NULL, 'p'}, {"key", required_argument, NULL, 'k'},
	    {"alg", required_argument, NULL, 'a'},	{"threads", required_argument, NULL, 'n'},
	    {"seconds", required_argument, NULL, 's'},	{"warmup", required_argument, NULL, 'w'},
	    {"session-copy", no_argument, NULL, 'c'},	{NULL, 0, NULL, 0}};
	const char *module = SOFTHSM_MODULE, *token = NULL, *pin_file = NULL, *key = NULL,
		   *alg = NULL;
	bench_run_opts ro = BENCH_RUN_OPTS_INIT;
	int o, r = 1, e;
	char *uri = NULL, *pin_source = NULL;
	hsm_open_params hp;
	hsm_token *t = NULL;
	hsm_signer **gs = NULL;
	uint8_t id[HSM_ID_MAX];
	size_t id_len = 0;
	p11s_alg a;
	bench_result res;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'm':
			module = optarg;
			break;
		case 't':
			token = optarg;
			break;
		case 'p':
			pin_file = optarg;
			break;
		case 'k':
			key = optarg;
			break;
		case 'a':
			alg = optarg;
			break;
		default:
			if (!bench_run_opt(&ro, o, optarg))
				usage();
		}
	}
	if (optind != argc || token == NULL || pin_file == NULL || key == NULL || alg == NULL ||
	    (strcmp(alg, "ES256") != 0 && strcmp(alg, "RS256") != 0))
		usage();
	a = strcmp(alg, "ES256") == 0 ? P11S_ALG_ES256 : P11S_ALG_RS256;
	if (asprintf(&uri, "pkcs11:token=%s?module-path=%s", token, module) < 0 ||
	    asprintf(&pin_source, "file:%s", pin_file) < 0 ||
	    (gs = calloc(ro.threads, sizeof(*gs))) == NULL) {
		fprintf(stderr, "csign: out of memory\n");
		goto out;
	}
	memset(&hp, 0, sizeof(hp));
	hp.uri = uri;
	hp.pin_source = pin_source;
	if ((e = hsm_open(&hp, &t)) != 0 || (e = hsm_find_key_by_label(t, key, id, &id_len)) != 0) {
		fprintf(stderr, "csign: %s\n", p11s_errmsg(e));
		goto out;
	}
	for (unsigned i = 0; i < ro.threads; i++) {
		if ((e = hsm_signer_open(t, id, id_len, a, ro.copy, &gs[i])) != 0) {
			fprintf(stderr, "csign: key '%s': %s\n", key, p11s_errmsg(e));
			goto out;
		}
	}
	if (bench_threads(sign_op, (void **)gs, ro.threads, ro.warmup, ro.seconds, &res) != 0)
		goto out;
	printf("{\"bench\":\"csign\",\"alg\":\"%s\",\"threads\":%u,\"session_copy\":%d,"
	       "\"ops\":%llu,\"seconds\":%.3f,\"rate\":%.1f,\"cpu\":%.3f}\n",
	       alg, ro.threads, ro.copy, (unsigned long long)res.ops, res.seconds, res.rate,
	       res.cpu_seconds);
	r = 0;
out:
	for (unsigned i = 0; gs != NULL && i < ro.threads; i++)
		hsm_signer_free(gs[i]);
	hsm_close(t);
	free(gs);
	free(uri);
	free(pin_source);
	return r;
}

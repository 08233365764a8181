/*
 * inproc — JWT issuance and verification per second inside one process,
 * through the product's own layers: hsm_signer + jwt_issue for issuing,
 * jwt_verify with the certificate's public key for verifying.
 *
 *   inproc --uri URI --pin-file F --key LABEL --op issue|verify|sigverify
 *          [--threads N] [--seconds S] [--warmup S] [--session-copy]
 *
 * sigverify checks only the signature of an issued token the way jwt_verify
 * must at least do it (a fresh EVP_DigestVerify over the signing input, EC
 * signature converted to DER once beforehand): the difference to verify is
 * the cost of the JOSE checks, the difference to `openssl speed` the cost of
 * hashing the input and setting up OpenSSL per call.
 *
 * The algorithm follows the key (EC P-256: ES256, RSA: RS256).  Each issuing
 * thread has its own hsm_signer (its own session, optionally with the key
 * copied into a session object).  Prints one JSON line.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>

#include "bench/bench.h"
#include "common/log.h"
#include "common/util.h"
#include "hsm/hsm.h"
#include "signer/jose/jose.h"

typedef struct shared {
	p11s_alg alg;
	char kid[64];
	char x5t[64];
	jwt_vkey vkey;
	const char *token; /* for verify */
	size_t input_len;  /* sigverify: header.claims */
	uint8_t *sig;	   /* sigverify: DER (EC) or raw (RSA) signature */
	size_t sig_len;
} shared;

typedef struct ctx {
	const shared *sh;
	hsm_signer *signer;
} ctx;

static int
sign_cb(void *p, const uint8_t *msg, size_t len, uint8_t *sig, size_t *siglen)
{
	return hsm_sign(p, msg, len, sig, siglen);
}

static int
issue_one(const shared *sh, hsm_signer *signer, char **token)
{
	jwt_issue_params p;
	p11s_time exp = 0;
	int r;

	memset(&p, 0, sizeof(p));
	p.alg = sh->alg;
	p.kid = sh->kid;
	p.x5t = sh->x5t;
	p.iss = "https://edge.example.net";
	p.sub = "bench";
	p.aud = "media-relay";
	p.now = p11s_now();
	p.lifetime = 3600;
	p.sign = sign_cb;
	p.sign_ctx = signer;
	if ((r = jwt_issue(&p, token, &exp)) != 0)
		fprintf(stderr, "inproc: issuing failed: %s\n", p11s_errmsg(r));
	return r;
}

static int
issue_op(void *p)
{
	ctx *c = p;
	char *token = NULL;
	int r = issue_one(c->sh, c->signer, &token);

	free(token);
	return r;
}

static int
verify_op(void *p)
{
	ctx *c = p;
	jwt_verify_params vp;
	jwt_result res;
	int r;

	memset(&vp, 0, sizeof(vp));
	memset(&res, 0, sizeof(res));
	vp.keys = &c->sh->vkey;
	vp.n_keys = 1;
	vp.now = p11s_now();
	vp.leeway = 60;
	vp.max_lifetime = 3600;
	vp.aud = "media-relay";
	vp.iss = "https://edge.example.net";
	r = jwt_verify(c->sh->token, strlen(c->sh->token), &vp, &res);
	if (r != 0)
		fprintf(stderr, "inproc: verification failed: %s (%s)\n", p11s_errmsg(r),
			res.error);
	jwt_result_clear(&res);
	return r;
}

static int
sigverify_op(void *p)
{
	ctx *c = p;
	const shared *sh = c->sh;
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pc = NULL;
	int ok = 0;

	if (m != NULL && EVP_DigestVerifyInit(m, &pc, EVP_sha256(), NULL, sh->vkey.pub) == 1 &&
	    (sh->alg != P11S_ALG_RS256 || EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING) == 1))
		ok = EVP_DigestVerify(m, sh->sig, sh->sig_len, (const uint8_t *)sh->token,
				      sh->input_len) == 1;
	EVP_MD_CTX_free(m);
	if (!ok)
		fprintf(stderr, "inproc: the signature did not verify\n");
	return ok ? 0 : -1;
}

/* Split the token for sigverify: signing input length and the signature in
 * the form EVP_DigestVerify takes. */
static int
prepare_sigverify(shared *sh)
{
	const char *dot = strrchr(sh->token, '.');
	uint8_t *raw = NULL;
	size_t raw_len = 0;
	ECDSA_SIG *es = NULL;
	BIGNUM *br = NULL, *bs = NULL;
	unsigned char *der = NULL;
	int n, r = -1;

	if (dot == NULL || p11s_b64url_decode(dot + 1, strlen(dot + 1), &raw, &raw_len) != 0)
		goto out;
	sh->input_len = (size_t)(dot - sh->token);
	if (sh->alg == P11S_ALG_RS256) {
		sh->sig = raw;
		sh->sig_len = raw_len;
		raw = NULL;
		r = 0;
		goto out;
	}
	if (raw_len != 64 || (es = ECDSA_SIG_new()) == NULL ||
	    (br = BN_bin2bn(raw, 32, NULL)) == NULL ||
	    (bs = BN_bin2bn(raw + 32, 32, NULL)) == NULL || !ECDSA_SIG_set0(es, br, bs))
		goto out;
	br = bs = NULL;
	if ((n = i2d_ECDSA_SIG(es, &der)) <= 0 || (sh->sig = malloc((size_t)n)) == NULL)
		goto out;
	memcpy(sh->sig, der, (size_t)n);
	sh->sig_len = (size_t)n;
	r = 0;
out:
	if (r != 0)
		fprintf(stderr, "inproc: cannot split the issued token\n");
	OPENSSL_free(der);
	ECDSA_SIG_free(es);
	BN_free(br);
	BN_free(bs);
	free(raw);
	return r;
}

/* kid, x5t, algorithm and public key of the key labelled `label`. */
static int
load_key(hsm_token *t, const char *label, shared *sh, uint8_t id[HSM_ID_MAX], size_t *id_len)
{
	hsm_key_list *l = NULL;
	const hsm_key_info *k = NULL;
	int r;

	if ((r = hsm_find_key_by_label(t, label, id, id_len)) != 0 ||
	    (r = hsm_list_keys(t, &l)) != 0) {
		fprintf(stderr, "inproc: %s\n", p11s_errmsg(r));
		return -1;
	}
	for (size_t i = 0; i < l->n; i++)
		if (l->keys[i].id_len == *id_len && memcmp(l->keys[i].id, id, *id_len) == 0)
			k = &l->keys[i];
	if (k == NULL || !k->has_cert) {
		fprintf(stderr, "inproc: key '%s' has no certificate on the token\n", label);
		r = -1;
		goto out;
	}
	sh->alg = k->keytype == P11S_KT_EC_P256 ? P11S_ALG_ES256 : P11S_ALG_RS256;
	if (k->keytype != P11S_KT_EC_P256 && k->keytype != P11S_KT_RSA) {
		fprintf(stderr, "inproc: key '%s' is %s; ES256 or RS256 keys only\n", label,
			p11s_keytype_name(k->keytype));
		r = -1;
		goto out;
	}
	if ((r = jose_kid_from_hex(k->sha256, sh->kid, sizeof(sh->kid))) != 0 ||
	    (r = jose_x5t_from_hex(k->sha1, sh->x5t, sizeof(sh->x5t))) != 0) {
		fprintf(stderr, "inproc: %s\n", p11s_errmsg(r));
		goto out;
	}
	sh->vkey.alg = sh->alg;
	sh->vkey.kid = sh->kid;
	sh->vkey.pub = X509_get_pubkey(k->cert);
	if (sh->vkey.pub == NULL) {
		fprintf(stderr, "inproc: cannot read the public key of '%s'\n", label);
		r = -1;
		goto out;
	}
	r = 0;
out:
	hsm_key_list_free(l);
	return r;
}

static void
usage(void)
{
	fprintf(stderr, "usage: inproc --uri URI --pin-file F --key LABEL --op issue|verify\n"
			"              [--threads N] [--seconds S] [--warmup S] "
			"[--session-copy]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {{"uri", required_argument, NULL, 'u'},
					     {"pin-file", required_argument, NULL, 'p'},
					     {"key", required_argument, NULL, 'k'},
					     {"op", required_argument, NULL, 'o'},
					     {"threads", required_argument, NULL, 'n'},
					     {"seconds", required_argument, NULL, 's'},
					     {"warmup", required_argument, NULL, 'w'},
					     {"session-copy", no_argument, NULL, 'c'},
					     {NULL, 0, NULL, 0}};
	const char *uri = NULL, *pin_file = NULL, *key = NULL, *op = NULL;
	bench_run_opts ro = BENCH_RUN_OPTS_INIT;
	int o, r = 1, verify, sigverify;
	char pin_source[4096];
	hsm_open_params hp;
	hsm_token *t = NULL;
	uint8_t id[HSM_ID_MAX];
	size_t id_len = 0;
	shared sh;
	ctx *cs = NULL;
	void **args = NULL;
	char *token = NULL;
	bench_result res;

	memset(&sh, 0, sizeof(sh));
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'u':
			uri = optarg;
			break;
		case 'p':
			pin_file = optarg;
			break;
		case 'k':
			key = optarg;
			break;
		case 'o':
			op = optarg;
			break;
		default:
			if (!bench_run_opt(&ro, o, optarg))
				usage();
		}
	}
	if (optind != argc || uri == NULL || pin_file == NULL || key == NULL || op == NULL ||
	    (strcmp(op, "issue") != 0 && strcmp(op, "verify") != 0 && strcmp(op, "sigverify") != 0))
		usage();
	sigverify = strcmp(op, "sigverify") == 0;
	verify = sigverify || strcmp(op, "verify") == 0;
	p11s_log_init("inproc", 0, LOG_WARNING);
	if ((size_t)snprintf(pin_source, sizeof(pin_source), "file:%s", pin_file) >=
	    sizeof(pin_source)) {
		fprintf(stderr, "inproc: PIN file path too long\n");
		goto out;
	}
	memset(&hp, 0, sizeof(hp));
	hp.uri = uri;
	hp.pin_source = pin_source;
	if ((r = hsm_open(&hp, &t)) != 0) {
		fprintf(stderr, "inproc: %s\n", p11s_errmsg(r));
		r = 1;
		goto out;
	}
	r = 1;
	if (load_key(t, key, &sh, id, &id_len) != 0)
		goto out;
	if ((cs = calloc(ro.threads, sizeof(*cs))) == NULL ||
	    (args = calloc(ro.threads, sizeof(*args))) == NULL) {
		fprintf(stderr, "inproc: out of memory\n");
		goto out;
	}
	for (unsigned i = 0; i < ro.threads; i++) {
		int e;

		cs[i].sh = &sh;
		args[i] = &cs[i];
		if (verify && i > 0)
			continue;
		if ((e = hsm_signer_open(t, id, id_len, sh.alg, ro.copy, &cs[i].signer)) != 0) {
			fprintf(stderr, "inproc: %s\n", p11s_errmsg(e));
			goto out;
		}
	}
	if (verify) {
		if (issue_one(&sh, cs[0].signer, &token) != 0)
			goto out;
		sh.token = token;
		if (sigverify && prepare_sigverify(&sh) != 0)
			goto out;
	}
	if (bench_threads(sigverify ? sigverify_op
			  : verify  ? verify_op
				    : issue_op,
			  args, ro.threads, ro.warmup, ro.seconds, &res) != 0)
		goto out;
	printf("{\"bench\":\"inproc\",\"op\":\"%s\",\"alg\":\"%s\",\"threads\":%u,"
	       "\"session_copy\":%d,\"ops\":%llu,\"seconds\":%.3f,\"rate\":%.1f,\"cpu\":%.3f}\n",
	       op, p11s_alg_name(sh.alg), ro.threads, ro.copy, (unsigned long long)res.ops,
	       res.seconds, res.rate, res.cpu_seconds);
	r = 0;
out:
	if (cs != NULL)
		for (unsigned i = 0; i < ro.threads; i++)
			hsm_signer_free(cs[i].signer);
	free(cs);
	free(args);
	free(token);
	free(sh.sig);
	EVP_PKEY_free(sh.vkey.pub);
	hsm_close(t);
	return r;
}

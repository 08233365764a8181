/* signer keygen, csr, import, list. */
#include "config.h"

#include <getopt.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/pin.h"
#include "common/util.h"
#include "signer/certfile.h"
#include "signer/cli/cli.h"
#include "signer/keyfile.h"

#define MAX_INPUT_FILE (1u << 20)

static void
print_id(const uint8_t *id, size_t len)
{
	char hex[2 * HSM_ID_MAX + 1];

	p11s_hex(id, len, hex);
	printf("%s\n", hex);
}

/* ---- keygen ------------------------------------------------------------- */

static int
run_keygen(cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"label", required_argument, NULL, 'l'},
	    {"algorithm", required_argument, NULL, 'a'},
	    {"bits", required_argument, NULL, 'b'},
	    {NULL, 0, NULL, 0},
	};
	const char *label = NULL, *alg_name = NULL;
	char idhex[2 * HSM_ID_MAX + 1];
	uint8_t id[HSM_ID_MAX];
	audit_txn *x = NULL;
	size_t id_len = 0;
	unsigned bits = 0;
	p11s_keytype kt;
	hsm_token *t;
	p11s_alg alg;
	char *end;
	int o, r;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'l':
			label = optarg;
			break;
		case 'a':
			alg_name = optarg;
			break;
		case 'b':
			bits = (unsigned)strtoul(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || (bits != 2048 && bits != 3072))
				return cli_usage(&cli_cmd_keygen,
						 "--bits '%s' is not supported; use 2048 or 3072",
						 optarg);
			break;
		default:
			return cli_usage(&cli_cmd_keygen, "unknown option");
		}
	}
	if (optind < argc)
		return cli_usage(&cli_cmd_keygen, "unexpected argument '%s'", argv[optind]);
	if (label == NULL || *label == '\0')
		return cli_usage(&cli_cmd_keygen, "--label is required");
	if (alg_name == NULL)
		return cli_usage(&cli_cmd_keygen, "--algorithm is required");
	switch (alg = p11s_alg_parse(alg_name)) {
	case P11S_ALG_ES256:
		kt = P11S_KT_EC_P256;
		break;
	case P11S_ALG_ES384:
		kt = P11S_KT_EC_P384;
		break;
	case P11S_ALG_RS256:
	case P11S_ALG_PS256:
		kt = P11S_KT_RSA;
		break;
	default:
		return cli_usage(
		    &cli_cmd_keygen,
		    "--algorithm '%s' is not supported; use ES256, ES384, RS256 or PS256",
		    alg_name);
	}
	if (kt != P11S_KT_RSA && bits != 0)
		return cli_usage(&cli_cmd_keygen, "--bits applies to RS256 and PS256 only");
	if (kt == P11S_KT_RSA && bits == 0)
		bits = 2048;
	if ((r = audit_begin(c->conf, &x)) != 0)
		return cli_fail(r);
	if ((r = cli_token(c, &t)) != 0 || (r = hsm_keygen(t, label, kt, bits, id, &id_len)) != 0) {
		if (cli_exit_code(r) == EXIT_REFUSED)
			cli_journal_refusal(c, x, audit_os_user(), "keygen",
					    json_pack("{s:s, s:s}", "label", label, "algorithm",
						      p11s_alg_name(alg)),
					    r);
		audit_end(x);
		return cli_fail(r);
	}
	log_info("generated %s key '%s' on token '%s'", p11s_alg_name(alg), label,
		 hsm_token_label(t));
	p11s_hex(id, id_len, idhex);
	r = audit_add(x, audit_os_user(), "keygen",
		      json_pack("{s:s, s:s, s:s, s:s}", "label", label, "algorithm",
				p11s_alg_name(alg), "id", idhex, "token", hsm_token_label(t)),
		      p11s_now(), NULL);
	if (r == 0)
		r = audit_commit(x);
	audit_end(x);
	print_id(id, id_len);
	if (r != 0) {
		fprintf(stderr,
			"signer: the key was generated but the audit journal could not be "
			"written: %s\n",
			p11s_errmsg(r));
		return cli_exit_code(r);
	}
	return EXIT_OK;
}

const cli_command cli_cmd_keygen = {
    "keygen",
    "--label L --algorithm ES256|ES384|RS256|PS256 [--bits N]",
    "Generate a key pair on the token (sensitive, never extractable); print its CKA_ID.",
    "  --label L        label of the new key (must be unused)\n"
    "  --algorithm A    ES256 (P-256), ES384 (P-384), RS256 or PS256 (RSA)\n"
    "  --bits N         RSA modulus size: 2048 (default) or 3072\n",
    run_keygen,
};

/* ---- csr ---------------------------------------------------------------- */

static int
write_out(const char *path, const char *text)
{
	FILE *f;

	if (path == NULL) {
		fputs(text, stdout);
		return 0;
	}
	if ((f = fopen(path, "wx")) == NULL)
		return p11s_fail(P11S_E_IO, "cannot create %s (it must not exist yet): %m", path);
	if (fputs(text, f) == EOF || fclose(f) != 0)
		return p11s_fail(P11S_E_IO, "cannot write %s", path);
	return 0;
}

static int
run_csr(cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"label", required_argument, NULL, 'l'},
	    {"subject", required_argument, NULL, 's'},
	    {"out", required_argument, NULL, 'o'},
	    {NULL, 0, NULL, 0},
	};
	const char *label = NULL, *subject = NULL, *out = NULL;
	uint8_t id[HSM_ID_MAX];
	size_t id_len = 0;
	char *pem = NULL;
	hsm_token *t;
	int o, r;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'l':
			label = optarg;
			break;
		case 's':
			subject = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		default:
			return cli_usage(&cli_cmd_csr, "unknown option");
		}
	}
	if (optind < argc)
		return cli_usage(&cli_cmd_csr, "unexpected argument '%s'", argv[optind]);
	if (label == NULL || subject == NULL)
		return cli_usage(&cli_cmd_csr, "--label and --subject are required");
	if ((r = cli_token(c, &t)) != 0 ||
	    (r = hsm_find_key_by_label(t, label, id, &id_len)) != 0 ||
	    (r = hsm_make_csr(t, id, id_len, subject, &pem)) != 0 ||
	    (r = write_out(out, pem)) != 0) {
		free(pem);
		return cli_fail(r);
	}
	free(pem);
	return EXIT_OK;
}

const cli_command cli_cmd_csr = {
    "csr",
    "--label L --subject DN [--out F]",
    "Write a PKCS#10 certificate request signed on the token by key L.",
    "  --label L        the key's label\n"
    "  --subject DN     e.g. \"CN=edge.example.net,O=Example\" or \"/CN=edge/O=Example\"\n"
    "  --out F          write to F (must not exist) instead of standard output\n",
    run_csr,
};

/* ---- import ------------------------------------------------------------- */

/* Read a file into memory that is wiped afterwards (it may hold key bytes). */
static int
read_secret_file(const char *path, uint8_t **buf, size_t *len)
{
	return p11s_read_file(path, MAX_INPUT_FILE, buf, len);
}

static void
wipe_file(uint8_t *buf, size_t len)
{
	if (buf != NULL) {
		OPENSSL_cleanse(buf, len);
		free(buf);
	}
}

int
cli_load_cert(const char *path, X509 **out)
{
	return signer_cert_file_load(path, out);
}

int
cli_load_key_file(const char *path, const char *pass_source, EVP_PKEY **out)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int r;

	*out = NULL;
	if ((r = read_secret_file(path, &buf, &len)) != 0)
		return r;
	r = keyfile_key_parse(buf, len, path, pass_source, out);
	wipe_file(buf, len);
	return r;
}

int
cli_load_pkcs12(const char *path, const char *pass_source, EVP_PKEY **key, X509 **cert)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int r;

	*key = NULL;
	*cert = NULL;
	if ((r = read_secret_file(path, &buf, &len)) != 0)
		return r;
	r = keyfile_pkcs12_parse(buf, len, path, pass_source, key, cert);
	wipe_file(buf, len);
	return r;
}

static void
print_imported(const char *what, const uint8_t *id, size_t id_len, X509 *cert)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char hex[2 * EVP_MAX_MD_SIZE + 1], idhex[2 * HSM_ID_MAX + 1];

	p11s_hex(id, id_len, idhex);
	printf("imported %s, CKA_ID %s\n", what, idhex);
	if (X509_digest(cert, EVP_sha1(), md, &mdlen) == 1) {
		p11s_hex(md, mdlen, hex);
		printf("sha1   %s\n", hex);
	}
	if (X509_digest(cert, EVP_sha256(), md, &mdlen) == 1) {
		p11s_hex(md, mdlen, hex);
		printf("sha256 %s\n", hex);
	}
}

static int
journal_import(audit_txn *x, int with_key, const uint8_t *id, size_t id_len, X509 *cert,
	       const char *label, const char *token)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char sha1[2 * EVP_MAX_MD_SIZE + 1] = "", idhex[2 * HSM_ID_MAX + 1];
	int r;

	p11s_hex(id, id_len, idhex);
	if (X509_digest(cert, EVP_sha1(), md, &mdlen) == 1)
		p11s_hex(md, mdlen, sha1);
	r = audit_add(x, audit_os_user(), "import",
		      json_pack("{s:s, s:s, s:s, s:s?, s:s}", "what",
				with_key ? "key and certificate" : "certificate", "sha1", sha1,
				"id", idhex, "label", label, "token", token),
		      p11s_now(), NULL);
	return r == 0 ? audit_commit(x) : r;
}

static int
run_import(cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"cert", required_argument, NULL, 'c'},   {"key", required_argument, NULL, 'k'},
	    {"pkcs12", required_argument, NULL, 'p'}, {"passphrase", required_argument, NULL, 'P'},
	    {"label", required_argument, NULL, 'l'},  {NULL, 0, NULL, 0},
	};
	const char *cert_path = NULL, *key_path = NULL, *p12_path = NULL, *pass = NULL,
		   *label = NULL;
	uint8_t id[HSM_ID_MAX];
	size_t id_len = 0;
	EVP_PKEY *key = NULL;
	audit_txn *x = NULL;
	X509 *cert = NULL;
	hsm_token *t;
	int o, r;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'c':
			cert_path = optarg;
			break;
		case 'k':
			key_path = optarg;
			break;
		case 'p':
			p12_path = optarg;
			break;
		case 'P':
			pass = optarg;
			break;
		case 'l':
			label = optarg;
			break;
		default:
			return cli_usage(&cli_cmd_import, "unknown option");
		}
	}
	if (optind < argc)
		return cli_usage(&cli_cmd_import, "unexpected argument '%s'", argv[optind]);
	if (pass != NULL && (r = p11s_secret_source_check(pass)) != 0)
		return cli_fail(r);
	if (p12_path != NULL && (cert_path != NULL || key_path != NULL))
		return cli_usage(&cli_cmd_import,
				 "--pkcs12 cannot be combined with --cert or --key");
	if (p12_path == NULL && cert_path == NULL)
		return cli_usage(&cli_cmd_import, "give --cert F, --key F --cert F, or --pkcs12 F");
	if (key_path == NULL && p12_path == NULL && pass != NULL)
		return cli_usage(&cli_cmd_import,
				 "--passphrase applies to --key and --pkcs12 only");
	if (p12_path != NULL)
		r = cli_load_pkcs12(p12_path, pass, &key, &cert);
	else if ((r = cli_load_cert(cert_path, &cert)) == 0 && key_path != NULL)
		r = cli_load_key_file(key_path, pass, &key);
	if (r != 0)
		goto out;
	if ((r = audit_begin(c->conf, &x)) != 0 || (r = cli_token(c, &t)) != 0)
		goto out;
	if (key != NULL)
		r = hsm_import_key(t, key, cert, label != NULL ? label : "imported", id, &id_len);
	else
		r = hsm_store_cert(t, cert, label, id, &id_len);
	if (r != 0) {
		if (cli_exit_code(r) == EXIT_REFUSED)
			cli_journal_refusal(c, x, audit_os_user(), "import",
					    json_pack("{s:s, s:b}", "file",
						      p12_path != NULL ? p12_path : cert_path,
						      "key", key != NULL),
					    r);
		goto out;
	}
	print_imported(key != NULL ? "key and certificate" : "certificate", id, id_len, cert);
	if ((r = journal_import(x, key != NULL, id, id_len, cert, label, hsm_token_label(t))) != 0)
		fprintf(stderr, "signer: imported, but the audit journal could not be written\n");
out:
	audit_end(x);
	EVP_PKEY_free(key); /* OpenSSL clears private key components on free */
	X509_free(cert);
	return r == 0 ? EXIT_OK : cli_fail(r);
}

const cli_command cli_cmd_import = {
    "import",
    "--cert F [--label L] | --key F --cert F [--label L] [--passphrase SOURCE] | --pkcs12 F "
    "[--passphrase SOURCE] [--label L]",
    "Import a certificate for a key on the token, or a key with its certificate.",
    "  --cert F               certificate (PEM or DER); alone: for a key already on the\n"
    "                         token (the public keys must match)\n"
    "  --key F                PEM private key to import with --cert (wiped from memory after)\n"
    "  --pkcs12 F             PKCS#12 file with one key and its certificate\n"
    "  --passphrase SOURCE    file:PATH, env:NAME, fd:N or prompt\n"
    "  --label L              label on the token (default: the key's label, or \"imported\")\n",
    run_import,
};

/* ---- list --------------------------------------------------------------- */

static json_t *
types_of(const signer_state *st, const char *sha1, p11s_time now)
{
	json_t *a = json_array();

	if (st == NULL || a == NULL)
		return a;
	for (size_t i = 0; i < st->pol.n_types; i++) {
		const pol_type_state *ts = &st->pol.types[i];
		const pol_key *cur = pol_issuing_key(&st->pol, ts->name, now);
		const char *role = NULL;

		for (size_t e = 0; e < ts->n_epochs; e++) {
			if (strcmp(ts->epochs[e].key, sha1) != 0)
				continue;
			if (ts->epochs[e].effective > now)
				role = "staged";
			else if (cur != NULL && strcmp(cur->sha1, sha1) == 0)
				role = "current";
			else if (role == NULL)
				role = "previous";
		}
		if (role != NULL)
			json_array_append_new(
			    a, json_pack("{s:s, s:s}", "type", ts->name, "role", role));
	}
	return a;
}

static json_t *
key_json(const hsm_key_info *k, const signer_state *st, p11s_time now)
{
	char idhex[2 * HSM_ID_MAX + 1], nb[40] = "", na[40] = "", subject[256] = "";
	pol_key pk;
	json_t *o;

	p11s_hex(k->id, k->id_len, idhex);
	if (k->has_cert && cli_pol_key(k, &pk) == 0) {
		p11s_fmt_utc(pk.not_before, nb, sizeof(nb));
		p11s_fmt_utc(pk.not_after, na, sizeof(na));
		free(pk.cert_der);
		X509_NAME_oneline(X509_get_subject_name(k->cert), subject, sizeof(subject));
	}
	o = json_pack("{s:s, s:s, s:s, s:i, s:b, s:b, s:b, s:b, s:b}", "id", idhex, "label",
		      k->label != NULL ? k->label : "", "algorithm", p11s_keytype_name(k->keytype),
		      "bits", (int)k->bits, "private_key", k->has_private, "certificate",
		      k->has_cert, "sensitive", k->sensitive, "extractable", k->extractable,
		      "never_extractable", k->never_extractable);
	if (o != NULL && k->has_cert) {
		json_object_set_new(o, "sha1", json_string(k->sha1));
		json_object_set_new(o, "sha256", json_string(k->sha256));
		json_object_set_new(o, "subject", json_string(subject));
		json_object_set_new(o, "not_before", json_string(nb));
		json_object_set_new(o, "not_after", json_string(na));
		json_object_set_new(o, "types", types_of(st, k->sha1, now));
	}
	return o;
}

static void
print_key_text(json_t *o)
{
	json_t *types = json_object_get(o, "types");
	json_t *t;
	size_t i;

	printf("key %s  label \"%s\"\n", json_string_value(json_object_get(o, "id")),
	       json_string_value(json_object_get(o, "label")));
	printf("  algorithm   %s %d\n", json_string_value(json_object_get(o, "algorithm")),
	       (int)json_integer_value(json_object_get(o, "bits")));
	printf("  private key %s (%s, %s)\n",
	       json_is_true(json_object_get(o, "private_key")) ? "yes" : "no",
	       json_is_true(json_object_get(o, "sensitive")) ? "sensitive" : "NOT sensitive",
	       json_is_true(json_object_get(o, "extractable"))	       ? "EXTRACTABLE"
	       : json_is_true(json_object_get(o, "never_extractable")) ? "never extractable"
								       : "not extractable");
	if (!json_is_true(json_object_get(o, "certificate"))) {
		printf("  certificate none (import one with 'signer import --cert')\n");
		return;
	}
	printf("  sha1        %s\n", json_string_value(json_object_get(o, "sha1")));
	printf("  sha256      %s\n", json_string_value(json_object_get(o, "sha256")));
	printf("  subject     %s\n", json_string_value(json_object_get(o, "subject")));
	printf("  valid       %s .. %s\n", json_string_value(json_object_get(o, "not_before")),
	       json_string_value(json_object_get(o, "not_after")));
	printf("  types      ");
	if (json_array_size(types) == 0)
		printf(" -");
	json_array_foreach(types, i, t)
	    printf(" %s (%s)", json_string_value(json_object_get(t, "type")),
		   json_string_value(json_object_get(t, "role")));
	printf("\n");
}

static int
run_list(cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {NULL, 0, NULL, 0},
	};
	hsm_key_list *l = NULL;
	signer_state *st = NULL;
	json_t *arr = NULL;
	p11s_time now = p11s_now();
	hsm_token *t;
	int o, r, json = 0;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (o != 'j')
			return cli_usage(&cli_cmd_list, "unknown option");
		json = 1;
	}
	if (optind < argc)
		return cli_usage(&cli_cmd_list, "unexpected argument '%s'", argv[optind]);
	if ((r = cli_token(c, &t)) != 0 || (r = hsm_list_keys(t, &l)) != 0 ||
	    (r = cli_load_state(c, &st)) != 0)
		goto out;
	if ((arr = json_array()) == NULL) {
		r = p11s_fail(P11S_E_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < l->n; i++)
		json_array_append_new(arr, key_json(&l->keys[i], st, now));
	if (json) {
		json_dumpf(arr, stdout, JSON_INDENT(2));
		printf("\n");
	} else {
		json_t *k;
		size_t i;

		if (l->n == 0)
			printf("no keys on token '%s'\n", hsm_token_label(t));
		json_array_foreach(arr, i, k) print_key_text(k);
	}
	r = 0;
out:
	json_decref(arr);
	state_free(st);
	hsm_key_list_free(l);
	return r == 0 ? EXIT_OK : cli_fail(r);
}

const cli_command cli_cmd_list = {
    "list",
    "[--json]",
    "List keys and certificates on the token, with thumbprints, validity and types.",
    "  --json           machine-readable output\n",
    run_list,
};

/*
 * csign — the raw C_Sign rate of a token key: the limit for any issuer whose
 * key lives on the token.  A measuring tool, so it talks PKCS#11 directly
 * (the product keeps that to hsm/).
 *
 *   csign --token LABEL --pin-file F --key LABEL --alg ES256|RS256
 *         [--module SO] [--threads N] [--seconds S] [--warmup S] [--session-copy]
 *
 * Every thread opens its own session; with --session-copy it copies the key
 * into a session object (C_CopyObject, CKA_TOKEN=FALSE) and signs with that.
 * ES256: SHA-256 of the message here, then CKM_ECDSA; RS256:
 * CKM_SHA256_RSA_PKCS over the message.  The message is a JWS signing input
 * of the size the issuer signs.  Prints one JSON line.
 */
#include "config.h"

#include <dlfcn.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <p11-kit/pkcs11.h>

#include "bench/bench.h"

/* header.claims of an issued token: the size signerd signs */
static const char msg[] =
    "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6IjNxWnBnUmZ5b0VrU0pQVjJkQ1hWb2RfY0h4NFRSZ"
    "zh1VzZpRjU5OHdCUWsiLCJ4NXQiOiJtYUhHcHBnWGVyTldqNV9FaWR3cGxfRjBUcmcifQ.eyJpc3MiOiJodHRw"
    "czovL2VkZ2UuZXhhbXBsZS5uZXQiLCJzdWIiOiJiZW5jaCIsImF1ZCI6Im1lZGlhLXJlbGF5IiwiaWF0IjoxN"
    "zY0MDI0MDAwLCJuYmYiOjE3NjQwMjQwMDAsImV4cCI6MTc2NDA1MjgwMCwianRpIjoiVnBfNVp4LVd0QjRsb2"
    "ZQVjJkQ1hWbyJ9";

typedef struct ctx {
	CK_FUNCTION_LIST *f;
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE key;
	int ec;
} ctx;

static void
fail_rv(const char *what, CK_RV rv)
{
	fprintf(stderr, "csign: %s failed: CK_RV 0x%lx\n", what, (unsigned long)rv);
}

static int
sign_op(void *p)
{
	ctx *c = p;
	CK_MECHANISM mech = {c->ec ? CKM_ECDSA : CKM_SHA256_RSA_PKCS, NULL, 0};
	unsigned char dig[32], sig[512];
	unsigned int dlen = 0;
	CK_BYTE_PTR data = (CK_BYTE_PTR)(uintptr_t)msg;
	CK_ULONG data_len = sizeof(msg) - 1, sig_len = sizeof(sig);
	CK_RV rv;

	if (c->ec) {
		if (!EVP_Digest(msg, sizeof(msg) - 1, dig, &dlen, EVP_sha256(), NULL))
			return -1;
		data = dig;
		data_len = dlen;
	}
	if ((rv = c->f->C_SignInit(c->s, &mech, c->key)) != CKR_OK) {
		fail_rv("C_SignInit", rv);
		return -1;
	}
	if ((rv = c->f->C_Sign(c->s, data, data_len, sig, &sig_len)) != CKR_OK) {
		fail_rv("C_Sign", rv);
		return -1;
	}
	return 0;
}

/* Find the slot whose token has this label (never by slot id). */
static int
find_slot(CK_FUNCTION_LIST *f, const char *label, CK_SLOT_ID *slot)
{
	CK_SLOT_ID ids[64];
	CK_ULONG n = 64;
	CK_TOKEN_INFO ti;
	char padded[32];
	size_t len = strlen(label);
	CK_RV rv;

	if (len > sizeof(padded)) {
		fprintf(stderr, "csign: token label '%s' is longer than 32 bytes\n", label);
		return -1;
	}
	memset(padded, ' ', sizeof(padded));
	memcpy(padded, label, len);
	if ((rv = f->C_GetSlotList(CK_TRUE, ids, &n)) != CKR_OK) {
		fail_rv("C_GetSlotList", rv);
		return -1;
	}
	for (CK_ULONG i = 0; i < n; i++) {
		if (f->C_GetTokenInfo(ids[i], &ti) == CKR_OK &&
		    memcmp(ti.label, padded, sizeof(padded)) == 0) {
			*slot = ids[i];
			return 0;
		}
	}
	fprintf(stderr, "csign: no token labelled '%s'\n", label);
	return -1;
}

static int
find_key(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, const char *label, CK_OBJECT_HANDLE *key,
	 int *ec)
{
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_KEY_TYPE kt = 0;
	CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof(cls)},
			       {CKA_LABEL, (void *)(uintptr_t)label, strlen(label)}};
	CK_ATTRIBUTE kta = {CKA_KEY_TYPE, &kt, sizeof(kt)};
	CK_OBJECT_HANDLE h[2];
	CK_ULONG n = 0;
	CK_RV rv;

	if ((rv = f->C_FindObjectsInit(s, tmpl, 2)) != CKR_OK) {
		fail_rv("C_FindObjectsInit", rv);
		return -1;
	}
	rv = f->C_FindObjects(s, h, 2, &n);
	(void)f->C_FindObjectsFinal(s);
	if (rv != CKR_OK) {
		fail_rv("C_FindObjects", rv);
		return -1;
	}
	if (n != 1) {
		fprintf(stderr, "csign: %lu private keys labelled '%s'; wanted exactly one\n",
			(unsigned long)n, label);
		return -1;
	}
	if ((rv = f->C_GetAttributeValue(s, h[0], &kta, 1)) != CKR_OK) {
		fail_rv("C_GetAttributeValue(CKA_KEY_TYPE)", rv);
		return -1;
	}
	*key = h[0];
	*ec = kt == CKK_EC;
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
	unsigned threads = 1;
	double seconds = 3, warmup = 0.3;
	int copy = 0, ec = 0, o, r = 1;
	void *lib = NULL;
	CK_C_GetFunctionList gfl;
	CK_FUNCTION_LIST *f = NULL;
	CK_SLOT_ID slot = 0;
	CK_SESSION_HANDLE login = CK_INVALID_HANDLE;
	CK_OBJECT_HANDLE tkey = CK_INVALID_HANDLE;
	CK_BBOOL no = CK_FALSE;
	CK_ATTRIBUTE copy_tmpl[] = {{CKA_TOKEN, &no, sizeof(no)}};
	char *pin = NULL;
	ctx *cs = NULL;
	void **args = NULL;
	bench_result res;
	CK_RV rv;

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
		case 'n':
			threads = bench_arg_count("--threads", optarg, 64);
			break;
		case 's':
			seconds = bench_arg_seconds("--seconds", optarg);
			break;
		case 'w':
			warmup = bench_arg_seconds("--warmup", optarg);
			break;
		case 'c':
			copy = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || token == NULL || pin_file == NULL || key == NULL || alg == NULL ||
	    (strcmp(alg, "ES256") != 0 && strcmp(alg, "RS256") != 0))
		usage();
	if ((pin = bench_read_line(pin_file)) == NULL)
		goto out;
	if ((lib = dlopen(module, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		fprintf(stderr, "csign: cannot load %s: %s\n", module, dlerror());
		goto out;
	}
	*(void **)&gfl = dlsym(lib, "C_GetFunctionList");
	if (gfl == NULL || gfl(&f) != CKR_OK) {
		fprintf(stderr, "csign: %s has no usable C_GetFunctionList\n", module);
		goto out;
	}
	{
		CK_C_INITIALIZE_ARGS ia;

		memset(&ia, 0, sizeof(ia));
		ia.flags = CKF_OS_LOCKING_OK;
		if ((rv = f->C_Initialize(&ia)) != CKR_OK) {
			fail_rv("C_Initialize", rv);
			f = NULL;
			goto out;
		}
	}
	if (find_slot(f, token, &slot) != 0)
		goto out;
	if ((rv = f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &login)) != CKR_OK) {
		fail_rv("C_OpenSession", rv);
		goto out;
	}
	rv = f->C_Login(login, CKU_USER, (CK_UTF8CHAR_PTR)pin, (CK_ULONG)strlen(pin));
	OPENSSL_cleanse(pin, strlen(pin));
	if (rv != CKR_OK) {
		fail_rv("C_Login", rv);
		goto out;
	}
	if (find_key(f, login, key, &tkey, &ec) != 0)
		goto out;
	if (ec != (strcmp(alg, "ES256") == 0)) {
		fprintf(stderr, "csign: key '%s' does not fit %s\n", key, alg);
		goto out;
	}
	if ((cs = calloc(threads, sizeof(*cs))) == NULL ||
	    (args = calloc(threads, sizeof(*args))) == NULL) {
		fprintf(stderr, "csign: out of memory\n");
		goto out;
	}
	for (unsigned i = 0; i < threads; i++) {
		cs[i].f = f;
		cs[i].ec = ec;
		cs[i].key = tkey;
		args[i] = &cs[i];
		if ((rv = f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &cs[i].s)) !=
		    CKR_OK) {
			fail_rv("C_OpenSession", rv);
			goto out;
		}
		if (copy &&
		    (rv = f->C_CopyObject(cs[i].s, tkey, copy_tmpl, 1, &cs[i].key)) != CKR_OK) {
			fail_rv("C_CopyObject", rv);
			goto out;
		}
	}
	if (bench_threads(sign_op, args, threads, warmup, seconds, &res) != 0)
		goto out;
	printf("{\"bench\":\"csign\",\"alg\":\"%s\",\"threads\":%u,\"session_copy\":%d,"
	       "\"ops\":%llu,\"seconds\":%.3f,\"rate\":%.1f,\"cpu\":%.3f}\n",
	       alg, threads, copy, (unsigned long long)res.ops, res.seconds, res.rate,
	       res.cpu_seconds);
	r = 0;
out:
	if (f != NULL)
		(void)f->C_Finalize(NULL); /* closes every session, drops session copies */
	if (lib != NULL)
		dlclose(lib);
	if (pin != NULL)
		OPENSSL_cleanse(pin, strlen(pin));
	free(pin);
	free(cs);
	free(args);
	return r;
}

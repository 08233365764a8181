/*
 * Fuzz target: custodian approval files (custody_approval_parse, what
 * `signer approve ID --approval FILE` reads), then the quorum check of the
 * parsed approval (custody_check_approval) against a fixed proposal and one
 * custodian "alice" with a P-256 certificate made at start.  Input: the
 * file's text.
 *
 * Oracle besides no crash: a refusal is P11S_E_INVAL with empty out-params
 * and a message; an accepted approval has the documented members; the
 * check never counts an approval (the target signs none, so a count would
 * be a forgery) and refuses with P11S_E_POLICY.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "common/log.h"
#include "fuzz/fuzz.h"
#include "signer/custody.h"

static custody_set *set;
static json_t *proposal;

/* A self-signed P-256 certificate valid from 1970 to 2100. */
static X509 *
make_cert(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *n = NULL;

	if (k == NULL || x == NULL || (n = X509_NAME_new()) == NULL ||
	    !X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)"alice", -1,
					-1, 0) ||
	    !X509_set_version(x, 2) || !ASN1_INTEGER_set(X509_get_serialNumber(x), 1) ||
	    !ASN1_TIME_set(X509_getm_notBefore(x), 0) ||
	    !ASN1_TIME_set(X509_getm_notAfter(x), 4102444800) || !X509_set_subject_name(x, n) ||
	    !X509_set_issuer_name(x, n) || !X509_set_pubkey(x, k) || !X509_sign(x, k, EVP_sha256()))
		abort();
	X509_NAME_free(n);
	EVP_PKEY_free(k);
	return x;
}

static void
setup(void)
{
	X509 *cert;

	if (set != NULL)
		return;
	cert = make_cert();
	if (custody_set_new(&set) != 0 || custody_set_add(set, "alice", cert) != 0)
		abort();
	X509_free(cert);
	proposal = json_pack("{s:s, s:{s:I, s:I}, s:s, s:[]}", "id",
			     "4b227777d4dd1fc61c6f884f48641d02b4d121d3fd328cb08b5531fcacdabf8a",
			     "content", "created_at", (json_int_t)1700000000, "expires_at",
			     (json_int_t)1700086400, "status", "pending", "approvals");
	if (proposal == NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *a = NULL;
	const char *who = NULL;
	int r;

	p11s_log_set_level(LOG_CRIT);
	setup();
	r = custody_approval_parse((const char *)data, size, "approval", &a, &who);
	if (r != 0) {
		if (a != NULL || who != NULL || (r != P11S_E_INVAL && r != P11S_E_NOMEM) ||
		    strlen(p11s_errmsg(r)) == 0)
			abort();
		return 0;
	}
	if (!json_is_object(a) || who == NULL ||
	    who != json_string_value(json_object_get(a, "custodian")) ||
	    !json_is_integer(json_object_get(a, "approved_at")) ||
	    !json_is_string(json_object_get(a, "alg")) ||
	    !json_is_string(json_object_get(a, "signature")))
		abort();
	r = custody_check_approval(set, proposal, a);
	if (r != P11S_E_POLICY || strlen(p11s_errmsg(r)) == 0)
		abort();
	if (custody_count(set, proposal, NULL) != 0)
		abort();
	json_decref(a);
	ERR_clear_error();
	return 0;
}

/* Key generation, listing, CSR, certificates, import and destroy on a real SoftHSM2 token. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "tests/hsm/hsmtest.h"

static struct test_token tt;
static hsm_token *tok;

struct key {
	const char *label;
	p11s_keytype kt;
	unsigned bits;
	uint8_t id[HSM_ID_MAX];
	size_t id_len;
};

static struct key keys[] = {
    {"ec256", P11S_KT_EC_P256, 0, {0}, 0},
    {"ec384", P11S_KT_EC_P384, 384, {0}, 0},
    {"rsa2048", P11S_KT_RSA, 2048, {0}, 0},
    {"rsa3072", P11S_KT_RSA, 3072, {0}, 0},
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static EVP_PKEY *ca_key;
static X509 *ca_cert;

static int
setup(void **state)
{
	test_token_create(&tt, "keys");
	tok = ht_open(&tt);
	ht_ca_new(&ca_key, &ca_cert);
	return 0;
}

static int
teardown(void **state)
{
	hsm_close(tok);
	EVP_PKEY_free(ca_key);
	X509_free(ca_cert);
	test_token_destroy(&tt);
	return 0;
}

/* The key id contract: SHA-1 over the DER SubjectPublicKeyInfo. */
static void
expect_spki_id(EVP_PKEY *pk, const uint8_t *id, size_t id_len)
{
	unsigned char *der = NULL, md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int n = i2d_PUBKEY(pk, &der);

	assert_true(n > 0);
	assert_int_equal(EVP_Digest(der, (size_t)n, md, &mdlen, EVP_sha1(), NULL), 1);
	OPENSSL_free(der);
	assert_int_equal(id_len, 20);
	assert_memory_equal(id, md, 20);
}

static const hsm_key_info *
find_info(const hsm_key_list *l, const uint8_t *id, size_t id_len)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->keys[i].id_len == id_len && memcmp(l->keys[i].id, id, id_len) == 0)
			return &l->keys[i];
	return NULL;
}

static void
sha1_of(X509 *x, char out[41])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	assert_int_equal(X509_digest(x, EVP_sha1(), md, &len), 1);
	for (unsigned i = 0; i < len; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static void
test_keygen_and_list(void **state)
{
	hsm_key_list *l = NULL;

	for (size_t i = 0; i < NKEYS; i++) {
		EVP_PKEY *pk = NULL;
		int r = hsm_keygen(tok, keys[i].label, keys[i].kt, keys[i].bits, keys[i].id,
				   &keys[i].id_len);

		if (r != 0)
			fail_msg("keygen %s: %s", keys[i].label, p11s_errmsg(r));
		assert_int_equal(hsm_public_key(tok, keys[i].id, keys[i].id_len, &pk), 0);
		expect_spki_id(pk, keys[i].id, keys[i].id_len);
		EVP_PKEY_free(pk);
	}
	assert_int_equal(hsm_list_keys(tok, &l), 0);
	assert_int_equal(l->n, NKEYS);
	for (size_t i = 0; i < NKEYS; i++) {
		const hsm_key_info *k = find_info(l, keys[i].id, keys[i].id_len);
		unsigned bits = keys[i].kt == P11S_KT_EC_P256	? 256
				: keys[i].kt == P11S_KT_EC_P384 ? 384
								: keys[i].bits;

		assert_non_null(k);
		assert_string_equal(k->label, keys[i].label);
		assert_int_equal(k->keytype, keys[i].kt);
		assert_int_equal(k->bits, bits);
		assert_true(k->has_private);
		assert_true(k->has_public);
		assert_false(k->has_cert);
		assert_null(k->cert);
		assert_string_equal(k->sha1, "");
		assert_int_equal(k->sensitive, 1);
		assert_int_equal(k->extractable, 0);
		assert_int_equal(k->never_extractable, 1);
		assert_int_equal(k->always_sensitive, 1);
	}
	hsm_key_list_free(l);
	hsm_key_list_free(NULL);
}

static void
test_keygen_refusals(void **state)
{
	uint8_t id[HSM_ID_MAX];
	size_t id_len = 99, before = ht_count_objects(tok);

	ht_expect(hsm_keygen(tok, "ec256", P11S_KT_EC_P256, 0, id, &id_len), P11S_E_EXISTS,
		  "'ec256'");
	assert_int_equal(id_len, 0);
	ht_expect(hsm_keygen(tok, "r1024", P11S_KT_RSA, 1024, id, &id_len), P11S_E_INVAL,
		  "2048 or 3072");
	ht_expect(hsm_keygen(tok, "r4096", P11S_KT_RSA, 4096, id, &id_len), P11S_E_INVAL,
		  "2048 or 3072");
	ht_expect(hsm_keygen(tok, "e521", P11S_KT_EC_P256, 521, id, &id_len), P11S_E_INVAL, "256");
	ht_expect(hsm_keygen(tok, "none", P11S_KT_NONE, 0, id, &id_len), P11S_E_KEY_TYPE,
		  "EC P-256");
	ht_expect(hsm_keygen(tok, "", P11S_KT_EC_P256, 0, id, &id_len), P11S_E_INVAL, "label");
	ht_expect(hsm_keygen(tok, NULL, P11S_KT_EC_P256, 0, id, &id_len), P11S_E_INVAL, "label");
	assert_int_equal(ht_count_objects(tok), before);
}

static void
test_find_by_label(void **state)
{
	uint8_t id[HSM_ID_MAX];
	size_t id_len = 0;

	for (size_t i = 0; i < NKEYS; i++) {
		assert_int_equal(hsm_find_key_by_label(tok, keys[i].label, id, &id_len), 0);
		assert_int_equal(id_len, keys[i].id_len);
		assert_memory_equal(id, keys[i].id, id_len);
	}
	ht_expect(hsm_find_key_by_label(tok, "nope", id, &id_len), P11S_E_NOTFOUND, "'nope'");
	assert_int_equal(id_len, 0);
	ht_expect(hsm_find_key_by_label(tok, NULL, id, &id_len), P11S_E_INVAL, "label");
}

static void
test_public_key_missing(void **state)
{
	static const uint8_t id[] = {1, 2, 3, 4};
	EVP_PKEY *pk = (EVP_PKEY *)&pk;

	ht_expect(hsm_public_key(tok, id, sizeof(id), &pk), P11S_E_NOTFOUND, "01020304");
	assert_null(pk);
	ht_expect(hsm_public_key(tok, id, 0, &pk), P11S_E_INVAL, "CKA_ID");
}

static X509_REQ *
csr(const struct key *k, const char *subject)
{
	char *pem = NULL;
	BIO *b;
	X509_REQ *req;
	int r = hsm_make_csr(tok, k->id, k->id_len, subject, &pem);

	if (r != 0)
		fail_msg("csr %s: %s", k->label, p11s_errmsg(r));
	assert_non_null(strstr(pem, "-----BEGIN CERTIFICATE REQUEST-----"));
	assert_non_null(b = BIO_new_mem_buf(pem, -1));
	assert_non_null(req = PEM_read_bio_X509_REQ(b, NULL, NULL, NULL));
	BIO_free(b);
	free(pem);
	return req;
}

static void
test_csr(void **state)
{
	static const int nids[NKEYS] = {NID_ecdsa_with_SHA256, NID_ecdsa_with_SHA384,
					NID_sha256WithRSAEncryption, NID_sha256WithRSAEncryption};

	for (size_t i = 0; i < NKEYS; i++) {
		X509_REQ *req = csr(&keys[i], i % 2 ? "/CN=api.example/O=Example Org"
						    : "CN=api.example,O=Example Org");
		EVP_PKEY *pk = NULL;
		char line[256];

		assert_int_equal(hsm_public_key(tok, keys[i].id, keys[i].id_len, &pk), 0);
		assert_int_equal(X509_REQ_verify(req, pk), 1);
		assert_int_equal(X509_REQ_get_signature_nid(req), nids[i]);
		X509_NAME_oneline(X509_REQ_get_subject_name(req), line, sizeof(line));
		assert_string_equal(line, "/CN=api.example/O=Example Org");
		EVP_PKEY_free(pk);
		X509_REQ_free(req);
	}
}

static void
test_csr_refusals(void **state)
{
	char *pem = (char *)&pem;
	static const uint8_t missing[] = {9, 9};

	ht_expect(hsm_make_csr(tok, keys[0].id, keys[0].id_len, "garbage", &pem), P11S_E_INVAL,
		  "CN=name,O=org");
	assert_null(pem);
	ht_expect(hsm_make_csr(tok, keys[0].id, keys[0].id_len, "XYZZY=1", &pem), P11S_E_INVAL,
		  "XYZZY");
	ht_expect(hsm_make_csr(tok, keys[0].id, keys[0].id_len, "", &pem), P11S_E_INVAL,
		  "empty subject");
	ht_expect(hsm_make_csr(tok, keys[0].id, keys[0].id_len, "CN=", &pem), P11S_E_INVAL,
		  "TYPE=value");
	ht_expect(hsm_make_csr(tok, missing, sizeof(missing), "CN=x", &pem), P11S_E_NOTFOUND,
		  "0909");
	assert_null(pem);
}

static void
test_store_cert(void **state)
{
	X509_REQ *req = csr(&keys[0], "CN=ec256 service");
	EVP_PKEY *pub = X509_REQ_get_pubkey(req);
	X509 *cert = ht_issue(ca_key, ca_cert, pub, "ec256 service");
	hsm_key_list *l = NULL;
	const hsm_key_info *k;
	uint8_t id[HSM_ID_MAX];
	size_t id_len = 0, before;
	char sha1[41];

	assert_int_equal(hsm_store_cert(tok, cert, NULL, id, &id_len), 0);
	assert_int_equal(id_len, keys[0].id_len);
	assert_memory_equal(id, keys[0].id, id_len);
	assert_int_equal(hsm_list_keys(tok, &l), 0);
	assert_non_null(k = find_info(l, id, id_len));
	assert_true(k->has_cert && k->has_private && k->has_public);
	assert_string_equal(k->label, "ec256");
	sha1_of(cert, sha1);
	assert_string_equal(k->sha1, sha1);
	assert_int_equal(strlen(k->sha256), 64);
	assert_int_equal(X509_cmp(k->cert, cert), 0);
	hsm_key_list_free(l);

	/* the same certificate again */
	before = ht_count_objects(tok);
	ht_expect(hsm_store_cert(tok, cert, NULL, id, &id_len), P11S_E_EXISTS, sha1);
	assert_int_equal(id_len, 0);
	assert_int_equal(ht_count_objects(tok), before);
	/* public key from the certificate matches the token's */
	X509_free(cert);
	EVP_PKEY_free(pub);
	X509_REQ_free(req);
}

static void
test_store_cert_mismatch(void **state)
{
	EVP_PKEY *other = EVP_EC_gen("P-256");
	X509 *cert = ht_issue(ca_key, ca_cert, other, "stranger");
	uint8_t id[HSM_ID_MAX];
	size_t id_len = 0, before = ht_count_objects(tok);

	ht_expect(hsm_store_cert(tok, cert, "stranger", id, &id_len), P11S_E_KEY_MISMATCH,
		  "no private key on token 'keys' matches the certificate's public key");
	assert_int_equal(ht_count_objects(tok), before);
	ht_expect(hsm_store_cert(tok, NULL, NULL, id, &id_len), P11S_E_INVAL, "certificate");
	X509_free(cert);
	EVP_PKEY_free(other);
}

/* A renewed certificate for the same key: both stored, the list shows the later one. */
static void
test_store_renewed_cert(void **state)
{
	EVP_PKEY *pub = NULL;
	X509 *later, *earlier;
	hsm_key_list *l = NULL;
	const hsm_key_info *k;
	uint8_t id[HSM_ID_MAX];
	size_t id_len = 0;
	char sha1[41];

	assert_int_equal(hsm_public_key(tok, keys[2].id, keys[2].id_len, &pub), 0);
	later = ht_issue_valid(ca_key, ca_cert, pub, "rsa renewed", 2 * 86400);
	earlier = ht_issue_valid(ca_key, ca_cert, pub, "rsa first", 86400);
	assert_int_equal(hsm_store_cert(tok, later, "renewed", id, &id_len), 0);
	assert_memory_equal(id, keys[2].id, id_len);
	assert_int_equal(hsm_store_cert(tok, earlier, NULL, id, &id_len), 0);
	assert_int_equal(hsm_list_keys(tok, &l), 0);
	assert_non_null(k = find_info(l, keys[2].id, keys[2].id_len));
	sha1_of(later, sha1);
	assert_string_equal(k->sha1, sha1);
	assert_string_equal(k->label, "rsa2048");
	hsm_key_list_free(l);
	X509_free(later);
	X509_free(earlier);
	EVP_PKEY_free(pub);
}

static void
import_sign(EVP_PKEY *key, const char *label, p11s_alg alg, p11s_alg alg2)
{
	X509 *cert = ht_issue(ca_key, ca_cert, key, label);
	hsm_key_list *l = NULL;
	const hsm_key_info *k;
	uint8_t id[HSM_ID_MAX];
	size_t id_len = 0, before;
	char sha1[41];
	int r = hsm_import_key(tok, key, cert, label, id, &id_len);

	if (r != 0)
		fail_msg("import %s: %s", label, p11s_errmsg(r));
	expect_spki_id(key, id, id_len);
	ht_sign_verify(tok, id, id_len, alg, 1);
	ht_sign_verify(tok, id, id_len, alg2, 0);
	assert_int_equal(hsm_list_keys(tok, &l), 0);
	assert_non_null(k = find_info(l, id, id_len));
	assert_true(k->has_private && k->has_public && k->has_cert);
	assert_string_equal(k->label, label);
	assert_int_equal(k->sensitive, 1);
	assert_int_equal(k->extractable, 0);
	sha1_of(cert, sha1);
	assert_string_equal(k->sha1, sha1);
	hsm_key_list_free(l);
	/* importing it again adds nothing */
	before = ht_count_objects(tok);
	ht_expect(hsm_import_key(tok, key, cert, label, id, &id_len), P11S_E_EXISTS,
		  "already on token");
	assert_int_equal(ht_count_objects(tok), before);
	X509_free(cert);
}

static void
test_import(void **state)
{
	EVP_PKEY *rsa = EVP_RSA_gen(2048), *p256 = EVP_EC_gen("P-256"), *p384 = EVP_EC_gen("P-384");

	assert_non_null(rsa);
	import_sign(rsa, "imp-rsa", P11S_ALG_RS256, P11S_ALG_PS256);
	import_sign(p256, "imp-p256", P11S_ALG_ES256, P11S_ALG_ES256);
	import_sign(p384, "imp-p384", P11S_ALG_ES384, P11S_ALG_ES384);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(p256);
	EVP_PKEY_free(p384);
}

static void
test_import_default_label(void **state)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *cert = ht_issue(ca_key, ca_cert, key, "named-by-cn");
	uint8_t id[HSM_ID_MAX], id2[HSM_ID_MAX];
	size_t id_len = 0, id2_len = 0;

	assert_int_equal(hsm_import_key(tok, key, cert, NULL, id, &id_len), 0);
	assert_int_equal(hsm_find_key_by_label(tok, "named-by-cn", id2, &id2_len), 0);
	assert_memory_equal(id, id2, id_len);
	assert_int_equal(hsm_destroy_key(tok, id, id_len), 0);
	X509_free(cert);
	EVP_PKEY_free(key);
}

static void
test_import_refusals(void **state)
{
	EVP_PKEY *a = EVP_EC_gen("P-256"), *b = EVP_EC_gen("P-256");
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	EVP_PKEY *small = EVP_RSA_gen(1024);
	X509 *cert_b = ht_issue(ca_key, ca_cert, b, "b");
	X509 *cert_ed = ht_issue(ca_key, ca_cert, ed, "ed");
	X509 *cert_small = ht_issue(ca_key, ca_cert, small, "small");
	uint8_t id[HSM_ID_MAX];
	size_t id_len = 0, before = ht_count_objects(tok);

	ht_expect(hsm_import_key(tok, a, cert_b, "mismatch", id, &id_len), P11S_E_KEY_MISMATCH,
		  "does not belong");
	ht_expect(hsm_import_key(tok, ed, cert_ed, "ed", id, &id_len), P11S_E_KEY_TYPE,
		  "EC P-256, EC P-384 and RSA");
	ht_expect(hsm_import_key(tok, small, cert_small, "small", id, &id_len), P11S_E_KEY_TYPE,
		  "2048");
	ht_expect(hsm_import_key(tok, a, NULL, "x", id, &id_len), P11S_E_INVAL, "certificate");
	assert_int_equal(id_len, 0);
	assert_int_equal(ht_count_objects(tok), before);
	X509_free(cert_b);
	X509_free(cert_ed);
	X509_free(cert_small);
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);
	EVP_PKEY_free(ed);
	EVP_PKEY_free(small);
}

static void
test_find_by_label_ambiguous(void **state)
{
	/* keygen refuses duplicate labels, import does not check them */
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *cert = ht_issue(ca_key, ca_cert, key, "dup");
	uint8_t id[HSM_ID_MAX], id2[HSM_ID_MAX];
	size_t id_len = 0, id2_len = 0;

	assert_int_equal(hsm_import_key(tok, key, cert, "ec384", id, &id_len), 0);
	ht_expect(hsm_find_key_by_label(tok, "ec384", id2, &id2_len), P11S_E_AMBIGUOUS, "'ec384'");
	assert_int_equal(hsm_destroy_key(tok, id, id_len), 0);
	assert_int_equal(hsm_find_key_by_label(tok, "ec384", id2, &id2_len), 0);
	X509_free(cert);
	EVP_PKEY_free(key);
}

static void
test_destroy(void **state)
{
	hsm_key_list *l = NULL;
	size_t before = ht_count_objects(tok);
	EVP_PKEY *pk = NULL;

	/* ec256 has private, public and certificate objects */
	assert_int_equal(hsm_destroy_key(tok, keys[0].id, keys[0].id_len), 0);
	assert_int_equal(ht_count_objects(tok), before - 3);
	assert_int_equal(hsm_list_keys(tok, &l), 0);
	assert_null(find_info(l, keys[0].id, keys[0].id_len));
	hsm_key_list_free(l);
	ht_expect(hsm_public_key(tok, keys[0].id, keys[0].id_len, &pk), P11S_E_NOTFOUND, NULL);
	ht_expect(hsm_destroy_key(tok, keys[0].id, keys[0].id_len), P11S_E_NOTFOUND, "no key");
	assert_int_equal(ht_count_objects(tok), before - 3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_keygen_and_list),
	    cmocka_unit_test(test_keygen_refusals),
	    cmocka_unit_test(test_find_by_label),
	    cmocka_unit_test(test_public_key_missing),
	    cmocka_unit_test(test_csr),
	    cmocka_unit_test(test_csr_refusals),
	    cmocka_unit_test(test_store_cert),
	    cmocka_unit_test(test_store_cert_mismatch),
	    cmocka_unit_test(test_store_renewed_cert),
	    cmocka_unit_test(test_import),
	    cmocka_unit_test(test_import_default_label),
	    cmocka_unit_test(test_import_refusals),
	    cmocka_unit_test(test_find_by_label_ambiguous),
	    cmocka_unit_test(test_destroy),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

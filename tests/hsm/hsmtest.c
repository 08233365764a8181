#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

#include "tests/hsm/hsmtest.h"

hsm_token *
ht_open(const struct test_token *tt)
{
	hsm_open_params p = {
	    .uri = tt->uri, .lock_file = tt->lock_file, .pin_source = tt->pin_source};
	hsm_token *t = NULL;
	int r = hsm_open(&p, &t);

	if (r != 0)
		fail_msg("hsm_open(%s): %s", tt->uri, p11s_errmsg(r));
	assert_non_null(t);
	return t;
}

int
ht_count_lines(const char *path, const char *prefix)
{
	char line[256];
	int n = 0;
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		n += strncmp(line, prefix, strlen(prefix)) == 0;
	fclose(f);
	return n;
}

void
ht_expect(int r, int err, const char *needle)
{
	if (r != err)
		fail_msg("expected %d (%s), got %d: %s", err, p11s_strerror(err), r,
			 p11s_errmsg(r));
	if (needle != NULL && strstr(p11s_errmsg(r), needle) == NULL)
		fail_msg("message lacks '%s': %s", needle, p11s_errmsg(r));
}

int
ht_verify(EVP_PKEY *pk, p11s_alg alg, const uint8_t *msg, size_t len, const uint8_t *sig,
	  size_t siglen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	unsigned char *der = NULL;
	const unsigned char *s = sig;
	size_t slen = siglen;
	int ok = 0;

	assert_non_null(ctx);
	if (alg == P11S_ALG_ES256 || alg == P11S_ALG_ES384) {
		ECDSA_SIG *es = ECDSA_SIG_new();
		BIGNUM *r = BN_bin2bn(sig, (int)siglen / 2, NULL);
		BIGNUM *bs = BN_bin2bn(sig + siglen / 2, (int)siglen / 2, NULL);
		int n;

		assert_non_null(es);
		assert_int_equal(ECDSA_SIG_set0(es, r, bs), 1);
		n = i2d_ECDSA_SIG(es, &der);
		ECDSA_SIG_free(es);
		assert_true(n > 0);
		s = der;
		slen = (size_t)n;
	}
	if (EVP_DigestVerifyInit(ctx, &pctx, alg == P11S_ALG_ES384 ? EVP_sha384() : EVP_sha256(),
				 NULL, pk) != 1)
		goto out;
	if (alg == P11S_ALG_PS256 &&
	    (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
	     EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) != 1 ||
	     EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) != 1))
		goto out;
	ok = EVP_DigestVerify(ctx, s, slen, msg, len) == 1;
out:
	ERR_clear_error();
	OPENSSL_free(der);
	EVP_MD_CTX_free(ctx);
	return ok;
}

void
ht_sign_verify(hsm_token *t, const uint8_t *id, size_t id_len, p11s_alg alg, int session_copy)
{
	static const uint8_t msg[] = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ0ZXN0In0";
	hsm_signer *g = NULL;
	EVP_PKEY *pk = NULL;
	uint8_t sig[512];
	size_t siglen = sizeof(sig);
	int r;

	if ((r = hsm_signer_open(t, id, id_len, alg, session_copy, &g)) != 0)
		fail_msg("hsm_signer_open %s: %s", p11s_alg_name(alg), p11s_errmsg(r));
	if ((r = hsm_sign(g, msg, sizeof(msg) - 1, sig, &siglen)) != 0)
		fail_msg("hsm_sign %s: %s", p11s_alg_name(alg), p11s_errmsg(r));
	assert_int_equal(hsm_public_key(t, id, id_len, &pk), 0);
	assert_int_equal(siglen, p11s_alg_sig_len(alg, (unsigned)EVP_PKEY_get_bits(pk)));
	assert_true(ht_verify(pk, alg, msg, sizeof(msg) - 1, sig, siglen));
	/* a changed message must not verify: the check can fail */
	assert_false(ht_verify(pk, alg, msg, sizeof(msg) - 2, sig, siglen));
	EVP_PKEY_free(pk);
	hsm_signer_free(g);
}

static void
set_name(X509_NAME *n, const char *cn)
{
	assert_int_equal(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
						    (const unsigned char *)cn, -1, -1, 0),
			 1);
}

static X509 *
make_cert(EVP_PKEY *signer, X509 *issuer, EVP_PKEY *pub, const char *cn, long valid)
{
	static long serial = 1;
	X509 *x = X509_new();

	assert_non_null(x);
	assert_int_equal(X509_set_version(x, 2), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), serial++), 1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), -60));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), valid));
	set_name(X509_get_subject_name(x), cn);
	assert_int_equal(X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer)
								: X509_get_subject_name(x)),
			 1);
	assert_int_equal(X509_set_pubkey(x, pub), 1);
	assert_true(X509_sign(x, signer, EVP_sha256()) > 0);
	return x;
}

void
ht_ca_new(EVP_PKEY **key, X509 **cert)
{
	*key = EVP_EC_gen("P-256");
	assert_non_null(*key);
	*cert = make_cert(*key, NULL, *key, "Test CA", 10 * 86400);
}

X509 *
ht_issue(EVP_PKEY *ca_key, X509 *ca_cert, EVP_PKEY *pub, const char *cn)
{
	return make_cert(ca_key, ca_cert, pub, cn, 86400);
}

X509 *
ht_issue_valid(EVP_PKEY *ca_key, X509 *ca_cert, EVP_PKEY *pub, const char *cn, long seconds)
{
	return make_cert(ca_key, ca_cert, pub, cn, seconds);
}

size_t
ht_count_objects(hsm_token *t)
{
	hsm_key_list *l = NULL;
	size_t n = 0;
	int r = hsm_list_keys(t, &l);

	if (r != 0)
		fail_msg("hsm_list_keys: %s", p11s_errmsg(r));
	for (size_t i = 0; i < l->n; i++)
		n += (size_t)(l->keys[i].has_private + l->keys[i].has_public + l->keys[i].has_cert);
	hsm_key_list_free(l);
	return n;
}

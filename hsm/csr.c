/* PKCS#10 requests signed on the token. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "common/log.h"
#include "common/util.h"
#include "hsm/internal.h"

#define DN_FORMS "CN=name,O=org or /CN=name/O=org"
#define DN_MAX 1024

/*
 * "CN=a,O=b" or "/CN=a/O=b" into an X509_NAME.  A backslash escapes the
 * next character (e.g. "O=Acme\, Inc.").
 */
static int
parse_dn(const char *subject, X509_NAME **out)
{
	X509_NAME *name = NULL;
	char *buf = NULL;
	const char *p;
	char sep = ',';
	size_t len;
	int r = P11S_E_INTERNAL, entries = 0;

	*out = NULL;
	if (subject == NULL || *subject == '\0')
		return p11s_fail(P11S_E_INVAL, "empty subject: use %s", DN_FORMS);
	if ((len = strlen(subject)) > DN_MAX)
		return p11s_fail(P11S_E_INVAL, "the subject is longer than %d bytes", DN_MAX);
	p = subject;
	if (*p == '/') {
		sep = '/';
		p++;
	}
	if ((name = X509_NAME_new()) == NULL || (buf = malloc(len + 1)) == NULL) {
		r = p11s_fail(P11S_E_NOMEM, "out of memory");
		goto out;
	}
	while (*p != '\0') {
		size_t n = 0;
		char *eq, *key, *val;

		while (*p == ' ')
			p++;
		while (*p != '\0' && *p != sep) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			buf[n++] = *p++;
		}
		buf[n] = '\0';
		if (*p == sep)
			p++;
		if ((eq = strchr(buf, '=')) == NULL || eq == buf || eq[1] == '\0') {
			r = p11s_fail(P11S_E_INVAL,
				      "subject '%s' is not a distinguished name (each part must be "
				      "TYPE=value): use %s",
				      subject, DN_FORMS);
			goto out;
		}
		*eq = '\0';
		key = buf;
		val = eq + 1;
		if (OBJ_txt2nid(key) == NID_undef ||
		    !X509_NAME_add_entry_by_txt(name, key, MBSTRING_UTF8,
						(const unsigned char *)val, -1, -1, 0)) {
			ERR_clear_error();
			r = p11s_fail(
			    P11S_E_INVAL,
			    "subject '%s': unknown attribute type or bad value for '%s' (use "
			    "CN, O, OU, C, L, ST...): use %s",
			    subject, key, DN_FORMS);
			goto out;
		}
		entries++;
	}
	if (entries == 0) {
		r = p11s_fail(P11S_E_INVAL, "subject '%s' names nothing: use %s", subject,
			      DN_FORMS);
		goto out;
	}
	*out = name;
	name = NULL;
	r = 0;
out:
	X509_NAME_free(name);
	free(buf);
	return r;
}

static int
csr_sig_nid(p11s_alg alg)
{
	return alg == P11S_ALG_ES256   ? NID_ecdsa_with_SHA256
	       : alg == P11S_ALG_ES384 ? NID_ecdsa_with_SHA384
				       : NID_sha256WithRSAEncryption;
}

/* Sign the request's to-be-signed part on the token and attach the signature. */
static int
sign_req(hsm_token *t, const uint8_t *id, size_t id_len, p11s_alg alg, X509_REQ *req)
{
	hsm_signer *g = NULL;
	X509_ALGOR *algor = NULL;
	ASN1_BIT_STRING *bits = NULL;
	unsigned char *tbs = NULL;
	uint8_t sig[512], *der = NULL;
	size_t siglen = sizeof(sig), der_len = 0;
	int tbs_len, r = P11S_E_INTERNAL;

	if ((algor = X509_ALGOR_new()) == NULL ||
	    !X509_ALGOR_set0(algor, OBJ_nid2obj(csr_sig_nid(alg)),
			     alg == P11S_ALG_RS256 ? V_ASN1_NULL : V_ASN1_UNDEF, NULL) ||
	    !X509_REQ_set1_signature_algo(req, algor) ||
	    (tbs_len = i2d_re_X509_REQ_tbs(req, &tbs)) <= 0) {
		log_openssl("encoding the request");
		r = p11s_fail(P11S_E_CRYPTO, "cannot encode the certificate request");
		goto out;
	}
	if ((r = hsm_signer_open(t, id, id_len, alg, 0, &g)) != 0 ||
	    (r = hsm_sign(g, tbs, (size_t)tbs_len, sig, &siglen)) != 0)
		goto out;
	if (alg != P11S_ALG_RS256) {
		if ((r = hsm_ecdsa_raw_to_der(sig, siglen, &der, &der_len)) != 0)
			goto out;
	}
	if ((bits = ASN1_BIT_STRING_new()) == NULL ||
	    !ASN1_BIT_STRING_set(bits, der != NULL ? der : sig,
				 (int)(der != NULL ? der_len : siglen))) {
		r = p11s_fail(P11S_E_NOMEM, "out of memory");
		goto out;
	}
	/* a signature has no unused bits: stop the encoder from trimming zero bits */
	bits->flags &= ~(ASN1_STRING_FLAG_BITS_LEFT | 0x07);
	bits->flags |= ASN1_STRING_FLAG_BITS_LEFT;
	X509_REQ_set0_signature(req, bits);
	bits = NULL;
	r = 0;
out:
	hsm_signer_free(g);
	ASN1_BIT_STRING_free(bits);
	X509_ALGOR_free(algor);
	OPENSSL_free(tbs);
	OPENSSL_free(der);
	return r;
}

int
hsm_make_csr(hsm_token *t, const uint8_t *id, size_t id_len, const char *subject, char **pem)
{
	X509_NAME *name = NULL;
	X509_REQ *req = NULL;
	EVP_PKEY *pk = NULL;
	BIO *bio = NULL;
	BUF_MEM *bm = NULL;
	p11s_keytype kt;
	unsigned bits;
	p11s_alg alg;
	char *text = NULL;
	int r = P11S_E_INTERNAL;

	*pem = NULL;
	if ((r = parse_dn(subject, &name)) != 0 || (r = hsm_public_key(t, id, id_len, &pk)) != 0 ||
	    (r = hsm_pkey_type(pk, &kt, &bits)) != 0)
		goto out;
	alg = p11s_alg_natural(kt);
	if ((req = X509_REQ_new()) == NULL || !X509_REQ_set_version(req, 0) ||
	    !X509_REQ_set_subject_name(req, name) || !X509_REQ_set_pubkey(req, pk)) {
		log_openssl("building the request");
		r = p11s_fail(P11S_E_CRYPTO, "cannot build the certificate request");
		goto out;
	}
	if ((r = sign_req(t, id, id_len, alg, req)) != 0)
		goto out;
	if (X509_REQ_verify(req, pk) != 1) {
		log_openssl("verifying the request signed on the token");
		r = p11s_fail(
		    P11S_E_CRYPTO,
		    "the request signed on token '%s' does not verify with the key's public key",
		    t->label);
		goto out;
	}
	if ((bio = BIO_new(BIO_s_mem())) == NULL || PEM_write_bio_X509_REQ(bio, req) != 1 ||
	    BIO_get_mem_ptr(bio, &bm) != 1 || bm == NULL) {
		log_openssl("writing the request");
		r = p11s_fail(P11S_E_CRYPTO, "cannot write the certificate request as PEM");
		goto out;
	}
	if ((text = malloc(bm->length + 1)) == NULL) {
		r = p11s_fail(P11S_E_NOMEM, "out of memory");
		goto out;
	}
	memcpy(text, bm->data, bm->length);
	text[bm->length] = '\0';
	*pem = text;
	r = 0;
out:
	BIO_free(bio);
	X509_REQ_free(req);
	EVP_PKEY_free(pk);
	X509_NAME_free(name);
	return r;
}

int
hsm_dn_parse(const char *subject, X509_NAME **out)
{
	return parse_dn(subject, out);
}

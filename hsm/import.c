/* Certificates and imported private keys. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "common/log.h"
#include "common/util.h"
#include "hsm/internal.h"

/* DER encodings of the certificate fields PKCS#11 stores beside CKA_VALUE. */
struct cert_der {
	unsigned char *value, *subject, *issuer, *serial;
	int value_len, subject_len, issuer_len, serial_len;
};

static void
cert_der_free(struct cert_der *c)
{
	OPENSSL_free(c->value);
	OPENSSL_free(c->subject);
	OPENSSL_free(c->issuer);
	OPENSSL_free(c->serial);
	memset(c, 0, sizeof(*c));
}

static int
cert_der_get(X509 *x, struct cert_der *c)
{
	memset(c, 0, sizeof(*c));
	if ((c->value_len = i2d_X509(x, &c->value)) <= 0 ||
	    (c->subject_len = i2d_X509_NAME(X509_get_subject_name(x), &c->subject)) <= 0 ||
	    (c->issuer_len = i2d_X509_NAME(X509_get_issuer_name(x), &c->issuer)) <= 0 ||
	    (c->serial_len = i2d_ASN1_INTEGER(X509_get0_serialNumber(x), &c->serial)) <= 0) {
		log_openssl("encoding the certificate");
		cert_der_free(c);
		return p11s_fail(P11S_E_CRYPTO, "cannot encode the certificate");
	}
	return 0;
}

/* P11S_E_EXISTS when a certificate with these exact bytes is on the token. */
static int
cert_absent(hsm_token *t, CK_SESSION_HANDLE s, const struct cert_der *c)
{
	CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
	CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof(cls)},
			       {CKA_VALUE, c->value, (CK_ULONG)c->value_len}};
	CK_OBJECT_HANDLE *h = NULL;
	size_t n = 0;
	char sha1[41];
	int r;

	if ((r = hsm_find(t, s, tmpl, 2, &h, &n)) != 0)
		return r;
	free(h);
	if (n == 0)
		return 0;
	if ((r = p11s_sha1_hex(c->value, (size_t)c->value_len, sha1)) != 0)
		return r;
	return p11s_fail(P11S_E_EXISTS, "the certificate %s is already on token '%s'", sha1,
			 t->label);
}

static int
create_cert(hsm_token *t, CK_SESSION_HANDLE s, const struct cert_der *c, const char *label,
	    const uint8_t *id, size_t id_len, CK_OBJECT_HANDLE *out)
{
	CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
	CK_CERTIFICATE_TYPE ct = CKC_X_509;
	CK_BBOOL yes = CK_TRUE;
	CK_ATTRIBUTE tmpl[] = {
	    {CKA_CLASS, &cls, sizeof(cls)},
	    {CKA_CERTIFICATE_TYPE, &ct, sizeof(ct)},
	    {CKA_TOKEN, &yes, sizeof(yes)},
	    {CKA_VALUE, c->value, (CK_ULONG)c->value_len},
	    {CKA_SUBJECT, c->subject, (CK_ULONG)c->subject_len},
	    {CKA_ISSUER, c->issuer, (CK_ULONG)c->issuer_len},
	    {CKA_SERIAL_NUMBER, c->serial, (CK_ULONG)c->serial_len},
	    {CKA_ID, hsm_ck_ptr(id), id_len},
	    {CKA_LABEL, hsm_ck_ptr(label), strlen(label)},
	};
	CK_RV rv;

	*out = CK_INVALID_HANDLE;
	if ((rv = hsm_C_CreateObject(t, s, tmpl, sizeof(tmpl) / sizeof(tmpl[0]), out)) != CKR_OK) {
		*out = CK_INVALID_HANDLE;
		return HSM_RV_FAIL(rv, "C_CreateObject",
				   "cannot store the certificate on token '%s'", t->label);
	}
	return 0;
}

/* The first private key with this CKA_ID: *found 1 and its label. */
static int
private_by_id(hsm_token *t, CK_SESSION_HANDLE s, const uint8_t *id, size_t id_len, int *found,
	      char **label)
{
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof(cls)}, {CKA_ID, hsm_ck_ptr(id), id_len}};
	CK_OBJECT_HANDLE *h = NULL;
	size_t n = 0, len;
	int r;

	*found = 0;
	if (label != NULL)
		*label = NULL;
	if ((r = hsm_find(t, s, tmpl, 2, &h, &n)) != 0)
		return r;
	if (n > 0 && label != NULL)
		r = hsm_get_attr(t, s, h[0], CKA_LABEL, (uint8_t **)label, &len);
	*found = n > 0 && r == 0;
	free(h);
	return r;
}

/*
 * The private key whose public key is pk: first by the id derived from pk,
 * then by comparing with the public key of every private key (keys imported
 * elsewhere may carry other ids).
 */
static int
match_private(hsm_token *t, CK_SESSION_HANDLE s, EVP_PKEY *pk, uint8_t id[HSM_ID_MAX],
	      size_t *id_len, char **label)
{
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	/* class alone: the caller holds the host lock (STACK-NOTES) */
	CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof(cls)}};
	CK_OBJECT_HANDLE *h = NULL;
	size_t n = 0;
	int r, found = 0;

	if ((r = hsm_key_id(pk, id, id_len)) != 0 ||
	    (r = private_by_id(t, s, id, *id_len, &found, label)) != 0)
		return r;
	if (found)
		return 0;
	if ((r = hsm_find(t, s, tmpl, 1, &h, &n)) != 0)
		return r;
	for (size_t i = 0; i < n && !found; i++) {
		uint8_t *v = NULL;
		size_t len = 0;
		EVP_PKEY *other = NULL;

		if ((r = hsm_get_attr(t, s, h[i], CKA_ID, &v, &len)) != 0)
			goto out;
		if (len > 0 && len <= HSM_ID_MAX && hsm_pubkey_by_id(t, s, v, len, &other) == 0 &&
		    EVP_PKEY_eq(other, pk) == 1) {
			memcpy(id, v, len);
			*id_len = len;
			found = 1;
			r = hsm_get_attr(t, s, h[i], CKA_LABEL, (uint8_t **)label, &len);
		}
		EVP_PKEY_free(other);
		free(v);
		if (r != 0)
			goto out;
	}
	p11s_err_clear();
	r = found ? 0
		  : p11s_fail(P11S_E_KEY_MISMATCH,
			      "no private key on token '%s' matches the certificate's public key",
			      t->label);
out:
	free(h);
	return r;
}

int
hsm_store_cert(hsm_token *t, X509 *cert, const char *label, uint8_t id[HSM_ID_MAX], size_t *id_len)
{
	struct cert_der c = {0};
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE h;
	EVP_PKEY *pk;
	uint8_t kid[HSM_ID_MAX];
	size_t kid_len = 0;
	char *klabel = NULL, sha1[41], hex[2 * HSM_ID_MAX + 1];
	int r = P11S_E_INTERNAL, locked = 0;

	*id_len = 0;
	if (cert == NULL || (pk = X509_get0_pubkey(cert)) == NULL)
		return p11s_fail(P11S_E_INVAL,
				 "no certificate, or one without a readable public key");
	if (label != NULL && *label == '\0')
		return p11s_fail(P11S_E_INVAL, "the certificate label is empty");
	if ((r = cert_der_get(cert, &c)) != 0 ||
	    (r = p11s_sha1_hex(c.value, (size_t)c.value_len, sha1)) != 0)
		goto out;
	if ((r = hsm_lock(t)) != 0)
		goto out;
	locked = 1;
	if ((r = hsm_session(t, &s)) != 0 || (r = cert_absent(t, s, &c)) != 0 ||
	    (r = match_private(t, s, pk, kid, &kid_len, &klabel)) != 0)
		goto out;
	if ((r = create_cert(t, s, &c, label != NULL ? label : klabel, kid, kid_len, &h)) != 0)
		goto out;
	log_info("stored certificate %s for key %s on token '%s'", sha1,
		 hsm_id_hex(kid, kid_len, hex), t->label);
	memcpy(id, kid, kid_len);
	*id_len = kid_len;
	r = 0;
out:
	if (locked)
		hsm_unlock(t);
	free(klabel);
	cert_der_free(&c);
	return r;
}

/* ---- import ------------------------------------------------------------- */

/* A big number as big-endian bytes (wiped and freed by secret_free). */
struct secret {
	unsigned char *p;
	size_t len;
};

static void
secret_free(struct secret *s)
{
	if (s->p != NULL)
		OPENSSL_clear_free(s->p, s->len);
	s->p = NULL;
	s->len = 0;
}

/* Key parameter `name` as `pad` bytes (0: minimal length); wipes the BIGNUM. */
static int
get_bn(EVP_PKEY *key, const char *name, size_t pad, struct secret *out)
{
	BIGNUM *bn = NULL;
	int r = P11S_E_INTERNAL;

	if (EVP_PKEY_get_bn_param(key, name, &bn) != 1) {
		log_openssl("reading a private key parameter");
		return p11s_fail(P11S_E_CRYPTO, "the private key lacks its %s component", name);
	}
	out->len = pad != 0 ? pad : (size_t)BN_num_bytes(bn);
	if (out->len == 0)
		out->len = 1;
	if ((out->p = OPENSSL_malloc(out->len)) == NULL) {
		out->len = 0;
		r = p11s_fail(P11S_E_NOMEM, "out of memory");
		goto out;
	}
	if (BN_bn2binpad(bn, out->p, (int)out->len) < 0) {
		r = p11s_fail(P11S_E_CRYPTO, "private key component %s does not fit %zu bytes",
			      name, out->len);
		goto out;
	}
	r = 0;
out:
	BN_clear_free(bn);
	if (r != 0)
		secret_free(out);
	return r;
}

enum { RSA_N, RSA_E, RSA_D, RSA_P, RSA_Q, RSA_DP, RSA_DQ, RSA_QINV, RSA_PARTS };

static const struct {
	const char *param;
	CK_ATTRIBUTE_TYPE attr;
} rsa_parts[RSA_PARTS] = {
    {OSSL_PKEY_PARAM_RSA_N, CKA_MODULUS},
    {OSSL_PKEY_PARAM_RSA_E, CKA_PUBLIC_EXPONENT},
    {OSSL_PKEY_PARAM_RSA_D, CKA_PRIVATE_EXPONENT},
    {OSSL_PKEY_PARAM_RSA_FACTOR1, CKA_PRIME_1},
    {OSSL_PKEY_PARAM_RSA_FACTOR2, CKA_PRIME_2},
    {OSSL_PKEY_PARAM_RSA_EXPONENT1, CKA_EXPONENT_1},
    {OSSL_PKEY_PARAM_RSA_EXPONENT2, CKA_EXPONENT_2},
    {OSSL_PKEY_PARAM_RSA_COEFFICIENT1, CKA_COEFFICIENT},
};

static int
create_object(hsm_token *t, CK_SESSION_HANDLE s, CK_ATTRIBUTE *tmpl, CK_ULONG n, const char *what,
	      CK_OBJECT_HANDLE *out)
{
	CK_RV rv;

	if ((rv = hsm_C_CreateObject(t, s, tmpl, n, out)) != CKR_OK) {
		*out = CK_INVALID_HANDLE;
		return HSM_RV_FAIL(rv, "C_CreateObject", "cannot store the %s on token '%s'", what,
				   t->label);
	}
	return 0;
}

/* Create the private and public key objects of an RSA or EC key. */
static int
create_key_objects(hsm_token *t, CK_SESSION_HANDLE s, EVP_PKEY *key, p11s_keytype kt,
		   const char *label, const uint8_t *id, size_t id_len, CK_OBJECT_HANDLE *hpriv,
		   CK_OBJECT_HANDLE *hpub)
{
	CK_OBJECT_CLASS cpriv = CKO_PRIVATE_KEY, cpub = CKO_PUBLIC_KEY;
	CK_KEY_TYPE ktype = kt == P11S_KT_RSA ? CKK_RSA : CKK_EC;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ATTRIBUTE priv[8 + RSA_PARTS + 1], pub[6 + 2];
	CK_ULONG npriv = 0, npub = 0;
	struct secret parts[RSA_PARTS];
	unsigned char *point = NULL;
	ASN1_OCTET_STRING *os = NULL;
	unsigned char *ecpoint = NULL;
	int ecpoint_len = 0;
	size_t plen = 0, point_len = 0;
	const uint8_t *ecp = hsm_ec_params(kt, &plen);
	int r = P11S_E_INTERNAL;

	memset(parts, 0, sizeof(parts));
	priv[npriv++] = (CK_ATTRIBUTE){CKA_CLASS, &cpriv, sizeof(cpriv)};
	priv[npriv++] = (CK_ATTRIBUTE){CKA_KEY_TYPE, &ktype, sizeof(ktype)};
	priv[npriv++] = (CK_ATTRIBUTE){CKA_TOKEN, &yes, sizeof(yes)};
	priv[npriv++] = (CK_ATTRIBUTE){CKA_PRIVATE, &yes, sizeof(yes)};
	priv[npriv++] = (CK_ATTRIBUTE){CKA_SENSITIVE, &yes, sizeof(yes)};
	priv[npriv++] = (CK_ATTRIBUTE){CKA_EXTRACTABLE, &no, sizeof(no)};
	priv[npriv++] = (CK_ATTRIBUTE){CKA_SIGN, &yes, sizeof(yes)};
	priv[npriv++] = (CK_ATTRIBUTE){CKA_ID, hsm_ck_ptr(id), id_len};
	pub[npub++] = (CK_ATTRIBUTE){CKA_CLASS, &cpub, sizeof(cpub)};
	pub[npub++] = (CK_ATTRIBUTE){CKA_KEY_TYPE, &ktype, sizeof(ktype)};
	pub[npub++] = (CK_ATTRIBUTE){CKA_TOKEN, &yes, sizeof(yes)};
	pub[npub++] = (CK_ATTRIBUTE){CKA_VERIFY, &yes, sizeof(yes)};
	pub[npub++] = (CK_ATTRIBUTE){CKA_ID, hsm_ck_ptr(id), id_len};
	pub[npub++] = (CK_ATTRIBUTE){CKA_LABEL, hsm_ck_ptr(label), strlen(label)};
	if (kt == P11S_KT_RSA) {
		for (int i = 0; i < RSA_PARTS; i++) {
			if ((r = get_bn(key, rsa_parts[i].param, 0, &parts[i])) != 0)
				goto out;
			priv[npriv++] = (CK_ATTRIBUTE){rsa_parts[i].attr, parts[i].p, parts[i].len};
		}
		pub[npub++] = (CK_ATTRIBUTE){CKA_MODULUS, parts[RSA_N].p, parts[RSA_N].len};
		pub[npub++] = (CK_ATTRIBUTE){CKA_PUBLIC_EXPONENT, parts[RSA_E].p, parts[RSA_E].len};
	} else {
		size_t field = kt == P11S_KT_EC_P256 ? 32 : 48;

		if ((r = get_bn(key, OSSL_PKEY_PARAM_PRIV_KEY, field, &parts[0])) != 0)
			goto out;
		priv[npriv++] = (CK_ATTRIBUTE){CKA_EC_PARAMS, hsm_ck_ptr(ecp), plen};
		priv[npriv++] = (CK_ATTRIBUTE){CKA_VALUE, parts[0].p, parts[0].len};
		if ((point_len = EVP_PKEY_get1_encoded_public_key(key, &point)) == 0 ||
		    (os = ASN1_OCTET_STRING_new()) == NULL ||
		    !ASN1_OCTET_STRING_set(os, point, (int)point_len) ||
		    (ecpoint_len = i2d_ASN1_OCTET_STRING(os, &ecpoint)) <= 0) {
			log_openssl("encoding the EC public point");
			r = p11s_fail(P11S_E_CRYPTO, "cannot encode the EC public key");
			goto out;
		}
		pub[npub++] = (CK_ATTRIBUTE){CKA_EC_PARAMS, hsm_ck_ptr(ecp), plen};
		pub[npub++] = (CK_ATTRIBUTE){CKA_EC_POINT, ecpoint, (CK_ULONG)ecpoint_len};
	}
	priv[npriv++] = (CK_ATTRIBUTE){CKA_LABEL, hsm_ck_ptr(label), strlen(label)};
	if ((r = create_object(t, s, priv, npriv, "private key", hpriv)) != 0 ||
	    (r = create_object(t, s, pub, npub, "public key", hpub)) != 0)
		goto out;
	r = 0;
out:
	for (int i = 0; i < RSA_PARTS; i++)
		secret_free(&parts[i]);
	OPENSSL_cleanse(priv, sizeof(priv));
	OPENSSL_free(point);
	OPENSSL_free(ecpoint);
	ASN1_OCTET_STRING_free(os);
	return r;
}

/* Default label: the certificate subject's CN, else the hex id. */
static int
default_label(X509 *cert, const uint8_t *id, size_t id_len, char **out)
{
	char cn[256], hex[2 * HSM_ID_MAX + 1];
	int n =
	    X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof(cn));

	return p11s_strdup(n > 0 ? cn : hsm_id_hex(id, id_len, hex), out);
}

int
hsm_import_key(hsm_token *t, EVP_PKEY *key, X509 *cert, const char *label, uint8_t id[HSM_ID_MAX],
	       size_t *id_len)
{
	struct cert_der c = {0};
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	CK_OBJECT_HANDLE hpriv = CK_INVALID_HANDLE, hpub = CK_INVALID_HANDLE,
			 hcert = CK_INVALID_HANDLE;
	p11s_keytype kt;
	unsigned bits;
	uint8_t kid[HSM_ID_MAX];
	size_t kid_len = 0;
	char *lbl = NULL, sha1[41], hex[2 * HSM_ID_MAX + 1];
	int r = P11S_E_INTERNAL, locked = 0, found = 0;

	*id_len = 0;
	if (key == NULL || cert == NULL)
		return p11s_fail(P11S_E_INVAL,
				 "both a private key and its certificate are required");
	if (label != NULL && *label == '\0')
		return p11s_fail(P11S_E_INVAL, "the key label is empty");
	if ((r = hsm_pkey_type(key, &kt, &bits)) != 0)
		return r;
	if (kt == P11S_KT_RSA && bits < 2048)
		return p11s_fail(P11S_E_KEY_TYPE,
				 "RSA keys need at least 2048 bits; this one has %u", bits);
	if (X509_check_private_key(cert, key) != 1) {
		ERR_clear_error();
		return p11s_fail(P11S_E_KEY_MISMATCH,
				 "the certificate does not belong to the private key (their public "
				 "keys differ)");
	}
	if ((r = hsm_key_id(key, kid, &kid_len)) != 0 || (r = cert_der_get(cert, &c)) != 0 ||
	    (r = p11s_sha1_hex(c.value, (size_t)c.value_len, sha1)) != 0)
		goto out;
	if (label != NULL)
		r = p11s_strdup(label, &lbl);
	else
		r = default_label(cert, kid, kid_len, &lbl);
	if (r != 0)
		goto out;
	if ((r = hsm_lock(t)) != 0)
		goto out;
	locked = 1;
	if ((r = hsm_session(t, &s)) != 0 || (r = cert_absent(t, s, &c)) != 0 ||
	    (r = private_by_id(t, s, kid, kid_len, &found, NULL)) != 0)
		goto out;
	if (found) {
		r = p11s_fail(P11S_E_EXISTS, "the private key %s is already on token '%s'",
			      hsm_id_hex(kid, kid_len, hex), t->label);
		goto out;
	}
	if ((r = create_key_objects(t, s, key, kt, lbl, kid, kid_len, &hpriv, &hpub)) != 0 ||
	    (r = create_cert(t, s, &c, lbl, kid, kid_len, &hcert)) != 0)
		goto out;
	log_info("imported %s key '%s' id %s with certificate %s on token '%s'",
		 p11s_keytype_name(kt), lbl, hsm_id_hex(kid, kid_len, hex), sha1, t->label);
	memcpy(id, kid, kid_len);
	*id_len = kid_len;
	r = 0;
out:
	if (r != 0 && s != CK_INVALID_HANDLE && s == t->session) {
		/* leave nothing half-imported behind */
		if (hcert != CK_INVALID_HANDLE)
			(void)hsm_C_DestroyObject(t, s, hcert);
		if (hpub != CK_INVALID_HANDLE)
			(void)hsm_C_DestroyObject(t, s, hpub);
		if (hpriv != CK_INVALID_HANDLE)
			(void)hsm_C_DestroyObject(t, s, hpriv);
	}
	if (locked)
		hsm_unlock(t);
	free(lbl);
	cert_der_free(&c);
	return r;
}

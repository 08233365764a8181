/* Object search, attribute reading, and public keys between PKCS#11 and OpenSSL. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include "common/log.h"
#include "common/util.h"
#include "hsm/internal.h"

/* DER OIDs for CKA_EC_PARAMS. */
static const uint8_t oid_p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
static const uint8_t oid_p384[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22};

const uint8_t *
hsm_ec_params(p11s_keytype kt, size_t *len)
{
	switch (kt) {
	case P11S_KT_EC_P256:
		*len = sizeof(oid_p256);
		return oid_p256;
	case P11S_KT_EC_P384:
		*len = sizeof(oid_p384);
		return oid_p384;
	default:
		*len = 0;
		return NULL;
	}
}

const char *
hsm_ec_group(p11s_keytype kt)
{
	return kt == P11S_KT_EC_P256 ? "prime256v1" : kt == P11S_KT_EC_P384 ? "secp384r1" : NULL;
}

const char *
hsm_id_hex(const uint8_t *id, size_t len, char buf[2 * HSM_ID_MAX + 1])
{
	p11s_hex(id, len > HSM_ID_MAX ? HSM_ID_MAX : len, buf);
	return buf;
}

int
hsm_find(hsm_token *t, CK_SESSION_HANDLE s, CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_OBJECT_HANDLE **out,
	 size_t *nout)
{
	CK_OBJECT_HANDLE *h = NULL;
	CK_ULONG got = 0;
	size_t used = 0, cap = 16;
	CK_RV rv;
	int r = P11S_E_INTERNAL, active = 0;

	*out = NULL;
	*nout = 0;
	if ((rv = hsm_C_FindObjectsInit(t, s, tmpl, n)) != CKR_OK) {
		return HSM_RV_FAIL(rv, "C_FindObjectsInit", "cannot search token '%s'", t->label);
	}
	active = 1;
	if ((h = malloc(cap * sizeof(*h))) == NULL) {
		r = p11s_fail(P11S_E_NOMEM, "out of memory");
		goto out;
	}
	for (;;) {
		if (used == cap) {
			CK_OBJECT_HANDLE *nh;

			if (cap >= HSM_FIND_MAX) {
				r = p11s_fail(P11S_E_HSM,
					      "token '%s' holds more than %d matching objects",
					      t->label, HSM_FIND_MAX);
				goto out;
			}
			if ((nh = realloc(h, 2 * cap * sizeof(*h))) == NULL) {
				r = p11s_fail(P11S_E_NOMEM, "out of memory");
				goto out;
			}
			h = nh;
			cap *= 2;
		}
		if ((rv = hsm_C_FindObjects(t, s, h + used, (CK_ULONG)(cap - used), &got)) !=
		    CKR_OK) {
			r = HSM_RV_FAIL(rv, "C_FindObjects", "cannot search token '%s'", t->label);
			goto out;
		}
		if (got == 0)
			break;
		used += got;
	}
	active = 0;
	if ((rv = hsm_C_FindObjectsFinal(t, s)) != CKR_OK) {
		r = HSM_RV_FAIL(rv, "C_FindObjectsFinal", "cannot search token '%s'", t->label);
		goto out;
	}
	/* Nothing found while logged out means nothing: private objects are
	 * invisible then.  Never present that as an empty store. */
	if (used == 0 && t->pin_source != NULL) {
		int logged_in = 0;

		if ((r = hsm_logged_in(t, s, &logged_in)) != 0)
			goto out;
		if (!logged_in) {
			r = p11s_fail(
			    P11S_E_SESSION,
			    "token '%s' logged this program out: a search finds no private "
			    "object then, so its empty result says nothing",
			    t->label);
			goto out;
		}
	}
	*out = h;
	*nout = used;
	h = NULL;
	r = 0;
out:
	if (active)
		(void)hsm_C_FindObjectsFinal(t, s);
	free(h);
	return r;
}

int
hsm_get_attr(hsm_token *t, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type,
	     uint8_t **out, size_t *len)
{
	CK_ATTRIBUTE a = {type, NULL, 0};
	uint8_t *buf = NULL;
	CK_RV rv;

	*out = NULL;
	*len = 0;
	if ((rv = hsm_C_GetAttributeValue(t, s, o, &a, 1)) != CKR_OK) {
		return HSM_RV_FAIL(rv, "C_GetAttributeValue",
				   "cannot read attribute 0x%lx on token '%s'", (unsigned long)type,
				   t->label);
	}
	if (a.ulValueLen == CK_UNAVAILABLE_INFORMATION)
		return p11s_fail(P11S_E_HSM, "attribute 0x%lx unavailable on token '%s'",
				 (unsigned long)type, t->label);
	if ((buf = malloc(a.ulValueLen + 1)) == NULL)
		return p11s_fail(P11S_E_NOMEM, "out of memory");
	a.pValue = buf;
	if ((rv = hsm_C_GetAttributeValue(t, s, o, &a, 1)) != CKR_OK) {
		free(buf);
		return HSM_RV_FAIL(rv, "C_GetAttributeValue",
				   "cannot read attribute 0x%lx on token '%s'", (unsigned long)type,
				   t->label);
	}
	buf[a.ulValueLen] = '\0';
	*out = buf;
	*len = a.ulValueLen;
	return 0;
}

int
hsm_get_bool(hsm_token *t, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type,
	     int *out)
{
	CK_BBOOL b = CK_FALSE;
	CK_ATTRIBUTE a = {type, &b, sizeof(b)};
	CK_RV rv;

	*out = 0;
	rv = hsm_C_GetAttributeValue(t, s, o, &a, 1);
	if (rv == CKR_ATTRIBUTE_TYPE_INVALID || rv == CKR_ATTRIBUTE_SENSITIVE)
		return 0;
	if (rv != CKR_OK) {
		return HSM_RV_FAIL(rv, "C_GetAttributeValue",
				   "cannot read attribute 0x%lx on token '%s'", (unsigned long)type,
				   t->label);
	}
	*out = b == CK_TRUE;
	return 0;
}

int
hsm_get_ulong(hsm_token *t, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type,
	      CK_ULONG *out)
{
	CK_ULONG v = 0;
	CK_ATTRIBUTE a = {type, &v, sizeof(v)};
	CK_RV rv;

	*out = 0;
	if ((rv = hsm_C_GetAttributeValue(t, s, o, &a, 1)) != CKR_OK) {
		return HSM_RV_FAIL(rv, "C_GetAttributeValue",
				   "cannot read attribute 0x%lx on token '%s'", (unsigned long)type,
				   t->label);
	}
	*out = v;
	return 0;
}

static p11s_keytype
kt_from_params(const uint8_t *p, size_t len)
{
	if (len == sizeof(oid_p256) && memcmp(p, oid_p256, len) == 0)
		return P11S_KT_EC_P256;
	if (len == sizeof(oid_p384) && memcmp(p, oid_p384, len) == 0)
		return P11S_KT_EC_P384;
	return P11S_KT_NONE;
}

int
hsm_key_type(hsm_token *t, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, p11s_keytype *kt,
	     unsigned *bits)
{
	CK_ULONG type;
	uint8_t *v = NULL;
	size_t len = 0;
	int r = P11S_E_INTERNAL;

	*kt = P11S_KT_NONE;
	*bits = 0;
	if ((r = hsm_get_ulong(t, s, o, CKA_KEY_TYPE, &type)) != 0)
		return r;
	if (type == CKK_RSA) {
		BIGNUM *n;

		if ((r = hsm_get_attr(t, s, o, CKA_MODULUS, &v, &len)) != 0)
			goto out;
		if ((n = BN_bin2bn(v, (int)len, NULL)) == NULL) {
			r = p11s_fail(P11S_E_NOMEM, "out of memory");
			goto out;
		}
		*bits = (unsigned)BN_num_bits(n);
		BN_free(n);
		*kt = P11S_KT_RSA;
	} else if (type == CKK_EC) {
		if ((r = hsm_get_attr(t, s, o, CKA_EC_PARAMS, &v, &len)) != 0)
			goto out;
		*kt = kt_from_params(v, len);
		*bits = *kt == P11S_KT_EC_P256 ? 256 : *kt == P11S_KT_EC_P384 ? 384 : 0;
	}
	r = 0;
out:
	free(v);
	return r;
}

int
hsm_pkey_ec(p11s_keytype kt, const uint8_t *point, size_t len, EVP_PKEY **out)
{
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	const char *group = hsm_ec_group(kt);
	int r = P11S_E_INTERNAL;

	*out = NULL;
	if (group == NULL)
		return p11s_fail(P11S_E_KEY_TYPE, "unsupported EC curve: use P-256 or P-384");
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, len) ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) != 1) {
		log_openssl("building an EC public key");
		r = p11s_fail(P11S_E_CRYPTO, "the token returned an EC public key OpenSSL refuses");
		goto out;
	}
	r = 0;
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	return r;
}

int
hsm_pkey_rsa(const uint8_t *n, size_t nlen, const uint8_t *e, size_t elen, EVP_PKEY **out)
{
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	BIGNUM *bn = NULL, *be = NULL;
	int r = P11S_E_INTERNAL;

	*out = NULL;
	if ((bn = BN_bin2bn(n, (int)nlen, NULL)) == NULL ||
	    (be = BN_bin2bn(e, (int)elen, NULL)) == NULL || (bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) != 1) {
		log_openssl("building an RSA public key");
		r = p11s_fail(P11S_E_CRYPTO,
			      "the token returned an RSA public key OpenSSL refuses");
		goto out;
	}
	r = 0;
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn);
	BN_free(be);
	return r;
}

int
hsm_pubkey_from_object(hsm_token *t, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, EVP_PKEY **out)
{
	uint8_t *a = NULL, *b = NULL;
	size_t alen = 0, blen = 0;
	p11s_keytype kt;
	unsigned bits;
	int r = P11S_E_INTERNAL;

	*out = NULL;
	if ((r = hsm_key_type(t, s, o, &kt, &bits)) != 0)
		return r;
	if (kt == P11S_KT_RSA) {
		if ((r = hsm_get_attr(t, s, o, CKA_MODULUS, &a, &alen)) != 0 ||
		    (r = hsm_get_attr(t, s, o, CKA_PUBLIC_EXPONENT, &b, &blen)) != 0)
			goto out;
		r = hsm_pkey_rsa(a, alen, b, blen, out);
	} else if (kt == P11S_KT_EC_P256 || kt == P11S_KT_EC_P384) {
		const uint8_t *p;
		size_t field = kt == P11S_KT_EC_P256 ? 32 : 48;
		ASN1_OCTET_STRING *os = NULL;

		if ((r = hsm_get_attr(t, s, o, CKA_EC_POINT, &a, &alen)) != 0)
			goto out;
		p = a;
		if (alen == 2 * field + 1 && a[0] == 0x04) {
			/* a raw point, as some tokens return it */
			r = hsm_pkey_ec(kt, a, alen, out);
		} else if ((os = d2i_ASN1_OCTET_STRING(NULL, &p, (long)alen)) != NULL) {
			r = hsm_pkey_ec(kt, ASN1_STRING_get0_data(os),
					(size_t)ASN1_STRING_length(os), out);
			ASN1_OCTET_STRING_free(os);
		} else {
			log_openssl("decoding CKA_EC_POINT");
			r = p11s_fail(P11S_E_HSM, "token '%s' returned a malformed CKA_EC_POINT",
				      t->label);
		}
	} else {
		r = p11s_fail(
		    P11S_E_KEY_TYPE,
		    "unsupported key type on token '%s': supported are EC P-256, EC P-384, RSA",
		    t->label);
	}
out:
	free(a);
	free(b);
	return r;
}

int
hsm_pubkey_by_id(hsm_token *t, CK_SESSION_HANDLE s, const uint8_t *id, size_t id_len,
		 EVP_PKEY **out)
{
	CK_OBJECT_CLASS pub = CKO_PUBLIC_KEY, crt = CKO_CERTIFICATE;
	CK_ATTRIBUTE tp[] = {{CKA_CLASS, &pub, sizeof(pub)}, {CKA_ID, hsm_ck_ptr(id), id_len}};
	CK_ATTRIBUTE tc[] = {{CKA_CLASS, &crt, sizeof(crt)}, {CKA_ID, hsm_ck_ptr(id), id_len}};
	CK_OBJECT_HANDLE *h = NULL;
	size_t n = 0, dlen = 0;
	uint8_t *der = NULL;
	X509 *x = NULL;
	char hex[2 * HSM_ID_MAX + 1];
	int r = P11S_E_INTERNAL;

	*out = NULL;
	if ((r = hsm_find(t, s, tp, 2, &h, &n)) != 0)
		goto out;
	if (n > 0) {
		r = hsm_pubkey_from_object(t, s, h[0], out);
		goto out;
	}
	free(h);
	h = NULL;
	if ((r = hsm_find(t, s, tc, 2, &h, &n)) != 0)
		goto out;
	if (n == 0) {
		r = p11s_fail(P11S_E_NOTFOUND,
			      "no public key or certificate with CKA_ID %s on token '%s'",
			      hsm_id_hex(id, id_len, hex), t->label);
		goto out;
	}
	if ((r = hsm_get_attr(t, s, h[0], CKA_VALUE, &der, &dlen)) != 0)
		goto out;
	{
		const unsigned char *p = der;

		if ((x = d2i_X509(NULL, &p, (long)dlen)) == NULL ||
		    (*out = X509_get_pubkey(x)) == NULL) {
			log_openssl("decoding a certificate from the token");
			r = p11s_fail(P11S_E_CRYPTO,
				      "certificate with CKA_ID %s on token '%s' is unreadable",
				      hsm_id_hex(id, id_len, hex), t->label);
			goto out;
		}
	}
	r = 0;
out:
	X509_free(x);
	free(der);
	free(h);
	return r;
}

int
hsm_key_id(EVP_PKEY *pk, uint8_t id[HSM_ID_MAX], size_t *id_len)
{
	unsigned char *der = NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int len, r = P11S_E_INTERNAL;

	*id_len = 0;
	if ((len = i2d_PUBKEY(pk, &der)) <= 0 ||
	    !EVP_Digest(der, (size_t)len, md, &mdlen, EVP_sha1(), NULL)) {
		log_openssl("computing a key id");
		r = p11s_fail(P11S_E_CRYPTO, "cannot compute the key id (SHA-1 of the public key)");
		goto out;
	}
	memcpy(id, md, 20);
	*id_len = 20;
	r = 0;
out:
	OPENSSL_free(der);
	return r;
}

int
hsm_pkey_type(EVP_PKEY *pk, p11s_keytype *kt, unsigned *bits)
{
	char group[64];
	size_t glen = 0;

	*kt = P11S_KT_NONE;
	*bits = 0;
	switch (EVP_PKEY_get_base_id(pk)) {
	case EVP_PKEY_RSA:
		*kt = P11S_KT_RSA;
		*bits = (unsigned)EVP_PKEY_get_bits(pk);
		return 0;
	case EVP_PKEY_EC:
		if (EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group,
						   sizeof(group), &glen) != 1)
			break;
		if (strcmp(group, "prime256v1") == 0) {
			*kt = P11S_KT_EC_P256;
			*bits = 256;
			return 0;
		}
		if (strcmp(group, "secp384r1") == 0) {
			*kt = P11S_KT_EC_P384;
			*bits = 384;
			return 0;
		}
		break;
	default:
		break;
	}
	return p11s_fail(
	    P11S_E_KEY_TYPE, "unsupported key type %s: supported are EC P-256, EC P-384 and RSA",
	    EVP_PKEY_get0_type_name(pk) != NULL ? EVP_PKEY_get0_type_name(pk) : "(unknown)");
}

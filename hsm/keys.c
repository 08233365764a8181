/* Keys on the token: list, generate, public key, find by label, destroy. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "common/log.h"
#include "common/util.h"
#include "hsm/internal.h"

#define LABEL_MAX 128

/* ---- list --------------------------------------------------------------- */

static hsm_key_info *
entry_for_id(hsm_key_list *l, const uint8_t *id, size_t id_len)
{
	hsm_key_info *k;

	if (id_len > 0)
		for (size_t i = 0; i < l->n; i++)
			if (l->keys[i].id_len == id_len && memcmp(l->keys[i].id, id, id_len) == 0)
				return &l->keys[i];
	if ((k = realloc(l->keys, (l->n + 1) * sizeof(*k))) == NULL)
		return NULL;
	l->keys = k;
	k = &l->keys[l->n++];
	memset(k, 0, sizeof(*k));
	memcpy(k->id, id, id_len);
	k->id_len = id_len;
	return k;
}

static int
read_id_label(hsm_token *t, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, uint8_t id[HSM_ID_MAX],
	      size_t *id_len, char **label)
{
	uint8_t *v = NULL;
	size_t len = 0;
	int r;

	*id_len = 0;
	*label = NULL;
	if ((r = hsm_get_attr(t, s, o, CKA_ID, &v, &len)) != 0)
		return r;
	if (len > HSM_ID_MAX) {
		free(v);
		return p11s_fail(P11S_E_HSM,
				 "an object on token '%s' has a CKA_ID of %zu bytes (max %d)",
				 t->label, len, HSM_ID_MAX);
	}
	memcpy(id, v, len);
	*id_len = len;
	free(v);
	if ((r = hsm_get_attr(t, s, o, CKA_LABEL, &v, &len)) != 0)
		return r;
	*label = (char *)v; /* NUL-terminated by hsm_get_attr */
	return 0;
}

/* The list's entry for object o's CKA_ID (made if new), and o's label (the
 * caller frees it). */
static int
entry_for_object(hsm_token *t, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, hsm_key_list *l,
		 hsm_key_info **k, char **label)
{
	uint8_t id[HSM_ID_MAX];
	size_t id_len;
	int r;

	*k = NULL;
	if ((r = read_id_label(t, s, o, id, &id_len, label)) != 0)
		return r;
	if ((*k = entry_for_id(l, id, id_len)) == NULL) {
		free(*label);
		*label = NULL;
		return p11s_fail(P11S_E_NOMEM, "out of memory");
	}
	return 0;
}

static int
list_private(hsm_token *t, CK_SESSION_HANDLE s, hsm_key_list *l)
{
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	/* Class alone is safe here: we hold the host lock (STACK-NOTES). */
	CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof(cls)}};
	CK_OBJECT_HANDLE *h = NULL;
	size_t n = 0;
	int r;

	if ((r = hsm_find(t, s, tmpl, 1, &h, &n)) != 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		char *label = NULL;
		hsm_key_info *k;

		if ((r = entry_for_object(t, s, h[i], l, &k, &label)) != 0)
			goto out;
		free(k->label);
		k->label = label;
		k->has_private = 1;
		if ((r = hsm_key_type(t, s, h[i], &k->keytype, &k->bits)) != 0 ||
		    (r = hsm_get_bool(t, s, h[i], CKA_SENSITIVE, &k->sensitive)) != 0 ||
		    (r = hsm_get_bool(t, s, h[i], CKA_EXTRACTABLE, &k->extractable)) != 0 ||
		    (r = hsm_get_bool(t, s, h[i], CKA_NEVER_EXTRACTABLE, &k->never_extractable)) !=
			0 ||
		    (r = hsm_get_bool(t, s, h[i], CKA_ALWAYS_SENSITIVE, &k->always_sensitive)) != 0)
			goto out;
	}
	r = 0;
out:
	free(h);
	return r;
}

static int
cert_info(hsm_token *t, const uint8_t *der, size_t len, hsm_key_info *k)
{
	const unsigned char *p = der;
	X509 *x;
	int r;

	if ((x = d2i_X509(NULL, &p, (long)len)) == NULL) {
		log_openssl("decoding a certificate from the token");
		return p11s_fail(P11S_E_CRYPTO, "a certificate on token '%s' cannot be decoded",
				 t->label);
	}
	/* several certificates for one key (a renewal): show the one valid longest */
	if (k->cert != NULL &&
	    ASN1_TIME_compare(X509_get0_notAfter(x), X509_get0_notAfter(k->cert)) <= 0) {
		X509_free(x);
		return 0;
	}
	if ((r = p11s_sha1_hex(der, len, k->sha1)) != 0 ||
	    (r = p11s_sha256_hex(der, len, k->sha256)) != 0) {
		X509_free(x);
		return r;
	}
	X509_free(k->cert);
	k->cert = x;
	k->has_cert = 1;
	return 0;
}

static int
list_certs(hsm_token *t, CK_SESSION_HANDLE s, hsm_key_list *l)
{
	CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
	CK_CERTIFICATE_TYPE ct = CKC_X_509;
	CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof(cls)},
			       {CKA_CERTIFICATE_TYPE, &ct, sizeof(ct)}};
	CK_OBJECT_HANDLE *h = NULL;
	size_t n = 0;
	int r;

	if ((r = hsm_find(t, s, tmpl, 2, &h, &n)) != 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		uint8_t *der = NULL;
		size_t dlen = 0;
		char *label = NULL;
		hsm_key_info *k;

		if ((r = entry_for_object(t, s, h[i], l, &k, &label)) != 0)
			goto out;
		if (k->label == NULL)
			k->label = label;
		else
			free(label);
		if ((r = hsm_get_attr(t, s, h[i], CKA_VALUE, &der, &dlen)) != 0)
			goto out;
		r = cert_info(t, der, dlen, k);
		free(der);
		if (r != 0)
			goto out;
	}
	r = 0;
out:
	free(h);
	return r;
}

static int
count_objects(hsm_token *t, CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls, const uint8_t *id,
	      size_t id_len, size_t *n)
{
	CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof(cls)}, {CKA_ID, hsm_ck_ptr(id), id_len}};
	CK_OBJECT_HANDLE *h = NULL;
	int r;

	r = hsm_find(t, s, tmpl, 2, &h, n);
	free(h);
	return r;
}

/* hsm_list_keys, as an operation under hsm_run. */
static int
list_keys_op(hsm_token *t, void *arg)
{
	hsm_key_list **out = arg, *l = NULL;
	CK_SESSION_HANDLE s;
	int r = P11S_E_INTERNAL;

	if ((l = calloc(1, sizeof(*l))) == NULL) {
		r = p11s_fail(P11S_E_NOMEM, "out of memory");
		goto out;
	}
	if ((r = hsm_session(t, &s)) != 0 || (r = list_private(t, s, l)) != 0 ||
	    (r = list_certs(t, s, l)) != 0)
		goto out;
	for (size_t i = 0; i < l->n; i++) {
		size_t n = 0;

		if (l->keys[i].id_len == 0)
			continue;
		if ((r = count_objects(t, s, CKO_PUBLIC_KEY, l->keys[i].id, l->keys[i].id_len,
				       &n)) != 0)
			goto out;
		l->keys[i].has_public = n > 0;
	}
	*out = l;
	l = NULL;
	r = 0;
out:
	hsm_key_list_free(l);
	return r;
}

int
hsm_list_keys(hsm_token *t, hsm_key_list **out)
{
	*out = NULL;
	return hsm_run(t, list_keys_op, out);
}

void
hsm_key_list_free(hsm_key_list *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->n; i++) {
		free(l->keys[i].label);
		X509_free(l->keys[i].cert);
	}
	free(l->keys);
	free(l);
}

/* ---- keygen ------------------------------------------------------------- */

static int
check_label(hsm_token *t, const char *label)
{
	if (label == NULL || *label == '\0')
		return p11s_fail(P11S_E_INVAL, "a key label is required");
	if (strlen(label) > LABEL_MAX)
		return p11s_fail(P11S_E_INVAL, "the key label is longer than %d bytes", LABEL_MAX);
	return 0;
}

static int
label_unused(hsm_token *t, CK_SESSION_HANDLE s, const char *label)
{
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof(cls)},
			       {CKA_LABEL, hsm_ck_ptr(label), strlen(label)}};
	CK_OBJECT_HANDLE *h = NULL;
	size_t n = 0;
	int r;

	if ((r = hsm_find(t, s, tmpl, 2, &h, &n)) != 0)
		return r;
	free(h);
	if (n > 0)
		return p11s_fail(P11S_E_EXISTS,
				 "a private key labelled '%s' already exists on token '%s'", label,
				 t->label);
	return 0;
}

int
hsm_keygen(hsm_token *t, const char *label, p11s_keytype kt, unsigned bits, uint8_t id[HSM_ID_MAX],
	   size_t *id_len)
{
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ULONG mbits = bits;
	static const CK_BYTE e65537[] = {0x01, 0x00, 0x01};
	size_t plen = 0;
	const uint8_t *ecp = hsm_ec_params(kt, &plen);
	CK_MECHANISM mech = {kt == P11S_KT_RSA ? CKM_RSA_PKCS_KEY_PAIR_GEN : CKM_EC_KEY_PAIR_GEN,
			     NULL, 0};
	CK_ATTRIBUTE pub[6], priv[7];
	CK_ULONG npub = 0, npriv = 0;
	CK_OBJECT_HANDLE hpub = CK_INVALID_HANDLE, hpriv = CK_INVALID_HANDLE;
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	EVP_PKEY *pk = NULL;
	uint8_t kid[HSM_ID_MAX];
	size_t kid_len = 0;
	char hex[2 * HSM_ID_MAX + 1];
	CK_RV rv;
	int r = P11S_E_INTERNAL, locked = 0;

	*id_len = 0;
	if ((r = check_label(t, label)) != 0)
		return r;
	if (kt == P11S_KT_RSA && bits != 2048 && bits != 3072)
		return p11s_fail(P11S_E_INVAL,
				 "RSA keys are generated with 2048 or 3072 bits, not %u", bits);
	if ((kt == P11S_KT_EC_P256 && bits != 0 && bits != 256) ||
	    (kt == P11S_KT_EC_P384 && bits != 0 && bits != 384))
		return p11s_fail(P11S_E_INVAL, "%s keys have %u bits, not %u",
				 p11s_keytype_name(kt), kt == P11S_KT_EC_P256 ? 256u : 384u, bits);
	if (kt != P11S_KT_RSA && ecp == NULL)
		return p11s_fail(P11S_E_KEY_TYPE,
				 "cannot generate this key type: use EC P-256, EC P-384 or RSA");

	pub[npub++] = (CK_ATTRIBUTE){CKA_TOKEN, &yes, sizeof(yes)};
	pub[npub++] = (CK_ATTRIBUTE){CKA_VERIFY, &yes, sizeof(yes)};
	pub[npub++] = (CK_ATTRIBUTE){CKA_LABEL, hsm_ck_ptr(label), strlen(label)};
	if (kt == P11S_KT_RSA) {
		pub[npub++] = (CK_ATTRIBUTE){CKA_MODULUS_BITS, &mbits, sizeof(mbits)};
		pub[npub++] =
		    (CK_ATTRIBUTE){CKA_PUBLIC_EXPONENT, hsm_ck_ptr(e65537), sizeof(e65537)};
	} else {
		pub[npub++] = (CK_ATTRIBUTE){CKA_EC_PARAMS, hsm_ck_ptr(ecp), plen};
	}
	priv[npriv++] = (CK_ATTRIBUTE){CKA_TOKEN, &yes, sizeof(yes)};
	priv[npriv++] = (CK_ATTRIBUTE){CKA_PRIVATE, &yes, sizeof(yes)};
	priv[npriv++] = (CK_ATTRIBUTE){CKA_SENSITIVE, &yes, sizeof(yes)};
	priv[npriv++] = (CK_ATTRIBUTE){CKA_SIGN, &yes, sizeof(yes)};
	priv[npriv++] = (CK_ATTRIBUTE){CKA_EXTRACTABLE, &no, sizeof(no)};
	priv[npriv++] = (CK_ATTRIBUTE){CKA_LABEL, hsm_ck_ptr(label), strlen(label)};

	if ((r = hsm_lock(t)) != 0)
		return r;
	locked = 1;
	if ((r = hsm_session(t, &s)) != 0 || (r = label_unused(t, s, label)) != 0)
		goto out;
	rv = hsm_C_GenerateKeyPair(t, s, &mech, pub, npub, priv, npriv, &hpub, &hpriv);
	if (rv != CKR_OK) {
		hpub = hpriv = CK_INVALID_HANDLE;
		r = HSM_RV_FAIL(rv, "C_GenerateKeyPair", "cannot generate a %s key on token '%s'",
				p11s_keytype_name(kt), t->label);
		goto out;
	}
	if ((r = hsm_pubkey_from_object(t, s, hpub, &pk)) != 0 ||
	    (r = hsm_key_id(pk, kid, &kid_len)) != 0)
		goto out;
	{
		CK_ATTRIBUTE a = {CKA_ID, kid, kid_len};

		if ((rv = hsm_C_SetAttributeValue(t, s, hpub, &a, 1)) != CKR_OK ||
		    (rv = hsm_C_SetAttributeValue(t, s, hpriv, &a, 1)) != CKR_OK) {
			r = HSM_RV_FAIL(rv, "C_SetAttributeValue",
					"cannot set CKA_ID on token '%s'", t->label);
			goto out;
		}
	}
	log_info("generated %s key '%s' id %s on token '%s'", p11s_keytype_name(kt), label,
		 hsm_id_hex(kid, kid_len, hex), t->label);
	memcpy(id, kid, kid_len);
	*id_len = kid_len;
	r = 0;
out:
	if (r != 0 && t->session != CK_INVALID_HANDLE) {
		/* leave no half-made key pair behind */
		if (hpriv != CK_INVALID_HANDLE)
			(void)hsm_C_DestroyObject(t, s, hpriv);
		if (hpub != CK_INVALID_HANDLE)
			(void)hsm_C_DestroyObject(t, s, hpub);
	}
	if (locked)
		hsm_unlock(t);
	EVP_PKEY_free(pk);
	return r;
}

/* ---- public key, find, destroy ------------------------------------------ */

static int
check_id(const uint8_t *id, size_t id_len)
{
	if (id == NULL || id_len == 0 || id_len > HSM_ID_MAX)
		return p11s_fail(P11S_E_INVAL, "a key id (CKA_ID) of 1 to %d bytes is required",
				 HSM_ID_MAX);
	return 0;
}

int
hsm_public_key(hsm_token *t, const uint8_t *id, size_t id_len, EVP_PKEY **out)
{
	CK_SESSION_HANDLE s;
	int r;

	*out = NULL;
	if ((r = check_id(id, id_len)) != 0 || (r = hsm_lock(t)) != 0)
		return r;
	if ((r = hsm_session(t, &s)) == 0)
		r = hsm_pubkey_by_id(t, s, id, id_len, out);
	hsm_unlock(t);
	return r;
}

int
hsm_find_key_by_label(hsm_token *t, const char *label, uint8_t id[HSM_ID_MAX], size_t *id_len)
{
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof(cls)}, {CKA_LABEL, NULL, 0}};
	CK_OBJECT_HANDLE *h = NULL;
	CK_SESSION_HANDLE s;
	uint8_t *v = NULL;
	size_t n = 0, len = 0;
	int r = P11S_E_INTERNAL, locked = 0;

	*id_len = 0;
	if ((r = check_label(t, label)) != 0)
		return r;
	tmpl[1].pValue = hsm_ck_ptr(label);
	tmpl[1].ulValueLen = strlen(label);
	if ((r = hsm_lock(t)) != 0)
		return r;
	locked = 1;
	if ((r = hsm_session(t, &s)) != 0 || (r = hsm_find(t, s, tmpl, 2, &h, &n)) != 0)
		goto out;
	if (n == 0) {
		r = p11s_fail(P11S_E_NOTFOUND, "no private key labelled '%s' on token '%s'", label,
			      t->label);
		goto out;
	}
	if (n > 1) {
		r = p11s_fail(
		    P11S_E_AMBIGUOUS,
		    "%zu private keys are labelled '%s' on token '%s': name the key by id", n,
		    label, t->label);
		goto out;
	}
	if ((r = hsm_get_attr(t, s, h[0], CKA_ID, &v, &len)) != 0)
		goto out;
	if (len == 0 || len > HSM_ID_MAX) {
		r = p11s_fail(P11S_E_NOTFOUND,
			      "the private key labelled '%s' on token '%s' has no usable CKA_ID",
			      label, t->label);
		goto out;
	}
	memcpy(id, v, len);
	*id_len = len;
	r = 0;
out:
	if (locked)
		hsm_unlock(t);
	free(v);
	free(h);
	return r;
}

int
hsm_destroy_key(hsm_token *t, const uint8_t *id, size_t id_len)
{
	static const CK_OBJECT_CLASS classes[] = {CKO_CERTIFICATE, CKO_PUBLIC_KEY, CKO_PRIVATE_KEY};
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE *h = NULL;
	size_t n = 0, total = 0;
	char hex[2 * HSM_ID_MAX + 1];
	int r = P11S_E_INTERNAL, locked = 0;

	if ((r = check_id(id, id_len)) != 0 || (r = hsm_lock(t)) != 0)
		return r;
	locked = 1;
	if ((r = hsm_session(t, &s)) != 0)
		goto out;
	for (size_t c = 0; c < sizeof(classes) / sizeof(classes[0]); c++) {
		CK_OBJECT_CLASS cls = classes[c];
		CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof(cls)},
				       {CKA_ID, hsm_ck_ptr(id), id_len}};

		free(h);
		h = NULL;
		if ((r = hsm_find(t, s, tmpl, 2, &h, &n)) != 0)
			goto out;
		for (size_t i = 0; i < n; i++) {
			CK_RV rv = hsm_C_DestroyObject(t, s, h[i]);

			if (rv != CKR_OK) {
				r = HSM_RV_FAIL(rv, "C_DestroyObject",
						"cannot destroy an object of key %s on token '%s'",
						hsm_id_hex(id, id_len, hex), t->label);
				goto out;
			}
			total++;
		}
	}
	if (total == 0) {
		r = p11s_fail(P11S_E_NOTFOUND,
			      "no key, public key or certificate with id %s on token '%s'",
			      hsm_id_hex(id, id_len, hex), t->label);
		goto out;
	}
	log_info("destroyed %zu objects of key %s on token '%s'", total,
		 hsm_id_hex(id, id_len, hex), t->label);
	r = 0;
out:
	if (locked)
		hsm_unlock(t);
	free(h);
	return r;
}

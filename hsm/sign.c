/* Signers: one session each, the key found by CKA_ID, recovery on session loss. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "common/log.h"
#include "common/util.h"
#include "hsm/internal.h"

#define SIGN_RECOVERIES 3
static const unsigned recover_backoff_ms[SIGN_RECOVERIES] = {10, 50, 200};

struct hsm_signer {
	hsm_token *t;
	CK_SESSION_HANDLE s;  /* CK_INVALID_HANDLE while lost */
	CK_OBJECT_HANDLE key; /* the token object or its session copy */
	int copied;
	int session_copy;
	uint8_t id[HSM_ID_MAX];
	size_t id_len;
	p11s_alg alg;
	p11s_keytype kt;
	unsigned bits;
};

static void
detach(hsm_signer *g)
{
	if (g->s != CK_INVALID_HANDLE)
		(void)hsm_C_CloseSession(g->t, g->s); /* also destroys the session copy */
	g->s = CK_INVALID_HANDLE;
	g->key = CK_INVALID_HANDLE;
	g->copied = 0;
}

/* Open the session, find the key, check its type, copy it.  Host lock held. */
static int
attach(hsm_signer *g)
{
	hsm_token *t = g->t;
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof(cls)}, {CKA_ID, g->id, g->id_len}};
	CK_BBOOL no = CK_FALSE;
	CK_ATTRIBUTE copy_tmpl[] = {{CKA_TOKEN, &no, sizeof(no)}};
	CK_OBJECT_HANDLE *h = NULL, copy = CK_INVALID_HANDLE;
	size_t n = 0;
	char hex[2 * HSM_ID_MAX + 1], nb[32];
	p11s_keytype kt;
	unsigned bits;
	CK_RV rv;
	int r = P11S_E_INTERNAL;

	if ((r = hsm_open_user_session(t, &g->s)) != 0)
		goto out;
	if ((r = hsm_find(t, g->s, tmpl, 2, &h, &n)) != 0)
		goto out;
	if (n == 0) {
		r = p11s_fail(P11S_E_NOTFOUND, "no private key with id %s on token '%s'",
			      hsm_id_hex(g->id, g->id_len, hex), t->label);
		goto out;
	}
	if ((r = hsm_key_type(t, g->s, h[0], &kt, &bits)) != 0)
		goto out;
	if (!p11s_alg_fits(g->alg, kt, bits)) {
		r = p11s_fail(P11S_E_KEY_TYPE, "key %s on token '%s' is %s (%u bits); %s needs %s",
			      hsm_id_hex(g->id, g->id_len, hex), t->label, p11s_keytype_name(kt),
			      bits, p11s_alg_name(g->alg), p11s_alg_needs(g->alg));
		goto out;
	}
	g->kt = kt;
	g->bits = bits;
	g->key = h[0];
	if (g->session_copy) {
		rv = hsm_C_CopyObject(t, g->s, h[0], copy_tmpl, 1, &copy);
		if (rv == CKR_OK) {
			g->key = copy;
			g->copied = 1;
		} else {
			log_info(
			    "token '%s' refused to copy key %s into the session (%s); signing with "
			    "the token object",
			    t->label, hsm_id_hex(g->id, g->id_len, hex), hsm_rv_name(rv, nb));
		}
	}
	r = 0;
out:
	if (r != 0)
		detach(g);
	free(h);
	return r;
}

int
hsm_signer_open(hsm_token *t, const uint8_t *id, size_t id_len, p11s_alg alg, int session_copy,
		hsm_signer **out)
{
	hsm_signer *g = NULL;
	int r = P11S_E_INTERNAL, locked = 0;

	*out = NULL;
	if (id == NULL || id_len == 0 || id_len > HSM_ID_MAX)
		return p11s_fail(P11S_E_INVAL, "a key id (CKA_ID) of 1 to %d bytes is required",
				 HSM_ID_MAX);
	if (p11s_alg_name(alg) == NULL)
		return p11s_fail(P11S_E_INVAL,
				 "no signature algorithm: use ES256, ES384, RS256 or PS256");
	if ((g = calloc(1, sizeof(*g))) == NULL)
		return p11s_fail(P11S_E_NOMEM, "out of memory");
	g->t = t;
	g->s = CK_INVALID_HANDLE;
	g->key = CK_INVALID_HANDLE;
	g->alg = alg;
	g->session_copy = session_copy;
	memcpy(g->id, id, id_len);
	g->id_len = id_len;
	if ((r = hsm_lock(t)) != 0)
		goto out;
	locked = 1;
	if ((r = attach(g)) != 0)
		goto out;
	*out = g;
	g = NULL;
	r = 0;
out:
	if (locked)
		hsm_unlock(t);
	free(g);
	return r;
}

void
hsm_signer_free(hsm_signer *g)
{
	if (g == NULL)
		return;
	detach(g);
	free(g);
}

static CK_RV
sign_once(hsm_signer *g, const uint8_t *data, size_t len, uint8_t *sig, size_t *siglen)
{
	CK_RSA_PKCS_PSS_PARAMS pss = {CKM_SHA256, CKG_MGF1_SHA256, 32};
	CK_MECHANISM mech = {CKM_ECDSA, NULL, 0};
	CK_ULONG out = (CK_ULONG)*siglen;
	CK_RV rv;

	if (g->s == CK_INVALID_HANDLE)
		return CKR_SESSION_HANDLE_INVALID;
	if (g->alg == P11S_ALG_RS256) {
		mech.mechanism = CKM_SHA256_RSA_PKCS;
	} else if (g->alg == P11S_ALG_PS256) {
		mech.mechanism = CKM_SHA256_RSA_PKCS_PSS;
		mech.pParameter = &pss;
		mech.ulParameterLen = sizeof(pss);
	}
	if ((rv = hsm_C_SignInit(g->t, g->s, &mech, g->key)) != CKR_OK)
		return rv;
	if ((rv = hsm_C_Sign(g->t, g->s, data, len, sig, &out)) != CKR_OK)
		return rv;
	*siglen = out;
	return CKR_OK;
}

/* Reopen the session and find the key again.  Takes the host lock. */
static int
recover(hsm_signer *g)
{
	char hex[2 * HSM_ID_MAX + 1];
	int r;

	if ((r = hsm_lock(g->t)) != 0)
		return r;
	detach(g);
	if ((r = attach(g)) == 0)
		log_info("signer for key %s on token '%s' recovered its session",
			 hsm_id_hex(g->id, g->id_len, hex), g->t->label);
	hsm_unlock(g->t);
	return r;
}

int
hsm_sign(hsm_signer *g, const uint8_t *msg, size_t len, uint8_t *sig, size_t *siglen)
{
	unsigned char dig[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;
	const uint8_t *data = msg;
	size_t data_len = len, need = p11s_alg_sig_len(g->alg, g->bits), got;
	char last[200] = "", why[400] = "", nb[32], hex[2 * HSM_ID_MAX + 1];
	CK_RV rv;
	int r;

	if (*siglen < need)
		return p11s_fail(P11S_E_INVAL, "signature buffer of %zu bytes; %s needs %zu",
				 *siglen, p11s_alg_name(g->alg), need);
	if (g->alg == P11S_ALG_ES256 || g->alg == P11S_ALG_ES384) {
		/* SoftHSM has no CKM_ECDSA_SHA256: hash here, sign the digest raw */
		if (!EVP_Digest(msg, len, dig, &dlen,
				g->alg == P11S_ALG_ES256 ? EVP_sha256() : EVP_sha384(), NULL)) {
			log_openssl("hashing the message");
			return p11s_fail(P11S_E_CRYPTO, "cannot hash the message to sign");
		}
		data = dig;
		data_len = dlen;
	}
	for (int attempt = 0;; attempt++) {
		got = *siglen;
		rv = sign_once(g, data, data_len, sig, &got);
		if (rv == CKR_OK)
			break;
		if (!hsm_rv_session_lost(rv))
			return HSM_RV_FAIL(rv, "C_Sign", "cannot sign with key %s on token '%s'",
					   hsm_id_hex(g->id, g->id_len, hex), g->t->label);
		snprintf(last, sizeof(last), "%s", hsm_rv_name(rv, nb));
		if (attempt == SIGN_RECOVERIES)
			return p11s_fail(
			    P11S_E_SESSION,
			    "lost the session with token '%s' and could not recover it "
			    "after %d attempts (last error %s%s%s)",
			    g->t->label, SIGN_RECOVERIES, last, why[0] != '\0' ? "; " : "", why);
		log_warn("signing with key %s on token '%s' failed with %s; reopening the session "
			 "(attempt %d of %d)",
			 hsm_id_hex(g->id, g->id_len, hex), g->t->label, last, attempt + 1,
			 SIGN_RECOVERIES);
		hsm_sleep_ms(recover_backoff_ms[attempt]);
		r = recover(g);
		if (r != 0)
			snprintf(why, sizeof(why), "reopening failed: %s", p11s_errmsg(r));
		else
			why[0] = '\0';
		if (r == P11S_E_PIN_INCORRECT || r == P11S_E_PIN_LOCKED || r == P11S_E_PIN_SOURCE ||
		    r == P11S_E_NOTFOUND || r == P11S_E_KEY_TYPE || r == P11S_E_NOMEM)
			return r; /* retrying cannot help */
	}
	if (got != need)
		return p11s_fail(P11S_E_HSM,
				 "token '%s' returned a %zu-byte %s signature, expected %zu",
				 g->t->label, got, p11s_alg_name(g->alg), need);
	*siglen = got;
	return 0;
}

int
hsm_ecdsa_raw_to_der(const uint8_t *raw, size_t len, uint8_t **der, size_t *der_len)
{
	ECDSA_SIG *es = NULL;
	BIGNUM *br = NULL, *bs = NULL;
	unsigned char *p = NULL;
	int n, r = P11S_E_INTERNAL;

	*der = NULL;
	*der_len = 0;
	if (len == 0 || len % 2 != 0)
		return p11s_fail(P11S_E_INVAL,
				 "an ECDSA r||s signature has an even length, not %zu", len);
	if ((es = ECDSA_SIG_new()) == NULL || (br = BN_bin2bn(raw, (int)(len / 2), NULL)) == NULL ||
	    (bs = BN_bin2bn(raw + len / 2, (int)(len / 2), NULL)) == NULL ||
	    ECDSA_SIG_set0(es, br, bs) != 1) {
		r = p11s_fail(P11S_E_NOMEM, "out of memory");
		goto out;
	}
	br = bs = NULL;
	if ((n = i2d_ECDSA_SIG(es, &p)) <= 0) {
		log_openssl("encoding an ECDSA signature");
		r = p11s_fail(P11S_E_CRYPTO, "cannot encode the ECDSA signature");
		goto out;
	}
	*der = p;
	*der_len = (size_t)n;
	r = 0;
out:
	BN_free(br);
	BN_free(bs);
	ECDSA_SIG_free(es);
	return r;
}

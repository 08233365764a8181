/* The test signature of rule 3b.  See keytest.h. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "signer/jose/jose.h"
#include "signer/keytest.h"

#define TEST_LIFETIME 60

/* The signature scheme an algorithm asks of the token, for messages. */
static const char *
alg_scheme(p11s_alg alg)
{
	switch (alg) {
	case P11S_ALG_ES256:
		return "ECDSA P-256 with SHA-256";
	case P11S_ALG_ES384:
		return "ECDSA P-384 with SHA-384";
	case P11S_ALG_RS256:
		return "RSASSA-PKCS1-v1_5 with SHA-256";
	case P11S_ALG_PS256:
		return "RSASSA-PSS with SHA-256 (PKCS#11 CKM_SHA256_RSA_PKCS_PSS)";
	default:
		return "no signature scheme";
	}
}

static int
sign_cb(void *ctx, const uint8_t *msg, size_t len, uint8_t *sig, size_t *siglen)
{
	return hsm_sign(ctx, msg, len, sig, siglen);
}

int
signer_test_signature(hsm_token *t, const uint8_t *id, size_t id_len, p11s_alg alg, EVP_PKEY *pub,
		      const char *sha1, const char *sha256)
{
	hsm_signer *s = NULL;
	char kid[64], x5t[40], *tok = NULL;
	jwt_issue_params ip;
	jwt_verify_params vp;
	jwt_vkey vk;
	jwt_result res;
	p11s_time now = p11s_now(), exp;
	char why[512];
	int r = P11S_E_INTERNAL;

	memset(&res, 0, sizeof(res));
	if (pub == NULL || p11s_alg_name(alg) == NULL) {
		r = p11s_fail(P11S_E_INVAL, "a test signature needs a public key and an algorithm");
		goto out;
	}
	if ((r = jose_kid_from_hex(sha256, kid, sizeof(kid))) != 0 ||
	    (r = jose_x5t_from_hex(sha1, x5t, sizeof(x5t))) != 0)
		goto out;
	if ((r = hsm_signer_open(t, id, id_len, alg, 0, &s)) != 0) {
		snprintf(why, sizeof(why), "%s", p11s_errmsg(r));
		r = p11s_fail(r, "the %s test signature with key %s (%s) could not start: %s",
			      p11s_alg_name(alg), sha1, alg_scheme(alg), why);
		goto out;
	}
	memset(&ip, 0, sizeof(ip));
	ip.alg = alg;
	ip.kid = kid;
	ip.x5t = x5t;
	ip.iss = "p11-signer test signature";
	ip.sub = sha1;
	ip.now = now;
	ip.lifetime = TEST_LIFETIME;
	ip.sign = sign_cb;
	ip.sign_ctx = s;
	if ((r = jwt_issue(&ip, &tok, &exp)) != 0) {
		snprintf(why, sizeof(why), "%s", p11s_errmsg(r));
		r = p11s_fail(r, "the %s test signature with key %s (%s) failed: %s",
			      p11s_alg_name(alg), sha1, alg_scheme(alg), why);
		goto out;
	}
	memset(&vk, 0, sizeof(vk));
	vk.alg = alg;
	vk.kid = kid;
	vk.pub = pub;
	memset(&vp, 0, sizeof(vp));
	vp.keys = &vk;
	vp.n_keys = 1;
	vp.now = now;
	vp.leeway = 5;
	vp.max_lifetime = TEST_LIFETIME;
	r = jwt_verify(tok, strlen(tok), &vp, &res);
	if (r == P11S_E_BADTOKEN) {
		r = p11s_fail(P11S_E_KEY_MISMATCH,
			      "the %s test signature with key %s does not verify with its "
			      "certificate: %s",
			      p11s_alg_name(alg), sha1, res.error);
		goto out;
	}
	if (r != 0)
		goto out;
	r = 0;
out:
	jwt_result_clear(&res);
	free(tok);
	hsm_signer_free(s);
	return r;
}

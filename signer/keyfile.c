/* Key files in memory: certificates, PEM private keys, PKCS#12 (keyfile.h). */
#include "config.h"

#include <limits.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <string.h>

#include "common/log.h"
#include "common/pin.h"
#include "signer/keyfile.h"

int
keyfile_cert_parse(const uint8_t *buf, size_t len, const char *what, X509 **out)
{
	const unsigned char *p;
	BIO *b = NULL;

	*out = NULL;
	if (len > INT_MAX)
		return p11s_fail(P11S_E_INVAL, "%s is too large for a certificate", what);
	if ((b = BIO_new_mem_buf(buf, (int)len)) != NULL)
		*out = PEM_read_bio_X509(b, NULL, NULL, NULL);
	if (*out == NULL) {
		p = buf;
		*out = d2i_X509(NULL, &p, (long)len);
	}
	BIO_free(b);
	if (*out == NULL) {
		log_openssl("certificate");
		return p11s_fail(P11S_E_INVAL,
				 "%s is not an X.509 certificate (PEM or DER expected)", what);
	}
	return 0;
}

struct pass_cb {
	const char *source;
	int asked;
	int failed;
};

/* PEM passphrase callback: read from the secret source only when needed. */
static int
pem_pass(char *buf, int size, int rwflag, void *u)
{
	struct pass_cb *pc = u;
	p11s_secret *s = NULL;
	int n;

	(void)rwflag;
	pc->asked = 1;
	if (pc->source == NULL || p11s_secret_read(pc->source, "passphrase", &s) != 0) {
		pc->failed = 1;
		return -1;
	}
	n = (int)s->len < size ? (int)s->len : size;
	memcpy(buf, s->buf, (size_t)n);
	p11s_secret_free(s);
	return n;
}

int
keyfile_key_parse(const uint8_t *buf, size_t len, const char *what, const char *pass_source,
		  EVP_PKEY **out)
{
	struct pass_cb pc = {pass_source, 0, 0};
	BIO *b = NULL;

	*out = NULL;
	if (len > INT_MAX)
		return p11s_fail(P11S_E_INVAL, "%s is too large for a key file", what);
	if ((b = BIO_new_mem_buf(buf, (int)len)) != NULL)
		*out = PEM_read_bio_PrivateKey(b, NULL, pem_pass, &pc);
	BIO_free(b);
	if (*out != NULL)
		return 0;
	ERR_clear_error();
	if (pc.failed)
		return p11s_fail(P11S_E_PIN_SOURCE,
				 "%s is encrypted and no passphrase could be read: %s", what,
				 pass_source == NULL ? "give --passphrase SOURCE"
						     : p11s_errmsg(P11S_E_PIN_SOURCE));
	if (pc.asked)
		return p11s_fail(P11S_E_INVAL, "%s: wrong passphrase, or not a private key", what);
	return p11s_fail(P11S_E_INVAL, "%s is not a PEM private key", what);
}

int
keyfile_pkcs12_parse(const uint8_t *buf, size_t len, const char *what, const char *pass_source,
		     EVP_PKEY **key, X509 **cert)
{
	p11s_secret *pass = NULL;
	PKCS12 *p12 = NULL;
	BIO *b = NULL;
	int r = P11S_E_INVAL;

	*key = NULL;
	*cert = NULL;
	if (len > INT_MAX)
		return p11s_fail(P11S_E_INVAL, "%s is too large for a PKCS#12 file", what);
	if ((b = BIO_new_mem_buf(buf, (int)len)) == NULL ||
	    (p12 = d2i_PKCS12_bio(b, NULL)) == NULL) {
		r = p11s_fail(P11S_E_INVAL, "%s is not a PKCS#12 file", what);
		goto out;
	}
	if (PKCS12_verify_mac(p12, "", 0) != 1 && PKCS12_verify_mac(p12, NULL, 0) != 1) {
		if (pass_source == NULL) {
			r = p11s_fail(P11S_E_PIN_SOURCE,
				      "%s is protected by a passphrase: give --passphrase SOURCE "
				      "(file:PATH, env:NAME, fd:N or prompt)",
				      what);
			goto out;
		}
		if ((r = p11s_secret_read(pass_source, "passphrase", &pass)) != 0)
			goto out;
	}
	if (PKCS12_parse(p12, pass != NULL ? pass->buf : "", key, cert, NULL) != 1) {
		ERR_clear_error();
		r = p11s_fail(P11S_E_INVAL, "%s: wrong passphrase or damaged PKCS#12 file", what);
		goto out;
	}
	if (*key == NULL || *cert == NULL) {
		EVP_PKEY_free(*key);
		X509_free(*cert);
		*key = NULL;
		*cert = NULL;
		r = p11s_fail(P11S_E_INVAL, "%s must hold one private key and its certificate",
			      what);
		goto out;
	}
	r = 0;
out:
	p11s_secret_free(pass);
	PKCS12_free(p12);
	BIO_free(b);
	return r;
}

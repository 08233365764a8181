/*
 * signerd's TLS context: certificate chain, key and optional client CA
 * bundle (mTLS), TLS 1.2 or newer.
 */
#include "config.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "common/log.h"
#include "signer/daemon/http_internal.h"

/* ---- TLS ----------------------------------------------------------------- */

int
d_tls_ctx_new(const d_tls_conf *tls, SSL_CTX **out)
{
	SSL_CTX *ctx = NULL;
	int r = P11S_E_CRYPTO;

	*out = NULL;
	if (tls->certificate == NULL || tls->key == NULL) {
		r = p11s_fail(P11S_E_CONFIG,
			      "an https listener needs [server] tls_certificate and tls_key");
		goto out;
	}
	ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL || SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
		log_openssl("SSL_CTX_new");
		r = p11s_fail(P11S_E_CRYPTO, "cannot create a TLS context");
		goto out;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	if (SSL_CTX_use_certificate_chain_file(ctx, tls->certificate) != 1) {
		log_openssl("SSL_CTX_use_certificate_chain_file");
		r = p11s_fail(P11S_E_CONFIG,
			      "cannot load the TLS certificate chain %s (PEM expected)",
			      tls->certificate);
		goto out;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, tls->key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		log_openssl("SSL_CTX_use_PrivateKey_file");
		r = p11s_fail(P11S_E_CONFIG, "cannot load the TLS key %s, or it does not match %s",
			      tls->key, tls->certificate);
		goto out;
	}
	if (tls->client_ca != NULL) {
		STACK_OF(X509_NAME) * names;

		if (SSL_CTX_load_verify_locations(ctx, tls->client_ca, NULL) != 1 ||
		    (names = SSL_load_client_CA_file(tls->client_ca)) == NULL) {
			log_openssl("SSL_CTX_load_verify_locations");
			r = p11s_fail(P11S_E_CONFIG,
				      "cannot load the client CA bundle %s (PEM expected)",
				      tls->client_ca);
			goto out;
		}
		SSL_CTX_set_client_CA_list(ctx, names);
		/* A certificate is optional in the handshake, but one that is
		 * presented must verify; routes that require one check in the
		 * handler (per-route mTLS). */
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
		SSL_CTX_set_verify_depth(ctx, 8);
	}
	*out = ctx;
	ctx = NULL;
	r = 0;
out:
	SSL_CTX_free(ctx);
	ERR_clear_error();
	return r;
}

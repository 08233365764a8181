/*
 * signerd's TLS context: certificate chain, key and optional client CA
 * bundle (mTLS), TLS 1.2 or newer.
 *
 * The key is a PEM file or a key on a token (tls_key = pkcs11:...), opened
 * through libp11 as an EVP_PKEY.  A token key can lose its session (token
 * reset, module restart, an HSM fail-over): every handshake takes the key
 * from a holder on the SSL_CTX (certificate callback), and a handshake that
 * ends in an internal_error alert (what OpenSSL sends when the signature
 * fails) marks the key suspect; the next handshake probes it with one test
 * signature and, if that fails, opens the key again and uses the new one.
 * Keys replaced that way stay allocated until the SSL_CTX goes: a handshake
 * still running on another worker may hold them.
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "common/log.h"
#include "common/util.h"
#include "hsm/hsm.h"
#include "signer/daemon/http_internal.h"

/* ---- a token key behind the SSL_CTX --------------------------------------- */

typedef struct tls_token_key {
	pthread_mutex_t mu;
	char *uri, *pin, *lock_file;
	hsm_evp_key *cur;
	hsm_evp_key **old; /* replaced keys, freed with the SSL_CTX */
	size_t n_old;
	atomic_int suspect;
	atomic_uint reopened; /* count, for logs and tests */
} tls_token_key;

static int tk_index = -1;
static pthread_once_t tk_once = PTHREAD_ONCE_INIT;

static void
tk_free(tls_token_key *tk)
{
	if (tk == NULL)
		return;
	hsm_evp_free(tk->cur);
	for (size_t i = 0; i < tk->n_old; i++)
		hsm_evp_free(tk->old[i]);
	free(tk->old);
	free(tk->uri);
	free(tk->pin);
	free(tk->lock_file);
	pthread_mutex_destroy(&tk->mu);
	free(tk);
}

static void
tk_ex_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	(void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
	tk_free(ptr);
}

static void
tk_index_init(void)
{
	tk_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, tk_ex_free);
}

/* Under tk->mu: probe the suspect key; open it again when it no longer signs. */
static void
tk_recover(tls_token_key *tk)
{
	hsm_evp_key *nk = NULL, **grown;
	int r;

	if (hsm_evp_probe(tk->cur) == 0) {
		log_debug("TLS key %s still signs", hsm_evp_desc(tk->cur));
		return;
	}
	log_warn("TLS key %s no longer signs; opening it again", hsm_evp_desc(tk->cur));
	if ((r = hsm_evp_open(tk->uri, tk->pin, tk->lock_file, &nk)) != 0 ||
	    (r = hsm_evp_probe(nk)) != 0) {
		log_error("cannot open the TLS key again: %s", p11s_errmsg(r));
		hsm_evp_free(nk);
		atomic_store(&tk->suspect, 1); /* try again at the next handshake */
		return;
	}
	if ((grown = realloc(tk->old, (tk->n_old + 1) * sizeof(*grown))) == NULL) {
		log_error("out of memory replacing the TLS key");
		hsm_evp_free(nk);
		return;
	}
	tk->old = grown;
	tk->old[tk->n_old++] = tk->cur;
	tk->cur = nk;
	atomic_fetch_add(&tk->reopened, 1);
	log_info("TLS key %s opened again (%u time(s))", hsm_evp_desc(nk),
		 atomic_load(&tk->reopened));
}

/* Each handshake: the current token key. */
static int
tk_cert_cb(SSL *ssl, void *arg)
{
	tls_token_key *tk = arg;
	int ok;

	pthread_mutex_lock(&tk->mu);
	if (atomic_exchange(&tk->suspect, 0))
		tk_recover(tk);
	ok = SSL_use_PrivateKey(ssl, hsm_evp_pkey(tk->cur)) == 1;
	pthread_mutex_unlock(&tk->mu);
	if (!ok)
		log_openssl("SSL_use_PrivateKey");
	return ok;
}

/* OpenSSL answers a failed handshake signature with an internal_error alert. */
static void
tk_info_cb(const SSL *ssl, int where, int ret)
{
	tls_token_key *tk;

	if (!(where & SSL_CB_WRITE_ALERT) || (ret & 0xff) != SSL_AD_INTERNAL_ERROR)
		return;
	tk = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), tk_index);
	if (tk != NULL && !atomic_exchange(&tk->suspect, 1))
		log_warn("a TLS handshake failed inside the server; checking the TLS key");
}

static int
use_token_key(SSL_CTX *ctx, const d_tls_conf *tls)
{
	tls_token_key *tk = NULL;
	int r = P11S_E_INTERNAL;

	pthread_once(&tk_once, tk_index_init);
	if (tk_index < 0)
		return p11s_fail(P11S_E_CRYPTO, "cannot attach the TLS key to the TLS context");
	if ((tk = calloc(1, sizeof(*tk))) == NULL)
		return p11s_fail(P11S_E_NOMEM, "out of memory");
	pthread_mutex_init(&tk->mu, NULL);
	if ((r = p11s_strdup(tls->key, &tk->uri)) != 0 ||
	    (tls->key_pin != NULL && (r = p11s_strdup(tls->key_pin, &tk->pin)) != 0) ||
	    (tls->lock_file != NULL && (r = p11s_strdup(tls->lock_file, &tk->lock_file)) != 0))
		goto out;
	if ((r = hsm_evp_open(tk->uri, tk->pin, tk->lock_file, &tk->cur)) != 0) {
		r = p11s_fail(r, "cannot open the TLS key %s: %s", tls->key, p11s_errmsg(r));
		goto out;
	}
	/* Only each connection holds the key (certificate callback), never the
	 * SSL_CTX itself: the last reference must go before the libp11 context
	 * it belongs to, which the SSL_CTX's ex_data frees. */
	if (X509_check_private_key(SSL_CTX_get0_certificate(ctx), hsm_evp_pkey(tk->cur)) != 1) {
		log_openssl("X509_check_private_key");
		r = p11s_fail(P11S_E_CONFIG, "the TLS key %s does not match the certificate %s",
			      tls->key, tls->certificate);
		goto out;
	}
	if (SSL_CTX_set_ex_data(ctx, tk_index, tk) != 1) {
		r = p11s_fail(P11S_E_CRYPTO, "cannot attach the TLS key to the TLS context");
		goto out;
	}
	SSL_CTX_set_cert_cb(ctx, tk_cert_cb, tk);
	SSL_CTX_set_info_callback(ctx, tk_info_cb);
	tk = NULL; /* the SSL_CTX owns it */
	r = 0;
out:
	tk_free(tk);
	return r;
}

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
	if (hsm_evp_is_uri(tls->key)) {
		if ((r = use_token_key(ctx, tls)) != 0)
			goto out;
	} else if (SSL_CTX_use_PrivateKey_file(ctx, tls->key, SSL_FILETYPE_PEM) != 1 ||
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

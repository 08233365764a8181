/*
 * hsm/ — the only code that talks PKCS#11.  Everything above it sees opaque
 * handles, OpenSSL objects (X509, EVP_PKEY for public keys) and p11s error codes.
 *
 * Threading: an hsm_token may be shared by threads; its management calls
 * (list, keygen, import, destroy, data objects) serialise on the token's lock,
 * which is also the host-wide advisory lock file (flock) of STACK-NOTES.
 * An hsm_signer is one PKCS#11 session: use it from one thread at a time.
 */
#ifndef P11S_HSM_H
#define P11S_HSM_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "common/alg.h"
#include "common/error.h"

typedef struct hsm_token hsm_token;
typedef struct hsm_signer hsm_signer;

#define HSM_ID_MAX 64

/* Report the counts of rate-limited token log lines whose window has ended
 * (call periodically, e.g. from the state poller). */
void hsm_log_flush(void);

/* ---- URI ---------------------------------------------------------------- */

/* The parts of an RFC 7512 PKCS#11 URI this product uses. */
typedef struct hsm_uri {
	char *module_path;  /* module-path= (query), or NULL */
	char *module_name;  /* module-name= (query; p11-kit's configuration), or NULL */
	char *pin_source;   /* pin-source= as "file:/path", or NULL */
	char *model;	    /* model=, or NULL */
	char *manufacturer; /* manufacturer=, or NULL */
	char *token;	    /* token= label, or NULL */
	char *serial;	    /* serial=, or NULL */
	char *object;	    /* object= (CKA_LABEL), or NULL */
	uint8_t id[HSM_ID_MAX];
	size_t id_len; /* id= (CKA_ID), 0 when absent */
} hsm_uri;

/* Parse (through p11-kit's URI parser); errors name the offending part. */
P11S_MUST_CHECK int hsm_uri_parse(const char *uri, hsm_uri **out);
void hsm_uri_free(hsm_uri *u);
/*
 * The module file a URI names: module-path= as given, else module-name=
 * looked up in p11-kit's module configuration.  A URI naming neither is an
 * error listing p11-kit's configured modules: there is no default module.
 * Errors: P11S_E_MODULE.
 */
P11S_MUST_CHECK int hsm_uri_module(const hsm_uri *u, char **path);

/* ---- token keys as OpenSSL EVP_PKEYs (libp11) --------------------------- */

typedef struct hsm_evp_key hsm_evp_key;

/* 1 when s is a PKCS#11 URI ("pkcs11:..."), not a file path. */
int hsm_evp_is_uri(const char *s);
/*
 * Open the private key a URI names (token= or serial=, plus object= and/or
 * id=; model=/manufacturer= must match too) as an OpenSSL EVP_PKEY through
 * libp11, for OpenSSL to sign with (TLS, approvals).  The module is the
 * URI's (module-path= or module-name=) and shares the raw side's instance.
 * The PIN comes from the URI's pin-source=, else pin_source.  lock_file
 * (may be NULL) is the host lock held while libp11 enumerates keys.
 * Prefer EC keys: libp11 0.4.12 signs RSA-PSS (TLS 1.3) as raw RSA.
 */
P11S_MUST_CHECK int hsm_evp_open(const char *uri, const char *pin_source, const char *lock_file,
				 hsm_evp_key **out);
/* The key (owned by k: up-ref it to keep it past hsm_evp_free). */
EVP_PKEY *hsm_evp_pkey(const hsm_evp_key *k);
const char *hsm_evp_desc(const hsm_evp_key *k);
/* One test signature: 0 when the key still signs (its session is alive). */
P11S_MUST_CHECK int hsm_evp_probe(const hsm_evp_key *k);
void hsm_evp_free(hsm_evp_key *k);

/* ---- opening a token ---------------------------------------------------- */

typedef struct hsm_open_params {
	const char *uri;	 /* PKCS#11 URI naming the token (required) */
	const char *lock_file;	 /* host-wide advisory lock; NULL = none */
	const char *pin_source;	 /* file:/env:/fd:/prompt; NULL = do not log in;
				  * the URI's pin-source= overrides it */
	unsigned start_attempts; /* C_Initialize/token-find retries; 0 = default 5 */
} hsm_open_params;

/*
 * Load the module, find the token by label/serial (never slot id), open a R/W
 * session and log in once (exactly one C_Login; CKR_PIN_INCORRECT and
 * CKR_PIN_LOCKED are latched and never retried).  Start-up failures that
 * STACK-NOTES describes as transient are retried with back-off.
 * Errors: P11S_E_MODULE, P11S_E_TOKEN_NOT_FOUND, P11S_E_PIN_INCORRECT,
 * P11S_E_PIN_LOCKED, P11S_E_PIN_SOURCE, P11S_E_LOCK, P11S_E_HSM.
 */
P11S_MUST_CHECK int hsm_open(const hsm_open_params *p, hsm_token **out);
void hsm_close(hsm_token *t);

/* Token label and serial, for messages. */
const char *hsm_token_label(const hsm_token *t);
const char *hsm_token_serial(const hsm_token *t);

/*
 * Host-wide lock (flock on lock_file + a process mutex), re-entrant in the
 * holding thread.  Every management call below takes it itself; take it
 * explicitly only to make several calls atomic (the state store's
 * read-modify-write).
 */
P11S_MUST_CHECK int hsm_lock(hsm_token *t);
void hsm_unlock(hsm_token *t);

/* ---- keys and certificates ---------------------------------------------- */

typedef struct hsm_key_info {
	uint8_t id[HSM_ID_MAX];
	size_t id_len; /* CKA_ID pairing key and certificate */
	char *label;   /* CKA_LABEL of the private key (or cert) */
	int has_private;
	int has_public;
	int has_cert;
	p11s_keytype keytype;
	unsigned bits;	       /* RSA modulus bits, EC field bits */
	int sensitive;	       /* CKA_SENSITIVE */
	int extractable;       /* CKA_EXTRACTABLE */
	int never_extractable; /* CKA_NEVER_EXTRACTABLE */
	int always_sensitive;  /* CKA_ALWAYS_SENSITIVE */
	X509 *cert;	       /* owned; NULL when has_cert == 0 */
	char sha1[41];	       /* certificate thumbprints, "" without cert */
	char sha256[65];
} hsm_key_info;

typedef struct hsm_key_list {
	size_t n;
	hsm_key_info *keys;
} hsm_key_list;

/* Private keys and certificates paired by CKA_ID.  The search is by class,
 * which SoftHSM2's file store only survives without a concurrent writer
 * (STACK-NOTES): it runs under the host lock, which excludes one. */
P11S_MUST_CHECK int hsm_list_keys(hsm_token *t, hsm_key_list **out);
void hsm_key_list_free(hsm_key_list *l);

/*
 * Generate a key pair on the token: CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE,
 * CKA_SIGN true; CKA_EXTRACTABLE false.  kt: EC P-256, EC P-384 or RSA with
 * bits 2048 or 3072.  CKA_ID = first 20 bytes of SHA-1 over the public key's
 * DER SubjectPublicKeyInfo.  A label already used by a private key is refused
 * (P11S_E_EXISTS).
 */
P11S_MUST_CHECK int hsm_keygen(hsm_token *t, const char *label, p11s_keytype kt, unsigned bits,
			       uint8_t id[HSM_ID_MAX], size_t *id_len);

/* Public key of the key pair with this CKA_ID (from the public key object or
 * the certificate).  *out is owned by the caller. */
P11S_MUST_CHECK int hsm_public_key(hsm_token *t, const uint8_t *id, size_t id_len, EVP_PKEY **out);

/* Find the private key whose CKA_LABEL is `label`; P11S_E_NOTFOUND, P11S_E_AMBIGUOUS. */
P11S_MUST_CHECK int hsm_find_key_by_label(hsm_token *t, const char *label, uint8_t id[HSM_ID_MAX],
					  size_t *id_len);

/*
 * PKCS#10 request for the key with this CKA_ID, signed on the token.
 * subject: "CN=x,O=y" or "/CN=x/O=y".  *pem is malloc'd PEM text.
 * Signature: ecdsa-with-SHA256 (P-256), ecdsa-with-SHA384 (P-384),
 * sha256WithRSAEncryption (RSA).
 */
P11S_MUST_CHECK int hsm_make_csr(hsm_token *t, const uint8_t *id, size_t id_len,
				 const char *subject, char **pem);
/* The subject parser of hsm_make_csr alone (no token): a new X509_NAME with
 * at least one entry, or P11S_E_INVAL naming what is wrong. */
P11S_MUST_CHECK int hsm_dn_parse(const char *subject, X509_NAME **out);

/*
 * Store a certificate for a private key already on the token.  The key is the
 * one whose public key equals the certificate's; none: P11S_E_KEY_MISMATCH.
 * The certificate gets the key's CKA_ID; label NULL = the key's label.
 * A certificate with the same SHA-1 already present: P11S_E_EXISTS.
 */
P11S_MUST_CHECK int hsm_store_cert(hsm_token *t, X509 *cert, const char *label,
				   uint8_t id[HSM_ID_MAX], size_t *id_len);

/*
 * Import a private key with its certificate (they must match, else
 * P11S_E_KEY_MISMATCH; unsupported key types P11S_E_KEY_TYPE).  Private key:
 * CKA_SENSITIVE true, CKA_EXTRACTABLE false.  Every buffer that held private
 * key bytes is wiped with OPENSSL_cleanse before return.
 */
P11S_MUST_CHECK int hsm_import_key(hsm_token *t, EVP_PKEY *key, X509 *cert, const char *label,
				   uint8_t id[HSM_ID_MAX], size_t *id_len);

/* Destroy private key, public key and certificate objects with this CKA_ID. */
P11S_MUST_CHECK int hsm_destroy_key(hsm_token *t, const uint8_t *id, size_t id_len);

/* ---- signing ------------------------------------------------------------ */

/*
 * A signing handle: its own PKCS#11 session and the key found by CKA_ID.
 * session_copy: copy the key into a session object (C_CopyObject,
 * CKA_TOKEN=FALSE; stays sensitive) when the token allows, else use the token
 * object.  Key type must fit alg (P11S_E_KEY_TYPE).
 */
P11S_MUST_CHECK int hsm_signer_open(hsm_token *t, const uint8_t *id, size_t id_len, p11s_alg alg,
				    int session_copy, hsm_signer **out);
void hsm_signer_free(hsm_signer *s);

/*
 * JWS signature over msg: ES256/ES384 hash then CKM_ECDSA, raw r||s (64/96
 * bytes); RS256 CKM_SHA256_RSA_PKCS; PS256 CKM_SHA256_RSA_PKCS_PSS (salt 32,
 * MGF1-SHA256).  *siglen in: size of sig, out: bytes written.  On session
 * loss (session/handle invalid, not logged in, device removed/error, token
 * not present) the signer reopens its session, logs in again if needed and
 * re-finds the key by CKA_ID, a bounded number of times, then P11S_E_SESSION.
 */
P11S_MUST_CHECK int hsm_sign(hsm_signer *s, const uint8_t *msg, size_t len, uint8_t *sig,
			     size_t *siglen);

/* ---- data objects (the state store's storage) --------------------------- */

/*
 * Each call below runs on a logged-in session: a token that logged the
 * program out is logged in again (one C_Login from the PIN source; never
 * after a refused PIN) and the call runs once more.  A search that would see
 * no object because the session is not logged in fails with P11S_E_SESSION
 * (or the PIN error): it is never reported as "no objects".
 */

/* A private token CKO_DATA object, identified by (CKA_APPLICATION, CKA_LABEL). */
typedef struct hsm_data {
	char *label;
	uint8_t *value;
	size_t len;
} hsm_data;

/* Labels only (cheap: no values read).  *labels is an array of n strings. */
P11S_MUST_CHECK int hsm_data_labels(hsm_token *t, const char *application, char ***labels,
				    size_t *n);
void hsm_data_labels_free(char **labels, size_t n);
/* Read the objects of `application` whose label is `label` (NULL: all). */
P11S_MUST_CHECK int hsm_data_read(hsm_token *t, const char *application, const char *label,
				  hsm_data **out, size_t *n);
void hsm_data_free(hsm_data *d, size_t n);
/*
 * Create one object (CKA_TOKEN, CKA_PRIVATE true, CKA_MODIFIABLE false) and
 * read its value back.  A token that accepts the object but cannot read it
 * back (its store is full) gives P11S_E_HSM saying so; the object is
 * destroyed again when the token allows.
 */
P11S_MUST_CHECK int hsm_data_create(hsm_token *t, const char *application, const char *label,
				    const uint8_t *value, size_t len);
/* Destroy every object of `application` with this label; *destroyed counts them. */
P11S_MUST_CHECK int hsm_data_destroy(hsm_token *t, const char *application, const char *label,
				     size_t *destroyed);

#endif

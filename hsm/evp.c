/*
 * Token keys as OpenSSL EVP_PKEYs, through libp11: for the places where
 * OpenSSL itself must sign (a TLS handshake, a TLS client certificate, a
 * custodian's approval).  This is the only file that includes libp11.h.
 *
 * libp11 and the raw side share one module instance: the raw registry
 * (module.c) loads and initialises the module first and keeps a reference for
 * as long as a libp11 context lives, so the raw side never finalises it under
 * libp11; libp11's own C_Initialize then answers
 * CKR_CRYPTOKI_ALREADY_INITIALIZED, and its context is freed without
 * PKCS11_CTX_unload (which would C_Finalize the raw side's sessions away).
 * libp11 enumerates keys by class only, which races writers on SoftHSM2's
 * file store: the enumeration runs under the host-wide lock file.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <unistd.h>

#include <libp11.h>
#include <openssl/err.h>

#include "common/log.h"
#include "common/pin.h"
#include "common/util.h"
#include "hsm/internal.h"

struct hsm_evp_key {
	struct hsm_module *mod; /* the raw side's reference: no C_Finalize under us */
	PKCS11_CTX *ctx;
	PKCS11_SLOT *slots;
	unsigned n_slots;
	EVP_PKEY *pkey;
	char *desc; /* "object 'tls' on token 't'", for messages */
};

int
hsm_evp_is_uri(const char *s)
{
	return s != NULL && strncasecmp(s, "pkcs11:", 7) == 0;
}

static void
libp11_errors(const char *what)
{
	unsigned long e;
	char buf[256];

	while ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		log_debug("%s: %s", what, buf);
	}
}

static int
token_matches(const PKCS11_TOKEN *tk, const hsm_uri *u)
{
	return tk != NULL && tk->initialized &&
	       (u->token == NULL || (tk->label != NULL && strcmp(tk->label, u->token) == 0)) &&
	       (u->serial == NULL ||
		(tk->serialnr != NULL && strcmp(tk->serialnr, u->serial) == 0)) &&
	       (u->model == NULL || (tk->model != NULL && strcmp(tk->model, u->model) == 0)) &&
	       (u->manufacturer == NULL ||
		(tk->manufacturer != NULL && strcmp(tk->manufacturer, u->manufacturer) == 0));
}

static int
key_matches(const PKCS11_KEY *k, const hsm_uri *u)
{
	return k->isPrivate &&
	       (u->object == NULL || (k->label != NULL && strcmp(k->label, u->object) == 0)) &&
	       (u->id_len == 0 || (k->id_len == u->id_len && memcmp(k->id, u->id, u->id_len) == 0));
}

/* Log in once per process (a second C_Login answers USER_ALREADY_LOGGED_IN). */
static int
login(PKCS11_SLOT *slot, const char *pin_source, const char *desc)
{
	p11s_secret *pin = NULL;
	int in = 0, r = P11S_E_INTERNAL;

	/* libp11 opens its sessions read-only unless asked first (STACK-NOTES). */
	if (PKCS11_open_session(slot, 1) != 0) {
		libp11_errors("PKCS11_open_session");
		return p11s_fail(P11S_E_HSM, "cannot open a session on the token of %s", desc);
	}
	if (PKCS11_is_logged_in(slot, 0, &in) == 0 && in)
		return 0;
	if ((r = p11s_secret_read(pin_source, "PIN", &pin)) != 0)
		return r;
	if (PKCS11_login(slot, 0, pin->buf) != 0) {
		unsigned long e = ERR_peek_last_error();

		libp11_errors("PKCS11_login");
		/* libp11 reports the CK_RV as the reason code. */
		r = ERR_GET_REASON(e) == CKR_PIN_INCORRECT
			? p11s_fail(P11S_E_PIN_INCORRECT, "the token of %s refused the PIN", desc)
		    : ERR_GET_REASON(e) == CKR_PIN_LOCKED
			? p11s_fail(P11S_E_PIN_LOCKED, "the PIN of the token of %s is locked", desc)
			: p11s_fail(P11S_E_HSM, "cannot log in to the token of %s", desc);
		goto out;
	}
	r = 0;
out:
	p11s_secret_free(pin);
	return r;
}

/* Enumerate the token's keys (under the host lock) and take the one named. */
static int
find_key(hsm_evp_key *k, PKCS11_TOKEN *tk, const hsm_uri *u, const char *lock_file)
{
	PKCS11_KEY *keys = NULL;
	unsigned n = 0, hits = 0;
	int fd = -1, r = P11S_E_INTERNAL;

	if (lock_file != NULL) {
		fd = open(lock_file, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0 || flock(fd, LOCK_EX) != 0) {
			r = p11s_fail(P11S_E_LOCK, "cannot lock the token lock file %s: %s",
				      lock_file, strerror(errno));
			goto out;
		}
	}
	if (PKCS11_enumerate_keys(tk, &keys, &n) != 0) {
		libp11_errors("PKCS11_enumerate_keys");
		r = p11s_fail(P11S_E_HSM,
			      "cannot list the keys of %s through libp11 (libp11 0.4.12 fails "
			      "on a token holding an Ed25519 key)",
			      k->desc);
		goto out;
	}
	for (unsigned i = 0; i < n; i++) {
		if (!key_matches(&keys[i], u))
			continue;
		if (hits++ == 0 && (k->pkey = PKCS11_get_private_key(&keys[i])) == NULL) {
			libp11_errors("PKCS11_get_private_key");
			r = p11s_fail(P11S_E_HSM, "libp11 cannot use %s as an OpenSSL key",
				      k->desc);
			goto out;
		}
	}
	if (hits == 0) {
		r = p11s_fail(P11S_E_NOTFOUND, "no private key %s", k->desc);
		goto out;
	}
	if (hits > 1) {
		r = p11s_fail(P11S_E_AMBIGUOUS, "%u private keys match %s: add id= to the URI",
			      hits, k->desc);
		goto out;
	}
	r = 0;
out:
	if (fd >= 0)
		close(fd); /* releases the flock */
	return r;
}

int
hsm_evp_open(const char *uri, const char *pin_source, const char *lock_file, hsm_evp_key **out)
{
	hsm_evp_key *k = NULL;
	hsm_uri *u = NULL;
	char *module = NULL;
	PKCS11_SLOT *slot = NULL;
	const char *pin;
	char desc[256];
	int transient = 0, r = P11S_E_INTERNAL;

	*out = NULL;
	if ((r = hsm_uri_parse(uri, &u)) != 0)
		goto out;
	if (u->object == NULL && u->id_len == 0) {
		r = p11s_fail(P11S_E_INVAL,
			      "the key URI names no key: add object=LABEL or id= to its path, e.g. "
			      "pkcs11:token=edge;object=tls?module-name=softhsm2");
		goto out;
	}
	if (u->token == NULL && u->serial == NULL) {
		r = p11s_fail(P11S_E_INVAL,
			      "the key URI names no token: add token=LABEL (or serial=), e.g. "
			      "pkcs11:token=edge;object=tls?module-name=softhsm2");
		goto out;
	}
	pin = u->pin_source != NULL ? u->pin_source : pin_source;
	if (pin == NULL) {
		r = p11s_fail(P11S_E_PIN_SOURCE,
			      "no PIN source for the token of the key URI: add "
			      "pin-source=file:/path to it or configure the token's PIN");
		goto out;
	}
	if ((r = p11s_secret_source_check(pin)) != 0 || (r = hsm_uri_module(u, &module)) != 0)
		goto out;
	snprintf(desc, sizeof(desc), "%s%s%s on token '%s'", u->object != NULL ? "object '" : "",
		 u->object != NULL ? u->object : "with the URI's id=", u->object != NULL ? "'" : "",
		 u->token != NULL ? u->token : u->serial);
	if ((k = calloc(1, sizeof(*k))) == NULL) {
		r = p11s_fail(P11S_E_NOMEM, "out of memory");
		goto out;
	}
	if ((r = p11s_strdup(desc, &k->desc)) != 0 ||
	    (r = hsm_module_acquire(module, &k->mod, &transient)) != 0)
		goto out;
	if ((k->ctx = PKCS11_CTX_new()) == NULL) {
		r = p11s_fail(P11S_E_NOMEM, "out of memory");
		goto out;
	}
	if (PKCS11_CTX_load(k->ctx, module) != 0) {
		libp11_errors("PKCS11_CTX_load");
		r = p11s_fail(P11S_E_MODULE, "libp11 cannot load the PKCS#11 module %s", module);
		goto out;
	}
	if (PKCS11_enumerate_slots(k->ctx, &k->slots, &k->n_slots) != 0) {
		libp11_errors("PKCS11_enumerate_slots");
		k->slots = NULL;
		r = p11s_fail(P11S_E_HSM, "libp11 cannot list the slots of %s", module);
		goto out;
	}
	for (unsigned i = 0; i < k->n_slots; i++) {
		if (!token_matches(k->slots[i].token, u))
			continue;
		if (slot != NULL) {
			r = p11s_fail(P11S_E_AMBIGUOUS,
				      "several tokens match the key URI of %s: add serial=", desc);
			goto out;
		}
		slot = &k->slots[i];
	}
	if (slot == NULL) {
		r = p11s_fail(P11S_E_TOKEN_NOT_FOUND, "no token for %s in the PKCS#11 module %s",
			      desc, module);
		goto out;
	}
	if ((r = login(slot, pin, desc)) != 0 || (r = find_key(k, slot->token, u, lock_file)) != 0)
		goto out;
	log_info("opened %s through libp11", desc);
	*out = k;
	k = NULL;
	r = 0;
out:
	hsm_evp_free(k);
	hsm_uri_free(u);
	free(module);
	ERR_clear_error();
	return r;
}

EVP_PKEY *
hsm_evp_pkey(const hsm_evp_key *k)
{
	return k != NULL ? k->pkey : NULL;
}

const char *
hsm_evp_desc(const hsm_evp_key *k)
{
	return k != NULL ? k->desc : "";
}

int
hsm_evp_probe(const hsm_evp_key *k)
{
	static const unsigned char msg[] = "p11-signer key probe";
	unsigned char sig[1024];
	size_t len = sizeof(sig);
	EVP_MD_CTX *md = NULL;
	int r = P11S_E_HSM;

	if ((md = EVP_MD_CTX_new()) == NULL)
		return p11s_fail(P11S_E_NOMEM, "out of memory");
	if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k->pkey) != 1 ||
	    EVP_DigestSign(md, sig, &len, msg, sizeof(msg) - 1) != 1) {
		libp11_errors("probe signature");
		r = p11s_fail(P11S_E_HSM, "a test signature with %s failed", k->desc);
		goto out;
	}
	r = 0;
out:
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	return r;
}

void
hsm_evp_free(hsm_evp_key *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pkey);
	if (k->slots != NULL)
		PKCS11_release_all_slots(k->ctx, k->slots, k->n_slots);
	/* No PKCS11_CTX_unload: its C_Finalize would end the raw side's sessions. */
	if (k->ctx != NULL)
		PKCS11_CTX_free(k->ctx);
	hsm_module_release(k->mod);
	free(k->desc);
	free(k);
}

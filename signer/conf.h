/*
 * signer.conf (SPEC §8, signer.conf(5)): one table of keys with types,
 * ranges, defaults and validators; parsed with inih.
 */
#ifndef P11S_SIGNER_CONFIG_H
#define P11S_SIGNER_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/error.h"
#include "policy/policy.h"

/* SPEC §8: SYSCONFDIR/p11-signer/signer.conf; SYSCONFDIR, LOCALSTATEDIR and
 * RUNSTATEDIR come from configure (Makefile.am). */
#define SIGNER_DEFAULT_CONFIG SYSCONFDIR "/p11-signer/signer.conf"

typedef struct signer_type_extra {
	char *issuer;	/* default ORIGIN/TYPE from the first TCP listen */
	char *audience; /* default NULL (no aud unless the caller gives one) */
} signer_type_extra;

typedef struct signer_custodian {
	char *name;
	char *certificate; /* path */
} signer_custodian;

typedef enum {
	SIGNER_MTLS_NONE = 0,
	SIGNER_MTLS_ISSUE = 1 << 0,  /* POST /v1/tokens */
	SIGNER_MTLS_VERIFY = 1 << 1, /* POST /v1/verify */
	SIGNER_MTLS_READ = 1 << 2,   /* JWKS, status, metrics */
} signer_mtls_routes;

typedef struct signer_conf {
	char *path; /* file it was read from, or NULL (defaults) */

	/* [token] */
	char *token_uri;   /* default pkcs11:token=edge?module-path=<softhsm> */
	char *token_pin;   /* default file:SYSCONFDIR/p11-signer/pin */
	char *lock_file;   /* default RUNSTATEDIR/p11-signer/token.lock */
	int session_keys;  /* default 0 ("no") */
	unsigned sessions; /* signerd's signing sessions; default 32 */

	/* [policy] (and per-type rules) */
	pol_conf policy; /* types: AudioVideoAuthentication, OAuthTokenIssuer + [type X] */
	signer_type_extra *type_extra; /* parallel to policy.types */

	/* [server] */
	char **listen; /* "unix:/path", "http://host:port", "https://host:port" */
	size_t n_listen;
	char *tls_certificate;
	char *tls_key;
	char *client_ca;
	unsigned mtls_routes;	  /* signer_mtls_routes; default ISSUE when client_ca set */
	unsigned workers;	  /* default 0 = one per core */
	size_t max_body;	  /* default 64 KiB */
	int64_t request_timeout;  /* default 10 s */
	int64_t poll_interval_ms; /* default 500 ms */
	unsigned sign_queue;	  /* issue jobs waiting for a session; default 4096 */
	int64_t sign_timeout_ms;  /* longest wait for a session; default 1000 ms */
	int log_json;		  /* log_format: 0 text (default), 1 json */
	int access_log;		  /* default 0 ("no") */

	/* [audit] */
	char *journal; /* default LOCALSTATEDIR/lib/p11-signer/audit.jsonl */

	/* [custodian NAME] */
	signer_custodian *custodians;
	size_t n_custodians;
} signer_conf;

/*
 * Load `path`.  Errors (P11S_E_CONFIG) name the file, line and key, and what
 * would be accepted: unknown section/key, bad value, out of range, missing
 * required value, cross-field conflicts.
 */
P11S_MUST_CHECK int signer_conf_load(const char *path, signer_conf **out);
/* The same for text already in memory; `name` stands for the file in
 * messages and in c->path (tests, the fuzzer). */
P11S_MUST_CHECK int signer_conf_parse(const char *name, const char *text, signer_conf **out);
/* Defaults only (no file). */
P11S_MUST_CHECK int signer_conf_defaults(signer_conf **out);
/*
 * The configuration file to use: `given` (--config) if not NULL, else
 * $SIGNER_CONFIG if set and not empty, else SIGNER_DEFAULT_CONFIG.
 */
const char *signer_conf_path(const char *given);
/*
 * Load the file signer_conf_path(given) names.  A missing file is an error
 * that names the file looked for and how to choose another.
 */
P11S_MUST_CHECK int signer_conf_load_default(const char *given, signer_conf **out);
/* The effective values, one "key = value" per line by section, like a
 * configuration file (secret sources are shown: they are never the secret). */
void signer_conf_print(const signer_conf *c, FILE *f);
void signer_conf_free(signer_conf *c);
/* Index of type `name` in c->policy.types, or -1. */
int signer_conf_type_index(const signer_conf *c, const char *name);

#endif

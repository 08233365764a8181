/* <config.h> is the build configuration: "config.h" would find signer/config.h. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <ini.h>

#include "common/parse.h"
#include "common/pin.h"
#include "signer/conf.h"
#include "signer/listen.h"

/* ---- the schema ------------------------------------------------------------ */

enum sect { SEC_TOKEN, SEC_POLICY, SEC_TYPE, SEC_SERVER, SEC_AUDIT, SEC_CUSTODIAN };

/* Where a value is stored: the signer_conf, a type's pol_type_conf or
 * signer_type_extra, or a custodian. */
enum base { B_CONF, B_TYPE, B_EXTRA, B_CUSTODIAN };

enum kind {
	K_STRING,   /* char *, non-empty text */
	K_PATH,	    /* char *, absolute path */
	K_KEYREF,   /* char *, absolute path of a PEM key or a pkcs11: URI of a token key */
	K_URI,	    /* char *, "pkcs11:..." */
	K_SECRET,   /* char *, secret source (file:, env:, fd:, credential:, prompt) */
	K_BOOL,	    /* int */
	K_DURATION, /* int64_t seconds */
	K_UINT,	    /* unsigned */
	K_MSEC,	    /* int64_t milliseconds */
	K_SIZE,	    /* size_t bytes */
	K_ALG,	    /* p11s_alg */
	K_LISTEN,   /* appended to signer_conf.listen */
	K_ROUTES,   /* unsigned, signer_mtls_routes bits */
	K_LOGFMT,   /* int: 0 text, 1 json */
};

#define F_REQUIRED 0x1u	    /* no default: must be given (or come from a built-in type) */
#define F_REPEAT 0x2u	    /* may be given several times */
#define F_DEF_LIFETIME 0x4u /* default: the type's token_lifetime */
#define F_DEF_MTLS 0x8u	    /* default: "issue" with client_ca, else none */

typedef struct key_def {
	enum sect sect;
	const char *name;
	enum kind kind;
	enum base base;
	size_t off;
	int64_t min, max;
	const char *def; /* default, parsed like a value from the file; NULL: none */
	unsigned flags;
} key_def;

#define DAY ((int64_t)86400)
#define C(m) B_CONF, offsetof(signer_conf, m)
#define T(m) B_TYPE, offsetof(pol_type_conf, m)
#define X(m) B_EXTRA, offsetof(signer_type_extra, m)
#define U(m) B_CUSTODIAN, offsetof(signer_custodian, m)

static const key_def keys[] = {
    {SEC_TOKEN, "uri", K_URI, C(token_uri), 0, 0, "pkcs11:token=edge?module-path=" SOFTHSM_MODULE,
     0},
    {SEC_TOKEN, "pin", K_SECRET, C(token_pin), 0, 0, "file:" SYSCONFDIR "/p11-signer/pin", 0},
    {SEC_TOKEN, "lock_file", K_PATH, C(lock_file), 0, 0, RUNSTATEDIR "/p11-signer/token.lock", 0},
    {SEC_TOKEN, "session_keys", K_BOOL, C(session_keys), 0, 1, "no", 0},
    {SEC_TOKEN, "sessions", K_UINT, C(sessions), 1, 1024, "32", 0},

    {SEC_POLICY, "clock_skew", K_DURATION, C(policy.clock_skew), 0, 3600, "60s", 0},
    {SEC_POLICY, "jwks_max_age", K_DURATION, C(policy.jwks_max_age), 0, 7 * DAY, "300s", 0},
    {SEC_POLICY, "past_grace", K_DURATION, C(policy.past_grace), 0, 3600, "5s", 0},
    {SEC_POLICY, "quorum", K_UINT, C(policy.quorum), 1, 16, "1", 0},
    {SEC_POLICY, "proposal_lifetime", K_DURATION, C(policy.proposal_lifetime), 60, 30 * DAY, "72h",
     0},

    {SEC_TYPE, "algorithm", K_ALG, T(alg), 0, 0, NULL, F_REQUIRED},
    {SEC_TYPE, "token_lifetime", K_DURATION, T(token_lifetime), 1, 30 * DAY, "1h", 0},
    {SEC_TYPE, "min_lead", K_DURATION, T(min_lead), 0, 365 * DAY, NULL, F_DEF_LIFETIME},
    {SEC_TYPE, "issuer", K_STRING, X(issuer), 0, 0, NULL, 0},
    {SEC_TYPE, "audience", K_STRING, X(audience), 0, 0, NULL, 0},

    {SEC_SERVER, "listen", K_LISTEN, C(listen), 0, 0,
     "unix:" RUNSTATEDIR "/p11-signer/signerd.sock", F_REPEAT},
    {SEC_SERVER, "tls_certificate", K_PATH, C(tls_certificate), 0, 0, NULL, 0},
    {SEC_SERVER, "tls_key", K_KEYREF, C(tls_key), 0, 0, NULL, 0},
    {SEC_SERVER, "client_ca", K_PATH, C(client_ca), 0, 0, NULL, 0},
    {SEC_SERVER, "mtls_routes", K_ROUTES, C(mtls_routes), 0, 0, NULL, F_DEF_MTLS},
    {SEC_SERVER, "workers", K_UINT, C(workers), 0, 256, "0", 0},
    {SEC_SERVER, "max_body", K_SIZE, C(max_body), 1024, 16777216, "65536", 0},
    {SEC_SERVER, "request_timeout", K_DURATION, C(request_timeout), 1, 300, "10s", 0},
    {SEC_SERVER, "poll_interval_ms", K_MSEC, C(poll_interval_ms), 50, 2000, "500", 0},
    {SEC_SERVER, "sign_queue", K_UINT, C(sign_queue), 1, 1000000, "4096", 0},
    {SEC_SERVER, "sign_timeout", K_MSEC, C(sign_timeout_ms), 1, 60000, "1000", 0},
    {SEC_SERVER, "log_format", K_LOGFMT, C(log_json), 0, 1, "text", 0},
    {SEC_SERVER, "access_log", K_BOOL, C(access_log), 0, 1, "no", 0},

    {SEC_AUDIT, "journal", K_PATH, C(journal), 0, 0, LOCALSTATEDIR "/lib/p11-signer/audit.jsonl",
     0},

    {SEC_CUSTODIAN, "certificate", K_PATH, U(certificate), 0, 0, NULL, F_REQUIRED},
};

#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

static const char *const sect_names[] = {"token", "policy", "type", "server", "audit", "custodian"};

/* Types that always exist; a [type NAME] section overrides their fields.
 * min_lead 0: follows token_lifetime (SPEC §3: "8 h (= token lifetime)"). */
static const struct builtin_type {
	const char *name;
	p11s_alg alg;
	int64_t token_lifetime;
	int64_t min_lead;
} builtin_types[] = {
    {"AudioVideoAuthentication", P11S_ALG_ES256, 8 * 3600, 0},
    {"OAuthTokenIssuer", P11S_ALG_RS256, 3600, 24 * 3600},
};

/* ---- parsing context -------------------------------------------------------- */

/* One section instance: where it and each of its keys were first given (0:
 * not in the file) and which keys hold a value. */
typedef struct inst {
	int section_line;
	int line[N_KEYS];
	unsigned char have[N_KEYS];
} inst;

typedef struct ctx {
	signer_conf *c;
	const char *file; /* for messages; NULL for defaults */
	int r;		  /* first error */
	int lineno;
	/* current section */
	int in_section;
	enum sect sect;
	size_t idx;			    /* type or custodian index */
	inst global;			    /* [token], [policy], [server], [audit] */
	int global_line[SEC_CUSTODIAN + 1]; /* section lines of the global sections */
	inst *types;			    /* parallel to c->policy.types */
	inst *custs;			    /* parallel to c->custodians */
	int *listen_line;		    /* parallel to c->listen */
	/* input */
	FILE *f;
	const char *text;
	char *buf;
	size_t cap;
} ctx;

/* ---- messages ----------------------------------------------------------------- */

static void
sect_label(const ctx *x, enum sect s, size_t idx, char *out, size_t outlen)
{
	if (s == SEC_TYPE)
		snprintf(out, outlen, "[type %s]", x->c->policy.types[idx].name);
	else if (s == SEC_CUSTODIAN)
		snprintf(out, outlen, "[custodian %s]", x->c->custodians[idx].name);
	else
		snprintf(out, outlen, "[%s]", sect_names[s]);
}

/* "FILE:LINE: LABEL KEY: detail" as P11S_E_CONFIG. */
static int conf_fail(const ctx *x, int line, const char *label, const char *key, const char *fmt,
		     ...) __attribute__((format(printf, 5, 6)));

static int
conf_fail(const ctx *x, int line, const char *label, const char *key, const char *fmt, ...)
{
	char where[400], detail[700];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	if (x->file != NULL && line > 0)
		snprintf(where, sizeof(where), "%s:%d: ", x->file, line);
	else if (x->file != NULL)
		snprintf(where, sizeof(where), "%s: ", x->file);
	else
		snprintf(where, sizeof(where), "defaults: ");
	return p11s_fail(P11S_E_CONFIG, "%s%s%s%s%s%s", where, label != NULL ? label : "",
			 label != NULL && key != NULL ? " " : "", key != NULL ? key : "",
			 label != NULL || key != NULL ? ": " : "", detail);
}

/* Error about key k of the current or given instance. */
static int key_fail(const ctx *x, const key_def *k, size_t idx, int line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int
key_fail(const ctx *x, const key_def *k, size_t idx, int line, const char *fmt, ...)
{
	char label[128], detail[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	sect_label(x, k->sect, idx, label, sizeof(label));
	return conf_fail(x, line, label, k->name, "%s", detail);
}

/* "90s", "15m", "8h", "30d": the largest unit that divides exactly. */
static void
fmt_duration(int64_t s, char *out, size_t outlen)
{
	if (s != 0 && s % DAY == 0)
		snprintf(out, outlen, "%lldd", (long long)(s / DAY));
	else if (s != 0 && s % 3600 == 0)
		snprintf(out, outlen, "%lldh", (long long)(s / 3600));
	else if (s != 0 && s % 60 == 0)
		snprintf(out, outlen, "%lldm", (long long)(s / 60));
	else
		snprintf(out, outlen, "%llds", (long long)s);
}

/* What the key accepts, for "expected ..." */
static void
expectation(const key_def *k, char *out, size_t outlen)
{
	char lo[32], hi[32];

	switch (k->kind) {
	case K_STRING:
		snprintf(out, outlen, "non-empty text without control characters");
		break;
	case K_PATH:
		snprintf(out, outlen, "an absolute path");
		break;
	case K_KEYREF:
		snprintf(out, outlen,
			 "an absolute path of a PEM key, or the PKCS#11 URI of a key on a token "
			 "such as pkcs11:token=edge;object=tls?module-name=softhsm2");
		break;
	case K_URI:
		snprintf(out, outlen,
			 "a PKCS#11 URI such as "
			 "pkcs11:token=edge?module-path=/usr/lib/softhsm/libsofthsm2.so");
		break;
	case K_SECRET:
		snprintf(out, outlen,
			 "file:PATH, env:NAME, fd:N, credential:NAME or prompt (where to read "
			 "it, never the secret itself)");
		break;
	case K_BOOL:
		snprintf(out, outlen, "yes, no, true, false, on, off, 1 or 0");
		break;
	case K_DURATION:
		fmt_duration(k->min, lo, sizeof(lo));
		fmt_duration(k->max, hi, sizeof(hi));
		snprintf(out, outlen,
			 "a duration between %s and %s (like 90s, 15m, 8h, 1d or seconds)", lo, hi);
		break;
	case K_UINT:
		snprintf(out, outlen, "a whole number between %lld and %lld", (long long)k->min,
			 (long long)k->max);
		break;
	case K_MSEC:
		snprintf(out, outlen, "a whole number of milliseconds between %lld and %lld",
			 (long long)k->min, (long long)k->max);
		break;
	case K_SIZE:
		snprintf(out, outlen,
			 "a size in bytes between %lld and %lld (suffix k or M allowed)",
			 (long long)k->min, (long long)k->max);
		break;
	case K_ALG:
		snprintf(out, outlen, "ES256, ES384, RS256 or PS256");
		break;
	case K_LISTEN:
		snprintf(out, outlen, "%s", SIGNER_LISTEN_FORMS);
		break;
	case K_ROUTES:
		snprintf(out, outlen, "a comma-separated list of issue, verify and read, or none");
		break;
	case K_LOGFMT:
		snprintf(out, outlen, "text or json");
		break;
	}
}

static int
bad_value(const ctx *x, const key_def *k, size_t idx, int line, const char *value, const char *why)
{
	char exp[200];

	expectation(k, exp, sizeof(exp));
	if (k->kind == K_SECRET) /* the value may be the secret itself */
		return key_fail(x, k, idx, line, "%s (the value is not shown); expected %s", why,
				exp);
	return key_fail(x, k, idx, line, "\"%.80s\" %s; expected %s", value, why, exp);
}

/* ---- value parsers -------------------------------------------------------------- */

static int
has_control(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

/* Decimal digits only into *v (<= max); -1 when malformed or too large. */
static int
parse_uint(const char *s, int64_t max, int64_t *v)
{
	*v = 0;
	if (*s == '\0')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		*v = *v * 10 + (*s - '0');
		if (*v > max)
			return -1;
	}
	return *s == '\0' ? 0 : -1;
}

static int
parse_bool(const char *s, int *v)
{
	static const char *const yes[] = {"yes", "true", "on", "1"};
	static const char *const no[] = {"no", "false", "off", "0"};
	size_t i;

	for (i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*v = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*v = 0;
			return 0;
		}
	}
	return -1;
}

static int
parse_size(const char *s, int64_t max, int64_t *v)
{
	char digits[24];
	size_t n = strlen(s);
	int64_t mult = 1;

	*v = 0;
	if (n > 0 && (s[n - 1] == 'k' || s[n - 1] == 'K'))
		mult = 1024;
	else if (n > 0 && (s[n - 1] == 'm' || s[n - 1] == 'M'))
		mult = 1024 * 1024;
	if (mult != 1)
		n--;
	if (n == 0 || n >= sizeof(digits))
		return -1;
	memcpy(digits, s, n);
	digits[n] = '\0';
	if (parse_uint(digits, max, v) != 0 || *v > max / mult)
		return -1;
	*v *= mult;
	return 0;
}

static int
parse_routes(const char *s, unsigned *out)
{
	char item[16];
	const char *p = s, *end;
	size_t n;

	*out = 0;
	if (strcmp(s, "none") == 0)
		return 0;
	for (;;) {
		end = strchr(p, ',');
		n = end != NULL ? (size_t)(end - p) : strlen(p);
		while (n > 0 && (*p == ' ' || *p == '\t')) {
			p++;
			n--;
		}
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n == 0 || n >= sizeof(item))
			return -1;
		memcpy(item, p, n);
		item[n] = '\0';
		if (strcmp(item, "issue") == 0)
			*out |= SIGNER_MTLS_ISSUE;
		else if (strcmp(item, "verify") == 0)
			*out |= SIGNER_MTLS_VERIFY;
		else if (strcmp(item, "read") == 0)
			*out |= SIGNER_MTLS_READ;
		else
			return -1;
		if (end == NULL)
			return 0;
		p = end + 1;
	}
}

static void *
field(const ctx *x, const key_def *k, size_t idx)
{
	switch (k->base) {
	case B_TYPE:
		return (char *)&x->c->policy.types[idx] + k->off;
	case B_EXTRA:
		return (char *)&x->c->type_extra[idx] + k->off;
	case B_CUSTODIAN:
		return (char *)&x->c->custodians[idx] + k->off;
	case B_CONF:
		break;
	}
	return (char *)x->c + k->off;
}

static int
append_listen(ctx *x, const char *v, int line)
{
	signer_conf *c = x->c;
	char **l;
	int *ll;
	int r;

	if ((l = realloc(c->listen, (c->n_listen + 1) * sizeof(*l))) == NULL)
		return p11s_fail(P11S_E_NOMEM, "out of memory");
	c->listen = l;
	if ((ll = realloc(x->listen_line, (c->n_listen + 1) * sizeof(*ll))) == NULL)
		return p11s_fail(P11S_E_NOMEM, "out of memory");
	x->listen_line = ll;
	if ((r = p11s_strdup(v, &l[c->n_listen])) != 0)
		return r;
	ll[c->n_listen++] = line;
	return 0;
}

/* Parse `v` for key k of instance idx and store it.  line 0: a default. */
static int
set_value(ctx *x, const key_def *k, size_t idx, const char *v, int line)
{
	void *p = field(x, k, idx);
	const char *why;
	int64_t n;
	int b, r;
	unsigned routes;
	p11s_alg alg;
	signer_listen la;
	char *s;

	switch (k->kind) {
	case K_STRING:
	case K_PATH:
	case K_KEYREF:
	case K_URI:
	case K_SECRET:
		if (*v == '\0')
			return bad_value(x, k, idx, line, v, "is empty");
		if (has_control(v))
			return bad_value(x, k, idx, line, v, "contains control characters");
		if (k->kind == K_PATH && v[0] != '/')
			return bad_value(x, k, idx, line, v, "is not an absolute path");
		if (k->kind == K_KEYREF && v[0] != '/' && strncasecmp(v, "pkcs11:", 7) != 0)
			return bad_value(x, k, idx, line, v,
					 "is neither an absolute path nor a pkcs11: URI");
		if (k->kind == K_URI && strncmp(v, "pkcs11:", 7) != 0)
			return bad_value(x, k, idx, line, v, "does not start with pkcs11:");
		if (k->kind == K_SECRET && p11s_secret_source_check(v) != 0)
			return bad_value(x, k, idx, line, v, "is not a secret source");
		if ((r = p11s_strdup(v, &s)) != 0)
			return r;
		free(*(char **)p);
		*(char **)p = s;
		return 0;
	case K_BOOL:
		if (parse_bool(v, &b) != 0)
			return bad_value(x, k, idx, line, v, "is not a yes/no value");
		*(int *)p = b;
		return 0;
	case K_DURATION:
		if (p11s_parse_duration(v, &n) != 0)
			return bad_value(x, k, idx, line, v, "is not a duration");
		if (n < k->min || n > k->max)
			return bad_value(x, k, idx, line, v, "is out of range");
		*(int64_t *)p = n;
		return 0;
	case K_UINT:
	case K_MSEC:
		if (*v == '\0' || strspn(v, "0123456789") != strlen(v))
			return bad_value(x, k, idx, line, v, "is not a whole number");
		if (parse_uint(v, k->max, &n) != 0 || n < k->min)
			return bad_value(x, k, idx, line, v, "is out of range");
		if (k->kind == K_UINT)
			*(unsigned *)p = (unsigned)n;
		else
			*(int64_t *)p = n;
		return 0;
	case K_SIZE:
		if (parse_size(v, k->max, &n) != 0 || n < k->min)
			return bad_value(x, k, idx, line, v, "is not a size in range");
		*(size_t *)p = (size_t)n;
		return 0;
	case K_ALG:
		if ((alg = p11s_alg_parse(v)) == P11S_ALG_NONE)
			return bad_value(x, k, idx, line, v, "is not a supported algorithm");
		*(p11s_alg *)p = alg;
		return 0;
	case K_LISTEN:
		if (signer_listen_parse(v, &la, &why) != 0)
			return bad_value(x, k, idx, line, v, why);
		return append_listen(x, v, line);
	case K_ROUTES:
		if (parse_routes(v, &routes) != 0)
			return bad_value(x, k, idx, line, v, "is not a list of routes");
		*(unsigned *)p = routes;
		return 0;
	case K_LOGFMT:
		if (strcmp(v, "text") != 0 && strcmp(v, "json") != 0)
			return bad_value(x, k, idx, line, v, "is not a log format");
		*(int *)p = strcmp(v, "json") == 0;
		return 0;
	}
	return p11s_fail(P11S_E_INTERNAL, "unknown configuration kind");
}

/* ---- sections -------------------------------------------------------------------- */

static inst *
instance(ctx *x, enum sect s, size_t idx)
{
	if (s == SEC_TYPE)
		return &x->types[idx];
	if (s == SEC_CUSTODIAN)
		return &x->custs[idx];
	return &x->global;
}

static int
valid_name(const char *n)
{
	size_t len = strlen(n);

	return len >= 1 && len < POL_NAME_MAX &&
	       strspn(n, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") ==
		   len;
}

static int
add_type(ctx *x, const char *name, size_t *index)
{
	signer_conf *c = x->c;
	size_t n = c->policy.n_types;
	pol_type_conf *t;
	signer_type_extra *e;
	inst *in;

	if ((t = realloc(c->policy.types, (n + 1) * sizeof(*t))) == NULL)
		return p11s_fail(P11S_E_NOMEM, "out of memory");
	c->policy.types = t;
	if ((e = realloc(c->type_extra, (n + 1) * sizeof(*e))) == NULL)
		return p11s_fail(P11S_E_NOMEM, "out of memory");
	c->type_extra = e;
	if ((in = realloc(x->types, (n + 1) * sizeof(*in))) == NULL)
		return p11s_fail(P11S_E_NOMEM, "out of memory");
	x->types = in;
	memset(&t[n], 0, sizeof(t[n]));
	memset(&e[n], 0, sizeof(e[n]));
	memset(&in[n], 0, sizeof(in[n]));
	snprintf(t[n].name, sizeof(t[n].name), "%s", name);
	c->policy.n_types = n + 1;
	*index = n;
	return 0;
}

static int
add_custodian(ctx *x, const char *name, size_t *index)
{
	signer_conf *c = x->c;
	size_t n = c->n_custodians;
	signer_custodian *u;
	inst *in;
	int r;

	if ((u = realloc(c->custodians, (n + 1) * sizeof(*u))) == NULL)
		return p11s_fail(P11S_E_NOMEM, "out of memory");
	c->custodians = u;
	if ((in = realloc(x->custs, (n + 1) * sizeof(*in))) == NULL)
		return p11s_fail(P11S_E_NOMEM, "out of memory");
	x->custs = in;
	memset(&u[n], 0, sizeof(u[n]));
	memset(&in[n], 0, sizeof(in[n]));
	if ((r = p11s_strdup(name, &u[n].name)) != 0)
		return r;
	c->n_custodians = n + 1;
	*index = n;
	return 0;
}

static const key_def *
find_key(enum sect s, const char *name)
{
	size_t i;

	for (i = 0; i < N_KEYS; i++)
		if (keys[i].sect == s && strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

static void
key_list(enum sect s, char *out, size_t outlen)
{
	size_t i, len;

	out[0] = '\0';
	for (i = 0; i < N_KEYS; i++) {
		if (keys[i].sect != s)
			continue;
		len = strlen(out);
		snprintf(out + len, outlen - len, "%s%s", len > 0 ? ", " : "", keys[i].name);
	}
}

static const char section_forms[] =
    "expected [token], [policy], [type NAME], [server], [audit] or [custodian NAME]";

/* A "[...]" line: the reader calls this so that empty sections are seen too. */
static int
section_begin(ctx *x, const char *line)
{
	const char *end = strchr(line, ']'), *arg;
	char name[160];
	size_t n, i;
	int s;

	if (end == NULL)
		return 0; /* inih reports the syntax error */
	n = (size_t)(end - line - 1);
	while (n > 0 && (line[1] == ' ' || line[1] == '\t')) {
		line++;
		n--;
	}
	while (n > 0 && (line[n] == ' ' || line[n] == '\t'))
		n--;
	if (n >= sizeof(name))
		return conf_fail(x, x->lineno, NULL, NULL, "section name too long; %s",
				 section_forms);
	memcpy(name, line + 1, n);
	name[n] = '\0';
	x->in_section = 0;
	for (s = SEC_TOKEN; s <= SEC_CUSTODIAN; s++) {
		size_t len = strlen(sect_names[s]);

		if (s == SEC_TYPE || s == SEC_CUSTODIAN) {
			if (strncmp(name, sect_names[s], len) != 0 ||
			    (name[len] != ' ' && name[len] != '\t' && name[len] != '\0'))
				continue;
			arg = name + len + strspn(name + len, " \t");
			if (!valid_name(arg))
				return conf_fail(
				    x, x->lineno, NULL, NULL,
				    "[%s]: invalid %s name \"%s\"; expected [%s NAME] with "
				    "NAME of 1 to %d characters A-Z a-z 0-9 _ . -",
				    name, sect_names[s], arg, sect_names[s], POL_NAME_MAX - 1);
			x->sect = (enum sect)s;
			if (s == SEC_TYPE) {
				int t = signer_conf_type_index(x->c, arg);
				int r;

				if (t < 0 && (r = add_type(x, arg, &x->idx)) != 0)
					return r;
				if (t >= 0)
					x->idx = (size_t)t;
			} else {
				for (i = 0; i < x->c->n_custodians; i++)
					if (strcmp(x->c->custodians[i].name, arg) == 0)
						break;
				x->idx = i;
				if (i == x->c->n_custodians) {
					int r = add_custodian(x, arg, &x->idx);

					if (r != 0)
						return r;
				}
			}
			if (instance(x, x->sect, x->idx)->section_line == 0)
				instance(x, x->sect, x->idx)->section_line = x->lineno;
			x->in_section = 1;
			return 0;
		}
		if (strcmp(name, sect_names[s]) == 0) {
			x->sect = (enum sect)s;
			x->idx = 0;
			if (x->global_line[s] == 0)
				x->global_line[s] = x->lineno;
			x->in_section = 1;
			return 0;
		}
	}
	return conf_fail(x, x->lineno, NULL, NULL, "[%s]: unknown section; %s", name,
			 section_forms);
}

/* inih handler: one "key = value" of the current section. */
static int
on_key(void *user, const char *section, const char *name, const char *value)
{
	ctx *x = user;
	const key_def *k;
	char label[128], list[400];
	inst *in;
	size_t ki;

	(void)section; /* the reader tracks sections, including empty ones */
	if (x->r != 0)
		return 0;
	if (!x->in_section) {
		x->r = conf_fail(x, x->lineno, NULL, name,
				 "outside any section; %s before the first key", section_forms);
		return 0;
	}
	sect_label(x, x->sect, x->idx, label, sizeof(label));
	if ((k = find_key(x->sect, name)) == NULL) {
		key_list(x->sect, list, sizeof(list));
		x->r =
		    conf_fail(x, x->lineno, label, name, "unknown key; expected one of %s", list);
		return 0;
	}
	ki = (size_t)(k - keys);
	in = instance(x, x->sect, x->idx);
	if (in->line[ki] != 0 && !(k->flags & F_REPEAT)) {
		x->r = conf_fail(
		    x, x->lineno, label, name,
		    "given twice (first on line %d); expected it at most once per section",
		    in->line[ki]);
		return 0;
	}
	if ((x->r = set_value(x, k, x->idx, value, x->lineno)) != 0)
		return 0;
	if (in->line[ki] == 0)
		in->line[ki] = x->lineno;
	in->have[ki] = 1;
	return 1;
}

/* inih reader: one whole line per call (so line numbers are exact), leading
 * blanks dropped (no continuation lines), sections noted. */
static char *
reader(char *str, int num, void *stream)
{
	ctx *x = stream;
	const char *line, *nl;
	size_t len;
	ssize_t got;

	if (x->r != 0)
		return NULL;
	if (x->f != NULL) {
		errno = 0;
		if ((got = getline(&x->buf, &x->cap, x->f)) < 0) {
			if (ferror(x->f))
				x->r = conf_fail(x, x->lineno + 1, NULL, NULL, "cannot read: %s",
						 strerror(errno != 0 ? errno : EIO));
			return NULL;
		}
		len = (size_t)got;
		line = x->buf;
		if (strlen(line) != len) {
			x->r = conf_fail(x, x->lineno + 1, NULL, NULL,
					 "the line contains a NUL byte; expected text");
			return NULL;
		}
	} else {
		if (*x->text == '\0')
			return NULL;
		line = x->text;
		nl = strchr(line, '\n');
		len = nl != NULL ? (size_t)(nl - line + 1) : strlen(line);
		x->text += len;
	}
	x->lineno++;
	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (x->lineno == 1 && len >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0) {
		line += 3;
		len -= 3;
	}
	while (len > 0 && (*line == ' ' || *line == '\t')) {
		line++;
		len--;
	}
	if (num < 3 || len > (size_t)num - 3) {
		x->r =
		    conf_fail(x, x->lineno, NULL, NULL, "line longer than %d characters", num - 3);
		return NULL;
	}
	memcpy(str, line, len);
	str[len] = '\0';
	if (str[0] == '[' && (x->r = section_begin(x, str)) != 0)
		return NULL;
	return str;
}

/* ---- defaults and cross-field checks ---------------------------------------------- */

static int
first_line(const inst *in, const key_def *a, const key_def *b)
{
	if (a != NULL && in->line[a - keys] != 0)
		return in->line[a - keys];
	if (b != NULL && in->line[b - keys] != 0)
		return in->line[b - keys];
	return in->section_line;
}

static size_t
n_instances(const ctx *x, enum sect s)
{
	if (s == SEC_TYPE)
		return x->c->policy.n_types;
	if (s == SEC_CUSTODIAN)
		return x->c->n_custodians;
	return 1;
}

/* Every value not given in the file: from a built-in type or the table. */
static int
fill_defaults(ctx *x)
{
	size_t i, j;
	int r;

	for (i = 0; i < N_KEYS; i++) {
		const key_def *k = &keys[i];

		for (j = 0; j < n_instances(x, k->sect); j++) {
			inst *in = instance(x, k->sect, j);
			int line = k->sect == SEC_TYPE || k->sect == SEC_CUSTODIAN
				       ? in->section_line
				       : x->global_line[k->sect];

			if (in->have[i])
				continue;
			if (k->flags & F_REQUIRED)
				return key_fail(
				    x, k, j, line, "missing; %s",
				    k->sect == SEC_TYPE
					? "a new type must set it to ES256, ES384, RS256 or PS256"
					: "expected the path of the custodian's X.509 certificate");
			if (k->flags & F_DEF_LIFETIME)
				*(int64_t *)field(x, k, j) = x->c->policy.types[j].token_lifetime;
			else if (k->flags & F_DEF_MTLS)
				*(unsigned *)field(x, k, j) =
				    x->c->client_ca != NULL ? SIGNER_MTLS_ISSUE : SIGNER_MTLS_NONE;
			else if (k->def != NULL && (r = set_value(x, k, j, k->def, 0)) != 0)
				return r;
			in->have[i] = 1;
		}
	}
	return 0;
}

/*
 * The default issuer of a type (signer.conf(5)): ORIGIN/TYPE, where ORIGIN is
 * scheme://host:port of the first http:// or https:// listen (a wildcard
 * host, `*`, 0.0.0.0 or ::, becomes localhost; an IPv6 address is bracketed), or http://localhost
 * when signerd listens on UNIX sockets only.
 */
static int
default_issuers(signer_conf *c)
{
	char origin[300], buf[600];
	signer_listen la;
	size_t i;
	int r, any;

	snprintf(origin, sizeof(origin), "http://localhost");
	for (i = 0; i < c->n_listen; i++) {
		if (signer_listen_parse(c->listen[i], &la, NULL) != 0 ||
		    la.kind == SIGNER_LISTEN_UNIX)
			continue;
		any = la.host[0] == '\0' || strcmp(la.host, "0.0.0.0") == 0 ||
		      strcmp(la.host, "::") == 0;
		snprintf(origin, sizeof(origin), "%s://%s%s%s:%s",
			 la.kind == SIGNER_LISTEN_HTTPS ? "https" : "http",
			 !any && strchr(la.host, ':') != NULL ? "[" : "",
			 any ? "localhost" : la.host,
			 !any && strchr(la.host, ':') != NULL ? "]" : "", la.port);
		break;
	}
	for (i = 0; i < c->policy.n_types; i++) {
		if (c->type_extra[i].issuer != NULL)
			continue;
		snprintf(buf, sizeof(buf), "%s/%s", origin, c->policy.types[i].name);
		if ((r = p11s_strdup(buf, &c->type_extra[i].issuer)) != 0)
			return r;
	}
	return 0;
}

static int
cross_check(ctx *x)
{
	signer_conf *c = x->c;
	const key_def *lt = find_key(SEC_TYPE, "token_lifetime"),
		      *ml = find_key(SEC_TYPE, "min_lead");
	const key_def *cert = find_key(SEC_SERVER, "tls_certificate"),
		      *key = find_key(SEC_SERVER, "tls_key");
	const key_def *routes = find_key(SEC_SERVER, "mtls_routes"),
		      *q = find_key(SEC_POLICY, "quorum");
	char a[32], b[32];
	size_t i;
	int r;

	if ((r = default_issuers(c)) != 0)
		return r;
	/* rule 3a counts the members' poll interval ([server]) */
	c->policy.poll_interval_ms = c->poll_interval_ms;
	for (i = 0; i < c->policy.n_types; i++) {
		const pol_type_conf *t = &c->policy.types[i];

		if (t->min_lead >= t->token_lifetime)
			continue;
		fmt_duration(t->min_lead, a, sizeof(a));
		fmt_duration(t->token_lifetime, b, sizeof(b));
		return key_fail(
		    x, ml, i, first_line(&x->types[i], ml, lt),
		    "%s is shorter than token_lifetime %s (a shorter lead lets tokens "
		    "signed with the old key outlive its certificate); expected min_lead >= "
		    "token_lifetime",
		    a, b);
	}
	if ((c->tls_certificate == NULL) != (c->tls_key == NULL)) {
		const key_def *given = c->tls_certificate != NULL ? cert : key;

		return key_fail(x, given, 0, x->global.line[given - keys],
				"set without %s; expected tls_certificate and tls_key together",
				given == cert ? "tls_key" : "tls_certificate");
	}
	for (i = 0; i < c->n_listen; i++)
		if (strncmp(c->listen[i], "https://", 8) == 0 && c->tls_certificate == NULL)
			return key_fail(
			    x, find_key(SEC_SERVER, "listen"), 0, x->listen_line[i],
			    "\"%s\" needs tls_certificate and tls_key; expected both in "
			    "[server], or an http:// or unix: listen",
			    c->listen[i]);
	if (x->global.line[routes - keys] != 0 && c->client_ca == NULL)
		return key_fail(
		    x, routes, 0, x->global.line[routes - keys],
		    "set without client_ca; expected client_ca (the CA of accepted client "
		    "certificates) in [server] as well");
	if (c->policy.quorum > 1 && c->n_custodians < c->policy.quorum)
		return key_fail(
		    x, q, 0,
		    x->global.line[q - keys] != 0 ? x->global.line[q - keys]
						  : x->global_line[SEC_POLICY],
		    "%u approvals needed but %zu custodian%s configured; expected at most "
		    "as many as the [custodian NAME] sections",
		    c->policy.quorum, c->n_custodians, c->n_custodians == 1 ? " is" : "s are");
	return 0;
}

/* ---- public ---------------------------------------------------------------------- */

static void
ctx_free(ctx *x)
{
	free(x->types);
	free(x->custs);
	free(x->listen_line);
	free(x->buf);
}

static int
conf_new(ctx *x, signer_conf **out)
{
	size_t i, idx;
	int r;

	*out = NULL;
	if ((x->c = calloc(1, sizeof(*x->c))) == NULL)
		return p11s_fail(P11S_E_NOMEM, "out of memory");
	for (i = 0; i < sizeof(builtin_types) / sizeof(builtin_types[0]); i++) {
		const struct builtin_type *b = &builtin_types[i];
		inst *in;

		if ((r = add_type(x, b->name, &idx)) != 0)
			return r;
		in = &x->types[idx];
		x->c->policy.types[idx].alg = b->alg;
		x->c->policy.types[idx].token_lifetime = b->token_lifetime;
		in->have[find_key(SEC_TYPE, "algorithm") - keys] = 1;
		in->have[find_key(SEC_TYPE, "token_lifetime") - keys] = 1;
		if (b->min_lead != 0) {
			x->c->policy.types[idx].min_lead = b->min_lead;
			in->have[find_key(SEC_TYPE, "min_lead") - keys] = 1;
		}
	}
	*out = x->c;
	return 0;
}

/* Parse from x->f or x->text (already set), then defaults and checks. */
static int
conf_parse(ctx *x, const char *name, signer_conf **out)
{
	signer_conf *c = NULL;
	int r = P11S_E_INTERNAL, line;

	*out = NULL;
	if ((r = conf_new(x, &c)) != 0) {
		c = x->c;
		goto out;
	}
	if ((r = p11s_strdup(name, &c->path)) != 0)
		goto out;
	line = ini_parse_stream(reader, x, on_key, x);
	if (x->r != 0) {
		r = x->r;
		goto out;
	}
	if (line != 0) {
		r = conf_fail(
		    x, line, NULL, NULL,
		    "syntax error; expected [section], key = value, or a comment starting "
		    "with ; or #");
		goto out;
	}
	if ((r = fill_defaults(x)) != 0 || (r = cross_check(x)) != 0)
		goto out;
	*out = c;
	c = NULL;
	r = 0;
out:
	signer_conf_free(c);
	ctx_free(x);
	return r;
}

int
signer_conf_load(const char *path, signer_conf **out)
{
	ctx x;
	int r;

	*out = NULL;
	memset(&x, 0, sizeof(x));
	x.file = path;
	if ((x.f = fopen(path, "re")) == NULL)
		return p11s_fail(P11S_E_CONFIG, "cannot open the configuration file %s: %s", path,
				 strerror(errno));
	r = conf_parse(&x, path, out);
	fclose(x.f);
	return r;
}

int
signer_conf_parse(const char *name, const char *text, signer_conf **out)
{
	ctx x;

	*out = NULL;
	memset(&x, 0, sizeof(x));
	x.file = name;
	x.text = text;
	return conf_parse(&x, name, out);
}

int
signer_conf_defaults(signer_conf **out)
{
	ctx x;
	signer_conf *c = NULL;
	int r;

	*out = NULL;
	memset(&x, 0, sizeof(x));
	if ((r = conf_new(&x, &c)) != 0) {
		c = x.c;
		goto out;
	}
	if ((r = fill_defaults(&x)) != 0 || (r = cross_check(&x)) != 0)
		goto out;
	*out = c;
	c = NULL;
out:
	signer_conf_free(c);
	ctx_free(&x);
	return r;
}

void
signer_conf_free(signer_conf *c)
{
	size_t i;

	if (c == NULL)
		return;
	free(c->path);
	free(c->token_uri);
	free(c->token_pin);
	free(c->lock_file);
	for (i = 0; c->type_extra != NULL && i < c->policy.n_types; i++) {
		free(c->type_extra[i].issuer);
		free(c->type_extra[i].audience);
	}
	free(c->type_extra);
	free(c->policy.types);
	for (i = 0; i < c->n_listen; i++)
		free(c->listen[i]);
	free(c->listen);
	free(c->tls_certificate);
	free(c->tls_key);
	free(c->client_ca);
	free(c->journal);
	for (i = 0; i < c->n_custodians; i++) {
		free(c->custodians[i].name);
		free(c->custodians[i].certificate);
	}
	free(c->custodians);
	free(c);
}

int
signer_conf_type_index(const signer_conf *c, const char *name)
{
	size_t i;

	for (i = 0; c != NULL && name != NULL && i < c->policy.n_types; i++)
		if (strcmp(c->policy.types[i].name, name) == 0)
			return (int)i;
	return -1;
}

const char *
signer_conf_path(const char *given)
{
	const char *env = getenv("SIGNER_CONFIG");

	if (given != NULL)
		return given;
	if (env != NULL && *env != '\0')
		return env;
	return SIGNER_DEFAULT_CONFIG;
}

int
signer_conf_load_default(const char *given, signer_conf **out)
{
	const char *path = signer_conf_path(given), *env = getenv("SIGNER_CONFIG");
	const char *why = "the default";

	*out = NULL;
	if (given != NULL)
		why = "given with --config";
	else if (env != NULL && *env != '\0')
		why = "named by SIGNER_CONFIG";
	if (access(path, F_OK) != 0 && errno == ENOENT)
		return p11s_fail(P11S_E_CONFIG,
				 "no configuration file %s (%s); expected a signer.conf there "
				 "(see signer.conf(5)), or choose another with --config FILE or "
				 "the environment variable SIGNER_CONFIG",
				 path, why);
	return signer_conf_load(path, out);
}

/* ---- printing the effective values ------------------------------------------------ */

static void
print_value(const key_def *k, const void *p, FILE *f)
{
	char d[32];

	switch (k->kind) {
	case K_STRING:
	case K_PATH:
	case K_URI:
	case K_SECRET:
	case K_KEYREF:
		if (*(char *const *)p == NULL)
			fprintf(f, "#%s = (not set)\n", k->name);
		else
			fprintf(f, "%s = %s\n", k->name, *(char *const *)p);
		return;
	case K_BOOL:
		fprintf(f, "%s = %s\n", k->name, *(const int *)p ? "yes" : "no");
		return;
	case K_DURATION:
		fmt_duration(*(const int64_t *)p, d, sizeof(d));
		fprintf(f, "%s = %s\n", k->name, d);
		return;
	case K_UINT:
		fprintf(f, "%s = %u\n", k->name, *(const unsigned *)p);
		return;
	case K_MSEC:
		fprintf(f, "%s = %lld\n", k->name, (long long)*(const int64_t *)p);
		return;
	case K_SIZE:
		fprintf(f, "%s = %zu\n", k->name, *(const size_t *)p);
		return;
	case K_ALG:
		fprintf(f, "%s = %s\n", k->name, p11s_alg_name(*(const p11s_alg *)p));
		return;
	case K_LISTEN:
		return; /* printed from the list */
	case K_ROUTES: {
		unsigned v = *(const unsigned *)p;

		if (v == 0)
			fprintf(f, "%s = none\n", k->name);
		else
			fprintf(f, "%s = %s%s%s%s%s\n", k->name,
				v & SIGNER_MTLS_ISSUE ? "issue" : "",
				v & SIGNER_MTLS_ISSUE && v & (SIGNER_MTLS_VERIFY | SIGNER_MTLS_READ)
				    ? ","
				    : "",
				v & SIGNER_MTLS_VERIFY ? "verify" : "",
				v & SIGNER_MTLS_VERIFY && v & SIGNER_MTLS_READ ? "," : "",
				v & SIGNER_MTLS_READ ? "read" : "");
		return;
	}
	case K_LOGFMT:
		fprintf(f, "%s = %s\n", k->name, *(const int *)p ? "json" : "text");
		return;
	}
}

/* field() for reading. */
static const void *
cfield(const signer_conf *c, const key_def *k, size_t idx)
{
	switch (k->base) {
	case B_TYPE:
		return (const char *)&c->policy.types[idx] + k->off;
	case B_EXTRA:
		return (const char *)&c->type_extra[idx] + k->off;
	case B_CUSTODIAN:
		return (const char *)&c->custodians[idx] + k->off;
	case B_CONF:
		break;
	}
	return (const char *)c + k->off;
}

static void
print_section(const signer_conf *c, enum sect s, size_t idx, FILE *f)
{
	size_t i;

	for (i = 0; i < N_KEYS; i++) {
		if (keys[i].sect != s)
			continue;
		if (keys[i].kind == K_LISTEN) {
			for (size_t j = 0; j < c->n_listen; j++)
				fprintf(f, "%s = %s\n", keys[i].name, c->listen[j]);
			continue;
		}
		print_value(&keys[i], cfield(c, &keys[i], idx), f);
	}
}

void
signer_conf_print(const signer_conf *c, FILE *f)
{
	size_t i;

	if (c == NULL)
		return;
	fprintf(f, "# effective configuration of %s\n", c->path != NULL ? c->path : "(defaults)");
	fprintf(f, "[token]\n");
	print_section(c, SEC_TOKEN, 0, f);
	fprintf(f, "\n[policy]\n");
	print_section(c, SEC_POLICY, 0, f);
	for (i = 0; i < c->policy.n_types; i++) {
		fprintf(f, "\n[type %s]\n", c->policy.types[i].name);
		print_section(c, SEC_TYPE, i, f);
	}
	fprintf(f, "\n[server]\n");
	print_section(c, SEC_SERVER, 0, f);
	fprintf(f, "\n[audit]\n");
	print_section(c, SEC_AUDIT, 0, f);
	for (i = 0; i < c->n_custodians; i++) {
		fprintf(f, "\n[custodian %s]\n", c->custodians[i].name);
		print_section(c, SEC_CUSTODIAN, i, f);
	}
}

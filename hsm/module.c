/*
 * Module registry, CK_RV mapping, host lock, token discovery, sessions and
 * login.  See hsm/hsm.h and STACK-NOTES for the rules followed here.
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "common/log.h"
#include "common/util.h"
#include "hsm/internal.h"

#define DEFAULT_START_ATTEMPTS 5
#define START_BACKOFF_MS 20
#define URI_EXAMPLE "pkcs11:token=edge?module-path=/usr/lib/softhsm/libsofthsm2.so"

/* ---- CK_RV names and the one mapping ------------------------------------ */

/* A dense table reads better than one name per line. */
/* clang-format off */
#define RV(x) { x, #x }
static const struct {
	CK_RV rv;
	const char *name;
} rv_names[] = {
	RV(CKR_OK), RV(CKR_CANCEL), RV(CKR_HOST_MEMORY), RV(CKR_SLOT_ID_INVALID),
	RV(CKR_GENERAL_ERROR), RV(CKR_FUNCTION_FAILED), RV(CKR_ARGUMENTS_BAD), RV(CKR_NO_EVENT),
	RV(CKR_NEED_TO_CREATE_THREADS), RV(CKR_CANT_LOCK), RV(CKR_ATTRIBUTE_READ_ONLY),
	RV(CKR_ATTRIBUTE_SENSITIVE), RV(CKR_ATTRIBUTE_TYPE_INVALID),
	RV(CKR_ATTRIBUTE_VALUE_INVALID), RV(CKR_ACTION_PROHIBITED), RV(CKR_DATA_INVALID),
	RV(CKR_DATA_LEN_RANGE), RV(CKR_DEVICE_ERROR), RV(CKR_DEVICE_MEMORY),
	RV(CKR_DEVICE_REMOVED), RV(CKR_ENCRYPTED_DATA_INVALID), RV(CKR_ENCRYPTED_DATA_LEN_RANGE),
	RV(CKR_FUNCTION_CANCELED), RV(CKR_FUNCTION_NOT_PARALLEL), RV(CKR_FUNCTION_NOT_SUPPORTED),
	RV(CKR_KEY_HANDLE_INVALID), RV(CKR_KEY_SIZE_RANGE), RV(CKR_KEY_TYPE_INCONSISTENT),
	RV(CKR_KEY_NOT_NEEDED), RV(CKR_KEY_CHANGED), RV(CKR_KEY_NEEDED), RV(CKR_KEY_INDIGESTIBLE),
	RV(CKR_KEY_FUNCTION_NOT_PERMITTED), RV(CKR_KEY_NOT_WRAPPABLE), RV(CKR_KEY_UNEXTRACTABLE),
	RV(CKR_MECHANISM_INVALID), RV(CKR_MECHANISM_PARAM_INVALID), RV(CKR_OBJECT_HANDLE_INVALID),
	RV(CKR_OPERATION_ACTIVE), RV(CKR_OPERATION_NOT_INITIALIZED), RV(CKR_PIN_INCORRECT),
	RV(CKR_PIN_INVALID), RV(CKR_PIN_LEN_RANGE), RV(CKR_PIN_EXPIRED), RV(CKR_PIN_LOCKED),
	RV(CKR_SESSION_CLOSED), RV(CKR_SESSION_COUNT), RV(CKR_SESSION_HANDLE_INVALID),
	RV(CKR_SESSION_PARALLEL_NOT_SUPPORTED), RV(CKR_SESSION_READ_ONLY), RV(CKR_SESSION_EXISTS),
	RV(CKR_SESSION_READ_ONLY_EXISTS), RV(CKR_SESSION_READ_WRITE_SO_EXISTS),
	RV(CKR_SIGNATURE_INVALID), RV(CKR_SIGNATURE_LEN_RANGE), RV(CKR_TEMPLATE_INCOMPLETE),
	RV(CKR_TEMPLATE_INCONSISTENT), RV(CKR_TOKEN_NOT_PRESENT), RV(CKR_TOKEN_NOT_RECOGNIZED),
	RV(CKR_TOKEN_WRITE_PROTECTED), RV(CKR_USER_ALREADY_LOGGED_IN), RV(CKR_USER_NOT_LOGGED_IN),
	RV(CKR_USER_PIN_NOT_INITIALIZED), RV(CKR_USER_TYPE_INVALID),
	RV(CKR_USER_ANOTHER_ALREADY_LOGGED_IN), RV(CKR_USER_TOO_MANY_TYPES),
	RV(CKR_DOMAIN_PARAMS_INVALID), RV(CKR_CURVE_NOT_SUPPORTED), RV(CKR_BUFFER_TOO_SMALL),
	RV(CKR_SAVED_STATE_INVALID), RV(CKR_INFORMATION_SENSITIVE), RV(CKR_STATE_UNSAVEABLE),
	RV(CKR_CRYPTOKI_NOT_INITIALIZED), RV(CKR_CRYPTOKI_ALREADY_INITIALIZED), RV(CKR_MUTEX_BAD),
	RV(CKR_MUTEX_NOT_LOCKED), RV(CKR_FUNCTION_REJECTED),
};
#undef RV
/* clang-format on */

const char *
hsm_rv_name(CK_RV rv, char buf[32])
{
	for (size_t i = 0; i < sizeof(rv_names) / sizeof(rv_names[0]); i++)
		if (rv_names[i].rv == rv)
			return rv_names[i].name;
	snprintf(buf, 32, "CKR_0x%08lx", (unsigned long)rv);
	return buf;
}

int
hsm_rv_session_lost(CK_RV rv)
{
	switch (rv) {
	case CKR_SESSION_HANDLE_INVALID:
	case CKR_SESSION_CLOSED:
	case CKR_USER_NOT_LOGGED_IN:
	case CKR_OBJECT_HANDLE_INVALID:
	case CKR_KEY_HANDLE_INVALID:
	case CKR_DEVICE_REMOVED:
	case CKR_DEVICE_ERROR:
	case CKR_TOKEN_NOT_PRESENT:
		return 1;
	default:
		return 0;
	}
}

static int
rv_to_err(CK_RV rv)
{
	if (hsm_rv_session_lost(rv))
		return P11S_E_SESSION;
	switch (rv) {
	case CKR_HOST_MEMORY:
		return P11S_E_NOMEM;
	case CKR_PIN_INCORRECT:
		return P11S_E_PIN_INCORRECT;
	case CKR_PIN_LOCKED:
		return P11S_E_PIN_LOCKED;
	case CKR_MECHANISM_INVALID:
	case CKR_MECHANISM_PARAM_INVALID:
		return P11S_E_MECHANISM;
	case CKR_KEY_TYPE_INCONSISTENT:
	case CKR_KEY_FUNCTION_NOT_PERMITTED:
	case CKR_KEY_SIZE_RANGE:
	case CKR_CURVE_NOT_SUPPORTED:
		return P11S_E_KEY_TYPE;
	default:
		return P11S_E_HSM;
	}
}

int
hsm_rv_fail(CK_RV rv, const char *call, const char *func, int line, const char *fmt, ...)
{
	char what[512], nb[32];
	const char *name = hsm_rv_name(rv, nb);
	int err = rv_to_err(rv);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	p11s_log(err == P11S_E_SESSION ? LOG_WARNING : LOG_ERR, func, line, "%s: %s returned %s",
		 what, call, name);
	return p11s_fail(err, "%s: %s returned %s", what, call, name);
}

void
hsm_sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* ---- module registry ---------------------------------------------------- */

static pthread_mutex_t registry_mu = PTHREAD_MUTEX_INITIALIZER;
static struct hsm_module *registry;

/* Failures at C_Initialize that STACK-NOTES shows to be transient. */
static int
rv_transient_start(CK_RV rv)
{
	return rv == CKR_GENERAL_ERROR || rv == CKR_TOKEN_NOT_RECOGNIZED || rv == CKR_DEVICE_ERROR;
}

static int
module_acquire(const char *path, struct hsm_module **out, int *transient)
{
	char real[PATH_MAX];
	struct hsm_module *m = NULL;
	CK_C_GetFunctionList gfl;
	CK_C_INITIALIZE_ARGS args;
	CK_RV rv;
	int r = P11S_E_INTERNAL;

	*out = NULL;
	if (realpath(path, real) == NULL)
		return p11s_fail(P11S_E_MODULE, "cannot load the PKCS#11 module %s: %s", path,
				 strerror(errno));
	pthread_mutex_lock(&registry_mu);
	for (m = registry; m != NULL; m = m->next)
		if (strcmp(m->path, real) == 0)
			break;
	if (m != NULL) {
		m->refs++;
		*out = m;
		r = 0;
		goto out;
	}
	if ((m = calloc(1, sizeof(*m))) == NULL || (m->path = strdup(real)) == NULL) {
		r = p11s_fail(P11S_E_NOMEM, "out of memory");
		goto out;
	}
	/* RTLD_NODELETE: modules (and their OpenSSL) are not safe to unmap. */
	if ((m->dl = dlopen(real, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE)) == NULL) {
		r = p11s_fail(P11S_E_MODULE, "cannot load the PKCS#11 module %s: %s", real,
			      dlerror());
		goto out;
	}
	if ((gfl = (CK_C_GetFunctionList)dlsym(m->dl, "C_GetFunctionList")) == NULL) {
		r = p11s_fail(P11S_E_MODULE,
			      "%s is not a PKCS#11 module (it has no C_GetFunctionList)", real);
		goto out;
	}
	if ((rv = gfl(&m->f)) != CKR_OK || m->f == NULL) {
		r = HSM_RV_FAIL(rv, "C_GetFunctionList", "module %s", real);
		r = p11s_fail(P11S_E_MODULE, "%s", p11s_errmsg(r));
		goto out;
	}
	memset(&args, 0, sizeof(args));
	args.flags = CKF_OS_LOCKING_OK;
	rv = m->f->C_Initialize(&args);
	if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		*transient = rv_transient_start(rv);
		r = HSM_RV_FAIL(rv, "C_Initialize", "cannot initialise the PKCS#11 module %s",
				real);
		r = p11s_fail(P11S_E_MODULE, "%s", p11s_errmsg(r));
		goto out;
	}
	log_debug("PKCS#11 module %s initialised", real);
	m->finalize = rv == CKR_OK;
	m->refs = 1;
	m->next = registry;
	registry = m;
	*out = m;
	m = NULL;
	r = 0;
out:
	if (m != NULL && *out != m) {
		if (m->dl != NULL)
			dlclose(m->dl);
		free(m->path);
		free(m);
	}
	pthread_mutex_unlock(&registry_mu);
	return r;
}

static void
module_release(struct hsm_module *m)
{
	struct hsm_module **pp;

	if (m == NULL)
		return;
	pthread_mutex_lock(&registry_mu);
	if (--m->refs == 0) {
		for (pp = &registry; *pp != NULL; pp = &(*pp)->next)
			if (*pp == m) {
				*pp = m->next;
				break;
			}
		if (m->finalize) {
			m->f->C_Finalize(NULL);
			log_debug("PKCS#11 module %s finalised", m->path);
		}
		dlclose(m->dl);
		free(m->path);
		free(m);
	}
	pthread_mutex_unlock(&registry_mu);
}

/* ---- host lock ---------------------------------------------------------- */

int
hsm_lock(hsm_token *t)
{
	int e;

	if ((e = pthread_mutex_lock(&t->lock_mu)) != 0)
		return p11s_fail(P11S_E_LOCK, "cannot take the process lock of token '%s': %s",
				 t->label, strerror(e));
	if (t->lock_depth == 0 && t->lock_fd >= 0) {
		while (flock(t->lock_fd, LOCK_EX) != 0) {
			if (errno == EINTR)
				continue;
			e = errno;
			pthread_mutex_unlock(&t->lock_mu);
			return p11s_fail(P11S_E_LOCK, "cannot lock the token lock file %s: %s",
					 t->lock_path, strerror(e));
		}
	}
	t->lock_depth++;
	return 0;
}

void
hsm_unlock(hsm_token *t)
{
	if (t == NULL || t->lock_depth == 0)
		return;
	if (--t->lock_depth == 0 && t->lock_fd >= 0)
		(void)flock(t->lock_fd, LOCK_UN);
	pthread_mutex_unlock(&t->lock_mu);
}

/* ---- token discovery ---------------------------------------------------- */

static void
trim_field(const unsigned char *in, size_t len, char *out)
{
	while (len > 0 && (in[len - 1] == ' ' || in[len - 1] == '\0'))
		len--;
	memcpy(out, in, len);
	out[len] = '\0';
}

static void
describe_wanted(const hsm_token *t, char *buf, size_t len)
{
	if (t->want_label != NULL && t->want_serial != NULL)
		snprintf(buf, len, "labelled '%s' with serial '%s'", t->want_label, t->want_serial);
	else if (t->want_label != NULL)
		snprintf(buf, len, "labelled '%s'", t->want_label);
	else
		snprintf(buf, len, "with serial '%s'", t->want_serial);
}

static void
append(char *buf, size_t len, const char *s)
{
	size_t used = strlen(buf);

	if (used < len)
		snprintf(buf + used, len - used, "%s", s);
}

/* Find the slot holding the wanted token: by label and/or serial, never slot id. */
static int
find_slot(hsm_token *t, int *transient)
{
	CK_SLOT_ID *slots = NULL;
	CK_ULONG n = 0;
	CK_RV rv;
	size_t matches = 0;
	char seen[512] = "", serials[256] = "", wanted[160];
	char label[TOKEN_LABEL_LEN + 1], serial[TOKEN_SERIAL_LEN + 1];
	int r = P11S_E_INTERNAL;

	describe_wanted(t, wanted, sizeof(wanted));
	for (;;) {
		if ((rv = t->f->C_GetSlotList(CK_TRUE, NULL, &n)) != CKR_OK) {
			*transient = rv_transient_start(rv);
			r = HSM_RV_FAIL(rv, "C_GetSlotList", "cannot list the tokens of module %s",
					t->module_path);
			goto out;
		}
		free(slots);
		if ((slots = calloc(n + 1, sizeof(*slots))) == NULL) {
			r = p11s_fail(P11S_E_NOMEM, "out of memory");
			goto out;
		}
		rv = t->f->C_GetSlotList(CK_TRUE, slots, &n);
		if (rv == CKR_OK)
			break;
		if (rv != CKR_BUFFER_TOO_SMALL) {
			*transient = rv_transient_start(rv);
			r = HSM_RV_FAIL(rv, "C_GetSlotList", "cannot list the tokens of module %s",
					t->module_path);
			goto out;
		}
	}
	for (CK_ULONG i = 0; i < n; i++) {
		CK_TOKEN_INFO ti;

		if ((rv = t->f->C_GetTokenInfo(slots[i], &ti)) != CKR_OK) {
			char nb[32];

			if (rv_transient_start(rv))
				*transient = 1;
			log_warn("C_GetTokenInfo on slot %lu returned %s; skipping that slot",
				 (unsigned long)slots[i], hsm_rv_name(rv, nb));
			continue;
		}
		if (!(ti.flags & CKF_TOKEN_INITIALIZED))
			continue; /* SoftHSM's spare slot holds an uninitialised token */
		trim_field(ti.label, sizeof(ti.label), label);
		trim_field(ti.serialNumber, sizeof(ti.serialNumber), serial);
		append(seen, sizeof(seen), seen[0] != '\0' ? ", '" : "'");
		append(seen, sizeof(seen), label);
		append(seen, sizeof(seen), "'");
		if ((t->want_label != NULL && strcmp(t->want_label, label) != 0) ||
		    (t->want_serial != NULL && strcmp(t->want_serial, serial) != 0))
			continue;
		append(serials, sizeof(serials), matches > 0 ? ", " : "");
		append(serials, sizeof(serials), serial);
		if (matches++ == 0) {
			t->slot = slots[i];
			memcpy(t->label, label, sizeof(label));
			memcpy(t->serial, serial, sizeof(serial));
		}
	}
	if (matches == 0) {
		*transient = 1;
		r = p11s_fail(P11S_E_TOKEN_NOT_FOUND,
			      "no token %s in the PKCS#11 module %s (tokens present: %s)", wanted,
			      t->module_path, seen[0] != '\0' ? seen : "none");
		goto out;
	}
	if (matches > 1) {
		r = p11s_fail(P11S_E_AMBIGUOUS,
			      "%zu tokens are %s (serials %s): add serial= to the URI, e.g. "
			      "pkcs11:token=%s;serial=%s",
			      matches, wanted, serials, t->label, t->serial);
		goto out;
	}
	t->have_slot = 1;
	r = 0;
out:
	free(slots);
	return r;
}

/* ---- login -------------------------------------------------------------- */

/*
 * Log in with the secret (read now if *pin is NULL; the caller owns *pin
 * afterwards).  PIN failures are latched and never retried.
 */
static int
login(hsm_token *t, CK_SESSION_HANDLE s, p11s_secret **pin, int *transient)
{
	CK_RV rv;
	int r;

	if (t->pin_latched != 0)
		return p11s_fail(t->pin_latched,
				 "the token '%s' refused the PIN earlier: not logging in again (an "
				 "operator must correct the PIN and restart)",
				 t->label);
	if (*pin == NULL && (r = p11s_secret_read(t->pin_source, "PIN", pin)) != 0)
		return r;
	rv = t->f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)(*pin)->buf, (CK_ULONG)(*pin)->len);
	if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN) {
		log_debug("logged in to token '%s'", t->label);
		return 0;
	}
	r = HSM_RV_FAIL(rv, "C_Login", "cannot log in to token '%s'", t->label);
	if (rv == CKR_PIN_INCORRECT) {
		t->pin_latched = P11S_E_PIN_INCORRECT;
		return p11s_fail(
		    P11S_E_PIN_INCORRECT,
		    "the token '%s' refused the PIN (not retried: repeated wrong PINs can "
		    "lock a token)",
		    t->label);
	}
	if (rv == CKR_PIN_LOCKED) {
		t->pin_latched = P11S_E_PIN_LOCKED;
		return p11s_fail(P11S_E_PIN_LOCKED,
				 "the user PIN of token '%s' is locked: a security officer must "
				 "unlock it (not retried)",
				 t->label);
	}
	if (rv == CKR_GENERAL_ERROR)
		*transient = 1;
	return r;
}

/* Log in on s unless the application is already logged in to the token. */
static int
ensure_login(hsm_token *t, CK_SESSION_HANDLE s)
{
	CK_SESSION_INFO si;
	p11s_secret *pin = NULL;
	int transient = 0, r;
	CK_RV rv;

	if (t->pin_source == NULL)
		return 0;
	if ((rv = t->f->C_GetSessionInfo(s, &si)) != CKR_OK)
		return HSM_RV_FAIL(rv, "C_GetSessionInfo", "token '%s'", t->label);
	if (si.state == CKS_RW_USER_FUNCTIONS || si.state == CKS_RO_USER_FUNCTIONS)
		return 0;
	log_info("token '%s': session not logged in; logging in again", t->label);
	if (t->kept_pin != NULL)
		return login(t, s, &t->kept_pin, &transient);
	r = login(t, s, &pin, &transient);
	p11s_secret_free(pin);
	return r;
}

static int
rv_slot_gone(CK_RV rv)
{
	return rv == CKR_SLOT_ID_INVALID || rv == CKR_TOKEN_NOT_PRESENT ||
	       rv == CKR_DEVICE_REMOVED || rv == CKR_TOKEN_NOT_RECOGNIZED || rv == CKR_DEVICE_ERROR;
}

int
hsm_open_user_session(hsm_token *t, CK_SESSION_HANDLE *out)
{
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	CK_RV rv = CKR_SLOT_ID_INVALID;
	int transient = 0, r;

	*out = CK_INVALID_HANDLE;
	if (t->have_slot)
		rv = t->f->C_OpenSession(t->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL,
					 &s);
	if (rv != CKR_OK && rv_slot_gone(rv)) {
		log_info("token '%s': slot unusable; looking for the token again", t->label);
		t->have_slot = 0;
		if ((r = find_slot(t, &transient)) != 0)
			return r;
		rv = t->f->C_OpenSession(t->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL,
					 &s);
	}
	if (rv != CKR_OK)
		return HSM_RV_FAIL(rv, "C_OpenSession", "cannot open a session on token '%s'",
				   t->label);
	if ((r = ensure_login(t, s)) != 0) {
		(void)t->f->C_CloseSession(s);
		return r;
	}
	*out = s;
	return 0;
}

int
hsm_session(hsm_token *t, CK_SESSION_HANDLE *out)
{
	int r;

	*out = CK_INVALID_HANDLE;
	if (t->session == CK_INVALID_HANDLE) {
		log_info("token '%s': reopening the management session", t->label);
		if ((r = hsm_open_user_session(t, &t->session)) != 0)
			return r;
	}
	*out = t->session;
	return 0;
}

void
hsm_session_check(hsm_token *t, CK_SESSION_HANDLE s, CK_RV rv)
{
	if (!hsm_rv_session_lost(rv) || s != t->session || t->session == CK_INVALID_HANDLE)
		return;
	(void)t->f->C_CloseSession(t->session);
	t->session = CK_INVALID_HANDLE;
}

/* ---- open / close ------------------------------------------------------- */

static void
stop(hsm_token *t)
{
	if (t->session != CK_INVALID_HANDLE)
		(void)t->f->C_CloseSession(t->session);
	t->session = CK_INVALID_HANDLE;
	module_release(t->mod);
	t->mod = NULL;
	t->f = NULL;
	t->have_slot = 0;
}

static int
start_once(hsm_token *t, p11s_secret **pin, int *transient)
{
	CK_RV rv;
	int r;

	if (t->mod == NULL) {
		if ((r = module_acquire(t->module_path, &t->mod, transient)) != 0)
			return r;
		t->f = t->mod->f;
	}
	if ((r = find_slot(t, transient)) != 0)
		return r;
	rv = t->f->C_OpenSession(t->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL,
				 &t->session);
	if (rv != CKR_OK) {
		t->session = CK_INVALID_HANDLE;
		*transient = rv == CKR_GENERAL_ERROR;
		return HSM_RV_FAIL(rv, "C_OpenSession", "cannot open a session on token '%s'",
				   t->label);
	}
	if (t->pin_source == NULL)
		return 0;
	return login(t, t->session, pin, transient);
}

static int
start(hsm_token *t)
{
	p11s_secret *pin = NULL;
	unsigned delay = START_BACKOFF_MS;
	int r = P11S_E_INTERNAL;

	for (unsigned attempt = 1;; attempt++) {
		int transient = 0;

		if ((r = start_once(t, &pin, &transient)) == 0)
			break;
		if (!transient || attempt >= t->start_attempts)
			break;
		log_warn("token '%s': start-up attempt %u of %u failed (%s); retrying in %u ms",
			 t->label, attempt, t->start_attempts, p11s_errmsg(r), delay);
		stop(t);
		hsm_sleep_ms(delay);
		delay *= 2;
	}
	if (r == 0 && pin != NULL && !p11s_secret_source_rereadable(t->pin_source)) {
		t->kept_pin = pin; /* the source cannot be read again for a re-login */
		pin = NULL;
	}
	p11s_secret_free(pin);
	return r;
}

static int
open_lock_file(hsm_token *t, const char *path)
{
	int r;

	if ((r = p11s_strdup(path, &t->lock_path)) != 0)
		return r;
	t->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (t->lock_fd < 0)
		return p11s_fail(P11S_E_LOCK, "cannot open the token lock file %s: %s%s", path,
				 strerror(errno),
				 errno == ENOENT ? " (does its directory exist?)" : "");
	return 0;
}

int
hsm_open(const hsm_open_params *p, hsm_token **out)
{
	hsm_token *t = NULL;
	hsm_uri *u = NULL;
	pthread_mutexattr_t ma;
	const char *module;
	int r = P11S_E_INTERNAL, locked = 0;

	*out = NULL;
	if (p == NULL || p->uri == NULL || *p->uri == '\0')
		return p11s_fail(P11S_E_INVAL, "no token URI given; use e.g. %s", URI_EXAMPLE);
	if ((r = hsm_uri_parse(p->uri, &u)) != 0)
		return r;
	if (u->token == NULL && u->serial == NULL) {
		r = p11s_fail(P11S_E_INVAL,
			      "the token URI names no token: add token=LABEL, e.g. %s",
			      URI_EXAMPLE);
		goto out;
	}
	module = u->module_path != NULL ? u->module_path : p->default_module;
	if (module == NULL || *module == '\0') {
		r = p11s_fail(P11S_E_MODULE,
			      "no PKCS#11 module: add module-path= to the token URI, e.g. %s",
			      URI_EXAMPLE);
		goto out;
	}
	if (p->pin_source != NULL && (r = p11s_secret_source_check(p->pin_source)) != 0)
		goto out;
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		r = p11s_fail(P11S_E_NOMEM, "out of memory");
		goto out;
	}
	t->lock_fd = -1;
	t->session = CK_INVALID_HANDLE;
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&t->lock_mu, &ma);
	pthread_mutexattr_destroy(&ma);
	t->start_attempts = p->start_attempts != 0 ? p->start_attempts : DEFAULT_START_ATTEMPTS;
	snprintf(t->label, sizeof(t->label), "%s", u->token != NULL ? u->token : u->serial);
	if ((u->token != NULL && (r = p11s_strdup(u->token, &t->want_label)) != 0) ||
	    (u->serial != NULL && (r = p11s_strdup(u->serial, &t->want_serial)) != 0) ||
	    (r = p11s_strdup(module, &t->module_path)) != 0 ||
	    (p->pin_source != NULL && (r = p11s_strdup(p->pin_source, &t->pin_source)) != 0))
		goto out;
	if (p->lock_file != NULL && (r = open_lock_file(t, p->lock_file)) != 0)
		goto out;
	if ((r = hsm_lock(t)) != 0)
		goto out;
	locked = 1;
	if ((r = start(t)) != 0)
		goto out;
	log_info("opened token '%s' (serial %s)%s", t->label, t->serial,
		 t->pin_source != NULL ? ", logged in" : "");
	*out = t;
	t = NULL;
	r = 0;
out:
	if (locked && t != NULL) {
		stop(t);
		hsm_unlock(t);
	} else if (locked) {
		hsm_unlock(*out);
	}
	hsm_close(t);
	hsm_uri_free(u);
	return r;
}

void
hsm_close(hsm_token *t)
{
	int locked;

	if (t == NULL)
		return;
	locked = t->mod != NULL && hsm_lock(t) == 0;
	stop(t);
	if (locked)
		hsm_unlock(t);
	if (t->lock_fd >= 0)
		close(t->lock_fd);
	p11s_secret_free(t->kept_pin);
	free(t->lock_path);
	free(t->want_label);
	free(t->want_serial);
	free(t->module_path);
	free(t->pin_source);
	pthread_mutex_destroy(&t->lock_mu);
	OPENSSL_cleanse(t, sizeof(*t));
	free(t);
}

const char *
hsm_token_label(const hsm_token *t)
{
	return t->label;
}

const char *
hsm_token_serial(const hsm_token *t)
{
	return t->serial;
}

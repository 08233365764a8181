/* p11wrap: a fault-injecting PKCS#11 module for tests only (never installed).
 *
 * It loads the real module named by P11WRAP_MODULE (default SoftHSM2), hands
 * out a copy of its function list in which the functions of WRAPPED_PLAIN and
 * C_Sign are replaced by forwarders.  Each forwarder
 *   - consults the fault plan named by P11WRAP_FAULTS: lines
 *     "FUNCTION CKR_NAME COUNT" (COUNT -1 = until the file changes); a match
 *     returns CKR_NAME without calling the real module;
 *   - appends "<function> <CKR_name>\n" to P11WRAP_LOG, if set, with one
 *     O_APPEND write() so that several processes can share the file.
 * The plan file is stat()ed on every wrapped call and reloaded (counters
 * reset) when its device, inode, size, mtime or ctime change.  See
 * tests/lib/p11wrap.README. */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <p11-kit/pkcs11.h>

#define MAX_RULES 64
/* Plan code EMPTY (C_FindObjects only): CKR_OK with no object found, as a
 * session that is not logged in lists private objects. */
#define RV_EMPTY (CKR_VENDOR_DEFINED | 0x7e5701UL)

struct rv_name {
	const char *name;
	CK_RV rv;
};

#define RV(x)                                                                                      \
	{                                                                                          \
#x, x                                                                              \
	}
static const struct rv_name rv_names[] = {
    RV(CKR_OK),
    RV(CKR_HOST_MEMORY),
    RV(CKR_SLOT_ID_INVALID),
    RV(CKR_GENERAL_ERROR),
    RV(CKR_FUNCTION_FAILED),
    RV(CKR_ARGUMENTS_BAD),
    RV(CKR_ATTRIBUTE_READ_ONLY),
    RV(CKR_ATTRIBUTE_TYPE_INVALID),
    RV(CKR_ATTRIBUTE_VALUE_INVALID),
    RV(CKR_DATA_INVALID),
    RV(CKR_DATA_LEN_RANGE),
    RV(CKR_DEVICE_ERROR),
    RV(CKR_DEVICE_MEMORY),
    RV(CKR_DEVICE_REMOVED),
    RV(CKR_FUNCTION_NOT_SUPPORTED),
    RV(CKR_KEY_HANDLE_INVALID),
    RV(CKR_KEY_TYPE_INCONSISTENT),
    RV(CKR_MECHANISM_INVALID),
    RV(CKR_MECHANISM_PARAM_INVALID),
    RV(CKR_OBJECT_HANDLE_INVALID),
    RV(CKR_OPERATION_ACTIVE),
    RV(CKR_OPERATION_NOT_INITIALIZED),
    RV(CKR_PIN_INCORRECT),
    RV(CKR_PIN_LEN_RANGE),
    RV(CKR_PIN_EXPIRED),
    RV(CKR_PIN_LOCKED),
    RV(CKR_SESSION_CLOSED),
    RV(CKR_SESSION_COUNT),
    RV(CKR_SESSION_HANDLE_INVALID),
    RV(CKR_SESSION_READ_ONLY),
    RV(CKR_SESSION_EXISTS),
    RV(CKR_SIGNATURE_INVALID),
    RV(CKR_SIGNATURE_LEN_RANGE),
    RV(CKR_TEMPLATE_INCOMPLETE),
    RV(CKR_TEMPLATE_INCONSISTENT),
    RV(CKR_TOKEN_NOT_PRESENT),
    RV(CKR_TOKEN_NOT_RECOGNIZED),
    RV(CKR_TOKEN_WRITE_PROTECTED),
    RV(CKR_USER_ALREADY_LOGGED_IN),
    RV(CKR_USER_NOT_LOGGED_IN),
    RV(CKR_USER_PIN_NOT_INITIALIZED),
    RV(CKR_USER_TYPE_INVALID),
    RV(CKR_BUFFER_TOO_SMALL),
    RV(CKR_CRYPTOKI_NOT_INITIALIZED),
    RV(CKR_CRYPTOKI_ALREADY_INITIALIZED),
};
#undef RV

/* Plan pseudo-code "LOGOUT" (C_FindObjectsInit only): a real C_Logout just
 * before the call, which then runs for real.  A vendor-defined value. */
#define RV_LOGOUT (CKR_VENDOR_DEFINED | 0x7011UL)

/* Forwarders that only inject or pass through: X(name, parameters, arguments). */
#define WRAPPED_PLAIN(X)                                                                           \
	X(C_Initialize, (CK_VOID_PTR init_args), (init_args))                                      \
	X(C_Finalize, (CK_VOID_PTR reserved), (reserved))                                          \
	X(C_GetInfo, (CK_INFO_PTR info), (info))                                                   \
	X(C_GetSlotList, (CK_BBOOL present, CK_SLOT_ID_PTR slots, CK_ULONG_PTR count),             \
	  (present, slots, count))                                                                 \
	X(C_GetSlotInfo, (CK_SLOT_ID slot, CK_SLOT_INFO_PTR info), (slot, info))                   \
	X(C_GetTokenInfo, (CK_SLOT_ID slot, CK_TOKEN_INFO_PTR info), (slot, info))                 \
	X(C_OpenSession,                                                                           \
	  (CK_SLOT_ID slot, CK_FLAGS flags, CK_VOID_PTR app, CK_NOTIFY notify,                     \
	   CK_SESSION_HANDLE_PTR session),                                                         \
	  (slot, flags, app, notify, session))                                                     \
	X(C_CloseSession, (CK_SESSION_HANDLE s), (s))                                              \
	X(C_CloseAllSessions, (CK_SLOT_ID slot), (slot))                                           \
	X(C_GetSessionInfo, (CK_SESSION_HANDLE s, CK_SESSION_INFO_PTR info), (s, info))            \
	X(C_Login,                                                                                 \
	  (CK_SESSION_HANDLE s, CK_USER_TYPE user, CK_UTF8CHAR_PTR pin, CK_ULONG pin_len),         \
	  (s, user, pin, pin_len))                                                                 \
	X(C_Logout, (CK_SESSION_HANDLE s), (s))                                                    \
	X(C_CreateObject,                                                                          \
	  (CK_SESSION_HANDLE s, CK_ATTRIBUTE_PTR tmpl, CK_ULONG n, CK_OBJECT_HANDLE_PTR obj),      \
	  (s, tmpl, n, obj))                                                                       \
	X(C_CopyObject,                                                                            \
	  (CK_SESSION_HANDLE s, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_PTR tmpl, CK_ULONG n,           \
	   CK_OBJECT_HANDLE_PTR copy),                                                             \
	  (s, obj, tmpl, n, copy))                                                                 \
	X(C_DestroyObject, (CK_SESSION_HANDLE s, CK_OBJECT_HANDLE obj), (s, obj))                  \
	X(C_GetAttributeValue,                                                                     \
	  (CK_SESSION_HANDLE s, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_PTR tmpl, CK_ULONG n),          \
	  (s, obj, tmpl, n))                                                                       \
	X(C_SetAttributeValue,                                                                     \
	  (CK_SESSION_HANDLE s, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_PTR tmpl, CK_ULONG n),          \
	  (s, obj, tmpl, n))                                                                       \
	X(C_FindObjectsFinal, (CK_SESSION_HANDLE s), (s))                                          \
	X(C_SignInit, (CK_SESSION_HANDLE s, CK_MECHANISM_PTR mech, CK_OBJECT_HANDLE key),          \
	  (s, mech, key))                                                                          \
	X(C_GenerateKeyPair,                                                                       \
	  (CK_SESSION_HANDLE s, CK_MECHANISM_PTR mech, CK_ATTRIBUTE_PTR pub_tmpl, CK_ULONG n_pub,  \
	   CK_ATTRIBUTE_PTR priv_tmpl, CK_ULONG n_priv, CK_OBJECT_HANDLE_PTR pub,                  \
	   CK_OBJECT_HANDLE_PTR priv),                                                             \
	  (s, mech, pub_tmpl, n_pub, priv_tmpl, n_priv, pub, priv))

#define NAME_ENTRY(fn, params, args) #fn,
static const char *const wrapped_names[] = {WRAPPED_PLAIN(NAME_ENTRY) "C_Sign", "C_FindObjectsInit",
					    "C_FindObjects"};
#undef NAME_ENTRY

struct rule {
	const char *fn; /* one of wrapped_names */
	CK_RV rv;
	long left; /* calls still to fail; -1 = forever */
};

/* The fault plan, shared by all threads. */
static struct {
	pthread_mutex_t mu;
	char path[PATH_MAX];
	bool have_file;
	struct stat st;
	struct rule rules[MAX_RULES];
	size_t n;
} plan = {.mu = PTHREAD_MUTEX_INITIALIZER};

static CK_FUNCTION_LIST_PTR real;
static CK_FUNCTION_LIST wrap_list;
static CK_FUNCTION_LIST full_list; /* wrap_list before P11WRAP_OMIT */
static CK_RV load_rv = CKR_GENERAL_ERROR;
static pthread_once_t load_once = PTHREAD_ONCE_INIT;

static void
rv_format(CK_RV rv, char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(rv_names) / sizeof(rv_names[0]); i++) {
		if (rv_names[i].rv == rv) {
			snprintf(buf, len, "%s", rv_names[i].name);
			return;
		}
	}
	snprintf(buf, len, "CKR_0x%08lx", (unsigned long)rv);
}

static bool
rv_parse(const char *name, CK_RV *rv)
{
	size_t i;

	for (i = 0; i < sizeof(rv_names) / sizeof(rv_names[0]); i++) {
		if (strcmp(rv_names[i].name, name) == 0) {
			*rv = rv_names[i].rv;
			return true;
		}
	}
	return false;
}

static const char *
wrapped_name(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(wrapped_names) / sizeof(wrapped_names[0]); i++) {
		if (strcmp(wrapped_names[i], name) == 0)
			return wrapped_names[i];
	}
	return NULL;
}

/* Parse one plan line into *out; false (with a message) if it is not a rule. */
static bool
parse_rule(const char *path, unsigned lineno, char *line, struct rule *out)
{
	char *save = NULL, *fn, *code, *count, *extra, *end;
	long left;

	fn = strtok_r(line, " \t\r\n", &save);
	code = strtok_r(NULL, " \t\r\n", &save);
	count = strtok_r(NULL, " \t\r\n", &save);
	extra = strtok_r(NULL, " \t\r\n", &save);
	if (fn == NULL || code == NULL || count == NULL || extra != NULL) {
		fprintf(stderr,
			"p11wrap: %s:%u: expected \"FUNCTION CKR_NAME COUNT\"; line ignored\n",
			path, lineno);
		return false;
	}
	if ((out->fn = wrapped_name(fn)) == NULL) {
		fprintf(stderr, "p11wrap: %s:%u: %s is not a wrapped function; line ignored\n",
			path, lineno, fn);
		return false;
	}
	if (strcmp(code, "LOGOUT") == 0 && strcmp(out->fn, "C_FindObjectsInit") == 0) {
		out->rv = RV_LOGOUT;
	} else if (strcmp(code, "EMPTY") == 0 && strcmp(out->fn, "C_FindObjects") == 0) {
		out->rv = RV_EMPTY;
	} else if (!rv_parse(code, &out->rv) || out->rv == CKR_OK) {
		fprintf(stderr,
			"p11wrap: %s:%u: %s is not an error code p11wrap knows (CKR_OK is none); "
			"line ignored\n",
			path, lineno, code);
		return false;
	}
	errno = 0;
	left = strtol(count, &end, 10);
	if (errno != 0 || *end != '\0' || end == count || left < -1) {
		fprintf(stderr,
			"p11wrap: %s:%u: count %s is not -1 or a number >= 0; line ignored\n", path,
			lineno, count);
		return false;
	}
	out->left = left;
	return true;
}

/* Replace the rules by the contents of `path` (none if it cannot be read).
 * Called with plan.mu held. */
static void
plan_load(const char *path)
{
	char line[256];
	unsigned lineno = 0;
	FILE *f = NULL;
	int fd;

	snprintf(plan.path, sizeof(plan.path), "%s", path);
	plan.n = 0;
	plan.have_file = false;
	memset(&plan.st, 0, sizeof(plan.st));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	if (fstat(fd, &plan.st) != 0 || (f = fdopen(fd, "r")) == NULL) {
		close(fd);
		return;
	}
	plan.have_file = true;
	while (fgets(line, sizeof(line), f) != NULL) {
		char *p = line + strspn(line, " \t");

		lineno++;
		if (*p == '#' || *p == '\n' || *p == '\r' || *p == '\0')
			continue;
		if (plan.n == MAX_RULES) {
			fprintf(stderr, "p11wrap: %s:%u: more than %d rules; rest ignored\n", path,
				lineno, MAX_RULES);
			break;
		}
		if (parse_rule(path, lineno, p, &plan.rules[plan.n]))
			plan.n++;
	}
	fclose(f);
}

static bool
same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* True, with the code in *rv, if the plan says this call of `fn` fails. */
static bool
fault_take(const char *fn, CK_RV *rv)
{
	const char *path = getenv("P11WRAP_FAULTS");
	struct stat st;
	bool exists, hit = false;
	size_t i;

	pthread_mutex_lock(&plan.mu);
	if (path == NULL || *path == '\0') {
		plan.n = 0;
		plan.path[0] = '\0';
		plan.have_file = false;
		goto out;
	}
	exists = stat(path, &st) == 0;
	if (strcmp(path, plan.path) != 0 || exists != plan.have_file ||
	    (exists && !same_file(&st, &plan.st)))
		plan_load(path);
	for (i = 0; i < plan.n; i++) {
		struct rule *r = &plan.rules[i];

		if (r->left != 0 && strcmp(r->fn, fn) == 0) {
			if (r->left > 0)
				r->left--;
			*rv = r->rv;
			hit = true;
			break;
		}
	}
out:
	pthread_mutex_unlock(&plan.mu);
	return hit;
}

static void
log_call(const char *fn, CK_RV rv)
{
	const char *path = getenv("P11WRAP_LOG");
	char name[48], line[128];
	int fd, len;

	if (path == NULL || *path == '\0')
		return;
	rv_format(rv, name, sizeof(name));
	len = snprintf(line, sizeof(line), "%s %s\n", fn, name);
	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600)) < 0) {
		fprintf(stderr, "p11wrap: cannot open log %s: %s\n", path, strerror(errno));
		return;
	}
	if (write(fd, line, (size_t)len) != len)
		fprintf(stderr, "p11wrap: cannot append to log %s\n", path);
	close(fd);
}

#define DEFINE_FORWARDER(fn, params, args)                                                         \
	static CK_RV w_##fn params                                                                 \
	{                                                                                          \
		CK_RV rv;                                                                          \
                                                                                                   \
		if (!fault_take(#fn, &rv))                                                         \
			rv = real->fn args;                                                        \
		log_call(#fn, rv);                                                                 \
		return rv;                                                                         \
	}
WRAPPED_PLAIN(DEFINE_FORWARDER)
#undef DEFINE_FORWARDER

/* P11WRAP_SIGN_DELAY_US: a network HSM's round trip before every C_Sign that
 * signs (not the length query with sig == NULL), slept outside any lock so
 * that concurrent sessions overlap as they do on a real network HSM. */
static void
sign_delay(void)
{
	const char *v = getenv("P11WRAP_SIGN_DELAY_US");
	struct timespec ts;
	unsigned long us;
	char *end;

	if (v == NULL || *v == '\0')
		return;
	us = strtoul(v, &end, 10);
	if (*end != '\0' || us == 0 || us > 10000000ul)
		return;
	ts.tv_sec = (time_t)(us / 1000000ul);
	ts.tv_nsec = (long)(us % 1000000ul) * 1000l;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* An injected C_Sign failure leaves the real module as a real failure would:
 * a lost session is closed for real; any other error ends the signing
 * operation (a real C_Sign into a scratch buffer, discarded). */
static CK_RV
w_C_Sign(CK_SESSION_HANDLE s, CK_BYTE_PTR data, CK_ULONG data_len, CK_BYTE_PTR sig,
	 CK_ULONG_PTR sig_len)
{
	CK_BYTE scratch[4096];
	CK_ULONG scratch_len = sizeof(scratch);
	CK_RV rv;

	if (sig != NULL)
		sign_delay();
	if (!fault_take("C_Sign", &rv)) {
		rv = real->C_Sign(s, data, data_len, sig, sig_len);
	} else if (rv == CKR_SESSION_HANDLE_INVALID || rv == CKR_SESSION_CLOSED) {
		(void)real->C_CloseSession(s);
	} else if (rv == CKR_USER_NOT_LOGGED_IN) {
		/* a real logout (as after a token reset): the next login is real too */
		(void)real->C_Sign(s, data, data_len, scratch, &scratch_len);
		(void)real->C_Logout(s);
	} else {
		(void)real->C_Sign(s, data, data_len, scratch, &scratch_len);
	}
	log_call("C_Sign", rv);
	return rv;
}

/* An injected EMPTY answers CKR_OK with no object; the search stays active
 * (C_FindObjectsFinal ends it as usual). */
static CK_RV
w_C_FindObjects(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE_PTR objs, CK_ULONG max, CK_ULONG_PTR count)
{
	CK_RV rv;

	if (!fault_take("C_FindObjects", &rv)) {
		rv = real->C_FindObjects(s, objs, max, count);
	} else if (rv == RV_EMPTY) {
		if (count == NULL)
			rv = CKR_ARGUMENTS_BAD;
		else {
			*count = 0;
			rv = CKR_OK;
		}
	}
	log_call("C_FindObjects", rv);
	return rv;
}

/* LOGOUT: the application is logged out for real (as after a token reset or
 * another application's C_Logout) and the search runs logged out. */
static CK_RV
w_C_FindObjectsInit(CK_SESSION_HANDLE s, CK_ATTRIBUTE_PTR tmpl, CK_ULONG n)
{
	CK_RV rv;

	if (!fault_take("C_FindObjectsInit", &rv)) {
		rv = real->C_FindObjectsInit(s, tmpl, n);
	} else if (rv == RV_LOGOUT) {
		log_call("C_Logout", real->C_Logout(s));
		rv = real->C_FindObjectsInit(s, tmpl, n);
	}
	log_call("C_FindObjectsInit", rv);
	return rv;
}

/* P11WRAP_OMIT: does it name fn (a whole word)? */
static bool
omitted(const char *fn)
{
	const char *list = getenv("P11WRAP_OMIT"), *p;
	size_t len = strlen(fn);

	for (p = list; p != NULL && (p = strstr(p, fn)) != NULL; p += len)
		if ((p == list || p[-1] == ' ' || p[-1] == ',') &&
		    (p[len] == '\0' || p[len] == ' ' || p[len] == ','))
			return true;
	return false;
}

static void
load(void)
{
	const char *path = getenv("P11WRAP_MODULE");
	CK_C_GetFunctionList get_list;
	void *h;

	if (path == NULL || *path == '\0')
		path = SOFTHSM_MODULE;
	if ((h = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		fprintf(stderr, "p11wrap: cannot load %s: %s\n", path, dlerror());
		return;
	}
	get_list = (CK_C_GetFunctionList)dlsym(h, "C_GetFunctionList");
	if (get_list == NULL || get_list(&real) != CKR_OK || real == NULL) {
		fprintf(stderr, "p11wrap: %s has no usable C_GetFunctionList\n", path);
		dlclose(h);
		return;
	}
	wrap_list = *real;
	wrap_list.C_GetFunctionList = C_GetFunctionList;
#define INSTALL(fn, params, args) wrap_list.fn = w_##fn;
	WRAPPED_PLAIN(INSTALL)
#undef INSTALL
	wrap_list.C_Sign = w_C_Sign;
	wrap_list.C_FindObjects = w_C_FindObjects;
	wrap_list.C_FindObjectsInit = w_C_FindObjectsInit;
	full_list = wrap_list;
	load_rv = CKR_OK;
}

CK_RV
C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR list)
{
	if (list == NULL)
		return CKR_ARGUMENTS_BAD;
	pthread_once(&load_once, load);
	if (load_rv != CKR_OK)
		return load_rv;
	/* P11WRAP_OMIT is applied at each call: the list a caller gets next */
	wrap_list = full_list;
#define OMIT(fn, params, args)                                                                     \
	if (omitted(#fn))                                                                          \
		wrap_list.fn = NULL;
	WRAPPED_PLAIN(OMIT)
#undef OMIT
	if (omitted("C_Sign"))
		wrap_list.C_Sign = NULL;
	if (omitted("C_FindObjectsInit"))
		wrap_list.C_FindObjectsInit = NULL;
	if (omitted("C_FindObjects"))
		wrap_list.C_FindObjects = NULL;
	*list = &wrap_list;
	return CKR_OK;
}

/* tests/lib/p11wrap.so against a throwaway SoftHSM2 token, through raw PKCS#11. */
#include "config.h"

#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <p11-kit/pkcs11.h>

#include "tests/lib/testtoken.h"

#define LABEL "p11wrap"
#define THREADS 4
#define CALLS_PER_THREAD 250
#define CHILDREN 2
#define CALLS_PER_CHILD 200

static struct test_token tok;
static char wrapper[PATH_MAX];
static char log_path[PATH_MAX + 16];
static char plan_path[PATH_MAX + 16];
static void *wrapper_handle;
static CK_FUNCTION_LIST_PTR p11;
static CK_SLOT_ID slot;
static CK_SESSION_HANDLE sess;
static CK_OBJECT_HANDLE priv_key, pub_key;

static const char *const required_codes[] = {
    "CKR_SESSION_HANDLE_INVALID", "CKR_SESSION_CLOSED",	    "CKR_DEVICE_ERROR",
    "CKR_DEVICE_REMOVED",	  "CKR_TOKEN_NOT_PRESENT",  "CKR_PIN_LOCKED",
    "CKR_PIN_INCORRECT",	  "CKR_USER_NOT_LOGGED_IN", "CKR_GENERAL_ERROR",
    "CKR_OBJECT_HANDLE_INVALID",  "CKR_FUNCTION_FAILED",
};
static const CK_RV required_rvs[] = {
    CKR_SESSION_HANDLE_INVALID, CKR_SESSION_CLOSED,	CKR_DEVICE_ERROR,
    CKR_DEVICE_REMOVED,		CKR_TOKEN_NOT_PRESENT,	CKR_PIN_LOCKED,
    CKR_PIN_INCORRECT,		CKR_USER_NOT_LOGGED_IN, CKR_GENERAL_ERROR,
    CKR_OBJECT_HANDLE_INVALID,	CKR_FUNCTION_FAILED,
};

/* Replace the plan atomically (new inode), as tests that use the wrapper should. */
static void
write_plan(const char *text)
{
	char tmp[sizeof(plan_path) + 8];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", plan_path);
	assert_non_null(f = fopen(tmp, "w"));
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(rename(tmp, plan_path), 0);
}

/* Rewrite the plan in place (same inode). */
static void
write_plan_in_place(const char *text)
{
	FILE *f;

	assert_non_null(f = fopen(plan_path, "w"));
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

static void
clear_plan(void)
{
	assert_true(unlink(plan_path) == 0 || access(plan_path, F_OK) != 0);
}

static void
clear_log(void)
{
	assert_true(unlink(log_path) == 0 || access(log_path, F_OK) != 0);
}

/* Lines of the log equal to `want` (NULL: all lines); every line must be
 * "C_<function> CKR_<name>". */
static unsigned
log_count(const char *want)
{
	char line[256];
	unsigned n = 0;
	FILE *f = fopen(log_path, "r");

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		size_t len = strlen(line);
		const char *sp = strchr(line, ' ');

		assert_true(len > 0 && line[len - 1] == '\n');
		line[len - 1] = '\0';
		assert_true(strncmp(line, "C_", 2) == 0);
		assert_non_null(sp);
		assert_true(strncmp(sp + 1, "CKR_", 4) == 0);
		assert_null(strchr(sp + 1, ' '));
		if (want == NULL || strcmp(line, want) == 0)
			n++;
	}
	fclose(f);
	return n;
}

static CK_RV
login(void)
{
	CK_UTF8CHAR pin[] = TEST_PIN;

	return p11->C_Login(sess, CKU_USER, pin, sizeof(pin) - 1);
}

static CK_STATE
session_state(CK_SESSION_HANDLE s)
{
	CK_SESSION_INFO info;

	assert_int_equal(p11->C_GetSessionInfo(s, &info), CKR_OK);
	return info.state;
}

/* Private-object handles do not survive a logout: find the key again by id. */
static void
login_and_find_key(void)
{
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_BYTE id[] = {0x01};
	CK_ATTRIBUTE tmpl[] = {
	    {CKA_CLASS, &cls, sizeof(cls)},
	    {CKA_ID, id, sizeof(id)},
	};
	CK_ULONG n = 0;

	assert_int_equal(login(), CKR_OK);
	assert_int_equal(p11->C_FindObjectsInit(sess, tmpl, 2), CKR_OK);
	assert_int_equal(p11->C_FindObjects(sess, &priv_key, 1, &n), CKR_OK);
	assert_int_equal(p11->C_FindObjectsFinal(sess), CKR_OK);
	assert_int_equal(n, 1);
}

static CK_RV
sign_once(CK_SESSION_HANDLE s, CK_BYTE *sig, CK_ULONG *sig_len)
{
	CK_MECHANISM mech = {CKM_ECDSA, NULL, 0};
	CK_BYTE hash[32];
	CK_RV rv;

	memset(hash, 0x5a, sizeof(hash));
	if ((rv = p11->C_SignInit(s, &mech, priv_key)) != CKR_OK)
		return rv;
	return p11->C_Sign(s, hash, sizeof(hash), sig, sig_len);
}

static void
verify(CK_BYTE *sig, CK_ULONG sig_len)
{
	CK_MECHANISM mech = {CKM_ECDSA, NULL, 0};
	CK_BYTE hash[32];

	memset(hash, 0x5a, sizeof(hash));
	assert_int_equal(p11->C_VerifyInit(sess, &mech, pub_key), CKR_OK);
	assert_int_equal(p11->C_Verify(sess, hash, sizeof(hash), sig, sig_len), CKR_OK);
}

static CK_SLOT_ID
find_slot(const char *label)
{
	CK_SLOT_ID slots[16];
	CK_ULONG n = 16, i;
	char padded[33];

	snprintf(padded, sizeof(padded), "%-32s", label);
	assert_int_equal(p11->C_GetSlotList(CK_TRUE, slots, &n), CKR_OK);
	for (i = 0; i < n; i++) {
		CK_TOKEN_INFO ti;

		assert_int_equal(p11->C_GetTokenInfo(slots[i], &ti), CKR_OK);
		if (memcmp(ti.label, padded, 32) == 0)
			return slots[i];
	}
	fail_msg("no token labelled %s", label);
	return 0;
}

static void
generate_key(void)
{
	static CK_BYTE p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
	CK_MECHANISM mech = {CKM_EC_KEY_PAIR_GEN, NULL, 0};
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_BYTE id[] = {0x01};
	CK_ATTRIBUTE pub[] = {
	    {CKA_TOKEN, &yes, sizeof(yes)},
	    {CKA_VERIFY, &yes, sizeof(yes)},
	    {CKA_EC_PARAMS, p256, sizeof(p256)},
	    {CKA_ID, id, sizeof(id)},
	};
	CK_ATTRIBUTE priv[] = {
	    {CKA_TOKEN, &yes, sizeof(yes)},	{CKA_PRIVATE, &yes, sizeof(yes)},
	    {CKA_SENSITIVE, &yes, sizeof(yes)}, {CKA_EXTRACTABLE, &no, sizeof(no)},
	    {CKA_SIGN, &yes, sizeof(yes)},	{CKA_ID, id, sizeof(id)},
	};

	assert_int_equal(p11->C_GenerateKeyPair(sess, &mech, pub, 4, priv, 6, &pub_key, &priv_key),
			 CKR_OK);
}

static int
group_setup(void **state)
{
	CK_C_GetFunctionList get_list;
	CK_C_INITIALIZE_ARGS args;
	const char *top = getenv("top_builddir");

	assert_non_null(top);
	snprintf(wrapper, sizeof(wrapper), "%s/tests/lib/p11wrap.so", top);
	test_token_create(&tok, LABEL);
	snprintf(log_path, sizeof(log_path), "%s/p11wrap.log", tok.dir);
	snprintf(plan_path, sizeof(plan_path), "%s/faults", tok.dir);
	setenv("P11WRAP_LOG", log_path, 1);
	setenv("P11WRAP_FAULTS", plan_path, 1);
	unsetenv("P11WRAP_MODULE");

	wrapper_handle = dlopen(wrapper, RTLD_NOW | RTLD_LOCAL);
	if (wrapper_handle == NULL)
		fail_msg("dlopen %s: %s", wrapper, dlerror());
	get_list = (CK_C_GetFunctionList)dlsym(wrapper_handle, "C_GetFunctionList");
	assert_non_null(get_list);
	assert_int_equal(get_list(&p11), CKR_OK);
	memset(&args, 0, sizeof(args));
	args.flags = CKF_OS_LOCKING_OK;
	assert_int_equal(p11->C_Initialize(&args), CKR_OK);
	slot = find_slot(LABEL);
	assert_int_equal(
	    p11->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &sess),
	    CKR_OK);
	assert_int_equal(login(), CKR_OK);
	generate_key();
	assert_int_equal(p11->C_Logout(sess), CKR_OK);
	return 0;
}

static int
group_teardown(void **state)
{
	if (p11 != NULL) {
		p11->C_CloseAllSessions(slot);
		p11->C_Finalize(NULL);
	}
	unsetenv("P11WRAP_LOG");
	unsetenv("P11WRAP_FAULTS");
	test_token_destroy(&tok);
	return 0;
}

/* Each test starts logged out, with no plan and an empty log. */
static int
test_setup(void **state)
{
	clear_plan();
	clear_log();
	return 0;
}

static int
test_teardown(void **state)
{
	clear_plan();
	if (session_state(sess) == CKS_RW_USER_FUNCTIONS)
		assert_int_equal(p11->C_Logout(sess), CKR_OK);
	return 0;
}

static void
test_login_logged_once(void **state)
{
	CK_UTF8CHAR wrong[] = "000000";

	assert_int_equal(login(), CKR_OK);
	assert_int_equal(log_count("C_Login CKR_OK"), 1);
	assert_int_equal(p11->C_Logout(sess), CKR_OK);
	assert_int_equal(login(), CKR_OK);
	assert_int_equal(log_count("C_Login CKR_OK"), 2);
	assert_int_equal(p11->C_Logout(sess), CKR_OK);
	assert_int_equal(p11->C_Login(sess, CKU_USER, wrong, sizeof(wrong) - 1), CKR_PIN_INCORRECT);
	assert_int_equal(log_count("C_Login CKR_PIN_INCORRECT"), 1);
	assert_int_equal(log_count("C_Login CKR_OK"), 2);
	assert_int_equal(log_count("C_Logout CKR_OK"), 2);
	assert_int_equal(log_count(NULL), 5);
}

static void
test_login_pin_locked_once(void **state)
{
	write_plan("C_Login CKR_PIN_LOCKED 1\n");
	assert_int_equal(login(), CKR_PIN_LOCKED);
	/* not forwarded: the token never saw it */
	assert_int_equal(session_state(sess), CKS_RW_PUBLIC_SESSION);
	assert_int_equal(login(), CKR_OK);
	assert_int_equal(session_state(sess), CKS_RW_USER_FUNCTIONS);
	assert_int_equal(log_count("C_Login CKR_PIN_LOCKED"), 1);
	assert_int_equal(log_count("C_Login CKR_OK"), 1);
}

static void
test_sign_device_error_twice(void **state)
{
	CK_BYTE sig[256];
	CK_ULONG sig_len;
	int i;

	login_and_find_key();
	write_plan("C_Sign CKR_DEVICE_ERROR 2\n");
	for (i = 0; i < 4; i++) {
		sig_len = sizeof(sig);
		if (i < 2) {
			assert_int_equal(sign_once(sess, sig, &sig_len), CKR_DEVICE_ERROR);
		} else {
			assert_int_equal(sign_once(sess, sig, &sig_len), CKR_OK);
			assert_int_equal(sig_len, 64);
			verify(sig, sig_len);
		}
	}
	/* an injected failure ended the real operation: every C_SignInit worked */
	assert_int_equal(log_count("C_SignInit CKR_OK"), 4);
	assert_int_equal(log_count("C_Sign CKR_DEVICE_ERROR"), 2);
	assert_int_equal(log_count("C_Sign CKR_OK"), 2);
}

static void
test_sign_session_lost(void **state)
{
	CK_SESSION_HANDLE s2;
	CK_MECHANISM mech = {CKM_ECDSA, NULL, 0};
	CK_BYTE sig[256];
	CK_ULONG sig_len = sizeof(sig);

	login_and_find_key();
	assert_int_equal(p11->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &s2), CKR_OK);
	write_plan("C_Sign CKR_SESSION_HANDLE_INVALID 1\n");
	assert_int_equal(sign_once(s2, sig, &sig_len), CKR_SESSION_HANDLE_INVALID);
	/* the plan is used up: these failures come from the real module */
	assert_int_equal(p11->C_SignInit(s2, &mech, priv_key), CKR_SESSION_HANDLE_INVALID);
	assert_int_equal(p11->C_CloseSession(s2), CKR_SESSION_HANDLE_INVALID);
	/* the other session is untouched */
	sig_len = sizeof(sig);
	assert_int_equal(sign_once(sess, sig, &sig_len), CKR_OK);
	verify(sig, sig_len);
	assert_int_equal(log_count("C_Sign CKR_SESSION_HANDLE_INVALID"), 1);
	assert_int_equal(log_count("C_SignInit CKR_SESSION_HANDLE_INVALID"), 1);
}

static void
test_reload_on_change(void **state)
{
	CK_TOKEN_INFO ti;

	write_plan("C_GetTokenInfo CKR_DEVICE_REMOVED 1\n");
	assert_int_equal(p11->C_GetTokenInfo(slot, &ti), CKR_DEVICE_REMOVED);
	assert_int_equal(p11->C_GetTokenInfo(slot, &ti), CKR_OK);
	assert_int_equal(p11->C_GetTokenInfo(slot, &ti), CKR_OK);
	/* same text, new file: counters start again */
	write_plan("C_GetTokenInfo CKR_DEVICE_REMOVED 1\n");
	assert_int_equal(p11->C_GetTokenInfo(slot, &ti), CKR_DEVICE_REMOVED);
	assert_int_equal(p11->C_GetTokenInfo(slot, &ti), CKR_OK);
	/* rewritten in place */
	write_plan_in_place("C_GetTokenInfo CKR_TOKEN_NOT_PRESENT 2\n");
	assert_int_equal(p11->C_GetTokenInfo(slot, &ti), CKR_TOKEN_NOT_PRESENT);
	assert_int_equal(p11->C_GetTokenInfo(slot, &ti), CKR_TOKEN_NOT_PRESENT);
	assert_int_equal(p11->C_GetTokenInfo(slot, &ti), CKR_OK);
	write_plan_in_place("C_GetTokenInfo CKR_DEVICE_ERROR -1\n");
	assert_int_equal(p11->C_GetTokenInfo(slot, &ti), CKR_DEVICE_ERROR);
	/* removed: no faults */
	clear_plan();
	assert_int_equal(p11->C_GetTokenInfo(slot, &ti), CKR_OK);
	assert_int_equal(log_count("C_GetTokenInfo CKR_OK"), 5);
	assert_int_equal(log_count(NULL), 10);
}

static void
test_forever_until_rewritten(void **state)
{
	CK_SESSION_HANDLE s = 4242;
	CK_ULONG n = 0;
	int i;

	write_plan(
	    "C_OpenSession CKR_TOKEN_NOT_PRESENT -1\nC_FindObjectsInit CKR_DEVICE_ERROR -1\n");
	for (i = 0; i < 20; i++) {
		assert_int_equal(p11->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &s),
				 CKR_TOKEN_NOT_PRESENT);
		assert_int_equal(p11->C_FindObjectsInit(sess, NULL, 0), CKR_DEVICE_ERROR);
	}
	assert_int_equal(s, 4242);
	write_plan("# nothing\n");
	assert_int_equal(p11->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &s), CKR_OK);
	assert_int_equal(p11->C_CloseSession(s), CKR_OK);
	assert_int_equal(p11->C_FindObjectsInit(sess, NULL, 0), CKR_OK);
	assert_int_equal(p11->C_FindObjects(sess, &s, 1, &n), CKR_OK);
	assert_int_equal(p11->C_FindObjectsFinal(sess), CKR_OK);
	assert_int_equal(log_count("C_OpenSession CKR_TOKEN_NOT_PRESENT"), 20);
	assert_int_equal(log_count("C_FindObjectsInit CKR_DEVICE_ERROR"), 20);
	assert_int_equal(log_count("C_OpenSession CKR_OK"), 1);
}

static void
test_every_code_in_order(void **state)
{
	char text[2048] = "", line[128];
	CK_ULONG n;
	size_t i, count = sizeof(required_codes) / sizeof(required_codes[0]);

	for (i = 0; i < count; i++) {
		snprintf(line, sizeof(line), "C_GetSlotList %s 1\n", required_codes[i]);
		strcat(text, line);
	}
	write_plan(text);
	for (i = 0; i < count; i++) {
		assert_int_equal(p11->C_GetSlotList(CK_TRUE, NULL, &n), required_rvs[i]);
		snprintf(line, sizeof(line), "C_GetSlotList %s", required_codes[i]);
		assert_int_equal(log_count(line), 1);
	}
	assert_int_equal(p11->C_GetSlotList(CK_TRUE, NULL, &n), CKR_OK);
	assert_true(n >= 1);
}

static void
test_bad_lines_ignored(void **state)
{
	CK_TOKEN_INFO ti;

	write_plan("garbage\n"
		   "C_Nope CKR_DEVICE_ERROR 1\n"
		   "C_Login CKR_BOGUS 1\n"
		   "C_Login CKR_OK 1\n"
		   "C_Login CKR_PIN_LOCKED x\n"
		   "C_Login CKR_PIN_LOCKED -2\n"
		   "C_Login CKR_PIN_LOCKED 1 extra\n"
		   "C_Login CKR_PIN_LOCKED\n"
		   "C_GetTokenInfo CKR_DEVICE_ERROR 0\n"
		   "  # comment\n"
		   "\n"
		   "\tC_FindObjectsInit\tCKR_OBJECT_HANDLE_INVALID 1\n");
	assert_int_equal(login(), CKR_OK);
	assert_int_equal(p11->C_GetTokenInfo(slot, &ti), CKR_OK);
	assert_int_equal(p11->C_FindObjectsInit(sess, NULL, 0), CKR_OBJECT_HANDLE_INVALID);
	assert_int_equal(p11->C_FindObjectsInit(sess, NULL, 0), CKR_OK);
	assert_int_equal(p11->C_FindObjectsFinal(sess), CKR_OK);
}

static void
test_env_unset(void **state)
{
	CK_TOKEN_INFO ti;

	write_plan("C_GetTokenInfo CKR_DEVICE_ERROR -1\n");
	unsetenv("P11WRAP_FAULTS");
	unsetenv("P11WRAP_LOG");
	assert_int_equal(p11->C_GetTokenInfo(slot, &ti), CKR_OK);
	setenv("P11WRAP_LOG", log_path, 1);
	assert_int_equal(access(log_path, F_OK), -1);
	setenv("P11WRAP_FAULTS", plan_path, 1);
	assert_int_equal(p11->C_GetTokenInfo(slot, &ti), CKR_DEVICE_ERROR);
	assert_int_equal(log_count(NULL), 1);
}

static void *
thread_main(void *arg)
{
	unsigned *failed = arg;
	CK_TOKEN_INFO ti;
	int i;

	for (i = 0; i < CALLS_PER_THREAD; i++) {
		if (p11->C_GetTokenInfo(slot, &ti) == CKR_DEVICE_ERROR)
			(*failed)++;
	}
	return NULL;
}

/* Threads share the counters; threads and processes share the log. */
static void
test_shared_counters_and_log(void **state)
{
	pthread_t th[THREADS];
	unsigned failed[THREADS], total = 0;
	pid_t kids[CHILDREN];
	int i, j, st;

	write_plan("C_GetTokenInfo CKR_DEVICE_ERROR 100\n");
	for (i = 0; i < CHILDREN; i++) {
		kids[i] = fork();
		assert_true(kids[i] >= 0);
		if (kids[i] == 0) {
			CK_INFO info;

			for (j = 0; j < CALLS_PER_CHILD; j++) {
				if (p11->C_GetInfo(&info) != CKR_OK)
					_exit(1);
			}
			_exit(0);
		}
	}
	for (i = 0; i < THREADS; i++) {
		failed[i] = 0;
		assert_int_equal(pthread_create(&th[i], NULL, thread_main, &failed[i]), 0);
	}
	for (i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		total += failed[i];
	}
	for (i = 0; i < CHILDREN; i++) {
		assert_int_equal(waitpid(kids[i], &st, 0), kids[i]);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	assert_int_equal(total, 100);
	assert_int_equal(log_count("C_GetTokenInfo CKR_DEVICE_ERROR"), 100);
	assert_int_equal(log_count("C_GetTokenInfo CKR_OK"), THREADS * CALLS_PER_THREAD - 100);
	assert_int_equal(log_count("C_GetInfo CKR_OK"), CHILDREN * CALLS_PER_CHILD);
	assert_int_equal(log_count(NULL), THREADS * CALLS_PER_THREAD + CHILDREN * CALLS_PER_CHILD);
}

/* Run in a fresh process (see main): a module that cannot be loaded makes
 * C_GetFunctionList fail. */
static int
probe_bad_module(const char *path)
{
	CK_C_GetFunctionList get_list;
	CK_FUNCTION_LIST_PTR list = NULL;
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	int ok;

	if (h == NULL)
		return 2;
	get_list = (CK_C_GetFunctionList)dlsym(h, "C_GetFunctionList");
	ok = get_list != NULL && get_list(&list) == CKR_GENERAL_ERROR && list == NULL &&
	     get_list(NULL) == CKR_ARGUMENTS_BAD;
	dlclose(h);
	return ok ? 0 : 1;
}

static void
test_bad_module(void **state)
{
	pid_t pid = fork();
	int st;

	assert_true(pid >= 0);
	if (pid == 0) {
		char arg0[] = "test_p11wrap", arg1[] = "--probe-bad-module";
		char *argv[] = {arg0, arg1, wrapper, NULL};

		setenv("P11WRAP_MODULE", "/nonexistent/libnothing.so", 1);
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_login_logged_once, test_setup, test_teardown),
	    cmocka_unit_test_setup_teardown(test_login_pin_locked_once, test_setup, test_teardown),
	    cmocka_unit_test_setup_teardown(test_sign_device_error_twice, test_setup,
					    test_teardown),
	    cmocka_unit_test_setup_teardown(test_sign_session_lost, test_setup, test_teardown),
	    cmocka_unit_test_setup_teardown(test_reload_on_change, test_setup, test_teardown),
	    cmocka_unit_test_setup_teardown(test_forever_until_rewritten, test_setup,
					    test_teardown),
	    cmocka_unit_test_setup_teardown(test_every_code_in_order, test_setup, test_teardown),
	    cmocka_unit_test_setup_teardown(test_bad_lines_ignored, test_setup, test_teardown),
	    cmocka_unit_test_setup_teardown(test_env_unset, test_setup, test_teardown),
	    cmocka_unit_test_setup_teardown(test_shared_counters_and_log, test_setup,
					    test_teardown),
	    cmocka_unit_test(test_bad_module),
	};

	if (argc == 3 && strcmp(argv[1], "--probe-bad-module") == 0)
		return probe_bad_module(argv[2]);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

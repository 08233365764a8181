/*
 * common/harden.c: p11s_harden_process makes the process non-dumpable with
 * a core limit of 0, unless P11S_ALLOW_COREDUMP=1; another value is refused
 * and changes nothing.  Each case runs in a child (the limit cannot be
 * raised back).
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/harden.h"

/* In a child: set the variable (NULL: unset), harden, and report through
 * the exit status: bit 0 result as expected, bit 1 dumpable, bit 2 core
 * limit (soft and hard) 0, bit 3 *allowed. */
static int
run_child(const char *value, int expect_r)
{
	pid_t pid;
	int st;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit rl = {RLIM_INFINITY, RLIM_INFINITY}, now;
		int allowed = 7, r, code = 0;

		/* start from a process that could dump (as under ulimit -c unlimited) */
		(void)getrlimit(RLIMIT_CORE, &now);
		rl.rlim_max = now.rlim_max;
		rl.rlim_cur = now.rlim_max;
		if (rl.rlim_max == 0) /* the environment allows no core at all */
			_exit(64);
		(void)setrlimit(RLIMIT_CORE, &rl);
		(void)prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
		if (value != NULL)
			setenv(P11S_COREDUMP_ENV, value, 1);
		else
			unsetenv(P11S_COREDUMP_ENV);
		r = p11s_harden_process(&allowed);
		if (r == expect_r && (allowed == 0 || allowed == 1))
			code |= 1;
		if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 1)
			code |= 2;
		if (getrlimit(RLIMIT_CORE, &now) == 0 && now.rlim_cur == 0 && now.rlim_max == 0)
			code |= 4;
		if (allowed == 1)
			code |= 8;
		_exit(code);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	if (WEXITSTATUS(st) == 64)
		skip();
	return WEXITSTATUS(st);
}

static void
test_default_hardens(void **state)
{
	(void)state;
	/* result 0, not dumpable, limit 0, not allowed */
	assert_int_equal(run_child(NULL, 0), 1 | 4);
	assert_int_equal(run_child("", 0), 1 | 4);
	assert_int_equal(run_child("0", 0), 1 | 4);
}

static void
test_switch_allows(void **state)
{
	(void)state;
	/* result 0, still dumpable, limit unchanged, allowed */
	assert_int_equal(run_child("1", 0), 1 | 2 | 8);
}

static void
test_bad_value_refused(void **state)
{
	(void)state;
	/* P11S_E_INVAL, nothing changed (still dumpable, limit unchanged) */
	assert_int_equal(run_child("yes", P11S_E_INVAL), 1 | 2);
	assert_int_equal(run_child("10", P11S_E_INVAL), 1 | 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_default_hardens),
	    cmocka_unit_test(test_switch_allows),
	    cmocka_unit_test(test_bad_value_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

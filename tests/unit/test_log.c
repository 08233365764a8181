/*
 * common/log.c: the rate limit for repeated events (p11s_ratelimit_*) with
 * an explicit clock, and the lines p11s_log_rl writes (stderr captured).
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/log.h"

#define S 1000000000ull

static void
test_burst_then_count(void **state)
{
	p11s_ratelimit rl = P11S_RATELIMIT_INIT("idle connections closed", 60, 3);
	unsigned long report = 99;
	int i, logged = 0;

	(void)state;
	/* 20,000 events within one window: 3 lines, the rest counted */
	for (i = 0; i < 20000; i++) {
		logged += p11s_ratelimit_hit(&rl, 5 * S + (uint64_t)i * 1000, &report);
		assert_int_equal(report, 0);
	}
	assert_int_equal(logged, 3);
	/* nothing is due before the window ends */
	assert_int_equal(p11s_ratelimit_due(&rl, 64 * S), 0);
	/* the next event after the window reports the count and is logged */
	assert_int_equal(p11s_ratelimit_hit(&rl, 65 * S, &report), 1);
	assert_int_equal(report, 19997);
	/* a new window: its own burst */
	assert_int_equal(p11s_ratelimit_hit(&rl, 66 * S, &report), 1);
	assert_int_equal(p11s_ratelimit_hit(&rl, 67 * S, &report), 1);
	assert_int_equal(p11s_ratelimit_hit(&rl, 68 * S, &report), 0);
	assert_int_equal(report, 0);
	/* a periodic flush reports it once, then nothing */
	assert_int_equal(p11s_ratelimit_due(&rl, 124 * S), 0);
	assert_int_equal(p11s_ratelimit_due(&rl, 125 * S), 1);
	assert_int_equal(p11s_ratelimit_due(&rl, 300 * S), 0);
	assert_int_equal(p11s_ratelimit_hit(&rl, 301 * S, &report), 1);
	assert_int_equal(report, 0);
}

static void
test_quiet_events_never_suppressed(void **state)
{
	p11s_ratelimit rl = P11S_RATELIMIT_INIT("x", 60, 1);
	unsigned long report;
	uint64_t t;

	(void)state;
	/* one event a minute or slower: every one logged, nothing counted */
	for (t = 1; t < 100; t++) {
		assert_int_equal(p11s_ratelimit_hit(&rl, t * 61 * S, &report), 1);
		assert_int_equal(report, 0);
	}
	/* a zero clock still starts a window */
	rl = (p11s_ratelimit)P11S_RATELIMIT_INIT("x", 60, 1);
	assert_int_equal(p11s_ratelimit_hit(&rl, 0, &report), 1);
	assert_int_equal(p11s_ratelimit_hit(&rl, 0, &report), 0);
}

static void
test_log_lines(void **state)
{
	static p11s_ratelimit rl = P11S_RATELIMIT_INIT("connections closed", 1, 2);
	char path[] = "/tmp/test_log.XXXXXX";
	char buf[8192];
	int fd, saved, i;
	size_t n;
	FILE *f;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	fflush(stderr);
	assert_true(dup2(fd, STDERR_FILENO) >= 0);
	p11s_log_init("test", 0, LOG_INFO);
	for (i = 0; i < 1000; i++)
		log_info_rl(&rl, "closed connection %d", i);
	/* below the level: not even counted */
	log_debug("ignored");
	sleep(1);
	p11s_log_rl_flush(&rl, LOG_INFO, __func__, __LINE__);
	p11s_log_rl_flush(&rl, LOG_INFO, __func__, __LINE__);
	fflush(stderr);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	f = fdopen(fd, "r");
	assert_non_null(f);
	rewind(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	unlink(path);
	assert_string_equal(buf, "test: info: closed connection 0\n"
				 "test: info: closed connection 1\n"
				 "test: info: connections closed: 998 more in the last 1 s\n");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_burst_then_count),
	    cmocka_unit_test(test_quiet_events_never_suppressed),
	    cmocka_unit_test(test_log_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

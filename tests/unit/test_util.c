/*
 * common/util.c p11s_read_file: a key file lands in one buffer that is never
 * grown (no realloc, so no unwiped copy is left on the heap) and is wiped
 * before it is freed on a refusal.  This program is linked with
 * -Wl,--wrap=malloc,--wrap=realloc,--wrap=free so that it sees the
 * allocations of libcommon.a.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/util.h"

void *__real_malloc(size_t n);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
void *__wrap_malloc(size_t n);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);

#define TRACK_MAX 64

static struct {
	int on;
	unsigned mallocs, reallocs, frees_unwiped, frees_wiped;
	size_t biggest;
	void *ptr[TRACK_MAX];
	size_t size[TRACK_MAX];
} tr;

void *
__wrap_malloc(size_t n)
{
	void *p = __real_malloc(n);

	if (tr.on && p != NULL) {
		tr.mallocs++;
		if (n > tr.biggest)
			tr.biggest = n;
		for (int i = 0; i < TRACK_MAX; i++)
			if (tr.ptr[i] == NULL) {
				tr.ptr[i] = p;
				tr.size[i] = n;
				break;
			}
	}
	return p;
}

void *
__wrap_realloc(void *p, size_t n)
{
	if (tr.on)
		tr.reallocs++;
	return __real_realloc(p, n);
}

void
__wrap_free(void *p)
{
	if (tr.on && p != NULL)
		for (int i = 0; i < TRACK_MAX; i++)
			if (tr.ptr[i] == p) {
				const uint8_t *b = p;
				size_t k;

				for (k = 0; k < tr.size[i] && b[k] == 0; k++)
					;
				if (k == tr.size[i])
					tr.frees_wiped++;
				else
					tr.frees_unwiped++;
				tr.ptr[i] = NULL;
				break;
			}
	__real_free(p);
}

static void
track_start(void)
{
	memset(&tr, 0, sizeof(tr));
	tr.on = 1;
}

/* A file of n bytes of a recognisable non-zero pattern; returns its path. */
static void
make_file(char *path, size_t pathlen, size_t n)
{
	uint8_t *b = __real_malloc(n);
	int fd;

	assert_non_null(b);
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(0x41 + i % 23);
	snprintf(path, pathlen, "%s/p11s-read-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	assert_true((fd = mkstemp(path)) >= 0);
	assert_int_equal(write(fd, b, n), (ssize_t)n);
	assert_int_equal(close(fd), 0);
	__real_free(b);
}

static void
test_20k_one_buffer(void **state)
{
	char path[256];
	uint8_t *buf = NULL;
	size_t len = 0;

	(void)state;
	make_file(path, sizeof(path), 20 * 1024);
	track_start();
	assert_int_equal(p11s_read_file(path, 1u << 20, &buf, &len), 0);
	tr.on = 0;
	assert_int_equal(len, 20 * 1024);
	assert_int_equal(buf[0], 0x41);
	assert_int_equal(buf[len], '\0');
	/* one allocation, of the file's size (plus the NUL and the probe byte),
	 * and never a realloc: a realloc leaves the old block unwiped */
	assert_int_equal(tr.reallocs, 0);
	assert_int_equal(tr.mallocs, 1);
	assert_true(tr.biggest >= len + 1 && tr.biggest <= len + 2);
	assert_int_equal(tr.frees_unwiped, 0);
	free(buf);
	unlink(path);
}

static void
test_too_big_wiped(void **state)
{
	char path[256];
	static uint8_t junk[1];
	uint8_t *buf = junk;
	size_t len = 7;

	(void)state;
	make_file(path, sizeof(path), 20 * 1024);
	track_start();
	assert_int_equal(p11s_read_file(path, 16 * 1024, &buf, &len), P11S_E_IO);
	tr.on = 0;
	assert_null(buf);
	assert_int_equal(len, 0);
	assert_non_null(strstr(p11s_errmsg(P11S_E_IO), "larger than 16384 bytes"));
	assert_int_equal(tr.reallocs, 0);
	assert_int_equal(tr.frees_unwiped, 0);
	unlink(path);
}

/* A pipe has no size: the buffer is the bound; the bytes are read, or a
 * longer input is refused with its buffer wiped. */
static void
pipe_read(size_t n, size_t max, int expect)
{
	int fds[2];
	char path[64];
	uint8_t *data, *buf = NULL;
	size_t len = 0;

	assert_int_equal(pipe(fds), 0);
	data = __real_malloc(n);
	assert_non_null(data);
	memset(data, 0x5a, n);
	assert_int_equal(write(fds[1], data, n), (ssize_t)n);
	assert_int_equal(close(fds[1]), 0);
	snprintf(path, sizeof(path), "/dev/fd/%d", fds[0]);
	track_start();
	assert_int_equal(p11s_read_file(path, max, &buf, &len), expect);
	tr.on = 0;
	assert_int_equal(tr.reallocs, 0);
	assert_int_equal(tr.frees_unwiped, 0);
	if (expect == 0) {
		assert_int_equal(len, n);
		assert_memory_equal(buf, data, n);
		free(buf);
	} else {
		assert_null(buf);
	}
	close(fds[0]);
	__real_free(data);
}

static void
test_pipe(void **state)
{
	(void)state;
	pipe_read(10 * 1024, 16 * 1024, 0);
	pipe_read(10 * 1024, 10 * 1024, 0);
	pipe_read(10 * 1024, 8 * 1024, P11S_E_IO);
}

static void
test_directory_refused(void **state)
{
	uint8_t *buf = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(p11s_read_file("/", 4096, &buf, &len), P11S_E_IO);
	assert_null(buf);
	assert_non_null(strstr(p11s_errmsg(P11S_E_IO), "is a directory"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_20k_one_buffer),
	    cmocka_unit_test(test_too_big_wiped),
	    cmocka_unit_test(test_pipe),
	    cmocka_unit_test(test_directory_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for common/pin.c: secret sources file:, env:, fd: (prompt needs a
 * terminal and is exercised only for its syntax). */
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

#include "common/pin.h"

#define SECRET "S3cr3t-PIN-9731"

static char dir[256];

static int
group_setup(void **state)
{
	const char *tmp = getenv("TMPDIR");

	(void)state;
	snprintf(dir, sizeof(dir), "%s/p11s-pin-XXXXXX",
		 tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	return rmdir(dir);
}

/* Write `len` bytes to DIR/name; the source "file:DIR/name" into src. */
static void
put_file(const char *name, const char *data, size_t len, char *src, size_t srclen)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	snprintf(src, srclen, "file:%s", path);
}

static void
drop_file(const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(unlink(path), 0);
}

static void
read_ok(const char *source, const char *want, size_t want_len)
{
	p11s_secret *s = NULL;

	assert_int_equal(p11s_secret_read(source, "PIN", &s), 0);
	assert_non_null(s);
	assert_int_equal(s->len, want_len);
	assert_memory_equal(s->buf, want, want_len);
	assert_int_equal(s->buf[s->len], '\0');
	p11s_secret_free(s);
}

/* Refused with P11S_E_PIN_SOURCE, *out untouched (NULL), message contains
 * `why` and never the secret. */
static void
read_bad(const char *source, const char *why)
{
	p11s_secret *s = (p11s_secret *)&s;
	const char *msg;

	assert_int_equal(p11s_secret_read(source, "PIN", &s), P11S_E_PIN_SOURCE);
	assert_null(s);
	msg = p11s_errmsg(P11S_E_PIN_SOURCE);
	if (strstr(msg, why) == NULL)
		fail_msg("message lacks \"%s\": %s", why, msg);
	assert_null(strstr(msg, SECRET));
	assert_null(strstr(msg, "S3cr3t"));
}

static void
test_file_with_and_without_newline(void **state)
{
	char src[600];

	(void)state;
	put_file("nl", SECRET "\n", strlen(SECRET) + 1, src, sizeof(src));
	read_ok(src, SECRET, strlen(SECRET));
	drop_file("nl");
	put_file("bare", SECRET, strlen(SECRET), src, sizeof(src));
	read_ok(src, SECRET, strlen(SECRET));
	drop_file("bare");
	put_file("crlf", SECRET "\r\n", strlen(SECRET) + 2, src, sizeof(src));
	read_ok(src, SECRET, strlen(SECRET));
	drop_file("crlf");
	/* only the first line is the secret; inner spaces are kept */
	put_file("two", "12 34\nignored\n", 14, src, sizeof(src));
	read_ok(src, "12 34", 5);
	drop_file("two");
	assert_int_equal(p11s_secret_source_rereadable(src), 1);
}

static void
test_file_lengths(void **state)
{
	char src[600], data[P11S_SECRET_MAX + 3];

	(void)state;
	memset(data, 'a', sizeof(data));
	/* exactly the maximum, with LF, with CRLF and without */
	put_file("max", data, P11S_SECRET_MAX, src, sizeof(src));
	read_ok(src, data, P11S_SECRET_MAX);
	drop_file("max");
	data[P11S_SECRET_MAX] = '\n';
	put_file("maxlf", data, P11S_SECRET_MAX + 1, src, sizeof(src));
	read_ok(src, data, P11S_SECRET_MAX);
	drop_file("maxlf");
	data[P11S_SECRET_MAX] = '\r';
	data[P11S_SECRET_MAX + 1] = '\n';
	put_file("maxcrlf", data, P11S_SECRET_MAX + 2, src, sizeof(src));
	read_ok(src, data, P11S_SECRET_MAX);
	drop_file("maxcrlf");
	/* one byte too many, and a CR that is not the line end */
	memset(data, 'a', sizeof(data));
	put_file("long", data, P11S_SECRET_MAX + 1, src, sizeof(src));
	read_bad(src, "longer than 256 bytes");
	drop_file("long");
	data[P11S_SECRET_MAX] = '\r';
	put_file("longcr", data, P11S_SECRET_MAX + 2, src, sizeof(src));
	read_bad(src, "longer than 256 bytes");
	drop_file("longcr");
}

static void
test_file_errors(void **state)
{
	char src[600], data[400];
	size_t i;

	(void)state;
	snprintf(src, sizeof(src), "file:%s/missing", dir);
	read_bad(src, "cannot open the PIN file");
	read_bad(src, "No such file or directory");
	read_bad(src, "/missing");
	snprintf(src, sizeof(src), "file:%s", dir);
	read_bad(src, "Is a directory");
	put_file("empty", "", 0, src, sizeof(src));
	read_bad(src, "is empty");
	read_bad(src, src); /* names the source */
	drop_file("empty");
	put_file("nl-only", "\r\n", 2, src, sizeof(src));
	read_bad(src, "is empty");
	drop_file("nl-only");
	/* a too-long secret is not echoed */
	for (i = 0; i + strlen(SECRET) < sizeof(data); i += strlen(SECRET))
		memcpy(data + i, SECRET, strlen(SECRET));
	put_file("longsecret", data, i, src, sizeof(src));
	read_bad(src, "longer than");
	drop_file("longsecret");
}

static void
test_env(void **state)
{
	char big[P11S_SECRET_MAX + 2];

	(void)state;
	assert_int_equal(setenv("P11S_TEST_PIN", SECRET, 1), 0);
	read_ok("env:P11S_TEST_PIN", SECRET, strlen(SECRET));
	assert_int_equal(p11s_secret_source_rereadable("env:P11S_TEST_PIN"), 1);
	/* one trailing newline is dropped, as for files (pin.h) */
	assert_int_equal(setenv("P11S_TEST_PIN", SECRET "\n", 1), 0);
	read_ok("env:P11S_TEST_PIN", SECRET, strlen(SECRET));
	assert_int_equal(setenv("P11S_TEST_PIN", SECRET "\r\n", 1), 0);
	read_ok("env:P11S_TEST_PIN", SECRET, strlen(SECRET));
	memset(big, 'b', P11S_SECRET_MAX);
	big[P11S_SECRET_MAX] = '\n';
	big[P11S_SECRET_MAX + 1] = '\0';
	assert_int_equal(setenv("P11S_TEST_PIN", big, 1), 0);
	read_ok("env:P11S_TEST_PIN", big, P11S_SECRET_MAX);
	big[P11S_SECRET_MAX] = 'b';
	assert_int_equal(setenv("P11S_TEST_PIN", big, 1), 0);
	read_bad("env:P11S_TEST_PIN", "longer than 256 bytes");
	assert_int_equal(setenv("P11S_TEST_PIN", "", 1), 0);
	read_bad("env:P11S_TEST_PIN", "is empty");
	read_bad("env:P11S_TEST_PIN", "env:P11S_TEST_PIN");
	assert_int_equal(setenv("P11S_TEST_PIN", "\n", 1), 0);
	read_bad("env:P11S_TEST_PIN", "is empty");
	assert_int_equal(unsetenv("P11S_TEST_PIN"), 0);
	read_bad("env:P11S_TEST_PIN",
		 "environment variable P11S_TEST_PIN holding the PIN is not set");
}

static void
test_fd(void **state)
{
	int p[2];
	char src[32];

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], SECRET "\nrest", strlen(SECRET) + 5),
			 (ssize_t)strlen(SECRET) + 5);
	assert_int_equal(close(p[1]), 0);
	snprintf(src, sizeof(src), "fd:%d", p[0]);
	read_ok(src, SECRET, strlen(SECRET));
	assert_int_equal(p11s_secret_source_rereadable(src), 0);
	/* the descriptor stays open and positioned after the first line */
	read_ok(src, "rest", 4);
	/* then EOF: empty */
	read_bad(src, "is empty");
	assert_int_equal(close(p[0]), 0);
	/* a descriptor that is not open */
	read_bad(src, "cannot read the PIN from");
	read_bad(src, "Bad file descriptor");
}

static void
test_fd_too_long(void **state)
{
	int p[2];
	char src[32], data[P11S_SECRET_MAX + 1];

	(void)state;
	memset(data, 'c', sizeof(data));
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], data, sizeof(data)), (ssize_t)sizeof(data));
	assert_int_equal(close(p[1]), 0);
	snprintf(src, sizeof(src), "fd:%d", p[0]);
	read_bad(src, "longer than 256 bytes");
	assert_int_equal(close(p[0]), 0);
}

/* credential:NAME reads $CREDENTIALS_DIRECTORY/NAME (systemd LoadCredential=). */
static void
test_credential(void **state)
{
	char src[600];

	(void)state;
	assert_int_equal(unsetenv("CREDENTIALS_DIRECTORY"), 0);
	read_bad("credential:pin", "CREDENTIALS_DIRECTORY is not set");
	read_bad("credential:pin", "LoadCredential=pin:FILE");
	assert_int_equal(setenv("CREDENTIALS_DIRECTORY", dir, 1), 0);
	read_bad("credential:pin", "cannot read the PIN credential pin");
	read_bad("credential:pin", "No such file or directory");
	put_file("pin", SECRET "\n", strlen(SECRET) + 1, src, sizeof(src));
	read_ok("credential:pin", SECRET, strlen(SECRET));
	drop_file("pin");
	put_file("pin", "", 0, src, sizeof(src));
	read_bad("credential:pin", "is empty");
	drop_file("pin");
	assert_int_equal(unsetenv("CREDENTIALS_DIRECTORY"), 0);
}

static void
check_bad(const char *source)
{
	static const char accepted[] = "file:PATH, env:NAME, fd:N, credential:NAME or prompt";
	const char *msg;

	assert_int_equal(p11s_secret_source_check(source), P11S_E_PIN_SOURCE);
	msg = p11s_errmsg(P11S_E_PIN_SOURCE);
	assert_non_null(strstr(msg, "file:PATH, env:NAME, fd:N, credential:NAME or prompt"));
	/* never echoed (sources like "file:" are part of the accepted forms) */
	if (source != NULL && *source != '\0' && strstr(accepted, source) == NULL)
		assert_null(strstr(msg, source));
}

static void
test_malformed_sources(void **state)
{
	p11s_secret *s = (p11s_secret *)&s;

	(void)state;
	assert_int_equal(p11s_secret_source_check("file:/etc/p11-signer/pin"), 0);
	assert_int_equal(p11s_secret_source_check("env:PIN"), 0);
	assert_int_equal(p11s_secret_source_check("fd:0"), 0);
	assert_int_equal(p11s_secret_source_check("fd:2147483647"), 0);
	assert_int_equal(p11s_secret_source_check("prompt"), 0);
	check_bad(NULL);
	check_bad("");
	check_bad(SECRET); /* the PIN itself: refused and not echoed */
	check_bad("123456");
	check_bad("file:");
	check_bad("env:");
	check_bad("fd:");
	check_bad("fd:x");
	check_bad("fd:-1");
	check_bad("fd: 3");
	check_bad("fd:+3");
	check_bad("fd:3 ");
	check_bad("fd:2147483648");
	check_bad("File:/etc/pin");
	check_bad("prompt:");
	check_bad("PROMPT");
	check_bad("credential:");
	check_bad("credential:../pin");
	check_bad("credential:..");
	check_bad("credential:a/b");
	assert_int_equal(p11s_secret_source_check("credential:pin"), 0);
	assert_int_equal(p11s_secret_source_rereadable("credential:pin"), 1);
	assert_int_equal(p11s_secret_source_rereadable("prompt"), 0);
	assert_int_equal(p11s_secret_source_rereadable(NULL), 0);
	/* p11s_secret_read refuses the same without reading anything */
	assert_int_equal(p11s_secret_read(SECRET, "PIN", &s), P11S_E_PIN_SOURCE);
	assert_null(s);
	assert_null(strstr(p11s_errmsg(P11S_E_PIN_SOURCE), SECRET));
	p11s_secret_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_file_with_and_without_newline),
	    cmocka_unit_test(test_file_lengths),
	    cmocka_unit_test(test_file_errors),
	    cmocka_unit_test(test_env),
	    cmocka_unit_test(test_fd),
	    cmocka_unit_test(test_fd_too_long),
	    cmocka_unit_test(test_malformed_sources),
	    cmocka_unit_test(test_credential),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/lib/testtoken.h"

static void
die(const char *what)
{
	fprintf(stderr, "test token: %s\n", what);
	abort();
}

/* execv() takes char *const[] for historical reasons; it does not modify the strings. */
static char *
arg(const char *s)
{
	union {
		const char *c;
		char *v;
	} u = { .c = s };

	return u.v;
}

static void
run(char *const argv[])
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		die("fork failed");
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (null >= 0)
			dup2(null, 1);
		execv(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		die(argv[0]);
}

/* snprintf that refuses to truncate a path */
static void __attribute__((format(printf, 3, 4)))
fmt_path(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len)
		die("path too long");
}

static const char *
util_path(void)
{
	const char *u = getenv("SOFTHSM2_UTIL");

	return u != NULL && *u != '\0' ? u : "/usr/bin/softhsm2-util";
}

void
test_token_add(struct test_token *t, const char *label)
{
	char *argv[] = { arg(util_path()), arg("--init-token"), arg("--free"), arg("--label"),
			 arg(label), arg("--pin"), arg(TEST_PIN), arg("--so-pin"), arg(TEST_SO_PIN),
			 NULL };

	run(argv);
}

void
test_token_create(struct test_token *t, const char *label)
{
	const char *tmp = getenv("TMPDIR");
	char path[PATH_MAX + 32];
	FILE *f;

	memset(t, 0, sizeof(*t));
	fmt_path(t->dir, sizeof(t->dir), "%s/p11s-test-XXXXXX", tmp != NULL ? tmp : "/tmp");
	if (mkdtemp(t->dir) == NULL)
		die("mkdtemp failed");
	fmt_path(path, sizeof(path), "%s/tokens", t->dir);
	if (mkdir(path, 0700) != 0)
		die("mkdir tokens failed");
	fmt_path(t->conf, sizeof(t->conf), "%s/softhsm2.conf", t->dir);
	if ((f = fopen(t->conf, "w")) == NULL)
		die("cannot write softhsm2.conf");
	fprintf(f, "directories.tokendir = %s/tokens\nobjectstore.backend = file\n"
		   "slots.removable = false\nlog.level = ERROR\n", t->dir);
	fclose(f);
	setenv("SOFTHSM2_CONF", t->conf, 1);
	fmt_path(path, sizeof(path), "%s/pin", t->dir);
	if ((f = fopen(path, "w")) == NULL)
		die("cannot write pin file");
	fprintf(f, "%s\n", TEST_PIN);
	fclose(f);
	fmt_path(t->pin_source, sizeof(t->pin_source), "file:%s", path);
	fmt_path(t->lock_file, sizeof(t->lock_file), "%s/token.lock", t->dir);
	fmt_path(t->label, sizeof(t->label), "%s", label);
	fmt_path(t->uri, sizeof(t->uri), "pkcs11:token=%s?module-path=%s", label, SOFTHSM_MODULE);
	test_token_add(t, label);
}

void
test_token_destroy(struct test_token *t)
{
	char *argv[] = { arg("/bin/rm"), arg("-rf"), t->dir, NULL };

	if (t->dir[0] != '\0')
		run(argv);
}

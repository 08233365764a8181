#include "config.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* snprintf that aborts on truncation (paths here must fit). */
static void fmt(char *out, size_t len, const char *f, ...) __attribute__((format(printf, 3, 4)));

static void
fmt(char *out, size_t len, const char *f, ...)
{
	va_list ap;
	int n;

	va_start(ap, f);
	n = vsnprintf(out, len, f, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len)
		die("path too long");
}

/* Run a program (argv NULL-terminated); abort unless it exits 0. */
static void
run(const char *prog, ...)
{
	char *argv[16];
	size_t n = 0;
	va_list ap;
	pid_t pid;
	int st;

	argv[n++] = strdup(prog);
	va_start(ap, prog);
	for (const char *a; n < 15 && (a = va_arg(ap, const char *)) != NULL;)
		argv[n++] = strdup(a);
	va_end(ap);
	argv[n] = NULL;
	if ((pid = fork()) < 0)
		die("fork failed");
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (null >= 0)
			dup2(null, 1);
		execv(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		die(prog);
	for (size_t i = 0; i < n; i++)
		free(argv[i]);
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
	(void)t;
	run(util_path(), "--init-token", "--free", "--label", label, "--pin", TEST_PIN, "--so-pin",
	    TEST_SO_PIN, (const char *)NULL);
}

void
test_token_create(struct test_token *t, const char *label)
{
	const char *tmp = getenv("TMPDIR");
	char path[PATH_MAX];
	FILE *f;

	memset(t, 0, sizeof(*t));
	fmt(t->dir, sizeof(t->dir), "%s/p11s-test-XXXXXX", tmp != NULL ? tmp : "/tmp");
	if (mkdtemp(t->dir) == NULL)
		die("mkdtemp failed");
	fmt(path, sizeof(path), "%s/tokens", t->dir);
	if (mkdir(path, 0700) != 0)
		die("mkdir tokens failed");
	fmt(t->conf, sizeof(t->conf), "%s/softhsm2.conf", t->dir);
	if ((f = fopen(t->conf, "w")) == NULL)
		die("cannot write softhsm2.conf");
	fprintf(f,
		"directories.tokendir = %s/tokens\nobjectstore.backend = file\n"
		"slots.removable = false\nlog.level = ERROR\n",
		t->dir);
	fclose(f);
	setenv("SOFTHSM2_CONF", t->conf, 1);
	fmt(path, sizeof(path), "%s/pin", t->dir);
	if ((f = fopen(path, "w")) == NULL)
		die("cannot write pin file");
	fprintf(f, "%s\n", TEST_PIN);
	fclose(f);
	fmt(t->pin_source, sizeof(t->pin_source), "file:%s", path);
	fmt(t->lock_file, sizeof(t->lock_file), "%s/token.lock", t->dir);
	fmt(t->label, sizeof(t->label), "%s", label);
	fmt(t->uri, sizeof(t->uri), "pkcs11:token=%s?module-path=%s", label, SOFTHSM_MODULE);
	test_token_add(t, label);
}

void
test_token_destroy(struct test_token *t)
{
	if (t->dir[0] != '\0')
		run("/bin/rm", "-rf", t->dir, (const char *)NULL);
}

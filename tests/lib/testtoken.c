#include "config.h"

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

static void
run(char *const argv[])
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		die("fork failed");
	if (pid == 0) {
		int null = open("/dev/null", 1);

		if (null >= 0)
			dup2(null, 1);
		execv(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		die(argv[0]);
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
	char *argv[] = { (char *)util_path(), "--init-token", "--free", "--label", (char *)label,
			 "--pin", TEST_PIN, "--so-pin", TEST_SO_PIN, NULL };

	run(argv);
}

void
test_token_create(struct test_token *t, const char *label)
{
	const char *tmp = getenv("TMPDIR");
	char path[PATH_MAX + 32];
	FILE *f;

	memset(t, 0, sizeof(*t));
	snprintf(t->dir, sizeof(t->dir), "%s/p11s-test-XXXXXX", tmp != NULL ? tmp : "/tmp");
	if (mkdtemp(t->dir) == NULL)
		die("mkdtemp failed");
	snprintf(path, sizeof(path), "%s/tokens", t->dir);
	if (mkdir(path, 0700) != 0)
		die("mkdir tokens failed");
	snprintf(t->conf, sizeof(t->conf), "%s/softhsm2.conf", t->dir);
	if ((f = fopen(t->conf, "w")) == NULL)
		die("cannot write softhsm2.conf");
	fprintf(f, "directories.tokendir = %s/tokens\nobjectstore.backend = file\n"
		   "slots.removable = false\nlog.level = ERROR\n", t->dir);
	fclose(f);
	setenv("SOFTHSM2_CONF", t->conf, 1);
	snprintf(path, sizeof(path), "%s/pin", t->dir);
	if ((f = fopen(path, "w")) == NULL)
		die("cannot write pin file");
	fprintf(f, "%s\n", TEST_PIN);
	fclose(f);
	snprintf(t->pin_source, sizeof(t->pin_source), "file:%s", path);
	snprintf(t->lock_file, sizeof(t->lock_file), "%s/token.lock", t->dir);
	snprintf(t->label, sizeof(t->label), "%s", label);
	snprintf(t->uri, sizeof(t->uri), "pkcs11:token=%s?module-path=%s", label, SOFTHSM_MODULE);
	test_token_add(t, label);
}

void
test_token_destroy(struct test_token *t)
{
	char *argv[] = { "/bin/rm", "-rf", t->dir, NULL };

	if (t->dir[0] != '\0')
		run(argv);
}

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "common/pin.h"
#include "common/util.h"

static const char accepted[] = "use file:PATH, env:NAME, fd:N, credential:NAME or prompt";

/* A systemd credential name: a file name inside $CREDENTIALS_DIRECTORY. */
static int
valid_credential(const char *name)
{
	return *name != '\0' && strchr(name, '/') == NULL && strcmp(name, ".") != 0 &&
	       strcmp(name, "..") != 0;
}

/* Decimal digits only: strtol would also take " 3" and "+3". */
static int
parse_fd(const char *s, int *fd)
{
	long v = 0;

	if (*s == '\0')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		v = v * 10 + (*s - '0');
		if (v > INT_MAX)
			return -1;
	}
	if (*s != '\0')
		return -1;
	*fd = (int)v;
	return 0;
}

int
p11s_secret_source_check(const char *source)
{
	int fd;

	if (source == NULL || *source == '\0')
		return p11s_fail(P11S_E_PIN_SOURCE, "empty secret source: %s", accepted);
	if (strncmp(source, "file:", 5) == 0 && source[5] != '\0')
		return 0;
	if (strncmp(source, "env:", 4) == 0 && source[4] != '\0')
		return 0;
	if (strncmp(source, "fd:", 3) == 0 && parse_fd(source + 3, &fd) == 0)
		return 0;
	if (strncmp(source, "credential:", 11) == 0 && valid_credential(source + 11))
		return 0;
	if (strcmp(source, "prompt") == 0)
		return 0;
	/* Never echo the source back: a user may have typed the PIN itself. */
	return p11s_fail(P11S_E_PIN_SOURCE,
			 "unrecognised secret source (the value is not shown): %s", accepted);
}

int
p11s_secret_source_rereadable(const char *source)
{
	return source != NULL &&
	       (strncmp(source, "file:", 5) == 0 || strncmp(source, "env:", 4) == 0 ||
		strncmp(source, "credential:", 11) == 0);
}

/*
 * Read at most P11S_SECRET_MAX bytes up to EOF or the first newline.  A "\r"
 * right after the maximum is accepted when it ends the line ("\r\n" or EOF).
 */
static int
read_fd_line(int fd, p11s_secret *s, const char *what, const char *where)
{
	char c = 0;
	int r = P11S_E_INTERNAL, cr_at_max = 0;

	for (;;) {
		ssize_t n = read(fd, &c, 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = p11s_fail(P11S_E_PIN_SOURCE, "cannot read the %s from %s: %s", what,
				      where, strerror(errno));
			goto out;
		}
		if (n == 0 || c == '\n')
			break;
		if (cr_at_max || (s->len == P11S_SECRET_MAX && c != '\r')) {
			r = p11s_fail(P11S_E_PIN_SOURCE, "the %s from %s is longer than %d bytes",
				      what, where, P11S_SECRET_MAX);
			goto out;
		}
		if (s->len == P11S_SECRET_MAX)
			cr_at_max = 1;
		else
			s->buf[s->len++] = c;
	}
	if (!cr_at_max && s->len > 0 && s->buf[s->len - 1] == '\r')
		s->len--;
	s->buf[s->len] = '\0';
	r = 0;
out:
	OPENSSL_cleanse(&c, sizeof(c));
	return r;
}

/* credential:NAME: $CREDENTIALS_DIRECTORY/NAME, as systemd's LoadCredential=
 * and LoadCredentialEncrypted= provide it. */
static int
read_credential(p11s_secret *s, const char *what, const char *name)
{
	const char *dir = getenv("CREDENTIALS_DIRECTORY");
	char path[PATH_MAX];
	int fd, r;

	if (dir == NULL || *dir == '\0')
		return p11s_fail(P11S_E_PIN_SOURCE,
				 "the %s source is credential:%s but CREDENTIALS_DIRECTORY is not "
				 "set; expected a systemd unit with LoadCredential=%s:FILE (or "
				 "LoadCredentialEncrypted=), or use file:, env: or fd:",
				 what, name, name);
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return p11s_fail(P11S_E_PIN_SOURCE, "the %s credential path %s/%s is too long",
				 what, dir, name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return p11s_fail(P11S_E_PIN_SOURCE,
				 "cannot read the %s credential %s (%s): %s; expected "
				 "LoadCredential=%s:FILE in the unit",
				 what, name, path, strerror(errno), name);
	r = read_fd_line(fd, s, what, path);
	close(fd);
	return r;
}

static int
read_prompt(p11s_secret *s, const char *what)
{
	struct termios old, quiet;
	int fd, r;

	if ((fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY)) < 0)
		return p11s_fail(
		    P11S_E_PIN_SOURCE,
		    "the %s source is 'prompt' but there is no terminal; use file:, env: or fd:",
		    what);
	if (tcgetattr(fd, &old) != 0) {
		close(fd);
		return p11s_fail(P11S_E_PIN_SOURCE, "cannot prompt for the %s: not a terminal",
				 what);
	}
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	/* echo off and typeahead dropped before the prompt: what is typed after
	 * it (or written by a program that waits for it) is kept */
	(void)tcsetattr(fd, TCSAFLUSH, &quiet);
	dprintf(fd, "Enter %s: ", what);
	r = read_fd_line(fd, s, what, "the terminal");
	(void)tcsetattr(fd, TCSAFLUSH, &old);
	dprintf(fd, "\n");
	close(fd);
	return r;
}

int
p11s_secret_read(const char *source, const char *what, p11s_secret **out)
{
	p11s_secret *s = NULL;
	size_t len;
	int r, fd;

	*out = NULL;
	if ((r = p11s_secret_source_check(source)) != 0)
		return r;
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->buf = p11s_secure_alloc(P11S_SECRET_MAX + 1)) == NULL) {
		free(s);
		return p11s_fail(P11S_E_NOMEM, "out of memory");
	}
	if (strncmp(source, "file:", 5) == 0) {
		const char *path = source + 5;

		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
			r = p11s_fail(P11S_E_PIN_SOURCE, "cannot open the %s file %s: %s", what,
				      path, strerror(errno));
			goto out;
		}
		r = read_fd_line(fd, s, what, path);
		close(fd);
	} else if (strncmp(source, "env:", 4) == 0) {
		const char *v = getenv(source + 4);

		if (v == NULL) {
			r = p11s_fail(P11S_E_PIN_SOURCE,
				      "the environment variable %s holding the %s is not set",
				      source + 4, what);
			goto out;
		}
		len = strlen(v);
		/* one trailing "\n" or "\r\n" is dropped, as for the other sources */
		if (len > 0 && v[len - 1] == '\n') {
			len--;
			if (len > 0 && v[len - 1] == '\r')
				len--;
		}
		if (len > P11S_SECRET_MAX) {
			r = p11s_fail(P11S_E_PIN_SOURCE, "the %s in %s is longer than %d bytes",
				      what, source + 4, P11S_SECRET_MAX);
			goto out;
		}
		s->len = len;
		memcpy(s->buf, v, s->len);
		s->buf[s->len] = '\0';
		r = 0;
	} else if (strncmp(source, "credential:", 11) == 0) {
		r = read_credential(s, what, source + 11);
	} else if (strncmp(source, "fd:", 3) == 0) {
		if (parse_fd(source + 3, &fd) != 0) {
			r = p11s_fail(P11S_E_PIN_SOURCE, "bad descriptor in %s", source);
			goto out;
		}
		r = read_fd_line(fd, s, what, source);
	} else {
		r = read_prompt(s, what);
	}
	if (r == 0 && s->len == 0)
		r = p11s_fail(P11S_E_PIN_SOURCE, "the %s read from %s is empty", what, source);
	if (r != 0)
		goto out;
	*out = s;
	s = NULL;
out:
	p11s_secret_free(s);
	return r;
}

void
p11s_secret_free(p11s_secret *s)
{
	if (s == NULL)
		return;
	p11s_secure_free(s->buf, P11S_SECRET_MAX + 1);
	free(s);
}

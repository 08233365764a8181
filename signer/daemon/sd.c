/* systemd's notification and socket activation protocols (sd.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "signer/daemon/sd.h"

int
d_sd_notify(const char *state)
{
	const char *e = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa;
	socklen_t sl;
	size_t len;
	ssize_t n;
	int fd, r = P11S_E_INTERNAL;

	if (e == NULL || *e == '\0')
		return 0;
	len = strlen(e);
	if ((e[0] != '/' && e[0] != '@') || len >= sizeof(sa.sun_path))
		return p11s_fail(P11S_E_CONFIG,
				 "NOTIFY_SOCKET=\"%.120s\" is not a socket address; expected an "
				 "absolute path or @abstract-name shorter than %zu bytes",
				 e, sizeof(sa.sun_path));
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, e, len);
	if (e[0] == '@')
		sa.sun_path[0] = '\0';
	sl = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return p11s_fail(P11S_E_IO, "notify socket: %s", strerror(errno));
	do
		n = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, sl);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		r = p11s_fail(P11S_E_IO, "cannot notify systemd through %s: %s", e,
			      strerror(errno));
		goto out;
	}
	r = 0;
out:
	close(fd);
	return r;
}

int
d_sd_status(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int n;

	n = snprintf(msg, sizeof(msg), "STATUS=");
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	return d_sd_notify(msg);
}

/* Decimal digits only, no sign, no blanks; -1 when malformed or > max. */
static int
parse_num(const char *s, unsigned long long max, unsigned long long *v)
{
	*v = 0;
	if (s == NULL || *s == '\0')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		*v = *v * 10 + (unsigned long long)(*s - '0');
		if (*v > max)
			return -1;
	}
	return *s == '\0' ? 0 : -1;
}

/* For this process: LISTEN_PID / WATCHDOG_PID unset or equal to our pid. */
static int
for_us(const char *pidvar)
{
	const char *p = getenv(pidvar);
	unsigned long long pid;

	if (p == NULL)
		return 1;
	return parse_num(p, LLONG_MAX, &pid) == 0 && pid == (unsigned long long)getpid();
}

uint64_t
d_sd_watchdog_usec(void)
{
	unsigned long long us;

	if (!for_us("WATCHDOG_PID") || parse_num(getenv("WATCHDOG_USEC"), UINT64_MAX, &us) != 0)
		return 0;
	return (uint64_t)us;
}

int
d_sd_listen_fds(int *n)
{
	const char *fds = getenv("LISTEN_FDS"), *pid = getenv("LISTEN_PID");
	unsigned long long v, p;
	int r = P11S_E_INTERNAL, type = 0, acc = 0;
	socklen_t sl;

	*n = 0;
	if (fds == NULL) {
		r = 0;
		goto out;
	}
	if (pid == NULL || parse_num(pid, LLONG_MAX, &p) != 0) {
		r = p11s_fail(P11S_E_CONFIG,
			      "socket activation: LISTEN_PID=\"%.40s\" is not a process id; "
			      "expected the pid of signerd with LISTEN_FDS",
			      pid != NULL ? pid : "(unset)");
		goto out;
	}
	if (p != (unsigned long long)getpid()) {
		r = 0; /* meant for another process */
		goto out;
	}
	if (parse_num(fds, 1024, &v) != 0 || v == 0) {
		r = p11s_fail(P11S_E_CONFIG,
			      "socket activation: LISTEN_FDS=\"%.40s\" is not a number of "
			      "descriptors; expected 1 to 1024 listening sockets from fd %d on",
			      fds, D_SD_LISTEN_FDS_START);
		goto out;
	}
	for (int fd = D_SD_LISTEN_FDS_START; fd < D_SD_LISTEN_FDS_START + (int)v; fd++) {
		int fl = fcntl(fd, F_GETFD);

		sl = sizeof(type);
		if (fl < 0) {
			r = p11s_fail(P11S_E_CONFIG,
				      "socket activation: LISTEN_FDS=%llu but fd %d is not open; "
				      "expected listening sockets on fds %d to %llu",
				      v, fd, D_SD_LISTEN_FDS_START,
				      (unsigned long long)D_SD_LISTEN_FDS_START + v - 1);
			goto out;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &sl) != 0 || type != SOCK_STREAM ||
		    (sl = sizeof(acc), getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &sl)) != 0 ||
		    !acc) {
			r = p11s_fail(
			    P11S_E_CONFIG,
			    "socket activation: fd %d (of LISTEN_FDS=%llu) is not a "
			    "listening stream socket; expected ListenStream= sockets only",
			    fd, v);
			goto out;
		}
		if (fcntl(fd, F_SETFD, fl | FD_CLOEXEC) != 0) {
			r = p11s_fail(P11S_E_IO, "fd %d: %s", fd, strerror(errno));
			goto out;
		}
	}
	*n = (int)v;
	r = 0;
out:
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return r;
}

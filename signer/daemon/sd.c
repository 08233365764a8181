/* systemd's notification and socket activation protocols (sd.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "signer/daemon/sd.h"
#include "signer/listen.h"

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
	/* all there first: a count that is too large says more than a socket type */
	for (int fd = D_SD_LISTEN_FDS_START; fd < D_SD_LISTEN_FDS_START + (int)v; fd++) {
		if (fcntl(fd, F_GETFD) < 0) {
			r = p11s_fail(P11S_E_CONFIG,
				      "socket activation: LISTEN_FDS=%llu but fd %d is not open; "
				      "expected listening sockets on fds %d to %llu",
				      v, fd, D_SD_LISTEN_FDS_START,
				      (unsigned long long)D_SD_LISTEN_FDS_START + v - 1);
			goto out;
		}
	}
	for (int fd = D_SD_LISTEN_FDS_START; fd < D_SD_LISTEN_FDS_START + (int)v; fd++) {
		int fl = fcntl(fd, F_GETFD);

		sl = sizeof(type);
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

/* The address a socket is bound to, for messages. */
static void
sock_name(const struct sockaddr_storage *ss, socklen_t sl, char *out, size_t outlen)
{
	char h[64], p[16];

	if (ss->ss_family == AF_UNIX) {
		const struct sockaddr_un *su = (const struct sockaddr_un *)ss;

		snprintf(out, outlen, "unix:%.*s",
			 (int)(sl > offsetof(struct sockaddr_un, sun_path)
				   ? strnlen(su->sun_path, sizeof(su->sun_path))
				   : 0),
			 su->sun_path);
	} else if (getnameinfo((const struct sockaddr *)ss, sl, h, sizeof(h), p, sizeof(p),
			       NI_NUMERICHOST | NI_NUMERICSERV) == 0) {
		snprintf(out, outlen, ss->ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", h, p);
	} else {
		snprintf(out, outlen, "(an address of family %d)", (int)ss->ss_family);
	}
}

static int
same_inet(const struct sockaddr *a, const struct sockaddr *b)
{
	if (a->sa_family != b->sa_family)
		return 0;
	if (a->sa_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;

		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->sa_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;

		return x->sin6_port == y->sin6_port &&
		       memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
	}
	return 0;
}

/* 1 when the socket bound at ss is the listen address a. */
static int
matches(const struct sockaddr_storage *ss, const signer_listen *a)
{
	struct addrinfo hints, *res = NULL, *ai;
	int m = 0;

	if (a->kind == SIGNER_LISTEN_UNIX)
		return ss->ss_family == AF_UNIX &&
		       strncmp(((const struct sockaddr_un *)ss)->sun_path, a->path,
			       sizeof(((const struct sockaddr_un *)ss)->sun_path)) == 0;
	if (ss->ss_family != AF_INET && ss->ss_family != AF_INET6)
		return 0;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if (getaddrinfo(a->host[0] ? a->host : NULL, a->port, &hints, &res) != 0)
		return 0;
	for (ai = res; ai != NULL && !m; ai = ai->ai_next)
		m = same_inet(ai->ai_addr, (const struct sockaddr *)ss);
	freeaddrinfo(res);
	return m;
}

int
d_sd_assign_fds(int n, const char *const *listen, size_t n_listen, int *fds)
{
	struct sockaddr_storage ss;
	signer_listen a;
	socklen_t sl;
	char name[160];
	size_t i;
	int r;

	for (i = 0; i < n_listen; i++)
		fds[i] = -1;
	for (int fd = D_SD_LISTEN_FDS_START; fd < D_SD_LISTEN_FDS_START + n; fd++) {
		sl = sizeof(ss);
		memset(&ss, 0, sizeof(ss));
		if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
			return p11s_fail(P11S_E_CONFIG, "socket activation: fd %d: %s", fd,
					 strerror(errno));
		for (i = 0; i < n_listen; i++) {
			if (fds[i] >= 0)
				continue;
			if ((r = signer_listen_parse(listen[i], &a, NULL)) != 0)
				return r;
			if (matches(&ss, &a))
				break;
		}
		if (i == n_listen) {
			sock_name(&ss, sl, name, sizeof(name));
			return p11s_fail(
			    P11S_E_CONFIG,
			    "socket activation: fd %d is bound to %s, which no [server] listen "
			    "line names; expected one listen line per socket of the .socket unit "
			    "(listen = unix:PATH, http://HOST:PORT or https://HOST:PORT)",
			    fd, name);
		}
		fds[i] = fd;
	}
	return 0;
}

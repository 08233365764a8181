/*
 * signerd's listen addresses: parsing "unix:/path", "http://host:port" and
 * "https://host:port", and opening the listening sockets.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"
#include "signer/daemon/http_internal.h"

/* ---- listen addresses ---------------------------------------------------- */

static int
parse_hostport(const char *s, const char *orig, d_listen_addr *a)
{
	const char *colon;
	size_t hl;
	char *end;
	unsigned long port;

	if (s[0] == '[') {
		const char *rb = strchr(s, ']');
		if (rb == NULL || rb[1] != ':')
			return p11s_fail(P11S_E_CONFIG,
					 "listen address '%s': an IPv6 host must be written "
					 "in brackets followed by :PORT, e.g. https://[::1]:8443",
					 orig);
		hl = (size_t)(rb - s - 1);
		if (hl == 0 || hl >= sizeof(a->host))
			return p11s_fail(P11S_E_CONFIG, "listen address '%s': bad IPv6 host", orig);
		memcpy(a->host, s + 1, hl);
		a->host[hl] = '\0';
		colon = rb + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL)
			return p11s_fail(P11S_E_CONFIG,
					 "listen address '%s' lacks a port; expected "
					 "http://HOST:PORT or https://HOST:PORT",
					 orig);
		hl = (size_t)(colon - s);
		if (hl >= sizeof(a->host) || memchr(s, '/', hl) != NULL)
			return p11s_fail(P11S_E_CONFIG, "listen address '%s': bad host", orig);
		memcpy(a->host, s, hl);
		a->host[hl] = '\0';
		if (strcmp(a->host, "*") == 0)
			a->host[0] = '\0';
	}
	errno = 0;
	if (colon[1] < '0' || colon[1] > '9')
		return p11s_fail(P11S_E_CONFIG,
				 "listen address '%s': the port must be a number 0-65535", orig);
	port = strtoul(colon + 1, &end, 10);
	if (errno != 0 || *end != '\0' || port > 65535)
		return p11s_fail(P11S_E_CONFIG,
				 "listen address '%s': the port must be a number 0-65535", orig);
	snprintf(a->port, sizeof(a->port), "%lu", port);
	return 0;
}

int
d_listen_parse(const char *s, d_listen_addr *out)
{
	d_listen_addr a;
	int r;

	memset(out, 0, sizeof(*out));
	memset(&a, 0, sizeof(a));
	if (s == NULL)
		return p11s_fail(P11S_E_CONFIG, "empty listen address");
	if (strncmp(s, "unix:", 5) == 0) {
		const char *p = s + 5;
		if (p[0] != '/')
			return p11s_fail(P11S_E_CONFIG,
					 "listen address '%s': a UNIX socket needs an absolute "
					 "path, e.g. unix:/run/p11-signer/signerd.sock",
					 s);
		if (strlen(p) >= sizeof(a.path))
			return p11s_fail(P11S_E_CONFIG,
					 "listen address '%s': the socket path is longer than "
					 "%zu bytes",
					 s, sizeof(a.path) - 1);
		a.kind = D_LISTEN_UNIX;
		memcpy(a.path, p, strlen(p) + 1);
	} else if (strncmp(s, "http://", 7) == 0) {
		a.kind = D_LISTEN_HTTP;
		if ((r = parse_hostport(s + 7, s, &a)) != 0)
			return r;
	} else if (strncmp(s, "https://", 8) == 0) {
		a.kind = D_LISTEN_HTTPS;
		if ((r = parse_hostport(s + 8, s, &a)) != 0)
			return r;
	} else {
		return p11s_fail(P11S_E_CONFIG,
				 "listen address '%s' not understood; expected unix:/PATH, "
				 "http://HOST:PORT or https://HOST:PORT",
				 s);
	}
	*out = a;
	return 0;
}

/* ---- sockets ------------------------------------------------------------- */

static int
set_nonblock_cloexec(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -1;
	fl = fcntl(fd, F_GETFD);
	if (fl < 0 || fcntl(fd, F_SETFD, fl | FD_CLOEXEC) < 0)
		return -1;
	return 0;
}

int
d_listener_open_unix(d_listener *l)
{
	struct sockaddr_un sa;
	struct stat st;
	int fd = -1, r = P11S_E_IO;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, l->addr.path, strlen(l->addr.path) + 1);
	if (lstat(l->addr.path, &st) == 0) {
		int probe;

		if (!S_ISSOCK(st.st_mode)) {
			r = p11s_fail(P11S_E_IO,
				      "%s exists and is not a socket; refusing to replace it",
				      l->addr.path);
			goto out;
		}
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(probe);
			r = p11s_fail(P11S_E_IO, "another process is serving on %s", l->addr.path);
			goto out;
		}
		if (probe >= 0)
			close(probe);
		if (unlink(l->addr.path) != 0) {
			r = p11s_fail(P11S_E_IO, "cannot remove the stale socket %s: %s",
				      l->addr.path, strerror(errno));
			goto out;
		}
		log_info("removed stale socket %s", l->addr.path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		r = p11s_fail(P11S_E_IO, "cannot bind %s: %s", l->addr.path, strerror(errno));
		goto out;
	}
	if (chmod(l->addr.path, 0660) != 0 || listen(fd, 1024) != 0 ||
	    set_nonblock_cloexec(fd) != 0) {
		r = p11s_fail(P11S_E_IO, "cannot listen on %s: %s", l->addr.path, strerror(errno));
		unlink(l->addr.path);
		goto out;
	}
	snprintf(l->name, sizeof(l->name), "unix:%s", l->addr.path);
	l->fd = fd;
	fd = -1;
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	return r;
}

int
d_listener_open_tcp(d_listener *l)
{
	struct addrinfo hints, *res = NULL, *ai;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char hbuf[64], pbuf[16];
	int fd = -1, r = P11S_E_IO, gai, one = 1, err = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	gai = getaddrinfo(l->addr.host[0] ? l->addr.host : NULL, l->addr.port, &hints, &res);
	if (gai != 0) {
		r = p11s_fail(P11S_E_CONFIG, "cannot resolve listen host '%s': %s", l->addr.host,
			      gai_strerror(gai));
		goto out;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		/* TCP_NODELAY on the listener is inherited by accepted sockets:
		 * without it small answers wait for the peer's delayed ACK. */
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0 &&
		    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == 0 &&
		    bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 1024) == 0 &&
		    set_nonblock_cloexec(fd) == 0)
			break;
		err = errno;
		close(fd);
		fd = -1;
	}
	if (fd < 0) {
		r = p11s_fail(P11S_E_IO, "cannot listen on %s:%s: %s",
			      l->addr.host[0] ? l->addr.host : "*", l->addr.port, strerror(err));
		goto out;
	}
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0 ||
	    getnameinfo((struct sockaddr *)&ss, sl, hbuf, sizeof(hbuf), pbuf, sizeof(pbuf),
			NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		r = p11s_fail(P11S_E_IO, "cannot read the bound address of %s:%s", l->addr.host,
			      l->addr.port);
		goto out;
	}
	snprintf(l->name, sizeof(l->name), "%s://%s%s%s:%s",
		 l->addr.kind == D_LISTEN_HTTPS ? "https" : "http",
		 ss.ss_family == AF_INET6 ? "[" : "", hbuf, ss.ss_family == AF_INET6 ? "]" : "",
		 pbuf);
	l->fd = fd;
	fd = -1;
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	if (res != NULL)
		freeaddrinfo(res);
	return r;
}

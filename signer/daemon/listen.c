/*
 * signerd's listening sockets: bind a parsed listen address (signer/listen.h),
 * or adopt a listening socket opened by someone else (socket activation, tests).
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

/* l->name from the address fd is bound to. */
static int
name_bound(d_listener *l, int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char hbuf[64], pbuf[16];

	memset(&ss, 0, sizeof(ss));
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
		return p11s_fail(P11S_E_IO,
				 "cannot read the bound address of a listening socket: %s",
				 strerror(errno));
	if (ss.ss_family == AF_UNIX) {
		const struct sockaddr_un *su = (const struct sockaddr_un *)&ss;

		snprintf(l->name, sizeof(l->name), "unix:%.*s", (int)sizeof(su->sun_path),
			 su->sun_path);
		return 0;
	}
	if (getnameinfo((struct sockaddr *)&ss, sl, hbuf, sizeof(hbuf), pbuf, sizeof(pbuf),
			NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		return p11s_fail(P11S_E_IO, "cannot read the bound address of a listening socket");
	snprintf(l->name, sizeof(l->name), "%s://%s%s%s:%s",
		 l->addr.kind == SIGNER_LISTEN_HTTPS ? "https" : "http",
		 ss.ss_family == AF_INET6 ? "[" : "", hbuf, ss.ss_family == AF_INET6 ? "]" : "",
		 pbuf);
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
	l->owns_path = 1;
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
	if ((r = name_bound(l, fd)) != 0)
		goto out;
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

int
d_listener_adopt(d_listener *l, int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int type = 0, acc = 0, r;
	socklen_t tl = sizeof(type), al = sizeof(acc);
	int want_unix = l->addr.kind == SIGNER_LISTEN_UNIX;

	memset(&ss, 0, sizeof(ss));
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) != 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &al) != 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
		return p11s_fail(P11S_E_IO, "descriptor %d is not a usable socket: %s", fd,
				 strerror(errno));
	if (type != SOCK_STREAM || !acc)
		return p11s_fail(P11S_E_CONFIG, "descriptor %d is not a listening stream socket",
				 fd);
	if (want_unix != (ss.ss_family == AF_UNIX) ||
	    (!want_unix && ss.ss_family != AF_INET && ss.ss_family != AF_INET6))
		return p11s_fail(
		    P11S_E_CONFIG, "descriptor %d is a %s socket, but its listen address is %s", fd,
		    ss.ss_family == AF_UNIX ? "UNIX" : "TCP", want_unix ? "unix:" : "http(s)://");
	if (set_nonblock_cloexec(fd) != 0)
		return p11s_fail(P11S_E_IO, "cannot make descriptor %d non-blocking: %s", fd,
				 strerror(errno));
	if ((r = name_bound(l, fd)) != 0)
		return r;
	l->owns_path = 0; /* whoever made the socket removes its file */
	l->fd = fd;
	return 0;
}

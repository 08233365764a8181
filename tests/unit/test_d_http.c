/*
 * signerd's HTTP layer over real sockets with a test handler: routing of
 * answers, limits (413), connection deadlines (slow loris, idle keep-alive),
 * graceful stop, UNIX socket handling, adopted listening sockets.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "signer/daemon/http.h"

static char tmpdir[PATH_MAX];
static atomic_int slow_started; /* the handler is serving /slow */
static char sock_path[PATH_MAX];

/* ---- the handler under test ---------------------------------------------- */

static void
handler(d_req *r, void *arg)
{
	const char *p = d_req_path(r);
	json_t *o;

	(void)arg;
	if (strcmp(p, "/noreply") == 0)
		return;
	if (strcmp(p, "/slow") == 0) {
		struct timespec ts = {0, 400 * 1000000L};
		atomic_store(&slow_started, 1);
		nanosleep(&ts, NULL);
	}
	if (strcmp(p, "/error") == 0) {
		d_reply_header(r, "Retry-After", "7");
		d_reply_error(r, 503, "token_unavailable", "code %d", 42);
		return;
	}
	if (strcmp(p, "/long-utf8") == 0) {
		/* 300 two-byte characters: 600 bytes, cut at 511 inside one */
		char d[601];

		for (size_t i = 0; i < 300; i++)
			memcpy(d + 2 * i, "\xc3\xa9", 2);
		d[600] = '\0';
		d_reply_error(r, 422, "refused", "%s", d);
		return;
	}
	if (strcmp(p, "/bad-utf8") == 0) {
		d_reply_error(r, 400, "bad_request", "member \xff\xfe%s", "\xc3");
		return;
	}
	if (strcmp(p, "/bad-error-code") == 0) {
		d_reply_error(r, 400, "bad\xff", "x");
		return;
	}
	if (strcmp(p, "/body") == 0) {
		size_t len = 0;
		const uint8_t *b = d_req_body(r, &len);

		o = json_pack("{s:I, s:s#}", "len", (json_int_t)len, "body",
			      b != NULL ? (const char *)b : "", (int)len);
		d_reply_json(r, 200, o);
		json_decref(o);
		return;
	}
	o = json_pack("{s:b, s:s, s:s, s:i, s:b, s:i}", "ok", 1, "path", p, "method",
		      d_req_method_name(r), "kind", (int)d_req_listen_kind(r), "verified",
		      d_req_peer_verified(r), "worker", (int)d_req_worker(r));
	d_reply_json(r, 200, o);
	json_decref(o);
}

/* A TCP socket listening on 127.0.0.1 at a port the kernel chose. */
static int
tcp_listen_fd(void)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 128), 0);
	return fd;
}

static d_server *
start_fds(unsigned timeout, size_t max_body, const char *const *listen, const int *fds, size_t n)
{
	d_server_params p;
	d_server *s = NULL;
	int r;

	memset(&p, 0, sizeof(p));
	p.listen = listen;
	p.listen_fd = fds;
	p.n_listen = n;
	p.limits.max_body = max_body;
	p.limits.max_headers = 8192;
	p.limits.request_timeout = timeout;
	p.workers = 2;
	p.handler = handler;
	r = d_server_new(&p, &s);
	if (r != 0)
		fail_msg("d_server_new: %s", p11s_errmsg(r));
	assert_int_equal(d_server_start(s), 0);
	return s;
}

static d_server *
start(unsigned timeout, size_t max_body, const char *const *listen, size_t n)
{
	return start_fds(timeout, max_body, listen, NULL, n);
}

/* The UNIX socket bound by the server, and a TCP listener it adopts (the
 * address only says "plain HTTP"; the socket's own port is served). */
static d_server *
start_default(unsigned timeout)
{
	char unix_listen[PATH_MAX + 8];
	const char *listen[2];
	int fds[2];

	snprintf(unix_listen, sizeof(unix_listen), "unix:%s", sock_path);
	listen[0] = unix_listen;
	listen[1] = "http://127.0.0.1:1";
	fds[0] = -1;
	fds[1] = tcp_listen_fd();
	return start_fds(timeout, 1024, listen, fds, 2);
}

/* ---- a small blocking client ----------------------------------------------- */

static int
dial(const char *name)
{
	struct timeval tv = {5, 0};
	int fd;

	if (strncmp(name, "unix:", 5) == 0) {
		struct sockaddr_un sa;

		memset(&sa, 0, sizeof(sa));
		sa.sun_family = AF_UNIX;
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", name + 5);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		assert_true(fd >= 0);
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
			close(fd);
			return -1;
		}
	} else {
		struct sockaddr_in sa;
		const char *port = strrchr(name, ':');

		assert_non_null(port);
		memset(&sa, 0, sizeof(sa));
		sa.sin_family = AF_INET;
		sa.sin_port = htons((uint16_t)atoi(port + 1));
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		fd = socket(AF_INET, SOCK_STREAM, 0);
		assert_true(fd >= 0);
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
			close(fd);
			return -1;
		}
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static void
send_all(int fd, const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, s, n, MSG_NOSIGNAL);

		assert_true(w > 0);
		s += w;
		n -= (size_t)w;
	}
}

/* Read one response (headers + Content-Length body); returns the status, 0
 * on EOF before any byte, -1 on timeout. */
static int
read_response(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	char *hdr_end = NULL;
	long clen = -1;

	buf[0] = '\0';
	for (;;) {
		ssize_t r;

		if (hdr_end != NULL) {
			size_t have = n - (size_t)(hdr_end + 4 - buf);

			if (clen >= 0 && have >= (size_t)clen)
				break;
		}
		assert_true(n + 1 < cap);
		r = recv(fd, buf + n, cap - n - 1, 0);
		if (r < 0)
			return -1;
		if (r == 0) {
			if (n == 0)
				return 0;
			break;
		}
		n += (size_t)r;
		buf[n] = '\0';
		if (hdr_end == NULL && (hdr_end = strstr(buf, "\r\n\r\n")) != NULL) {
			const char *cl = strstr(buf, "Content-Length: ");

			clen = cl != NULL && cl < hdr_end ? atol(cl + 16) : 0;
		}
	}
	assert_true(strncmp(buf, "HTTP/1.1 ", 9) == 0);
	return atoi(buf + 9);
}

static int
request(const char *name, const char *req, char *buf, size_t cap)
{
	int fd = dial(name), st;

	assert_true(fd >= 0);
	send_all(fd, req, strlen(req));
	st = read_response(fd, buf, cap);
	close(fd);
	return st;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- tests ----------------------------------------------------------------- */

static void
test_basic_unix_and_tcp(void **state)
{
	d_server *s = start_default(5);
	char buf[8192];
	struct stat st;

	(void)state;
	assert_int_equal(d_server_n_listen(s), 2);
	assert_int_equal(stat(sock_path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0660);
	assert_int_equal(request(d_server_listen_name(s, 0), "GET /ok HTTP/1.1\r\nHost: x\r\n\r\n",
				 buf, sizeof(buf)),
			 200);
	assert_non_null(strstr(buf, "\"kind\":1"));
	assert_non_null(strstr(buf, "Content-Type: application/json"));
	assert_non_null(strstr(buf, "Cache-Control: no-store"));
	assert_int_equal(request(d_server_listen_name(s, 1), "GET /ok HTTP/1.1\r\nHost: x\r\n\r\n",
				 buf, sizeof(buf)),
			 200);
	assert_non_null(strstr(buf, "\"kind\":2"));
	assert_non_null(strstr(buf, "\"verified\":false"));
	assert_int_equal(request(d_server_listen_name(s, 1),
				 "GET /noreply HTTP/1.1\r\nHost: x\r\n\r\n", buf, sizeof(buf)),
			 500);
	assert_non_null(
	    strstr(buf, "{\"error\":\"internal\",\"detail\":\"the handler did not answer\"}"));
	assert_int_equal(request(d_server_listen_name(s, 1),
				 "GET /error HTTP/1.1\r\nHost: x\r\n\r\n", buf, sizeof(buf)),
			 503);
	assert_non_null(strstr(buf, "Retry-After: 7"));
	assert_non_null(strstr(buf, "{\"error\":\"token_unavailable\",\"detail\":\"code 42\"}"));
	d_server_stop(s, 1);
	d_server_free(s);
	assert_int_equal(stat(sock_path, &st), -1);
}

/* Body of the response in buf, parsed; fails the test unless it is JSON. */
static json_t *
body_json(const char *buf)
{
	const char *b = strstr(buf, "\r\n\r\n");
	json_error_t e;
	json_t *o;

	assert_non_null(b);
	o = json_loads(b + 4, 0, &e);
	if (o == NULL)
		fail_msg("body is not JSON (%s): %s", e.text, b + 4);
	return o;
}

/* d_reply_error keeps details valid UTF-8 (a long one is cut between
 * characters, stray bytes become '?') and never answers "out of memory":
 * a JSON build failure is a generic internal answer. */
static void
test_error_details_utf8(void **state)
{
	d_server *s = start_default(5);
	char buf[8192];
	const char *d;
	json_t *o;
	size_t len;
	struct stat st;

	(void)state;
	assert_int_equal(request(d_server_listen_name(s, 0),
				 "GET /long-utf8 HTTP/1.1\r\nHost: x\r\n\r\n", buf, sizeof(buf)),
			 422);
	o = body_json(buf);
	assert_string_equal(json_string_value(json_object_get(o, "error")), "refused");
	d = json_string_value(json_object_get(o, "detail"));
	assert_non_null(d);
	len = strlen(d);
	assert_int_equal(len, 510); /* 255 whole characters of the 511 bytes that fit */
	for (size_t i = 0; i < len; i += 2)
		assert_memory_equal(d + i, "\xc3\xa9", 2);
	json_decref(o);

	assert_int_equal(request(d_server_listen_name(s, 0),
				 "GET /bad-utf8 HTTP/1.1\r\nHost: x\r\n\r\n", buf, sizeof(buf)),
			 400);
	o = body_json(buf);
	assert_string_equal(json_string_value(json_object_get(o, "detail")), "member ???");
	json_decref(o);

	assert_int_equal(request(d_server_listen_name(s, 0),
				 "GET /bad-error-code HTTP/1.1\r\nHost: x\r\n\r\n", buf,
				 sizeof(buf)),
			 500);
	assert_null(strstr(buf, "out of memory"));
	o = body_json(buf);
	assert_string_equal(json_string_value(json_object_get(o, "error")), "internal");
	assert_non_null(strstr(json_string_value(json_object_get(o, "detail")), "server log"));
	json_decref(o);
	d_server_stop(s, 1);
	d_server_free(s);
	assert_int_equal(stat(sock_path, &st), -1);
}

static void
test_keepalive_and_body(void **state)
{
	d_server *s = start_default(5);
	char buf[8192];
	const char *req = "POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello";
	int fd;

	(void)state;
	fd = dial(d_server_listen_name(s, 1));
	assert_true(fd >= 0);
	send_all(fd, req, strlen(req));
	assert_int_equal(read_response(fd, buf, sizeof(buf)), 200);
	assert_non_null(strstr(buf, "\"len\":5,\"body\":\"hello\""));
	send_all(fd, "GET /ok HTTP/1.1\r\nHost: x\r\n\r\n", 29);
	assert_int_equal(read_response(fd, buf, sizeof(buf)), 200);
	close(fd);
	d_server_free(s);
}

static void
test_body_too_large(void **state)
{
	d_server *s = start_default(5);
	char buf[8192], req[4096];
	int n;

	(void)state;
	n = snprintf(req, sizeof(req),
		     "POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n");
	memset(req + n, 'a', 2000);
	req[n + 2000] = '\0';
	assert_int_equal(request(d_server_listen_name(s, 1), req, buf, sizeof(buf)), 413);
	/* the server is fine afterwards */
	assert_int_equal(request(d_server_listen_name(s, 1), "GET /ok HTTP/1.1\r\nHost: x\r\n\r\n",
				 buf, sizeof(buf)),
			 200);
	d_server_free(s);
}

static void
test_slow_loris(void **state)
{
	d_server *s = start_default(1);
	char buf[8192];
	double t0 = now_s();
	int fd, st = -1, i;

	(void)state;
	fd = dial(d_server_listen_name(s, 1));
	assert_true(fd >= 0);
	send_all(fd, "GET /ok HTTP/1.1\r\n", 18);
	/* one header byte every 200 ms: never idle long enough for a read
	 * timeout, but the connection's deadline still applies */
	for (i = 0; i < 20; i++) {
		struct timespec ts = {0, 200 * 1000000L};
		ssize_t w;

		nanosleep(&ts, NULL);
		w = send(fd, "X", 1, MSG_NOSIGNAL);
		if (w < 0)
			break;
		/* meanwhile others are served at once */
		if (i == 1)
			assert_int_equal(request(d_server_listen_name(s, 0),
						 "GET /ok HTTP/1.1\r\nHost: x\r\n\r\n", buf,
						 sizeof(buf)),
					 200);
		{
			struct timeval tv = {0, 1000};
			char c;

			setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
			if (recv(fd, &c, 1, MSG_PEEK) >= 0)
				break;
		}
	}
	{
		struct timeval tv = {5, 0};

		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	}
	st = read_response(fd, buf, sizeof(buf));
	assert_int_equal(st, 408);
	assert_non_null(strstr(buf, "\"error\":\"request_timeout\""));
	assert_true(now_s() - t0 < 3.0);
	assert_int_equal(read_response(fd, buf, sizeof(buf)), 0); /* closed */
	close(fd);
	d_server_free(s);
}

static void
test_idle_keepalive_closed(void **state)
{
	d_server *s = start_default(1);
	char buf[8192];
	double t0;
	int fd;

	(void)state;
	fd = dial(d_server_listen_name(s, 1));
	assert_true(fd >= 0);
	send_all(fd, "GET /ok HTTP/1.1\r\nHost: x\r\n\r\n", 29);
	assert_int_equal(read_response(fd, buf, sizeof(buf)), 200);
	t0 = now_s();
	assert_int_equal(read_response(fd, buf, sizeof(buf)),
			 0); /* closed, no 408 after an answer */
	assert_true(now_s() - t0 < 3.0);
	close(fd);
	d_server_free(s);
}

struct slow_client {
	const char *name;
	int status;
	char buf[8192];
};

static void *
slow_client_main(void *arg)
{
	struct slow_client *c = arg;

	c->status =
	    request(c->name, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n", c->buf, sizeof(c->buf));
	return NULL;
}

static void
test_graceful_stop(void **state)
{
	d_server *s = start_default(5);
	struct slow_client c;
	struct timespec ts = {0, 10 * 1000000L};
	char name[300];
	pthread_t th;
	int fd, idle;
	char buf[8192];

	(void)state;
	memset(&c, 0, sizeof(c));
	snprintf(name, sizeof(name), "%s", d_server_listen_name(s, 1));
	c.name = name;
	/* an idle keep-alive connection must not hold the stop up */
	idle = dial(name);
	assert_true(idle >= 0);
	send_all(idle, "GET /ok HTTP/1.1\r\nHost: x\r\n\r\n", 29);
	assert_int_equal(read_response(idle, buf, sizeof(buf)), 200);
	atomic_store(&slow_started, 0);
	assert_int_equal(pthread_create(&th, NULL, slow_client_main, &c), 0);
	/* stop while the handler serves /slow (bounded wait, for busy machines) */
	for (int i = 0; i < 1000 && !atomic_load(&slow_started); i++)
		nanosleep(&ts, NULL);
	assert_true(atomic_load(&slow_started));
	d_server_stop(s, 5);
	pthread_join(th, NULL);
	/* the request in flight when the stop came was answered */
	assert_int_equal(c.status, 200);
	assert_non_null(strstr(c.buf, "\"path\":\"/slow\""));
	assert_int_equal(read_response(idle, buf, sizeof(buf)), 0);
	close(idle);
	/* no longer accepting */
	fd = dial(name);
	assert_int_equal(fd, -1);
	d_server_free(s);
}

static void
test_unix_socket_files(void **state)
{
	char unix_listen[PATH_MAX + 8];
	const char *listen[1];
	d_server_params p;
	d_server *s = NULL, *s2 = NULL;
	struct sockaddr_un sa;
	char buf[4096];
	FILE *f;
	int fd, r;

	(void)state;
	snprintf(unix_listen, sizeof(unix_listen), "unix:%s", sock_path);
	listen[0] = unix_listen;
	/* a stale socket (nobody listening) is replaced */
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	assert_true(strlen(sock_path) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, sock_path, strlen(sock_path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	s = start(5, 1024, listen, 1);
	assert_int_equal(request(d_server_listen_name(s, 0), "GET /ok HTTP/1.1\r\nHost: x\r\n\r\n",
				 buf, sizeof(buf)),
			 200);
	/* a live one is not */
	memset(&p, 0, sizeof(p));
	p.listen = listen;
	p.n_listen = 1;
	p.limits.request_timeout = 5;
	p.workers = 1;
	p.handler = handler;
	r = d_server_new(&p, &s2);
	assert_int_equal(r, P11S_E_IO);
	assert_non_null(strstr(p11s_errmsg(r), "another process is serving on"));
	assert_null(s2);
	d_server_free(s);
	/* a file that is not a socket is never removed */
	f = fopen(sock_path, "w");
	assert_non_null(f);
	fclose(f);
	r = d_server_new(&p, &s2);
	assert_int_equal(r, P11S_E_IO);
	assert_non_null(strstr(p11s_errmsg(r), "is not a socket"));
	assert_int_equal(access(sock_path, F_OK), 0);
	unlink(sock_path);
}

static void
test_server_refusals(void **state)
{
	const char *listen[1] = {"https://127.0.0.1:1"};
	const char *bad[1] = {"ftp://x"};
	const char *port0[1] = {"http://127.0.0.1:0"};
	d_server_params p;
	d_server *s = (d_server *)&p;
	int r;

	(void)state;
	memset(&p, 0, sizeof(p));
	p.handler = handler;
	r = d_server_new(&p, &s);
	assert_int_equal(r, P11S_E_CONFIG);
	assert_non_null(strstr(p11s_errmsg(r), "no listen address"));
	assert_null(s);
	p.listen = listen;
	p.n_listen = 1;
	r = d_server_new(&p, &s);
	assert_int_equal(r, P11S_E_CONFIG);
	assert_non_null(strstr(p11s_errmsg(r), "tls_certificate and tls_key"));
	p.tls.certificate = "/nonexistent/cert.pem";
	p.tls.key = "/nonexistent/key.pem";
	r = d_server_new(&p, &s);
	assert_int_equal(r, P11S_E_CONFIG);
	assert_non_null(
	    strstr(p11s_errmsg(r), "cannot load the TLS certificate chain /nonexistent/cert.pem"));
	p.listen = bad;
	r = d_server_new(&p, &s);
	assert_int_equal(r, P11S_E_CONFIG);
	assert_non_null(strstr(p11s_errmsg(r), "\"ftp://x\" is not a listen address; expected"));
	assert_null(s);
	/* the configuration's parser: port 0 is refused here too */
	p.listen = port0;
	r = d_server_new(&p, &s);
	assert_int_equal(r, P11S_E_CONFIG);
	assert_non_null(strstr(p11s_errmsg(r), "0 would bind a port clients cannot know"));
	assert_null(s);
	d_server_free(NULL);
}

/* Adopted sockets must be listening stream sockets of the address's kind;
 * a refused one stays open for the caller. */
static void
test_adopt_refusals(void **state)
{
	char unix_listen[PATH_MAX + 8];
	const char *listen[1];
	d_server_params p;
	d_server *s = NULL;
	int fd, r;

	(void)state;
	snprintf(unix_listen, sizeof(unix_listen), "unix:%s", sock_path);
	memset(&p, 0, sizeof(p));
	p.listen = listen;
	p.listen_fd = &fd;
	p.n_listen = 1;
	p.limits.max_body = 1024;
	p.limits.max_headers = 8192;
	p.limits.request_timeout = 5;
	p.workers = 1;
	p.handler = handler;
	/* a TCP socket for a unix: address */
	listen[0] = unix_listen;
	fd = tcp_listen_fd();
	r = d_server_new(&p, &s);
	assert_int_equal(r, P11S_E_CONFIG);
	assert_non_null(strstr(p11s_errmsg(r), "is a TCP socket, but its listen address is unix:"));
	assert_null(s);
	assert_int_equal(fcntl(fd, F_GETFD) >= 0, 1); /* still the caller's */
	/* the same socket for an http:// address is served */
	listen[0] = "http://127.0.0.1:1";
	r = d_server_new(&p, &s);
	assert_int_equal(r, 0);
	assert_int_equal(strncmp(d_server_listen_name(s, 0), "http://127.0.0.1:", 17), 0);
	assert_int_equal(d_server_start(s), 0);
	{
		char buf[4096];

		assert_int_equal(request(d_server_listen_name(s, 0),
					 "GET /ok HTTP/1.1\r\nHost: x\r\n\r\n", buf, sizeof(buf)),
				 200);
	}
	d_server_free(s);
	s = NULL;
	assert_int_equal(fcntl(fd, F_GETFD), -1); /* the server closed it */
	/* a socket that does not listen */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	r = d_server_new(&p, &s);
	assert_int_equal(r, P11S_E_CONFIG);
	assert_non_null(strstr(p11s_errmsg(r), "is not a listening stream socket"));
	close(fd);
}

static int
setup(void **state)
{
	const char *base = getenv("TMPDIR");

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "%s/test_d_http.XXXXXX", base != NULL ? base : "/tmp");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	if ((size_t)snprintf(sock_path, sizeof(sock_path), "%s/s.sock", tmpdir) >=
		sizeof(sock_path) ||
	    strlen(sock_path) >= 100)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	unlink(sock_path);
	rmdir(tmpdir);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_basic_unix_and_tcp), cmocka_unit_test(test_error_details_utf8),
	    cmocka_unit_test(test_keepalive_and_body), cmocka_unit_test(test_body_too_large),
	    cmocka_unit_test(test_slow_loris),	       cmocka_unit_test(test_idle_keepalive_closed),
	    cmocka_unit_test(test_graceful_stop),      cmocka_unit_test(test_unix_socket_files),
	    cmocka_unit_test(test_server_refusals),    cmocka_unit_test(test_adopt_refusals),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

/*
 * signerd's HTTP layer: evhttp per (worker, listener), shared listening
 * sockets, optional TLS with client certificates, connection deadlines and
 * graceful stop.  See d_http.h.
 */
/* <config.h>: "config.h" would find signer/config.h (the configuration module) */
#include "config.h"

#include "signer/daemon/http.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "common/log.h"

#define CONN_BUCKETS 1024
#define TICK_MS 250
#define DRAIN_TICK_MS 20
#define BALANCE_PAUSE_US 1000

typedef struct d_conn {
	struct bufferevent *bev; /* we hold one reference */
	struct d_conn *next;	 /* worker list */
	struct d_conn *hnext;	 /* hash chain */
	uint64_t deadline_ns;	 /* a complete request must arrive before */
	unsigned pending;	 /* requests handled, answer not yet written */
	unsigned done;		 /* requests answered */
	int tls;
} d_conn;

typedef struct d_listener {
	d_listen_addr addr;
	int fd;
	char name[300];
} d_listener;

struct d_worker;

typedef struct d_wl { /* one listener in one worker */
	struct d_worker *w;
	d_listener *l;
	struct evhttp *http;
	struct evhttp_bound_socket *bound;
	struct evconnlistener *el; /* owned by http once bound */
	int paused;		   /* accept paused (connection cap or EMFILE) */
} d_wl;

typedef struct d_worker {
	d_server *srv;
	unsigned idx;
	struct event_base *base;
	pthread_t thread;
	int started;
	d_wl *wl;
	size_t n_wl;
	struct event *stop_ev;
	struct event *reconf_ev;
	struct event *tick_ev;
	struct event *resume_ev; /* re-enables accept after a balancing pause */
	d_conn *conns;
	d_conn *hash[CONN_BUCKETS];
	size_t n_conns;
	size_t max_conns;
	int draining;
	uint64_t drain_until_ns;
	SSL_CTX *ssl_ctx; /* this worker's reference */
	unsigned ssl_gen;
	d_limits limits;
} d_worker;

struct d_server {
	d_listener *lst;
	size_t n_lst;
	d_worker *w;
	unsigned n_w;
	d_handler_fn handler;
	void *handler_arg;
	d_worker_fn worker_start;
	d_worker_fn worker_stop;
	pthread_mutex_t mu; /* guards ssl_ctx, limits, grace (rare changes) */
	SSL_CTX *ssl_ctx;
	atomic_uint ssl_gen;
	d_limits limits;
	unsigned grace_s;
	int has_tls;
	pthread_cond_t unbound_cv; /* workers that stopped accepting, under mu */
	unsigned n_unbound;
	atomic_size_t open_conns; /* over all workers, for balancing accepts */
};

struct d_req {
	struct evhttp_request *ev;
	d_wl *wl;
	d_conn *conn;
	d_method method;
	const char *path;
	uint64_t start_ns;
	int replied;
	int deferred; /* 1: this stack copy was deferred; 2: the heap copy */
	int body_pulled;
	const uint8_t *body;
	size_t body_len;
	char path_buf[512];
};

uint64_t
d_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

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

static int
open_unix(d_listener *l)
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

static int
open_tcp(d_listener *l)
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

/* ---- TLS ----------------------------------------------------------------- */

static int
make_ssl_ctx(const d_tls_conf *tls, SSL_CTX **out)
{
	SSL_CTX *ctx = NULL;
	int r = P11S_E_CRYPTO;

	*out = NULL;
	if (tls->certificate == NULL || tls->key == NULL) {
		r = p11s_fail(P11S_E_CONFIG,
			      "an https listener needs [server] tls_certificate and tls_key");
		goto out;
	}
	ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL || SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
		log_openssl("SSL_CTX_new");
		r = p11s_fail(P11S_E_CRYPTO, "cannot create a TLS context");
		goto out;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	if (SSL_CTX_use_certificate_chain_file(ctx, tls->certificate) != 1) {
		log_openssl("SSL_CTX_use_certificate_chain_file");
		r = p11s_fail(P11S_E_CONFIG,
			      "cannot load the TLS certificate chain %s (PEM expected)",
			      tls->certificate);
		goto out;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, tls->key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		log_openssl("SSL_CTX_use_PrivateKey_file");
		r = p11s_fail(P11S_E_CONFIG, "cannot load the TLS key %s, or it does not match %s",
			      tls->key, tls->certificate);
		goto out;
	}
	if (tls->client_ca != NULL) {
		STACK_OF(X509_NAME) * names;

		if (SSL_CTX_load_verify_locations(ctx, tls->client_ca, NULL) != 1 ||
		    (names = SSL_load_client_CA_file(tls->client_ca)) == NULL) {
			log_openssl("SSL_CTX_load_verify_locations");
			r = p11s_fail(P11S_E_CONFIG,
				      "cannot load the client CA bundle %s (PEM expected)",
				      tls->client_ca);
			goto out;
		}
		SSL_CTX_set_client_CA_list(ctx, names);
		/* A certificate is optional in the handshake, but one that is
		 * presented must verify; routes that require one check in the
		 * handler (per-route mTLS). */
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
		SSL_CTX_set_verify_depth(ctx, 8);
	}
	*out = ctx;
	ctx = NULL;
	r = 0;
out:
	SSL_CTX_free(ctx);
	ERR_clear_error();
	return r;
}

/* ---- connections --------------------------------------------------------- */

static size_t
conn_bucket(const struct bufferevent *bev)
{
	return ((uintptr_t)bev >> 4) % CONN_BUCKETS;
}

static d_conn *
conn_find(d_worker *w, const struct bufferevent *bev)
{
	d_conn *c;

	for (c = w->hash[conn_bucket(bev)]; c != NULL; c = c->hnext)
		if (c->bev == bev)
			return c;
	return NULL;
}

static void
conn_unlink_free(d_worker *w, d_conn *c)
{
	d_conn **pp;

	for (pp = &w->hash[conn_bucket(c->bev)]; *pp != NULL; pp = &(*pp)->hnext)
		if (*pp == c) {
			*pp = c->hnext;
			break;
		}
	bufferevent_decref(c->bev);
	w->n_conns--;
	atomic_fetch_sub(&w->srv->open_conns, 1);
	free(c);
}

static void
pause_accept(d_worker *w, int pause)
{
	size_t i;

	for (i = 0; i < w->n_wl; i++) {
		d_wl *wl = &w->wl[i];

		if (wl->bound == NULL || wl->paused == pause)
			continue;
		if (pause)
			evconnlistener_disable(wl->el);
		else
			evconnlistener_enable(wl->el);
		wl->paused = pause;
	}
}

static void
worker_ssl_refresh(d_worker *w)
{
	d_server *s = w->srv;
	unsigned gen = atomic_load_explicit(&s->ssl_gen, memory_order_acquire);

	if (gen == w->ssl_gen)
		return;
	pthread_mutex_lock(&s->mu);
	SSL_CTX_free(w->ssl_ctx);
	w->ssl_ctx = s->ssl_ctx;
	if (w->ssl_ctx != NULL)
		SSL_CTX_up_ref(w->ssl_ctx);
	w->ssl_gen = atomic_load(&s->ssl_gen);
	pthread_mutex_unlock(&s->mu);
}

/* evhttp asks for a bufferevent for every accepted connection. */
static struct bufferevent *
conn_new_cb(struct event_base *base, void *arg)
{
	d_wl *wl = arg;
	d_worker *w = wl->w;
	struct bufferevent *bev = NULL;
	d_conn *c;
	size_t b, total;

	if (wl->l->addr.kind == D_LISTEN_HTTPS) {
		SSL *ssl;

		worker_ssl_refresh(w);
		if (w->ssl_ctx == NULL || (ssl = SSL_new(w->ssl_ctx)) == NULL) {
			log_openssl("SSL_new");
			return NULL;
		}
		bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
						     BEV_OPT_CLOSE_ON_FREE);
		if (bev == NULL) {
			SSL_free(ssl);
			return NULL;
		}
		bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	} else {
		bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
		if (bev == NULL)
			return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return bev; /* served, just without a deadline of ours */
	c->bev = bev;
	c->tls = wl->l->addr.kind == D_LISTEN_HTTPS;
	c->deadline_ns = d_now_ns() + (uint64_t)w->limits.request_timeout * 1000000000u;
	/* Our reference keeps the bufferevent (not the connection) alive after
	 * evhttp frees it, so the sweep can tell that it is gone: a freed
	 * bufferevent has its callbacks cleared. */
	bufferevent_incref(bev);
	c->next = w->conns;
	w->conns = c;
	b = conn_bucket(bev);
	c->hnext = w->hash[b];
	w->hash[b] = c;
	w->n_conns++;
	total = atomic_fetch_add(&w->srv->open_conns, 1) + 1;
	if (w->n_conns >= w->max_conns) {
		log_warn("worker %u: %zu connections open, pausing accept", w->idx, w->n_conns);
		pause_accept(w, 1);
	} else if (w->srv->n_w > 1 && w->n_conns * w->srv->n_w > total + w->srv->n_w) {
		/* All workers watch the same listening sockets, and libevent's
		 * accept loop would take a whole burst of connections into this
		 * one: above its share, this worker stops accepting for a
		 * millisecond so that the others take the rest. */
		static const struct timeval resume = {0, BALANCE_PAUSE_US};

		pause_accept(w, 1);
		event_add(w->resume_ev, &resume);
	}
	return bev;
}

static int
conn_alive(const d_conn *c)
{
	bufferevent_data_cb rcb = NULL, wcb = NULL;
	bufferevent_event_cb ecb = NULL;
	void *arg = NULL;

	bufferevent_getcb(c->bev, &rcb, &wcb, &ecb, &arg);
	return ecb != NULL;
}

/* Close a connection through evhttp's own error path. */
static void
conn_expire(d_conn *c, int say_408)
{
	static const char msg[] =
	    "HTTP/1.1 408 Request Timeout\r\nContent-Type: application/json\r\n"
	    "Connection: close\r\nContent-Length: 76\r\n\r\n"
	    "{\"error\":\"request_timeout\",\"detail\":\"the request was not complete in time\"}";
	int fd = bufferevent_getfd(c->bev);

	if (say_408 && !c->tls && fd >= 0 &&
	    evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
		ssize_t n = send(fd, msg, sizeof(msg) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
		(void)n; /* best effort: the connection is closed either way */
	}
	bufferevent_trigger_event(c->bev, BEV_EVENT_READING | BEV_EVENT_TIMEOUT, 0);
}

/* Drop dead connections; expire those past their deadline; during a
 * drain, close idle ones. */
static void
sweep(d_worker *w, uint64_t now)
{
	d_conn **pp = &w->conns;

	while (*pp != NULL) {
		d_conn *c = *pp;

		if (conn_alive(c) && c->pending == 0) {
			int idle =
			    c->done > 0 && evbuffer_get_length(bufferevent_get_input(c->bev)) == 0;

			if (now >= c->deadline_ns) {
				log_info(
				    "worker %u: closing a connection that sent no complete request "
				    "within %u s",
				    w->idx, w->limits.request_timeout);
				conn_expire(c, c->done == 0);
			} else if (w->draining && idle) {
				conn_expire(c, 0);
			}
		}
		if (!conn_alive(c)) {
			*pp = c->next;
			conn_unlink_free(w, c);
			continue;
		}
		pp = &c->next;
	}
	if (!w->draining && w->n_conns < w->max_conns)
		pause_accept(w, 0);
}

static void
resume_cb(evutil_socket_t fd, short what, void *arg)
{
	d_worker *w = arg;

	(void)fd;
	(void)what;
	if (!w->draining && w->n_conns < w->max_conns)
		pause_accept(w, 0);
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	d_worker *w = arg;
	uint64_t now = d_now_ns();

	(void)fd;
	(void)what;
	sweep(w, now);
	if (w->draining && (w->conns == NULL || now >= w->drain_until_ns)) {
		if (w->conns != NULL)
			log_warn(
			    "worker %u: %zu connections still open after the grace period; closing",
			    w->idx, w->n_conns);
		event_base_loopexit(w->base, NULL);
	}
}

/* ---- requests ------------------------------------------------------------ */

static void
request_done_cb(struct evhttp_request *ev, void *arg)
{
	d_conn *c = arg;

	(void)ev;
	if (c->pending > 0)
		c->pending--;
	c->done++;
}

static d_method
map_method(enum evhttp_cmd_type t)
{
	switch (t) {
	case EVHTTP_REQ_GET:
		return D_M_GET;
	case EVHTTP_REQ_HEAD:
		return D_M_HEAD;
	case EVHTTP_REQ_POST:
		return D_M_POST;
	default:
		return D_M_OTHER;
	}
}

static void
request_cb(struct evhttp_request *ev, void *arg)
{
	d_wl *wl = arg;
	d_worker *w = wl->w;
	struct evhttp_connection *evcon = evhttp_request_get_connection(ev);
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(ev);
	const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	d_req r;

	memset(&r, 0, sizeof(r));
	r.ev = ev;
	r.wl = wl;
	r.start_ns = d_now_ns();
	r.method = map_method(evhttp_request_get_command(ev));
	if (evcon != NULL) {
		r.conn = conn_find(w, evhttp_connection_get_bufferevent(evcon));
		if (r.conn != NULL) {
			r.conn->pending++;
			/* the next request on this connection gets a fresh deadline */
			r.conn->deadline_ns =
			    r.start_ns + (uint64_t)w->limits.request_timeout * 1000000000u;
			evhttp_request_set_on_complete_cb(ev, request_done_cb, r.conn);
		}
	}
	if (path == NULL || path[0] == '\0')
		path = "/";
	if (strlen(path) >= sizeof(r.path_buf)) {
		d_reply_error(&r, 414, "uri_too_long", "the request path exceeds %zu bytes",
			      sizeof(r.path_buf) - 1);
		return;
	}
	memcpy(r.path_buf, path, strlen(path) + 1);
	r.path = r.path_buf;
	w->srv->handler(&r, w->srv->handler_arg);
	if (!r.replied && !r.deferred)
		d_reply_error(&r, 500, "internal", "the handler did not answer");
}

d_method
d_req_method(const d_req *r)
{
	return r->method;
}

const char *
d_req_method_name(const d_req *r)
{
	switch (r->method) {
	case D_M_GET:
		return "GET";
	case D_M_HEAD:
		return "HEAD";
	case D_M_POST:
		return "POST";
	default:
		return "OTHER";
	}
}

const char *
d_req_path(const d_req *r)
{
	return r->path;
}

unsigned
d_req_worker(const d_req *r)
{
	return r->wl->w->idx;
}

d_listen_kind
d_req_listen_kind(const d_req *r)
{
	return r->wl->l->addr.kind;
}

const uint8_t *
d_req_body(d_req *r, size_t *len)
{
	if (!r->body_pulled) {
		struct evbuffer *in = evhttp_request_get_input_buffer(r->ev);

		r->body_pulled = 1;
		r->body_len = evbuffer_get_length(in);
		r->body = r->body_len > 0 ? evbuffer_pullup(in, -1) : NULL;
		if (r->body == NULL)
			r->body_len = 0;
	}
	*len = r->body_len;
	return r->body;
}

const char *
d_req_header(const d_req *r, const char *name)
{
	return evhttp_find_header(evhttp_request_get_input_headers(r->ev), name);
}

int
d_req_peer_verified(const d_req *r)
{
	struct evhttp_connection *evcon;
	struct bufferevent *bev;
	SSL *ssl;

	if (r->wl->l->addr.kind != D_LISTEN_HTTPS)
		return 0;
	evcon = evhttp_request_get_connection(r->ev);
	if (evcon == NULL || (bev = evhttp_connection_get_bufferevent(evcon)) == NULL ||
	    (ssl = bufferevent_openssl_get_ssl(bev)) == NULL)
		return 0;
	return SSL_get0_peer_certificate(ssl) != NULL && SSL_get_verify_result(ssl) == X509_V_OK;
}

uint64_t
d_req_start_ns(const d_req *r)
{
	return r->start_ns;
}

d_req *
d_req_defer(d_req *r)
{
	d_req *d;

	if (r->replied || r->deferred)
		return NULL;
	d = malloc(sizeof(*d));
	if (d == NULL)
		return NULL;
	*d = *r;
	if (d->path == r->path_buf)
		d->path = d->path_buf;
	d->conn = NULL; /* the connection may be gone by the answer */
	d->deferred = 2;
	r->deferred = 1;
	return d;
}

void
d_reply_header(d_req *r, const char *name, const char *value)
{
	if (evhttp_add_header(evhttp_request_get_output_headers(r->ev), name, value) != 0)
		log_warn("cannot add response header %s", name);
}

void
d_reply_raw(d_req *r, int code, const char *content_type, const char *body, size_t len)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(r->ev);
	struct evbuffer *out = evhttp_request_get_output_buffer(r->ev);

	if (r->replied)
		return;
	r->replied = 1;
	evhttp_add_header(h, "Content-Type", content_type);
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	if (evhttp_find_header(h, "Cache-Control") == NULL)
		evhttp_add_header(h, "Cache-Control", "no-store");
	if (r->wl->w->draining)
		evhttp_add_header(h, "Connection", "close");
	if (len > 0 && evbuffer_add(out, body, len) != 0) {
		evbuffer_drain(out, evbuffer_get_length(out));
		code = 500;
		log_error("out of memory building a %zu-byte answer", len);
	}
	evhttp_send_reply(r->ev, code, NULL, NULL);
	if (r->deferred == 2)
		free(r);
}

void
d_reply_json(d_req *r, int code, const json_t *obj)
{
	char *text = json_dumps(obj, JSON_COMPACT);

	if (text == NULL) {
		static const char oom[] = "{\"error\":\"internal\",\"detail\":\"out of memory\"}";
		d_reply_raw(r, 500, "application/json", oom, sizeof(oom) - 1);
		return;
	}
	d_reply_raw(r, code, "application/json", text, strlen(text));
	free(text);
}

void
d_reply_error(d_req *r, int code, const char *error, const char *fmt, ...)
{
	char detail[512];
	va_list ap;
	json_t *o;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	o = json_pack("{s:s, s:s}", "error", error, "detail", detail);
	if (o == NULL) {
		static const char oom[] = "{\"error\":\"internal\",\"detail\":\"out of memory\"}";
		d_reply_raw(r, 500, "application/json", oom, sizeof(oom) - 1);
		return;
	}
	d_reply_json(r, code, o);
	json_decref(o);
}

/* ---- workers ------------------------------------------------------------- */

static void
apply_limits(d_worker *w)
{
	size_t i;

	for (i = 0; i < w->n_wl; i++) {
		evhttp_set_max_body_size(w->wl[i].http, (ev_ssize_t)w->limits.max_body);
		evhttp_set_max_headers_size(w->wl[i].http, (ev_ssize_t)w->limits.max_headers);
		evhttp_set_timeout(w->wl[i].http, (int)w->limits.request_timeout);
	}
}

static void
reconf_cb(evutil_socket_t fd, short what, void *arg)
{
	d_worker *w = arg;

	(void)fd;
	(void)what;
	pthread_mutex_lock(&w->srv->mu);
	w->limits = w->srv->limits;
	pthread_mutex_unlock(&w->srv->mu);
	apply_limits(w);
}

static void
stop_cb(evutil_socket_t fd, short what, void *arg)
{
	d_worker *w = arg;
	struct timeval tv = {0, DRAIN_TICK_MS * 1000};
	size_t i;
	unsigned grace;

	(void)fd;
	(void)what;
	if (w->draining)
		return;
	pthread_mutex_lock(&w->srv->mu);
	grace = w->srv->grace_s;
	pthread_mutex_unlock(&w->srv->mu);
	w->draining = 1;
	w->drain_until_ns = d_now_ns() + (uint64_t)grace * 1000000000u;
	for (i = 0; i < w->n_wl; i++) {
		if (w->wl[i].bound != NULL) {
			evhttp_del_accept_socket(w->wl[i].http, w->wl[i].bound);
			w->wl[i].bound = NULL;
			w->wl[i].el = NULL;
		}
	}
	pthread_mutex_lock(&w->srv->mu);
	w->srv->n_unbound++;
	pthread_cond_broadcast(&w->srv->unbound_cv);
	pthread_mutex_unlock(&w->srv->mu);
	event_del(w->tick_ev);
	event_add(w->tick_ev, &tv);
	sweep(w, d_now_ns());
}

static void
accept_error_cb(struct evconnlistener *el, void *arg)
{
	d_wl *wl = arg;
	int err = EVUTIL_SOCKET_ERROR();

	(void)el;
	/* EMFILE/ENFILE: stop accepting until the next sweep frees something. */
	log_warn("worker %u: accept on %s failed: %s", wl->w->idx, wl->l->name, strerror(err));
	pause_accept(wl->w, 1);
}

static void *
worker_main(void *arg)
{
	d_worker *w = arg;

	if (w->srv->worker_start != NULL)
		w->srv->worker_start(w->idx, w->base, w->srv->handler_arg);
	if (event_base_dispatch(w->base) < 0)
		log_error("worker %u: event loop failed", w->idx);
	if (w->srv->worker_stop != NULL)
		w->srv->worker_stop(w->idx, w->base, w->srv->handler_arg);
	return NULL;
}

static int
worker_init(d_server *s, d_worker *w, unsigned idx, size_t max_conns)
{
	struct timeval tv = {0, TICK_MS * 1000};
	size_t i;

	w->srv = s;
	w->idx = idx;
	w->max_conns = max_conns;
	w->limits = s->limits;
	w->base = event_base_new();
	if (w->base == NULL)
		return p11s_fail(P11S_E_NOMEM, "cannot create an event base for worker %u", idx);
	w->wl = calloc(s->n_lst, sizeof(*w->wl));
	if (w->wl == NULL)
		return p11s_fail(P11S_E_NOMEM, "out of memory for worker %u", idx);
	w->n_wl = s->n_lst;
	for (i = 0; i < s->n_lst; i++) {
		d_wl *wl = &w->wl[i];

		wl->w = w;
		wl->l = &s->lst[i];
		wl->http = evhttp_new(w->base);
		if (wl->http == NULL)
			return p11s_fail(P11S_E_NOMEM, "cannot create an HTTP server for worker %u",
					 idx);
		/* Every method the parser knows reaches the handler, which
		 * answers 405 with Allow for the ones a route does not take. */
		evhttp_set_allowed_methods(
		    wl->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT |
				  EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
				  EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
		evhttp_set_gencb(wl->http, request_cb, wl);
		evhttp_set_bevcb(wl->http, conn_new_cb, wl);
		/* Our own listener without LEV_OPT_CLOSE_ON_FREE: the socket is
		 * shared by all workers and closed once, by d_server_free. */
		wl->el = evconnlistener_new(
		    w->base, NULL, NULL, LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE, 0, wl->l->fd);
		if (wl->el == NULL)
			return p11s_fail(P11S_E_IO, "cannot watch %s in worker %u", wl->l->name,
					 idx);
		wl->bound = evhttp_bind_listener(wl->http, wl->el);
		if (wl->bound == NULL) {
			evconnlistener_free(wl->el);
			wl->el = NULL;
			return p11s_fail(P11S_E_IO, "cannot serve %s in worker %u", wl->l->name,
					 idx);
		}
		evconnlistener_set_error_cb(wl->el, accept_error_cb);
	}
	apply_limits(w);
	w->stop_ev = event_new(w->base, -1, 0, stop_cb, w);
	w->reconf_ev = event_new(w->base, -1, 0, reconf_cb, w);
	w->tick_ev = event_new(w->base, -1, EV_PERSIST, tick_cb, w);
	w->resume_ev = evtimer_new(w->base, resume_cb, w);
	if (w->stop_ev == NULL || w->reconf_ev == NULL || w->tick_ev == NULL ||
	    w->resume_ev == NULL || event_add(w->tick_ev, &tv) != 0)
		return p11s_fail(P11S_E_NOMEM, "cannot create the events of worker %u", idx);
	return 0;
}

static void
worker_free(d_worker *w)
{
	size_t i;

	while (w->conns != NULL) {
		d_conn *c = w->conns;

		w->conns = c->next;
		conn_unlink_free(w, c);
	}
	for (i = 0; w->wl != NULL && i < w->n_wl; i++)
		if (w->wl[i].http != NULL)
			evhttp_free(w->wl[i].http);
	free(w->wl);
	if (w->stop_ev != NULL)
		event_free(w->stop_ev);
	if (w->reconf_ev != NULL)
		event_free(w->reconf_ev);
	if (w->tick_ev != NULL)
		event_free(w->tick_ev);
	if (w->resume_ev != NULL)
		event_free(w->resume_ev);
	if (w->base != NULL)
		event_base_free(w->base);
	SSL_CTX_free(w->ssl_ctx);
}

/* ---- server -------------------------------------------------------------- */

static int threads_result;

static void
threads_init(void)
{
	threads_result = evthread_use_pthreads() == 0 ? 1 : -1;
}

/* libevent locking, needed to wake other workers' bases (event_active). */
static int
threads_enabled(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, threads_init);
	return threads_result;
}

int
d_server_new(const d_server_params *p, d_server **out)
{
	d_server *s = NULL;
	struct rlimit rl;
	size_t i, max_conns;
	int r = P11S_E_INTERNAL;
	long ncpu;

	*out = NULL;
	if (p->n_listen == 0) {
		r = p11s_fail(P11S_E_CONFIG,
			      "no listen address: give at least one [server] listen = "
			      "unix:/PATH, http://HOST:PORT or https://HOST:PORT");
		goto out;
	}
	if (threads_enabled() != 1) {
		r = p11s_fail(P11S_E_INTERNAL, "libevent thread support is unavailable");
		goto out;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		r = p11s_fail(P11S_E_NOMEM, "out of memory");
		goto out;
	}
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->unbound_cv, NULL);
	s->handler = p->handler;
	s->handler_arg = p->handler_arg;
	s->worker_start = p->worker_start;
	s->worker_stop = p->worker_stop;
	s->limits = p->limits;
	s->grace_s = p->limits.request_timeout;
	s->lst = calloc(p->n_listen, sizeof(*s->lst));
	if (s->lst == NULL) {
		r = p11s_fail(P11S_E_NOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < p->n_listen; i++)
		s->lst[i].fd = -1;
	s->n_lst = p->n_listen;
	for (i = 0; i < p->n_listen; i++) {
		if ((r = d_listen_parse(p->listen[i], &s->lst[i].addr)) != 0)
			goto out;
		if (s->lst[i].addr.kind == D_LISTEN_HTTPS)
			s->has_tls = 1;
	}
	if (s->has_tls) {
		if ((r = make_ssl_ctx(&p->tls, &s->ssl_ctx)) != 0)
			goto out;
		atomic_store(&s->ssl_gen, 1);
	}
	for (i = 0; i < s->n_lst; i++) {
		r = s->lst[i].addr.kind == D_LISTEN_UNIX ? open_unix(&s->lst[i])
							 : open_tcp(&s->lst[i]);
		if (r != 0)
			goto out;
	}
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	s->n_w = p->workers > 0 ? p->workers : (ncpu > 0 ? (unsigned)ncpu : 1);
	if (s->n_w > 256)
		s->n_w = 256;
	max_conns = 1024;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur > 128)
		max_conns = (size_t)(rl.rlim_cur - 64) / s->n_w;
	s->w = calloc(s->n_w, sizeof(*s->w));
	if (s->w == NULL) {
		r = p11s_fail(P11S_E_NOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < s->n_w; i++)
		if ((r = worker_init(s, &s->w[i], (unsigned)i, max_conns)) != 0)
			goto out;
	*out = s;
	s = NULL;
	r = 0;
out:
	d_server_free(s);
	return r;
}

int
d_server_start(d_server *s)
{
	unsigned i;

	for (i = 0; i < s->n_w; i++) {
		int e = pthread_create(&s->w[i].thread, NULL, worker_main, &s->w[i]);
		if (e != 0)
			return p11s_fail(P11S_E_INTERNAL, "cannot start worker %u: %s", i,
					 strerror(e));
		s->w[i].started = 1;
	}
	for (i = 0; i < s->n_lst; i++)
		log_info("listening on %s (%u workers)", s->lst[i].name, s->n_w);
	return 0;
}

unsigned
d_server_workers(const d_server *s)
{
	return s->n_w;
}

size_t
d_server_n_listen(const d_server *s)
{
	return s->n_lst;
}

const char *
d_server_listen_name(const d_server *s, size_t i)
{
	return i < s->n_lst ? s->lst[i].name : NULL;
}

int
d_server_reload_tls(d_server *s, const d_tls_conf *tls)
{
	SSL_CTX *ctx = NULL, *old;
	int r;

	if (!s->has_tls)
		return 0;
	if ((r = make_ssl_ctx(tls, &ctx)) != 0)
		return r;
	pthread_mutex_lock(&s->mu);
	old = s->ssl_ctx;
	s->ssl_ctx = ctx;
	atomic_fetch_add_explicit(&s->ssl_gen, 1, memory_order_release);
	pthread_mutex_unlock(&s->mu);
	SSL_CTX_free(old);
	return 0;
}

void
d_server_set_limits(d_server *s, const d_limits *l)
{
	unsigned i;

	pthread_mutex_lock(&s->mu);
	s->limits = *l;
	pthread_mutex_unlock(&s->mu);
	for (i = 0; i < s->n_w; i++)
		event_active(s->w[i].reconf_ev, 0, 0);
}

static void
close_listeners(d_server *s)
{
	size_t i;

	for (i = 0; s->lst != NULL && i < s->n_lst; i++) {
		if (s->lst[i].fd >= 0) {
			close(s->lst[i].fd);
			s->lst[i].fd = -1;
			if (s->lst[i].addr.kind == D_LISTEN_UNIX)
				unlink(s->lst[i].addr.path);
		}
	}
}

void
d_server_stop(d_server *s, unsigned grace_s)
{
	unsigned i, n = 0;

	if (s == NULL)
		return;
	pthread_mutex_lock(&s->mu);
	s->grace_s = grace_s;
	pthread_mutex_unlock(&s->mu);
	for (i = 0; i < s->n_w; i++)
		if (s->w[i].started) {
			event_active(s->w[i].stop_ev, 0, 0);
			n++;
		}
	/* Close the listening sockets as soon as no worker watches them, so
	 * new clients are refused at once instead of waiting in the backlog. */
	pthread_mutex_lock(&s->mu);
	while (s->n_unbound < n)
		pthread_cond_wait(&s->unbound_cv, &s->mu);
	pthread_mutex_unlock(&s->mu);
	if (n > 0)
		close_listeners(s);
	for (i = 0; i < s->n_w; i++)
		if (s->w[i].started) {
			pthread_join(s->w[i].thread, NULL);
			s->w[i].started = 0;
		}
}

void
d_server_free(d_server *s)
{
	size_t i;

	if (s == NULL)
		return;
	d_server_stop(s, 0);
	for (i = 0; s->w != NULL && i < s->n_w; i++)
		worker_free(&s->w[i]);
	free(s->w);
	close_listeners(s);
	free(s->lst);
	SSL_CTX_free(s->ssl_ctx);
	pthread_cond_destroy(&s->unbound_cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

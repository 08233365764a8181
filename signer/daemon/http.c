/*
 * signerd's HTTP connection layer: evhttp per (worker, listener), the
 * connection table, connection deadlines, request accessors and replies,
 * worker threads and graceful stop.  See http.h; listening sockets are in
 * listen.c, the TLS context in tls.c.
 */
#include "config.h"

#include "signer/daemon/http_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
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
#include <openssl/ssl.h>

#include "common/log.h"
#include "common/text.h"

#define CONN_BUCKETS 1024
#define TICK_MS 250
#define DRAIN_TICK_MS 20
#define BALANCE_PAUSE_US 1000
#define FD_RESERVE 64	    /* descriptors kept for the token, logs, files */
#define UNIX_DEFAULT_MAX 64 /* default max_connections of a UNIX listener */

struct d_wl;
struct d_worker;

typedef struct d_conn {
	struct bufferevent *bev;    /* we hold one reference */
	struct d_wl *wl;	    /* the listener it came in on, in this worker */
	struct d_conn *prev, *next; /* that listener's list, oldest first */
	struct d_conn *hnext;	    /* hash chain */
	uint64_t since_ns;	    /* accepted */
	uint64_t deadline_ns;	    /* a complete request must arrive before */
	unsigned pending;	    /* requests handled, answer not yet written */
	unsigned done;		    /* requests answered */
	int tls;
} d_conn;

/*
 * One listener in one worker.  Each listener has its own connection limit
 * (max_connections, split between the workers), so clients of one listener
 * can never take the connections of another: a TCP flood does not starve the
 * UNIX socket.
 */
typedef struct d_wl {
	struct d_worker *w;
	d_listener *l;
	struct evhttp *http;
	struct evhttp_bound_socket *bound;
	struct evconnlistener *el; /* owned by http once bound */
	d_conn *head, *tail;	   /* open connections, oldest first */
	size_t n_conns;
	size_t cap;    /* this worker's share of the listener's limit */
	int full;      /* at cap and none idle: not accepting until one ends */
	int fd_short;  /* accept failed for lack of descriptors: wait for a tick */
	int accepting; /* the evconnlistener is enabled */
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
	d_conn *hash[CONN_BUCKETS];
	size_t n_conns;	    /* over this worker's listeners */
	int balance_paused; /* above its share of all connections, for a moment */
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
	char note_type[64]; /* access log: token type and key id, or "" */
	char note_kid[64];
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

void
d_abstime(uint64_t ns, struct timespec *ts)
{
	ts->tv_sec = (time_t)(ns / 1000000000u);
	ts->tv_nsec = (long)(ns % 1000000000u);
}

void
d_cond_init_monotonic(pthread_cond_t *cv)
{
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(cv, &ca);
	pthread_condattr_destroy(&ca);
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

/* Rate limits for events a client can repeat at will (SPEC: one line per
 * event, but never a flood): a few lines a minute, then a count. */
static p11s_ratelimit rl_expired =
    P11S_RATELIMIT_INIT("connections closed for sending no complete request in time", 60, 3);
static p11s_ratelimit rl_evicted =
    P11S_RATELIMIT_INIT("idle connections closed to make room under max_connections", 60, 3);
static p11s_ratelimit rl_full =
    P11S_RATELIMIT_INIT("listeners at max_connections with no idle connection", 60, 3);
static p11s_ratelimit rl_accept = P11S_RATELIMIT_INIT("failed accepts", 60, 3);

static void
conn_unlink_free(d_worker *w, d_conn *c)
{
	d_wl *wl = c->wl;
	d_conn **pp;

	for (pp = &w->hash[conn_bucket(c->bev)]; *pp != NULL; pp = &(*pp)->hnext)
		if (*pp == c) {
			*pp = c->hnext;
			break;
		}
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		wl->head = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	else
		wl->tail = c->prev;
	bufferevent_decref(c->bev);
	wl->n_conns--;
	w->n_conns--;
	atomic_fetch_sub(&w->srv->open_conns, 1);
	free(c);
}

/* Accept on this listener in this worker exactly when nothing holds it. */
static void
wl_update(d_wl *wl)
{
	d_worker *w = wl->w;
	int want = !w->draining && !w->balance_paused && !wl->full && !wl->fd_short && wl->cap > 0;

	if (wl->bound == NULL || wl->accepting == want)
		return;
	if (want)
		evconnlistener_enable(wl->el);
	else
		evconnlistener_disable(wl->el);
	wl->accepting = want;
}

static void
worker_update(d_worker *w)
{
	size_t i;

	for (i = 0; i < w->n_wl; i++)
		wl_update(&w->wl[i]);
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

static int
conn_alive(const d_conn *c)
{
	bufferevent_data_cb rcb = NULL, wcb = NULL;
	bufferevent_event_cb ecb = NULL;
	void *arg = NULL;

	bufferevent_getcb(c->bev, &rcb, &wcb, &ecb, &arg);
	return ecb != NULL;
}

/* No request in progress: none being handled or answered, no bytes of the
 * next one read.  A new connection that has sent nothing yet is idle. */
static int
conn_idle(const d_conn *c)
{
	return conn_alive(c) && c->pending == 0 &&
	       evbuffer_get_length(bufferevent_get_input(c->bev)) == 0;
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

/* The oldest idle connection of wl other than `except`, or NULL. */
static d_conn *
oldest_idle(d_wl *wl, const d_conn *except)
{
	d_conn *c;

	for (c = wl->head; c != NULL; c = c->next)
		if (c != except && conn_idle(c))
			return c;
	return NULL;
}

/* Close c now and release its descriptor (our reference goes too). */
static void
conn_close_now(d_worker *w, d_conn *c)
{
	conn_expire(c, 0);
	if (!conn_alive(c))
		conn_unlink_free(w, c);
}

/* Whether wl may take no more connections: at its cap with none idle. */
static int
wl_full(d_wl *wl)
{
	return wl->n_conns >= wl->cap && oldest_idle(wl, NULL) == NULL;
}

/* evhttp asks for a bufferevent for every accepted connection. */
static struct bufferevent *
conn_new_cb(struct event_base *base, void *arg)
{
	d_wl *wl = arg;
	d_worker *w = wl->w;
	struct bufferevent *bev = NULL;
	d_conn *c, *old;
	size_t b, total;

	if (wl->l->addr.kind == SIGNER_LISTEN_HTTPS) {
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
	c->wl = wl;
	c->tls = wl->l->addr.kind == SIGNER_LISTEN_HTTPS;
	c->since_ns = d_now_ns();
	c->deadline_ns = c->since_ns + (uint64_t)w->limits.request_timeout * 1000000000u;
	/* Our reference keeps the bufferevent (not the connection) alive after
	 * evhttp frees it, so the sweep can tell that it is gone: a freed
	 * bufferevent has its callbacks cleared. */
	bufferevent_incref(bev);
	c->prev = wl->tail;
	if (wl->tail != NULL)
		wl->tail->next = c;
	else
		wl->head = c;
	wl->tail = c;
	b = conn_bucket(bev);
	c->hnext = w->hash[b];
	w->hash[b] = c;
	wl->n_conns++;
	w->n_conns++;
	total = atomic_fetch_add(&w->srv->open_conns, 1) + 1;
	/* Above this listener's limit: make room by closing its oldest idle
	 * connection (never the one just accepted). */
	while (wl->n_conns > wl->cap && (old = oldest_idle(wl, c)) != NULL) {
		log_info_rl(&rl_evicted,
			    "worker %u: %s holds %zu connections (its share of max_connections "
			    "is %zu); closing the oldest idle one, open for %llu s",
			    w->idx, wl->l->name, wl->n_conns, wl->cap,
			    (unsigned long long)((c->since_ns - old->since_ns) / 1000000000u));
		conn_close_now(w, old);
	}
	if (wl_full(wl)) {
		log_warn_rl(&rl_full,
			    "worker %u: %s holds %zu connections, none idle (its share of "
			    "max_connections is %zu); not accepting there until one ends",
			    w->idx, wl->l->name, wl->n_conns, wl->cap);
		wl->full = 1;
		wl_update(wl);
	} else if (w->srv->n_w > 1 && w->n_conns * w->srv->n_w > total + w->srv->n_w) {
		/* All workers watch the same listening sockets, and libevent's
		 * accept loop would take a whole burst of connections into this
		 * one: above its share, this worker stops accepting for a
		 * millisecond so that the others take the rest. */
		static const struct timeval resume = {0, BALANCE_PAUSE_US};

		w->balance_paused = 1;
		worker_update(w);
		event_add(w->resume_ev, &resume);
	}
	return bev;
}

/* Drop dead connections; expire those past their deadline; during a
 * drain, close idle ones; then re-open listeners that have room. */
static void
sweep(d_worker *w, uint64_t now)
{
	size_t i;

	for (i = 0; i < w->n_wl; i++) {
		d_wl *wl = &w->wl[i];
		d_conn *c = wl->head, *next;

		for (; c != NULL; c = next) {
			next = c->next;
			if (conn_alive(c) && c->pending == 0) {
				int idle = c->done > 0 &&
					   evbuffer_get_length(bufferevent_get_input(c->bev)) == 0;

				if (now >= c->deadline_ns) {
					log_info_rl(
					    &rl_expired,
					    "worker %u: closing a connection to %s that sent "
					    "no complete request within %u s",
					    w->idx, wl->l->name, w->limits.request_timeout);
					conn_expire(c, c->done == 0);
				} else if (w->draining && idle) {
					conn_expire(c, 0);
				}
			}
			if (!conn_alive(c))
				conn_unlink_free(w, c);
		}
		wl->full = wl_full(wl);
		wl->fd_short = 0;
	}
	worker_update(w);
}

static void
resume_cb(evutil_socket_t fd, short what, void *arg)
{
	d_worker *w = arg;

	(void)fd;
	(void)what;
	w->balance_paused = 0;
	worker_update(w);
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	d_worker *w = arg;
	uint64_t now = d_now_ns();

	(void)fd;
	(void)what;
	sweep(w, now);
	p11s_log_rl_flush(&rl_expired, LOG_INFO, __func__, __LINE__);
	p11s_log_rl_flush(&rl_evicted, LOG_INFO, __func__, __LINE__);
	p11s_log_rl_flush(&rl_full, LOG_WARNING, __func__, __LINE__);
	p11s_log_rl_flush(&rl_accept, LOG_WARNING, __func__, __LINE__);
	if (w->draining && (w->n_conns == 0 || now >= w->drain_until_ns)) {
		if (w->n_conns != 0)
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
	return (d_listen_kind)r->wl->l->addr.kind;
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

	if (r->wl->l->addr.kind != SIGNER_LISTEN_HTTPS)
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
d_req_note_type(d_req *r, const char *type)
{
	snprintf(r->note_type, sizeof(r->note_type), "%s", type != NULL ? type : "");
}

void
d_req_note_kid(d_req *r, const char *kid)
{
	snprintf(r->note_kid, sizeof(r->note_kid), "%s", kid != NULL ? kid : "");
}

/* [server] access_log: route, status, type, kid, duration of each answer. */
static void
access_line(const d_req *r, int code)
{
	uint64_t us = (d_now_ns() - r->start_ns) / 1000u;

	log_info("access: %s %s %d type=%s kid=%s %" PRIu64 ".%03u ms", d_req_method_name(r),
		 r->path != NULL ? r->path : "-", code, r->note_type[0] ? r->note_type : "-",
		 r->note_kid[0] ? r->note_kid : "-", us / 1000u, (unsigned)(us % 1000u));
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
	if (r->wl->w->limits.access_log)
		access_line(r, code);
	if (r->deferred == 2)
		free(r);
}

void
d_reply_json(d_req *r, int code, const json_t *obj)
{
	char *text = json_dumps(obj, JSON_COMPACT);
	const char *type = json_string_value(json_object_get(obj, "type"));
	const char *kid = json_string_value(json_object_get(obj, "kid"));

	if (type != NULL)
		d_req_note_type(r, type);
	if (kid != NULL)
		d_req_note_kid(r, kid);
	if (text == NULL) {
		static const char oom[] = "{\"error\":\"internal\",\"detail\":\"out of memory\"}";
		d_reply_raw(r, 500, "application/json", oom, sizeof(oom) - 1);
		return;
	}
	d_reply_raw(r, code, "application/json", text, strlen(text));
	free(text);
}

/* Cut a message that vsnprintf truncated back to its last whole UTF-8
 * character: drop up to three trailing bytes of a character cut in half. */
static void
trim_cut_char(char *s)
{
	size_t len = strlen(s);

	for (size_t k = 0; k < 4 && k <= len; k++) {
		if (p11s_utf8_valid(s, len - k)) {
			s[len - k] = '\0';
			return;
		}
	}
}

void
d_reply_error(d_req *r, int code, const char *error, const char *fmt, ...)
{
	char detail[512];
	va_list ap;
	json_t *o;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	if (n < 0)
		detail[0] = '\0';
	else if ((size_t)n >= sizeof(detail))
		trim_cut_char(detail);
	/* any other byte that is not UTF-8 (or a control) becomes '?' */
	p11s_text_fix(detail);
	o = json_pack("{s:s, s:s}", "error", error, "detail", detail);
	if (o == NULL) {
		static const char internal[] = "{\"error\":\"internal\",\"detail\":\"the answer "
					       "could not be built; see the server log\"}";

		char q[P11S_QUOTE_BUF];

		log_error("building the JSON error answer %d %s to %s failed", code,
			  p11s_quote_str(error, q, sizeof(q)), d_req_method_name(r));
		d_reply_raw(r, 500, "application/json", internal, sizeof(internal) - 1);
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

/* Close the oldest idle connection of this worker, TCP listeners first;
 * 1 when one was closed. */
static int
make_room(d_worker *w)
{
	d_conn *best = NULL, *c;
	size_t i;
	int pass;

	for (pass = 0; pass < 2 && best == NULL; pass++)
		for (i = 0; i < w->n_wl; i++) {
			if ((w->wl[i].l->addr.kind == SIGNER_LISTEN_UNIX) != (pass == 1))
				continue;
			c = oldest_idle(&w->wl[i], NULL);
			if (c != NULL && (best == NULL || c->since_ns < best->since_ns))
				best = c;
		}
	if (best == NULL)
		return 0;
	log_info_rl(&rl_evicted,
		    "worker %u: out of file descriptors; closing the oldest idle connection, to %s",
		    w->idx, best->wl->l->name);
	conn_close_now(w, best);
	return 1;
}

/* The worker whose loop runs in this thread. */
static _Thread_local d_worker *this_worker;

static void
accept_error_cb(struct evconnlistener *el, void *arg)
{
	d_worker *w = this_worker;
	d_wl *wl = NULL;
	int err = EVUTIL_SOCKET_ERROR();
	size_t i;

	/* evhttp owns the listener's argument (arg is its struct evhttp):
	 * find our listener from the worker running this loop. */
	(void)arg;
	for (i = 0; w != NULL && i < w->n_wl && wl == NULL; i++)
		if (w->wl[i].el == el)
			wl = &w->wl[i];
	if (wl == NULL) {
		log_warn_rl(&rl_accept, "accept failed: %s", strerror(err));
		return;
	}
	log_warn_rl(&rl_accept, "worker %u: accept on %s failed: %s", wl->w->idx, wl->l->name,
		    strerror(err));
	/* Out of descriptors: close this worker's oldest idle TCP connection
	 * (the UNIX socket serves local operators) and try again; with none to
	 * close, stop accepting here, and only here, until the next sweep. */
	if ((err == EMFILE || err == ENFILE) && make_room(wl->w))
		return;
	wl->fd_short = 1;
	wl_update(wl);
}

static void *
worker_main(void *arg)
{
	d_worker *w = arg;

	this_worker = w;
	if (w->srv->worker_start != NULL)
		w->srv->worker_start(w->idx, w->base, w->srv->handler_arg);
	if (event_base_dispatch(w->base) < 0)
		log_error("worker %u: event loop failed", w->idx);
	if (w->srv->worker_stop != NULL)
		w->srv->worker_stop(w->idx, w->base, w->srv->handler_arg);
	return NULL;
}

/* This worker's share of a limit of n connections over n_w workers. */
static size_t
share(size_t n, unsigned n_w, unsigned idx)
{
	return n / n_w + (idx < n % n_w ? 1 : 0);
}

/*
 * A worker owns one event_base (w->base): created here, run by worker_main
 * in the worker's thread, freed by worker_free after the thread has exited.
 * Everything of the worker (its connections, its listeners' evhttp, its
 * timers) lives on that base and is touched only from that thread; other
 * threads reach it only through event_active() on its events.
 */
static int
worker_init(d_server *s, d_worker *w, unsigned idx)
{
	struct timeval tv = {0, TICK_MS * 1000};
	size_t i;

	w->srv = s;
	w->idx = idx;
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
		wl->accepting = 1;
		wl->cap = share(wl->l->max_conns, s->n_w, idx);
		wl_update(wl);
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

	for (i = 0; w->wl != NULL && i < w->n_wl; i++)
		while (w->wl[i].head != NULL)
			conn_unlink_free(w, w->wl[i].head);
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

/*
 * Each listener's connection limit: max_connections when given; otherwise
 * from the descriptors left (`budget`): a UNIX listener gets a quarter of
 * them, at most UNIX_DEFAULT_MAX, and the TCP listeners share the rest.
 * Never below one per worker.
 */
static void
set_limits(d_server *s, size_t budget)
{
	size_t i, given = 0, n_unix = 0, n_tcp = 0, rest, unix_max, tcp_max, total = 0;

	for (i = 0; i < s->n_lst; i++) {
		if (s->lst[i].addr.max_connections != 0)
			given += s->lst[i].addr.max_connections;
		else if (s->lst[i].addr.kind == SIGNER_LISTEN_UNIX)
			n_unix++;
		else
			n_tcp++;
	}
	rest = budget > given ? budget - given : 0;
	unix_max = n_unix > 0 ? rest / 4 / n_unix : 0;
	if (unix_max > UNIX_DEFAULT_MAX)
		unix_max = UNIX_DEFAULT_MAX;
	tcp_max = n_tcp > 0 ? (rest - unix_max * n_unix) / n_tcp : 0;
	for (i = 0; i < s->n_lst; i++) {
		d_listener *l = &s->lst[i];

		if (l->addr.max_connections != 0)
			l->max_conns = l->addr.max_connections;
		else
			l->max_conns = l->addr.kind == SIGNER_LISTEN_UNIX ? unix_max : tcp_max;
		if (l->max_conns < s->n_w)
			l->max_conns = s->n_w;
		total += l->max_conns;
	}
	if (total > budget)
		log_warn("the listeners may hold %zu connections but the open-file limit leaves "
			 "about %zu; raise it (LimitNOFILE) or lower max_connections",
			 total, budget);
}

int
d_server_new(const d_server_params *p, d_server **out)
{
	d_server *s = NULL;
	struct rlimit rl;
	size_t i, budget;
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
		if ((r = signer_listen_parse(p->listen[i], &s->lst[i].addr, NULL)) != 0)
			goto out;
		if (s->lst[i].addr.kind == SIGNER_LISTEN_HTTPS)
			s->has_tls = 1;
	}
	if (s->has_tls) {
		if ((r = d_tls_ctx_new(&p->tls, &s->ssl_ctx)) != 0)
			goto out;
		atomic_store(&s->ssl_gen, 1);
	}
	for (i = 0; i < s->n_lst; i++) {
		d_listener *l = &s->lst[i];

		if (p->listen_fd != NULL && p->listen_fd[i] >= 0)
			r = d_listener_adopt(l, p->listen_fd[i]);
		else if (l->addr.kind == SIGNER_LISTEN_UNIX)
			r = d_listener_open_unix(l);
		else
			r = d_listener_open_tcp(l);
		if (r != 0)
			goto out;
	}
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	s->n_w = p->workers > 0 ? p->workers : (ncpu > 0 ? (unsigned)ncpu : 1);
	if (s->n_w > 256)
		s->n_w = 256;
	budget = (size_t)1024 * s->n_w;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		budget = rl.rlim_cur > 128 ? (size_t)(rl.rlim_cur - FD_RESERVE)
					   : (size_t)rl.rlim_cur / 2;
	set_limits(s, budget);
	s->w = calloc(s->n_w, sizeof(*s->w));
	if (s->w == NULL) {
		r = p11s_fail(P11S_E_NOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < s->n_w; i++)
		if ((r = worker_init(s, &s->w[i], (unsigned)i)) != 0)
			goto out;
	*out = s;
	s = NULL;
	r = 0;
out:
	/* On failure the caller keeps the sockets it gave. */
	for (i = 0; s != NULL && s->lst != NULL && p->listen_fd != NULL && i < s->n_lst; i++)
		if (p->listen_fd[i] >= 0 && s->lst[i].fd == p->listen_fd[i])
			s->lst[i].fd = -1;
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
		log_info("listening on %s (%u workers, max_connections %zu)", s->lst[i].name,
			 s->n_w, s->lst[i].max_conns);
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
	if ((r = d_tls_ctx_new(tls, &ctx)) != 0)
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
			if (s->lst[i].owns_path)
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

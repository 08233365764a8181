/*
 * signerd's HTTP/1.1 layer over libevent's evhttp.
 *
 * One event_base per worker thread; every worker accepts on the same
 * listening sockets (UNIX, TCP, TCP+TLS through bufferevent_openssl).
 * Handlers run synchronously in the worker that read the request, so a
 * worker's own data (its PKCS#11 sessions, its counters) needs no lock.
 *
 * Limits: body size (413 from evhttp), header size, a read/write idle
 * timeout, and an absolute deadline per connection: a connection must
 * present a complete request within request_timeout of being accepted or of
 * its previous answer, else it is closed (408 on plain sockets), so clients
 * that trickle bytes (slow loris) cannot hold a connection.  Each listener
 * has its own connection limit (max_connections, split between workers); at
 * the limit its oldest idle connection is closed to make room, so one
 * listener's clients never starve another's (the UNIX socket).
 */
#ifndef P11S_SIGNER_D_HTTP_H
#define P11S_SIGNER_D_HTTP_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "common/error.h"
#include "signer/listen.h"

typedef struct d_server d_server;
typedef struct d_req d_req;

/* The kind of listener a request arrived on (signer/listen.h). */
typedef enum {
	D_LISTEN_UNIX = SIGNER_LISTEN_UNIX,
	D_LISTEN_HTTP = SIGNER_LISTEN_HTTP,
	D_LISTEN_HTTPS = SIGNER_LISTEN_HTTPS,
} d_listen_kind;

typedef enum {
	D_M_GET = 1,
	D_M_HEAD,
	D_M_POST,
	D_M_OTHER,
} d_method;

typedef struct d_tls_conf {
	const char *certificate; /* PEM chain */
	const char *key;	 /* PEM private key, or pkcs11: URI of a token key */
	const char *key_pin;	 /* PIN source for a token key (the URI's pin-source= wins) */
	const char *lock_file;	 /* host lock while libp11 lists the token's keys */
	const char *client_ca;	 /* PEM CA bundle; NULL = no client certificates */
} d_tls_conf;

typedef struct d_limits {
	size_t max_body;	  /* bytes */
	size_t max_headers;	  /* bytes */
	unsigned request_timeout; /* seconds */
	int access_log;		  /* 1: one info line per answer */
} d_limits;

/* Called in the worker thread for every request; must answer with one of
 * the d_reply* functions (the server answers 500 otherwise). */
typedef void (*d_handler_fn)(d_req *req, void *arg);

struct event_base;
/* Called in a worker thread with its event_base before its loop starts
 * (worker_start) and after its loop has ended, before anything of it is
 * freed (worker_stop); arg = handler_arg.  Either may be NULL. */
typedef void (*d_worker_fn)(unsigned worker, struct event_base *base, void *arg);

typedef struct d_server_params {
	/* listen values (signer/listen.h), parsed with signer_listen_parse */
	const char *const *listen;
	size_t n_listen;
	/* NULL, or one per listen value: an already listening socket to serve
	 * instead of binding the address (socket activation), or -1 to bind.
	 * The address still gives the listener's kind and options.  When
	 * d_server_new succeeds the server owns these sockets (it closes them,
	 * but never removes the file of an adopted UNIX socket); when it fails
	 * the caller still does. */
	const int *listen_fd;
	d_tls_conf tls; /* required when an https listener is given */
	d_limits limits;
	unsigned workers; /* 0 = number of online CPUs */
	d_handler_fn handler;
	void *handler_arg;
	d_worker_fn worker_start;
	d_worker_fn worker_stop;
} d_server_params;

/* Create listening sockets and the TLS context (no threads yet). */
P11S_MUST_CHECK int d_server_new(const d_server_params *p, d_server **out);
/* Start the worker threads. */
P11S_MUST_CHECK int d_server_start(d_server *s);
unsigned d_server_workers(const d_server *s);
/* The address a listener is bound to, e.g. "http://127.0.0.1:40123". */
const char *d_server_listen_name(const d_server *s, size_t i);
size_t d_server_n_listen(const d_server *s);

/* Replace the TLS context for new connections (SIGHUP).  On failure the old
 * one stays.  Replace the limits (applied by each worker). */
P11S_MUST_CHECK int d_server_reload_tls(d_server *s, const d_tls_conf *tls);
void d_server_set_limits(d_server *s, const d_limits *l);

/*
 * Graceful stop: every worker stops accepting, answers what it has read with
 * "Connection: close", closes idle keep-alive connections, and leaves its
 * loop when no connection is left or after `grace_s` seconds.  Blocks until
 * all workers have exited.
 */
void d_server_stop(d_server *s, unsigned grace_s);
/* Close sockets, remove UNIX socket files, free everything (after stop). */
void d_server_free(d_server *s);

/* ---- request accessors (valid during the handler) ----------------------- */

d_method d_req_method(const d_req *r);
const char *d_req_method_name(const d_req *r);
const char *d_req_path(const d_req *r);
unsigned d_req_worker(const d_req *r);
d_listen_kind d_req_listen_kind(const d_req *r);
/* Request body (not NUL-terminated), NULL/0 when empty. */
const uint8_t *d_req_body(d_req *r, size_t *len);
const char *d_req_header(const d_req *r, const char *name);
/* 1 when the connection is TLS and the client presented a certificate that
 * verified against client_ca. */
int d_req_peer_verified(const d_req *r);
/* Monotonic start time of the handler, in nanoseconds. */
uint64_t d_req_start_ns(const d_req *r);
/* The token type and key id the request concerns, for the access log (a JSON
 * answer's "type" and "kid" members are noted by themselves). */
void d_req_note_type(d_req *r, const char *type);
void d_req_note_kid(d_req *r, const char *kid);

/*
 * Keep the request past the handler, to answer it later on the same worker
 * thread (e.g. from an event woken by another thread).  Returns the request
 * to answer with one of the d_reply* functions, which then frees it; NULL
 * when out of memory (answer r as usual then).  The body stays readable
 * until the answer.  An answer is always needed, also when the client has
 * gone meanwhile (it then only frees).
 */
d_req *d_req_defer(d_req *r);

/* ---- replies ------------------------------------------------------------ */

/* Add a response header before replying. */
void d_reply_header(d_req *r, const char *name, const char *value);
void d_reply_raw(d_req *r, int code, const char *content_type, const char *body, size_t len);
/* Compact JSON with Content-Type application/json; `obj` is not stolen. */
void d_reply_json(d_req *r, int code, const json_t *obj);
/* {"error": error, "detail": detail} */
void d_reply_error(d_req *r, int code, const char *error, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The monotonic clock, in nanoseconds. */
uint64_t d_now_ns(void);
/* A d_now_ns() instant as the absolute time of a timed wait on a condition
 * variable made by d_cond_init_monotonic. */
void d_abstime(uint64_t ns, struct timespec *ts);
/* Initialise *cv so that its timed waits count on the monotonic clock. */
void d_cond_init_monotonic(pthread_cond_t *cv);

#endif

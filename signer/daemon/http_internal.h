/*
 * Private to signerd's HTTP layer (http.c, listen.c, tls.c): the listening
 * socket record and the functions the connection layer calls to open
 * sockets and build TLS contexts.
 */
#ifndef P11S_SIGNER_D_HTTP_INTERNAL_H
#define P11S_SIGNER_D_HTTP_INTERNAL_H

#include <openssl/ssl.h>

#include "signer/daemon/http.h"

typedef struct d_listener {
	signer_listen addr;
	int fd;
	int owns_path;	  /* a UNIX socket file we created (removed at the end) */
	size_t max_conns; /* connection limit over all workers */
	char name[300];
} d_listener;

/* Bind and listen on l->addr; sets l->fd and l->name. */
P11S_MUST_CHECK int d_listener_open_unix(d_listener *l);
P11S_MUST_CHECK int d_listener_open_tcp(d_listener *l);
/* Serve an already listening socket whose kind matches l->addr; sets l->fd
 * (taking ownership of fd on success) and l->name. */
P11S_MUST_CHECK int d_listener_adopt(d_listener *l, int fd);

/* A server TLS context from the configured PEM files. */
P11S_MUST_CHECK int d_tls_ctx_new(const d_tls_conf *tls, SSL_CTX **out);

#endif

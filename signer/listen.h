/*
 * One parser for `[server] listen` values (signer.conf(5)), used by the
 * configuration validator and by signerd when it opens its sockets.
 *
 *   unix:/absolute/path          a UNIX socket
 *   http://HOST:PORT             plain HTTP over TCP
 *   https://HOST:PORT            HTTP over TLS
 *
 * HOST is a name, an IPv4 address, an IPv6 address in brackets, or `*` for
 * every local address; PORT is 1 to 65535 (port 0, "any free port", is
 * refused: clients could not know where to connect).  Options may follow
 * the address, separated by blanks: `max_connections=N`.
 */
#ifndef P11S_SIGNER_LISTEN_H
#define P11S_SIGNER_LISTEN_H

#include "common/error.h"

/* The accepted forms, for messages that say what would be accepted. */
#define SIGNER_LISTEN_FORMS                                                                        \
	"unix:/absolute/path, http://HOST:PORT or https://HOST:PORT (HOST a name, an IPv4 "        \
	"address, [IPv6] or *; PORT 1 to 65535), optionally followed by max_connections=N"

#define SIGNER_LISTEN_MAX_CONNECTIONS 65536

typedef enum {
	SIGNER_LISTEN_UNIX = 1,
	SIGNER_LISTEN_HTTP,
	SIGNER_LISTEN_HTTPS,
} signer_listen_kind;

typedef struct signer_listen {
	signer_listen_kind kind;
	char path[108];		  /* UNIX socket path */
	char host[256];		  /* TCP host without brackets; "" = every address ("*") */
	char port[8];		  /* TCP port, 1 to 65535 */
	unsigned max_connections; /* 0 = not given (the server's default) */
} signer_listen;

/*
 * Parse one listen value.  On failure *out is zeroed, *why (when not NULL)
 * is set to a short static reason ("has no :PORT"), and the error message
 * (p11s_errmsg) quotes the value, the reason and the accepted forms.
 */
P11S_MUST_CHECK int signer_listen_parse(const char *s, signer_listen *out, const char **why);

#endif

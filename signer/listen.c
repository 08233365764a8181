/*
 * `[server] listen` values: see listen.h.  Pure: no sockets, no lookups.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "signer/listen.h"

static int
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Decimal 1..max, digits only; 0 when malformed, zero or too large. */
static unsigned long
parse_number(const char *s, size_t len, unsigned long max)
{
	unsigned long v = 0;
	size_t i;

	if (len == 0 || len > 10)
		return 0;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (unsigned long)(s[i] - '0');
		if (v > max)
			return 0;
	}
	return v;
}

/* A name or IPv4 address: letters, digits, '.' and '-'. */
static int
valid_name(const char *h, size_t len)
{
	size_t i;

	if (len == 0)
		return 0;
	for (i = 0; i < len; i++)
		if (!((h[i] >= 'a' && h[i] <= 'z') || (h[i] >= 'A' && h[i] <= 'Z') ||
		      (h[i] >= '0' && h[i] <= '9') || h[i] == '.' || h[i] == '-'))
			return 0;
	return 1;
}

/* "HOST:PORT" of length len into a; NULL or the reason. */
static const char *
parse_hostport(const char *s, size_t len, signer_listen *a)
{
	const char *host, *colon;
	size_t hl;
	unsigned long port;

	if (len > 0 && s[0] == '[') {
		const char *rb = memchr(s, ']', len);

		if (rb == NULL)
			return "has an IPv6 host without its closing ]";
		host = s + 1;
		hl = (size_t)(rb - host);
		if (hl == 0 || strspn(host, "0123456789abcdefABCDEF:.") < hl ||
		    hl >= sizeof(a->host))
			return "has an invalid IPv6 host (hexadecimal digits, : and . in brackets)";
		colon = rb + 1;
		if (colon == s + len || *colon != ':')
			return "has no :PORT";
	} else {
		colon = NULL;
		for (const char *p = s; p < s + len; p++)
			if (*p == ':')
				colon = p;
		if (colon == NULL)
			return "has no :PORT";
		host = s;
		hl = (size_t)(colon - s);
		if (hl == 1 && host[0] == '*')
			hl = 0; /* every address */
		else if (!valid_name(host, hl) || memchr(host, ':', hl) != NULL ||
			 hl >= sizeof(a->host))
			return "has an invalid host (a name, an IPv4 address, [IPv6] or *)";
	}
	port = parse_number(colon + 1, (size_t)(s + len - colon - 1), 65535);
	if (port == 0) {
		if ((size_t)(s + len - colon - 1) > 0 &&
		    strspn(colon + 1, "0") == (size_t)(s + len - colon - 1))
			return "has an invalid port: 0 would bind a port clients cannot know "
			       "(1 to 65535)";
		return "has an invalid port (1 to 65535, nothing after it)";
	}
	memcpy(a->host, host, hl);
	a->host[hl] = '\0';
	snprintf(a->port, sizeof(a->port), "%lu", port);
	return NULL;
}

/* Blank-separated "name=value" options after the address; NULL or the reason. */
static const char *
parse_options(const char *p, signer_listen *a)
{
	static const char mc[] = "max_connections=";

	for (;;) {
		size_t n;

		while (is_blank(*p))
			p++;
		if (*p == '\0')
			return NULL;
		for (n = 0; p[n] != '\0' && !is_blank(p[n]); n++)
			;
		if (n < sizeof(mc) - 1 || strncmp(p, mc, sizeof(mc) - 1) != 0)
			return "has an unknown option (only max_connections=N may follow the "
			       "address)";
		if (a->max_connections != 0)
			return "gives max_connections twice";
		a->max_connections = (unsigned)parse_number(
		    p + sizeof(mc) - 1, n - (sizeof(mc) - 1), SIGNER_LISTEN_MAX_CONNECTIONS);
		if (a->max_connections == 0)
			return "has an invalid max_connections (a whole number from 1 to 65536)";
		p += n;
	}
}

static const char *
parse_address(const char *s, signer_listen *a)
{
	const char *end, *why;
	size_t len;

	for (end = s; *end != '\0' && !is_blank(*end); end++)
		;
	len = (size_t)(end - s);
	for (const char *p = s; *p != '\0'; p++)
		if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f)
			return "contains control characters";
	if (len > 5 && strncmp(s, "unix:", 5) == 0) {
		if (s[5] != '/')
			return "needs an absolute socket path";
		if (len - 5 >= sizeof(a->path))
			return "has a socket path longer than 107 bytes";
		a->kind = SIGNER_LISTEN_UNIX;
		memcpy(a->path, s + 5, len - 5);
		a->path[len - 5] = '\0';
	} else if (len == 5 && strncmp(s, "unix:", 5) == 0) {
		return "needs an absolute socket path";
	} else if (strncmp(s, "http://", 7) == 0) {
		a->kind = SIGNER_LISTEN_HTTP;
		if ((why = parse_hostport(s + 7, len - 7, a)) != NULL)
			return why;
	} else if (strncmp(s, "https://", 8) == 0) {
		a->kind = SIGNER_LISTEN_HTTPS;
		if ((why = parse_hostport(s + 8, len - 8, a)) != NULL)
			return why;
	} else {
		return "is not a listen address";
	}
	return parse_options(end, a);
}

int
signer_listen_parse(const char *s, signer_listen *out, const char **why)
{
	signer_listen a;
	const char *reason;

	memset(out, 0, sizeof(*out));
	if (why != NULL)
		*why = NULL;
	memset(&a, 0, sizeof(a));
	if (s == NULL || s[0] == '\0')
		reason = "is empty";
	else
		reason = parse_address(s, &a);
	if (reason != NULL) {
		if (why != NULL)
			*why = reason;
		return p11s_fail(P11S_E_CONFIG, "listen address \"%.120s\" %s; expected %s",
				 s != NULL ? s : "", reason, SIGNER_LISTEN_FORMS);
	}
	*out = a;
	return 0;
}

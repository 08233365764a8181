/* Untrusted text in messages.  See text.h. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/text.h"

/*
 * Length (1-4) of the valid UTF-8 character at p (n bytes available), its
 * code point in *cp; 0 when p does not start a valid character (RFC 3629:
 * no overlong forms, no surrogates, nothing above U+10FFFF).
 */
static size_t
utf8_char(const uint8_t *p, size_t n, uint32_t *cp)
{
	uint32_t c;
	size_t len, i;

	if (n == 0)
		return 0;
	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2;
		c = p[0] & 0x1fu;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3;
		c = p[0] & 0x0fu;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		c = p[0] & 0x07u;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3fu);
	}
	if ((len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

int
p11s_utf8_valid(const void *s, size_t len)
{
	const uint8_t *p = s;
	uint32_t cp;
	size_t i = 0, k;

	while (i < len) {
		if ((k = utf8_char(p + i, len - i, &cp)) == 0)
			return 0;
		i += k;
	}
	return 1;
}

/* Code points shown as \uHHHH: C1 controls and the bidirectional controls
 * that could make a message read differently from what it holds. */
static int
hidden_cp(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) ||
	       (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200e || cp == 0x200f || cp == 0x2028 ||
	       cp == 0x2029;
}

const char *
p11s_quote(const void *in, size_t len, char *out, size_t outlen)
{
	static const char marker[] = "...";
	const uint8_t *p = in;
	size_t i = 0, j = 0, room;
	int cut = 0;

	if (out == NULL || outlen == 0)
		return "";
	if (outlen < 8) {
		out[0] = '\0';
		return out;
	}
	if (p == NULL)
		len = 0;
	/* Room for the text between the quotes: leave the closing quote, the
	 * marker and the NUL. */
	room = outlen - 1 - 2 - (sizeof(marker) - 1);
	out[j++] = '"';
	while (i < len) {
		char piece[16];
		size_t plen, k;
		uint32_t cp = 0;

		k = utf8_char(p + i, len - i, &cp);
		if (k == 0) {
			plen = (size_t)snprintf(piece, sizeof(piece), "\\x%02X", p[i]);
			k = 1;
		} else if (k == 1 && (cp < 0x20 || cp == 0x7f)) {
			plen = (size_t)snprintf(piece, sizeof(piece), "\\x%02X", (unsigned)cp);
		} else if (k == 1 && (cp == '"' || cp == '\\')) {
			piece[0] = '\\';
			piece[1] = (char)cp;
			plen = 2;
		} else if (hidden_cp(cp)) {
			plen = (size_t)snprintf(piece, sizeof(piece), "\\u%04X", (unsigned)cp);
		} else {
			memcpy(piece, p + i, k);
			plen = k;
		}
		if (j - 1 + plen > room) {
			cut = 1;
			break;
		}
		memcpy(out + j, piece, plen);
		j += plen;
		i += k;
	}
	out[j++] = '"';
	if (cut) {
		memcpy(out + j, marker, sizeof(marker) - 1);
		j += sizeof(marker) - 1;
	}
	out[j] = '\0';
	return out;
}

const char *
p11s_quote_str(const char *in, char *out, size_t outlen)
{
	return p11s_quote(in, in != NULL ? strlen(in) : 0, out, outlen);
}

char *
p11s_text_fix(char *s)
{
	uint8_t *p = (uint8_t *)s;
	size_t n, i = 0, k;
	uint32_t cp;

	if (s == NULL)
		return s;
	n = strlen(s);
	while (i < n) {
		k = utf8_char(p + i, n - i, &cp);
		if (k == 0 || (k == 1 && ((cp < 0x20 && cp != '\t' && cp != '\n') || cp == 0x7f))) {
			p[i++] = '?';
			continue;
		}
		i += k;
	}
	return s;
}

char *
p11s_json_quote(const char *s)
{
	static const char ctl[] = "\b\f\n\r\t";
	size_t n = strlen(s), j = 0;
	char *out;

	/* at most 6 bytes for each input byte, the quotes and the NUL */
	if (!p11s_utf8_valid(s, n) || n > (SIZE_MAX - 3) / 6 || (out = malloc(6 * n + 3)) == NULL)
		return NULL;
	out[j++] = '"';
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *k;

		if (c >= 0x20 && c != '"' && c != '\\')
			out[j++] = (char)c;
		else if (c == '"' || c == '\\')
			out[j++] = '\\', out[j++] = (char)c;
		else if ((k = strchr(ctl, c)) != NULL) /* c is never NUL here */
			out[j++] = '\\', out[j++] = "bfnrt"[k - ctl];
		else
			j += (size_t)snprintf(out + j, 7, "\\u%04X", c);
	}
	out[j++] = '"';
	out[j] = '\0';
	return out;
}

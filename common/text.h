/*
 * Untrusted text in messages: the one way to quote outside input (request
 * members, paths, token headers, remote status documents, file names) in an
 * error message, a log line or a JSON answer.
 */
#ifndef P11S_COMMON_TEXT_H
#define P11S_COMMON_TEXT_H

#include <stddef.h>

/* A buffer for p11s_quote that shows up to about 64 characters. */
#define P11S_QUOTE_BUF 96

/*
 * Quote `len` bytes of untrusted text into out (outlen bytes, at least 8) as
 * "..." and return out, which is always NUL-terminated, valid UTF-8 and
 * printable:
 *  - whole UTF-8 characters are copied; a character is never cut;
 *  - bytes that are not valid UTF-8 (stray continuation bytes, truncated or
 *    overlong sequences, surrogates, values above U+10FFFF) become \xHH;
 *  - control bytes (C0, DEL) become \xHH, C1 controls and the bidirectional
 *    overrides \uHHHH, and '"' and '\' are escaped with a backslash;
 *  - text that does not fit is cut after the last whole character or escape
 *    that does, and the marker ... follows the closing quote.
 * in may be NULL (shown as "").
 */
const char *p11s_quote(const void *in, size_t len, char *out, size_t outlen);

/* Same for a NUL-terminated string (NULL shows as ""). */
const char *p11s_quote_str(const char *in, char *out, size_t outlen);

/* 1 when the len bytes at s are valid UTF-8 (no NUL check). */
int p11s_utf8_valid(const void *s, size_t len);

/*
 * Make a NUL-terminated message valid UTF-8 in place, so that any consumer
 * (JSON, a terminal, syslog) accepts it: every byte that is not part of a
 * valid UTF-8 character becomes '?', and control bytes other than tab and
 * newline become '?'.  Length and valid text are unchanged.  Returns s.
 */
char *p11s_text_fix(char *s);

/*
 * s as a JSON string, quotes included, escaped exactly as jansson's
 * json_dumps escapes it ('"', '\\', \b \f \n \r \t, other C0 controls as
 * \u00XX; everything else as it is): for answers and tokens written as text
 * rather than dumped from a tree.  malloc'd; NULL when s is not valid UTF-8
 * or memory is short.
 */
char *p11s_json_quote(const char *s);

#endif

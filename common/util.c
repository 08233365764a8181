#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"

void
p11s_hex(const uint8_t *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0x0f];
	}
	out[2 * len] = '\0';
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
p11s_unhex(const char *in, uint8_t *out, size_t outmax)
{
	size_t len = strlen(in);

	if (len % 2 != 0 || len / 2 > outmax)
		return -1;
	for (size_t i = 0; i < len / 2; i++) {
		int hi = hexval(in[2 * i]), lo = hexval(in[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return (int)(len / 2);
}

static const char b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int
p11s_b64url_encode(const uint8_t *in, size_t len, char **out)
{
	size_t olen = (len / 3) * 4 + (len % 3 ? len % 3 + 1 : 0);
	char *o;
	size_t i, j = 0;

	*out = NULL;
	if ((o = malloc(olen + 1)) == NULL)
		return p11s_fail(P11S_E_NOMEM, "out of memory");
	for (i = 0; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		o[j++] = b64url_alphabet[v >> 18 & 63];
		o[j++] = b64url_alphabet[v >> 12 & 63];
		o[j++] = b64url_alphabet[v >> 6 & 63];
		o[j++] = b64url_alphabet[v & 63];
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;

		o[j++] = b64url_alphabet[v >> 18 & 63];
		o[j++] = b64url_alphabet[v >> 12 & 63];
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;

		o[j++] = b64url_alphabet[v >> 18 & 63];
		o[j++] = b64url_alphabet[v >> 12 & 63];
		o[j++] = b64url_alphabet[v >> 6 & 63];
	}
	o[j] = '\0';
	*out = o;
	return 0;
}

/* Value of each base64url character, -1 for any other byte (a table: this
 * runs over every token signerd verifies). */
static const signed char b64url_tab[256] = {
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 62, -1, -1,
    52, 53, 54, 55, 56, 57, 58, 59, 60, 61, -1, -1, -1, -1, -1, -1, -1, 0,  1,	2,  3,	4,  5,	6,
    7,	8,  9,	10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, -1, -1, -1, -1, 63,
    -1, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48,
    49, 50, 51, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
};

static int
b64url_val(char c)
{
	return b64url_tab[(unsigned char)c];
}

int
p11s_b64url_decode(const char *in, size_t len, uint8_t **out, size_t *outlen)
{
	uint8_t *o;
	size_t j = 0, i;
	uint32_t acc = 0;
	int bits = 0;

	*out = NULL;
	*outlen = 0;
	if (len % 4 == 1)
		return p11s_fail(P11S_E_INVAL, "base64url text has an impossible length (%zu)",
				 len);
	if ((o = malloc(len * 3 / 4 + 1)) == NULL)
		return p11s_fail(P11S_E_NOMEM, "out of memory");
	for (i = 0; i < len; i++) {
		int v = b64url_val(in[i]);

		if (v < 0) {
			free(o);
			return p11s_fail(
			    P11S_E_INVAL,
			    "base64url text has a character outside [A-Za-z0-9_-] at offset %zu",
			    i);
		}
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			o[j++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (acc != 0) {
		free(o);
		return p11s_fail(P11S_E_INVAL,
				 "base64url text is not canonical (trailing bits set)");
	}
	o[j] = '\0';
	*out = o;
	*outlen = j;
	return 0;
}

static int
digest_hex(const char *md, const uint8_t *der, size_t len, char *out)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;

	if (!EVP_Digest(der, len, d, &dlen, md[3] == '1' ? EVP_sha1() : EVP_sha256(), NULL))
		return p11s_fail(P11S_E_CRYPTO, "%s digest failed", md);
	p11s_hex(d, dlen, out);
	return 0;
}

int
p11s_sha1_hex(const uint8_t *der, size_t len, char out[41])
{
	return digest_hex("SHA1", der, len, out);
}

int
p11s_sha256_hex(const uint8_t *der, size_t len, char out[65])
{
	return digest_hex("SHA256", der, len, out);
}

void *
p11s_secure_alloc(size_t len)
{
	void *p = calloc(1, len);

	if (p != NULL)
		(void)mlock(p, len); /* best effort: RLIMIT_MEMLOCK may forbid it */
	return p;
}

void
p11s_secure_free(void *p, size_t len)
{
	if (p == NULL)
		return;
	OPENSSL_cleanse(p, len);
	(void)munlock(p, len);
	free(p);
}

int
p11s_read_file(const char *path, size_t max, uint8_t **out, size_t *len)
{
	int fd, r = P11S_E_IO;
	struct stat st;
	uint8_t *buf = NULL;
	size_t have = 0, cap = 0;

	*out = NULL;
	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return p11s_fail(P11S_E_IO, "cannot open %s: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0) {
		r = p11s_fail(P11S_E_IO, "cannot stat %s: %s", path, strerror(errno));
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		r = p11s_fail(P11S_E_IO, "%s is a directory, not a file", path);
		goto out;
	}
	/*
	 * One buffer, never grown (a realloc would leave unwiped copies of a
	 * key file on the heap): a regular file's size from fstat, anything
	 * else (a pipe, a terminal, a file of /proc) the whole bound.  One byte more is read to
	 * see a file that grew since fstat.
	 */
	if (S_ISREG(st.st_mode) && st.st_size > 0) {
		if (st.st_size < 0 || (uintmax_t)st.st_size > max) {
			r = p11s_fail(P11S_E_IO, "%s is larger than %zu bytes", path, max);
			goto out;
		}
		cap = (size_t)st.st_size;
	} else {
		cap = max; /* also a regular file of size 0: /proc, sysfs */
	}
	if ((buf = malloc(cap + 2)) == NULL) {
		r = p11s_fail(P11S_E_NOMEM, "out of memory");
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, buf + have, cap + 1 - have);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = p11s_fail(P11S_E_IO, "cannot read %s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		have += (size_t)n;
		if (have > cap) {
			if (cap < max)
				r = p11s_fail(P11S_E_IO,
					      "%s grew while it was read (it must not change)",
					      path);
			else
				r = p11s_fail(P11S_E_IO, "%s is larger than %zu bytes", path, max);
			goto out;
		}
	}
	buf[have] = '\0';
	*out = buf;
	*len = have;
	buf = NULL;
	r = 0;
out:
	if (buf != NULL) {
		OPENSSL_cleanse(buf, cap + 2);
		free(buf);
	}
	close(fd);
	return r;
}

p11s_time
p11s_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (p11s_time)ts.tv_sec;
}

void
p11s_fmt_utc(p11s_time t, char *out, size_t outlen)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, outlen, "@%lld", (long long)t);
}

void
p11s_fmt_local(p11s_time t, char *out, size_t outlen)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char off[24];
	long gmtoff;

	if (localtime_r(&tt, &tm) == NULL || strftime(out, outlen, "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
		snprintf(out, outlen, "@%lld", (long long)t);
		return;
	}
	gmtoff = tm.tm_gmtoff % 86400;
	snprintf(off, sizeof(off), "%c%02ld:%02ld", gmtoff < 0 ? '-' : '+', labs(gmtoff) / 3600,
		 labs(gmtoff) % 3600 / 60);
	strncat(out, off, outlen - strlen(out) - 1);
}

int
p11s_strdup(const char *s, char **out)
{
	*out = strdup(s);
	if (*out == NULL)
		return p11s_fail(P11S_E_NOMEM, "out of memory");
	return 0;
}

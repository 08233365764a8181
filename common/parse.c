#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/parse.h"
#include "common/text.h"

/* The operator's text quoted for a message (one per message). */
static const char *
quoted(const char *s)
{
	static _Thread_local char buf[160];

	return p11s_quote_str(s, buf, sizeof(buf));
}

/* ---- durations ----------------------------------------------------------- */

/* Far beyond any lifetime or lead time, and small enough that now + d never
 * overflows a p11s_time. */
#define DURATION_MAX ((int64_t)36500 * 86400)

static const char duration_forms[] =
    "expected a whole number of seconds or a number with one unit s, m, h or d "
    "(300, 90s, 15m, 8h, 1d)";

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

int
p11s_parse_duration(const char *s, int64_t *seconds)
{
	const char *p;
	int64_t v = 0, mult;

	*seconds = 0;
	if (s == NULL || *s == '\0')
		return p11s_fail(P11S_E_INVAL, "empty duration: %s", duration_forms);
	for (p = s; is_digit(*p); p++) {
		if (v > DURATION_MAX)
			break;
		v = v * 10 + (*p - '0');
	}
	if (p == s)
		return p11s_fail(P11S_E_INVAL,
				 "invalid duration %s: it must start with a digit (no sign, "
				 "no space); %s",
				 quoted(s), duration_forms);
	while (is_digit(*p))
		p++;
	switch (*p) {
	case '\0':
		mult = 1;
		break;
	case 's':
		mult = 1;
		break;
	case 'm':
		mult = 60;
		break;
	case 'h':
		mult = 3600;
		break;
	case 'd':
		mult = 86400;
		break;
	case '.':
	case ',':
		return p11s_fail(P11S_E_INVAL,
				 "invalid duration %s: fractions are not accepted; %s", quoted(s),
				 duration_forms);
	default:
		return p11s_fail(P11S_E_INVAL, "invalid duration %s: unknown unit; %s", quoted(s),
				 duration_forms);
	}
	if (*p != '\0' && p[1] != '\0')
		return p11s_fail(P11S_E_INVAL,
				 "invalid duration %s: unexpected text after the unit; %s",
				 quoted(s), duration_forms);
	if (v > DURATION_MAX / mult)
		return p11s_fail(P11S_E_INVAL,
				 "invalid duration %s: too large (the maximum is 36500d); %s",
				 quoted(s), duration_forms);
	*seconds = v * mult;
	return 0;
}

/* ---- dates ---------------------------------------------------------------- */

static const char date_forms[] =
    "expected 2012-07-22T06:00:00Z or 7/22/2012 6:00:00 AM (local time)";

static int
date_fail(const char *s, const char *why)
{
	return p11s_fail(P11S_E_INVAL, "invalid date %s: %s; %s", quoted(s), why, date_forms);
}

/* Between min and max decimal digits at *p (more digits are left for the
 * caller's next check); advances *p. */
static int
read_num(const char **p, int min, int max, int *v)
{
	int n = 0;

	*v = 0;
	while (n < max && is_digit((*p)[n])) {
		*v = *v * 10 + ((*p)[n] - '0');
		n++;
	}
	if (n < min)
		return -1;
	*p += n;
	return 0;
}

static int
days_in_month(int year, int month)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return month == 2 && leap ? 29 : days[month - 1];
}

/* Calendar and clock ranges; NULL when valid, else the reason. */
static const char *
check_fields(int year, int month, int day, int hour, int min, int sec)
{
	if (year < 1970 || year > 9999)
		return "the year must be between 1970 and 9999";
	if (month < 1 || month > 12)
		return "the month must be between 1 and 12";
	if (day < 1 || day > days_in_month(year, month))
		return "no such day in that month";
	if (hour > 23)
		return "the hour must be between 0 and 23";
	if (min > 59)
		return "the minutes must be between 00 and 59";
	if (sec > 59)
		return "the seconds must be between 00 and 59";
	return NULL;
}

static void
fill_tm(struct tm *tm, int year, int month, int day, int hour, int min, int sec)
{
	memset(tm, 0, sizeof(*tm));
	tm->tm_year = year - 1900;
	tm->tm_mon = month - 1;
	tm->tm_mday = day;
	tm->tm_hour = hour;
	tm->tm_min = min;
	tm->tm_sec = sec;
}

/* ":SS" (optional) and a refusal of fractions; advances *p. */
static const char *
read_seconds(const char **p, int *sec)
{
	*sec = 0;
	if (**p == ':') {
		(*p)++;
		if (read_num(p, 2, 2, sec) != 0)
			return "the seconds must be two digits";
	}
	if (**p == '.' || **p == ',')
		return "fractional seconds are not accepted (second precision)";
	return NULL;
}

static int
parse_iso(const char *s, p11s_time *out)
{
	const char *p = s, *why;
	int year, month, day, hour, min, sec, oh = 0, om = 0, sign = 0;
	struct tm tm;
	time_t t;

	if (read_num(&p, 4, 4, &year) != 0 || *p++ != '-' || read_num(&p, 2, 2, &month) != 0 ||
	    *p++ != '-' || read_num(&p, 2, 2, &day) != 0)
		return date_fail(s, "the date must be YYYY-MM-DD");
	if (*p == '\0')
		return date_fail(s, "the time of day is missing");
	if (*p != 'T' && *p != 't' && *p != ' ')
		return date_fail(s, "the date and the time must be separated by T or a space");
	p++;
	if (read_num(&p, 2, 2, &hour) != 0 || *p++ != ':' || read_num(&p, 2, 2, &min) != 0)
		return date_fail(s, "the time must be HH:MM:SS");
	if ((why = read_seconds(&p, &sec)) != NULL)
		return date_fail(s, why);
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p++ == '-' ? -1 : 1;
		if (read_num(&p, 2, 2, &oh) != 0)
			return date_fail(s, "the offset must be +HH:MM or +HHMM");
		if (*p == ':')
			p++;
		if (read_num(&p, 2, 2, &om) != 0)
			return date_fail(s, "the offset must be +HH:MM or +HHMM");
		if (oh > 23 || om > 59)
			return date_fail(s, "the offset is out of range");
	} else if (*p == '\0') {
		return date_fail(s, "no time zone: add Z or an offset like +02:00");
	} else {
		return date_fail(s, "unexpected text after the time");
	}
	if (*p != '\0')
		return date_fail(s, "unexpected text after the time zone");
	if ((why = check_fields(year, month, day, hour, min, sec)) != NULL)
		return date_fail(s, why);
	fill_tm(&tm, year, month, day, hour, min, sec);
	if ((t = timegm(&tm)) == (time_t)-1)
		return date_fail(s, "the date cannot be represented");
	*out = (p11s_time)t - sign * (p11s_time)(oh * 3600 + om * 60);
	return 0;
}

static int
same_wall_clock(time_t t, const struct tm *want)
{
	struct tm tm;

	return localtime_r(&t, &tm) != NULL && tm.tm_year == want->tm_year &&
	       tm.tm_mon == want->tm_mon && tm.tm_mday == want->tm_mday &&
	       tm.tm_hour == want->tm_hour && tm.tm_min == want->tm_min &&
	       tm.tm_sec == want->tm_sec;
}

static const char *
zone_name(void)
{
	const char *tz = getenv("TZ");

	if (tz == NULL || *tz == '\0')
		return "the local time zone";
	return *tz == ':' ? tz + 1 : tz;
}

/*
 * Wall-clock time in the local zone -> UTC, only when exactly one instant has
 * that wall-clock time.  Candidates come from mktime (tm_isdst -1, 0, 1) and
 * from the zone's offsets a day either side (which also covers changes of the
 * standard offset); each must map back to the same wall-clock time.
 */
static int
local_to_utc(const char *s, const struct tm *wall, p11s_time *out)
{
	time_t cand[6], naive, t;
	size_t n = 0, i, j;
	struct tm tm;
	int dst;
	char why[400], a_utc[32], a_loc[40], b_utc[32], b_loc[40];

	tzset();
	tm = *wall;
	if ((naive = timegm(&tm)) == (time_t)-1)
		return date_fail(s, "the date cannot be represented");
	for (dst = -1; dst <= 1; dst++) {
		tm = *wall;
		tm.tm_isdst = dst;
		cand[n++] = mktime(&tm);
	}
	for (i = 0; i < 3; i++) {
		time_t probe = naive + ((time_t)i - 1) * 86400;

		if (localtime_r(&probe, &tm) != NULL)
			cand[n++] = naive - tm.tm_gmtoff;
	}
	/* keep valid candidates, sorted and distinct */
	for (i = 0, j = 0; i < n; i++)
		if (same_wall_clock(cand[i], wall))
			cand[j++] = cand[i];
	n = j;
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && cand[j - 1] > cand[j]; j--) {
			t = cand[j];
			cand[j] = cand[j - 1];
			cand[j - 1] = t;
		}
	for (i = 0, j = 0; i < n; i++)
		if (j == 0 || cand[j - 1] != cand[i])
			cand[j++] = cand[i];
	n = j;
	if (n == 0) {
		snprintf(
		    why, sizeof(why),
		    "that local time does not exist in %s (skipped at a daylight-saving change); "
		    "give an offset or Z instead",
		    zone_name());
		return date_fail(s, why);
	}
	if (n > 1) {
		p11s_fmt_utc(cand[0], a_utc, sizeof(a_utc));
		p11s_fmt_local(cand[0], a_loc, sizeof(a_loc));
		p11s_fmt_utc(cand[n - 1], b_utc, sizeof(b_utc));
		p11s_fmt_local(cand[n - 1], b_loc, sizeof(b_loc));
		snprintf(why, sizeof(why),
			 "ambiguous local time in %s (it occurs twice at a daylight-saving change: "
			 "%s = %s or %s = %s); give the offset or Z",
			 zone_name(), a_loc, a_utc, b_loc, b_utc);
		return date_fail(s, why);
	}
	*out = (p11s_time)cand[0];
	return 0;
}

static int
parse_us(const char *s, p11s_time *out)
{
	const char *p = s, *why;
	int year, month, day, hour, min, sec, ampm = 0;
	struct tm tm;

	if (read_num(&p, 1, 2, &month) != 0 || *p++ != '/' || read_num(&p, 1, 2, &day) != 0 ||
	    *p++ != '/' || read_num(&p, 4, 4, &year) != 0)
		return date_fail(s, "the date must be M/D/YYYY");
	if (*p == '\0')
		return date_fail(s, "the time of day is missing");
	if (*p++ != ' ')
		return date_fail(s, "the date and the time must be separated by a space");
	if (read_num(&p, 1, 2, &hour) != 0 || *p++ != ':' || read_num(&p, 2, 2, &min) != 0)
		return date_fail(s, "the time must be H:MM:SS or H:MM");
	if ((why = read_seconds(&p, &sec)) != NULL)
		return date_fail(s, why);
	if (*p == ' ')
		p++;
	if (strcasecmp(p, "AM") == 0)
		ampm = 1;
	else if (strcasecmp(p, "PM") == 0)
		ampm = 2;
	else if (*p != '\0' || p[-1] == ' ')
		return date_fail(s, "unexpected text after the time (only AM or PM may follow)");
	if (ampm != 0) {
		if (hour < 1 || hour > 12)
			return date_fail(s, "with AM or PM the hour must be between 1 and 12");
		hour = hour % 12 + (ampm == 2 ? 12 : 0);
	}
	if ((why = check_fields(year, month, day, hour, min, sec)) != NULL)
		return date_fail(s, why);
	fill_tm(&tm, year, month, day, hour, min, sec);
	return local_to_utc(s, &tm, out);
}

int
p11s_parse_date(const char *s, p11s_time *out)
{
	size_t lead;

	*out = 0;
	if (s == NULL || *s == '\0')
		return p11s_fail(P11S_E_INVAL, "empty date; %s", date_forms);
	lead = strspn(s, "0123456789");
	if (lead == 4 && s[4] == '-')
		return parse_iso(s, out);
	if ((lead == 1 || lead == 2) && s[lead] == '/')
		return parse_us(s, out);
	return date_fail(s, "not a recognised date form");
}

/* ---- thumbprints ------------------------------------------------------------ */

static const char thumb_forms[] =
    "expected the SHA-1 (40 hex digits) or SHA-256 (64 hex digits) thumbprint of a "
    "certificate, or a prefix of at least 8 hex digits; spaces and colons are ignored";

/* Invisible characters that certificate viewers put into copied thumbprints:
 * U+200E, U+200F, U+FEFF, U+00A0.  Returns their UTF-8 length, or 0. */
static size_t
invisible_len(const unsigned char *p)
{
	if (p[0] == 0xE2 && p[1] == 0x80 && (p[2] == 0x8E || p[2] == 0x8F))
		return 3;
	if (p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF)
		return 3;
	if (p[0] == 0xC2 && p[1] == 0xA0)
		return 2;
	return 0;
}

int
p11s_thumbprint_normalize(const char *in, char out[65])
{
	const unsigned char *p;
	size_t n = 0, skip;
	char c;

	out[0] = '\0';
	if (in == NULL)
		return p11s_fail(P11S_E_INVAL, "empty thumbprint; %s", thumb_forms);
	for (p = (const unsigned char *)in; *p != '\0'; p++) {
		if (*p == ' ' || *p == ':' || *p == '\t')
			continue;
		if ((skip = invisible_len(p)) != 0) {
			p += skip - 1;
			continue;
		}
		c = (char)*p;
		if (c >= 'A' && c <= 'F')
			c = (char)(c - 'A' + 'a');
		if (!is_digit(c) && !(c >= 'a' && c <= 'f')) {
			out[0] = '\0';
			return p11s_fail(P11S_E_INVAL,
					 "invalid thumbprint %s: it contains characters other "
					 "than hex digits; %s",
					 quoted(in), thumb_forms);
		}
		if (n == 64) {
			out[0] = '\0';
			return p11s_fail(P11S_E_INVAL,
					 "invalid thumbprint %s: more than 64 hex digits; %s",
					 quoted(in), thumb_forms);
		}
		out[n++] = c;
	}
	out[n] = '\0';
	if (n < 8) {
		out[0] = '\0';
		return p11s_fail(P11S_E_INVAL, "thumbprint %s is too short (%zu hex digits); %s",
				 quoted(in), n, thumb_forms);
	}
	return 0;
}

/* query (lower-case hex) matches the thumbprint `full`: exactly when it has
 * the full length, else as a prefix. */
static int
thumb_matches(const char *query, size_t qlen, const char *full, size_t full_len)
{
	if (full == NULL || strlen(full) != full_len || qlen > full_len)
		return 0;
	return strncasecmp(query, full, qlen) == 0;
}

int
p11s_thumbprint_match(const char *query, const char *const *sha1, const char *const *sha256,
		      size_t n, size_t *index)
{
	size_t qlen, i, hits = 0, first = 0, len;
	char list[640];

	*index = 0;
	qlen = query == NULL ? 0 : strlen(query);
	if (qlen < 8 || qlen > 64 || strspn(query, "0123456789abcdef") != qlen)
		return p11s_fail(P11S_E_INVAL, "invalid thumbprint %s; %s", quoted(query),
				 thumb_forms);
	list[0] = '\0';
	for (i = 0; i < n; i++) {
		int m = thumb_matches(query, qlen, sha1 == NULL ? NULL : sha1[i], 40) ||
			thumb_matches(query, qlen, sha256 == NULL ? NULL : sha256[i], 64);

		if (!m)
			continue;
		if (hits == 0)
			first = i;
		hits++;
		len = strlen(list);
		snprintf(list + len, sizeof(list) - len, "%s%s", hits > 1 ? ", " : "",
			 sha1 != NULL && sha1[i] != NULL && sha1[i][0] != '\0' ? sha1[i]
									       : "(no SHA-1)");
	}
	if (hits == 0)
		return p11s_fail(P11S_E_NOTFOUND,
				 "no certificate has a thumbprint %s \"%s\" (searched %zu key%s)",
				 qlen == 40 || qlen == 64 ? "equal to" : "starting with", query, n,
				 n == 1 ? "" : "s");
	if (hits > 1)
		return p11s_fail(
		    P11S_E_AMBIGUOUS,
		    "thumbprint prefix \"%s\" matches %zu certificates (SHA-1 %s); give more "
		    "hex digits",
		    query, hits, list);
	*index = first;
	return 0;
}

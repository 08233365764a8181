#include "config.h"

#include <openssl/err.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

static const char *log_ident = "p11-signer";
static int log_syslog;
static int log_max = LOG_WARNING;
static int log_journal; /* stderr is the journal: "<N>" priority prefixes */
static int log_json;	/* one JSON object per line */
static pthread_mutex_t log_mutex = PTHREAD_MUTEX_INITIALIZER;

/* systemd sets JOURNAL_STREAM=DEV:INO for a stderr connected to the journal;
 * a stderr redirected elsewhere since (a child of the unit) does not match. */
static int
stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char end;

	if (js == NULL || sscanf(js, "%llu:%llu%c", &dev, &ino, &end) != 2)
		return 0;
	if (fstat(STDERR_FILENO, &st) != 0)
		return 0;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void
p11s_log_init(const char *ident, int to_syslog, int level)
{
	log_ident = ident;
	log_syslog = to_syslog;
	log_max = level;
	log_journal = !to_syslog && stderr_is_journal();
	if (to_syslog)
		openlog(ident, LOG_PID, LOG_DAEMON);
}

void
p11s_log_set_json(int json)
{
	log_json = json;
}

void
p11s_log_set_level(int level)
{
	log_max = level;
}

int
p11s_log_level(void)
{
	return log_max;
}

static const char *
prio_name(int prio)
{
	switch (prio) {
	case LOG_ERR:
		return "error";
	case LOG_WARNING:
		return "warning";
	case LOG_NOTICE:
		return "notice";
	case LOG_INFO:
		return "info";
	default:
		return "debug";
	}
}

/* `s` as the body of a JSON string (quotes not included). */
static void
json_escape(const char *s, char *out, size_t outlen)
{
	size_t o = 0;

	for (; *s != '\0' && o + 7 < outlen; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			o += (size_t)snprintf(out + o, outlen - o, "\\u%04x", c);
		} else {
			out[o++] = (char)c;
		}
	}
	out[o] = '\0';
}

static void
log_json_line(int prio, const char *func, int line, const char *msg)
{
	char esc[2048 * 6 + 1], when[32];
	struct timespec ts;
	struct tm tm;

	json_escape(msg, esc, sizeof(esc));
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	pthread_mutex_lock(&log_mutex);
	if (log_journal)
		fprintf(stderr, "<%d>", prio);
	fprintf(stderr,
		"{\"time\":\"%s.%03ldZ\",\"program\":\"%s\",\"level\":\"%s\",\"message\":"
		"\"%s\",\"func\":\"%s\",\"line\":%d}\n",
		when, ts.tv_nsec / 1000000L, log_ident, prio_name(prio), esc, func, line);
	pthread_mutex_unlock(&log_mutex);
}

void
p11s_log(int prio, const char *func, int line, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	if (prio > log_max)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* One event, one line: fold any newline a caller let through. */
	for (char *p = msg; *p != '\0'; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	if (log_syslog) {
		syslog(prio, "%s (%s:%d)", msg, func, line);
		return;
	}
	if (log_json) {
		log_json_line(prio, func, line, msg);
		return;
	}
	if (log_journal) {
		/* journald reads the priority from the prefix and stamps the time */
		pthread_mutex_lock(&log_mutex);
		fprintf(stderr, "<%d>%s: %s (%s:%d)\n", prio, prio_name(prio), msg, func, line);
		pthread_mutex_unlock(&log_mutex);
		return;
	}
	if (log_max >= LOG_DEBUG) {
		struct timespec ts;
		struct tm tm;
		char when[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
		pthread_mutex_lock(&log_mutex);
		fprintf(stderr, "%s.%03ldZ %s: %s: %s (%s:%d)\n", when, ts.tv_nsec / 1000000L,
			log_ident, prio_name(prio), msg, func, line);
		pthread_mutex_unlock(&log_mutex);
		return;
	}
	pthread_mutex_lock(&log_mutex);
	fprintf(stderr, "%s: %s: %s\n", log_ident, prio_name(prio), msg);
	pthread_mutex_unlock(&log_mutex);
}

void
p11s_log_openssl(int prio, const char *func, int line, const char *what)
{
	unsigned long e;
	char buf[256];
	int any = 0;

	while ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		p11s_log(prio, func, line, "%s: %s", what, buf);
		any = 1;
	}
	if (!any)
		p11s_log(prio, func, line, "%s", what);
}

/* ---- rate-limited events ------------------------------------------------- */

static pthread_mutex_t rl_mutex = PTHREAD_MUTEX_INITIALIZER;

static uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int
window_over(const p11s_ratelimit *rl, uint64_t now_ns)
{
	return rl->start_ns != 0 && now_ns >= rl->start_ns &&
	       now_ns - rl->start_ns >= (uint64_t)rl->interval_s * 1000000000u;
}

unsigned long
p11s_ratelimit_due(p11s_ratelimit *rl, uint64_t now_ns)
{
	unsigned long n;

	if (!window_over(rl, now_ns))
		return 0;
	n = rl->suppressed;
	rl->start_ns = 0;
	rl->logged = 0;
	rl->suppressed = 0;
	return n;
}

int
p11s_ratelimit_hit(p11s_ratelimit *rl, uint64_t now_ns, unsigned long *report)
{
	*report = p11s_ratelimit_due(rl, now_ns);
	if (rl->start_ns == 0)
		rl->start_ns = now_ns != 0 ? now_ns : 1;
	if (rl->logged < rl->burst) {
		rl->logged++;
		return 1;
	}
	rl->suppressed++;
	return 0;
}

void
p11s_log_rl(p11s_ratelimit *rl, int prio, const char *func, int line, const char *fmt, ...)
{
	char msg[2048];
	unsigned long report;
	va_list ap;
	int emit;

	if (prio > log_max)
		return;
	pthread_mutex_lock(&rl_mutex);
	emit = p11s_ratelimit_hit(rl, mono_ns(), &report);
	pthread_mutex_unlock(&rl_mutex);
	if (report > 0)
		p11s_log(prio, func, line, "%s: %lu more in the last %u s", rl->what, report,
			 rl->interval_s);
	if (!emit)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	p11s_log(prio, func, line, "%s", msg);
}

void
p11s_log_rl_flush(p11s_ratelimit *rl, int prio, const char *func, int line)
{
	unsigned long report;

	if (prio > log_max)
		return;
	pthread_mutex_lock(&rl_mutex);
	report = p11s_ratelimit_due(rl, mono_ns());
	pthread_mutex_unlock(&rl_mutex);
	if (report > 0)
		p11s_log(prio, func, line, "%s: %lu more in the last %u s", rl->what, report,
			 rl->interval_s);
}

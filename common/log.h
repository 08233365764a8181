/* Logging: one line per event, to stderr (text or JSON) or syslog.  Never log a PIN or key bytes.
 */
#ifndef P11S_COMMON_LOG_H
#define P11S_COMMON_LOG_H

#include <stdint.h>
#include <syslog.h>

/*
 * ident: program name; to_syslog: 0 = stderr; level: LOG_ERR..LOG_DEBUG.
 * On stderr, when it is the journal ($JOURNAL_STREAM names its device and
 * inode), each line starts with a "<N>" syslog priority for journald.
 */
void p11s_log_init(const char *ident, int to_syslog, int level);
/* 1: each stderr line is one JSON object (time, program, level, message,
 * func, line); 0: text (the default). */
void p11s_log_set_json(int json);
void p11s_log_set_level(int level);
int p11s_log_level(void);
void p11s_log(int prio, const char *func, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Drain OpenSSL's error queue into the log at `prio`. */
void p11s_log_openssl(int prio, const char *func, int line, const char *what);

/*
 * Rate limit for an event that can repeat without bound (a client closing
 * connections, a token that stays logged out): at most `burst` lines per
 * `interval_s` seconds; the events beyond that are counted, and the next
 * line of that limit (or p11s_log_rl_flush, called from a periodic timer)
 * reports "WHAT: N more in the last S s".  One static limit per call site,
 * shared by every thread.
 */
typedef struct p11s_ratelimit {
	const char *what;    /* names the event in the summary line */
	unsigned interval_s; /* window length */
	unsigned burst;	     /* lines logged per window */
	/* state, under the log's lock */
	uint64_t start_ns; /* the current window began; 0 = no window yet */
	unsigned logged;
	unsigned long suppressed;
} p11s_ratelimit;

#define P11S_RATELIMIT_INIT(what, interval_s, burst)                                               \
	{                                                                                          \
		(what), (interval_s), (burst), 0, 0, 0                                             \
	}

/*
 * Pure (the caller serialises): one event at now_ns.  Returns 1 when it may
 * be logged.  *report is set to the number of events suppressed in a window
 * that has ended (then to be reported before this one), else 0.
 */
int p11s_ratelimit_hit(p11s_ratelimit *rl, uint64_t now_ns, unsigned long *report);
/* Pure: the count suppressed in a window that has ended by now_ns (the
 * window is then closed), else 0. */
unsigned long p11s_ratelimit_due(p11s_ratelimit *rl, uint64_t now_ns);

void p11s_log_rl(p11s_ratelimit *rl, int prio, const char *func, int line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void p11s_log_rl_flush(p11s_ratelimit *rl, int prio, const char *func, int line);

#define log_error(...) p11s_log(LOG_ERR, __func__, __LINE__, __VA_ARGS__)
#define log_warn(...) p11s_log(LOG_WARNING, __func__, __LINE__, __VA_ARGS__)
#define log_info(...) p11s_log(LOG_INFO, __func__, __LINE__, __VA_ARGS__)
#define log_debug(...) p11s_log(LOG_DEBUG, __func__, __LINE__, __VA_ARGS__)
#define log_warn_rl(rl, ...) p11s_log_rl((rl), LOG_WARNING, __func__, __LINE__, __VA_ARGS__)
#define log_info_rl(rl, ...) p11s_log_rl((rl), LOG_INFO, __func__, __LINE__, __VA_ARGS__)
#define log_openssl(what) p11s_log_openssl(LOG_ERR, __func__, __LINE__, (what))

#endif

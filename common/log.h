/* Logging: one line per event, to stderr (text or JSON) or syslog.  Never log a PIN or key bytes.
 */
#ifndef P11S_COMMON_LOG_H
#define P11S_COMMON_LOG_H

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

#define log_error(...) p11s_log(LOG_ERR, __func__, __LINE__, __VA_ARGS__)
#define log_warn(...) p11s_log(LOG_WARNING, __func__, __LINE__, __VA_ARGS__)
#define log_info(...) p11s_log(LOG_INFO, __func__, __LINE__, __VA_ARGS__)
#define log_debug(...) p11s_log(LOG_DEBUG, __func__, __LINE__, __VA_ARGS__)
#define log_openssl(what) p11s_log_openssl(LOG_ERR, __func__, __LINE__, (what))

#endif

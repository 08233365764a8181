/*
 * systemd integration without libsystemd: the sd_notify(3) datagram protocol
 * (READY=1, STOPPING=1, STATUS=, WATCHDOG=1) and socket activation
 * (sd_listen_fds(3): LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES).
 */
#ifndef P11S_SIGNER_D_SD_H
#define P11S_SIGNER_D_SD_H

#include <stdint.h>

#include "common/error.h"

/* First descriptor passed by socket activation. */
#define D_SD_LISTEN_FDS_START 3

/*
 * Send `state` (newline-separated assignments) to $NOTIFY_SOCKET: an
 * absolute path or an abstract name starting with '@'.  0 when the variable
 * is unset (not under systemd); an error when sending fails.
 */
P11S_MUST_CHECK int d_sd_notify(const char *state);
/* The same with a STATUS= line made from a format. */
P11S_MUST_CHECK int d_sd_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* WatchdogSec= of the unit in microseconds for this process, else 0. */
uint64_t d_sd_watchdog_usec(void);

/*
 * Descriptors passed by socket activation: *n (0 when LISTEN_FDS is unset
 * or LISTEN_PID names another process) starting at D_SD_LISTEN_FDS_START,
 * each a listening stream socket, made close-on-exec.  An error names the
 * variable and the value that was wrong (not a number, a descriptor that is
 * not open or not a listening stream socket).  The variables are unset so
 * that children do not inherit them.
 */
P11S_MUST_CHECK int d_sd_listen_fds(int *n);

/*
 * Give each of the n passed sockets (from D_SD_LISTEN_FDS_START) to the
 * listen address it is bound to: fds[i] (parallel to listen, n_listen
 * entries, -1: open it as usual).  A socket that matches no listen line is
 * an error naming its address and what would be accepted.
 */
P11S_MUST_CHECK int d_sd_assign_fds(int n, const char *const *listen, size_t n_listen, int *fds);

#endif

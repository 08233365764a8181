/*
 * Shared by the bench programs: run one operation in N threads for a fixed
 * time and count how many completed in the measured window.
 */
#ifndef P11S_BENCH_BENCH_H
#define P11S_BENCH_BENCH_H

#include <stddef.h>
#include <stdint.h>

/* One operation; 0 on success.  Called repeatedly from one thread. */
typedef int (*bench_op_fn)(void *arg);

typedef struct bench_result {
	uint64_t ops;	    /* operations completed inside the window */
	double seconds;	    /* length of the window */
	double rate;	    /* ops / seconds */
	double cpu_seconds; /* process user+system CPU inside the window */
} bench_result;

/*
 * Start one thread per element of args (all running op), let them run
 * `warmup` seconds, then count for `seconds`, then stop and join them.
 * Returns 0, or -1 after printing which thread failed.
 */
int bench_threads(bench_op_fn op, void **args, size_t n, double warmup, double seconds,
		  bench_result *res);

/* Monotonic time in seconds. */
double bench_now(void);
/* User + system CPU time of the process in seconds. */
double bench_cpu_now(void);

/* First line of a file (a PIN), without the newline; malloc'd, NULL on error. */
char *bench_read_line(const char *path);

/* Parse a positive number of seconds / threads; exits with a message on error. */
double bench_arg_seconds(const char *opt, const char *s);
unsigned bench_arg_count(const char *opt, const char *s, unsigned max);

/* The run options of csign and inproc: --threads N (1..64, default 1),
 * --seconds S (3), --warmup S (0.3), --session-copy. */
typedef struct bench_run_opts {
	unsigned threads;
	double seconds, warmup;
	int copy;
} bench_run_opts;

#define BENCH_RUN_OPTS_INIT                                                                        \
	{                                                                                          \
		1, 3, 0.3, 0                                                                       \
	}
/* getopt_long's answer o with arg, when it is 'n', 's', 'w' or 'c' (the
 * options above): 1 once taken (exits on a bad value), else 0. */
int bench_run_opt(bench_run_opts *ro, int o, const char *arg);

#endif

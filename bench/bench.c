/* Thread driver and small helpers shared by the bench programs. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "bench/bench.h"

typedef struct worker {
	bench_op_fn op;
	void *arg;
	_Atomic uint64_t count;
	_Atomic int *stop;
	int failed;
	pthread_t th;
} worker;

double
bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double
bench_cpu_now(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void
sleep_s(double s)
{
	struct timespec ts;

	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void *
run(void *p)
{
	worker *w = p;

	while (!atomic_load_explicit(w->stop, memory_order_relaxed)) {
		if (w->op(w->arg) != 0) {
			w->failed = 1;
			break;
		}
		atomic_fetch_add_explicit(&w->count, 1, memory_order_relaxed);
	}
	return NULL;
}

static uint64_t
total(worker *w, size_t n)
{
	uint64_t s = 0;

	for (size_t i = 0; i < n; i++)
		s += atomic_load_explicit(&w[i].count, memory_order_relaxed);
	return s;
}

int
bench_threads(bench_op_fn op, void **args, size_t n, double warmup, double seconds,
	      bench_result *res)
{
	_Atomic int stop = 0;
	worker *w = NULL;
	size_t started = 0;
	uint64_t c0, c1;
	double t0, t1, u0, u1;
	int r = -1;

	memset(res, 0, sizeof(*res));
	if ((w = calloc(n, sizeof(*w))) == NULL) {
		fprintf(stderr, "bench: out of memory\n");
		return -1;
	}
	for (started = 0; started < n; started++) {
		w[started].op = op;
		w[started].arg = args[started];
		w[started].stop = &stop;
		atomic_init(&w[started].count, 0);
		if (pthread_create(&w[started].th, NULL, run, &w[started]) != 0) {
			fprintf(stderr, "bench: cannot start thread %zu\n", started);
			goto out;
		}
	}
	sleep_s(warmup);
	c0 = total(w, n);
	t0 = bench_now();
	u0 = bench_cpu_now();
	sleep_s(seconds);
	c1 = total(w, n);
	t1 = bench_now();
	u1 = bench_cpu_now();
	res->ops = c1 - c0;
	res->seconds = t1 - t0;
	res->rate = res->seconds > 0 ? (double)res->ops / res->seconds : 0;
	res->cpu_seconds = u1 - u0;
	r = 0;
out:
	atomic_store(&stop, 1);
	for (size_t i = 0; i < started; i++) {
		pthread_join(w[i].th, NULL);
		if (w[i].failed) {
			fprintf(stderr, "bench: thread %zu failed after %llu operations\n", i,
				(unsigned long long)atomic_load(&w[i].count));
			r = -1;
		}
	}
	free(w);
	return r;
}

char *
bench_read_line(const char *path)
{
	FILE *f = fopen(path, "r");
	char buf[256], *nl;

	if (f == NULL) {
		fprintf(stderr, "bench: cannot open %s: %s\n", path, strerror(errno));
		return NULL;
	}
	if (fgets(buf, sizeof(buf), f) == NULL) {
		fprintf(stderr, "bench: %s is empty\n", path);
		fclose(f);
		return NULL;
	}
	fclose(f);
	if ((nl = strchr(buf, '\n')) != NULL)
		*nl = '\0';
	return strdup(buf);
}

double
bench_arg_seconds(const char *opt, const char *s)
{
	char *end = NULL;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !isfinite(v) || v <= 0 || v > 86400) {
		fprintf(stderr, "bench: %s wants seconds between 0 and 86400, not '%s'\n", opt, s);
		exit(2);
	}
	return v;
}

unsigned
bench_arg_count(const char *opt, const char *s, unsigned max)
{
	char *end = NULL;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 1 || v > max) {
		fprintf(stderr, "bench: %s wants a whole number from 1 to %u, not '%s'\n", opt, max,
			s);
		exit(2);
	}
	return (unsigned)v;
}

int
bench_run_opt(bench_run_opts *ro, int o, const char *arg)
{
	switch (o) {
	case 'n':
		ro->threads = bench_arg_count("--threads", arg, 64);
		return 1;
	case 's':
		ro->seconds = bench_arg_seconds("--seconds", arg);
		return 1;
	case 'w':
		ro->warmup = bench_arg_seconds("--warmup", arg);
		return 1;
	case 'c':
		ro->copy = 1;
		return 1;
	default:
		return 0;
	}
}

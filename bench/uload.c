/*
 * uload — HTTP/1.1 keep-alive load generator for a UNIX socket (wrk cannot
 * use one) or TCP, with a latency histogram.
 *
 *   uload (--unix PATH | --tcp HOST:PORT) --path /v1/tokens
 *         (--body JSON | --body-file F) [--connections N] [--threads N]
 *         [--seconds S] [--warmup S] [--rate R]
 *
 * Closed loop by default: every connection sends its next request as soon as
 * the previous answer is complete; latency runs from send to last byte.
 * With --rate R (requests/s, all threads together) it is an open loop: the
 * k-th request of a thread is due at start + k/R', sent on the first idle
 * connection, and its latency runs from the instant it was due, so a stalled
 * server is not hidden by requests that were never sent (coordinated
 * omission).  Only answers completed inside the measured window count.
 * Prints one JSON line: requests, rate, non-2xx answers, errors, p50/p90/
 * p99/p99.9/max latency in microseconds and the generator's own CPU time;
 * also the 2xx rate and p99 of 2xx answers alone, and how many answers were
 * 503, and how many of those lacked Retry-After (back-pressure checks).
 */
#include "config.h"

#include "bench/bench.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define HIST_SUB 64 /* sub-buckets per power of two: < 1.6 % error */
#define HIST_N 2048
#define INBUF_MAX (1 << 20)

typedef struct target {
	int unix_socket;
	struct sockaddr_storage addr;
	socklen_t addr_len;
} target;

typedef struct conn {
	int fd;
	int busy;	  /* a request is in flight */
	size_t out_off;	  /* bytes of the request written */
	uint64_t t_start; /* ns: sent (closed loop) or due (open loop) */
	char *in;
	size_t in_len, in_cap;
} conn;

typedef struct thread_ctx {
	const target *tg;
	const char *req;
	size_t req_len;
	unsigned nconn;
	double rate; /* this thread's share; 0 = closed loop */
	uint64_t t0, t_count, t_end;
	pthread_t th;
	/* results */
	uint64_t hist[HIST_N];
	uint64_t hist_ok[HIST_N]; /* 2xx answers only */
	uint64_t counted, non2xx, errors, reconnects, late_unsent;
	uint64_t n503, n503_no_retry; /* 503s, those without Retry-After */
	uint64_t max_ns;
	int failed;
} thread_ctx;

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static unsigned
hist_index(uint64_t us)
{
	unsigned msb, shift;

	if (us < 2 * HIST_SUB)
		return (unsigned)us;
	msb = 63u - (unsigned)__builtin_clzll(us);
	shift = msb - 6u;
	if (128u + (shift - 1u) * HIST_SUB + HIST_SUB - 1u >= HIST_N)
		return HIST_N - 1;
	return 128u + (shift - 1u) * HIST_SUB + (unsigned)((us >> shift) - HIST_SUB);
}

/* Middle of bucket i, in microseconds. */
static double
hist_value(unsigned i)
{
	unsigned shift, mant;

	if (i < 2 * HIST_SUB)
		return (double)i + 0.5;
	shift = (i - 128u) / HIST_SUB + 1u;
	mant = (i - 128u) % HIST_SUB + HIST_SUB;
	return ((double)mant + 0.5) * (double)(1ull << shift);
}

static int
set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static int
conn_open(const target *tg, int ep, conn *c)
{
	struct epoll_event ev;
	int one = 1;

	c->fd =
	    socket(tg->unix_socket ? AF_UNIX : tg->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -1;
	if (connect(c->fd, (const struct sockaddr *)&tg->addr, tg->addr_len) != 0) {
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	if (!tg->unix_socket)
		(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (set_nonblock(c->fd) != 0)
		return -1;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = c;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) != 0)
		return -1;
	c->busy = 0;
	c->in_len = 0;
	return 0;
}

static void
conn_close(int ep, conn *c)
{
	if (c->fd >= 0) {
		(void)epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	c->fd = -1;
	c->busy = 0;
	c->in_len = 0;
}

/* Write what is left of the request; 0 done or pending (EPOLLOUT), -1 error. */
static int
conn_flush(thread_ctx *x, int ep, conn *c)
{
	struct epoll_event ev;

	while (c->out_off < x->req_len) {
		ssize_t w = write(c->fd, x->req + c->out_off, x->req_len - c->out_off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			memset(&ev, 0, sizeof(ev));
			ev.events = EPOLLIN | EPOLLOUT;
			ev.data.ptr = c;
			return epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
		}
		if (w <= 0)
			return -1;
		c->out_off += (size_t)w;
	}
	return 0;
}

static int
conn_send(thread_ctx *x, int ep, conn *c, uint64_t t_start)
{
	c->busy = 1;
	c->out_off = 0;
	c->in_len = 0;
	c->t_start = t_start;
	return conn_flush(x, ep, c);
}

/* Find a header's value in [h, end); NULL when absent. */
static const char *
header(const char *h, const char *end, const char *name, size_t *vlen)
{
	size_t nl = strlen(name);

	for (const char *p = h; p < end;) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));

		if (eol == NULL)
			eol = end;
		if ((size_t)(eol - p) > nl && p[nl] == ':' && strncasecmp(p, name, nl) == 0) {
			const char *v = p + nl + 1;

			while (v < eol && (*v == ' ' || *v == '\t'))
				v++;
			*vlen = (size_t)(eol - v);
			while (*vlen > 0 && (v[*vlen - 1] == '\r' || v[*vlen - 1] == ' '))
				(*vlen)--;
			return v;
		}
		p = eol + 1;
	}
	return NULL;
}

/*
 * Is a whole response in c->in?  Returns 1 (and *status, *keep), 0 when more
 * bytes are needed, -1 when the response is malformed.
 */
static int
response_done(const conn *c, int *status, int *keep, int *retry_after)
{
	const char *b = c->in, *hend, *v;
	size_t vlen, hlen, need;

	if (c->in_len < 12)
		return 0;
	hend = memmem(b, c->in_len, "\r\n\r\n", 4);
	if (hend == NULL)
		return 0;
	hlen = (size_t)(hend - b) + 4;
	if (strncmp(b, "HTTP/1.", 7) != 0 || b[8] != ' ')
		return -1;
	*status = atoi(b + 9);
	*keep = 1;
	*retry_after = header(b, hend, "Retry-After", &vlen) != NULL;
	if ((v = header(b, hend, "Connection", &vlen)) != NULL && vlen == 5 &&
	    strncasecmp(v, "close", 5) == 0)
		*keep = 0;
	if ((v = header(b, hend, "Content-Length", &vlen)) != NULL) {
		need = hlen + (size_t)strtoull(v, NULL, 10);
		return c->in_len >= need ? 1 : 0;
	}
	if ((v = header(b, hend, "Transfer-Encoding", &vlen)) != NULL && vlen == 7 &&
	    strncasecmp(v, "chunked", 7) == 0)
		return memmem(b + hlen - 2, c->in_len - hlen + 2, "\r\n0\r\n\r\n", 7) != NULL;
	return -1; /* a keep-alive answer must have a length */
}

static void
record(thread_ctx *x, uint64_t t_start, uint64_t t_done, int status, int retry_after)
{
	uint64_t ns = t_done > t_start ? t_done - t_start : 0;

	if (t_done < x->t_count || t_done > x->t_end)
		return;
	x->counted++;
	if (status < 200 || status > 299)
		x->non2xx++;
	else
		x->hist_ok[hist_index(ns / 1000u)]++;
	if (status == 503) {
		x->n503++;
		if (!retry_after)
			x->n503_no_retry++;
	}
	if (ns > x->max_ns)
		x->max_ns = ns;
	x->hist[hist_index(ns / 1000u)]++;
}

/* The due instant of the next open-loop request, or 0 when none is due yet. */
static uint64_t
due_at(const thread_ctx *x, uint64_t k)
{
	return x->t0 + (uint64_t)((double)k * 1e9 / x->rate);
}

static void
arm_timer(int tfd, uint64_t at)
{
	struct itimerspec its;

	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = (time_t)(at / 1000000000u);
	its.it_value.tv_nsec = (long)(at % 1000000000u);
	if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
		its.it_value.tv_nsec = 1;
	(void)timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void *
run(void *p)
{
	thread_ctx *x = p;
	conn *cs = NULL;
	struct epoll_event evs[64], tev;
	int ep = -1, tfd = -1;
	uint64_t k = 0;	    /* open loop: requests dispatched */
	uint64_t armed = 0; /* the timer's expiry */

	x->failed = 1;
	if ((cs = calloc(x->nconn, sizeof(*cs))) == NULL)
		goto out;
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		goto out;
	if ((tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)) < 0)
		goto out;
	memset(&tev, 0, sizeof(tev));
	tev.events = EPOLLIN;
	tev.data.ptr = NULL;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &tev) != 0)
		goto out;
	for (unsigned i = 0; i < x->nconn; i++) {
		cs[i].fd = -1;
		cs[i].in_cap = 4096;
		if ((cs[i].in = malloc(cs[i].in_cap)) == NULL)
			goto out;
		if (conn_open(x->tg, ep, &cs[i]) != 0) {
			perror("uload: connect");
			goto out;
		}
	}
	for (unsigned i = 0; x->rate == 0 && i < x->nconn; i++)
		if (conn_send(x, ep, &cs[i], now_ns()) != 0)
			x->errors++;
	for (;;) {
		uint64_t now = now_ns(), want = x->t_end;
		int n;

		if (now >= x->t_end)
			break;
		if (x->rate > 0) {
			/* dispatch every due request that has an idle connection */
			for (unsigned i = 0; i < x->nconn && due_at(x, k) <= now; i++) {
				if (cs[i].busy || cs[i].fd < 0)
					continue;
				if (conn_send(x, ep, &cs[i], due_at(x, k)) != 0) {
					x->errors++;
					conn_close(ep, &cs[i]);
					continue;
				}
				k++;
			}
			/* overdue work waits for an answer; else wake when the next is due */
			want = due_at(x, k) > now ? due_at(x, k) : x->t_end;
		}
		if (want != armed) {
			arm_timer(tfd, want);
			armed = want;
		}
		n = epoll_wait(ep, evs, 64, 1000);
		if (n < 0 && errno != EINTR)
			goto out;
		for (int e = 0; e < n; e++) {
			conn *c = evs[e].data.ptr;
			int status = 0, keep = 1, retry_after = 0, done;

			if (c == NULL) {
				uint64_t ticks;

				if (read(tfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
					goto out;
				continue;
			}
			if ((evs[e].events & EPOLLOUT) && c->busy) {
				if (conn_flush(x, ep, c) != 0)
					goto io_error;
				if (c->out_off == x->req_len) {
					struct epoll_event ev;

					memset(&ev, 0, sizeof(ev));
					ev.events = EPOLLIN;
					ev.data.ptr = c;
					(void)epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
				}
			}
			if (!(evs[e].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
				continue;
			for (;;) {
				ssize_t rd;

				if (c->in_len == c->in_cap) {
					char *nb;

					if (c->in_cap >= INBUF_MAX)
						goto io_error;
					if ((nb = realloc(c->in, c->in_cap * 2)) == NULL)
						goto out;
					c->in = nb;
					c->in_cap *= 2;
				}
				rd = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len);
				if (rd < 0 && errno == EINTR)
					continue;
				if (rd < 0 && errno == EAGAIN)
					break;
				if (rd <= 0)
					goto io_error;
				c->in_len += (size_t)rd;
			}
			done = response_done(c, &status, &keep, &retry_after);
			if (done == 0)
				continue;
			if (done < 0 || !c->busy)
				goto io_error;
			now = now_ns();
			record(x, c->t_start, now, status, retry_after);
			c->busy = 0;
			c->in_len = 0;
			if (!keep) {
				conn_close(ep, c);
				x->reconnects++;
				if (conn_open(x->tg, ep, c) != 0)
					x->errors++;
			}
			if (c->fd < 0)
				continue;
			if (x->rate == 0) {
				if (conn_send(x, ep, c, now) != 0)
					goto io_error;
			} else if (due_at(x, k) <= now) {
				if (conn_send(x, ep, c, due_at(x, k)) != 0)
					goto io_error;
				k++;
			}
			continue;
		io_error:
			x->errors++;
			conn_close(ep, c);
			x->reconnects++;
			if (conn_open(x->tg, ep, c) != 0) {
				perror("uload: reconnect");
				goto out;
			}
			if (x->rate == 0 && conn_send(x, ep, c, now_ns()) != 0)
				x->errors++;
		}
	}
	if (x->rate > 0) {
		uint64_t end = x->t_end;

		/* requests due in the window but never sent: the server fell behind */
		while (due_at(x, k) < end) {
			if (due_at(x, k) >= x->t_count)
				x->late_unsent++;
			k++;
		}
	}
	x->failed = 0;
out:
	if (cs != NULL)
		for (unsigned i = 0; i < x->nconn; i++) {
			conn_close(ep, &cs[i]);
			free(cs[i].in);
		}
	free(cs);
	if (tfd >= 0)
		close(tfd);
	if (ep >= 0)
		close(ep);
	return NULL;
}

static int
parse_target(const char *unix_path, const char *tcp, target *tg)
{
	memset(tg, 0, sizeof(*tg));
	if (unix_path != NULL) {
		struct sockaddr_un *sun = (struct sockaddr_un *)&tg->addr;

		if (strlen(unix_path) >= sizeof(sun->sun_path)) {
			fprintf(stderr, "uload: socket path too long: %s\n", unix_path);
			return -1;
		}
		sun->sun_family = AF_UNIX;
		memcpy(sun->sun_path, unix_path, strlen(unix_path) + 1);
		tg->addr_len = sizeof(*sun);
		tg->unix_socket = 1;
		return 0;
	} else {
		char host[256];
		const char *colon = strrchr(tcp, ':');
		struct addrinfo hints, *ai = NULL;
		int e;

		if (colon == NULL || (size_t)(colon - tcp) >= sizeof(host)) {
			fprintf(stderr, "uload: --tcp wants HOST:PORT, not '%s'\n", tcp);
			return -1;
		}
		memcpy(host, tcp, (size_t)(colon - tcp));
		host[colon - tcp] = '\0';
		memset(&hints, 0, sizeof(hints));
		hints.ai_socktype = SOCK_STREAM;
		if ((e = getaddrinfo(host, colon + 1, &hints, &ai)) != 0) {
			fprintf(stderr, "uload: %s: %s\n", tcp, gai_strerror(e));
			return -1;
		}
		memcpy(&tg->addr, ai->ai_addr, ai->ai_addrlen);
		tg->addr_len = ai->ai_addrlen;
		freeaddrinfo(ai);
		return 0;
	}
}

static char *
read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (f == NULL) {
		fprintf(stderr, "uload: cannot open %s: %s\n", path, strerror(errno));
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && n < (1 << 20) &&
	    fseek(f, 0, SEEK_SET) == 0 && (buf = calloc(1, (size_t)n + 1)) != NULL &&
	    fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	if (buf == NULL)
		fprintf(stderr, "uload: cannot read %s\n", path);
	return buf;
}

static double
number(const char *opt, const char *s, double min, double max)
{
	char *end = NULL;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v >= min && v <= max)) {
		fprintf(stderr, "uload: %s wants a number from %g to %g, not '%s'\n", opt, min, max,
			s);
		exit(2);
	}
	return v;
}

static void
usage(void)
{
	fprintf(stderr, "usage: uload (--unix PATH | --tcp HOST:PORT) --path P (--body JSON | "
			"--body-file F)\n"
			"             [--connections N] [--threads N] [--seconds S] [--warmup S] "
			"[--rate R]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {{"unix", required_argument, NULL, 'u'},
					     {"tcp", required_argument, NULL, 'T'},
					     {"path", required_argument, NULL, 'P'},
					     {"body", required_argument, NULL, 'b'},
					     {"body-file", required_argument, NULL, 'f'},
					     {"connections", required_argument, NULL, 'c'},
					     {"threads", required_argument, NULL, 't'},
					     {"seconds", required_argument, NULL, 'd'},
					     {"warmup", required_argument, NULL, 'w'},
					     {"rate", required_argument, NULL, 'R'},
					     {NULL, 0, NULL, 0}};
	const char *unix_path = NULL, *tcp = NULL, *path = NULL, *body = NULL, *body_file = NULL;
	unsigned nconn = 16, nthreads = 1;
	double seconds = 3, warmup = 0.5, rate = 0, u0, u1, total_rate;
	char *file_body = NULL, *req = NULL;
	thread_ctx *xs = NULL;
	target tg;
	uint64_t hist[HIST_N], counted = 0, non2xx = 0, errors = 0, reconnects = 0, late = 0;
	uint64_t hist_ok[HIST_N], n503 = 0, n503_nr = 0;
	double p99_ok = 0;
	uint64_t max_ns = 0, t0;
	double pct[4] = {0.50, 0.90, 0.99, 0.999}, val[4] = {0, 0, 0, 0};
	int o, r = 1, len;
	size_t req_cap;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'u':
			unix_path = optarg;
			break;
		case 'T':
			tcp = optarg;
			break;
		case 'P':
			path = optarg;
			break;
		case 'b':
			body = optarg;
			break;
		case 'f':
			body_file = optarg;
			break;
		case 'c':
			nconn = (unsigned)number("--connections", optarg, 1, 10000);
			break;
		case 't':
			nthreads = (unsigned)number("--threads", optarg, 1, 64);
			break;
		case 'd':
			seconds = number("--seconds", optarg, 0.1, 86400);
			break;
		case 'w':
			warmup = number("--warmup", optarg, 0, 3600);
			break;
		case 'R':
			rate = number("--rate", optarg, 1, 1e7);
			break;
		default:
			usage();
		}
	}
	if (optind != argc || (unix_path == NULL) == (tcp == NULL) || path == NULL ||
	    (body == NULL) == (body_file == NULL))
		usage();
	if (nconn < nthreads) {
		fprintf(stderr, "uload: at least one connection per thread\n");
		return 2;
	}
	if (body_file != NULL && (body = file_body = read_file(body_file)) == NULL)
		goto out;
	if (parse_target(unix_path, tcp, &tg) != 0)
		goto out;
	req_cap = strlen(path) + strlen(body) + 256;
	if ((req = malloc(req_cap)) == NULL)
		goto out;
	len = snprintf(req, req_cap,
		       "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
		       "Content-Length: %zu\r\n\r\n%s",
		       path, tcp != NULL ? tcp : "localhost", strlen(body), body);
	if (len < 0 || (size_t)len >= req_cap)
		goto out;
	if ((xs = calloc(nthreads, sizeof(*xs))) == NULL)
		goto out;
	t0 = now_ns() + 50000000u; /* every connection is open by then */
	for (unsigned i = 0; i < nthreads; i++) {
		xs[i].tg = &tg;
		xs[i].req = req;
		xs[i].req_len = (size_t)len;
		xs[i].nconn = nconn / nthreads + (i < nconn % nthreads ? 1 : 0);
		xs[i].rate = rate / nthreads;
		xs[i].t0 = t0;
		xs[i].t_count = t0 + (uint64_t)(warmup * 1e9);
		xs[i].t_end = xs[i].t_count + (uint64_t)(seconds * 1e9);
	}
	u0 = bench_cpu_now();
	for (unsigned i = 0; i < nthreads; i++)
		if (pthread_create(&xs[i].th, NULL, run, &xs[i]) != 0) {
			fprintf(stderr, "uload: cannot start a thread\n");
			exit(1);
		}
	for (unsigned i = 0; i < nthreads; i++)
		pthread_join(xs[i].th, NULL);
	u1 = bench_cpu_now();
	memset(hist, 0, sizeof(hist));
	memset(hist_ok, 0, sizeof(hist_ok));
	for (unsigned i = 0; i < nthreads; i++) {
		if (xs[i].failed)
			goto out;
		for (unsigned b = 0; b < HIST_N; b++) {
			hist[b] += xs[i].hist[b];
			hist_ok[b] += xs[i].hist_ok[b];
		}
		n503 += xs[i].n503;
		n503_nr += xs[i].n503_no_retry;
		counted += xs[i].counted;
		non2xx += xs[i].non2xx;
		errors += xs[i].errors;
		reconnects += xs[i].reconnects;
		late += xs[i].late_unsent;
		if (xs[i].max_ns > max_ns)
			max_ns = xs[i].max_ns;
	}
	for (unsigned p = 0; p < 4; p++) {
		uint64_t want = (uint64_t)((double)counted * pct[p] + 0.999999), cum = 0;

		for (unsigned b = 0; b < HIST_N && counted > 0; b++) {
			cum += hist[b];
			if (cum >= want) {
				val[p] = hist_value(b);
				break;
			}
		}
	}
	if (counted > non2xx) {
		uint64_t want = (uint64_t)((double)(counted - non2xx) * 0.99 + 0.999999), cum = 0;

		for (unsigned b = 0; b < HIST_N; b++) {
			cum += hist_ok[b];
			if (cum >= want) {
				p99_ok = hist_value(b);
				break;
			}
		}
	}
	total_rate = (double)counted / seconds;
	printf("{\"bench\":\"uload\",\"target\":\"%s\",\"connections\":%u,\"threads\":%u,"
	       "\"rate_target\":%.0f,\"requests\":%llu,\"seconds\":%.3f,\"rate\":%.1f,"
	       "\"non2xx\":%llu,\"errors\":%llu,\"reconnects\":%llu,\"late_unsent\":%llu,"
	       "\"p50_us\":%.0f,\"p90_us\":%.0f,\"p99_us\":%.0f,\"p999_us\":%.0f,"
	       "\"max_us\":%.0f,\"cpu\":%.3f,\"ok_rate\":%.1f,\"p99_2xx_us\":%.0f,"
	       "\"n503\":%llu,\"n503_no_retry_after\":%llu}\n",
	       unix_path != NULL ? "unix" : "tcp", nconn, nthreads, rate,
	       (unsigned long long)counted, seconds, total_rate, (unsigned long long)non2xx,
	       (unsigned long long)errors, (unsigned long long)reconnects, (unsigned long long)late,
	       val[0], val[1], val[2], val[3], (double)max_ns / 1000.0, u1 - u0,
	       (double)(counted - non2xx) / seconds, p99_ok, (unsigned long long)n503,
	       (unsigned long long)n503_nr);
	r = 0;
out:
	free(xs);
	free(req);
	free(file_body);
	return r;
}

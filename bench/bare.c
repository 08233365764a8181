/*
 * bare — the HTTP ceiling of this machine: the server signerd is built on
 * (libevent's evhttp, one event loop per worker thread, all on one listening
 * UNIX socket) answering every request with a fixed JSON body and the
 * headers signerd sends, and doing nothing else.  No JSON, no JOSE, no
 * token.  What bench/uload reaches against it is what HTTP alone costs here,
 * with the load generator on the same cores; a request that also verifies
 * or signs cannot be faster than that plus its cryptography.
 *
 *   bare --unix PATH [--workers N] [--body JSON]
 *
 * Runs until SIGTERM or SIGINT.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "bench/bench.h"

#define MAX_WORKERS 64

static const char *body = "{\"valid\":true}";
static size_t body_len;

static void
answer(struct evhttp_request *req, void *arg)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	struct evbuffer *out = evhttp_request_get_output_buffer(req);

	(void)arg;
	/* read the body as a server must, then drop it */
	(void)evbuffer_pullup(in, -1);
	evbuffer_drain(in, evbuffer_get_length(in));
	evhttp_add_header(h, "Content-Type", "application/json");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "Cache-Control", "no-store");
	evbuffer_add_reference(out, body, body_len, NULL, NULL);
	evhttp_send_reply(req, 200, "OK", NULL);
}

static void *
worker_main(void *arg)
{
	struct event_base *base = arg;

	event_base_dispatch(base);
	return NULL;
}

static int
listen_unix(const char *path)
{
	struct sockaddr_un sa;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "bare: socket path too long: %s\n", path);
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || (unlink(path) != 0 && errno != ENOENT) ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 1024) != 0) {
		fprintf(stderr, "bare: cannot listen on %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static void
usage(void)
{
	fprintf(stderr, "usage: bare --unix PATH [--workers N] [--body JSON]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"unix", required_argument, NULL, 'u'},
	    {"workers", required_argument, NULL, 'w'},
	    {"body", required_argument, NULL, 'b'},
	    {NULL, 0, NULL, 0},
	};
	const char *path = NULL;
	unsigned workers = 2, i;
	pthread_t th[MAX_WORKERS];
	sigset_t set;
	int o, fd, sig;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'u':
			path = optarg;
			break;
		case 'w':
			workers = bench_arg_count("--workers", optarg, MAX_WORKERS);
			break;
		case 'b':
			body = optarg;
			break;
		default:
			usage();
		}
	}
	if (path == NULL || optind != argc)
		usage();
	body_len = strlen(body);
	/* the workers inherit the mask: only sigwait below sees these */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((fd = listen_unix(path)) < 0)
		return 1;
	for (i = 0; i < workers; i++) {
		struct event_base *base = event_base_new();
		struct evhttp *http = base != NULL ? evhttp_new(base) : NULL;
		int e;

		if (http == NULL || evhttp_accept_socket(http, fd) != 0) {
			fprintf(stderr, "bare: cannot set up worker %u\n", i);
			return 1;
		}
		evhttp_set_gencb(http, answer, NULL);
		if ((e = pthread_create(&th[i], NULL, worker_main, base)) != 0) {
			fprintf(stderr, "bare: cannot start worker %u: %s\n", i, strerror(e));
			return 1;
		}
	}
	printf("{\"bench\":\"bare\",\"workers\":%u}\n", workers);
	fflush(stdout);
	while (sigwait(&set, &sig) != 0)
		;
	unlink(path);
	return 0;
}

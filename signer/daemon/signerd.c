/*
 * signerd — issues and verifies JWTs with keys held on a PKCS#11 token
 * (SPEC §5).  Start-up order: configuration, daemonise, then the token
 * (never PKCS#11 state across fork()), state, HTTP workers, state poller.
 * Signals are taken synchronously by the main thread (sigwait).
 */
/* <config.h>: "config.h" would find signer/config.h (the configuration module) */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/harden.h"
#include "common/log.h"
#include "common/pin.h"
#include "common/util.h"
#include "hsm/hsm.h"
#include "signer/conf.h"
#include "signer/daemon/api.h"
#include "signer/daemon/http.h"
#include "signer/daemon/poll.h"
#include "signer/daemon/sd.h"
#include "signer/daemon/snapshot.h"
#include "signer/state.h"

#define EXIT_FAIL 1
#define EXIT_USAGE 2
#define EXIT_TOKEN 3
#define MAX_HEADERS 16384

typedef struct daemon_ctx {
	const char *conf_path;
	int foreground;
	int notify_fd;		/* daemon mode: tells the waiting parent the exit code */
	const char *pin_source; /* [token] pin, or "fd:N" of a PIN read by prompt */
	char pin_fd_source[32];
	int pin_fd;	 /* read end of the pipe holding a prompted PIN, or -1 */
	int *listen_fds; /* socket activation: parallel to [server] listen, or NULL */
	hsm_token *token;
	d_slot settings;
	d_slot view;
	d_app *app;
	d_server *srv;
	d_poller *poller;
	member_record me;
} daemon_ctx;

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: signerd [--config FILE] [--foreground] [--debug] [--check-config]\n"
		"  --config FILE   configuration (default: $SIGNER_CONFIG, then %s)\n"
		"  --foreground    stay attached and log to stderr (default: daemonise, log to "
		"syslog);\n"
		"                  under systemd (Type=notify) it reports readiness through "
		"$NOTIFY_SOCKET\n"
		"                  and takes sockets passed with LISTEN_FDS\n"
		"  --check-config  check the configuration, print the values in effect, exit "
		"(0: valid)\n"
		"  --debug         log debug messages too\n"
		"see signerd(8)\n",
		SIGNER_DEFAULT_CONFIG);
}

/* sd_notify(3) to systemd when it asked for it; a failure is only logged. */
static void
notify(const char *state)
{
	int r;

	if ((r = d_sd_notify(state)) != 0)
		log_warn("%s", p11s_errmsg(r));
}

static void notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
notify_status(const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (d_sd_status("%s", msg) != 0)
		log_warn("cannot send STATUS to systemd");
}

/*
 * PIN source "prompt": read it from the terminal now, before detaching (the
 * daemon has no terminal) and before any PKCS#11 call, into a pipe the token
 * reads as "fd:N".  The pipe holds it in the kernel until then; the locked
 * buffer is wiped at once.
 */
static int
prompt_pin_early(daemon_ctx *d, const signer_conf *c)
{
	p11s_secret *pin = NULL;
	int p[2] = {-1, -1}, r = P11S_E_INTERNAL;
	ssize_t n;

	d->pin_source = c->token_pin;
	if (c->token_pin == NULL || strcmp(c->token_pin, "prompt") != 0)
		return 0;
	if ((r = p11s_secret_read("prompt", "PIN", &pin)) != 0)
		goto out;
	if (pipe2(p, O_CLOEXEC) != 0) {
		r = p11s_fail(P11S_E_IO, "pipe: %s", strerror(errno));
		goto out;
	}
	do
		n = write(p[1], pin->buf, pin->len);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)pin->len || write(p[1], "\n", 1) != 1) {
		r = p11s_fail(P11S_E_IO, "cannot pass the PIN on: %s", strerror(errno));
		goto out;
	}
	snprintf(d->pin_fd_source, sizeof(d->pin_fd_source), "fd:%d", p[0]);
	d->pin_source = d->pin_fd_source;
	d->pin_fd = p[0];
	p[0] = -1;
	r = 0;
out:
	p11s_secret_free(pin);
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	return r;
}

/* Socket activation: the sockets systemd passed, each to its listen line. */
static int
passed_sockets(daemon_ctx *d, const signer_conf *c)
{
	int n = 0, r;

	if ((r = d_sd_listen_fds(&n)) != 0 || n == 0)
		return r;
	if ((d->listen_fds = calloc(c->n_listen, sizeof(*d->listen_fds))) == NULL)
		return p11s_fail(P11S_E_NOMEM, "out of memory");
	if ((r = d_sd_assign_fds(n, (const char *const *)c->listen, c->n_listen, d->listen_fds)) !=
	    0)
		return r;
	log_info("socket activation: %d listening socket%s from systemd", n, n == 1 ? "" : "s");
	return 0;
}

/* A start-up failure: logged, echoed to the terminal we were started from,
 * and passed to the waiting parent in daemon mode. */
static int
startup_failed(daemon_ctx *d, int code, const char *what, int err)
{
	log_error("%s: %s", what, p11s_errmsg(err));
	notify_status("start-up failed: %s", what);
	if (!d->foreground)
		fprintf(stderr, "signerd: %s: %s\n", what, p11s_errmsg(err));
	if (d->notify_fd >= 0) {
		unsigned char b = (unsigned char)code;
		ssize_t n = write(d->notify_fd, &b, 1);

		(void)n;
		close(d->notify_fd);
		d->notify_fd = -1;
	}
	return code;
}

/*
 * Detach before any PKCS#11 call.  The original process waits on a pipe for
 * the exit code of start-up (0 once serving), so `signerd` run by hand or by
 * a Type=forking unit reports a wrong PIN as exit 3.
 */
static int
daemonize(daemon_ctx *d)
{
	int p[2], null;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) != 0)
		return p11s_fail(P11S_E_IO, "pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		return p11s_fail(P11S_E_IO, "fork: %s", strerror(errno));
	if (pid > 0) {
		unsigned char b = EXIT_FAIL;
		ssize_t n;

		close(p[1]);
		do
			n = read(p[0], &b, 1);
		while (n < 0 && errno == EINTR);
		_exit(n == 1 ? b : EXIT_FAIL);
	}
	close(p[0]);
	if (setsid() < 0)
		return p11s_fail(P11S_E_IO, "setsid: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		return p11s_fail(P11S_E_IO, "fork: %s", strerror(errno));
	if (pid > 0)
		_exit(0); /* the first parent keeps waiting on the pipe */
	if (chdir("/") != 0)
		return p11s_fail(P11S_E_IO, "chdir /: %s", strerror(errno));
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(null, STDOUT_FILENO) < 0)
		return p11s_fail(P11S_E_IO, "/dev/null: %s", strerror(errno));
	close(null);
	d->notify_fd = p[1];
	return 0;
}

static void
ready(daemon_ctx *d)
{
	unsigned char b = 0;
	int null;
	ssize_t n;

	if (d->notify_fd < 0)
		return;
	n = write(d->notify_fd, &b, 1);
	(void)n; /* the parent exits 1 if it reads nothing */
	close(d->notify_fd);
	d->notify_fd = -1;
	null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (null >= 0) {
		if (dup2(null, STDERR_FILENO) < 0)
			log_warn("cannot detach stderr: %s", strerror(errno));
		close(null);
	}
}

static void
server_params(const signer_conf *c, d_server_params *sp, d_limits *lim)
{
	memset(lim, 0, sizeof(*lim));
	lim->max_body = c->max_body;
	lim->max_headers = MAX_HEADERS;
	lim->request_timeout = c->request_timeout > 0 ? (unsigned)c->request_timeout : 10;
	lim->access_log = c->access_log;
	if (sp == NULL)
		return;
	memset(sp, 0, sizeof(*sp));
	sp->listen = (const char *const *)c->listen;
	sp->n_listen = c->n_listen;
	sp->tls.certificate = c->tls_certificate;
	sp->tls.key = c->tls_key;
	sp->tls.client_ca = c->client_ca;
	sp->tls.key_pin = c->token_pin;
	sp->tls.lock_file = c->lock_file;
	sp->limits = *lim;
	sp->workers = c->workers;
}

static int
str_differs(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a != b;
	return strcmp(a, b) != 0;
}

static void reload_with(daemon_ctx *d, signer_conf *nc);

/* SIGHUP: a refused file keeps the running configuration. */
static void
reload(daemon_ctx *d)
{
	signer_conf *nc = NULL;
	int r;

	log_info("SIGHUP: reloading %s", d->conf_path);
	notify("RELOADING=1\nSTATUS=reloading the configuration");
	r = signer_conf_load(d->conf_path, &nc);
	if (r == 0) {
		reload_with(d, nc);
		notify_status("serving (configuration reloaded)");
	} else {
		log_error("configuration reload refused, keeping the running configuration: %s",
			  p11s_errmsg(r));
		notify_status("serving (configuration reload refused: see the log)");
	}
	notify("READY=1");
}

/* SIGHUP with a valid new configuration nc (owned). */
static void
reload_with(daemon_ctx *d, signer_conf *nc)
{
	const signer_conf *oc;
	d_settings *ns = NULL;
	d_ref *old;
	d_tls_conf tls;
	d_limits lim;
	size_t i;
	int r, listen_changed;

	old = d_slot_acquire(&d->settings);
	oc = ((const d_settings *)old)->conf;
	memset(&tls, 0, sizeof(tls));
	tls.certificate = nc->tls_certificate;
	tls.key = nc->tls_key;
	tls.client_ca = nc->client_ca;
	tls.key_pin = nc->token_pin;
	tls.lock_file = nc->lock_file;
	if ((r = d_server_reload_tls(d->srv, &tls)) != 0) {
		log_error("configuration reload refused, keeping the running configuration: %s",
			  p11s_errmsg(r));
		signer_conf_free(nc);
		d_ref_put(old);
		return;
	}
	if (str_differs(oc->token_uri, nc->token_uri) ||
	    str_differs(oc->token_pin, nc->token_pin) ||
	    str_differs(oc->lock_file, nc->lock_file) || oc->sessions != nc->sessions)
		log_warn("[token] settings changed; they take effect at the next restart");
	listen_changed = oc->n_listen != nc->n_listen || oc->workers != nc->workers;
	for (i = 0; !listen_changed && i < nc->n_listen; i++)
		listen_changed = strcmp(oc->listen[i], nc->listen[i]) != 0;
	if (listen_changed)
		log_warn(
		    "[server] listen or workers changed; they take effect at the next restart");
	p11s_log_set_json(nc->log_json);
	d_ref_put(old);
	server_params(nc, NULL, &lim);
	d_server_set_limits(d->srv, &lim);
	if ((r = d_settings_new(nc, &ns)) != 0) {
		log_error("configuration reload failed: %s", p11s_errmsg(r));
		return;
	}
	d_slot_publish(&d->settings, &ns->ref);
	log_info("configuration reloaded from %s", d->conf_path);
}

static int
token_exit_code(int r)
{
	return r == P11S_E_PIN_SOURCE || r == P11S_E_CONFIG ? EXIT_USAGE : EXIT_TOKEN;
}

static int
run(daemon_ctx *d, signer_conf *conf, const sigset_t *sigs)
{
	hsm_open_params hp;
	signer_state *st = NULL;
	d_view *v = NULL;
	d_settings *s = NULL;
	d_server_params sp;
	d_limits lim;
	d_app_params ap;
	d_poll_params pp;
	const signer_conf *c = conf;
	unsigned grace;
	char host[64];
	uint64_t wd_usec;
	struct timespec wd = {0, 0};
	int r, sig = 0;

	memset(&hp, 0, sizeof(hp));
	hp.uri = conf->token_uri;
	hp.lock_file = conf->lock_file;
	hp.pin_source = d->pin_source;
	notify_status("opening the token");
	r = hsm_open(&hp, &d->token);
	if (d->pin_fd >= 0) {
		close(d->pin_fd);
		d->pin_fd = -1;
	}
	if (r != 0) {
		signer_conf_free(conf);
		if (r == P11S_E_PIN_INCORRECT || r == P11S_E_PIN_LOCKED)
			return startup_failed(d, EXIT_TOKEN,
					      "the token refused the PIN (not retried, to avoid "
					      "locking it; fix [token] pin and start again)",
					      r);
		return startup_failed(d, token_exit_code(r), "cannot open the token", r);
	}
	log_info("token '%s' (serial %s) open", hsm_token_label(d->token),
		 hsm_token_serial(d->token));
	if ((r = state_load(d->token, &st)) != 0) {
		signer_conf_free(conf);
		return startup_failed(d, EXIT_TOKEN, "cannot load the state from the token", r);
	}
	log_info("state version %" PRIu64 " loaded", st->version);
	if ((r = d_view_new(st, p11s_now(), &v)) != 0) {
		signer_conf_free(conf);
		return startup_failed(d, EXIT_TOKEN, "the state on the token is unusable", r);
	}
	d_slot_publish(&d->view, &v->ref);
	if ((r = d_settings_new(conf, &s)) != 0)
		return startup_failed(d, EXIT_FAIL, "start-up", r);
	d_slot_publish(&d->settings, &s->ref);

	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	memset(&d->me, 0, sizeof(d->me));
	snprintf(d->me.id, sizeof(d->me.id), "%s:%ld", host, (long)getpid());
	snprintf(d->me.host, sizeof(d->me.host), "%s", host);
	d->me.pid = (long)getpid();
	d->me.started_at = p11s_now();

	memset(&ap, 0, sizeof(ap));
	ap.token = d->token;
	ap.settings = &d->settings;
	ap.view = &d->view;
	ap.me = &d->me;
	if ((r = d_app_new(&ap, &d->app)) != 0)
		return startup_failed(d, EXIT_FAIL, "start-up", r);
	server_params(c, &sp, &lim);
	sp.handler = d_app_handle;
	sp.handler_arg = d->app;
	sp.listen_fd = d->listen_fds;
	sp.worker_start = d_app_worker_start;
	sp.worker_stop = d_app_worker_stop;
	if ((r = d_server_new(&sp, &d->srv)) != 0)
		return startup_failed(d, EXIT_FAIL, "cannot listen", r);
	if ((r = d_app_set_workers(d->app, d_server_workers(d->srv))) != 0 ||
	    (r = d_server_start(d->srv)) != 0)
		return startup_failed(d, EXIT_FAIL, "cannot start the workers", r);
	memset(&pp, 0, sizeof(pp));
	pp.token = d->token;
	pp.settings = &d->settings;
	pp.view = &d->view;
	pp.app = d->app;
	pp.me = &d->me;
	if ((r = d_poller_start(&pp, &d->poller)) != 0)
		return startup_failed(d, EXIT_FAIL, "cannot start the state poller", r);
	log_info("signerd %s ready: member %s, state version %" PRIu64 ", %u workers",
		 PACKAGE_VERSION, d->me.id, v->st->version, d_server_workers(d->srv));
	ready(d);
	/* the listeners accept and the token is open */
	{
		char msg[200];

		snprintf(msg, sizeof(msg),
			 "READY=1\nSTATUS=serving: token '%s', state version %" PRIu64
			 ", %u workers",
			 hsm_token_label(d->token), v->st->version, d_server_workers(d->srv));
		notify(msg);
	}
	wd_usec = d_sd_watchdog_usec();
	if (wd_usec > 0) {
		wd.tv_sec = (time_t)(wd_usec / 2 / 1000000);
		wd.tv_nsec = (long)(wd_usec / 2 % 1000000) * 1000;
		log_info("systemd watchdog: WATCHDOG=1 every %" PRIu64 " ms", wd_usec / 2000);
		notify("WATCHDOG=1");
	}

	for (;;) {
		if (wd_usec > 0) {
			sig = sigtimedwait(sigs, NULL, &wd);
			if (sig < 0) {
				if (errno == EAGAIN)
					notify("WATCHDOG=1");
				continue;
			}
		} else if (sigwait(sigs, &sig) != 0) {
			continue;
		}
		if (sig == SIGHUP) {
			reload(d);
			continue;
		}
		break;
	}
	notify("STOPPING=1\nSTATUS=stopping: finishing requests in flight");
	{
		d_ref *sr = d_slot_acquire(&d->settings);

		grace = (unsigned)((const d_settings *)sr)->conf->request_timeout;
		d_ref_put(sr);
	}
	log_info("%s: no new connections; finishing requests in flight (at most %u s)",
		 sig == SIGINT ? "SIGINT" : "SIGTERM", grace);
	d_server_stop(d->srv, grace);
	d_app_stop_signing(d->app);
	d_poller_stop(d->poller);
	d->poller = NULL;
	log_info("stopped");
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"foreground", no_argument, NULL, 'f'},
	    {"debug", no_argument, NULL, 'd'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {"check-config", no_argument, NULL, 'C'},
	    {NULL, 0, NULL, 0},
	};
	const char *given = NULL;
	int check_only = 0;
	daemon_ctx d;
	signer_conf *conf = NULL;
	sigset_t sigs;
	int o, r, code, dumps, level = LOG_INFO;

	/* first of all: no core dumps (harden.h); the log is not set up yet */
	if ((r = p11s_harden_process(&dumps)) != 0) {
		fprintf(stderr, "signerd: %s\n", p11s_errmsg(r));
		return EXIT_USAGE;
	}
	if (dumps)
		fprintf(stderr,
			"signerd: warning: core dumps allowed (%s=1): a core file would hold "
			"token keys\n",
			P11S_COREDUMP_ENV);
	memset(&d, 0, sizeof(d));
	d.notify_fd = -1;
	d.pin_fd = -1;
	while ((o = getopt_long(argc, argv, "c:fdh", opts, NULL)) != -1) {
		switch (o) {
		case 'c':
			given = optarg;
			break;
		case 'C':
			check_only = 1;
			break;
		case 'f':
			d.foreground = 1;
			break;
		case 'd':
			level = LOG_DEBUG;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("signerd %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "signerd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}
	d.conf_path = signer_conf_path(given);
	p11s_log_init("signerd", !d.foreground && !check_only, level);

	if ((r = signer_conf_load_default(given, &conf)) != 0) {
		fprintf(stderr, "signerd: %s\n", p11s_errmsg(r));
		if (!d.foreground && !check_only)
			log_error("%s", p11s_errmsg(r));
		return EXIT_USAGE;
	}
	if ((r = p11s_secret_source_check(conf->token_pin)) != 0) {
		fprintf(stderr, "signerd: %s: [token] pin: %s\n", d.conf_path, p11s_errmsg(r));
		signer_conf_free(conf);
		return EXIT_USAGE;
	}
	if (check_only) {
		signer_conf_print(conf, stdout);
		fprintf(stderr, "signerd: configuration %s is valid\n", d.conf_path);
		signer_conf_free(conf);
		return 0;
	}
	p11s_log_set_json(conf->log_json);
	if ((r = passed_sockets(&d, conf)) != 0) {
		fprintf(stderr, "signerd: %s\n", p11s_errmsg(r));
		signer_conf_free(conf);
		return EXIT_USAGE;
	}
	if ((r = prompt_pin_early(&d, conf)) != 0) {
		fprintf(stderr, "signerd: %s\n", p11s_errmsg(r));
		signer_conf_free(conf);
		return EXIT_USAGE;
	}
	d_slot_init(&d.settings);
	d_slot_init(&d.view);
	if (!d.foreground && (r = daemonize(&d)) != 0) {
		fprintf(stderr, "signerd: cannot daemonise: %s\n", p11s_errmsg(r));
		signer_conf_free(conf);
		return EXIT_FAIL;
	}
	/* Every thread inherits this mask; the main thread takes the signals. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	code = run(&d, conf, &sigs);

	d_server_free(d.srv);
	d_poller_stop(d.poller);
	d_app_free(d.app);
	d_slot_destroy(&d.settings);
	d_slot_destroy(&d.view);
	hsm_close(d.token);
	if (d.notify_fd >= 0)
		close(d.notify_fd);
	if (d.pin_fd >= 0)
		close(d.pin_fd);
	free(d.listen_fds);
	return code;
}

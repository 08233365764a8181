/*
 * signer pool check URL...: ask every pool member's GET /v1/status and report,
 * before the effective instant, each member that lacks the staged key or has
 * a different effective instant (SPEC §7).
 */
#include "config.h"

#include <curl/curl.h>
#include <getopt.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/parse.h"
#include "common/text.h"
#include "common/util.h"
#include "hsm/hsm.h"
#include "signer/cli/cli.h"
#include "signer/poolcheck.h"

#define STATUS_MAX (1u << 20)
#define STATUS_PATH "/v1/status"

typedef struct pool_opts {
	const char *cacert;
	const char *cert;
	const char *key;
	hsm_evp_key *token_key; /* --key pkcs11:...: the client key on a token */
	int64_t timeout;
} pool_opts;

/* libcurl's OpenSSL context: the client certificate and the token key. */
static CURLcode
use_token_key(CURL *h, void *ssl_ctx, void *arg)
{
	const pool_opts *o = arg;

	(void)h;
	if (SSL_CTX_use_certificate_chain_file(ssl_ctx, o->cert) != 1 ||
	    SSL_CTX_use_PrivateKey(ssl_ctx, hsm_evp_pkey(o->token_key)) != 1 ||
	    SSL_CTX_check_private_key(ssl_ctx) != 1)
		return CURLE_SSL_CERTPROBLEM;
	return CURLE_OK;
}

struct body {
	char *buf;
	size_t len;
	int too_big;
};

static size_t
on_data(char *data, size_t size, size_t n, void *arg)
{
	struct body *b = arg;
	size_t len = size * n;
	char *nb;

	if (b->len + len > STATUS_MAX) {
		b->too_big = 1;
		return 0;
	}
	if ((nb = realloc(b->buf, b->len + len + 1)) == NULL)
		return 0;
	b->buf = nb;
	memcpy(b->buf + b->len, data, len);
	b->len += len;
	b->buf[b->len] = '\0';
	return len;
}

/* http(s)://host:port[/prefix] -> .../v1/status; unix:/path -> socket + URL. */
static int
status_url(const char *url, char **target, const char **unix_path)
{
	size_t len = strlen(url);

	*target = NULL;
	*unix_path = NULL;
	if (strncmp(url, "unix:", 5) == 0) {
		if (url[5] != '/')
			return p11s_fail(P11S_E_INVAL, "'%s': a UNIX socket is unix:/absolute/path",
					 url);
		*unix_path = url + 5;
		return p11s_strdup("http://localhost" STATUS_PATH, target);
	}
	if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
		return p11s_fail(P11S_E_INVAL,
				 "'%s' is not a member URL: expected http://HOST:PORT, "
				 "https://HOST:PORT or unix:/PATH",
				 url);
	while (len > 0 && url[len - 1] == '/')
		len--;
	if (len >= strlen(STATUS_PATH) &&
	    strncmp(url + len - strlen(STATUS_PATH), STATUS_PATH, strlen(STATUS_PATH)) == 0)
		return asprintf(target, "%.*s", (int)len, url) < 0
			   ? p11s_fail(P11S_E_NOMEM, "out of memory")
			   : 0;
	return asprintf(target, "%.*s%s", (int)len, url, STATUS_PATH) < 0
		   ? p11s_fail(P11S_E_NOMEM, "out of memory")
		   : 0;
}

static void
fetch(const pool_opts *o, pool_member *m)
{
	struct body b = {NULL, 0, 0};
	const char *unix_path;
	char *target = NULL, cerr[CURL_ERROR_SIZE] = "";
	long code = 0;
	CURL *h = NULL;
	CURLcode cc;

	if (status_url(m->url, &target, &unix_path) != 0) {
		pool_member_unreachable(m, "%s", p11s_errmsg(P11S_E_INVAL));
		return;
	}
	if ((h = curl_easy_init()) == NULL) {
		pool_member_unreachable(m, "cannot start an HTTP client");
		goto out;
	}
	curl_easy_setopt(h, CURLOPT_URL, target);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)o->timeout);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "p11-signer pool check");
	if (unix_path != NULL)
		curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, unix_path);
	if (o->cacert != NULL)
		curl_easy_setopt(h, CURLOPT_CAINFO, o->cacert);
	if (o->token_key != NULL) {
		curl_easy_setopt(h, CURLOPT_SSL_CTX_FUNCTION, use_token_key);
		curl_easy_setopt(h, CURLOPT_SSL_CTX_DATA, o);
	} else if (o->cert != NULL) {
		curl_easy_setopt(h, CURLOPT_SSLCERT, o->cert);
		curl_easy_setopt(h, CURLOPT_SSLKEY, o->key);
	}
	if ((cc = curl_easy_perform(h)) != CURLE_OK) {
		pool_member_unreachable(m, "%s",
					b.too_big	? "the status document is larger than 1 MiB"
					: *cerr != '\0' ? cerr
							: curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	if (code != 200) {
		pool_member_unreachable(m, "GET %s answered HTTP %ld", STATUS_PATH, code);
		goto out;
	}
	pool_member_read(m, b.buf, b.len);
out:
	curl_easy_cleanup(h);
	free(target);
	free(b.buf);
}

static int
run_pool(cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"cacert", required_argument, NULL, 'C'}, {"cert", required_argument, NULL, 'c'},
	    {"key", required_argument, NULL, 'k'},    {"timeout", required_argument, NULL, 't'},
	    {"json", no_argument, NULL, 'j'},	      {NULL, 0, NULL, 0},
	};
	pool_opts po = {NULL, NULL, NULL, NULL, 10};
	pool_deadline *dl = NULL;
	const pool_deadline *earliest = NULL;
	json_t *out = NULL, *marr = NULL;
	pool_member *ms = NULL;
	p11s_time now;
	size_t n, nd = 0, not_ready = 0;
	int o, r, json = 0;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'C':
			po.cacert = optarg;
			break;
		case 'c':
			po.cert = optarg;
			break;
		case 'k':
			po.key = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 't':
			if ((r = p11s_parse_duration(optarg, &po.timeout)) != 0)
				return cli_fail(r);
			if (po.timeout < 1)
				return cli_usage(&cli_cmd_pool, "--timeout must be at least 1s");
			break;
		default:
			return cli_usage(&cli_cmd_pool, "unknown option");
		}
	}
	if (optind >= argc || strcmp(argv[optind], "check") != 0)
		return cli_usage(&cli_cmd_pool, "the only subcommand is 'check'");
	optind++;
	if (optind >= argc)
		return cli_usage(&cli_cmd_pool, "give the URL of every pool member");
	if ((po.cert == NULL) != (po.key == NULL))
		return cli_usage(&cli_cmd_pool,
				 "--cert and --key go together (a client certificate)");
	n = (size_t)(argc - optind);
	for (size_t i = 0; i < n; i++) {
		const char *unix_path;
		char *target = NULL;

		if ((r = status_url(argv[optind + (int)i], &target, &unix_path)) != 0)
			return cli_usage(&cli_cmd_pool, "%s", p11s_errmsg(r));
		free(target);
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return cli_fail(p11s_fail(P11S_E_INTERNAL, "cannot initialise libcurl"));
	/* --key pkcs11:...: the client key stays on its token (libp11). */
	if (hsm_evp_is_uri(po.key) &&
	    (r = hsm_evp_open(po.key, c->pin_source, c->conf->lock_file, &po.token_key)) != 0) {
		curl_global_cleanup();
		return cli_fail(r);
	}
	if ((ms = calloc(n, sizeof(*ms))) == NULL) {
		r = p11s_fail(P11S_E_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if ((r = pool_member_init(&ms[i], argv[optind + (int)i])) != 0)
			goto out;
		fetch(&po, &ms[i]);
	}
	now = p11s_now();
	if ((r = pool_check(ms, n, now, &dl, &nd, &earliest)) != 0)
		goto out;
	if ((marr = json_array()) == NULL) {
		r = p11s_fail(P11S_E_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		int ready = pool_member_ready(&ms[i]);

		not_ready += !ready;
		if (json_array_append_new(marr,
					  json_pack("{s:s, s:s, s:b, s:s?, s:O}", "url", ms[i].url,
						    "member", ms[i].id, "ready", ready, "error",
						    ms[i].doc == NULL ? ms[i].error : NULL,
						    "problems", ms[i].problems)) != 0 &&
		    json) {
			r = p11s_fail(P11S_E_INTERNAL, "the report of member %s could not be built",
				      ms[i].url);
			goto out;
		}
		if (json)
			continue;
		if (ms[i].doc == NULL) {
			printf("member %s: NOT READY: unreachable: %s\n", ms[i].url, ms[i].error);
		} else if (ready) {
			printf("member %s (%s): ready\n", ms[i].id, ms[i].url);
		} else {
			json_t *p;
			size_t k;

			printf("member %s (%s): NOT READY\n", ms[i].id, ms[i].url);
			json_array_foreach(ms[i].problems, k, p)
			    printf("  %s\n", json_string_value(p));
		}
	}
	if (json) {
		out = json_pack("{s:b, s:I, s:O}", "ready", not_ready == 0, "now", (json_int_t)now,
				"members", marr);
		if (out != NULL && earliest != NULL)
			json_object_set_new(out, "deadline",
					    json_pack("{s:s, s:s, s:I}", "type", earliest->type,
						      "key", earliest->key, "effective",
						      (json_int_t)earliest->at));
		json_dumpf(out, stdout, JSON_INDENT(2));
		printf("\n");
	} else {
		for (size_t k = 0; k < nd; k++) {
			char what[300], qt[P11S_QUOTE_BUF], qk[P11S_QUOTE_BUF];

			snprintf(what, sizeof(what), "%s %s: every member must hold key %s by",
				 &dl[k] == earliest ? "deadline" : "then    ",
				 p11s_quote_str(dl[k].type, qt, sizeof(qt)),
				 p11s_quote_str(dl[k].key, qk, sizeof(qk)));
			cli_print_instant(stdout, what, dl[k].at);
		}
		if (earliest != NULL && now >= earliest->at)
			printf("note: the earliest effective instant has passed\n");
		if (nd == 0)
			printf("no roll is staged on any member\n");
		printf("pool: %s (%zu of %zu members ready)\n",
		       not_ready == 0 ? "ready" : "NOT READY", n - not_ready, n);
	}
	r = 0;
out:
	for (size_t i = 0; ms != NULL && i < n; i++)
		pool_member_clear(&ms[i]);
	free(ms);
	free(dl);
	json_decref(marr);
	json_decref(out);
	hsm_evp_free(po.token_key);
	curl_global_cleanup();
	if (r != 0)
		return cli_fail(r);
	return not_ready == 0 ? EXIT_OK : EXIT_REFUSED;
}

const cli_command cli_cmd_pool = {
    "pool",
    "check [--cacert F] [--cert F --key F] [--timeout DUR] [--json] URL...",
    "Check that every pool member holds the staged key before the effective instant.",
    "  check URL...     members' base URLs: http://HOST:PORT, https://HOST:PORT or\n"
    "                   unix:/PATH (GET /v1/status is asked of each)\n"
    "  --cacert F       CA certificates to verify the members' TLS certificates\n"
    "  --cert F --key F client certificate and key (PEM) for members requiring mTLS;\n"
    "                   --key pkcs11:token=T;object=O?module-name=M uses a key on a token\n"
    "                   (logged in with --pin / [token] pin or the URI's pin-source=)\n"
    "  --timeout DUR    per member (default 10s)\n"
    "  --json           machine-readable output\n"
    "Reports every member that is unreachable, stale (last successful check of its token\n"
    "older than 10 x its poll interval or 30 s, whichever is larger), lacks the staged key\n"
    "or has a different effective instant, and the earliest effective instant as the\n"
    "deadline.  Exit 0 when every member is ready, 1 when not.\n",
    run_pool,
};

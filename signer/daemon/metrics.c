/* Per-worker Prometheus counters, summed on scrape.  See d_metrics.h. */
#include "config.h"

#include "signer/daemon/metrics.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/memstream.h"

#define N_BUCKETS 13

/* Upper bounds of the latency histogram, in seconds (plus +Inf). */
static const double bucket_le[N_BUCKETS] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0,
};

typedef struct lcount {
	char a[D_METRICS_LABEL_MAX];
	char b[D_METRICS_LABEL_MAX];
	uint64_t v;
} lcount;

typedef struct ltable {
	lcount *e;
	size_t n, cap;
} ltable;

typedef struct hist {
	uint64_t bucket[N_BUCKETS + 1]; /* non-cumulative; last = above every bound */
	uint64_t count;
	uint64_t sum_ns;
} hist;

struct d_metrics {
	pthread_mutex_t mu;
	ltable issued;	 /* type, kid */
	ltable verified; /* type, role */
	ltable failures; /* reason, "" */
	uint64_t hsm_errors;
	hist req[D_ROUTE_COUNT];
};

static const char *const route_names[D_ROUTE_COUNT] = {
    "tokens", "verify", "jwks", "status", "healthz", "metrics", "discovery", "timeline", "other",
};

const char *
d_route_name(d_route r)
{
	return (unsigned)r < D_ROUTE_COUNT ? route_names[r] : "other";
}

int
d_metrics_new(d_metrics **out)
{
	d_metrics *m;

	*out = NULL;
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		return p11s_fail(P11S_E_NOMEM, "out of memory for metrics");
	pthread_mutex_init(&m->mu, NULL);
	*out = m;
	return 0;
}

void
d_metrics_free(d_metrics *m)
{
	if (m == NULL)
		return;
	free(m->issued.e);
	free(m->verified.e);
	free(m->failures.e);
	pthread_mutex_destroy(&m->mu);
	free(m);
}

static void
copy_label(char dst[D_METRICS_LABEL_MAX], const char *src)
{
	size_t n = src != NULL ? strlen(src) : 0;

	if (n >= D_METRICS_LABEL_MAX)
		n = D_METRICS_LABEL_MAX - 1;
	if (n > 0)
		memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Add v to the series (a, b).  -1 when out of memory: the increment is
 * lost, never the process. */
static int
ltable_add(ltable *t, const char *a, const char *b, uint64_t v)
{
	char la[D_METRICS_LABEL_MAX], lb[D_METRICS_LABEL_MAX];
	size_t i;

	copy_label(la, a);
	copy_label(lb, b);
	for (i = 0; i < t->n; i++)
		if (strcmp(t->e[i].a, la) == 0 && strcmp(t->e[i].b, lb) == 0) {
			t->e[i].v += v;
			return 0;
		}
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 8;
		lcount *e = realloc(t->e, cap * sizeof(*e));

		if (e == NULL)
			return -1;
		t->e = e;
		t->cap = cap;
	}
	memcpy(t->e[t->n].a, la, sizeof(la));
	memcpy(t->e[t->n].b, lb, sizeof(lb));
	t->e[t->n].v = v;
	t->n++;
	return 0;
}

void
d_metrics_issued(d_metrics *m, const char *type, const char *kid)
{
	pthread_mutex_lock(&m->mu);
	(void)ltable_add(&m->issued, type, kid, 1);
	pthread_mutex_unlock(&m->mu);
}

void
d_metrics_verified(d_metrics *m, const char *type, const char *role)
{
	pthread_mutex_lock(&m->mu);
	(void)ltable_add(&m->verified, type, role, 1);
	pthread_mutex_unlock(&m->mu);
}

void
d_metrics_verify_failure(d_metrics *m, const char *reason)
{
	pthread_mutex_lock(&m->mu);
	(void)ltable_add(&m->failures, reason, "", 1);
	pthread_mutex_unlock(&m->mu);
}

void
d_metrics_hsm_error(d_metrics *m)
{
	pthread_mutex_lock(&m->mu);
	m->hsm_errors++;
	pthread_mutex_unlock(&m->mu);
}

void
d_metrics_request(d_metrics *m, d_route route, uint64_t duration_ns)
{
	double s = (double)duration_ns / 1e9;
	hist *h;
	size_t i;

	if ((unsigned)route >= D_ROUTE_COUNT)
		route = D_ROUTE_OTHER;
	for (i = 0; i < N_BUCKETS && s > bucket_le[i]; i++)
		;
	pthread_mutex_lock(&m->mu);
	h = &m->req[route];
	h->bucket[i]++;
	h->count++;
	h->sum_ns += duration_ns;
	pthread_mutex_unlock(&m->mu);
}

/* ---- rendering ----------------------------------------------------------- */

static int
lcount_cmp(const void *x, const void *y)
{
	const lcount *p = x, *q = y;
	int c = strcmp(p->a, q->a);

	return c != 0 ? c : strcmp(p->b, q->b);
}

/* Label value escaping of the exposition format: \\, \" and \n. */
static void
put_label(FILE *f, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			fprintf(f, "\\%c", *v);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

static void
put_series(FILE *f, const char *name, const char *la, const char *lb, const ltable *t)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		fprintf(f, "%s{%s=\"", name, la);
		put_label(f, t->e[i].a);
		if (lb != NULL) {
			fprintf(f, "\",%s=\"", lb);
			put_label(f, t->e[i].b);
		}
		fprintf(f, "\"} %llu\n", (unsigned long long)t->e[i].v);
	}
}

static int
merge(ltable *dst, const ltable *src)
{
	size_t i;

	for (i = 0; i < src->n; i++)
		if (ltable_add(dst, src->e[i].a, src->e[i].b, src->e[i].v) != 0)
			return -1;
	return 0;
}

int
d_metrics_render(d_metrics *const *m, size_t n, const char *extra, char **text, size_t *len)
{
	ltable issued = {0}, verified = {0}, failures = {0};
	hist req[D_ROUTE_COUNT];
	uint64_t hsm_errors = 0;
	char *buf = NULL;
	size_t blen = 0, i, k;
	FILE *f = NULL;
	int r = P11S_E_NOMEM;

	*text = NULL;
	*len = 0;
	memset(req, 0, sizeof(req));
	for (i = 0; i < n; i++) {
		int e = 0;

		pthread_mutex_lock(&m[i]->mu);
		e |= merge(&issued, &m[i]->issued);
		e |= merge(&verified, &m[i]->verified);
		e |= merge(&failures, &m[i]->failures);
		hsm_errors += m[i]->hsm_errors;
		for (k = 0; k < D_ROUTE_COUNT; k++) {
			size_t b;

			for (b = 0; b <= N_BUCKETS; b++)
				req[k].bucket[b] += m[i]->req[k].bucket[b];
			req[k].count += m[i]->req[k].count;
			req[k].sum_ns += m[i]->req[k].sum_ns;
		}
		pthread_mutex_unlock(&m[i]->mu);
		if (e != 0) {
			r = p11s_fail(P11S_E_NOMEM, "out of memory rendering metrics");
			goto out;
		}
	}
	if (issued.n > 0)
		qsort(issued.e, issued.n, sizeof(*issued.e), lcount_cmp);
	if (verified.n > 0)
		qsort(verified.e, verified.n, sizeof(*verified.e), lcount_cmp);
	if (failures.n > 0)
		qsort(failures.e, failures.n, sizeof(*failures.e), lcount_cmp);

	f = open_memstream(&buf, &blen);
	if (f == NULL) {
		r = p11s_fail(P11S_E_NOMEM, "out of memory rendering metrics");
		goto out;
	}
	fputs("# HELP p11s_tokens_issued_total Tokens issued, by type and signing key.\n"
	      "# TYPE p11s_tokens_issued_total counter\n",
	      f);
	put_series(f, "p11s_tokens_issued_total", "type", "kid", &issued);
	fputs("# HELP p11s_verifications_total Verifications, by type and the role of the key that "
	      "verified (none: rejected).\n"
	      "# TYPE p11s_verifications_total counter\n",
	      f);
	put_series(f, "p11s_verifications_total", "type", "role", &verified);
	fputs("# HELP p11s_verify_failures_total Rejected tokens and verify requests, by reason.\n"
	      "# TYPE p11s_verify_failures_total counter\n",
	      f);
	put_series(f, "p11s_verify_failures_total", "reason", NULL, &failures);
	fprintf(f,
		"# HELP p11s_hsm_errors_total Signing failures reported by the token.\n"
		"# TYPE p11s_hsm_errors_total counter\n"
		"p11s_hsm_errors_total %llu\n",
		(unsigned long long)hsm_errors);
	fputs("# HELP p11s_request_duration_seconds Time spent answering requests, by route.\n"
	      "# TYPE p11s_request_duration_seconds histogram\n",
	      f);
	for (k = 0; k < D_ROUTE_COUNT; k++) {
		uint64_t cum = 0;
		size_t b;

		for (b = 0; b < N_BUCKETS; b++) {
			cum += req[k].bucket[b];
			fprintf(
			    f,
			    "p11s_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
			    route_names[k], bucket_le[b], (unsigned long long)cum);
		}
		cum += req[k].bucket[N_BUCKETS];
		fprintf(f, "p11s_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n",
			route_names[k], (unsigned long long)cum);
		fprintf(f, "p11s_request_duration_seconds_sum{route=\"%s\"} %.9f\n", route_names[k],
			(double)req[k].sum_ns / 1e9);
		fprintf(f, "p11s_request_duration_seconds_count{route=\"%s\"} %llu\n",
			route_names[k], (unsigned long long)req[k].count);
	}
	if (extra != NULL)
		fputs(extra, f);
	if ((r = p11s_memstream_finish(&f, &buf, &blen, text, len, "rendering metrics")) != 0)
		goto out;
out:
	if (f != NULL)
		fclose(f);
	free(buf);
	free(issued.e);
	free(verified.e);
	free(failures.e);
	return r;
}

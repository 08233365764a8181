/* signerd metrics: per-worker counters summed into Prometheus text. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "signer/daemon/metrics.h"

static char *
render(d_metrics **m, size_t n, const char *extra)
{
	char *text = NULL;
	size_t len = 0;

	assert_int_equal(d_metrics_render((d_metrics *const *)m, n, extra, &text, &len), 0);
	assert_non_null(text);
	assert_int_equal(strlen(text), len);
	return text;
}

static void
expect_line(const char *text, const char *line)
{
	const char *p = text;
	size_t n = strlen(line);

	while ((p = strstr(p, line)) != NULL) {
		if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
			return;
		p++;
	}
	fail_msg("no line '%s' in:\n%s", line, text);
}

static void
test_empty(void **state)
{
	d_metrics *m = NULL;
	char *t;

	(void)state;
	assert_int_equal(d_metrics_new(&m), 0);
	t = render(&m, 1, NULL);
	expect_line(t, "# TYPE p11s_tokens_issued_total counter");
	expect_line(t, "# TYPE p11s_verifications_total counter");
	expect_line(t, "# TYPE p11s_verify_failures_total counter");
	expect_line(t, "p11s_hsm_errors_total 0");
	expect_line(t, "# TYPE p11s_request_duration_seconds histogram");
	expect_line(t, "p11s_request_duration_seconds_bucket{route=\"tokens\",le=\"+Inf\"} 0");
	expect_line(t, "p11s_request_duration_seconds_count{route=\"metrics\"} 0");
	assert_null(strstr(t, "p11s_tokens_issued_total{"));
	free(t);
	d_metrics_free(m);
	d_metrics_free(NULL);
}

static void
test_sum_over_workers(void **state)
{
	d_metrics *m[2] = {NULL, NULL};
	char *t;

	(void)state;
	assert_int_equal(d_metrics_new(&m[0]), 0);
	assert_int_equal(d_metrics_new(&m[1]), 0);
	d_metrics_issued(m[0], "OAuthTokenIssuer", "kidB");
	d_metrics_issued(m[0], "OAuthTokenIssuer", "kidB");
	d_metrics_issued(m[1], "OAuthTokenIssuer", "kidB");
	d_metrics_issued(m[1], "AudioVideoAuthentication", "kidA");
	d_metrics_verified(m[0], "OAuthTokenIssuer", "current");
	d_metrics_verified(m[1], "OAuthTokenIssuer", "previous");
	d_metrics_verified(m[1], "OAuthTokenIssuer", "previous");
	d_metrics_verify_failure(m[0], "expired");
	d_metrics_verify_failure(m[1], "expired");
	d_metrics_verify_failure(m[1], "signature");
	d_metrics_hsm_error(m[0]);
	d_metrics_hsm_error(m[1]);
	d_metrics_hsm_error(m[1]);
	t = render(m, 2, "p11s_extra 7\n");
	expect_line(t, "p11s_tokens_issued_total{type=\"OAuthTokenIssuer\",kid=\"kidB\"} 3");
	expect_line(t,
		    "p11s_tokens_issued_total{type=\"AudioVideoAuthentication\",kid=\"kidA\"} 1");
	/* sorted by label values */
	assert_true(strstr(t, "type=\"AudioVideoAuthentication\",kid") <
		    strstr(t, "type=\"OAuthTokenIssuer\",kid"));
	expect_line(t, "p11s_verifications_total{type=\"OAuthTokenIssuer\",role=\"current\"} 1");
	expect_line(t, "p11s_verifications_total{type=\"OAuthTokenIssuer\",role=\"previous\"} 2");
	expect_line(t, "p11s_verify_failures_total{reason=\"expired\"} 2");
	expect_line(t, "p11s_verify_failures_total{reason=\"signature\"} 1");
	expect_line(t, "p11s_hsm_errors_total 3");
	expect_line(t, "p11s_extra 7");
	free(t);
	d_metrics_free(m[0]);
	d_metrics_free(m[1]);
}

static void
test_histogram(void **state)
{
	d_metrics *m = NULL;
	char *t;

	(void)state;
	assert_int_equal(d_metrics_new(&m), 0);
	d_metrics_request(m, D_ROUTE_TOKENS, 50000);   /* 50 us */
	d_metrics_request(m, D_ROUTE_TOKENS, 100000);  /* exactly 0.1 ms: le bound is inclusive */
	d_metrics_request(m, D_ROUTE_TOKENS, 3000000); /* 3 ms */
	d_metrics_request(m, D_ROUTE_TOKENS, 9000000000u); /* 9 s: above every bound */
	d_metrics_request(m, (d_route)99, 1000);	   /* out of range: counted as other */
	t = render(&m, 1, NULL);
	expect_line(t, "p11s_request_duration_seconds_bucket{route=\"tokens\",le=\"0.0001\"} 2");
	expect_line(t, "p11s_request_duration_seconds_bucket{route=\"tokens\",le=\"0.0025\"} 2");
	expect_line(t, "p11s_request_duration_seconds_bucket{route=\"tokens\",le=\"0.005\"} 3");
	expect_line(t, "p11s_request_duration_seconds_bucket{route=\"tokens\",le=\"5\"} 3");
	expect_line(t, "p11s_request_duration_seconds_bucket{route=\"tokens\",le=\"+Inf\"} 4");
	expect_line(t, "p11s_request_duration_seconds_count{route=\"tokens\"} 4");
	expect_line(t, "p11s_request_duration_seconds_sum{route=\"tokens\"} 9.003150000");
	expect_line(t, "p11s_request_duration_seconds_count{route=\"other\"} 1");
	free(t);
	d_metrics_free(m);
	assert_string_equal(d_route_name(D_ROUTE_JWKS), "jwks");
	assert_string_equal(d_route_name((d_route)42), "other");
}

static void
test_label_escaping_and_truncation(void **state)
{
	d_metrics *m = NULL;
	char longtype[200], want[256];
	char *t;

	(void)state;
	assert_int_equal(d_metrics_new(&m), 0);
	d_metrics_issued(m, "a\"b\\c\nd", "k");
	memset(longtype, 'x', sizeof(longtype) - 1);
	longtype[sizeof(longtype) - 1] = '\0';
	d_metrics_verified(m, longtype, "current");
	t = render(&m, 1, NULL);
	expect_line(t, "p11s_tokens_issued_total{type=\"a\\\"b\\\\c\\nd\",kid=\"k\"} 1");
	memset(want, 0, sizeof(want));
	strcpy(want, "p11s_verifications_total{type=\"");
	memset(want + strlen(want), 'x', D_METRICS_LABEL_MAX - 1);
	strcat(want, "\",role=\"current\"} 1");
	expect_line(t, want);
	free(t);
	d_metrics_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_empty),
	    cmocka_unit_test(test_sum_over_workers),
	    cmocka_unit_test(test_histogram),
	    cmocka_unit_test(test_label_escaping_and_truncation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * signerd's Prometheus counters.  Each worker owns one d_metrics and updates
 * it under its own (uncontended) mutex; a scrape takes each worker's mutex in
 * turn and sums.  No lock is shared by all workers on the request path.
 */
#ifndef P11S_SIGNER_D_METRICS_H
#define P11S_SIGNER_D_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/error.h"
#include "signer/conf.h"
#include "signer/daemon/snapshot.h"

typedef enum {
	D_ROUTE_TOKENS = 0,
	D_ROUTE_VERIFY,
	D_ROUTE_JWKS,
	D_ROUTE_STATUS,
	D_ROUTE_HEALTHZ,
	D_ROUTE_METRICS,
	D_ROUTE_DISCOVERY,
	D_ROUTE_TIMELINE,
	D_ROUTE_OTHER,
	D_ROUTE_COUNT,
} d_route;

/* Route label ("tokens", "verify", "jwks", ...). */
const char *d_route_name(d_route r);

#define D_METRICS_LABEL_MAX 64

typedef struct d_metrics d_metrics;

P11S_MUST_CHECK int d_metrics_new(d_metrics **out);
void d_metrics_free(d_metrics *m);

/* Label values longer than D_METRICS_LABEL_MAX - 1 bytes are truncated. */
void d_metrics_issued(d_metrics *m, const char *type, const char *kid);
/* role: "current", "previous", "staged" or "none" (a failed verification). */
void d_metrics_verified(d_metrics *m, const char *type, const char *role);
void d_metrics_verify_failure(d_metrics *m, const char *reason);
void d_metrics_hsm_error(d_metrics *m);
void d_metrics_request(d_metrics *m, d_route route, uint64_t duration_ns);

/*
 * Prometheus text exposition (version 0.0.4) of the sum over `n` workers'
 * metrics, series sorted by label values, followed by `extra` (already in
 * exposition format, may be NULL).  *text is malloc'd.
 */
P11S_MUST_CHECK int d_metrics_render(d_metrics *const *m, size_t n, const char *extra, char **text,
				     size_t *len);

/* p11s_build_info and the process_* basics (start time, CPU seconds, resident
 * memory, open and maximum descriptors) of this process, from /proc. */
void d_metrics_process(FILE *f);

/*
 * Gauges of the loaded state for alerting (signerd(8)), per type: the
 * certificate validity of its current, staged and previous keys, the staged
 * roll's effective instant, the roll deadline of the current key
 * (pol_roll_deadline) and the previous key's switch and safe-removal
 * instants (pol_timeline_of), all in seconds since the epoch.
 */
P11S_MUST_CHECK int d_metrics_keys(FILE *f, const signer_conf *c, const d_view *v, p11s_time now);

#endif

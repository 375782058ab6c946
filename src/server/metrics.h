/* metrics.h - in-process counters and histograms, rendered in the
 * Prometheus text format by GET /metrics. Single-threaded: no locking. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"

#define SRV_METRICS_BUCKETS 14
#define SRV_METRICS_CODES 16            /* distinct status codes kept per route */
#define SRV_METRICS_STORE_OPS 128
#define SRV_METRICS_ATTEST_RESULTS 32   /* distinct attestation results */

struct srv_histogram {
        uint64_t buckets[SRV_METRICS_BUCKETS];  /* cumulative at render time */
        uint64_t count;
        double sum;
};

struct srv_route_metrics {
        const char *name;
        struct {
                int code;
                uint64_t n;
        } codes[SRV_METRICS_CODES];
        struct srv_histogram latency;
};

struct srv_metrics {
        struct srv_route_metrics *routes;       /* n_routes + 1 ("unmatched") */
        size_t n_routes;
        struct {
                const char *op;                 /* string constant from STORE_CALL */
                struct srv_histogram latency;
        } store[SRV_METRICS_STORE_OPS];
        size_t n_store;
        uint64_t open_conns;
        uint64_t conns_total;
        uint64_t deadline_closed;               /* connections closed by the request deadline */
        uint64_t rate_limited;
        uint64_t audit_failures;
        struct {
                const char *result;             /* string constant (reason code) */
                uint64_t n;
        } attest[SRV_METRICS_ATTEST_RESULTS];
        size_t n_attest;
};

int srv_metrics_init(struct srv_metrics *m, const char *const *route_names, size_t n) RP_WUR;
void srv_metrics_free(struct srv_metrics *m);
/* route index n_routes = unmatched. */
void srv_metrics_request(struct srv_metrics *m, size_t route, int status, double seconds);
void srv_metrics_store(struct srv_metrics *m, const char *op, double seconds);
/* Counts one attestation with its result ("ok" or a reason code; a string
 * constant) as rampart_attest_total{result=...}. */
void srv_metrics_attest(struct srv_metrics *m, const char *result);
int srv_metrics_render(const struct srv_metrics *m, struct rp_buf *out) RP_WUR;

/* failures.h - failure intake and triage in rampart-server (docs/failures.md).
 *
 * Device side: POST /device/v1/failures takes an upload batch
 * (failure/report.h) over mTLS; the device and its tenant come from the
 * client certificate (srv_device_auth), never from the body. Batches are
 * idempotent per device by batch_id; events are bucketed with
 * failure/bucket.h and stored per event and per bucket. GET /device/v1/ping
 * is the bare authenticated device request (benchmarks compare against it).
 *
 * Operator side: buckets sorted by impact, one bucket with sample events,
 * and the per-event export (JSON or CSV). Events older than the retention
 * window are purged at start and on a timer; bucket aggregates stay.
 *
 * Metrics: rampart_failure_events_total{class,component} (occurrences: the
 * sum of event counts) and rampart_failure_batches_total{result}. */
#pragma once
#include <stdint.h>

#include "lib/buf.h"
#include "lib/err.h"
#include "server/http.h"
#include "store/registry.h"
#include "store/store.h"

#define SRV_FAIL_RETENTION_DAYS 14              /* default; --failure-retention-days */
#define SRV_FAIL_PURGE_INTERVAL_S 3600          /* at most; shorter for short windows */
#define SRV_FAIL_METRIC_SERIES 512              /* (class, component) series; more -> "_other" */
#define SRV_FAIL_SAMPLES 5                      /* sample events in a bucket's view */

struct srv;

/* A device authenticated by its TLS client certificate. */
struct srv_device_id {
        char ueid[STORE_UEID_BUF];
        char tenant_id[STORE_ID_MAX];
        char group_id[STORE_ID_MAX];
        char serial[80];
};

/* Checks the client certificate of a SRV_AUTH_DEVICE request: issued by the
 * tenant CA (current, next or retired) to CN=<ueid> as a platform
 * certificate recorded by the attestation service, valid now, the device
 * claimed into that tenant and not blocked. On failure the reply (401/403)
 * has been sent and a negative code is returned. */
int srv_device_auth(struct srv_req *r, struct srv_device_id *ret) RP_WUR;

/* Purges expired events once and arms the purge timer (server start). */
int srv_failures_start(struct srv *s, struct rp_err *err) RP_WUR;
void srv_failures_stop(struct srv *s);          /* accepts a server that never started */
/* Appends the failure metrics to a /metrics rendering. */
int srv_failures_metrics_render(const struct srv *s, struct rp_buf *out) RP_WUR;

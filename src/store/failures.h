/* store/failures.h - failure reports as the service keeps them: the upload
 * batches seen per device (idempotency), every event with its device,
 * version, times and frames, and the buckets that aggregate events of one
 * signature (failure/bucket.h) per tenant: hits, devices, first/last seen
 * and per-version counts.
 *
 * Retention: events older than the retention window are deleted; bucket
 * aggregates are lifetime counters and are kept (docs/failures.md). Batch
 * records are kept for the same window, so a device retrying a batch within
 * it is never counted twice. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "failure/bucket.h"
#include "failure/report.h"
#include "store/registry.h"
#include "store/store.h"

#define STORE_FAIL_DIGEST_BUF 65        /* SHA-256 hex + NUL */
#define STORE_FAIL_BUCKET_BUF (FAIL_BUCKET_ID_LEN + 1)
#define STORE_FAIL_BATCH_BUF (FAIL_BATCH_ID_LEN + 1)
#define STORE_FAIL_VERSIONS_MAX 32      /* per-version rows returned with a bucket */

/* One stored event. frames is malloc'd JSON text (the frames array as
 * the device sent it, "[]" when none) or NULL when not loaded; dump is
 * malloc'd or NULL. Release with store_failure_event_clear. */
struct store_failure_event {
        int64_t seq;
        char id[STORE_ID_MAX];                  /* "fev_..." */
        char tenant_id[STORE_ID_MAX];
        char ueid[STORE_UEID_BUF];
        char bucket_id[STORE_FAIL_BUCKET_BUF];
        char batch_id[STORE_FAIL_BATCH_BUF];
        char cls[16];
        char component_id[FAIL_MAX_ID + 1];
        char component_version[FAIL_MAX_VERSION + 1];
        int64_t time_first, time_last;          /* Unix seconds, as reported */
        int64_t count;
        int64_t signal, si_code, exit_code;     /* 0 when not of this class */
        char fault_addr[24], pc[24];            /* "0x..", "" when not app_crash */
        char reason[FAIL_MAX_REASON + 1];
        char detail[FAIL_MAX_DETAIL + 1];
        int64_t received_ms;
        char *frames;
        uint8_t *dump;
        size_t dump_len;
};
void store_failure_event_clear(struct store_failure_event *e);
/* Clears every item and frees the array; accepts NULL. */
void store_failure_events_free(struct store_failure_event *v, size_t n);

struct store_failure_version {
        char version[FAIL_MAX_VERSION + 1];
        int64_t hits;
        int64_t devices;
        int64_t first_seen_ms, last_seen_ms;
};

struct store_failure_bucket {
        int64_t seq;
        char id[STORE_FAIL_BUCKET_BUF];         /* the signature (failure/bucket.h) */
        char tenant_id[STORE_ID_MAX];
        char title[FAIL_BUCKET_TITLE_MAX + 1];
        char cls[16];
        char component_id[FAIL_MAX_ID + 1];
        int64_t hits;                           /* sum of event counts */
        int64_t devices;                        /* distinct devices */
        int64_t events;                         /* event records (after retention) */
        int64_t first_seen_ms, last_seen_ms;    /* from the events' reported times */
        size_t n_versions;
        struct store_failure_version versions[STORE_FAIL_VERSIONS_MAX]; /* newest first */
};

/* One accepted batch (idempotency record). */
struct store_failure_batch {
        char tenant_id[STORE_ID_MAX];
        char ueid[STORE_UEID_BUF];
        char batch_id[STORE_FAIL_BATCH_BUF];
        char digest[STORE_FAIL_DIGEST_BUF];     /* SHA-256 of the normalized batch */
        int64_t events;
        int64_t dropped;
        int64_t received_ms;
};

struct store_failure_ops {
        /* The record of (ueid, batch_id); -ENOENT when never accepted. */
        int (*batch_get)(struct store *st, const char *ueid, const char *batch_id,
                         struct store_failure_batch *ret, struct rp_err *err);
        /* Records a batch; -EEXIST when (ueid, batch_id) exists. */
        int (*batch_add)(struct store *st, const struct store_failure_batch *b,
                         struct rp_err *err);
        /* Stores one event (e->frames required, dump optional) and adds it to
         * its bucket's aggregates, creating the bucket with `title` on first
         * sight. Run inside the transaction of batch_add. */
        int (*event_add)(struct store *st, const struct store_failure_event *e,
                         const char *title, struct rp_err *err);
        /* Buckets of a tenant by impact: devices, then hits, then last seen
         * (descending). Paged by position: `offset` rows skipped; *ret_next is
         * the next offset or 0. Versions are not filled. */
        int (*bucket_list)(struct store *st, const char *tenant_id, int64_t offset, size_t limit,
                           struct store_failure_bucket **ret_items, size_t *ret_n,
                           int64_t *ret_next, struct rp_err *err);
        /* One bucket with its per-version rows; -ENOENT when not the tenant's. */
        int (*bucket_get)(struct store *st, const char *tenant_id, const char *id,
                          struct store_failure_bucket *ret, struct rp_err *err);
        /* Events of a tenant received at or after since_ms, optionally of one
         * bucket (NULL = all), ordered by seq, paged with (after, limit).
         * with_frames loads frames; dumps are never loaded here. */
        int (*event_list)(struct store *st, const char *tenant_id, const char *bucket_id,
                          int64_t since_ms, bool with_frames, int64_t after, size_t limit,
                          struct store_failure_event **ret_items, size_t *ret_n,
                          int64_t *ret_next, struct rp_err *err);
        /* The newest `limit` events of a bucket with frames (samples). */
        int (*event_samples)(struct store *st, const char *tenant_id, const char *bucket_id,
                             size_t limit, struct store_failure_event **ret_items, size_t *ret_n,
                             struct rp_err *err);
        /* Deletes events and batch records received before before_ms (bucket
         * aggregates stay); *ret_n (optional) gets the events deleted. */
        int (*purge)(struct store *st, int64_t before_ms, int64_t *ret_n, struct rp_err *err);
};

#define STORE_FAIL_WRAP(fn, params, ...)                                                     \
        static inline RP_WUR int store_failure_##fn params                                  \
        {                                                                                   \
                return STORE_CALL(st, failure, fn, err, __VA_ARGS__);                       \
        }
STORE_FAIL_WRAP(batch_get, (struct store *st, const char *ueid, const char *batch_id,
                            struct store_failure_batch *ret, struct rp_err *err),
                ueid, batch_id, ret, err)
STORE_FAIL_WRAP(batch_add, (struct store *st, const struct store_failure_batch *b,
                            struct rp_err *err), b, err)
STORE_FAIL_WRAP(event_add, (struct store *st, const struct store_failure_event *e,
                            const char *title, struct rp_err *err), e, title, err)
STORE_FAIL_WRAP(bucket_list, (struct store *st, const char *tenant_id, int64_t offset,
                              size_t limit, struct store_failure_bucket **ret_items,
                              size_t *ret_n, int64_t *ret_next, struct rp_err *err),
                tenant_id, offset, limit, ret_items, ret_n, ret_next, err)
STORE_FAIL_WRAP(bucket_get, (struct store *st, const char *tenant_id, const char *id,
                             struct store_failure_bucket *ret, struct rp_err *err),
                tenant_id, id, ret, err)
STORE_FAIL_WRAP(event_list, (struct store *st, const char *tenant_id, const char *bucket_id,
                             int64_t since_ms, bool with_frames, int64_t after, size_t limit,
                             struct store_failure_event **ret_items, size_t *ret_n,
                             int64_t *ret_next, struct rp_err *err),
                tenant_id, bucket_id, since_ms, with_frames, after, limit, ret_items, ret_n,
                ret_next, err)
STORE_FAIL_WRAP(event_samples, (struct store *st, const char *tenant_id, const char *bucket_id,
                                size_t limit, struct store_failure_event **ret_items,
                                size_t *ret_n, struct rp_err *err),
                tenant_id, bucket_id, limit, ret_items, ret_n, err)
STORE_FAIL_WRAP(purge, (struct store *st, int64_t before_ms, int64_t *ret_n, struct rp_err *err),
                before_ms, ret_n, err)
#undef STORE_FAIL_WRAP

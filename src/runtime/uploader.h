/* uploader.h - rampartd's failure report uploader: moves batches from the
 * failure queue (runtime/failures.h) to POST /device/v1/failures over mTLS
 * with the platform certificate (runtime/http_client.h).
 *
 * Policy:
 *  - ordinary events go at most once per `interval_s` (default daily);
 *    update_fail and revert (fail_class_urgent) go at once;
 *  - a failed attempt (no exchange, TLS failure, 401/403, 408, 429, 5xx)
 *    is retried with exponential back-off and jitter between backoff_min_s
 *    and backoff_max_s; the batch in flight keeps its id and bytes, so the
 *    retry is idempotent at the service;
 *  - events leave the queue only after the service answered 2xx for that
 *    batch id (rtd_failq_ack). A batch the service refuses for its content
 *    (400, 409, 413, 415) can never be accepted: it is removed too, counted
 *    in stats.rejected and logged, so one bad batch cannot block the queue;
 *  - crash dumps travel only when the device group allows them
 *    (`allow_dumps`, the group's crash-dump opt-in as the service reports
 *    it); otherwise they are stripped from the batch before sending. The
 *    stripping is deterministic, so a retry sends the same bytes. The last
 *    opt-in the service reported is kept in <data_dir>/RTD_UPLOAD_POLICY_FILE
 *    (rtd_upload_policy_save/_load) so it survives a reboot; without that
 *    file dumps stay off until the service says yes.
 *
 * rampartd calls rtd_uploader_poll() from a timer (the returned delay says
 * when next) and right after it queued an urgent event. Single-threaded;
 * one uploader per queue. Trusts: the service's reply only for the batch id
 * it names. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "lib/err.h"
#include "runtime/failures.h"
#include "runtime/http_client.h"

#define RTD_UPLOAD_INTERVAL_S   86400u          /* ordinary events: at most daily */
#define RTD_UPLOAD_BACKOFF_MIN_S 30u
#define RTD_UPLOAD_BACKOFF_MAX_S 21600u         /* 6 h */
#define RTD_UPLOAD_MAX_BATCHES  16u             /* batches sent by one poll */
#define RTD_UPLOAD_PATH         "/device/v1/failures"
#define RTD_UPLOAD_POLICY_FILE  "upload-policy.json"

struct rtd_uploader_opts {
        unsigned interval_s;            /* 0 = RTD_UPLOAD_INTERVAL_S */
        unsigned backoff_min_s;         /* 0 = RTD_UPLOAD_BACKOFF_MIN_S */
        unsigned backoff_max_s;         /* 0 = RTD_UPLOAD_BACKOFF_MAX_S */
        unsigned batch_events;          /* events per batch; 0 = as many as the queue allows */
        bool allow_dumps;               /* the device group's crash-dump opt-in */
};

struct rtd_uploader_stats {
        uint64_t batches_sent;          /* acknowledged by the service */
        uint64_t events_sent;
        uint64_t duplicates;            /* acknowledged as already received */
        uint64_t rejected;              /* refused for their content and dropped */
        uint64_t attempts_failed;       /* retried later */
        uint64_t dumps_stripped;
        unsigned consecutive_failures;
        char last_error[RP_ERR_MSG_MAX];
};

struct rtd_uploader {
        struct rtd_failq *q;                    /* borrowed */
        const struct rtd_http *http;            /* borrowed, with the platform certificate */
        struct rtd_uploader_opts o;
        time_t last_upload;                     /* last acknowledged ordinary upload (0: none) */
        time_t retry_at;                        /* no attempt before this (back-off) */
        struct rtd_uploader_stats stats;
};

void rtd_uploader_init(struct rtd_uploader *u, struct rtd_failq *q, const struct rtd_http *http,
                       const struct rtd_uploader_opts *o);

/* Sends what is due at `now`. Returns 0 when nothing was due or everything
 * due went out; -EAGAIN when an attempt failed and a retry is scheduled
 * (err says why); another negative code for a local failure (queue). In
 * every case *ret_next_s is the number of seconds after which rampartd
 * should call again (0: at once, more is due). */
int rtd_uploader_poll(struct rtd_uploader *u, time_t now, unsigned *ret_next_s,
                      struct rp_err *err) RP_WUR;

/* Removes crash dumps from an upload body, keeping batch id, dropped count
 * and every other byte rule of fail_batch_build. *ret_json is malloc'd;
 * *ret_stripped gets the number of dumps removed (0: the same bytes). */
int rtd_upload_strip_dumps(const char *json, size_t len, char **ret_json, size_t *ret_len,
                           unsigned *ret_stripped, struct rp_err *err) RP_WUR;

/* The last crash-dump opt-in the service reported, in
 * <data_dir>/RTD_UPLOAD_POLICY_FILE: `{"crash_dumps":true}` or
 * `{"crash_dumps":false}` plus a newline. _save replaces the file
 * atomically (write, fsync, rename). _load sets *ret_allow false when the
 * file does not exist; a file with any other content is an error (and
 * *ret_allow is false). */
int rtd_upload_policy_save(const char *data_dir, bool allow, struct rp_err *err) RP_WUR;
int rtd_upload_policy_load(const char *data_dir, bool *ret_allow, struct rp_err *err) RP_WUR;

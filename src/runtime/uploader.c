/* uploader.c - see uploader.h. */
#include "runtime/uploader.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "crypto/crypto.h"
#include "failure/report.h"
#include "lib/cleanup.h"
#include "lib/fileio.h"
#include "lib/log.h"

#define POLICY_YES "{\"crash_dumps\":true}\n"
#define POLICY_NO "{\"crash_dumps\":false}\n"

void rtd_uploader_init(struct rtd_uploader *u, struct rtd_failq *q, const struct rtd_http *http,
                       const struct rtd_uploader_opts *o)
{
        memset(u, 0, sizeof(*u));
        u->q = q;
        u->http = http;
        if (o)
                u->o = *o;
        if (!u->o.interval_s)
                u->o.interval_s = RTD_UPLOAD_INTERVAL_S;
        if (!u->o.backoff_min_s)
                u->o.backoff_min_s = RTD_UPLOAD_BACKOFF_MIN_S;
        if (!u->o.backoff_max_s)
                u->o.backoff_max_s = RTD_UPLOAD_BACKOFF_MAX_S;
        if (u->o.backoff_max_s < u->o.backoff_min_s)
                u->o.backoff_max_s = u->o.backoff_min_s;
}

static void batch_freep(struct fail_batch *b) { fail_batch_free(b); }

int rtd_upload_strip_dumps(const char *json, size_t len, char **ret_json, size_t *ret_len,
                           unsigned *ret_stripped, struct rp_err *err)
{
        _cleanup_(batch_freep) struct fail_batch b = {0};
        unsigned n = 0;
        int r = fail_batch_parse(json, len, &b, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < b.nevents; i++)
                if (b.events[i].dump) {
                        free(b.events[i].dump);
                        b.events[i].dump = NULL;
                        b.events[i].dump_len = 0;
                        n++;
                }
        r = fail_batch_build(b.batch_id, b.dropped, b.events, b.nevents, ret_json, ret_len, err);
        if (r < 0)
                return r;
        *ret_stripped = n;
        return 0;
}

/* min * 2^(failures-1), capped, then -25%..+0% jitter so a fleet that lost
 * the service at the same moment does not come back in step. */
static unsigned backoff_s(const struct rtd_uploader *u)
{
        uint64_t d = u->o.backoff_min_s;
        for (unsigned i = 1; i < u->stats.consecutive_failures && d < u->o.backoff_max_s; i++)
                d *= 2;
        if (d > u->o.backoff_max_s)
                d = u->o.backoff_max_s;
        uint32_t rnd = 0;
        if (cr_random(&rnd, sizeof(rnd)) == 0 && d >= 4)
                d -= (uint64_t)(rnd % (uint32_t)(d / 4 + 1));
        return d ? (unsigned)d : 1;
}

/* Outcome of one POST. */
enum send_result { SEND_ACKED, SEND_REJECTED, SEND_RETRY };

static enum send_result send_batch(struct rtd_uploader *u, const char *batch_id, const char *body,
                                   size_t len, bool *ret_dup, struct rp_err *err)
{
        struct rtd_http_resp resp = {0};
        int r = rtd_http_request(u->http, "POST", RTD_UPLOAD_PATH, "application/json", body, len,
                                 "application/json", &resp, err);
        if (r < 0)
                return SEND_RETRY;
        long st = resp.status;
        enum send_result out = SEND_RETRY;
        if (st >= 200 && st < 300) {
                json_error_t je;
                json_t *j = json_loadb(resp.body ? resp.body : "", resp.len, 0, &je);
                const char *id = json_string_value(json_object_get(j, "batch_id"));
                if (!id || strcmp(id, batch_id)) {
                        rp_err_set(err, -EBADMSG, "the service answered %ld for batch %s with "
                                   "a reply naming %s", st, batch_id, id ? id : "no batch");
                } else {
                        *ret_dup = json_is_true(json_object_get(j, "duplicate"));
                        out = SEND_ACKED;
                }
                json_decref(j);
        } else {
                json_t *j = json_loadb(resp.body ? resp.body : "", resp.len, 0, NULL);
                const char *msg = json_string_value(
                        json_object_get(json_object_get(j, "error"), "message"));
                rp_err_set(err, -EPROTO, "the service answered %ld: %.160s", st,
                           msg ? msg : "(no message)");
                json_decref(j);
                if (st == 400 || st == 409 || st == 413 || st == 415)
                        out = SEND_REJECTED;
        }
        rtd_http_resp_clear(&resp);
        return out;
}

int rtd_uploader_poll(struct rtd_uploader *u, time_t now, unsigned *ret_next_s,
                      struct rp_err *err)
{
        struct rtd_failq_stats s;
        unsigned sent = 0;
        int r = 0;
        /* ordinary events go when the interval has passed since the last
         * upload; then everything queued goes in this one session */
        bool ordinary_due = !u->last_upload || now - u->last_upload >= (time_t)u->o.interval_s;
        *ret_next_s = u->o.interval_s;
        for (;;) {
                rtd_failq_stats(u->q, &s);
                if (s.events == 0) {
                        *ret_next_s = u->o.interval_s;
                        return 0;
                }
                if (now < u->retry_at) {
                        *ret_next_s = (unsigned)(u->retry_at - now);
                        return 0;
                }
                /* due: an urgent event waits, a batch is in flight (retry), or
                 * the ordinary interval has passed */
                if (!s.urgent && !s.inflight && !ordinary_due) {
                        *ret_next_s = (unsigned)(u->last_upload + (time_t)u->o.interval_s - now);
                        return 0;
                }
                if (sent == RTD_UPLOAD_MAX_BATCHES) {
                        *ret_next_s = 0;
                        return 0;
                }
                _cleanup_free_ char *json = NULL, *stripped = NULL;
                size_t len = 0, slen = 0;
                char id[FAIL_BATCH_ID_LEN + 1];
                r = rtd_failq_take_batch(u->q, u->o.batch_events, &json, &len, id, err);
                if (r == -ENODATA) {
                        *ret_next_s = u->o.interval_s;
                        return 0;
                }
                if (r < 0)
                        return r;
                const char *body = json;
                size_t blen = len;
                if (!u->o.allow_dumps && strstr(json, "\"dump\":")) {
                        unsigned n = 0;
                        if ((r = rtd_upload_strip_dumps(json, len, &stripped, &slen, &n, err)) < 0)
                                return r;
                        body = stripped;
                        blen = slen;
                        u->stats.dumps_stripped += n;
                }
                /* the events in flight, counted before the ack deletes them */
                unsigned nev = 0;
                for (unsigned i = 0;; i++) {
                        struct fail_event ev;
                        bool fl = false;
                        if (rtd_failq_get(u->q, i, &ev, &fl) < 0)
                                break;
                        nev += fl;
                        fail_event_clear(&ev);
                }
                bool dup = false;
                enum send_result sr = send_batch(u, id, body, blen, &dup, err);
                if (sr == SEND_RETRY) {
                        u->stats.attempts_failed++;
                        u->stats.consecutive_failures++;
                        snprintf(u->stats.last_error, sizeof(u->stats.last_error), "%s",
                                 err ? err->msg : "upload failed");
                        unsigned d = backoff_s(u);
                        u->retry_at = now + (time_t)d;
                        *ret_next_s = d;
                        rp_warn("uploader", "batch %s not delivered (%s); retry in %u s", id,
                                u->stats.last_error, d);
                        return -EAGAIN;
                }
                if (sr == SEND_REJECTED) {
                        u->stats.rejected++;
                        rp_error("uploader", "batch %s of %u event(s) refused for its content and "
                                 "dropped: %s", id, nev, err ? err->msg : "");
                } else {
                        u->stats.batches_sent++;
                        u->stats.events_sent += nev;
                        u->stats.duplicates += dup;
                }
                if ((r = rtd_failq_ack(u->q, id, err)) < 0)
                        return r;
                u->stats.consecutive_failures = 0;
                u->retry_at = 0;
                if (ordinary_due || !u->last_upload)
                        u->last_upload = now;
                sent++;
        }
}

int rtd_upload_policy_save(const char *data_dir, bool allow, struct rp_err *err)
{
        _cleanup_free_ char *path = NULL;
        const char *text = allow ? POLICY_YES : POLICY_NO;
        if (asprintf(&path, "%s/%s", data_dir, RTD_UPLOAD_POLICY_FILE) < 0)
                return rp_err_set(err, -ENOMEM, "out of memory");
        return rp_write_file_atomic(path, text, strlen(text), 0600, err);
}

int rtd_upload_policy_load(const char *data_dir, bool *ret_allow, struct rp_err *err)
{
        _cleanup_free_ char *path = NULL;
        _cleanup_free_ uint8_t *data = NULL;
        size_t len = 0;
        struct rp_err e = {0};
        int r;
        *ret_allow = false;
        if (asprintf(&path, "%s/%s", data_dir, RTD_UPLOAD_POLICY_FILE) < 0)
                return rp_err_set(err, -ENOMEM, "out of memory");
        r = rp_read_file(path, 64, &data, &len, &e);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return rp_err_set(err, r, "%s", e.msg);
        if (len == strlen(POLICY_YES) && !memcmp(data, POLICY_YES, len)) {
                *ret_allow = true;
                return 0;
        }
        if (len == strlen(POLICY_NO) && !memcmp(data, POLICY_NO, len))
                return 0;
        return rp_err_set(err, -EINVAL, "'%s' holds neither {\"crash_dumps\":true} nor "
                          "{\"crash_dumps\":false} (%zu bytes)", path, len);
}

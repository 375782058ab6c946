/* upload_timer.c - the failure uploader on rampartd's event loop
 * (upload_timer.h). */
#include "runtime/upload_timer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/monitor_key.h"
#include "lib/cleanup.h"
#include "lib/log.h"
#include "runtime/certs.h"
#include "runtime/http_client.h"
#include "runtime/uploader.h"

#define LOG "failures"

struct rtd_upload_timer {
        struct rtd_upload_timer_config cfg;
        struct event *ev;
        struct rtd_http http;
        struct rtd_uploader up;
        unsigned poll_s;
        uint64_t reported_events;       /* events_sent already logged */
        bool policy_saved;              /* the data dir holds up.o.allow_dumps */
};

struct signer {
        struct mon_client *mon;
        uint32_t handle;
};

static int monitor_sign(void *ud, const uint8_t digest[CR_SHA256_LEN], uint8_t **ret_sig,
                        size_t *ret_len)
{
        struct signer *s = ud;
        struct rp_err e = {0};
        int r = mon_tls_sign(s->mon, s->handle, digest, ret_sig, ret_len, &e);
        if (r < 0)
                rp_warn(LOG, "upload: TLS signature by the monitor failed: %s", e.msg);
        return r;
}

static unsigned env_s(const char *name, unsigned dflt, unsigned min, unsigned max)
{
        const char *v = getenv(name);
        char *end;
        unsigned long n;
        if (!v || !*v)
                return dflt;
        errno = 0;
        n = strtoul(v, &end, 10);
        if (errno || *end || n < min || n > max) {
                rp_warn(LOG, "%s='%s' is not a number in %u..%u: using %u", name, v, min, max, dflt);
                return dflt;
        }
        return (unsigned)n;
}

static void arm(struct rtd_upload_timer *t, unsigned s)
{
        struct timeval tv = { .tv_sec = s < t->poll_s ? s : t->poll_s, .tv_usec = 0 };
        event_add(t->ev, &tv);
}

static void on_timer(evutil_socket_t fd, short what, void *ud)
{
        struct rtd_upload_timer *t = ud;
        _cleanup_(cr_monitor_key_freep) struct cr_monitor_key *mk = NULL;
        struct rtd_cert cert = {0};
        struct signer signer = { t->cfg.mon, 0 };
        struct rp_err e = {0};
        time_t now = time(NULL);
        unsigned next = t->poll_s;
        int r;

        /* only a certificate of this boot can sign (its key lives in the monitor) */
        if (rtd_cert_load(t->cfg.data_dir, RTD_PURPOSE_PLATFORM, &cert, &e) < 0 ||
            !rtd_cert_usable(&cert, t->cfg.bi->bootcount, now)) {
                rtd_cert_clear(&cert);
                arm(t, t->poll_s);
                return;
        }
        signer.handle = cert.handle;
        r = cr_monitor_key_new(cert.cert, monitor_sign, &signer, &mk, &e);
        rtd_cert_clear(&cert);
        if (r < 0) {
                rp_warn(LOG, "upload postponed: %s", e.msg);
                arm(t, t->poll_s);
                return;
        }
        t->http.client = mk;
        r = rtd_uploader_poll(&t->up, now, &next, &e);
        t->http.client = NULL;
        if (r == -EAGAIN)
                rp_warn(LOG, "upload failed (%u in a row): %s; next attempt in %u s",
                        t->up.stats.consecutive_failures, e.msg, next);
        else if (r < 0)
                rp_warn(LOG, "upload: %s", e.msg);
        if (t->up.stats.events_sent != t->reported_events) {
                rp_info(LOG, "uploaded %llu failure event(s) in %llu batch(es) so far",
                        (unsigned long long)t->up.stats.events_sent,
                        (unsigned long long)t->up.stats.batches_sent);
                t->reported_events = t->up.stats.events_sent;
        }
        arm(t, next);
}

int rtd_upload_timer_start(const struct rtd_upload_timer_config *cfg, struct rtd_upload_timer **ret,
                           struct rp_err *err)
{
        struct rtd_upload_timer *t = calloc(1, sizeof(*t));
        if (!t)
                return rp_err_set(err, -ENOMEM, "out of memory");
        t->cfg = *cfg;
        t->http.base = cfg->server;
        t->http.ca_file = cfg->ca_file;
        struct rtd_uploader_opts o = {
                .interval_s = env_s("RAMPARTD_UPLOAD_INTERVAL_S", RTD_UPLOAD_INTERVAL_S, 1, 7u * 86400),
                .backoff_min_s = env_s("RAMPARTD_UPLOAD_BACKOFF_MIN_S", RTD_UPLOAD_BACKOFF_MIN_S, 1, 86400),
                .backoff_max_s = env_s("RAMPARTD_UPLOAD_BACKOFF_MAX_S", RTD_UPLOAD_BACKOFF_MAX_S, 1, 7u * 86400),
        };
        if (o.backoff_max_s < o.backoff_min_s)
                o.backoff_max_s = o.backoff_min_s;
        t->poll_s = env_s("RAMPARTD_UPLOAD_POLL_S", RTD_UPLOAD_POLL_S, 1, 86400);
        /* the last crash-dump opt-in the service reported (none yet: no dumps) */
        struct rp_err pe = {0};
        if (rtd_upload_policy_load(cfg->data_dir, &o.allow_dumps, &pe) < 0)
                rp_warn(LOG, "crash dumps stay off until the next check-in: %s", pe.msg);
        rtd_uploader_init(&t->up, cfg->failq, &t->http, &o);
        t->ev = evtimer_new(cfg->base, on_timer, t);
        if (!t->ev) {
                free(t);
                return rp_err_set(err, -ENOMEM, "cannot create the upload timer");
        }
        arm(t, 1);
        *ret = t;
        return 0;
}

void rtd_upload_timer_kick(struct rtd_upload_timer *t)
{
        struct timeval tv = {0, 0};
        if (t)
                event_add(t->ev, &tv);
}

void rtd_upload_timer_set_dumps(struct rtd_upload_timer *t, bool allow)
{
        struct rp_err e = {0};
        if (!t)
                return;
        /* persisted first (only when it changes): a reboot keeps what the
         * service said last */
        if (!t->policy_saved || t->up.o.allow_dumps != allow) {
                t->policy_saved = rtd_upload_policy_save(t->cfg.data_dir, allow, &e) == 0;
                if (!t->policy_saved)
                        rp_warn(LOG, "cannot keep the crash-dump opt-in: %s", e.msg);
        }
        if (t->up.o.allow_dumps != allow)
                rp_info(LOG, "crash dumps %s by the device group", allow ? "allowed" : "not allowed");
        t->up.o.allow_dumps = allow;
}

void rtd_upload_timer_free(struct rtd_upload_timer *t)
{
        if (!t)
                return;
        event_free(t->ev);
        free(t);
}

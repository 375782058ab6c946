/* upload_timer.h - runs the failure uploader (uploader.h) on rampartd's
 * event loop: a timer that, once the device holds a platform certificate
 * usable in this boot, builds the mTLS client (key held by the monitor) and
 * calls rtd_uploader_poll, then waits as long as the uploader says — but
 * never longer than the poll period, so an urgent event (update_fail,
 * revert) queued by another module in the meantime goes out soon.
 *
 * Knobs (environment, for tests and the demo): RAMPARTD_UPLOAD_INTERVAL_S
 * (ordinary events at most this often; default daily),
 * RAMPARTD_UPLOAD_BACKOFF_MIN_S / _MAX_S (retries), RAMPARTD_UPLOAD_POLL_S
 * (the longest wait between two looks at the queue; default 30 s).
 * Crash dumps: off at start unless the data dir keeps a yes from the
 * service (uploader.h); rtd_upload_timer_set_dumps changes it.
 * Trusts: what uploader.h trusts. */
#pragma once
#include <stdbool.h>

#include <event2/event.h>

#include "lib/err.h"
#include "monitor/mon_client.h"
#include "runtime/failures.h"

#define RTD_UPLOAD_POLL_S 30u

struct rtd_upload_timer;

struct rtd_upload_timer_config {
        struct event_base *base;                /* borrowed */
        struct mon_client *mon;                 /* borrowed: signs the TLS handshakes */
        const struct mon_boot_info *bi;         /* borrowed: the boot count */
        const char *data_dir;                   /* borrowed: the certificates */
        const char *server;                     /* borrowed: https://host:port */
        const char *ca_file;                    /* borrowed: the server's CA */
        struct rtd_failq *failq;                /* borrowed */
};

/* Starts the timer (first look after one second). *ret is freed with
 * rtd_upload_timer_free. */
int rtd_upload_timer_start(const struct rtd_upload_timer_config *cfg, struct rtd_upload_timer **ret,
                           struct rp_err *err) RP_WUR;
/* Looks at the queue at once (after an attestation: a certificate is new). */
void rtd_upload_timer_kick(struct rtd_upload_timer *t);
/* The device group's crash-dump opt-in as the last check-in reported it
 * (the update agent's policy callback): kept in the data dir
 * (rtd_upload_policy_save) and applied from the next batch on. Accepts NULL. */
void rtd_upload_timer_set_dumps(struct rtd_upload_timer *t, bool allow);
void rtd_upload_timer_free(struct rtd_upload_timer *t);         /* accepts NULL */

/* supervisor.h - rampartd's app supervisor (DESIGN.md §6, docs/sdk.md).
 *
 * Starts every installed app (apps.h) at boot, each in its own compartment
 * (src/sandbox), serves its egress requests and its librampart requests
 * (appctl.h) from rampartd's event loop, restarts an app that exits or
 * crashes with exponential back-off, records every abnormal end (exit code,
 * signal) in the failure queue, and brokers what the manifests grant:
 * peripherals of the emulated board (one owner each), inter-app
 * connections (both manifests must list each other), system events and
 * update deferral, reboot, and device authentication (TLS signatures by the
 * monitor with the app certificate's key; the key never leaves the
 * monitor). Every request without the matching capability is refused with
 * EACCES and a log line naming the capability.
 *
 * The emulated board: DATA/board/gpio/<pin>, DATA/board/uart/<name>,
 * DATA/board/i2c/<name>, DATA/board/spi/<name>, one file per peripheral
 * (a GPIO file holds "0\n" or "1\n"); the app gets a descriptor of it.
 *
 * Everything runs on rampartd's one thread; the update agent drives updates
 * through rtd_sup_update_pending / rtd_sup_install. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "crypto/crypto.h"
#include "lib/err.h"

struct event_base;
struct mon_client;
struct rtd_failq;
struct rtd_app_info;
struct rtd_sup;

#define RTD_SUP_BACKOFF_MIN_MS 1000L
#define RTD_SUP_BACKOFF_MAX_MS (300L * 1000)
#define RTD_SUP_STABLE_MS (60L * 1000)   /* a run this long resets the back-off */
#define RTD_SUP_CONFIRM_MS (10L * 1000)  /* a new version running this long is kept */
#define RTD_SUP_STOP_MS 5000             /* SIGTERM, then SIGKILL after this */
#define RTD_SUP_MAX_CONNS 16             /* librampart connections per app */

struct rtd_sup_config {
        const char *data_dir;
        struct event_base *base;
        struct mon_client *mon;         /* borrowed: tls-sign, reboot; may be NULL */
        uint64_t bootcount;             /* app certificate keys of this boot only */
        const char *ueid;
        const char *server_ca_file;     /* verifies development capabilities */
        struct rtd_failq *failq;        /* may be NULL */
        /* Test knobs; 0/NULL = defaults or the environment
         * (RAMPARTD_APP_BACKOFF_MIN_MS, RAMPARTD_APP_BACKOFF_MAX_MS,
         * RAMPARTD_APP_CONFIRM_MS, RAMPARTD_APP_HOSTS). */
        long backoff_min_ms, backoff_max_ms, confirm_ms;
        const char *hosts_file;
};

/* Opens the control socket and starts every installed app. Apps that fail
 * to start are retried with back-off; that is not an error here. */
int rtd_sup_start(const struct rtd_sup_config *cfg, struct rtd_sup **ret, struct rp_err *err) RP_WUR;
/* Stops every app and frees. Accepts NULL. */
void rtd_sup_free(struct rtd_sup *s);

/* Verifies the app package on `fd` with `trusted`, installs it as a new
 * version, stops the running version (if any), switches and starts the new
 * one. The old version is kept until the new one has run confirm_ms.
 * ret_info (may be NULL) describes what was installed. */
int rtd_sup_install(struct rtd_sup *s, int fd, struct cr_key *const *trusted, size_t n_trusted,
                    struct rtd_app_info *ret_info, struct rp_err *err) RP_WUR;
/* Stops an app (no restart until rtd_sup_start_app). -ENOENT: not installed. */
int rtd_sup_stop_app(struct rtd_sup *s, const char *component_id, struct rp_err *err) RP_WUR;
int rtd_sup_start_app(struct rtd_sup *s, const char *component_id, struct rp_err *err) RP_WUR;

/* Tells apps with SystemEventNotifications that an update of `component_id`
 * (NULL: the OS) is pending, and returns the latest time until which an app
 * with SoftwareUpdateDeferral deferred it (0: nobody defers). */
time_t rtd_sup_update_pending(struct rtd_sup *s, const char *component_id);
/* After an attestation: fetches the development capability the service
 * granted this device (GET /device/v1/capabilities/development over mTLS
 * with the platform certificate) and stores it once it verifies; a 404
 * removes a stored one (the grant is gone). Errors are logged; the stored
 * state is then left as it was. */
void rtd_sup_fetch_capability(struct rtd_sup *s, const char *server);

/* Tells the same apps that the pending update is done or abandoned. */
void rtd_sup_update_done(struct rtd_sup *s, const char *component_id);

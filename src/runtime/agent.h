/* agent.h - rampartd's update agent (DESIGN.md §5, docs/updates.md
 * "The device: update agent").
 *
 * One check-in: POST /device/v1/checkin over mTLS with the platform
 * certificate (what runs, the trusted root version, per-image reports),
 * then the metadata of the reply through the TUF client in order (roots one
 * version at a time, timestamp, snapshot, targets, the tenant's delegated
 * targets, director) and tuf_resolve: only images the offline-signed
 * targets and the director agree on. The client state is saved atomically
 * after every check-in, also after a refusal (the steps that passed stay
 * trusted, so a replay of older metadata is caught next time). For every
 * assigned image that differs from what runs: refuse an SVN below the
 * running one or the floor, let apps with SoftwareUpdateDeferral defer it
 * (up to a limit), download with resume, length cap and minimum rate
 * (download.h), verify and install (install.h). OS images are installed
 * last: install-os into the inactive slot as a trial, then a reboot.
 *
 * After the reboot the new OS attests with its new measurements; only a
 * successful attestation confirms the slot (monitor confirm) and then
 * raises the `os` anti-rollback floor to its SVN (counter-advance). A trial
 * boot whose attestation is refused RTD_AGENT_TRIAL_FAILURES times asks for
 * a reboot, so a broken release uses up its boot attempts and rampart-boot
 * reverts; back on the old OS the agent reports `reverted` with the reason
 * the trial recorded, and queues a `revert` failure event. Failed installs
 * are reported as `failed` and queued as `update_fail`. A refused image
 * (verification, SVN, monitor, revert) is not tried again.
 *
 * State (DATA/updates/, 0700; every file written crash-safely):
 *   tuf.json      the TUF client state (tuf_client_save)
 *   agent.json    the OS install in progress, reports not yet delivered,
 *                 refused images, the SVN of each installed app
 *   status.json   for people and tests (see docs/updates.md)
 *   <sha256>.pkg  a verified download waiting to be installed; .part while
 *                 it downloads
 * Crash-injection points: agent-download, agent-os-pending,
 * agent-os-activated, agent-confirm, agent-confirmed, agent-floor,
 * agent-app-installed, agent-state. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "crypto/crypto.h"
#include "lib/err.h"
#include "tuf/meta.h"

struct mon_client;
struct mon_boot_info;
struct rtd_failq;
struct rtd_agent;

#define RTD_AGENT_DEFAULT_INTERVAL_MS (6L * 3600 * 1000)
#define RTD_AGENT_DEFAULT_RETRY_MS (60L * 1000)
#define RTD_AGENT_JITTER_PCT 10                 /* each wait is interval +-10 % */
#define RTD_AGENT_DEFAULT_TRIAL_ATTEMPTS 3
#define RTD_AGENT_TRIAL_FAILURES 2              /* refused attestations before a trial reboots */
#define RTD_AGENT_MAX_DEFER_S (24L * 3600)      /* total deferral of one image */
#define RTD_AGENT_MAX_FAILED 64                 /* refused images remembered */
#define RTD_AGENT_MAX_REPORTS 32
#define RTD_AGENT_MAX_APPS 32
#define RTD_AGENT_STATE_MAX (256 * 1024)
#define RTD_AGENT_REASON_MAX 256

/* An installed app as the check-in names it. */
struct rtd_agent_app {
        char component_id[TUF_MAX_COMPONENT + 1];
        char version[TUF_MAX_VERSION + 1];
};

/* The app supervisor, reached through rampartd (supervisor.h). Any member
 * may be NULL: app images then fail with a clear reason. */
struct rtd_agent_apps {
        void *ud;
        /* Verifies (again) and installs the package on fd; stop, switch, start. */
        int (*install)(void *ud, int fd, struct cr_key *const *trusted, size_t n_trusted,
                       struct rp_err *err);
        /* What is installed now; returns the count (<= cap) or a negative code. */
        int (*list)(void *ud, struct rtd_agent_app *out, size_t cap);
        /* An update of component_id (NULL: the OS) is pending; returns until
         * when an app with SoftwareUpdateDeferral defers it (0: nobody). */
        time_t (*update_pending)(void *ud, const char *component_id);
        void (*update_done)(void *ud, const char *component_id);
};

struct rtd_agent_config {
        const char *data_dir;
        const char *server;             /* https://host:port */
        const char *ca_file;
        const char *os_etc;             /* the OS image's etc/rampart: root.json, os.json */
        struct mon_client *mon;         /* borrowed */
        const struct mon_boot_info *bi; /* borrowed: this boot */
        struct rtd_failq *failq;        /* may be NULL */
        struct rtd_agent_apps apps;
        /* The device group's crash-dump opt-in, from every check-in reply
         * that carries `policy.crash_dumps` (may be NULL; rampartd passes it
         * to the failure uploader, upload_timer.h). */
        void (*policy)(void *ud, bool crash_dumps);
        void *policy_ud;
        /* 0 = defaults, or the environment: RAMPARTD_UPDATE_INTERVAL_MS,
         * RAMPARTD_UPDATE_RETRY_MS, RAMPARTD_UPDATE_TRIAL_ATTEMPTS,
         * RAMPARTD_UPDATE_MIN_RATE (bytes/s), RAMPARTD_UPDATE_LOW_SPEED_S,
         * RAMPARTD_UPDATE_MAX_DEFER_S */
        long interval_ms, retry_ms, min_rate, low_speed_s, max_defer_s;
        unsigned trial_attempts;
};

/* Loads the state and settles what the previous boot left: a trial that
 * reverted is reported and queued; an install-os that did not complete is
 * forgotten (the next check-in does it again). */
int rtd_agent_new(const struct rtd_agent_config *cfg, struct rtd_agent **ret,
                  struct rp_err *err) RP_WUR;
void rtd_agent_free(struct rtd_agent *a);

/* What the caller must do after a call below. */
enum rtd_agent_action {
        RTD_AGENT_CONTINUE = 0,
        RTD_AGENT_REBOOT = 1,           /* the monitor was asked to reboot: stop the loop */
};

/* rampartd reports each attestation attempt: on success with a new OS
 * this confirms the slot and raises the floor; a refused trial boot
 * eventually reboots. */
int rtd_agent_attested(struct rtd_agent *a, bool ok, const char *reason, const char *message);

/* One check-in and what follows. *ret_next_ms: when to call again. */
int rtd_agent_check(struct rtd_agent *a, time_t now, long *ret_next_ms, struct rp_err *err);

/* The wait before the first check-in after attestation. */
long rtd_agent_first_delay_ms(const struct rtd_agent *a);

/* ---- rampartd's event loop ---- */
struct event_base;
struct rtd_sup;

/* Joins rampartd's loop: the first check-in follows the first successful
 * attestation of this boot, then every interval (with jitter); a reboot
 * the agent asked the monitor for breaks the loop. `sup` (may be NULL)
 * fills cfg->apps. */
int rtd_agent_start(const struct rtd_agent_config *cfg, struct event_base *base,
                    struct rtd_sup *sup, struct rtd_agent **ret, struct rp_err *err) RP_WUR;
/* rampartd calls this after every attestation attempt (accepts NULL). */
void rtd_agent_on_attest(struct rtd_agent *a, bool ok, const char *reason, const char *message);

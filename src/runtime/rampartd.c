/* rampartd.c - the normal-world OS of a Rampart device (DESIGN.md §2).
 *
 *   rampartd --data DIR [--server URL] [--tenant ID] [--server-ca PEM]
 *            [--backoff-min-ms N] [--backoff-max-ms N] [--renew-scale X]
 *
 * Started by rampart-boot from the verified OS slot (on an emulated device
 * through `rampart-device run`), with the security monitor on the
 * descriptor in RAMPART_MONITOR_FD. Today it attests and keeps the device's
 * two certificates current; the update agent and the app supervisor join
 * the same event loop (libevent): each is a set of events on `rtd.base`.
 *
 * Attestation (docs/attestation.md, docs/device.md "rampartd"): at start
 * (TLS keys die with the boot, so a stored certificate cannot be used after
 * a reboot: rampartd always enrolls again, and says whether the OS changed
 * since the certificate was issued), then when 80 % of the certificate's
 * lifetime has passed (simplereenroll over mTLS with the current
 * certificate, whose key the monitor holds). A failure is logged with the
 * service's reason code, queued as an attest_fail failure event and retried
 * with exponential back-off and jitter (1 s .. 10 min by default).
 *
 * State for people and tools: DATA/status.json (atomic), printed by
 * `rampart-device status DEVICE`. SIGTERM/SIGINT: finish the current step,
 * write the status, exit 0.
 *
 * Test knobs (flags, or the environment): RAMPARTD_BACKOFF_MIN_MS,
 * RAMPARTD_BACKOFF_MAX_MS, RAMPARTD_RENEW_SCALE (divides the wait until the
 * renewal point, so a test sees a renewal without waiting 21 hours; the
 * renewal point itself is logged unscaled). */
#include <event2/event.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "lib/cleanup.h"
#include "lib/encode.h"
#include "lib/fileio.h"
#include "lib/log.h"
#include "monitor/mon_client.h"
#include "runtime/agent.h"
#include "runtime/attest.h"
#include "runtime/certs.h"
#include "runtime/config.h"
#include "runtime/failures.h"
#include "runtime/http_client.h"
#include "runtime/supervisor.h"
#include "runtime/upload_timer.h"

#define LOG "rampartd"
#define EXIT_FAIL 1
#define EXIT_USAGE 2
#define EXIT_CONFIG 78
#define RENEW_FRACTION 0.8
#define DEFAULT_BACKOFF_MIN_MS 1000L
#define DEFAULT_BACKOFF_MAX_MS (600L * 1000)
#define STATUS_FILE "status.json"
#define FAILQ_DIR "failures"

struct rtd {
        struct event_base *base;
        struct event *ev_attest;
        struct event *ev_term, *ev_int;
        struct mon_client mon;
        struct mon_boot_info bi;
        const char *data_dir;
        struct rtd_config cfg;
        char *ca_file;                  /* malloc'd */
        struct rtd_failq *failq;
        struct rtd_sup *sup;            /* the app supervisor */
        struct rtd_attest att;
        struct rtd_agent *agent;        /* the update agent (agent.h) */
        struct rtd_upload_timer *upload; /* the failure uploader (upload_timer.h) */

        long backoff_min_ms, backoff_max_ms;
        double renew_scale;

        const char *trigger;            /* why the next attestation runs */
        unsigned failures;              /* consecutive failed attempts */
        unsigned long attempts;         /* attempts since start */
        unsigned long renewals;         /* successful renewals since start */
        bool attested;
        struct rtd_attest_result last;  /* result of the last attempt */
        time_t last_attempt, last_success, next_attempt, renew_at;
        bool running;
        pid_t monitor_pid;              /* rampart-boot, our parent */
};

static void fmt_time(time_t t, char out[32])
{
        struct tm tm;
        if (!t) {
                out[0] = 0;
                return;
        }
        gmtime_r(&t, &tm);
        strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_t *json_time(time_t t)
{
        char s[32];
        if (!t)
                return json_null();
        fmt_time(t, s);
        return json_string(s);
}

/* DATA/status.json, rewritten atomically after every change. */
static void write_status(struct rtd *d)
{
        _cleanup_(json_decrefp) json_t *o = NULL, *certs = json_object();
        _cleanup_free_ char *path = NULL, *text = NULL;
        char fwid[2 * CR_SHA256_LEN + 1];
        struct rp_err e = {0};
        const char *state;

        if (!certs)
                return;
        for (int p = 0; p < RTD_PURPOSE_COUNT; p++) {
                struct rtd_cert c = {0};
                struct rp_err ce = {0};
                if (rtd_cert_load(d->data_dir, (enum rtd_purpose)p, &c, &ce) < 0)
                        continue;
                json_object_set_new(certs, rtd_purpose_name((enum rtd_purpose)p),
                                    json_pack("{s:s, s:o, s:o, s:o, s:b}", "serial", c.serial,
                                              "not_before", json_time(c.not_before),
                                              "not_after", json_time(c.not_after), "renew_at",
                                              json_time(rtd_cert_renew_at(&c, RENEW_FRACTION)),
                                              "key_this_boot",
                                              c.bootcount == d->bi.bootcount && c.handle));
                rtd_cert_clear(&c);
        }
        rp_hex_encode(d->bi.fwid, sizeof(d->bi.fwid), fwid);
        state = d->attested ? "attested" : d->attempts == 0 ? "attesting" : "failed";
        o = json_pack("{s:s, s:b, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:I, s:I, s:I, "
                      "s:I, s:o, s:o, s:o, s:o, s:O}",
                      "state", state, "running", d->running, "reason",
                      d->last.reason[0] ? d->last.reason : "none", "message", d->last.message,
                      "ueid", d->bi.ueid, "os_name", d->bi.os_name, "os_version",
                      d->bi.os_version, "svn", (json_int_t)d->bi.svn, "bootcount",
                      (json_int_t)d->bi.bootcount, "fwid", fwid, "trigger", d->trigger,
                      "attempts", (json_int_t)d->attempts, "consecutive_failures",
                      (json_int_t)d->failures, "renewals", (json_int_t)d->renewals, "pid",
                      (json_int_t)getpid(), "last_attempt", json_time(d->last_attempt),
                      "last_success", json_time(d->last_success), "next_attempt",
                      json_time(d->running ? d->next_attempt : 0), "renew_at",
                      json_time(d->attested ? d->renew_at : 0), "certificates", certs);
        if (!o || !(text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER)) ||
            asprintf(&path, "%s/%s", d->data_dir, STATUS_FILE) < 0) {
                rp_warn(LOG, "cannot encode the status");
                return;
        }
        if (rp_write_file_atomic(path, text, strlen(text), 0600, &e) < 0)
                rp_warn(LOG, "cannot write the status: %s", e.msg);
}

static void schedule(struct rtd *d, long ms, const char *trigger)
{
        struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
        d->trigger = trigger;
        d->next_attempt = time(NULL) + (ms + 999) / 1000;
        evtimer_add(d->ev_attest, &tv);
}

/* min * 2^(failures-1), capped, then "equal jitter": half fixed, half random. */
static long backoff_ms(const struct rtd *d)
{
        long delay = d->backoff_min_ms;
        uint32_t rnd = 0;

        for (unsigned i = 1; i < d->failures && delay < d->backoff_max_ms; i++)
                delay *= 2;
        if (delay > d->backoff_max_ms)
                delay = d->backoff_max_ms;
        if (cr_random(&rnd, sizeof(rnd)) < 0)
                rnd = (uint32_t)getpid();
        return delay / 2 + (long)(rnd % (uint32_t)(delay / 2 + 1));
}

static void queue_failure(struct rtd *d)
{
        struct fail_event ev = {0};
        struct rp_err e = {0};
        time_t now = time(NULL);

        if (!d->failq)
                return;
        ev.cls = FAIL_ATTEST_FAIL;
        snprintf(ev.component_id, sizeof(ev.component_id), "%s", d->bi.os_name);
        snprintf(ev.component_version, sizeof(ev.component_version), "%s", d->bi.os_version);
        snprintf(ev.reason, sizeof(ev.reason), "%s", d->last.reason);
        for (size_t i = 0, j = 0; d->last.message[i] && j + 1 < sizeof(ev.detail); i++)
                if ((unsigned char)d->last.message[i] >= 0x20 && d->last.message[i] != 0x7f)
                        ev.detail[j++] = d->last.message[i];
        ev.time_first = ev.time_last = now;
        ev.count = 1;
        if (rtd_failq_record(d->failq, &ev, &e) < 0)
                rp_warn(LOG, "cannot queue the attest_fail event: %s", e.msg);
        fail_event_clear(&ev);
}

/* One attestation: both certificates, platform first. */
static int attest_all(struct rtd *d)
{
        for (int p = 0; p < RTD_PURPOSE_COUNT; p++) {
                struct rtd_cert cur = {0};
                struct rp_err e = {0};
                int r = rtd_cert_load(d->data_dir, (enum rtd_purpose)p, &cur, &e);

                if (r < 0 && r != -ENOENT)
                        rp_warn(LOG, "stored %s certificate ignored: %s",
                                rtd_purpose_name((enum rtd_purpose)p), e.msg);
                r = rtd_attest_enroll(&d->att, &d->bi, (enum rtd_purpose)p,
                                      cur.cert ? &cur : NULL, true, &d->last);
                if (r < 0 && d->last.reenroll &&
                    (!strcmp(d->last.reason, "reenroll_cert_mismatch") ||
                     !strcmp(d->last.reason, "tls_auth"))) {
                        /* the service no longer takes this certificate (for
                         * example after a CA change): enroll afresh */
                        rp_warn(LOG, "simplereenroll of the %s certificate refused (%s): "
                                "falling back to simpleenroll",
                                rtd_purpose_name((enum rtd_purpose)p), d->last.reason);
                        r = rtd_attest_enroll(&d->att, &d->bi, (enum rtd_purpose)p, &cur, false,
                                              &d->last);
                }
                rtd_cert_clear(&cur);
                if (r < 0) {
                        rp_error(LOG, "attestation (%s certificate, %s) refused: reason=%s: %s",
                                 rtd_purpose_name((enum rtd_purpose)p),
                                 d->last.reenroll ? "simplereenroll" : "simpleenroll",
                                 d->last.reason, d->last.message);
                        return r;
                }
                {
                        char na[32];
                        fmt_time(d->last.not_after, na);
                        rp_info(LOG, "attestation (%s certificate, %s) ok: reason=ok serial %s, "
                                "expires %s", rtd_purpose_name((enum rtd_purpose)p),
                                d->last.reenroll ? "simplereenroll" : "simpleenroll",
                                d->last.serial, na);
                }
        }
        return 0;
}

/* The earliest renewal point of the stored certificates; 0 if none. */
static time_t earliest_renewal(struct rtd *d)
{
        time_t at = 0;
        for (int p = 0; p < RTD_PURPOSE_COUNT; p++) {
                struct rtd_cert c = {0};
                if (rtd_cert_load(d->data_dir, (enum rtd_purpose)p, &c, NULL) < 0)
                        continue;
                time_t t = rtd_cert_renew_at(&c, RENEW_FRACTION);
                if (!at || t < at)
                        at = t;
                rtd_cert_clear(&c);
        }
        return at;
}

static void on_attest(evutil_socket_t fd, short what, void *ud)
{
        struct rtd *d = ud;
        const char *trigger = d->trigger;
        char when[32];
        int r;

        d->attempts++;
        d->last_attempt = time(NULL);
        rp_info(LOG, "attestation attempt %lu (trigger: %s)", d->attempts, trigger);
        r = attest_all(d);
        /* The monitor's socket closes before the kernel reparents us, so a
         * broken monitor connection is as telling as a new parent. */
        if (r < 0 && (getppid() != d->monitor_pid ||
                      (!strcmp(d->last.reason, "monitor") && (r == -EPIPE || r == -ECONNRESET)))) {
                /* rampart-boot is gone (power off): not an attestation failure */
                rp_info(LOG, "the security monitor is gone: stopping");
                event_base_loopbreak(d->base);
                return;
        }
        if (r < 0) {
                long ms;
                d->attested = false;
                d->failures++;
                queue_failure(d);
                rtd_agent_on_attest(d->agent, false, d->last.reason, d->last.message);
                ms = backoff_ms(d);
                rp_warn(LOG, "attestation attempt %lu failed (%u in a row): reason=%s; next "
                        "attempt in %ld ms", d->attempts, d->failures, d->last.reason, ms);
                schedule(d, ms, "retry");
                write_status(d);
                return;
        }
        if (!strcmp(trigger, "renewal"))
                d->renewals++;
        d->attested = true;
        d->failures = 0;
        d->last_success = time(NULL);
        d->renew_at = earliest_renewal(d);
        {
                double wait = difftime(d->renew_at, time(NULL)) / d->renew_scale;
                long ms = wait <= 0 ? 0 : wait * 1000 > (double)LONG_MAX / 2 ? LONG_MAX / 2
                                                                               : (long)(wait * 1000);
                if (ms < d->backoff_min_ms)
                        ms = d->backoff_min_ms;     /* never spin on short certificates */
                fmt_time(d->renew_at, when);
                rp_info(LOG, "attested: renewal due at %s (%.0f%% of the certificate's "
                        "lifetime); next renewal in %ld ms", when, RENEW_FRACTION * 100, ms);
                schedule(d, ms, "renewal");
        }
        write_status(d);
        rtd_agent_on_attest(d->agent, true, "ok", "");
        rtd_sup_fetch_capability(d->sup, d->cfg.server);
        rtd_upload_timer_kick(d->upload);
}

/* The update agent's check-in learned the device group's crash-dump
 * opt-in: the failure uploader keeps and applies it. */
static void on_policy(void *ud, bool crash_dumps)
{
        struct rtd *d = ud;
        rtd_upload_timer_set_dumps(d->upload, crash_dumps);
}

static void on_signal(evutil_socket_t sig, short what, void *ud)
{
        struct rtd *d = ud;
        rp_info(LOG, "signal %d: shutting down", (int)sig);
        event_base_loopbreak(d->base);
}

/* Picks the server CA file: config (relative to DATA), else the OS image's. */
static int resolve_ca(struct rtd *d, struct rp_err *err)
{
        char exe[PATH_MAX];
        ssize_t n;

        int n_written;

        if (d->cfg.server_ca[0] == '/') {
                n_written = asprintf(&d->ca_file, "%s", d->cfg.server_ca);
        } else if (d->cfg.server_ca[0]) {
                n_written = asprintf(&d->ca_file, "%s/%s", d->data_dir, d->cfg.server_ca);
        } else {
                n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
                if (n <= 0)
                        return rp_err_set(err, -errno, "cannot find rampartd's own path");
                exe[n] = 0;
                char *slash = strrchr(exe, '/');
                if (slash)
                        *slash = 0;
                n_written = asprintf(&d->ca_file, "%s/../etc/rampart/server-ca.pem", exe);
        }
        if (n_written < 0) {
                d->ca_file = NULL;
                return rp_err_set(err, -ENOMEM, "out of memory");
        }
        if (access(d->ca_file, R_OK) < 0)
                return rp_err_set(err, -ENOENT, "server CA file '%s' is not readable: %s "
                                  "(configure one with 'rampart-device configure --server-ca', "
                                  "or ship etc/rampart/server-ca.pem in the OS image)",
                                  d->ca_file, strerror(errno));
        return 0;
}

static int parse_long(const char *what, const char *s, long min, long max, long *ret)
{
        char *end;
        long v;
        errno = 0;
        v = strtol(s, &end, 10);
        if (errno || *end || !*s || v < min || v > max) {
                fprintf(stderr, "rampartd: %s '%s' is not a number in %ld..%ld\n", what, s, min,
                        max);
                return -EINVAL;
        }
        *ret = v;
        return 0;
}

static int parse_scale(const char *s, double *ret)
{
        char *end;
        double v;
        errno = 0;
        v = strtod(s, &end);
        if (errno || *end || !*s || !(v >= 1.0) || v > 1e9) {
                fprintf(stderr, "rampartd: renew scale '%s' is not a number in 1..1e9\n", s);
                return -EINVAL;
        }
        *ret = v;
        return 0;
}

static void usage(FILE *f)
{
        fprintf(f, "usage: rampartd --data DIR [--server URL] [--tenant ID] [--server-ca PEM]\n"
                   "                [--backoff-min-ms N] [--backoff-max-ms N] [--renew-scale X]\n\n"
                   "The normal-world OS of a Rampart device; run by rampart-boot (the monitor is\n"
                   "on the descriptor in RAMPART_MONITOR_FD). Reads DIR/config.json; the\n"
                   "options override it. Writes DIR/status.json.\n");
}

static void cleanup(struct rtd *d)
{
        rtd_sup_free(d->sup);     /* its events live on d->base */
        rtd_agent_free(d->agent);
        rtd_upload_timer_free(d->upload);
        if (d->ev_attest)
                event_free(d->ev_attest);
        if (d->ev_term)
                event_free(d->ev_term);
        if (d->ev_int)
                event_free(d->ev_int);
        if (d->base)
                event_base_free(d->base);
        rtd_failq_close(d->failq);
        free(d->ca_file);
        rtd_http_global_cleanup();
}

int main(int argc, char **argv)
{
        static const struct option opts[] = {
                {"data", required_argument, NULL, 'd'},
                {"server", required_argument, NULL, 's'},
                {"tenant", required_argument, NULL, 't'},
                {"server-ca", required_argument, NULL, 'c'},
                {"backoff-min-ms", required_argument, NULL, 'm'},
                {"backoff-max-ms", required_argument, NULL, 'M'},
                {"renew-scale", required_argument, NULL, 'r'},
                {"help", no_argument, NULL, 'h'},
                {0},
        };
        static struct rtd d;    /* large (the monitor buffer): not on the stack */
        const char *server = NULL, *tenant = NULL, *ca = NULL, *env;
        _cleanup_free_ char *qdir = NULL;
        struct rp_err err = {0};
        char fwid[2 * CR_SHA256_LEN + 1];
        int c, rc = 0;

        d.backoff_min_ms = DEFAULT_BACKOFF_MIN_MS;
        d.backoff_max_ms = DEFAULT_BACKOFF_MAX_MS;
        d.renew_scale = 1.0;
        if ((env = getenv("RAMPARTD_BACKOFF_MIN_MS")) &&
            parse_long("RAMPARTD_BACKOFF_MIN_MS", env, 1, 3600000, &d.backoff_min_ms) < 0)
                return EXIT_USAGE;
        if ((env = getenv("RAMPARTD_BACKOFF_MAX_MS")) &&
            parse_long("RAMPARTD_BACKOFF_MAX_MS", env, 1, 86400000, &d.backoff_max_ms) < 0)
                return EXIT_USAGE;
        if ((env = getenv("RAMPARTD_RENEW_SCALE")) && parse_scale(env, &d.renew_scale) < 0)
                return EXIT_USAGE;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                switch (c) {
                case 'd': d.data_dir = optarg; break;
                case 's': server = optarg; break;
                case 't': tenant = optarg; break;
                case 'c': ca = optarg; break;
                case 'm':
                        if (parse_long("--backoff-min-ms", optarg, 1, 3600000,
                                       &d.backoff_min_ms) < 0)
                                return EXIT_USAGE;
                        break;
                case 'M':
                        if (parse_long("--backoff-max-ms", optarg, 1, 86400000,
                                       &d.backoff_max_ms) < 0)
                                return EXIT_USAGE;
                        break;
                case 'r':
                        if (parse_scale(optarg, &d.renew_scale) < 0)
                                return EXIT_USAGE;
                        break;
                case 'h': usage(stdout); return 0;
                default: usage(stderr); return EXIT_USAGE;
                }
        }
        if (optind != argc || !d.data_dir) {
                usage(stderr);
                return EXIT_USAGE;
        }
        if (d.backoff_max_ms < d.backoff_min_ms) {
                fprintf(stderr, "rampartd: back-off maximum %ld ms is below the minimum %ld ms\n",
                        d.backoff_max_ms, d.backoff_min_ms);
                return EXIT_USAGE;
        }
        if (rtd_config_load(d.data_dir, &d.cfg, &err) < 0 && !(server && tenant)) {
                rp_error(LOG, "%s", err.msg);
                return EXIT_CONFIG;
        }
        if (server)
                snprintf(d.cfg.server, sizeof(d.cfg.server), "%s", server);
        if (tenant)
                snprintf(d.cfg.tenant, sizeof(d.cfg.tenant), "%s", tenant);
        if (ca)
                snprintf(d.cfg.server_ca, sizeof(d.cfg.server_ca), "%s", ca);
        if (rtd_config_check_server(d.cfg.server, &err) < 0 ||
            rtd_config_check_tenant(d.cfg.tenant, &err) < 0 || resolve_ca(&d, &err) < 0) {
                rp_error(LOG, "%s", err.msg);
                return EXIT_CONFIG;
        }
        /* the normal world never outlives its monitor (rampart-boot) */
        d.monitor_pid = getppid();
        if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != d.monitor_pid ||
            d.monitor_pid == 1) {
                rp_error(LOG, "the security monitor is gone");
                return EXIT_FAIL;
        }
        if (mon_client_from_env(&d.mon, &err) < 0 || mon_boot_info(&d.mon, &d.bi, &err) < 0) {
                rp_error(LOG, "security monitor: %s", err.msg);
                return EXIT_FAIL;
        }
        rp_hex_encode(d.bi.fwid, sizeof(d.bi.fwid), fwid);
        rp_info(LOG, "boot %llu: device %s, OS %s %s (svn %llu, slot %s%s), fwid %s",
                (unsigned long long)d.bi.bootcount, d.bi.ueid, d.bi.os_name, d.bi.os_version,
                (unsigned long long)d.bi.svn, d.bi.slot, d.bi.trial ? ", trial" : "", fwid);
        rp_info(LOG, "service %s, tenant %s, server CA %s", d.cfg.server, d.cfg.tenant,
                d.ca_file);

        if (asprintf(&qdir, "%s/%s", d.data_dir, FAILQ_DIR) < 0)
                return EXIT_FAIL;
        if (rtd_failq_open(qdir, 0, &d.failq, &err) < 0)
                rp_warn(LOG, "failure queue unavailable: %s", err.msg);
        if (rtd_http_global_init(&err) < 0) {
                rp_error(LOG, "%s", err.msg);
                cleanup(&d);
                return EXIT_FAIL;
        }
        d.att.mon = &d.mon;
        d.att.data_dir = d.data_dir;
        d.att.tenant = d.cfg.tenant;
        d.att.http.base = d.cfg.server;
        d.att.http.ca_file = d.ca_file;

        /* why this boot attests */
        d.trigger = "first";
        {
                struct rtd_cert cur = {0};
                if (rtd_cert_load(d.data_dir, RTD_PURPOSE_PLATFORM, &cur, NULL) == 0) {
                        if (!cr_memeq(cur.fwid, d.bi.fwid, sizeof(cur.fwid))) {
                                char old[2 * CR_SHA256_LEN + 1];
                                rp_hex_encode(cur.fwid, sizeof(cur.fwid), old);
                                rp_info(LOG, "OS changed since the last attestation (fwid %s "
                                        "-> %s): attesting the new OS", old, fwid);
                                d.trigger = "os-change";
                        } else {
                                rp_info(LOG, "certificate keys died with the previous boot: "
                                        "attesting again");
                                d.trigger = "boot";
                        }
                }
                rtd_cert_clear(&cur);
        }

        d.base = event_base_new();
        if (!d.base) {
                cleanup(&d);
                return EXIT_FAIL;
        }
        d.ev_attest = evtimer_new(d.base, on_attest, &d);
        d.ev_term = evsignal_new(d.base, SIGTERM, on_signal, &d);
        d.ev_int = evsignal_new(d.base, SIGINT, on_signal, &d);
        if (!d.ev_attest || !d.ev_term || !d.ev_int || event_add(d.ev_term, NULL) < 0 ||
            event_add(d.ev_int, NULL) < 0) {
                rp_error(LOG, "cannot set up the event loop");
                cleanup(&d);
                return EXIT_FAIL;
        }
        signal(SIGPIPE, SIG_IGN);
        d.running = true;
        {
                struct rtd_sup_config sc = {
                        .data_dir = d.data_dir, .base = d.base, .mon = &d.mon,
                        .bootcount = d.bi.bootcount, .ueid = d.bi.ueid,
                        .server_ca_file = d.ca_file, .failq = d.failq,
                };
                if (rtd_sup_start(&sc, &d.sup, &err) < 0)
                        rp_error(LOG, "app supervisor: %s: apps do not run", err.msg);
        }
        {
                struct rtd_agent_config ac = {
                        .data_dir = d.data_dir, .server = d.cfg.server, .ca_file = d.ca_file,
                        .mon = &d.mon, .bi = &d.bi, .failq = d.failq,
                        .policy = on_policy, .policy_ud = &d,
                };
                if (rtd_agent_start(&ac, d.base, d.sup, &d.agent, &err) < 0)
                        rp_error(LOG, "%s: no updates in this boot", err.msg);
        }
        {
                struct rtd_upload_timer_config uc = {
                        .base = d.base, .mon = &d.mon, .bi = &d.bi, .data_dir = d.data_dir,
                        .server = d.cfg.server, .ca_file = d.ca_file, .failq = d.failq,
                };
                if (rtd_upload_timer_start(&uc, &d.upload, &err) < 0)
                        rp_error(LOG, "%s: failures are queued but not uploaded in this boot", err.msg);
        }
        schedule(&d, 0, d.trigger);
        write_status(&d);
        if (event_base_dispatch(d.base) < 0) {
                rp_error(LOG, "event loop failed");
                rc = EXIT_FAIL;
        }
        d.running = false;
        write_status(&d);
        rp_info(LOG, "stopped");
        cleanup(&d);
        return rc;
}

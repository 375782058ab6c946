/* agent.c - see agent.h. */
#include "runtime/agent.h"

#include <dirent.h>
#include <event2/event.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/monitor_key.h"
#include "lib/cleanup.h"
#include "lib/encode.h"
#include "lib/fault.h"
#include "lib/fileio.h"
#include "lib/log.h"
#include "monitor/mon_client.h"
#include "runtime/certs.h"
#include "runtime/download.h"
#include "runtime/failures.h"
#include "runtime/apps.h"
#include "runtime/install.h"
#include "runtime/supervisor.h"
#include "tuf/client.h"
#include "tuf/json.h"

#define LOG "rampartd"
#define OS_COUNTER "os"              /* the boot stage's OS floor (BOOT_OS_COUNTER) */
#define UPDATES_DIR "updates"
#define STATE_FORMAT "rampart-agent-1"
#define OS_JSON_MAX (16 * 1024)
#define CHECKIN_PATH "/device/v1/checkin"
#define IMAGES_PATH "/device/v1/images/"

struct report {
        char sha256[2 * CR_SHA256_LEN + 1];
        char status[16];                /* downloading | installed | failed | reverted */
        char reason[RTD_AGENT_REASON_MAX + 1];
};

struct failed {
        char sha256[2 * CR_SHA256_LEN + 1];
};

struct app_svn {
        char component_id[TUF_MAX_COMPONENT + 1];
        uint64_t svn;
};

struct pending_os {
        bool active;
        struct tuf_image img;
        char sha256[2 * CR_SHA256_LEN + 1];
        char slot[2];
        bool activated;                 /* install-os succeeded */
        bool booted;                    /* the new OS ran */
        char trial_reason[RTD_AGENT_REASON_MAX + 1];
};

struct deferral {
        char sha256[2 * CR_SHA256_LEN + 1];
        time_t since;
};

struct rtd_agent {
        struct rtd_agent_config cfg;
        char *dir;                      /* DATA/updates */
        char *state_path, *tuf_path, *status_path;
        struct tuf_client *tuf;
        char os_component[TUF_MAX_COMPONENT + 1];

        /* persisted (agent.json) */
        struct pending_os pending;
        size_t n_reports;
        struct report reports[RTD_AGENT_MAX_REPORTS];
        size_t n_failed;
        struct failed failed[RTD_AGENT_MAX_FAILED];
        size_t n_svn;
        struct app_svn svn[RTD_AGENT_MAX_APPS];

        /* this boot */
        unsigned trial_refusals;
        bool confirmed;
        size_t n_defer;
        struct deferral defer[TUF_MAX_IMAGES];
        unsigned long checks;
        time_t last_check;
        char last_result[32];
        char last_message[RP_ERR_MSG_MAX];
        struct tuf_plan plan;
        bool have_plan;

        /* rampartd's loop */
        struct event_base *base;
        struct event *ev;
        bool scheduled;
};

/* ---- small helpers ---- */

static void sha_hex(const uint8_t sha[CR_SHA256_LEN], char out[2 * CR_SHA256_LEN + 1])
{
        rp_hex_encode(sha, CR_SHA256_LEN, out);
}

static void copy_str(char *dst, size_t cap, const char *src)
{
        snprintf(dst, cap, "%s", src ? src : "");
}

/* Failure-event reason tokens are [a-z0-9_.-]; details printable. */
static void printable(char *dst, size_t cap, const char *src)
{
        size_t j = 0;
        for (size_t i = 0; src && src[i] && j + 1 < cap; i++)
                if ((unsigned char)src[i] >= 0x20 && src[i] != 0x7f)
                        dst[j++] = src[i];
        dst[j] = 0;
}

static long env_long(const char *name, long dflt, long min, long max)
{
        const char *s = getenv(name);
        char *end;
        long v;
        if (!s || !*s)
                return dflt;
        errno = 0;
        v = strtol(s, &end, 10);
        if (errno || *end || v < min || v > max) {
                rp_warn(LOG, "%s '%s' is not a number in %ld..%ld: using %ld", name, s, min, max,
                        dflt);
                return dflt;
        }
        return v;
}

static long jitter(long ms)
{
        uint32_t rnd = 0;
        long span = ms / 100 * RTD_AGENT_JITTER_PCT;
        if (span <= 0)
                return ms;
        if (cr_random(&rnd, sizeof(rnd)) < 0)
                rnd = (uint32_t)getpid();
        return ms - span + (long)(rnd % (uint32_t)(2 * span + 1));
}

static bool is_failed(const struct rtd_agent *a, const char *sha)
{
        for (size_t i = 0; i < a->n_failed; i++)
                if (!strcmp(a->failed[i].sha256, sha))
                        return true;
        return false;
}

static void add_failed(struct rtd_agent *a, const char *sha)
{
        if (is_failed(a, sha))
                return;
        if (a->n_failed == RTD_AGENT_MAX_FAILED) {
                memmove(&a->failed[0], &a->failed[1], sizeof(a->failed[0]) * (a->n_failed - 1));
                a->n_failed--;
        }
        copy_str(a->failed[a->n_failed++].sha256, sizeof(a->failed[0].sha256), sha);
}

/* One report per image: the newest status replaces an older one. */
static void add_report(struct rtd_agent *a, const char *sha, const char *status, const char *reason)
{
        struct report *r = NULL;
        for (size_t i = 0; i < a->n_reports; i++)
                if (!strcmp(a->reports[i].sha256, sha))
                        r = &a->reports[i];
        if (!r) {
                if (a->n_reports == RTD_AGENT_MAX_REPORTS) {
                        memmove(&a->reports[0], &a->reports[1],
                                sizeof(a->reports[0]) * (a->n_reports - 1));
                        a->n_reports--;
                }
                r = &a->reports[a->n_reports++];
        }
        copy_str(r->sha256, sizeof(r->sha256), sha);
        copy_str(r->status, sizeof(r->status), status);
        printable(r->reason, sizeof(r->reason), reason);
}

static uint64_t app_svn(const struct rtd_agent *a, const char *cid, bool *ret_known)
{
        for (size_t i = 0; i < a->n_svn; i++)
                if (!strcmp(a->svn[i].component_id, cid)) {
                        *ret_known = true;
                        return a->svn[i].svn;
                }
        *ret_known = false;
        return 0;
}

static void set_app_svn(struct rtd_agent *a, const char *cid, uint64_t svn)
{
        for (size_t i = 0; i < a->n_svn; i++)
                if (!strcmp(a->svn[i].component_id, cid)) {
                        a->svn[i].svn = svn;
                        return;
                }
        if (a->n_svn < RTD_AGENT_MAX_APPS) {
                copy_str(a->svn[a->n_svn].component_id, sizeof(a->svn[0].component_id), cid);
                a->svn[a->n_svn++].svn = svn;
        }
}

static void queue_event(struct rtd_agent *a, enum fail_class cls, const char *component,
                        const char *version, const char *reason, const char *detail)
{
        struct fail_event ev = {0};
        struct rp_err e = {0};
        time_t now = time(NULL);

        if (!a->cfg.failq)
                return;
        ev.cls = cls;
        copy_str(ev.component_id, sizeof(ev.component_id), component);
        copy_str(ev.component_version, sizeof(ev.component_version), version);
        copy_str(ev.reason, sizeof(ev.reason), reason);
        printable(ev.detail, sizeof(ev.detail), detail);
        ev.time_first = ev.time_last = now;
        ev.count = 1;
        if (rtd_failq_record(a->cfg.failq, &ev, &e) < 0)
                rp_warn(LOG, "update: cannot queue the %s event: %s", fail_class_name(cls), e.msg);
        fail_event_clear(&ev);
}

/* ---- persistent state ---- */

static json_t *image_json(const struct tuf_image *img)
{
        char sha[2 * CR_SHA256_LEN + 1];
        sha_hex(img->sha256, sha);
        return json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:s}", "name", img->name, "component_id",
                         img->component_id, "type", tuf_image_type_name(img->type), "version",
                         img->version, "svn", (json_int_t)img->svn, "length",
                         (json_int_t)img->length, "sha256", sha);
}

static int image_from_json(json_t *o, struct tuf_image *img)
{
        const char *name, *cid, *type, *version, *sha;
        json_int_t svn, length;
        if (json_unpack(o, "{s:s, s:s, s:s, s:s, s:I, s:I, s:s}", "name", &name, "component_id",
                        &cid, "type", &type, "version", &version, "svn", &svn, "length", &length,
                        "sha256", &sha) < 0 || svn < 0 || length <= 0 ||
            strlen(name) > TUF_MAX_NAME || strlen(cid) > TUF_MAX_COMPONENT ||
            strlen(version) > TUF_MAX_VERSION || strlen(sha) != 2 * CR_SHA256_LEN ||
            rp_hex_decode(sha, img->sha256, CR_SHA256_LEN) < 0)
                return -EINVAL;
        copy_str(img->name, sizeof(img->name), name);
        copy_str(img->component_id, sizeof(img->component_id), cid);
        copy_str(img->version, sizeof(img->version), version);
        img->type = !strcmp(type, "os") ? TUF_IMAGE_OS : TUF_IMAGE_APP;
        img->svn = (uint64_t)svn;
        img->length = (uint64_t)length;
        return 0;
}

static int save_state(struct rtd_agent *a, struct rp_err *err)
{
        _cleanup_(json_decrefp) json_t *o = json_object(), *reports = json_array(),
                                       *failed = json_array(), *svn = json_object();
        _cleanup_free_ char *text = NULL;

        if (!o || !reports || !failed || !svn)
                return rp_err_set(err, -ENOMEM, "out of memory");
        for (size_t i = 0; i < a->n_reports; i++)
                json_array_append_new(reports, json_pack("{s:s, s:s, s:s}", "sha256",
                                                         a->reports[i].sha256, "status",
                                                         a->reports[i].status, "reason",
                                                         a->reports[i].reason));
        for (size_t i = 0; i < a->n_failed; i++)
                json_array_append_new(failed, json_string(a->failed[i].sha256));
        for (size_t i = 0; i < a->n_svn; i++)
                json_object_set_new(svn, a->svn[i].component_id, json_integer((json_int_t)a->svn[i].svn));
        json_object_set_new(o, "format", json_string(STATE_FORMAT));
        if (a->pending.active)
                json_object_set_new(o, "pending_os",
                                    json_pack("{s:o, s:s, s:b, s:b, s:s}", "image",
                                              image_json(&a->pending.img), "slot", a->pending.slot,
                                              "activated", a->pending.activated, "booted",
                                              a->pending.booted, "trial_reason",
                                              a->pending.trial_reason));
        else
                json_object_set_new(o, "pending_os", json_null());
        json_object_set(o, "reports", reports);
        json_object_set(o, "refused", failed);
        json_object_set(o, "app_svn", svn);
        text = json_dumps(o, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
        if (!text)
                return rp_err_set(err, -ENOMEM, "cannot encode the agent state");
        RP_FAULT_POINT("agent-state");
        return rp_write_file_atomic(a->state_path, text, strlen(text), 0600, err);
}

static int load_state(struct rtd_agent *a, struct rp_err *err)
{
        _cleanup_free_ uint8_t *buf = NULL;
        _cleanup_(json_decrefp) json_t *o = NULL;
        json_error_t je;
        json_t *p, *v;
        size_t len, i;
        const char *k;
        int r;

        r = rp_read_file(a->state_path, RTD_AGENT_STATE_MAX, &buf, &len, err);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        o = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &je);
        if (!o || !json_is_object(o) || !json_is_string(json_object_get(o, "format")) ||
            strcmp(json_string_value(json_object_get(o, "format")), STATE_FORMAT))
                return rp_err_set(err, -EINVAL, "'%s' is not agent state (%s)", a->state_path,
                                  o ? "wrong format" : je.text);
        p = json_object_get(o, "pending_os");
        if (json_is_object(p)) {
                const char *slot, *reason;
                int act, booted;
                json_t *img;
                if (json_unpack(p, "{s:o, s:s, s:b, s:b, s:s}", "image", &img, "slot", &slot,
                                "activated", &act, "booted", &booted, "trial_reason", &reason) < 0 ||
                    image_from_json(img, &a->pending.img) < 0 ||
                    (strcmp(slot, "a") && strcmp(slot, "b")))
                        return rp_err_set(err, -EINVAL, "'%s': malformed pending_os", a->state_path);
                a->pending.active = true;
                sha_hex(a->pending.img.sha256, a->pending.sha256);
                copy_str(a->pending.slot, sizeof(a->pending.slot), slot);
                a->pending.activated = act;
                a->pending.booted = booted;
                printable(a->pending.trial_reason, sizeof(a->pending.trial_reason), reason);
        }
        json_array_foreach(json_object_get(o, "reports"), i, v) {
                const char *sha, *status, *reason;
                if (json_unpack(v, "{s:s, s:s, s:s}", "sha256", &sha, "status", &status, "reason",
                                &reason) == 0 && strlen(sha) == 2 * CR_SHA256_LEN)
                        add_report(a, sha, status, reason);
        }
        json_array_foreach(json_object_get(o, "refused"), i, v)
                if (json_is_string(v) && strlen(json_string_value(v)) == 2 * CR_SHA256_LEN)
                        add_failed(a, json_string_value(v));
        json_object_foreach(json_object_get(o, "app_svn"), k, v)
                if (json_is_integer(v) && json_integer_value(v) >= 0 &&
                    strlen(k) <= TUF_MAX_COMPONENT)
                        set_app_svn(a, k, (uint64_t)json_integer_value(v));
        return 0;
}

static int save_tuf(struct rtd_agent *a, struct rp_err *err)
{
        _cleanup_free_ char *text = NULL;
        size_t len;
        int r = tuf_client_save(a->tuf, &text, &len, err);
        if (r < 0)
                return r;
        return rp_write_file_atomic(a->tuf_path, text, len, 0600, err);
}

static void write_status(struct rtd_agent *a, const char *state)
{
        _cleanup_(json_decrefp) json_t *o = NULL, *imgs = json_array(), *reports = json_array();
        _cleanup_free_ char *text = NULL;
        struct tuf_versions v;
        struct rp_err e = {0};
        char when[21] = "";

        if (!imgs || !reports)
                return;
        tuf_client_versions(a->tuf, &v);
        if (a->last_check)
                tuf_time_format(a->last_check, when);
        for (size_t i = 0; a->have_plan && i < a->plan.n; i++)
                json_array_append_new(imgs, image_json(&a->plan.images[i]));
        for (size_t i = 0; i < a->n_reports; i++)
                json_array_append_new(reports, json_pack("{s:s, s:s, s:s}", "sha256",
                                                         a->reports[i].sha256, "status",
                                                         a->reports[i].status, "reason",
                                                         a->reports[i].reason));
        o = json_pack("{s:s, s:I, s:s, s:s, s:s, s:{s:I, s:I, s:I, s:I, s:I}, s:O, s:O, s:o, s:I}",
                      "state", state, "checks", (json_int_t)a->checks, "last_check", when,
                      "last_result", a->last_result, "message", a->last_message, "versions",
                      "root", (json_int_t)v.root, "timestamp", (json_int_t)v.timestamp, "snapshot",
                      (json_int_t)v.snapshot, "targets", (json_int_t)v.targets, "director",
                      (json_int_t)v.director, "assigned", imgs, "reports", reports, "pending_os",
                      a->pending.active ? json_string(a->pending.img.version) : json_null(),
                      "refused", (json_int_t)a->n_failed);
        if (!o || !(text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER)))
                return;
        if (rp_write_file_atomic(a->status_path, text, strlen(text), 0600, &e) < 0)
                rp_warn(LOG, "update: cannot write the status: %s", e.msg);
}

static void set_result(struct rtd_agent *a, const char *result, const char *msg)
{
        copy_str(a->last_result, sizeof(a->last_result), result);
        printable(a->last_message, sizeof(a->last_message), msg);
}

/* ---- start ---- */

static int load_tuf(struct rtd_agent *a, struct rp_err *err)
{
        _cleanup_free_ uint8_t *buf = NULL;
        _cleanup_free_ char *root = NULL;
        size_t len;
        int r;

        r = rp_read_file(a->tuf_path, TUF_MAX_STATE, &buf, &len, err);
        if (r == 0) {
                r = tuf_client_load(buf, len, a->cfg.bi->ueid, &a->tuf, err);
                if (r == 0)
                        return 0;
                rp_warn(LOG, "update: saved metadata state refused (%s): starting again from "
                        "the root in the OS image", err->msg);
        } else if (r != -ENOENT) {
                return r;
        }
        free(buf);
        buf = NULL;
        if (asprintf(&root, "%s/root.json", a->cfg.os_etc) < 0)
                return rp_err_set(err, -ENOMEM, "out of memory");
        r = rp_read_file(root, TUF_MAX_ROOT, &buf, &len, err);
        if (r < 0)
                return rp_err_prefix(err, "the OS image ships no update root");
        r = tuf_client_new_from_root(buf, len, a->cfg.bi->ueid, &a->tuf, err);
        if (r < 0)
                return rp_err_prefix(err, "update root '%s'", root);
        return save_tuf(a, err);
}

/* The OS image's own component id (etc/rampart/os.json). */
static int load_os_json(struct rtd_agent *a, struct rp_err *err)
{
        _cleanup_free_ uint8_t *buf = NULL;
        _cleanup_free_ char *path = NULL;
        _cleanup_(json_decrefp) json_t *o = NULL;
        const char *cid;
        size_t len;
        int r;

        if (asprintf(&path, "%s/os.json", a->cfg.os_etc) < 0)
                return rp_err_set(err, -ENOMEM, "out of memory");
        r = rp_read_file(path, OS_JSON_MAX, &buf, &len, err);
        if (r < 0)
                return rp_err_prefix(err, "the OS image does not describe itself");
        o = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, NULL);
        if (!o || json_unpack(o, "{s:s}", "component_id", &cid) < 0 || !tuf_valid_component_id(cid))
                return rp_err_set(err, -EINVAL, "'%s': no valid component_id", path);
        copy_str(a->os_component, sizeof(a->os_component), cid);
        return 0;
}

static bool running_pending(const struct rtd_agent *a)
{
        return a->pending.active && !strcmp(a->cfg.bi->slot, a->pending.slot) &&
               !strcmp(a->cfg.bi->os_version, a->pending.img.version);
}

/* What the previous boot left behind. */
static int settle(struct rtd_agent *a, struct rp_err *err)
{
        char reason[RTD_AGENT_REASON_MAX + 1];

        if (!a->pending.active)
                return 0;
        if (running_pending(a)) {
                if (!a->pending.booted) {
                        a->pending.booted = true;
                        return save_state(a, err);
                }
                return 0;
        }
        if (!a->pending.activated && !a->pending.booted) {
                rp_info(LOG, "update: the install of OS %s did not complete before the power "
                        "went: the next check-in does it again", a->pending.img.version);
                a->pending.active = false;
                return save_state(a, err);
        }
        if (a->pending.trial_reason[0])
                snprintf(reason, sizeof(reason), "%s", a->pending.trial_reason);
        else
                snprintf(reason, sizeof(reason), "OS %s in slot %s was not confirmed within its "
                         "boot attempts (it never came up to attest)", a->pending.img.version,
                         a->pending.slot);
        rp_warn(LOG, "update: OS %s reverted: running %s %s from slot %s: %s",
                a->pending.img.version, a->cfg.bi->os_name, a->cfg.bi->os_version, a->cfg.bi->slot,
                reason);
        add_report(a, a->pending.sha256, "reverted", reason);
        add_failed(a, a->pending.sha256);
        queue_event(a, FAIL_REVERT, a->pending.img.component_id, a->pending.img.version,
                    "trial_not_confirmed", reason);
        a->pending.active = false;
        return save_state(a, err);
}

int rtd_agent_new(const struct rtd_agent_config *cfg, struct rtd_agent **ret, struct rp_err *err)
{
        struct rtd_agent *a = calloc(1, sizeof(*a));
        int r;

        if (!a)
                return rp_err_set(err, -ENOMEM, "out of memory");
        a->cfg = *cfg;
        if (!a->cfg.interval_ms)
                a->cfg.interval_ms = env_long("RAMPARTD_UPDATE_INTERVAL_MS",
                                              RTD_AGENT_DEFAULT_INTERVAL_MS, 100, 7L * 86400 * 1000);
        if (!a->cfg.retry_ms)
                a->cfg.retry_ms = env_long("RAMPARTD_UPDATE_RETRY_MS", RTD_AGENT_DEFAULT_RETRY_MS,
                                           100, 86400L * 1000);
        if (!a->cfg.trial_attempts)
                a->cfg.trial_attempts = (unsigned)env_long("RAMPARTD_UPDATE_TRIAL_ATTEMPTS",
                                                           RTD_AGENT_DEFAULT_TRIAL_ATTEMPTS,
                                                           RTD_INSTALL_MIN_ATTEMPTS,
                                                           RTD_INSTALL_MAX_ATTEMPTS);
        if (!a->cfg.min_rate)
                a->cfg.min_rate = env_long("RAMPARTD_UPDATE_MIN_RATE", RTD_DL_DEFAULT_MIN_RATE, 1,
                                           1L << 30);
        if (!a->cfg.low_speed_s)
                a->cfg.low_speed_s = env_long("RAMPARTD_UPDATE_LOW_SPEED_S",
                                              RTD_DL_DEFAULT_LOW_SPEED_S, 1, 3600);
        if (!a->cfg.max_defer_s)
                a->cfg.max_defer_s = env_long("RAMPARTD_UPDATE_MAX_DEFER_S", RTD_AGENT_MAX_DEFER_S,
                                              0, 7L * 86400);
        copy_str(a->last_result, sizeof(a->last_result), "none");
        if (asprintf(&a->dir, "%s/%s", cfg->data_dir, UPDATES_DIR) < 0 ||
            asprintf(&a->state_path, "%s/agent.json", a->dir) < 0 ||
            asprintf(&a->tuf_path, "%s/tuf.json", a->dir) < 0 ||
            asprintf(&a->status_path, "%s/status.json", a->dir) < 0) {
                rtd_agent_free(a);
                return rp_err_set(err, -ENOMEM, "out of memory");
        }
        r = rp_mkdir_p(a->dir, 0700);
        if (r < 0)
                r = rp_err_set(err, r, "cannot create '%s': %s", a->dir, strerror(-r));
        if (r == 0)
                r = load_os_json(a, err);
        if (r == 0)
                r = load_tuf(a, err);
        if (r == 0)
                r = load_state(a, err);
        if (r == 0)
                r = settle(a, err);
        if (r < 0) {
                rtd_agent_free(a);
                return rp_err_prefix(err, "update agent");
        }
        write_status(a, "idle");
        *ret = a;
        return 0;
}

void rtd_agent_free(struct rtd_agent *a)
{
        if (!a)
                return;
        if (a->ev)
                event_free(a->ev);
        tuf_client_free(a->tuf);
        free(a->dir);
        free(a->state_path);
        free(a->tuf_path);
        free(a->status_path);
        free(a);
}

long rtd_agent_first_delay_ms(const struct rtd_agent *a)
{
        (void)a;
        return 0;
}

/* ---- after an attestation ---- */

static int request_reboot(struct rtd_agent *a, const char *why)
{
        struct rp_err e = {0};
        rp_info(LOG, "update: rebooting (%s)", why);
        write_status(a, "rebooting");
        if (mon_reboot(a->cfg.mon, &e) < 0)
                rp_warn(LOG, "update: the monitor refused the reboot: %s", e.msg);
        return RTD_AGENT_REBOOT;
}

int rtd_agent_attested(struct rtd_agent *a, bool ok, const char *reason, const char *message)
{
        struct rp_err e = {0};
        uint64_t floor = 0;

        if (!running_pending(a))
                return RTD_AGENT_CONTINUE;
        if (!ok) {
                if (!strcmp(reason, "unreachable"))
                        return RTD_AGENT_CONTINUE;      /* no verdict: not the release's fault */
                snprintf(a->pending.trial_reason, sizeof(a->pending.trial_reason),
                         "OS %s failed to attest: reason=%s: %s", a->pending.img.version, reason,
                         message);
                if (save_state(a, &e) < 0)
                        rp_warn(LOG, "update: %s", e.msg);
                if (!a->cfg.bi->trial)
                        return RTD_AGENT_CONTINUE;
                if (++a->trial_refusals < RTD_AGENT_TRIAL_FAILURES)
                        return RTD_AGENT_CONTINUE;
                return request_reboot(a, "the trial OS cannot attest; its boot attempts run out "
                                      "and rampart-boot reverts");
        }
        if (a->confirmed)
                return RTD_AGENT_CONTINUE;
        /* attested with the new measurements: only now confirm, then the floor */
        RP_FAULT_POINT("agent-confirm");
        if (mon_confirm(a->cfg.mon, &e) < 0) {
                rp_error(LOG, "update: the monitor refused to confirm slot %s: %s",
                         a->cfg.bi->slot, e.msg);
                return RTD_AGENT_CONTINUE;
        }
        RP_FAULT_POINT("agent-confirmed");
        if (mon_counter_advance(a->cfg.mon, OS_COUNTER, a->pending.img.svn, &floor, &e) < 0) {
                rp_error(LOG, "update: cannot raise the OS floor to svn %" PRIu64 ": %s",
                         a->pending.img.svn, e.msg);
                return RTD_AGENT_CONTINUE;
        }
        RP_FAULT_POINT("agent-floor");
        a->confirmed = true;
        rp_info(LOG, "update: OS %s attested and confirmed in slot %s; anti-rollback floor now "
                "svn %" PRIu64, a->pending.img.version, a->cfg.bi->slot, floor);
        add_report(a, a->pending.sha256, "installed", "");
        a->pending.active = false;
        if (save_state(a, &e) < 0)
                rp_warn(LOG, "update: %s", e.msg);
        write_status(a, "idle");
        return RTD_AGENT_CONTINUE;
}

/* ---- the check-in ---- */

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
                rp_warn(LOG, "update: TLS signature by the monitor failed: %s", e.msg);
        return r;
}

static int checkin_body(struct rtd_agent *a, char **ret, struct rp_err *err)
{
        _cleanup_(json_decrefp) json_t *o = NULL, *inst = json_array(), *reports = json_array();
        struct rtd_agent_app apps[RTD_AGENT_MAX_APPS];
        struct tuf_versions v;
        int n = 0;

        if (!inst || !reports)
                return rp_err_set(err, -ENOMEM, "out of memory");
        tuf_client_versions(a->tuf, &v);
        json_array_append_new(inst, json_pack("{s:s, s:s, s:s, s:I}", "component_id",
                                              a->os_component, "type", "os", "version",
                                              a->cfg.bi->os_version, "svn",
                                              (json_int_t)a->cfg.bi->svn));
        if (a->cfg.apps.list) {
                n = a->cfg.apps.list(a->cfg.apps.ud, apps, RTD_AGENT_MAX_APPS);
                if (n < 0)
                        n = 0;
        }
        for (int i = 0; i < n; i++) {
                bool known;
                uint64_t svn = app_svn(a, apps[i].component_id, &known);
                json_array_append_new(inst, json_pack("{s:s, s:s, s:s, s:I}", "component_id",
                                                      apps[i].component_id, "type", "app",
                                                      "version", apps[i].version, "svn",
                                                      (json_int_t)svn));
        }
        for (size_t i = 0; i < a->n_reports; i++) {
                json_t *r = json_pack("{s:s, s:s}", "sha256", a->reports[i].sha256, "status",
                                      a->reports[i].status);
                if (r && a->reports[i].reason[0] && (!strcmp(a->reports[i].status, "failed") ||
                                                     !strcmp(a->reports[i].status, "reverted")))
                        json_object_set_new(r, "reason", json_string(a->reports[i].reason));
                json_array_append_new(reports, r);
        }
        o = json_pack("{s:I, s:O, s:O}", "root_version", (json_int_t)v.root, "installed", inst,
                      "reports", reports);
        if (!o || !(*ret = json_dumps(o, JSON_COMPACT)))
                return rp_err_set(err, -ENOMEM, "out of memory");
        return 0;
}

/* The device group's settings in a check-in reply (the mTLS exchange
 * vouches for them; they are not part of the signed metadata). A reply
 * without `policy` (an older service) changes nothing; a malformed one is
 * logged and ignored, so the last known opt-in stays. */
static void apply_policy(struct rtd_agent *a, json_t *pol)
{
        json_t *cd = pol ? json_object_get(pol, "crash_dumps") : NULL;
        if (!pol)
                return;
        if (!json_is_object(pol) || !json_is_boolean(cd)) {
                rp_warn(LOG, "check-in reply: policy is not an object with a boolean "
                        "crash_dumps: ignored");
                return;
        }
        if (a->cfg.policy)
                a->cfg.policy(a->cfg.policy_ud, json_is_true(cd));
}

/* The metadata of a check-in reply through the TUF client. On success
 * *ret_targets borrows the verified targets envelope inside `reply`. */
static int verify_reply(struct rtd_agent *a, json_t *reply, time_t now, const char **ret_targets,
                        size_t *ret_targets_len, struct rp_err *err)
{
        json_t *roots = json_object_get(reply, "roots"), *deleg = json_object_get(reply, "delegated");
        json_t *ts = json_object_get(reply, "timestamp"), *sn = json_object_get(reply, "snapshot");
        json_t *tg = json_object_get(reply, "targets"), *dr = json_object_get(reply, "director");
        json_t *v;
        const char *k;
        size_t i;
        int r;

        if ((roots && !json_is_array(roots)) || !json_is_string(ts) || !json_is_string(sn) ||
            !json_is_string(tg) || !json_is_string(dr) || (deleg && !json_is_object(deleg)))
                return rp_err_set(err, -EPROTO, "check-in reply: roots, timestamp, snapshot, "
                                  "targets, delegated or director missing or of the wrong type");
        json_array_foreach(roots, i, v) {
                if (!json_is_string(v))
                        return rp_err_set(err, -EPROTO, "check-in reply: roots[%zu] is not a "
                                          "string", i);
                r = tuf_client_update_root(a->tuf, json_string_value(v), json_string_length(v), err);
                if (r < 0)
                        return r;
        }
        r = tuf_client_update_timestamp(a->tuf, json_string_value(ts), json_string_length(ts), now,
                                        err);
        if (r == 0)
                r = tuf_client_update_snapshot(a->tuf, json_string_value(sn),
                                               json_string_length(sn), now, err);
        if (r == 0)
                r = tuf_client_update_targets(a->tuf, json_string_value(tg),
                                              json_string_length(tg), now, err);
        if (r < 0)
                return r;
        json_object_foreach(deleg, k, v) {
                if (!json_is_string(v))
                        return rp_err_set(err, -EPROTO, "check-in reply: delegated '%.32s' is "
                                          "not a string", k);
                r = tuf_client_update_delegated(a->tuf, k, json_string_value(v),
                                                json_string_length(v), now, err);
                if (r < 0)
                        return r;
        }
        r = tuf_client_update_director(a->tuf, json_string_value(dr), json_string_length(dr), now,
                                       err);
        if (r < 0)
                return r;
        *ret_targets = json_string_value(tg);
        *ret_targets_len = json_string_length(tg);
        return 0;
}

static void image_failed(struct rtd_agent *a, const struct tuf_image *img, const char *sha,
                         const char *reason_token, const char *msg, bool refuse_for_good)
{
        rp_error(LOG, "update: image '%s' (%s %s, svn %" PRIu64 ") failed: %s", img->name,
                 tuf_image_type_name(img->type), img->version, img->svn, msg);
        add_report(a, sha, "failed", msg);
        if (refuse_for_good)
                add_failed(a, sha);
        queue_event(a, FAIL_UPDATE_FAIL, img->component_id, img->version, reason_token, msg);
}

/* Is `img` something to install now? Sets *ret_skip_reason for logs. */
static bool wanted(struct rtd_agent *a, const struct tuf_image *img, const char *sha,
                   const struct rtd_agent_app *apps, int n_apps)
{
        if (is_failed(a, sha))
                return false;
        if (img->type == TUF_IMAGE_OS)
                return strcmp(img->version, a->cfg.bi->os_version) != 0 &&
                       !(a->pending.active && !strcmp(a->pending.sha256, sha));
        for (int i = 0; i < n_apps; i++)
                if (!strcmp(apps[i].component_id, img->component_id))
                        return strcmp(apps[i].version, img->version) != 0;
        return true;
}

/* Refuses an image below what runs or below the floor. */
static int check_svn(struct rtd_agent *a, const struct tuf_image *img, struct rp_err *err)
{
        if (img->type == TUF_IMAGE_OS) {
                uint64_t floor = 0;
                struct rp_err e = {0};
                if (img->svn < a->cfg.bi->svn)
                        return rp_err_set(err, -EPERM, "svn %" PRIu64 " is below the running OS's "
                                          "svn %" PRIu64 " (rollback refused)", img->svn,
                                          a->cfg.bi->svn);
                if (mon_counter_read(a->cfg.mon, OS_COUNTER, &floor, &e) == 0 &&
                    img->svn < floor)
                        return rp_err_set(err, -EPERM, "svn %" PRIu64 " is below the device's "
                                          "anti-rollback floor %" PRIu64 " (rollback refused)",
                                          img->svn, floor);
                return 0;
        }
        bool known;
        uint64_t floor = app_svn(a, img->component_id, &known);
        if (known && img->svn < floor)
                return rp_err_set(err, -EPERM, "svn %" PRIu64 " is below the installed app's "
                                  "svn %" PRIu64 " (rollback refused)", img->svn, floor);
        return 0;
}

/* Downloads `img` to DIR/<sha>.pkg (or finds it there). */
static int fetch(struct rtd_agent *a, const struct rtd_dl *dl, const struct tuf_image *img,
                 const char *sha, char **ret_path, struct rp_err *err)
{
        _cleanup_free_ char *path = NULL, *url = NULL;
        struct rtd_dl_result res;
        struct stat st;
        int r;

        if (asprintf(&path, "%s/%s.pkg", a->dir, sha) < 0 ||
            asprintf(&url, "%s%s", IMAGES_PATH, sha) < 0)
                return rp_err_set(err, -ENOMEM, "out of memory");
        if (stat(path, &st) == 0) {
                uint8_t got[CR_SHA256_LEN];
                uint64_t len;
                if (rtd_dl_hash_file(path, got, &len, err) == 0 && len == img->length &&
                    cr_memeq(got, img->sha256, CR_SHA256_LEN)) {
                        *ret_path = steal_ptr(path);
                        return 0;
                }
                unlink(path);
        }
        add_report(a, sha, "downloading", "");
        write_status(a, "downloading");
        rp_info(LOG, "update: downloading '%s' (%" PRIu64 " bytes)", img->name, img->length);
        r = rtd_dl_image(dl, url, path, img->length, img->sha256, &res, err);
        if (r < 0)
                return r;
        rp_info(LOG, "update: downloaded '%s' (%" PRIu64 " bytes%s)", img->name, img->length,
                res.resumed_from ? ", resumed" : "");
        *ret_path = steal_ptr(path);
        return 0;
}

static int install_app(struct rtd_agent *a, const struct tuf_image *img, const char *sha,
                       const char *pkg, const char *targets, size_t targets_len,
                       struct rp_err *err)
{
        struct cr_key **keys = NULL;
        size_t n_keys = 0;
        _cleanup_close_ int fd = -1;
        const char *role = tuf_client_role_for(a->tuf, img->name);
        int r;

        if (!a->cfg.apps.install)
                return rp_err_set(err, -ENOSYS, "this device runs no app supervisor");
        if (!role)
                return rp_err_set(err, -ENOENT, "no delegation covers '%s'", img->name);
        r = rtd_install_role_keys((const uint8_t *)targets, targets_len, role, &keys, &n_keys, err);
        if (r < 0)
                return r;
        r = rtd_install_check(pkg, keys, n_keys, img, &fd, NULL, err);
        if (r == 0) {
                write_status(a, "installing");
                r = a->cfg.apps.install(a->cfg.apps.ud, fd, keys, n_keys, err);
        }
        rtd_install_keys_free(keys, n_keys);
        if (r < 0)
                return r;
        RP_FAULT_POINT("agent-app-installed");
        set_app_svn(a, img->component_id, img->svn);
        add_report(a, sha, "installed", "");
        rp_info(LOG, "update: app %s %s (svn %" PRIu64 ") installed", img->component_id,
                img->version, img->svn);
        return 0;
}

static int install_os(struct rtd_agent *a, const struct tuf_image *img, const char *sha,
                      const char *pkg, struct rp_err *err)
{
        char slot[2];
        int r;

        /* verified here first, against the root's platform targets keys;
         * the monitor verifies again against the fused platform keys */
        {
                struct cr_key **keys = NULL;
                size_t n_keys = 0;
                int fd = -1;
                r = rtd_install_root_targets_keys(tuf_client_root(a->tuf), &keys, &n_keys, err);
                if (r == 0)
                        r = rtd_install_check(pkg, keys, n_keys, img, &fd, NULL, err);
                rtd_install_keys_free(keys, n_keys);
                if (fd >= 0)
                        close(fd);
                if (r < 0)
                        return r;
        }
        /* recorded first: a power loss during install-os is recognised */
        memset(&a->pending, 0, sizeof(a->pending));
        a->pending.active = true;
        a->pending.img = *img;
        copy_str(a->pending.sha256, sizeof(a->pending.sha256), sha);
        a->pending.slot[0] = a->cfg.bi->slot[0] == 'a' ? 'b' : 'a';
        r = save_state(a, err);
        if (r < 0)
                return r;
        RP_FAULT_POINT("agent-os-pending");
        write_status(a, "installing");
        r = rtd_install_os(a->cfg.mon, pkg, a->cfg.trial_attempts, slot, err);
        if (r < 0) {
                a->pending.active = false;
                return r;
        }
        RP_FAULT_POINT("agent-os-activated");
        copy_str(a->pending.slot, sizeof(a->pending.slot), slot);
        a->pending.activated = true;
        r = save_state(a, err);
        if (r < 0)
                return r;
        unlink(pkg);
        rp_info(LOG, "update: OS %s (svn %" PRIu64 ") installed into slot %s as a trial with %u "
                "boot attempts", img->version, img->svn, slot, a->cfg.trial_attempts);
        return 0;
}

/* Deferral by apps: true when the image waits. */
static bool deferred(struct rtd_agent *a, const struct tuf_image *img, const char *sha, time_t now,
                     long *next_ms)
{
        struct deferral *d = NULL;
        time_t until;

        if (!a->cfg.apps.update_pending)
                return false;
        until = a->cfg.apps.update_pending(a->cfg.apps.ud,
                                           img->type == TUF_IMAGE_OS ? NULL : img->component_id);
        for (size_t i = 0; i < a->n_defer; i++)
                if (!strcmp(a->defer[i].sha256, sha))
                        d = &a->defer[i];
        if (until <= now)
                return false;
        if (!d) {
                if (a->n_defer == TUF_MAX_IMAGES)
                        a->n_defer = 0;         /* forget the oldest deferrals */
                d = &a->defer[a->n_defer++];
                copy_str(d->sha256, sizeof(d->sha256), sha);
                d->since = now;
        }
        if (d && now - d->since >= a->cfg.max_defer_s) {
                rp_info(LOG, "update: '%s' was deferred for %ld s, the limit: installing now",
                        img->name, (long)(now - d->since));
                return false;
        }
        if (d && until > d->since + a->cfg.max_defer_s)
                until = d->since + a->cfg.max_defer_s;
        {
                char t[21];
                tuf_time_format(until, t);
                rp_info(LOG, "update: '%s' deferred by an app until %s", img->name, t);
        }
        if ((until - now) * 1000 < *next_ms)
                *next_ms = (long)(until - now) * 1000;
        return true;
}

static void defer_done(struct rtd_agent *a, const struct tuf_image *img)
{
        if (a->cfg.apps.update_done)
                a->cfg.apps.update_done(a->cfg.apps.ud,
                                        img->type == TUF_IMAGE_OS ? NULL : img->component_id);
}

/* Downloads of images the assignment no longer names are deleted. */
static void prune_downloads(struct rtd_agent *a)
{
        DIR *dir = opendir(a->dir);
        struct dirent *de;

        if (!dir)
                return;
        while ((de = readdir(dir))) {
                const char *dot = strchr(de->d_name, '.');
                bool keep = false;
                if (!dot || (size_t)(dot - de->d_name) != 2 * CR_SHA256_LEN ||
                    (strcmp(dot, ".pkg") && strcmp(dot, ".pkg.part")))
                        continue;
                for (size_t i = 0; i < a->plan.n && !keep; i++) {
                        char sha[2 * CR_SHA256_LEN + 1];
                        sha_hex(a->plan.images[i].sha256, sha);
                        keep = !strncmp(de->d_name, sha, 2 * CR_SHA256_LEN);
                }
                if (!keep && unlinkat(dirfd(dir), de->d_name, 0) == 0)
                        rp_info(LOG, "update: removed '%s' (no longer assigned)", de->d_name);
        }
        closedir(dir);
}

int rtd_agent_check(struct rtd_agent *a, time_t now, long *ret_next_ms, struct rp_err *err)
{
        _cleanup_(cr_monitor_key_freep) struct cr_monitor_key *mk = NULL;
        _cleanup_free_ char *body = NULL, *reply = NULL;
        _cleanup_(json_decrefp) json_t *js = NULL;
        struct rtd_cert cert = {0};
        struct signer signer = {a->cfg.mon, 0};
        struct rtd_dl dl = {.base = a->cfg.server, .ca_file = a->cfg.ca_file,
                            .min_rate = a->cfg.min_rate, .low_speed_s = a->cfg.low_speed_s};
        struct rtd_agent_app apps[RTD_AGENT_MAX_APPS];
        const char *targets = NULL;
        size_t targets_len = 0, reply_len, sent_reports;
        const struct tuf_image *os = NULL;
        long status = 0, next = jitter(a->cfg.interval_ms);
        bool transient = false;
        int r, n_apps = 0;
        struct rp_err e = {0};

        a->checks++;
        a->last_check = now;
        *ret_next_ms = jitter(a->cfg.retry_ms < a->cfg.interval_ms ? a->cfg.retry_ms
                                                                   : a->cfg.interval_ms);
        write_status(a, "checking");
        r = rtd_cert_load(a->cfg.data_dir, RTD_PURPOSE_PLATFORM, &cert, err);
        if (r == 0 && !rtd_cert_usable(&cert, a->cfg.bi->bootcount, now))
                r = rp_err_set(err, -EAGAIN, "the platform certificate is not usable in this boot");
        if (r == 0) {
                signer.handle = cert.handle;
                r = cr_monitor_key_new(cert.cert, monitor_sign, &signer, &mk, err);
        }
        rtd_cert_clear(&cert);
        if (r < 0) {
                set_result(a, "not_attested", err->msg);
                write_status(a, "idle");
                return rp_err_prefix(err, "check-in postponed");
        }
        dl.client = mk;
        r = checkin_body(a, &body, err);
        if (r < 0)
                return r;
        sent_reports = a->n_reports;
        r = rtd_dl_post_json(&dl, CHECKIN_PATH, body, RTD_DL_MAX_CHECKIN_REPLY, &status, &reply,
                             &reply_len, err);
        if (r == 0 && status != 200)
                r = rp_err_set(err, status == 503 ? -EAGAIN : -EPROTO, "check-in: HTTP %ld: %.160s",
                               status, reply);
        if (r < 0) {
                set_result(a, "unreachable", err->msg);
                write_status(a, "idle");
                return r;
        }
        /* the service has the reports now */
        if (sent_reports) {
                memmove(&a->reports[0], &a->reports[sent_reports],
                        sizeof(a->reports[0]) * (a->n_reports - sent_reports));
                a->n_reports -= sent_reports;
        }
        js = json_loadb(reply, reply_len, JSON_REJECT_DUPLICATES, NULL);
        if (!js || !json_is_object(js))
                r = rp_err_set(err, -EPROTO, "check-in reply is not a JSON object");
        if (r == 0)
                apply_policy(a, json_object_get(js, "policy"));
        if (r == 0)
                r = verify_reply(a, js, now, &targets, &targets_len, err);
        if (r == 0)
                r = tuf_resolve(a->tuf, &a->plan, err);
        if (save_tuf(a, &e) < 0)
                rp_warn(LOG, "update: cannot save the metadata state: %s", e.msg);
        if (r < 0) {
                rp_error(LOG, "update: metadata refused: %s", err->msg);
                set_result(a, "refused", err->msg);
                queue_event(a, FAIL_UPDATE_FAIL, a->cfg.bi->os_name, a->cfg.bi->os_version,
                            "metadata_refused", err->msg);
                a->have_plan = false;
                if (save_state(a, &e) < 0)
                        rp_warn(LOG, "update: %s", e.msg);
                write_status(a, "idle");
                *ret_next_ms = next;
                return r;
        }
        a->have_plan = true;
        prune_downloads(a);
        if (a->cfg.apps.list) {
                n_apps = a->cfg.apps.list(a->cfg.apps.ud, apps, RTD_AGENT_MAX_APPS);
                if (n_apps < 0)
                        n_apps = 0;
        }
        set_result(a, "ok", "");
        for (size_t i = 0; i < a->plan.n; i++) {
                const struct tuf_image *img = &a->plan.images[i];
                _cleanup_free_ char *pkg = NULL;
                char sha[2 * CR_SHA256_LEN + 1];
                struct rp_err ie = {0};

                sha_hex(img->sha256, sha);
                if (!wanted(a, img, sha, apps, n_apps))
                        continue;
                if (img->type == TUF_IMAGE_OS) {
                        os = img;       /* last: it reboots */
                        continue;
                }
                if (check_svn(a, img, &ie) < 0) {
                        image_failed(a, img, sha, "svn_rollback", ie.msg, true);
                        continue;
                }
                if (deferred(a, img, sha, now, &next))
                        continue;
                r = fetch(a, &dl, img, sha, &pkg, &ie);
                if (r == 0)
                        r = install_app(a, img, sha, pkg, targets, targets_len, &ie);
                if (r == -EAGAIN) {
                        transient = true;
                        rp_warn(LOG, "update: download of '%s' interrupted: %s", img->name, ie.msg);
                        set_result(a, "interrupted", ie.msg);
                } else if (r < 0) {
                        image_failed(a, img, sha, r == -EBADMSG || r == -EPROTO ? "download"
                                                                                 : "install",
                                     ie.msg, r != -EBADMSG && r != -EPROTO);
                        set_result(a, "failed", ie.msg);
                }
                if (pkg && r != -EAGAIN)
                        unlink(pkg);
                if (r != -EAGAIN)
                        defer_done(a, img);
        }
        if (os) {
                _cleanup_free_ char *pkg = NULL;
                char sha[2 * CR_SHA256_LEN + 1];
                struct rp_err ie = {0};

                sha_hex(os->sha256, sha);
                bool other = strcmp(os->component_id, a->os_component) != 0;
                r = other ? rp_err_set(&ie, -EPERM, "component %s is not this device's OS (%s)",
                                       os->component_id, a->os_component)
                          : check_svn(a, os, &ie);
                if (r < 0) {
                        image_failed(a, os, sha, other ? "wrong_component" : "svn_rollback",
                                     ie.msg, true);
                        set_result(a, "failed", ie.msg);
                } else if (!deferred(a, os, sha, now, &next)) {
                        r = fetch(a, &dl, os, sha, &pkg, &ie);
                        if (r == 0)
                                r = install_os(a, os, sha, pkg, &ie);
                        if (r == 0) {
                                defer_done(a, os);
                                if (save_state(a, &e) < 0)
                                        rp_warn(LOG, "update: %s", e.msg);
                                *ret_next_ms = next;
                                return request_reboot(a, "a new OS waits in the other slot");
                        }
                        if (r == -EAGAIN) {
                                transient = true;
                                rp_warn(LOG, "update: download of '%s' interrupted: %s",
                                        os->name, ie.msg);
                                set_result(a, "interrupted", ie.msg);
                        } else {
                                /* only the monitor's verdict (install-os refused)
                                 * refuses the image for good; a monitor that went away
                                 * (power loss) or a local error is tried again */
                                image_failed(a, os, sha, r == -EBADMSG || r == -EPROTO
                                                                 ? "download" : "install",
                                             ie.msg, r == -EKEYREJECTED);
                                set_result(a, "failed", ie.msg);
                                if (pkg)
                                        unlink(pkg);
                                defer_done(a, os);
                        }
                }
        }
        if (save_state(a, &e) < 0)
                rp_warn(LOG, "update: %s", e.msg);
        write_status(a, "idle");
        *ret_next_ms = transient ? *ret_next_ms : next;
        /* reports waiting (failed, installed): deliver them soon */
        if (a->n_reports && *ret_next_ms > a->cfg.retry_ms)
                *ret_next_ms = jitter(a->cfg.retry_ms);
        return RTD_AGENT_CONTINUE;
}

/* ---- rampartd's event loop ---- */

static int sup_install(void *ud, int fd, struct cr_key *const *trusted, size_t n_trusted,
                       struct rp_err *err)
{
        return rtd_sup_install(ud, fd, trusted, n_trusted, NULL, err);
}

static time_t sup_pending(void *ud, const char *component_id)
{
        return rtd_sup_update_pending(ud, component_id);
}

static void sup_done(void *ud, const char *component_id)
{
        rtd_sup_update_done(ud, component_id);
}

static const char *apps_data_dir;

static int sup_list(void *ud, struct rtd_agent_app *out, size_t cap)
{
        struct rtd_app_info *info = NULL;
        size_t n = 0, k = 0;
        int r = rtd_apps_load(apps_data_dir, &info, &n, NULL, 0);

        (void)ud;
        if (r < 0)
                return r;
        for (size_t i = 0; i < n && k < cap; i++, k++) {
                copy_str(out[k].component_id, sizeof(out[k].component_id), info[i].m.component_id);
                copy_str(out[k].version, sizeof(out[k].version), info[i].version);
        }
        free(info);
        return (int)k;
}

static void schedule_check(struct rtd_agent *a, long ms)
{
        struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
        evtimer_add(a->ev, &tv);
        a->scheduled = true;
}

static void on_timer(evutil_socket_t fd, short what, void *ud)
{
        struct rtd_agent *a = ud;
        struct rp_err e = {0};
        long next = a->cfg.retry_ms;
        int r;

        (void)fd;
        (void)what;
        r = rtd_agent_check(a, time(NULL), &next, &e);
        if (r == RTD_AGENT_REBOOT) {
                event_base_loopbreak(a->base);
                return;
        }
        if (r < 0)
                rp_warn(LOG, "update: check-in %lu: %s; next in %ld ms", a->checks, e.msg, next);
        else
                rp_info(LOG, "update: check-in %lu done (%s); next in %ld ms", a->checks,
                        a->last_result, next);
        schedule_check(a, next);
}

int rtd_agent_start(const struct rtd_agent_config *cfg, struct event_base *base,
                    struct rtd_sup *sup, struct rtd_agent **ret, struct rp_err *err)
{
        struct rtd_agent_config c = *cfg;
        _cleanup_free_ char *etc = NULL;
        struct rtd_agent *a;
        char exe[4096];
        int r;

        if (!c.os_etc) {
                /* the OS image's etc/rampart, next to bin/rampartd */
                ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
                char *slash;
                if (n <= 0)
                        return rp_err_set(err, -errno, "cannot find rampartd's own path");
                exe[n] = 0;
                slash = strrchr(exe, '/');
                if (slash)
                        *slash = 0;
                if (asprintf(&etc, "%s/../etc/rampart", exe) < 0)
                        return rp_err_set(err, -ENOMEM, "out of memory");
                c.os_etc = etc;
        }
        if (sup) {
                apps_data_dir = cfg->data_dir;
                c.apps = (struct rtd_agent_apps){.ud = sup, .install = sup_install,
                                                 .list = sup_list, .update_pending = sup_pending,
                                                 .update_done = sup_done};
        }
        r = rtd_agent_new(&c, &a, err);
        if (r < 0)
                return r;
        a->cfg.os_etc = NULL;           /* read at start only */
        a->base = base;
        a->ev = evtimer_new(base, on_timer, a);
        if (!a->ev) {
                rtd_agent_free(a);
                return rp_err_set(err, -ENOMEM, "cannot create the update timer");
        }
        *ret = a;
        return 0;
}

void rtd_agent_on_attest(struct rtd_agent *a, bool ok, const char *reason, const char *message)
{
        if (!a)
                return;
        if (rtd_agent_attested(a, ok, reason, message) == RTD_AGENT_REBOOT) {
                event_base_loopbreak(a->base);
                return;
        }
        if (ok && !a->scheduled)
                schedule_check(a, rtd_agent_first_delay_ms(a));
}

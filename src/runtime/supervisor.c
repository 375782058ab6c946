/* supervisor.c - see supervisor.h. */
#include "runtime/supervisor.h"

#include <event2/event.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <poll.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../include/rampart/rampart.h"
#include "lib/cleanup.h"
#include "lib/fileio.h"
#include "lib/log.h"
#include "monitor/mon_client.h"
#include "runtime/appctl.h"
#include "runtime/apps.h"
#include "runtime/certs.h"
#include "runtime/crash.h"
#include "runtime/failures.h"
#include "runtime/http_client.h"
#include "crypto/monitor_key.h"
#include "sandbox/periph.h"
#include "sandbox/sandbox.h"

#define LOG "apps"

enum conn_kind { CONN_REQ, CONN_EVENTS, CONN_LISTEN, CONN_CONTROL };
enum app_state { APP_STOPPED, APP_RUNNING, APP_BACKOFF };

struct sup_app;

struct sup_conn {
        struct rtd_sup *sup;
        struct sup_app *app;            /* NULL for the control socket */
        enum conn_kind kind;
        int fd;
        struct event *ev;
        struct sup_conn *next;
};

struct sup_app {
        struct rtd_sup *sup;
        struct rtd_app_info info;
        struct sbx_app *sbx;
        pid_t monitor;                  /* the app's crash monitor process, or 0 */
        int monitor_fd;                 /* its outcome pipe, or -1 */
        enum app_state state;
        bool held;                      /* stopped on request: no restart */
        int listen_fd;
        struct event *ev_pid, *ev_notify, *ev_listen, *ev_restart, *ev_confirm;
        struct event *ev_tick;          /* re-resolves AllowedConnections while the app is idle */
        struct sup_conn *conns;
        unsigned n_conns;
        unsigned long starts;
        unsigned consecutive;           /* abnormal ends without a stable run */
        uint64_t started_ms;
        long next_delay_ms;
        time_t deferred_until;
        char last_exit[160];
};

struct rtd_sup {
        struct rtd_sup_config cfg;
        char data_dir[4096], state_dir[4200], ca_file[4096], ueid[80], hosts[4096];
        struct sbx_filter filter;
        struct sbx_periph_table periph;
        struct sup_app *apps[RTD_APPS_MAX];
        size_t n;
        int ctl_fd;
        struct event *ev_ctl;
        struct sup_conn *ctl_conns;
        char pending[IMG_MANIFEST_ID_LEN + 1];     /* update pending for ("os" or a ComponentId) */
        bool update_pending;
};

static uint64_t now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static long env_ms(const char *name, long dflt)
{
        const char *v = getenv(name);
        char *end;
        long x;
        if (!v || !*v)
                return dflt;
        errno = 0;
        x = strtol(v, &end, 10);
        if (errno || *end || x < 1 || x > 86400000L) {
                rp_warn(LOG, "%s '%s' is not a number of milliseconds in 1..86400000: using %ld", name, v, dflt);
                return dflt;
        }
        return x;
}

static void json_decref_p(json_t **j)
{
        if (*j)
                json_decref(*j);
}

static const char *state_name(enum app_state s)
{
        switch (s) {
        case APP_STOPPED: return "stopped";
        case APP_RUNNING: return "running";
        case APP_BACKOFF: return "backoff";
        }
        return "?";
}

static json_t *apps_json(struct rtd_sup *s)
{
        json_t *a = json_array();
        for (size_t i = 0; a && i < s->n; i++) {
                struct sup_app *p = s->apps[i];
                json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:s, s:s}",
                                                   "name", p->info.m.name, "component_id", p->info.m.component_id,
                                                   "version", p->info.version, "state", state_name(p->state),
                                                   "pid", (json_int_t)(p->sbx ? p->sbx->pid : 0),
                                                   "uid", (json_int_t)(p->sbx ? p->sbx->uid : 0),
                                                   "starts", (json_int_t)p->starts,
                                                   "consecutive_failures", (json_int_t)p->consecutive,
                                                   "previous", p->info.previous, "last_exit", p->last_exit));
        }
        return a;
}

/* DATA/apps/status.json: what runs, for people and tests. */
static void write_status(struct rtd_sup *s)
{
        _cleanup_(json_decref_p) json_t *a = apps_json(s);
        _cleanup_free_ char *text = NULL;
        char path[4200];
        struct rp_err e = {0};

        if (!a || !(text = json_dumps(a, JSON_INDENT(2))))
                return;
        snprintf(path, sizeof(path), "%s/apps/status.json", s->data_dir);
        if (rp_write_file_atomic(path, text, strlen(text), 0600, &e) < 0)
                rp_warn(LOG, "cannot write the app status: %s", e.msg);
}

/* ---- connections ---- */

static void conn_free(struct sup_conn *c)
{
        if (c->ev)
                event_free(c->ev);
        if (c->fd >= 0)
                close(c->fd);
        free(c);
}

static void conn_unlink(struct sup_conn **list, struct sup_conn *c)
{
        for (struct sup_conn **pp = list; *pp; pp = &(*pp)->next)
                if (*pp == c) {
                        *pp = c->next;
                        return;
                }
}

static void on_conn(evutil_socket_t fd, short what, void *ud);

static struct sup_conn *conn_add(struct rtd_sup *s, struct sup_app *a, int fd, enum conn_kind kind)
{
        struct sup_conn *c = calloc(1, sizeof(*c));
        if (!c) {
                close(fd);
                return NULL;
        }
        c->sup = s;
        c->app = a;
        c->kind = kind;
        c->fd = fd;
        c->ev = event_new(s->cfg.base, fd, EV_READ | EV_PERSIST, on_conn, c);
        if (!c->ev || event_add(c->ev, NULL) < 0) {
                conn_free(c);
                return NULL;
        }
        if (a) {
                c->next = a->conns;
                a->conns = c;
                a->n_conns++;
        } else {
                c->next = s->ctl_conns;
                s->ctl_conns = c;
        }
        return c;
}

static void conn_close(struct sup_conn *c)
{
        if (c->app) {
                conn_unlink(&c->app->conns, c);
                c->app->n_conns--;
        } else {
                conn_unlink(&c->sup->ctl_conns, c);
        }
        conn_free(c);
}

/* A refusal: logged on the device naming the app, and sent to the app,
 * whose librampart writes it to the app's log. */
__attribute__((format(printf, 4, 5)))
static void reply_err(struct sup_conn *c, uint32_t op, int code, const char *fmt, ...)
{
        char msg[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        if (c->app)
                rp_warn(LOG, "app '%s': %s", c->app->info.m.name, msg);
        else
                rp_warn(LOG, "control: %s", msg);
        if (rtd_appctl_send(c->fd, op, code, 0, msg, strlen(msg), -1) < 0) {
                /* the peer went away; its connection closes on the next read */
        }
}

static int reply_ok(struct sup_conn *c, uint32_t op, uint32_t arg, const void *p, size_t len, int fd)
{
        return rtd_appctl_send(c->fd, op, 0, arg, p, len, fd);
}

static void deny_cap(struct sup_conn *c, uint32_t op, const char *cap, const char *what)
{
        reply_err(c, op, -EACCES, "%s denied: missing capability %s", what, cap);
}

/* ---- peripherals ---- */

static int board_open(struct rtd_sup *s, enum sbx_periph_kind kind, const char *name, struct rp_err *err)
{
        static const char *const dirs[] = { "gpio", "uart", "i2c", "spi" };
        char dir[4300], path[4400];
        int fd, r;

        snprintf(dir, sizeof(dir), "%s/board/%s", s->data_dir, dirs[kind]);
        if ((r = rp_mkdir_p(dir, 0700)) < 0)
                return rp_err_set(err, r, "cannot create '%s': %s", dir, strerror(-r));
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | (kind == SBX_PERIPH_GPIO ? 0 : O_APPEND), 0600);
        if (fd < 0)
                return rp_err_set(err, -errno, "board: cannot open '%s': %s", path, strerror(errno));
        if (kind == SBX_PERIPH_GPIO) {
                struct stat st;
                if (fstat(fd, &st) == 0 && st.st_size == 0 && pwrite(fd, "0\n", 2, 0) != 2) {
                        close(fd);
                        return rp_err_set(err, -EIO, "board: cannot initialize '%s'", path);
                }
        }
        return fd;
}

static void handle_periph(struct sup_conn *c, const struct rtd_appctl_hdr *h, const char *payload)
{
        struct sup_app *a = c->app;
        enum sbx_periph_kind kind;
        char name[64];
        struct rp_err e = {0};
        int r, fd;

        switch (h->op) {
        case RTD_OP_GPIO_OPEN: kind = SBX_PERIPH_GPIO; snprintf(name, sizeof(name), "%u", h->arg); break;
        case RTD_OP_UART_OPEN: kind = SBX_PERIPH_UART; break;
        case RTD_OP_I2C_OPEN: kind = SBX_PERIPH_I2C; break;
        default: kind = SBX_PERIPH_SPI; break;
        }
        if (kind != SBX_PERIPH_GPIO) {
                if (h->len == 0 || h->len > IMG_MANIFEST_PERIPH_NAME_MAX || strlen(payload) != h->len) {
                        reply_err(c, h->op, -EINVAL, "%s: peripheral name of %u bytes refused",
                                  sbx_periph_kind_name(kind), h->len);
                        return;
                }
                memcpy(name, payload, h->len + 1);
        }
        r = sbx_periph_claim(&c->sup->periph, &a->info.m, kind, name, &e);
        if (r == -EACCES) {
                reply_err(c, h->op, -EACCES, "open of %s '%s' denied: missing capability %s (not declared in "
                          "the manifest)", sbx_periph_kind_name(kind), name, sbx_periph_kind_name(kind));
                return;
        }
        if (r < 0) {
                reply_err(c, h->op, r, "open of %s '%s' refused: %s", sbx_periph_kind_name(kind), name, e.msg);
                return;
        }
        fd = board_open(c->sup, kind, name, &e);
        if (fd < 0) {
                reply_err(c, h->op, fd, "%s", e.msg);
                return;
        }
        rp_info(LOG, "app '%s': %s '%s' handed over", a->info.m.name, sbx_periph_kind_name(kind), name);
        if (reply_ok(c, h->op, 0, NULL, 0, fd) < 0)
                rp_warn(LOG, "app '%s': cannot hand over %s '%s'", a->info.m.name, sbx_periph_kind_name(kind), name);
        close(fd);
}

/* ---- device authentication ---- */

static int load_app_cert(struct rtd_sup *s, struct rtd_cert *c, struct rp_err *err)
{
        int r = rtd_cert_load(s->data_dir, RTD_PURPOSE_APP, c, err);
        if (r == -ENOENT)
                return rp_err_set(err, -ENOENT, "the device has no app certificate yet (not attested)");
        if (r < 0)
                return r;
        if (!rtd_cert_usable(c, s->cfg.bootcount, time(NULL))) {
                rtd_cert_clear(c);
                return rp_err_set(err, -ENOENT, "the app certificate is not usable now (expired, or its key "
                                  "died with an earlier boot): the device attests again");
        }
        return 0;
}

static void handle_tls(struct sup_conn *c, const struct rtd_appctl_hdr *h, const uint8_t *payload)
{
        struct sup_app *a = c->app;
        struct rtd_cert cert = {0};
        struct rp_err e = {0};

        if (!a->info.m.device_auth) {
                deny_cap(c, h->op, "DeviceAuthentication",
                         h->op == RTD_OP_TLS_SIGN ? "TLS signature with the device key" : "device certificate");
                return;
        }
        if (load_app_cert(c->sup, &cert, &e) < 0) {
                reply_err(c, h->op, e.code ? e.code : -ENOENT, "%s", e.msg);
                return;
        }
        if (h->op == RTD_OP_TLS_CERT) {
                _cleanup_free_ char *pem = NULL;
                if (cr_cert_to_pem(cert.cert, &pem, &e) < 0)
                        reply_err(c, h->op, -EIO, "%s", e.msg);
                else if (reply_ok(c, h->op, 0, pem, strlen(pem), -1) < 0)
                        rp_warn(LOG, "app '%s': cannot send the certificate", a->info.m.name);
        } else if (h->len != CR_SHA256_LEN) {
                reply_err(c, h->op, -EINVAL, "TLS signature: digest of %u bytes, expected %d", h->len, CR_SHA256_LEN);
        } else if (!c->sup->cfg.mon) {
                reply_err(c, h->op, -ENODEV, "TLS signature: no security monitor");
        } else {
                _cleanup_free_ uint8_t *sig = NULL;
                size_t len = 0;
                if (mon_tls_sign(c->sup->cfg.mon, cert.handle, payload, &sig, &len, &e) < 0)
                        reply_err(c, h->op, -EIO, "TLS signature by the monitor failed: %s", e.msg);
                else if (reply_ok(c, h->op, 0, sig, len, -1) < 0)
                        rp_warn(LOG, "app '%s': cannot send the signature", a->info.m.name);
        }
        rtd_cert_clear(&cert);
}

/* ---- inter-app connections ---- */

static struct sup_app *find_app(struct rtd_sup *s, const char *cid)
{
        for (size_t i = 0; i < s->n; i++)
                if (!strcmp(s->apps[i]->info.m.component_id, cid))
                        return s->apps[i];
        return NULL;
}

static bool lists(const struct img_manifest *m, const char *cid)
{
        for (size_t i = 0; i < m->n_app_conns; i++)
                if (!strcmp(m->app_conns[i], cid))
                        return true;
        return false;
}

static void handle_connect(struct sup_conn *c, const struct rtd_appctl_hdr *h, const char *payload)
{
        struct sup_app *a = c->app, *peer;
        struct sup_conn *l;
        char cid[IMG_MANIFEST_ID_LEN + 1];
        uint8_t raw[16];
        int sp[2];

        if (h->len != IMG_MANIFEST_ID_LEN || strlen(payload) != h->len || img_uuid_parse(payload, raw) < 0) {
                reply_err(c, h->op, -EINVAL, "app connection: '%.40s' is not a ComponentId", payload);
                return;
        }
        img_uuid_format(raw, cid);
        if (!lists(&a->info.m, cid)) {
                reply_err(c, h->op, -EACCES, "connection to app %s denied: missing capability "
                          "AllowedApplicationConnections (%s is not listed in the manifest)", cid, cid);
                return;
        }
        peer = find_app(c->sup, cid);
        if (!peer || !lists(&peer->info.m, a->info.m.component_id)) {
                reply_err(c, h->op, -EACCES, "connection to app %s denied: %s does not list %s in its "
                          "AllowedApplicationConnections", cid, peer ? "that app" : "no installed app",
                          a->info.m.component_id);
                return;
        }
        for (l = peer->conns; l && l->kind != CONN_LISTEN; l = l->next)
                ;
        if (!l || peer->state != APP_RUNNING) {
                reply_err(c, h->op, -ECONNREFUSED, "connection to app '%s' refused: it is not listening",
                          peer->info.m.name);
                return;
        }
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) {
                reply_err(c, h->op, -errno, "app connection: socketpair: %s", strerror(errno));
                return;
        }
        if (rtd_appctl_send(l->fd, RTD_OP_APP_INCOMING, 0, 0, a->info.m.component_id,
                            strlen(a->info.m.component_id), sp[1]) < 0) {
                reply_err(c, h->op, -ECONNREFUSED, "connection to app '%s' refused: its listener is gone",
                          peer->info.m.name);
        } else {
                rp_info(LOG, "app '%s' connected to app '%s'", a->info.m.name, peer->info.m.name);
                if (reply_ok(c, h->op, 0, NULL, 0, sp[0]) < 0)
                        rp_warn(LOG, "app '%s': cannot hand over the connection", a->info.m.name);
        }
        close(sp[0]);
        close(sp[1]);
}

/* ---- app requests ---- */

static void send_pending(struct rtd_sup *s, struct sup_conn *c)
{
        const char *what = s->pending[0] ? s->pending : "os";
        if (rtd_appctl_send(c->fd, RTD_OP_EVENT, 0, RP_EVENT_UPDATE_PENDING, what, strlen(what), -1) < 0)
                rp_warn(LOG, "app '%s': cannot deliver the update-pending event", c->app->info.m.name);
}

static void handle_app(struct sup_conn *c, const struct rtd_appctl_hdr *h, uint8_t *buf)
{
        struct sup_app *a = c->app;
        const struct img_manifest *m = &a->info.m;
        char text[256];

        switch (h->op) {
        case RTD_OP_HELLO:
                snprintf(text, sizeof(text), "%s %s %s", m->name, m->component_id, a->info.version);
                (void)reply_ok(c, h->op, 0, text, strlen(text), -1);
                return;
        case RTD_OP_GPIO_OPEN:
        case RTD_OP_UART_OPEN:
        case RTD_OP_I2C_OPEN:
        case RTD_OP_SPI_OPEN:
                handle_periph(c, h, (const char *)buf);
                return;
        case RTD_OP_NET_READY:
                (void)reply_ok(c, h->op, a->sbx && a->sbx->eg.n > 0 ? 1 : 0, NULL, 0, -1);
                return;
        case RTD_OP_EVENTS:
                if (!m->system_events) {
                        deny_cap(c, h->op, "SystemEventNotifications", "system event subscription");
                        return;
                }
                c->kind = CONN_EVENTS;
                (void)reply_ok(c, h->op, 0, NULL, 0, -1);
                if (c->sup->update_pending)
                        send_pending(c->sup, c);
                return;
        case RTD_OP_UPDATE_DEFER:
                if (!m->update_deferral) {
                        deny_cap(c, h->op, "SoftwareUpdateDeferral", "update deferral");
                        return;
                }
                if (h->arg < 1 || h->arg > RTD_MAX_DEFER_S) {
                        reply_err(c, h->op, -EINVAL, "update deferral of %u s refused: allowed 1..%d", h->arg,
                                  RTD_MAX_DEFER_S);
                        return;
                }
                a->deferred_until = time(NULL) + (time_t)h->arg;
                rp_info(LOG, "app '%s' defers updates for %u s", m->name, h->arg);
                (void)reply_ok(c, h->op, 0, NULL, 0, -1);
                return;
        case RTD_OP_UPDATE_RESUME:
                if (!m->update_deferral) {
                        deny_cap(c, h->op, "SoftwareUpdateDeferral", "update resume");
                        return;
                }
                a->deferred_until = 0;
                rp_info(LOG, "app '%s' no longer defers updates", m->name);
                (void)reply_ok(c, h->op, 0, NULL, 0, -1);
                return;
        case RTD_OP_REBOOT: {
                struct rp_err e = {0};
                if (!(m->power_controls & IMG_POWER_FORCE_REBOOT)) {
                        deny_cap(c, h->op, "PowerControls.ForceReboot", "reboot");
                        return;
                }
                rp_warn(LOG, "app '%s' reboots the device", m->name);
                (void)reply_ok(c, h->op, 0, NULL, 0, -1);
                if (!c->sup->cfg.mon || mon_reboot(c->sup->cfg.mon, &e) < 0)
                        rp_error(LOG, "reboot requested by app '%s' failed: %s", m->name,
                                 c->sup->cfg.mon ? e.msg : "no security monitor");
                return;
        }
        case RTD_OP_APP_CONNECT:
                handle_connect(c, h, (const char *)buf);
                return;
        case RTD_OP_APP_LISTEN:
                if (m->n_app_conns == 0) {
                        deny_cap(c, h->op, "AllowedApplicationConnections", "listening for app connections");
                        return;
                }
                c->kind = CONN_LISTEN;
                (void)reply_ok(c, h->op, 0, NULL, 0, -1);
                return;
        case RTD_OP_TLS_CERT:
        case RTD_OP_TLS_SIGN:
                handle_tls(c, h, buf);
                return;
        default:
                reply_err(c, h->op, -EOPNOTSUPP, "request %u is not an app request", h->op);
        }
}

/* ---- control socket (rampart dev) ---- */

static void handle_control(struct sup_conn *c, const struct rtd_appctl_hdr *h, uint8_t *buf, int fd)
{
        struct rtd_sup *s = c->sup;
        struct rtd_devcap cap = {0};
        struct rp_err e = {0};

        switch (h->op) {
        case RTD_OP_DEV_APPS: {
                _cleanup_(json_decref_p) json_t *a = apps_json(s);
                _cleanup_free_ char *text = a ? json_dumps(a, 0) : NULL;
                if (!text || strlen(text) > RTD_APPCTL_MAX_PAYLOAD)
                        reply_err(c, h->op, -E2BIG, "app list does not fit one reply");
                else
                        (void)reply_ok(c, h->op, 0, text, strlen(text), -1);
                return;
        }
        case RTD_OP_DEV_GRANT:
                if (rtd_devcap_store(s->data_dir, (const char *)buf, h->len, s->ca_file, s->ueid, time(NULL), &cap,
                                     &e) < 0) {
                        reply_err(c, h->op, e.code ? e.code : -EINVAL, "%s", e.msg);
                        return;
                }
                {
                        char text[160];
                        snprintf(text, sizeof(text), "development capability stored: device %s, %zu key(s), "
                                 "expires %lld", cap.ueid, cap.n_keys, (long long)cap.exp);
                        rp_info(LOG, "%s", text);
                        (void)reply_ok(c, h->op, 0, text, strlen(text), -1);
                }
                rtd_devcap_clear(&cap);
                return;
        case RTD_OP_DEV_SIDELOAD:
        case RTD_OP_DEV_REMOVE:
                if (rtd_devcap_load(s->data_dir, s->ca_file, s->ueid, time(NULL), &cap, &e) < 0) {
                        reply_err(c, h->op, -EPERM, "%s refused: %s",
                                  h->op == RTD_OP_DEV_SIDELOAD ? "sideloading" : "removing an app", e.msg);
                        return;
                }
                if (h->op == RTD_OP_DEV_REMOVE) {
                        struct sup_app *a = find_app(s, (const char *)buf);
                        if (!a) {
                                reply_err(c, h->op, -ENOENT, "app '%.40s' is not installed", (const char *)buf);
                        } else if (rtd_sup_stop_app(s, a->info.m.component_id, &e) < 0 ||
                                   rtd_apps_remove(s->data_dir, a->info.m.component_id, &e) < 0) {
                                reply_err(c, h->op, e.code ? e.code : -EIO, "%s", e.msg);
                        } else {
                                size_t i;
                                for (i = 0; i < s->n && s->apps[i] != a; i++)
                                        ;
                                rp_info(LOG, "app '%s' removed", a->info.m.name);
                                memmove(&s->apps[i], &s->apps[i + 1], (s->n - i - 1) * sizeof(s->apps[0]));
                                s->n--;
                                if (a->ev_restart)
                                        event_free(a->ev_restart);
                                if (a->ev_confirm)
                                        event_free(a->ev_confirm);
                                free(a);
                                write_status(s);
                                (void)reply_ok(c, h->op, 0, "removed", 7, -1);
                        }
                        rtd_devcap_clear(&cap);
                        return;
                }
                if (fd < 0) {
                        reply_err(c, h->op, -EINVAL, "sideload: no package descriptor came with the request");
                } else {
                        struct rtd_app_info info;
                        if (rtd_sup_install(s, fd, cap.keys, cap.n_keys, &info, &e) < 0) {
                                reply_err(c, h->op, e.code ? e.code : -EINVAL, "sideload refused: %s", e.msg);
                        } else {
                                char text[256];
                                snprintf(text, sizeof(text), "installed app '%s' (%s) version %s", info.m.name,
                                         info.m.component_id, info.version);
                                (void)reply_ok(c, h->op, 0, text, strlen(text), -1);
                        }
                }
                rtd_devcap_clear(&cap);
                return;
        default:
                reply_err(c, h->op, -EOPNOTSUPP, "request %u is not a control request", h->op);
        }
}

static void on_conn(evutil_socket_t fd, short what, void *ud)
{
        struct sup_conn *c = ud;
        struct rtd_appctl_hdr h;
        static uint8_t buf[RTD_APPCTL_MAX_PAYLOAD + 1];
        int rfd = -1, r;

        (void)what;
        r = rtd_appctl_recv((int)fd, &h, buf, sizeof(buf), c->kind == CONN_CONTROL ? &rfd : NULL);
        if (r == -EAGAIN || r == -EINTR)
                return;
        if (r < 0) {
                if (r == -EBADMSG && c->app)
                        rp_warn(LOG, "app '%s': malformed request: connection closed", c->app->info.m.name);
                conn_close(c);
                return;
        }
        if (c->kind == CONN_CONTROL) {
                handle_control(c, &h, buf, rfd);
                if (rfd >= 0)
                        close(rfd);
        } else if (c->kind == CONN_REQ) {
                handle_app(c, &h, buf);
        } else {
                /* event and listener connections only receive */
                conn_close(c);
        }
}

static void on_accept(evutil_socket_t fd, short what, void *ud)
{
        struct sup_app *a = ud;
        struct ucred cred = { .pid = 0, .uid = (uid_t)-1, .gid = (gid_t)-1 };
        socklen_t cl = sizeof(cred);
        (void)what;
        int c = accept4((int)fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (c < 0)
                return;
        /* the socket is only in this app's /etc; the uid check is a second lock */
        if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0 || !a->sbx || cred.uid != a->sbx->uid) {
                rp_warn(LOG, "app '%s': connection from uid %u refused", a->info.m.name, (unsigned)cred.uid);
                close(c);
                return;
        }
        if (a->n_conns >= RTD_SUP_MAX_CONNS) {
                rp_warn(LOG, "app '%s': more than %d librampart connections: refused", a->info.m.name,
                        RTD_SUP_MAX_CONNS);
                close(c);
                return;
        }
        (void)conn_add(a->sup, a, c, CONN_REQ);
}

static void on_ctl_accept(evutil_socket_t fd, short what, void *ud)
{
        struct rtd_sup *s = ud;
        struct ucred cred = { .pid = 0, .uid = (uid_t)-1, .gid = (gid_t)-1 };
        socklen_t cl = sizeof(cred);
        (void)what;
        int c = accept4((int)fd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0)
                return;
        if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0 || cred.uid != 0) {
                close(c);
                return;
        }
        (void)conn_add(s, NULL, c, CONN_CONTROL);
}

/* ---- running apps ---- */

static void app_start(struct sup_app *a);

static void drop_events(struct sup_app *a)
{
        if (a->ev_pid)
                event_free(a->ev_pid);
        if (a->ev_notify)
                event_free(a->ev_notify);
        if (a->ev_listen)
                event_free(a->ev_listen);
        if (a->ev_tick)
                event_free(a->ev_tick);
        a->ev_pid = a->ev_notify = a->ev_listen = a->ev_tick = NULL;
        if (a->listen_fd >= 0)
                close(a->listen_fd);
        a->listen_fd = -1;
        while (a->conns)
                conn_close(a->conns);
}

static long backoff(struct sup_app *a)
{
        struct rtd_sup *s = a->sup;
        long d = s->cfg.backoff_min_ms;
        for (unsigned i = 1; i < a->consecutive && d < s->cfg.backoff_max_ms; i++)
                d *= 2;
        return d > s->cfg.backoff_max_ms ? s->cfg.backoff_max_ms : d;
}

static void schedule_restart(struct sup_app *a)
{
        long ms = a->consecutive ? backoff(a) : a->sup->cfg.backoff_min_ms;
        struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
        a->state = APP_BACKOFF;
        a->next_delay_ms = ms;
        rp_info(LOG, "app '%s': restart %lu in %ld ms (%u abnormal end%s in a row)", a->info.m.name, a->starts + 1,
                ms, a->consecutive, a->consecutive == 1 ? "" : "s");
        evtimer_add(a->ev_restart, &tv);
}

/* ---- crash capture ----
 * One monitor process per app (runtime/crash.h: the monitor waits for
 * anything with waitpid(-1), so it must have the app as its only tracee):
 * forked from rampartd after the compartment started, it seizes the app
 * (PID 2 of the compartment, found through init's children), follows it
 * with rtd_crash_monitor and writes the outcome, frames and dump included, to a
 * pipe rampartd reads when the compartment ends. A crash in the first
 * instructions, before the seize, is recorded without frames. */

static pid_t app_host_pid(pid_t init)
{
        char path[64], buf[64];
        snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)init, (int)init);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -1;
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n <= 0)
                return -1;
        buf[n] = '\0';
        long p = strtol(buf, NULL, 10);
        return p > 0 ? (pid_t)p : -1;
}

/* In the monitor: symbolizing needs the app's files by the paths in its
 * maps (/app/bin/..., the bound system libraries). The monitor joins a
 * private copy of the app's mount namespace with a /proc of the host's PID
 * namespace on top, so both the files and /proc/<host pid> resolve. If that
 * fails, frames keep their addresses without names. */
static void see_app_files(pid_t app)
{
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)app);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return;
        if (setns(fd, CLONE_NEWNS) < 0 || unshare(CLONE_NEWNS) < 0 ||
            mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 || umount2("/proc", MNT_DETACH) < 0 ||
            mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
                /* stays where it got to: at worst unsymbolized frames */
        }
        close(fd);
}

static void monitor_start(struct sup_app *a)
{
        int p[2];
        pid_t app = app_host_pid(a->sbx->pid);

        a->monitor = 0;
        a->monitor_fd = -1;
        if (app <= 0 || pipe2(p, O_CLOEXEC) < 0) {
                rp_warn(LOG, "app '%s': no crash capture (the app is not visible)", a->info.m.name);
                return;
        }
        fflush(NULL);
        pid_t m = fork();
        if (m < 0) {
                rp_warn(LOG, "app '%s': no crash capture: fork: %s", a->info.m.name, strerror(errno));
                close(p[0]);
                close(p[1]);
                return;
        }
        if (m == 0) {
                /* the dump stays on the device unless the group allows it:
                 * the uploader strips it (upload_timer.c) */
                struct rtd_crash_opts opts = { .dump = true, .dump_max = RTD_CRASH_DUMP_DEFAULT };
                struct rtd_outcome o;
                struct rp_err e = {0};
                close(p[0]);
                prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
                memset(&o, 0, sizeof(o));
                see_app_files(app);
                if (ptrace(PTRACE_SEIZE, app, NULL,
                           (void *)(uintptr_t)(PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXIT | PTRACE_O_TRACEEXEC)) < 0)
                        _exit(1);
                if (rtd_crash_monitor(app, &opts, &o, &e) < 0)
                        _exit(1);
                /* the outcome, then its dump_len bytes of dump */
                uint8_t *dump = o.dump;
                o.dump = NULL;
                if (rp_write_all(p[1], &o, sizeof(o)) < 0 ||
                    (o.dump_len && rp_write_all(p[1], dump, o.dump_len) < 0))
                        _exit(1);
                _exit(0);
        }
        close(p[1]);
        a->monitor = m;
        a->monitor_fd = p[0];
}

/* Collects the monitor's outcome (the app is gone, so it has written or
 * is about to) and reaps the monitor. */
static bool monitor_collect(struct sup_app *a, struct rtd_outcome *ret)
{
        bool got = false;
        if (a->monitor_fd >= 0) {
                struct pollfd pf = { .fd = a->monitor_fd, .events = POLLIN };
                if (poll(&pf, 1, 2000) > 0 && rp_read_exact(a->monitor_fd, ret, sizeof(*ret)) == 0) {
                        /* the monitor is the app's tracer, not trusted with more
                         * than the cap it was given */
                        size_t len = ret->dump_len;
                        ret->dump = NULL;
                        ret->dump_len = 0;
                        uint8_t *dump = len && len <= RTD_CRASH_DUMP_DEFAULT ? malloc(len) : NULL;
                        if (dump && rp_read_exact(a->monitor_fd, dump, len) == 0) {
                                ret->dump = dump;
                                ret->dump_len = len;
                        } else {
                                free(dump);
                                if (len)
                                        rp_warn(LOG, "app '%s': crash dump of %zu bytes not received",
                                                a->info.m.name, len);
                        }
                        got = true;
                }
                close(a->monitor_fd);
                a->monitor_fd = -1;
        }
        if (a->monitor > 0) {
                kill(a->monitor, SIGKILL);
                while (waitpid(a->monitor, NULL, 0) < 0 && errno == EINTR)
                        ;
                a->monitor = 0;
        }
        return got;
}

static void record_end(struct sup_app *a, int status, struct rtd_outcome *captured)
{
        struct rtd_outcome o;
        struct fail_event ev;
        struct rp_err e = {0};

        memset(&o, 0, sizeof(o));
        memset(&ev, 0, sizeof(ev));
        if (captured && captured->kind == RTD_KILLED && WIFSIGNALED(status) &&
            captured->signal == WTERMSIG(status)) {
                o = *captured;
                captured->dump = NULL;          /* the dump moves into o */
                captured->dump_len = 0;
        } else if (WIFSIGNALED(status)) {
                o.kind = RTD_KILLED;
                o.signal = WTERMSIG(status);
                o.core = WCOREDUMP(status);
        } else {
                o.kind = RTD_EXITED;
                o.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 125;
        }
        if (!a->sup->cfg.failq) {
                rtd_outcome_clear(&o);
                return;
        }
        int r = rtd_crash_to_event(&o, a->info.m.component_id, a->info.version, time(NULL), &ev, &e);
        if (r == 0 && rtd_failq_record(a->sup->cfg.failq, &ev, &e) < 0)
                rp_warn(LOG, "app '%s': cannot queue the failure event: %s", a->info.m.name, e.msg);
        else if (r < 0 && r != -ENOENT)
                rp_warn(LOG, "app '%s': no failure event: %s", a->info.m.name, e.msg);
        fail_event_clear(&ev);
        rtd_outcome_clear(&o);
}

/* The app's compartment is gone: clean up, record, and restart unless held. */
static void app_ended(struct sup_app *a, int status, bool requested)
{
        bool oom = a->sbx && sbx_limits_oom_killed(&a->sbx->lim);
        uint64_t ran = now_ms() - a->started_ms;

        struct rtd_outcome cap;
        memset(&cap, 0, sizeof(cap));
        bool captured = monitor_collect(a, &cap);
        drop_events(a);
        sbx_app_free(a->sbx);
        a->sbx = NULL;
        sbx_periph_release_all(&a->sup->periph, a->info.m.component_id);
        if (a->ev_confirm)
                evtimer_del(a->ev_confirm);
        if (WIFSIGNALED(status))
                snprintf(a->last_exit, sizeof(a->last_exit), "killed by signal %d (%s)%s%s", WTERMSIG(status),
                         strsignal(WTERMSIG(status)), WCOREDUMP(status) ? ", core" : "", oom ? ", out of memory" : "");
        else
                snprintf(a->last_exit, sizeof(a->last_exit), "exited with %d", WEXITSTATUS(status));
        rp_info(LOG, "app '%s' (%s) version %s %s after %llu ms%s", a->info.m.name, a->info.m.component_id,
                a->info.version, a->last_exit, (unsigned long long)ran, requested ? " (stopped by the supervisor)" : "");
        if (requested) {
                rtd_outcome_clear(&cap);
                a->state = APP_STOPPED;
                write_status(a->sup);
                return;
        }
        bool abnormal = WIFSIGNALED(status) || WEXITSTATUS(status) != 0;
        if (abnormal)
                record_end(a, status, captured ? &cap : NULL);
        if (captured && cap.captured && cap.nframes)
                rp_info(LOG, "app '%s': crash at pc 0x%llx, %u frames, top: %s", a->info.m.name,
                        (unsigned long long)cap.pc, cap.nframes,
                        cap.frames[0].function[0] ? cap.frames[0].function : "?");
        rtd_outcome_clear(&cap);        /* a dump record_end did not take */
        if ((long)ran >= RTD_SUP_STABLE_MS)
                a->consecutive = 0;
        if (abnormal)
                a->consecutive++;
        /* a new version that keeps failing before it was confirmed goes back */
        if (abnormal && a->consecutive >= 3 && a->info.previous[0]) {
                struct rp_err e = {0};
                char bad[IMG_MAX_VERSION + 1];
                snprintf(bad, sizeof(bad), "%s", a->info.version);
                if (rtd_apps_switch(a->sup->data_dir, a->info.m.component_id, a->info.previous, &e) == 0) {
                        struct rtd_app_info *all = NULL;
                        size_t n = 0;
                        if (rtd_apps_load(a->sup->data_dir, &all, &n, NULL, 0) == 0)
                                for (size_t i = 0; i < n; i++)
                                        if (!strcmp(all[i].m.component_id, a->info.m.component_id))
                                                a->info = all[i];
                        free(all);
                        rtd_apps_unstage(a->sup->data_dir, a->info.m.component_id, bad);
                        if (rtd_apps_prune(a->sup->data_dir, a->info.m.component_id, &e) < 0)
                                rp_warn(LOG, "app '%s': %s", a->info.m.name, e.msg);
                        a->info.previous[0] = '\0';
                        rp_warn(LOG, "app '%s': version %s failed %u times before it was confirmed: rolled back to %s",
                                a->info.m.name, bad, a->consecutive, a->info.version);
                        a->consecutive = 0;
                } else {
                        rp_warn(LOG, "app '%s': rollback failed: %s", a->info.m.name, e.msg);
                }
        }
        if (!a->held)
                schedule_restart(a);
        else
                a->state = APP_STOPPED;
        write_status(a->sup);
}

static void on_app_io(evutil_socket_t fd, short what, void *ud)
{
        struct sup_app *a = ud;
        (void)fd;
        (void)what;
        if (!a->sbx)
                return;
        int r = sbx_serve(a->sbx, 0);
        if (r == 1) {
                app_ended(a, a->sbx->status, false);
                return;
        }
        if (r < 0)
                rp_warn(LOG, "app '%s': serving: %s", a->info.m.name, strerror(-r));
        if (a->sbx->notify_fd < 0 && a->ev_notify) {
                event_free(a->ev_notify);
                a->ev_notify = NULL;
        }
}

static void on_restart(evutil_socket_t fd, short what, void *ud)
{
        struct sup_app *a = ud;
        (void)fd;
        (void)what;
        if (!a->held && !a->sbx)
                app_start(a);
}

static void on_confirm(evutil_socket_t fd, short what, void *ud)
{
        struct sup_app *a = ud;
        struct rp_err e = {0};
        (void)fd;
        (void)what;
        if (!a->sbx || !a->info.previous[0])
                return;
        if (rtd_apps_prune(a->sup->data_dir, a->info.m.component_id, &e) < 0) {
                rp_warn(LOG, "app '%s': %s", a->info.m.name, e.msg);
                return;
        }
        rp_info(LOG, "app '%s' version %s has run: previous version %s removed", a->info.m.name, a->info.version,
                a->info.previous);
        a->info.previous[0] = '\0';
        write_status(a->sup);
}

/* The app's librampart socket, in its private /etc (see appctl.h). */
static int bind_channel(struct sup_app *a, struct rp_err *err)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return rp_err_set(err, -errno, "app channel: socket: %s", strerror(errno));
        snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/" RTD_APPCTL_SOCK_NAME, a->sbx->eg.etc_fd);
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
            fchmodat(a->sbx->eg.etc_fd, RTD_APPCTL_SOCK_NAME, 0666, 0) < 0 || listen(fd, 8) < 0) {
                int r = -errno;
                close(fd);
                return rp_err_set(err, r, "app channel: binding in the app's /etc: %s", strerror(-r));
        }
        a->listen_fd = fd;
        return 0;
}

static void app_start(struct sup_app *a)
{
        struct rtd_sup *s = a->sup;
        struct sbx_config cfg = {
                .app_root = a->info.root,
                .manifest = &a->info.m,
                .filter = &s->filter,
                .state_dir = s->state_dir,
                .hosts_file = s->hosts[0] ? s->hosts : NULL,
                .memory_bytes = (uint64_t)SBX_DEFAULT_MEMORY_MB << 20,
                .max_pids = SBX_DEFAULT_PIDS,
                .tmp_kb = SBX_DEFAULT_TMP_KB,
                .allow_cgroup = true,
                .system_libs = true,
        };
        struct rp_err e = {0};

        a->starts++;
        a->started_ms = now_ms();
        if (sbx_start(&cfg, &a->sbx, &e) < 0 || bind_channel(a, &e) < 0) {
                rp_error(LOG, "app '%s' (%s) version %s did not start: %s", a->info.m.name, a->info.m.component_id,
                         a->info.version, e.msg);
                snprintf(a->last_exit, sizeof(a->last_exit), "did not start");
                if (a->sbx) {
                        sbx_app_free(a->sbx);
                        a->sbx = NULL;
                }
                drop_events(a);
                a->consecutive++;
                schedule_restart(a);
                write_status(s);
                return;
        }
        a->ev_pid = event_new(s->cfg.base, a->sbx->pidfd, EV_READ | EV_PERSIST, on_app_io, a);
        a->ev_notify = a->sbx->notify_fd >= 0
                               ? event_new(s->cfg.base, a->sbx->notify_fd, EV_READ | EV_PERSIST, on_app_io, a)
                               : NULL;
        a->ev_listen = event_new(s->cfg.base, a->listen_fd, EV_READ | EV_PERSIST, on_accept, a);
        a->ev_tick = a->info.m.n_conns ? event_new(s->cfg.base, -1, EV_PERSIST, on_app_io, a) : NULL;
        struct timeval second = { 1, 0 };
        if (!a->ev_pid || !a->ev_listen || event_add(a->ev_pid, NULL) < 0 || event_add(a->ev_listen, NULL) < 0 ||
            (a->ev_tick && event_add(a->ev_tick, &second) < 0) ||
            (a->ev_notify && event_add(a->ev_notify, NULL) < 0)) {
                rp_error(LOG, "app '%s': cannot watch its compartment: stopping it", a->info.m.name);
                app_ended(a, W_EXITCODE(125, 0), false);
                return;
        }
        monitor_start(a);
        a->state = APP_RUNNING;
        rp_info(LOG, "app '%s' (%s) version %s started: pid %d, uid %u, limits %s, start %lu", a->info.m.name,
                a->info.m.component_id, a->info.version, a->sbx->pid, (unsigned)a->sbx->uid,
                sbx_limits_mode_name(a->sbx->lim.mode), a->starts);
        if (a->info.previous[0]) {
                struct timeval tv = { .tv_sec = s->cfg.confirm_ms / 1000, .tv_usec = (s->cfg.confirm_ms % 1000) * 1000 };
                evtimer_add(a->ev_confirm, &tv);
        }
        write_status(s);
}

/* Stops a running app: SIGTERM, then SIGKILL after RTD_SUP_STOP_MS. */
static void app_stop(struct sup_app *a)
{
        uint64_t deadline = now_ms() + RTD_SUP_STOP_MS;
        int r = 0;

        a->held = true;
        if (a->ev_restart)
                evtimer_del(a->ev_restart);
        if (!a->sbx) {
                a->state = APP_STOPPED;
                return;
        }
        if (sbx_signal(a->sbx, SIGTERM) == 0)
                while (now_ms() < deadline && (r = sbx_serve(a->sbx, (int)(deadline - now_ms()))) == 0)
                        ;
        if (r != 1) {
                /* sbx_app_free kills and reaps what is left */
                a->sbx->status = W_EXITCODE(0, SIGKILL);
        }
        app_ended(a, a->sbx->exited ? a->sbx->status : W_EXITCODE(0, SIGKILL), true);
}

static struct sup_app *app_new(struct rtd_sup *s, const struct rtd_app_info *info)
{
        struct sup_app *a = calloc(1, sizeof(*a));
        if (!a)
                return NULL;
        a->sup = s;
        a->info = *info;
        a->listen_fd = -1;
        a->monitor_fd = -1;
        a->ev_restart = evtimer_new(s->cfg.base, on_restart, a);
        a->ev_confirm = evtimer_new(s->cfg.base, on_confirm, a);
        if (!a->ev_restart || !a->ev_confirm) {
                if (a->ev_restart)
                        event_free(a->ev_restart);
                if (a->ev_confirm)
                        event_free(a->ev_confirm);
                free(a);
                return NULL;
        }
        return a;
}

/* ---- public API ---- */

int rtd_sup_install(struct rtd_sup *s, int fd, struct cr_key *const *trusted, size_t n_trusted,
                    struct rtd_app_info *ret_info, struct rp_err *err)
{
        struct rtd_app_info *info = calloc(1, sizeof(*info));
        struct sup_app *a;
        int r;

        if (!info)
                return rp_err_set(err, -ENOMEM, "out of memory");
        if ((r = rtd_apps_stage(s->data_dir, fd, trusted, n_trusted, info, err)) < 0) {
                free(info);
                return r;
        }
        a = find_app(s, info->m.component_id);
        if (!a && s->n >= RTD_APPS_MAX) {
                rtd_apps_unstage(s->data_dir, info->m.component_id, info->version);
                free(info);
                return rp_err_set(err, -ENOSPC, "%d apps are installed already", RTD_APPS_MAX);
        }
        if (a)
                app_stop(a);
        if ((r = rtd_apps_switch(s->data_dir, info->m.component_id, info->version, err)) < 0) {
                rtd_apps_unstage(s->data_dir, info->m.component_id, info->version);
                if (a) {
                        a->held = false;
                        app_start(a);
                }
                free(info);
                return r;
        }
        if (a) {
                snprintf(info->previous, sizeof(info->previous), "%s", a->info.version);
                rp_info(LOG, "app '%s' updated: version %s -> %s (%s kept until %s has run)", info->m.name,
                        a->info.version, info->version, a->info.version, info->version);
                a->info = *info;
        } else {
                a = app_new(s, info);
                if (!a) {
                        free(info);
                        return rp_err_set(err, -ENOMEM, "out of memory");
                }
                s->apps[s->n++] = a;
                rp_info(LOG, "app '%s' (%s) version %s installed", info->m.name, info->m.component_id, info->version);
        }
        a->held = false;
        a->consecutive = 0;
        app_start(a);
        if (ret_info)
                *ret_info = *info;
        free(info);
        return 0;
}

int rtd_sup_stop_app(struct rtd_sup *s, const char *component_id, struct rp_err *err)
{
        struct sup_app *a = find_app(s, component_id);
        if (!a)
                return rp_err_set(err, -ENOENT, "app %s is not installed", component_id);
        app_stop(a);
        return 0;
}

int rtd_sup_start_app(struct rtd_sup *s, const char *component_id, struct rp_err *err)
{
        struct sup_app *a = find_app(s, component_id);
        if (!a)
                return rp_err_set(err, -ENOENT, "app %s is not installed", component_id);
        a->held = false;
        if (!a->sbx)
                app_start(a);
        return 0;
}

static void broadcast(struct rtd_sup *s, enum rp_event_type type, const char *text)
{
        for (size_t i = 0; i < s->n; i++)
                for (struct sup_conn *c = s->apps[i]->conns; c; c = c->next)
                        if (c->kind == CONN_EVENTS &&
                            rtd_appctl_send(c->fd, RTD_OP_EVENT, 0, (uint32_t)type, text, strlen(text), -1) < 0)
                                rp_warn(LOG, "app '%s': cannot deliver an event", s->apps[i]->info.m.name);
}

time_t rtd_sup_update_pending(struct rtd_sup *s, const char *component_id)
{
        time_t until = 0, now = time(NULL);
        snprintf(s->pending, sizeof(s->pending), "%s", component_id ? component_id : "os");
        s->update_pending = true;
        broadcast(s, RP_EVENT_UPDATE_PENDING, s->pending);
        for (size_t i = 0; i < s->n; i++)
                if (s->apps[i]->info.m.update_deferral && s->apps[i]->deferred_until > now &&
                    s->apps[i]->deferred_until > until)
                        until = s->apps[i]->deferred_until;
        return until;
}

void rtd_sup_update_done(struct rtd_sup *s, const char *component_id)
{
        s->update_pending = false;
        broadcast(s, RP_EVENT_UPDATE_DONE, component_id ? component_id : "os");
        s->pending[0] = '\0';
}

struct platform_signer {
        struct mon_client *mon;
        uint32_t handle;
};

static int platform_sign(void *ud, const uint8_t digest[CR_SHA256_LEN], uint8_t **ret_sig, size_t *ret_len)
{
        struct platform_signer *ps = ud;
        struct rp_err e = {0};
        int r = mon_tls_sign(ps->mon, ps->handle, digest, ret_sig, ret_len, &e);
        if (r < 0)
                rp_warn(LOG, "capability fetch: TLS signature by the monitor failed: %s", e.msg);
        return r;
}

void rtd_sup_fetch_capability(struct rtd_sup *s, const char *server)
{
        struct cr_monitor_key *mk = NULL;
        struct rtd_cert cert = {0};
        struct rtd_http_resp resp = {0};
        struct rtd_devcap cap = {0};
        struct rp_err e = {0};
        struct platform_signer ps = { s ? s->cfg.mon : NULL, 0 };
        char path[4300];

        if (!s || !s->cfg.mon || !server || !s->ca_file[0])
                return;
        if (rtd_cert_load(s->data_dir, RTD_PURPOSE_PLATFORM, &cert, &e) < 0 ||
            !rtd_cert_usable(&cert, s->cfg.bootcount, time(NULL))) {
                rtd_cert_clear(&cert);
                return;
        }
        ps.handle = cert.handle;
        if (cr_monitor_key_new(cert.cert, platform_sign, &ps, &mk, &e) < 0) {
                rp_warn(LOG, "capability fetch: %s", e.msg);
                rtd_cert_clear(&cert);
                return;
        }
        rtd_cert_clear(&cert);
        struct rtd_http h = { .base = server, .ca_file = s->ca_file, .client = mk };
        if (rtd_http_request(&h, "GET", "/device/v1/capabilities/development", NULL, NULL, 0, "application/jose",
                             &resp, &e) < 0) {
                rp_warn(LOG, "capability fetch: %s", e.msg);
        } else if (resp.status == 200) {
                if (rtd_devcap_store(s->data_dir, resp.body, resp.len, s->ca_file, s->ueid, time(NULL), &cap, &e) < 0)
                        rp_warn(LOG, "capability fetch: refused: %s", e.msg);
                else
                        rp_info(LOG, "development capability fetched: %zu key(s), expires %lld", cap.n_keys,
                                (long long)cap.exp);
                rtd_devcap_clear(&cap);
        } else if (resp.status == 404) {
                snprintf(path, sizeof(path), "%s/" RTD_DEVCAP_FILE, s->data_dir);
                if (unlink(path) == 0)
                        rp_info(LOG, "development capability withdrawn by the service: removed");
        } else {
                rp_warn(LOG, "capability fetch: the service answered %ld", resp.status);
        }
        rtd_http_resp_clear(&resp);
        cr_monitor_key_free(mk);
}

static int open_control(struct rtd_sup *s, struct rp_err *err)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        char dir[4200];
        int r;

        snprintf(dir, sizeof(dir), "%s/run", s->data_dir);
        if ((r = rp_mkdir_p(dir, 0700)) < 0)
                return rp_err_set(err, r, "cannot create '%s': %s", dir, strerror(-r));
        if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/" RTD_APPCTL_CONTROL_SOCK, s->data_dir) >=
            sizeof(sa.sun_path))
                return rp_err_set(err, -ENAMETOOLONG, "control socket path '%s/%s' is too long for a unix socket",
                                  s->data_dir, RTD_APPCTL_CONTROL_SOCK);
        (void)unlink(sa.sun_path);
        s->ctl_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (s->ctl_fd < 0)
                return rp_err_set(err, -errno, "control socket: %s", strerror(errno));
        mode_t old = umask(0077);
        r = bind(s->ctl_fd, (struct sockaddr *)&sa, sizeof(sa));
        umask(old);
        if (r < 0 || listen(s->ctl_fd, 8) < 0)
                return rp_err_set(err, -errno, "control socket '%s': %s", sa.sun_path, strerror(errno));
        s->ev_ctl = event_new(s->cfg.base, s->ctl_fd, EV_READ | EV_PERSIST, on_ctl_accept, s);
        if (!s->ev_ctl || event_add(s->ev_ctl, NULL) < 0)
                return rp_err_set(err, -ENOMEM, "control socket: cannot watch it");
        return 0;
}

int rtd_sup_start(const struct rtd_sup_config *cfg, struct rtd_sup **ret, struct rp_err *err)
{
        struct rtd_sup *s = calloc(1, sizeof(*s));
        _cleanup_free_ struct rtd_app_info *infos = NULL;
        char skipped[1024];
        size_t n = 0;
        int r;

        if (!s)
                return rp_err_set(err, -ENOMEM, "out of memory");
        s->cfg = *cfg;
        s->ctl_fd = -1;
        snprintf(s->data_dir, sizeof(s->data_dir), "%s", cfg->data_dir);
        snprintf(s->state_dir, sizeof(s->state_dir), "%s/apps/state", cfg->data_dir);
        snprintf(s->ca_file, sizeof(s->ca_file), "%s", cfg->server_ca_file ? cfg->server_ca_file : "");
        snprintf(s->ueid, sizeof(s->ueid), "%s", cfg->ueid ? cfg->ueid : "");
        snprintf(s->hosts, sizeof(s->hosts), "%s",
                 cfg->hosts_file ? cfg->hosts_file : getenv("RAMPARTD_APP_HOSTS") ? getenv("RAMPARTD_APP_HOSTS") : "");
        s->cfg.backoff_min_ms = cfg->backoff_min_ms ? cfg->backoff_min_ms
                                                    : env_ms("RAMPARTD_APP_BACKOFF_MIN_MS", RTD_SUP_BACKOFF_MIN_MS);
        s->cfg.backoff_max_ms = cfg->backoff_max_ms ? cfg->backoff_max_ms
                                                    : env_ms("RAMPARTD_APP_BACKOFF_MAX_MS", RTD_SUP_BACKOFF_MAX_MS);
        if (s->cfg.backoff_max_ms < s->cfg.backoff_min_ms)
                s->cfg.backoff_max_ms = s->cfg.backoff_min_ms;
        s->cfg.confirm_ms = cfg->confirm_ms ? cfg->confirm_ms : env_ms("RAMPARTD_APP_CONFIRM_MS", RTD_SUP_CONFIRM_MS);
        if ((r = rp_mkdir_p(s->state_dir, 0700)) < 0) {
                rp_err_set(err, r, "cannot create '%s': %s", s->state_dir, strerror(-r));
                goto fail;
        }
        if ((r = sbx_filter_build(&s->filter, err)) < 0 || (r = open_control(s, err)) < 0)
                goto fail;
        if ((r = rtd_apps_load(s->data_dir, &infos, &n, skipped, sizeof(skipped))) < 0) {
                rp_err_set(err, r, "cannot list the installed apps: %s", strerror(-r));
                goto fail;
        }
        if (skipped[0])
                rp_warn(LOG, "installed apps skipped: %s", skipped);
        for (size_t i = 0; i < n; i++) {
                struct sup_app *a = app_new(s, &infos[i]);
                if (!a) {
                        r = rp_err_set(err, -ENOMEM, "out of memory");
                        goto fail;
                }
                s->apps[s->n++] = a;
        }
        rp_info(LOG, "supervisor: %zu app%s installed, back-off %ld..%ld ms, control socket %s/%s", s->n,
                s->n == 1 ? "" : "s", s->cfg.backoff_min_ms, s->cfg.backoff_max_ms, s->data_dir,
                RTD_APPCTL_CONTROL_SOCK);
        for (size_t i = 0; i < s->n; i++)
                app_start(s->apps[i]);
        write_status(s);
        *ret = s;
        return 0;
fail:
        rtd_sup_free(s);
        return r;
}

void rtd_sup_free(struct rtd_sup *s)
{
        if (!s)
                return;
        /* stop them all first: each stop rewrites the status of every app */
        for (size_t i = 0; i < s->n; i++)
                app_stop(s->apps[i]);
        for (size_t i = 0; i < s->n; i++) {
                struct sup_app *a = s->apps[i];
                drop_events(a);
                if (a->ev_restart)
                        event_free(a->ev_restart);
                if (a->ev_confirm)
                        event_free(a->ev_confirm);
                free(a);
        }
        s->n = 0;
        while (s->ctl_conns)
                conn_close(s->ctl_conns);
        if (s->ev_ctl)
                event_free(s->ev_ctl);
        if (s->ctl_fd >= 0) {
                char p[4300];
                close(s->ctl_fd);
                snprintf(p, sizeof(p), "%s/" RTD_APPCTL_CONTROL_SOCK, s->data_dir);
                (void)unlink(p);
        }
        sbx_filter_free(&s->filter);
        free(s);
}

/* director.c - device authentication, assignments and the check-in (see
 * director.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/crypto.h"
#include "lib/cleanup.h"
#include "lib/encode.h"
#include "lib/log.h"
#include "server/devices.h"
#include "server/director.h"
#include "server/http.h"
#include "server/repo.h"
#include "server/routes.h"
#include "store/attest.h"
#include "store/ca.h"
#include "store/repo.h"
#include "tuf/meta.h"

#define CHECKIN_MAX_INSTALLED 33
#define CHECKIN_MAX_REPORTS 32
#define DIRECTOR_VERSION_KEY "repo.director_version"

/* ---- device identity ---- */

__attribute__((format(printf, 2, 3))) static int deny(struct srv_req *r, const char *fmt, ...)
{
        char msg[RP_ERR_MSG_MAX];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        srv_reply_error(r, 403, "forbidden", "%s", msg);
        return -EPERM;
}

int srv_device_authenticate(struct srv_req *r, struct store_device *ret_dev)
{
        struct store *st = srv_req_store(r);
        struct rp_err e = {0};
        _cleanup_(cr_cert_freep) struct cr_cert *peer = NULL;
        _cleanup_free_ char *cn = NULL;
        _cleanup_free_ char *serial = NULL;
        struct store_device_owner owner;
        struct store_device_cert dc;
        struct store_device dev;
        int k;

        if (srv_req_peer_cert(r, &peer) < 0) {
                srv_reply_error(r, 401, "unauthenticated", "this route needs a TLS client "
                                "certificate");
                return -EACCES;
        }
        if (cr_cert_subject_cn(peer, &cn) < 0 || !srv_ueid_valid(cn))
                return deny(r, "client certificate subject CN is not a device id");
        if (cr_cert_serial_hex(peer, &serial) < 0)
                return deny(r, "client certificate has no readable serial");
        for (char *p = serial; *p; p++)
                if (*p >= 'A' && *p <= 'F')
                        *p = (char)(*p - 'A' + 'a');
        k = store_attest_owner_get(st, cn, &owner, &e);
        if (k == -ENOENT)
                return deny(r, "device '%s' is not claimed by a tenant", cn);
        if (k < 0) {
                srv_reply_err(r, &e);
                return k;
        }
        k = store_attest_cert_get(st, owner.tenant_id, serial, &dc, &e);
        if (k == -ENOENT || (k == 0 && strcmp(dc.ueid, cn)))
                return deny(r, "client certificate was not issued to device '%s' by its "
                            "tenant's CA", cn);
        if (k < 0) {
                srv_reply_err(r, &e);
                return k;
        }
        time_t nb = 0, na = 0, now = time(NULL);
        if (cr_cert_validity(peer, &nb, &na) < 0 || now < nb || now > na)
                return deny(r, "client certificate of '%s' is not valid now", cn);
        static const char *const states[] = {"current", "next", "retired"};
        bool signed_ok = false;
        for (size_t i = 0; i < 3 && !signed_ok; i++) {
                struct store_ca ca;
                _cleanup_(cr_cert_freep) struct cr_cert *cc = NULL;
                _cleanup_(cr_key_freep) struct cr_key *pub = NULL;
                if (store_ca_get_by_state(st, owner.tenant_id, states[i], &ca, &e) < 0)
                        continue;
                if (cr_cert_from_pem(ca.cert_pem, strlen(ca.cert_pem), &cc, NULL) < 0 ||
                    cr_cert_pubkey(cc, &pub) < 0)
                        continue;
                signed_ok = cr_cert_verify_signature(peer, pub, NULL) == 0;
        }
        if (!signed_ok)
                return deny(r, "client certificate of '%s' is not signed by its tenant's CA",
                            cn);
        k = store_device_get(st, owner.tenant_id, cn, &dev, &e);
        if (k < 0) {
                srv_reply_err(r, &e);
                return k;
        }
        if (!strcmp(dev.state, "blocked"))
                return deny(r, "device '%s' is blocked", cn);
        *ret_dev = dev;
        return 0;
}

/* ---- assignment ---- */

bool srv_policy_allows(const struct store_group *g, const char *type)
{
        if (!strcmp(g->update_policy, "no-updates"))
                return false;
        if (!strcmp(type, "os"))
                return true;
        if (!strcmp(g->update_policy, "no-app-updates"))
                return false;
        return strcmp(g->name, "Development") != 0;
}

int srv_director_assignment(struct store *st, const struct store_device *dev,
                            struct srv_assignment *ret, struct rp_err *err)
{
        int k;
        memset(ret, 0, sizeof(*ret));
        if ((k = store_group_get(st, dev->tenant_id, dev->group_id, &ret->group, err)) < 0)
                return k;
        k = store_deploy_current(st, dev->tenant_id, dev->group_id, &ret->dep, err);
        if (k == -ENOENT)
                return 0;
        if (k < 0)
                return k;
        ret->has_deployment = true;
        for (size_t i = 0; i < ret->dep.n_images; i++) {
                struct store_image im;
                if ((k = store_image_get(st, dev->tenant_id, ret->dep.image_ids[i], &im, err)) < 0)
                        return k;
                if (srv_policy_allows(&ret->group, im.type))
                        ret->images[ret->n++] = im;
        }
        return 0;
}

static int image_to_tuf(const struct store_image *im, struct tuf_image *t, struct rp_err *err)
{
        memset(t, 0, sizeof(*t));
        snprintf(t->name, sizeof(t->name), "%s", im->name);
        snprintf(t->component_id, sizeof(t->component_id), "%s", im->component_id);
        snprintf(t->version, sizeof(t->version), "%s", im->version);
        t->type = strcmp(im->type, "os") ? TUF_IMAGE_APP : TUF_IMAGE_OS;
        t->svn = (uint64_t)im->svn;
        t->length = (uint64_t)im->length;
        if (rp_hex_decode(im->sha256, t->sha256, sizeof(t->sha256)) < 0)
                return rp_err_set(err, -EIO, "image '%s' has a malformed sha256", im->id);
        return 0;
}

/* ---- check-in ---- */

static const struct srv_field checkin_fields[] = {
        {"root_version", SRV_F_INT, SRV_F_REQUIRED, 0},
        {"installed", SRV_F_ARRAY, SRV_F_REQUIRED, 0},
        {"reports", SRV_F_ARRAY, 0, 0},
};

static bool printable(const char *s, size_t max)
{
        size_t n = 0;
        for (; *s; s++, n++)
                if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
                        return false;
        return n <= max;
}

static bool only_members(json_t *o, const char *const *names, size_t n, const char **ret_bad)
{
        const char *key;
        json_t *v;
        json_object_foreach(o, key, v) {
                bool ok = false;
                for (size_t i = 0; i < n && !ok; i++)
                        ok = !strcmp(key, names[i]);
                if (!ok) {
                        *ret_bad = key;
                        return false;
                }
        }
        return true;
}

__attribute__((format(printf, 2, 3))) static int bad(struct srv_req *r, const char *fmt, ...)
{
        char msg[RP_ERR_MSG_MAX];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        srv_reply_error(r, 400, "bad_request", "%s", msg);
        return -EINVAL;
}

static int check_installed(struct srv_req *r, json_t *a)
{
        static const char *const names[] = {"component_id", "type", "version", "svn"};
        size_t i;
        json_t *v;
        if (json_array_size(a) > CHECKIN_MAX_INSTALLED)
                return bad(r, "'installed' lists more than %d entries", CHECKIN_MAX_INSTALLED);
        json_array_foreach(a, i, v) {
                const char *badk = NULL;
                if (!json_is_object(v))
                        return bad(r, "installed[%zu] is not an object", i);
                if (!only_members(v, names, 4, &badk))
                        return bad(r, "installed[%zu]: unknown member '%.40s'", i, badk);
                json_t *c = json_object_get(v, "component_id"), *t = json_object_get(v, "type");
                json_t *ver = json_object_get(v, "version"), *svn = json_object_get(v, "svn");
                if (!json_is_string(c) || !tuf_valid_component_id(json_string_value(c)) ||
                    json_string_length(c) > TUF_MAX_COMPONENT)
                        return bad(r, "installed[%zu]: component_id must be a component id", i);
                if (!json_is_string(t) || (strcmp(json_string_value(t), "os") &&
                                           strcmp(json_string_value(t), "app")))
                        return bad(r, "installed[%zu]: type must be 'os' or 'app'", i);
                if (!json_is_string(ver) || json_string_length(ver) > TUF_MAX_VERSION ||
                    !tuf_valid_version(json_string_value(ver)))
                        return bad(r, "installed[%zu]: version must be a version string", i);
                if (!json_is_integer(svn) || json_integer_value(svn) < 0 ||
                    json_integer_value(svn) > UINT32_MAX)
                        return bad(r, "installed[%zu]: svn must be an integer 0..2^32-1", i);
        }
        return 0;
}

static const char *const report_states[] = {"downloading", "installed", "failed", "reverted"};

static int check_reports(struct srv_req *r, json_t *a)
{
        static const char *const names[] = {"sha256", "status", "reason"};
        size_t i;
        json_t *v;
        if (!a)
                return 0;
        if (json_array_size(a) > CHECKIN_MAX_REPORTS)
                return bad(r, "'reports' lists more than %d entries", CHECKIN_MAX_REPORTS);
        json_array_foreach(a, i, v) {
                const char *badk = NULL;
                uint8_t h[32];
                if (!json_is_object(v))
                        return bad(r, "reports[%zu] is not an object", i);
                if (!only_members(v, names, 3, &badk))
                        return bad(r, "reports[%zu]: unknown member '%.40s'", i, badk);
                json_t *sh = json_object_get(v, "sha256"), *s = json_object_get(v, "status");
                json_t *re = json_object_get(v, "reason");
                if (!json_is_string(sh) || json_string_length(sh) != 64 ||
                    rp_hex_decode(json_string_value(sh), h, sizeof(h)) < 0)
                        return bad(r, "reports[%zu]: sha256 must be 64 hex digits", i);
                for (const char *p = json_string_value(sh); *p; p++)
                        if (*p >= 'A' && *p <= 'F')
                                return bad(r, "reports[%zu]: sha256 must be lowercase", i);
                bool ok = false;
                for (size_t j = 0; json_is_string(s) && j < 4 && !ok; j++)
                        ok = !strcmp(json_string_value(s), report_states[j]);
                if (!ok)
                        return bad(r, "reports[%zu]: status must be downloading, installed, "
                                   "failed or reverted", i);
                if (re && (!json_is_string(re) || !printable(json_string_value(re), 256)))
                        return bad(r, "reports[%zu]: reason must be at most 256 printable ASCII "
                                   "bytes", i);
        }
        return 0;
}

/* Writes a status only when it differs from the one recorded, so a check-in
 * that reports nothing new writes nothing. */
static int set_status(struct store *st, const struct srv_assignment *a, const char *ueid,
                      const struct store_deploy_status *known, size_t n_known,
                      const struct store_image *im, const char *status, const char *reason,
                      int64_t now_ms, struct rp_err *err)
{
        if (!reason)
                reason = "";
        for (size_t i = 0; i < n_known; i++)
                if (!strcmp(known[i].image_id, im->id) && !strcmp(known[i].status, status) &&
                    !strncmp(known[i].reason, reason, sizeof(known[i].reason) - 1))
                        return 0;
        struct store_deploy_status v = {.updated_ms = now_ms};
        snprintf(v.deployment_id, sizeof(v.deployment_id), "%s", a->dep.id);
        snprintf(v.ueid, sizeof(v.ueid), "%s", ueid);
        snprintf(v.image_id, sizeof(v.image_id), "%s", im->id);
        snprintf(v.status, sizeof(v.status), "%s", status);
        snprintf(v.reason, sizeof(v.reason), "%s", reason);
        return store_deploy_status_set(st, &v, err);
}

/* Records what the check-in says about the assigned images; returns the
 * number of reports about images not assigned. */
static int record_status(struct store *st, const struct srv_assignment *a, const char *ueid,
                         json_t *installed, json_t *reports, int64_t now_ms, size_t *ret_ignored,
                         struct rp_err *err)
{
        size_t i, ignored = 0, n_known = 0;
        json_t *v;
        int k;
        _cleanup_free_ struct store_deploy_status *known = NULL;
        if ((k = store_deploy_status_list(st, a->dep.id, ueid, &known, &n_known, err)) < 0)
                return k;
        /* json_array_foreach on NULL runs zero times */
        json_array_foreach(reports, i, v) {
                const char *sh = json_string_value(json_object_get(v, "sha256"));
                const char *status = json_string_value(json_object_get(v, "status"));
                json_t *re = json_object_get(v, "reason");
                const struct store_image *im = NULL;
                for (size_t j = 0; j < a->n && !im; j++)
                        if (!strcmp(a->images[j].sha256, sh))
                                im = &a->images[j];
                if (!im) {
                        ignored++;
                        continue;
                }
                if ((k = set_status(st, a, ueid, known, n_known, im, status,
                                    re ? json_string_value(re) : "", now_ms, err)) < 0)
                        return k;
        }
        json_array_foreach(installed, i, v) {
                const char *c = json_string_value(json_object_get(v, "component_id"));
                const char *ver = json_string_value(json_object_get(v, "version"));
                for (size_t j = 0; j < a->n; j++) {
                        if (strcmp(a->images[j].component_id, c) ||
                            strcmp(a->images[j].version, ver))
                                continue;
                        if ((k = set_status(st, a, ueid, known, n_known, &a->images[j],
                                            "installed", "", now_ms, err)) < 0)
                                return k;
                }
        }
        *ret_ignored = ignored;
        return 0;
}

/* Director versions grow with every assignment signed. The store keeps a
 * ceiling reserved DIRECTOR_VERSION_BLOCK ahead; versions up to it are handed
 * out from memory, so a check-in does not write (and wait for a durable
 * commit) only to count. After a restart numbering continues above the
 * stored ceiling, so versions never repeat or go back. */
#define DIRECTOR_VERSION_BLOCK 1024

static struct {
        const struct store *st;
        uint64_t next, ceiling;
} dir_ver;

static int next_director_version(struct store *st, uint64_t *ret, struct rp_err *err)
{
        char buf[32];
        int k;
        if (dir_ver.st != st || dir_ver.next >= dir_ver.ceiling) {
                unsigned long long stored = 0;
                k = store_meta_get(st, DIRECTOR_VERSION_KEY, buf, sizeof(buf), err);
                if (k == 0)
                        stored = strtoull(buf, NULL, 10);
                else if (k != -ENOENT)
                        return k;
                if (stored + DIRECTOR_VERSION_BLOCK > TUF_MAX_META_VERSION)
                        return rp_err_set(err, -EOVERFLOW, "director versions are used up");
                snprintf(buf, sizeof(buf), "%llu", stored + DIRECTOR_VERSION_BLOCK);
                if ((k = store_meta_set(st, DIRECTOR_VERSION_KEY, buf, err)) < 0)
                        return k;
                dir_ver.st = st;
                dir_ver.next = stored;
                dir_ver.ceiling = stored + DIRECTOR_VERSION_BLOCK;
        }
        *ret = ++dir_ver.next;
        return 0;
}

static json_t *meta_string(struct store *st, const char *role, int64_t version,
                           struct rp_err *err)
{
        struct store_repo_meta m = {0};
        if (store_repo_meta_get(st, role, version, &m, err) < 0)
                return NULL;
        json_t *s = json_stringn((const char *)m.body, m.len);
        store_repo_meta_clear(&m);
        return s;
}

static void checkin(struct srv_req *r)
{
        struct srv *s = srv_req_server(r);
        struct store *st = srv_req_store(r);
        struct rp_err err = {0};
        struct store_device dev;
        struct srv_assignment *a = NULL;
        struct tuf_director *dm = NULL;
        struct tuf_root root;
        _cleanup_(json_decrefp) json_t *body = NULL;
        _cleanup_free_ char *payload = NULL;
        _cleanup_free_ char *env = NULL;
        _cleanup_(store_tx_guard) struct store *tx = NULL;
        size_t plen = 0, env_len = 0, ignored = 0;
        int64_t now_ms = srv_now_ms();
        int k;

        if (srv_device_authenticate(r, &dev) < 0)
                return;
        if (srv_req_json(r, SRV_FIELDS(checkin_fields), &body) < 0)
                return;
        json_int_t rv = json_integer_value(json_object_get(body, "root_version"));
        json_t *installed = json_object_get(body, "installed");
        json_t *reports = json_object_get(body, "reports");
        if (rv < 1 || (uint64_t)rv > TUF_MAX_META_VERSION)
                return srv_reply_error(r, 400, "bad_request", "root_version must be 1..2^53");
        if (check_installed(r, installed) < 0 || check_reports(r, reports) < 0)
                return;
        k = srv_repo_publish(s, now_ms, &err);
        if (k == -ENOENT)
                return srv_reply_error(r, 503, "unavailable", "the repository has no root or "
                                       "targets yet: %s", err.msg);
        if (k < 0)
                return srv_reply_err(r, &err);
        if ((k = srv_repo_root(st, &root, &err)) < 0)
                return srv_reply_err(r, &err);
        if ((uint64_t)rv > root.version)
                return srv_reply_error(r, 400, "bad_request", "root_version %lld is above the "
                                       "repository's root version %llu", (long long)rv,
                                       (unsigned long long)root.version);
        a = calloc(1, sizeof(*a));
        dm = calloc(1, sizeof(*dm));
        if (!a || !dm) {
                srv_reply_error(r, 503, "unavailable", "out of memory");
                goto out;
        }
        if ((k = srv_director_assignment(st, &dev, a, &err)) < 0) {
                srv_reply_err(r, &err);
                goto out;
        }
        /* outside the transaction: a reserved ceiling must be durable
         * before versions below it are handed out */
        if ((k = next_director_version(st, &dm->version, &err)) < 0) {
                srv_reply_err(r, &err);
                goto out;
        }
        if ((k = store_tx_begin(st, &err)) < 0) {
                srv_reply_err(r, &err);
                goto out;
        }
        tx = st;
        if (a->has_deployment &&
            (k = record_status(st, a, dev.ueid, installed, reports, now_ms, &ignored, &err)) < 0) {
                srv_reply_err(r, &err);
                goto out;
        }
        if (!a->has_deployment)
                ignored = reports ? json_array_size(reports) : 0;
        dm->expires = (time_t)(now_ms / 1000) + SRV_REPO_DIRECTOR_LIFETIME_S;
        snprintf(dm->ueid, sizeof(dm->ueid), "%s", dev.ueid);
        for (size_t i = 0; i < a->n; i++)
                if ((k = image_to_tuf(&a->images[i], &dm->images[dm->n_images++], &err)) < 0) {
                        srv_reply_err(r, &err);
                        goto out;
                }
        if ((k = tuf_director_encode(dm, &payload, &plen, &err)) < 0 ||
            (k = srv_repo_sign(s, TUF_ROLE_DIRECTOR, payload, plen, &env, &env_len, &err)) < 0) {
                srv_reply_err(r, &err);
                goto out;
        }
        if ((k = store_tx_commit(st, &err)) < 0) {
                srv_reply_err(r, &err);
                goto out;
        }
        tx = NULL;

        json_t *roots = json_array();
        for (uint64_t v = (uint64_t)rv + 1;
             v <= root.version && json_array_size(roots) < SRV_REPO_MAX_ROOT_WALK; v++) {
                json_t *x = meta_string(st, "root", (int64_t)v, &err);
                if (!x) {
                        json_decref(roots);
                        srv_reply_err(r, &err);
                        goto out;
                }
                json_array_append_new(roots, x);
        }
        json_t *reply = json_pack("{s:s,s:o,s:s%,s:I}", "ueid", dev.ueid, "roots", roots,
                                  "director", env, env_len, "ignored_reports",
                                  (json_int_t)ignored);
        static const char *const roles[] = {"timestamp", "snapshot", "targets"};
        for (size_t i = 0; i < 3; i++) {
                json_t *x = meta_string(st, roles[i], 0, &err);
                if (!x) {
                        json_decref(reply);
                        srv_reply_err(r, &err);
                        goto out;
                }
                json_object_set_new(reply, roles[i], x);
        }
        json_t *deleg = json_object();
        char role[STORE_REPO_ROLE_MAX];
        if (store_repo_role_of(st, dev.tenant_id, role, &err) == 0) {
                json_t *x = meta_string(st, role, 0, &err);
                if (x)
                        json_object_set_new(deleg, role, x);
        }
        json_object_set_new(reply, "delegated", deleg);
        /* the device group's settings the device applies itself */
        json_object_set_new(reply, "policy", json_pack("{s:b}", "crash_dumps",
                                                       a->group.crash_dumps_allowed));
        srv_audit_target(r, dev.ueid);
        srv_reply_json(r, 200, reply);
out:
        free(a);
        free(dm);
}

static void device_metadata(struct srv_req *r)
{
        struct store *st = srv_req_store(r);
        struct rp_err err = {0};
        struct store_device dev;
        struct store_repo_meta m = {0};
        char role[STORE_REPO_ROLE_MAX] = "-";
        if (srv_device_authenticate(r, &dev) < 0)
                return;
        int k = srv_repo_publish(srv_req_server(r), srv_now_ms(), &err);
        if (k < 0 && k != -ENOENT)
                return srv_reply_err(r, &err);
        if (store_repo_role_of(st, dev.tenant_id, role, &err) < 0)
                snprintf(role, sizeof(role), "-");
        if (srv_repo_file(st, srv_req_param(r, "file"), role, &m, &err) < 0)
                return srv_reply_err(r, &err);
        srv_reply_text(r, 200, "application/json", m.body, m.len);
        store_repo_meta_clear(&m);
}

static const struct srv_route routes[] = {
        {"POST", "/device/v1/checkin", SRV_AUTH_DEVICE, checkin, "device.checkin", 0},
        {"GET", "/device/v1/metadata/{file}", SRV_AUTH_DEVICE, device_metadata,
         "device.metadata_get", 0},
};
const struct srv_route_set srv_routes_director = SRV_ROUTE_SET(routes);

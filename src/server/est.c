/* est.c - the EST-shaped device endpoints (nonce, simpleenroll,
 * simplereenroll, cacerts under /.well-known/est/<tenant>/) and the
 * operator routes around attestation: released OS images (reference
 * values), the tenant SVN floor and a device's issued certificates.
 * Wire format: docs/attestation.md.
 *
 * Every enroll outcome is counted in /metrics (rampart_attest_total) and
 * written to the audit log here, because EST requests carry no token and
 * the framework audits only token-authenticated calls. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "crypto/crypto.h"
#include "lib/cleanup.h"
#include "lib/encode.h"
#include "lib/log.h"
#include "server/attest.h"
#include "server/ca.h"
#include "server/devices.h"
#include "server/routes.h"
#include "server/srv_int.h"
#include "store/attest.h"
#include "store/audit.h"
#include "store/devices.h"
#include "store/nonces.h"
#include "store/tenants.h"

#define EST_PEM_TYPE "application/x-pem-file"
#define EST_P7_TYPE "application/pkcs7-mime; smime-type=certs-only"

static bool wants_pem(struct srv_req *r)
{
        const char *a = srv_req_header(r, "Accept");
        return a && strstr(a, EST_PEM_TYPE);
}

/* The tenant of the path; replies 404 and returns false when unknown. */
static bool est_tenant(struct srv_req *r, const char **ret)
{
        const char *t = srv_req_param(r, "tenant");
        struct rp_err e = {0};
        struct store_tenant ten;
        if (!srv_id_valid("ten", t)) {
                srv_reply_error(r, 404, "not_found", "no tenant '%.60s'", t ? t : "");
                return false;
        }
        int k = store_tenant_get(srv_req_store(r), t, &ten, &e);
        if (k == -ENOENT) {
                srv_reply_error(r, 404, "not_found", "no tenant '%s'", t);
                return false;
        }
        if (k < 0) {
                srv_reply_err(r, &e);
                return false;
        }
        *ret = t;
        return true;
}

/* Sends certificates as RFC 7030 base64 PKCS#7 certs-only, or PEM. */
static void reply_certs(struct srv_req *r, struct cr_cert *const *certs, size_t n)
{
        struct rp_err e = {0};
        if (wants_pem(r)) {
                struct rp_buf b = {.max = 64 * 1024};
                for (size_t i = 0; i < n; i++) {
                        _cleanup_free_ char *pem = NULL;
                        if (cr_cert_to_pem(certs[i], &pem, &e) < 0 ||
                            rp_buf_append(&b, pem, strlen(pem)) < 0) {
                                rp_buf_free(&b);
                                return srv_reply_error(r, 500, "internal", "cannot encode PEM");
                        }
                }
                srv_reply_text(r, 200, EST_PEM_TYPE, b.data, b.len);
                rp_buf_free(&b);
                return;
        }
        _cleanup_free_ uint8_t *der = NULL;
        size_t len = 0;
        if (srv_pkcs7_certs_only(certs, n, &der, &len, &e) < 0)
                return srv_reply_err(r, &e);
        _cleanup_free_ char *b64 = srv_b64_encode(der, len, true);
        if (!b64)
                return srv_reply_error(r, 503, "unavailable", "out of memory");
        evhttp_add_header(evhttp_request_get_output_headers(r->ev), "Content-Transfer-Encoding",
                          "base64");
        srv_reply_text(r, 200, EST_P7_TYPE, b64, strlen(b64));
}

static void est_nonce(struct srv_req *r)
{
        const char *tenant;
        if (!est_tenant(r, &tenant))
                return;
        struct srv *s = srv_req_server(r);
        struct rp_err e = {0};
        uint8_t raw[SRV_ATTEST_NONCE_LEN], h[CR_SHA256_LEN];
        char b64[64], exp[32];
        unsigned life = s->cfg.nonce_lifetime_s ? s->cfg.nonce_lifetime_s
                                                : SRV_ATTEST_NONCE_LIFETIME_S;
        int64_t now = srv_now_ms(), expires = now + (int64_t)life * 1000;
        static unsigned issued;
        if (cr_random(raw, sizeof(raw)) < 0)
                return srv_reply_error(r, 500, "internal", "no randomness");
        cr_sha256(raw, sizeof(raw), h);
        rp_b64url_encode(raw, sizeof(raw), b64);
        cr_wipe(raw, sizeof(raw));
        if (store_nonce_create(srv_req_store(r), h, tenant, now, expires, &e) < 0)
                return srv_reply_err(r, &e);
        /* unused nonces go an hour after they expired */
        if (++issued % 256 == 0 && store_nonce_purge(srv_req_store(r), now - 3600 * 1000, NULL,
                                                      &e) < 0)
                rp_warn("est", "purging expired nonces: %s", e.msg);
        srv_time_fmt(expires, exp);
        srv_reply_json(r, 200, json_pack("{s:s,s:s}", "nonce", b64, "expires", exp));
}

static void est_cacerts(struct srv_req *r)
{
        const char *tenant;
        if (!est_tenant(r, &tenant))
                return;
        struct rp_err e = {0};
        _cleanup_free_ char *pem = NULL;
        struct cr_cert **certs = NULL;
        size_t n = 0;
        if (srv_ca_bundle(srv_req_store(r), tenant, srv_now_ms(), &pem, NULL, &e) < 0)
                return srv_reply_err(r, &e);
        if (cr_certs_from_pem(pem, strlen(pem), 8, &certs, &n, &e) < 0)
                return srv_reply_err(r, &e);
        reply_certs(r, certs, n);
        cr_certs_free(certs, n);
}

/* Audit record of an enroll (EST requests carry no token). */
static void est_audit(struct srv_req *r, const char *tenant, const char *ueid, int status,
                      const char *reason, const char *msg)
{
        struct srv *s = srv_req_server(r);
        struct store_audit a = {.at_ms = srv_now_ms(), .status = status};
        struct rp_err e = {0};
        snprintf(a.tenant_id, sizeof(a.tenant_id), "%s", tenant);
        snprintf(a.actor, sizeof(a.actor), "device:%.40s", ueid && *ueid ? ueid : "unknown");
        snprintf(a.action, sizeof(a.action), "%s", srv_req_route(r)->name);
        snprintf(a.method, sizeof(a.method), "%s", srv_req_method(r));
        snprintf(a.path, sizeof(a.path), "%.*s", (int)sizeof(a.path) - 1, srv_req_path(r));
        snprintf(a.target, sizeof(a.target), "%s", ueid ? ueid : "");
        snprintf(a.detail, sizeof(a.detail), "reason=%s%s%.200s", reason, msg && *msg ? ": " : "",
                 msg ? msg : "");
        if (store_audit_append(s->store, &a, &e) < 0) {
                s->metrics.audit_failures++;
                rp_error("est", "audit record for %s not written: %s", a.action, e.msg);
        }
}

static void refuse(struct srv_req *r, const char *tenant, const char *ueid,
                   enum srv_attest_reason why, const char *msg)
{
        const char *code = srv_attest_reason_name(why);
        int status = srv_attest_reason_status(why);
        srv_metrics_attest(&srv_req_server(r)->metrics, code);
        est_audit(r, tenant, ueid, status, code, msg);
        rp_info("est", "attestation refused tenant=%s ueid=%s reason=%s: %s", tenant,
                ueid && *ueid ? ueid : "-", code, msg);
        if (why == SRV_AT_INTERNAL)
                return srv_reply_error(r, 500, "internal", "the attestation could not be "
                                       "completed; retry later");
        srv_reply_error(r, status, code, "%s", msg);
}

/* Body: {"csr": b64 DER, "evidence": JWS, "chain": [3 PEM], "purpose"?}. */
static void est_enroll(struct srv_req *r, bool reenroll)
{
        const char *tenant;
        if (!est_tenant(r, &tenant))
                return;
        struct srv *s = srv_req_server(r);
        struct store *st = srv_req_store(r);
        const char *ct = srv_req_header(r, "Content-Type");
        if (!ct || strncasecmp(ct, "application/json", 16))
                return srv_reply_error(r, 415, "unsupported_media_type", "the enroll body must "
                                       "be application/json (docs/attestation.md)");
        size_t blen = 0;
        const uint8_t *body = srv_req_body(r, &blen);
        json_error_t je;
        _cleanup_(json_decrefp) json_t *j = json_loadb((const char *)body, blen,
                                                        JSON_REJECT_DUPLICATES, &je);
        _cleanup_free_ uint8_t *csr = NULL;
        _cleanup_(cr_cert_freep) struct cr_cert *peer = NULL;
        size_t csr_len = 0;
        const char *key;
        json_t *v;
        if (!j || !json_is_object(j))
                return refuse(r, tenant, NULL, SRV_AT_MALFORMED, "the body is not a JSON object");
        json_object_foreach(j, key, v) {
                if (strcmp(key, "csr") && strcmp(key, "evidence") && strcmp(key, "chain") &&
                    strcmp(key, "purpose")) {
                        char m[120];
                        snprintf(m, sizeof(m), "unknown member '%.40s'", key);
                        return refuse(r, tenant, NULL, SRV_AT_MALFORMED, m);
                }
        }
        json_t *jcsr = json_object_get(j, "csr"), *jev = json_object_get(j, "evidence");
        json_t *jch = json_object_get(j, "chain"), *jp = json_object_get(j, "purpose");
        if (!json_is_string(jcsr) || !json_is_string(jev) || !json_is_array(jch) ||
            json_array_size(jch) != 3 || (jp && !json_is_string(jp)))
                return refuse(r, tenant, NULL, SRV_AT_MALFORMED, "members csr (string), "
                              "evidence (string) and chain (array of 3) are required");
        const char *purpose = jp ? json_string_value(jp) : "platform";
        if (strcmp(purpose, "platform") && strcmp(purpose, "app"))
                return refuse(r, tenant, NULL, SRV_AT_MALFORMED, "purpose must be 'platform' "
                              "or 'app'");
        struct srv_attest_request q = {
                .tenant_id = tenant,
                .evidence = json_string_value(jev),
                .evidence_len = json_string_length(jev),
                .purpose = purpose,
                .reenroll = reenroll,
                .now_ms = srv_now_ms(),
        };
        for (int i = 0; i < 3; i++) {
                json_t *c = json_array_get(jch, (size_t)i);
                if (!json_is_string(c))
                        return refuse(r, tenant, NULL, SRV_AT_MALFORMED, "chain entries must "
                                      "be PEM strings");
                q.chain[i] = json_string_value(c);
        }
        if (json_string_length(jcsr) > SRV_ATTEST_MAX_CSR * 2 ||
            srv_b64_decode(json_string_value(jcsr), json_string_length(jcsr), &csr, &csr_len) < 0)
                return refuse(r, tenant, NULL, SRV_AT_MALFORMED, "csr is not canonical base64 "
                              "of at most 4 KiB");
        q.csr = csr;
        q.csr_len = csr_len;
        if (reenroll && srv_req_peer_cert(r, &peer) == 0)
                q.peer = peer;

        /* One transaction: the nonce consumption, the outcome on the device
         * record, the certificate and the audit record land together, with
         * one durable write; the reply leaves only after the commit. */
        struct rp_err e = {0};
        _cleanup_(store_tx_guard) struct store *tx = NULL;
        if (store_tx_begin(st, &e) < 0)
                return refuse(r, tenant, NULL, SRV_AT_INTERNAL, e.msg);
        tx = st;
        struct srv_attest_result res;
        _cleanup_(cr_cert_freep) struct cr_cert *cert = NULL;
        int k = srv_attest_verify(st, &q, &res);
        if (k == 0 && res.reason == SRV_AT_OK) {
                struct srv_issue_opts o = {
                        .cert_hours = s->cfg.device_cert_hours ? s->cfg.device_cert_hours
                                                               : SRV_ATTEST_CERT_HOURS,
                        .backdate_hours = s->cfg.test_cert_backdate_h,
                };
                k = srv_attest_issue(s, &q, &res, &o, &cert, &e);
                if (k < 0) {
                        rp_error("est", "issuing for %s: %s", res.ueid, e.msg);
                        res.reason = SRV_AT_INTERNAL;
                        snprintf(res.msg, sizeof(res.msg), "%s", e.msg);
                }
        }
        if (res.reason == SRV_AT_INTERNAL) {
                /* nothing of a failed service call is kept, not even the nonce */
                store_tx_rollback(st);
                tx = NULL;
                refuse(r, tenant, res.ueid, res.reason, res.msg);
                srv_attest_result_clear(&res);
                return;
        }
        if (res.reason != SRV_AT_OK) {
                if (res.device_in_tenant &&
                    store_attest_result_set(st, tenant, res.ueid,
                                            srv_attest_reason_name(res.reason), q.now_ms, &e) < 0)
                        rp_warn("est", "recording result of %s: %s", res.ueid, e.msg);
                srv_metrics_attest(&s->metrics, srv_attest_reason_name(res.reason));
                est_audit(r, tenant, res.ueid, srv_attest_reason_status(res.reason),
                          srv_attest_reason_name(res.reason), res.msg);
        } else {
                srv_metrics_attest(&s->metrics, "ok");
                est_audit(r, tenant, res.ueid, 200, "ok", purpose);
        }
        if (store_tx_commit(st, &e) < 0) {
                store_tx_rollback(st);          /* a no-op when the commit ended it */
                tx = NULL;
                rp_error("est", "committing attestation of %s: %s", res.ueid, e.msg);
                srv_reply_error(r, 500, "internal", "the attestation could not be recorded; "
                                "retry later");
                srv_attest_result_clear(&res);
                return;
        }
        tx = NULL;
        if (res.reason != SRV_AT_OK) {
                rp_info("est", "attestation refused tenant=%s ueid=%s reason=%s: %s", tenant,
                        res.ueid[0] ? res.ueid : "-", srv_attest_reason_name(res.reason), res.msg);
                srv_reply_error(r, srv_attest_reason_status(res.reason),
                                srv_attest_reason_name(res.reason), "%s", res.msg);
                srv_attest_result_clear(&res);
                return;
        }
        rp_info("est", "attested tenant=%s ueid=%s os=%s/%s svn=%lld purpose=%s", tenant,
                res.ueid, res.ev.swname, res.ev.swversion, (long long)res.ev.svn, purpose);
        srv_attest_result_clear(&res);
        reply_certs(r, &cert, 1);
}

static void est_simpleenroll(struct srv_req *r) { est_enroll(r, false); }
static void est_simplereenroll(struct srv_req *r) { est_enroll(r, true); }

/* ---- OS releases (platform) ---- */
static json_t *osr_json(const struct store_os_release *o)
{
        return json_pack("{s:s,s:s,s:s,s:I,s:s,s:o}", "id", o->id, "name", o->name, "version",
                         o->version, "svn", (json_int_t)o->svn, "sha256", o->sha256,
                         "created_at", srv_json_time(o->created_ms));
}

static bool os_text_ok(const char *s)
{
        /* what verified image metadata may hold: [A-Za-z0-9.+~_-] */
        if (!*s || strlen(s) > 64)
                return false;
        for (; *s; s++)
                if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
                      (*s >= '0' && *s <= '9') || strchr(".+~_-", *s)))
                        return false;
        return true;
}

static const struct srv_field osr_fields[] = {
        {"name", SRV_F_STRING, SRV_F_REQUIRED | SRV_F_NAME, 64},
        {"version", SRV_F_STRING, SRV_F_REQUIRED | SRV_F_NAME, 64},
        {"svn", SRV_F_INT, SRV_F_REQUIRED, 0},
        {"sha256", SRV_F_STRING, SRV_F_REQUIRED, 64},
};

static void osr_create(struct srv_req *r)
{
        _cleanup_(json_decrefp) json_t *b = NULL;
        if (srv_req_json(r, SRV_FIELDS(osr_fields), &b) < 0)
                return;
        struct store_os_release o = {.created_ms = srv_now_ms()};
        struct rp_err e = {0};
        const char *name = json_string_value(json_object_get(b, "name"));
        const char *ver = json_string_value(json_object_get(b, "version"));
        const char *sha = json_string_value(json_object_get(b, "sha256"));
        json_int_t svn = json_integer_value(json_object_get(b, "svn"));
        if (!os_text_ok(name))
                return srv_reply_error(r, 400, "bad_request", "name '%.64s' must be 1..64 of "
                                       "[A-Za-z0-9.+~_-]", name);
        if (!os_text_ok(ver))
                return srv_reply_error(r, 400, "bad_request", "version '%.64s' must be 1..64 "
                                       "of [A-Za-z0-9.+~_-]", ver);
        if (svn < 0 || svn > UINT32_MAX)
                return srv_reply_error(r, 400, "bad_request", "svn %lld is outside 0..%u",
                                       (long long)svn, UINT32_MAX);
        if (strlen(sha) != 64 || strspn(sha, "0123456789abcdef") != 64)
                return srv_reply_error(r, 400, "bad_request", "sha256 '%.70s' is not 64 "
                                       "lowercase hex digits", sha);
        if (srv_new_id("osr", o.id) < 0)
                return srv_reply_error(r, 500, "internal", "no randomness");
        snprintf(o.name, sizeof(o.name), "%s", name);
        snprintf(o.version, sizeof(o.version), "%s", ver);
        snprintf(o.sha256, sizeof(o.sha256), "%s", sha);
        o.svn = svn;
        if (store_attest_osr_create(srv_req_store(r), &o, &e) < 0)
                return srv_reply_err(r, &e);
        srv_audit_target(r, o.id);
        srv_reply_json(r, 201, osr_json(&o));
}

static void osr_list(struct srv_req *r)
{
        struct srv_page pg;
        struct rp_err e = {0};
        if (srv_req_page(r, &pg) < 0)
                return;
        _cleanup_free_ struct store_os_release *items = NULL;
        size_t n = 0;
        int64_t next = 0;
        if (store_attest_osr_list(srv_req_store(r), pg.after, pg.limit, &items, &n, &next, &e) < 0)
                return srv_reply_err(r, &e);
        json_t *a = json_array();
        for (size_t i = 0; i < n; i++)
                json_array_append_new(a, osr_json(&items[i]));
        srv_reply_page(r, a, next);
}

/* ---- tenant settings ---- */
static void settings_get(struct srv_req *r)
{
        struct rp_err e = {0};
        int64_t floor = 0;
        if (store_attest_floor_get(srv_req_store(r), srv_req_tenant(r), &floor, &e) < 0)
                return srv_reply_err(r, &e);
        srv_reply_json(r, 200, json_pack("{s:I}", "svn_floor", (json_int_t)floor));
}

static const struct srv_field settings_fields[] = {
        {"svn_floor", SRV_F_INT, SRV_F_REQUIRED, 0},
};

static void settings_set(struct srv_req *r)
{
        _cleanup_(json_decrefp) json_t *b = NULL;
        struct rp_err e = {0};
        if (srv_req_json(r, SRV_FIELDS(settings_fields), &b) < 0)
                return;
        json_int_t floor = json_integer_value(json_object_get(b, "svn_floor"));
        if (floor < 0 || floor > UINT32_MAX)
                return srv_reply_error(r, 400, "bad_request", "svn_floor %lld is outside 0..%u",
                                       (long long)floor, UINT32_MAX);
        if (store_attest_floor_set(srv_req_store(r), srv_req_tenant(r), floor, srv_now_ms(),
                                   &e) < 0)
                return srv_reply_err(r, &e);
        srv_audit_detail(r, "svn_floor=%lld", (long long)floor);
        srv_reply_json(r, 200, json_pack("{s:I}", "svn_floor", (json_int_t)floor));
}

/* ---- a device's certificates ---- */
static void device_certs(struct srv_req *r)
{
        const char *ueid = srv_req_param(r, "device");
        struct srv_page pg;
        struct rp_err e = {0};
        struct store_device d;
        if (!srv_ueid_valid(ueid))
                return srv_reply_error(r, 404, "not_found", "no device '%.60s'", ueid);
        if (store_device_get(srv_req_store(r), srv_req_tenant(r), ueid, &d, &e) < 0)
                return srv_reply_err(r, &e);
        if (srv_req_page(r, &pg) < 0)
                return;
        _cleanup_free_ struct store_device_cert *items = NULL;
        size_t n = 0;
        int64_t next = 0;
        if (store_attest_cert_list(srv_req_store(r), srv_req_tenant(r), ueid, pg.after, pg.limit,
                                   &items, &n, &next, &e) < 0)
                return srv_reply_err(r, &e);
        json_t *a = json_array();
        for (size_t i = 0; i < n; i++)
                json_array_append_new(a, json_pack("{s:s,s:s,s:o,s:o,s:o}", "serial",
                                                   items[i].serial, "purpose", items[i].purpose,
                                                   "not_before", srv_json_time(items[i].not_before_ms),
                                                   "not_after", srv_json_time(items[i].not_after_ms),
                                                   "issued_at", srv_json_time(items[i].issued_ms)));
        srv_reply_page(r, a, next);
}

static const struct srv_route routes[] = {
        {"POST", "/.well-known/est/{tenant}/nonce", SRV_AUTH_NONE, est_nonce, "est.nonce", 0},
        {"POST", "/.well-known/est/{tenant}/simpleenroll", SRV_AUTH_NONE, est_simpleenroll,
         "est.simpleenroll", 0},
        {"POST", "/.well-known/est/{tenant}/simplereenroll", SRV_AUTH_DEVICE, est_simplereenroll,
         "est.simplereenroll", 0},
        {"GET", "/.well-known/est/{tenant}/cacerts", SRV_AUTH_NONE, est_cacerts, "est.cacerts", 0},
        {"POST", "/api/v1/os-releases", SRV_AUTH_PLATFORM, osr_create, "os_release.create", 0},
        {"GET", "/api/v1/os-releases", SRV_AUTH_ANY, osr_list, "os_release.list", 0},
        {"GET", "/api/v1/attestation/settings", SRV_AUTH_READER, settings_get,
         "attest_settings.get", 0},
        {"PUT", "/api/v1/attestation/settings", SRV_AUTH_ADMIN, settings_set,
         "attest_settings.set", 0},
        {"GET", "/api/v1/devices/{device}/certificates", SRV_AUTH_READER, device_certs,
         "device.certificates", 0},
};
const struct srv_route_set srv_routes_est = SRV_ROUTE_SET(routes);

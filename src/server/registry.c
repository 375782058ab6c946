/* registry.c - the manufacturer registry (platform operator): trusted
 * manufacturer root CAs and the import of registration records written by
 * `rampart-device provision`.
 *
 * An import is verified record by record before anything is trusted:
 * exactly the six known members; the DeviceID certificate is signed by the
 * record's device CA, which chains to a registered manufacturer root; the
 * certificate's key is the record's deviceid_pub; the UEID is the DICE
 * identifier of that key (dice_id_derive) and the certificate's CN. The
 * whole import is one transaction: one bad line and nothing is stored.
 * Re-importing an identical record is a no-op; a different record for a
 * registered UEID is refused. */
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "lib/cleanup.h"
#include "lib/encode.h"
#include "server/devices.h"
#include "server/registry_record.h"
#include "server/routes.h"
#include "server/srv_int.h"
#include "store/registry.h"

#define REG_MAX_RECORDS 5000            /* per import: ~1.3 ms each, the loop waits */
#define REG_MAX_ERRORS 50               /* reported per import */
#define REG_MAX_ROOTS STORE_LIST_MAX    /* manufacturer roots considered */

/* ---- manufacturers ---- */

static json_t *mfr_json(const struct store_manufacturer *m)
{
        return json_pack("{s:s,s:s,s:s,s:s,s:o,s:o,s:s}", "id", m->id, "name", m->name,
                         "fingerprint", m->fingerprint, "subject", m->subject, "not_after",
                         srv_json_time(m->not_after_ms), "created_at", srv_json_time(m->created_ms),
                         "root_pem", m->cert_pem);
}

static const struct srv_field mfr_fields[] = {
        {"name", SRV_F_STRING, SRV_F_NAME | SRV_F_NULLABLE, 128},
        {"root_pem", SRV_F_STRING, SRV_F_REQUIRED, STORE_PEM_MAX - 1},
};

static void mfr_create(struct srv_req *r)
{
        _cleanup_(json_decrefp) json_t *b = NULL;
        if (srv_req_json(r, SRV_FIELDS(mfr_fields), &b) < 0)
                return;
        const char *pem = json_string_value(json_object_get(b, "root_pem"));
        const char *name = json_string_value(json_object_get(b, "name"));
        struct rp_err err = {0};
        _cleanup_(cr_cert_freep) struct cr_cert *c = NULL;
        _cleanup_(cr_key_freep) struct cr_key *pub = NULL;
        if (cr_cert_from_pem(pem, strlen(pem), &c, &err) < 0)
                return srv_reply_error(r, 400, "bad_request", "field 'root_pem': %s", err.msg);
        if (!cr_cert_is_ca(c))
                return srv_reply_error(r, 400, "bad_request",
                                       "field 'root_pem': the certificate is not a CA");
        if (cr_cert_pubkey(c, &pub) < 0 || cr_cert_verify_signature(c, pub, &err) < 0)
                return srv_reply_error(r, 400, "bad_request",
                                       "field 'root_pem': not a self-signed root CA");
        struct cr_cert *anchor[1] = {c};
        if (cr_chain_verify(c, NULL, 0, anchor, 1, 0, &err) < 0)
                return srv_reply_error(r, 400, "bad_request", "field 'root_pem': %s", err.msg);

        _cleanup_free_ struct store_manufacturer *m = calloc(1, sizeof(*m));
        if (!m)
                return srv_reply_error(r, 503, "unavailable", "out of memory");
        _cleanup_free_ char *cn = NULL, *canon = NULL;
        uint8_t fpr[CR_SHA256_LEN];
        time_t nb = 0, na = 0;
        char id[SRV_ID_BUF];
        if (cr_cert_fingerprint(c, fpr) < 0 || cr_cert_validity(c, &nb, &na) < 0 ||
            cr_cert_to_pem(c, &canon, &err) < 0 || srv_new_id("mfr", id) < 0)
                return srv_reply_error(r, 500, "internal", "cannot read the root certificate");
        if (cr_cert_subject_cn(c, &cn) < 0 || !cn || !*cn)
                return srv_reply_error(r, 400, "bad_request",
                                       "field 'root_pem': the root has no subject CN");
        if (!name && (strlen(cn) >= sizeof(m->name)))
                return srv_reply_error(r, 400, "bad_request",
                                       "the root's CN is too long to be a name; give 'name'");
        if (strlen(canon) >= sizeof(m->cert_pem))
                return srv_reply_error(r, 400, "bad_request", "field 'root_pem' is too large");
        snprintf(m->id, sizeof(m->id), "%s", id);
        snprintf(m->name, sizeof(m->name), "%s", name ? name : cn);
        rp_hex_encode(fpr, sizeof(fpr), m->fingerprint);
        snprintf(m->subject, sizeof(m->subject), "%s", cn);
        snprintf(m->cert_pem, sizeof(m->cert_pem), "%s", canon);
        m->not_after_ms = (int64_t)na * 1000;
        m->created_ms = srv_now_ms();
        if (store_mfr_create(srv_req_store(r), m, &err) < 0)
                return srv_reply_err(r, &err);
        srv_audit_target(r, m->id);
        srv_audit_detail(r, "root sha256 %.64s", m->fingerprint);
        srv_reply_json(r, 201, mfr_json(m));
}

static void mfr_list(struct srv_req *r)
{
        struct srv_page pg;
        if (srv_req_page(r, &pg) < 0)
                return;
        struct store_manufacturer *items = NULL;
        size_t n = 0;
        int64_t next = 0;
        struct rp_err err = {0};
        if (store_mfr_list(srv_req_store(r), pg.after, pg.limit, &items, &n, &next, &err) < 0)
                return srv_reply_err(r, &err);
        json_t *a = json_array();
        for (size_t i = 0; i < n; i++)
                json_array_append_new(a, mfr_json(&items[i]));
        free(items);
        srv_reply_page(r, a, next);
}

static void mfr_get(struct srv_req *r)
{
        const char *id = srv_req_param(r, "manufacturer");
        if (!srv_id_valid("mfr", id))
                return srv_reply_error(r, 404, "not_found", "no manufacturer '%.64s'", id);
        _cleanup_free_ struct store_manufacturer *m = calloc(1, sizeof(*m));
        struct rp_err err = {0};
        if (!m)
                return srv_reply_error(r, 503, "unavailable", "out of memory");
        if (store_mfr_get(srv_req_store(r), id, m, &err) < 0)
                return srv_reply_err(r, &err);
        srv_reply_json(r, 200, mfr_json(m));
}

/* ---- registration records ---- */

struct root_set {
        struct store_manufacturer *m;
        size_t n;
        struct cr_cert **certs;
};

static void root_set_free(struct root_set *rs)
{
        if (rs->certs)
                cr_certs_free(rs->certs, rs->n);
        free(rs->m);
}

static int root_set_load(struct store *st, struct root_set *rs, struct rp_err *err)
{
        int64_t next = 0;
        int r = store_mfr_list(st, 0, REG_MAX_ROOTS, &rs->m, &rs->n, &next, err);
        if (r < 0)
                return r;
        rs->certs = calloc(rs->n ? rs->n : 1, sizeof(*rs->certs));
        if (!rs->certs)
                return rp_err_set(err, -ENOMEM, "out of memory");
        for (size_t i = 0; i < rs->n; i++) {
                r = cr_cert_from_pem(rs->m[i].cert_pem, strlen(rs->m[i].cert_pem), &rs->certs[i],
                                     err);
                if (r < 0)
                        return rp_err_prefix(err, "stored root of manufacturer '%s'",
                                             rs->m[i].id);
        }
        return 0;
}

struct import {
        struct store *st;
        struct root_set roots;
        struct srv_reg_verifier ver;
        json_t *errors;
        size_t n_errors, n_conflicts;
        size_t total, added, unchanged;
        int64_t now_ms;
};

__attribute__((format(printf, 4, 5))) static void line_error(struct import *im, size_t line,
                                                              const char *field,
                                                              const char *fmt, ...)
{
        im->n_errors++;
        if (json_array_size(im->errors) >= REG_MAX_ERRORS)
                return;
        char msg[RP_ERR_MSG_MAX];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        json_array_append_new(im->errors, json_pack("{s:I,s:o,s:s}", "line", (json_int_t)line,
                                                    "field",
                                                    field && *field ? json_string(field) : json_null(),
                                                    "message", msg));
}

static bool record_same(const struct store_registry_record *a,
                        const struct store_registry_record *b)
{
        return !strcmp(a->manufacturer_id, b->manufacturer_id) &&
               a->deviceid_pub_len == b->deviceid_pub_len &&
               !memcmp(a->deviceid_pub, b->deviceid_pub, a->deviceid_pub_len) &&
               !strcmp(a->deviceid_cert, b->deviceid_cert) && !strcmp(a->device_ca, b->device_ca) &&
               a->debug == b->debug && a->provisioned_ms == b->provisioned_ms;
}

/* Verifies and stores one line (inside the import's transaction). Returns
 * <0 only for a store failure that ends the import. */
static int import_line(struct import *im, size_t line, const char *text, size_t len,
                       struct store_registry_record *rec, struct store_registry_record *old,
                       struct rp_err *err)
{
        struct rp_err e = {0};
        char field[SRV_REG_FIELD_MAX];
        size_t root = 0;
        im->total++;
        if (srv_reg_record_verify(&im->ver, text, len, rec, &root, field, &e) < 0) {
                line_error(im, line, field, "%s", e.msg);
                return 0;
        }
        snprintf(rec->manufacturer_id, sizeof(rec->manufacturer_id), "%s", im->roots.m[root].id);
        rec->imported_ms = im->now_ms;
        int r = store_registry_get(im->st, rec->ueid, old, &e);
        if (r == 0) {
                if (record_same(rec, old)) {
                        im->unchanged++;
                        return 0;
                }
                im->n_conflicts++;
                line_error(im, line, "ueid",
                           "device '%s' is registered already with a different record", rec->ueid);
                return 0;
        }
        if (r != -ENOENT) {
                *err = e;
                return r;
        }
        if (im->n_errors)       /* nothing will be committed: verify the rest only */
                return 0;
        r = store_registry_add(im->st, rec, err);
        if (r < 0)
                return r;
        im->added++;
        return 0;
}

static const struct srv_field import_fields[] = {
        {"records", SRV_F_STRING, SRV_F_REQUIRED, SRV_MAX_BODY_LARGE},
};

static void registry_import(struct srv_req *r)
{
        const char *ct = srv_req_header(r, "Content-Type");
        _cleanup_(json_decrefp) json_t *b = NULL;
        const char *text;
        size_t len;
        if (ct && (!strncasecmp(ct, "application/x-ndjson", 20) ||
                   !strncasecmp(ct, "application/jsonl", 17))) {
                text = (const char *)srv_req_body(r, &len);
        } else {
                if (srv_req_json(r, SRV_FIELDS(import_fields), &b) < 0)
                        return;
                json_t *v = json_object_get(b, "records");
                text = json_string_value(v);
                len = json_string_length(v);
        }
        if (memchr(text, 0, len))
                return srv_reply_error(r, 400, "bad_request", "records contain a NUL byte");

        struct store *st = srv_req_store(r);
        struct rp_err err = {0};
        struct import im = {.st = st, .errors = json_array(), .now_ms = srv_now_ms()};
        _cleanup_(json_decrefp) json_t *errors = im.errors;
        _cleanup_free_ struct store_registry_record *rec = calloc(2, sizeof(*rec));
        if (!rec || !errors) {
                root_set_free(&im.roots);
                return srv_reply_error(r, 503, "unavailable", "out of memory");
        }
        _cleanup_(store_tx_guard) struct store *tx = NULL;
        int k = store_tx_begin(st, &err);
        if (k == 0) {
                tx = st;
                k = root_set_load(st, &im.roots, &err);
                im.ver.roots = im.roots.certs;
                im.ver.n_roots = im.roots.n;
        }
        size_t line = 0;
        bool too_many = false;
        for (size_t pos = 0; k == 0 && pos < len;) {
                const char *nl = memchr(text + pos, '\n', len - pos);
                size_t end = nl ? (size_t)(nl - text) : len;
                line++;
                size_t a = pos, z = end;
                while (a < z && (text[a] == ' ' || text[a] == '\t' || text[a] == '\r'))
                        a++;
                while (z > a && (text[z - 1] == ' ' || text[z - 1] == '\t' || text[z - 1] == '\r'))
                        z--;
                if (z > a) {
                        if (im.total >= REG_MAX_RECORDS) {
                                too_many = true;
                                break;
                        }
                        k = import_line(&im, line, text + a, z - a, &rec[0], &rec[1], &err);
                }
                pos = end + 1;
        }
        root_set_free(&im.roots);
        if (k < 0)
                return srv_reply_err(r, &err);
        if (too_many)
                return srv_reply_error(r, 413, "payload_too_large",
                                       "more than %d records in one import (line %zu); split the "
                                       "records file", REG_MAX_RECORDS, line);
        if (im.total == 0 && im.n_errors == 0)
                return srv_reply_error(r, 400, "bad_request", "no records to import");
        if (im.n_errors) {
                /* tx still open: the guard rolls everything back */
                json_t *first = json_array_get(errors, 0);
                char msg[RP_ERR_MSG_MAX];
                json_t *fld = json_object_get(first, "field");
                if (!json_is_string(fld))
                        fld = NULL;
                snprintf(msg, sizeof(msg), "%zu of %zu record(s) refused, nothing imported; "
                         "line %lld%s%.64s%s: %.120s", im.n_errors, im.total,
                         (long long)json_integer_value(json_object_get(first, "line")),
                         fld ? " field '" : "", fld ? json_string_value(fld) : "", fld ? "'" : "",
                         json_string_value(json_object_get(first, "message")));
                /* The reply carries per-line details, so it is built here rather
                 * than by srv_reply_error(); the audit record still gets the
                 * message (the framework takes it from err_msg on failures). */
                snprintf(r->err_msg, sizeof(r->err_msg), "%s", msg);
                bool conflict = im.n_conflicts == im.n_errors;
                return srv_reply_json(r, conflict ? 409 : 400,
                                      json_pack("{s:{s:s,s:s,s:O}}", "error", "code",
                                                conflict ? "conflict" : "bad_request", "message",
                                                msg, "details", errors));
        }
        k = store_tx_commit(st, &err);
        tx = NULL;
        if (k < 0)
                return srv_reply_err(r, &err);
        srv_audit_detail(r, "records=%zu added=%zu unchanged=%zu", im.total, im.added,
                         im.unchanged);
        srv_reply_json(r, 200, json_pack("{s:I,s:I,s:I}", "records", (json_int_t)im.total, "added",
                                         (json_int_t)im.added, "unchanged",
                                         (json_int_t)im.unchanged));
}

static json_t *record_json(const struct store_registry_record *rec, bool full)
{
        char *b64 = malloc(rp_b64url_encoded_len(rec->deviceid_pub_len) + 1);
        if (b64)
                rp_b64url_encode(rec->deviceid_pub, rec->deviceid_pub_len, b64);
        json_t *j = json_pack("{s:s,s:s,s:s,s:b,s:o,s:o}", "ueid", rec->ueid, "manufacturer_id",
                              rec->manufacturer_id, "deviceid_pub", b64 ? b64 : "", "debug",
                              rec->debug, "provisioned_at", srv_json_time(rec->provisioned_ms),
                              "imported_at", srv_json_time(rec->imported_ms));
        free(b64);
        if (full && j) {
                json_object_set_new(j, "deviceid_cert", json_string(rec->deviceid_cert));
                json_object_set_new(j, "device_ca", json_string(rec->device_ca));
        }
        return j;
}

static void registry_list(struct srv_req *r)
{
        struct srv_page pg;
        if (srv_req_page(r, &pg) < 0)
                return;
        struct store_registry_record *items = NULL;
        size_t n = 0;
        int64_t next = 0;
        struct rp_err err = {0};
        if (store_registry_list(srv_req_store(r), pg.after, pg.limit, &items, &n, &next, &err) < 0)
                return srv_reply_err(r, &err);
        json_t *a = json_array();
        for (size_t i = 0; i < n; i++)
                json_array_append_new(a, record_json(&items[i], false));
        free(items);
        srv_reply_page(r, a, next);
}

static void registry_get(struct srv_req *r)
{
        const char *ueid = srv_req_param(r, "device");
        if (!srv_ueid_valid(ueid))
                return srv_reply_error(r, 404, "not_found", "no registered device '%.64s'", ueid);
        _cleanup_free_ struct store_registry_record *rec = calloc(1, sizeof(*rec));
        struct rp_err err = {0};
        if (!rec)
                return srv_reply_error(r, 503, "unavailable", "out of memory");
        if (store_registry_get(srv_req_store(r), ueid, rec, &err) < 0)
                return srv_reply_err(r, &err);
        srv_reply_json(r, 200, record_json(rec, true));
}

static const struct srv_route routes[] = {
        {"POST", "/api/v1/manufacturers", SRV_AUTH_PLATFORM, mfr_create, "manufacturer.create", 0},
        {"GET", "/api/v1/manufacturers", SRV_AUTH_PLATFORM, mfr_list, "manufacturer.list", 0},
        {"GET", "/api/v1/manufacturers/{manufacturer}", SRV_AUTH_PLATFORM, mfr_get,
         "manufacturer.get", 0},
        {"POST", "/api/v1/registry/import", SRV_AUTH_PLATFORM, registry_import, "registry.import",
         SRV_MAX_BODY_LARGE},
        {"GET", "/api/v1/registry", SRV_AUTH_PLATFORM, registry_list, "registry.list", 0},
        {"GET", "/api/v1/registry/{device}", SRV_AUTH_PLATFORM, registry_get, "registry.get", 0},
};
const struct srv_route_set srv_routes_registry = SRV_ROUTE_SET(routes);

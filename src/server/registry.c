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
#include "dice/dice.h"
#include "lib/cleanup.h"
#include "lib/encode.h"
#include "server/devices.h"
#include "server/routes.h"
#include "store/registry.h"

#define REG_MAX_LINE (64 * 1024)        /* one record */
#define REG_MAX_RECORDS 5000            /* per import: ~1.3 ms each, the loop waits */
#define REG_MAX_ERRORS 50               /* reported per import */
#define REG_MAX_ROOTS STORE_LIST_MAX    /* manufacturer roots considered */
#define REG_CA_CACHE 64                 /* distinct device CAs verified per import */

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

/* Device CAs seen in this import and the root each chains to (-1: none,
 * with the reason). Most imports carry one device CA for every line. */
struct ca_seen {
        uint8_t fpr[CR_SHA256_LEN];
        long root;
        char why[RP_ERR_MSG_MAX];
};

struct import {
        struct store *st;
        struct root_set roots;
        struct ca_seen cas[REG_CA_CACHE];
        size_t n_cas;
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
                                                    "field", field ? json_string(field) : json_null(),
                                                    "message", msg));
}

static const char *const rec_members[] = {"ueid", "deviceid_cert", "device_ca", "deviceid_pub",
                                          "debug", "provisioned_at"};

/* Which root the device CA chains to; cached per distinct device CA. */
static long ca_root(struct import *im, const struct cr_cert *ca, const char **ret_why)
{
        uint8_t fpr[CR_SHA256_LEN];
        if (cr_cert_fingerprint(ca, fpr) < 0) {
                *ret_why = "cannot fingerprint the device CA";
                return -1;
        }
        for (size_t i = 0; i < im->n_cas; i++)
                if (!memcmp(im->cas[i].fpr, fpr, sizeof(fpr))) {
                        *ret_why = im->cas[i].why;
                        return im->cas[i].root;
                }
        struct ca_seen seen = {.root = -1};
        memcpy(seen.fpr, fpr, sizeof(fpr));
        snprintf(seen.why, sizeof(seen.why), "no manufacturer root is registered");
        for (size_t i = 0; i < im->roots.n; i++) {
                struct rp_err e = {0};
                struct cr_cert *anchor[1] = {im->roots.certs[i]};
                if (cr_chain_verify(ca, NULL, 0, anchor, 1, 0, &e) == 0) {
                        seen.root = (long)i;
                        seen.why[0] = 0;
                        break;
                }
                snprintf(seen.why, sizeof(seen.why), "does not chain to a registered manufacturer root (%.180s)",
                         e.msg);
        }
        if (im->n_cas < REG_CA_CACHE) {
                im->cas[im->n_cas] = seen;
                *ret_why = im->cas[im->n_cas].why;
                im->n_cas++;
                return seen.root;
        }
        *ret_why = "does not chain to a registered manufacturer root";
        return seen.root;
}

static bool is_hex40(const char *s)
{
        return srv_ueid_valid(s);
}

/* Verifies one record; on success fills `rec` (except imported_ms). */
static bool record_verify(struct import *im, size_t line, json_t *o,
                          struct store_registry_record *rec)
{
        const char *k;
        json_t *v;
        json_object_foreach(o, k, v) {
                bool known = false;
                for (size_t i = 0; i < ARRAY_SIZE(rec_members); i++)
                        known = known || !strcmp(k, rec_members[i]);
                if (!known) {
                        line_error(im, line, k, "unknown member '%.64s'", k);
                        return false;
                }
        }
        for (size_t i = 0; i < ARRAY_SIZE(rec_members); i++) {
                v = json_object_get(o, rec_members[i]);
                bool is_bool = !strcmp(rec_members[i], "debug");
                if (!v) {
                        line_error(im, line, rec_members[i], "missing member '%s'", rec_members[i]);
                        return false;
                }
                if (is_bool ? !json_is_boolean(v) : !json_is_string(v)) {
                        line_error(im, line, rec_members[i], "member '%s' must be %s",
                                   rec_members[i], is_bool ? "a boolean" : "a string");
                        return false;
                }
        }
        const char *ueid = json_string_value(json_object_get(o, "ueid"));
        const char *pub_b64 = json_string_value(json_object_get(o, "deviceid_pub"));
        const char *cert_pem = json_string_value(json_object_get(o, "deviceid_cert"));
        const char *ca_pem = json_string_value(json_object_get(o, "device_ca"));
        const char *when = json_string_value(json_object_get(o, "provisioned_at"));

        if (!is_hex40(ueid)) {
                line_error(im, line, "ueid", "'%.64s' is not 40 lowercase hex characters", ueid);
                return false;
        }
        if (strlen(cert_pem) >= sizeof(rec->deviceid_cert) || strlen(ca_pem) >= sizeof(rec->device_ca)) {
                line_error(im, line, strlen(cert_pem) >= sizeof(rec->deviceid_cert) ? "deviceid_cert"
                                                                                  : "device_ca",
                           "certificate PEM longer than %d bytes", STORE_PEM_MAX - 1);
                return false;
        }
        int64_t prov_ms = 0;
        if (srv_time_parse(when, &prov_ms) < 0) {
                line_error(im, line, "provisioned_at", "'%.40s' is not an RFC 3339 time", when);
                return false;
        }

        struct rp_err e = {0};
        _cleanup_free_ uint8_t *spki = NULL;
        size_t spki_len = 0;
        _cleanup_(cr_key_freep) struct cr_key *pub = NULL, *cert_pub = NULL, *ca_pub = NULL;
        if (rp_b64url_decode(pub_b64, strlen(pub_b64), &spki, &spki_len) < 0) {
                line_error(im, line, "deviceid_pub", "not base64url without padding");
                return false;
        }
        if (spki_len > sizeof(rec->deviceid_pub) ||
            cr_key_pub_from_der(spki, spki_len, &pub, &e) < 0) {
                line_error(im, line, "deviceid_pub", "not a P-256 SubjectPublicKeyInfo%s%s",
                           e.msg[0] ? ": " : "", e.msg);
                return false;
        }
        _cleanup_(cr_cert_freep) struct cr_cert *cert = NULL, *ca = NULL;
        if (cr_cert_from_pem(ca_pem, strlen(ca_pem), &ca, &e) < 0) {
                line_error(im, line, "device_ca", "%s", e.msg);
                return false;
        }
        if (cr_cert_from_pem(cert_pem, strlen(cert_pem), &cert, &e) < 0) {
                line_error(im, line, "deviceid_cert", "%s", e.msg);
                return false;
        }
        if (!cr_cert_is_ca(ca) || cr_cert_pubkey(ca, &ca_pub) < 0) {
                line_error(im, line, "device_ca", "not a CA certificate");
                return false;
        }
        if (cr_cert_verify_signature(cert, ca_pub, &e) < 0) {
                line_error(im, line, "deviceid_cert", "not signed by the record's device_ca");
                return false;
        }
        const char *why = NULL;
        long root = ca_root(im, ca, &why);
        if (root < 0) {
                line_error(im, line, "device_ca", "%s", why);
                return false;
        }
        struct cr_cert *untrusted[1] = {ca};
        struct cr_cert *anchor[1] = {im->roots.certs[root]};
        if (cr_chain_verify(cert, untrusted, 1, anchor, 1, 0, &e) < 0) {
                line_error(im, line, "deviceid_cert", "%s", e.msg);
                return false;
        }
        if (cr_cert_pubkey(cert, &cert_pub) < 0 || !cr_key_pub_equal(cert_pub, pub)) {
                line_error(im, line, "deviceid_pub",
                           "is not the public key of the DeviceID certificate");
                return false;
        }
        uint8_t id[DICE_ID_LEN];
        char hex[DICE_UEID_HEX_LEN + 1];
        if (dice_id_derive(pub, id) < 0) {
                line_error(im, line, "deviceid_pub", "cannot derive the DeviceID identifier");
                return false;
        }
        dice_id_hex(id, hex);
        if (strcmp(hex, ueid)) {
                line_error(im, line, "ueid", "'%s' is not the DeviceID identifier of deviceid_pub (%s)",
                           ueid, hex);
                return false;
        }
        _cleanup_free_ char *cn = NULL;
        if (cr_cert_subject_cn(cert, &cn) < 0 || !cn || strcmp(cn, ueid)) {
                line_error(im, line, "deviceid_cert", "subject CN '%.64s' is not the ueid",
                           cn ? cn : "");
                return false;
        }
        _cleanup_free_ uint8_t *ext = NULL;
        size_t ext_len = 0;
        uint8_t ext_id[DICE_ID_LEN];
        if (cr_cert_ext(cert, DICE_OID_UEID, &ext, &ext_len) == 0 &&
            (dice_ueid_parse(ext, ext_len, ext_id, &e) < 0 || memcmp(ext_id, id, DICE_ID_LEN))) {
                line_error(im, line, "deviceid_cert", "UEID extension does not match the ueid");
                return false;
        }

        memset(rec, 0, sizeof(*rec));
        snprintf(rec->ueid, sizeof(rec->ueid), "%s", ueid);
        snprintf(rec->manufacturer_id, sizeof(rec->manufacturer_id), "%s",
                 im->roots.m[root].id);
        memcpy(rec->deviceid_pub, spki, spki_len);
        rec->deviceid_pub_len = spki_len;
        memcpy(rec->deviceid_cert, cert_pem, strlen(cert_pem) + 1);
        memcpy(rec->device_ca, ca_pem, strlen(ca_pem) + 1);
        rec->debug = json_is_true(json_object_get(o, "debug"));
        rec->provisioned_ms = prov_ms;
        return true;
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
        json_error_t je;
        im->total++;
        if (len > REG_MAX_LINE) {
                line_error(im, line, NULL, "record of %zu bytes, the limit is %d", len,
                           REG_MAX_LINE);
                return 0;
        }
        json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
        if (!o) {
                line_error(im, line, NULL, "invalid JSON at column %d: %s", je.column, je.text);
                return 0;
        }
        if (!json_is_object(o)) {
                json_decref(o);
                line_error(im, line, NULL, "a record must be a JSON object");
                return 0;
        }
        bool ok = record_verify(im, line, o, rec);
        json_decref(o);
        if (!ok)
                return 0;
        rec->imported_ms = im->now_ms;
        struct rp_err e = {0};
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
                srv_audit_detail(r, "%s", msg);
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

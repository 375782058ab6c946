/* sqlite_registry.c - manufacturer roots and registration records on
 * SQLite. The records arrive verified (server/registry.c). */
#include <string.h>

#include "store/registry.h"
#include "store/sqlite_int.h"

#define MFR_COLS "seq, id, name, fingerprint, subject, cert_pem, not_after_ms, created_ms"
#define REC_COLS                                                                          \
        "seq, ueid, manufacturer_id, deviceid_pub, deviceid_cert, device_ca, debug, " \
        "provisioned_ms, imported_ms"
#define REC_LIST_COLS                                                                      \
        "seq, ueid, manufacturer_id, deviceid_pub, '', '', debug, provisioned_ms, " \
        "imported_ms"

static int64_t mfr_row(sqlite3_stmt *s, void *item)
{
        struct store_manufacturer *m = item;
        m->seq = sqlite3_column_int64(s, 0);
        if (sq_col_text(s, 1, m->id, sizeof(m->id)) < 0 ||
            sq_col_text(s, 2, m->name, sizeof(m->name)) < 0 ||
            sq_col_text(s, 3, m->fingerprint, sizeof(m->fingerprint)) < 0 ||
            sq_col_text(s, 4, m->subject, sizeof(m->subject)) < 0 ||
            sq_col_text(s, 5, m->cert_pem, sizeof(m->cert_pem)) < 0)
                return -1;
        m->not_after_ms = sqlite3_column_int64(s, 6);
        m->created_ms = sqlite3_column_int64(s, 7);
        return m->seq;
}

static int64_t rec_row(sqlite3_stmt *s, void *item)
{
        struct store_registry_record *r = item;
        r->seq = sqlite3_column_int64(s, 0);
        if (sq_col_text(s, 1, r->ueid, sizeof(r->ueid)) < 0 ||
            sq_col_text(s, 2, r->manufacturer_id, sizeof(r->manufacturer_id)) < 0 ||
            sq_col_blob(s, 3, r->deviceid_pub, sizeof(r->deviceid_pub), &r->deviceid_pub_len) < 0 ||
            sq_col_text(s, 4, r->deviceid_cert, sizeof(r->deviceid_cert)) < 0 ||
            sq_col_text(s, 5, r->device_ca, sizeof(r->device_ca)) < 0)
                return -1;
        r->debug = sqlite3_column_int(s, 6) != 0;
        r->provisioned_ms = sqlite3_column_int64(s, 7);
        r->imported_ms = sqlite3_column_int64(s, 8);
        return r->seq;
}

static int mfr_create(struct store *st, const struct store_manufacturer *m, struct rp_err *err)
{
        static const char sql[] =
                "INSERT INTO manufacturers (id, name, fingerprint, subject, cert_pem, "
                "not_after_ms, created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
        sqlite3_stmt *s = sq_stmt(st, sql, err);
        if (!s)
                return err ? err->code : -EIO;
        sq_bind_text(s, 1, m->id);
        sq_bind_text(s, 2, m->name);
        sq_bind_text(s, 3, m->fingerprint);
        sq_bind_text(s, 4, m->subject);
        sq_bind_text(s, 5, m->cert_pem);
        sq_bind_i64(s, 6, m->not_after_ms);
        sq_bind_i64(s, 7, m->created_ms);
        int r = sq_exec(st, s, err, "store: adding manufacturer", NULL);
        if (r == -EEXIST)
                return rp_err_set(err, -EEXIST,
                                  "a manufacturer named '%s' or with root fingerprint %.16s... "
                                  "is registered already",
                                  m->name, m->fingerprint);
        return r;
}

static int mfr_get(struct store *st, const char *id, struct store_manufacturer *ret,
                   struct rp_err *err)
{
        static const char sql[] = "SELECT " MFR_COLS " FROM manufacturers WHERE id = ?1";
        struct store_manufacturer m;
        int r = sq_get_by(st, sql, id, NULL, mfr_row, &m, err, "store: reading manufacturer");
        if (r == -ENOENT)
                return rp_err_set(err, -ENOENT, "no manufacturer '%s'", id);
        if (r == 0)
                *ret = m;
        return r;
}

static int mfr_list(struct store *st, int64_t after, size_t limit,
                    struct store_manufacturer **ret_items, size_t *ret_n, int64_t *ret_next,
                    struct rp_err *err)
{
        static const char sql[] =
                "SELECT " MFR_COLS " FROM manufacturers WHERE seq > ?1 ORDER BY seq LIMIT ?2";
        sqlite3_stmt *s = sq_stmt(st, sql, err);
        if (!s)
                return err ? err->code : -EIO;
        sq_bind_i64(s, 1, after);
        sq_bind_i64(s, 2, (int64_t)limit + 1);
        return sq_list(st, s, limit, sizeof(struct store_manufacturer), mfr_row,
                       (void **)ret_items, ret_n, ret_next, err, "store: listing manufacturers");
}

static int record_add(struct store *st, const struct store_registry_record *rec,
                      struct rp_err *err)
{
        static const char sql[] =
                "INSERT INTO registry (ueid, manufacturer_id, deviceid_pub, deviceid_cert, "
                "device_ca, debug, provisioned_ms, imported_ms) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
        if (rec->deviceid_pub_len == 0 || rec->deviceid_pub_len > sizeof(rec->deviceid_pub))
                return rp_err_set(err, -EINVAL, "store: DeviceID key of %zu bytes",
                                  rec->deviceid_pub_len);
        sqlite3_stmt *s = sq_stmt(st, sql, err);
        if (!s)
                return err ? err->code : -EIO;
        sq_bind_text(s, 1, rec->ueid);
        sq_bind_text(s, 2, rec->manufacturer_id);
        sq_bind_blob(s, 3, rec->deviceid_pub, rec->deviceid_pub_len);
        sq_bind_text(s, 4, rec->deviceid_cert);
        sq_bind_text(s, 5, rec->device_ca);
        sq_bind_i64(s, 6, rec->debug ? 1 : 0);
        sq_bind_i64(s, 7, rec->provisioned_ms);
        sq_bind_i64(s, 8, rec->imported_ms);
        int r = sq_exec(st, s, err, "store: adding registration record", NULL);
        if (r == -EEXIST)
                return rp_err_set(err, -EEXIST, "device '%s' is registered already", rec->ueid);
        if (r == -ENOENT)
                return rp_err_set(err, -ENOENT, "no manufacturer '%s'", rec->manufacturer_id);
        return r;
}

static int record_get(struct store *st, const char *ueid, struct store_registry_record *ret,
                      struct rp_err *err)
{
        static const char sql[] = "SELECT " REC_COLS " FROM registry WHERE ueid = ?1";
        struct store_registry_record rec;
        int r = sq_get_by(st, sql, ueid, NULL, rec_row, &rec, err,
                          "store: reading registration record");
        if (r == -ENOENT)
                return rp_err_set(err, -ENOENT, "no registered device '%s'", ueid);
        if (r == 0)
                *ret = rec;
        return r;
}

static int record_list(struct store *st, int64_t after, size_t limit,
                       struct store_registry_record **ret_items, size_t *ret_n, int64_t *ret_next,
                       struct rp_err *err)
{
        static const char sql[] =
                "SELECT " REC_LIST_COLS " FROM registry WHERE seq > ?1 ORDER BY seq LIMIT ?2";
        sqlite3_stmt *s = sq_stmt(st, sql, err);
        if (!s)
                return err ? err->code : -EIO;
        sq_bind_i64(s, 1, after);
        sq_bind_i64(s, 2, (int64_t)limit + 1);
        return sq_list(st, s, limit, sizeof(struct store_registry_record), rec_row,
                       (void **)ret_items, ret_n, ret_next, err,
                       "store: listing registration records");
}

static int record_count(struct store *st, int64_t *ret, struct rp_err *err)
{
        static const char sql[] = "SELECT COUNT(*) FROM registry";
        sqlite3_stmt *s = sq_stmt(st, sql, err);
        if (!s)
                return err ? err->code : -EIO;
        int rc = sqlite3_step(s);
        if (rc != SQLITE_ROW) {
                int ext = sqlite3_extended_errcode(sqlite3_db_handle(s));
                sqlite3_reset(s);
                return sq_fail(st, ext, err, "store: counting registration records");
        }
        *ret = sqlite3_column_int64(s, 0);
        sqlite3_reset(s);
        return 0;
}

const struct store_registry_ops sq_registry_ops = {
        .mfr_create = mfr_create,
        .mfr_get = mfr_get,
        .mfr_list = mfr_list,
        .record_add = record_add,
        .record_get = record_get,
        .record_list = record_list,
        .record_count = record_count,
};

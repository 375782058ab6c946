/* sqlite_attest.c - OS releases, attestation settings, per-device
 * attestation state and issued device certificates on SQLite. */
#include <string.h>

#include "store/attest.h"
#include "store/sqlite_int.h"

#define OSR_COLS "seq, id, name, version, svn, sha256, created_ms"
#define CERT_COLS "seq, serial, ueid, tenant_id, purpose, not_before_ms, not_after_ms, issued_ms"

static int64_t osr_row(sqlite3_stmt *s, void *item)
{
        struct store_os_release *o = item;
        o->seq = sqlite3_column_int64(s, 0);
        if (sq_col_text(s, 1, o->id, sizeof(o->id)) < 0 ||
            sq_col_text(s, 2, o->name, sizeof(o->name)) < 0 ||
            sq_col_text(s, 3, o->version, sizeof(o->version)) < 0 ||
            sq_col_text(s, 5, o->sha256, sizeof(o->sha256)) < 0)
                return -1;
        o->svn = sqlite3_column_int64(s, 4);
        o->created_ms = sqlite3_column_int64(s, 6);
        return o->seq;
}

static int64_t cert_row(sqlite3_stmt *s, void *item)
{
        struct store_device_cert *c = item;
        c->seq = sqlite3_column_int64(s, 0);
        if (sq_col_text(s, 1, c->serial, sizeof(c->serial)) < 0 ||
            sq_col_text(s, 2, c->ueid, sizeof(c->ueid)) < 0 ||
            sq_col_text(s, 3, c->tenant_id, sizeof(c->tenant_id)) < 0 ||
            sq_col_text(s, 4, c->purpose, sizeof(c->purpose)) < 0)
                return -1;
        c->not_before_ms = sqlite3_column_int64(s, 5);
        c->not_after_ms = sqlite3_column_int64(s, 6);
        c->issued_ms = sqlite3_column_int64(s, 7);
        return c->seq;
}

static int osr_create(struct store *st, const struct store_os_release *o, struct rp_err *err)
{
        static const char sql[] =
                "INSERT INTO os_releases (id, name, version, svn, sha256, created_ms) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
        sqlite3_stmt *s = sq_stmt(st, sql, err);
        if (!s)
                return err ? err->code : -EIO;
        sq_bind_text(s, 1, o->id);
        sq_bind_text(s, 2, o->name);
        sq_bind_text(s, 3, o->version);
        sq_bind_i64(s, 4, o->svn);
        sq_bind_text(s, 5, o->sha256);
        sq_bind_i64(s, 6, o->created_ms);
        int r = sq_exec(st, s, err, "store: adding OS release", NULL);
        if (r == -EEXIST)
                return rp_err_set(err, -EEXIST, "OS release '%s' version '%s' is registered "
                                  "already", o->name, o->version);
        return r;
}

static int osr_list(struct store *st, int64_t after, size_t limit,
                    struct store_os_release **ret_items, size_t *ret_n, int64_t *ret_next,
                    struct rp_err *err)
{
        static const char sql[] = "SELECT " OSR_COLS " FROM os_releases WHERE seq > ?1 "
                                  "ORDER BY seq LIMIT ?2";
        sqlite3_stmt *s = sq_stmt(st, sql, err);
        if (!s)
                return err ? err->code : -EIO;
        sq_bind_i64(s, 1, after);
        sq_bind_i64(s, 2, (int64_t)limit + 1);
        return sq_list(st, s, limit, sizeof(struct store_os_release), osr_row, (void **)ret_items,
                       ret_n, ret_next, err, "store: listing OS releases");
}

static int osr_match(struct store *st, const char *name, const char *version, int64_t svn,
                     const char *sha256, struct store_os_release *ret, struct rp_err *err)
{
        static const char sql[] = "SELECT " OSR_COLS " FROM os_releases WHERE name = ?1 AND "
                                  "version = ?2 AND svn = ?3 AND sha256 = ?4";
        sqlite3_stmt *s = sq_stmt(st, sql, err);
        if (!s)
                return err ? err->code : -EIO;
        sq_bind_text(s, 1, name);
        sq_bind_text(s, 2, version);
        sq_bind_i64(s, 3, svn);
        sq_bind_text(s, 4, sha256);
        struct store_os_release o;
        int r = sq_get(st, s, osr_row, &o, err, "store: matching OS release");
        if (r == -ENOENT)
                return rp_err_set(err, -ENOENT, "no released OS image '%s' version '%s' with "
                                  "svn %lld and digest %.16s...", name, version, (long long)svn,
                                  sha256);
        if (r == 0)
                *ret = o;
        return r;
}

static int64_t i64_row(sqlite3_stmt *s, void *item)
{
        *(int64_t *)item = sqlite3_column_int64(s, 0);
        return 1;
}

static int floor_get(struct store *st, const char *tenant_id, int64_t *ret, struct rp_err *err)
{
        static const char sql[] = "SELECT svn_floor FROM attest_settings WHERE tenant_id = ?1";
        sqlite3_stmt *s = sq_stmt(st, sql, err);
        if (!s)
                return err ? err->code : -EIO;
        sq_bind_text(s, 1, tenant_id);
        int64_t v = 0;
        int r = sq_get(st, s, i64_row, &v, err, "store: reading attestation settings");
        if (r == -ENOENT) {
                *ret = 0;
                return 0;
        }
        if (r == 0)
                *ret = v;
        return r;
}

static int floor_set(struct store *st, const char *tenant_id, int64_t floor, int64_t now_ms,
                     struct rp_err *err)
{
        static const char sql[] =
                "INSERT INTO attest_settings (tenant_id, svn_floor, updated_ms) VALUES (?1, ?2, ?3) "
                "ON CONFLICT (tenant_id) DO UPDATE SET svn_floor = ?2, updated_ms = ?3";
        sqlite3_stmt *s = sq_stmt(st, sql, err);
        if (!s)
                return err ? err->code : -EIO;
        sq_bind_text(s, 1, tenant_id);
        sq_bind_i64(s, 2, floor);
        sq_bind_i64(s, 3, now_ms);
        return sq_exec(st, s, err, "store: writing attestation settings", NULL);
}

static int64_t owner_row(sqlite3_stmt *s, void *item)
{
        struct store_device_owner *o = item;
        if (sq_col_text(s, 0, o->tenant_id, sizeof(o->tenant_id)) < 0 ||
            sq_col_text(s, 1, o->group_id, sizeof(o->group_id)) < 0 ||
            sq_col_text(s, 2, o->state, sizeof(o->state)) < 0)
                return -1;
        o->debug_allowed = sqlite3_column_int(s, 3) != 0;
        return 1;
}

static int owner_get(struct store *st, const char *ueid, struct store_device_owner *ret,
                     struct rp_err *err)
{
        static const char sql[] =
                "SELECT d.tenant_id, d.group_id, d.state, g.debug_allowed FROM devices d "
                "JOIN device_groups g ON g.id = d.group_id WHERE d.ueid = ?1";
        sqlite3_stmt *s = sq_stmt(st, sql, err);
        if (!s)
                return err ? err->code : -EIO;
        sq_bind_text(s, 1, ueid);
        struct store_device_owner o;
        int r = sq_get(st, s, owner_row, &o, err, "store: reading device owner");
        if (r == -ENOENT)
                return rp_err_set(err, -ENOENT, "device '%s' is not claimed", ueid);
        if (r == 0)
                *ret = o;
        return r;
}

static int64_t state_row(sqlite3_stmt *s, void *item)
{
        struct store_device_attest *a = item;
        if (sq_col_text(s, 0, a->ueid, sizeof(a->ueid)) < 0 ||
            sq_col_text(s, 2, a->os_name, sizeof(a->os_name)) < 0 ||
            sq_col_text(s, 3, a->os_version, sizeof(a->os_version)) < 0)
                return -1;
        a->last_svn = sqlite3_column_int64(s, 1);
        a->updated_ms = sqlite3_column_int64(s, 4);
        return 1;
}

static int state_get(struct store *st, const char *ueid, struct store_device_attest *ret,
                     struct rp_err *err)
{
        static const char sql[] = "SELECT ueid, last_svn, os_name, os_version, updated_ms FROM "
                                  "device_attest WHERE ueid = ?1";
        sqlite3_stmt *s = sq_stmt(st, sql, err);
        if (!s)
                return err ? err->code : -EIO;
        sq_bind_text(s, 1, ueid);
        struct store_device_attest a;
        int r = sq_get(st, s, state_row, &a, err, "store: reading attestation state");
        if (r == -ENOENT)
                return rp_err_set(err, -ENOENT, "device '%s' never attested", ueid);
        if (r == 0)
                *ret = a;
        return r;
}

static int result_set(struct store *st, const char *tenant_id, const char *ueid,
                      const char *reason, int64_t now_ms, struct rp_err *err)
{
        static const char sql[] = "UPDATE devices SET last_attest_ms = ?3, last_reason = ?4 "
                                  "WHERE tenant_id = ?1 AND ueid = ?2";
        sqlite3_stmt *s = sq_stmt(st, sql, err);
        if (!s)
                return err ? err->code : -EIO;
        sq_bind_text(s, 1, tenant_id);
        sq_bind_text(s, 2, ueid);
        sq_bind_i64(s, 3, now_ms);
        sq_bind_text(s, 4, reason);
        int changes = 0;
        int r = sq_exec(st, s, err, "store: recording attestation result", &changes);
        if (r == 0 && changes != 1)
                return rp_err_set(err, -ENOENT, "no device '%s'", ueid);
        return r;
}

static int success(struct store *st, const struct store_device_attest *a,
                   const struct store_device_cert *c, struct rp_err *err)
{
        static const char q_state[] =
                "INSERT INTO device_attest (ueid, last_svn, os_name, os_version, updated_ms) "
                "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (ueid) DO UPDATE SET "
                "last_svn = max(last_svn, ?2), os_name = ?3, os_version = ?4, updated_ms = ?5";
        static const char q_cert[] =
                "INSERT INTO device_certs (serial, ueid, tenant_id, purpose, not_before_ms, "
                "not_after_ms, issued_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
        /* The record shows the platform certificate's expiry; an app
         * certificate only fills it while no platform certificate exists. */
        static const char q_dev[] =
                "UPDATE devices SET last_attest_ms = ?3, last_reason = 'ok', os_version = ?4, "
                "updated_ms = ?3, cert_not_after_ms = CASE WHEN ?6 = 'platform' OR "
                "cert_not_after_ms = 0 THEN ?5 ELSE cert_not_after_ms END "
                "WHERE tenant_id = ?1 AND ueid = ?2";
        sqlite3_stmt *s = sq_stmt(st, q_state, err);
        if (!s)
                return err ? err->code : -EIO;
        sq_bind_text(s, 1, a->ueid);
        sq_bind_i64(s, 2, a->last_svn);
        sq_bind_text(s, 3, a->os_name);
        sq_bind_text(s, 4, a->os_version);
        sq_bind_i64(s, 5, a->updated_ms);
        int r = sq_exec(st, s, err, "store: writing attestation state", NULL);
        if (r < 0)
                return r;
        s = sq_stmt(st, q_cert, err);
        if (!s)
                return err ? err->code : -EIO;
        sq_bind_text(s, 1, c->serial);
        sq_bind_text(s, 2, c->ueid);
        sq_bind_text(s, 3, c->tenant_id);
        sq_bind_text(s, 4, c->purpose);
        sq_bind_i64(s, 5, c->not_before_ms);
        sq_bind_i64(s, 6, c->not_after_ms);
        sq_bind_i64(s, 7, c->issued_ms);
        r = sq_exec(st, s, err, "store: recording device certificate", NULL);
        if (r < 0)
                return r;
        s = sq_stmt(st, q_dev, err);
        if (!s)
                return err ? err->code : -EIO;
        sq_bind_text(s, 1, c->tenant_id);
        sq_bind_text(s, 2, c->ueid);
        sq_bind_i64(s, 3, c->issued_ms);
        sq_bind_text(s, 4, a->os_version);
        sq_bind_i64(s, 5, c->not_after_ms);
        sq_bind_text(s, 6, c->purpose);
        int changes = 0;
        r = sq_exec(st, s, err, "store: updating device", &changes);
        if (r == 0 && changes != 1)
                return rp_err_set(err, -ENOENT, "no device '%s'", c->ueid);
        return r;
}

static int cert_get(struct store *st, const char *tenant_id, const char *serial,
                    struct store_device_cert *ret, struct rp_err *err)
{
        static const char sql[] = "SELECT " CERT_COLS " FROM device_certs WHERE tenant_id = ?1 "
                                  "AND serial = ?2";
        sqlite3_stmt *s = sq_stmt(st, sql, err);
        if (!s)
                return err ? err->code : -EIO;
        sq_bind_text(s, 1, tenant_id);
        sq_bind_text(s, 2, serial);
        struct store_device_cert c;
        int r = sq_get(st, s, cert_row, &c, err, "store: reading device certificate");
        if (r == -ENOENT)
                return rp_err_set(err, -ENOENT, "no certificate with serial %s", serial);
        if (r == 0)
                *ret = c;
        return r;
}

static int cert_list(struct store *st, const char *tenant_id, const char *ueid, int64_t after,
                     size_t limit, struct store_device_cert **ret_items, size_t *ret_n,
                     int64_t *ret_next, struct rp_err *err)
{
        static const char sql[] = "SELECT " CERT_COLS " FROM device_certs WHERE tenant_id = ?1 "
                                  "AND ueid = ?2 AND seq > ?3 ORDER BY seq LIMIT ?4";
        sqlite3_stmt *s = sq_stmt(st, sql, err);
        if (!s)
                return err ? err->code : -EIO;
        sq_bind_text(s, 1, tenant_id);
        sq_bind_text(s, 2, ueid);
        sq_bind_i64(s, 3, after);
        sq_bind_i64(s, 4, (int64_t)limit + 1);
        return sq_list(st, s, limit, sizeof(struct store_device_cert), cert_row,
                       (void **)ret_items, ret_n, ret_next, err, "store: listing certificates");
}

const struct store_attest_ops sq_attest_ops = {
        .osr_create = osr_create,
        .osr_list = osr_list,
        .osr_match = osr_match,
        .floor_get = floor_get,
        .floor_set = floor_set,
        .owner_get = owner_get,
        .state_get = state_get,
        .result_set = result_set,
        .success = success,
        .cert_get = cert_get,
        .cert_list = cert_list,
};

/* sqlite_devices.c - claimed devices on SQLite. The claim and move
 * statements take the group through a SELECT scoped to the tenant, so a
 * device can only ever land in a group of its own tenant. */
#include <string.h>

#include "store/devices.h"
#include "store/sqlite_int.h"

#define DEVICE_SELECT                                                                       \
        "SELECT d.seq, d.ueid, d.tenant_id, d.group_id, g.product_id, d.state, "          \
        "d.block_reason, r.debug, r.manufacturer_id, d.claimed_ms, d.updated_ms, "        \
        "d.last_attest_ms, d.os_version, d.app_versions, d.cert_not_after_ms, "           \
        "d.last_reason FROM devices d JOIN device_groups g ON g.id = d.group_id "         \
        "JOIN registry r ON r.ueid = d.ueid "

static int64_t device_row(sqlite3_stmt *s, void *item)
{
        struct store_device *d = item;
        d->seq = sqlite3_column_int64(s, 0);
        if (sq_col_text(s, 1, d->ueid, sizeof(d->ueid)) < 0 ||
            sq_col_text(s, 2, d->tenant_id, sizeof(d->tenant_id)) < 0 ||
            sq_col_text(s, 3, d->group_id, sizeof(d->group_id)) < 0 ||
            sq_col_text(s, 4, d->product_id, sizeof(d->product_id)) < 0 ||
            sq_col_text(s, 5, d->state, sizeof(d->state)) < 0 ||
            sq_col_text(s, 6, d->block_reason, sizeof(d->block_reason)) < 0 ||
            sq_col_text(s, 8, d->manufacturer_id, sizeof(d->manufacturer_id)) < 0 ||
            sq_col_text(s, 12, d->os_version, sizeof(d->os_version)) < 0 ||
            sq_col_text(s, 13, d->app_versions, sizeof(d->app_versions)) < 0 ||
            sq_col_text(s, 15, d->last_reason, sizeof(d->last_reason)) < 0)
                return -1;
        d->debug = sqlite3_column_int(s, 7) != 0;
        d->claimed_ms = sqlite3_column_int64(s, 9);
        d->updated_ms = sqlite3_column_int64(s, 10);
        d->last_attest_ms = sqlite3_column_int64(s, 11);
        d->cert_not_after_ms = sqlite3_column_int64(s, 14);
        return d->seq;
}

static int exists(struct store *st, const char *sql, const char *a, const char *b,
                  char *ret_text, size_t size, struct rp_err *err, const char *what)
{
        sqlite3_stmt *s = sq_stmt(st, sql, err);
        if (!s)
                return err ? err->code : -EIO;
        sq_bind_text(s, 1, a);
        if (b)
                sq_bind_text(s, 2, b);
        int rc = sqlite3_step(s);
        if (rc == SQLITE_DONE) {
                sqlite3_reset(s);
                return 0;
        }
        if (rc != SQLITE_ROW) {
                int ext = sqlite3_extended_errcode(sq_of(st)->db);
                sqlite3_reset(s);
                return sq_fail(st, ext, err, what);
        }
        if (ret_text && sq_col_text(s, 0, ret_text, size) < 0)
                ret_text[0] = 0;
        sqlite3_reset(s);
        return 1;
}

static int device_claim(struct store *st, const char *tenant_id, const char *ueid,
                        const char *group_id, int64_t now_ms, struct rp_err *err)
{
        static const char q_reg[] = "SELECT ueid FROM registry WHERE ueid = ?1";
        static const char q_dev[] = "SELECT tenant_id FROM devices WHERE ueid = ?1";
        static const char ins[] =
                "INSERT INTO devices (ueid, tenant_id, group_id, state, block_reason, "
                "claimed_ms, updated_ms) SELECT ?1, ?2, g.id, 'active', '', ?4, ?4 "
                "FROM device_groups g WHERE g.id = ?3 AND g.tenant_id = ?2";
        char owner[STORE_ID_MAX] = "";
        int k = exists(st, q_reg, ueid, NULL, NULL, 0, err, "store: looking up registration");
        if (k < 0)
                return k;
        if (k == 0)
                return rp_err_set(err, -ENOENT, "no registered device '%s'", ueid);
        k = exists(st, q_dev, ueid, NULL, owner, sizeof(owner), err, "store: looking up device");
        if (k < 0)
                return k;
        if (k == 1) {
                /* Never say which tenant holds it. */
                if (!strcmp(owner, tenant_id))
                        return rp_err_set(err, -EEXIST, "device '%s' is claimed by this tenant already",
                                          ueid);
                return rp_err_set(err, -EEXIST, "device '%s' is claimed already and cannot be "
                                  "claimed again", ueid);
        }
        sqlite3_stmt *s = sq_stmt(st, ins, err);
        if (!s)
                return err ? err->code : -EIO;
        sq_bind_text(s, 1, ueid);
        sq_bind_text(s, 2, tenant_id);
        sq_bind_text(s, 3, group_id);
        sq_bind_i64(s, 4, now_ms);
        int changes = 0;
        int r = sq_exec(st, s, err, "store: claiming device", &changes);
        if (r == -EEXIST)
                return rp_err_set(err, -EEXIST, "device '%s' is claimed already and cannot be "
                                  "claimed again", ueid);
        if (r == 0 && changes == 0)
                return rp_err_set(err, -ENOENT, "no device group '%s'", group_id);
        return r;
}

static int device_get(struct store *st, const char *tenant_id, const char *ueid,
                      struct store_device *ret, struct rp_err *err)
{
        static const char sql[] = DEVICE_SELECT "WHERE d.tenant_id = ?1 AND d.ueid = ?2";
        struct store_device d;
        int r = sq_get_by(st, sql, tenant_id, ueid, device_row, &d, err, "store: reading device");
        if (r == -ENOENT)
                return rp_err_set(err, -ENOENT, "no device '%s'", ueid);
        if (r == 0)
                *ret = d;
        return r;
}

static int device_list(struct store *st, const char *tenant_id,
                       const struct store_device_filter *f, int64_t after, size_t limit,
                       struct store_device **ret_items, size_t *ret_n, int64_t *ret_next,
                       struct rp_err *err)
{
        static const char sql[] = DEVICE_SELECT
                "WHERE d.tenant_id = ?1 AND d.seq > ?2 AND (?4 IS NULL OR d.group_id = ?4) "
                "AND (?5 IS NULL OR g.product_id = ?5) AND (?6 IS NULL OR d.state = ?6) "
                "ORDER BY d.seq LIMIT ?3";
        sqlite3_stmt *s = sq_page_stmt(st, sql, tenant_id, after, limit, err);
        if (!s)
                return err ? err->code : -EIO;
        if (f && f->group_id)
                sq_bind_text(s, 4, f->group_id);
        if (f && f->product_id)
                sq_bind_text(s, 5, f->product_id);
        if (f && f->state)
                sq_bind_text(s, 6, f->state);
        return sq_list(st, s, limit, sizeof(struct store_device), device_row, (void **)ret_items,
                       ret_n, ret_next, err, "store: listing devices");
}

static int device_move(struct store *st, const char *tenant_id, const char *ueid,
                       const char *group_id, int64_t now_ms, struct rp_err *err)
{
        static const char q_grp[] =
                "SELECT id FROM device_groups WHERE id = ?1 AND tenant_id = ?2";
        static const char sql[] = "UPDATE devices SET group_id = ?3, updated_ms = ?4 "
                                  "WHERE tenant_id = ?1 AND ueid = ?2";
        int k = exists(st, q_grp, group_id, tenant_id, NULL, 0, err, "store: looking up group");
        if (k < 0)
                return k;
        if (k == 0)
                return rp_err_set(err, -ENOENT, "no device group '%s'", group_id);
        sqlite3_stmt *s = sq_stmt(st, sql, err);
        if (!s)
                return err ? err->code : -EIO;
        sq_bind_text(s, 1, tenant_id);
        sq_bind_text(s, 2, ueid);
        sq_bind_text(s, 3, group_id);
        sq_bind_i64(s, 4, now_ms);
        int changes = 0;
        int r = sq_exec(st, s, err, "store: moving device", &changes);
        if (r == 0 && changes == 0)
                return rp_err_set(err, -ENOENT, "no device '%s'", ueid);
        return r;
}

static int device_set_state(struct store *st, const char *tenant_id, const char *ueid,
                            const char *state, const char *reason, int64_t now_ms,
                            struct rp_err *err)
{
        static const char q_state[] =
                "SELECT state FROM devices WHERE ueid = ?1 AND tenant_id = ?2";
        static const char sql[] = "UPDATE devices SET state = ?3, block_reason = ?4, "
                                  "updated_ms = ?5 WHERE tenant_id = ?1 AND ueid = ?2";
        char cur[STORE_DEVICE_STATE_MAX] = "";
        int k = exists(st, q_state, ueid, tenant_id, cur, sizeof(cur), err,
                       "store: reading device state");
        if (k < 0)
                return k;
        if (k == 0)
                return rp_err_set(err, -ENOENT, "no device '%s'", ueid);
        if (!strcmp(cur, state))
                return rp_err_set(err, -EALREADY, "device '%s' is %s already", ueid, state);
        sqlite3_stmt *s = sq_stmt(st, sql, err);
        if (!s)
                return err ? err->code : -EIO;
        sq_bind_text(s, 1, tenant_id);
        sq_bind_text(s, 2, ueid);
        sq_bind_text(s, 3, state);
        sq_bind_text(s, 4, reason ? reason : "");
        sq_bind_i64(s, 5, now_ms);
        int r = sq_exec(st, s, err, "store: changing device state", NULL);
        if (r == -EINVAL)
                return rp_err_set(err, -EINVAL, "'%s' is not a device state", state);
        return r;
}

const struct store_device_ops sq_device_ops = {
        .claim = device_claim,
        .get = device_get,
        .list = device_list,
        .move = device_move,
        .set_state = device_set_state,
};

/* sqlite_groups.c - device groups on SQLite, scoped by tenant. A group is
 * inserted only under a product of the same tenant (INSERT ... SELECT). */
#include <string.h>

#include "store/groups.h"
#include "store/sqlite_int.h"

#define GROUP_COLS                                                                         \
        "seq, id, tenant_id, product_id, name, description, update_policy, os_feed, "   \
        "debug_allowed, crash_dumps_allowed, created_ms, updated_ms"

static int64_t group_row(sqlite3_stmt *s, void *item)
{
        struct store_group *g = item;
        g->seq = sqlite3_column_int64(s, 0);
        if (sq_col_text(s, 1, g->id, sizeof(g->id)) < 0 ||
            sq_col_text(s, 2, g->tenant_id, sizeof(g->tenant_id)) < 0 ||
            sq_col_text(s, 3, g->product_id, sizeof(g->product_id)) < 0 ||
            sq_col_text(s, 4, g->name, sizeof(g->name)) < 0 ||
            sq_col_text(s, 5, g->description, sizeof(g->description)) < 0 ||
            sq_col_text(s, 6, g->update_policy, sizeof(g->update_policy)) < 0 ||
            sq_col_text(s, 7, g->os_feed, sizeof(g->os_feed)) < 0)
                return -1;
        g->debug_allowed = sqlite3_column_int(s, 8) != 0;
        g->crash_dumps_allowed = sqlite3_column_int(s, 9) != 0;
        g->created_ms = sqlite3_column_int64(s, 10);
        g->updated_ms = sqlite3_column_int64(s, 11);
        return g->seq;
}

static int group_create(struct store *st, const struct store_group *g, struct rp_err *err)
{
        static const char sql[] =
                "INSERT INTO device_groups (id, tenant_id, product_id, name, description, "
                "update_policy, os_feed, debug_allowed, crash_dumps_allowed, created_ms, "
                "updated_ms) SELECT ?1, ?2, p.id, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10 "
                "FROM products p WHERE p.id = ?3 AND p.tenant_id = ?2";
        sqlite3_stmt *s = sq_stmt(st, sql, err);
        if (!s)
                return err ? err->code : -EIO;
        sq_bind_text(s, 1, g->id);
        sq_bind_text(s, 2, g->tenant_id);
        sq_bind_text(s, 3, g->product_id);
        sq_bind_text(s, 4, g->name);
        sq_bind_text(s, 5, g->description);
        sq_bind_text(s, 6, g->update_policy);
        sq_bind_text(s, 7, g->os_feed);
        sq_bind_i64(s, 8, g->debug_allowed);
        sq_bind_i64(s, 9, g->crash_dumps_allowed);
        sq_bind_i64(s, 10, g->created_ms);
        int changes = 0;
        int r = sq_exec(st, s, err, "store: creating device group", &changes);
        if (r == -EEXIST)
                return rp_err_set(err, -EEXIST, "product '%s' has a device group named '%s' already",
                                  g->product_id, g->name);
        if (r == -EINVAL)
                return rp_err_set(err, -EINVAL, "device group policy refused: update_policy '%s', "
                                  "os_feed '%s'", g->update_policy, g->os_feed);
        if (r == 0 && changes == 0)
                return rp_err_set(err, -ENOENT, "no product '%s'", g->product_id);
        return r;
}

static int group_get(struct store *st, const char *tenant_id, const char *id,
                     struct store_group *ret, struct rp_err *err)
{
        static const char sql[] =
                "SELECT " GROUP_COLS " FROM device_groups WHERE tenant_id = ?1 AND id = ?2";
        struct store_group g;
        int r = sq_get_by(st, sql, tenant_id, id, group_row, &g, err,
                          "store: reading device group");
        if (r == -ENOENT)
                return rp_err_set(err, -ENOENT, "no device group '%s'", id);
        if (r == 0)
                *ret = g;
        return r;
}

static int group_list(struct store *st, const char *tenant_id, const char *product_id,
                      int64_t after, size_t limit, struct store_group **ret_items, size_t *ret_n,
                      int64_t *ret_next, struct rp_err *err)
{
        static const char sql[] = "SELECT " GROUP_COLS " FROM device_groups "
                                  "WHERE tenant_id = ?1 AND (?4 IS NULL OR product_id = ?4) "
                                  "AND seq > ?2 ORDER BY seq LIMIT ?3";
        sqlite3_stmt *s = sq_page_stmt(st, sql, tenant_id, after, limit, err);
        if (!s)
                return err ? err->code : -EIO;
        if (product_id)
                sq_bind_text(s, 4, product_id);
        return sq_list(st, s, limit, sizeof(struct store_group), group_row, (void **)ret_items,
                       ret_n, ret_next, err, "store: listing device groups");
}

static int group_update(struct store *st, const struct store_group *g, struct rp_err *err)
{
        static const char sql[] =
                "UPDATE device_groups SET name = ?3, description = ?4, update_policy = ?5, "
                "os_feed = ?6, debug_allowed = ?7, crash_dumps_allowed = ?8, updated_ms = ?9 "
                "WHERE tenant_id = ?1 AND id = ?2";
        sqlite3_stmt *s = sq_stmt(st, sql, err);
        if (!s)
                return err ? err->code : -EIO;
        sq_bind_text(s, 1, g->tenant_id);
        sq_bind_text(s, 2, g->id);
        sq_bind_text(s, 3, g->name);
        sq_bind_text(s, 4, g->description);
        sq_bind_text(s, 5, g->update_policy);
        sq_bind_text(s, 6, g->os_feed);
        sq_bind_i64(s, 7, g->debug_allowed);
        sq_bind_i64(s, 8, g->crash_dumps_allowed);
        sq_bind_i64(s, 9, g->updated_ms);
        int changes = 0;
        int r = sq_exec(st, s, err, "store: updating device group", &changes);
        if (r == -EEXIST)
                return rp_err_set(err, -EEXIST, "the product has a device group named '%s' already",
                                  g->name);
        if (r == -EINVAL)
                return rp_err_set(err, -EINVAL, "device group policy refused: update_policy '%s', "
                                  "os_feed '%s'", g->update_policy, g->os_feed);
        if (r == 0 && changes == 0)
                return rp_err_set(err, -ENOENT, "no device group '%s'", g->id);
        return r;
}

const struct store_group_ops sq_group_ops = {
        .create = group_create,
        .get = group_get,
        .list = group_list,
        .update = group_update,
};

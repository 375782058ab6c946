/* sqlite_tenants.c - tenants on SQLite. */
#include <string.h>

#include "store/sqlite_int.h"
#include "store/tenants.h"

#define TENANT_COLS "seq, id, name, created_ms"

static int64_t tenant_row(sqlite3_stmt *s, void *item)
{
        struct store_tenant *t = item;
        t->seq = sqlite3_column_int64(s, 0);
        if (sq_col_text(s, 1, t->id, sizeof(t->id)) < 0 ||
            sq_col_text(s, 2, t->name, sizeof(t->name)) < 0)
                return -1;
        t->created_ms = sqlite3_column_int64(s, 3);
        return t->seq;
}

static int tenant_create(struct store *st, const struct store_tenant *t, struct rp_err *err)
{
        static const char sql[] = "INSERT INTO tenants (id, name, created_ms) VALUES (?1, ?2, ?3)";
        sqlite3_stmt *s = sq_stmt(st, sql, err);
        if (!s)
                return err ? err->code : -EIO;
        sq_bind_text(s, 1, t->id);
        sq_bind_text(s, 2, t->name);
        sq_bind_i64(s, 3, t->created_ms);
        int r = sq_exec(st, s, err, "store: creating tenant", NULL);
        if (r == -EEXIST)
                return rp_err_set(err, -EEXIST, "a tenant named '%s' already exists", t->name);
        return r;
}

static int tenant_get(struct store *st, const char *id, struct store_tenant *ret,
                      struct rp_err *err)
{
        static const char sql[] = "SELECT " TENANT_COLS " FROM tenants WHERE id = ?1";
        struct store_tenant t = {0};
        int r = sq_get_by(st, sql, id, NULL, tenant_row, &t, err, "store: reading tenant");
        if (r == -ENOENT)
                return rp_err_set(err, -ENOENT, "no tenant '%s'", id);
        if (r == 0)
                *ret = t;
        return r;
}

static int tenant_list(struct store *st, int64_t after, size_t limit,
                       struct store_tenant **ret_items, size_t *ret_n, int64_t *ret_next,
                       struct rp_err *err)
{
        static const char sql[] =
                "SELECT " TENANT_COLS " FROM tenants WHERE seq > ?1 ORDER BY seq LIMIT ?2";
        sqlite3_stmt *s = sq_stmt(st, sql, err);
        if (!s)
                return err ? err->code : -EIO;
        sq_bind_i64(s, 1, after);
        sq_bind_i64(s, 2, (int64_t)limit + 1);
        return sq_list(st, s, limit, sizeof(struct store_tenant), tenant_row, (void **)ret_items,
                       ret_n, ret_next, err, "store: listing tenants");
}

const struct store_tenant_ops sq_tenant_ops = {
        .create = tenant_create,
        .get = tenant_get,
        .list = tenant_list,
};

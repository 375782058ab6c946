/* sqlite_products.c - products on SQLite, scoped by tenant. */
#include <string.h>

#include "store/products.h"
#include "store/sqlite_int.h"

#define PRODUCT_COLS "seq, id, tenant_id, name, description, created_ms, updated_ms"

static int64_t product_row(sqlite3_stmt *s, void *item)
{
        struct store_product *p = item;
        p->seq = sqlite3_column_int64(s, 0);
        if (sq_col_text(s, 1, p->id, sizeof(p->id)) < 0 ||
            sq_col_text(s, 2, p->tenant_id, sizeof(p->tenant_id)) < 0 ||
            sq_col_text(s, 3, p->name, sizeof(p->name)) < 0 ||
            sq_col_text(s, 4, p->description, sizeof(p->description)) < 0)
                return -1;
        p->created_ms = sqlite3_column_int64(s, 5);
        p->updated_ms = sqlite3_column_int64(s, 6);
        return p->seq;
}

static int product_create(struct store *st, const struct store_product *p, struct rp_err *err)
{
        static const char sql[] =
                "INSERT INTO products (id, tenant_id, name, description, created_ms, updated_ms) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?5)";
        sqlite3_stmt *s = sq_stmt(st, sql, err);
        if (!s)
                return err ? err->code : -EIO;
        sq_bind_text(s, 1, p->id);
        sq_bind_text(s, 2, p->tenant_id);
        sq_bind_text(s, 3, p->name);
        sq_bind_text(s, 4, p->description);
        sq_bind_i64(s, 5, p->created_ms);
        int r = sq_exec(st, s, err, "store: creating product", NULL);
        if (r == -EEXIST)
                return rp_err_set(err, -EEXIST, "a product named '%s' exists already", p->name);
        if (r == -ENOENT)
                return rp_err_set(err, -ENOENT, "no tenant '%s'", p->tenant_id);
        return r;
}

static int product_get(struct store *st, const char *tenant_id, const char *id,
                       struct store_product *ret, struct rp_err *err)
{
        static const char sql[] =
                "SELECT " PRODUCT_COLS " FROM products WHERE tenant_id = ?1 AND id = ?2";
        struct store_product p;
        int r = sq_get_by(st, sql, tenant_id, id, product_row, &p, err, "store: reading product");
        if (r == -ENOENT)
                return rp_err_set(err, -ENOENT, "no product '%s'", id);
        if (r == 0)
                *ret = p;
        return r;
}

static int product_list(struct store *st, const char *tenant_id, int64_t after, size_t limit,
                        struct store_product **ret_items, size_t *ret_n, int64_t *ret_next,
                        struct rp_err *err)
{
        static const char sql[] = "SELECT " PRODUCT_COLS " FROM products "
                                  "WHERE tenant_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3";
        sqlite3_stmt *s = sq_page_stmt(st, sql, tenant_id, after, limit, err);
        if (!s)
                return err ? err->code : -EIO;
        return sq_list(st, s, limit, sizeof(struct store_product), product_row,
                       (void **)ret_items, ret_n, ret_next, err, "store: listing products");
}

static int product_update(struct store *st, const struct store_product *p, struct rp_err *err)
{
        static const char sql[] = "UPDATE products SET name = ?3, description = ?4, "
                                  "updated_ms = ?5 WHERE tenant_id = ?1 AND id = ?2";
        sqlite3_stmt *s = sq_stmt(st, sql, err);
        if (!s)
                return err ? err->code : -EIO;
        sq_bind_text(s, 1, p->tenant_id);
        sq_bind_text(s, 2, p->id);
        sq_bind_text(s, 3, p->name);
        sq_bind_text(s, 4, p->description);
        sq_bind_i64(s, 5, p->updated_ms);
        int changes = 0;
        int r = sq_exec(st, s, err, "store: updating product", &changes);
        if (r == -EEXIST)
                return rp_err_set(err, -EEXIST, "a product named '%s' exists already", p->name);
        if (r == 0 && changes == 0)
                return rp_err_set(err, -ENOENT, "no product '%s'", p->id);
        return r;
}

const struct store_product_ops sq_product_ops = {
        .create = product_create,
        .get = product_get,
        .list = product_list,
        .update = product_update,
};

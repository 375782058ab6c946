/* sqlite_audit.c - the append-only audit log on SQLite. */
#include <string.h>

#include "store/audit.h"
#include "store/sqlite_int.h"

#define AUDIT_COLS "seq, at_ms, tenant_id, actor, action, method, path, target, status, detail"

static int64_t audit_row(sqlite3_stmt *s, void *item)
{
        struct store_audit *a = item;
        a->seq = sqlite3_column_int64(s, 0);
        a->at_ms = sqlite3_column_int64(s, 1);
        if (sq_col_text(s, 2, a->tenant_id, sizeof(a->tenant_id)) < 0 ||
            sq_col_text(s, 3, a->actor, sizeof(a->actor)) < 0 ||
            sq_col_text(s, 4, a->action, sizeof(a->action)) < 0 ||
            sq_col_text(s, 5, a->method, sizeof(a->method)) < 0 ||
            sq_col_text(s, 6, a->path, sizeof(a->path)) < 0 ||
            sq_col_text(s, 7, a->target, sizeof(a->target)) < 0 ||
            sq_col_text(s, 9, a->detail, sizeof(a->detail)) < 0)
                return -1;
        a->status = sqlite3_column_int(s, 8);
        return a->seq;
}

static int audit_append(struct store *st, const struct store_audit *a, struct rp_err *err)
{
        static const char sql[] =
                "INSERT INTO audit (at_ms, tenant_id, actor, action, method, path, target, "
                "status, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
        sqlite3_stmt *s = sq_stmt(st, sql, err);
        if (!s)
                return err ? err->code : -EIO;
        sq_bind_i64(s, 1, a->at_ms);
        sq_bind_text(s, 2, a->tenant_id);
        sq_bind_text(s, 3, a->actor);
        sq_bind_text(s, 4, a->action);
        sq_bind_text(s, 5, a->method);
        sq_bind_text(s, 6, a->path);
        sq_bind_text(s, 7, a->target);
        sq_bind_i64(s, 8, a->status);
        sq_bind_text(s, 9, a->detail);
        return sq_exec(st, s, err, "store: appending audit record", NULL);
}

static int audit_list(struct store *st, const char *tenant_id, int64_t after, size_t limit,
                      struct store_audit **ret_items, size_t *ret_n, int64_t *ret_next,
                      struct rp_err *err)
{
        static const char sql[] = "SELECT " AUDIT_COLS " FROM audit "
                                  "WHERE (?1 IS NULL OR tenant_id = ?1) AND seq > ?2 "
                                  "ORDER BY seq LIMIT ?3";
        sqlite3_stmt *s = sq_page_stmt(st, sql, tenant_id, after, limit, err);
        if (!s)
                return err ? err->code : -EIO;
        return sq_list(st, s, limit, sizeof(struct store_audit), audit_row, (void **)ret_items,
                       ret_n, ret_next, err, "store: listing audit records");
}

const struct store_audit_ops sq_audit_ops = {
        .append = audit_append,
        .list = audit_list,
};

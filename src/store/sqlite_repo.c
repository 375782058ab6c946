/* sqlite_repo.c - repository metadata files and delegated role bindings on
 * SQLite. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/repo.h"
#include "store/sqlite_int.h"

static int meta_put(struct store *st, const struct store_repo_meta *m, struct rp_err *err)
{
        static const char sql[] =
                "INSERT INTO repo_meta (role, version, tenant_id, body, expires_ms, created_ms) "
                "VALUES (?1, ?2, NULLIF(?3, ''), ?4, ?5, ?6)";
        sqlite3_stmt *s = sq_stmt(st, sql, err);
        if (!s)
                return err ? err->code : -EIO;
        sq_bind_text(s, 1, m->role);
        sq_bind_i64(s, 2, m->version);
        sq_bind_text(s, 3, m->tenant_id);
        sq_bind_blob(s, 4, m->body, m->len);
        sq_bind_i64(s, 5, m->expires_ms);
        sq_bind_i64(s, 6, m->created_ms);
        int r = sq_exec(st, s, err, "store: adding repository metadata", NULL);
        if (r == -EEXIST)
                return rp_err_set(err, -EEXIST, "%s version %lld is stored already", m->role,
                                  (long long)m->version);
        return r;
}

static int64_t meta_row(sqlite3_stmt *s, void *item)
{
        struct store_repo_meta *m = item;
        if (sq_col_text(s, 0, m->role, sizeof(m->role)) < 0)
                return -1;
        m->version = sqlite3_column_int64(s, 1);
        if (sqlite3_column_type(s, 2) == SQLITE_NULL)
                m->tenant_id[0] = 0;
        else if (sq_col_text(s, 2, m->tenant_id, sizeof(m->tenant_id)) < 0)
                return -1;
        int n = sqlite3_column_bytes(s, 3);
        const void *b = sqlite3_column_blob(s, 3);
        m->body = malloc((size_t)n + 1);
        if (!m->body)
                return -1;
        if (n)
                memcpy(m->body, b, (size_t)n);
        m->body[n] = 0;
        m->len = (size_t)n;
        m->expires_ms = sqlite3_column_int64(s, 4);
        m->created_ms = sqlite3_column_int64(s, 5);
        return 1;
}

static int meta_get(struct store *st, const char *role, int64_t version,
                    struct store_repo_meta *ret, struct rp_err *err)
{
        static const char sql[] =
                "SELECT role, version, tenant_id, body, expires_ms, created_ms FROM repo_meta "
                "WHERE role = ?1 AND (?2 = 0 OR version = ?2) ORDER BY version DESC LIMIT 1";
        sqlite3_stmt *s = sq_stmt(st, sql, err);
        if (!s)
                return err ? err->code : -EIO;
        sq_bind_text(s, 1, role);
        sq_bind_i64(s, 2, version);
        struct store_repo_meta m = {0};
        int r = sq_get(st, s, meta_row, &m, err, "store: reading repository metadata");
        if (r == -ENOENT)
                return version ? rp_err_set(err, -ENOENT, "no %s version %lld", role,
                                            (long long)version)
                               : rp_err_set(err, -ENOENT, "no %s metadata yet", role);
        if (r < 0) {
                free(m.body);
                return r;
        }
        *ret = m;
        return 0;
}

static int bind(struct store *st, const char *role, const char *tenant_id, int64_t now_ms,
                struct rp_err *err)
{
        static const char sql[] =
                "INSERT INTO repo_delegations (role, tenant_id, created_ms) VALUES (?1, ?2, ?3)";
        sqlite3_stmt *s = sq_stmt(st, sql, err);
        if (!s)
                return err ? err->code : -EIO;
        sq_bind_text(s, 1, role);
        sq_bind_text(s, 2, tenant_id);
        sq_bind_i64(s, 3, now_ms);
        int r = sq_exec(st, s, err, "store: binding delegated role", NULL);
        if (r == -EEXIST)
                return rp_err_set(err, -EEXIST, "role '%s' or tenant '%s' is bound already", role,
                                  tenant_id);
        if (r == -ENOENT)
                return rp_err_set(err, -ENOENT, "no tenant '%s'", tenant_id);
        return r;
}

struct text_item {
        char v[STORE_ID_MAX];
};

static int64_t text_row(sqlite3_stmt *s, void *item)
{
        struct text_item *t = item;
        return sq_col_text(s, 0, t->v, sizeof(t->v)) < 0 ? -1 : 1;
}

static int role_of(struct store *st, const char *tenant_id, char ret[STORE_REPO_ROLE_MAX],
                   struct rp_err *err)
{
        static const char sql[] = "SELECT role FROM repo_delegations WHERE tenant_id = ?1";
        sqlite3_stmt *s = sq_stmt(st, sql, err);
        if (!s)
                return err ? err->code : -EIO;
        sq_bind_text(s, 1, tenant_id);
        struct text_item t;
        int r = sq_get(st, s, text_row, &t, err, "store: reading delegated role");
        if (r == -ENOENT)
                return rp_err_set(err, -ENOENT, "no delegated targets role is bound to tenant "
                                  "'%s' (the platform operator binds one)", tenant_id);
        if (r == 0)
                snprintf(ret, STORE_REPO_ROLE_MAX, "%.32s", t.v);
        return r;
}

static int tenant_of(struct store *st, const char *role, char ret[STORE_ID_MAX],
                     struct rp_err *err)
{
        static const char sql[] = "SELECT tenant_id FROM repo_delegations WHERE role = ?1";
        sqlite3_stmt *s = sq_stmt(st, sql, err);
        if (!s)
                return err ? err->code : -EIO;
        sq_bind_text(s, 1, role);
        struct text_item t;
        int r = sq_get(st, s, text_row, &t, err, "store: reading delegated role");
        if (r == -ENOENT)
                return rp_err_set(err, -ENOENT, "role '%s' is not bound to a tenant", role);
        if (r == 0)
                snprintf(ret, STORE_ID_MAX, "%s", t.v);
        return r;
}

const struct store_repo_ops sq_repo_ops = {
        .meta_put = meta_put,
        .meta_get = meta_get,
        .bind = bind,
        .role_of = role_of,
        .tenant_of = tenant_of,
};

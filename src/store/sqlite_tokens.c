/* sqlite_tokens.c - API tokens on SQLite. Scope rule (store/tokens.h):
 * tenant_id NULL = any tenant, "" = platform tokens, else that tenant. */
#include <string.h>

#include "store/sqlite_int.h"
#include "store/tokens.h"

#define TOKEN_COLS \
        "seq, id, tenant_id, name, role, hash, created_ms, expires_ms, revoked_ms, created_by"

static int64_t token_row(sqlite3_stmt *s, void *item)
{
        struct store_token *t = item;
        size_t hl = 0;
        t->seq = sqlite3_column_int64(s, 0);
        if (sq_col_text(s, 1, t->id, sizeof(t->id)) < 0 ||
            sq_col_text(s, 2, t->tenant_id, sizeof(t->tenant_id)) < 0 ||
            sq_col_text(s, 3, t->name, sizeof(t->name)) < 0 ||
            sq_col_blob(s, 5, t->hash, sizeof(t->hash), &hl) < 0 || hl != sizeof(t->hash) ||
            sq_col_text(s, 9, t->created_by, sizeof(t->created_by)) < 0)
                return -1;
        t->role = sqlite3_column_int(s, 4);
        t->created_ms = sqlite3_column_int64(s, 6);
        t->expires_ms = sqlite3_column_int64(s, 7);
        t->revoked_ms = sqlite3_column_int64(s, 8);
        return t->seq;
}

static int token_create(struct store *st, const struct store_token *t, struct rp_err *err)
{
        static const char sql[] =
                "INSERT INTO tokens (id, tenant_id, name, role, hash, created_ms, expires_ms, "
                "revoked_ms, created_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, ?8)";
        sqlite3_stmt *s = sq_stmt(st, sql, err);
        if (!s)
                return err ? err->code : -EIO;
        sq_bind_text(s, 1, t->id);
        sq_bind_text(s, 2, t->tenant_id);
        sq_bind_text(s, 3, t->name);
        sq_bind_i64(s, 4, t->role);
        sq_bind_blob(s, 5, t->hash, sizeof(t->hash));
        sq_bind_i64(s, 6, t->created_ms);
        sq_bind_i64(s, 7, t->expires_ms);
        sq_bind_text(s, 8, t->created_by);
        return sq_exec(st, s, err, "store: creating token", NULL);
}

static int token_find_by_hash(struct store *st, const uint8_t hash[STORE_TOKEN_HASH_LEN],
                              struct store_token *ret, struct rp_err *err)
{
        static const char sql[] = "SELECT " TOKEN_COLS " FROM tokens WHERE hash = ?1";
        sqlite3_stmt *s = sq_stmt(st, sql, err);
        if (!s)
                return err ? err->code : -EIO;
        sq_bind_blob(s, 1, hash, STORE_TOKEN_HASH_LEN);
        struct store_token t = {0};
        int r = sq_get(st, s, token_row, &t, err, "store: looking up token");
        if (r == -ENOENT)
                return rp_err_set(err, -ENOENT, "unknown token");
        if (r == 0)
                *ret = t;
        return r;
}

static int token_get(struct store *st, const char *tenant_id, const char *id,
                     struct store_token *ret, struct rp_err *err)
{
        static const char sql[] = "SELECT " TOKEN_COLS " FROM tokens "
                                  "WHERE id = ?1 AND (?2 IS NULL OR tenant_id = ?2)";
        struct store_token t = {0};
        int r = sq_get_by(st, sql, id, tenant_id, token_row, &t, err, "store: reading token");
        if (r == -ENOENT)
                return rp_err_set(err, -ENOENT, "no token '%s'", id);
        if (r == 0)
                *ret = t;
        return r;
}

static int token_list(struct store *st, const char *tenant_id, int64_t after, size_t limit,
                      struct store_token **ret_items, size_t *ret_n, int64_t *ret_next,
                      struct rp_err *err)
{
        static const char sql[] = "SELECT " TOKEN_COLS " FROM tokens "
                                  "WHERE (?1 IS NULL OR tenant_id = ?1) AND seq > ?2 "
                                  "ORDER BY seq LIMIT ?3";
        sqlite3_stmt *s = sq_page_stmt(st, sql, tenant_id, after, limit, err);
        if (!s)
                return err ? err->code : -EIO;
        return sq_list(st, s, limit, sizeof(struct store_token), token_row, (void **)ret_items,
                       ret_n, ret_next, err, "store: listing tokens");
}

static int token_revoke(struct store *st, const char *tenant_id, const char *id, int64_t now_ms,
                        struct rp_err *err)
{
        struct store_token t;
        int r = token_get(st, tenant_id, id, &t, err);
        if (r < 0)
                return r;
        if (t.revoked_ms)
                return rp_err_set(err, -EALREADY, "token '%s' is already revoked", id);
        static const char sql[] =
                "UPDATE tokens SET revoked_ms = ?2 WHERE id = ?1 AND revoked_ms = 0";
        sqlite3_stmt *s = sq_stmt(st, sql, err);
        if (!s)
                return err ? err->code : -EIO;
        sq_bind_text(s, 1, id);
        sq_bind_i64(s, 2, now_ms);
        int changes = 0;
        r = sq_exec(st, s, err, "store: revoking token", &changes);
        if (r == 0 && changes != 1)
                return rp_err_set(err, -EALREADY, "token '%s' is already revoked", id);
        return r;
}

const struct store_token_ops sq_token_ops = {
        .create = token_create,
        .find_by_hash = token_find_by_hash,
        .get = token_get,
        .list = token_list,
        .revoke = token_revoke,
};

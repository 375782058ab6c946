/* sqlite_ca.c - tenant CAs on SQLite (keys arrive sealed). */
#include <string.h>

#include "store/ca.h"
#include "store/sqlite_int.h"

#define CA_COLS                                                                          \
        "seq, id, tenant_id, generation, state, cert_pem, key_sealed, not_before_ms, " \
        "not_after_ms, created_ms"

static int64_t ca_row(sqlite3_stmt *s, void *item)
{
        struct store_ca *c = item;
        c->seq = sqlite3_column_int64(s, 0);
        if (sq_col_text(s, 1, c->id, sizeof(c->id)) < 0 ||
            sq_col_text(s, 2, c->tenant_id, sizeof(c->tenant_id)) < 0 ||
            sq_col_text(s, 4, c->state, sizeof(c->state)) < 0 ||
            sq_col_text(s, 5, c->cert_pem, sizeof(c->cert_pem)) < 0 ||
            sq_col_blob(s, 6, c->key_sealed, sizeof(c->key_sealed), &c->key_sealed_len) < 0)
                return -1;
        c->generation = sqlite3_column_int(s, 3);
        c->not_before_ms = sqlite3_column_int64(s, 7);
        c->not_after_ms = sqlite3_column_int64(s, 8);
        c->created_ms = sqlite3_column_int64(s, 9);
        return c->seq;
}

static int ca_create(struct store *st, const struct store_ca *c, struct rp_err *err)
{
        static const char sql[] =
                "INSERT INTO tenant_cas (id, tenant_id, generation, state, cert_pem, key_sealed, "
                "not_before_ms, not_after_ms, created_ms) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
        if (c->key_sealed_len == 0 || c->key_sealed_len > sizeof(c->key_sealed))
                return rp_err_set(err, -EINVAL, "store: CA key blob of %zu bytes",
                                  c->key_sealed_len);
        sqlite3_stmt *s = sq_stmt(st, sql, err);
        if (!s)
                return err ? err->code : -EIO;
        sq_bind_text(s, 1, c->id);
        sq_bind_text(s, 2, c->tenant_id);
        sq_bind_i64(s, 3, c->generation);
        sq_bind_text(s, 4, c->state);
        sq_bind_text(s, 5, c->cert_pem);
        sq_bind_blob(s, 6, c->key_sealed, c->key_sealed_len);
        sq_bind_i64(s, 7, c->not_before_ms);
        sq_bind_i64(s, 8, c->not_after_ms);
        sq_bind_i64(s, 9, c->created_ms);
        int r = sq_exec(st, s, err, "store: creating tenant CA", NULL);
        if (r == -EEXIST)
                return rp_err_set(err, -EEXIST,
                                  "tenant '%s' already has a CA of generation %d or one in state '%s'",
                                  c->tenant_id, c->generation, c->state);
        return r;
}

static int ca_get(struct store *st, const char *tenant_id, const char *id, struct store_ca *ret,
                  struct rp_err *err)
{
        static const char sql[] =
                "SELECT " CA_COLS " FROM tenant_cas WHERE tenant_id = ?1 AND id = ?2";
        struct store_ca c;
        int r = sq_get_by(st, sql, tenant_id, id, ca_row, &c, err, "store: reading tenant CA");
        if (r == -ENOENT)
                return rp_err_set(err, -ENOENT, "no CA '%s'", id);
        if (r == 0)
                *ret = c;
        return r;
}

static int ca_get_by_state(struct store *st, const char *tenant_id, const char *state,
                           struct store_ca *ret, struct rp_err *err)
{
        static const char sql[] = "SELECT " CA_COLS " FROM tenant_cas "
                                  "WHERE tenant_id = ?1 AND state = ?2 ORDER BY seq DESC LIMIT 1";
        struct store_ca c;
        int r = sq_get_by(st, sql, tenant_id, state, ca_row, &c, err, "store: reading tenant CA");
        if (r == -ENOENT)
                return rp_err_set(err, -ENOENT, "tenant has no '%s' CA", state);
        if (r == 0)
                *ret = c;
        return r;
}

static int ca_list(struct store *st, const char *tenant_id, int64_t after, size_t limit,
                   struct store_ca **ret_items, size_t *ret_n, int64_t *ret_next,
                   struct rp_err *err)
{
        static const char sql[] = "SELECT " CA_COLS " FROM tenant_cas "
                                  "WHERE tenant_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3";
        sqlite3_stmt *s = sq_page_stmt(st, sql, tenant_id, after, limit, err);
        if (!s)
                return err ? err->code : -EIO;
        return sq_list(st, s, limit, sizeof(struct store_ca), ca_row, (void **)ret_items, ret_n,
                       ret_next, err, "store: listing tenant CAs");
}

static int ca_set_state(struct store *st, const char *tenant_id, const char *id,
                        const char *state, struct rp_err *err)
{
        static const char sql[] =
                "UPDATE tenant_cas SET state = ?3 WHERE tenant_id = ?1 AND id = ?2";
        sqlite3_stmt *s = sq_stmt(st, sql, err);
        if (!s)
                return err ? err->code : -EIO;
        sq_bind_text(s, 1, tenant_id);
        sq_bind_text(s, 2, id);
        sq_bind_text(s, 3, state);
        int changes = 0;
        int r = sq_exec(st, s, err, "store: changing CA state", &changes);
        if (r == -EEXIST)
                return rp_err_set(err, -EEXIST, "tenant '%s' already has a '%s' CA", tenant_id,
                                  state);
        if (r == -EINVAL)
                return rp_err_set(err, -EINVAL, "'%s' is not a CA state", state);
        if (r == 0 && changes == 0)
                return rp_err_set(err, -ENOENT, "no CA '%s'", id);
        return r;
}

const struct store_ca_ops sq_ca_ops = {
        .create = ca_create,
        .get = ca_get,
        .get_by_state = ca_get_by_state,
        .list = ca_list,
        .set_state = ca_set_state,
};

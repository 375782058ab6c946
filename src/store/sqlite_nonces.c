/* sqlite_nonces.c - attestation nonces on SQLite. Consumption is one
 * conditional UPDATE; only when it changed no row does a second query find
 * out why, so the classification never races the consumption. */
#include <string.h>

#include "store/nonces.h"
#include "store/sqlite_int.h"

static int nonce_create(struct store *st, const uint8_t hash[STORE_NONCE_HASH_LEN],
                        const char *tenant_id, int64_t created_ms, int64_t expires_ms,
                        struct rp_err *err)
{
        static const char sql[] =
                "INSERT INTO attest_nonces (hash, tenant_id, created_ms, expires_ms, used) "
                "VALUES (?1, ?2, ?3, ?4, 0)";
        sqlite3_stmt *s = sq_stmt(st, sql, err);
        if (!s)
                return err ? err->code : -EIO;
        sq_bind_blob(s, 1, hash, STORE_NONCE_HASH_LEN);
        sq_bind_text(s, 2, tenant_id);
        sq_bind_i64(s, 3, created_ms);
        sq_bind_i64(s, 4, expires_ms);
        return sq_exec(st, s, err, "store: adding nonce", NULL);
}

struct nonce_row {
        char tenant_id[STORE_ID_MAX];
        int64_t expires_ms;
        int used;
};

static int64_t nonce_row(sqlite3_stmt *s, void *item)
{
        struct nonce_row *n = item;
        if (sq_col_text(s, 0, n->tenant_id, sizeof(n->tenant_id)) < 0)
                return -1;
        n->expires_ms = sqlite3_column_int64(s, 1);
        n->used = sqlite3_column_int(s, 2);
        return 1;
}

static int nonce_consume(struct store *st, const uint8_t hash[STORE_NONCE_HASH_LEN],
                         const char *tenant_id, int64_t now_ms, enum store_nonce_result *ret,
                         struct rp_err *err)
{
        static const char upd[] =
                "UPDATE attest_nonces SET used = 1 WHERE hash = ?1 AND tenant_id = ?2 "
                "AND used = 0 AND expires_ms > ?3";
        static const char sel[] =
                "SELECT tenant_id, expires_ms, used FROM attest_nonces WHERE hash = ?1";
        sqlite3_stmt *s = sq_stmt(st, upd, err);
        if (!s)
                return err ? err->code : -EIO;
        sq_bind_blob(s, 1, hash, STORE_NONCE_HASH_LEN);
        sq_bind_text(s, 2, tenant_id);
        sq_bind_i64(s, 3, now_ms);
        int changes = 0;
        int r = sq_exec(st, s, err, "store: consuming nonce", &changes);
        if (r < 0)
                return r;
        if (changes == 1) {
                *ret = STORE_NONCE_OK;
                return 0;
        }
        s = sq_stmt(st, sel, err);
        if (!s)
                return err ? err->code : -EIO;
        sq_bind_blob(s, 1, hash, STORE_NONCE_HASH_LEN);
        struct nonce_row n;
        r = sq_get(st, s, nonce_row, &n, err, "store: reading nonce");
        if (r == -ENOENT) {
                *ret = STORE_NONCE_UNKNOWN;
                return 0;
        }
        if (r < 0)
                return r;
        if (strcmp(n.tenant_id, tenant_id))
                *ret = STORE_NONCE_WRONG_TENANT;
        else if (n.expires_ms <= now_ms)
                *ret = STORE_NONCE_EXPIRED;
        else
                *ret = STORE_NONCE_USED;
        return 0;
}

static int nonce_purge(struct store *st, int64_t before_ms, int64_t *ret_n, struct rp_err *err)
{
        static const char sql[] = "DELETE FROM attest_nonces WHERE expires_ms < ?1";
        sqlite3_stmt *s = sq_stmt(st, sql, err);
        if (!s)
                return err ? err->code : -EIO;
        sq_bind_i64(s, 1, before_ms);
        int changes = 0;
        int r = sq_exec(st, s, err, "store: purging nonces", &changes);
        if (r == 0 && ret_n)
                *ret_n = changes;
        return r;
}

const struct store_nonce_ops sq_nonce_ops = {
        .create = nonce_create,
        .consume = nonce_consume,
        .purge = nonce_purge,
};

/* sqlite.c - the embedded SQLite backend: connection setup (WAL,
 * synchronous=FULL, busy timeout, foreign keys), forward migrations, the
 * prepared-statement cache and the core operations. Entity operations live
 * in sqlite_<entity>.c. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "store/sqlite_int.h"

#define SQ_BUSY_TIMEOUT_MS 5000

static int sq_schema_version(struct store *st);

sqlite3_stmt *sq_stmt(struct store *st, const char *sql, struct rp_err *err)
{
        struct sq_store *q = sq_of(st);
        for (size_t i = 0; i < q->n_cache; i++)
                if (q->cache[i].sql == sql) {
                        sqlite3_stmt *s = q->cache[i].stmt;
                        sqlite3_reset(s);
                        sqlite3_clear_bindings(s);
                        return s;
                }
        if (q->n_cache >= SQ_STMT_CACHE) {
                rp_err_set(err, -ENOMEM, "store: more than %d distinct statements", SQ_STMT_CACHE);
                return NULL;
        }
        sqlite3_stmt *s = NULL;
        int rc = sqlite3_prepare_v3(q->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL);
        if (rc != SQLITE_OK) {
                rp_err_set(err, -EIO, "store: preparing statement: %s", sqlite3_errmsg(q->db));
                return NULL;
        }
        q->cache[q->n_cache].sql = sql;
        q->cache[q->n_cache].stmt = s;
        q->n_cache++;
        return s;
}

int sq_fail(struct store *st, int rc, struct rp_err *err, const char *what)
{
        struct sq_store *q = sq_of(st);
        int code;
        switch (rc) {
        case SQLITE_CONSTRAINT_UNIQUE:
        case SQLITE_CONSTRAINT_PRIMARYKEY:
                code = -EEXIST;
                break;
        case SQLITE_CONSTRAINT_FOREIGNKEY:
                code = -ENOENT;
                break;
        case SQLITE_CONSTRAINT_CHECK:
        case SQLITE_CONSTRAINT_NOTNULL:
                code = -EINVAL;
                break;
        default:
                switch (rc & 0xff) {
                case SQLITE_BUSY:
                case SQLITE_LOCKED:
                        code = -EBUSY;
                        break;
                case SQLITE_FULL:
                        code = -ENOSPC;
                        break;
                default:
                        code = -EIO;
                }
        }
        return rp_err_set(err, code, "%s: %s", what, sqlite3_errmsg(q->db));
}

int sq_exec(struct store *st, sqlite3_stmt *s, struct rp_err *err, const char *what,
            int *ret_changes)
{
        int rc = sqlite3_step(s);
        if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
                int ext = sqlite3_extended_errcode(sq_of(st)->db);
                sqlite3_reset(s);
                return sq_fail(st, ext, err, what);
        }
        sqlite3_reset(s);
        if (ret_changes)
                *ret_changes = sqlite3_changes(sq_of(st)->db);
        return 0;
}

int sq_bind_text(sqlite3_stmt *s, int idx, const char *v)
{
        return sqlite3_bind_text(s, idx, v ? v : "", -1, SQLITE_STATIC) == SQLITE_OK ? 0 : -EIO;
}

int sq_bind_i64(sqlite3_stmt *s, int idx, int64_t v)
{
        return sqlite3_bind_int64(s, idx, v) == SQLITE_OK ? 0 : -EIO;
}

int sq_bind_blob(sqlite3_stmt *s, int idx, const void *v, size_t n)
{
        if (n > (size_t)INT32_MAX)
                return -EFBIG;
        return sqlite3_bind_blob(s, idx, v, (int)n, SQLITE_STATIC) == SQLITE_OK ? 0 : -EIO;
}

int sq_col_text(sqlite3_stmt *s, int col, char *buf, size_t size)
{
        const unsigned char *t = sqlite3_column_text(s, col);
        int n = sqlite3_column_bytes(s, col);
        if (n < 0 || (size_t)n >= size)
                return -EOVERFLOW;
        if (n)
                memcpy(buf, t, (size_t)n);
        buf[n] = 0;
        return 0;
}

int sq_col_blob(sqlite3_stmt *s, int col, void *buf, size_t size, size_t *ret_len)
{
        const void *b = sqlite3_column_blob(s, col);
        int n = sqlite3_column_bytes(s, col);
        if (n < 0 || (size_t)n > size)
                return -EOVERFLOW;
        if (n)
                memcpy(buf, b, (size_t)n);
        if (ret_len)
                *ret_len = (size_t)n;
        return 0;
}

int sq_list(struct store *st, sqlite3_stmt *s, size_t limit, size_t elem,
            int64_t (*row)(sqlite3_stmt *s, void *item), void **ret_items, size_t *ret_n,
            int64_t *ret_next, struct rp_err *err, const char *what)
{
        if (limit == 0 || limit > STORE_LIST_MAX) {
                sqlite3_reset(s);
                return rp_err_set(err, -EINVAL, "%s: limit %zu outside 1..%d", what, limit,
                                  STORE_LIST_MAX);
        }
        _cleanup_free_ uint8_t *items = calloc(limit, elem);
        if (!items) {
                sqlite3_reset(s);
                return rp_err_set(err, -ENOMEM, "%s: out of memory", what);
        }
        size_t n = 0;
        int64_t next = 0, last = 0;
        for (;;) {
                int rc = sqlite3_step(s);
                if (rc == SQLITE_DONE)
                        break;
                if (rc != SQLITE_ROW) {
                        int ext = sqlite3_extended_errcode(sq_of(st)->db);
                        sqlite3_reset(s);
                        return sq_fail(st, ext, err, what);
                }
                if (n == limit) {       /* the extra row: another page follows */
                        next = last;
                        break;
                }
                last = row(s, items + n * elem);
                if (last < 0) {
                        sqlite3_reset(s);
                        return rp_err_set(err, -EIO, "%s: stored row %zu does not fit its record",
                                          what, n);
                }
                n++;
        }
        sqlite3_reset(s);
        *ret_items = steal_ptr(items);
        *ret_n = n;
        *ret_next = next;
        return 0;
}

static int sq_exec_sql(struct sq_store *q, const char *sql, struct rp_err *err, const char *what)
{
        char *msg = NULL;
        int rc = sqlite3_exec(q->db, sql, NULL, NULL, &msg);
        if (rc != SQLITE_OK) {
                int ext = sqlite3_extended_errcode(q->db);
                rp_err_set(err, (ext & 0xff) == SQLITE_BUSY ? -EBUSY : -EIO, "%s: %s", what,
                           msg ? msg : sqlite3_errstr(rc));
                sqlite3_free(msg);
                return err ? err->code : -EIO;
        }
        return 0;
}

static int sq_tx_begin(struct store *st, struct rp_err *err)
{
        static const char sql[] = "BEGIN IMMEDIATE";
        sqlite3_stmt *s = sq_stmt(st, sql, err);
        if (!s)
                return err ? err->code : -EIO;
        return sq_exec(st, s, err, "store: begin transaction", NULL);
}

static int sq_tx_commit(struct store *st, struct rp_err *err)
{
        static const char sql[] = "COMMIT";
        sqlite3_stmt *s = sq_stmt(st, sql, err);
        if (!s)
                return err ? err->code : -EIO;
        return sq_exec(st, s, err, "store: commit", NULL);
}

static void sq_tx_rollback(struct store *st)
{
        static const char sql[] = "ROLLBACK";
        struct sq_store *q = sq_of(st);
        /* Reset every cached statement first: an active statement would make
         * the rollback fail with SQLITE_BUSY. */
        for (size_t i = 0; i < q->n_cache; i++)
                sqlite3_reset(q->cache[i].stmt);
        sqlite3_stmt *s = sq_stmt(st, sql, NULL);
        if (s)
                (void)sq_exec(st, s, NULL, "store: rollback", NULL);
}

static int sq_integrity_check(struct store *st, struct rp_err *err)
{
        static const char sql[] = "PRAGMA integrity_check";
        sqlite3_stmt *s = sq_stmt(st, sql, err);
        if (!s)
                return err ? err->code : -EIO;
        char first[STORE_TEXT_MAX] = "";
        int rc = sqlite3_step(s);
        if (rc == SQLITE_ROW)
                (void)sq_col_text(s, 0, first, sizeof(first));
        int ext = sqlite3_extended_errcode(sq_of(st)->db);
        sqlite3_reset(s);
        if (rc != SQLITE_ROW)
                return sq_fail(st, ext, err, "store: integrity check");
        if (strcmp(first, "ok"))
                return rp_err_set(err, -EIO, "store: integrity check failed: %s", first);
        return 0;
}

static int sq_meta_get(struct store *st, const char *key, char *buf, size_t size,
                       struct rp_err *err)
{
        static const char sql[] = "SELECT value FROM meta WHERE key = ?1";
        sqlite3_stmt *s = sq_stmt(st, sql, err);
        if (!s)
                return err ? err->code : -EIO;
        sq_bind_text(s, 1, key);
        int rc = sqlite3_step(s);
        if (rc == SQLITE_DONE) {
                sqlite3_reset(s);
                return rp_err_set(err, -ENOENT, "store: no setting '%s'", key);
        }
        if (rc != SQLITE_ROW) {
                int ext = sqlite3_extended_errcode(sq_of(st)->db);
                sqlite3_reset(s);
                return sq_fail(st, ext, err, "store: reading a setting");
        }
        int r = sq_col_text(s, 0, buf, size);
        sqlite3_reset(s);
        if (r < 0)
                return rp_err_set(err, r, "store: setting '%s' is longer than %zu bytes", key, size);
        return 0;
}

static int sq_meta_set(struct store *st, const char *key, const char *value, struct rp_err *err)
{
        static const char sql[] =
                "INSERT INTO meta (key, value) VALUES (?1, ?2) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value";
        if (strlen(value) >= STORE_TEXT_MAX)
                return rp_err_set(err, -EINVAL, "store: setting '%s' longer than %d bytes", key,
                                  STORE_TEXT_MAX - 1);
        sqlite3_stmt *s = sq_stmt(st, sql, err);
        if (!s)
                return err ? err->code : -EIO;
        sq_bind_text(s, 1, key);
        sq_bind_text(s, 2, value);
        return sq_exec(st, s, err, "store: writing a setting", NULL);
}

static int sq_schema_version(struct store *st)
{
        static const char sql[] = "SELECT COALESCE(MAX(version), 0) FROM schema_version";
        sqlite3_stmt *s = sq_stmt(st, sql, NULL);
        if (!s)
                return -EIO;
        int v = -EIO;
        if (sqlite3_step(s) == SQLITE_ROW)
                v = sqlite3_column_int(s, 0);
        sqlite3_reset(s);
        return v;
}

static void sq_close(struct store *st)
{
        struct sq_store *q = sq_of(st);
        store_tx_rollback(st);
        for (size_t i = 0; i < q->n_cache; i++)
                sqlite3_finalize(q->cache[i].stmt);
        q->n_cache = 0;
        /* The last connection to close checkpoints the WAL into the file. */
        sqlite3_close(q->db);
        free(q);
}

static const struct store_backend sq_backend = {
        .name = "sqlite",
        .close = sq_close,
        .tx_begin = sq_tx_begin,
        .tx_commit = sq_tx_commit,
        .tx_rollback = sq_tx_rollback,
        .integrity_check = sq_integrity_check,
        .meta_get = sq_meta_get,
        .meta_set = sq_meta_set,
        .schema_version = sq_schema_version,
        .tenant = &sq_tenant_ops,
        .token = &sq_token_ops,
        .audit = &sq_audit_ops,
        .ca = &sq_ca_ops,
        .registry = &sq_registry_ops,
        .product = &sq_product_ops,
        .group = &sq_group_ops,
        .device = &sq_device_ops,
        .nonce = &sq_nonce_ops,
        .attest = &sq_attest_ops,
        .failure = &sq_failure_ops,
        .repo = &sq_repo_ops,
        .image = &sq_image_ops,
        .deploy = &sq_deploy_ops,
};

static int sq_migrate(struct sq_store *q, struct rp_err *err)
{
        int r = sq_exec_sql(q,
                            "CREATE TABLE IF NOT EXISTS schema_version ("
                            "  version INTEGER PRIMARY KEY,"
                            "  name TEXT NOT NULL,"
                            "  applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))"
                            ") STRICT",
                            err, "store: creating schema_version");
        if (r < 0)
                return r;
        int cur = sq_schema_version(&q->base);
        if (cur < 0)
                return rp_err_set(err, -EIO, "store: cannot read the schema version");
        int latest = sq_n_migrations ? sq_migrations[sq_n_migrations - 1].version : 0;
        if (cur > latest)
                return rp_err_set(err, -EPROTO,
                                  "store: database schema version %d is newer than this build "
                                  "knows (%d); refusing to run an older server on it",
                                  cur, latest);
        for (size_t i = 0; i < sq_n_migrations; i++) {
                const struct sq_migration *m = &sq_migrations[i];
                if (m->version != (int)i + 1)
                        return rp_err_set(err, -EINVAL, "store: migration %zu has version %d",
                                          i + 1, m->version);
                if (m->version <= cur)
                        continue;
                r = sq_exec_sql(q, "BEGIN IMMEDIATE", err, "store: migration begin");
                if (r < 0)
                        return r;
                r = sq_exec_sql(q, m->sql, err, m->name);
                if (r == 0) {
                        static const char ins[] =
                                "INSERT INTO schema_version (version, name) VALUES (?1, ?2)";
                        sqlite3_stmt *s = sq_stmt(&q->base, ins, err);
                        if (!s) {
                                r = err ? err->code : -EIO;
                        } else {
                                sq_bind_i64(s, 1, m->version);
                                sq_bind_text(s, 2, m->name);
                                r = sq_exec(&q->base, s, err, "store: recording migration", NULL);
                        }
                }
                if (r == 0)
                        r = sq_exec_sql(q, "COMMIT", err, "store: migration commit");
                if (r < 0) {
                        sq_exec_sql(q, "ROLLBACK", NULL, "rollback");
                        return rp_err_prefix(err, "store: migration %d (%s)", m->version, m->name);
                }
        }
        return 0;
}

int sq_open(const char *path, struct store **ret, struct rp_err *err);
int sq_open(const char *path, struct store **ret, struct rp_err *err)
{
        if (!path || !*path)
                return rp_err_set(err, -EINVAL, "store: empty SQLite path");
        /* Create the file ourselves so it is private (0600) from the start. */
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return rp_err_set(err, -errno, "store: opening '%s': %s", path, strerror(errno));
        close(fd);

        struct sq_store *q = calloc(1, sizeof(*q));
        if (!q)
                return rp_err_set(err, -ENOMEM, "store: out of memory");
        q->base.be = &sq_backend;
        int rc = sqlite3_open_v2(path, &q->db,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
                                         SQLITE_OPEN_PRIVATECACHE,
                                 NULL);
        if (rc != SQLITE_OK) {
                rp_err_set(err, -EIO, "store: opening '%s': %s", path,
                           q->db ? sqlite3_errmsg(q->db) : sqlite3_errstr(rc));
                sqlite3_close(q->db);
                free(q);
                return err ? err->code : -EIO;
        }
        sqlite3_busy_timeout(q->db, SQ_BUSY_TIMEOUT_MS);
        sqlite3_extended_result_codes(q->db, 1);
        int r = sq_exec_sql(q,
                            "PRAGMA journal_mode = WAL;"
                            "PRAGMA synchronous = FULL;"
                            "PRAGMA foreign_keys = ON;"
                            "PRAGMA trusted_schema = OFF;",
                            err, "store: configuring SQLite");
        if (r == 0) {
                /* journal_mode=WAL can silently stay "delete" (e.g. on some
                 * file systems): check it took, durability depends on it. */
                sqlite3_stmt *s = NULL;
                char mode[16] = "";
                if (sqlite3_prepare_v2(q->db, "PRAGMA journal_mode", -1, &s, NULL) == SQLITE_OK &&
                    sqlite3_step(s) == SQLITE_ROW)
                        (void)sq_col_text(s, 0, mode, sizeof(mode));
                sqlite3_finalize(s);
                if (strcmp(mode, "wal"))
                        r = rp_err_set(err, -EIO, "store: '%s' did not switch to WAL (mode '%s')",
                                       path, mode);
        }
        if (r == 0)
                r = sq_migrate(q, err);
        if (r < 0) {
                sq_close(&q->base);
                return r;
        }
        *ret = &q->base;
        return 0;
}

int sq_get(struct store *st, sqlite3_stmt *s, int64_t (*row)(sqlite3_stmt *s, void *item),
           void *item, struct rp_err *err, const char *what)
{
        int rc = sqlite3_step(s);
        if (rc == SQLITE_DONE) {
                sqlite3_reset(s);
                return -ENOENT;
        }
        if (rc != SQLITE_ROW) {
                int ext = sqlite3_extended_errcode(sq_of(st)->db);
                sqlite3_reset(s);
                return sq_fail(st, ext, err, what);
        }
        int64_t k = row(s, item);
        sqlite3_reset(s);
        if (k < 0)
                return rp_err_set(err, -EIO, "%s: stored row does not fit its record", what);
        return 0;
}

int sq_get_by(struct store *st, const char *sql, const char *a, const char *b,
              int64_t (*row)(sqlite3_stmt *s, void *item), void *item, struct rp_err *err,
              const char *what)
{
        sqlite3_stmt *s = sq_stmt(st, sql, err);
        if (!s)
                return err ? err->code : -EIO;
        if (a)
                sq_bind_text(s, 1, a);
        if (b)
                sq_bind_text(s, 2, b);
        return sq_get(st, s, row, item, err, what);
}

sqlite3_stmt *sq_page_stmt(struct store *st, const char *sql, const char *key, int64_t after,
                           size_t limit, struct rp_err *err)
{
        sqlite3_stmt *s = sq_stmt(st, sql, err);
        if (!s)
                return NULL;
        if (key)
                sq_bind_text(s, 1, key);
        sq_bind_i64(s, 2, after);
        sq_bind_i64(s, 3, (int64_t)limit + 1);
        return s;
}

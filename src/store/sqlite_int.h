/* store/sqlite_int.h - shared by the SQLite backend's files (sqlite.c and
 * one sqlite_<entity>.c per entity). Not for route code.
 *
 * Statements: every SQL text is a string constant passed to sq_stmt(),
 * which prepares it once (cached by the constant's address) and hands back
 * the statement reset with its bindings cleared. Bind with sqlite3_bind_*,
 * step, and let sq_stmt's next caller reset it. Input is only ever bound,
 * never pasted into SQL. */
#pragma once
#include <sqlite3.h>

#include "store/store.h"

#define SQ_STMT_CACHE 256

struct sq_store {
        struct store base;              /* first: (struct store *) casts */
        sqlite3 *db;
        struct {
                const char *sql;
                sqlite3_stmt *stmt;
        } cache[SQ_STMT_CACHE];
        size_t n_cache;
};

static inline struct sq_store *sq_of(struct store *st) { return (struct sq_store *)st; }

/* Prepared (cached) statement for the constant `sql`; NULL with err set on
 * failure. */
sqlite3_stmt *sq_stmt(struct store *st, const char *sql, struct rp_err *err);
/* Maps a SQLite result to -EEXIST (unique/primary key), -EBUSY, -EIO with
 * "what: sqlite message". */
int sq_fail(struct store *st, int rc, struct rp_err *err, const char *what);
/* Steps a statement that returns no rows (INSERT/UPDATE/DELETE). Returns 0
 * or sq_fail(); *ret_changes (optional) gets sqlite3_changes(). */
int sq_exec(struct store *st, sqlite3_stmt *s, struct rp_err *err, const char *what,
            int *ret_changes);
/* Binds text (NUL-terminated) / int64 / blob; SQLITE_TRANSIENT copies are
 * not needed because statements are stepped before the caller returns. */
int sq_bind_text(sqlite3_stmt *s, int idx, const char *v);
int sq_bind_i64(sqlite3_stmt *s, int idx, int64_t v);
int sq_bind_blob(sqlite3_stmt *s, int idx, const void *v, size_t n);
/* Copies column text into a fixed buffer; -EOVERFLOW when it does not fit
 * (the store never accepts such values, so it means corruption). */
int sq_col_text(sqlite3_stmt *s, int col, char *buf, size_t size);
int sq_col_blob(sqlite3_stmt *s, int col, void *buf, size_t size, size_t *ret_len);
/* The statement for a page of a keyed list: `sql` must take the key as
 * ?1 (a NULL key leaves it NULL), the seq to start after as ?2 and the row
 * limit as ?3, which gets limit + 1 for sq_list(); the caller may bind
 * further parameters. NULL with err set on failure. */
sqlite3_stmt *sq_page_stmt(struct store *st, const char *sql, const char *key, int64_t after,
                           size_t limit, struct rp_err *err);
/* Runs a paged list: `s` must select rows ordered by seq ascending with the
 * seq > ?after and LIMIT ?limit+1 already bound by the caller; `row` copies
 * one row into item `i` of the array (elements of `elem` bytes) and returns
 * its seq. Fills ret_items, ret_n and ret_next. */
int sq_list(struct store *st, sqlite3_stmt *s, size_t limit, size_t elem,
            int64_t (*row)(sqlite3_stmt *s, void *item), void **ret_items, size_t *ret_n,
            int64_t *ret_next, struct rp_err *err, const char *what);

/* Steps a single-row query: 0 with the row copied by `row` into `item`,
 * -ENOENT (err untouched: the caller names what was missing) when there is
 * no row, or sq_fail(). Always resets the statement. */
int sq_get(struct store *st, sqlite3_stmt *s, int64_t (*row)(sqlite3_stmt *s, void *item),
           void *item, struct rp_err *err, const char *what);
/* sq_get() on the statement for `sql` with the texts `a` and `b` bound to
 * ?1 and ?2; a NULL leaves its parameter NULL (so b is NULL for a query of
 * one parameter). `item` may be written on failure too: read into a local
 * and copy it out on 0. */
int sq_get_by(struct store *st, const char *sql, const char *a, const char *b,
              int64_t (*row)(sqlite3_stmt *s, void *item), void *item, struct rp_err *err,
              const char *what);

/* Forward migrations (sqlite_migrations.c): applied in order inside one
 * transaction each; the schema_version table records the last applied. */
struct sq_migration {
        int version;
        const char *name;
        const char *sql;
};
extern const struct sq_migration sq_migrations[];
extern const size_t sq_n_migrations;

/* Entity ops tables, one per sqlite_<entity>.c. */
extern const struct store_tenant_ops sq_tenant_ops;
extern const struct store_token_ops sq_token_ops;
extern const struct store_audit_ops sq_audit_ops;
extern const struct store_ca_ops sq_ca_ops;
extern const struct store_registry_ops sq_registry_ops;
extern const struct store_product_ops sq_product_ops;
extern const struct store_group_ops sq_group_ops;
extern const struct store_device_ops sq_device_ops;
extern const struct store_nonce_ops sq_nonce_ops;
extern const struct store_attest_ops sq_attest_ops;
extern const struct store_failure_ops sq_failure_ops;
extern const struct store_repo_ops sq_repo_ops;
extern const struct store_image_ops sq_image_ops;
extern const struct store_deploy_ops sq_deploy_ops;

/* store.h - the service's state behind one interface.
 *
 * Route code calls typed functions (store_tenant_create, store_token_find_
 * by_hash, ...) declared in one header per entity (store/tenants.h,
 * store/tokens.h, ...). Each is a thin inline wrapper that dispatches
 * through the backend's ops table and reports its latency, so a second
 * backend (PostgreSQL) is one more `struct store_backend` and never touches
 * route code. The SQLite backend (store/sqlite.c) is the embedded default.
 *
 * Rules every backend keeps:
 *  - no SQL text is built from input: statements are constants with bound
 *    parameters;
 *  - a write that returned 0 outside a transaction, or a store_tx_commit()
 *    that returned 0, is durable (SQLite: WAL + synchronous=FULL);
 *  - errors: -ENOENT not found (also for another tenant's object: tenant-
 *    scoped lookups take the tenant id and never reveal other tenants'
 *    rows), -EEXIST unique conflict, -EBUSY database locked too long,
 *    -EIO anything else; the rp_err message names the operation.
 *  - lists are ordered by `seq` (an increasing number given at insert) and
 *    paged with (after, limit): rows with seq > after, at most limit;
 *    *ret_next is the last row's seq when more rows follow, else 0.
 *
 * Records are plain structs with fixed-size, NUL-terminated string fields
 * (sizes below); list results are malloc'd arrays the caller frees with
 * free(). Single-threaded: one struct store is used by one thread. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "lib/err.h"

/* ---- field sizes (buffer sizes, including the NUL) ---- */
#define STORE_ID_MAX 48          /* "ten_" + 32 hex, ... */
#define STORE_NAME_MAX 129       /* names: at most 128 bytes of UTF-8 */
#define STORE_TEXT_MAX 257       /* short free text: 256 bytes */
#define STORE_PEM_MAX 8192       /* one certificate in PEM */
#define STORE_BLOB_MAX 4096      /* small binary values (sealed keys) */
#define STORE_LIST_MAX 1000      /* hard cap on one list call */

struct store;
struct store_tenant_ops;
struct store_token_ops;
struct store_audit_ops;
struct store_ca_ops;
struct store_registry_ops;
struct store_product_ops;
struct store_group_ops;
struct store_device_ops;
struct store_nonce_ops;
struct store_attest_ops;
struct store_failure_ops;
struct store_repo_ops;
struct store_image_ops;
struct store_deploy_ops;

/* A backend: core operations plus one ops table per entity. An entity
 * module adds its pointer here and fills it in each backend's table. */
struct store_backend {
        const char *name;       /* "sqlite" */
        void (*close)(struct store *st);
        int (*tx_begin)(struct store *st, struct rp_err *err);
        int (*tx_commit)(struct store *st, struct rp_err *err);
        void (*tx_rollback)(struct store *st);
        /* Full consistency check (SQLite: PRAGMA integrity_check). */
        int (*integrity_check)(struct store *st, struct rp_err *err);
        /* Small service settings (bootstrap state, ...): value up to
         * STORE_TEXT_MAX-1 bytes. get: -ENOENT when unset. */
        int (*meta_get)(struct store *st, const char *key, char *buf, size_t size,
                        struct rp_err *err);
        int (*meta_set)(struct store *st, const char *key, const char *value,
                        struct rp_err *err);
        /* Schema version in force (migrations applied). */
        int (*schema_version)(struct store *st);

        const struct store_tenant_ops *tenant;
        const struct store_token_ops *token;
        const struct store_audit_ops *audit;
        const struct store_ca_ops *ca;
        const struct store_registry_ops *registry;
        const struct store_product_ops *product;
        const struct store_group_ops *group;
        const struct store_device_ops *device;
        const struct store_nonce_ops *nonce;    /* store/nonces.h */
        const struct store_attest_ops *attest;  /* store/attest.h */
        const struct store_failure_ops *failure; /* store/failures.h */
        const struct store_repo_ops *repo;      /* store/repo.h */
        const struct store_image_ops *image;    /* store/images.h */
        const struct store_deploy_ops *deploy;  /* store/deploy.h */
};

/* Latency observer: called after every store call with the call's name
 * ("tenant.create") and its duration. */
typedef void (*store_observe_fn)(void *ctx, const char *op, double seconds);

/* Backends embed this as their first member. */
struct store {
        const struct store_backend *be;
        store_observe_fn observe;
        void *observe_ctx;
        int tx_depth;
};

/* Opens a store. `spec` is "sqlite:PATH" or a plain PATH (SQLite, created
 * with its directory's permissions, schema migrated forward). Other URL
 * schemes are refused with -EPROTONOSUPPORT naming the scheme. */
int store_open(const char *spec, struct store **ret, struct rp_err *err) RP_WUR;
/* Closes (checkpointing the WAL); accepts NULL. */
void store_close(struct store *st);
static inline void store_closep(struct store **st) { store_close(*st); }
void store_set_observer(struct store *st, store_observe_fn fn, void *ctx);

/* Transactions. Nesting is not supported: a begin inside a transaction is
 * refused with -EBUSY. A rollback of no transaction is a no-op. Use
 *   _cleanup_(store_tx_guard) struct store *tx = NULL;
 *   r = store_tx_begin(st, err); ... tx = st; ... r = store_tx_commit(st, err); tx = NULL;
 * or call store_tx_rollback() on every error path. */
int store_tx_begin(struct store *st, struct rp_err *err) RP_WUR;
int store_tx_commit(struct store *st, struct rp_err *err) RP_WUR;
void store_tx_rollback(struct store *st);
static inline void store_tx_guard(struct store **st)
{
        if (*st)
                store_tx_rollback(*st);
}

int store_integrity_check(struct store *st, struct rp_err *err) RP_WUR;
int store_meta_get(struct store *st, const char *key, char *buf, size_t size,
                   struct rp_err *err) RP_WUR;
int store_meta_set(struct store *st, const char *key, const char *value,
                   struct rp_err *err) RP_WUR;
int store_schema_version(struct store *st);

/* Monotonic clock in nanoseconds, for STORE_CALL. */
int64_t store_clock_ns(void);
void store_observe(struct store *st, const char *op, int64_t t0_ns);

/* Dispatches `st->be->ENTITY->FN(st, args...)`, timing it; -ENOTSUP with a
 * message when the backend lacks the entity. Used by the inline wrappers in
 * the entity headers. The last argument must be the struct rp_err *. */
#define STORE_CALL(st, entity, fn, err, ...)                                            \
        ({                                                                              \
                struct store *_st = (st);                                               \
                int _r;                                                                 \
                if (!_st->be->entity || !_st->be->entity->fn) {                         \
                        _r = rp_err_set((err), -ENOTSUP, "store backend '%s' has no "   \
                                        #entity "." #fn, _st->be->name);                \
                } else {                                                                \
                        int64_t _t0 = store_clock_ns();                                 \
                        _r = _st->be->entity->fn(_st, __VA_ARGS__);                     \
                        store_observe(_st, #entity "." #fn, _t0);                       \
                }                                                                       \
                _r;                                                                     \
        })

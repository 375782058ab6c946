/* store.c - backend selection and the backend-independent parts of the
 * store interface (transactions bookkeeping, latency observation). */
#include <string.h>
#include <time.h>

#include "store/store.h"

int sq_open(const char *path, struct store **ret, struct rp_err *err);

int store_open(const char *spec, struct store **ret, struct rp_err *err)
{
        if (!spec || !*spec)
                return rp_err_set(err, -EINVAL, "empty store location");
        if (!strncmp(spec, "sqlite:", 7))
                return sq_open(spec + 7, ret, err);
        const char *colon = strstr(spec, "://");
        if (colon)
                return rp_err_set(err, -EPROTONOSUPPORT,
                                  "store '%s': scheme '%.*s' is not supported by this build "
                                  "(supported: sqlite:PATH)",
                                  spec, (int)(colon - spec), spec);
        return sq_open(spec, ret, err);
}

void store_close(struct store *st)
{
        if (st)
                st->be->close(st);
}

void store_set_observer(struct store *st, store_observe_fn fn, void *ctx)
{
        st->observe = fn;
        st->observe_ctx = ctx;
}

int64_t store_clock_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void store_observe(struct store *st, const char *op, int64_t t0_ns)
{
        if (st->observe)
                st->observe(st->observe_ctx, op, (double)(store_clock_ns() - t0_ns) / 1e9);
}

int store_tx_begin(struct store *st, struct rp_err *err)
{
        if (st->tx_depth)
                return rp_err_set(err, -EBUSY, "store: transaction already open");
        int64_t t0 = store_clock_ns();
        int r = st->be->tx_begin(st, err);
        store_observe(st, "tx.begin", t0);
        if (r == 0)
                st->tx_depth = 1;
        return r;
}

int store_tx_commit(struct store *st, struct rp_err *err)
{
        if (!st->tx_depth)
                return rp_err_set(err, -EINVAL, "store: commit without a transaction");
        int64_t t0 = store_clock_ns();
        int r = st->be->tx_commit(st, err);
        store_observe(st, "tx.commit", t0);
        if (r == 0)
                st->tx_depth = 0;
        else
                store_tx_rollback(st);
        return r;
}

void store_tx_rollback(struct store *st)
{
        if (!st->tx_depth)
                return;
        st->be->tx_rollback(st);
        st->tx_depth = 0;
}

int store_integrity_check(struct store *st, struct rp_err *err)
{
        return st->be->integrity_check(st, err);
}

int store_meta_get(struct store *st, const char *key, char *buf, size_t size, struct rp_err *err)
{
        return st->be->meta_get(st, key, buf, size, err);
}

int store_meta_set(struct store *st, const char *key, const char *value, struct rp_err *err)
{
        return st->be->meta_set(st, key, value, err);
}

int store_schema_version(struct store *st)
{
        return st->be->schema_version(st);
}

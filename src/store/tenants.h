/* store/tenants.h - tenants: the unit of isolation. Every other tenant-
 * scoped entity carries a tenant_id and is looked up with it. */
#pragma once
#include "store/store.h"

struct store_tenant {
        int64_t seq;
        char id[STORE_ID_MAX];          /* "ten_..." */
        char name[STORE_NAME_MAX];      /* unique among tenants */
        int64_t created_ms;             /* unix time, milliseconds */
};

struct store_tenant_ops {
        /* -EEXIST when the id or name exists. seq is assigned. */
        int (*create)(struct store *st, const struct store_tenant *t, struct rp_err *err);
        int (*get)(struct store *st, const char *id, struct store_tenant *ret, struct rp_err *err);
        int (*list)(struct store *st, int64_t after, size_t limit, struct store_tenant **ret_items,
                    size_t *ret_n, int64_t *ret_next, struct rp_err *err);
};

static inline RP_WUR int store_tenant_create(struct store *st, const struct store_tenant *t,
                                             struct rp_err *err)
{
        return STORE_CALL(st, tenant, create, err, t, err);
}
static inline RP_WUR int store_tenant_get(struct store *st, const char *id,
                                          struct store_tenant *ret, struct rp_err *err)
{
        return STORE_CALL(st, tenant, get, err, id, ret, err);
}
static inline RP_WUR int store_tenant_list(struct store *st, int64_t after, size_t limit,
                                           struct store_tenant **ret_items, size_t *ret_n,
                                           int64_t *ret_next, struct rp_err *err)
{
        return STORE_CALL(st, tenant, list, err, after, limit, ret_items, ret_n, ret_next, err);
}

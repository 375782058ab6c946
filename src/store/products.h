/* store/products.h - products: a tenant's kinds of device. Each product
 * owns device groups (store/groups.h). */
#pragma once
#include "store/store.h"

struct store_product {
        int64_t seq;
        char id[STORE_ID_MAX];                  /* "prd_..." */
        char tenant_id[STORE_ID_MAX];
        char name[STORE_NAME_MAX];              /* unique within the tenant */
        char description[STORE_TEXT_MAX];
        int64_t created_ms;
        int64_t updated_ms;
};

struct store_product_ops {
        /* -EEXIST when the id exists or the tenant has a product of that name. */
        int (*create)(struct store *st, const struct store_product *p, struct rp_err *err);
        int (*get)(struct store *st, const char *tenant_id, const char *id,
                   struct store_product *ret, struct rp_err *err);
        int (*list)(struct store *st, const char *tenant_id, int64_t after, size_t limit,
                    struct store_product **ret_items, size_t *ret_n, int64_t *ret_next,
                    struct rp_err *err);
        /* Writes name, description and updated_ms of (p->tenant_id, p->id). */
        int (*update)(struct store *st, const struct store_product *p, struct rp_err *err);
};

static inline RP_WUR int store_product_create(struct store *st, const struct store_product *p,
                                              struct rp_err *err)
{
        return STORE_CALL(st, product, create, err, p, err);
}
static inline RP_WUR int store_product_get(struct store *st, const char *tenant_id,
                                           const char *id, struct store_product *ret,
                                           struct rp_err *err)
{
        return STORE_CALL(st, product, get, err, tenant_id, id, ret, err);
}
static inline RP_WUR int store_product_list(struct store *st, const char *tenant_id,
                                            int64_t after, size_t limit,
                                            struct store_product **ret_items, size_t *ret_n,
                                            int64_t *ret_next, struct rp_err *err)
{
        return STORE_CALL(st, product, list, err, tenant_id, after, limit, ret_items, ret_n,
                          ret_next, err);
}
static inline RP_WUR int store_product_update(struct store *st, const struct store_product *p,
                                              struct rp_err *err)
{
        return STORE_CALL(st, product, update, err, p, err);
}

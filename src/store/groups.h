/* store/groups.h - device groups: the policy unit of a product (update
 * policy, OS feed, whether debug-enabled devices and crash dumps are
 * allowed). Values are validated by the routes and again by CHECK
 * constraints in the schema. */
#pragma once
#include <stdbool.h>

#include "store/store.h"

#define STORE_POLICY_MAX 16

struct store_group {
        int64_t seq;
        char id[STORE_ID_MAX];                  /* "grp_..." */
        char tenant_id[STORE_ID_MAX];
        char product_id[STORE_ID_MAX];
        char name[STORE_NAME_MAX];              /* unique within the product */
        char description[STORE_TEXT_MAX];
        char update_policy[STORE_POLICY_MAX];   /* update-all | no-app-updates | no-updates */
        char os_feed[STORE_POLICY_MAX];         /* retail | retail-eval */
        bool debug_allowed;
        bool crash_dumps_allowed;
        int64_t created_ms;
        int64_t updated_ms;
};

struct store_group_ops {
        /* -EEXIST when the product has a group of that name; -ENOENT when
         * the product is not the tenant's; -EINVAL for a policy value the
         * schema refuses. */
        int (*create)(struct store *st, const struct store_group *g, struct rp_err *err);
        int (*get)(struct store *st, const char *tenant_id, const char *id,
                   struct store_group *ret, struct rp_err *err);
        /* product_id NULL = every product of the tenant. */
        int (*list)(struct store *st, const char *tenant_id, const char *product_id, int64_t after,
                    size_t limit, struct store_group **ret_items, size_t *ret_n,
                    int64_t *ret_next, struct rp_err *err);
        /* Writes name, description, policies and updated_ms of
         * (g->tenant_id, g->id). */
        int (*update)(struct store *st, const struct store_group *g, struct rp_err *err);
};

static inline RP_WUR int store_group_create(struct store *st, const struct store_group *g,
                                            struct rp_err *err)
{
        return STORE_CALL(st, group, create, err, g, err);
}
static inline RP_WUR int store_group_get(struct store *st, const char *tenant_id, const char *id,
                                         struct store_group *ret, struct rp_err *err)
{
        return STORE_CALL(st, group, get, err, tenant_id, id, ret, err);
}
static inline RP_WUR int store_group_list(struct store *st, const char *tenant_id,
                                          const char *product_id, int64_t after, size_t limit,
                                          struct store_group **ret_items, size_t *ret_n,
                                          int64_t *ret_next, struct rp_err *err)
{
        return STORE_CALL(st, group, list, err, tenant_id, product_id, after, limit, ret_items,
                          ret_n, ret_next, err);
}
static inline RP_WUR int store_group_update(struct store *st, const struct store_group *g,
                                            struct rp_err *err)
{
        return STORE_CALL(st, group, update, err, g, err);
}

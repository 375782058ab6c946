/* store/deploy.h - deployments (the images a device group should run; the
 * group's current deployment is its latest) and the per-device, per-image
 * status the devices report at check-in. */
#pragma once
#include "store/registry.h"
#include "store/store.h"

#define STORE_DEPLOY_MAX_IMAGES 32
#define STORE_DEPLOY_STATUS_MAX 16

struct store_deployment {
        int64_t seq;
        char id[STORE_ID_MAX];                  /* "dep_..." */
        char tenant_id[STORE_ID_MAX];
        char group_id[STORE_ID_MAX];
        size_t n_images;
        char image_ids[STORE_DEPLOY_MAX_IMAGES][STORE_ID_MAX];
        int64_t created_ms;
};

struct store_deploy_status {
        char deployment_id[STORE_ID_MAX];
        char ueid[STORE_UEID_BUF];
        char image_id[STORE_ID_MAX];
        char status[STORE_DEPLOY_STATUS_MAX];   /* downloading|installed|failed|reverted */
        char reason[STORE_TEXT_MAX];
        int64_t updated_ms;
};

struct store_deploy_ops {
        /* -ENOENT when the group is not the tenant's. */
        int (*create)(struct store *st, const struct store_deployment *d, struct rp_err *err);
        int (*get)(struct store *st, const char *tenant_id, const char *id,
                   struct store_deployment *ret, struct rp_err *err);
        /* group_id NULL = every group of the tenant. */
        int (*list)(struct store *st, const char *tenant_id, const char *group_id, int64_t after,
                    size_t limit, struct store_deployment **ret_items, size_t *ret_n,
                    int64_t *ret_next, struct rp_err *err);
        /* The group's latest deployment; -ENOENT when it has none. */
        int (*current)(struct store *st, const char *tenant_id, const char *group_id,
                       struct store_deployment *ret, struct rp_err *err);
        /* Inserts or replaces the status of (deployment, ueid, image). */
        int (*status_set)(struct store *st, const struct store_deploy_status *s,
                          struct rp_err *err);
        /* The statuses one device reported for a deployment (at most
         * STORE_DEPLOY_MAX_IMAGES; *ret_items malloc'd). */
        int (*status_list)(struct store *st, const char *deployment_id, const char *ueid,
                           struct store_deploy_status **ret_items, size_t *ret_n,
                           struct rp_err *err);
};

static inline RP_WUR int store_deploy_create(struct store *st, const struct store_deployment *d,
                                             struct rp_err *err)
{
        return STORE_CALL(st, deploy, create, err, d, err);
}
static inline RP_WUR int store_deploy_get(struct store *st, const char *tenant_id, const char *id,
                                          struct store_deployment *ret, struct rp_err *err)
{
        return STORE_CALL(st, deploy, get, err, tenant_id, id, ret, err);
}
static inline RP_WUR int store_deploy_list(struct store *st, const char *tenant_id,
                                           const char *group_id, int64_t after, size_t limit,
                                           struct store_deployment **ret_items, size_t *ret_n,
                                           int64_t *ret_next, struct rp_err *err)
{
        return STORE_CALL(st, deploy, list, err, tenant_id, group_id, after, limit, ret_items,
                          ret_n, ret_next, err);
}
static inline RP_WUR int store_deploy_current(struct store *st, const char *tenant_id,
                                              const char *group_id, struct store_deployment *ret,
                                              struct rp_err *err)
{
        return STORE_CALL(st, deploy, current, err, tenant_id, group_id, ret, err);
}
static inline RP_WUR int store_deploy_status_set(struct store *st,
                                                 const struct store_deploy_status *s,
                                                 struct rp_err *err)
{
        return STORE_CALL(st, deploy, status_set, err, s, err);
}
static inline RP_WUR int store_deploy_status_list(struct store *st, const char *deployment_id,
                                                  const char *ueid,
                                                  struct store_deploy_status **ret_items,
                                                  size_t *ret_n, struct rp_err *err)
{
        return STORE_CALL(st, deploy, status_list, err, deployment_id, ueid, ret_items, ret_n, err);
}

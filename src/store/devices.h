/* store/devices.h - devices claimed by a tenant. A device is a registered
 * UEID (store/registry.h) claimed once into one tenant and one of its
 * device groups; the claim can never be undone or moved to another tenant
 * (UNIQUE ueid, no delete operation). The attestation fields are written by
 * the attestation verifier; until a device attested they are empty/0. */
#pragma once
#include <stdbool.h>

#include "store/registry.h"
#include "store/store.h"

#define STORE_DEVICE_STATE_MAX 16
#define STORE_APP_VERSIONS_MAX 2048     /* JSON object text */

struct store_device {
        int64_t seq;
        char ueid[STORE_UEID_BUF];
        char tenant_id[STORE_ID_MAX];
        char group_id[STORE_ID_MAX];
        char product_id[STORE_ID_MAX];          /* the group's product (read only) */
        char state[STORE_DEVICE_STATE_MAX];     /* active | blocked */
        char block_reason[STORE_TEXT_MAX];
        bool debug;                             /* from the registration record */
        char manufacturer_id[STORE_ID_MAX];     /* from the registration record */
        int64_t claimed_ms;
        int64_t updated_ms;
        int64_t last_attest_ms;                 /* 0 = never attested */
        char os_version[STORE_NAME_MAX];
        char app_versions[STORE_APP_VERSIONS_MAX];
        int64_t cert_not_after_ms;              /* 0 = no certificate issued */
        char last_reason[64];                   /* last attestation reason code */
};

struct store_device_filter {
        const char *group_id;                   /* NULL = any */
        const char *product_id;                 /* NULL = any */
        const char *state;                      /* NULL = any */
};

struct store_device_ops {
        /* Claims a registered `ueid` into (tenant_id, group_id). -ENOENT when
         * the UEID is not registered or the group is not the tenant's;
         * -EEXIST when the device is claimed already (by any tenant: the
         * message never names the other tenant). */
        int (*claim)(struct store *st, const char *tenant_id, const char *ueid,
                     const char *group_id, int64_t now_ms, struct rp_err *err);
        int (*get)(struct store *st, const char *tenant_id, const char *ueid,
                   struct store_device *ret, struct rp_err *err);
        int (*list)(struct store *st, const char *tenant_id, const struct store_device_filter *f,
                    int64_t after, size_t limit, struct store_device **ret_items, size_t *ret_n,
                    int64_t *ret_next, struct rp_err *err);
        /* -ENOENT when the device or the group is not the tenant's. */
        int (*move)(struct store *st, const char *tenant_id, const char *ueid,
                    const char *group_id, int64_t now_ms, struct rp_err *err);
        /* state "active" | "blocked"; -EALREADY when the device is in it. */
        int (*set_state)(struct store *st, const char *tenant_id, const char *ueid,
                         const char *state, const char *reason, int64_t now_ms,
                         struct rp_err *err);
};

static inline RP_WUR int store_device_claim(struct store *st, const char *tenant_id,
                                            const char *ueid, const char *group_id,
                                            int64_t now_ms, struct rp_err *err)
{
        return STORE_CALL(st, device, claim, err, tenant_id, ueid, group_id, now_ms, err);
}
static inline RP_WUR int store_device_get(struct store *st, const char *tenant_id,
                                          const char *ueid, struct store_device *ret,
                                          struct rp_err *err)
{
        return STORE_CALL(st, device, get, err, tenant_id, ueid, ret, err);
}
static inline RP_WUR int store_device_list(struct store *st, const char *tenant_id,
                                           const struct store_device_filter *f, int64_t after,
                                           size_t limit, struct store_device **ret_items,
                                           size_t *ret_n, int64_t *ret_next, struct rp_err *err)
{
        return STORE_CALL(st, device, list, err, tenant_id, f, after, limit, ret_items, ret_n,
                          ret_next, err);
}
static inline RP_WUR int store_device_move(struct store *st, const char *tenant_id,
                                           const char *ueid, const char *group_id, int64_t now_ms,
                                           struct rp_err *err)
{
        return STORE_CALL(st, device, move, err, tenant_id, ueid, group_id, now_ms, err);
}
static inline RP_WUR int store_device_set_state(struct store *st, const char *tenant_id,
                                                const char *ueid, const char *state,
                                                const char *reason, int64_t now_ms,
                                                struct rp_err *err)
{
        return STORE_CALL(st, device, set_state, err, tenant_id, ueid, state, reason, now_ms, err);
}

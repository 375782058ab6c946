/* store/ca.h - tenant certificate authorities. The private key is stored
 * sealed (AES-256-GCM under the data directory's master key, see
 * server/keystore.h); the store never sees it in clear. A tenant has one
 * "current" CA and at most one "next" (overlapping rollover); replaced CAs
 * become "retired". */
#pragma once
#include "store/store.h"

#define STORE_CA_STATE_MAX 16

struct store_ca {
        int64_t seq;
        char id[STORE_ID_MAX];                  /* "ca_..." */
        char tenant_id[STORE_ID_MAX];
        int generation;                         /* 1, 2, ... per tenant */
        char state[STORE_CA_STATE_MAX];         /* "current" | "next" | "retired" */
        char cert_pem[STORE_PEM_MAX];
        uint8_t key_sealed[STORE_BLOB_MAX];
        size_t key_sealed_len;
        int64_t not_before_ms;
        int64_t not_after_ms;
        int64_t created_ms;
};

struct store_ca_ops {
        /* -EEXIST when (tenant_id, generation) exists. */
        int (*create)(struct store *st, const struct store_ca *ca, struct rp_err *err);
        int (*get)(struct store *st, const char *tenant_id, const char *id, struct store_ca *ret,
                   struct rp_err *err);
        /* The tenant's CA in `state`; -ENOENT when none. */
        int (*get_by_state)(struct store *st, const char *tenant_id, const char *state,
                            struct store_ca *ret, struct rp_err *err);
        /* All of a tenant's CAs, by generation. */
        int (*list)(struct store *st, const char *tenant_id, int64_t after, size_t limit,
                    struct store_ca **ret_items, size_t *ret_n, int64_t *ret_next,
                    struct rp_err *err);
        int (*set_state)(struct store *st, const char *tenant_id, const char *id,
                         const char *state, struct rp_err *err);
};

static inline RP_WUR int store_ca_create(struct store *st, const struct store_ca *ca,
                                         struct rp_err *err)
{
        return STORE_CALL(st, ca, create, err, ca, err);
}
static inline RP_WUR int store_ca_get(struct store *st, const char *tenant_id, const char *id,
                                      struct store_ca *ret, struct rp_err *err)
{
        return STORE_CALL(st, ca, get, err, tenant_id, id, ret, err);
}
static inline RP_WUR int store_ca_get_by_state(struct store *st, const char *tenant_id,
                                               const char *state, struct store_ca *ret,
                                               struct rp_err *err)
{
        return STORE_CALL(st, ca, get_by_state, err, tenant_id, state, ret, err);
}
static inline RP_WUR int store_ca_list(struct store *st, const char *tenant_id, int64_t after,
                                       size_t limit, struct store_ca **ret_items, size_t *ret_n,
                                       int64_t *ret_next, struct rp_err *err)
{
        return STORE_CALL(st, ca, list, err, tenant_id, after, limit, ret_items, ret_n,
                          ret_next, err);
}
static inline RP_WUR int store_ca_set_state(struct store *st, const char *tenant_id,
                                            const char *id, const char *state,
                                            struct rp_err *err)
{
        return STORE_CALL(st, ca, set_state, err, tenant_id, id, state, err);
}

/* store/audit.h - the audit log: one append-only record per state-changing
 * API call (who, what, when, result). Never updated or deleted. */
#pragma once
#include "store/store.h"

struct store_audit {
        int64_t seq;
        int64_t at_ms;
        char tenant_id[STORE_ID_MAX];   /* "" for platform-level actions */
        char actor[STORE_ID_MAX];       /* token id */
        char action[64];                /* route name, "token.create" */
        char method[8];
        char path[STORE_TEXT_MAX];
        char target[STORE_ID_MAX];      /* object acted on, "" if none */
        int status;                     /* HTTP status of the reply */
        char detail[STORE_TEXT_MAX];    /* error message or short note */
};

struct store_audit_ops {
        int (*append)(struct store *st, const struct store_audit *a, struct rp_err *err);
        /* tenant_id NULL = every record (platform view), else that tenant's. */
        int (*list)(struct store *st, const char *tenant_id, int64_t after, size_t limit,
                    struct store_audit **ret_items, size_t *ret_n, int64_t *ret_next,
                    struct rp_err *err);
};

static inline RP_WUR int store_audit_append(struct store *st, const struct store_audit *a,
                                            struct rp_err *err)
{
        return STORE_CALL(st, audit, append, err, a, err);
}
static inline RP_WUR int store_audit_list(struct store *st, const char *tenant_id, int64_t after,
                                          size_t limit, struct store_audit **ret_items,
                                          size_t *ret_n, int64_t *ret_next, struct rp_err *err)
{
        return STORE_CALL(st, audit, list, err, tenant_id, after, limit, ret_items, ret_n,
                          ret_next, err);
}

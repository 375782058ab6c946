/* store/registry.h - the manufacturer registry: trusted manufacturer root
 * CAs and the registration records of the devices they made (DeviceID
 * public key and certificate, device CA, debug state). Platform-level data:
 * no tenant_id. A record is written only after the service verified it
 * (server/registry.c); the store keeps it verbatim and never changes it. */
#pragma once
#include <stdbool.h>

#include "store/store.h"

#define STORE_UEID_BUF 41               /* 40 lowercase hex + NUL */
#define STORE_FPR_BUF 65                /* SHA-256 hex + NUL */
#define STORE_SPKI_MAX 128              /* P-256 SubjectPublicKeyInfo DER is 91 bytes */

struct store_manufacturer {
        int64_t seq;
        char id[STORE_ID_MAX];                  /* "mfr_..." */
        char name[STORE_NAME_MAX];              /* unique */
        char fingerprint[STORE_FPR_BUF];        /* SHA-256 of the root DER, unique */
        char subject[STORE_TEXT_MAX];           /* root subject CN */
        char cert_pem[STORE_PEM_MAX];
        int64_t not_after_ms;
        int64_t created_ms;
};

struct store_registry_record {
        int64_t seq;
        char ueid[STORE_UEID_BUF];
        char manufacturer_id[STORE_ID_MAX];     /* the root the device CA chains to */
        uint8_t deviceid_pub[STORE_SPKI_MAX];   /* SPKI DER */
        size_t deviceid_pub_len;
        char deviceid_cert[STORE_PEM_MAX];      /* PEM; "" in list results */
        char device_ca[STORE_PEM_MAX];          /* PEM; "" in list results */
        bool debug;
        int64_t provisioned_ms;
        int64_t imported_ms;
};

struct store_registry_ops {
        /* -EEXIST when the id, name or fingerprint exists. */
        int (*mfr_create)(struct store *st, const struct store_manufacturer *m, struct rp_err *err);
        int (*mfr_get)(struct store *st, const char *id, struct store_manufacturer *ret,
                       struct rp_err *err);
        int (*mfr_list)(struct store *st, int64_t after, size_t limit,
                        struct store_manufacturer **ret_items, size_t *ret_n, int64_t *ret_next,
                        struct rp_err *err);
        /* -EEXIST when the UEID is registered; -ENOENT when the manufacturer
         * is unknown. */
        int (*record_add)(struct store *st, const struct store_registry_record *rec,
                          struct rp_err *err);
        int (*record_get)(struct store *st, const char *ueid, struct store_registry_record *ret,
                          struct rp_err *err);
        /* Lists without the PEM fields (left ""). */
        int (*record_list)(struct store *st, int64_t after, size_t limit,
                           struct store_registry_record **ret_items, size_t *ret_n,
                           int64_t *ret_next, struct rp_err *err);
        int (*record_count)(struct store *st, int64_t *ret, struct rp_err *err);
};

static inline RP_WUR int store_mfr_create(struct store *st, const struct store_manufacturer *m,
                                          struct rp_err *err)
{
        return STORE_CALL(st, registry, mfr_create, err, m, err);
}
static inline RP_WUR int store_mfr_get(struct store *st, const char *id,
                                       struct store_manufacturer *ret, struct rp_err *err)
{
        return STORE_CALL(st, registry, mfr_get, err, id, ret, err);
}
static inline RP_WUR int store_mfr_list(struct store *st, int64_t after, size_t limit,
                                        struct store_manufacturer **ret_items, size_t *ret_n,
                                        int64_t *ret_next, struct rp_err *err)
{
        return STORE_CALL(st, registry, mfr_list, err, after, limit, ret_items, ret_n, ret_next,
                          err);
}
static inline RP_WUR int store_registry_add(struct store *st,
                                            const struct store_registry_record *rec,
                                            struct rp_err *err)
{
        return STORE_CALL(st, registry, record_add, err, rec, err);
}
static inline RP_WUR int store_registry_get(struct store *st, const char *ueid,
                                            struct store_registry_record *ret, struct rp_err *err)
{
        return STORE_CALL(st, registry, record_get, err, ueid, ret, err);
}
static inline RP_WUR int store_registry_list(struct store *st, int64_t after, size_t limit,
                                             struct store_registry_record **ret_items,
                                             size_t *ret_n, int64_t *ret_next, struct rp_err *err)
{
        return STORE_CALL(st, registry, record_list, err, after, limit, ret_items, ret_n,
                          ret_next, err);
}
static inline RP_WUR int store_registry_count(struct store *st, int64_t *ret, struct rp_err *err)
{
        return STORE_CALL(st, registry, record_count, err, ret, err);
}

/* store/attest.h - what the attestation verifier reads and writes besides
 * the registry and the devices: released OS images (reference values),
 * per-tenant attestation settings (SVN floor), each device's last presented
 * SVN and OS, and the device certificates issued. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "store/registry.h"
#include "store/store.h"

#define STORE_SERIAL_BUF 67             /* up to 33 bytes as hex + NUL */
#define STORE_PURPOSE_MAX 16            /* "platform" | "app" */
#define STORE_REASON_MAX 64

struct store_os_release {
        int64_t seq;
        char id[STORE_ID_MAX];                  /* "osr_..." */
        char name[STORE_NAME_MAX];
        char version[STORE_NAME_MAX];
        int64_t svn;
        char sha256[STORE_FPR_BUF];             /* lowercase hex image digest (fwid) */
        int64_t created_ms;
};

/* Where a UEID is claimed (tenant-independent lookup for the verifier). */
struct store_device_owner {
        char tenant_id[STORE_ID_MAX];
        char group_id[STORE_ID_MAX];
        char state[16];                         /* active | blocked */
        bool debug_allowed;                     /* of the device's group */
};

/* A device's attestation state. */
struct store_device_attest {
        char ueid[STORE_UEID_BUF];
        int64_t last_svn;                       /* -1: never attested */
        char os_name[STORE_NAME_MAX];
        char os_version[STORE_NAME_MAX];
        int64_t updated_ms;
};

struct store_device_cert {
        int64_t seq;
        char serial[STORE_SERIAL_BUF];          /* lowercase hex */
        char ueid[STORE_UEID_BUF];
        char tenant_id[STORE_ID_MAX];
        char purpose[STORE_PURPOSE_MAX];
        int64_t not_before_ms;
        int64_t not_after_ms;
        int64_t issued_ms;
};

struct store_attest_ops {
        /* -EEXIST when (name, version) exists. */
        int (*osr_create)(struct store *st, const struct store_os_release *o, struct rp_err *err);
        int (*osr_list)(struct store *st, int64_t after, size_t limit,
                        struct store_os_release **ret_items, size_t *ret_n, int64_t *ret_next,
                        struct rp_err *err);
        /* The release with exactly these values; -ENOENT when none. */
        int (*osr_match)(struct store *st, const char *name, const char *version, int64_t svn,
                         const char *sha256, struct store_os_release *ret, struct rp_err *err);
        /* SVN floor of a tenant; 0 when never set. */
        int (*floor_get)(struct store *st, const char *tenant_id, int64_t *ret,
                         struct rp_err *err);
        int (*floor_set)(struct store *st, const char *tenant_id, int64_t floor,
                         int64_t now_ms, struct rp_err *err);
        /* -ENOENT when the UEID is claimed by no tenant. */
        int (*owner_get)(struct store *st, const char *ueid, struct store_device_owner *ret,
                         struct rp_err *err);
        /* -ENOENT when the device never attested successfully. */
        int (*state_get)(struct store *st, const char *ueid, struct store_device_attest *ret,
                         struct rp_err *err);
        /* Writes last_attest_ms and last_reason of a claimed device (a refusal:
         * nothing else changes). */
        int (*result_set)(struct store *st, const char *tenant_id, const char *ueid,
                          const char *reason, int64_t now_ms, struct rp_err *err);
        /* A successful attestation: the device's SVN/OS state, the issued
         * certificate and the device record's attestation fields. Run inside
         * a transaction. */
        int (*success)(struct store *st, const struct store_device_attest *a,
                       const struct store_device_cert *c, struct rp_err *err);
        /* A certificate by serial, scoped to the tenant; -ENOENT otherwise. */
        int (*cert_get)(struct store *st, const char *tenant_id, const char *serial,
                        struct store_device_cert *ret, struct rp_err *err);
        /* The tenant's certificates of one device, newest last. */
        int (*cert_list)(struct store *st, const char *tenant_id, const char *ueid, int64_t after,
                         size_t limit, struct store_device_cert **ret_items, size_t *ret_n,
                         int64_t *ret_next, struct rp_err *err);
};

#define STORE_ATTEST_WRAP(fn, params, ...)                                                   \
        static inline RP_WUR int store_attest_##fn params                                   \
        {                                                                                   \
                return STORE_CALL(st, attest, fn, err, __VA_ARGS__);                        \
        }
STORE_ATTEST_WRAP(osr_create, (struct store *st, const struct store_os_release *o,
                               struct rp_err *err), o, err)
STORE_ATTEST_WRAP(osr_list, (struct store *st, int64_t after, size_t limit,
                             struct store_os_release **ret_items, size_t *ret_n,
                             int64_t *ret_next, struct rp_err *err),
                  after, limit, ret_items, ret_n, ret_next, err)
STORE_ATTEST_WRAP(osr_match, (struct store *st, const char *name, const char *version,
                              int64_t svn, const char *sha256, struct store_os_release *ret,
                              struct rp_err *err),
                  name, version, svn, sha256, ret, err)
STORE_ATTEST_WRAP(floor_get, (struct store *st, const char *tenant_id, int64_t *ret,
                              struct rp_err *err), tenant_id, ret, err)
STORE_ATTEST_WRAP(floor_set, (struct store *st, const char *tenant_id, int64_t floor,
                              int64_t now_ms, struct rp_err *err), tenant_id, floor, now_ms, err)
STORE_ATTEST_WRAP(owner_get, (struct store *st, const char *ueid,
                              struct store_device_owner *ret, struct rp_err *err), ueid, ret, err)
STORE_ATTEST_WRAP(state_get, (struct store *st, const char *ueid,
                              struct store_device_attest *ret, struct rp_err *err), ueid, ret, err)
STORE_ATTEST_WRAP(result_set, (struct store *st, const char *tenant_id, const char *ueid,
                               const char *reason, int64_t now_ms, struct rp_err *err),
                  tenant_id, ueid, reason, now_ms, err)
STORE_ATTEST_WRAP(success, (struct store *st, const struct store_device_attest *a,
                            const struct store_device_cert *c, struct rp_err *err), a, c, err)
STORE_ATTEST_WRAP(cert_get, (struct store *st, const char *tenant_id, const char *serial,
                             struct store_device_cert *ret, struct rp_err *err),
                  tenant_id, serial, ret, err)
STORE_ATTEST_WRAP(cert_list, (struct store *st, const char *tenant_id, const char *ueid,
                              int64_t after, size_t limit, struct store_device_cert **ret_items,
                              size_t *ret_n, int64_t *ret_next, struct rp_err *err),
                  tenant_id, ueid, after, limit, ret_items, ret_n, ret_next, err)
#undef STORE_ATTEST_WRAP

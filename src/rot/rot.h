/* rot.h - the hardware root of trust, behind an ops table.
 *
 * The boot stage and the manufacturing tool reach the device's fuses, its
 * unique device secret (UDS), its anti-rollback counters and its small
 * non-volatile state blobs only through `struct rot`. The emulated backend
 * (rot_emul.c) keeps them in root-only files of a device directory; a TPM 2.0
 * backend implements the same ops (UDS sealed to the TPM, counters as NV
 * counters) without any change to src/dice or src/boot.
 *
 * Trust: a backend trusts its storage to be private to the TCB (root-only
 * files for the emulation) and detects, but cannot prevent, corruption
 * (checksums). docs/threat-model.md says what the emulation cannot give. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "crypto/crypto.h"
#include "lib/err.h"
#include "lib/wipe.h"

#define ROT_UDS_LEN 32
#define ROT_MAX_PLATFORM_KEYS 4
#define ROT_MAX_COUNTERS 16
#define ROT_COUNTER_NAME_MAX 31         /* [a-z0-9._-], 1..31 bytes */
#define ROT_NV_NAME_MAX 31              /* [a-z0-9._-], 1..31 bytes */
#define ROT_NV_MAX (64 * 1024)          /* largest NV blob */

enum rot_lifecycle {
        ROT_LC_BLANK = 0,               /* nothing fused yet */
        ROT_LC_PROVISIONED = 1,         /* UDS + keys fused, still writable */
        ROT_LC_LOCKED = 2,              /* fuses final: no further programming */
};
const char *rot_lifecycle_name(enum rot_lifecycle lc);

/* The public part of the fuses (everything except the UDS). */
struct rot_fuses {
        enum rot_lifecycle lifecycle;
        bool debug;                     /* debug-enabled fuse */
        size_t n_platform_keys;         /* keys rampart-boot trusts for OS images */
        uint8_t platform_keys[ROT_MAX_PLATFORM_KEYS][CR_P256_PUB_LEN];
};

struct rot;
struct rot_ops {
        const char *name;
        int (*fuses_read)(struct rot *r, struct rot_fuses *ret, struct rp_err *err);
        /* The UDS can be read once per rot handle (a read-lock latch, like
         * the sticky lock bit that hides fuses after the ROM has read them).
         * ret_pub (may be NULL) gets the public fuses of the same read, so
         * the boot stage reads the fuses exactly once. */
        int (*uds_read)(struct rot *r, struct rp_secret32 *ret, struct rot_fuses *ret_pub,
                        struct rp_err *err);
        /* Manufacturing: blank/provisioned -> provisioned with this UDS and
         * these public fuses. Refused once locked. */
        int (*program)(struct rot *r, const struct rp_secret32 *uds, const struct rot_fuses *f,
                       struct rp_err *err);
        /* provisioned -> locked (irreversible). */
        int (*lock)(struct rot *r, struct rp_err *err);
        /* Counter floors: absent counters read 0; advance only upward. */
        int (*counter_read)(struct rot *r, const char *name, uint64_t *ret, struct rp_err *err);
        int (*counter_advance)(struct rot *r, const char *name, uint64_t value,
                               struct rp_err *err);
        /* Enumerates counters (for the public `info` view); returns count. */
        int (*counter_list)(struct rot *r, char names[][ROT_COUNTER_NAME_MAX + 1],
                            uint64_t *values, size_t max, struct rp_err *err);
        /* Small crash-safe blobs (slot state, boot event log). -ENOENT when
         * absent. *ret is malloc'd. */
        int (*nv_read)(struct rot *r, const char *name, uint8_t **ret, size_t *ret_len,
                       struct rp_err *err);
        int (*nv_write)(struct rot *r, const char *name, const void *data, size_t len,
                        struct rp_err *err);
        void (*close)(struct rot *r);
};

struct rot {
        const struct rot_ops *ops;
};

/* Opens the root of trust of the device `dir` with its backend (the only
 * entry points boot and the factory tool use). */
int rot_open(const char *dir, struct rot **ret, struct rp_err *err) RP_WUR;
/* The same for manufacturing: creates `dir` (0700) if needed. */
int rot_create(const char *dir, struct rot **ret, struct rp_err *err) RP_WUR;

/* Opens the emulated backend on device directory `dir` (which must exist). */
int rot_emul_open(const char *dir, struct rot **ret, struct rp_err *err) RP_WUR;
/* Creates `dir` (0700) if needed, for manufacturing. */
int rot_emul_create(const char *dir, struct rot **ret, struct rp_err *err) RP_WUR;

static inline void rot_close(struct rot *r)
{
        if (r)
                r->ops->close(r);
}
static inline void rot_closep(struct rot **r) { rot_close(*r); }

RP_WUR static inline int rot_fuses_read(struct rot *r, struct rot_fuses *ret, struct rp_err *err)
{
        return r->ops->fuses_read(r, ret, err);
}
RP_WUR static inline int rot_uds_read(struct rot *r, struct rp_secret32 *ret,
                                      struct rot_fuses *ret_pub, struct rp_err *err)
{
        return r->ops->uds_read(r, ret, ret_pub, err);
}
RP_WUR static inline int rot_counter_read(struct rot *r, const char *name, uint64_t *ret,
                                          struct rp_err *err)
{
        return r->ops->counter_read(r, name, ret, err);
}
RP_WUR static inline int rot_counter_advance(struct rot *r, const char *name, uint64_t value,
                                             struct rp_err *err)
{
        return r->ops->counter_advance(r, name, value, err);
}
RP_WUR static inline int rot_nv_read(struct rot *r, const char *name, uint8_t **ret,
                                     size_t *ret_len, struct rp_err *err)
{
        return r->ops->nv_read(r, name, ret, ret_len, err);
}
RP_WUR static inline int rot_nv_write(struct rot *r, const char *name, const void *data,
                                      size_t len, struct rp_err *err)
{
        return r->ops->nv_write(r, name, data, len, err);
}

/* true when `s` is 1..max bytes of [a-z0-9._-]. */
bool rot_name_valid(const char *s, size_t max);

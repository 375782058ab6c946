/* store/nonces.h - single-use attestation nonces. The store keeps only the
 * SHA-256 of a nonce, the tenant it was issued to and its expiry; a nonce is
 * consumed by one conditional UPDATE (used = 0 -> 1), so of two concurrent
 * enrolls with the same nonce exactly one can pass. */
#pragma once
#include <stdint.h>

#include "store/store.h"

#define STORE_NONCE_HASH_LEN 32

/* Outcome of a consume: why a nonce was not accepted. */
enum store_nonce_result {
        STORE_NONCE_OK = 0,
        STORE_NONCE_UNKNOWN,            /* never issued (or purged) */
        STORE_NONCE_WRONG_TENANT,       /* issued to another tenant */
        STORE_NONCE_EXPIRED,
        STORE_NONCE_USED,               /* consumed before */
};

struct store_nonce_ops {
        /* -EEXIST when the hash exists (a random collision: the caller retries). */
        int (*create)(struct store *st, const uint8_t hash[STORE_NONCE_HASH_LEN],
                      const char *tenant_id, int64_t created_ms, int64_t expires_ms,
                      struct rp_err *err);
        /* Consumes the nonce when it is the tenant's, unexpired at now_ms and
         * unused; *ret says which of these failed (then nothing changed). */
        int (*consume)(struct store *st, const uint8_t hash[STORE_NONCE_HASH_LEN],
                       const char *tenant_id, int64_t now_ms, enum store_nonce_result *ret,
                       struct rp_err *err);
        /* Deletes nonces that expired before `before_ms`; *ret_n (optional)
         * gets the count. */
        int (*purge)(struct store *st, int64_t before_ms, int64_t *ret_n, struct rp_err *err);
};

static inline RP_WUR int store_nonce_create(struct store *st,
                                            const uint8_t hash[STORE_NONCE_HASH_LEN],
                                            const char *tenant_id, int64_t created_ms,
                                            int64_t expires_ms, struct rp_err *err)
{
        return STORE_CALL(st, nonce, create, err, hash, tenant_id, created_ms, expires_ms, err);
}
static inline RP_WUR int store_nonce_consume(struct store *st,
                                             const uint8_t hash[STORE_NONCE_HASH_LEN],
                                             const char *tenant_id, int64_t now_ms,
                                             enum store_nonce_result *ret, struct rp_err *err)
{
        return STORE_CALL(st, nonce, consume, err, hash, tenant_id, now_ms, ret, err);
}
static inline RP_WUR int store_nonce_purge(struct store *st, int64_t before_ms, int64_t *ret_n,
                                           struct rp_err *err)
{
        return STORE_CALL(st, nonce, purge, err, before_ms, ret_n, err);
}

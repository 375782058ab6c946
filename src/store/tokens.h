/* store/tokens.h - API tokens. Only the SHA-256 of a token is stored; the
 * token itself is shown once at creation. Platform operator tokens have an
 * empty tenant_id and role SRV_ROLE_PLATFORM (the numeric roles of
 * server/http.h enum srv_role). */
#pragma once
#include "store/store.h"

#define STORE_TOKEN_HASH_LEN 32

struct store_token {
        int64_t seq;
        char id[STORE_ID_MAX];          /* "tok_..." (public handle) */
        char tenant_id[STORE_ID_MAX];   /* "" for platform tokens */
        char name[STORE_NAME_MAX];      /* label, may be "" */
        int role;                       /* enum srv_role */
        uint8_t hash[STORE_TOKEN_HASH_LEN];
        int64_t created_ms;
        int64_t expires_ms;             /* 0 = never */
        int64_t revoked_ms;             /* 0 = active */
        char created_by[STORE_ID_MAX];  /* token id of the creator, "" for bootstrap */
};

struct store_token_ops {
        int (*create)(struct store *st, const struct store_token *t, struct rp_err *err);
        /* By hash, any tenant (authentication). Returns revoked/expired
         * tokens too: the caller decides. -ENOENT when unknown. */
        int (*find_by_hash)(struct store *st, const uint8_t hash[STORE_TOKEN_HASH_LEN],
                            struct store_token *ret, struct rp_err *err);
        /* Scoped: tenant_id NULL = platform view (any tenant), "" = platform
         * tokens only, else that tenant only. */
        int (*get)(struct store *st, const char *tenant_id, const char *id,
                   struct store_token *ret, struct rp_err *err);
        int (*list)(struct store *st, const char *tenant_id, int64_t after, size_t limit,
                    struct store_token **ret_items, size_t *ret_n, int64_t *ret_next,
                    struct rp_err *err);
        /* Sets revoked_ms when active; -ENOENT when not in scope, -EALREADY
         * when already revoked. */
        int (*revoke)(struct store *st, const char *tenant_id, const char *id, int64_t now_ms,
                      struct rp_err *err);
};

static inline RP_WUR int store_token_create(struct store *st, const struct store_token *t,
                                            struct rp_err *err)
{
        return STORE_CALL(st, token, create, err, t, err);
}
static inline RP_WUR int store_token_find_by_hash(struct store *st,
                                                  const uint8_t hash[STORE_TOKEN_HASH_LEN],
                                                  struct store_token *ret, struct rp_err *err)
{
        return STORE_CALL(st, token, find_by_hash, err, hash, ret, err);
}
static inline RP_WUR int store_token_get(struct store *st, const char *tenant_id, const char *id,
                                         struct store_token *ret, struct rp_err *err)
{
        return STORE_CALL(st, token, get, err, tenant_id, id, ret, err);
}
static inline RP_WUR int store_token_list(struct store *st, const char *tenant_id, int64_t after,
                                          size_t limit, struct store_token **ret_items,
                                          size_t *ret_n, int64_t *ret_next, struct rp_err *err)
{
        return STORE_CALL(st, token, list, err, tenant_id, after, limit, ret_items, ret_n,
                          ret_next, err);
}
static inline RP_WUR int store_token_revoke(struct store *st, const char *tenant_id,
                                            const char *id, int64_t now_ms, struct rp_err *err)
{
        return STORE_CALL(st, token, revoke, err, tenant_id, id, now_ms, err);
}

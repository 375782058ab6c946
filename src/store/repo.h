/* store/repo.h - the update repository's metadata files and the binding of
 * delegated targets roles to tenants (docs/updates.md section 6).
 *
 * Metadata files are stored as the exact envelope bytes the server verified
 * (or signed); (role, version) is unique, so a version is never replaced.
 * A role is "root", "targets", "snapshot", "timestamp" or a delegated role
 * name (the tenant's, see the bindings). */
#pragma once
#include "store/store.h"

#define STORE_REPO_ROLE_MAX 33          /* role names: at most 32 bytes */

struct store_repo_meta {
        char role[STORE_REPO_ROLE_MAX];
        int64_t version;
        char tenant_id[STORE_ID_MAX];   /* delegated roles: the tenant; else "" */
        uint8_t *body;                  /* malloc'd; store_repo_meta_clear frees it */
        size_t len;
        int64_t expires_ms;
        int64_t created_ms;
};

static inline void store_repo_meta_clear(struct store_repo_meta *m)
{
        free(m->body);
        m->body = NULL;
}

struct store_repo_ops {
        /* -EEXIST when (role, version) is stored already. */
        int (*meta_put)(struct store *st, const struct store_repo_meta *m, struct rp_err *err);
        /* version 0: the highest stored version. -ENOENT when none. */
        int (*meta_get)(struct store *st, const char *role, int64_t version,
                        struct store_repo_meta *ret, struct rp_err *err);
        /* Binds a delegated role name to a tenant, once: -EEXIST when the role
         * or the tenant is bound already; -ENOENT when the tenant does not
         * exist. */
        int (*bind)(struct store *st, const char *role, const char *tenant_id, int64_t now_ms,
                    struct rp_err *err);
        /* The role bound to a tenant, or the tenant bound to a role; -ENOENT. */
        int (*role_of)(struct store *st, const char *tenant_id, char ret[STORE_REPO_ROLE_MAX],
                       struct rp_err *err);
        int (*tenant_of)(struct store *st, const char *role, char ret[STORE_ID_MAX],
                         struct rp_err *err);
};

static inline RP_WUR int store_repo_meta_put(struct store *st, const struct store_repo_meta *m,
                                             struct rp_err *err)
{
        return STORE_CALL(st, repo, meta_put, err, m, err);
}
static inline RP_WUR int store_repo_meta_get(struct store *st, const char *role, int64_t version,
                                             struct store_repo_meta *ret, struct rp_err *err)
{
        return STORE_CALL(st, repo, meta_get, err, role, version, ret, err);
}
static inline RP_WUR int store_repo_bind(struct store *st, const char *role, const char *tenant_id,
                                         int64_t now_ms, struct rp_err *err)
{
        return STORE_CALL(st, repo, bind, err, role, tenant_id, now_ms, err);
}
static inline RP_WUR int store_repo_role_of(struct store *st, const char *tenant_id,
                                            char ret[STORE_REPO_ROLE_MAX], struct rp_err *err)
{
        return STORE_CALL(st, repo, role_of, err, tenant_id, ret, err);
}
static inline RP_WUR int store_repo_tenant_of(struct store *st, const char *role,
                                              char ret[STORE_ID_MAX], struct rp_err *err)
{
        return STORE_CALL(st, repo, tenant_of, err, role, ret, err);
}

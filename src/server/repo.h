/* repo.h - the server's update repository (docs/updates.md section 6): the
 * online keys it holds (timestamp, snapshot, director), the offline-signed
 * root and targets it accepts only after verifying them, and the snapshot
 * and timestamp it signs itself.
 *
 * Trust: an uploaded root is trusted only when it chains from the stored
 * root (a threshold of the old root keys and of its own, version exactly
 * N+1; the first root: a threshold of its own keys, version 1); targets only
 * when a threshold of the current root's targets keys signed them; a
 * tenant's delegated targets only when a threshold of the keys its
 * delegation names signed them. Versions never go backwards. Stored files
 * are the exact bytes that were verified. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "lib/err.h"
#include "tuf/meta.h"

struct srv;
struct srv_req;
struct store;
struct cr_key;

#define SRV_REPO_SNAPSHOT_LIFETIME_S (7 * 86400)
#define SRV_REPO_TIMESTAMP_LIFETIME_S 86400
#define SRV_REPO_DIRECTOR_LIFETIME_S (12 * 3600)
#define SRV_REPO_MAX_ROOT_WALK 32       /* roots a check-in reply carries at most */

/* One of the server's online keys (TUF_ROLE_SNAPSHOT, _TIMESTAMP,
 * _DIRECTOR), created on first use: generated, sealed with the master key
 * and written to <data>/repo-keys/<role>.sealed (0600). The key is
 * unsealed once and kept for the process's life: *ret is borrowed. */
int srv_repo_online_key(struct srv *s, int role, const struct cr_key **ret,
                        struct rp_err *err) RP_WUR;

/* The newest stored root, verified form. -ENOENT when none was uploaded. */
int srv_repo_root(struct store *st, struct tuf_root *ret, struct rp_err *err) RP_WUR;
/* The newest stored targets (role NULL: platform; else a delegated role).
 * -ENOENT when none. */
int srv_repo_targets(struct store *st, const char *role, struct tuf_targets *ret,
                     struct rp_err *err) RP_WUR;

/* Checks an uploaded targets envelope for `role` (NULL: the platform
 * targets) against the stored root and platform targets: a threshold of the
 * role's keys, strict parse, not expired, delegated names inside the
 * delegation's paths, and a version not below the stored one (equal only
 * with identical bytes). On success *ret holds the parsed document, the
 * keys whose signatures verified and whether it is new. */
struct srv_repo_targets_check {
        struct tuf_targets t;
        size_t n_signers;
        struct cr_key *signers[16];
        bool is_new;
        int64_t expires_ms;
};
int srv_repo_check_targets(struct store *st, const char *role, const void *env, size_t len,
                           time_t now, struct srv_repo_targets_check *ret,
                           struct rp_err *err) RP_WUR;
void srv_repo_targets_check_clear(struct srv_repo_targets_check *c);
/* Stores a checked, new targets envelope (tenant_id "" for the platform). */
int srv_repo_store_targets(struct store *st, const char *role, const char *tenant_id,
                           const void *env, size_t len, const struct srv_repo_targets_check *c,
                           int64_t now_ms, struct rp_err *err) RP_WUR;

/* Signs a fresh snapshot when the targets versions changed or the stored one
 * is past half its lifetime, and a fresh timestamp when the snapshot changed
 * or the stored one expires within half its lifetime. -ENOENT when there is
 * no root or targets yet. */
int srv_repo_publish(struct srv *s, int64_t now_ms, struct rp_err *err) RP_WUR;

/* Wraps `payload` in an envelope signed by the online key of `role`. */
int srv_repo_sign(struct srv *s, int role, const char *payload, size_t len, char **ret,
                  size_t *ret_len, struct rp_err *err) RP_WUR;

/* A metadata file by name: root.json (newest), <N>.root.json,
 * timestamp.json, snapshot.json, targets.json or <role>.json of a delegated
 * role; `own_role` non-NULL limits delegated files to that role. -ENOENT
 * otherwise. ret->body is the stored bytes (store_repo_meta_clear). */
struct store_repo_meta;
int srv_repo_file(struct store *st, const char *file, const char *own_role,
                  struct store_repo_meta *ret, struct rp_err *err) RP_WUR;

/* Replies with a refusal from a repository check: rollbacks (-ESTALE) as
 * 409 "rollback", signatures (-EPERM) as 403, expiry as 400, the rest as
 * srv_reply_err. */
void srv_repo_reply_refusal(struct srv_req *r, const struct rp_err *err);

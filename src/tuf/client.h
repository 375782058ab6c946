/* client.h - the device side of update metadata: trusted state, the update
 * of every role in TUF order, and the final decision of what to install.
 *
 * A client starts from a trusted root (shipped in the OS image, or the
 * state it saved last time) and takes the new bytes of each role:
 *
 *   1. root       N+1, N+2, ... one version at a time; each signed by a
 *                 threshold of the previous root's root keys and of its own
 *   2. timestamp  signed by the timestamp keys; never older than the last one
 *   3. snapshot   exactly the length, SHA-256 and version the timestamp names
 *   4. targets    exactly the version the snapshot names
 *   5. delegated  each tenant's targets, exactly the version the snapshot
 *                 names, listing only names its delegation's paths allow
 *   6. director   this device's assignment, for its UEID, expiring within
 *                 TUF_DIRECTOR_MAX_LIFETIME
 *
 * and tuf_resolve() then returns the images to install only where the
 * director and the offline-signed targets agree on every field.
 *
 * Every step verifies signatures over the exact bytes before parsing them,
 * checks the length cap, that versions never go backwards and expiry
 * against the caller's `now` (the client never reads a clock). A step that
 * fails leaves the client exactly as it was, with a message naming the role,
 * the value and the rule. A step that succeeds updates the client; the
 * caller persists tuf_client_save() output when it chooses.
 *
 * Pure: buffers in, verdicts out; no I/O, no logging. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include "lib/err.h"
#include "tuf/meta.h"

/* Cap on the serialized client state. */
#define TUF_MAX_STATE (256 * 1024)

struct tuf_client;

/* A client trusting `root` (an envelope) as given: it must carry a threshold
 * of signatures by its own root keys; expiry is not checked here (an expired
 * shipped root is still the start of the walk to a current one). */
int tuf_client_new_from_root(const void *root, size_t len, const char *ueid,
                             struct tuf_client **ret, struct rp_err *err) RP_WUR;
/* A client from saved state (tuf_client_save). */
int tuf_client_load(const void *state, size_t len, const char *ueid, struct tuf_client **ret,
                    struct rp_err *err) RP_WUR;
void tuf_client_free(struct tuf_client *c);
/* Serialized state: trusted root bytes and the last seen version of every
 * role (*ret malloc'd, NUL-terminated JSON). */
int tuf_client_save(const struct tuf_client *c, char **ret, size_t *ret_len,
                    struct rp_err *err) RP_WUR;

/* The steps, in order. */
int tuf_client_update_root(struct tuf_client *c, const void *buf, size_t len,
                           struct rp_err *err) RP_WUR;
int tuf_client_update_timestamp(struct tuf_client *c, const void *buf, size_t len, time_t now,
                                struct rp_err *err) RP_WUR;
int tuf_client_update_snapshot(struct tuf_client *c, const void *buf, size_t len, time_t now,
                               struct rp_err *err) RP_WUR;
int tuf_client_update_targets(struct tuf_client *c, const void *buf, size_t len, time_t now,
                              struct rp_err *err) RP_WUR;
int tuf_client_update_delegated(struct tuf_client *c, const char *role, const void *buf,
                                size_t len, time_t now, struct rp_err *err) RP_WUR;
int tuf_client_update_director(struct tuf_client *c, const void *buf, size_t len, time_t now,
                               struct rp_err *err) RP_WUR;

/* What to install: every image of the director's assignment, each equal in
 * name, component id, type, version, svn, length and SHA-256 to the entry
 * the responsible targets role signed (the platform targets for OS images,
 * the tenant delegation covering the name for app images). */
struct tuf_plan {
        size_t n;
        struct tuf_image images[TUF_MAX_IMAGES];
};
int tuf_resolve(const struct tuf_client *c, struct tuf_plan *ret, struct rp_err *err) RP_WUR;

/* All of the above in one call: roots (oldest first), timestamp, snapshot,
 * targets, the delegated roles, director, then tuf_resolve. Stops at the
 * first refusal; the steps before it stay applied. */
struct tuf_blob {
        const void *data;
        size_t len;
};
struct tuf_delegated_blob {
        const char *role;
        struct tuf_blob blob;
};
struct tuf_bundle {
        size_t n_roots;
        const struct tuf_blob *roots;
        struct tuf_blob timestamp, snapshot, targets;
        size_t n_delegated;
        const struct tuf_delegated_blob *delegated;
        struct tuf_blob director;
};
int tuf_client_refresh(struct tuf_client *c, const struct tuf_bundle *b, time_t now,
                       struct tuf_plan *ret, struct rp_err *err) RP_WUR;

/* Read-only views for the agent and the tooling. */
const struct tuf_root *tuf_client_root(const struct tuf_client *c);
struct tuf_versions {
        uint64_t root, timestamp, snapshot, targets, director;
};
void tuf_client_versions(const struct tuf_client *c, struct tuf_versions *ret);
/* The delegated role responsible for an app target name, from the verified
 * targets of this session; NULL if none (or targets not yet verified). */
const char *tuf_client_role_for(const struct tuf_client *c, const char *target_name);

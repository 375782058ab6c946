/* meta.h - the metadata documents of Rampart's update repository: what each
 * role signs, parsed strictly into fixed-size structs, and the encoders the
 * offline tooling (and the server) use to produce them.
 *
 * Roles (docs/updates.md has every field):
 *   root       offline, threshold-signed: the keys and thresholds of every
 *              top-level role (root, targets, snapshot, timestamp, director)
 *   targets    offline: platform (OS) images, and one delegation per tenant
 *              whose keys sign that tenant's app images under its path
 *              patterns; delegated targets use the same document type
 *   snapshot   online: the version of targets and of each delegated targets
 *   timestamp  online: version, length and SHA-256 of the snapshot
 *   director   online: one device's assignment (UEID, images to install)
 *
 * The parsers take payload bytes (the envelope's exact bytes) and trust
 * nothing: every field is type-checked, bounded and unknown fields are
 * refused. They do not check signatures, versions or expiry; client.h does.
 * Pure: no I/O, no logging. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include "lib/err.h"
#include "tuf/envelope.h"

#define TUF_SPEC_VERSION "1.0"

/* Length caps on every metadata file (the whole envelope as downloaded). */
#define TUF_MAX_ROOT (128 * 1024)
#define TUF_MAX_TIMESTAMP (16 * 1024)
#define TUF_MAX_SNAPSHOT (256 * 1024)
#define TUF_MAX_TARGETS (1024 * 1024)
#define TUF_MAX_DIRECTOR (64 * 1024)

/* Caps on what one document may list. */
#define TUF_MAX_TARGET_COUNT 1024
#define TUF_MAX_DELEGATIONS 64
#define TUF_MAX_PATHS 8
#define TUF_MAX_IMAGES 32
#define TUF_MAX_NAME 192          /* target name, path pattern */
#define TUF_MAX_ROLE_NAME 32      /* delegated role (tenant) name */
#define TUF_MAX_COMPONENT 64
#define TUF_MAX_VERSION 64
#define TUF_MAX_UEID 64
#define TUF_MAX_IMAGE_LENGTH (UINT64_C(16) << 30)  /* largest image a target may describe */
#define TUF_MAX_META_VERSION (UINT64_C(1) << 53)   /* exact in every JSON implementation */

/* A director assignment may not be valid for longer than this from the
 * moment it is checked. */
#define TUF_DIRECTOR_MAX_LIFETIME (24 * 3600)

enum tuf_role {
        TUF_ROLE_ROOT,
        TUF_ROLE_TARGETS,
        TUF_ROLE_SNAPSHOT,
        TUF_ROLE_TIMESTAMP,
        TUF_ROLE_DIRECTOR,
        TUF_ROLE_COUNT,
};
const char *tuf_role_name(enum tuf_role r);
/* -EINVAL for names that are not a top-level role. */
int tuf_role_from_name(const char *name);

enum tuf_image_type { TUF_IMAGE_OS, TUF_IMAGE_APP };
const char *tuf_image_type_name(enum tuf_image_type t);

/* One image, as a targets entry or as a director assignment lists it. Its
 * name is "<owner>/<component_id>/<version>", owner being "platform" or the
 * tenant (delegated role) name. */
struct tuf_image {
        char name[TUF_MAX_NAME + 1];
        char component_id[TUF_MAX_COMPONENT + 1];
        enum tuf_image_type type;
        char version[TUF_MAX_VERSION + 1];
        uint64_t svn;
        uint64_t length;
        uint8_t sha256[32];
};

struct tuf_root {
        uint64_t version;
        time_t expires;
        struct tuf_keyring keys;
        struct tuf_role_keys roles[TUF_ROLE_COUNT];
};

struct tuf_delegation {
        char name[TUF_MAX_ROLE_NAME + 1];
        struct tuf_role_keys keys;
        size_t n_paths;
        char paths[TUF_MAX_PATHS][TUF_MAX_NAME + 1];
};

/* Top-level or delegated targets. Arrays are malloc'd: tuf_targets_free. */
struct tuf_targets {
        uint64_t version;
        time_t expires;
        size_t n_targets;
        struct tuf_image *targets;
        struct tuf_keyring dkeys;
        size_t n_delegations;
        struct tuf_delegation *delegations;
};

struct tuf_meta_entry {
        char role[TUF_MAX_ROLE_NAME + 1];   /* "targets" or a delegated role */
        uint64_t version;
};

struct tuf_snapshot {
        uint64_t version;
        time_t expires;
        size_t n_meta;
        struct tuf_meta_entry meta[TUF_MAX_DELEGATIONS + 1];
};

struct tuf_timestamp {
        uint64_t version;
        time_t expires;
        uint64_t snapshot_version;
        uint64_t snapshot_length;
        uint8_t snapshot_sha256[32];
};

struct tuf_director {
        uint64_t version;
        time_t expires;
        char ueid[TUF_MAX_UEID + 1];
        size_t n_images;
        struct tuf_image images[TUF_MAX_IMAGES];
};

/* Parsers: payload bytes in, struct out (written only on success). */
int tuf_root_parse(const uint8_t *p, size_t len, struct tuf_root *ret, struct rp_err *err) RP_WUR;
/* `delegated` names the delegated role being parsed (NULL for top-level
 * targets); delegated targets may not delegate further. */
int tuf_targets_parse(const uint8_t *p, size_t len, const char *delegated, struct tuf_targets *ret,
                      struct rp_err *err) RP_WUR;
void tuf_targets_free(struct tuf_targets *t);
int tuf_snapshot_parse(const uint8_t *p, size_t len, struct tuf_snapshot *ret,
                       struct rp_err *err) RP_WUR;
int tuf_timestamp_parse(const uint8_t *p, size_t len, struct tuf_timestamp *ret,
                        struct rp_err *err) RP_WUR;
int tuf_director_parse(const uint8_t *p, size_t len, struct tuf_director *ret,
                       struct rp_err *err) RP_WUR;

/* Encoders: struct in, payload bytes out (sorted keys, compact; *ret
 * malloc'd and NUL-terminated). They refuse structs the parsers would. */
int tuf_root_encode(const struct tuf_root *m, char **ret, size_t *ret_len, struct rp_err *err) RP_WUR;
int tuf_targets_encode(const struct tuf_targets *m, char **ret, size_t *ret_len,
                       struct rp_err *err) RP_WUR;
int tuf_snapshot_encode(const struct tuf_snapshot *m, char **ret, size_t *ret_len,
                        struct rp_err *err) RP_WUR;
int tuf_timestamp_encode(const struct tuf_timestamp *m, char **ret, size_t *ret_len,
                         struct rp_err *err) RP_WUR;
int tuf_director_encode(const struct tuf_director *m, char **ret, size_t *ret_len,
                        struct rp_err *err) RP_WUR;

/* Name rules, shared with the tooling so it refuses what clients would. */
bool tuf_valid_target_name(const char *s);
bool tuf_valid_role_name(const char *s);       /* delegated role: [a-z0-9][a-z0-9-]* */
bool tuf_valid_path_pattern(const char *s);
bool tuf_valid_component_id(const char *s);
bool tuf_valid_version(const char *s);
/* True when img->name is "<owner>/<component_id>/<version>" of its own
 * fields (the parsers require it). */
bool tuf_image_name_ok(const struct tuf_image *img);
/* Shell-style match: '*' and '?' never match '/'. */
bool tuf_path_match(const char *pattern, const char *name);

/* Finds a target by name, a delegation by role name, a snapshot entry. */
const struct tuf_image *tuf_targets_find(const struct tuf_targets *t, const char *name);
const struct tuf_delegation *tuf_targets_delegation(const struct tuf_targets *t, const char *role);
/* The first delegation whose paths match `name`, or NULL. */
const struct tuf_delegation *tuf_targets_delegation_for(const struct tuf_targets *t,
                                                        const char *name);
const struct tuf_meta_entry *tuf_snapshot_find(const struct tuf_snapshot *s, const char *role);

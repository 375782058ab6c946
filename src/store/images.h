/* store/images.h - image packages the repository serves: one row per
 * verified upload, the blob itself lives content-addressed in the data
 * directory (<data>/blobs/<sha256>). Tenant app images carry their tenant;
 * platform OS images have tenant_id "" and are visible to every tenant. */
#pragma once
#include <stdbool.h>

#include "store/store.h"

#define STORE_SHA256_HEX 65

struct store_image {
        int64_t seq;
        char id[STORE_ID_MAX];                  /* "img_..." */
        char tenant_id[STORE_ID_MAX];           /* "" for platform OS images */
        char name[STORE_NAME_MAX + 64];         /* target name owner/component/version */
        char component_id[STORE_ID_MAX];
        char type[8];                           /* os | app */
        char pkg_name[STORE_NAME_MAX];          /* the package's own name */
        char version[STORE_NAME_MAX];
        int64_t svn;
        int64_t length;
        char sha256[STORE_SHA256_HEX];          /* of the whole package file */
        char fwid[STORE_SHA256_HEX];            /* SHA-256(header || metadata): the measurement */
        char feed[16];                          /* OS images: retail | retail-eval */
        int64_t created_ms;
};

struct store_image_ops {
        /* -EEXIST when the id, the target name or the sha256 exists. */
        int (*create)(struct store *st, const struct store_image *im, struct rp_err *err);
        /* tenant_id: that tenant's images and the platform's; "" (platform
         * operator): the platform's only. -ENOENT otherwise. */
        int (*get)(struct store *st, const char *tenant_id, const char *id,
                   struct store_image *ret, struct rp_err *err);
        int (*get_by_sha256)(struct store *st, const char *sha256, struct store_image *ret,
                             struct rp_err *err);
        int (*list)(struct store *st, const char *tenant_id, int64_t after, size_t limit,
                    struct store_image **ret_items, size_t *ret_n, int64_t *ret_next,
                    struct rp_err *err);
        /* A platform OS image with this package name, version, svn and
         * measurement (fwid hex); -ENOENT when none. */
        int (*os_match)(struct store *st, const char *pkg_name, const char *version, int64_t svn,
                        const char *fwid, struct store_image *ret, struct rp_err *err);
        /* Who published images of this component first (tenant id, "" for
         * the platform); -ENOENT when no image of it exists. */
        int (*component_owner)(struct store *st, const char *component_id,
                               char ret[STORE_ID_MAX], struct rp_err *err);
};

static inline RP_WUR int store_image_create(struct store *st, const struct store_image *im,
                                            struct rp_err *err)
{
        return STORE_CALL(st, image, create, err, im, err);
}
static inline RP_WUR int store_image_get(struct store *st, const char *tenant_id, const char *id,
                                         struct store_image *ret, struct rp_err *err)
{
        return STORE_CALL(st, image, get, err, tenant_id, id, ret, err);
}
static inline RP_WUR int store_image_get_by_sha256(struct store *st, const char *sha256,
                                                   struct store_image *ret, struct rp_err *err)
{
        return STORE_CALL(st, image, get_by_sha256, err, sha256, ret, err);
}
static inline RP_WUR int store_image_list(struct store *st, const char *tenant_id, int64_t after,
                                          size_t limit, struct store_image **ret_items,
                                          size_t *ret_n, int64_t *ret_next, struct rp_err *err)
{
        return STORE_CALL(st, image, list, err, tenant_id, after, limit, ret_items, ret_n,
                          ret_next, err);
}
static inline RP_WUR int store_image_os_match(struct store *st, const char *pkg_name,
                                              const char *version, int64_t svn, const char *fwid,
                                              struct store_image *ret, struct rp_err *err)
{
        return STORE_CALL(st, image, os_match, err, pkg_name, version, svn, fwid, ret, err);
}
static inline RP_WUR int store_image_component_owner(struct store *st, const char *component_id,
                                                     char ret[STORE_ID_MAX], struct rp_err *err)
{
        return STORE_CALL(st, image, component_owner, err, component_id, ret, err);
}

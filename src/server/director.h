/* director.h - device-facing update routes: device authentication by the
 * TLS client certificate, the assignment a device's group's current
 * deployment gives it (after the group's update policy), and the check-in
 * that returns the signed director metadata with the repository metadata
 * the device needs (docs/updates.md section 6).
 *
 * Trust: the device's identity comes from its certificate only (subject CN
 * = UEID, a serial the tenant's CA issued to that UEID, valid now, signed by
 * one of the tenant's CAs); nothing in a request body names a device. */
#pragma once
#include <stdbool.h>

#include "store/deploy.h"
#include "store/devices.h"
#include "store/groups.h"
#include "store/images.h"

struct srv_req;
struct store;

/* Authenticates the calling device. On failure the reply (401/403) has been
 * sent and a negative value is returned; the handler just returns. */
int srv_device_authenticate(struct srv_req *r, struct store_device *ret_dev) RP_WUR;

/* Whether a group's update policy lets a device of it get an image of
 * `type` ("os" or "app"): no-updates nothing, no-app-updates OS only, and
 * the Development group (development mode) no app images. */
bool srv_policy_allows(const struct store_group *g, const char *type);

/* What the director assigns to a device now. */
struct srv_assignment {
        bool has_deployment;
        struct store_deployment dep;
        struct store_group group;
        size_t n;
        struct store_image images[STORE_DEPLOY_MAX_IMAGES];
};
int srv_director_assignment(struct store *st, const struct store_device *dev,
                            struct srv_assignment *ret, struct rp_err *err) RP_WUR;

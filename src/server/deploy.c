/* deploy.c - deployments: the images a device group should run. The
 * group's current deployment is its latest; the director assigns it to the
 * group's devices after the group's update policy (director.c). Showing a
 * deployment lists the group's devices with the status each reported. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "server/director.h"
#include "server/http.h"
#include "server/routes.h"
#include "store/deploy.h"
#include "store/devices.h"
#include "store/groups.h"
#include "store/images.h"

static json_t *deployment_json(const struct store_deployment *d)
{
        json_t *ids = json_array();
        for (size_t i = 0; i < d->n_images; i++)
                json_array_append_new(ids, json_string(d->image_ids[i]));
        return json_pack("{s:s,s:s,s:o,s:o}", "id", d->id, "group", d->group_id, "images", ids,
                         "created_at", srv_json_time(d->created_ms));
}

static const struct srv_field create_fields[] = {
        {"group", SRV_F_STRING, SRV_F_REQUIRED, 64},
        {"images", SRV_F_ARRAY, SRV_F_REQUIRED, 0},
};

static void deployment_create(struct srv_req *r)
{
        struct store *st = srv_req_store(r);
        const char *tenant = srv_req_tenant(r);
        struct rp_err err = {0};
        struct store_group g;
        struct store_deployment *d = NULL;
        struct store_image *ims = NULL;
        _cleanup_(json_decrefp) json_t *b = NULL;
        size_t i, n_os = 0;
        json_t *v;

        if (srv_req_json(r, SRV_FIELDS(create_fields), &b) < 0)
                return;
        const char *gid = json_string_value(json_object_get(b, "group"));
        json_t *imgs = json_object_get(b, "images");
        if (!srv_id_valid("grp", gid) || store_group_get(st, tenant, gid, &g, &err) < 0)
                return srv_reply_error(r, 404, "not_found", "no device group '%.60s'", gid);
        if (json_array_size(imgs) < 1 || json_array_size(imgs) > STORE_DEPLOY_MAX_IMAGES)
                return srv_reply_error(r, 400, "bad_request", "images must list 1 to %d image "
                                       "ids", STORE_DEPLOY_MAX_IMAGES);
        d = calloc(1, sizeof(*d));
        ims = calloc(STORE_DEPLOY_MAX_IMAGES, sizeof(*ims));
        if (!d || !ims) {
                srv_reply_error(r, 503, "unavailable", "out of memory");
                goto out;
        }
        json_array_foreach(imgs, i, v) {
                const char *id = json_string_value(v);
                if (!json_is_string(v) || !srv_id_valid("img", id)) {
                        srv_reply_error(r, 400, "bad_request", "images[%zu] is not an image id",
                                        i);
                        goto out;
                }
                if (store_image_get(st, tenant, id, &ims[i], &err) < 0) {
                        srv_reply_error(r, 404, "not_found", "no image '%s'", id);
                        goto out;
                }
                for (size_t j = 0; j < i; j++)
                        if (!strcmp(ims[j].component_id, ims[i].component_id)) {
                                srv_reply_error(r, 400, "bad_request", "images '%s' and '%s' "
                                                "are both of component '%s': a deployment "
                                                "names one version per component", ims[j].id,
                                                id, ims[i].component_id);
                                goto out;
                        }
                if (!strcmp(ims[i].type, "os")) {
                        n_os++;
                        if (!strcmp(ims[i].feed, "retail-eval") && strcmp(g.os_feed,
                                                                          "retail-eval")) {
                                srv_reply_error(r, 400, "bad_request", "image '%s' is a "
                                                "retail-eval OS; group '%s' follows the %s feed",
                                                id, g.name, g.os_feed);
                                goto out;
                        }
                }
                snprintf(d->image_ids[i], sizeof(d->image_ids[i]), "%s", id);
        }
        if (n_os > 1) {
                srv_reply_error(r, 400, "bad_request", "a deployment names at most one OS image "
                                "(got %zu)", n_os);
                goto out;
        }
        d->n_images = json_array_size(imgs);
        if (srv_new_id("dep", d->id) < 0) {
                srv_reply_error(r, 503, "unavailable", "no randomness for an id");
                goto out;
        }
        snprintf(d->tenant_id, sizeof(d->tenant_id), "%s", tenant);
        snprintf(d->group_id, sizeof(d->group_id), "%s", gid);
        d->created_ms = srv_now_ms();
        if (store_deploy_create(st, d, &err) < 0) {
                srv_reply_err(r, &err);
                goto out;
        }
        srv_audit_target(r, d->id);
        srv_audit_detail(r, "group %s, %zu image(s)", gid, d->n_images);
        srv_reply_json(r, 201, deployment_json(d));
out:
        free(d);
        free(ims);
}

static void deployment_list(struct srv_req *r)
{
        struct srv_page pg;
        struct rp_err err = {0};
        _cleanup_free_ struct store_deployment *items = NULL;
        size_t n = 0;
        int64_t next = 0;
        const char *group = srv_req_query(r, "group");
        if (srv_req_page(r, &pg) < 0)
                return;
        if (group && !srv_id_valid("grp", group))
                return srv_reply_error(r, 400, "bad_request", "group '%.60s' is not a group id",
                                       group);
        if (store_deploy_list(srv_req_store(r), srv_req_tenant(r), group, pg.after, pg.limit,
                              &items, &n, &next, &err) < 0)
                return srv_reply_err(r, &err);
        json_t *a = json_array();
        for (size_t i = 0; i < n; i++)
                json_array_append_new(a, deployment_json(&items[i]));
        srv_reply_page(r, a, next);
}

/* One device's row: each applicable image with its reported status
 * ("pending" when nothing was reported) and an overall status. */
static json_t *device_status(struct store *st, const struct store_deployment *d,
                             const struct store_group *g, const struct store_image *ims,
                             size_t n_ims, const char *ueid, struct rp_err *err)
{
        _cleanup_free_ struct store_deploy_status *sts = NULL;
        size_t n = 0, installed = 0, applicable = 0;
        const char *overall = NULL, *reason = "";
        if (store_deploy_status_list(st, d->id, ueid, &sts, &n, err) < 0)
                return NULL;
        json_t *images = json_array();
        for (size_t i = 0; i < n_ims; i++) {
                if (!srv_policy_allows(g, ims[i].type))
                        continue;
                applicable++;
                const struct store_deploy_status *s = NULL;
                for (size_t j = 0; j < n && !s; j++)
                        if (!strcmp(sts[j].image_id, ims[i].id))
                                s = &sts[j];
                const char *status = s ? s->status : "pending";
                json_array_append_new(images, json_pack("{s:s,s:s,s:s,s:o}", "image", ims[i].id,
                                                        "status", status, "reason",
                                                        s ? s->reason : "", "updated_at",
                                                        srv_json_time(s ? s->updated_ms : 0)));
                if (!strcmp(status, "installed"))
                        installed++;
                if (!overall && (!strcmp(status, "failed") || !strcmp(status, "reverted"))) {
                        overall = status;
                        reason = s->reason;
                }
                if (!overall && !strcmp(status, "downloading"))
                        overall = "downloading";
        }
        if (!overall)
                overall = !applicable ? "excluded" : installed == applicable ? "installed"
                                                                             : "pending";
        return json_pack("{s:s,s:s,s:s,s:o}", "ueid", ueid, "status", overall, "reason",
                         !applicable ? g->update_policy : reason, "images", images);
}

static void deployment_get(struct srv_req *r)
{
        struct store *st = srv_req_store(r);
        const char *tenant = srv_req_tenant(r);
        struct rp_err err = {0};
        struct store_deployment d;
        struct store_group g;
        struct srv_page pg;
        struct store_image *ims = NULL;
        _cleanup_free_ struct store_device *devs = NULL;
        size_t n = 0;
        int64_t next = 0;
        const char *id = srv_req_param(r, "deployment");

        if (!srv_id_valid("dep", id))
                return srv_reply_error(r, 404, "not_found", "no deployment '%.60s'", id);
        if (srv_req_page(r, &pg) < 0)
                return;
        if (store_deploy_get(st, tenant, id, &d, &err) < 0 ||
            store_group_get(st, tenant, d.group_id, &g, &err) < 0)
                return srv_reply_err(r, &err);
        ims = calloc(STORE_DEPLOY_MAX_IMAGES, sizeof(*ims));
        if (!ims)
                return srv_reply_error(r, 503, "unavailable", "out of memory");
        for (size_t i = 0; i < d.n_images; i++)
                if (store_image_get(st, tenant, d.image_ids[i], &ims[i], &err) < 0) {
                        free(ims);
                        return srv_reply_err(r, &err);
                }
        struct store_device_filter f = {.group_id = d.group_id};
        if (store_device_list(st, tenant, &f, pg.after, pg.limit, &devs, &n, &next, &err) < 0) {
                free(ims);
                return srv_reply_err(r, &err);
        }
        struct store_deployment cur;
        bool current = store_deploy_current(st, tenant, d.group_id, &cur, &err) == 0 &&
                       !strcmp(cur.id, d.id);
        json_t *rows = json_array();
        for (size_t i = 0; i < n; i++) {
                json_t *x = device_status(st, &d, &g, ims, d.n_images, devs[i].ueid, &err);
                if (!x) {
                        json_decref(rows);
                        free(ims);
                        return srv_reply_err(r, &err);
                }
                json_array_append_new(rows, x);
        }
        json_t *o = deployment_json(&d);
        json_t *imgs = json_array();
        for (size_t i = 0; i < d.n_images; i++)
                json_array_append_new(imgs, json_pack("{s:s,s:s,s:s,s:s,s:b}", "id", ims[i].id,
                                                      "name", ims[i].name, "type", ims[i].type,
                                                      "version", ims[i].version, "applies",
                                                      srv_policy_allows(&g, ims[i].type)));
        json_object_set_new(o, "image_details", imgs);
        json_object_set_new(o, "current", json_boolean(current));
        json_object_set_new(o, "update_policy", json_string(g.update_policy));
        json_object_set_new(o, "devices", rows);
        json_object_set_new(o, "next_cursor", next > 0 ? json_sprintf("%lld", (long long)next)
                                                      : json_null());
        free(ims);
        srv_reply_json(r, 200, o);
}

static const struct srv_route routes[] = {
        {"POST", "/api/v1/deployments", SRV_AUTH_CONTRIBUTOR, deployment_create,
         "deployment.create", 0},
        {"GET", "/api/v1/deployments", SRV_AUTH_READER, deployment_list, "deployment.list", 0},
        {"GET", "/api/v1/deployments/{deployment}", SRV_AUTH_READER, deployment_get,
         "deployment.get", 0},
};
const struct srv_route_set srv_routes_deploy = SRV_ROUTE_SET(routes);

/* groups.c - device group routes: create, list, show, update. A group
 * belongs to a product of the caller's tenant and carries the policies the
 * attestation verifier and the update director apply to its devices. */
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "server/devices.h"
#include "server/groups.h"
#include "server/routes.h"
#include "store/products.h"

static const char *const update_policies[] = {"update-all", "no-app-updates", "no-updates"};
static const char *const os_feeds[] = {"retail", "retail-eval"};

static int one_of(const char *v, const char *const *set, size_t n)
{
        for (size_t i = 0; v && i < n; i++)
                if (!strcmp(v, set[i]))
                        return 0;
        return -EINVAL;
}

int srv_update_policy_check(const char *v)
{
        return one_of(v, update_policies, ARRAY_SIZE(update_policies));
}

int srv_os_feed_check(const char *v)
{
        return one_of(v, os_feeds, ARRAY_SIZE(os_feeds));
}

json_t *srv_group_json(const struct store_group *g)
{
        return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:b,s:o,s:o}", "id", g->id, "product_id",
                         g->product_id, "name", g->name, "description", g->description,
                         "update_policy", g->update_policy, "os_feed", g->os_feed, "debug_allowed",
                         g->debug_allowed, "crash_dumps_allowed", g->crash_dumps_allowed,
                         "created_at", srv_json_time(g->created_ms), "updated_at",
                         srv_json_time(g->updated_ms));
}

/* The defaults follow the usual life of a device: developers sideload apps
 * onto debug-enabled boards, field testers get every update, production
 * gets every update and no debug. */
static const struct {
        const char *name, *description, *policy, *feed;
        bool debug, dumps;
} defaults[] = {
        {"Development", "Developer boards: OS updates only, apps are sideloaded", "no-app-updates",
         "retail", true, true},
        {"Field Test", "Devices under test in the field", "update-all", "retail", false, true},
        {"Production", "Devices in customers' hands", "update-all", "retail", false, false},
};

int srv_groups_create_defaults(struct store *st, const char *tenant_id, const char *product_id,
                               int64_t now_ms, json_t *out, struct rp_err *err)
{
        for (size_t i = 0; i < ARRAY_SIZE(defaults); i++) {
                struct store_group g = {.created_ms = now_ms, .updated_ms = now_ms,
                                        .debug_allowed = defaults[i].debug,
                                        .crash_dumps_allowed = defaults[i].dumps};
                char id[SRV_ID_BUF];
                if (srv_new_id("grp", id) < 0)
                        return rp_err_set(err, -EIO, "no randomness for an id");
                snprintf(g.id, sizeof(g.id), "%s", id);
                snprintf(g.tenant_id, sizeof(g.tenant_id), "%s", tenant_id);
                snprintf(g.product_id, sizeof(g.product_id), "%s", product_id);
                snprintf(g.name, sizeof(g.name), "%s", defaults[i].name);
                snprintf(g.description, sizeof(g.description), "%s", defaults[i].description);
                snprintf(g.update_policy, sizeof(g.update_policy), "%s", defaults[i].policy);
                snprintf(g.os_feed, sizeof(g.os_feed), "%s", defaults[i].feed);
                int r = store_group_create(st, &g, err);
                if (r < 0)
                        return r;
                if (out)
                        json_array_append_new(out, srv_group_json(&g));
        }
        return 0;
}

/* Applies the policy members of a body onto g; replies 400 and returns
 * -EINVAL on a bad value. */
static int apply_policy(struct srv_req *r, json_t *b, struct store_group *g)
{
        json_t *v;
        if ((v = json_object_get(b, "update_policy"))) {
                if (srv_update_policy_check(json_string_value(v)) < 0) {
                        srv_reply_error(r, 400, "bad_request",
                                        "field 'update_policy' must be update-all, no-app-updates "
                                        "or no-updates (got '%.32s')", json_string_value(v));
                        return -EINVAL;
                }
                snprintf(g->update_policy, sizeof(g->update_policy), "%s", json_string_value(v));
        }
        if ((v = json_object_get(b, "os_feed"))) {
                if (srv_os_feed_check(json_string_value(v)) < 0) {
                        srv_reply_error(r, 400, "bad_request",
                                        "field 'os_feed' must be retail or retail-eval (got '%.32s')",
                                        json_string_value(v));
                        return -EINVAL;
                }
                snprintf(g->os_feed, sizeof(g->os_feed), "%s", json_string_value(v));
        }
        if ((v = json_object_get(b, "debug_allowed")))
                g->debug_allowed = json_is_true(v);
        if ((v = json_object_get(b, "crash_dumps_allowed")))
                g->crash_dumps_allowed = json_is_true(v);
        if ((v = json_object_get(b, "name")))
                snprintf(g->name, sizeof(g->name), "%s", json_string_value(v));
        if ((v = json_object_get(b, "description")))
                snprintf(g->description, sizeof(g->description), "%s", json_string_value(v));
        return 0;
}

static const struct srv_field create_fields[] = {
        {"product", SRV_F_STRING, SRV_F_REQUIRED, 64},
        {"name", SRV_F_STRING, SRV_F_REQUIRED | SRV_F_NAME, 128},
        {"description", SRV_F_STRING, SRV_F_NULLABLE, 256},
        {"update_policy", SRV_F_STRING, SRV_F_NULLABLE, 32},
        {"os_feed", SRV_F_STRING, SRV_F_NULLABLE, 32},
        {"debug_allowed", SRV_F_BOOL, SRV_F_NULLABLE, 0},
        {"crash_dumps_allowed", SRV_F_BOOL, SRV_F_NULLABLE, 0},
};

static void group_create(struct srv_req *r)
{
        _cleanup_(json_decrefp) json_t *b = NULL;
        if (srv_req_json(r, SRV_FIELDS(create_fields), &b) < 0)
                return;
        const char *product = json_string_value(json_object_get(b, "product"));
        if (!srv_id_valid("prd", product))
                return srv_reply_error(r, 404, "not_found", "no product '%.64s'", product);
        int64_t now = srv_now_ms();
        struct store_group g = {.created_ms = now, .updated_ms = now};
        snprintf(g.update_policy, sizeof(g.update_policy), "update-all");
        snprintf(g.os_feed, sizeof(g.os_feed), "retail");
        if (apply_policy(r, b, &g) < 0)
                return;
        char id[SRV_ID_BUF];
        if (srv_new_id("grp", id) < 0)
                return srv_reply_error(r, 503, "unavailable", "no randomness");
        snprintf(g.id, sizeof(g.id), "%s", id);
        snprintf(g.tenant_id, sizeof(g.tenant_id), "%s", srv_req_tenant(r));
        snprintf(g.product_id, sizeof(g.product_id), "%s", product);
        struct rp_err err = {0};
        if (store_group_create(srv_req_store(r), &g, &err) < 0)
                return srv_reply_err(r, &err);
        srv_audit_target(r, g.id);
        srv_audit_detail(r, "product=%s policy=%s feed=%s debug=%d dumps=%d", g.product_id,
                         g.update_policy, g.os_feed, g.debug_allowed, g.crash_dumps_allowed);
        srv_reply_json(r, 201, srv_group_json(&g));
}

static void group_list(struct srv_req *r)
{
        struct srv_page pg;
        if (srv_req_page(r, &pg) < 0)
                return;
        const char *product = srv_req_query(r, "product");
        struct store *st = srv_req_store(r);
        struct rp_err err = {0};
        if (product) {
                struct store_product p;
                if (!srv_id_valid("prd", product))
                        return srv_reply_error(r, 400, "bad_request",
                                               "query 'product' is not a product id (got '%.64s')",
                                               product);
                if (store_product_get(st, srv_req_tenant(r), product, &p, &err) < 0)
                        return srv_reply_err(r, &err);
        }
        struct store_group *items = NULL;
        size_t n = 0;
        int64_t next = 0;
        if (store_group_list(st, srv_req_tenant(r), product, pg.after, pg.limit, &items, &n, &next,
                             &err) < 0)
                return srv_reply_err(r, &err);
        json_t *a = json_array();
        for (size_t i = 0; i < n; i++)
                json_array_append_new(a, srv_group_json(&items[i]));
        free(items);
        srv_reply_page(r, a, next);
}

static void group_get(struct srv_req *r)
{
        const char *id = srv_req_param(r, "group");
        struct store_group g;
        struct rp_err err = {0};
        if (!srv_id_valid("grp", id))
                return srv_reply_error(r, 404, "not_found", "no device group '%.64s'", id);
        if (store_group_get(srv_req_store(r), srv_req_tenant(r), id, &g, &err) < 0)
                return srv_reply_err(r, &err);
        srv_reply_json(r, 200, srv_group_json(&g));
}

static const struct srv_field update_fields[] = {
        {"name", SRV_F_STRING, SRV_F_NAME | SRV_F_NULLABLE, 128},
        {"description", SRV_F_STRING, SRV_F_NULLABLE, 256},
        {"update_policy", SRV_F_STRING, SRV_F_NULLABLE, 32},
        {"os_feed", SRV_F_STRING, SRV_F_NULLABLE, 32},
        {"debug_allowed", SRV_F_BOOL, SRV_F_NULLABLE, 0},
        {"crash_dumps_allowed", SRV_F_BOOL, SRV_F_NULLABLE, 0},
};

static void group_update(struct srv_req *r)
{
        const char *id = srv_req_param(r, "group");
        srv_audit_target(r, id);
        /* The group first: another tenant's group is "not found", whatever
         * the body says. */
        if (!srv_id_valid("grp", id))
                return srv_reply_error(r, 404, "not_found", "no device group '%.64s'", id);
        struct store *st = srv_req_store(r);
        struct store_group g;
        struct rp_err err = {0};
        if (store_group_get(st, srv_req_tenant(r), id, &g, &err) < 0)
                return srv_reply_err(r, &err);
        _cleanup_(json_decrefp) json_t *b = NULL;
        if (srv_req_json(r, SRV_FIELDS(update_fields), &b) < 0)
                return;
        if (json_object_size(b) == 0)
                return srv_reply_error(r, 400, "bad_request", "nothing to update: give at least "
                                       "one of name, description, update_policy, os_feed, "
                                       "debug_allowed, crash_dumps_allowed");
        if (apply_policy(r, b, &g) < 0)
                return;
        g.updated_ms = srv_now_ms();
        if (store_group_update(st, &g, &err) < 0)
                return srv_reply_err(r, &err);
        srv_audit_detail(r, "policy=%s feed=%s debug=%d dumps=%d", g.update_policy, g.os_feed,
                         g.debug_allowed, g.crash_dumps_allowed);
        srv_reply_json(r, 200, srv_group_json(&g));
}

static const struct srv_route routes[] = {
        {"POST", "/api/v1/device-groups", SRV_AUTH_CONTRIBUTOR, group_create, "group.create", 0},
        {"GET", "/api/v1/device-groups", SRV_AUTH_READER, group_list, "group.list", 0},
        {"GET", "/api/v1/device-groups/{group}", SRV_AUTH_READER, group_get, "group.get", 0},
        {"PATCH", "/api/v1/device-groups/{group}", SRV_AUTH_CONTRIBUTOR, group_update,
         "group.update", 0},
};
const struct srv_route_set srv_routes_groups = SRV_ROUTE_SET(routes);

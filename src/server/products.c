/* products.c - product routes: create (with the default device groups, in
 * one transaction), list, show, update. */
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "server/devices.h"
#include "server/groups.h"
#include "server/routes.h"
#include "store/products.h"

static json_t *product_json(const struct store_product *p)
{
        return json_pack("{s:s,s:s,s:s,s:o,s:o}", "id", p->id, "name", p->name, "description",
                         p->description, "created_at", srv_json_time(p->created_ms), "updated_at",
                         srv_json_time(p->updated_ms));
}

static const struct srv_field create_fields[] = {
        {"name", SRV_F_STRING, SRV_F_REQUIRED | SRV_F_NAME, 128},
        {"description", SRV_F_STRING, SRV_F_NULLABLE, 256},
};

static void product_create(struct srv_req *r)
{
        _cleanup_(json_decrefp) json_t *b = NULL;
        if (srv_req_json(r, SRV_FIELDS(create_fields), &b) < 0)
                return;
        struct store *st = srv_req_store(r);
        int64_t now = srv_now_ms();
        struct store_product p = {.created_ms = now, .updated_ms = now};
        char id[SRV_ID_BUF];
        if (srv_new_id("prd", id) < 0)
                return srv_reply_error(r, 503, "unavailable", "no randomness");
        const char *desc = json_string_value(json_object_get(b, "description"));
        snprintf(p.id, sizeof(p.id), "%s", id);
        snprintf(p.tenant_id, sizeof(p.tenant_id), "%s", srv_req_tenant(r));
        snprintf(p.name, sizeof(p.name), "%s", json_string_value(json_object_get(b, "name")));
        snprintf(p.description, sizeof(p.description), "%s", desc ? desc : "");

        struct rp_err err = {0};
        json_t *groups = json_array();
        _cleanup_(store_tx_guard) struct store *tx = NULL;
        int k = store_tx_begin(st, &err);
        if (k == 0) {
                tx = st;
                if ((k = store_product_create(st, &p, &err)) == 0 &&
                    (k = srv_groups_create_defaults(st, p.tenant_id, p.id, now, groups, &err)) == 0) {
                        k = store_tx_commit(st, &err);
                        tx = NULL;
                }
        }
        if (k < 0) {
                json_decref(groups);
                return srv_reply_err(r, &err);
        }
        srv_audit_target(r, p.id);
        json_t *j = product_json(&p);
        json_object_set_new(j, "device_groups", groups);
        srv_reply_json(r, 201, j);
}

static void product_list(struct srv_req *r)
{
        struct srv_page pg;
        if (srv_req_page(r, &pg) < 0)
                return;
        struct store_product *items = NULL;
        size_t n = 0;
        int64_t next = 0;
        struct rp_err err = {0};
        if (store_product_list(srv_req_store(r), srv_req_tenant(r), pg.after, pg.limit, &items,
                               &n, &next, &err) < 0)
                return srv_reply_err(r, &err);
        json_t *a = json_array();
        for (size_t i = 0; i < n; i++)
                json_array_append_new(a, product_json(&items[i]));
        free(items);
        srv_reply_page(r, a, next);
}

static void product_get(struct srv_req *r)
{
        const char *id = srv_req_param(r, "product");
        struct store_product p;
        struct rp_err err = {0};
        if (!srv_id_valid("prd", id))
                return srv_reply_error(r, 404, "not_found", "no product '%.64s'", id);
        if (store_product_get(srv_req_store(r), srv_req_tenant(r), id, &p, &err) < 0)
                return srv_reply_err(r, &err);
        srv_reply_json(r, 200, product_json(&p));
}

static const struct srv_field update_fields[] = {
        {"name", SRV_F_STRING, SRV_F_NAME | SRV_F_NULLABLE, 128},
        {"description", SRV_F_STRING, SRV_F_NULLABLE, 256},
};

static void product_update(struct srv_req *r)
{
        const char *id = srv_req_param(r, "product");
        srv_audit_target(r, id);
        /* The product first: another tenant's product is "not found",
         * whatever the body says. */
        if (!srv_id_valid("prd", id))
                return srv_reply_error(r, 404, "not_found", "no product '%.64s'", id);
        struct store *st = srv_req_store(r);
        struct store_product p;
        struct rp_err err = {0};
        if (store_product_get(st, srv_req_tenant(r), id, &p, &err) < 0)
                return srv_reply_err(r, &err);
        _cleanup_(json_decrefp) json_t *b = NULL;
        if (srv_req_json(r, SRV_FIELDS(update_fields), &b) < 0)
                return;
        if (json_object_size(b) == 0)
                return srv_reply_error(r, 400, "bad_request",
                                       "nothing to update: give 'name' or 'description'");
        json_t *v;
        if ((v = json_object_get(b, "name")))
                snprintf(p.name, sizeof(p.name), "%s", json_string_value(v));
        if ((v = json_object_get(b, "description")))
                snprintf(p.description, sizeof(p.description), "%s", json_string_value(v));
        p.updated_ms = srv_now_ms();
        if (store_product_update(st, &p, &err) < 0)
                return srv_reply_err(r, &err);
        srv_reply_json(r, 200, product_json(&p));
}

static const struct srv_route routes[] = {
        {"POST", "/api/v1/products", SRV_AUTH_CONTRIBUTOR, product_create, "product.create", 0},
        {"GET", "/api/v1/products", SRV_AUTH_READER, product_list, "product.list", 0},
        {"GET", "/api/v1/products/{product}", SRV_AUTH_READER, product_get, "product.get", 0},
        {"PATCH", "/api/v1/products/{product}", SRV_AUTH_CONTRIBUTOR, product_update,
         "product.update", 0},
};
const struct srv_route_set srv_routes_products = SRV_ROUTE_SET(routes);

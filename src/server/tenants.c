/* tenants.c - tenant routes. Creating a tenant (platform operator) creates
 * its CA and a first admin token in one transaction. */
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/wipe.h"
#include "server/auth.h"
#include "server/routes.h"
#include "server/srv_int.h"
#include "server/tenant_ca.h"
#include "server/tokens.h"
#include "store/ca.h"
#include "store/tenants.h"

static json_t *tenant_json(const struct store_tenant *t)
{
        return json_pack("{s:s,s:s,s:o}", "id", t->id, "name", t->name, "created_at",
                         srv_json_time(t->created_ms));
}

static const struct srv_field tenant_fields[] = {
        {"name", SRV_F_STRING, SRV_F_REQUIRED | SRV_F_NAME, 128},
};

static void tenant_create(struct srv_req *r)
{
        _cleanup_(json_decrefp) json_t *b = NULL;
        if (srv_req_json(r, SRV_FIELDS(tenant_fields), &b) < 0)
                return;
        struct store *st = srv_req_store(r);
        struct store_tenant t = {.created_ms = srv_now_ms()};
        char id[SRV_ID_BUF];
        struct rp_err err = {0};
        if (srv_new_id("ten", id) < 0)
                return srv_reply_error(r, 503, "unavailable", "no randomness");
        snprintf(t.id, sizeof(t.id), "%s", id);
        snprintf(t.name, sizeof(t.name), "%s", json_string_value(json_object_get(b, "name")));

        struct store_ca *ca = calloc(1, sizeof(*ca));
        if (!ca)
                return srv_reply_error(r, 503, "unavailable", "out of memory");
        char text[SRV_TOKEN_BUF] = "";
        struct store_token tok;
        _cleanup_(store_tx_guard) struct store *tx = NULL;
        int k = store_tx_begin(st, &err);
        if (k == 0) {
                tx = st;
                if ((k = store_tenant_create(st, &t, &err)) == 0 &&
                    (k = srv_tenant_ca_create(srv_req_server(r), t.id, 1, "current", ca, &err)) == 0 &&
                    (k = srv_token_issue(st, t.id, SRV_ROLE_ADMIN, "initial admin", 0,
                                         srv_req_token_id(r), &tok, text, &err)) == 0) {
                        k = store_tx_commit(st, &err);
                        tx = NULL;
                }
        }
        if (k < 0) {
                free(ca);
                rp_wipe(text, sizeof(text));
                return srv_reply_err(r, &err);
        }
        srv_audit_target(r, t.id);
        json_t *tj = tenant_json(&t);
        json_object_set_new(tj, "ca", json_pack("{s:s,s:i,s:o,s:o}", "id", ca->id, "generation",
                                                ca->generation, "not_before",
                                                srv_json_time(ca->not_before_ms), "not_after",
                                                srv_json_time(ca->not_after_ms)));
        free(ca);
        json_t *kj = srv_token_json(&tok, srv_now_ms());
        json_object_set_new(kj, "token", json_string(text));
        rp_wipe(text, sizeof(text));
        srv_reply_json(r, 201, json_pack("{s:o,s:o}", "tenant", tj, "admin_token", kj));
}

static void tenant_list(struct srv_req *r)
{
        struct srv_page pg;
        if (srv_req_page(r, &pg) < 0)
                return;
        struct store_tenant *items = NULL;
        size_t n = 0;
        int64_t next = 0;
        struct rp_err err = {0};
        if (store_tenant_list(srv_req_store(r), pg.after, pg.limit, &items, &n, &next, &err) < 0)
                return srv_reply_err(r, &err);
        json_t *a = json_array();
        for (size_t i = 0; i < n; i++)
                json_array_append_new(a, tenant_json(&items[i]));
        free(items);
        srv_reply_page(r, a, next);
}

static void tenant_reply(struct srv_req *r, const char *id)
{
        struct store_tenant t;
        struct rp_err err = {0};
        if (!srv_id_valid("ten", id))
                return srv_reply_error(r, 404, "not_found", "no tenant '%.64s'", id);
        if (store_tenant_get(srv_req_store(r), id, &t, &err) < 0)
                return srv_reply_err(r, &err);
        srv_reply_json(r, 200, tenant_json(&t));
}

static void tenant_get(struct srv_req *r)
{
        tenant_reply(r, srv_req_param(r, "tenant"));
}

static void tenant_self(struct srv_req *r)
{
        tenant_reply(r, srv_req_tenant(r));
}

static void tenant_token_create(struct srv_req *r)
{
        const char *id = srv_req_param(r, "tenant");
        struct store_tenant t;
        struct rp_err err = {0};
        if (!srv_id_valid("ten", id))
                return srv_reply_error(r, 404, "not_found", "no tenant '%.64s'", id);
        if (store_tenant_get(srv_req_store(r), id, &t, &err) < 0)
                return srv_reply_err(r, &err);
        srv_token_create_in(r, t.id);
}

static const struct srv_route routes[] = {
        {"POST", "/api/v1/tenants", SRV_AUTH_PLATFORM, tenant_create, "tenant.create", 0},
        {"GET", "/api/v1/tenants", SRV_AUTH_PLATFORM, tenant_list, "tenant.list", 0},
        {"GET", "/api/v1/tenants/{tenant}", SRV_AUTH_PLATFORM, tenant_get, "tenant.get", 0},
        {"POST", "/api/v1/tenants/{tenant}/tokens", SRV_AUTH_PLATFORM, tenant_token_create,
         "tenant.token_create", 0},
        {"GET", "/api/v1/tenant", SRV_AUTH_READER, tenant_self, "tenant.self", 0},
};
const struct srv_route_set srv_routes_tenants = SRV_ROUTE_SET(routes);

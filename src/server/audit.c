/* audit.c - GET /api/v1/audit: a tenant admin reads its tenant's records;
 * the platform operator reads all of them, or one tenant's with ?tenant=. */
#include <stdlib.h>
#include <string.h>

#include "server/routes.h"
#include "server/srv_int.h"
#include "store/audit.h"

static json_t *audit_json(const struct store_audit *a)
{
        char id[24];
        snprintf(id, sizeof(id), "%lld", (long long)a->seq);
        return json_pack("{s:s,s:o,s:o,s:s,s:s,s:s,s:s,s:o,s:i,s:s}", "id", id, "at",
                         srv_json_time(a->at_ms), "tenant_id",
                         a->tenant_id[0] ? json_string(a->tenant_id) : json_null(), "actor",
                         a->actor, "action", a->action, "method", a->method, "path", a->path,
                         "target", a->target[0] ? json_string(a->target) : json_null(), "status",
                         a->status, "detail", a->detail);
}

static void audit_list(struct srv_req *r)
{
        struct srv_page pg;
        if (srv_req_page(r, &pg) < 0)
                return;
        const char *scope = srv_req_tenant(r);
        const char *filter = srv_req_query(r, "tenant");
        if (filter) {
                if (!srv_req_is_platform(r))
                        return srv_reply_error(r, 400, "bad_request",
                                               "only the platform operator can choose a tenant");
                if (!srv_id_valid("ten", filter))
                        return srv_reply_error(r, 400, "bad_request",
                                               "query 'tenant' is not a tenant id (got '%.64s')",
                                               filter);
                scope = filter;
        }
        struct store_audit *items = NULL;
        size_t n = 0;
        int64_t next = 0;
        struct rp_err err = {0};
        if (store_audit_list(srv_req_store(r), scope, pg.after, pg.limit, &items, &n, &next,
                             &err) < 0)
                return srv_reply_err(r, &err);
        json_t *a = json_array();
        for (size_t i = 0; i < n; i++)
                json_array_append_new(a, audit_json(&items[i]));
        free(items);
        srv_reply_page(r, a, next);
}

static const struct srv_route routes[] = {
        {"GET", "/api/v1/audit", SRV_AUTH_ADMIN_OR_PLATFORM, audit_list, "audit.list", 0},
};
const struct srv_route_set srv_routes_audit = SRV_ROUTE_SET(routes);

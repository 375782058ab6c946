/* ops.c - operational routes: /healthz, /metrics, the route table and
 * whoami. */
#include <string.h>

#include "lib/buf.h"
#include "server/failures.h"
#include "server/routes.h"
#include "server/srv_int.h"

static void healthz(struct srv_req *r)
{
        int v = store_schema_version(srv_req_store(r));
        if (v <= 0)
                return srv_reply_error(r, 503, "unavailable", "store is not readable");
        srv_reply_json(r, 200, json_pack("{s:s,s:i}", "status", "ok", "schema_version", v));
}

static void metrics(struct srv_req *r)
{
        struct srv *s = srv_req_server(r);
        struct rp_buf b = {.max = 16 * 1024 * 1024};
        if (srv_metrics_render(&s->metrics, &b) < 0 || srv_failures_metrics_render(s, &b) < 0) {
                rp_buf_free(&b);
                return srv_reply_error(r, 503, "unavailable", "out of memory rendering metrics");
        }
        srv_reply_text(r, 200, "text/plain; version=0.0.4", b.data, b.len);
        rp_buf_free(&b);
}

json_t *srv_routes_json_table(const struct srv_route *const *routes, size_t n);
json_t *srv_routes_json_table(const struct srv_route *const *routes, size_t n)
{
        json_t *a = json_array();
        for (size_t i = 0; i < n; i++) {
                const struct srv_route *rt = routes[i];
                json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:s,s:I}", "method", rt->method,
                                                   "pattern", rt->pattern, "auth",
                                                   srv_auth_name(rt->auth), "name", rt->name,
                                                   "max_body",
                                                   (json_int_t)(rt->max_body ? rt->max_body
                                                                             : SRV_MAX_BODY)));
        }
        return a;
}

static void routes_list(struct srv_req *r)
{
        struct srv *s = srv_req_server(r);
        size_t n = srv_route_count(s);
        const struct srv_route **v = calloc(n ? n : 1, sizeof(*v));
        if (!v)
                return srv_reply_error(r, 503, "unavailable", "out of memory");
        for (size_t i = 0; i < n; i++)
                v[i] = srv_route_at(s, i);
        json_t *a = srv_routes_json_table(v, n);
        free(v);
        srv_reply_json(r, 200, json_pack("{s:o}", "routes", a));
}

int srv_routes_print(FILE *f)
{
        size_t n = 0;
        for (const struct srv_route_set *const *set = srv_route_sets; *set; set++)
                n += (*set)->n;
        const struct srv_route **v = calloc(n ? n : 1, sizeof(*v));
        if (!v)
                return -ENOMEM;
        size_t i = 0;
        for (const struct srv_route_set *const *set = srv_route_sets; *set; set++)
                for (size_t k = 0; k < (*set)->n; k++)
                        v[i++] = &(*set)->routes[k];
        json_t *a = srv_routes_json_table(v, n);
        free(v);
        int r = json_dumpf(a, f, JSON_INDENT(2)) < 0 ? -EIO : 0;
        fputc('\n', f);
        json_decref(a);
        return r;
}

static void whoami(struct srv_req *r)
{
        const char *t = srv_req_tenant(r);
        srv_reply_json(r, 200, json_pack("{s:s,s:o,s:s}", "token_id", srv_req_token_id(r),
                                         "tenant_id", t ? json_string(t) : json_null(), "role",
                                         srv_role_name(srv_req_role(r))));
}

static const struct srv_route routes[] = {
        {"GET", "/healthz", SRV_AUTH_NONE, healthz, "ops.healthz", 0},
        {"GET", "/metrics", SRV_AUTH_NONE, metrics, "ops.metrics", 0},
        {"GET", "/api/v1/_routes", SRV_AUTH_PLATFORM, routes_list, "ops.routes", 0},
        {"GET", "/api/v1/whoami", SRV_AUTH_ANY, whoami, "ops.whoami", 0},
};
const struct srv_route_set srv_routes_ops = SRV_ROUTE_SET(routes);

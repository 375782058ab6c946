/* tokens.c - API token routes: create (shown once), list, show, revoke.
 * A tenant admin manages its own tenant's tokens; the platform operator
 * creates tokens in any tenant through /api/v1/tenants/{tenant}/tokens. */
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/wipe.h"
#include "server/auth.h"
#include "server/routes.h"
#include "server/srv_int.h"
#include "server/tokens.h"
#include "store/tokens.h"

#define TOKEN_MAX_DAYS 3650

json_t *srv_token_json(const struct store_token *t, int64_t now_ms)
{
        const char *state = t->revoked_ms                               ? "revoked"
                            : (t->expires_ms && now_ms >= t->expires_ms) ? "expired"
                                                                         : "active";
        return json_pack("{s:s,s:o,s:s,s:s,s:o,s:o,s:o,s:o,s:s}", "id", t->id, "tenant_id",
                         t->tenant_id[0] ? json_string(t->tenant_id) : json_null(), "name", t->name,
                         "role", srv_role_name((enum srv_role)t->role), "created_at",
                         srv_json_time(t->created_ms), "expires_at", srv_json_time(t->expires_ms),
                         "revoked_at", srv_json_time(t->revoked_ms), "created_by",
                         t->created_by[0] ? json_string(t->created_by) : json_null(), "state",
                         state);
}

static const struct srv_field token_fields[] = {
        {"name", SRV_F_STRING, SRV_F_NAME | SRV_F_NULLABLE, 128},
        {"role", SRV_F_STRING, SRV_F_REQUIRED, 16},
        {"expires_at", SRV_F_STRING, SRV_F_NULLABLE, 40},
        {"expires_in_days", SRV_F_INT, SRV_F_NULLABLE, 0},
};

void srv_token_create_in(struct srv_req *r, const char *tenant_id)
{
        _cleanup_(json_decrefp) json_t *b = NULL;
        if (srv_req_json(r, SRV_FIELDS(token_fields), &b) < 0)
                return;
        enum srv_role role;
        const char *rs = json_string_value(json_object_get(b, "role"));
        if (srv_role_parse(rs, &role) < 0)
                return srv_reply_error(r, 400, "bad_request",
                                       "field 'role' must be admin, contributor or reader (got '%.32s')",
                                       rs);
        int64_t now = srv_now_ms(), exp = 0;
        json_t *ea = json_object_get(b, "expires_at"), *ed = json_object_get(b, "expires_in_days");
        if (ea && ed)
                return srv_reply_error(r, 400, "bad_request",
                                       "give either 'expires_at' or 'expires_in_days', not both");
        if (ea && srv_time_parse(json_string_value(ea), &exp) < 0)
                return srv_reply_error(r, 400, "bad_request",
                                       "field 'expires_at' is not an RFC 3339 time (got '%.40s')",
                                       json_string_value(ea));
        if (ed) {
                json_int_t d = json_integer_value(ed);
                if (d < 1 || d > TOKEN_MAX_DAYS)
                        return srv_reply_error(r, 400, "bad_request",
                                               "field 'expires_in_days' must be 1..%d (got %lld)",
                                               TOKEN_MAX_DAYS, (long long)d);
                exp = now + (int64_t)d * 86400 * 1000;
        }
        if (ea && (exp <= now || exp > now + (int64_t)TOKEN_MAX_DAYS * 86400 * 1000))
                return srv_reply_error(r, 400, "bad_request",
                                       "field 'expires_at' must be in the future and within %d days",
                                       TOKEN_MAX_DAYS);
        const char *name = json_string_value(json_object_get(b, "name"));
        char text[SRV_TOKEN_BUF];
        struct store_token t;
        struct rp_err err = {0};
        if (srv_token_issue(srv_req_store(r), tenant_id, role, name, exp, srv_req_token_id(r), &t,
                            text, &err) < 0)
                return srv_reply_err(r, &err);
        srv_audit_target(r, t.id);
        srv_audit_detail(r, "role=%s", srv_role_name(role));
        json_t *j = srv_token_json(&t, now);
        json_object_set_new(j, "token", json_string(text));
        rp_wipe(text, sizeof(text));
        srv_reply_json(r, 201, j);
}

static void token_create(struct srv_req *r)
{
        srv_token_create_in(r, srv_req_tenant(r));
}

static void token_list(struct srv_req *r)
{
        struct srv_page pg;
        if (srv_req_page(r, &pg) < 0)
                return;
        struct store_token *items = NULL;
        size_t n = 0;
        int64_t next = 0;
        struct rp_err err = {0};
        if (store_token_list(srv_req_store(r), srv_req_tenant(r), pg.after, pg.limit, &items, &n,
                             &next, &err) < 0)
                return srv_reply_err(r, &err);
        json_t *a = json_array();
        int64_t now = srv_now_ms();
        for (size_t i = 0; i < n; i++)
                json_array_append_new(a, srv_token_json(&items[i], now));
        free(items);
        srv_reply_page(r, a, next);
}

static void token_get(struct srv_req *r)
{
        const char *id = srv_req_param(r, "token");
        struct store_token t;
        struct rp_err err = {0};
        if (!srv_id_valid("tok", id))
                return srv_reply_error(r, 404, "not_found", "no token '%.64s'", id);
        if (store_token_get(srv_req_store(r), srv_req_tenant(r), id, &t, &err) < 0)
                return srv_reply_err(r, &err);
        srv_reply_json(r, 200, srv_token_json(&t, srv_now_ms()));
}

static void token_revoke(struct srv_req *r)
{
        const char *id = srv_req_param(r, "token");
        struct rp_err err = {0};
        srv_audit_target(r, id);
        if (!srv_id_valid("tok", id))
                return srv_reply_error(r, 404, "not_found", "no token '%.64s'", id);
        struct store *st = srv_req_store(r);
        int64_t now = srv_now_ms();
        if (store_token_revoke(st, srv_req_tenant(r), id, now, &err) < 0)
                return srv_reply_err(r, &err);
        struct store_token t;
        if (store_token_get(st, srv_req_tenant(r), id, &t, &err) < 0)
                return srv_reply_err(r, &err);
        srv_reply_json(r, 200, srv_token_json(&t, now));
}

static const struct srv_route routes[] = {
        {"POST", "/api/v1/tokens", SRV_AUTH_ADMIN, token_create, "token.create", 0},
        {"GET", "/api/v1/tokens", SRV_AUTH_ADMIN, token_list, "token.list", 0},
        {"GET", "/api/v1/tokens/{token}", SRV_AUTH_ADMIN, token_get, "token.get", 0},
        {"DELETE", "/api/v1/tokens/{token}", SRV_AUTH_ADMIN, token_revoke, "token.revoke", 0},
};
const struct srv_route_set srv_routes_tokens = SRV_ROUTE_SET(routes);

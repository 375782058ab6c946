/* devices.c - device routes: claim a registered device into the caller's
 * tenant (once, for good), list with filters, show, move between the
 * tenant's groups, block and unblock. Another tenant's device is "not
 * found" everywhere except on claim, where it is a conflict that never
 * names the other tenant. */
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "server/devices.h"
#include "server/routes.h"
#include "store/devices.h"

bool srv_ueid_valid(const char *s)
{
        if (!s || strlen(s) != 40)
                return false;
        for (const char *p = s; *p; p++)
                if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
                        return false;
        return true;
}

int srv_req_json_opt(struct srv_req *r, const struct srv_field *fields, size_t n_fields,
                     json_t **ret)
{
        size_t len = 0;
        (void)srv_req_body(r, &len);
        if (len == 0) {
                *ret = json_object();
                return 0;
        }
        return srv_req_json(r, fields, n_fields, ret);
}

json_t *srv_json_str_or_null(const char *s)
{
        return s && *s ? json_string(s) : json_null();
}

static json_t *device_json(const struct store_device *d)
{
        json_t *apps = json_null();
        if (d->app_versions[0]) {
                apps = json_loads(d->app_versions, 0, NULL);
                if (!apps)
                        apps = json_null();
        }
        return json_pack("{s:s,s:s,s:s,s:s,s:o,s:b,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "ueid",
                         d->ueid, "state", d->state, "group_id", d->group_id, "product_id",
                         d->product_id, "block_reason",
                         strcmp(d->state, "blocked") ? json_null() : json_string(d->block_reason),
                         "debug", d->debug, "manufacturer_id", d->manufacturer_id, "claimed_at",
                         srv_json_time(d->claimed_ms), "updated_at", srv_json_time(d->updated_ms),
                         "last_attestation_at", srv_json_time(d->last_attest_ms), "os_version",
                         srv_json_str_or_null(d->os_version), "app_versions", apps,
                         "cert_expires_at", srv_json_time(d->cert_not_after_ms),
                         "last_reason_code", srv_json_str_or_null(d->last_reason));
}

static void reply_device(struct srv_req *r, int status, const char *ueid)
{
        struct rp_err err = {0};
        _cleanup_free_ struct store_device *d = calloc(1, sizeof(*d));
        if (!d)
                return srv_reply_error(r, 503, "unavailable", "out of memory");
        if (store_device_get(srv_req_store(r), srv_req_tenant(r), ueid, d, &err) < 0)
                return srv_reply_err(r, &err);
        srv_reply_json(r, status, device_json(d));
}

static const struct srv_field claim_fields[] = {
        {"ueid", SRV_F_STRING, SRV_F_REQUIRED, 64},
        {"group", SRV_F_STRING, SRV_F_REQUIRED, 64},
};

static void device_claim(struct srv_req *r)
{
        _cleanup_(json_decrefp) json_t *b = NULL;
        if (srv_req_json(r, SRV_FIELDS(claim_fields), &b) < 0)
                return;
        const char *ueid = json_string_value(json_object_get(b, "ueid"));
        const char *group = json_string_value(json_object_get(b, "group"));
        srv_audit_target(r, ueid);
        if (!srv_ueid_valid(ueid))
                return srv_reply_error(r, 400, "bad_request",
                                       "field 'ueid' must be 40 lowercase hex characters (got '%.64s')",
                                       ueid);
        if (!srv_id_valid("grp", group))
                return srv_reply_error(r, 404, "not_found", "no device group '%.64s'", group);
        struct rp_err err = {0};
        if (store_device_claim(srv_req_store(r), srv_req_tenant(r), ueid, group, srv_now_ms(),
                               &err) < 0)
                return srv_reply_err(r, &err);
        srv_audit_detail(r, "group=%s", group);
        reply_device(r, 201, ueid);
}

static void device_list(struct srv_req *r)
{
        struct srv_page pg;
        if (srv_req_page(r, &pg) < 0)
                return;
        struct store_device_filter f = {
                .group_id = srv_req_query(r, "group"),
                .product_id = srv_req_query(r, "product"),
                .state = srv_req_query(r, "state"),
        };
        if (f.group_id && !srv_id_valid("grp", f.group_id))
                return srv_reply_error(r, 400, "bad_request",
                                       "query 'group' is not a device group id (got '%.64s')",
                                       f.group_id);
        if (f.product_id && !srv_id_valid("prd", f.product_id))
                return srv_reply_error(r, 400, "bad_request",
                                       "query 'product' is not a product id (got '%.64s')",
                                       f.product_id);
        if (f.state && strcmp(f.state, "active") && strcmp(f.state, "blocked"))
                return srv_reply_error(r, 400, "bad_request",
                                       "query 'state' must be active or blocked (got '%.32s')",
                                       f.state);
        struct store_device *items = NULL;
        size_t n = 0;
        int64_t next = 0;
        struct rp_err err = {0};
        if (store_device_list(srv_req_store(r), srv_req_tenant(r), &f, pg.after, pg.limit, &items,
                              &n, &next, &err) < 0)
                return srv_reply_err(r, &err);
        json_t *a = json_array();
        for (size_t i = 0; i < n; i++)
                json_array_append_new(a, device_json(&items[i]));
        free(items);
        srv_reply_page(r, a, next);
}

static void device_get(struct srv_req *r)
{
        const char *ueid = srv_req_param(r, "device");
        if (!srv_ueid_valid(ueid))
                return srv_reply_error(r, 404, "not_found", "no device '%.64s'", ueid);
        reply_device(r, 200, ueid);
}

static const struct srv_field move_fields[] = {
        {"group", SRV_F_STRING, SRV_F_REQUIRED, 64},
};

static void device_move(struct srv_req *r)
{
        const char *ueid = srv_req_param(r, "device");
        srv_audit_target(r, ueid);
        if (!srv_ueid_valid(ueid))
                return srv_reply_error(r, 404, "not_found", "no device '%.64s'", ueid);
        struct rp_err err = {0};
        struct store *st = srv_req_store(r);
        _cleanup_free_ struct store_device *d = calloc(1, sizeof(*d));
        if (!d)
                return srv_reply_error(r, 503, "unavailable", "out of memory");
        /* The device first: another tenant's UEID is "no device", whatever
         * the body says. */
        if (store_device_get(st, srv_req_tenant(r), ueid, d, &err) < 0)
                return srv_reply_err(r, &err);
        _cleanup_(json_decrefp) json_t *b = NULL;
        if (srv_req_json(r, SRV_FIELDS(move_fields), &b) < 0)
                return;
        const char *group = json_string_value(json_object_get(b, "group"));
        if (!srv_id_valid("grp", group))
                return srv_reply_error(r, 404, "not_found", "no device group '%.64s'", group);
        if (store_device_move(st, srv_req_tenant(r), ueid, group, srv_now_ms(), &err) < 0)
                return srv_reply_err(r, &err);
        srv_audit_detail(r, "group %s -> %s", d->group_id, group);
        reply_device(r, 200, ueid);
}

static const struct srv_field block_fields[] = {
        {"reason", SRV_F_STRING, SRV_F_NULLABLE, 256},
};

static void set_state(struct srv_req *r, const char *state)
{
        const char *ueid = srv_req_param(r, "device");
        srv_audit_target(r, ueid);
        if (!srv_ueid_valid(ueid))
                return srv_reply_error(r, 404, "not_found", "no device '%.64s'", ueid);
        struct rp_err err = {0};
        struct store *st = srv_req_store(r);
        _cleanup_free_ struct store_device *d = calloc(1, sizeof(*d));
        if (!d)
                return srv_reply_error(r, 503, "unavailable", "out of memory");
        /* The device first: another tenant's UEID is "no device", whatever
         * the body says. */
        if (store_device_get(st, srv_req_tenant(r), ueid, d, &err) < 0)
                return srv_reply_err(r, &err);
        _cleanup_(json_decrefp) json_t *b = NULL;
        if (srv_req_json_opt(r, block_fields, strcmp(state, "blocked") ? 0 : 1, &b) < 0)
                return;
        const char *reason = json_string_value(json_object_get(b, "reason"));
        if (store_device_set_state(st, srv_req_tenant(r), ueid, state, reason,
                                   srv_now_ms(), &err) < 0)
                return srv_reply_err(r, &err);
        if (reason)
                srv_audit_detail(r, "reason: %.200s", reason);
        reply_device(r, 200, ueid);
}

static void device_block(struct srv_req *r)
{
        set_state(r, "blocked");
}

static void device_unblock(struct srv_req *r)
{
        set_state(r, "active");
}

static const struct srv_route routes[] = {
        {"POST", "/api/v1/devices", SRV_AUTH_ADMIN, device_claim, "device.claim", 0},
        {"GET", "/api/v1/devices", SRV_AUTH_READER, device_list, "device.list", 0},
        {"GET", "/api/v1/devices/{device}", SRV_AUTH_READER, device_get, "device.get", 0},
        {"POST", "/api/v1/devices/{device}/move", SRV_AUTH_CONTRIBUTOR, device_move, "device.move",
         0},
        {"POST", "/api/v1/devices/{device}/block", SRV_AUTH_ADMIN, device_block, "device.block", 0},
        {"POST", "/api/v1/devices/{device}/unblock", SRV_AUTH_ADMIN, device_unblock,
         "device.unblock", 0},
};
const struct srv_route_set srv_routes_devices = SRV_ROUTE_SET(routes);

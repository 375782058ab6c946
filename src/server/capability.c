/* capability.c - device capabilities the service grants. Today one: the
 * development capability, which lets `rampart dev sideload` install
 * development builds on one device (docs/sdk.md).
 *
 *   POST /api/v1/devices/{device}/capabilities/development   (admin)
 *   {"public_keys": ["<PEM>", ...], "valid_seconds": N}
 *
 * The reply carries a compact JWS (ES256) signed with the service's TLS key
 * (the key of the certificate devices pin as their server CA), whose
 * payload binds the grant to the device's UEID, says when it was issued and
 * when it expires, and lists the signing keys whose packages the device
 * may install while it holds the capability. The device verifies it
 * (runtime/apps.h) before it stores it.
 *
 *   GET /device/v1/capabilities/development   (the device, over mTLS)
 *
 * returns the latest document granted to the calling device (identity from
 * its platform certificate), or 404 when it has none: rampartd fetches it
 * after every attestation, so a grant reaches the device without anyone
 * copying files, and a device whose grant is gone drops it. The latest
 * grant per device is kept in DATA/capabilities/<tenant>/<ueid>.jws. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "crypto/crypto.h"
#include "lib/cleanup.h"
#include "lib/fileio.h"
#include "server/devices.h"
#include "server/failures.h"
#include "server/http.h"
#include "server/routes.h"
#include "server/srv_int.h"
#include "store/devices.h"

#define CAP_MAX_KEYS 8
#define CAP_DEFAULT_S (7 * 24 * 3600)
#define CAP_MAX_S (90 * 24 * 3600)
#define CAP_KEY_PEM_MAX 1024
#define CAP_DOC_MAX (16 * 1024)

static int grant_path(struct srv_req *r, const char *tenant, const char *ueid, char *out, size_t cap,
                      bool mkdirs, struct rp_err *err)
{
        const char *data = srv_req_server(r)->data_dir;
        int n = snprintf(out, cap, "%s/capabilities/%s", data, tenant);
        if (n < 0 || (size_t)n >= cap)
                return rp_err_set(err, -ENAMETOOLONG, "capability path too long");
        if (mkdirs) {
                int rc = rp_mkdir_p(out, 0700);
                if (rc < 0)
                        return rp_err_set(err, rc, "cannot create '%s': %s", out, strerror(-rc));
        }
        n = snprintf(out, cap, "%s/capabilities/%s/%s.jws", data, tenant, ueid);
        if (n < 0 || (size_t)n >= cap)
                return rp_err_set(err, -ENAMETOOLONG, "capability path too long");
        return 0;
}

static void grant_development(struct srv_req *r)
{
        static const struct srv_field fields[] = {
                { "public_keys", SRV_F_ARRAY, SRV_F_REQUIRED, 0 },
                { "valid_seconds", SRV_F_INT, 0, 0 },
        };
        _cleanup_(json_decrefp) json_t *b = NULL, *keys = NULL, *payload = NULL, *out = NULL;
        _cleanup_(cr_key_freep) struct cr_key *signer = NULL;
        _cleanup_free_ char *text = NULL, *jws = NULL;
        struct store_device dev;
        struct rp_err err = {0};
        const char *ueid = srv_req_param(r, "device");
        json_int_t valid = CAP_DEFAULT_S;
        json_t *v;
        size_t i;

        srv_audit_target(r, ueid);
        /* the device first: another tenant's device is simply not found */
        if (!srv_ueid_valid(ueid))
                return srv_reply_error(r, 404, "not_found", "no device '%.64s'", ueid);
        memset(&dev, 0, sizeof(dev));
        if (store_device_get(srv_req_store(r), srv_req_tenant(r), ueid, &dev, &err) < 0)
                return srv_reply_err(r, &err);
        if (srv_req_json(r, SRV_FIELDS(fields), &b) < 0)
                return;
        if ((v = json_object_get(b, "valid_seconds")) && !json_is_null(v)) {
                valid = json_integer_value(v);
                if (valid < 60 || valid > CAP_MAX_S)
                        return srv_reply_error(r, 400, "bad_request",
                                               "'valid_seconds' is %lld, allowed 60..%d", (long long)valid,
                                               CAP_MAX_S);
        }
        json_t *pk = json_object_get(b, "public_keys");
        if (json_array_size(pk) < 1 || json_array_size(pk) > CAP_MAX_KEYS)
                return srv_reply_error(r, 400, "bad_request", "'public_keys' must list 1..%d keys",
                                       CAP_MAX_KEYS);
        keys = json_array();
        json_array_foreach(pk, i, v) {
                struct cr_key *k = NULL;
                _cleanup_free_ char *pem = NULL;
                const char *s = json_string_value(v);
                if (!s || strlen(s) > CAP_KEY_PEM_MAX || cr_key_from_pem(s, strlen(s), &k, &err) < 0)
                        return srv_reply_error(r, 400, "bad_request",
                                               "'public_keys[%zu]' is not a P-256 public key in PEM", i);
                /* canonical form, public part only, whatever was sent */
                int rc = cr_key_to_pem(k, false, &pem, &err);
                cr_key_free(k);
                if (rc < 0)
                        return srv_reply_err(r, &err);
                json_array_append_new(keys, json_string(pem));
        }
        int64_t now = srv_now_ms() / 1000;
        payload = json_pack("{s:s, s:s, s:s, s:I, s:I, s:O}", "capability", "development", "ueid", ueid,
                            "tenant", srv_req_tenant(r), "iat", (json_int_t)now,
                            "exp", (json_int_t)(now + valid), "keys", keys);
        if (!payload || !(text = json_dumps(payload, JSON_COMPACT | JSON_SORT_KEYS)))
                return srv_reply_error(r, 500, "internal", "cannot encode the capability");
        if (cr_key_load_pem(srv_req_server(r)->key_file, &signer, &err) < 0 ||
            cr_jws_sign(signer, NULL, "rampart-capability", text, strlen(text), &jws, &err) < 0)
                return srv_reply_err(r, &err);
        {
                char path[1024];
                if (grant_path(r, srv_req_tenant(r), ueid, path, sizeof(path), true, &err) < 0 ||
                    rp_write_file_atomic(path, jws, strlen(jws), 0600, &err) < 0)
                        return srv_reply_err(r, &err);
        }
        srv_audit_detail(r, "development capability, %zu key(s), %lld s", json_array_size(keys),
                         (long long)valid);
        out = json_pack("{s:s, s:s, s:s, s:I, s:I}", "capability", "development", "ueid", ueid, "document",
                        jws, "issued_at", (json_int_t)now, "expires_at", (json_int_t)(now + valid));
        srv_reply_json(r, 200, steal_ptr(out));
}

static void device_development(struct srv_req *r)
{
        struct srv_device_id dev;
        struct rp_err err = {0};
        _cleanup_free_ uint8_t *doc = NULL;
        char path[1024];
        size_t len;

        if (srv_device_auth(r, &dev) < 0)
                return;
        if (grant_path(r, dev.tenant_id, dev.ueid, path, sizeof(path), false, &err) < 0)
                return srv_reply_err(r, &err);
        if (rp_read_file(path, CAP_DOC_MAX, &doc, &len, &err) < 0) {
                if (err.code == -ENOENT)
                        return srv_reply_error(r, 404, "not_found",
                                               "no development capability granted to device %s", dev.ueid);
                return srv_reply_err(r, &err);
        }
        srv_reply_text(r, 200, "application/jose", doc, len);
}

static const struct srv_route routes[] = {
        {"GET", "/device/v1/capabilities/development", SRV_AUTH_DEVICE, device_development,
         "device.capability_fetch", 0},
        {"POST", "/api/v1/devices/{device}/capabilities/development", SRV_AUTH_ADMIN, grant_development,
         "device.capability_development", 0},
};
const struct srv_route_set srv_routes_capabilities = SRV_ROUTE_SET(routes);

/* ca.c - tenant CA routes: list, the bundle for relying parties, and
 * rotation (see ca.h for the overlap rule).
 *
 * rotate, with no "next" CA: creates generation current+1 as "next"
 *   (P-256, SRV_CA_VALIDITY_DAYS). It is published in the bundle at once
 *   but signs nothing yet, so relying parties can pick it up first.
 * rotate, with a "next" CA: promotes it to "current" (it signs device
 *   certificates from now on) and retires the old current, which stays in
 *   the bundle until its own notAfter. */
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/encode.h"
#include "server/ca.h"
#include "server/devices.h"
#include "server/routes.h"
#include "server/tenant_ca.h"

bool srv_ca_served(const struct store_ca *ca, int64_t now_ms)
{
        if (!strcmp(ca->state, "current") || !strcmp(ca->state, "next"))
                return true;
        return !strcmp(ca->state, "retired") && ca->not_after_ms > now_ms;
}

static int state_rank(const char *s)
{
        return !strcmp(s, "current") ? 0 : !strcmp(s, "next") ? 1 : 2;
}

static int bundle_order(const void *a, const void *b)
{
        const struct store_ca *x = a, *y = b;
        int d = state_rank(x->state) - state_rank(y->state);
        if (d)
                return d;
        return y->generation - x->generation;  /* newest retired first */
}

/* Every CA of the tenant (a tenant has few: one per rotation). */
static int ca_all(struct store *st, const char *tenant_id, struct store_ca **ret, size_t *ret_n,
                  struct rp_err *err)
{
        struct store_ca *all = NULL;
        size_t n = 0;
        int64_t after = 0;
        do {
                struct store_ca *items = NULL;
                size_t k = 0;
                int64_t next = 0;
                int r = store_ca_list(st, tenant_id, after, 100, &items, &k, &next, err);
                if (r < 0) {
                        free(all);
                        return r;
                }
                struct store_ca *grown = k ? reallocarray(all, n + k, sizeof(*all)) : all;
                if (k && !grown) {
                        free(items);
                        free(all);
                        return rp_err_set(err, -ENOMEM, "out of memory");
                }
                all = grown;
                if (k)
                        memcpy(all + n, items, k * sizeof(*items));
                n += k;
                free(items);
                after = next;
        } while (after > 0);
        *ret = all;
        *ret_n = n;
        return 0;
}

int srv_ca_bundle(struct store *st, const char *tenant_id, int64_t now_ms, char **ret_pem,
                  size_t *ret_n, struct rp_err *err)
{
        _cleanup_free_ struct store_ca *all = NULL;
        size_t n = 0, served = 0;
        int r = ca_all(st, tenant_id, &all, &n, err);
        if (r < 0)
                return r;
        qsort(all, n, sizeof(*all), bundle_order);
        struct rp_buf b = {.max = (size_t)SRV_CA_MAX_SERVED * 2 * STORE_PEM_MAX};
        for (size_t i = 0; i < n; i++) {
                if (!srv_ca_served(&all[i], now_ms))
                        continue;
                if (rp_buf_append(&b, all[i].cert_pem, strlen(all[i].cert_pem)) < 0) {
                        rp_buf_free(&b);
                        return rp_err_set(err, -ENOMEM, "CA bundle too large");
                }
                served++;
        }
        if (served == 0) {
                rp_buf_free(&b);
                return rp_err_set(err, -ENOENT, "tenant '%s' has no CA", tenant_id);
        }
        char *pem = malloc(b.len + 1);
        if (!pem) {
                rp_buf_free(&b);
                return rp_err_set(err, -ENOMEM, "out of memory");
        }
        memcpy(pem, b.data, b.len);
        pem[b.len] = 0;
        rp_buf_free(&b);
        *ret_pem = pem;
        if (ret_n)
                *ret_n = served;
        return 0;
}

static json_t *ca_json(const struct store_ca *c, int64_t now_ms)
{
        _cleanup_(cr_cert_freep) struct cr_cert *cert = NULL;
        uint8_t fpr[CR_SHA256_LEN];
        char hex[2 * CR_SHA256_LEN + 1] = "";
        if (cr_cert_from_pem(c->cert_pem, strlen(c->cert_pem), &cert, NULL) == 0 &&
            cr_cert_fingerprint(cert, fpr) == 0)
                rp_hex_encode(fpr, sizeof(fpr), hex);
        return json_pack("{s:s,s:i,s:s,s:b,s:o,s:o,s:o,s:s,s:s}", "id", c->id, "generation",
                         c->generation, "state", c->state, "served", srv_ca_served(c, now_ms),
                         "not_before", srv_json_time(c->not_before_ms), "not_after",
                         srv_json_time(c->not_after_ms), "created_at", srv_json_time(c->created_ms),
                         "fingerprint", hex, "cert_pem", c->cert_pem);
}

static void ca_list(struct srv_req *r)
{
        struct srv_page pg;
        if (srv_req_page(r, &pg) < 0)
                return;
        struct store_ca *items = NULL;
        size_t n = 0;
        int64_t next = 0;
        struct rp_err err = {0};
        if (store_ca_list(srv_req_store(r), srv_req_tenant(r), pg.after, pg.limit, &items, &n,
                          &next, &err) < 0)
                return srv_reply_err(r, &err);
        json_t *a = json_array();
        int64_t now = srv_now_ms();
        for (size_t i = 0; i < n; i++)
                json_array_append_new(a, ca_json(&items[i], now));
        free(items);
        srv_reply_page(r, a, next);
}

static void ca_bundle(struct srv_req *r)
{
        _cleanup_free_ char *pem = NULL;
        size_t n = 0;
        struct rp_err err = {0};
        if (srv_ca_bundle(srv_req_store(r), srv_req_tenant(r), srv_now_ms(), &pem, &n, &err) < 0)
                return srv_reply_err(r, &err);
        srv_reply_json(r, 200, json_pack("{s:s,s:I}", "pem", pem, "count", (json_int_t)n));
}

static void ca_rotate(struct srv_req *r)
{
        _cleanup_(json_decrefp) json_t *b = NULL;
        if (srv_req_json_opt(r, NULL, 0, &b) < 0)
                return;
        struct store *st = srv_req_store(r);
        const char *tenant = srv_req_tenant(r);
        struct rp_err err = {0};
        int64_t now = srv_now_ms();
        _cleanup_free_ struct store_ca *cas = calloc(3, sizeof(*cas));
        if (!cas)
                return srv_reply_error(r, 503, "unavailable", "out of memory");
        struct store_ca *cur = &cas[0], *next = &cas[1], *made = &cas[2];
        const char *action;
        _cleanup_(store_tx_guard) struct store *tx = NULL;
        int k = store_tx_begin(st, &err);
        if (k < 0)
                return srv_reply_err(r, &err);
        tx = st;
        if ((k = store_ca_get_by_state(st, tenant, "current", cur, &err)) < 0)
                return srv_reply_err(r, &err);
        k = store_ca_get_by_state(st, tenant, "next", next, &err);
        if (k < 0 && k != -ENOENT)
                return srv_reply_err(r, &err);
        if (k == 0) {
                action = "promoted";
                if ((k = store_ca_set_state(st, tenant, cur->id, "retired", &err)) < 0 ||
                    (k = store_ca_set_state(st, tenant, next->id, "current", &err)) < 0)
                        return srv_reply_err(r, &err);
                srv_audit_target(r, next->id);
                srv_audit_detail(r, "promoted generation %d, retired %d", next->generation,
                                 cur->generation);
        } else {
                _cleanup_free_ struct store_ca *all = NULL;
                size_t n = 0, served = 0;
                if ((k = ca_all(st, tenant, &all, &n, &err)) < 0)
                        return srv_reply_err(r, &err);
                for (size_t i = 0; i < n; i++)
                        served += srv_ca_served(&all[i], now);
                if (served >= SRV_CA_MAX_SERVED)
                        return srv_reply_error(r, 409, "conflict",
                                               "%zu CAs are served already (the limit is %d); "
                                               "rotate again when a retired CA has expired",
                                               served, SRV_CA_MAX_SERVED);
                action = "created_next";
                if ((k = srv_tenant_ca_create(srv_req_server(r), tenant, cur->generation + 1,
                                              "next", made, &err)) < 0)
                        return srv_reply_err(r, &err);
                srv_audit_target(r, made->id);
                srv_audit_detail(r, "created generation %d as next", made->generation);
        }
        if ((k = store_tx_commit(st, &err)) < 0) {
                tx = NULL;
                return srv_reply_err(r, &err);
        }
        tx = NULL;
        json_t *out = json_pack("{s:s}", "action", action);
        struct store_ca c;
        if (store_ca_get_by_state(st, tenant, "current", &c, &err) == 0)
                json_object_set_new(out, "current", ca_json(&c, now));
        if (store_ca_get_by_state(st, tenant, "next", &c, &err) == 0)
                json_object_set_new(out, "next", ca_json(&c, now));
        else
                json_object_set_new(out, "next", json_null());
        srv_reply_json(r, 200, out);
}

static const struct srv_route routes[] = {
        {"GET", "/api/v1/ca", SRV_AUTH_READER, ca_list, "ca.list", 0},
        {"GET", "/api/v1/ca/bundle", SRV_AUTH_READER, ca_bundle, "ca.bundle", 0},
        {"POST", "/api/v1/ca/rotate", SRV_AUTH_ADMIN, ca_rotate, "ca.rotate", 0},
};
const struct srv_route_set srv_routes_ca = SRV_ROUTE_SET(routes);

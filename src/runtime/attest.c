/* attest.c - see attest.h. */
#include "runtime/attest.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/monitor_key.h"
#include "lib/cleanup.h"
#include "lib/encode.h"
#include "lib/log.h"

#define EST_JSON "application/json"
#define EST_PEM "application/x-pem-file"

struct signer {
        struct mon_client *mon;
        uint32_t handle;
};

char *rtd_b64_encode(const uint8_t *in, size_t len)
{
        static const char tab[] =
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        size_t n = (len + 2) / 3 * 4;
        char *out = malloc(n + 1), *o = out;

        if (!out)
                return NULL;
        for (size_t i = 0; i < len; i += 3) {
                uint32_t v = (uint32_t)in[i] << 16;
                size_t left = len - i;
                if (left > 1)
                        v |= (uint32_t)in[i + 1] << 8;
                if (left > 2)
                        v |= in[i + 2];
                *o++ = tab[(v >> 18) & 63];
                *o++ = tab[(v >> 12) & 63];
                *o++ = left > 1 ? tab[(v >> 6) & 63] : '=';
                *o++ = left > 2 ? tab[v & 63] : '=';
        }
        *o = 0;
        return out;
}

/* Fills res and returns `code`. */
__attribute__((format(printf, 4, 5))) static int fail(struct rtd_attest_result *res, int code,
                                                      const char *reason, const char *fmt, ...)
{
        va_list ap;
        snprintf(res->reason, sizeof(res->reason), "%s", reason);
        va_start(ap, fmt);
        vsnprintf(res->message, sizeof(res->message), fmt, ap);
        va_end(ap);
        return code;
}

static int transport_fail(struct rtd_attest_result *res, const struct rp_err *e)
{
        const char *reason = e->code == -EPERM   ? "tls_auth"
                             : e->code == -EFBIG ? "bad_response"
                                                 : "unreachable";
        return fail(res, e->code ? e->code : -EIO, reason, "%s", e->msg);
}

int rtd_est_parse_refusal(long status, const char *body, size_t len, const char *what,
                          struct rtd_attest_result *res)
{
        _cleanup_(json_decrefp) json_t *o = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
        json_t *e = json_object_get(o, "error");
        const char *code = json_string_value(json_object_get(e, "code"));
        const char *msg = json_string_value(json_object_get(e, "message"));
        bool token = code && *code && strlen(code) < RTD_REASON_MAX;

        for (const char *p = code; token && *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' ||
                      *p == '-' || *p == '.'))
                        token = false;
        res->http_status = status;
        if (!token)
                return fail(res, -EPROTO, "bad_response", "%s: HTTP %ld without a reason code",
                            what, status);
        return fail(res, -EACCES, code, "%s: HTTP %ld %s: %s", what, status, code,
                    msg ? msg : "");
}

static int refusal(struct rtd_attest_result *res, const struct rtd_http_resp *r, const char *what)
{
        return rtd_est_parse_refusal(r->status, r->body, r->len, what, res);
}

int rtd_est_parse_nonce(const char *body, size_t len, uint8_t **ret_nonce, size_t *ret_len,
                        struct rtd_attest_result *res)
{
        _cleanup_(json_decrefp) json_t *o = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
        uint8_t *nonce = NULL;
        size_t n = 0;
        const char *s = json_string_value(json_object_get(o, "nonce"));

        if (!s || rp_b64url_decode(s, strlen(s), &nonce, &n) < 0)
                return fail(res, -EPROTO, "bad_response", "nonce: reply has no base64url nonce");
        if (n < 8 || n > RTD_NONCE_MAX) {
                free(nonce);
                return fail(res, -EPROTO, "bad_response", "nonce: %zu bytes, expected 8..%d", n,
                            RTD_NONCE_MAX);
        }
        *ret_nonce = nonce;
        *ret_len = n;
        return 0;
}

static int get_nonce(struct rtd_attest *a, uint8_t **ret, size_t *ret_len,
                     struct rtd_attest_result *res)
{
        _cleanup_free_ char *path = NULL;
        struct rtd_http_resp r = {0};
        struct rp_err e = {0};
        int rc;

        if (asprintf(&path, "/.well-known/est/%s/nonce", a->tenant) < 0)
                return fail(res, -ENOMEM, "internal", "out of memory");
        rc = rtd_http_request(&a->http, "POST", path, NULL, NULL, 0, EST_JSON, &r, &e);
        if (rc < 0)
                return transport_fail(res, &e);
        if (r.status != 200)
                rc = refusal(res, &r, "nonce");
        else
                rc = rtd_est_parse_nonce(r.body, r.len, ret, ret_len, res);
        rtd_http_resp_clear(&r);
        return rc;
}

static int monitor_sign(void *ud, const uint8_t digest[CR_SHA256_LEN], uint8_t **ret_sig,
                        size_t *ret_len)
{
        struct signer *s = ud;
        struct rp_err e = {0};
        int r = mon_tls_sign(s->mon, s->handle, digest, ret_sig, ret_len, &e);
        if (r < 0)
                rp_warn("rampartd", "TLS signature by the monitor failed: %s", e.msg);
        return r;
}

/* Builds the enroll body. */
static int enroll_body(struct rtd_attest *a, enum rtd_purpose p, const uint8_t *csr,
                       size_t csr_len, const char *jws, char **ret, struct rtd_attest_result *res)
{
        _cleanup_free_ uint8_t *dev = NULL, *alias = NULL, *ca = NULL;
        _cleanup_free_ char *csr_b64 = NULL;
        _cleanup_(json_decrefp) json_t *o = NULL;
        size_t dl, al, cl = 0;
        struct rp_err e = {0};

        if (mon_get_chain(a->mon, true, &dev, &dl, &alias, &al, &ca, &cl, &e) < 0)
                return fail(res, e.code, "monitor", "get-chain: %s", e.msg);
        if (!ca)
                return fail(res, -EPROTO, "monitor", "get-chain: no device CA certificate");
        csr_b64 = rtd_b64_encode(csr, csr_len);
        if (!csr_b64)
                return fail(res, -ENOMEM, "internal", "out of memory");
        o = json_pack("{s:s, s:s, s:[s,s,s], s:s}", "csr", csr_b64, "evidence", jws, "chain",
                      (char *)dev, (char *)alias, (char *)ca, "purpose", rtd_purpose_name(p));
        if (!o || !(*ret = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER)))
                return fail(res, -ENOMEM, "internal", "cannot encode the enroll body");
        return 0;
}

int rtd_est_check_issued(const char *pem, size_t len, const uint8_t *csr, size_t csr_len,
                         const char *ueid, struct rtd_attest_result *res)
{
        _cleanup_(cr_cert_freep) struct cr_cert *c = NULL;
        _cleanup_(cr_csr_freep) struct cr_csr *req = NULL;
        _cleanup_(cr_key_freep) struct cr_key *ck = NULL, *rk = NULL;
        _cleanup_free_ char *cn = NULL, *serial = NULL;
        struct rp_err e = {0};
        time_t nb, na;

        if (cr_cert_from_pem(pem, len, &c, &e) < 0)
                return fail(res, -EPROTO, "bad_response", "issued certificate: %s", e.msg);
        if (cr_csr_parse(csr, csr_len, &req, &e) < 0 || cr_csr_pubkey(req, &rk) < 0 ||
            cr_cert_pubkey(c, &ck) < 0)
                return fail(res, -EPROTO, "bad_response", "issued certificate: cannot compare "
                            "keys: %s", e.msg);
        if (!cr_key_pub_equal(ck, rk))
                return fail(res, -EPROTO, "bad_response", "issued certificate does not certify "
                            "the key of the CSR");
        if (cr_cert_subject_cn(c, &cn) < 0 || strcmp(cn, ueid) != 0)
                return fail(res, -EPROTO, "bad_response", "issued certificate names '%s', not "
                            "this device '%s'", cn ? cn : "", ueid);
        if (cr_cert_validity(c, &nb, &na) < 0 || cr_cert_serial_hex(c, &serial) < 0)
                return fail(res, -EPROTO, "bad_response", "issued certificate: unreadable "
                            "validity or serial");
        res->not_after = na;
        snprintf(res->serial, sizeof(res->serial), "%s", serial);
        return 0;
}

int rtd_attest_enroll(struct rtd_attest *a, const struct mon_boot_info *bi, enum rtd_purpose p,
                      struct rtd_cert *current, bool allow_reenroll,
                      struct rtd_attest_result *res)
{
        _cleanup_free_ uint8_t *nonce = NULL, *csr = NULL;
        _cleanup_free_ char *jws = NULL, *body = NULL, *path = NULL;
        _cleanup_(cr_monitor_key_freep) struct cr_monitor_key *mk = NULL;
        struct rtd_http http = a->http;
        struct rtd_http_resp r = {0};
        struct signer signer = {0};
        struct rp_err e = {0};
        size_t nonce_len = 0, csr_len = 0;
        uint32_t handle = 0;
        bool reenroll = allow_reenroll && current &&
                        rtd_cert_usable(current, bi->bootcount, time(NULL));
        int rc;

        memset(res, 0, sizeof(*res));
        res->reenroll = reenroll;
        rc = get_nonce(a, &nonce, &nonce_len, res);
        if (rc < 0)
                return rc;
        if (mon_tls_key_create(a->mon, NULL, &handle, &csr, &csr_len, &e) < 0)
                return fail(res, e.code, "monitor", "tls-key-create: %s", e.msg);
        if (mon_attest(a->mon, nonce, nonce_len, handle, a->submods, a->n_submods, &jws, &e) < 0) {
                rc = fail(res, e.code, "monitor", "attest: %s", e.msg);
                goto out;
        }
        cr_wipe(nonce, nonce_len);
        rc = enroll_body(a, p, csr, csr_len, jws, &body, res);
        if (rc < 0)
                goto out;
        if (reenroll) {
                signer.mon = a->mon;
                signer.handle = current->handle;
                if (cr_monitor_key_new(current->cert, monitor_sign, &signer, &mk, &e) < 0) {
                        rc = fail(res, e.code, "internal", "%s", e.msg);
                        goto out;
                }
                http.client = mk;
        }
        if (asprintf(&path, "/.well-known/est/%s/%s", a->tenant,
                     reenroll ? "simplereenroll" : "simpleenroll") < 0) {
                rc = fail(res, -ENOMEM, "internal", "out of memory");
                goto out;
        }
        rc = rtd_http_request(&http, "POST", path, EST_JSON, body, strlen(body), EST_PEM, &r, &e);
        if (rc < 0) {
                rc = transport_fail(res, &e);
                goto out;
        }
        res->http_status = r.status;
        if (r.status != 200) {
                rc = refusal(res, &r, reenroll ? "simplereenroll" : "simpleenroll");
                goto out;
        }
        rc = rtd_est_check_issued(r.body, r.len, csr, csr_len, bi->ueid, res);
        if (rc < 0)
                goto out;
        if (rtd_cert_store(a->data_dir, p, r.body, r.len, handle, bi->bootcount, bi->fwid,
                           &e) < 0) {
                rc = fail(res, e.code, "store", "%s", e.msg);
                goto out;
        }
        /* the new key is in use now; the old one of this boot can go */
        if (current && current->bootcount == bi->bootcount && current->handle &&
            current->handle != handle &&
            mon_tls_key_destroy(a->mon, current->handle, &e) < 0)
                rp_warn("rampartd", "cannot destroy the previous %s key %u: %s",
                        rtd_purpose_name(p), current->handle, e.msg);
        handle = 0;
        snprintf(res->reason, sizeof(res->reason), "ok");
        snprintf(res->message, sizeof(res->message), "%s certificate serial %s issued",
                 rtd_purpose_name(p), res->serial);
        rc = 0;
out:
        rtd_http_resp_clear(&r);
        if (nonce)
                cr_wipe(nonce, nonce_len);
        if (handle && mon_tls_key_destroy(a->mon, handle, &e) < 0)
                rp_warn("rampartd", "cannot destroy the unused %s key %u: %s",
                        rtd_purpose_name(p), handle, e.msg);
        return rc;
}

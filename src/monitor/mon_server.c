/* mon_server.c - the request handlers of the security monitor.
 *
 * Trust: the normal world is not trusted. Every request is decoded and
 * checked against its field rules before anything acts on it. The Alias key
 * signs only evidence the monitor builds itself (its own identity, boot
 * state and measurements, plus a caller nonce, a key it made and image
 * digests that are all checked), so it is not a signing oracle. TLS keys
 * sign caller digests, which is what a TLS key is for. */
#include "monitor/mon_server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/encode.h"

#define EVIDENCE_MAX 8192

static void reply_error(struct mon_enc *out, uint8_t type, uint8_t status, const char *msg)
{
        mon_enc_init(out, type | MON_REPLY, status);
        mon_put_str(out, MON_T_ERROR, msg);
        if (mon_enc_finish(out) < 0) {
                mon_enc_init(out, type | MON_REPLY, status);
                if (mon_enc_finish(out) < 0)
                        out->len = MON_HDR_LEN;
        }
}

static int find_tls(const struct mon_ctx *c, uint32_t handle)
{
        for (int i = 0; i < MON_MAX_TLS_KEYS; i++)
                if (c->tls[i] && c->tls_handle[i] == handle)
                        return i;
        return -1;
}

static int put_cert(struct mon_enc *out, uint8_t tag, const struct cr_cert *cert, bool pem,
                    struct rp_err *err)
{
        uint8_t *der = NULL;
        char *p = NULL;
        size_t n;
        int r;

        if (!cert)
                return 0;
        if (pem) {
                r = cr_cert_to_pem(cert, &p, err);
                if (r == 0)
                        mon_put_str(out, tag, p);
                free(p);
                return r;
        }
        r = cr_cert_to_der(cert, &der, &n);
        if (r < 0)
                return rp_err_set(err, r, "cannot encode a certificate");
        mon_put(out, tag, der, n);
        free(der);
        return 0;
}

static const char *dbgstat(const struct mon_ctx *c)
{
        /* RFC 9711 debug status: 0 enabled, 3 disabled-permanently */
        return c->debug || c->lifecycle != ROT_LC_LOCKED ? "0" : "3";
}

/* The evidence claims are built here from what boot measured; the caller
 * contributes only checked values. Every string is from a restricted
 * alphabet (hex, base64url, [A-Za-z0-9._-], verified image metadata
 * [A-Za-z0-9.+~_-]), so no JSON escaping is needed. */
static int do_attest(struct mon_ctx *c, const struct mon_msg *m, struct mon_enc *out,
                     uint8_t *status, struct rp_err *err)
{
        const struct mon_field *nonce = mon_get(m, MON_T_NONCE);
        char nonce_b64[2 * MON_NONCE_MAX], fwid[2 * CR_SHA256_LEN + 1], jkt[44] = "";
        char claims[EVIDENCE_MAX], *jws = NULL;
        size_t off = 0, room = sizeof(claims);
        uint32_t handle;
        int r, n;

        rp_b64url_encode(nonce->val, nonce->len, nonce_b64);
        rp_hex_encode(c->fwid, sizeof(c->fwid), fwid);
        if (mon_get(m, MON_T_HANDLE)) {
                int i;
                if (mon_get_u32(m, MON_T_HANDLE, &handle) < 0 || (i = find_tls(c, handle)) < 0) {
                        *status = MON_E_NOT_FOUND;
                        return rp_err_set(err, -ENOENT, "no TLS key with that handle");
                }
                r = cr_key_jwk_thumbprint(c->tls[i], jkt);
                if (r < 0)
                        return rp_err_set(err, r, "cannot compute the key thumbprint");
        }
        n = snprintf(claims, room,
                     "{\"eat_nonce\":\"%s\",\"ueid\":\"%s\",\"dbgstat\":%s,\"bootcount\":%llu,"
                     "\"swname\":\"%s\",\"swversion\":\"%s\",\"svn\":%u,\"slot\":\"%s\","
                     "\"fwid\":\"%s\",\"iat\":%lld",
                     nonce_b64, c->ueid, dbgstat(c), (unsigned long long)c->bootcount, c->os_name,
                     c->os_version, c->svn, c->slot, fwid, (long long)time(NULL));
        if (n < 0 || (size_t)n >= room)
                goto too_long;
        off = (size_t)n;
        if (jkt[0]) {
                n = snprintf(claims + off, room - off, ",\"cnf\":{\"jkt\":\"%s\"}", jkt);
                if (n < 0 || (size_t)n >= room - off)
                        goto too_long;
                off += (size_t)n;
        }
        n = snprintf(claims + off, room - off, ",\"submods\":{");
        if (n < 0 || (size_t)n >= room - off)
                goto too_long;
        off += (size_t)n;
        for (size_t i = 0, k = 0; i < m->n; i++) {
                const struct mon_field *f = &m->f[i];
                char hex[65];
                if (f->tag != MON_T_SUBMOD)
                        continue;
                for (size_t j = 0; j < i; j++)
                        if (m->f[j].tag == MON_T_SUBMOD && m->f[j].len == f->len &&
                            !memcmp(m->f[j].val + 32, f->val + 32, f->len - 32U)) {
                                *status = MON_E_MALFORMED;
                                return rp_err_set(err, -EBADMSG, "submodule '%.*s' named twice",
                                                  (int)(f->len - 32), (const char *)f->val + 32);
                        }
                rp_hex_encode(f->val, 32, hex);
                n = snprintf(claims + off, room - off, "%s\"%.*s\":{\"digest\":\"%s\"}",
                             k++ ? "," : "", (int)(f->len - 32), (const char *)f->val + 32, hex);
                if (n < 0 || (size_t)n >= room - off)
                        goto too_long;
                off += (size_t)n;
        }
        n = snprintf(claims + off, room - off, "}}");
        if (n < 0 || (size_t)n >= room - off)
                goto too_long;
        off += (size_t)n;
        {
                char kid[DICE_UEID_HEX_LEN + 1] = "";
                char *cn = NULL;
                if (cr_cert_subject_cn(c->alias_cert, &cn) == 0 && strlen(cn) < sizeof(kid))
                        strcpy(kid, cn);
                free(cn);
                r = cr_jws_sign(c->alias, kid[0] ? kid : NULL, "eat+jwt", claims, off, &jws, err);
        }
        if (r < 0)
                return r;
        mon_put_str(out, MON_T_EVIDENCE, jws);
        free(jws);
        return 0;
too_long:
        *status = MON_E_REFUSED;
        return rp_err_set(err, -E2BIG, "evidence claims over %d bytes", EVIDENCE_MAX);
}

static int do_key_create(struct mon_ctx *c, const struct mon_msg *m, struct mon_enc *out,
                         uint8_t *status, struct rp_err *err)
{
        char cn[MON_CN_MAX + 1];
        struct cr_key *k = NULL;
        struct cr_csr *csr = NULL;
        uint8_t *der = NULL;
        size_t n;
        int slot = -1, r;

        for (int i = 0; i < MON_MAX_TLS_KEYS && slot < 0; i++)
                if (!c->tls[i])
                        slot = i;
        if (slot < 0) {
                *status = MON_E_NO_SPACE;
                return rp_err_set(err, -ENOSPC, "all %d TLS key slots are in use; destroy one "
                                  "first", MON_MAX_TLS_KEYS);
        }
        if (mon_get_str(m, MON_T_CN, cn, sizeof(cn)) < 0)
                snprintf(cn, sizeof(cn), "%s", c->ueid);
        r = cr_key_generate(&k, err);
        if (r == 0)
                r = cr_csr_new(k, cn, &csr, err);
        if (r == 0 && (r = cr_csr_to_der(csr, &der, &n)) < 0)
                rp_err_set(err, r, "cannot encode the CSR");
        cr_csr_free(csr);
        if (r < 0) {
                cr_key_free(k);
                return r;
        }
        c->tls[slot] = k;
        c->tls_handle[slot] = ++c->next_handle;
        mon_put_u32(out, MON_T_HANDLE, c->tls_handle[slot]);
        mon_put(out, MON_T_CSR, der, n);
        free(der);
        return 0;
}

static int do_tls(struct mon_ctx *c, const struct mon_msg *m, struct mon_enc *out,
                  uint8_t *status, struct rp_err *err)
{
        uint32_t handle;
        uint8_t *sig = NULL;
        size_t n;
        int i, r;

        if (mon_get_u32(m, MON_T_HANDLE, &handle) < 0 || (i = find_tls(c, handle)) < 0) {
                *status = MON_E_NOT_FOUND;
                return rp_err_set(err, -ENOENT, "no TLS key with that handle");
        }
        if (m->type == MON_TLS_KEY_DESTROY) {
                cr_key_free(c->tls[i]);
                c->tls[i] = NULL;
                return 0;
        }
        r = cr_sign_digest(c->tls[i], mon_get(m, MON_T_DIGEST)->val, &sig, &n, err);
        if (r < 0)
                return r;
        mon_put(out, MON_T_SIG, sig, n);
        free(sig);
        return 0;
}

static int do_counter(struct mon_ctx *c, const struct mon_msg *m, struct mon_enc *out,
                      uint8_t *status, struct rp_err *err)
{
        char name[ROT_COUNTER_NAME_MAX + 1];
        uint64_t v, want;
        int r;

        if (mon_get_str(m, MON_T_NAME, name, sizeof(name)) < 0)
                return rp_err_set(err, -EBADMSG, "bad counter name");
        if (m->type == MON_COUNTER_ADVANCE) {
                if (mon_get_u64(m, MON_T_VALUE, &want) < 0)
                        return rp_err_set(err, -EBADMSG, "bad counter value");
                /* The OS floor may not pass the running OS: that would make
                 * the verified image unbootable on the next boot. */
                if (!strcmp(name, "os") && want > c->svn) {
                        *status = MON_E_REFUSED;
                        return rp_err_set(err, -ERANGE, "the 'os' floor cannot exceed the running "
                                          "OS's SVN %u (asked %llu)", c->svn,
                                          (unsigned long long)want);
                }
                r = rot_counter_advance(c->rot, name, want, err);
                if (r == -ERANGE)
                        *status = MON_E_REFUSED;
                if (r < 0)
                        return r;
        }
        r = rot_counter_read(c->rot, name, &v, err);
        if (r < 0)
                return r;
        mon_put_u64(out, MON_T_VALUE, v);
        return 0;
}

void mon_handle(struct mon_ctx *c, const uint8_t *req, size_t len, int fd, struct mon_enc *out)
{
        struct mon_msg m;
        struct rp_err err = {0};
        uint8_t status = MON_E_INTERNAL;
        const struct mon_field *fmt;
        int r;

        if (len > MON_MAX_MSG) {
                char msg[96];
                snprintf(msg, sizeof(msg), "message of %zu bytes is over the limit of %d", len,
                         MON_MAX_MSG);
                reply_error(out, len >= 3 ? req[2] : 0, MON_E_TOO_LARGE, msg);
                return;
        }
        r = mon_decode(req, len, &m, &err);
        if (r < 0) {
                reply_error(out, len >= 3 ? req[2] : 0,
                            r == -E2BIG ? MON_E_TOO_LARGE : MON_E_MALFORMED, err.msg);
                return;
        }
        r = mon_request_check(&m, &err);
        if (r < 0) {
                reply_error(out, m.type, r == -ENOSYS ? MON_E_UNKNOWN_TYPE : MON_E_MALFORMED,
                            err.msg);
                return;
        }
        mon_enc_init(out, m.type | MON_REPLY, MON_OK);
        switch (m.type) {
        case MON_BOOT_INFO:
                mon_put_str(out, MON_T_UEID, c->ueid);
                mon_put_str(out, MON_T_SLOT, c->slot);
                mon_put_str(out, MON_T_OS_NAME, c->os_name);
                mon_put_str(out, MON_T_OS_VERSION, c->os_version);
                mon_put_u64(out, MON_T_SVN, c->svn);
                mon_put_u64(out, MON_T_BOOTCOUNT, c->bootcount);
                mon_put_u8(out, MON_T_DEBUG, c->debug);
                mon_put_str(out, MON_T_LIFECYCLE, rot_lifecycle_name(c->lifecycle));
                mon_put_u8(out, MON_T_TRIAL, c->trial);
                mon_put(out, MON_T_FWID, c->fwid, sizeof(c->fwid));
                break;
        case MON_GET_CHAIN:
                fmt = mon_get(&m, MON_T_FORMAT);
                r = put_cert(out, MON_T_CERT_DEVICEID, c->deviceid_cert, fmt && fmt->val[0], &err);
                if (r == 0)
                        r = put_cert(out, MON_T_CERT_ALIAS, c->alias_cert, fmt && fmt->val[0], &err);
                if (r == 0)
                        r = put_cert(out, MON_T_CERT_DEVICE_CA, c->device_ca, fmt && fmt->val[0],
                                     &err);
                break;
        case MON_ATTEST:
                r = do_attest(c, &m, out, &status, &err);
                break;
        case MON_TLS_KEY_CREATE:
                r = do_key_create(c, &m, out, &status, &err);
                break;
        case MON_TLS_SIGN:
        case MON_TLS_KEY_DESTROY:
                r = do_tls(c, &m, out, &status, &err);
                break;
        case MON_COUNTER_READ:
        case MON_COUNTER_ADVANCE:
                r = do_counter(c, &m, out, &status, &err);
                break;
        case MON_CONFIRM:
                if (!c->confirm)
                        r = rp_err_set(&err, -ENOTSUP, "this boot cannot confirm slots");
                else
                        r = c->confirm(c->userdata, &err);
                if (r == 0)
                        c->trial = false;
                break;
        case MON_REBOOT:
                c->reboot_requested = true;
                break;
        case MON_INSTALL_OS: {
                char slot[2], version[65];
                uint32_t svn;
                if (fd < 0)
                        r = rp_err_set(&err, -EBADF, "install-os needs the package as a "
                                       "descriptor (SCM_RIGHTS)");
                else if (!c->install)
                        r = rp_err_set(&err, -ENOTSUP, "this boot cannot install images");
                else
                        r = c->install(c->userdata, fd, mon_get(&m, MON_T_TRIAL)->val[0], slot,
                                       version, &svn, &err);
                if (r < 0) {
                        status = r == -EBADF ? MON_E_MALFORMED : MON_E_REFUSED;
                        break;
                }
                mon_put_str(out, MON_T_SLOT, slot);
                mon_put_str(out, MON_T_OS_VERSION, version);
                mon_put_u64(out, MON_T_SVN, svn);
                break;
        }
        }
        if (r < 0) {
                reply_error(out, m.type, status, err.msg[0] ? err.msg : "request failed");
                return;
        }
        if (mon_enc_finish(out) < 0)
                reply_error(out, m.type, MON_E_INTERNAL, "reply does not fit the message limit");
}

void mon_ctx_clear(struct mon_ctx *c)
{
        cr_key_free(c->alias);
        c->alias = NULL;
        for (int i = 0; i < MON_MAX_TLS_KEYS; i++) {
                cr_key_free(c->tls[i]);
                c->tls[i] = NULL;
        }
        cr_cert_free(c->device_ca);
        cr_cert_free(c->deviceid_cert);
        cr_cert_free(c->alias_cert);
        c->device_ca = c->deviceid_cert = c->alias_cert = NULL;
}

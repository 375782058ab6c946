/* attest_sim.c - see attest_sim.h. The boot part mirrors rampart-boot's
 * measure-and-derive step (src/boot/boot_main.c) for a given OS
 * measurement instead of a verified slot; everything after it is the
 * monitor's own request handling. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "crypto/crypto.h"
#include "dice/dice.h"
#include "lib/cleanup.h"
#include "lib/encode.h"
#include "lib/wipe.h"
#include "monitor/mon_proto.h"
#include "rot/rot.h"
#include "attest_sim.h"

char *att_b64(const uint8_t *in, size_t len)
{
        static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        char *out = malloc((len + 2) / 3 * 4 + 1), *p = out;
        if (!out)
                return NULL;
        for (size_t i = 0; i < len; i += 3) {
                uint32_t w = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0) |
                             (i + 2 < len ? in[i + 2] : 0);
                *p++ = a[(w >> 18) & 63];
                *p++ = a[(w >> 12) & 63];
                *p++ = i + 1 < len ? a[(w >> 6) & 63] : '=';
                *p++ = i + 2 < len ? a[w & 63] : '=';
        }
        *p = 0;
        return out;
}

void att_sim_free(struct att_sim *s)
{
        mon_ctx_clear(&s->ctx);
        if (s->rot)
                rot_close(s->rot);
        memset(s, 0, sizeof(*s));
}

int att_sim_boot(struct att_sim *s, const char *dir, const struct att_os *os,
                 const struct att_forge *f, struct rp_err *err)
{
        _cleanup_(cr_key_freep) struct cr_key *devkey = NULL;
        _cleanup_(cr_key_freep) struct cr_key *stranger = NULL;
        _cleanup_(rp_secret32_wipe) struct rp_secret32 uds = {{0}};
        uint8_t dev_id[DICE_ID_LEN], alias_id[DICE_ID_LEN];
        struct rot_fuses fu;
        struct dice_inputs in;
        struct dice_tcb_info tcb;
        char path[4096];
        int r;

        memset(s, 0, sizeof(*s));
        r = rot_emul_open(dir, &s->rot, err);
        if (r < 0)
                goto fail;
        snprintf(path, sizeof(path), "%s/deviceid.pem", dir);
        r = cr_cert_load_pem(path, &s->ctx.deviceid_cert, err);
        if (r < 0)
                goto fail;
        snprintf(path, sizeof(path), "%s/device_ca.pem", dir);
        r = cr_cert_load_pem(path, &s->ctx.device_ca, err);
        if (r < 0)
                goto fail;
        /* the fuses are read once: UDS and public fuses together */
        r = rot_uds_read(s->rot, &uds, &fu, err);
        if (r < 0)
                goto fail;
        memset(&in, 0, sizeof(in));
        memcpy(in.code_hash, os->fwid, 32);
        in.svn = os->svn;
        in.debug = fu.debug;
        in.locked = fu.lifecycle == ROT_LC_LOCKED;
        if (r == 0)
                r = dice_deviceid_derive(&uds, &devkey, dev_id, err);
        if (r == 0)
                r = dice_alias_derive(&uds, &in, &s->ctx.alias, alias_id, err);
        rp_secret32_wipe(&uds);
        if (r < 0)
                goto fail;
        memset(&tcb, 0, sizeof(tcb));
        snprintf(tcb.vendor, sizeof(tcb.vendor), "rampart");
        snprintf(tcb.model, sizeof(tcb.model), "%s", os->name);
        snprintf(tcb.version, sizeof(tcb.version), "%s", os->version);
        tcb.svn = os->svn;
        tcb.layer = 1;
        memcpy(tcb.fwid, os->fwid, 32);
        tcb.flags = (fu.debug ? DICE_FLAG_DEBUG | DICE_FLAG_NOT_SECURE : 0) |
                    (fu.lifecycle != ROT_LC_LOCKED ? DICE_FLAG_NOT_CONFIGURED : 0);
        if (f->alias_by_stranger || f->evidence_by_stranger) {
                r = cr_key_generate(&stranger, err);
                if (r < 0)
                        goto fail;
        }
        if (f->alias_by_stranger) {
                /* a look-alike issuer: the DeviceID's subject, another key */
                _cleanup_(cr_cert_freep) struct cr_cert *fake = NULL;
                char ueid[DICE_UEID_HEX_LEN + 1];
                dice_id_hex(dev_id, ueid);
                struct cr_cert_spec spec = {.cn = ueid, .o = "Rampart DeviceID", .ca = true,
                                            .path_len = 0, .key_usage = CR_KU_KEY_CERT_SIGN,
                                            .not_after = time(NULL) + 86400};
                r = cr_cert_self_signed(stranger, &spec, &fake, err);
                if (r == 0)
                        r = dice_alias_cert_issue(fake, stranger, s->ctx.alias, alias_id, dev_id,
                                                  &tcb, &s->ctx.alias_cert, err);
        } else {
                r = dice_alias_cert_issue(s->ctx.deviceid_cert, devkey, s->ctx.alias, alias_id,
                                          dev_id, &tcb, &s->ctx.alias_cert, err);
        }
        if (r < 0)
                goto fail;
        if (f->evidence_by_stranger) {
                cr_key_free(s->ctx.alias);
                s->ctx.alias = stranger;
                stranger = NULL;
        }
        dice_id_hex(dev_id, s->ctx.ueid);
        if (f->ueid_claim)
                snprintf(s->ctx.ueid, sizeof(s->ctx.ueid), "%s", f->ueid_claim);
        strcpy(s->ctx.slot, "a");
        snprintf(s->ctx.os_name, sizeof(s->ctx.os_name), "%s", os->name);
        snprintf(s->ctx.os_version, sizeof(s->ctx.os_version), "%s", os->version);
        s->ctx.svn = os->svn;
        s->ctx.bootcount = 1;
        s->ctx.debug = fu.debug;
        s->ctx.lifecycle = fu.lifecycle;
        memcpy(s->ctx.fwid, os->fwid, 32);
        s->ctx.rot = s->rot;
        return 0;
fail:
        att_sim_free(s);
        return r;
}

/* One monitor request through mon_handle; the reply is decoded into *m,
 * borrowing `out`. */
static int call(struct att_sim *s, struct mon_enc *req, struct mon_enc *out, struct mon_msg *m,
                struct rp_err *err)
{
        if (mon_enc_finish(req) < 0)
                return rp_err_set(err, -E2BIG, "request too large");
        mon_handle(&s->ctx, req->buf, req->len, -1, out);
        int r = mon_decode(out->buf, out->len, m, err);
        if (r < 0)
                return r;
        if (m->status != MON_OK) {
                char msg[200] = "";
                if (mon_get_str(m, MON_T_ERROR, msg, sizeof(msg)) < 0)
                        msg[0] = 0;
                return rp_err_set(err, -EPROTO, "monitor %s: %s", mon_status_name(m->status), msg);
        }
        return 0;
}

static int key_create(struct att_sim *s, uint32_t *ret_handle, uint8_t **ret_csr,
                      size_t *ret_len, struct rp_err *err)
{
        _cleanup_free_ struct mon_enc *req = malloc(sizeof(*req));
        _cleanup_free_ struct mon_enc *out = malloc(sizeof(*out));
        struct mon_msg m;
        if (!req || !out)
                return rp_err_set(err, -ENOMEM, "out of memory");
        mon_enc_init(req, MON_TLS_KEY_CREATE, 0);
        int r = call(s, req, out, &m, err);
        if (r < 0)
                return r;
        const struct mon_field *csr = mon_get(&m, MON_T_CSR);
        if (!csr || mon_get_u32(&m, MON_T_HANDLE, ret_handle) < 0)
                return rp_err_set(err, -EPROTO, "tls-key-create reply lacks fields");
        *ret_csr = malloc(csr->len);
        if (!*ret_csr)
                return rp_err_set(err, -ENOMEM, "out of memory");
        memcpy(*ret_csr, csr->val, csr->len);
        *ret_len = csr->len;
        return 0;
}

static void key_destroy(struct att_sim *s, uint32_t handle)
{
        struct mon_enc *req = malloc(sizeof(*req)), *out = malloc(sizeof(*out));
        struct mon_msg m;
        struct rp_err e = {0};
        if (req && out) {
                mon_enc_init(req, MON_TLS_KEY_DESTROY, 0);
                mon_put_u32(req, MON_T_HANDLE, handle);
                (void)call(s, req, out, &m, &e);
        }
        free(req);
        free(out);
}

int att_sim_enroll_body(struct att_sim *s, const char *nonce_b64, const char *purpose,
                        const struct att_forge *f, char **ret_json, char **ret_key_pem,
                        struct rp_err *err)
{
        _cleanup_free_ struct mon_enc *req = malloc(sizeof(*req));
        _cleanup_free_ struct mon_enc *out = malloc(sizeof(*out));
        _cleanup_free_ uint8_t *nonce = NULL;
        _cleanup_free_ uint8_t *csr = NULL;
        _cleanup_free_ uint8_t *csr2 = NULL;
        _cleanup_free_ char *csr_b64 = NULL;
        _cleanup_free_ char *jws = NULL;
        _cleanup_(json_decrefp) json_t *chain = json_array();
        size_t nonce_len = 0, csr_len = 0, csr2_len = 0;
        uint32_t h = 0, h2 = 0;
        struct mon_msg m;
        int r;

        if (!req || !out || !chain)
                return rp_err_set(err, -ENOMEM, "out of memory");
        if (rp_b64url_decode(nonce_b64, strlen(nonce_b64), &nonce, &nonce_len) < 0)
                return rp_err_set(err, -EINVAL, "nonce '%s' is not base64url", nonce_b64);
        r = key_create(s, &h, &csr, &csr_len, err);
        if (r < 0)
                return r;
        if (f->unbound_csr) {
                r = key_create(s, &h2, &csr2, &csr2_len, err);
                if (r < 0)
                        goto out;
        }
        mon_enc_init(req, MON_ATTEST, 0);
        mon_put(req, MON_T_NONCE, nonce, nonce_len);
        if (!f->no_binding)
                mon_put_u32(req, MON_T_HANDLE, f->unbound_csr ? h2 : h);
        r = call(s, req, out, &m, err);
        if (r < 0)
                goto out;
        {
                const struct mon_field *ev = mon_get(&m, MON_T_EVIDENCE);
                if (!ev || !(jws = strndup((const char *)ev->val, ev->len))) {
                        r = rp_err_set(err, -EPROTO, "attest reply has no evidence");
                        goto out;
                }
        }
        mon_enc_init(req, MON_GET_CHAIN, 0);
        mon_put_u8(req, MON_T_FORMAT, 1);
        r = call(s, req, out, &m, err);
        if (r < 0)
                goto out;
        static const uint8_t tags[3] = {MON_T_CERT_DEVICEID, MON_T_CERT_ALIAS,
                                        MON_T_CERT_DEVICE_CA};
        for (int i = 0; i < 3; i++) {
                const struct mon_field *c = mon_get(&m, tags[i]);
                if (!c) {
                        r = rp_err_set(err, -EPROTO, "get-chain reply lacks a certificate");
                        goto out;
                }
                json_array_append_new(chain, json_stringn((const char *)c->val, c->len));
        }
        csr_b64 = att_b64(csr, csr_len);
        if (!csr_b64) {
                r = rp_err_set(err, -ENOMEM, "out of memory");
                goto out;
        }
        {
                json_t *body = json_pack("{s:s,s:s,s:O,s:s}", "csr", csr_b64, "evidence", jws,
                                         "chain", chain, "purpose", purpose);
                char *txt = body ? json_dumps(body, JSON_COMPACT) : NULL;
                json_decref(body);
                if (!txt) {
                        r = rp_err_set(err, -ENOMEM, "out of memory");
                        goto out;
                }
                *ret_json = txt;
        }
        if (ret_key_pem) {
                *ret_key_pem = NULL;
                for (int i = 0; i < MON_MAX_TLS_KEYS; i++)
                        if (s->ctx.tls[i] && s->ctx.tls_handle[i] == h)
                                r = cr_key_to_pem(s->ctx.tls[i], true, ret_key_pem, err);
                if (r == 0 && !*ret_key_pem)
                        r = rp_err_set(err, -ENOENT, "TLS key vanished");
        }
out:
        key_destroy(s, h);
        if (h2)
                key_destroy(s, h2);
        return r;
}

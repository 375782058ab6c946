/* monitor_test.c - the monitor protocol: codec rules, hostile frames, and
 * every request handled by a real monitor context (real keys, real DICE
 * certificates, a real counter store), including that no reply ever
 * carries private key material and that refusals change nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/encode.h"
#include "lib/fileio.h"
#include "monitor/mon_proto.h"
#include "monitor/mon_server.h"

/* ---- codec ---- */
static void test_roundtrip(void **state)
{
        struct mon_enc e;
        struct mon_msg m;
        struct rp_err err = {0};
        uint64_t v;
        uint32_t h;
        char s[16];

        mon_enc_init(&e, MON_COUNTER_ADVANCE, 0);
        mon_put_str(&e, MON_T_NAME, "os");
        mon_put_u64(&e, MON_T_VALUE, 0x0102030405060708ULL);
        assert_int_equal(mon_enc_finish(&e), 0);
        assert_int_equal(e.len, 8 + 3 + 2 + 3 + 8);
        assert_int_equal(e.buf[0], 0x52);
        assert_int_equal(e.buf[1], 0x4d);
        assert_int_equal(e.buf[7], 16);
        assert_int_equal(mon_decode(e.buf, e.len, &m, &err), 0);
        assert_int_equal(m.type, MON_COUNTER_ADVANCE);
        assert_int_equal(m.n, 2);
        assert_int_equal(mon_request_check(&m, &err), 0);
        assert_int_equal(mon_get_u64(&m, MON_T_VALUE, &v), 0);
        assert_true(v == 0x0102030405060708ULL);
        assert_int_equal(mon_get_str(&m, MON_T_NAME, s, sizeof(s)), 0);
        assert_string_equal(s, "os");
        assert_int_equal(mon_get_str(&m, MON_T_NAME, s, 2), -EBADMSG);
        assert_int_equal(mon_get_u32(&m, MON_T_VALUE, &h), -EBADMSG);
        assert_null(mon_get(&m, MON_T_NONCE));
}

static void test_decode_hostile(void **state)
{
        struct mon_enc e;
        struct mon_msg m;
        struct rp_err err = {0};
        uint8_t b[64];

        mon_enc_init(&e, MON_BOOT_INFO, 0);
        mon_put(&e, MON_T_NONCE, "12345678", 8);
        assert_int_equal(mon_enc_finish(&e), 0);
        /* every truncation */
        for (size_t i = 0; i < e.len; i++)
                assert_int_equal(mon_decode(e.buf, i, &m, &err), -EBADMSG);
        /* header longer than the record, and shorter */
        memcpy(b, e.buf, e.len);
        b[7]++;
        assert_int_equal(mon_decode(b, e.len, &m, &err), -EBADMSG);
        assert_non_null(strstr(err.msg, "header says"));
        b[7] -= 2;
        assert_int_equal(mon_decode(b, e.len, &m, &err), -EBADMSG);
        /* field length past the end */
        memcpy(b, e.buf, e.len);
        b[10] = 9;
        assert_int_equal(mon_decode(b, e.len, &m, &err), -EBADMSG);
        assert_non_null(strstr(err.msg, "only 8 bytes left"));
        /* magic */
        memcpy(b, e.buf, e.len);
        b[0] = 0;
        assert_int_equal(mon_decode(b, e.len, &m, &err), -EBADMSG);
        /* body over the limit */
        memcpy(b, e.buf, e.len);
        b[4] = 0x01;
        assert_int_equal(mon_decode(b, e.len, &m, &err), -E2BIG);
        /* too many fields */
        mon_enc_init(&e, MON_BOOT_INFO, 0);
        for (int i = 0; i < MON_MAX_FIELDS; i++)
                mon_put(&e, 1, NULL, 0);
        assert_int_equal(mon_enc_finish(&e), 0);
        assert_int_equal(mon_decode(e.buf, e.len, &m, &err), 0);
        uint8_t big[8 + 3 * (MON_MAX_FIELDS + 1)];
        memcpy(big, e.buf, e.len);
        memset(big + e.len, 0, 3);
        big[7] = (uint8_t)(sizeof(big) - 8);
        assert_int_equal(mon_decode(big, sizeof(big), &m, &err), -EBADMSG);
        assert_non_null(strstr(err.msg, "more than"));
        /* encoder overflow is reported */
        mon_enc_init(&e, MON_BOOT_INFO, 0);
        static uint8_t huge[MON_MAX_BODY];
        mon_put(&e, MON_T_NONCE, huge, sizeof(huge));
        assert_int_equal(mon_enc_finish(&e), -E2BIG);
}

static int check(uint8_t type, void (*fill)(struct mon_enc *), struct rp_err *err)
{
        struct mon_enc e;
        struct mon_msg m;
        mon_enc_init(&e, type, 0);
        if (fill)
                fill(&e);
        if (mon_enc_finish(&e) < 0 || mon_decode(e.buf, e.len, &m, err) < 0)
                return -1000;
        return mon_request_check(&m, err);
}

static void f_short_nonce(struct mon_enc *e) { mon_put(e, MON_T_NONCE, "1234567", 7); }
static void f_nonce(struct mon_enc *e) { mon_put(e, MON_T_NONCE, "12345678", 8); }
static void f_two_nonces(struct mon_enc *e) { f_nonce(e); f_nonce(e); }
static void f_bad_submod(struct mon_enc *e)
{
        uint8_t v[40] = {0};
        memcpy(v + 32, "a\"b", 3);
        f_nonce(e);
        mon_put(e, MON_T_SUBMOD, v, 35);
}
static void f_upper_counter(struct mon_enc *e) { mon_put_str(e, MON_T_NAME, "OS"); }
static void f_dot_counter(struct mon_enc *e) { mon_put_str(e, MON_T_NAME, ".x"); }
static void f_stray(struct mon_enc *e) { mon_put_str(e, MON_T_UEID, "x"); }
static void f_sign_short(struct mon_enc *e)
{
        mon_put_u32(e, MON_T_HANDLE, 1);
        mon_put(e, MON_T_DIGEST, "0123456789012345678901234567890", 31);
}
static void f_format(struct mon_enc *e) { mon_put_u8(e, MON_T_FORMAT, 2); }

static void test_request_rules(void **state)
{
        struct rp_err err = {0};
        assert_int_equal(check(0, NULL, &err), -ENOSYS);
        assert_int_equal(check(99, NULL, &err), -ENOSYS);
        assert_non_null(strstr(err.msg, "unknown request type 99"));
        assert_int_equal(check(MON_BOOT_INFO, NULL, &err), 0);
        assert_int_equal(check(MON_BOOT_INFO, f_stray, &err), -EBADMSG);
        assert_int_equal(check(MON_ATTEST, NULL, &err), -EBADMSG);
        assert_non_null(strstr(err.msg, "missing"));
        assert_int_equal(check(MON_ATTEST, f_nonce, &err), 0);
        assert_int_equal(check(MON_ATTEST, f_short_nonce, &err), -EBADMSG);
        assert_int_equal(check(MON_ATTEST, f_two_nonces, &err), -EBADMSG);
        assert_int_equal(check(MON_ATTEST, f_bad_submod, &err), -EBADMSG);
        assert_int_equal(check(MON_COUNTER_READ, f_upper_counter, &err), -EBADMSG);
        assert_int_equal(check(MON_COUNTER_READ, f_dot_counter, &err), -EBADMSG);
        assert_int_equal(check(MON_TLS_SIGN, f_sign_short, &err), -EBADMSG);
        assert_int_equal(check(MON_GET_CHAIN, f_format, &err), -EBADMSG);
}

/* ---- a real monitor ---- */
struct fx {
        char dir[64];
        struct mon_ctx ctx;
        struct cr_key *ca_key, *dev_key;
        bool confirmed;
};

static int fake_confirm(void *userdata, struct rp_err *err)
{
        ((struct fx *)userdata)->confirmed = true;
        return 0;
}

static int setup(void **state)
{
        struct fx *f = calloc(1, sizeof(*f));
        struct rp_err err = {0};
        struct rp_secret32 uds;
        struct dice_inputs in = {.svn = 4, .locked = true};
        struct dice_tcb_info tcb = {.svn = 4, .layer = 1};
        uint8_t dev_id[DICE_ID_LEN], alias_id[DICE_ID_LEN];

        snprintf(f->dir, sizeof(f->dir), "/tmp/rp-mon-test-XXXXXX");
        if (!mkdtemp(f->dir) || rot_emul_open(f->dir, &f->ctx.rot, &err) < 0)
                return -1;
        for (int i = 0; i < 32; i++)
                uds.b[i] = (uint8_t)(7 * i);
        struct cr_cert_spec cs = {.cn = "CA", .not_after = time(NULL) + 3600, .ca = true,
                                  .path_len = 1, .key_usage = CR_KU_KEY_CERT_SIGN};
        if (cr_key_generate(&f->ca_key, &err) < 0 ||
            cr_cert_self_signed(f->ca_key, &cs, &f->ctx.device_ca, &err) < 0 ||
            dice_deviceid_derive(&uds, &f->dev_key, dev_id, &err) < 0 ||
            dice_deviceid_cert_issue(f->ctx.device_ca, f->ca_key, f->dev_key, dev_id,
                                     &f->ctx.deviceid_cert, &err) < 0 ||
            dice_alias_derive(&uds, &in, &f->ctx.alias, alias_id, &err) < 0 ||
            dice_alias_cert_issue(f->ctx.deviceid_cert, f->dev_key, f->ctx.alias, alias_id, dev_id,
                                  &tcb, &f->ctx.alias_cert, &err) < 0) {
                fprintf(stderr, "setup: %s\n", err.msg);
                return -1;
        }
        dice_id_hex(dev_id, f->ctx.ueid);
        strcpy(f->ctx.slot, "b");
        strcpy(f->ctx.os_name, "rampart-os");
        strcpy(f->ctx.os_version, "1.4.0");
        f->ctx.svn = 4;
        f->ctx.bootcount = 9;
        f->ctx.lifecycle = ROT_LC_LOCKED;
        f->ctx.trial = true;
        f->ctx.confirm = fake_confirm;
        f->ctx.userdata = f;
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fx *f = *state;
        mon_ctx_clear(&f->ctx);
        rot_close(f->ctx.rot);
        cr_key_free(f->ca_key);
        cr_key_free(f->dev_key);
        if (rp_rm_rf(f->dir) < 0)
                return -1;
        free(f);
        return 0;
}

/* The 32-byte private scalar of a key, from its PKCS#8 PEM. */
static void scalar_of(const struct cr_key *k, uint8_t out[32])
{
        static const char b64[] =
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        static const uint8_t marker[] = {0x02, 0x01, 0x01, 0x04, 0x20};
        struct rp_err err = {0};
        char *pem = NULL;
        uint8_t der[512];
        size_t n = 0;
        unsigned acc = 0, bits = 0;

        assert_int_equal(cr_key_to_pem(k, true, &pem, &err), 0);
        for (char *p = strchr(pem, '\n') + 1; *p && *p != '-'; p++) {
                const char *c = strchr(b64, *p);
                if (!c || !*p)
                        continue;
                acc = acc << 6 | (unsigned)(c - b64);
                bits += 6;
                if (bits >= 8) {
                        bits -= 8;
                        der[n++] = (uint8_t)(acc >> bits);
                }
        }
        free(pem);
        for (size_t i = 0; i + 5 + 32 <= n; i++)
                if (!memcmp(der + i, marker, 5)) {
                        memcpy(out, der + i + 5, 32);
                        return;
                }
        fail_msg("no private scalar in the PKCS#8 encoding");
}

static bool contains(const uint8_t *hay, size_t n, const uint8_t *needle, size_t m)
{
        for (size_t i = 0; i + m <= n; i++)
                if (!memcmp(hay + i, needle, m))
                        return true;
        return false;
}

/* Sends a request, returns the decoded reply (borrowing `out`), and checks
 * the reply carries none of the secrets the context holds. */
static void call(struct fx *f, struct mon_enc *req, struct mon_enc *out, struct mon_msg *reply)
{
        struct rp_err err = {0};
        uint8_t s[32];
        assert_int_equal(mon_enc_finish(req), 0);
        mon_handle(&f->ctx, req->buf, req->len, -1, out);
        assert_int_equal(mon_decode(out->buf, out->len, reply, &err), 0);
        assert_int_equal(reply->type, req->buf[2] | MON_REPLY);
        scalar_of(f->ctx.alias, s);
        assert_false(contains(out->buf, out->len, s, 32));
        for (int i = 0; i < MON_MAX_TLS_KEYS; i++)
                if (f->ctx.tls[i]) {
                        scalar_of(f->ctx.tls[i], s);
                        assert_false(contains(out->buf, out->len, s, 32));
                }
}

static void test_boot_info_and_chain(void **state)
{
        struct fx *f = *state;
        static struct mon_enc req, out;
        struct mon_msg rep;
        struct rp_err err = {0};
        char s[64];
        uint64_t v;
        struct cr_cert *d = NULL, *a = NULL;

        mon_enc_init(&req, MON_BOOT_INFO, 0);
        call(f, &req, &out, &rep);
        assert_int_equal(rep.status, MON_OK);
        assert_int_equal(mon_get_str(&rep, MON_T_UEID, s, sizeof(s)), 0);
        assert_string_equal(s, f->ctx.ueid);
        assert_int_equal(mon_get_str(&rep, MON_T_SLOT, s, sizeof(s)), 0);
        assert_string_equal(s, "b");
        assert_int_equal(mon_get_u64(&rep, MON_T_BOOTCOUNT, &v), 0);
        assert_int_equal(v, 9);

        mon_enc_init(&req, MON_GET_CHAIN, 0);
        call(f, &req, &out, &rep);
        assert_int_equal(rep.status, MON_OK);
        const struct mon_field *fd = mon_get(&rep, MON_T_CERT_DEVICEID);
        const struct mon_field *fa = mon_get(&rep, MON_T_CERT_ALIAS);
        assert_non_null(fd);
        assert_non_null(fa);
        assert_int_equal(cr_cert_from_der(fd->val, fd->len, &d, &err), 0);
        assert_int_equal(cr_cert_from_der(fa->val, fa->len, &a, &err), 0);
        struct cr_cert *unt[] = {d}, *tr[] = {f->ctx.device_ca};
        assert_int_equal(cr_chain_verify(a, unt, 1, tr, 1, 0, &err), 0);
        cr_cert_free(d);
        cr_cert_free(a);

        mon_enc_init(&req, MON_GET_CHAIN, 0);
        mon_put_u8(&req, MON_T_FORMAT, 1);
        call(f, &req, &out, &rep);
        fa = mon_get(&rep, MON_T_CERT_ALIAS);
        assert_non_null(fa);
        assert_memory_equal(fa->val, "-----BEGIN CERTIFICATE-----", 27);
}

static void test_attest(void **state)
{
        struct fx *f = *state;
        static struct mon_enc req, out;
        struct mon_msg rep;
        struct rp_err err = {0};
        uint8_t sub[32 + 5], *payload = NULL;
        size_t plen;
        struct cr_key *alias_pub = NULL;
        uint32_t handle;
        char jkt[44], want[128];

        /* a TLS key to bind */
        mon_enc_init(&req, MON_TLS_KEY_CREATE, 0);
        call(f, &req, &out, &rep);
        assert_int_equal(rep.status, MON_OK);
        assert_int_equal(mon_get_u32(&rep, MON_T_HANDLE, &handle), 0);

        memset(sub, 0xcd, 32);
        memcpy(sub + 32, "blink", 5);
        mon_enc_init(&req, MON_ATTEST, 0);
        mon_put(&req, MON_T_NONCE, "\x01\x02\x03\x04\x05\x06\x07\x08\x09", 9);
        mon_put_u32(&req, MON_T_HANDLE, handle);
        mon_put(&req, MON_T_SUBMOD, sub, sizeof(sub));
        call(f, &req, &out, &rep);
        assert_int_equal(rep.status, MON_OK);
        const struct mon_field *ev = mon_get(&rep, MON_T_EVIDENCE);
        assert_non_null(ev);
        assert_int_equal(cr_cert_pubkey(f->ctx.alias_cert, &alias_pub), 0);
        assert_int_equal(cr_jws_verify((const char *)ev->val, ev->len, alias_pub, &payload, &plen,
                                       &err), 0);
        cr_key_free(alias_pub);
        assert_non_null(strstr((char *)payload, "\"eat_nonce\":\"AQIDBAUGBwgJ\""));
        snprintf(want, sizeof(want), "\"ueid\":\"%s\"", f->ctx.ueid);
        assert_non_null(strstr((char *)payload, want));
        assert_non_null(strstr((char *)payload, "\"dbgstat\":3"));
        assert_non_null(strstr((char *)payload, "\"bootcount\":9"));
        assert_non_null(strstr((char *)payload, "\"swname\":\"rampart-os\""));
        assert_non_null(strstr((char *)payload, "\"swversion\":\"1.4.0\""));
        assert_non_null(strstr((char *)payload, "\"blink\":{\"digest\":\"cdcdcd"));
        assert_int_equal(cr_key_jwk_thumbprint(f->ctx.tls[0], jkt), 0);
        snprintf(want, sizeof(want), "\"cnf\":{\"jkt\":\"%s\"}", jkt);
        assert_non_null(strstr((char *)payload, want));
        free(payload);

        /* an unknown key handle is refused, not signed without binding */
        mon_enc_init(&req, MON_ATTEST, 0);
        mon_put(&req, MON_T_NONCE, "12345678", 8);
        mon_put_u32(&req, MON_T_HANDLE, handle + 100);
        call(f, &req, &out, &rep);
        assert_int_equal(rep.status, MON_E_NOT_FOUND);
        assert_null(mon_get(&rep, MON_T_EVIDENCE));
        /* the same submodule twice is refused */
        mon_enc_init(&req, MON_ATTEST, 0);
        mon_put(&req, MON_T_NONCE, "12345678", 8);
        mon_put(&req, MON_T_SUBMOD, sub, sizeof(sub));
        mon_put(&req, MON_T_SUBMOD, sub, sizeof(sub));
        call(f, &req, &out, &rep);
        assert_int_equal(rep.status, MON_E_MALFORMED);
}

static void test_tls_keys(void **state)
{
        struct fx *f = *state;
        static struct mon_enc req, out;
        struct mon_msg rep;
        struct rp_err err = {0};
        struct cr_csr *csr = NULL;
        struct cr_key *pub = NULL;
        uint8_t digest[32];
        uint32_t h;
        char *cn = NULL;

        mon_enc_init(&req, MON_TLS_KEY_CREATE, 0);
        mon_put_str(&req, MON_T_CN, "device tls");
        call(f, &req, &out, &rep);
        assert_int_equal(rep.status, MON_OK);
        assert_int_equal(mon_get_u32(&rep, MON_T_HANDLE, &h), 0);
        const struct mon_field *c = mon_get(&rep, MON_T_CSR);
        assert_non_null(c);
        assert_int_equal(cr_csr_parse(c->val, c->len, &csr, &err), 0);
        assert_int_equal(cr_csr_pubkey(csr, &pub), 0);
        cr_csr_free(csr);
        (void)cn;

        cr_sha256("handshake", 9, digest);
        mon_enc_init(&req, MON_TLS_SIGN, 0);
        mon_put_u32(&req, MON_T_HANDLE, h);
        mon_put(&req, MON_T_DIGEST, digest, 32);
        call(f, &req, &out, &rep);
        assert_int_equal(rep.status, MON_OK);
        const struct mon_field *sig = mon_get(&rep, MON_T_SIG);
        assert_non_null(sig);
        assert_int_equal(cr_verify_digest(pub, digest, sig->val, sig->len, &err), 0);
        cr_key_free(pub);

        /* fill every slot, then one more */
        for (int i = 1; i < MON_MAX_TLS_KEYS; i++) {
                mon_enc_init(&req, MON_TLS_KEY_CREATE, 0);
                call(f, &req, &out, &rep);
                assert_int_equal(rep.status, MON_OK);
        }
        mon_enc_init(&req, MON_TLS_KEY_CREATE, 0);
        call(f, &req, &out, &rep);
        assert_int_equal(rep.status, MON_E_NO_SPACE);
        /* destroy, then the handle is gone */
        mon_enc_init(&req, MON_TLS_KEY_DESTROY, 0);
        mon_put_u32(&req, MON_T_HANDLE, h);
        call(f, &req, &out, &rep);
        assert_int_equal(rep.status, MON_OK);
        mon_enc_init(&req, MON_TLS_SIGN, 0);
        mon_put_u32(&req, MON_T_HANDLE, h);
        mon_put(&req, MON_T_DIGEST, digest, 32);
        call(f, &req, &out, &rep);
        assert_int_equal(rep.status, MON_E_NOT_FOUND);
}

static void test_counters_confirm_reboot(void **state)
{
        struct fx *f = *state;
        static struct mon_enc req, out;
        struct mon_msg rep;
        uint64_t v;
        char msg[256];

        mon_enc_init(&req, MON_COUNTER_ADVANCE, 0);
        mon_put_str(&req, MON_T_NAME, "app.blink");
        mon_put_u64(&req, MON_T_VALUE, 7);
        call(f, &req, &out, &rep);
        assert_int_equal(rep.status, MON_OK);
        assert_int_equal(mon_get_u64(&rep, MON_T_VALUE, &v), 0);
        assert_int_equal(v, 7);
        /* backwards: refused, unchanged */
        mon_enc_init(&req, MON_COUNTER_ADVANCE, 0);
        mon_put_str(&req, MON_T_NAME, "app.blink");
        mon_put_u64(&req, MON_T_VALUE, 6);
        call(f, &req, &out, &rep);
        assert_int_equal(rep.status, MON_E_REFUSED);
        assert_int_equal(mon_get_str(&rep, MON_T_ERROR, msg, sizeof(msg)), 0);
        assert_non_null(strstr(msg, "cannot go back"));
        mon_enc_init(&req, MON_COUNTER_READ, 0);
        mon_put_str(&req, MON_T_NAME, "app.blink");
        call(f, &req, &out, &rep);
        assert_int_equal(mon_get_u64(&rep, MON_T_VALUE, &v), 0);
        assert_int_equal(v, 7);
        /* the OS floor cannot pass the running OS */
        mon_enc_init(&req, MON_COUNTER_ADVANCE, 0);
        mon_put_str(&req, MON_T_NAME, "os");
        mon_put_u64(&req, MON_T_VALUE, 5);
        call(f, &req, &out, &rep);
        assert_int_equal(rep.status, MON_E_REFUSED);
        mon_enc_init(&req, MON_COUNTER_ADVANCE, 0);
        mon_put_str(&req, MON_T_NAME, "os");
        mon_put_u64(&req, MON_T_VALUE, 4);
        call(f, &req, &out, &rep);
        assert_int_equal(rep.status, MON_OK);

        mon_enc_init(&req, MON_CONFIRM, 0);
        call(f, &req, &out, &rep);
        assert_int_equal(rep.status, MON_OK);
        assert_true(f->confirmed);
        assert_false(f->ctx.trial);
        assert_false(f->ctx.reboot_requested);
        mon_enc_init(&req, MON_REBOOT, 0);
        call(f, &req, &out, &rep);
        assert_int_equal(rep.status, MON_OK);
        assert_true(f->ctx.reboot_requested);
}

static void test_hostile_requests(void **state)
{
        struct fx *f = *state;
        static struct mon_enc out;
        static uint8_t big[MON_MAX_MSG + 100];
        struct mon_msg rep;
        struct rp_err err = {0};
        static const uint8_t unknown[] = {0x52, 0x4d, 0x42, 0, 0, 0, 0, 0};
        static const uint8_t badlen[] = {0x52, 0x4d, 1, 0, 0, 0, 0, 9};
        static const uint8_t tiny[] = {0x52};

        mon_handle(&f->ctx, unknown, sizeof(unknown), -1, &out);
        assert_int_equal(mon_decode(out.buf, out.len, &rep, &err), 0);
        assert_int_equal(rep.status, MON_E_UNKNOWN_TYPE);
        assert_non_null(mon_get(&rep, MON_T_ERROR));
        mon_handle(&f->ctx, badlen, sizeof(badlen), -1, &out);
        assert_int_equal(mon_decode(out.buf, out.len, &rep, &err), 0);
        assert_int_equal(rep.status, MON_E_MALFORMED);
        mon_handle(&f->ctx, tiny, sizeof(tiny), -1, &out);
        assert_int_equal(mon_decode(out.buf, out.len, &rep, &err), 0);
        assert_int_equal(rep.status, MON_E_MALFORMED);
        memcpy(big, unknown, 8);
        mon_handle(&f->ctx, big, sizeof(big), -1, &out);
        assert_int_equal(mon_decode(out.buf, out.len, &rep, &err), 0);
        assert_int_equal(rep.status, MON_E_TOO_LARGE);
        /* install-os: the package must come as a descriptor, with 1..15
         * trial attempts, and this context cannot install at all */
        static struct mon_enc inst;
        mon_enc_init(&inst, MON_INSTALL_OS, 0);
        mon_put_u8(&inst, MON_T_TRIAL, 2);
        assert_int_equal(mon_enc_finish(&inst), 0);
        mon_handle(&f->ctx, inst.buf, inst.len, -1, &out);
        assert_int_equal(mon_decode(out.buf, out.len, &rep, &err), 0);
        assert_int_equal(rep.status, MON_E_MALFORMED);
        mon_handle(&f->ctx, inst.buf, inst.len, 0, &out);
        assert_int_equal(mon_decode(out.buf, out.len, &rep, &err), 0);
        assert_int_equal(rep.status, MON_E_REFUSED);
        mon_enc_init(&inst, MON_INSTALL_OS, 0);
        mon_put_u8(&inst, MON_T_TRIAL, 0);
        assert_int_equal(mon_enc_finish(&inst), 0);
        mon_handle(&f->ctx, inst.buf, inst.len, 0, &out);
        assert_int_equal(mon_decode(out.buf, out.len, &rep, &err), 0);
        assert_int_equal(rep.status, MON_E_MALFORMED);
        /* and a good request still works afterwards */
        static struct mon_enc req;
        mon_enc_init(&req, MON_BOOT_INFO, 0);
        call(f, &req, &out, &rep);
        assert_int_equal(rep.status, MON_OK);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_roundtrip),
                cmocka_unit_test(test_decode_hostile),
                cmocka_unit_test(test_request_rules),
                cmocka_unit_test_setup_teardown(test_boot_info_and_chain, setup, teardown),
                cmocka_unit_test_setup_teardown(test_attest, setup, teardown),
                cmocka_unit_test_setup_teardown(test_tls_keys, setup, teardown),
                cmocka_unit_test_setup_teardown(test_counters_confirm_reboot, setup, teardown),
                cmocka_unit_test_setup_teardown(test_hostile_requests, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

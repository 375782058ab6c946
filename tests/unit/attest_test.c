/* attest_test.c - the attestation building blocks without a server: nonce
 * consumption outcomes and purge (SQLite), OS release matching, SVN floor,
 * the last-SVN state and certificate records, canonical base64, the
 * certs-only PKCS#7 container (parsed back with OpenSSL), evidence claim
 * rules, and the reason code table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/pkcs7.h>
#include <openssl/x509.h>

#include "crypto/crypto.h"
#include "lib/fileio.h"
#include "server/attest.h"
#include "store/attest.h"
#include "store/nonces.h"
#include "store/store.h"
#include "store/tenants.h"

struct fx {
        char dir[64];
        char path[128];
        struct store *st;
};

static int setup(void **state)
{
        struct fx *f = calloc(1, sizeof(*f));
        struct rp_err err = {0};
        strcpy(f->dir, "/tmp/rp-attest-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        snprintf(f->path, sizeof(f->path), "%s/t.db", f->dir);
        assert_int_equal(store_open(f->path, &f->st, &err), 0);
        static const char *const ids[] = {"ten_00000000000000000000000000000001",
                                          "ten_00000000000000000000000000000002"};
        for (int i = 0; i < 2; i++) {
                struct store_tenant t = {.created_ms = 1000};
                snprintf(t.id, sizeof(t.id), "%s", ids[i]);
                snprintf(t.name, sizeof(t.name), "t%d", i);
                assert_int_equal(store_tenant_create(f->st, &t, &err), 0);
        }
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fx *f = *state;
        store_close(f->st);
        assert_int_equal(rp_rm_rf(f->dir), 0);
        free(f);
        return 0;
}

#define T1 "ten_00000000000000000000000000000001"
#define T2 "ten_00000000000000000000000000000002"

static void test_nonce_outcomes(void **state)
{
        struct fx *f = *state;
        struct rp_err err = {0};
        uint8_t a[32], b[32], c[32], d[32];
        enum store_nonce_result res;
        memset(a, 1, 32);
        memset(b, 2, 32);
        memset(c, 3, 32);
        memset(d, 4, 32);
        assert_int_equal(store_nonce_create(f->st, a, T1, 1000, 5000, &err), 0);
        assert_int_equal(store_nonce_create(f->st, b, T1, 1000, 2000, &err), 0);
        assert_int_equal(store_nonce_create(f->st, c, T2, 1000, 5000, &err), 0);
        /* a hash can exist once */
        assert_int_equal(store_nonce_create(f->st, a, T1, 1000, 5000, &err), -EEXIST);

        assert_int_equal(store_nonce_consume(f->st, d, T1, 1500, &res, &err), 0);
        assert_int_equal(res, STORE_NONCE_UNKNOWN);
        assert_int_equal(store_nonce_consume(f->st, c, T1, 1500, &res, &err), 0);
        assert_int_equal(res, STORE_NONCE_WRONG_TENANT);
        assert_int_equal(store_nonce_consume(f->st, b, T1, 2000, &res, &err), 0);
        assert_int_equal(res, STORE_NONCE_EXPIRED);     /* expiry is exclusive */
        assert_int_equal(store_nonce_consume(f->st, a, T1, 1500, &res, &err), 0);
        assert_int_equal(res, STORE_NONCE_OK);
        assert_int_equal(store_nonce_consume(f->st, a, T1, 1500, &res, &err), 0);
        assert_int_equal(res, STORE_NONCE_USED);
        /* refusals changed nothing: c is still usable by its own tenant */
        assert_int_equal(store_nonce_consume(f->st, c, T2, 1500, &res, &err), 0);
        assert_int_equal(res, STORE_NONCE_OK);

        int64_t n = -1;
        assert_int_equal(store_nonce_purge(f->st, 3000, &n, &err), 0);
        assert_int_equal(n, 1);                         /* only b expired before 3000 */
        assert_int_equal(store_nonce_consume(f->st, b, T1, 1500, &res, &err), 0);
        assert_int_equal(res, STORE_NONCE_UNKNOWN);
}

static void test_os_releases_and_floor(void **state)
{
        struct fx *f = *state;
        struct rp_err err = {0};
        struct store_os_release o = {.svn = 3, .created_ms = 1};
        struct store_os_release got;
        strcpy(o.id, "osr_00000000000000000000000000000001");
        strcpy(o.name, "rampart-os");
        strcpy(o.version, "1.2.3");
        memset(o.sha256, 'a', 64);
        assert_int_equal(store_attest_osr_create(f->st, &o, &err), 0);
        strcpy(o.id, "osr_00000000000000000000000000000002");
        assert_int_equal(store_attest_osr_create(f->st, &o, &err), -EEXIST);
        assert_int_equal(store_attest_osr_match(f->st, "rampart-os", "1.2.3", 3, o.sha256, &got,
                                                &err), 0);
        assert_string_equal(got.id, "osr_00000000000000000000000000000001");
        /* every field must match */
        assert_int_equal(store_attest_osr_match(f->st, "rampart-os", "1.2.3", 2, o.sha256, &got,
                                                &err), -ENOENT);
        assert_non_null(strstr(err.msg, "svn 2"));
        assert_int_equal(store_attest_osr_match(f->st, "rampart-os", "1.2.4", 3, o.sha256, &got,
                                                &err), -ENOENT);
        char other[65];
        memset(other, 'b', 64);
        other[64] = 0;
        assert_int_equal(store_attest_osr_match(f->st, "rampart-os", "1.2.3", 3, other, &got,
                                                &err), -ENOENT);

        int64_t floor = -1;
        assert_int_equal(store_attest_floor_get(f->st, T1, &floor, &err), 0);
        assert_int_equal(floor, 0);
        assert_int_equal(store_attest_floor_set(f->st, T1, 7, 10, &err), 0);
        assert_int_equal(store_attest_floor_set(f->st, T1, 5, 11, &err), 0);
        assert_int_equal(store_attest_floor_get(f->st, T1, &floor, &err), 0);
        assert_int_equal(floor, 5);
        assert_int_equal(store_attest_floor_get(f->st, T2, &floor, &err), 0);
        assert_int_equal(floor, 0);
}

static void test_base64(void **state)
{
        (void)state;
        static const struct {
                const char *in;
                const char *out;
        } ok[] = {{"", NULL}, {"QQ==", "A"}, {"QUI=", "AB"}, {"QUJD", "ABC"}, {"+/+/", NULL}};
        for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
                uint8_t *d = NULL;
                size_t n = 0;
                int r = srv_b64_decode(ok[i].in, strlen(ok[i].in), &d, &n);
                if (!ok[i].in[0]) {
                        assert_int_equal(r, -EINVAL);
                        continue;
                }
                assert_int_equal(r, 0);
                if (ok[i].out) {
                        assert_int_equal(n, strlen(ok[i].out));
                        assert_memory_equal(d, ok[i].out, n);
                }
                char *e = srv_b64_encode(d, n, false);
                assert_string_equal(e, ok[i].in);
                free(e);
                free(d);
        }
        /* non-canonical or broken: trailing bits, bad padding, bad length */
        static const char *const bad[] = {"QR==", "QUJ=x", "QUJ", "Q===", "=QUJ", "QU=J",
                                          "QUJD\n", "QUJ-", "QUI_"};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                uint8_t *d = NULL;
                size_t n = 0;
                assert_int_equal(srv_b64_decode(bad[i], strlen(bad[i]), &d, &n), -EINVAL);
        }
        /* wrapping: 64 characters and CRLF per line */
        uint8_t buf[100];
        memset(buf, 0xab, sizeof(buf));
        char *w = srv_b64_encode(buf, sizeof(buf), true);
        assert_int_equal(strlen(w), 136 + 3 * 2);       /* 64 + 64 + 8 characters */
        assert_memory_equal(w + 64, "\r\n", 2);
        free(w);
}

static void test_pkcs7_certs_only(void **state)
{
        (void)state;
        struct rp_err err = {0};
        struct cr_key *k = NULL;
        struct cr_cert *c[2] = {0};
        assert_int_equal(cr_key_generate(&k, &err), 0);
        for (int i = 0; i < 2; i++) {
                struct cr_cert_spec s = {.cn = i ? "second" : "first",
                                         .not_after = time(NULL) + 3600};
                assert_int_equal(cr_cert_self_signed(k, &s, &c[i], &err), 0);
        }
        uint8_t *der = NULL;
        size_t len = 0;
        assert_int_equal(srv_pkcs7_certs_only(c, 2, &der, &len, &err), 0);
        const unsigned char *p = der;
        PKCS7 *p7 = d2i_PKCS7(NULL, &p, (long)len);
        assert_non_null(p7);
        assert_ptr_equal(p, der + len);
        assert_true(PKCS7_type_is_signed(p7));
        STACK_OF(X509) *certs = p7->d.sign->cert;
        assert_int_equal(sk_X509_num(certs), 2);
        assert_int_equal(sk_PKCS7_SIGNER_INFO_num(p7->d.sign->signer_info), 0);
        for (int i = 0; i < 2; i++) {
                uint8_t *a = NULL, *b = NULL;
                size_t la = 0;
                assert_int_equal(cr_cert_to_der(c[i], &a, &la), 0);
                int lb = i2d_X509(sk_X509_value(certs, i), &b);
                assert_int_equal((size_t)lb, la);
                assert_memory_equal(a, b, la);
                free(a);
                OPENSSL_free(b);
        }
        PKCS7_free(p7);
        free(der);
        cr_cert_free(c[0]);
        cr_cert_free(c[1]);
        cr_key_free(k);
}

static const char claims_ok[] =
        "{\"eat_nonce\":\"abc\",\"ueid\":\"0123456789abcdef0123456789abcdef01234567\","
        "\"dbgstat\":3,\"bootcount\":2,\"swname\":\"rampart-os\",\"swversion\":\"1.0.0\","
        "\"svn\":4,\"slot\":\"b\",\"fwid\":\"" "00112233445566778899aabbccddeeff"
        "00112233445566778899aabbccddeeff\",\"iat\":1764340000,"
        "\"cnf\":{\"jkt\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"},"
        "\"submods\":{\"blink\":{\"digest\":\"" "00112233445566778899aabbccddeeff"
        "00112233445566778899aabbccddeeff\"}}}";

static void test_claims(void **state)
{
        (void)state;
        struct srv_evidence ev;
        struct rp_err err = {0};
        assert_int_equal(srv_evidence_claims_parse((const uint8_t *)claims_ok, strlen(claims_ok),
                                                   &ev, &err), 0);
        assert_string_equal(ev.ueid, "0123456789abcdef0123456789abcdef01234567");
        assert_int_equal(ev.svn, 4);
        assert_int_equal(ev.dbgstat, 3);
        assert_true(ev.has_jkt);
        assert_int_equal(ev.fwid[1], 0x11);
        /* each mutation is refused with a message naming the claim */
        static const struct {
                const char *from, *to, *named;
        } bad[] = {
                {"\"svn\":4", "\"svn\":-4", "svn"},
                {"\"svn\":4", "\"svn\":4.5", "svn"},
                {"\"svn\":4", "\"svn\":\"4\"", "svn"},
                {"\"dbgstat\":3", "\"dbgstat\":9", "dbgstat"},
                {"\"slot\":\"b\"", "\"slot\":\"c\"", "slot"},
                {"\"ueid\":\"0123", "\"ueid\":\"0A23", "ueid"},
                {"\"iat\":1764340000", "\"iat\":1764340000,\"extra\":1", "extra"},
                {"\"swname\":\"rampart-os\"", "\"swname\":\"\"", "swname"},
                {"\"jkt\":\"aaaa", "\"jkt\":\"aaa", "jkt"},
                {"\"eat_nonce\":\"abc\",", "", "eat_nonce"},
                {"\"digest\":\"0011", "\"digest\":\"zz11", "blink"},
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                char buf[2048];
                const char *at = strstr(claims_ok, bad[i].from);
                assert_non_null(at);
                snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(at - claims_ok), claims_ok, bad[i].to,
                         at + strlen(bad[i].from));
                memset(&err, 0, sizeof(err));
                assert_int_equal(srv_evidence_claims_parse((const uint8_t *)buf, strlen(buf), &ev,
                                                           &err), -EBADMSG);
                if (!strstr(err.msg, bad[i].named))
                        fail_msg("case %zu: message '%s' does not name '%s'", i, err.msg,
                                 bad[i].named);
        }
        /* duplicate members are refused by the JSON layer */
        assert_int_equal(srv_evidence_claims_parse((const uint8_t *)"{\"svn\":1,\"svn\":2}", 17,
                                                   &ev, &err), -EBADMSG);
}

static void test_reason_table(void **state)
{
        (void)state;
        for (int i = 0; i < SRV_AT_COUNT; i++) {
                const char *a = srv_attest_reason_name((enum srv_attest_reason)i);
                assert_non_null(a);
                assert_true(strlen(a) > 1);
                for (int j = 0; j < i; j++)
                        assert_string_not_equal(a, srv_attest_reason_name((enum srv_attest_reason)j));
                int st = srv_attest_reason_status((enum srv_attest_reason)i);
                assert_true(i == SRV_AT_OK ? st == 200 : i == SRV_AT_INTERNAL ? st == 500
                                                                             : st >= 400 && st < 500);
        }
        assert_string_equal(srv_attest_reason_name(SRV_AT_ALIAS_NOT_SIGNED),
                            "alias_not_signed_by_deviceid");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_nonce_outcomes, setup, teardown),
                cmocka_unit_test_setup_teardown(test_os_releases_and_floor, setup, teardown),
                cmocka_unit_test(test_base64),
                cmocka_unit_test(test_pkcs7_certs_only),
                cmocka_unit_test(test_claims),
                cmocka_unit_test(test_reason_table),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

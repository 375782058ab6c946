/* rampartd_test.c - rampartd's stored state: the configuration file
 * (every malformed value refused with its name, nothing written), the
 * certificate store (round trip, a .pem/.json pair that does not belong
 * together, usability across boots, the 80 % renewal point), and the
 * standard base64 of the enroll body. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/fileio.h"
#include "runtime/attest.h"
#include "runtime/certs.h"
#include "runtime/config.h"

#define TENANT "ten_0123456789abcdef0123456789abcdef"

static char dir[256];

static int setup(void **state)
{
        strcpy(dir, "/tmp/rampartd-test-XXXXXX");
        return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
        return rp_rm_rf(dir);
}

static void write_text(const char *name, const char *text)
{
        char p[512];
        snprintf(p, sizeof(p), "%s/%s", dir, name);
        assert_int_equal(rp_write_file_atomic(p, text, strlen(text), 0600, NULL), 0);
}

static void test_config_round_trip(void **state)
{
        struct rtd_config c = {0}, back;
        struct rp_err err = {0};

        snprintf(c.server, sizeof(c.server), "https://127.0.0.1:8443");
        snprintf(c.tenant, sizeof(c.tenant), TENANT);
        snprintf(c.server_ca, sizeof(c.server_ca), "server-ca.pem");
        assert_int_equal(rtd_config_save(dir, &c, &err), 0);
        assert_int_equal(rtd_config_load(dir, &back, &err), 0);
        assert_string_equal(back.server, c.server);
        assert_string_equal(back.tenant, c.tenant);
        assert_string_equal(back.server_ca, "server-ca.pem");
}

static void test_config_refusals(void **state)
{
        static const struct {
                const char *text, *needle;
        } cases[] = {
                {"{\"server\":\"http://x\",\"tenant\":\"" TENANT "\"}", "https://"},
                {"{\"server\":\"https://x/\",\"tenant\":\"" TENANT "\"}", "must not end"},
                {"{\"server\":\"https://x/api\",\"tenant\":\"" TENANT "\"}", "path"},
                {"{\"server\":\"https://u@x\",\"tenant\":\"" TENANT "\"}", "not allowed"},
                {"{\"server\":\"https://x\",\"tenant\":\"ten_XYZ\"}", "ten_XYZ"},
                {"{\"server\":\"https://x\"}", "'tenant' is missing"},
                {"{\"server\":\"https://x\",\"tenant\":\"" TENANT "\",\"verify\":false}",
                 "unknown member 'verify'"},
                {"{\"server\":7,\"tenant\":\"" TENANT "\"}", "'server' is not a string"},
                {"{\"server\":\"https://x\",\"server\":\"https://y\",\"tenant\":\"" TENANT "\"}",
                 "not a JSON object"},
                {"[]", "not a JSON object"},
        };
        struct rtd_config keep = {.server = "unchanged"};

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct rtd_config c = keep;
                struct rp_err err = {0};
                write_text(RTD_CONFIG_FILE, cases[i].text);
                assert_true(rtd_config_load(dir, &c, &err) < 0);
                if (!strstr(err.msg, cases[i].needle))
                        fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, cases[i].needle);
                assert_string_equal(c.server, "unchanged");
        }
}

static void test_config_missing_and_save_refusal(void **state)
{
        struct rtd_config c = {0};
        struct rp_err err = {0};
        char p[512];
        struct stat st;

        assert_int_equal(rtd_config_load(dir, &c, &err), -ENOENT);
        assert_non_null(strstr(err.msg, "rampart-device configure"));
        snprintf(c.server, sizeof(c.server), "https://h");
        snprintf(c.tenant, sizeof(c.tenant), "ten_short");
        assert_int_equal(rtd_config_save(dir, &c, &err), -EINVAL);
        snprintf(p, sizeof(p), "%s/%s", dir, RTD_CONFIG_FILE);
        assert_int_equal(stat(p, &st), -1);     /* nothing written */
}

static char *issue_pem(struct cr_key *k, time_t nb, time_t na)
{
        struct cr_cert_spec spec = {.cn = "dev", .not_before = nb, .not_after = na,
                                    .key_usage = CR_KU_DIGITAL_SIGNATURE,
                                    .ext_key_usage = CR_EKU_CLIENT_AUTH};
        struct cr_cert *c = NULL;
        char *pem = NULL;
        assert_int_equal(cr_cert_self_signed(k, &spec, &c, NULL), 0);
        assert_int_equal(cr_cert_to_pem(c, &pem, NULL), 0);
        cr_cert_free(c);
        return pem;
}

static void test_cert_store_round_trip(void **state)
{
        struct cr_key *k = NULL;
        struct rtd_cert c = {0};
        struct rp_err err = {0};
        uint8_t fwid[32];
        time_t nb = 1700000000, na = nb + 100000;
        char *pem;

        memset(fwid, 0xab, sizeof(fwid));
        assert_int_equal(cr_key_generate(&k, NULL), 0);
        pem = issue_pem(k, nb, na);
        assert_int_equal(rtd_cert_load(dir, RTD_PURPOSE_APP, &c, &err), -ENOENT);
        assert_int_equal(rtd_cert_store(dir, RTD_PURPOSE_APP, pem, strlen(pem), 7, 42, fwid,
                                        &err), 0);
        assert_int_equal(rtd_cert_load(dir, RTD_PURPOSE_APP, &c, &err), 0);
        assert_int_equal(c.handle, 7);
        assert_int_equal(c.bootcount, 42);
        assert_memory_equal(c.fwid, fwid, 32);
        assert_int_equal(c.not_before, nb);
        assert_int_equal(c.not_after, na);
        assert_int_equal(rtd_cert_renew_at(&c, 0.8), nb + 80000);
        /* usable only in the boot that made the key, inside the validity */
        assert_true(rtd_cert_usable(&c, 42, nb + 10));
        assert_false(rtd_cert_usable(&c, 43, nb + 10));
        assert_false(rtd_cert_usable(&c, 42, na));
        assert_false(rtd_cert_usable(&c, 42, nb - 1));
        rtd_cert_clear(&c);
        /* the platform slot is separate */
        assert_int_equal(rtd_cert_load(dir, RTD_PURPOSE_PLATFORM, &c, &err), -ENOENT);
        free(pem);
        cr_key_free(k);
}

static void test_cert_pair_mismatch_and_garbage(void **state)
{
        struct cr_key *k = NULL;
        struct rtd_cert c = {0};
        struct rp_err err = {0};
        uint8_t fwid[32] = {0};
        char *a, *b, p[512];

        assert_int_equal(cr_key_generate(&k, NULL), 0);
        a = issue_pem(k, 1700000000, 1700100000);
        b = issue_pem(k, 1700000000, 1700200000);
        assert_int_equal(rtd_cert_store(dir, RTD_PURPOSE_PLATFORM, a, strlen(a), 1, 1, fwid,
                                        &err), 0);
        /* a power cut after the new .pem, before the new .json */
        snprintf(p, sizeof(p), "%s/certs/platform.pem", dir);
        assert_int_equal(rp_write_file_atomic(p, b, strlen(b), 0600, NULL), 0);
        assert_int_equal(rtd_cert_load(dir, RTD_PURPOSE_PLATFORM, &c, &err), -ESTALE);
        assert_null(c.cert);
        /* garbage instead of a certificate is refused, and not stored */
        assert_true(rtd_cert_store(dir, RTD_PURPOSE_PLATFORM, "garbage", 7, 1, 1, fwid, &err) < 0);
        assert_int_equal(rtd_cert_load(dir, RTD_PURPOSE_PLATFORM, &c, &err), -ESTALE);
        /* a sidecar with a wrong type */
        write_text("certs/platform.json", "{\"handle\":\"1\",\"bootcount\":1}");
        assert_int_equal(rtd_cert_load(dir, RTD_PURPOSE_PLATFORM, &c, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "'handle'"));
        free(a);
        free(b);
        cr_key_free(k);
}

static void test_b64(void **state)
{
        static const struct {
                const char *in, *out;
        } v[] = {{"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"},
                 {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
                 {"\xfb\xff", "+/8="}};
        for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
                char *s = rtd_b64_encode((const uint8_t *)v[i].in, strlen(v[i].in));
                assert_string_equal(s, v[i].out);
                free(s);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_config_round_trip),
                cmocka_unit_test(test_config_refusals),
                cmocka_unit_test_setup_teardown(test_config_missing_and_save_refusal, setup,
                                                teardown),
                cmocka_unit_test(test_cert_store_round_trip),
                cmocka_unit_test(test_cert_pair_mismatch_and_garbage),
                cmocka_unit_test(test_b64),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}

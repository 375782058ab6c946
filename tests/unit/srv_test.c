/* srv_test.c - unit tests for rampart-server's building blocks that do not
 * need a socket: time parsing, ids, token format and authentication
 * outcomes against a real store, the master key and sealing at rest, and
 * the metrics text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "lib/fileio.h"
#include "server/auth.h"
#include "server/http.h"
#include "server/keystore.h"
#include "server/metrics.h"
#include "store/store.h"
#include "store/tenants.h"
#include "store/tokens.h"

static void test_time_parse(void **state)
{
        int64_t ms = 0;
        assert_int_equal(srv_time_parse("2026-11-28T15:04:05Z", &ms), 0);
        assert_int_equal(ms, 1795878245000LL);
        char b[32];
        srv_time_fmt(ms, b);
        assert_string_equal(b, "2026-11-28T15:04:05Z");
        int64_t o = 0;
        assert_int_equal(srv_time_parse("2026-11-28T16:04:05+01:00", &o), 0);
        assert_int_equal(o, ms);
        assert_int_equal(srv_time_parse("2026-11-28T14:34:05-00:30", &o), 0);
        assert_int_equal(o, ms);
        assert_int_equal(srv_time_parse("2026-11-28T15:04:05.250Z", &o), 0);
        assert_int_equal(o, ms + 250);
        assert_int_equal(srv_time_parse("2024-02-29T00:00:00Z", &o), 0);   /* leap day */
        static const char *bad[] = {
                "", "2026-11-28", "2026-11-28T15:04:05", "2026-11-28 15:04:05Z",
                "2026-02-30T00:00:00Z", "2025-02-29T00:00:00Z", "2026-13-01T00:00:00Z",
                "2026-11-28T24:00:00Z", "2026-11-28T15:60:00Z", "2026-11-28T15:04:05.Z",
                "2026-11-28T15:04:05Zjunk", "2026-11-28T15:04:05+1:00", "2026-11-28T15:04:05+24:00",
                "+026-11-28T15:04:05Z", "2026-11-28T15:04:05.1234567890Z", "tomorrow",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                o = 42;
                assert_int_equal(srv_time_parse(bad[i], &o), -EINVAL);
                assert_int_equal(o, 42);        /* ret_ untouched on failure */
        }
}

static void test_ids(void **state)
{
        char a[SRV_ID_BUF], b[SRV_ID_BUF];
        assert_int_equal(srv_new_id("ten", a), 0);
        assert_int_equal(srv_new_id("ten", b), 0);
        assert_string_not_equal(a, b);
        assert_int_equal(strlen(a), 4 + 32);
        assert_true(srv_id_valid("ten", a));
        assert_false(srv_id_valid("tok", a));
        assert_false(srv_id_valid("ten", "ten_"));
        assert_false(srv_id_valid("ten", "ten_0123456789abcdef0123456789ABCDEF"));
        assert_false(srv_id_valid("ten", "ten_0123456789abcdef0123456789abcdef0"));
        assert_false(srv_id_valid("ten", "ten_0123456789abcdef0123456789abcde'"));
        assert_false(srv_id_valid("ten", NULL));
}

static void test_token_format(void **state)
{
        char t1[SRV_TOKEN_BUF], t2[SRV_TOKEN_BUF];
        uint8_t h1[32], h2[32], chk[32];
        assert_int_equal(srv_token_generate(t1, h1), 0);
        assert_int_equal(srv_token_generate(t2, h2), 0);
        assert_int_equal(strlen(t1), SRV_TOKEN_LEN);
        assert_string_not_equal(t1, t2);
        assert_int_equal(srv_token_check_format(t1), 0);
        cr_sha256(t1, strlen(t1), chk);
        assert_memory_equal(h1, chk, 32);
        char bad[SRV_TOKEN_BUF + 2];
        snprintf(bad, sizeof(bad), "%s", t1);
        bad[10] = '+';
        assert_int_equal(srv_token_check_format(bad), -EINVAL);
        snprintf(bad, sizeof(bad), "%sA", t1);
        assert_int_equal(srv_token_check_format(bad), -EINVAL);
        assert_int_equal(srv_token_check_format("rpx_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), -EINVAL);
        assert_int_equal(srv_token_check_format(""), -EINVAL);
}

static void test_auth_outcomes(void **state)
{
        char dir[] = "/tmp/rp-srvauth-XXXXXX", path[96];
        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/db", dir);
        struct store *st = NULL;
        struct rp_err err = {0};
        assert_int_equal(store_open(path, &st, &err), 0);
        struct store_tenant t = {.created_ms = 1};
        strcpy(t.id, "ten_0123456789abcdef0123456789abcdef");
        strcpy(t.name, "t");
        assert_int_equal(store_tenant_create(st, &t, &err), 0);

        char live[SRV_TOKEN_BUF], rev[SRV_TOKEN_BUF], exp[SRV_TOKEN_BUF];
        struct store_token k, kr;
        int64_t now = srv_now_ms();
        assert_int_equal(srv_token_issue(st, t.id, SRV_ROLE_READER, "live", 0, "", &k, live, &err), 0);
        assert_int_equal(srv_token_issue(st, t.id, SRV_ROLE_ADMIN, "rev", 0, "", &kr, rev, &err), 0);
        assert_int_equal(srv_token_issue(st, t.id, SRV_ROLE_ADMIN, "exp", now + 1000, "", NULL, exp, &err), 0);
        assert_int_equal(store_token_revoke(st, t.id, kr.id, now, &err), 0);

        struct store_token got;
        assert_int_equal(srv_auth_lookup(st, live, now, &got, &err), 0);
        assert_string_equal(got.id, k.id);
        assert_int_equal(got.role, SRV_ROLE_READER);
        assert_int_equal(srv_auth_lookup(st, rev, now, &got, &err), -EKEYREVOKED);
        assert_null(strstr(err.msg, rev));                 /* never echoes the token */
        assert_int_equal(srv_auth_lookup(st, exp, now, &got, &err), 0);
        assert_int_equal(srv_auth_lookup(st, exp, now + 1000, &got, &err), -EKEYEXPIRED);
        char unknown[SRV_TOKEN_BUF];
        uint8_t h[32];
        assert_int_equal(srv_token_generate(unknown, h), 0);
        assert_int_equal(srv_auth_lookup(st, unknown, now, &got, &err), -ENOENT);
        assert_int_equal(srv_auth_lookup(st, "rpt_short", now, &got, &err), -EINVAL);
        /* the stored hash is not the token */
        assert_memory_not_equal(k.hash, live, 32);
        store_close(st);
        assert_int_equal(rp_rm_rf(dir), 0);
}

static void test_keystore(void **state)
{
        char dir[] = "/tmp/rp-keystore-XXXXXX", path[96];
        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/master.key", dir);
        struct srv_keystore a, b;
        struct rp_err err = {0};
        assert_int_equal(srv_keystore_open(dir, &a, &err), 0);
        struct stat sb;
        assert_int_equal(stat(path, &sb), 0);
        assert_int_equal(sb.st_mode & 0777, 0600);
        assert_int_equal(sb.st_size, SRV_MASTER_KEY_LEN);
        assert_int_equal(srv_keystore_open(dir, &b, &err), 0);
        assert_memory_equal(a.key, b.key, sizeof(a.key));

        const char secret[] = "-----BEGIN PRIVATE KEY-----\nnot really\n";
        uint8_t *sealed = NULL, *plain = NULL;
        size_t sl = 0, pl = 0;
        assert_int_equal(srv_keystore_seal(&a, "tenant-ca:t1:ca1", secret, sizeof(secret) - 1, &sealed, &sl, &err), 0);
        assert_int_equal(sl, sizeof(secret) - 1 + 28);
        assert_null(memmem(sealed, sl, "PRIVATE", 7));
        assert_int_equal(srv_keystore_open_sealed(&b, "tenant-ca:t1:ca1", sealed, sl, &plain, &pl, &err), 0);
        assert_int_equal(pl, sizeof(secret) - 1);
        assert_memory_equal(plain, secret, pl);
        free(plain);
        /* moved to another owner, tampered, truncated, other key: refused */
        assert_int_equal(srv_keystore_open_sealed(&b, "tenant-ca:t2:ca1", sealed, sl, &plain, &pl, &err), -EBADMSG);
        sealed[sl / 2] ^= 1;
        assert_int_equal(srv_keystore_open_sealed(&b, "tenant-ca:t1:ca1", sealed, sl, &plain, &pl, &err), -EBADMSG);
        sealed[sl / 2] ^= 1;
        assert_int_equal(srv_keystore_open_sealed(&b, "tenant-ca:t1:ca1", sealed, 20, &plain, &pl, &err), -EBADMSG);
        b.key[0] ^= 1;
        assert_int_equal(srv_keystore_open_sealed(&b, "tenant-ca:t1:ca1", sealed, sl, &plain, &pl, &err), -EBADMSG);
        free(sealed);

        /* a master key others can read is refused, so is a wrong size */
        assert_int_equal(chmod(path, 0644), 0);
        assert_int_equal(srv_keystore_open(dir, &b, &err), -EPERM);
        assert_non_null(strstr(err.msg, "chmod 600"));
        assert_int_equal(chmod(path, 0600), 0);
        assert_int_equal(truncate(path, 16), 0);
        assert_int_equal(srv_keystore_open(dir, &b, &err), -EINVAL);
        srv_keystore_wipe(&a);
        srv_keystore_wipe(&b);
        assert_int_equal(rp_rm_rf(dir), 0);
}

static void test_metrics_text(void **state)
{
        const char *names[] = {"token.get", "token.create"};
        struct srv_metrics m;
        assert_int_equal(srv_metrics_init(&m, names, 2), 0);
        srv_metrics_request(&m, 0, 200, 0.0003);
        srv_metrics_request(&m, 0, 200, 0.002);
        srv_metrics_request(&m, 0, 404, 0.0001);
        srv_metrics_request(&m, 2, 404, 0.00001);       /* unmatched */
        srv_metrics_store(&m, "token.get", 0.00002);
        m.open_conns = 3;
        struct rp_buf b = {.max = 1 << 20};
        assert_int_equal(srv_metrics_render(&m, &b), 0);
        assert_int_equal(rp_buf_terminate(&b), 0);
        const char *t = (const char *)b.data;
        assert_non_null(strstr(t, "rampart_http_requests_total{route=\"token.get\",code=\"200\"} 2\n"));
        assert_non_null(strstr(t, "rampart_http_requests_total{route=\"token.get\",code=\"404\"} 1\n"));
        assert_non_null(strstr(t, "rampart_http_requests_total{route=\"unmatched\",code=\"404\"} 1\n"));
        /* cumulative buckets */
        assert_non_null(strstr(t, "rampart_http_request_duration_seconds_bucket{route=\"token.get\",le=\"0.00025\"} 1\n"));
        assert_non_null(strstr(t, "rampart_http_request_duration_seconds_bucket{route=\"token.get\",le=\"0.0005\"} 2\n"));
        assert_non_null(strstr(t, "rampart_http_request_duration_seconds_bucket{route=\"token.get\",le=\"+Inf\"} 3\n"));
        assert_non_null(strstr(t, "rampart_http_request_duration_seconds_count{route=\"token.get\"} 3\n"));
        assert_null(strstr(t, "route=\"token.create\",le="));   /* no samples, no series */
        assert_non_null(strstr(t, "rampart_store_op_duration_seconds_count{op=\"token.get\"} 1\n"));
        assert_non_null(strstr(t, "rampart_http_open_connections 3\n"));
        rp_buf_free(&b);
        srv_metrics_free(&m);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_time_parse),
                cmocka_unit_test(test_ids),
                cmocka_unit_test(test_token_format),
                cmocka_unit_test(test_auth_outcomes),
                cmocka_unit_test(test_keystore),
                cmocka_unit_test(test_metrics_text),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

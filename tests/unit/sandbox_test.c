/* sandbox_test.c - unit tests for the pieces of src/sandbox that can run
 * without starting a compartment: the egress policy (resolution from a
 * hosts file, re-resolution, the app's hosts file, connect/bind verdicts),
 * uid allocation, the peripheral ownership table, the seccomp filter build
 * and the limits fallback. Compartments themselves are tested as attacks
 * in tests/integration/test_sandbox.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/manifest.h"
#include "lib/fileio.h"
#include "sandbox/egress.h"
#include "sandbox/filter.h"
#include "sandbox/limits.h"
#include "sandbox/periph.h"
#include "sandbox/uid.h"

#define ID_A "3f1c0a52-6b8e-4d7a-9c41-0e2f5b6a7d10"
#define ID_B "8a0e2d94-17c3-4f55-b2a6-9d3e1c4b5f22"

static char tmpdir[] = "/tmp/sbx-unit-XXXXXX";

static int setup(void **state)
{
        return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
        return rp_rm_rf(tmpdir) < 0 ? -1 : 0;
}

static struct img_manifest *manifest(const char *caps, const char *id, const char *name)
{
        char json[2048];
        struct rp_err e = {0};
        struct img_manifest *m = calloc(1, sizeof(*m));
        snprintf(json, sizeof(json),
                 "{\"SchemaVersion\":1,\"Name\":\"%s\",\"ComponentId\":\"%s\",\"EntryPoint\":\"/a\","
                 "\"Capabilities\":{%s}}", name, id, caps);
        if (img_manifest_parse((const uint8_t *)json, strlen(json), m, &e) != 0) {
                print_error("%s\n", e.msg);
                fail();
        }
        return m;
}

static void write_text(const char *path, const char *text)
{
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
}

static struct sockaddr_storage v4(const char *ip, int port, socklen_t *len)
{
        struct sockaddr_storage ss = {0};
        struct sockaddr_in *in = (void *)&ss;
        in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t)port);
        assert_int_equal(inet_pton(AF_INET, ip, &in->sin_addr), 1);
        *len = sizeof(*in);
        return ss;
}

static struct sockaddr_storage v6(const char *ip, int port, socklen_t *len)
{
        struct sockaddr_storage ss = {0};
        struct sockaddr_in6 *in6 = (void *)&ss;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        assert_int_equal(inet_pton(AF_INET6, ip, &in6->sin6_addr), 1);
        *len = sizeof(*in6);
        return ss;
}

static int check(const struct sbx_egress *eg, struct sockaddr_storage ss, socklen_t len)
{
        return sbx_egress_check_connect(eg, (struct sockaddr *)&ss, len);
}

static int chk4(const struct sbx_egress *eg, const char *ip, int port)
{
        socklen_t l;
        struct sockaddr_storage ss = v4(ip, port, &l);
        return check(eg, ss, l);
}

static int chk6(const struct sbx_egress *eg, const char *ip, int port)
{
        socklen_t l;
        struct sockaddr_storage ss = v6(ip, port, &l);
        return check(eg, ss, l);
}

static void test_egress_policy(void **state)
{
        char hosts[256], etc[256], apphosts[300];
        struct sbx_egress *eg = calloc(1, sizeof(*eg));
        struct rp_err e = {0};
        socklen_t l;
        uint8_t *text;
        size_t tl;

        snprintf(hosts, sizeof(hosts), "%s/hosts", tmpdir);
        snprintf(etc, sizeof(etc), "%s/etc", tmpdir);
        snprintf(apphosts, sizeof(apphosts), "%s/hosts", etc);
        assert_int_equal(mkdir(etc, 0755), 0);
        write_text(hosts, "# test resolver\n127.0.0.2 svc.test alias.test\n::1 svc.test\n127.0.0.3 other.test\n"
                          "not-an-address svc.test\n");
        struct img_manifest *m = manifest("\"AllowedConnections\":[\"SVC.test:443\",\"10.0.0.1\","
                                          "\"[2001:db8::1]:80\",\"missing.test\"]", ID_A, "a");
        assert_int_equal(sbx_egress_init(eg, m, hosts, &e), 0);
        assert_int_equal(sbx_egress_set_etc(eg, open(etc, O_DIRECTORY | O_CLOEXEC), &e), 0);

        assert_int_equal(chk4(eg, "127.0.0.2", 443), 0);
        assert_int_equal(chk6(eg, "::1", 443), 0);
        assert_int_equal(chk6(eg, "::ffff:127.0.0.2", 443), 0);     /* v4-mapped */
        assert_int_equal(chk4(eg, "127.0.0.2", 444), -EACCES);     /* undeclared port */
        assert_int_equal(chk4(eg, "127.0.0.3", 443), -EACCES);     /* undeclared name's address */
        assert_int_equal(chk4(eg, "10.0.0.1", 1), 0);              /* literal, any port */
        assert_int_equal(chk4(eg, "10.0.0.1", 0), -EACCES);        /* port 0 never */
        assert_int_equal(chk4(eg, "10.0.0.2", 80), -EACCES);
        assert_int_equal(chk6(eg, "2001:db8::1", 80), 0);
        assert_int_equal(chk6(eg, "2001:db8::1", 81), -EACCES);
        assert_int_equal(chk6(eg, "::ffff:10.0.0.1", 22), 0);
        /* truncated address and other families */
        assert_int_equal(check(eg, v4("127.0.0.2", 443, &l), 4), -EACCES);
        struct sockaddr_storage un = { .ss_family = AF_UNIX };
        assert_int_equal(check(eg, un, sizeof(un)), -EACCES);

        /* the app sees the runtime's answers, and only for declared names */
        assert_int_equal(rp_read_file(apphosts, 4096, &text, &tl, &e), 0);
        assert_non_null(strstr((char *)text, "127.0.0.2\tsvc.test\n"));
        assert_non_null(strstr((char *)text, "::1\tsvc.test\n"));
        assert_null(strstr((char *)text, "other.test"));
        assert_null(strstr((char *)text, "alias.test"));
        free(text);

        /* the name moves: the old address is refused from the next check on */
        write_text(hosts, "127.0.0.7 svc.test\n");
        assert_int_equal(sbx_egress_refresh(eg, false, &e), 0);
        assert_int_equal(chk4(eg, "127.0.0.2", 443), -EACCES);
        assert_int_equal(chk6(eg, "::1", 443), -EACCES);
        assert_int_equal(chk4(eg, "127.0.0.7", 443), 0);
        assert_int_equal(rp_read_file(apphosts, 4096, &text, &tl, &e), 0);
        assert_non_null(strstr((char *)text, "127.0.0.7\tsvc.test\n"));
        assert_null(strstr((char *)text, "127.0.0.2"));
        free(text);

        /* a missing resolver file is an error, and keeps the last answers */
        assert_int_equal(unlink(hosts), 0);
        assert_int_equal(sbx_egress_refresh(eg, true, &e), -ENOENT);
        assert_non_null(strstr(e.msg, hosts));
        assert_int_equal(chk4(eg, "127.0.0.7", 443), 0);

        sbx_egress_done(eg);
        free(eg);
        free(m);
}

static void test_egress_bind(void **state)
{
        struct sbx_egress *eg = calloc(1, sizeof(*eg));
        struct rp_err e = {0};
        socklen_t l;
        struct img_manifest *m = manifest("\"AllowedTcpServerPorts\":[8080],\"AllowedUdpServerPorts\":[5683]",
                                          ID_A, "a");
        assert_int_equal(sbx_egress_init(eg, m, NULL, &e), 0);
        struct sockaddr_storage ss = v4("0.0.0.0", 8080, &l);
        assert_int_equal(sbx_egress_check_bind(eg, SOCK_STREAM, (struct sockaddr *)&ss, l), 0);
        ss = v6("::", 8080, &l);
        assert_int_equal(sbx_egress_check_bind(eg, SOCK_STREAM, (struct sockaddr *)&ss, l), 0);
        ss = v4("0.0.0.0", 8081, &l);
        assert_int_equal(sbx_egress_check_bind(eg, SOCK_STREAM, (struct sockaddr *)&ss, l), -EACCES);
        ss = v4("0.0.0.0", 0, &l);
        assert_int_equal(sbx_egress_check_bind(eg, SOCK_STREAM, (struct sockaddr *)&ss, l), -EACCES);
        ss = v4("0.0.0.0", 5683, &l);
        assert_int_equal(sbx_egress_check_bind(eg, SOCK_DGRAM, (struct sockaddr *)&ss, l), -EACCES);
        /* no AllowedConnections: nothing goes out */
        assert_int_equal(chk4(eg, "127.0.0.1", 80), -EACCES);
        sbx_egress_done(eg);
        free(eg);
        free(m);
}

static void test_uid_alloc(void **state)
{
        char st[256], table[300];
        struct rp_err e = {0};
        uid_t a = 0, b = 0, c = 0;

        snprintf(st, sizeof(st), "%s/state", tmpdir);
        snprintf(table, sizeof(table), "%s/uids", st);
        assert_int_equal(sbx_uid_alloc(st, ID_A, &a, &e), 0);
        assert_int_equal(sbx_uid_alloc(st, ID_B, &b, &e), 0);
        assert_int_equal(a, SBX_UID_BASE);
        assert_int_equal(b, SBX_UID_BASE + 1);
        assert_int_equal(sbx_uid_alloc(st, ID_A, &c, &e), 0);
        assert_int_equal(c, a);                 /* stable across restarts */
        assert_int_equal(sbx_uid_release(st, ID_A, &e), 0);
        assert_int_equal(sbx_uid_alloc(st, "c", &c, &e), 0);
        assert_int_equal(c, SBX_UID_BASE);      /* lowest free is reused */
        assert_int_equal(sbx_uid_alloc(st, ID_B, &c, &e), 0);
        assert_int_equal(c, b);

        /* a table naming uid 0 (or garbage) is refused, not trusted */
        write_text(table, "evil 0\n");
        c = 4242;
        assert_int_equal(sbx_uid_alloc(st, ID_A, &c, &e), -EBADMSG);
        assert_int_equal(c, 4242);
        assert_non_null(strstr(e.msg, "evil 0"));
}

static void test_periph(void **state)
{
        struct sbx_periph_table *t = calloc(1, sizeof(*t));
        struct rp_err e = {0};
        struct img_manifest *a = manifest("\"Gpio\":[8,12],\"Uart\":[\"ISU0\"]", ID_A, "blink");
        struct img_manifest *b = manifest("\"Gpio\":[12],\"I2cMaster\":[\"ISU1\"]", ID_B, "other");

        assert_int_equal(sbx_periph_claim(t, a, SBX_PERIPH_GPIO, "8", &e), 0);
        assert_int_equal(sbx_periph_claim(t, a, SBX_PERIPH_GPIO, "8", &e), 0); /* idempotent */
        assert_int_equal(sbx_periph_claim(t, a, SBX_PERIPH_GPIO, "9", &e), -EACCES);
        assert_non_null(strstr(e.msg, "Gpio '9' is not declared in the manifest of app 'blink'"));
        assert_int_equal(sbx_periph_claim(t, a, SBX_PERIPH_GPIO, "08", &e), -EACCES);
        assert_int_equal(sbx_periph_claim(t, a, SBX_PERIPH_I2C, "ISU1", &e), -EACCES);
        assert_int_equal(sbx_periph_claim(t, a, SBX_PERIPH_GPIO, "12", &e), 0);
        assert_int_equal(sbx_periph_claim(t, b, SBX_PERIPH_GPIO, "12", &e), -EBUSY);
        assert_non_null(strstr(e.msg, "owned by app " ID_A));
        assert_string_equal(sbx_periph_owner(t, SBX_PERIPH_GPIO, "12"), ID_A);
        assert_int_equal(sbx_periph_claim(t, a, SBX_PERIPH_UART, "ISU0", &e), 0);
        sbx_periph_release_all(t, ID_A);
        assert_null(sbx_periph_owner(t, SBX_PERIPH_GPIO, "12"));
        assert_int_equal(sbx_periph_claim(t, b, SBX_PERIPH_GPIO, "12", &e), 0);
        assert_int_equal(sbx_periph_claim(t, b, SBX_PERIPH_I2C, "ISU1", &e), 0);
        assert_int_equal(t->n, 2);
        free(t);
        free(a);
        free(b);
}

static void test_filter_and_limits(void **state)
{
        struct sbx_filter f = {0};
        struct sbx_limits lim;
        struct rp_err e = {0};

        assert_int_equal(sbx_filter_build(&f, &e), 0);
        assert_true(f.len > 50);
        sbx_filter_free(&f);
        assert_null(f.insns);
        sbx_filter_free(NULL);

        assert_int_equal(sbx_limits_prepare(&lim, "unit", 64 << 20, 16, false, &e), 0);
        assert_int_equal(lim.mode, SBX_LIMITS_RLIMIT);
        assert_false(sbx_limits_oom_killed(&lim));
        sbx_limits_release(&lim);
        assert_int_equal(sbx_limits_prepare(&lim, "unit", 1 << 20, 16, false, &e), -EINVAL);
        assert_non_null(strstr(e.msg, "1048576 bytes"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_egress_policy),
                cmocka_unit_test(test_egress_bind),
                cmocka_unit_test(test_uid_alloc),
                cmocka_unit_test(test_periph),
                cmocka_unit_test(test_filter_and_limits),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}

/* sdk_test.c - librampart outside a compartment: what needs no runtime
 * (storage name checks, the storage capability check when there is no
 * /data, image path rules, a missing channel) and the channel framing's
 * refusals of malformed records. The runtime side is covered end to end by
 * tests/integration/test_apps.py. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../include/rampart/rampart.h"
#include "runtime/appctl.h"

static void test_storage_names(void **state)
{
        (void)state;
        assert_int_equal(rp_storage_open("", O_RDONLY), -EINVAL);
        assert_int_equal(rp_storage_open(".hidden", O_RDONLY), -EINVAL);
        assert_int_equal(rp_storage_open("a/b", O_RDONLY), -EINVAL);
        assert_int_equal(rp_storage_open("../x", O_RDONLY), -EINVAL);
        char longname[80];
        memset(longname, 'a', sizeof(longname) - 1);
        longname[sizeof(longname) - 1] = '\0';
        assert_int_equal(rp_storage_delete(longname), -EINVAL);
}

static void test_storage_without_capability(void **state)
{
        (void)state;
        if (access("/data", F_OK) == 0)
                skip();         /* a host with /data cannot show the missing-capability path */
        assert_int_equal(rp_storage_open("count", O_RDONLY), -EACCES);
        assert_int_equal(rp_storage_write_file("count", "1", 1), -EACCES);
        assert_int_equal(rp_storage_delete("count"), -EACCES);
}

static void test_image_paths(void **state)
{
        char p[300];
        (void)state;
        assert_int_equal(rp_image_path("etc/ca.pem", p, sizeof(p)), 0);
        assert_string_equal(p, "/app/etc/ca.pem");
        assert_int_equal(rp_image_path("/etc/shadow", p, sizeof(p)), -EINVAL);
        assert_int_equal(rp_image_path("../etc/shadow", p, sizeof(p)), -EINVAL);
        assert_int_equal(rp_image_path("a/../../x", p, sizeof(p)), -EINVAL);
        assert_int_equal(rp_image_path("", p, sizeof(p)), -EINVAL);
        assert_int_equal(rp_image_path("etc/ca.pem", p, 8), -ENAMETOOLONG);
}

static void test_framing(void **state)
{
        int sp[2], fd = -1;
        struct rtd_appctl_hdr h;
        char buf[64];
        (void)state;
        assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp), 0);
        /* a record with a descriptor */
        assert_int_equal(rtd_appctl_send(sp[0], RTD_OP_GPIO_OPEN, -13, 7, "abc", 3, STDIN_FILENO), 0);
        assert_int_equal(rtd_appctl_recv(sp[1], &h, buf, sizeof(buf), &fd), 0);
        assert_int_equal(h.op, RTD_OP_GPIO_OPEN);
        assert_int_equal(h.status, -13);
        assert_int_equal(h.arg, 7);
        assert_string_equal(buf, "abc");
        assert_true(fd >= 0);
        close(fd);
        /* a payload longer than the receiver's buffer is refused, not cut */
        char big[100];
        memset(big, 'x', sizeof(big));
        assert_int_equal(rtd_appctl_send(sp[0], RTD_OP_HELLO, 0, 0, big, sizeof(big), -1), 0);
        assert_int_equal(rtd_appctl_recv(sp[1], &h, buf, sizeof(buf), NULL), -EBADMSG);
        /* a header whose length disagrees with the record */
        struct rtd_appctl_hdr lie = { .op = RTD_OP_HELLO, .len = 40 };
        assert_int_equal(send(sp[0], &lie, sizeof(lie), 0), (ssize_t)sizeof(lie));
        assert_int_equal(rtd_appctl_recv(sp[1], &h, buf, sizeof(buf), NULL), -EBADMSG);
        /* a record shorter than a header */
        assert_int_equal(send(sp[0], "xy", 2, 0), 2);
        assert_int_equal(rtd_appctl_recv(sp[1], &h, buf, sizeof(buf), NULL), -EBADMSG);
        /* oversized payloads are not sent */
        static char huge[RTD_APPCTL_MAX_PAYLOAD + 1];
        assert_int_equal(rtd_appctl_send(sp[0], RTD_OP_HELLO, 0, 0, huge, sizeof(huge), -1), -EMSGSIZE);
        close(sp[0]);
        assert_int_equal(rtd_appctl_recv(sp[1], &h, buf, sizeof(buf), NULL), -EPIPE);
        close(sp[1]);
}

static void test_outside_compartment(void **state)
{
        bool ready = true;
        (void)state;
        if (access(RTD_APPCTL_PATH, F_OK) == 0)
                skip();
        /* no channel: a clear error, not a hang or a crash */
        assert_int_equal(rp_net_ready(&ready), -ENOENT);
        assert_true(rp_app_connect(NULL) == -EINVAL);
        assert_true(rp_uart_open(NULL) == -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_storage_names),
                cmocka_unit_test(test_storage_without_capability),
                cmocka_unit_test(test_image_paths),
                cmocka_unit_test(test_framing),
                cmocka_unit_test(test_outside_compartment),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

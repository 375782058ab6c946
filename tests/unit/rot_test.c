/* rot_test.c - the emulated root of trust: lifecycle, UDS read latch,
 * counters that only go up, corruption detection, file modes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/fileio.h"
#include "rot/rot.h"

struct fixture {
        char dir[64];
        struct rot *rot;
};

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));
        struct rp_err err = {0};
        snprintf(f->dir, sizeof(f->dir), "/tmp/rp-rot-test-XXXXXX");
        if (!mkdtemp(f->dir))
                return -1;
        if (rot_emul_open(f->dir, &f->rot, &err) < 0)
                return -1;
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;
        rot_close(f->rot);
        if (rp_rm_rf(f->dir) < 0)
                return -1;
        free(f);
        return 0;
}

static void fill_fuses(struct rot_fuses *pub, struct rp_secret32 *uds)
{
        memset(pub, 0, sizeof(*pub));
        pub->debug = true;
        pub->n_platform_keys = 1;
        memset(pub->platform_keys[0], 0x04, CR_P256_PUB_LEN);
        for (int i = 0; i < 32; i++)
                uds->b[i] = (uint8_t)i;
}

static void test_lifecycle(void **state)
{
        struct fixture *f = *state;
        struct rot_fuses pub, got;
        struct rp_secret32 uds, out;
        struct rp_err err = {0};
        struct stat st;
        char path[128];

        assert_int_equal(rot_fuses_read(f->rot, &got, &err), 0);
        assert_int_equal(got.lifecycle, ROT_LC_BLANK);
        assert_int_equal(rot_uds_read(f->rot, &out, NULL, &err), -ENODEV);
        assert_non_null(strstr(err.msg, "blank"));

        fill_fuses(&pub, &uds);
        assert_int_equal(f->rot->ops->program(f->rot, &uds, &pub, &err), 0);
        assert_int_equal(rot_fuses_read(f->rot, &got, &err), 0);
        assert_int_equal(got.lifecycle, ROT_LC_PROVISIONED);
        assert_true(got.debug);
        assert_int_equal(got.n_platform_keys, 1);
        assert_memory_equal(got.platform_keys[0], pub.platform_keys[0], CR_P256_PUB_LEN);

        assert_int_equal(f->rot->ops->lock(f->rot, &err), 0);
        assert_int_equal(rot_fuses_read(f->rot, &got, &err), 0);
        assert_int_equal(got.lifecycle, ROT_LC_LOCKED);
        /* locked: no second programming, no second lock */
        pub.debug = false;
        assert_int_equal(f->rot->ops->program(f->rot, &uds, &pub, &err), -EPERM);
        assert_non_null(strstr(err.msg, "locked"));
        assert_int_equal(f->rot->ops->lock(f->rot, &err), -EPERM);
        assert_int_equal(rot_fuses_read(f->rot, &got, &err), 0);
        assert_true(got.debug);

        /* the UDS reads once per handle, with the public fuses of that read */
        memset(&got, 0, sizeof(got));
        assert_int_equal(rot_uds_read(f->rot, &out, &got, &err), 0);
        assert_int_equal(got.lifecycle, ROT_LC_LOCKED);
        assert_int_equal(got.n_platform_keys, 1);
        assert_memory_equal(out.b, uds.b, 32);
        assert_int_equal(rot_uds_read(f->rot, &out, NULL, &err), -EPERM);
        assert_non_null(strstr(err.msg, "already read"));

        snprintf(path, sizeof(path), "%s/fuses", f->dir);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
}

static void test_corrupt_fuses(void **state)
{
        struct fixture *f = *state;
        struct rot_fuses pub, got;
        struct rp_secret32 uds;
        struct rp_err err = {0};
        char path[128];
        uint8_t *d;
        size_t n;

        fill_fuses(&pub, &uds);
        assert_int_equal(f->rot->ops->program(f->rot, &uds, &pub, &err), 0);
        snprintf(path, sizeof(path), "%s/fuses", f->dir);
        assert_int_equal(rp_read_file(path, 4096, &d, &n, &err), 0);
        d[20] ^= 1;
        assert_int_equal(rp_write_file_atomic(path, d, n, 0600, &err), 0);
        assert_int_equal(rot_fuses_read(f->rot, &got, &err), -EBADMSG);
        assert_non_null(strstr(err.msg, "checksum"));
        assert_int_equal(rp_write_file_atomic(path, d, n - 1, 0600, &err), 0);
        assert_int_equal(rot_fuses_read(f->rot, &got, &err), -EBADMSG);
        free(d);
}

static void test_counters(void **state)
{
        struct fixture *f = *state;
        struct rp_err err = {0};
        uint64_t v = 99;
        char names[ROT_MAX_COUNTERS][ROT_COUNTER_NAME_MAX + 1];
        uint64_t vals[ROT_MAX_COUNTERS];

        assert_int_equal(rot_counter_read(f->rot, "os", &v, &err), 0);
        assert_int_equal(v, 0);
        assert_int_equal(rot_counter_advance(f->rot, "os", 5, &err), 0);
        assert_int_equal(rot_counter_advance(f->rot, "app.blink", 2, &err), 0);
        assert_int_equal(rot_counter_read(f->rot, "os", &v, &err), 0);
        assert_int_equal(v, 5);
        /* never backwards, and a refusal changes nothing */
        assert_int_equal(rot_counter_advance(f->rot, "os", 4, &err), -ERANGE);
        assert_non_null(strstr(err.msg, "cannot go back to 4"));
        assert_int_equal(rot_counter_read(f->rot, "os", &v, &err), 0);
        assert_int_equal(v, 5);
        assert_int_equal(rot_counter_advance(f->rot, "os", 5, &err), 0);
        assert_int_equal(rot_counter_advance(f->rot, "os", UINT64_MAX, &err), 0);
        assert_int_equal(rot_counter_read(f->rot, "os", &v, &err), 0);
        assert_true(v == UINT64_MAX);
        /* names */
        assert_int_equal(rot_counter_advance(f->rot, "OS", 1, &err), -EINVAL);
        assert_int_equal(rot_counter_advance(f->rot, "", 1, &err), -EINVAL);
        assert_int_equal(rot_counter_advance(f->rot, "a/b", 1, &err), -EINVAL);
        assert_int_equal(rot_counter_read(f->rot, "0123456789012345678901234567890123", &v, &err),
                         -EINVAL);
        /* capacity */
        for (int i = 0; i < ROT_MAX_COUNTERS - 2; i++) {
                char n[16];
                snprintf(n, sizeof(n), "c%d", i);
                assert_int_equal(rot_counter_advance(f->rot, n, 1, &err), 0);
        }
        assert_int_equal(rot_counter_advance(f->rot, "one-too-many", 1, &err), -ENOSPC);
        assert_int_equal(f->rot->ops->counter_list(f->rot, names, vals, ROT_MAX_COUNTERS, &err),
                         ROT_MAX_COUNTERS);
        assert_string_equal(names[1], "app.blink");
        assert_int_equal(vals[1], 2);
}

static void test_nv(void **state)
{
        struct fixture *f = *state;
        struct rp_err err = {0};
        uint8_t *d;
        size_t n;

        assert_int_equal(rot_nv_read(f->rot, "slotstate", &d, &n, &err), -ENOENT);
        assert_int_equal(rot_nv_write(f->rot, "slotstate", "abc", 3, &err), 0);
        assert_int_equal(rot_nv_read(f->rot, "slotstate", &d, &n, &err), 0);
        assert_int_equal(n, 3);
        assert_memory_equal(d, "abc", 3);
        free(d);
        /* the NV namespace cannot reach the fuses or leave the directory */
        assert_int_equal(rot_nv_write(f->rot, "fuses", "x", 1, &err), -EINVAL);
        assert_int_equal(rot_nv_write(f->rot, "counters", "x", 1, &err), -EINVAL);
        assert_int_equal(rot_nv_write(f->rot, "../x", "x", 1, &err), -EINVAL);
        assert_int_equal(rot_nv_write(f->rot, "..", "x", 1, &err), -EINVAL);
        assert_int_equal(rot_nv_read(f->rot, ".hidden", &d, &n, &err), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_lifecycle, setup, teardown),
                cmocka_unit_test_setup_teardown(test_corrupt_fuses, setup, teardown),
                cmocka_unit_test_setup_teardown(test_counters, setup, teardown),
                cmocka_unit_test_setup_teardown(test_nv, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

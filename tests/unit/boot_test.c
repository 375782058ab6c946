/* boot_test.c - slot state records and choice, the bounded event log, and
 * slot installation with real signed image packages (wrong key, wrong
 * type, rolled-back SVN: refused without any state change). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/boot.h"
#include "lib/fileio.h"

static void test_slotstate_codec(void **state)
{
        struct slotstate s = {.bootcount = 0x1122334455667788ULL}, got;
        uint8_t raw[SLOTSTATE_LEN], bad[SLOTSTATE_LEN];
        struct rp_err err = {0};

        s.slot[0] = (struct slot_info){.priority = 1};
        s.slot[1] = (struct slot_info){.priority = 2, .attempts = 3, .trial = true};
        slotstate_encode(&s, raw);
        assert_memory_equal(raw, "RPSLOT1\0", 8);
        assert_int_equal(slotstate_parse(raw, sizeof(raw), &got, &err), 0);
        assert_true(got.bootcount == s.bootcount);
        assert_int_equal(got.slot[1].attempts, 3);
        assert_true(got.slot[1].trial);
        for (size_t i = 0; i < sizeof(raw); i++) {
                memcpy(bad, raw, sizeof(raw));
                bad[i] ^= 0x01;
                assert_int_equal(slotstate_parse(bad, sizeof(bad), &got, &err), -EBADMSG);
        }
        assert_int_equal(slotstate_parse(raw, sizeof(raw) - 1, &got, &err), -EBADMSG);
        /* values out of range are refused even with a valid checksum */
        s.slot[0].priority = 16;
        slotstate_encode(&s, bad);
        assert_int_equal(slotstate_parse(bad, sizeof(bad), &got, &err), -EBADMSG);
        assert_non_null(strstr(err.msg, "slot a"));
        s.slot[0] = (struct slot_info){.priority = 1, .attempts = 2};
        slotstate_encode(&s, bad);
        assert_int_equal(slotstate_parse(bad, sizeof(bad), &got, &err), -EBADMSG);
}

static void test_slot_order(void **state)
{
        struct slotstate s = {0};
        int order[2];

        assert_int_equal(slotstate_order(&s, order), 0);
        s.slot[0].priority = 1;
        assert_int_equal(slotstate_order(&s, order), 1);
        assert_int_equal(order[0], 0);
        slotstate_prefer(&s, 1);
        s.slot[1].trial = true;
        s.slot[1].attempts = 2;
        assert_int_equal(slotstate_order(&s, order), 2);
        assert_int_equal(order[0], 1);
        assert_int_equal(order[1], 0);
        s.slot[1].attempts = 0;
        assert_true(slotstate_trial_expired(&s, 1));
        assert_int_equal(slotstate_order(&s, order), 1);
        assert_int_equal(order[0], 0);
        /* equal priority: a first */
        s.slot[1] = (struct slot_info){.priority = 1};
        assert_int_equal(slotstate_order(&s, order), 2);
        assert_int_equal(order[0], 0);
        /* prefer never overflows the priority range */
        s.slot[0].priority = SLOT_MAX_PRIORITY;
        slotstate_prefer(&s, 1);
        assert_int_equal(s.slot[1].priority, SLOT_MAX_PRIORITY);
        assert_int_equal(s.slot[0].priority, SLOT_MAX_PRIORITY - 1);
}

struct fx {
        char dir[64];
        struct rot *rot;
        struct cr_key *platform, *stranger;
};

static int setup(void **state)
{
        struct fx *f = calloc(1, sizeof(*f));
        struct rp_err err = {0};
        struct rp_secret32 uds = {{1}};
        struct rot_fuses pub = {.n_platform_keys = 1};

        snprintf(f->dir, sizeof(f->dir), "/tmp/rp-boot-test-XXXXXX");
        if (!mkdtemp(f->dir) || rot_emul_open(f->dir, &f->rot, &err) < 0 ||
            cr_key_generate(&f->platform, &err) < 0 || cr_key_generate(&f->stranger, &err) < 0 ||
            cr_key_pub_raw(f->platform, pub.platform_keys[0]) < 0 ||
            f->rot->ops->program(f->rot, &uds, &pub, &err) < 0)
                return -1;
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fx *f = *state;
        rot_close(f->rot);
        cr_key_free(f->platform);
        cr_key_free(f->stranger);
        if (rp_rm_rf(f->dir) < 0)
                return -1;
        free(f);
        return 0;
}

/* Packs a one-file image and signs it with `key`; returns its path. */
static void make_pkg(struct fx *f, const char *name, enum img_type type, uint32_t svn,
                     const struct cr_key *key, char *path, size_t cap)
{
        char src[128], file[160], unsigned_path[160];
        struct rp_err err = {0};
        int in, out;

        snprintf(src, sizeof(src), "%s/src-%s", f->dir, name);
        assert_int_equal(mkdir(src, 0700), 0);
        snprintf(file, sizeof(file), "%s/init", src);
        assert_int_equal(rp_write_file_atomic(file, "#!/bin/sh\n", 10, 0755, &err), 0);
        struct img_pack_opts o = {.component_id = "6f0e2a3c-3b1d-4c7e-9a55-0d7c1e9b2f10",
                                  .name = "rampart-os", .type = type, .version = "1.0.0",
                                  .svn = svn, .created = 1700000000};
        snprintf(unsigned_path, sizeof(unsigned_path), "%s/%s.unsigned", f->dir, name);
        out = open(unsigned_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
        assert_true(out >= 0);
        assert_int_equal(img_pack_dir(src, &o, out, NULL, &err), 0);
        close(out);
        snprintf(path, cap, "%s/%s.pkg", f->dir, name);
        in = open(unsigned_path, O_RDONLY);
        out = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
        assert_int_equal(img_sign(in, out, key, NULL, &err), 0);
        close(in);
        close(out);
}

static void load_state(struct fx *f, struct slotstate *s)
{
        struct rp_err err = {0};
        assert_int_equal(boot_state_load(f->rot, s, &err), 0);
}

static void test_install(void **state)
{
        struct fx *f = *state;
        struct rp_err err = {0};
        struct slotstate s, before;
        struct img_meta meta;
        char good[160], stranger[160], app[160], old[160], path[200];
        struct stat st;

        make_pkg(f, "good", IMG_TYPE_OS, 5, f->platform, good, sizeof(good));
        make_pkg(f, "stranger", IMG_TYPE_OS, 5, f->stranger, stranger, sizeof(stranger));
        make_pkg(f, "app", IMG_TYPE_APP, 5, f->platform, app, sizeof(app));
        make_pkg(f, "old", IMG_TYPE_OS, 2, f->platform, old, sizeof(old));

        assert_int_equal(boot_slot_install(f->rot, f->dir, 0, good, 0, &meta, &err), 0);
        assert_string_equal(meta.name, "rampart-os");
        load_state(f, &s);
        assert_int_equal(s.slot[0].priority, 1);
        assert_false(s.slot[0].trial);
        snprintf(path, sizeof(path), "%s/slots/a.pkg", f->dir);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);

        assert_int_equal(boot_slot_install(f->rot, f->dir, 1, good, 3, NULL, &err), 0);
        load_state(f, &s);
        assert_int_equal(s.slot[1].priority, 2);
        assert_true(s.slot[1].trial);
        assert_int_equal(s.slot[1].attempts, 3);

        /* refusals leave the state alone */
        before = s;
        assert_int_not_equal(boot_slot_install(f->rot, f->dir, 1, stranger, 0, NULL, &err), 0);
        assert_non_null(strstr(err.msg, "cannot be installed"));
        assert_int_equal(boot_slot_install(f->rot, f->dir, 1, app, 0, NULL, &err), -EMEDIUMTYPE);
        assert_non_null(strstr(err.msg, "not 'os'"));
        assert_int_equal(rot_counter_advance(f->rot, BOOT_OS_COUNTER, 3, &err), 0);
        assert_int_equal(boot_slot_install(f->rot, f->dir, 1, old, 0, NULL, &err), -ESTALE);
        assert_non_null(strstr(err.msg, "below the anti-rollback floor 3"));
        assert_int_not_equal(boot_slot_install(f->rot, f->dir, 1, "/nonexistent", 0, NULL, &err), 0);
        load_state(f, &s);
        assert_true(s.bootcount == before.bootcount);
        for (int i = 0; i < SLOT_COUNT; i++) {
                assert_int_equal(s.slot[i].priority, before.slot[i].priority);
                assert_int_equal(s.slot[i].attempts, before.slot[i].attempts);
                assert_int_equal(s.slot[i].trial, before.slot[i].trial);
        }
}

static void test_event_log_bounded(void **state)
{
        struct fx *f = *state;
        struct rp_err err = {0};
        uint8_t *d;
        size_t n, lines = 0;

        for (int i = 0; i < 100; i++)
                boot_event(f->rot, (uint64_t)i, "skip slot=a reason=test %d\nforged line", i);
        assert_int_equal(rot_nv_read(f->rot, "events", &d, &n, &err), 0);
        for (size_t i = 0; i < n; i++)
                lines += d[i] == '\n';
        assert_int_equal(lines, BOOT_EVENTS_MAX_LINES);
        assert_non_null(strstr((char *)d, "reason=test 99?forged line\n"));
        assert_null(strstr((char *)d, "reason=test 0?"));
        free(d);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_slotstate_codec),
                cmocka_unit_test(test_slot_order),
                cmocka_unit_test_setup_teardown(test_install, setup, teardown),
                cmocka_unit_test_setup_teardown(test_event_log_bounded, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

/* bucket_test.c - the bucketing signature: stable across rebuilds (addresses,
 * offsets, build-ids, library versions, compiler clone suffixes), different
 * for different bugs, and not forgeable by crafted names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "failure/bucket.h"

/* SHA-256 over the length-prefixed elements ("rampart-bucket-v1",
 * "telemetry", "app_crash", "signal", "11", "frames", "5", then module and
 * function of the five frames), computed independently of this code
 * (docs/failures.md shows how), truncated to 16 bytes. */
#define GOLDEN_ID "e9052e56ed26964c25065ba89b6b3c5c"

static void add_frame(struct fail_event *ev, const char *module, const char *fn,
                      const char *build_id, uint64_t off)
{
        struct fail_frame *f = &ev->frames[ev->nframes++];
        memset(f, 0, sizeof(*f));
        strcpy(f->module, module);
        strcpy(f->function, fn);
        strcpy(f->build_id, build_id);
        f->offset = off;
        f->module_offset = off * 97;
}

static void base(struct fail_event *ev)
{
        memset(ev, 0, sizeof(*ev));
        ev->cls = FAIL_APP_CRASH;
        strcpy(ev->component_id, "telemetry");
        strcpy(ev->component_version, "1.3.0");
        ev->time_first = ev->time_last = 1700000000;
        ev->count = 1;
        ev->signal = SIGSEGV;
        ev->si_code = 1;
        ev->fault_addr = 0x18;
        ev->pc = 0x5555000011aa;
        add_frame(ev, "telemetry", "parse_packet", "aa11", 11);
        add_frame(ev, "telemetry", "handle", "aa11", 40);
        add_frame(ev, "telemetry", "main", "aa11", 72);
        add_frame(ev, "libc.so.6", "__libc_start_call_main", "cc33", 121);
        add_frame(ev, "libc.so.6", "__libc_start_main", "cc33", 132);
        add_frame(ev, "telemetry", "_start", "aa11", 32);
}

static void bucket(const struct fail_event *ev, struct fail_bucket *b)
{
        struct rp_err err = {0};
        if (fail_bucket_compute(ev, b, &err) < 0)
                fail_msg("bucket: %s", err.msg);
        assert_int_equal(strlen(b->id), FAIL_BUCKET_ID_LEN);
}

static void same(const struct fail_event *a, const struct fail_event *b)
{
        struct fail_bucket x, y;
        bucket(a, &x);
        bucket(b, &y);
        assert_string_equal(x.id, y.id);
}

static void differ(const struct fail_event *a, const struct fail_event *b)
{
        struct fail_bucket x, y;
        bucket(a, &x);
        bucket(b, &y);
        if (strcmp(x.id, y.id) == 0)
                fail_msg("same bucket %s for '%s' and '%s'", x.id, x.title, y.title);
}

/* Pinned: a change of the signature splits every existing bucket in two,
 * so it must be a deliberate, versioned change (BUCKET_TAG). */
static void test_golden(void **state)
{
        struct fail_event ev;
        struct fail_bucket b;

        base(&ev);
        bucket(&ev, &b);
        assert_string_equal(b.title, "telemetry: SIGSEGV in parse_packet <- handle <- main");
        assert_int_equal(b.nframes, FAIL_BUCKET_FRAMES);
        assert_string_equal(b.id, GOLDEN_ID);
}

static void test_stable_across_rebuilds(void **state)
{
        struct fail_event a, b;

        base(&a);
        base(&b);
        /* new release, new addresses, offsets, build-ids, install paths */
        strcpy(b.component_version, "1.4.0");
        b.pc = 0x7777000022bb;
        b.fault_addr = 0x20;
        b.si_code = 2;
        b.time_first = 1, b.time_last = 2, b.count = 900;
        for (unsigned i = 0; i < b.nframes; i++) {
                b.frames[i].offset += 1000;
                b.frames[i].module_offset += 4096;
                strcpy(b.frames[i].build_id, i % 2 ? "" : "ffee");
        }
        strcpy(b.frames[3].module, "libc.so.7");
        strcpy(b.frames[4].module, "libc-2.36.so");
        strcpy(b.frames[1].function, "handle.part.0");
        strcpy(b.frames[2].function, "main.cold");
        strcpy(b.frames[4].function, "__libc_start_main@@GLIBC_2.34");
        strcpy(b.detail, "anything");
        same(&a, &b);
        /* frames past the top K do not count */
        b.nframes = FAIL_BUCKET_FRAMES;
        same(&a, &b);
}

static void test_different_bugs(void **state)
{
        struct fail_event a, b;

        base(&a);
        base(&b);
        strcpy(b.frames[0].function, "parse_header");
        differ(&a, &b);
        base(&b);
        strcpy(b.frames[4].function, "other");  /* inside the top K */
        differ(&a, &b);
        base(&b);
        b.signal = SIGBUS;
        differ(&a, &b);
        base(&b);
        strcpy(b.component_id, "blink");
        differ(&a, &b);
        base(&b);
        strcpy(b.frames[0].module, "libtelemetry.so");
        differ(&a, &b);
        base(&b);
        b.nframes = 2;                          /* a shorter stack */
        differ(&a, &b);
        base(&b);
        b.nframes = 0;
        differ(&a, &b);

        /* exit codes and reasons */
        struct fail_event e1 = {0}, e2;
        e1.cls = FAIL_APP_EXIT;
        strcpy(e1.component_id, "telemetry");
        strcpy(e1.component_version, "1");
        e1.count = 1;
        e1.exit_code = 3;
        e2 = e1;
        e2.exit_code = 4;
        differ(&e1, &e2);
        e2 = e1;
        strcpy(e2.component_version, "2");
        same(&e1, &e2);
        e2 = e1;
        e2.cls = FAIL_REVERT;
        e2.exit_code = 0;
        strcpy(e2.reason, "3");
        differ(&e1, &e2);
        struct fail_event e3 = e2;
        e3.cls = FAIL_UPDATE_FAIL;
        differ(&e2, &e3);
        e3 = e2;
        strcpy(e3.reason, "4");
        differ(&e2, &e3);
        struct fail_bucket fb;
        bucket(&e2, &fb);
        assert_string_equal(fb.title, "telemetry: revert (3)");
        /* watchdog: where the app hung is part of the signature */
        struct fail_event w1 = e2, w2;
        w1.cls = FAIL_WATCHDOG;
        strcpy(w1.reason, "timeout");
        w2 = w1;
        differ(&w1, &e2);
        add_frame(&w1, "telemetry", "poll_sensor", "aa", 1);
        add_frame(&w1, "telemetry", "main", "aa", 2);
        differ(&w1, &w2);
        w2 = w1;
        w2.frames[0].offset = 999;
        strcpy(w2.frames[0].build_id, "bb");
        same(&w1, &w2);
        strcpy(w2.frames[0].function, "read_uart");
        differ(&w1, &w2);
        bucket(&w1, &fb);
        assert_string_equal(fb.title, "telemetry: watchdog (timeout) in poll_sensor <- main");
        bucket(&e1, &fb);
        assert_string_equal(fb.title, "telemetry: exit code 3");
}

/* Leading C-runtime frames are skipped when app code follows. */
static void test_runtime_frames_skipped(void **state)
{
        struct fail_event a = {0}, b, c;
        struct fail_bucket fb;

        a.cls = FAIL_APP_CRASH;
        strcpy(a.component_id, "telemetry");
        strcpy(a.component_version, "1");
        a.count = 1;
        a.signal = SIGABRT;
        add_frame(&a, "libc.so.6", "__pthread_kill_implementation", "", 1);
        add_frame(&a, "libc.so.6", "raise", "", 2);
        add_frame(&a, "libc.so.6", "abort", "", 3);
        add_frame(&a, "telemetry", "check_config", "", 4);
        add_frame(&a, "telemetry", "main", "", 5);
        bucket(&a, &fb);
        assert_string_equal(fb.title, "telemetry: SIGABRT in check_config <- main");
        /* another libc's internals above the same app frames: same bucket */
        b = a;
        strcpy(b.frames[0].function, "pthread_kill");
        strcpy(b.frames[0].module, "libc.so.7");
        same(&a, &b);
        /* a different app frame: different bucket */
        c = a;
        strcpy(c.frames[3].function, "load_config");
        differ(&a, &c);
        /* a crash entirely in libc keeps its libc frames */
        c = a;
        c.nframes = 3;
        bucket(&c, &fb);
        assert_string_equal(fb.title,
                            "telemetry: SIGABRT in __pthread_kill_implementation <- raise <- abort");
        /* unknown function: module!?? in the title */
        c = a;
        c.frames[3].function[0] = '\0';
        bucket(&c, &fb);
        assert_string_equal(fb.title, "telemetry: SIGABRT in telemetry!?? <- main");
        differ(&a, &c);
}

/* Crafted names cannot make two different stacks share a bucket. */
static void test_injection(void **state)
{
        struct fail_event a, b;
        struct fail_bucket fb;
        struct rp_err err;

        base(&a);
        base(&b);
        /* shifting text between module and function */
        strcpy(a.frames[0].module, "telemetry!parse");
        strcpy(a.frames[0].function, "packet");
        strcpy(b.frames[0].module, "telemetry");
        strcpy(b.frames[0].function, "parse!packet");
        differ(&a, &b);
        /* shifting text between two frames, with separators of every kind */
        base(&a);
        base(&b);
        strcpy(a.frames[0].function, "parse_packet <- handle");
        strcpy(a.frames[1].function, "");
        strcpy(b.frames[0].function, "parse_packet");
        strcpy(b.frames[1].function, " <- handle");
        differ(&a, &b);
        /* a name that embeds what a length-prefixed encoding of the next
         * element would look like */
        base(&a);
        base(&b);
        memcpy(a.frames[0].function, "x\x01\x01\x01\x01y", 7);
        assert_int_equal(fail_bucket_compute(&a, &fb, &err), -EINVAL);
        strcpy(a.frames[0].function, "parse_packet");
        strcpy(a.frames[0].module, "telemetry|parse_packet|telemetry");
        strcpy(a.frames[1].function, "main");
        differ(&a, &b);
        /* a frame count smuggled in a name */
        base(&a);
        strcpy(a.component_id, "telemetry");
        strcpy(a.frames[0].function, "frames");
        base(&b);
        differ(&a, &b);
        /* control characters are refused, not merged */
        base(&a);
        strcpy(a.frames[2].function, "main\nmain");
        assert_int_equal(fail_bucket_compute(&a, &fb, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "frames[2]"));
        assert_non_null(strstr(err.msg, "0x0a"));
        base(&a);
        strcpy(a.frames[0].module, "tele\x7fmetry");
        assert_int_equal(fail_bucket_compute(&a, &fb, &err), -EINVAL);
        /* same text split differently between component and frames */
        base(&a);
        base(&b);
        strcpy(a.component_id, "telemetry");
        strcpy(b.component_id, "telemetry.app");
        differ(&a, &b);
}

static void test_normalize(void **state)
{
        char out[FAIL_MAX_MODULE + 1];

        fail_module_normalize("/opt/rampart/apps/telemetry/1.3.0/bin/telemetry", out, sizeof(out));
        assert_string_equal(out, "telemetry");
        fail_module_normalize("libc.so.6", out, sizeof(out));
        assert_string_equal(out, "libc.so");
        fail_module_normalize("/usr/lib/libssl.so.3", out, sizeof(out));
        assert_string_equal(out, "libssl.so");
        fail_module_normalize("libfoo-1.2.3.so", out, sizeof(out));
        assert_string_equal(out, "libfoo.so");
        fail_module_normalize("ld-linux-x86-64.so.2", out, sizeof(out));
        assert_string_equal(out, "ld-linux-x86-64.so");
        fail_module_normalize("app-2", out, sizeof(out));
        assert_string_equal(out, "app-2");
        fail_module_normalize("[vdso]", out, sizeof(out));
        assert_string_equal(out, "[vdso]");
        fail_function_normalize("parse.isra.0.constprop.1", out, sizeof(out));
        assert_string_equal(out, "parse");
        fail_function_normalize("parse.cold", out, sizeof(out));
        assert_string_equal(out, "parse");
        fail_function_normalize("memcpy@@GLIBC_2.14", out, sizeof(out));
        assert_string_equal(out, "memcpy");
        fail_function_normalize("a.b", out, sizeof(out));
        assert_string_equal(out, "a.b");
        fail_function_normalize(".part", out, sizeof(out));
        assert_string_equal(out, ".part");
        fail_function_normalize("", out, sizeof(out));
        assert_string_equal(out, "");
        /* truncation respects the output size */
        fail_module_normalize("abcdefgh", out, 4);
        assert_string_equal(out, "abc");
}

static void test_title_cap(void **state)
{
        struct fail_event a;
        struct fail_bucket fb;

        base(&a);
        memset(a.frames[0].function, 'x', FAIL_MAX_FUNCTION);
        a.frames[0].function[FAIL_MAX_FUNCTION] = '\0';
        /* multi-byte characters at the cut must not be split */
        memcpy(a.frames[0].function + 180, "\xc3\xa9\xc3\xa9\xc3\xa9", 6);
        bucket(&a, &fb);
        assert_true(strlen(fb.title) <= FAIL_BUCKET_TITLE_MAX);
        for (size_t i = 0; fb.title[i]; i++)
                if (((unsigned char)fb.title[i] & 0xc0) == 0xc0)
                        assert_true(fb.title[i + 1] != '\0');
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_golden),
                cmocka_unit_test(test_stable_across_rebuilds),
                cmocka_unit_test(test_different_bugs),
                cmocka_unit_test(test_runtime_frames_skipped),
                cmocka_unit_test(test_injection),
                cmocka_unit_test(test_normalize),
                cmocka_unit_test(test_title_cap),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

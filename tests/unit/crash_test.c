/* crash_test.c - crash capture from outside the app: this test binary runs
 * itself (/proc/self/exe MODE) as the app under rtd_crash_spawn and
 * rtd_crash_monitor and checks the signal, siginfo, symbolized frames with
 * build-ids, exit codes, the crash dump and the error paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <elf.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include "failure/bucket.h"
#include "runtime/crash.h"

#define NOINLINE __attribute__((noinline, used))

/* ---- the "app" half: runs in the child ---- */

static int *volatile bad_ptr = (int *)0x18;
volatile int zero_divisor;

NOINLINE void crash_in_leaf(void);
NOINLINE void crash_caller(void);
NOINLINE int divide_by(int d);

NOINLINE void crash_in_leaf(void)
{
        *bad_ptr = 1;
        __asm__ volatile("" ::: "memory");
}

NOINLINE void crash_caller(void)
{
        crash_in_leaf();
        __asm__ volatile("" ::: "memory");
}

NOINLINE int divide_by(int d)
{
        return 100 / d;
}

/* Overwrites its own return address and the callers' frames with garbage,
 * then faults: the unwinder must stop cleanly on a hostile stack. Not
 * instrumented, so ASan does not report the deliberate overwrite first. */
NOINLINE __attribute__((no_sanitize("address"))) void smash_stack(void);
NOINLINE __attribute__((no_sanitize("address"))) void smash_stack(void)
{
        volatile uint64_t *p = (volatile uint64_t *)__builtin_frame_address(0);
        for (int i = 0; i < 64; i++)
                p[i] = 0x4141414141414141ull + (uint64_t)i;
        *bad_ptr = 2;
}

NOINLINE void hang_here(void);
NOINLINE void hang_here(void)
{
        for (;;)
                pause();
}

static void *thread_fn(void *arg)
{
        crash_caller();
        return arg;
}

static sigjmp_buf jb;
static void on_segv(int s)
{
        siglongjmp(jb, 1);
}

NOINLINE int app_main(const char *mode);
NOINLINE int app_main(const char *mode)
{
        if (strcmp(mode, "segv") == 0) {
                crash_caller();
        } else if (strcmp(mode, "abort") == 0) {
                abort();
        } else if (strcmp(mode, "fpe") == 0) {
                return divide_by(zero_divisor);
        } else if (strcmp(mode, "exit7") == 0) {
                exit(7);
        } else if (strcmp(mode, "exit0") == 0) {
                exit(0);
        } else if (strcmp(mode, "thread") == 0) {
                pthread_t t;
                pthread_create(&t, NULL, thread_fn, NULL);
                pthread_join(t, NULL);
        } else if (strcmp(mode, "handled") == 0) {
                signal(SIGSEGV, on_segv);
                if (sigsetjmp(jb, 1) == 0)
                        crash_caller();
                exit(0);
        } else if (strcmp(mode, "hang") == 0) {
                hang_here();
        } else if (strcmp(mode, "smash") == 0) {
                smash_stack();
        } else if (strcmp(mode, "term") == 0) {
                raise(SIGTERM);
        } else if (strcmp(mode, "stopcont") == 0) {
                raise(SIGSTOP);         /* the test sends SIGCONT */
                exit(5);
        }
        return 99;
}

/* ---- the test half ---- */

static void run_mode(const char *mode, const struct rtd_crash_opts *opts, struct rtd_outcome *o)
{
        char *argv[] = {"/proc/self/exe", (char *)mode, NULL};
        struct rp_err err = {0};
        pid_t pid;

        if (rtd_crash_spawn(argv, &pid, &err) < 0)
                fail_msg("spawn: %s", err.msg);
        if (rtd_crash_monitor(pid, opts, o, &err) < 0)
                fail_msg("monitor: %s", err.msg);
}

static int find_fn(const struct rtd_outcome *o, const char *fn)
{
        /* compare as the bucket does: "app_main.cold" is app_main */
        for (uint32_t i = 0; i < o->nframes; i++) {
                char norm[FAIL_MAX_FUNCTION + 1];
                fail_function_normalize(o->frames[i].function, norm, sizeof(norm));
                if (strcmp(norm, fn) == 0)
                        return (int)i;
        }
        return -1;
}

static void test_segv(void **state)
{
        struct rtd_outcome o;
        int leaf, caller;

        run_mode("segv", NULL, &o);
        assert_int_equal(o.kind, RTD_KILLED);
        assert_int_equal(o.signal, SIGSEGV);
        assert_true(o.captured);
        assert_true(o.has_siginfo);
        assert_int_equal(o.si_code, SEGV_MAPERR);
        assert_int_equal(o.fault_addr, 0x18);
        leaf = find_fn(&o, "crash_in_leaf");
        caller = find_fn(&o, "crash_caller");
        assert_int_equal(leaf, 0);
        assert_int_equal(caller, 1);
        assert_int_equal(find_fn(&o, "app_main"), caller + 1);
        assert_string_equal(o.frames[0].module, "crash_test");
        assert_int_equal(strlen(o.frames[0].build_id), 40);     /* sha1 build-id */
        assert_string_equal(o.frames[0].build_id, o.frames[1].build_id);
        assert_true(o.frames[0].module_offset > 0);
        assert_null(o.dump);
        rtd_outcome_clear(&o);
}

static void test_abort_fpe_thread(void **state)
{
        struct rtd_outcome o;
        int a;

        run_mode("abort", NULL, &o);
        assert_int_equal(o.signal, SIGABRT);
        assert_true(o.captured);
        a = find_fn(&o, "abort");
        assert_true(a >= 0);
        assert_int_equal(find_fn(&o, "app_main"), a + 1);
        assert_true(strncmp(o.frames[a].module, "libc.so", 7) == 0);
        rtd_outcome_clear(&o);

        run_mode("fpe", NULL, &o);
        assert_int_equal(o.signal, SIGFPE);
        assert_int_equal(o.si_code, FPE_INTDIV);
        assert_string_equal(o.frames[0].function, "divide_by");
        assert_int_equal(o.fault_addr, o.pc);
        rtd_outcome_clear(&o);

        run_mode("thread", NULL, &o);
        assert_int_equal(o.signal, SIGSEGV);
        assert_string_equal(o.frames[0].function, "crash_in_leaf");
        assert_string_equal(o.frames[1].function, "crash_caller");
        assert_string_equal(o.frames[2].function, "thread_fn");
        assert_true(find_fn(&o, "app_main") < 0);       /* the crashing thread's stack */
        rtd_outcome_clear(&o);
}

static void test_hostile_stack(void **state)
{
        struct rtd_outcome o;

        run_mode("smash", NULL, &o);
        assert_int_equal(o.kind, RTD_KILLED);
        assert_int_equal(o.signal, SIGSEGV);
        assert_true(o.captured);
        assert_int_equal(o.fault_addr, 0x18);
        assert_true(o.nframes >= 1 && o.nframes <= FAIL_MAX_FRAMES);
        assert_string_equal(o.frames[0].function, "smash_stack");
        /* the garbage return address is not in any module */
        for (uint32_t i = 1; i < o.nframes; i++)
                assert_string_not_equal(o.frames[i].function, "crash_caller");
        rtd_outcome_clear(&o);
}

static void test_exits(void **state)
{
        struct rtd_outcome o;
        struct fail_event ev;
        struct rp_err err = {0};

        run_mode("exit7", NULL, &o);
        assert_int_equal(o.kind, RTD_EXITED);
        assert_int_equal(o.exit_code, 7);
        assert_false(o.captured);
        assert_int_equal(rtd_crash_to_event(&o, "app", "1.0", 1000, &ev, &err), 0);
        assert_int_equal(ev.cls, FAIL_APP_EXIT);
        assert_int_equal(ev.exit_code, 7);
        assert_int_equal(ev.count, 1);
        fail_event_clear(&ev);
        rtd_outcome_clear(&o);

        run_mode("exit0", NULL, &o);
        assert_int_equal(o.exit_code, 0);
        assert_int_equal(rtd_crash_to_event(&o, "app", "1.0", 1000, &ev, &err), -ENOENT);
        rtd_outcome_clear(&o);

        /* a SIGSEGV the app handles itself is no crash */
        run_mode("handled", NULL, &o);
        assert_int_equal(o.kind, RTD_EXITED);
        assert_int_equal(o.exit_code, 0);
        assert_false(o.captured);
        rtd_outcome_clear(&o);

        /* death by a non-core signal: unwound at the exit stop, no siginfo */
        run_mode("term", NULL, &o);
        assert_int_equal(o.kind, RTD_KILLED);
        assert_int_equal(o.signal, SIGTERM);
        assert_true(o.captured);
        assert_false(o.has_siginfo);
        assert_true(find_fn(&o, "app_main") >= 0);
        rtd_outcome_clear(&o);
}

static void test_stop_cont(void **state)
{
        char *argv[] = {"/proc/self/exe", "stopcont", NULL};
        struct rtd_outcome o;
        struct rp_err err = {0};
        pid_t pid, helper;

        assert_int_equal(rtd_crash_spawn(argv, &pid, &err), 0);
        /* a process other than the tracer continues the stopped app */
        helper = fork();
        if (helper == 0) {
                for (int i = 0; i < 200; i++) {
                        char path[64], buf[512];
                        FILE *f;
                        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
                        f = fopen(path, "r");
                        if (f && fgets(buf, sizeof(buf), f)) {
                                char *p = strrchr(buf, ')');
                                if (p && (p[2] == 'T' || p[2] == 't')) {
                                        fclose(f);
                                        usleep(50000);
                                        kill(pid, SIGCONT);
                                        _exit(0);
                                }
                        }
                        if (f)
                                fclose(f);
                        usleep(10000);
                }
                kill(pid, SIGCONT);
                _exit(1);
        }
        assert_int_equal(rtd_crash_monitor(pid, NULL, &o, &err), 0);
        assert_int_equal(o.kind, RTD_EXITED);
        assert_int_equal(o.exit_code, 5);
        rtd_outcome_clear(&o);
        /* the helper is a child too; reap it */
        while (waitpid(helper, NULL, 0) < 0 && errno == EINTR)
                ;
}

/* Sends `sig` to pid once it sleeps (state S) or is stopped; runs in a
 * forked helper so the monitor in the test process keeps waiting. */
static pid_t signal_when_asleep(pid_t pid, int sig)
{
        pid_t helper = fork();
        if (helper != 0)
                return helper;
        for (int i = 0; i < 500; i++) {
                char path[64], buf[512];
                FILE *f;
                snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
                f = fopen(path, "r");
                if (f && fgets(buf, sizeof(buf), f)) {
                        char *p = strrchr(buf, ')');
                        if (p && (p[2] == 'S' || p[2] == 'T' || p[2] == 't')) {
                                fclose(f);
                                usleep(20000);
                                kill(pid, sig);
                                _exit(0);
                        }
                }
                if (f)
                        fclose(f);
                usleep(10000);
        }
        kill(pid, sig);
        _exit(1);
}

/* The supervisor's watchdog: SIGABRT to a hung app shows where it hung. */
static void test_watchdog(void **state)
{
        char *argv[] = {"/proc/self/exe", "hang", NULL};
        struct rtd_crash_opts opts = {.dump = true};
        struct rtd_outcome o;
        struct fail_event ev;
        struct fail_bucket b;
        struct rp_err err = {0};
        pid_t pid, helper;

        assert_int_equal(rtd_crash_spawn(argv, &pid, &err), 0);
        helper = signal_when_asleep(pid, SIGABRT);
        assert_int_equal(rtd_crash_monitor(pid, &opts, &o, &err), 0);
        while (waitpid(helper, NULL, 0) < 0 && errno == EINTR)
                ;
        assert_int_equal(o.signal, SIGABRT);
        assert_true(o.captured);
        assert_int_equal(o.si_code, SI_USER);
        assert_true(find_fn(&o, "hang_here") >= 0);
        assert_int_equal(find_fn(&o, "app_main"), find_fn(&o, "hang_here") + 1);
        assert_non_null(o.dump);
        assert_int_equal(rtd_crash_to_watchdog_event(&o, "crashtest", "1", 5, "no_heartbeat", &ev,
                                                     &err), 0);
        assert_null(o.dump);
        assert_int_equal(ev.cls, FAIL_WATCHDOG);
        assert_string_equal(ev.reason, "no_heartbeat");
        assert_true(ev.nframes >= 2);
        assert_null(ev.dump);
        assert_int_equal(fail_bucket_compute(&ev, &b, &err), 0);
        assert_non_null(strstr(b.title, "crashtest: watchdog (no_heartbeat) in hang_here <- app_main"));
        assert_int_equal(rtd_crash_to_watchdog_event(&o, "crashtest", "1", 5, "Bad Reason", &ev,
                                                     &err), -EINVAL);
        rtd_outcome_clear(&o);
}

static void test_event_and_bucket(void **state)
{
        struct rtd_outcome o;
        struct fail_event ev;
        struct fail_bucket b1, b2;
        struct rp_err err = {0};

        run_mode("segv", NULL, &o);
        assert_int_equal(rtd_crash_to_event(&o, "crashtest", "1.0", 1000, &ev, &err), 0);
        assert_int_equal(ev.cls, FAIL_APP_CRASH);
        assert_int_equal(fail_bucket_compute(&ev, &b1, &err), 0);
        assert_non_null(strstr(b1.title, "crashtest: SIGSEGV in crash_in_leaf <- crash_caller"));
        fail_event_clear(&ev);
        rtd_outcome_clear(&o);
        /* a second run (new ASLR layout) lands in the same bucket */
        run_mode("segv", NULL, &o);
        assert_int_equal(rtd_crash_to_event(&o, "crashtest", "1.1", 2000, &ev, &err), 0);
        assert_int_equal(fail_bucket_compute(&ev, &b2, &err), 0);
        assert_string_equal(b1.id, b2.id);
        fail_event_clear(&ev);
        rtd_outcome_clear(&o);
}

/* Walks the dump records; checks the format promises of crash.h. */
static void test_dump(void **state)
{
        struct rtd_crash_opts opts = {.dump = true, .dump_max = 8192};
        struct rtd_outcome o;
        uint32_t hdr[2], seen = 0;
        size_t p;
        bool regs = false, stack = false, self_mod = false, thread = false;

        run_mode("segv", &opts, &o);
        assert_non_null(o.dump);
        assert_true(o.dump_len <= 8192);
        assert_true(o.dump_len > 1024);          /* the stack may end before the budget */
        assert_memory_equal(o.dump, RTD_DUMP_MAGIC, 8);
        memcpy(hdr, o.dump + 8, 8);
        assert_int_equal(hdr[0], EM_X86_64 == hdr[0] ? EM_X86_64 : EM_AARCH64);
        p = 16;
        while (p < o.dump_len) {
                uint32_t rh[2];
                assert_true(o.dump_len - p >= 8);
                memcpy(rh, o.dump + p, 8);
                p += 8;
                assert_true(rh[1] <= o.dump_len - p);
                const uint8_t *d = o.dump + p;
                switch (rh[0]) {
                case RTD_DUMP_THREAD: {
                        int32_t sig;
                        uint64_t fa;
                        memcpy(&sig, d + 4, 4);
                        memcpy(&fa, d + 12, 8);
                        assert_int_equal(sig, SIGSEGV);
                        assert_int_equal(fa, 0x18);
                        thread = true;
                        break;
                }
                case RTD_DUMP_REGS: {
                        struct user_regs_struct r;
                        assert_int_equal(rh[1], sizeof(r));
                        memcpy(&r, d, sizeof(r));
#if defined(__x86_64__)
                        assert_int_equal(r.rip, o.pc);
#elif defined(__aarch64__)
                        assert_int_equal(r.pc, o.pc);
#endif
                        regs = true;
                        break;
                }
                case RTD_DUMP_MODULE: {
                        uint8_t bl = d[16];
                        uint16_t nl;
                        memcpy(&nl, d + 17 + bl, 2);
                        if (nl == strlen("crash_test") && memcmp(d + 19 + bl, "crash_test", nl) == 0)
                                self_mod = bl == 20;
                        break;
                }
                case RTD_DUMP_STACK: {
                        uint64_t at;
                        memcpy(&at, d, 8);
                        assert_true(at <= o.sp);
                        assert_true(rh[1] > 8 + 256);
                        stack = true;
                        break;
                }
                default:
                        fail_msg("unknown record type %u", rh[0]);
                }
                p += rh[1];
                seen++;
        }
        assert_int_equal(p, o.dump_len);
        assert_int_equal(seen, hdr[1]);
        assert_true(regs && stack && self_mod && thread);
        rtd_outcome_clear(&o);
}

static void test_errors(void **state)
{
        char *argv[] = {"/nonexistent/program", NULL};
        char *none[] = {NULL};
        struct rtd_crash_opts opts = {.max_frames = FAIL_MAX_FRAMES + 1};
        struct rtd_outcome o;
        struct rp_err err = {0};
        pid_t pid = 0;

        assert_int_equal(rtd_crash_spawn(argv, &pid, &err), -ENOENT);
        assert_non_null(strstr(err.msg, "/nonexistent/program"));
        assert_int_equal(pid, 0);
        assert_int_equal(rtd_crash_spawn(none, &pid, &err), -EINVAL);
        assert_int_equal(rtd_crash_monitor(1, &opts, &o, &err), -EINVAL);
        opts = (struct rtd_crash_opts){.dump = true, .dump_max = 10};
        assert_int_equal(rtd_crash_monitor(1, &opts, &o, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "10"));

        /* frame cap */
        opts = (struct rtd_crash_opts){.max_frames = 2};
        run_mode("segv", &opts, &o);
        assert_int_equal(o.nframes, 2);
        rtd_outcome_clear(&o);
}

int main(int argc, char **argv)
{
        if (argc > 1)
                return app_main(argv[1]);
        /* Under ASan the app half must die of its signal, not of the
         * sanitizer's own report, and LeakSanitizer cannot stop a traced
         * process. */
        setenv("ASAN_OPTIONS", "handle_segv=0:handle_sigfpe=0:handle_abort=0:handle_sigbus=0:"
               "handle_sigill=0:detect_leaks=0", 1);
        setenv("UBSAN_OPTIONS", "halt_on_error=0", 1);
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_segv),
                cmocka_unit_test(test_abort_fpe_thread),
                cmocka_unit_test(test_hostile_stack),
                cmocka_unit_test(test_exits),
                cmocka_unit_test(test_stop_cont),
                cmocka_unit_test(test_watchdog),
                cmocka_unit_test(test_event_and_bucket),
                cmocka_unit_test(test_dump),
                cmocka_unit_test(test_errors),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

/* failures_test.c - the on-disk failure queue: coalescing, the bound under a
 * crash-loop storm, batch/ack (nothing deleted before the ack, retries give
 * the same batch), persistence across reopen, corruption, and a power cut
 * (SIGKILL) at every write step leaving the old or the new state. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "failure/report.h"
#include "lib/fileio.h"
#include "runtime/failures.h"

static char dir[256];

static int setup(void **state)
{
        strcpy(dir, "/tmp/failq-test-XXXXXX");
        if (!mkdtemp(dir))
                return -1;
        return 0;
}

static int teardown(void **state)
{
        return rp_rm_rf(dir);
}

static void crash_ev(struct fail_event *ev, const char *fn, int64_t t)
{
        memset(ev, 0, sizeof(*ev));
        ev->cls = FAIL_APP_CRASH;
        strcpy(ev->component_id, "telemetry");
        strcpy(ev->component_version, "1.0");
        ev->time_first = ev->time_last = t;
        ev->count = 1;
        ev->signal = SIGSEGV;
        ev->fault_addr = (uint64_t)t;   /* differs every time: must not matter */
        ev->nframes = 2;
        strcpy(ev->frames[0].module, "telemetry");
        snprintf(ev->frames[0].function, sizeof(ev->frames[0].function), "%s", fn);
        ev->frames[0].offset = (uint64_t)t % 100;
        strcpy(ev->frames[1].module, "telemetry");
        strcpy(ev->frames[1].function, "main");
}

static void urgent_ev(struct fail_event *ev, const char *reason, int64_t t)
{
        memset(ev, 0, sizeof(*ev));
        ev->cls = FAIL_REVERT;
        strcpy(ev->component_id, "os");
        strcpy(ev->component_version, "2");
        ev->time_first = ev->time_last = t;
        ev->count = 1;
        snprintf(ev->reason, sizeof(ev->reason), "%s", reason);
}

static struct rtd_failq *open_q(unsigned max)
{
        struct rtd_failq *q = NULL;
        struct rp_err err = {0};
        if (rtd_failq_open(dir, max, &q, &err) < 0)
                fail_msg("open: %s", err.msg);
        return q;
}

static void record(struct rtd_failq *q, const struct fail_event *ev)
{
        struct rp_err err = {0};
        if (rtd_failq_record(q, ev, &err) < 0)
                fail_msg("record: %s", err.msg);
}

static struct rtd_failq_stats stats(struct rtd_failq *q)
{
        struct rtd_failq_stats s;
        rtd_failq_stats(q, &s);
        return s;
}

static void test_coalesce(void **state)
{
        struct rtd_failq *q = open_q(8);
        struct fail_event ev, got;
        bool infl;

        for (int i = 0; i < 5; i++) {
                crash_ev(&ev, "parse", 1000 + i);
                record(q, &ev);
        }
        crash_ev(&ev, "parse", 900);    /* an older report arriving late */
        record(q, &ev);
        assert_int_equal(stats(q).events, 1);
        assert_int_equal(rtd_failq_get(q, 0, &got, &infl), 0);
        assert_int_equal(got.count, 6);
        assert_int_equal(got.time_first, 900);
        assert_int_equal(got.time_last, 1004);
        assert_false(infl);
        fail_event_clear(&got);
        /* another version of the same crash is its own entry (per-version counts) */
        crash_ev(&ev, "parse", 2000);
        strcpy(ev.component_version, "1.1");
        record(q, &ev);
        /* a different function too */
        crash_ev(&ev, "handle", 2001);
        record(q, &ev);
        assert_int_equal(stats(q).events, 3);
        assert_int_equal(stats(q).recorded_total, 8);
        rtd_failq_close(q);

        /* persisted */
        q = open_q(8);
        assert_int_equal(stats(q).events, 3);
        assert_int_equal(rtd_failq_get(q, 0, &got, NULL), 0);
        assert_int_equal(got.count, 6);
        fail_event_clear(&got);
        assert_int_equal(rtd_failq_get(q, 3, &got, NULL), -ENOENT);
        rtd_failq_close(q);
}

static void test_batch_ack(void **state)
{
        struct rtd_failq *q = open_q(8);
        struct fail_event ev;
        struct fail_batch b;
        struct rp_err err = {0};
        char *j1, *j2, id1[FAIL_BATCH_ID_LEN + 1], id2[FAIL_BATCH_ID_LEN + 1];
        size_t l1, l2;

        assert_int_equal(rtd_failq_take_batch(q, 0, &j1, &l1, id1, &err), -ENODATA);
        for (int i = 0; i < 6; i++) {
                char fn[16];
                snprintf(fn, sizeof(fn), "f%d", i);
                crash_ev(&ev, fn, 100 + i);
                record(q, &ev);
        }
        urgent_ev(&ev, "boot_failed", 200);
        record(q, &ev);
        assert_true(stats(q).urgent);

        /* at most half the ring per batch; urgent first */
        assert_int_equal(rtd_failq_take_batch(q, 0, &j1, &l1, id1, &err), 0);
        assert_true(fail_batch_id_valid(id1));
        assert_int_equal(fail_batch_parse(j1, l1, &b, &err), 0);
        assert_string_equal(b.batch_id, id1);
        assert_int_equal(b.nevents, 4);
        assert_int_equal(b.events[0].cls, FAIL_REVERT);
        assert_string_equal(b.events[1].frames[0].function, "f0");
        assert_string_equal(b.events[3].frames[0].function, "f2");
        fail_batch_free(&b);
        assert_int_equal(stats(q).inflight, 4);
        assert_false(stats(q).urgent);

        /* a new identical event does not change the frozen batch */
        crash_ev(&ev, "f0", 300);
        record(q, &ev);
        assert_int_equal(stats(q).events, 8);

        /* retry (also after a restart): same id, same bytes */
        rtd_failq_close(q);
        q = open_q(8);
        assert_int_equal(rtd_failq_take_batch(q, 0, &j2, &l2, id2, &err), 0);
        assert_string_equal(id1, id2);
        assert_int_equal(l1, l2);
        assert_memory_equal(j1, j2, l1);
        free(j2);

        /* wrong ids change nothing */
        assert_int_equal(rtd_failq_ack(q, "00000000000000000000000000000000", &err), -ESTALE);
        assert_non_null(strstr(err.msg, id1));
        assert_int_equal(stats(q).events, 8);
        assert_int_equal(stats(q).inflight, 4);

        assert_int_equal(rtd_failq_ack(q, id1, &err), 0);
        assert_int_equal(stats(q).events, 4);
        assert_int_equal(stats(q).inflight, 0);
        assert_int_equal(rtd_failq_ack(q, id1, &err), -ENOENT);

        /* the next batch has the rest, including the new f0 */
        assert_int_equal(rtd_failq_take_batch(q, 2, &j2, &l2, id2, &err), 0);
        assert_string_not_equal(id1, id2);
        assert_int_equal(fail_batch_parse(j2, l2, &b, &err), 0);
        assert_int_equal(b.nevents, 2);
        assert_string_equal(b.events[0].frames[0].function, "f3");
        fail_batch_free(&b);
        free(j1);
        free(j2);
        rtd_failq_close(q);
}

static void test_bound_and_dropped(void **state)
{
        struct rtd_failq *q = open_q(8);
        struct fail_event ev;
        struct fail_batch b;
        struct rp_err err = {0};
        char *j, id[FAIL_BATCH_ID_LEN + 1];
        size_t l;

        urgent_ev(&ev, "verify_failed", 1);
        record(q, &ev);
        for (int i = 0; i < 100; i++) {
                char fn[16];
                snprintf(fn, sizeof(fn), "g%d", i);
                crash_ev(&ev, fn, 10 + i);
                record(q, &ev);
                assert_true(stats(q).events <= 8);
        }
        assert_int_equal(stats(q).events, 8);
        assert_int_equal(stats(q).dropped, 93);
        assert_int_equal(stats(q).dropped_total, 93);
        /* the urgent event survived; ordinary ones went first */
        assert_true(stats(q).urgent);
        assert_int_equal(rtd_failq_take_batch(q, 0, &j, &l, id, &err), 0);
        assert_int_equal(fail_batch_parse(j, l, &b, &err), 0);
        assert_int_equal(b.dropped, 93);
        assert_int_equal(b.events[0].cls, FAIL_REVERT);
        assert_string_equal(b.events[1].frames[0].function, "g93");
        fail_batch_free(&b);
        free(j);
        /* more drops while in flight: the batch's count is subtracted on ack */
        for (int i = 0; i < 10; i++) {
                char fn[16];
                snprintf(fn, sizeof(fn), "h%d", i);
                crash_ev(&ev, fn, 500 + i);
                record(q, &ev);
        }
        assert_int_equal(stats(q).events, 8);
        assert_int_equal(stats(q).inflight, 4);
        assert_int_equal(stats(q).dropped, 93 + 10);
        assert_int_equal(rtd_failq_ack(q, id, &err), 0);
        assert_int_equal(stats(q).dropped, 10);
        assert_int_equal(stats(q).dropped_total, 103);
        rtd_failq_close(q);
}

/* A crash loop: one app crashing thousands of times, interleaved with a few
 * other failures and occasional uploads. The ring stays within its bound,
 * the loop collapses into one entry, and the file stays small. */
static void test_storm(void **state)
{
        struct rtd_failq *q = open_q(16);
        struct fail_event ev, got;
        struct rp_err err = {0};
        char path[300];
        struct stat st;
        uint64_t loop_count = 0;

        for (int i = 0; i < 1200; i++) {
                if (i % 50 == 7) {
                        char fn[16];
                        snprintf(fn, sizeof(fn), "other%d", i);
                        crash_ev(&ev, fn, i);
                } else {
                        crash_ev(&ev, "crash_loop", i);
                        loop_count++;
                }
                record(q, &ev);
                assert_true(stats(q).events <= 16);
                if (i % 300 == 150) {
                        char *j, id[FAIL_BATCH_ID_LEN + 1];
                        size_t l;
                        assert_int_equal(rtd_failq_take_batch(q, 0, &j, &l, id, &err), 0);
                        free(j);
                        assert_int_equal(rtd_failq_ack(q, id, &err), 0);
                }
        }
        assert_int_equal(stats(q).recorded_total, 1200);
        /* the loop's counts, summed over what is left plus what was acked,
         * are not lost: check that at least one entry carries a large count */
        bool found = false;
        for (unsigned i = 0; i < stats(q).events; i++) {
                assert_int_equal(rtd_failq_get(q, i, &got, NULL), 0);
                if (strcmp(got.frames[0].function, "crash_loop") == 0 && got.count > 100)
                        found = true;
                fail_event_clear(&got);
        }
        assert_true(found);
        snprintf(path, sizeof(path), "%s/queue", dir);
        assert_int_equal(stat(path, &st), 0);
        assert_true(st.st_size < 64 * 1024);
        rtd_failq_close(q);
        (void)loop_count;
}

static void test_dumps_capped(void **state)
{
        struct rtd_failq *q = open_q(16);
        struct fail_event ev, got;
        uint8_t d[2000];
        unsigned with = 0;

        memset(d, 0x5a, sizeof(d));
        for (int i = 0; i < 8; i++) {
                char fn[16];
                snprintf(fn, sizeof(fn), "d%d", i);
                crash_ev(&ev, fn, i);
                ev.dump = d;
                ev.dump_len = sizeof(d);
                record(q, &ev);
        }
        for (unsigned i = 0; i < 8; i++) {
                assert_int_equal(rtd_failq_get(q, i, &got, NULL), 0);
                if (got.dump) {
                        assert_int_equal(got.dump_len, sizeof(d));
                        assert_memory_equal(got.dump, d, sizeof(d));
                        with++;
                }
                fail_event_clear(&got);
        }
        assert_int_equal(with, RTD_FAILQ_MAX_DUMPS);
        rtd_failq_close(q);
}

static void test_bad_input(void **state)
{
        struct rtd_failq *q = open_q(8), *q2 = NULL;
        struct fail_event ev;
        struct rp_err err = {0};
        char path[300];
        uint8_t *before, *after;
        size_t lb, la;

        crash_ev(&ev, "ok", 1);
        record(q, &ev);
        snprintf(path, sizeof(path), "%s/queue", dir);
        assert_int_equal(rp_read_file(path, 1 << 20, &before, &lb, &err), 0);
        crash_ev(&ev, "bad\nname", 2);
        assert_int_equal(rtd_failq_record(q, &ev, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "function"));
        crash_ev(&ev, "x", 2);
        ev.count = 0;
        assert_int_equal(rtd_failq_record(q, &ev, &err), -EINVAL);
        assert_int_equal(rp_read_file(path, 1 << 20, &after, &la, &err), 0);
        assert_int_equal(lb, la);
        assert_memory_equal(before, after, lb);
        free(before);
        free(after);
        assert_int_equal(stats(q).events, 1);

        /* one owner at a time */
        assert_int_equal(rtd_failq_open(dir, 8, &q2, &err), -EBUSY);
        assert_null(q2);
        assert_int_equal(rtd_failq_open(dir, 3, &q2, &err), -EINVAL);
        rtd_failq_close(q);

        /* a smaller size on reopen trims, oldest first, and counts the drops */
        q = open_q(8);
        for (int i = 0; i < 7; i++) {
                char fn[16];
                snprintf(fn, sizeof(fn), "t%d", i);
                crash_ev(&ev, fn, 10 + i);
                record(q, &ev);
        }
        rtd_failq_close(q);
        q = open_q(4);
        assert_int_equal(stats(q).events, 4);
        assert_int_equal(stats(q).dropped, 4);
        rtd_failq_close(q);
}

static void test_corrupt(void **state)
{
        struct rtd_failq *q = open_q(8);
        struct fail_event ev;
        struct rp_err err = {0};
        char path[300], bad[300];
        uint8_t *data;
        size_t len;
        struct stat st;

        crash_ev(&ev, "one", 1);
        record(q, &ev);
        rtd_failq_close(q);
        snprintf(path, sizeof(path), "%s/queue", dir);
        snprintf(bad, sizeof(bad), "%s/queue.corrupt", dir);
        assert_int_equal(rp_read_file(path, 1 << 20, &data, &len, &err), 0);
        data[len - 5] ^= 0x01;  /* one flipped bit in the JSON */
        assert_int_equal(rp_write_file_atomic(path, data, len, 0600, &err), 0);
        free(data);
        q = open_q(8);
        assert_true(stats(q).recovered_corrupt);
        assert_int_equal(stats(q).events, 0);
        assert_int_equal(stat(bad, &st), 0);
        /* and it works again */
        record(q, &ev);
        rtd_failq_close(q);
        q = open_q(8);
        assert_false(stats(q).recovered_corrupt);
        assert_int_equal(stats(q).events, 1);
        rtd_failq_close(q);
}

/* Kills a child with SIGKILL at the N-th pass of a write step and checks
 * the queue holds exactly the state before or after that write. */
static void power_cut(const char *point, unsigned nth, unsigned expect_events)
{
        char spec[64];
        pid_t pid;
        int st;
        struct rtd_failq *q;
        char tmp[300];

        assert_int_equal(rp_rm_rf(dir), 0);
        mkdir(dir, 0700);
        q = open_q(8);          /* create the file: later writes are records */
        rtd_failq_close(q);
        snprintf(spec, sizeof(spec), "%s@%u", point, nth);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                struct rtd_failq *cq = NULL;
                struct fail_event ev;
                struct rp_err err;
                setenv("RP_FAULT", spec, 1);
                if (rtd_failq_open(dir, 8, &cq, &err) < 0)
                        _exit(2);
                for (int i = 0; i < 10; i++) {
                        char fn[16];
                        snprintf(fn, sizeof(fn), "p%d", i);
                        crash_ev(&ev, fn, i);
                        if (rtd_failq_record(cq, &ev, &err) < 0)
                                _exit(3);
                }
                _exit(0);
        }
        assert_int_equal(waitpid(pid, &st, 0), pid);
        assert_true(WIFSIGNALED(st));
        assert_int_equal(WTERMSIG(st), SIGKILL);
        q = open_q(8);
        assert_false(stats(q).recovered_corrupt);
        assert_int_equal(stats(q).events, expect_events);
        assert_int_equal(stats(q).recorded_total, expect_events);
        for (unsigned i = 0; i < expect_events; i++) {
                struct fail_event got;
                char fn[16];
                assert_int_equal(rtd_failq_get(q, i, &got, NULL), 0);
                snprintf(fn, sizeof(fn), "p%u", i);
                assert_string_equal(got.frames[0].function, fn);
                fail_event_clear(&got);
        }
        snprintf(tmp, sizeof(tmp), "%s/queue.tmp", dir);
        assert_int_equal(access(tmp, F_OK), -1);        /* leftover removed */
        /* still fully usable */
        {
                struct fail_event ev;
                crash_ev(&ev, "after", 99);
                record(q, &ev);
                assert_int_equal(stats(q).events, expect_events + 1);
        }
        rtd_failq_close(q);
}

static void test_power_cut(void **state)
{
#ifdef RP_FAULT_INJECTION
        for (unsigned nth = 1; nth <= 4; nth++) {
                power_cut("failq-begin", nth, nth - 1);
                power_cut("failq-written", nth, nth - 1);
                power_cut("failq-renamed", nth, nth);
        }
#else
        skip();         /* built without -Dfault_injection: no kill points */
#endif
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_coalesce, setup, teardown),
                cmocka_unit_test_setup_teardown(test_batch_ack, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bound_and_dropped, setup, teardown),
                cmocka_unit_test_setup_teardown(test_storm, setup, teardown),
                cmocka_unit_test_setup_teardown(test_dumps_capped, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
                cmocka_unit_test_setup_teardown(test_corrupt, setup, teardown),
                cmocka_unit_test_setup_teardown(test_power_cut, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

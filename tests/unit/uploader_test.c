/* uploader_test.c - the failure uploader's policy without a service:
 * crash dumps stripped deterministically, ordinary events held until the
 * interval has passed while urgent ones go at once, a failed attempt keeps
 * every event and backs off, and no attempt is made before the back-off
 * ends. The transport is real: a loopback port nothing listens on. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "lib/fileio.h"
#include "runtime/failures.h"
#include "runtime/uploader.h"

struct fx {
        char dir[64];
        char url[64];
        struct rtd_failq *q;
        struct rtd_http http;
};

static void event(struct fail_event *ev, enum fail_class c, const char *fn, bool dump)
{
        memset(ev, 0, sizeof(*ev));
        ev->cls = c;
        strcpy(ev->component_id, "telemetry");
        strcpy(ev->component_version, "1.0");
        ev->time_first = ev->time_last = 1700000000;
        ev->count = 1;
        if (c == FAIL_APP_CRASH) {
                ev->signal = 11;
                ev->nframes = 1;
                strcpy(ev->frames[0].module, "app");
                snprintf(ev->frames[0].function, sizeof(ev->frames[0].function), "%s", fn);
                if (dump) {
                        ev->dump = malloc(100);
                        memset(ev->dump, 0x5a, 100);
                        ev->dump_len = 100;
                }
        } else {
                strcpy(ev->reason, "hash_mismatch");
        }
}

/* A loopback port that refuses connections: bound, then closed. */
static int dead_port(void)
{
        int s = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t l = sizeof(a);
        assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
        assert_int_equal(getsockname(s, (struct sockaddr *)&a, &l), 0);
        close(s);
        return ntohs(a.sin_port);
}

static int setup(void **state)
{
        struct fx *f = calloc(1, sizeof(*f));
        struct rp_err err = {0};
        strcpy(f->dir, "/tmp/rp-upl-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        assert_int_equal(rtd_failq_open(f->dir, 0, &f->q, &err), 0);
        snprintf(f->url, sizeof(f->url), "https://127.0.0.1:%d", dead_port());
        f->http.base = f->url;
        f->http.ca_file = "/nonexistent-ca.pem";
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fx *f = *state;
        rtd_failq_close(f->q);
        assert_int_equal(rp_rm_rf(f->dir), 0);
        free(f);
        return 0;
}

static void test_strip_dumps(void **state)
{
        struct fail_event ev[2];
        struct rp_err err = {0};
        char *json = NULL, *out = NULL, *again = NULL;
        size_t len = 0, olen = 0, alen = 0;
        unsigned n = 9;
        (void)state;
        event(&ev[0], FAIL_APP_CRASH, "parse", true);
        event(&ev[1], FAIL_APP_CRASH, "main", false);
        assert_int_equal(fail_batch_build("0123456789abcdef0123456789abcdef", 3, ev, 2, &json, &len,
                                          &err), 0);
        assert_non_null(strstr(json, "\"dump\":"));
        assert_int_equal(rtd_upload_strip_dumps(json, len, &out, &olen, &n, &err), 0);
        assert_int_equal(n, 1);
        assert_null(strstr(out, "\"dump\""));
        assert_non_null(strstr(out, "\"batch_id\":\"0123456789abcdef0123456789abcdef\""));
        assert_non_null(strstr(out, "\"dropped\":3"));
        /* the same bytes every time, and a batch without dumps is unchanged */
        assert_int_equal(rtd_upload_strip_dumps(json, len, &again, &alen, &n, &err), 0);
        assert_int_equal(olen, alen);
        assert_memory_equal(out, again, olen);
        free(again);
        assert_int_equal(rtd_upload_strip_dumps(out, olen, &again, &alen, &n, &err), 0);
        assert_int_equal(n, 0);
        assert_int_equal(olen, alen);
        assert_memory_equal(out, again, olen);
        /* garbage is refused with the parser's message */
        free(again);
        again = NULL;
        assert_true(rtd_upload_strip_dumps("{}", 2, &again, &alen, &n, &err) < 0);
        assert_null(again);
        free(json);
        free(out);
        fail_event_clear(&ev[0]);
        fail_event_clear(&ev[1]);
}

static void test_policy_and_backoff(void **state)
{
        struct fx *f = *state;
        struct rp_err err = {0};
        struct fail_event ev;
        struct rtd_uploader u;
        struct rtd_uploader_opts o = {.interval_s = 3600, .backoff_min_s = 10,
                                      .backoff_max_s = 40};
        struct rtd_failq_stats s;
        unsigned next = 0;
        time_t now = 1800000000;
        assert_int_equal(rtd_http_global_init(&err), 0);
        rtd_uploader_init(&u, f->q, &f->http, &o);

        /* nothing queued: nothing to do, come back after the interval */
        assert_int_equal(rtd_uploader_poll(&u, now, &next, &err), 0);
        assert_int_equal(next, 3600);

        /* an ordinary event right after an upload waits for the interval */
        u.last_upload = now - 100;
        event(&ev, FAIL_APP_CRASH, "parse", false);
        assert_int_equal(rtd_failq_record(f->q, &ev, &err), 0);
        assert_int_equal(rtd_uploader_poll(&u, now, &next, &err), 0);
        assert_int_equal(next, 3500);
        assert_int_equal(u.stats.attempts_failed, 0);
        rtd_failq_stats(f->q, &s);
        assert_int_equal(s.inflight, 0);

        /* an urgent one goes at once; the service is unreachable: retry later */
        event(&ev, FAIL_UPDATE_FAIL, NULL, false);
        assert_int_equal(rtd_failq_record(f->q, &ev, &err), 0);
        assert_int_equal(rtd_uploader_poll(&u, now, &next, &err), -EAGAIN);
        assert_int_equal(u.stats.attempts_failed, 1);
        assert_true(next >= 8 && next <= 10);
        rtd_failq_stats(f->q, &s);
        assert_int_equal(s.events, 2);          /* nothing deleted */
        assert_int_equal(s.inflight, 2);        /* the batch keeps its id for the retry */

        /* before the back-off ends no attempt is made */
        assert_int_equal(rtd_uploader_poll(&u, now + 1, &next, &err), 0);
        assert_int_equal(u.stats.attempts_failed, 1);
        assert_true(next <= 9);

        /* the back-off doubles and is capped */
        unsigned prev = 0;
        for (int i = 0; i < 4; i++) {
                now = u.retry_at;
                assert_int_equal(rtd_uploader_poll(&u, now, &next, &err), -EAGAIN);
                assert_true(next <= 40);
                assert_true(next >= prev / 2);
                prev = next;
        }
        assert_true(prev >= 30);
        assert_int_equal(u.stats.consecutive_failures, 5);
        assert_int_equal(u.stats.batches_sent, 0);
        rtd_failq_stats(f->q, &s);
        assert_int_equal(s.events, 2);
        rtd_http_global_cleanup();
}

/* The crash-dump opt-in kept in the data dir: no file means no dumps; a
 * yes and a no survive a reload; a replaced file leaves no temp behind;
 * anything else is refused (and reads as no) without touching the file. */
static void test_policy_file(void **state)
{
        struct fx *f = *state;
        struct rp_err err = {0};
        char path[128];
        bool allow = true;
        snprintf(path, sizeof(path), "%s/%s", f->dir, RTD_UPLOAD_POLICY_FILE);
        assert_int_equal(rtd_upload_policy_load(f->dir, &allow, &err), 0);
        assert_false(allow);
        assert_int_equal(rtd_upload_policy_save(f->dir, true, &err), 0);
        assert_int_equal(rtd_upload_policy_load(f->dir, &allow, &err), 0);
        assert_true(allow);
        assert_int_equal(rtd_upload_policy_save(f->dir, false, &err), 0);
        assert_int_equal(rtd_upload_policy_load(f->dir, &allow, &err), 0);
        assert_false(allow);
        assert_int_equal(rtd_upload_policy_save(f->dir, true, &err), 0);
        static const char *const bad[] = {"{\"crash_dumps\":1}\n", "{\"crash_dumps\":true}",
                                          "", "{\"crash_dumps\":true}\n\n", "yes\n"};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                assert_int_equal(rp_write_file_atomic(path, bad[i], strlen(bad[i]), 0600, &err), 0);
                allow = true;
                memset(&err, 0, sizeof(err));
                assert_int_equal(rtd_upload_policy_load(f->dir, &allow, &err), -EINVAL);
                assert_false(allow);
                assert_non_null(strstr(err.msg, RTD_UPLOAD_POLICY_FILE));
                uint8_t *data = NULL;
                size_t len = 0;
                assert_int_equal(rp_read_file(path, 64, &data, &len, &err), 0);
                assert_int_equal(len, strlen(bad[i]));
                free(data);
        }
        /* a file too large to be a policy */
        char big[200];
        memset(big, ' ', sizeof(big));
        assert_int_equal(rp_write_file_atomic(path, big, sizeof(big), 0600, &err), 0);
        assert_true(rtd_upload_policy_load(f->dir, &allow, &err) < 0);
        assert_false(allow);
}

/* The uploader sends dumps exactly when allow_dumps is set: with it off
 * the dump is stripped (counted), with it on nothing is stripped. The
 * service is unreachable, so the batch stays in flight either way. */
static void test_allow_dumps_decides(void **state)
{
        struct fx *f = *state;
        struct rp_err err = {0};
        struct fail_event ev;
        struct rtd_uploader u;
        unsigned next = 0;
        event(&ev, FAIL_APP_CRASH, "crash_here", true);
        assert_int_equal(rtd_failq_record(f->q, &ev, &err), 0);
        fail_event_clear(&ev);
        struct rtd_uploader_opts o = { .backoff_min_s = 1, .backoff_max_s = 1, .allow_dumps = false };
        rtd_uploader_init(&u, f->q, &f->http, &o);
        assert_int_equal(rtd_uploader_poll(&u, 1000, &next, &err), -EAGAIN);
        assert_int_equal(u.stats.dumps_stripped, 1);
        o.allow_dumps = true;
        rtd_uploader_init(&u, f->q, &f->http, &o);
        assert_int_equal(rtd_uploader_poll(&u, 2000, &next, &err), -EAGAIN);
        assert_int_equal(u.stats.dumps_stripped, 0);
        assert_int_equal(u.stats.attempts_failed, 1);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_strip_dumps),
                cmocka_unit_test_setup_teardown(test_policy_and_backoff, setup, teardown),
                cmocka_unit_test_setup_teardown(test_policy_file, setup, teardown),
                cmocka_unit_test_setup_teardown(test_allow_dumps_decides, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

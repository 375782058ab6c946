/* crashwatch.c - rampart-crashwatch: runs one program under the runtime's
 * crash capture and prints how it ended as JSON, with the failure event the
 * supervisor would queue and its bucket. For tests, demos and for looking at
 * a crash on a development machine.
 *
 *   rampart-crashwatch [--component ID] [--version V] [--frames N]
 *                      [--dump] [--dump-max BYTES] [--dump-out FILE]
 *                      [--json FILE] [--queue DIR [--queue-size N]]
 *                      [--timeout SECONDS] [--] PROGRAM [ARGS...]
 *
 * --timeout plays the supervisor's watchdog: a program still running after
 * SECONDS gets SIGABRT (so the capture shows where it hung), then SIGKILL 5 s
 * later, and the event is a `watchdog` event with reason "timeout".
 *
 * With --queue the event is also recorded in the failure queue in DIR (the
 * one rampartd's reporter uploads from), so a crash loop can be run against
 * a real queue.
 *
 * The JSON goes to stdout, or to FILE with --json (the program's own output
 * stays on the inherited stdout and stderr).
 *
 * Exit status: 0 when the program was followed to its end (whatever that
 * end was), 1 on a usage or capture error. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "failure/bucket.h"
#include "failure/report.h"
#include "lib/cleanup.h"
#include "lib/fileio.h"
#include "runtime/crash.h"
#include "runtime/failures.h"

static void usage(FILE *f)
{
        fprintf(f, "usage: rampart-crashwatch [--component ID] [--version V] [--frames N]\n"
                   "                          [--dump] [--dump-max BYTES] [--dump-out FILE]\n"
                   "                          [--json FILE] [--queue DIR [--queue-size N]]\n"
                   "                          [--timeout SECONDS] [--] PROGRAM [ARGS...]\n");
}

static volatile sig_atomic_t watched_pid;
static volatile sig_atomic_t timeouts;

/* The watchdog: first SIGABRT, then SIGKILL. Only async-signal-safe calls. */
static void on_alarm(int sig)
{
        timeouts++;
        if (watched_pid > 0)
                kill((pid_t)watched_pid, timeouts == 1 ? SIGABRT : SIGKILL);
        if (timeouts == 1)
                alarm(5);
}

static int fail(const char *msg)
{
        fprintf(stderr, "rampart-crashwatch: %s\n", msg);
        return 1;
}

static int parse_num(const char *s, unsigned long max, unsigned long *ret)
{
        char *end;
        unsigned long v;

        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno || end == s || *end || s[0] == '-' || v > max)
                return -EINVAL;
        *ret = v;
        return 0;
}

int main(int argc, char **argv)
{
        static const struct option opts[] = {
                {"component", required_argument, NULL, 'c'},
                {"version", required_argument, NULL, 'v'},
                {"frames", required_argument, NULL, 'n'},
                {"dump", no_argument, NULL, 'd'},
                {"dump-max", required_argument, NULL, 'm'},
                {"dump-out", required_argument, NULL, 'o'},
                {"json", required_argument, NULL, 'j'},
                {"queue", required_argument, NULL, 'q'},
                {"queue-size", required_argument, NULL, 's'},
                {"timeout", required_argument, NULL, 't'},
                {"help", no_argument, NULL, 'h'},
                {0},
        };
        struct rtd_crash_opts co = {0};
        struct rtd_outcome out = {0};
        struct fail_event ev;
        struct fail_bucket bucket;
        struct rp_err err = {0};
        const char *component = NULL, *version = "0", *dump_out = NULL, *json_out = NULL;
        const char *queue_dir = NULL;
        unsigned queue_size = 0, timeout = 0;
        _cleanup_free_ char *prog = NULL;
        char msg[400];
        json_t *root, *jev = NULL;
        char *text;
        unsigned long v;
        pid_t pid;
        int c, r;

        while ((c = getopt_long(argc, argv, "+c:v:n:dm:o:j:q:s:t:h", opts, NULL)) != -1) {
                switch (c) {
                case 'c': component = optarg; break;
                case 'v': version = optarg; break;
                case 'n':
                        if (parse_num(optarg, FAIL_MAX_FRAMES, &v) < 0 || v == 0) {
                                snprintf(msg, sizeof(msg), "--frames '%s' is not in 1..%d", optarg,
                                         FAIL_MAX_FRAMES);
                                return fail(msg);
                        }
                        co.max_frames = (unsigned)v;
                        break;
                case 'd': co.dump = true; break;
                case 'm':
                        if (parse_num(optarg, FAIL_MAX_DUMP, &v) < 0 || v < RTD_CRASH_DUMP_MIN) {
                                snprintf(msg, sizeof(msg), "--dump-max '%s' is not in %d..%d",
                                         optarg, RTD_CRASH_DUMP_MIN, FAIL_MAX_DUMP);
                                return fail(msg);
                        }
                        co.dump = true;
                        co.dump_max = v;
                        break;
                case 'o': dump_out = optarg; co.dump = true; break;
                case 'j': json_out = optarg; break;
                case 'q': queue_dir = optarg; break;
                case 's':
                        if (parse_num(optarg, RTD_FAILQ_MAX_EVENTS, &v) < 0 ||
                            v < RTD_FAILQ_MIN_EVENTS) {
                                snprintf(msg, sizeof(msg), "--queue-size '%s' is not in %d..%d",
                                         optarg, RTD_FAILQ_MIN_EVENTS, RTD_FAILQ_MAX_EVENTS);
                                return fail(msg);
                        }
                        queue_size = (unsigned)v;
                        break;
                case 't':
                        if (parse_num(optarg, 86400, &v) < 0 || v == 0) {
                                snprintf(msg, sizeof(msg), "--timeout '%s' is not in 1..86400",
                                         optarg);
                                return fail(msg);
                        }
                        timeout = (unsigned)v;
                        break;
                case 'h': usage(stdout); return 0;
                default: usage(stderr); return 1;
                }
        }
        if (optind >= argc) {
                usage(stderr);
                return 1;
        }
        if (!component) {
                prog = strdup(argv[optind]);
                if (!prog)
                        return fail("out of memory");
                component = basename(prog);
        }

        r = rtd_crash_spawn(argv + optind, &pid, &err);
        if (r < 0)
                return fail(err.msg);
        if (timeout) {
                struct sigaction sa = {.sa_handler = on_alarm};
                sigemptyset(&sa.sa_mask);
                sigaction(SIGALRM, &sa, NULL);
                watched_pid = pid;
                alarm(timeout);
        }
        r = rtd_crash_monitor(pid, &co, &out, &err);
        alarm(0);
        watched_pid = 0;
        if (r < 0)
                return fail(err.msg);

        root = json_object();
        if (!root)
                return fail("out of memory");
        if (out.kind == RTD_EXITED) {
                json_object_set_new(root, "outcome", json_string("exited"));
                json_object_set_new(root, "exit_code", json_integer(out.exit_code));
        } else {
                char sb[16];
                json_object_set_new(root, "outcome", json_string("killed"));
                json_object_set_new(root, "signal", json_integer(out.signal));
                json_object_set_new(root, "signal_name",
                                    json_string(fail_signal_name(out.signal, sb, sizeof(sb))));
                json_object_set_new(root, "captured", json_boolean(out.captured));
        }
        if (dump_out && out.dump) {
                r = rp_write_file_atomic(dump_out, out.dump, out.dump_len, 0600, &err);
                if (r < 0) {
                        json_decref(root);
                        rtd_outcome_clear(&out);
                        return fail(err.msg);
                }
        }
        if (timeouts)
                r = rtd_crash_to_watchdog_event(&out, component, version, (int64_t)time(NULL),
                                                "timeout", &ev, &err);
        else
                r = rtd_crash_to_event(&out, component, version, (int64_t)time(NULL), &ev, &err);
        if (r == -ENOENT) {
                json_object_set_new(root, "event", json_null());
        } else if (r < 0) {
                json_decref(root);
                rtd_outcome_clear(&out);
                return fail(err.msg);
        } else {
                if (fail_event_to_json(&ev, &jev, &err) < 0 ||
                    fail_bucket_compute(&ev, &bucket, &err) < 0) {
                        json_decref(root);
                        fail_event_clear(&ev);
                        rtd_outcome_clear(&out);
                        return fail(err.msg);
                }
                json_object_set_new(root, "event", jev);
                json_t *jb = json_object();
                json_object_set_new(jb, "id", json_string(bucket.id));
                json_object_set_new(jb, "title", json_string(bucket.title));
                json_object_set_new(root, "bucket", jb);
                if (queue_dir) {
                        struct rtd_failq *q = NULL;
                        struct rtd_failq_stats st;
                        r = rtd_failq_open(queue_dir, queue_size, &q, &err);
                        if (r >= 0)
                                r = rtd_failq_record(q, &ev, &err);
                        if (r < 0) {
                                rtd_failq_close(q);
                                json_decref(root);
                                fail_event_clear(&ev);
                                rtd_outcome_clear(&out);
                                return fail(err.msg);
                        }
                        rtd_failq_stats(q, &st);
                        rtd_failq_close(q);
                        json_object_set_new(root, "queue",
                                            json_pack("{s:I, s:I, s:I}", "events",
                                                      (json_int_t)st.events, "dropped",
                                                      (json_int_t)st.dropped, "recorded_total",
                                                      (json_int_t)st.recorded_total));
                }
                fail_event_clear(&ev);
        }
        rtd_outcome_clear(&out);
        text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        json_decref(root);
        if (!text)
                return fail("out of memory");
        if (json_out) {
                size_t n = strlen(text);
                text[n] = '\n';
                r = rp_write_file_atomic(json_out, text, n + 1, 0644, &err);
                free(text);
                if (r < 0)
                        return fail(err.msg);
                return 0;
        }
        printf("%s\n", text);
        free(text);
        return 0;
}

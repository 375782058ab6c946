/* report_test.c - the failure upload batch format: round trips, a golden
 * encoding, and every class of bad input (truncated, oversized, unknown
 * fields, wrong types, class/field mismatches, control characters,
 * non-canonical values), each refused with a message naming the field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "failure/report.h"

#define BID "0123456789abcdef0123456789abcdef"

static void crash_event(struct fail_event *ev)
{
        memset(ev, 0, sizeof(*ev));
        ev->cls = FAIL_APP_CRASH;
        strcpy(ev->component_id, "telemetry");
        strcpy(ev->component_version, "1.3.0");
        ev->time_first = 1700000000;
        ev->time_last = 1700000100;
        ev->count = 3;
        ev->signal = SIGSEGV;
        ev->si_code = 1;
        ev->fault_addr = 0x18;
        ev->pc = 0x55d0c0de1234;
        ev->nframes = 2;
        strcpy(ev->frames[0].module, "telemetry");
        strcpy(ev->frames[0].build_id, "c14fb5aa0da6f83eab8240bc7c9b3ef7c53f2c98");
        strcpy(ev->frames[0].function, "parse_packet");
        ev->frames[0].offset = 11;
        ev->frames[0].module_offset = 0x1214;
        strcpy(ev->frames[1].module, "telemetry");
        strcpy(ev->frames[1].function, "main");
        ev->frames[1].offset = 72;
        ev->frames[1].module_offset = 0x12d4;
}

static char *build1(const struct fail_event *ev)
{
        struct rp_err err = {0};
        char *json = NULL;
        size_t len;
        int r = fail_batch_build(BID, 0, ev, 1, &json, &len, &err);
        if (r < 0)
                fail_msg("build: %s", err.msg);
        assert_int_equal(strlen(json), len);
        return json;
}

/* Parses `json`, expecting failure with code `code` and `needle` in the
 * message; the out-parameter must stay untouched. */
static void expect_reject(const char *json, int code, const char *needle)
{
        struct fail_batch b;
        struct rp_err err = {0};
        int r;

        memset(&b, 0xa5, sizeof(b));
        r = fail_batch_parse(json, strlen(json), &b, &err);
        if (r >= 0) {
                fail_batch_free(&b);
                fail_msg("accepted: %s", json);
        }
        if (code)
                assert_int_equal(r, code);
        if (needle && !strstr(err.msg, needle))
                fail_msg("message \"%s\" does not mention \"%s\"", err.msg, needle);
        assert_int_equal(((unsigned char *)&b)[0], 0xa5);
}

static char *replace(const char *s, const char *from, const char *to)
{
        const char *p = strstr(s, from);
        char *out;
        assert_non_null(p);
        out = malloc(strlen(s) - strlen(from) + strlen(to) + 1);
        assert_non_null(out);
        memcpy(out, s, (size_t)(p - s));
        strcpy(out + (p - s), to);
        strcat(out, p + strlen(from));
        return out;
}

static void test_golden_encoding(void **state)
{
        struct fail_event ev;
        char *json;

        crash_event(&ev);
        json = build1(&ev);
        assert_string_equal(json,
                "{\"batch_id\":\"" BID "\",\"dropped\":0,\"events\":[{\"class\":\"app_crash\","
                "\"component_id\":\"telemetry\",\"component_version\":\"1.3.0\","
                "\"time_first\":1700000000,\"time_last\":1700000100,\"count\":3,\"signal\":11,"
                "\"si_code\":1,\"fault_addr\":\"0x18\",\"pc\":\"0x55d0c0de1234\",\"frames\":["
                "{\"module\":\"telemetry\",\"build_id\":\"c14fb5aa0da6f83eab8240bc7c9b3ef7c53f2c98\","
                "\"function\":\"parse_packet\",\"offset\":11,\"module_offset\":4628},"
                "{\"module\":\"telemetry\",\"build_id\":\"\",\"function\":\"main\",\"offset\":72,"
                "\"module_offset\":4820}]}]}");
        free(json);
}

static void test_roundtrip_all_classes(void **state)
{
        struct fail_event evs[6];
        struct fail_batch b;
        struct rp_err err = {0};
        char *json, *json2;
        size_t len, len2;
        uint8_t dump[300];

        for (size_t i = 0; i < sizeof(dump); i++)
                dump[i] = (uint8_t)(i * 7);
        crash_event(&evs[0]);
        evs[0].dump = dump;
        evs[0].dump_len = sizeof(dump);
        strcpy(evs[0].detail, "caf\xc3\xa9 ok");
        memset(&evs[1], 0, sizeof(evs[1]));
        evs[1].cls = FAIL_APP_EXIT;
        strcpy(evs[1].component_id, "blink");
        strcpy(evs[1].component_version, "2.0+git~1");
        evs[1].time_first = evs[1].time_last = 5;
        evs[1].count = 1;
        evs[1].exit_code = 3;
        for (int c = FAIL_UPDATE_FAIL; c < FAIL_CLASS_COUNT; c++) {
                struct fail_event *e = &evs[c];
                memset(e, 0, sizeof(*e));
                e->cls = (enum fail_class)c;
                strcpy(e->component_id, "os");
                strcpy(e->component_version, "7");
                e->time_first = 10;
                e->time_last = 20;
                e->count = UINT32_MAX;
                strcpy(e->reason, "signature_invalid");
        }
        assert_int_equal(fail_batch_build(BID, 17, evs, 6, &json, &len, &err), 0);
        assert_int_equal(fail_batch_parse(json, len, &b, &err), 0);
        assert_string_equal(b.batch_id, BID);
        assert_int_equal(b.dropped, 17);
        assert_int_equal(b.nevents, 6);
        assert_int_equal(b.events[0].nframes, 2);
        assert_string_equal(b.events[0].frames[0].function, "parse_packet");
        assert_int_equal(b.events[0].fault_addr, 0x18);
        assert_int_equal(b.events[0].pc, 0x55d0c0de1234);
        assert_int_equal(b.events[0].dump_len, sizeof(dump));
        assert_memory_equal(b.events[0].dump, dump, sizeof(dump));
        assert_string_equal(b.events[0].detail, "caf\xc3\xa9 ok");
        assert_int_equal(b.events[1].exit_code, 3);
        assert_string_equal(b.events[1].component_version, "2.0+git~1");
        assert_int_equal(b.events[5].cls, FAIL_WATCHDOG);
        assert_int_equal(b.events[5].count, UINT32_MAX);
        assert_string_equal(b.events[4].reason, "signature_invalid");
        /* parse -> build gives the same bytes */
        assert_int_equal(fail_batch_build(b.batch_id, b.dropped, b.events, b.nevents, &json2,
                                          &len2, &err), 0);
        assert_int_equal(len, len2);
        assert_memory_equal(json, json2, len);
        fail_batch_free(&b);
        free(json);
        free(json2);
}

static void test_rejects_structure(void **state)
{
        struct fail_event ev;
        char *good, *bad;

        crash_event(&ev);
        good = build1(&ev);

        expect_reject("", -EINVAL, "invalid JSON");
        expect_reject("[]", -EINVAL, "not an object");
        expect_reject("{\"batch_id\":\"" BID "\",\"dropped\":0,\"events\":[]}", -EINVAL,
                      "0 events");
        /* truncated at every length */
        for (size_t n = 0; n < strlen(good); n += 7) {
                struct fail_batch b;
                struct rp_err err;
                assert_true(fail_batch_parse(good, n, &b, &err) < 0);
        }
        /* trailing garbage */
        bad = malloc(strlen(good) + 3);
        sprintf(bad, "%s{}", good);
        expect_reject(bad, -EINVAL, "invalid JSON");
        free(bad);
        /* device identity in the body is an unknown field */
        bad = replace(good, "\"dropped\":0,", "\"dropped\":0,\"device_id\":\"abc\",");
        expect_reject(bad, -EINVAL, "device_id");
        free(bad);
        bad = replace(good, "\"count\":3,", "\"count\":3,\"ueid\":\"x\",");
        expect_reject(bad, -EINVAL, "ueid");
        free(bad);
        /* duplicate keys */
        bad = replace(good, "\"count\":3,", "\"count\":3,\"count\":1,");
        expect_reject(bad, -EINVAL, "duplicate");
        free(bad);
        /* missing fields */
        bad = replace(good, "\"dropped\":0,", "");
        expect_reject(bad, -EINVAL, "'dropped'");
        free(bad);
        bad = replace(good, "\"pc\":\"0x55d0c0de1234\",", "");
        expect_reject(bad, -EINVAL, "'pc'");
        free(bad);
        /* fields of another class */
        bad = replace(good, "\"count\":3,", "\"count\":3,\"exit_code\":1,");
        expect_reject(bad, -EINVAL, "exit_code");
        free(bad);
        bad = replace(good, "\"count\":3,", "\"count\":3,\"reason\":\"x\",");
        expect_reject(bad, -EINVAL, "reason");
        free(bad);
        /* nesting bomb */
        {
                char deep[400];
                size_t k = 0;
                for (int i = 0; i < 100; i++)
                        deep[k++] = '[';
                for (int i = 0; i < 100; i++)
                        deep[k++] = ']';
                deep[k] = '\0';
                expect_reject(deep, -EINVAL, "nests deeper");
        }
        free(good);
}

static void test_rejects_values(void **state)
{
        struct fail_event ev;
        char *good;
        static const struct {
                const char *from, *to, *needle;
                int code;
        } cases[] = {
                {"\"batch_id\":\"" BID "\"", "\"batch_id\":\"0123456789ABCDEF0123456789abcdef\"",
                 "batch_id", -EINVAL},
                {"\"batch_id\":\"" BID "\"", "\"batch_id\":\"0123456789abcdef0123456789abcde\"",
                 "batch_id", -EINVAL},
                {"\"batch_id\":\"" BID "\"", "\"batch_id\":7", "batch_id", -EINVAL},
                {"\"dropped\":0", "\"dropped\":-1", "dropped", -ERANGE},
                {"\"dropped\":0", "\"dropped\":4294967296", "dropped", -ERANGE},
                {"\"dropped\":0", "\"dropped\":0.0", "dropped", -EINVAL},
                {"\"class\":\"app_crash\"", "\"class\":\"app_hang\"", "app_hang", -EINVAL},
                {"\"signal\":11", "\"signal\":65", "'signal' is 65", -ERANGE},
                {"\"signal\":11", "\"signal\":0", "'signal' is 0", -ERANGE},
                {"\"signal\":11", "\"signal\":\"11\"", "signal", -EINVAL},
                {"\"count\":3", "\"count\":0", "'count' is 0", -ERANGE},
                {"\"count\":3", "\"count\":4294967296", "count", -ERANGE},
                {"\"time_first\":1700000000", "\"time_first\":1700000101", "time_first", -EINVAL},
                {"\"time_first\":1700000000", "\"time_first\":-5", "time_first", -ERANGE},
                {"\"fault_addr\":\"0x18\"", "\"fault_addr\":\"0x018\"", "0x018", -EINVAL},
                {"\"fault_addr\":\"0x18\"", "\"fault_addr\":\"0X18\"", "fault_addr", -EINVAL},
                {"\"fault_addr\":\"0x18\"", "\"fault_addr\":\"18\"", "fault_addr", -EINVAL},
                {"\"fault_addr\":\"0x18\"", "\"fault_addr\":\"0x1A\"", "fault_addr", -EINVAL},
                {"\"fault_addr\":\"0x18\"", "\"fault_addr\":\"0x10000000000000000\"", "fault_addr",
                 -EINVAL},
                {"\"fault_addr\":\"0x18\"", "\"fault_addr\":24", "fault_addr", -EINVAL},
                {"\"component_id\":\"telemetry\"", "\"component_id\":\"tele metry\"",
                 "component_id", -EINVAL},
                {"\"component_id\":\"telemetry\"", "\"component_id\":\"\"", "component_id",
                 -EINVAL},
                {"\"component_version\":\"1.3.0\"", "\"component_version\":\"1.3/0\"",
                 "component_version", -EINVAL},
                {"\"function\":\"parse_packet\"", "\"function\":\"parse\\npacket\"",
                 "byte 0x0a", -EINVAL},
                {"\"function\":\"parse_packet\"", "\"function\":\"parse\\u001bpacket\"",
                 "byte 0x1b", -EINVAL},
                {"\"function\":\"parse_packet\"", "\"function\":\"parse\\u0000packet\"",
                 NULL, -EINVAL},
                {"\"function\":\"parse_packet\"", "\"function\":\"parse\\u007fpacket\"",
                 "byte 0x7f", -EINVAL},
                {"\"module\":\"telemetry\"", "\"module\":\"/usr/bin/telemetry\"", "module",
                 -EINVAL},
                {"\"module\":\"telemetry\"", "\"module\":\"..\"", "module", -EINVAL},
                {"\"module\":\"telemetry\"", "\"module\":\"\"", "module", -EINVAL},
                {"\"build_id\":\"c14fb5aa0da6f83eab8240bc7c9b3ef7c53f2c98\"",
                 "\"build_id\":\"c14fb5aa0da6f83eab8240bc7c9b3ef7c53f2c9\"", "odd number",
                 -EINVAL},
                {"\"build_id\":\"c14fb5aa0da6f83eab8240bc7c9b3ef7c53f2c98\"",
                 "\"build_id\":\"C14FB5AA\"", "build_id", -EINVAL},
                {"\"offset\":11", "\"offset\":-1", "offset", -ERANGE},
                {"\"offset\":11", "\"offset\":1.5", "offset", -EINVAL},
                {"\"frames\":[", "\"frames\":{\"a\":[", NULL, 0},
        };

        crash_event(&ev);
        good = build1(&ev);
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char *bad = replace(good, cases[i].from, cases[i].to);
                expect_reject(bad, cases[i].code, cases[i].needle);
                free(bad);
        }
        free(good);
}

static void test_caps(void **state)
{
        struct fail_event ev;
        struct fail_batch b;
        struct rp_err err = {0};
        char *good, *bad, big[FAIL_MAX_FUNCTION + 2];
        char *json;
        size_t len;

        crash_event(&ev);
        good = build1(&ev);

        /* a function name one byte over the cap */
        memset(big, 'f', FAIL_MAX_FUNCTION + 1);
        big[FAIL_MAX_FUNCTION + 1] = '\0';
        {
                char to[FAIL_MAX_FUNCTION + 32];
                snprintf(to, sizeof(to), "\"function\":\"%s\"", big);
                bad = replace(good, "\"function\":\"parse_packet\"", to);
                expect_reject(bad, -E2BIG, "the limit is 256");
                free(bad);
                big[FAIL_MAX_FUNCTION] = '\0';  /* exactly the cap: accepted */
                snprintf(to, sizeof(to), "\"function\":\"%s\"", big);
                bad = replace(good, "\"function\":\"parse_packet\"", to);
                assert_int_equal(fail_batch_parse(bad, strlen(bad), &b, &err), 0);
                fail_batch_free(&b);
                free(bad);
        }
        /* 33 frames */
        ev.nframes = FAIL_MAX_FRAMES;
        for (unsigned i = 0; i < FAIL_MAX_FRAMES; i++)
                ev.frames[i] = ev.frames[0];
        json = build1(&ev);
        {
                char *frame = strstr(json, "{\"module\"");
                char *end = strstr(frame, "}") + 1;
                size_t fl = (size_t)(end - frame);
                char *more = malloc(strlen(json) + fl + 2);
                char *at = strstr(json, "]}]}");
                memcpy(more, json, (size_t)(at - json));
                more[at - json] = ',';
                memcpy(more + (at - json) + 1, frame, fl);
                strcpy(more + (at - json) + 1 + fl, at);
                assert_int_equal(fail_batch_parse(json, strlen(json), &b, &err), 0);
                fail_batch_free(&b);
                expect_reject(more, -E2BIG, "33 frames");
                free(more);
        }
        free(json);
        /* 65 events */
        {
                struct fail_event *many = calloc(FAIL_MAX_BATCH_EVENTS + 1, sizeof(*many));
                crash_event(&ev);
                for (int i = 0; i <= FAIL_MAX_BATCH_EVENTS; i++)
                        many[i] = ev;
                assert_int_equal(fail_batch_build(BID, 0, many, FAIL_MAX_BATCH_EVENTS + 1, &json,
                                                  &len, &err), -E2BIG);
                assert_int_equal(fail_batch_build(BID, 0, many, FAIL_MAX_BATCH_EVENTS, &json,
                                                  &len, &err), 0);
                /* splice one more event in by hand */
                char *first = strstr(json, "{\"class\"");
                char *second = strstr(first + 1, "{\"class\"");
                size_t el = (size_t)(second - first);
                char *more = malloc(strlen(json) + el + 1);
                memcpy(more, json, (size_t)(second - json));
                memcpy(more + (second - json), first, el);
                strcpy(more + (second - json) + el, second);
                expect_reject(more, -E2BIG, "65 events");
                free(more);
                free(json);
                free(many);
        }
        /* whole body over the cap, refused before parsing */
        {
                size_t n = FAIL_MAX_BATCH_BYTES + 1;
                char *huge = malloc(n + 1);
                memset(huge, ' ', n);
                huge[n] = '\0';
                huge[0] = '{';
                huge[n - 1] = '}';
                expect_reject(huge, -E2BIG, "limit");
                free(huge);
        }
        /* a dump over the cap */
        {
                static uint8_t d[FAIL_MAX_DUMP + 1];
                crash_event(&ev);
                ev.dump = d;
                ev.dump_len = sizeof(d);
                assert_int_equal(fail_batch_build(BID, 0, &ev, 1, &json, &len, &err), -E2BIG);
                assert_non_null(strstr(err.msg, "dump"));
        }
        bad = replace(good, "\"frames\":[", "\"dump\":\"Zh\",\"frames\":[");
        expect_reject(bad, -EINVAL, "base64url");
        free(bad);
        bad = replace(good, "\"frames\":[", "\"dump\":\"\",\"frames\":[");
        expect_reject(bad, -E2BIG, "dump");
        free(bad);
        free(good);
}

static void test_validate_struct(void **state)
{
        struct fail_event ev;
        struct rp_err err = {0};
        json_t *j;

        crash_event(&ev);
        assert_int_equal(fail_event_validate(&ev, &err), 0);
        strcpy(ev.frames[1].function, "bad\xff");
        assert_int_equal(fail_event_validate(&ev, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "UTF-8"));
        assert_int_equal(fail_event_to_json(&ev, &j, &err), -EINVAL);
        strcpy(ev.frames[1].function, "bad\tname");
        assert_int_equal(fail_event_validate(&ev, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "frames[1]"));
        crash_event(&ev);
        ev.exit_code = 1;
        assert_int_equal(fail_event_validate(&ev, &err), -EINVAL);
        crash_event(&ev);
        ev.cls = FAIL_REVERT;
        ev.signal = 0;
        ev.nframes = 0;
        assert_int_equal(fail_event_validate(&ev, &err), -EINVAL);     /* no reason */
        strcpy(ev.reason, "Boot-Failed");
        assert_int_equal(fail_event_validate(&ev, &err), -EINVAL);     /* uppercase */
        strcpy(ev.reason, "boot_failed");
        assert_int_equal(fail_event_validate(&ev, &err), 0);
        assert_true(fail_class_urgent(FAIL_REVERT));
        assert_true(fail_class_urgent(FAIL_UPDATE_FAIL));
        assert_false(fail_class_urgent(FAIL_APP_CRASH));
        assert_false(fail_class_urgent(FAIL_WATCHDOG));
}

/* watchdog events may carry the hung app's frames; other classes may not */
static void test_watchdog_frames(void **state)
{
        struct fail_event ev, crash;
        struct fail_batch b;
        struct rp_err err = {0};
        char *json, *bad;
        size_t len;

        crash_event(&crash);
        memset(&ev, 0, sizeof(ev));
        ev.cls = FAIL_WATCHDOG;
        strcpy(ev.component_id, "telemetry");
        strcpy(ev.component_version, "1");
        ev.time_first = ev.time_last = 7;
        ev.count = 1;
        strcpy(ev.reason, "timeout");
        ev.nframes = 2;
        ev.frames[0] = crash.frames[0];
        ev.frames[1] = crash.frames[1];
        assert_int_equal(fail_batch_build(BID, 0, &ev, 1, &json, &len, &err), 0);
        assert_non_null(strstr(json, "\"reason\":\"timeout\",\"frames\":[{\"module\""));
        assert_int_equal(fail_batch_parse(json, len, &b, &err), 0);
        assert_int_equal(b.events[0].nframes, 2);
        assert_string_equal(b.events[0].frames[0].function, "parse_packet");
        fail_batch_free(&b);
        /* the same frames on a revert are refused, both ways */
        bad = replace(json, "\"class\":\"watchdog\"", "\"class\":\"revert\"");
        expect_reject(bad, -EINVAL, "not allowed in an event of class revert");
        free(bad);
        ev.cls = FAIL_REVERT;
        assert_int_equal(fail_event_validate(&ev, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "frames"));
        /* and a watchdog frame with a control character is refused */
        bad = replace(json, "\"function\":\"main\"", "\"function\":\"ma\\tin\"");
        expect_reject(bad, -EINVAL, "byte 0x09");
        free(bad);
        free(json);
}

/* C1 controls (U+0080..U+009F, e.g. NEL U+0085) are control characters
 * too: refused in function names, module names and details, whether the
 * JSON escapes them or carries the raw UTF-8 bytes, and never built;
 * U+00A0, the first code point after them, is ordinary text. */
static void test_c1_controls(void **state)
{
        struct fail_event ev;
        struct fail_batch b;
        struct rp_err err = {0};
        char *good, *bad, *json;
        size_t len;
        static const struct {
                const char *from, *to, *needle;
        } cases[] = {
                {"\"function\":\"parse_packet\"", "\"function\":\"parse\\u0085packet\"",
                 "control character U+0085 at 5"},
                {"\"function\":\"parse_packet\"", "\"function\":\"parse\xc2\x85packet\"",
                 "control character U+0085 at 5"},
                {"\"function\":\"parse_packet\"", "\"function\":\"\\u0080\"",
                 "control character U+0080 at 0"},
                {"\"function\":\"parse_packet\"", "\"function\":\"parse\\u009f\"",
                 "control character U+009F at 5"},
                {"\"module\":\"telemetry\"", "\"module\":\"tele\\u009bmetry\"",
                 "control character U+009B at 4"},
        };

        (void)state;
        crash_event(&ev);
        good = build1(&ev);
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                bad = replace(good, cases[i].from, cases[i].to);
                expect_reject(bad, -EINVAL, cases[i].needle);
                free(bad);
        }
        /* the builder refuses what the parser refuses */
        strcpy(ev.frames[0].function, "parse\xc2\x85packet");
        assert_int_equal(fail_batch_build(BID, 0, &ev, 1, &json, &len, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "U+0085"));
        /* U+00A0 and U+00C5 are not controls */
        bad = replace(good, "\"function\":\"parse_packet\"", "\"function\":\"parse\\u00a0\\u00c5\"");
        assert_int_equal(fail_batch_parse(bad, strlen(bad), &b, &err), 0);
        assert_string_equal(b.events[0].frames[0].function, "parse\xc2\xa0\xc3\x85");
        fail_batch_free(&b);
        free(bad);
        free(good);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_c1_controls),
                cmocka_unit_test(test_golden_encoding),
                cmocka_unit_test(test_roundtrip_all_classes),
                cmocka_unit_test(test_rejects_structure),
                cmocka_unit_test(test_rejects_values),
                cmocka_unit_test(test_caps),
                cmocka_unit_test(test_validate_struct),
                cmocka_unit_test(test_watchdog_frames),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

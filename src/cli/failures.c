/* failures.c - `rampart failures list|show|download`: the tenant's failure
 * buckets by impact, one bucket with sample backtraces, and the per-event
 * export (docs/failures.md, "The service"). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/command.h"
#include "failure/report.h"
#include "lib/cleanup.h"

static void usage(FILE *f)
{
        fprintf(f,
                "usage: rampart failures list [--limit N] [--output table|json]\n"
                "       rampart failures show BUCKET [--output table|json]\n"
                "       rampart failures download [--since T] [--format csv|json] [--out FILE]\n"
                "                                 [--bucket BUCKET]\n\n"
                "Failures reported by the tenant's devices, grouped into buckets (one bug,\n"
                "one bucket, across devices and versions).\n"
                "  list      buckets sorted by impact: devices, then hits\n"
                "  show      one bucket: counts per version and sample events with backtraces\n"
                "  download  every stored event since T (RFC 3339 like 2026-11-28T00:00:00Z,\n"
                "            or a duration back from now: 30m, 12h, 7d; default: all retained),\n"
                "            as CSV (default) or JSON, to FILE or stdout\n");
}

static const struct cli_column list_cols[] = {
        {"BUCKET", "id"},        {"DEVICES", "devices"},      {"HITS", "hits"},
        {"FIRST SEEN", "first_seen"}, {"LAST SEEN", "last_seen"}, {"VERSIONS", "versions_text"},
        {"TITLE", "title"},
};

static const struct cli_column show_cols[] = {
        {"bucket", "id"},          {"title", "title"},          {"class", "class"},
        {"component", "component_id"}, {"hits", "hits"},        {"devices", "devices"},
        {"events stored", "events"}, {"first seen", "first_seen"}, {"last seen", "last_seen"},
};

static const struct cli_column ver_cols[] = {
        {"VERSION", "version"},       {"HITS", "hits"},           {"DEVICES", "devices"},
        {"FIRST SEEN", "first_seen"}, {"LAST SEEN", "last_seen"},
};

/* "1.4 1.3" from the versions array, newest first. */
static void add_versions_text(json_t *bucket)
{
        json_t *vs = json_object_get(bucket, "versions"), *v;
        size_t i;
        char buf[512] = "";
        size_t off = 0;
        json_array_foreach(vs, i, v) {
                const char *s = json_string_value(json_object_get(v, "version"));
                if (!s)
                        continue;
                int n = snprintf(buf + off, sizeof(buf) - off, "%s%s", off ? " " : "", s);
                if (n < 0 || (size_t)n >= sizeof(buf) - off) {
                        snprintf(buf + (off > sizeof(buf) - 5 ? sizeof(buf) - 5 : off), 5, " ...");
                        break;
                }
                off += (size_t)n;
        }
        json_object_set_new(bucket, "versions_text", json_string(buf));
}

static bool is_bucket_id(const char *s)
{
        if (strlen(s) != 32)
                return false;
        for (; *s; s++)
                if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
                        return false;
        return true;
}

static int parse_common(int argc, char **argv, enum cli_output *out, const char **limit)
{
        static const struct option lo[] = {
                {"output", required_argument, NULL, 'o'}, {"limit", required_argument, NULL, 'l'},
                {"help", no_argument, NULL, 'h'}, {0},
        };
        int c;
        optind = 1;
        while ((c = getopt_long(argc, argv, "ho:", lo, NULL)) != -1) {
                switch (c) {
                case 'o':
                        if (cli_output_parse(optarg, out) != CLI_EXIT_OK)
                                return CLI_EXIT_USAGE;
                        break;
                case 'l':
                        if (!limit)
                                return cli_errorf(CLI_EXIT_USAGE, "--limit is for 'list'");
                        *limit = optarg;
                        break;
                case 'h': usage(stdout); return -1;
                default: usage(stderr); return CLI_EXIT_USAGE;
                }
        }
        return CLI_EXIT_OK;
}

static int failures_list(int argc, char **argv)
{
        enum cli_output out = CLI_OUT_TABLE;
        const char *limit = NULL;
        int r = parse_common(argc, argv, &out, &limit);
        if (r)
                return r < 0 ? CLI_EXIT_OK : r;
        if (optind != argc)
                return cli_errorf(CLI_EXIT_USAGE, "'failures list' takes no arguments");
        const char *kv[] = {"limit", limit};
        _cleanup_free_ char *path = cli_path_query("/api/v1/failures/buckets", kv, 2);
        json_t *reply = NULL;
        if (!path)
                return cli_errorf(CLI_EXIT_FAIL, "out of memory");
        if ((r = cli_api("GET", path, NULL, &reply)) != CLI_EXIT_OK)
                return r;
        json_t *items = json_object_get(reply, "items"), *b;
        size_t i;
        if (out == CLI_OUT_JSON) {
                cli_print_json(stdout, reply);
        } else {
                json_array_foreach(items, i, b)
                        add_versions_text(b);
                cli_print_table(stdout, items, list_cols, ARRAY_SIZE(list_cols));
                json_t *nc = json_object_get(reply, "next_cursor");
                if (json_is_string(nc))
                        fprintf(stderr, "(more buckets: the list is cut at --limit)\n");
        }
        json_decref(reply);
        return CLI_EXIT_OK;
}

static void print_frames(json_t *frames)
{
        json_t *fr;
        size_t i;
        json_array_foreach(frames, i, fr) {
                const char *fn = json_string_value(json_object_get(fr, "function"));
                const char *mod = json_string_value(json_object_get(fr, "module"));
                json_int_t off = json_integer_value(json_object_get(fr, "offset"));
                json_int_t moff = json_integer_value(json_object_get(fr, "module_offset"));
                if (fn && *fn)
                        printf("      #%-2zu %s!%s+0x%llx\n", i, mod ? mod : "?", fn,
                               (unsigned long long)off);
                else
                        printf("      #%-2zu %s+0x%llx\n", i, mod ? mod : "?",
                               (unsigned long long)moff);
        }
}

static int failures_show(int argc, char **argv)
{
        enum cli_output out = CLI_OUT_TABLE;
        int r = parse_common(argc, argv, &out, NULL);
        if (r)
                return r < 0 ? CLI_EXIT_OK : r;
        if (optind + 1 != argc)
                return cli_errorf(CLI_EXIT_USAGE, "'failures show' needs exactly one BUCKET");
        const char *id = argv[optind];
        if (!is_bucket_id(id))
                return cli_errorf(CLI_EXIT_USAGE, "'%s' is not a bucket id (32 lowercase hex "
                                  "digits, as 'rampart failures list' shows)", id);
        _cleanup_free_ char *path = cli_path_id("/api/v1/failures/buckets", id, NULL);
        json_t *b = NULL;
        if (!path)
                return cli_errorf(CLI_EXIT_FAIL, "out of memory");
        if ((r = cli_api("GET", path, NULL, &b)) != CLI_EXIT_OK)
                return r;
        if (out == CLI_OUT_JSON) {
                cli_print_json(stdout, b);
                json_decref(b);
                return CLI_EXIT_OK;
        }
        cli_print_object(stdout, b, show_cols, ARRAY_SIZE(show_cols));
        printf("\nversions:\n");
        cli_print_table(stdout, json_object_get(b, "versions"), ver_cols, ARRAY_SIZE(ver_cols));
        json_t *samples = json_object_get(b, "samples"), *ev;
        size_t i;
        printf("\nsample events (newest first):\n");
        json_array_foreach(samples, i, ev) {
                const char *cls = json_string_value(json_object_get(ev, "class"));
                printf("  %s  device %s  version %s  count %lld  received %s\n",
                       json_string_value(json_object_get(ev, "id")),
                       json_string_value(json_object_get(ev, "ueid")),
                       json_string_value(json_object_get(ev, "component_version")),
                       (long long)json_integer_value(json_object_get(ev, "count")),
                       json_string_value(json_object_get(ev, "received")));
                if (cls && !strcmp(cls, "app_crash"))
                        printf("    signal %lld at pc %s, fault address %s\n",
                               (long long)json_integer_value(json_object_get(ev, "signal")),
                               json_string_value(json_object_get(ev, "pc")),
                               json_string_value(json_object_get(ev, "fault_addr")));
                else if (cls && !strcmp(cls, "app_exit"))
                        printf("    exit code %lld\n",
                               (long long)json_integer_value(json_object_get(ev, "exit_code")));
                else if (json_is_string(json_object_get(ev, "reason")))
                        printf("    reason %s\n",
                               json_string_value(json_object_get(ev, "reason")));
                print_frames(json_object_get(ev, "frames"));
        }
        json_decref(b);
        return CLI_EXIT_OK;
}

/* "30m", "12h", "7d" back from now, or RFC 3339 passed through. */
static int since_arg(const char *s, char out[40])
{
        char *end = NULL;
        long long n = strtoll(s, &end, 10);
        if (end && end != s && n > 0 && n < 100000 && end[1] == 0 &&
            (end[0] == 'm' || end[0] == 'h' || end[0] == 'd')) {
                long long mul = end[0] == 'm' ? 60 : end[0] == 'h' ? 3600 : 86400;
                time_t t = time(NULL) - (time_t)(n * mul);
                struct tm tm;
                gmtime_r(&t, &tm);
                strftime(out, 40, "%Y-%m-%dT%H:%M:%SZ", &tm);
                return 0;
        }
        if (strlen(s) < 20 || strlen(s) > 35 || s[4] != '-' || s[10] != 'T')
                return -EINVAL;
        snprintf(out, 40, "%s", s);
        return 0;
}

/* Same columns and quoting as the server's format=csv. */
static const char *const csv_columns[] = {
        "event_id", "received", "ueid", "bucket_id", "class", "component_id",
        "component_version", "time_first", "time_last", "count", "signal", "exit_code",
        "reason", "fault_addr", "pc", "top_function", "detail",
};
static const char *const csv_keys[] = {
        "id", "received", "ueid", "bucket_id", "class", "component_id",
        "component_version", "time_first", "time_last", "count", "signal", "exit_code",
        "reason", "fault_addr", "pc", NULL, "detail",
};

static void csv_cell(FILE *f, const char *v, bool last)
{
        bool quote = strpbrk(v, ",\"\r\n") != NULL;
        bool formula = v[0] && strchr("=+-@", v[0]);
        fputs(quote ? "\"" : "", f);
        fputs(formula ? "'" : "", f);
        for (const char *p = v; *p; p++)
                fputs(*p == '"' ? "\"\"" : (char[]){*p, 0}, f);
        fputs(quote ? "\"" : "", f);
        fputs(last ? "\r\n" : ",", f);
}

static void csv_event(FILE *f, json_t *ev)
{
        size_t n = ARRAY_SIZE(csv_columns);
        for (size_t i = 0; i < n; i++) {
                char buf[64];
                const char *v = "";
                json_t *j = csv_keys[i] ? json_object_get(ev, csv_keys[i])
                                        : json_object_get(json_array_get(json_object_get(ev, "frames"), 0),
                                                          "function");
                if (json_is_string(j)) {
                        v = json_string_value(j);
                } else if (json_is_integer(j)) {
                        if (!strcmp(csv_columns[i], "signal")) {
                                v = fail_signal_name((int)json_integer_value(j), buf, sizeof(buf));
                                csv_cell(f, v, i + 1 == n);
                                continue;
                        } else {
                                snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(j));
                        }
                        v = buf;
                }
                csv_cell(f, v, i + 1 == n);
        }
}

static int failures_download(int argc, char **argv)
{
        static const struct option lo[] = {
                {"since", required_argument, NULL, 's'}, {"format", required_argument, NULL, 'f'},
                {"out", required_argument, NULL, 'O'},   {"bucket", required_argument, NULL, 'b'},
                {"help", no_argument, NULL, 'h'},        {0},
        };
        const char *since = NULL, *format = "csv", *outp = NULL, *bucket = NULL;
        char since_buf[40];
        int c, r;
        optind = 1;
        while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
                switch (c) {
                case 's': since = optarg; break;
                case 'f': format = optarg; break;
                case 'O': outp = optarg; break;
                case 'b': bucket = optarg; break;
                case 'h': usage(stdout); return CLI_EXIT_OK;
                default: usage(stderr); return CLI_EXIT_USAGE;
                }
        }
        if (optind != argc)
                return cli_errorf(CLI_EXIT_USAGE, "'failures download' takes no arguments");
        if (strcmp(format, "csv") && strcmp(format, "json"))
                return cli_errorf(CLI_EXIT_USAGE, "--format must be csv or json (got '%s')", format);
        if (since && since_arg(since, since_buf) < 0)
                return cli_errorf(CLI_EXIT_USAGE, "--since must be RFC 3339 "
                                  "(2026-11-28T00:00:00Z) or a duration like 30m, 12h, 7d "
                                  "(got '%s')", since);
        if (bucket && !is_bucket_id(bucket))
                return cli_errorf(CLI_EXIT_USAGE, "'%s' is not a bucket id", bucket);

        /* collect every page first, so a failure leaves no partial file */
        json_t *all = json_array();
        char cursor[32] = "";
        do {
                const char *kv[] = {"since", since ? since_buf : NULL, "bucket", bucket, "limit",
                                    "500", "cursor", cursor[0] ? cursor : NULL};
                _cleanup_free_ char *path = cli_path_query("/api/v1/failures/events", kv, 8);
                json_t *reply = NULL;
                if (!path) {
                        json_decref(all);
                        return cli_errorf(CLI_EXIT_FAIL, "out of memory");
                }
                if ((r = cli_api("GET", path, NULL, &reply)) != CLI_EXIT_OK) {
                        json_decref(all);
                        return r;
                }
                json_array_extend(all, json_object_get(reply, "items"));
                json_t *nc = json_object_get(reply, "next_cursor");
                snprintf(cursor, sizeof(cursor), "%s", json_is_string(nc) ? json_string_value(nc) : "");
                json_decref(reply);
        } while (cursor[0]);

        _cleanup_free_ char *tmp = NULL;
        FILE *f = stdout;
        if (outp) {
                if (asprintf(&tmp, "%s.tmp", outp) < 0 || !(f = fopen(tmp, "w"))) {
                        json_decref(all);
                        return cli_errorf(CLI_EXIT_FAIL, "cannot write '%s': %s", outp,
                                          strerror(errno));
                }
        }
        if (!strcmp(format, "json")) {
                cli_print_json(f, all);
        } else {
                size_t n = ARRAY_SIZE(csv_columns), i;
                json_t *ev;
                for (i = 0; i < n; i++)
                        fprintf(f, "%s%s", csv_columns[i], i + 1 == n ? "\r\n" : ",");
                json_array_foreach(all, i, ev)
                        csv_event(f, ev);
        }
        size_t count = json_array_size(all);
        json_decref(all);
        if (outp) {
                bool ok = fflush(f) == 0 && !ferror(f);
                ok = fclose(f) == 0 && ok;
                if (!ok || rename(tmp, outp) < 0) {
                        unlink(tmp);
                        return cli_errorf(CLI_EXIT_FAIL, "cannot write '%s': %s", outp,
                                          strerror(errno));
                }
                fprintf(stderr, "rampart: %zu event(s) written to %s\n", count, outp);
        }
        return CLI_EXIT_OK;
}

int cli_failures(int argc, char **argv)
{
        static const struct cli_cmd cmds[] = {
                {"list", failures_list}, {"show", failures_show}, {"download", failures_download},
        };
        return cli_dispatch("failures", argc, argv, cmds, ARRAY_SIZE(cmds), usage);
}

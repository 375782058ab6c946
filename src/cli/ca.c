/* ca.c - `rampart ca list|download|rotate`: the tenant CA that signs
 * device certificates, and the bundle relying parties trust. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "lib/cleanup.h"
#include "lib/fileio.h"

static const struct cli_column ca_cols[] = {
        {"ID", "id"},          {"GEN", "generation"}, {"STATE", "state"},
        {"SERVED", "served"},  {"NOT AFTER", "not_after"}, {"SHA-256", "fingerprint"},
};

static void usage(FILE *f)
{
        fprintf(f,
                "usage: rampart ca list [--limit N] [--cursor C] [--all] [--output table|json]\n"
                "       rampart ca download [--out FILE] [--output table|json]\n"
                "       rampart ca rotate [--output table|json]\n\n"
                "download writes the CA bundle (PEM) that relying parties such as an MQTT\n"
                "broker use to authenticate your devices, to FILE or standard output.\n"
                "rotate (admin) first creates the next CA, which is added to the bundle at\n"
                "once; the next rotate makes it current (it signs device certificates from\n"
                "then on) and retires the old one, which stays in the bundle until it\n"
                "expires. Refresh relying parties' bundles between the two steps.\n");
}

struct opts {
        enum cli_output out;
        const char *file, *limit, *cursor;
        bool all;
};

static int parse(int argc, char **argv, bool out_file, bool page, struct opts *o)
{
        static const struct option lo[] = {
                {"output", required_argument, NULL, 'o'}, {"out", required_argument, NULL, 'f'},
                {"limit", required_argument, NULL, 'l'},  {"cursor", required_argument, NULL, 'c'},
                {"all", no_argument, NULL, 'a'},          {"help", no_argument, NULL, 'h'},
                {0},
        };
        int c;
        optind = 1;
        while ((c = getopt_long(argc, argv, "ho:", lo, NULL)) != -1) {
                if ((c == 'f' && !out_file) || ((c == 'l' || c == 'c' || c == 'a') && !page)) {
                        cli_errorf(CLI_EXIT_USAGE, "ca %s: option '%s' does not apply here", argv[0],
                                   argv[optind - 1]);
                        return CLI_EXIT_USAGE;
                }
                switch (c) {
                case 'o':
                        if (cli_output_parse(optarg, &o->out) != CLI_EXIT_OK)
                                return CLI_EXIT_USAGE;
                        break;
                case 'f': o->file = optarg; break;
                case 'l': o->limit = optarg; break;
                case 'c': o->cursor = optarg; break;
                case 'a': o->all = true; break;
                case 'h':
                        usage(stdout);
                        return -1;
                default:
                        usage(stderr);
                        return CLI_EXIT_USAGE;
                }
        }
        if (optind != argc)
                return cli_errorf(CLI_EXIT_USAGE, "ca %s: unexpected argument '%s'", argv[0],
                                  argv[optind]);
        return CLI_EXIT_OK;
}

static int do_list(int argc, char **argv)
{
        struct opts o = {0};
        int rc = parse(argc, argv, false, true, &o);
        if (rc)
                return rc < 0 ? CLI_EXIT_OK : rc;
        return cli_list("/api/v1/ca", NULL, 0, o.limit, o.cursor, o.all, o.out, ca_cols,
                        ARRAY_SIZE(ca_cols));
}

static int do_download(int argc, char **argv)
{
        struct opts o = {0};
        int rc = parse(argc, argv, true, false, &o);
        if (rc)
                return rc < 0 ? CLI_EXIT_OK : rc;
        json_t *j = NULL;
        if ((rc = cli_api("GET", "/api/v1/ca/bundle", NULL, &j)))
                return rc;
        const char *pem = json_string_value(json_object_get(j, "pem"));
        if (!pem || strncmp(pem, "-----BEGIN CERTIFICATE-----", 27)) {
                json_decref(j);
                return cli_errorf(CLI_EXIT_FAIL, "the server sent no CA bundle");
        }
        if (o.file) {
                struct rp_err err = {0};
                if (rp_write_file_atomic(o.file, pem, strlen(pem), 0644, &err) < 0) {
                        json_decref(j);
                        return cli_fail(&err);
                }
                if (o.out == CLI_OUT_JSON)
                        cli_print_json(stdout, j);
                else
                        printf("wrote %lld CA certificate(s) to %s\n",
                               (long long)json_integer_value(json_object_get(j, "count")), o.file);
        } else if (o.out == CLI_OUT_JSON) {
                cli_print_json(stdout, j);
        } else {
                fputs(pem, stdout);
        }
        json_decref(j);
        return CLI_EXIT_OK;
}

static int do_rotate(int argc, char **argv)
{
        struct opts o = {0};
        int rc = parse(argc, argv, false, false, &o);
        if (rc)
                return rc < 0 ? CLI_EXIT_OK : rc;
        json_t *body = json_object(), *j = NULL;
        rc = cli_api("POST", "/api/v1/ca/rotate", body, &j);
        json_decref(body);
        if (rc)
                return rc;
        if (o.out == CLI_OUT_JSON) {
                cli_print_json(stdout, j);
        } else {
                static const struct cli_column cols[] = {
                        {"action", "action"},
                        {"current CA", "current.id"},
                        {"current generation", "current.generation"},
                        {"current valid until", "current.not_after"},
                        {"next CA", "next.id"},
                        {"next generation", "next.generation"},
                        {"next valid until", "next.not_after"},
                };
                cli_print_object(stdout, j, cols, ARRAY_SIZE(cols));
        }
        json_decref(j);
        return CLI_EXIT_OK;
}

int cli_ca(int argc, char **argv)
{
        if (argc < 2) {
                usage(stderr);
                return CLI_EXIT_USAGE;
        }
        const char *cmd = argv[1];
        argc--;
        argv++;
        if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help")) {
                usage(stdout);
                return CLI_EXIT_OK;
        }
        if (!strcmp(cmd, "list"))
                return do_list(argc, argv);
        if (!strcmp(cmd, "download"))
                return do_download(argc, argv);
        if (!strcmp(cmd, "rotate"))
                return do_rotate(argc, argv);
        cli_errorf(CLI_EXIT_USAGE, "unknown ca command '%s'", cmd);
        usage(stderr);
        return CLI_EXIT_USAGE;
}

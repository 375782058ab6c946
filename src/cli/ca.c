/* ca.c - `rampart ca list|download|rotate`: the tenant CA that signs
 * device certificates, and the bundle relying parties trust. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/command.h"
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

enum { O_FILE = 1 };

struct opts {
        struct cli_opts com;
        const char *file;
};

static int parse(int argc, char **argv, unsigned allowed, struct opts *o)
{
        const struct cli_opt own[] = {{"out", O_FILE, &o->file}};
        int rc = cli_parse(argc, argv, "ca", own, ARRAY_SIZE(own), allowed, &o->com, usage);
        return rc ? rc : cli_no_args(argc, argv, "ca");
}

static int do_list(int argc, char **argv)
{
        struct opts o = {0};
        int rc = parse(argc, argv, CLI_OPT_PAGE, &o);
        if (rc)
                return rc < 0 ? CLI_EXIT_OK : rc;
        return cli_list_opts("/api/v1/ca", NULL, 0, &o.com, ca_cols, ARRAY_SIZE(ca_cols));
}

static int do_download(int argc, char **argv)
{
        struct opts o = {0};
        int rc = parse(argc, argv, O_FILE, &o);
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
                if (o.com.out == CLI_OUT_JSON)
                        cli_print_json(stdout, j);
                else
                        printf("wrote %lld CA certificate(s) to %s\n",
                               (long long)json_integer_value(json_object_get(j, "count")), o.file);
        } else if (o.com.out == CLI_OUT_JSON) {
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
        int rc = parse(argc, argv, 0, &o);
        if (rc)
                return rc < 0 ? CLI_EXIT_OK : rc;
        json_t *body = json_object(), *j = NULL;
        rc = cli_api("POST", "/api/v1/ca/rotate", body, &j);
        json_decref(body);
        if (rc)
                return rc;
        static const struct cli_column cols[] = {
                {"action", "action"},
                {"current CA", "current.id"},
                {"current generation", "current.generation"},
                {"current valid until", "current.not_after"},
                {"next CA", "next.id"},
                {"next generation", "next.generation"},
                {"next valid until", "next.not_after"},
        };
        return cli_print_reply(j, o.com.out, cols, ARRAY_SIZE(cols));
}

int cli_ca(int argc, char **argv)
{
        static const struct cli_cmd cmds[] = {
                {"list", do_list}, {"download", do_download}, {"rotate", do_rotate},
        };
        return cli_dispatch("ca", argc, argv, cmds, ARRAY_SIZE(cmds), usage);
}

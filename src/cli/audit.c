/* audit.c - `rampart audit list`. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "lib/cleanup.h"

static void usage(FILE *f)
{
        fprintf(f,
                "usage: rampart audit list [--limit N] [--cursor C] [--all] [--tenant TENANT_ID]\n"
                "                          [--output table|json]\n\n"
                "The audit log: one record per state-changing API call (who, what, when,\n"
                "result). Tenant admins see their tenant's; the platform operator sees all,\n"
                "or one tenant's with --tenant.\n");
}

static const struct cli_column cols[] = {
        {"ID", "id"},         {"AT", "at"},         {"ACTOR", "actor"},   {"ACTION", "action"},
        {"TARGET", "target"}, {"STATUS", "status"}, {"DETAIL", "detail"},
};

int cli_audit(int argc, char **argv)
{
        static const struct option lo[] = {
                {"output", required_argument, NULL, 'o'}, {"limit", required_argument, NULL, 'l'},
                {"cursor", required_argument, NULL, 'c'}, {"all", no_argument, NULL, 'a'},
                {"tenant", required_argument, NULL, 't'}, {"help", no_argument, NULL, 'h'},
                {0},
        };
        if (argc < 2) {
                usage(stderr);
                return CLI_EXIT_USAGE;
        }
        if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
                usage(stdout);
                return CLI_EXIT_OK;
        }
        if (strcmp(argv[1], "list")) {
                cli_errorf(CLI_EXIT_USAGE, "unknown audit command '%s'", argv[1]);
                usage(stderr);
                return CLI_EXIT_USAGE;
        }
        argc--;
        argv++;
        enum cli_output out = CLI_OUT_TABLE;
        const char *limit = NULL, *cursor = NULL, *tenant = NULL;
        bool all = false;
        int c;
        optind = 1;
        while ((c = getopt_long(argc, argv, "ho:", lo, NULL)) != -1) {
                switch (c) {
                case 'o':
                        if (cli_output_parse(optarg, &out) != CLI_EXIT_OK)
                                return CLI_EXIT_USAGE;
                        break;
                case 'l': limit = optarg; break;
                case 'c': cursor = optarg; break;
                case 'a': all = true; break;
                case 't': tenant = optarg; break;
                case 'h': usage(stdout); return CLI_EXIT_OK;
                default: usage(stderr); return CLI_EXIT_USAGE;
                }
        }
        if (optind != argc)
                return cli_errorf(CLI_EXIT_USAGE, "'audit list' takes no arguments");
        const char *kv[] = {"tenant", tenant};
        return cli_list("/api/v1/audit", kv, 2, limit, cursor, all, out, cols, ARRAY_SIZE(cols));
}

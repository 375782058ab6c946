/* audit.c - `rampart audit list`. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/command.h"
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

static int audit_list(int argc, char **argv)
{
        struct cli_opts o = {0};
        const char *tenant = NULL;
        const struct cli_opt own[] = {{"tenant", 0, &tenant}};
        int rc = cli_parse(argc, argv, "audit", own, ARRAY_SIZE(own), CLI_OPT_PAGE, &o, usage);
        if (rc)
                return rc < 0 ? CLI_EXIT_OK : rc;
        if (optind != argc)
                return cli_errorf(CLI_EXIT_USAGE, "'audit list' takes no arguments");
        const char *kv[] = {"tenant", tenant};
        return cli_list_opts("/api/v1/audit", kv, ARRAY_SIZE(kv), &o, cols, ARRAY_SIZE(cols));
}

int cli_audit(int argc, char **argv)
{
        static const struct cli_cmd cmds[] = {{"list", audit_list}};
        return cli_dispatch("audit", argc, argv, cmds, ARRAY_SIZE(cmds), usage);
}

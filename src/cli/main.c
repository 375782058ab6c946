/* main.c - `rampart`: dispatches to the command group named by argv[1]. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const struct cli_group groups[] = {
        {"keys", "create signing keys and manufacturer CAs", cli_keys},
        {"image", "pack, sign, verify, inspect and extract image packages", cli_image},
        {"repo", "offline update repository: root, targets, delegations, signing", cli_repo},
        {"login", "remember a rampart-server, an API token and the server's certificate", cli_login},
        {"tenant", "create, show and list tenants", cli_tenant},
        {"token", "create, list and revoke API tokens", cli_token},
        {"audit", "list the audit log", cli_audit},
        {"manufacturer", "trust manufacturer root CAs (platform operator)", cli_manufacturer},
        {"device", "register, claim, list, show, move, block and unblock devices", cli_device},
        {"product", "create, list, show and update products", cli_product},
        {"device-group", "create, list, show and update device groups and their policies",
         cli_device_group},
        {"ca", "list, download and rotate the tenant CA", cli_ca},
        {"failures", "failure buckets, sample backtraces and the per-event export", cli_failures},
        {"dev", "development builds on a device: sideload, apps, logs (development capability)", cli_dev},
        {"deployment", "create, list and show deployments and per-device update status",
         cli_deployment},
};

int cli_fail(const struct rp_err *err)
{
        fprintf(stderr, "rampart: %s\n", err && err->msg[0] ? err->msg : "operation failed");
        return CLI_EXIT_FAIL;
}

int cli_errorf(int code, const char *fmt, ...)
{
        va_list ap;
        fputs("rampart: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        return code;
}

int cli_wants_help(int argc, char **argv)
{
        for (int i = 1; i < argc; i++) {
                if (!strcmp(argv[i], "--"))
                        return 0;
                if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
                        return 1;
        }
        return 0;
}

static void usage(FILE *f)
{
        fprintf(f, "usage: rampart <command> [args...]\n\n"
                   "Operator and developer tool for the Rampart secure IoT platform.\n\n"
                   "commands:\n");
        for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
                fprintf(f, "  %-14s %s\n", groups[i].name, groups[i].summary);
        fprintf(f, "\nRun 'rampart <command> --help' for a command's options.\n");
}

int main(int argc, char **argv)
{
        if (argc < 2) {
                usage(stderr);
                return CLI_EXIT_USAGE;
        }
        if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
                usage(stdout);
                return CLI_EXIT_OK;
        }
        for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
                if (!strcmp(argv[1], groups[i].name))
                        return groups[i].run(argc - 1, argv + 1);
        fprintf(stderr, "rampart: unknown command '%s'\n", argv[1]);
        usage(stderr);
        return CLI_EXIT_USAGE;
}

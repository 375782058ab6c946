/* tenant.c - `rampart tenant create|show|list`. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/command.h"
#include "lib/cleanup.h"

static const struct cli_column tenant_cols[] = {
        {"ID", "id"}, {"NAME", "name"}, {"CREATED", "created_at"},
};

static void usage(FILE *f)
{
        fprintf(f,
                "usage: rampart tenant create NAME [--output table|json]\n"
                "       rampart tenant show [TENANT_ID] [--output table|json]\n"
                "       rampart tenant list [--limit N] [--cursor C] [--all] [--output table|json]\n\n"
                "Tenants are created and listed by the platform operator. Creating one also\n"
                "creates its certificate authority and a first admin token, shown once.\n"
                "'show' without an id shows the tenant of the logged-in token.\n");
}

static int create(int argc, char **argv)
{
        struct cli_opts o = {0};
        int rc = cli_parse(argc, argv, "tenant", NULL, 0, 0, &o, usage);
        if (rc)
                return rc < 0 ? CLI_EXIT_OK : rc;
        if (optind + 1 != argc) {
                usage(stderr);
                return CLI_EXIT_USAGE;
        }
        json_t *body = json_pack("{s:s}", "name", argv[optind]);
        json_t *j = NULL;
        rc = cli_api("POST", "/api/v1/tenants", body, &j);
        json_decref(body);
        if (rc)
                return rc;
        if (o.out == CLI_OUT_JSON) {
                cli_print_json(stdout, j);
        } else {
                static const struct cli_column cols[] = {
                        {"tenant", "tenant.id"},           {"name", "tenant.name"},
                        {"CA", "tenant.ca.id"},            {"CA valid until", "tenant.ca.not_after"},
                        {"admin token id", "admin_token.id"}, {"admin token", "admin_token.token"},
                };
                cli_print_object(stdout, j, cols, ARRAY_SIZE(cols));
                fprintf(stderr, "The admin token is shown only once: store it now.\n");
        }
        json_decref(j);
        return CLI_EXIT_OK;
}

static int show(int argc, char **argv)
{
        struct cli_opts o = {0};
        int rc = cli_parse(argc, argv, "tenant", NULL, 0, 0, &o, usage);
        if (rc)
                return rc < 0 ? CLI_EXIT_OK : rc;
        if (argc - optind > 1) {
                usage(stderr);
                return CLI_EXIT_USAGE;
        }
        json_t *j = NULL;
        rc = optind < argc ? cli_api_id("GET", "/api/v1/tenants", argv[optind], NULL, NULL, &j)
                           : cli_api("GET", "/api/v1/tenant", NULL, &j);
        if (rc)
                return rc;
        return cli_print_reply(j, o.out, tenant_cols, ARRAY_SIZE(tenant_cols));
}

static int list(int argc, char **argv)
{
        struct cli_opts o = {0};
        int rc = cli_parse(argc, argv, "tenant", NULL, 0, CLI_OPT_PAGE, &o, usage);
        if (rc)
                return rc < 0 ? CLI_EXIT_OK : rc;
        if (optind != argc) {
                usage(stderr);
                return CLI_EXIT_USAGE;
        }
        return cli_list_opts("/api/v1/tenants", NULL, 0, &o, tenant_cols, ARRAY_SIZE(tenant_cols));
}

int cli_tenant(int argc, char **argv)
{
        static const struct cli_cmd cmds[] = {
                {"create", create}, {"show", show}, {"list", list},
        };
        return cli_dispatch("tenant", argc, argv, cmds, ARRAY_SIZE(cmds), usage);
}

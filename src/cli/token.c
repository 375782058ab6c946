/* token.c - `rampart token create|list|revoke`. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/command.h"
#include "lib/cleanup.h"

static const struct cli_column token_cols[] = {
        {"ID", "id"},           {"NAME", "name"},          {"ROLE", "role"},
        {"STATE", "state"},     {"CREATED", "created_at"}, {"EXPIRES", "expires_at"},
};

static void usage(FILE *f)
{
        fprintf(f,
                "usage: rampart token create --role admin|contributor|reader [--name NAME]\n"
                "                            [--expires-in-days N | --expires-at RFC3339]\n"
                "                            [--tenant TENANT_ID] [--output table|json]\n"
                "       rampart token list [--limit N] [--cursor C] [--all] [--output table|json]\n"
                "       rampart token revoke TOKEN_ID [--output table|json]\n\n"
                "API tokens of the logged-in token's tenant (an admin token is needed).\n"
                "A new token is printed once; only its hash is stored. --tenant (platform\n"
                "operator only) creates the token in that tenant.\n");
}

enum { O_CREATE = 1 };

struct opts {
        struct cli_opts com;
        const char *role, *name, *days, *at, *tenant;
};

static int parse(int argc, char **argv, unsigned allowed, struct opts *o)
{
        const struct cli_opt own[] = {
                {"role", O_CREATE, &o->role},
                {"name", O_CREATE, &o->name},
                {"expires-in-days", O_CREATE, &o->days},
                {"expires-at", O_CREATE, &o->at},
                {"tenant", O_CREATE, &o->tenant},
        };
        return cli_parse(argc, argv, "token", own, ARRAY_SIZE(own), allowed, &o->com, usage);
}

static int token_list(int argc, char **argv)
{
        struct opts o = {0};
        int rc = parse(argc, argv, CLI_OPT_PAGE, &o);
        if (rc)
                return rc < 0 ? CLI_EXIT_OK : rc;
        if (optind != argc)
                return cli_errorf(CLI_EXIT_USAGE, "'token list' takes no arguments");
        return cli_list_opts("/api/v1/tokens", NULL, 0, &o.com, token_cols, ARRAY_SIZE(token_cols));
}

static int token_create(int argc, char **argv)
{
        struct opts o = {0};
        int rc = parse(argc, argv, O_CREATE, &o);
        if (rc)
                return rc < 0 ? CLI_EXIT_OK : rc;
        if (optind != argc || !o.role)
                return cli_errorf(CLI_EXIT_USAGE, "'token create' needs --role and no arguments");
        if (o.days && o.at)
                return cli_errorf(CLI_EXIT_USAGE,
                                  "give --expires-in-days or --expires-at, not both");
        json_t *body = json_pack("{s:s}", "role", o.role), *j = NULL;
        if (o.name)
                json_object_set_new(body, "name", json_string(o.name));
        if (o.at)
                json_object_set_new(body, "expires_at", json_string(o.at));
        if (o.days) {
                char *end = NULL;
                long long d = strtoll(o.days, &end, 10);
                if (!*o.days || *end) {
                        json_decref(body);
                        return cli_errorf(CLI_EXIT_USAGE,
                                          "--expires-in-days must be a number (got '%s')",
                                          o.days);
                }
                json_object_set_new(body, "expires_in_days", json_integer(d));
        }
        rc = o.tenant ? cli_api_id("POST", "/api/v1/tenants", o.tenant, "/tokens", body, &j)
                      : cli_api("POST", "/api/v1/tokens", body, &j);
        json_decref(body);
        if (rc)
                return rc;
        if (o.com.out == CLI_OUT_JSON)
                return cli_print_reply(j, o.com.out, NULL, 0);
        static const struct cli_column tc[] = {{"TOKEN", "token"}};
        cli_print_object(stdout, j, token_cols, ARRAY_SIZE(token_cols));
        cli_print_object(stdout, j, tc, 1);
        fprintf(stderr, "The token is shown only once: store it now.\n");
        json_decref(j);
        return CLI_EXIT_OK;
}

static int token_revoke(int argc, char **argv)
{
        struct opts o = {0};
        json_t *j = NULL;
        int rc = parse(argc, argv, 0, &o);
        if (rc)
                return rc < 0 ? CLI_EXIT_OK : rc;
        if (optind + 1 != argc)
                return cli_errorf(CLI_EXIT_USAGE, "'token revoke' takes one TOKEN_ID");
        if ((rc = cli_api_id("DELETE", "/api/v1/tokens", argv[optind], NULL, NULL, &j)))
                return rc;
        return cli_print_reply(j, o.com.out, token_cols, ARRAY_SIZE(token_cols));
}

int cli_token(int argc, char **argv)
{
        static const struct cli_cmd cmds[] = {
                {"create", token_create}, {"list", token_list}, {"revoke", token_revoke},
        };
        return cli_dispatch("token", argc, argv, cmds, ARRAY_SIZE(cmds), usage);
}

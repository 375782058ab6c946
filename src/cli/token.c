/* token.c - `rampart token create|list|revoke`. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/client.h"
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

int cli_token(int argc, char **argv)
{
        static const struct option lo[] = {
                {"output", required_argument, NULL, 'o'},   {"limit", required_argument, NULL, 'l'},
                {"cursor", required_argument, NULL, 'c'},   {"all", no_argument, NULL, 'a'},
                {"role", required_argument, NULL, 'r'},     {"name", required_argument, NULL, 'n'},
                {"expires-in-days", required_argument, NULL, 'd'},
                {"expires-at", required_argument, NULL, 'e'},
                {"tenant", required_argument, NULL, 't'},   {"help", no_argument, NULL, 'h'},
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
        const char *cmd = argv[1];
        if (strcmp(cmd, "create") && strcmp(cmd, "list") && strcmp(cmd, "revoke")) {
                cli_errorf(CLI_EXIT_USAGE, "unknown token command '%s'", cmd);
                usage(stderr);
                return CLI_EXIT_USAGE;
        }
        enum cli_output out = CLI_OUT_TABLE;
        const char *limit = NULL, *cursor = NULL, *role = NULL, *name = NULL, *days = NULL,
                   *at = NULL, *tenant = NULL;
        bool all = false;
        int c;
        argc--;
        argv++;
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
                case 'r': role = optarg; break;
                case 'n': name = optarg; break;
                case 'd': days = optarg; break;
                case 'e': at = optarg; break;
                case 't': tenant = optarg; break;
                case 'h': usage(stdout); return CLI_EXIT_OK;
                default: usage(stderr); return CLI_EXIT_USAGE;
                }
        }
        bool is_create = !strcmp(cmd, "create"), is_list = !strcmp(cmd, "list");
        if ((!is_create && (role || name || days || at || tenant)) ||
            (!is_list && (limit || cursor || all)))
                return cli_errorf(CLI_EXIT_USAGE, "option not valid for 'token %s' (see --help)", cmd);

        if (is_list) {
                if (optind != argc)
                        return cli_errorf(CLI_EXIT_USAGE, "'token list' takes no arguments");
                return cli_list("/api/v1/tokens", NULL, 0, limit, cursor, all, out, token_cols,
                                ARRAY_SIZE(token_cols));
        }
        json_t *j = NULL;
        int rc;
        if (is_create) {
                if (optind != argc || !role)
                        return cli_errorf(CLI_EXIT_USAGE, "'token create' needs --role and no arguments");
                if (days && at)
                        return cli_errorf(CLI_EXIT_USAGE, "give --expires-in-days or --expires-at, not both");
                json_t *body = json_pack("{s:s}", "role", role);
                if (name)
                        json_object_set_new(body, "name", json_string(name));
                if (at)
                        json_object_set_new(body, "expires_at", json_string(at));
                if (days) {
                        char *end = NULL;
                        long long d = strtoll(days, &end, 10);
                        if (!*days || *end) {
                                json_decref(body);
                                return cli_errorf(CLI_EXIT_USAGE, "--expires-in-days must be a number (got '%s')", days);
                        }
                        json_object_set_new(body, "expires_in_days", json_integer(d));
                }
                _cleanup_free_ char *path = tenant ? cli_path_id("/api/v1/tenants", tenant, "/tokens")
                                                   : strdup("/api/v1/tokens");
                if (!path) {
                        json_decref(body);
                        return cli_errorf(CLI_EXIT_FAIL, "out of memory");
                }
                rc = cli_api("POST", path, body, &j);
                json_decref(body);
        } else {
                if (optind + 1 != argc)
                        return cli_errorf(CLI_EXIT_USAGE, "'token revoke' takes one TOKEN_ID");
                _cleanup_free_ char *path = cli_path_id("/api/v1/tokens", argv[optind], NULL);
                if (!path)
                        return cli_errorf(CLI_EXIT_FAIL, "out of memory");
                rc = cli_api("DELETE", path, NULL, &j);
        }
        if (rc)
                return rc;
        if (out == CLI_OUT_JSON) {
                cli_print_json(stdout, j);
        } else {
                cli_print_object(stdout, j, token_cols, ARRAY_SIZE(token_cols));
                if (is_create) {
                        static const struct cli_column tc[] = {{"TOKEN", "token"}};
                        cli_print_object(stdout, j, tc, 1);
                        fprintf(stderr, "The token is shown only once: store it now.\n");
                }
        }
        json_decref(j);
        return CLI_EXIT_OK;
}

/* tenant.c - `rampart tenant create|show|list`. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/client.h"
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

struct opts {
        enum cli_output out;
        const char *limit, *cursor;
        bool all;
};

/* Parses the common options; leaves positional arguments at argv[optind..]. */
static int parse(int argc, char **argv, struct opts *o, bool list)
{
        static const struct option lo[] = {
                {"output", required_argument, NULL, 'o'}, {"limit", required_argument, NULL, 'l'},
                {"cursor", required_argument, NULL, 'c'}, {"all", no_argument, NULL, 'a'},
                {"help", no_argument, NULL, 'h'}, {0},
        };
        int c;
        optind = 1;
        while ((c = getopt_long(argc, argv, "ho:", lo, NULL)) != -1) {
                switch (c) {
                case 'o':
                        if (cli_output_parse(optarg, &o->out) != CLI_EXIT_OK)
                                return CLI_EXIT_USAGE;
                        break;
                case 'l':
                case 'c':
                case 'a':
                        if (!list) {
                                usage(stderr);
                                return CLI_EXIT_USAGE;
                        }
                        if (c == 'l')
                                o->limit = optarg;
                        else if (c == 'c')
                                o->cursor = optarg;
                        else
                                o->all = true;
                        break;
                case 'h':
                        usage(stdout);
                        return -1;
                default:
                        usage(stderr);
                        return CLI_EXIT_USAGE;
                }
        }
        return CLI_EXIT_OK;
}

static int create(int argc, char **argv)
{
        struct opts o = {0};
        int rc = parse(argc, argv, &o, false);
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
        struct opts o = {0};
        int rc = parse(argc, argv, &o, false);
        if (rc)
                return rc < 0 ? CLI_EXIT_OK : rc;
        if (argc - optind > 1) {
                usage(stderr);
                return CLI_EXIT_USAGE;
        }
        _cleanup_free_ char *path = NULL;
        if (optind < argc) {
                if (!(path = cli_path_id("/api/v1/tenants", argv[optind], NULL)))
                        return cli_errorf(CLI_EXIT_FAIL, "out of memory");
        } else if (!(path = strdup("/api/v1/tenant"))) {
                return cli_errorf(CLI_EXIT_FAIL, "out of memory");
        }
        json_t *j = NULL;
        if ((rc = cli_api("GET", path, NULL, &j)))
                return rc;
        if (o.out == CLI_OUT_JSON)
                cli_print_json(stdout, j);
        else
                cli_print_object(stdout, j, tenant_cols, ARRAY_SIZE(tenant_cols));
        json_decref(j);
        return CLI_EXIT_OK;
}

static int list(int argc, char **argv)
{
        struct opts o = {0};
        int rc = parse(argc, argv, &o, true);
        if (rc)
                return rc < 0 ? CLI_EXIT_OK : rc;
        if (optind != argc) {
                usage(stderr);
                return CLI_EXIT_USAGE;
        }
        return cli_list("/api/v1/tenants", NULL, 0, o.limit, o.cursor, o.all, o.out, tenant_cols,
                        ARRAY_SIZE(tenant_cols));
}

int cli_tenant(int argc, char **argv)
{
        if (argc < 2) {
                usage(stderr);
                return CLI_EXIT_USAGE;
        }
        if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
                usage(stdout);
                return CLI_EXIT_OK;
        }
        if (!strcmp(argv[1], "create"))
                return create(argc - 1, argv + 1);
        if (!strcmp(argv[1], "show"))
                return show(argc - 1, argv + 1);
        if (!strcmp(argv[1], "list"))
                return list(argc - 1, argv + 1);
        cli_errorf(CLI_EXIT_USAGE, "unknown tenant command '%s'", argv[1]);
        usage(stderr);
        return CLI_EXIT_USAGE;
}

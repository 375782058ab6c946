/* product.c - `rampart product create|list|show|update`. Creating a
 * product also creates its default device groups (Development, Field
 * Test, Production). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "lib/cleanup.h"

static const struct cli_column product_cols[] = {
        {"ID", "id"}, {"NAME", "name"}, {"DESCRIPTION", "description"}, {"CREATED", "created_at"},
};
static const struct cli_column group_cols[] = {
        {"GROUP", "id"},         {"NAME", "name"},   {"UPDATE POLICY", "update_policy"},
        {"OS FEED", "os_feed"},  {"DEBUG", "debug_allowed"}, {"CRASH DUMPS", "crash_dumps_allowed"},
};

static void usage(FILE *f)
{
        fprintf(f,
                "usage: rampart product create NAME [--description TEXT] [--output table|json]\n"
                "       rampart product list [--limit N] [--cursor C] [--all] [--output table|json]\n"
                "       rampart product show PRODUCT_ID [--output table|json]\n"
                "       rampart product update PRODUCT_ID [--name NAME] [--description TEXT]\n"
                "                              [--output table|json]\n\n"
                "A product is a kind of device of your tenant. Creating one also creates its\n"
                "device groups Development, Field Test and Production.\n");
}

enum { O_NAME = 1, O_DESC = 2, O_PAGE = 4 };

struct opts {
        enum cli_output out;
        const char *name, *desc, *limit, *cursor;
        bool all;
};

static int parse(int argc, char **argv, unsigned allowed, struct opts *o)
{
        static const struct option lo[] = {
                {"output", required_argument, NULL, 'o'},     {"name", required_argument, NULL, 'n'},
                {"description", required_argument, NULL, 'd'}, {"limit", required_argument, NULL, 'l'},
                {"cursor", required_argument, NULL, 'c'},     {"all", no_argument, NULL, 'a'},
                {"help", no_argument, NULL, 'h'},             {0},
        };
        int c;
        optind = 1;
        while ((c = getopt_long(argc, argv, "ho:", lo, NULL)) != -1) {
                unsigned need = c == 'n' ? O_NAME : c == 'd' ? O_DESC
                              : (c == 'l' || c == 'c' || c == 'a') ? O_PAGE : 0;
                if (need && !(allowed & need)) {
                        cli_errorf(CLI_EXIT_USAGE, "product %s: option '%s' does not apply here",
                                   argv[0], argv[optind - 1]);
                        return CLI_EXIT_USAGE;
                }
                switch (c) {
                case 'o':
                        if (cli_output_parse(optarg, &o->out) != CLI_EXIT_OK)
                                return CLI_EXIT_USAGE;
                        break;
                case 'n': o->name = optarg; break;
                case 'd': o->desc = optarg; break;
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
        return CLI_EXIT_OK;
}

static int print_product(json_t *j, enum cli_output out)
{
        if (out == CLI_OUT_JSON) {
                cli_print_json(stdout, j);
        } else {
                cli_print_object(stdout, j, product_cols, ARRAY_SIZE(product_cols));
                json_t *g = json_object_get(j, "device_groups");
                if (g) {
                        printf("\n");
                        cli_print_table(stdout, g, group_cols, ARRAY_SIZE(group_cols));
                }
        }
        json_decref(j);
        return CLI_EXIT_OK;
}

static int one_id(int argc, char **argv, const char *what, const char **ret)
{
        if (argc - optind != 1) {
                cli_errorf(CLI_EXIT_USAGE, "product %s: exactly one %s is needed", argv[0], what);
                return CLI_EXIT_USAGE;
        }
        *ret = argv[optind];
        return CLI_EXIT_OK;
}

static int do_create(int argc, char **argv)
{
        struct opts o = {0};
        const char *name = NULL;
        int rc = parse(argc, argv, O_DESC, &o);
        if (rc)
                return rc < 0 ? CLI_EXIT_OK : rc;
        if ((rc = one_id(argc, argv, "NAME", &name)))
                return rc;
        json_t *body = json_pack("{s:s}", "name", name), *j = NULL;
        if (o.desc)
                json_object_set_new(body, "description", json_string(o.desc));
        rc = cli_api("POST", "/api/v1/products", body, &j);
        json_decref(body);
        return rc ? rc : print_product(j, o.out);
}

static int do_list(int argc, char **argv)
{
        struct opts o = {0};
        int rc = parse(argc, argv, O_PAGE, &o);
        if (rc)
                return rc < 0 ? CLI_EXIT_OK : rc;
        if (optind != argc)
                return cli_errorf(CLI_EXIT_USAGE, "product list: unexpected argument '%s'",
                                  argv[optind]);
        return cli_list("/api/v1/products", NULL, 0, o.limit, o.cursor, o.all, o.out, product_cols,
                        ARRAY_SIZE(product_cols));
}

static int do_show_update(int argc, char **argv, bool update)
{
        struct opts o = {0};
        const char *id = NULL;
        int rc = parse(argc, argv, update ? O_NAME | O_DESC : 0, &o);
        if (rc)
                return rc < 0 ? CLI_EXIT_OK : rc;
        if ((rc = one_id(argc, argv, "PRODUCT_ID", &id)))
                return rc;
        _cleanup_free_ char *path = cli_path_id("/api/v1/products", id, NULL);
        if (!path)
                return cli_errorf(CLI_EXIT_FAIL, "out of memory");
        json_t *j = NULL, *body = NULL;
        if (update) {
                if (!o.name && !o.desc)
                        return cli_errorf(CLI_EXIT_USAGE,
                                          "product update: give --name and/or --description");
                body = json_object();
                if (o.name)
                        json_object_set_new(body, "name", json_string(o.name));
                if (o.desc)
                        json_object_set_new(body, "description", json_string(o.desc));
        }
        rc = cli_api(update ? "PATCH" : "GET", path, body, &j);
        json_decref(body);
        return rc ? rc : print_product(j, o.out);
}

int cli_product(int argc, char **argv)
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
        if (!strcmp(cmd, "create"))
                return do_create(argc, argv);
        if (!strcmp(cmd, "list"))
                return do_list(argc, argv);
        if (!strcmp(cmd, "show"))
                return do_show_update(argc, argv, false);
        if (!strcmp(cmd, "update"))
                return do_show_update(argc, argv, true);
        cli_errorf(CLI_EXIT_USAGE, "unknown product command '%s'", cmd);
        usage(stderr);
        return CLI_EXIT_USAGE;
}

/* product.c - `rampart product create|list|show|update`. Creating a
 * product also creates its default device groups (Development, Field
 * Test, Production). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/command.h"
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

enum { O_NAME = 1, O_DESC = 2 };

struct opts {
        struct cli_opts com;
        const char *name, *desc;
};

static int parse(int argc, char **argv, unsigned allowed, struct opts *o)
{
        const struct cli_opt own[] = {
                {"name", O_NAME, &o->name}, {"description", O_DESC, &o->desc},
        };
        return cli_parse(argc, argv, "product", own, ARRAY_SIZE(own), allowed, &o->com, usage);
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

static int do_create(int argc, char **argv)
{
        struct opts o = {0};
        const char *name = NULL;
        int rc = parse(argc, argv, O_DESC, &o);
        if (rc)
                return rc < 0 ? CLI_EXIT_OK : rc;
        if ((rc = cli_one_arg(argc, argv, "product", "NAME", &name)))
                return rc;
        json_t *body = json_pack("{s:s}", "name", name), *j = NULL;
        if (o.desc)
                json_object_set_new(body, "description", json_string(o.desc));
        rc = cli_api("POST", "/api/v1/products", body, &j);
        json_decref(body);
        return rc ? rc : print_product(j, o.com.out);
}

static int do_list(int argc, char **argv)
{
        struct opts o = {0};
        int rc = parse(argc, argv, CLI_OPT_PAGE, &o);
        if (rc)
                return rc < 0 ? CLI_EXIT_OK : rc;
        if ((rc = cli_no_args(argc, argv, "product")))
                return rc;
        return cli_list_opts("/api/v1/products", NULL, 0, &o.com, product_cols,
                             ARRAY_SIZE(product_cols));
}

static int do_show_update(int argc, char **argv, bool update)
{
        struct opts o = {0};
        const char *id = NULL;
        int rc = parse(argc, argv, update ? O_NAME | O_DESC : 0, &o);
        if (rc)
                return rc < 0 ? CLI_EXIT_OK : rc;
        if ((rc = cli_one_arg(argc, argv, "product", "PRODUCT_ID", &id)))
                return rc;
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
        rc = cli_api_id(update ? "PATCH" : "GET", "/api/v1/products", id, NULL, body, &j);
        json_decref(body);
        return rc ? rc : print_product(j, o.com.out);
}

static int do_show(int argc, char **argv)
{
        return do_show_update(argc, argv, false);
}

static int do_update(int argc, char **argv)
{
        return do_show_update(argc, argv, true);
}

int cli_product(int argc, char **argv)
{
        static const struct cli_cmd cmds[] = {
                {"create", do_create}, {"list", do_list}, {"show", do_show}, {"update", do_update},
        };
        return cli_dispatch("product", argc, argv, cmds, ARRAY_SIZE(cmds), usage);
}

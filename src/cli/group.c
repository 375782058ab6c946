/* group.c - `rampart device-group create|list|show|update`: the policy
 * unit of a product (update policy, OS feed, debug and crash dumps). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/command.h"
#include "lib/cleanup.h"

static const struct cli_column group_cols[] = {
        {"ID", "id"},                  {"PRODUCT", "product_id"},  {"NAME", "name"},
        {"UPDATE POLICY", "update_policy"}, {"OS FEED", "os_feed"}, {"DEBUG", "debug_allowed"},
        {"CRASH DUMPS", "crash_dumps_allowed"},
};
static const struct cli_column group_show_cols[] = {
        {"id", "id"},
        {"product", "product_id"},
        {"name", "name"},
        {"description", "description"},
        {"update policy", "update_policy"},
        {"OS feed", "os_feed"},
        {"debug allowed", "debug_allowed"},
        {"crash dumps allowed", "crash_dumps_allowed"},
        {"created", "created_at"},
        {"updated", "updated_at"},
};

static void usage(FILE *f)
{
        fprintf(f,
                "usage: rampart device-group create --product PRODUCT_ID --name NAME [POLICY...]\n"
                "       rampart device-group list [--product PRODUCT_ID] [--limit N] [--cursor C]\n"
                "                                 [--all]\n"
                "       rampart device-group show GROUP_ID\n"
                "       rampart device-group update GROUP_ID [--name NAME] [POLICY...]\n"
                "every command also takes --output table|json\n\n"
                "POLICY options:\n"
                "  --description TEXT\n"
                "  --update-policy update-all|no-app-updates|no-updates   (default update-all)\n"
                "  --os-feed retail|retail-eval                           (default retail)\n"
                "  --debug-allowed yes|no       accept debug-enabled devices (default no)\n"
                "  --crash-dumps yes|no         collect crash dumps (default no)\n");
}

enum { O_PRODUCT = 1, O_NAME = 2, O_POLICY = 4 };

struct opts {
        struct cli_opts com;
        const char *product, *name, *desc, *policy, *feed, *debug, *dumps;
};

static int parse(int argc, char **argv, unsigned allowed, struct opts *o)
{
        const struct cli_opt own[] = {
                {"product", O_PRODUCT, &o->product},     {"name", O_NAME, &o->name},
                {"description", O_POLICY, &o->desc},     {"update-policy", O_POLICY, &o->policy},
                {"os-feed", O_POLICY, &o->feed},         {"debug-allowed", O_POLICY, &o->debug},
                {"crash-dumps", O_POLICY, &o->dumps},
        };
        return cli_parse(argc, argv, "device-group", own, ARRAY_SIZE(own), allowed, &o->com,
                         usage);
}

static int yes_no(const char *opt, const char *v, json_t *body, const char *member)
{
        if (!v)
                return CLI_EXIT_OK;
        if (!strcmp(v, "yes") || !strcmp(v, "true"))
                json_object_set_new(body, member, json_true());
        else if (!strcmp(v, "no") || !strcmp(v, "false"))
                json_object_set_new(body, member, json_false());
        else
                return cli_errorf(CLI_EXIT_USAGE, "%s must be yes or no (got '%s')", opt, v);
        return CLI_EXIT_OK;
}

/* Body members from the policy options; the server validates the values. */
static int policy_body(const struct opts *o, json_t *body)
{
        if (o->name)
                json_object_set_new(body, "name", json_string(o->name));
        if (o->desc)
                json_object_set_new(body, "description", json_string(o->desc));
        if (o->policy)
                json_object_set_new(body, "update_policy", json_string(o->policy));
        if (o->feed)
                json_object_set_new(body, "os_feed", json_string(o->feed));
        int rc = yes_no("--debug-allowed", o->debug, body, "debug_allowed");
        return rc ? rc : yes_no("--crash-dumps", o->dumps, body, "crash_dumps_allowed");
}

static int print_group(json_t *j, enum cli_output out)
{
        return cli_print_reply(j, out, group_show_cols, ARRAY_SIZE(group_show_cols));
}

static int do_create(int argc, char **argv)
{
        struct opts o = {0};
        int rc = parse(argc, argv, O_PRODUCT | O_NAME | O_POLICY, &o);
        if (rc)
                return rc < 0 ? CLI_EXIT_OK : rc;
        if ((rc = cli_no_args(argc, argv, "device-group")))
                return rc;
        if (!o.product || !o.name)
                return cli_errorf(CLI_EXIT_USAGE,
                                  "device-group create: --product and --name are required");
        json_t *body = json_pack("{s:s}", "product", o.product), *j = NULL;
        if ((rc = policy_body(&o, body))) {
                json_decref(body);
                return rc;
        }
        rc = cli_api("POST", "/api/v1/device-groups", body, &j);
        json_decref(body);
        return rc ? rc : print_group(j, o.com.out);
}

static int do_list(int argc, char **argv)
{
        struct opts o = {0};
        int rc = parse(argc, argv, O_PRODUCT | CLI_OPT_PAGE, &o);
        if (rc)
                return rc < 0 ? CLI_EXIT_OK : rc;
        if ((rc = cli_no_args(argc, argv, "device-group")))
                return rc;
        const char *kv[] = {"product", o.product};
        return cli_list_opts("/api/v1/device-groups", kv, ARRAY_SIZE(kv), &o.com, group_cols,
                             ARRAY_SIZE(group_cols));
}

static int do_show_update(int argc, char **argv, bool update)
{
        struct opts o = {0};
        int rc = parse(argc, argv, update ? O_NAME | O_POLICY : 0, &o);
        if (rc)
                return rc < 0 ? CLI_EXIT_OK : rc;
        const char *id = NULL;
        if ((rc = cli_one_arg(argc, argv, "device-group", "GROUP_ID", &id)))
                return rc;
        json_t *body = NULL, *j = NULL;
        if (update) {
                body = json_object();
                if ((rc = policy_body(&o, body))) {
                        json_decref(body);
                        return rc;
                }
                if (json_object_size(body) == 0) {
                        json_decref(body);
                        return cli_errorf(CLI_EXIT_USAGE,
                                          "device-group update: nothing to change; see --help");
                }
        }
        rc = cli_api_id(update ? "PATCH" : "GET", "/api/v1/device-groups", id, NULL, body, &j);
        json_decref(body);
        return rc ? rc : print_group(j, o.com.out);
}

static int do_show(int argc, char **argv)
{
        return do_show_update(argc, argv, false);
}

static int do_update(int argc, char **argv)
{
        return do_show_update(argc, argv, true);
}

int cli_device_group(int argc, char **argv)
{
        static const struct cli_cmd cmds[] = {
                {"create", do_create}, {"list", do_list}, {"show", do_show}, {"update", do_update},
        };
        return cli_dispatch("device-group", argc, argv, cmds, ARRAY_SIZE(cmds), usage);
}

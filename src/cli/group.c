/* group.c - `rampart device-group create|list|show|update`: the policy
 * unit of a product (update policy, OS feed, debug and crash dumps). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/client.h"
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

enum { O_PRODUCT = 1, O_NAME = 2, O_POLICY = 4, O_PAGE = 8 };

struct opts {
        enum cli_output out;
        const char *product, *name, *desc, *policy, *feed, *debug, *dumps, *limit, *cursor;
        bool all;
};

static int parse(int argc, char **argv, unsigned allowed, struct opts *o)
{
        static const struct option lo[] = {
                {"output", required_argument, NULL, 'o'},
                {"product", required_argument, NULL, 'p'},
                {"name", required_argument, NULL, 'n'},
                {"description", required_argument, NULL, 'd'},
                {"update-policy", required_argument, NULL, 'u'},
                {"os-feed", required_argument, NULL, 'f'},
                {"debug-allowed", required_argument, NULL, 'D'},
                {"crash-dumps", required_argument, NULL, 'C'},
                {"limit", required_argument, NULL, 'l'},
                {"cursor", required_argument, NULL, 'c'},
                {"all", no_argument, NULL, 'a'},
                {"help", no_argument, NULL, 'h'},
                {0},
        };
        int c;
        optind = 1;
        while ((c = getopt_long(argc, argv, "ho:", lo, NULL)) != -1) {
                unsigned need = c == 'p' ? O_PRODUCT : c == 'n' ? O_NAME
                              : (c == 'd' || c == 'u' || c == 'f' || c == 'D' || c == 'C') ? O_POLICY
                              : (c == 'l' || c == 'c' || c == 'a') ? O_PAGE : 0;
                if (need && !(allowed & need)) {
                        cli_errorf(CLI_EXIT_USAGE, "device-group %s: option '%s' does not apply here",
                                   argv[0], argv[optind - 1]);
                        return CLI_EXIT_USAGE;
                }
                switch (c) {
                case 'o':
                        if (cli_output_parse(optarg, &o->out) != CLI_EXIT_OK)
                                return CLI_EXIT_USAGE;
                        break;
                case 'p': o->product = optarg; break;
                case 'n': o->name = optarg; break;
                case 'd': o->desc = optarg; break;
                case 'u': o->policy = optarg; break;
                case 'f': o->feed = optarg; break;
                case 'D': o->debug = optarg; break;
                case 'C': o->dumps = optarg; break;
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
        if (out == CLI_OUT_JSON)
                cli_print_json(stdout, j);
        else
                cli_print_object(stdout, j, group_show_cols, ARRAY_SIZE(group_show_cols));
        json_decref(j);
        return CLI_EXIT_OK;
}

static int do_create(int argc, char **argv)
{
        struct opts o = {0};
        int rc = parse(argc, argv, O_PRODUCT | O_NAME | O_POLICY, &o);
        if (rc)
                return rc < 0 ? CLI_EXIT_OK : rc;
        if (optind != argc)
                return cli_errorf(CLI_EXIT_USAGE, "device-group create: unexpected argument '%s'",
                                  argv[optind]);
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
        return rc ? rc : print_group(j, o.out);
}

static int do_list(int argc, char **argv)
{
        struct opts o = {0};
        int rc = parse(argc, argv, O_PRODUCT | O_PAGE, &o);
        if (rc)
                return rc < 0 ? CLI_EXIT_OK : rc;
        if (optind != argc)
                return cli_errorf(CLI_EXIT_USAGE, "device-group list: unexpected argument '%s'",
                                  argv[optind]);
        const char *kv[] = {"product", o.product};
        return cli_list("/api/v1/device-groups", kv, ARRAY_SIZE(kv), o.limit, o.cursor, o.all,
                        o.out, group_cols, ARRAY_SIZE(group_cols));
}

static int do_show_update(int argc, char **argv, bool update)
{
        struct opts o = {0};
        int rc = parse(argc, argv, update ? O_NAME | O_POLICY : 0, &o);
        if (rc)
                return rc < 0 ? CLI_EXIT_OK : rc;
        if (argc - optind != 1)
                return cli_errorf(CLI_EXIT_USAGE, "device-group %s: exactly one GROUP_ID is needed",
                                  argv[0]);
        _cleanup_free_ char *path = cli_path_id("/api/v1/device-groups", argv[optind], NULL);
        if (!path)
                return cli_errorf(CLI_EXIT_FAIL, "out of memory");
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
        rc = cli_api(update ? "PATCH" : "GET", path, body, &j);
        json_decref(body);
        return rc ? rc : print_group(j, o.out);
}

int cli_device_group(int argc, char **argv)
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
        cli_errorf(CLI_EXIT_USAGE, "unknown device-group command '%s'", cmd);
        usage(stderr);
        return CLI_EXIT_USAGE;
}

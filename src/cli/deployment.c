/* deployment.c - `rampart deployment create|list|show`: the images a device
 * group should run, and what each device of the group reported. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "lib/cleanup.h"

#define MAX_IMAGES 32

static const struct cli_column dep_cols[] = {
        {"ID", "id"}, {"GROUP", "group"}, {"CREATED", "created_at"},
};
static const struct cli_column dev_cols[] = {
        {"DEVICE", "ueid"}, {"STATUS", "status"}, {"REASON", "reason"},
};
static const struct cli_column img_cols[] = {
        {"IMAGE", "id"}, {"NAME", "name"}, {"TYPE", "type"}, {"VERSION", "version"},
        {"APPLIES", "applies"},
};

static void usage(FILE *f)
{
        fprintf(f,
                "usage: rampart deployment create --group GROUP_ID --image IMAGE_ID...\n"
                "                                 [--output table|json]\n"
                "       rampart deployment list [--group GROUP_ID] [--limit N] [--cursor C] [--all]\n"
                "                               [--output table|json]\n"
                "       rampart deployment show DEPLOYMENT_ID [--limit N] [--cursor C]\n"
                "                               [--output table|json]\n\n"
                "A deployment names the images (one per component, at most one OS image) a\n"
                "device group should run; the group's latest deployment is its current one.\n"
                "The group's update policy decides which of them its devices get. `show`\n"
                "lists each device's status: pending, downloading, installed, failed or\n"
                "reverted (with the reason the device reported), or excluded by policy.\n");
}

struct opts {
        enum cli_output out;
        const char *group, *limit, *cursor;
        const char *images[MAX_IMAGES];
        size_t n_images;
        bool all;
};

static int parse(int argc, char **argv, struct opts *o)
{
        static const struct option lo[] = {
                {"output", required_argument, NULL, 'o'}, {"group", required_argument, NULL, 'g'},
                {"image", required_argument, NULL, 'i'},  {"limit", required_argument, NULL, 'l'},
                {"cursor", required_argument, NULL, 'c'}, {"all", no_argument, NULL, 'a'},
                {"help", no_argument, NULL, 'h'},         {0},
        };
        int c;
        optind = 1;
        while ((c = getopt_long(argc, argv, "ho:", lo, NULL)) != -1) {
                switch (c) {
                case 'o':
                        if (cli_output_parse(optarg, &o->out) != CLI_EXIT_OK)
                                return CLI_EXIT_USAGE;
                        break;
                case 'g': o->group = optarg; break;
                case 'i':
                        if (o->n_images >= MAX_IMAGES)
                                return cli_errorf(CLI_EXIT_USAGE, "deployment: at most %d "
                                                  "--image options", MAX_IMAGES);
                        o->images[o->n_images++] = optarg;
                        /* further ids may follow without repeating --image */
                        while (optind < argc && argv[optind][0] != '-' &&
                               o->n_images < MAX_IMAGES)
                                o->images[o->n_images++] = argv[optind++];
                        break;
                case 'l': o->limit = optarg; break;
                case 'c': o->cursor = optarg; break;
                case 'a': o->all = true; break;
                case 'h': usage(stdout); return -1;
                default: return CLI_EXIT_USAGE;
                }
        }
        return CLI_EXIT_OK;
}

static int cmd_create(int argc, char **argv)
{
        struct opts o = {0};
        _cleanup_(json_decrefp) json_t *reply = NULL;
        int rc = parse(argc, argv, &o);
        if (rc)
                return rc < 0 ? CLI_EXIT_OK : rc;
        if (!o.group || !o.n_images || optind != argc)
                return cli_errorf(CLI_EXIT_USAGE, "usage: rampart deployment create --group "
                                  "GROUP_ID --image IMAGE_ID...");
        json_t *ids = json_array();
        for (size_t i = 0; i < o.n_images; i++)
                json_array_append_new(ids, json_string(o.images[i]));
        _cleanup_(json_decrefp) json_t *body = json_pack("{s:s,s:o}", "group", o.group, "images",
                                                          ids);
        rc = cli_api("POST", "/api/v1/deployments", body, &reply);
        if (rc != CLI_EXIT_OK)
                return rc;
        if (o.out == CLI_OUT_JSON)
                cli_print_json(stdout, reply);
        else
                cli_print_object(stdout, reply, dep_cols, ARRAY_SIZE(dep_cols));
        return CLI_EXIT_OK;
}

static int cmd_list(int argc, char **argv)
{
        struct opts o = {0};
        int rc = parse(argc, argv, &o);
        if (rc)
                return rc < 0 ? CLI_EXIT_OK : rc;
        if (optind != argc || o.n_images)
                return cli_errorf(CLI_EXIT_USAGE, "usage: rampart deployment list [--group "
                                  "GROUP_ID]");
        const char *kv[] = {"group", o.group};
        return cli_list("/api/v1/deployments", kv, 2, o.limit, o.cursor, o.all, o.out, dep_cols,
                        ARRAY_SIZE(dep_cols));
}

static int cmd_show(int argc, char **argv)
{
        struct opts o = {0};
        _cleanup_(json_decrefp) json_t *reply = NULL;
        int rc = parse(argc, argv, &o);
        if (rc)
                return rc < 0 ? CLI_EXIT_OK : rc;
        if (optind != argc - 1 || o.n_images || o.group)
                return cli_errorf(CLI_EXIT_USAGE, "usage: rampart deployment show DEPLOYMENT_ID");
        _cleanup_free_ char *base = cli_path_id("/api/v1/deployments", argv[optind], NULL);
        const char *kv[] = {"limit", o.limit, "cursor", o.cursor};
        _cleanup_free_ char *path = base ? cli_path_query(base, kv, 4) : NULL;
        if (!path)
                return cli_errorf(CLI_EXIT_FAIL, "out of memory");
        rc = cli_api("GET", path, NULL, &reply);
        if (rc != CLI_EXIT_OK)
                return rc;
        if (o.out == CLI_OUT_JSON) {
                cli_print_json(stdout, reply);
                return CLI_EXIT_OK;
        }
        static const struct cli_column head[] = {
                {"ID", "id"}, {"GROUP", "group"}, {"CURRENT", "current"},
                {"UPDATE POLICY", "update_policy"}, {"CREATED", "created_at"},
        };
        cli_print_object(stdout, reply, head, ARRAY_SIZE(head));
        printf("\n");
        cli_print_table(stdout, json_object_get(reply, "image_details"), img_cols,
                        ARRAY_SIZE(img_cols));
        printf("\n");
        cli_print_table(stdout, json_object_get(reply, "devices"), dev_cols, ARRAY_SIZE(dev_cols));
        json_t *next = json_object_get(reply, "next_cursor");
        if (json_is_string(next))
                fprintf(stderr, "more devices: --cursor %s\n", json_string_value(next));
        return CLI_EXIT_OK;
}

int cli_deployment(int argc, char **argv)
{
        if (argc < 2) {
                usage(stderr);
                return CLI_EXIT_USAGE;
        }
        if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
                usage(stdout);
                return CLI_EXIT_OK;
        }
        if (!strcmp(argv[1], "create"))
                return cmd_create(argc - 1, argv + 1);
        if (!strcmp(argv[1], "list"))
                return cmd_list(argc - 1, argv + 1);
        if (!strcmp(argv[1], "show"))
                return cmd_show(argc - 1, argv + 1);
        usage(stderr);
        return cli_errorf(CLI_EXIT_USAGE, "deployment: unknown command '%s'", argv[1]);
}

/* manufacturer.c - `rampart manufacturer add|list|show` (platform
 * operator): the manufacturer root CAs whose devices may be registered. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "crypto/crypto.h"
#include "lib/cleanup.h"
#include "lib/fileio.h"

static const struct cli_column mfr_cols[] = {
        {"ID", "id"}, {"NAME", "name"}, {"ROOT SUBJECT", "subject"}, {"NOT AFTER", "not_after"},
        {"ROOT SHA-256", "fingerprint"},
};

static void usage(FILE *f)
{
        fprintf(f,
                "usage: rampart manufacturer add --root ROOT.pem [--name NAME] [--output table|json]\n"
                "       rampart manufacturer list [--limit N] [--cursor C] [--all] [--output table|json]\n"
                "       rampart manufacturer show MANUFACTURER_ID [--output table|json]\n\n"
                "Platform operator only. 'add' trusts a manufacturer's root CA (as made by\n"
                "'rampart keys mfg-init'): registration records whose device CA chains to it\n"
                "can then be imported with 'rampart device register'. NAME defaults to the\n"
                "root's subject CN.\n");
}

struct opts {
        enum cli_output out;
        const char *root, *name, *limit, *cursor;
        bool all;
};

static int parse(int argc, char **argv, bool add, bool page, struct opts *o)
{
        static const struct option lo[] = {
                {"output", required_argument, NULL, 'o'}, {"root", required_argument, NULL, 'r'},
                {"name", required_argument, NULL, 'n'},   {"limit", required_argument, NULL, 'l'},
                {"cursor", required_argument, NULL, 'c'}, {"all", no_argument, NULL, 'a'},
                {"help", no_argument, NULL, 'h'},         {0},
        };
        int c;
        optind = 1;
        while ((c = getopt_long(argc, argv, "ho:", lo, NULL)) != -1) {
                if (((c == 'r' || c == 'n') && !add) ||
                    ((c == 'l' || c == 'c' || c == 'a') && !page)) {
                        cli_errorf(CLI_EXIT_USAGE, "manufacturer %s: option '%s' does not apply here",
                                   argv[0], argv[optind - 1]);
                        return CLI_EXIT_USAGE;
                }
                switch (c) {
                case 'o':
                        if (cli_output_parse(optarg, &o->out) != CLI_EXIT_OK)
                                return CLI_EXIT_USAGE;
                        break;
                case 'r': o->root = optarg; break;
                case 'n': o->name = optarg; break;
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

static int print_mfr(json_t *j, enum cli_output out)
{
        if (out == CLI_OUT_JSON)
                cli_print_json(stdout, j);
        else
                cli_print_object(stdout, j, mfr_cols, ARRAY_SIZE(mfr_cols));
        json_decref(j);
        return CLI_EXIT_OK;
}

static int do_add(int argc, char **argv)
{
        struct opts o = {0};
        int rc = parse(argc, argv, true, false, &o);
        if (rc)
                return rc < 0 ? CLI_EXIT_OK : rc;
        if (optind != argc || !o.root)
                return cli_errorf(CLI_EXIT_USAGE, "manufacturer add: --root ROOT.pem is required "
                                  "(and takes no other arguments)");
        _cleanup_free_ uint8_t *pem = NULL;
        size_t len = 0;
        struct rp_err err = {0};
        if (rp_read_file(o.root, CR_MAX_PEM, &pem, &len, &err) < 0)
                return cli_fail(&err);
        json_t *s = json_stringn((const char *)pem, len), *j = NULL;
        if (!s)
                return cli_errorf(CLI_EXIT_FAIL, "'%s' is not a PEM text file", o.root);
        json_t *body = json_pack("{s:o}", "root_pem", s);
        if (o.name)
                json_object_set_new(body, "name", json_string(o.name));
        rc = cli_api("POST", "/api/v1/manufacturers", body, &j);
        json_decref(body);
        return rc ? rc : print_mfr(j, o.out);
}

static int do_list(int argc, char **argv)
{
        struct opts o = {0};
        int rc = parse(argc, argv, false, true, &o);
        if (rc)
                return rc < 0 ? CLI_EXIT_OK : rc;
        if (optind != argc)
                return cli_errorf(CLI_EXIT_USAGE, "manufacturer list: unexpected argument '%s'",
                                  argv[optind]);
        return cli_list("/api/v1/manufacturers", NULL, 0, o.limit, o.cursor, o.all, o.out, mfr_cols,
                        ARRAY_SIZE(mfr_cols));
}

static int do_show(int argc, char **argv)
{
        struct opts o = {0};
        int rc = parse(argc, argv, false, false, &o);
        if (rc)
                return rc < 0 ? CLI_EXIT_OK : rc;
        if (argc - optind != 1)
                return cli_errorf(CLI_EXIT_USAGE,
                                  "manufacturer show: exactly one MANUFACTURER_ID is needed");
        _cleanup_free_ char *path = cli_path_id("/api/v1/manufacturers", argv[optind], NULL);
        json_t *j = NULL;
        if (!path)
                return cli_errorf(CLI_EXIT_FAIL, "out of memory");
        rc = cli_api("GET", path, NULL, &j);
        return rc ? rc : print_mfr(j, o.out);
}

int cli_manufacturer(int argc, char **argv)
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
        if (!strcmp(cmd, "add"))
                return do_add(argc, argv);
        if (!strcmp(cmd, "list"))
                return do_list(argc, argv);
        if (!strcmp(cmd, "show"))
                return do_show(argc, argv);
        cli_errorf(CLI_EXIT_USAGE, "unknown manufacturer command '%s'", cmd);
        usage(stderr);
        return CLI_EXIT_USAGE;
}

/* manufacturer.c - `rampart manufacturer add|list|show` (platform
 * operator): the manufacturer root CAs whose devices may be registered. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/command.h"
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

enum { O_ADD = 1 };

struct opts {
        struct cli_opts com;
        const char *root, *name;
};

static int parse(int argc, char **argv, unsigned allowed, struct opts *o)
{
        const struct cli_opt own[] = {
                {"root", O_ADD, &o->root}, {"name", O_ADD, &o->name},
        };
        return cli_parse(argc, argv, "manufacturer", own, ARRAY_SIZE(own), allowed, &o->com,
                         usage);
}

static int print_mfr(json_t *j, enum cli_output out)
{
        return cli_print_reply(j, out, mfr_cols, ARRAY_SIZE(mfr_cols));
}

static int do_add(int argc, char **argv)
{
        struct opts o = {0};
        int rc = parse(argc, argv, O_ADD, &o);
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
        return rc ? rc : print_mfr(j, o.com.out);
}

static int do_list(int argc, char **argv)
{
        struct opts o = {0};
        int rc = parse(argc, argv, CLI_OPT_PAGE, &o);
        if (rc)
                return rc < 0 ? CLI_EXIT_OK : rc;
        if ((rc = cli_no_args(argc, argv, "manufacturer")))
                return rc;
        return cli_list_opts("/api/v1/manufacturers", NULL, 0, &o.com, mfr_cols,
                             ARRAY_SIZE(mfr_cols));
}

static int do_show(int argc, char **argv)
{
        struct opts o = {0};
        int rc = parse(argc, argv, 0, &o);
        if (rc)
                return rc < 0 ? CLI_EXIT_OK : rc;
        const char *id = NULL;
        json_t *j = NULL;
        if ((rc = cli_one_arg(argc, argv, "manufacturer", "MANUFACTURER_ID", &id)))
                return rc;
        rc = cli_api_id("GET", "/api/v1/manufacturers", id, NULL, NULL, &j);
        return rc ? rc : print_mfr(j, o.com.out);
}

int cli_manufacturer(int argc, char **argv)
{
        static const struct cli_cmd cmds[] = {
                {"add", do_add}, {"list", do_list}, {"show", do_show},
        };
        return cli_dispatch("manufacturer", argc, argv, cmds, ARRAY_SIZE(cmds), usage);
}

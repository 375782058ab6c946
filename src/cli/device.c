/* device.c - `rampart device register|claim|list|show|move|block|unblock`.
 *
 * register is the platform operator's import of registration records (the
 * JSON lines `rampart-device provision` writes); the others work on the
 * devices of the logged-in token's tenant. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/command.h"
#include "lib/cleanup.h"
#include "lib/fileio.h"

#define CLI_RECORDS_MAX (8 * 1024 * 1024)

static const struct cli_column device_cols[] = {
        {"UEID", "ueid"},           {"STATE", "state"},       {"GROUP", "group_id"},
        {"PRODUCT", "product_id"},  {"DEBUG", "debug"},       {"CLAIMED", "claimed_at"},
        {"LAST ATTESTED", "last_attestation_at"},
};
static const struct cli_column device_show_cols[] = {
        {"ueid", "ueid"},
        {"state", "state"},
        {"block reason", "block_reason"},
        {"group", "group_id"},
        {"product", "product_id"},
        {"manufacturer", "manufacturer_id"},
        {"debug (registered)", "debug"},
        {"claimed", "claimed_at"},
        {"updated", "updated_at"},
        {"last attestation", "last_attestation_at"},
        {"last reason code", "last_reason_code"},
        {"OS version", "os_version"},
        {"certificate expires", "cert_expires_at"},
};

static void usage(FILE *f)
{
        fprintf(f,
                "usage: rampart device register --records FILE [--output table|json]\n"
                "       rampart device claim UEID --group GROUP_ID [--output table|json]\n"
                "       rampart device list [--group GROUP_ID] [--product PRODUCT_ID]\n"
                "                           [--state active|blocked] [--limit N] [--cursor C] [--all]\n"
                "                           [--output table|json]\n"
                "       rampart device show UEID [--output table|json]\n"
                "       rampart device move UEID --group GROUP_ID [--output table|json]\n"
                "       rampart device block UEID [--reason TEXT] [--output table|json]\n"
                "       rampart device unblock UEID [--output table|json]\n\n"
                "register (platform operator) imports the registration records written by\n"
                "'rampart-device provision' into the manufacturer registry; every record is\n"
                "verified and the import is all or nothing.\n"
                "claim takes a registered device into your tenant, once and for good; a\n"
                "device can never move to another tenant. move changes its device group\n"
                "within the tenant; block stops it from attesting until unblocked.\n");
}

enum { O_RECORDS = 1, O_GROUP = 2, O_PRODUCT = 4, O_STATE = 8, O_REASON = 16 };

struct opts {
        struct cli_opts com;
        const char *records, *group, *product, *state, *reason;
};

/* Parses the options `allowed` for a subcommand; -1 after --help. */
static int parse(int argc, char **argv, unsigned allowed, struct opts *o)
{
        const struct cli_opt own[] = {
                {"records", O_RECORDS, &o->records}, {"group", O_GROUP, &o->group},
                {"product", O_PRODUCT, &o->product}, {"state", O_STATE, &o->state},
                {"reason", O_REASON, &o->reason},
        };
        return cli_parse(argc, argv, "device", own, ARRAY_SIZE(own), allowed, &o->com, usage);
}

/* parse() and then the one UEID argument the subcommand works on. */
static int parse_ueid(int argc, char **argv, unsigned allowed, struct opts *o, const char **ret)
{
        int rc = parse(argc, argv, allowed, o);
        return rc ? rc : cli_one_arg(argc, argv, "device", "UEID", ret);
}

static int print_device(json_t *j, enum cli_output out)
{
        return cli_print_reply(j, out, device_show_cols, ARRAY_SIZE(device_show_cols));
}

static int do_register(int argc, char **argv)
{
        struct opts o = {0};
        int rc = parse(argc, argv, O_RECORDS, &o);
        if (rc)
                return rc < 0 ? CLI_EXIT_OK : rc;
        if (optind != argc || !o.records)
                return cli_errorf(CLI_EXIT_USAGE, "device register: --records FILE is required "
                                  "(and takes no other arguments)");
        _cleanup_free_ uint8_t *text = NULL;
        size_t len = 0;
        struct rp_err err = {0};
        if (rp_read_file(o.records, CLI_RECORDS_MAX, &text, &len, &err) < 0)
                return cli_fail(&err);
        json_t *s = json_stringn((const char *)text, len);
        if (!s)
                return cli_errorf(CLI_EXIT_FAIL, "records file '%s' is not UTF-8 text", o.records);
        json_t *body = json_pack("{s:o}", "records", s);

        struct cli_config c = {0};
        if (cli_config_load(&c, &err) < 0) {
                json_decref(body);
                return cli_errorf(CLI_EXIT_FAIL, "%s", err.msg);
        }
        long status = 0;
        json_t *j = NULL;
        int r = cli_http(&c, "POST", "/api/v1/registry/import", body, &status, &j, &err);
        cli_config_free(&c);
        json_decref(body);
        if (r < 0)
                return cli_errorf(CLI_EXIT_UNREACHABLE, "%s", err.msg);
        if (status < 200 || status > 299) {
                json_t *e = json_object_get(j, "error"), *d;
                const char *code = json_string_value(json_object_get(e, "code"));
                const char *msg = json_string_value(json_object_get(e, "message"));
                cli_errorf(CLI_EXIT_FAIL, "%ld %s: %s", status, code ? code : "error",
                           msg ? msg : "the server refused the records");
                size_t i;
                json_array_foreach(json_object_get(e, "details"), i, d) {
                        const char *field = json_string_value(json_object_get(d, "field"));
                        fprintf(stderr, "  %s:%lld%s%s: %s\n", o.records,
                                (long long)json_integer_value(json_object_get(d, "line")),
                                field ? ": " : "", field ? field : "",
                                json_string_value(json_object_get(d, "message")));
                }
                json_decref(j);
                return CLI_EXIT_FAIL;
        }
        if (o.com.out == CLI_OUT_JSON) {
                cli_print_json(stdout, j);
        } else {
                printf("%lld record(s): %lld added, %lld already registered\n",
                       (long long)json_integer_value(json_object_get(j, "records")),
                       (long long)json_integer_value(json_object_get(j, "added")),
                       (long long)json_integer_value(json_object_get(j, "unchanged")));
        }
        json_decref(j);
        return CLI_EXIT_OK;
}

static int do_claim(int argc, char **argv)
{
        struct opts o = {0};
        const char *ueid = NULL;
        int rc = parse_ueid(argc, argv, O_GROUP, &o, &ueid);
        if (rc)
                return rc < 0 ? CLI_EXIT_OK : rc;
        if (!o.group)
                return cli_errorf(CLI_EXIT_USAGE, "device claim: --group GROUP_ID is required");
        json_t *body = json_pack("{s:s,s:s}", "ueid", ueid, "group", o.group), *j = NULL;
        rc = cli_api("POST", "/api/v1/devices", body, &j);
        json_decref(body);
        return rc ? rc : print_device(j, o.com.out);
}

static int do_list(int argc, char **argv)
{
        struct opts o = {0};
        int rc = parse(argc, argv, O_GROUP | O_PRODUCT | O_STATE | CLI_OPT_PAGE, &o);
        if (rc)
                return rc < 0 ? CLI_EXIT_OK : rc;
        if ((rc = cli_no_args(argc, argv, "device")))
                return rc;
        const char *kv[] = {"group", o.group, "product", o.product, "state", o.state};
        return cli_list_opts("/api/v1/devices", kv, ARRAY_SIZE(kv), &o.com, device_cols,
                             ARRAY_SIZE(device_cols));
}

/* GET or POST on /api/v1/devices/<ueid>[/suffix]. */
static int device_call(const char *method, const char *ueid, const char *suffix, json_t *body,
                       enum cli_output out)
{
        json_t *j = NULL;
        int rc = cli_api_id(method, "/api/v1/devices", ueid, suffix, body, &j);
        return rc ? rc : print_device(j, out);
}

static int do_show(int argc, char **argv)
{
        struct opts o = {0};
        const char *ueid = NULL;
        int rc = parse_ueid(argc, argv, 0, &o, &ueid);
        if (rc)
                return rc < 0 ? CLI_EXIT_OK : rc;
        return device_call("GET", ueid, NULL, NULL, o.com.out);
}

static int do_move(int argc, char **argv)
{
        struct opts o = {0};
        const char *ueid = NULL;
        int rc = parse_ueid(argc, argv, O_GROUP, &o, &ueid);
        if (rc)
                return rc < 0 ? CLI_EXIT_OK : rc;
        if (!o.group)
                return cli_errorf(CLI_EXIT_USAGE, "device move: --group GROUP_ID is required");
        json_t *body = json_pack("{s:s}", "group", o.group);
        rc = device_call("POST", ueid, "/move", body, o.com.out);
        json_decref(body);
        return rc;
}

static int set_blocked(int argc, char **argv, bool block)
{
        struct opts o = {0};
        const char *ueid = NULL;
        int rc = parse_ueid(argc, argv, block ? O_REASON : 0, &o, &ueid);
        if (rc)
                return rc < 0 ? CLI_EXIT_OK : rc;
        json_t *body = o.reason ? json_pack("{s:s}", "reason", o.reason) : json_object();
        rc = device_call("POST", ueid, block ? "/block" : "/unblock", body, o.com.out);
        json_decref(body);
        return rc;
}

static int do_block(int argc, char **argv)
{
        return set_blocked(argc, argv, true);
}

static int do_unblock(int argc, char **argv)
{
        return set_blocked(argc, argv, false);
}

int cli_device(int argc, char **argv)
{
        static const struct cli_cmd cmds[] = {
                {"register", do_register}, {"claim", do_claim}, {"list", do_list},
                {"show", do_show},         {"move", do_move},   {"block", do_block},
                {"unblock", do_unblock},
        };
        return cli_dispatch("device", argc, argv, cmds, ARRAY_SIZE(cmds), usage);
}

/* command.c - subcommand dispatch, options, positional arguments and reply
 * printing shared by the command groups (see command.h). */
#include <getopt.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/command.h"
#include "lib/cleanup.h"

int cli_dispatch(const char *group, int argc, char **argv, const struct cli_cmd *cmds, size_t n,
                 void (*usage)(FILE *f))
{
        if (argc < 2) {
                usage(stderr);
                return CLI_EXIT_USAGE;
        }
        const char *cmd = argv[1];
        if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help")) {
                usage(stdout);
                return CLI_EXIT_OK;
        }
        for (size_t i = 0; i < n; i++)
                if (!strcmp(cmd, cmds[i].name))
                        return cmds[i].run(argc - 1, argv + 1);
        cli_errorf(CLI_EXIT_USAGE, "unknown %s command '%s'", group, cmd);
        usage(stderr);
        return CLI_EXIT_USAGE;
}

enum { OWN_BASE = 0x100 };

int cli_parse(int argc, char **argv, const char *group, const struct cli_opt *own, size_t n_own,
              unsigned allowed, struct cli_opts *ret, void (*usage)(FILE *f))
{
        struct option lo[CLI_OPT_MAX + 6] = {
                {"output", required_argument, NULL, 'o'}, {"limit", required_argument, NULL, 'l'},
                {"cursor", required_argument, NULL, 'c'}, {"all", no_argument, NULL, 'a'},
                {"help", no_argument, NULL, 'h'},
        };
        size_t n_lo = 5;
        if (n_own > CLI_OPT_MAX)
                return cli_errorf(CLI_EXIT_FAIL, "%s: %zu options, at most %d", group, n_own,
                                  CLI_OPT_MAX);
        for (size_t i = 0; i < n_own; i++)
                lo[n_lo++] = (struct option){own[i].name, required_argument, NULL,
                                             OWN_BASE + (int)i};
        int c, li = -1;
        optind = 1;
        while ((c = getopt_long(argc, argv, "ho:", lo, &li)) != -1) {
                unsigned need = (c == 'l' || c == 'c' || c == 'a') ? CLI_OPT_PAGE
                              : c >= OWN_BASE ? own[c - OWN_BASE].need : 0;
                if (need && !(allowed & need)) {       /* only long options have a need */
                        cli_errorf(CLI_EXIT_USAGE, "%s %s: option '--%s' does not apply here",
                                   group, argv[0], lo[li].name);
                        return CLI_EXIT_USAGE;
                }
                switch (c) {
                case 'o':
                        if (cli_output_parse(optarg, &ret->out) != CLI_EXIT_OK)
                                return CLI_EXIT_USAGE;
                        break;
                case 'l': ret->limit = optarg; break;
                case 'c': ret->cursor = optarg; break;
                case 'a': ret->all = true; break;
                case 'h':
                        usage(stdout);
                        return -1;
                default:
                        if (c >= OWN_BASE) {
                                *own[c - OWN_BASE].ret = optarg;
                                break;
                        }
                        usage(stderr);
                        return CLI_EXIT_USAGE;
                }
        }
        return CLI_EXIT_OK;
}

int cli_one_arg(int argc, char **argv, const char *group, const char *what, const char **ret)
{
        if (argc - optind != 1)
                return cli_errorf(CLI_EXIT_USAGE, "%s %s: exactly one %s is needed", group,
                                  argv[0], what);
        *ret = argv[optind];
        return CLI_EXIT_OK;
}

int cli_no_args(int argc, char **argv, const char *group)
{
        if (optind != argc)
                return cli_errorf(CLI_EXIT_USAGE, "%s %s: unexpected argument '%s'", group,
                                  argv[0], argv[optind]);
        return CLI_EXIT_OK;
}

int cli_api_id(const char *method, const char *prefix, const char *id, const char *suffix,
               json_t *body, json_t **ret)
{
        _cleanup_free_ char *path = cli_path_id(prefix, id, suffix);
        if (!path)
                return cli_errorf(CLI_EXIT_FAIL, "out of memory");
        return cli_api(method, path, body, ret);
}

int cli_print_reply(json_t *j, enum cli_output out, const struct cli_column *cols, size_t n)
{
        if (out == CLI_OUT_JSON)
                cli_print_json(stdout, j);
        else
                cli_print_object(stdout, j, cols, n);
        json_decref(j);
        return CLI_EXIT_OK;
}

/* command.h - the shape the `rampart` command groups that talk to the
 * server share: a table of subcommands, options that a subcommand takes or
 * refuses, checks of the positional arguments, and printing one reply.
 * What is specific to a group (its usage text, its own options, its request
 * bodies and columns) stays in the group's file. */
#pragma once
#include <stdbool.h>
#include <stdio.h>
#include <jansson.h>

#include "cli/client.h"

struct cli_cmd {
        const char *name;
        int (*run)(int argc, char **argv);      /* argv starts at the subcommand */
};

/* argv starts at the group name. Runs the subcommand argv[1] names;
 * -h/--help print usage to stdout; a missing subcommand prints usage to
 * stderr, an unknown one "unknown <group> command '<name>'" and usage; both
 * return CLI_EXIT_USAGE. */
int cli_dispatch(const char *group, int argc, char **argv, const struct cli_cmd *cmds, size_t n,
                 void (*usage)(FILE *f));

/* Options every such subcommand takes: --output and --help; and, where
 * `allowed` has CLI_OPT_PAGE, --limit, --cursor and --all. */
struct cli_opts {
        enum cli_output out;
        const char *limit, *cursor;
        bool all;
};
#define CLI_OPT_PAGE 0x80000000u
#define CLI_OPT_MAX 16

/* One option of the group's own, taking an argument. */
struct cli_opt {
        const char *name;       /* long name, without "--" */
        unsigned need;          /* bit `allowed` must have; 0: every subcommand takes it */
        const char **ret;       /* gets the argument */
};

/* Parses argv (argv[0] is the subcommand) with getopt_long; positional
 * arguments stay at argv[optind..]. An option outside `allowed` is refused
 * with "<group> <subcommand>: option '<opt>' does not apply here". Returns
 * CLI_EXIT_OK, CLI_EXIT_USAGE (message or usage printed to stderr), or -1
 * when --help printed usage to stdout (the caller then exits with
 * CLI_EXIT_OK). At most CLI_OPT_MAX options of the group's own (more is
 * CLI_EXIT_FAIL). */
int cli_parse(int argc, char **argv, const char *group, const struct cli_opt *own, size_t n_own,
              unsigned allowed, struct cli_opts *ret, void (*usage)(FILE *f));

/* After cli_parse: exactly one positional argument, named `what` in the
 * message "<group> <subcommand>: exactly one <what> is needed". */
int cli_one_arg(int argc, char **argv, const char *group, const char *what, const char **ret);
/* After cli_parse: no positional argument ("<group> <subcommand>:
 * unexpected argument '<arg>'"). */
int cli_no_args(int argc, char **argv, const char *group);

/* cli_api on cli_path_id(prefix, id, suffix). */
int cli_api_id(const char *method, const char *prefix, const char *id, const char *suffix,
               json_t *body, json_t **ret);

/* Prints a reply as JSON, or as "key: value" lines of `cols`; takes the
 * reference to `j`. Returns CLI_EXIT_OK. */
int cli_print_reply(json_t *j, enum cli_output out, const struct cli_column *cols, size_t n);

/* cli_list with the paging and output options. */
static inline int cli_list_opts(const char *path, const char *const *kv, size_t n_kv,
                                const struct cli_opts *o, const struct cli_column *cols,
                                size_t n_cols)
{
        return cli_list(path, kv, n_kv, o->limit, o->cursor, o->all, o->out, cols, n_cols);
}

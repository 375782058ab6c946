/* cli.h - the `rampart` command line: one file per command group
 * (keys.c, image.c, tenant.c, ...), dispatched from the table in main.c.
 *
 * A group's entry point gets argv starting at the group name
 * ("image", "verify", ...) and returns the process exit code:
 *   0 success, 1 the operation was refused or failed (message printed),
 *   2 usage error, 3 server unreachable or TLS mismatch. */
#pragma once
#include <stdio.h>
#include "lib/err.h"

enum {
        CLI_EXIT_OK = 0,
        CLI_EXIT_FAIL = 1,
        CLI_EXIT_USAGE = 2,
        CLI_EXIT_UNREACHABLE = 3,
};

struct cli_group {
        const char *name;
        const char *summary;
        int (*run)(int argc, char **argv);
};

/* Prints "rampart: <msg>" to stderr and returns CLI_EXIT_FAIL. */
int cli_fail(const struct rp_err *err);
/* Prints "rampart: " + formatted message; returns `code`. */
int cli_errorf(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* True when argv contains -h or --help before any "--". */
int cli_wants_help(int argc, char **argv);

/* Group entry points (each in its own file). */
int cli_keys(int argc, char **argv);
int cli_image(int argc, char **argv);
int cli_repo(int argc, char **argv);
int cli_login(int argc, char **argv);
int cli_tenant(int argc, char **argv);
int cli_token(int argc, char **argv);
int cli_audit(int argc, char **argv);
int cli_device(int argc, char **argv);
int cli_device_group(int argc, char **argv);
int cli_product(int argc, char **argv);
int cli_manufacturer(int argc, char **argv);
int cli_ca(int argc, char **argv);
int cli_failures(int argc, char **argv);
int cli_dev(int argc, char **argv);
int cli_deployment(int argc, char **argv);

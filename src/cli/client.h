/* client.h - the CLI's HTTPS client for rampart-server (libcurl).
 *
 * Configuration: $XDG_CONFIG_HOME/rampart/config.json (default
 * ~/.config/rampart/config.json), mode 0600, written by `rampart login`:
 *   {"server": "https://host:port", "token": "rpt_...",
 *    "pin": "sha256//<base64 SPKI hash>", "fingerprint": "AB:CD:..."}
 * or, instead of pin/fingerprint, "ca_file": "<path to a CA bundle>".
 * RAMPART_CONFIG overrides the path (tests, several servers).
 *
 * Server authentication: with a pin, curl checks the server's public key
 * against it before any request byte (and so before the token) is sent;
 * with a CA file, normal chain + host name verification. A mismatch or an
 * unreachable server exits with CLI_EXIT_UNREACHABLE (3) and says which. */
#pragma once
#include <stdbool.h>
#include <stdio.h>
#include <jansson.h>

#include "lib/err.h"

#define CLI_CONFIG_MAX (64 * 1024)
#define CLI_RESPONSE_MAX (16 * 1024 * 1024)

struct cli_config {
        char *server;           /* base URL, no trailing '/' */
        char *token;
        char *pin;              /* "sha256//..." or NULL */
        char *fingerprint;      /* informational, "AB:CD:..." */
        char *ca_file;          /* or NULL */
};
void cli_config_free(struct cli_config *c);
/* Path of the config file (malloc'd). */
char *cli_config_path(void);
/* -ENOENT (with a "run 'rampart login'" message) when there is none. */
int cli_config_load(struct cli_config *ret, struct rp_err *err) RP_WUR;
/* Writes atomically with mode 0600 (directory 0700). */
int cli_config_save(const struct cli_config *c, struct rp_err *err) RP_WUR;

/* One HTTPS request. `body` (may be NULL) is sent as JSON. On a completed
 * exchange returns 0 with the status and the parsed JSON reply (NULL for
 * an empty or non-JSON body). Returns -EHOSTUNREACH (unreachable, timeout)
 * or -EPERM (certificate/pin mismatch) with a message. */
int cli_http(const struct cli_config *c, const char *method, const char *path, json_t *body,
             long *ret_status, json_t **ret_json, struct rp_err *err) RP_WUR;

/* cli_http + CLI conventions: on 2xx stores the reply in *ret (may be NULL
 * to discard) and returns CLI_EXIT_OK; on an HTTP error prints
 * "rampart: <status> <code>: <message>" and returns CLI_EXIT_FAIL; on a
 * transport/TLS failure prints why and returns CLI_EXIT_UNREACHABLE. Loads
 * the config itself. */
int cli_api(const char *method, const char *path, json_t *body, json_t **ret);

/* Fetches the certificate the server presents (no verification) and
 * returns its SHA-256 fingerprint "AB:CD:..." and SPKI pin. Used by login
 * before any credential is sent. */
int cli_probe_server(const char *url, const char *ca_file, char **ret_fpr, char **ret_pin,
                     struct rp_err *err) RP_WUR;

/* ---- output ---- */
enum cli_output { CLI_OUT_TABLE, CLI_OUT_JSON };
/* Parses "table" | "json"; returns CLI_EXIT_USAGE with a message otherwise. */
int cli_output_parse(const char *s, enum cli_output *ret);
struct cli_column {
        const char *title;      /* column header */
        const char *key;        /* member of each item; dotted for nested ("a.b") */
};
/* Table of `items` (a JSON array of objects) with aligned columns; values
 * are strings, numbers, booleans or "-" for null/absent. */
void cli_print_table(FILE *f, json_t *items, const struct cli_column *cols, size_t n);
/* "key: value" lines for one object. */
void cli_print_object(FILE *f, json_t *obj, const struct cli_column *cols, size_t n);
/* Pretty JSON + newline. */
void cli_print_json(FILE *f, json_t *j);
/* GET of a paged list. kv are extra query pairs (name, value; NULL values
 * skipped) added to limit/cursor. With `all`, follows next_cursor to the
 * end. Prints a table (and, when more pages remain, the cursor on stderr)
 * or {"items": [...], "next_cursor": ...} as JSON. Returns an exit code. */
int cli_list(const char *path, const char *const *kv, size_t n_kv, const char *limit,
             const char *cursor, bool all, enum cli_output out, const struct cli_column *cols,
             size_t n_cols);

/* "/api/v1/<a>/<escaped id>[/<b>]": a path with one percent-encoded
 * segment taken from the user. malloc'd; NULL on out of memory. */
char *cli_path_id(const char *prefix, const char *id, const char *suffix);

/* Appends "?limit=..&cursor=.." etc. to a path; values percent-encoded.
 * Pairs with NULL values are skipped. Returns malloc'd string. */
char *cli_path_query(const char *path, const char *const *kv, size_t n_kv);

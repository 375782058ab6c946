/* login.c - `rampart login`: remember a server, a token and how to
 * recognise the server's certificate. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "lib/wipe.h"

static void usage(FILE *f)
{
        fprintf(f,
                "usage: rampart login --server URL --token TOKEN [--fingerprint FPR | --ca FILE]\n\n"
                "Stores the server URL, the API token and the server's certificate key in\n"
                "$XDG_CONFIG_HOME/rampart/config.json (mode 0600). Without --fingerprint or --ca\n"
                "the certificate presented now is trusted and its fingerprint printed: compare it\n"
                "with the one rampart-server printed at start.\n\n"
                "  --server URL         https://host:port of rampart-server\n"
                "  --token TOKEN        API token ('-' reads it from standard input)\n"
                "  --fingerprint FPR    expected SHA-256 certificate fingerprint (AB:CD:...)\n"
                "                       or public key pin (sha256//...)\n"
                "  --ca FILE            verify the server against this CA bundle instead\n"
                "  -h, --help           this text\n");
}

/* "ab:cd..." / "ABCD..." -> canonical "AB:CD:..." comparison */
static bool fpr_equal(const char *want, const char *have)
{
        char a[128] = "", b[128] = "";
        size_t n = 0;
        for (const char *p = want; *p && n + 1 < sizeof(a); p++)
                if (*p != ':')
                        a[n++] = (char)(*p >= 'a' && *p <= 'f' ? *p - 32 : *p);
        a[n] = 0;
        n = 0;
        for (const char *p = have; *p && n + 1 < sizeof(b); p++)
                if (*p != ':')
                        b[n++] = *p;
        b[n] = 0;
        return strlen(a) == 64 && !strcmp(a, b);
}

int cli_login(int argc, char **argv)
{
        static const struct option opts[] = {
                {"server", required_argument, NULL, 's'}, {"token", required_argument, NULL, 't'},
                {"fingerprint", required_argument, NULL, 'f'}, {"ca", required_argument, NULL, 'c'},
                {"help", no_argument, NULL, 'h'}, {0},
        };
        const char *server = NULL, *token = NULL, *want = NULL, *ca = NULL;
        int c;
        optind = 1;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                switch (c) {
                case 's': server = optarg; break;
                case 't': token = optarg; break;
                case 'f': want = optarg; break;
                case 'c': ca = optarg; break;
                case 'h': usage(stdout); return CLI_EXIT_OK;
                default: usage(stderr); return CLI_EXIT_USAGE;
                }
        }
        if (optind < argc || !server || !token) {
                usage(stderr);
                return CLI_EXIT_USAGE;
        }
        if (want && ca)
                return cli_errorf(CLI_EXIT_USAGE, "give --fingerprint or --ca, not both");
        if (strncmp(server, "https://", 8) || strlen(server) < 9)
                return cli_errorf(CLI_EXIT_USAGE, "--server must be an https:// URL (got '%s')", server);
        char tokbuf[256];
        if (!strcmp(token, "-")) {
                if (!fgets(tokbuf, sizeof(tokbuf), stdin))
                        return cli_errorf(CLI_EXIT_USAGE, "no token on standard input");
                tokbuf[strcspn(tokbuf, "\r\n")] = 0;
                token = tokbuf;
        }
        struct cli_config cfg = {0};
        struct rp_err err = {0};
        cfg.server = strdup(server);
        cfg.token = strdup(token);
        rp_wipe(tokbuf, sizeof(tokbuf));
        if (!cfg.server || !cfg.token) {
                cli_config_free(&cfg);
                return cli_errorf(CLI_EXIT_FAIL, "out of memory");
        }
        size_t l = strlen(cfg.server);
        while (l > 8 && cfg.server[l - 1] == '/')
                cfg.server[--l] = 0;

        if (ca) {
                cfg.ca_file = realpath(ca, NULL);
                if (!cfg.ca_file) {
                        cli_config_free(&cfg);
                        return cli_errorf(CLI_EXIT_USAGE, "--ca '%s': %s", ca, strerror(errno));
                }
        } else {
                char *fpr = NULL, *pin = NULL;
                if (cli_probe_server(cfg.server, NULL, &fpr, &pin, &err) < 0) {
                        cli_config_free(&cfg);
                        return cli_errorf(CLI_EXIT_UNREACHABLE, "%s", err.msg);
                }
                if (want && !(strncmp(want, "sha256//", 8) ? fpr_equal(want, fpr) : !strcmp(want, pin))) {
                        cli_errorf(CLI_EXIT_UNREACHABLE,
                                   "certificate mismatch: the server at %s presents %s, expected %s; "
                                   "nothing was sent and nothing stored",
                                   cfg.server, strncmp(want, "sha256//", 8) ? fpr : pin, want);
                        free(fpr);
                        free(pin);
                        cli_config_free(&cfg);
                        return CLI_EXIT_UNREACHABLE;
                }
                cfg.fingerprint = fpr;
                cfg.pin = pin;
        }
        /* Check the token against the server (through the pin) before saving. */
        long status = 0;
        json_t *j = NULL;
        if (cli_http(&cfg, "GET", "/api/v1/whoami", NULL, &status, &j, &err) < 0) {
                cli_config_free(&cfg);
                return cli_errorf(CLI_EXIT_UNREACHABLE, "%s", err.msg);
        }
        if (status != 200) {
                const char *m = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
                cli_errorf(CLI_EXIT_FAIL, "the server refused the token (%ld): %s", status,
                           m ? m : "no reason given");
                json_decref(j);
                cli_config_free(&cfg);
                return CLI_EXIT_FAIL;
        }
        int r = cli_config_save(&cfg, &err);
        if (r < 0) {
                json_decref(j);
                cli_config_free(&cfg);
                return cli_fail(&err);
        }
        const char *tenant = json_string_value(json_object_get(j, "tenant_id"));
        const char *role = json_string_value(json_object_get(j, "role"));
        printf("logged in to %s as %s%s%s\n", cfg.server, role ? role : "?",
               tenant ? " of tenant " : " (platform operator)", tenant ? tenant : "");
        if (cfg.fingerprint)
                printf("server certificate SHA-256 fingerprint %s%s\n", cfg.fingerprint,
                       want ? " (matches)" : " (trusted on first use: compare it with the server's)");
        json_decref(j);
        cli_config_free(&cfg);
        return CLI_EXIT_OK;
}

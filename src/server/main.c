/* main.c - rampart-server: the security service. With no arguments it runs
 * on 127.0.0.1:8443 with its data (SQLite store, TLS certificate, master
 * key) in $RAMPART_DATA or ./rampart-data. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/wipe.h"
#include "server/server.h"

static void usage(FILE *f)
{
        fprintf(f,
                "usage: rampart-server [options]\n\n"
                "The Rampart security service (HTTPS, TLS 1.3).\n\n"
                "options:\n"
                "  --listen ADDR:PORT      address to serve on, repeatable; [v6]:port for IPv6\n"
                "                          (default %s; port 0 picks a free port)\n"
                "  --data DIR              data directory (default $RAMPART_DATA or ./%s)\n"
                "  --store SPEC            store location (default sqlite:DIR/rampart.db)\n"
                "  --cert FILE --key FILE  TLS certificate and key (default: generated in DIR)\n"
                "  --max-connections N     open connections at most (default %d)\n"
                "  --request-timeout S     a request must fully arrive within S seconds (default %d)\n"
                "  --io-timeout S          inactivity limit while sending a reply (default %d)\n"
                "  --drain-timeout S       on SIGTERM, wait at most S seconds for open requests (default %d)\n"
                "  --rate-limit R          requests per second per client address, 0 = off (default %d)\n"
                "  --burst B               requests a client may send at once (default 2 x rate)\n"
                "  --nonce-lifetime S      attestation nonces expire after S seconds (default 120)\n"
                "  --device-cert-hours H   validity of issued device certificates (default 26)\n"
                "  --test-cert-backdate H  tests only (RAMPART_TEST=1): issue device certificates\n"
                "                          H hours in the past\n"
                "  --failure-retention-days D  keep failure events D days (default 14); bucket\n"
                "                          counts are kept\n"
                "  --test-failure-retention S  tests only (RAMPART_TEST=1): keep failure events\n"
                "                          S seconds\n"
                "  --print-routes          print the route table as JSON and exit\n"
                "  -h, --help              this text\n",
                SRV_DEFAULT_LISTEN, SRV_DEFAULT_DATA, SRV_DEFAULT_MAX_CONNS,
                SRV_DEFAULT_REQUEST_TIMEOUT, SRV_DEFAULT_IO_TIMEOUT, SRV_DEFAULT_DRAIN_TIMEOUT,
                SRV_DEFAULT_RATE);
}

static int parse_uint(const char *opt, const char *v, unsigned min, unsigned max, unsigned *ret)
{
        char *end = NULL;
        unsigned long n = strtoul(v, &end, 10);
        if (!*v || *end || v[0] == '-' || n < min || n > max) {
                fprintf(stderr, "rampart-server: %s must be an integer %u..%u (got '%s')\n", opt,
                        min, max, v);
                return -1;
        }
        *ret = (unsigned)n;
        return 0;
}

static int parse_double(const char *opt, const char *v, double *ret)
{
        char *end = NULL;
        double d = strtod(v, &end);
        if (!*v || *end || !(d >= 0) || d > 1e9) {
                fprintf(stderr, "rampart-server: %s must be a number >= 0 (got '%s')\n", opt, v);
                return -1;
        }
        *ret = d;
        return 0;
}

int main(int argc, char **argv)
{
        enum { O_LISTEN = 256, O_DATA, O_STORE, O_CERT, O_KEY, O_MAXC, O_RTO, O_IOTO, O_DRAIN,
               O_RATE, O_BURST, O_ROUTES, O_NONCE_LIFE, O_CERT_HOURS, O_BACKDATE,
               O_FAIL_RETENTION, O_TEST_FAIL_RETENTION };
        static const struct option opts[] = {
                {"listen", required_argument, NULL, O_LISTEN},
                {"data", required_argument, NULL, O_DATA},
                {"store", required_argument, NULL, O_STORE},
                {"cert", required_argument, NULL, O_CERT},
                {"key", required_argument, NULL, O_KEY},
                {"max-connections", required_argument, NULL, O_MAXC},
                {"request-timeout", required_argument, NULL, O_RTO},
                {"io-timeout", required_argument, NULL, O_IOTO},
                {"drain-timeout", required_argument, NULL, O_DRAIN},
                {"rate-limit", required_argument, NULL, O_RATE},
                {"burst", required_argument, NULL, O_BURST},
                {"print-routes", no_argument, NULL, O_ROUTES},
                {"nonce-lifetime", required_argument, NULL, O_NONCE_LIFE},
                {"device-cert-hours", required_argument, NULL, O_CERT_HOURS},
                {"test-cert-backdate", required_argument, NULL, O_BACKDATE},
                {"failure-retention-days", required_argument, NULL, O_FAIL_RETENTION},
                {"test-failure-retention", required_argument, NULL, O_TEST_FAIL_RETENTION},
                {"help", no_argument, NULL, 'h'},
                {0},
        };
        struct srv_config cfg;
        srv_config_defaults(&cfg);
        int c;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                switch (c) {
                case O_LISTEN:
                        if (cfg.n_listen == SRV_MAX_LISTEN) {
                                fprintf(stderr, "rampart-server: at most %d --listen\n", SRV_MAX_LISTEN);
                                return 2;
                        }
                        cfg.listen[cfg.n_listen++] = optarg;
                        break;
                case O_DATA: cfg.data_dir = optarg; break;
                case O_STORE: cfg.store_spec = optarg; break;
                case O_CERT: cfg.cert_file = optarg; break;
                case O_KEY: cfg.key_file = optarg; break;
                case O_MAXC:
                        if (parse_uint("--max-connections", optarg, 1, 1000000, &cfg.max_conns) < 0)
                                return 2;
                        break;
                case O_RTO:
                        if (parse_uint("--request-timeout", optarg, 1, 3600, &cfg.request_timeout_s) < 0)
                                return 2;
                        break;
                case O_IOTO:
                        if (parse_uint("--io-timeout", optarg, 1, 3600, &cfg.io_timeout_s) < 0)
                                return 2;
                        break;
                case O_DRAIN:
                        if (parse_uint("--drain-timeout", optarg, 0, 3600, &cfg.drain_timeout_s) < 0)
                                return 2;
                        break;
                case O_RATE:
                        if (parse_double("--rate-limit", optarg, &cfg.rate) < 0)
                                return 2;
                        break;
                case O_BURST:
                        if (parse_double("--burst", optarg, &cfg.burst) < 0)
                                return 2;
                        break;
                case O_NONCE_LIFE:
                        if (parse_uint("--nonce-lifetime", optarg, 1, 3600, &cfg.nonce_lifetime_s) < 0)
                                return 2;
                        break;
                case O_CERT_HOURS:
                        if (parse_uint("--device-cert-hours", optarg, 1, 24 * 366,
                                       &cfg.device_cert_hours) < 0)
                                return 2;
                        break;
                case O_BACKDATE: {
                        const char *t = getenv("RAMPART_TEST");
                        if (!t || strcmp(t, "1")) {
                                fprintf(stderr, "rampart-server: --test-cert-backdate is for tests "
                                                "only and needs RAMPART_TEST=1\n");
                                return 2;
                        }
                        if (parse_uint("--test-cert-backdate", optarg, 1, 24 * 3650,
                                       &cfg.test_cert_backdate_h) < 0)
                                return 2;
                        break;
                }
                case O_FAIL_RETENTION:
                        if (parse_uint("--failure-retention-days", optarg, 1, 3650,
                                       &cfg.failure_retention_days) < 0)
                                return 2;
                        break;
                case O_TEST_FAIL_RETENTION: {
                        const char *t = getenv("RAMPART_TEST");
                        if (!t || strcmp(t, "1")) {
                                fprintf(stderr, "rampart-server: --test-failure-retention is for "
                                                "tests only and needs RAMPART_TEST=1\n");
                                return 2;
                        }
                        if (parse_uint("--test-failure-retention", optarg, 1, 86400,
                                       &cfg.test_failure_retention_s) < 0)
                                return 2;
                        break;
                }
                case O_ROUTES:
                        return srv_routes_print(stdout) < 0 ? 1 : 0;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "rampart-server: unexpected argument '%s'\n", argv[optind]);
                usage(stderr);
                return 2;
        }

        struct srv *s = NULL;
        char *boot = NULL;
        struct rp_err err = {0};
        if (srv_new(&cfg, &s, &boot, &err) < 0) {
                fprintf(stderr, "rampart-server: %s\n", err.msg);
                srv_free(s);
                return 1;
        }
        char addrs[SRV_MAX_LISTEN][64];
        size_t n = srv_bound(s, addrs, SRV_MAX_LISTEN);
        printf("rampart-server: data directory %s\n", srv_config(s)->data_dir);
        for (size_t i = 0; i < n; i++)
                printf("rampart-server: listening on https://%s\n", addrs[i]);
        printf("rampart-server: certificate SHA-256 fingerprint %s\n", srv_cert_fingerprint(s));
        printf("rampart-server: certificate public key pin %s\n", srv_cert_pin(s));
        if (boot) {
                printf("rampart-server: bootstrap platform token (shown once, store it now): %s\n",
                       boot);
                rp_wipe(boot, strlen(boot));
                free(boot);
        }
        printf("rampart-server: ready\n");
        fflush(stdout);
        int r = srv_run(s, &err);
        if (r < 0)
                fprintf(stderr, "rampart-server: %s\n", err.msg);
        srv_free(s);
        rp_info("server", "stopped");
        return r < 0 ? 1 : 0;
}

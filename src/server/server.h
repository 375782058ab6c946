/* server.h - rampart-server's process-wide state and its configuration.
 *
 * One struct srv per process: the event loop, the HTTP listener(s), the
 * store, the master key (keystore.h), metrics and the route table. The
 * server is single-threaded: every handler runs on the event loop thread. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"
#include "server/http.h"

#define SRV_MAX_LISTEN 4
#define SRV_DEFAULT_LISTEN "127.0.0.1:8443"
#define SRV_DEFAULT_DATA "rampart-data"
#define SRV_DEFAULT_MAX_CONNS 1024
#define SRV_DEFAULT_REQUEST_TIMEOUT 10   /* s: a request must fully arrive within this */
#define SRV_DEFAULT_IO_TIMEOUT 30        /* s: inactivity while writing a reply */
#define SRV_DEFAULT_RATE 100             /* requests per second per client address */
#define SRV_DEFAULT_DRAIN_TIMEOUT 10     /* s: SIGTERM waits this long for in-flight work */

struct srv_config {
        const char *listen[SRV_MAX_LISTEN];     /* "127.0.0.1:8443", "[::1]:8443" */
        size_t n_listen;
        const char *data_dir;                   /* default $RAMPART_DATA or ./rampart-data */
        const char *store_spec;                 /* default "sqlite:<data>/rampart.db" */
        const char *cert_file;                  /* default <data>/server.crt (generated) */
        const char *key_file;                   /* default <data>/server.key (generated) */
        unsigned max_conns;
        unsigned request_timeout_s;
        unsigned io_timeout_s;
        unsigned drain_timeout_s;
        double rate;                            /* req/s per client; 0 = unlimited */
        double burst;                           /* bucket size; 0 = 2 * rate */
        /* attestation (docs/attestation.md); 0 = default */
        unsigned nonce_lifetime_s;              /* default 120 */
        unsigned device_cert_hours;             /* default 26 */
        unsigned test_cert_backdate_h;          /* tests: issue certificates this far in the past */
        /* failure reports (docs/failures.md); 0 = default */
        unsigned failure_retention_days;        /* default 14 */
        unsigned test_failure_retention_s;      /* tests: retention in seconds instead */
};

void srv_config_defaults(struct srv_config *c);

struct srv;

/* Creates the data dir, master key, TLS cert (first start), opens and
 * migrates the store, creates the bootstrap platform token on first start
 * (its text is written to *ret_bootstrap_token, malloc'd, or NULL when it
 * was created before), binds the listeners. */
int srv_new(const struct srv_config *cfg, struct srv **ret, char **ret_bootstrap_token,
            struct rp_err *err) RP_WUR;
/* Runs until SIGTERM/SIGINT and the drain finished. */
int srv_run(struct srv *s, struct rp_err *err) RP_WUR;
void srv_free(struct srv *s);

/* The loaded configuration / store / data paths. */
const struct srv_config *srv_config(const struct srv *s);
struct store *srv_store(struct srv *s);
/* SHA-256 of the server certificate DER, lowercase hex with ':' between
 * bytes (95 chars + NUL), and its SPKI pin "sha256//<base64>". */
const char *srv_cert_fingerprint(const struct srv *s);
const char *srv_cert_pin(const struct srv *s);
/* The actual bound ports (for "--listen 127.0.0.1:0"). */
size_t srv_bound(const struct srv *s, char out[][64], size_t max);

/* The registered route table (every set of routes.c, in order). */
size_t srv_route_count(const struct srv *s);
const struct srv_route *srv_route_at(const struct srv *s, size_t i);
/* Prints the route table as JSON ([{method, pattern, auth, name}, ...]). */
int srv_routes_print(FILE *f);

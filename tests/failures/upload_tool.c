/* upload_tool.c - test tool: a device's failure queue and its uploader.
 *
 *   rampart-failq-upload --queue DIR record FILE
 *       records the event in FILE (one JSON event, failure/report.h)
 *   rampart-failq-upload --queue DIR stats
 *       prints the queue's counters as JSON
 *   rampart-failq-upload --queue DIR upload --server URL --ca PEM --cert PEM --key PEM
 *                        [--allow-dumps] [--polls N] [--backoff-min S]
 *       runs rtd_uploader_poll (runtime/uploader.h) up to N times, sleeping
 *       the delay it asks for (capped at 1 s), until the queue is empty;
 *       prints the uploader's counters as JSON. The TLS key is a file here:
 *       on a device it stays in the security monitor and the same signing
 *       callback (crypto/monitor_key.h) asks the monitor instead. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "crypto/crypto.h"
#include "crypto/monitor_key.h"
#include "lib/cleanup.h"
#include "lib/fileio.h"
#include "runtime/failures.h"
#include "runtime/http_client.h"
#include "runtime/uploader.h"

static int sign_with_file_key(void *ud, const uint8_t digest[CR_SHA256_LEN], uint8_t **ret,
                              size_t *ret_len)
{
        return cr_sign_digest(ud, digest, ret, ret_len, NULL);
}

static int die(const char *what, const struct rp_err *e)
{
        fprintf(stderr, "rampart-failq-upload: %s: %s\n", what, e ? e->msg : "");
        return 1;
}

static char *slurp(const char *path, size_t *len)
{
        FILE *f = fopen(path, "rb");
        if (!f)
                return NULL;
        char *buf = malloc(1 << 20);
        size_t n = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
        fclose(f);
        if (buf)
                buf[n] = 0;
        *len = n;
        return buf;
}

int main(int argc, char **argv)
{
        static const struct option lo[] = {
                {"queue", required_argument, NULL, 'q'},  {"server", required_argument, NULL, 's'},
                {"ca", required_argument, NULL, 'a'},     {"cert", required_argument, NULL, 'c'},
                {"key", required_argument, NULL, 'k'},    {"allow-dumps", no_argument, NULL, 'd'},
                {"polls", required_argument, NULL, 'p'},  {"backoff-min", required_argument, NULL, 'b'},
                {0},
        };
        const char *qdir = NULL, *server = NULL, *ca = NULL, *certp = NULL, *keyp = NULL;
        unsigned polls = 20, backoff = 1;
        bool dumps = false;
        int c;
        while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
                switch (c) {
                case 'q': qdir = optarg; break;
                case 's': server = optarg; break;
                case 'a': ca = optarg; break;
                case 'c': certp = optarg; break;
                case 'k': keyp = optarg; break;
                case 'd': dumps = true; break;
                case 'p': polls = (unsigned)atoi(optarg); break;
                case 'b': backoff = (unsigned)atoi(optarg); break;
                default: return 2;
                }
        }
        if (!qdir || optind >= argc) {
                fprintf(stderr, "usage: rampart-failq-upload --queue DIR record FILE|stats|upload ...\n");
                return 2;
        }
        struct rp_err e = {0};
        struct rtd_failq *q = NULL;
        if (rtd_failq_open(qdir, 0, &q, &e) < 0)
                return die("queue", &e);
        const char *cmd = argv[optind];
        int rc = 0;
        if (!strcmp(cmd, "record") && optind + 1 < argc) {
                size_t len = 0;
                _cleanup_free_ char *txt = slurp(argv[optind + 1], &len);
                json_t *j = txt ? json_loadb(txt, len, JSON_REJECT_DUPLICATES, NULL) : NULL;
                struct fail_event ev;
                if (!j || fail_event_from_json(j, "event", &ev, &e) < 0) {
                        json_decref(j);
                        rtd_failq_close(q);
                        return die("event", &e);
                }
                json_decref(j);
                if (rtd_failq_record(q, &ev, &e) < 0)
                        rc = die("record", &e);
                fail_event_clear(&ev);
        } else if (!strcmp(cmd, "stats")) {
                struct rtd_failq_stats s;
                rtd_failq_stats(q, &s);
                printf("{\"events\": %u, \"inflight\": %u, \"urgent\": %s, \"dropped\": %u}\n",
                       s.events, s.inflight, s.urgent ? "true" : "false", s.dropped);
        } else if (!strcmp(cmd, "upload") && server && ca && certp && keyp) {
                size_t cl = 0, kl = 0;
                _cleanup_free_ char *cpem = slurp(certp, &cl), *kpem = slurp(keyp, &kl);
                struct cr_cert *cert = NULL;
                struct cr_key *key = NULL;
                struct cr_monitor_key *mk = NULL;
                if (!cpem || !kpem || cr_cert_from_pem(cpem, cl, &cert, &e) < 0 ||
                    cr_key_from_pem(kpem, kl, &key, &e) < 0 ||
                    cr_monitor_key_new(cert, sign_with_file_key, key, &mk, &e) < 0 ||
                    rtd_http_global_init(&e) < 0) {
                        rtd_failq_close(q);
                        return die("client identity", &e);
                }
                struct rtd_http h = {.base = server, .ca_file = ca, .client = mk};
                struct rtd_uploader u;
                struct rtd_uploader_opts o = {.backoff_min_s = backoff, .backoff_max_s = backoff * 4,
                                              .allow_dumps = dumps};
                rtd_uploader_init(&u, q, &h, &o);
                unsigned i;
                for (i = 0; i < polls; i++) {
                        unsigned next = 0;
                        struct rp_err pe = {0};
                        int r = rtd_uploader_poll(&u, time(NULL), &next, &pe);
                        if (r < 0 && r != -EAGAIN) {
                                rc = die("upload", &pe);
                                break;
                        }
                        struct rtd_failq_stats s;
                        rtd_failq_stats(q, &s);
                        if (s.events == 0)
                                break;
                        sleep(next > 1 ? 1 : next);
                }
                struct rtd_failq_stats s;
                rtd_failq_stats(q, &s);
                printf("{\"polls\": %u, \"batches_sent\": %llu, \"events_sent\": %llu, "
                       "\"duplicates\": %llu, \"rejected\": %llu, \"attempts_failed\": %llu, "
                       "\"dumps_stripped\": %llu, \"queued\": %u}\n", i + 1,
                       (unsigned long long)u.stats.batches_sent,
                       (unsigned long long)u.stats.events_sent,
                       (unsigned long long)u.stats.duplicates, (unsigned long long)u.stats.rejected,
                       (unsigned long long)u.stats.attempts_failed,
                       (unsigned long long)u.stats.dumps_stripped, s.events);
                cr_monitor_key_free(mk);
                cr_key_free(key);
                cr_cert_free(cert);
                rtd_http_global_cleanup();
        } else {
                fprintf(stderr, "rampart-failq-upload: unknown or incomplete command '%s'\n", cmd);
                rc = 2;
        }
        rtd_failq_close(q);
        return rc;
}

/* failures_ingest.c - load generator for bench/failures_ingest.py: many
 * simulated devices, each with its own platform certificate (enrolled
 * through the real EST flow by the driver), on keep-alive mTLS connections.
 *
 *   rampart-bench-failures --url URL --ca PEM --devices DIR --mode ingest|ping
 *                          [--seconds S] [--conns C] [--events E] [--buckets B]
 *
 * DIR holds devN/platform.pem + platform.key for each device. Mode ingest POSTs failure
 * batches of E app_crash events (8 frames each, spread over B crash
 * signatures and 4 versions, a fresh batch_id each time) to
 * /device/v1/failures; mode ping GETs /device/v1/ping, the server's bare
 * authenticated device request. One process per device, each a blocking
 * keep-alive loop. Prints one JSON line: requests completed,
 * 2xx, errors, seconds, requests/s, events sent. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>

#define MAX_CONNS 256
#define BODY_MAX (1024 * 1024)

struct conn {
        CURL *h;
        char cert[4096], key[4096];
        char *body;
        size_t body_len;
        struct curl_slist *hdrs;
        unsigned long seq;
};

static const char *g_url, *g_ca, *g_mode = "ingest";
static unsigned g_events = 8, g_buckets = 16;
static unsigned long g_ok, g_err, g_events_sent;
static unsigned g_rng = 12345;

static unsigned rnd(void)
{
        g_rng = g_rng * 1103515245u + 12345u;
        return g_rng >> 8;
}

static size_t sink(char *p, size_t sz, size_t n, void *ud)
{
        (void)p;
        (void)ud;
        return sz * n;
}

/* A batch of g_events crash events; every byte is built here, so the
 * server sees bodies like a device's (compact JSON, fail_batch_build
 * order). */
static void build_batch(struct conn *c)
{
        size_t off = 0;
        char *b = c->body;
        off += (size_t)snprintf(b + off, BODY_MAX - off, "{\"batch_id\":\"%08x%08x%08x%08x\","
                                "\"dropped\":0,\"events\":[", rnd(), rnd(), rnd(), rnd());
        for (unsigned i = 0; i < g_events; i++) {
                unsigned sig = rnd() % g_buckets, ver = rnd() % 4;
                off += (size_t)snprintf(b + off, BODY_MAX - off,
                        "%s{\"class\":\"app_crash\",\"component_id\":\"telemetry\","
                        "\"component_version\":\"1.%u.0\",\"time_first\":1700000000,"
                        "\"time_last\":1700000100,\"count\":%u,\"signal\":11,\"si_code\":1,"
                        "\"fault_addr\":\"0x0\",\"pc\":\"0x55d0c0de%04x\",\"frames\":[",
                        i ? "," : "", ver, 1 + rnd() % 3, rnd() & 0xffff);
                for (unsigned f = 0; f < 8; f++)
                        off += (size_t)snprintf(b + off, BODY_MAX - off,
                                "%s{\"module\":\"%s\",\"build_id\":\"c14fb5aa0da6f83eab8240bc7c9b3ef7c53f2c9%u\","
                                "\"function\":\"%s_%u_%u\",\"offset\":%u,\"module_offset\":%u}",
                                f ? "," : "", f < 6 ? "telemetry" : "libc.so.6", ver,
                                f < 6 ? "parse" : "libc_fn", sig, f, 11 + f, 4096 + 64 * f);
                off += (size_t)snprintf(b + off, BODY_MAX - off, "]}");
        }
        off += (size_t)snprintf(b + off, BODY_MAX - off, "]}");
        c->body_len = off;
}

static void setup(struct conn *c)
{
        char url[1024];
        /* options are set again on the same handle (no reset), so curl
         * keeps using this device's connection */
        curl_easy_setopt(c->h, CURLOPT_SSLCERT, c->cert);
        curl_easy_setopt(c->h, CURLOPT_SSLKEY, c->key);
        curl_easy_setopt(c->h, CURLOPT_CAINFO, g_ca);
        curl_easy_setopt(c->h, CURLOPT_WRITEFUNCTION, sink);
        curl_easy_setopt(c->h, CURLOPT_TIMEOUT, 60L);
        if (!strcmp(g_mode, "ping")) {
                snprintf(url, sizeof(url), "%s/device/v1/ping", g_url);
                curl_easy_setopt(c->h, CURLOPT_HTTPGET, 1L);
        } else {
                snprintf(url, sizeof(url), "%s/device/v1/failures", g_url);
                build_batch(c);
                curl_easy_setopt(c->h, CURLOPT_POSTFIELDS, c->body);
                curl_easy_setopt(c->h, CURLOPT_POSTFIELDSIZE, (long)c->body_len);
                curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, c->hdrs);
        }
        curl_easy_setopt(c->h, CURLOPT_URL, url);
}

static double now_s(void)
{
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
        static const struct option lo[] = {
                {"url", required_argument, NULL, 'u'},     {"ca", required_argument, NULL, 'a'},
                {"devices", required_argument, NULL, 'd'}, {"mode", required_argument, NULL, 'm'},
                {"seconds", required_argument, NULL, 's'}, {"conns", required_argument, NULL, 'c'},
                {"events", required_argument, NULL, 'e'},  {"buckets", required_argument, NULL, 'b'},
                {0},
        };
        const char *dir = NULL;
        double seconds = 10;
        unsigned nconns = 32;
        int o;
        while ((o = getopt_long(argc, argv, "", lo, NULL)) != -1) {
                switch (o) {
                case 'u': g_url = optarg; break;
                case 'a': g_ca = optarg; break;
                case 'd': dir = optarg; break;
                case 'm': g_mode = optarg; break;
                case 's': seconds = atof(optarg); break;
                case 'c': nconns = (unsigned)atoi(optarg); break;
                case 'e': g_events = (unsigned)atoi(optarg); break;
                case 'b': g_buckets = (unsigned)atoi(optarg); break;
                default: return 2;
                }
        }
        if (!g_url || !g_ca || !dir || nconns == 0 || nconns > MAX_CONNS || g_events == 0 ||
            g_events > 64 || g_buckets == 0 || (strcmp(g_mode, "ping") && strcmp(g_mode, "ingest"))) {
                fprintf(stderr, "usage: rampart-bench-failures --url URL --ca PEM --devices DIR "
                                "--mode ingest|ping [--seconds S] [--conns 1..%d] [--events 1..64] "
                                "[--buckets B]\n", MAX_CONNS);
                return 2;
        }
        /* one connection per device, as many as there are devices */
        static struct conn conns[MAX_CONNS];
        unsigned n = 0;
        DIR *dd = opendir(dir);
        struct dirent *de;
        if (!dd) {
                fprintf(stderr, "rampart-bench-failures: %s: %s\n", dir, strerror(errno));
                return 1;
        }
        while ((de = readdir(dd)) && n < nconns) {
                if (strncmp(de->d_name, "dev", 3))
                        continue;
                snprintf(conns[n].cert, sizeof(conns[n].cert), "%s/%s/platform.pem", dir, de->d_name);
                snprintf(conns[n].key, sizeof(conns[n].key), "%s/%s/platform.key", dir, de->d_name);
                n++;
        }
        closedir(dd);
        if (n == 0) {
                fprintf(stderr, "rampart-bench-failures: no devN directories in %s\n", dir);
                return 1;
        }
        /* one process per device, each a blocking keep-alive loop on one
         * easy handle (the way a device's uploader talks) */
        curl_global_init(CURL_GLOBAL_DEFAULT);
        int fds[2];
        if (pipe(fds) < 0)
                return 1;
        double t0 = now_s(), end = t0 + seconds;
        for (unsigned i = 0; i < n; i++) {
                pid_t pid = fork();
                if (pid < 0)
                        return 1;
                if (pid > 0)
                        continue;
                close(fds[0]);
                struct conn *c = &conns[i];
                g_rng = 12345u + i * 7919u;
                c->h = curl_easy_init();
                c->body = malloc(BODY_MAX);
                c->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
                if (!c->h || !c->body)
                        _exit(1);
                while (now_s() < end) {
                        long code = 0;
                        setup(c);
                        CURLcode rc = curl_easy_perform(c->h);
                        curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &code);
                        if (rc == CURLE_OK && code >= 200 && code < 300) {
                                g_ok++;
                                if (strcmp(g_mode, "ping"))
                                        g_events_sent += g_events;
                        } else {
                                if (g_err < 3)
                                        fprintf(stderr, "rampart-bench-failures: %s: HTTP %ld\n",
                                                curl_easy_strerror(rc), code);
                                g_err++;
                        }
                }
                unsigned long res[3] = {g_ok, g_err, g_events_sent};
                if (write(fds[1], res, sizeof(res)) != (ssize_t)sizeof(res))
                        _exit(1);
                _exit(0);
        }
        close(fds[1]);
        for (unsigned i = 0; i < n; i++) {
                unsigned long res[3];
                if (read(fds[0], res, sizeof(res)) != (ssize_t)sizeof(res)) {
                        fprintf(stderr, "rampart-bench-failures: a worker died\n");
                        return 1;
                }
                g_ok += res[0];
                g_err += res[1];
                g_events_sent += res[2];
        }
        while (wait(NULL) > 0)
                ;
        double el = now_s() - t0;
        printf("{\"mode\": \"%s\", \"devices\": %u, \"ok\": %lu, \"errors\": %lu, "
               "\"seconds\": %.3f, \"per_s\": %.1f, \"events\": %lu}\n", g_mode, n, g_ok, g_err,
               el, (double)g_ok / el, g_events_sent);
        curl_global_cleanup();
        return g_err ? 1 : 0;
}

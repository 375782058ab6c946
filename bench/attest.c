/* attest.c - attestation load generator (bench/attest.sh runs it).
 *
 *   rampart-bench-attest --url URL --tenant TEN --server-pid PID
 *                        [--n N] [--threads T] [--os-name .. --os-version .. --svn N]
 *                        DEVICE_DIR...
 *
 * Every device directory is "booted" once in-process (tests/attest/
 * attest_sim.c: the real DICE derivation and monitor handlers), so each
 * simulated device has its own DICE chain. Each attestation is a fresh TLS
 * connection, POST .../nonce, the device-side evidence and CSR, and POST
 * .../simpleenroll, which must answer 200. The latency of an attestation is
 * the two round trips (the device's own signing is excluded).
 *
 * It then prints attestations/s, p50/p99 latency and the server's CPU
 * seconds per attestation (utime + stime of /proc/PID/stat before and
 * after), next to the pure crypto cost of what the server must compute for
 * one attestation, measured here with the same OpenSSL in thread CPU time
 * (the same kind of time as the server's, so other jobs preempting either
 * do not skew the ratio): 6 ECDSA P-256
 * verifications (device CA by the manufacturer root, the DeviceID chain's
 * two signatures, the Alias certificate, the evidence JWS, the CSR's
 * proof of possession), 2 ECDSA P-256 signatures (the issued certificate
 * and the TLS 1.3 CertificateVerify) and one X25519 key share (key
 * generation + derivation) of the handshake. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "attest_sim.h"
#include "crypto/crypto.h"

struct buf {
        char *p;
        size_t n;
};

static size_t on_data(char *d, size_t sz, size_t nm, void *u)
{
        struct buf *b = u;
        size_t k = sz * nm;
        char *q = realloc(b->p, b->n + k + 1);
        if (!q)
                return 0;
        memcpy(q + b->n, d, k);
        b->n += k;
        q[b->n] = 0;
        b->p = q;
        return k;
}

static double now_s(void)
{
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

struct job {
        const char *url, *tenant;
        struct att_sim *sims;
        size_t n_sims;
        size_t first, count;            /* attestation indexes */
        double *lat;                    /* per attestation, seconds */
        int failed;
        char why[300];
};

static long post(CURL *c, const char *url, const char *body, size_t len, struct buf *out,
                 struct curl_slist *hdr)
{
        out->n = 0;
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
        if (curl_easy_perform(c) != CURLE_OK)
                return -1;
        long code = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        return code;
}

static void *run_job(void *arg)
{
        struct job *j = arg;
        char u_nonce[512], u_enroll[512];
        struct buf out = {0};
        struct curl_slist *hj = curl_slist_append(NULL, "Content-Type: application/json");
        struct att_forge honest = {0};
        snprintf(u_nonce, sizeof(u_nonce), "%s/.well-known/est/%s/nonce", j->url, j->tenant);
        snprintf(u_enroll, sizeof(u_enroll), "%s/.well-known/est/%s/simpleenroll", j->url,
                 j->tenant);
        for (size_t i = 0; i < j->count && !j->failed; i++) {
                struct att_sim *sim = &j->sims[(j->first + i) % j->n_sims];
                struct rp_err e = {0};
                char *body = NULL;
                /* a fresh handle: a new TCP connection and a full TLS handshake */
                CURL *c = curl_easy_init();
                curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
                curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
                curl_easy_setopt(c, CURLOPT_SSL_SESSIONID_CACHE, 0L);
                double t0 = now_s();
                long code = post(c, u_nonce, "", 0, &out, hj);
                double t1 = now_s();
                json_t *nj = code == 200 ? json_loads(out.p, 0, NULL) : NULL;
                const char *nonce = json_string_value(json_object_get(nj, "nonce"));
                if (!nonce) {
                        snprintf(j->why, sizeof(j->why), "nonce: HTTP %ld %.200s", code,
                                 out.p ? out.p : "");
                        j->failed = 1;
                } else if (att_sim_enroll_body(sim, nonce, "platform", &honest, &body, NULL,
                                               &e) < 0) {
                        snprintf(j->why, sizeof(j->why), "device: %s", e.msg);
                        j->failed = 1;
                } else {
                        double t2 = now_s();
                        code = post(c, u_enroll, body, strlen(body), &out, hj);
                        double t3 = now_s();
                        if (code != 200) {
                                snprintf(j->why, sizeof(j->why), "enroll: HTTP %ld %.200s", code,
                                         out.p ? out.p : "");
                                j->failed = 1;
                        }
                        j->lat[j->first + i] = (t1 - t0) + (t3 - t2);
                }
                json_decref(nj);
                free(body);
                curl_easy_cleanup(c);
        }
        curl_slist_free_all(hj);
        free(out.p);
        return NULL;
}

/* The floor under any attestation: a new TLS connection and one trivial
 * request (GET /healthz), with the same client and thread layout. */
struct hjob {
        const char *url;
        size_t count;
        int failed;
};

static void *run_healthz(void *arg)
{
        struct hjob *h = arg;
        char u[512];
        struct buf out = {0};
        snprintf(u, sizeof(u), "%s/healthz", h->url);
        for (size_t i = 0; i < h->count && !h->failed; i++) {
                CURL *c = curl_easy_init();
                long code = 0;
                out.n = 0;
                curl_easy_setopt(c, CURLOPT_URL, u);
                curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
                curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
                curl_easy_setopt(c, CURLOPT_SSL_SESSIONID_CACHE, 0L);
                curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
                curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
                if (curl_easy_perform(c) != CURLE_OK ||
                    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK || code != 200)
                        h->failed = 1;
                curl_easy_cleanup(c);
        }
        free(out.p);
        return NULL;
}

static int proc_cpu(long pid, double *ret)
{
        char path[64], line[2048];
        snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
        FILE *f = fopen(path, "r");
        if (!f)
                return -1;
        size_t n = fread(line, 1, sizeof(line) - 1, f);
        fclose(f);
        line[n] = 0;
        char *p = strrchr(line, ')');
        unsigned long ut = 0, st = 0;
        /* after "comm)": state(3) ... utime(14) stime(15) */
        if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut,
                         &st) != 2)
                return -1;
        *ret = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
        return 0;
}

static int cmp_d(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;
        return x < y ? -1 : x > y;
}

/* CPU time of this thread, the same kind of time as the server's
 * utime + stime: other jobs on the machine that preempt the measurement do
 * not inflate it. */
static double cpu_s(void)
{
        struct timespec t;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
        return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Pure crypto of one attestation, server side, in microseconds of CPU. */
static double crypto_cost_us(int rounds, double *ret_verify, double *ret_sign, double *ret_ecdh)
{
        struct cr_key *k = NULL;
        struct rp_err e = {0};
        uint8_t msg[600], *sig = NULL;
        size_t sl = 0;
        memset(msg, 0x5a, sizeof(msg));
        if (cr_key_generate(&k, &e) < 0 || cr_sign(k, msg, sizeof(msg), &sig, &sl, &e) < 0) {
                fprintf(stderr, "attest-bench: %s\n", e.msg);
                exit(1);
        }
        double t0 = cpu_s();
        for (int i = 0; i < rounds; i++)
                if (cr_verify(k, msg, sizeof(msg), sig, sl, &e) < 0)
                        exit(1);
        double tv = (cpu_s() - t0) / rounds;
        t0 = cpu_s();
        for (int i = 0; i < rounds; i++) {
                uint8_t *s2 = NULL;
                size_t l2 = 0;
                if (cr_sign(k, msg, sizeof(msg), &s2, &l2, &e) < 0)
                        exit(1);
                free(s2);
        }
        double ts = (cpu_s() - t0) / rounds;
        /* X25519: the server's key share and the shared secret */
        EVP_PKEY *peer = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
        t0 = cpu_s();
        for (int i = 0; i < rounds; i++) {
                EVP_PKEY *mine = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
                EVP_PKEY_CTX *dc = EVP_PKEY_CTX_new(mine, NULL);
                uint8_t ss[32];
                size_t ssl = sizeof(ss);
                if (!mine || !dc || EVP_PKEY_derive_init(dc) <= 0 ||
                    EVP_PKEY_derive_set_peer(dc, peer) <= 0 || EVP_PKEY_derive(dc, ss, &ssl) <= 0)
                        exit(1);
                EVP_PKEY_CTX_free(dc);
                EVP_PKEY_free(mine);
        }
        double tx = (cpu_s() - t0) / rounds;
        EVP_PKEY_free(peer);
        free(sig);
        cr_key_free(k);
        *ret_verify = tv * 1e6;
        *ret_sign = ts * 1e6;
        *ret_ecdh = tx * 1e6;
        return (6 * tv + 2 * ts + tx) * 1e6;
}

int main(int argc, char **argv)
{
        static const struct option opts[] = {
                {"url", required_argument, NULL, 'u'},
                {"tenant", required_argument, NULL, 't'},
                {"server-pid", required_argument, NULL, 'p'},
                {"n", required_argument, NULL, 'n'},
                {"threads", required_argument, NULL, 'j'},
                {"os-name", required_argument, NULL, 'a'},
                {"os-version", required_argument, NULL, 'v'},
                {"svn", required_argument, NULL, 's'},
                {0},
        };
        const char *url = NULL, *tenant = NULL;
        long pid = 0;
        size_t n = 500, threads = 4;
        struct att_os os = {.name = "rampart-os", .version = "1.0.0", .svn = 1};
        int c;
        while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
                switch (c) {
                case 'u': url = optarg; break;
                case 't': tenant = optarg; break;
                case 'p': pid = strtol(optarg, NULL, 10); break;
                case 'n': n = strtoul(optarg, NULL, 10); break;
                case 'j': threads = strtoul(optarg, NULL, 10); break;
                case 'a': os.name = optarg; break;
                case 'v': os.version = optarg; break;
                case 's': os.svn = (uint32_t)strtoul(optarg, NULL, 10); break;
                default: return 2;
                }
        }
        size_t n_dev = (size_t)(argc - optind);
        if (!url || !tenant || pid <= 0 || n == 0 || threads == 0 || n_dev < threads) {
                fprintf(stderr, "usage: rampart-bench-attest --url URL --tenant TEN --server-pid "
                                "PID [--n N] [--threads T] DEVICE_DIR... (at least T devices)\n");
                return 2;
        }
        char s[200];
        snprintf(s, sizeof(s), "%s-%s", os.name, os.version);
        cr_sha256(s, strlen(s), os.fwid);
        curl_global_init(CURL_GLOBAL_DEFAULT);

        struct att_sim *sims = calloc(n_dev, sizeof(*sims));
        double *lat = calloc(n, sizeof(*lat));
        struct job *jobs = calloc(threads, sizeof(*jobs));
        pthread_t *tid = calloc(threads, sizeof(*tid));
        if (!sims || !lat || !jobs || !tid)
                return 1;
        struct att_forge honest = {0};
        for (size_t i = 0; i < n_dev; i++) {
                struct rp_err e = {0};
                if (att_sim_boot(&sims[i], argv[optind + (int)i], &os, &honest, &e) < 0) {
                        fprintf(stderr, "attest-bench: %s: %s\n", argv[optind + (int)i], e.msg);
                        return 1;
                }
        }
        /* each thread owns a disjoint slice of the devices */
        size_t per_dev = n_dev / threads, per_n = n / threads;
        for (size_t t = 0; t < threads; t++) {
                jobs[t] = (struct job){.url = url, .tenant = tenant, .sims = sims + t * per_dev,
                                       .n_sims = per_dev, .first = t * per_n,
                                       .count = t + 1 == threads ? n - t * per_n : per_n,
                                       .lat = lat};
        }
        double cpu0 = 0, cpu1 = 0;
        if (proc_cpu(pid, &cpu0) < 0) {
                fprintf(stderr, "attest-bench: cannot read /proc/%ld/stat\n", pid);
                return 1;
        }
        double t0 = now_s();
        for (size_t t = 0; t < threads; t++)
                pthread_create(&tid[t], NULL, run_job, &jobs[t]);
        for (size_t t = 0; t < threads; t++)
                pthread_join(tid[t], NULL);
        double wall = now_s() - t0;
        if (proc_cpu(pid, &cpu1) < 0)
                return 1;
        for (size_t t = 0; t < threads; t++)
                if (jobs[t].failed) {
                        fprintf(stderr, "attest-bench: attestation failed: %s\n", jobs[t].why);
                        return 1;
                }
        /* baseline: the same number of bare TLS connections */
        struct hjob *hj = calloc(threads, sizeof(*hj));
        double hc0 = 0, hc1 = 0;
        if (!hj || proc_cpu(pid, &hc0) < 0)
                return 1;
        for (size_t t = 0; t < threads; t++) {
                hj[t] = (struct hjob){.url = url, .count = t + 1 == threads ? n - t * per_n : per_n};
                pthread_create(&tid[t], NULL, run_healthz, &hj[t]);
        }
        for (size_t t = 0; t < threads; t++)
                pthread_join(tid[t], NULL);
        if (proc_cpu(pid, &hc1) < 0)
                return 1;
        for (size_t t = 0; t < threads; t++)
                if (hj[t].failed) {
                        fprintf(stderr, "attest-bench: GET /healthz failed\n");
                        return 1;
                }
        free(hj);
        double base_us = (hc1 - hc0) / (double)n * 1e6;
        qsort(lat, n, sizeof(*lat), cmp_d);
        double v, sg, x;
        double pure = crypto_cost_us(2000, &v, &sg, &x);
        double srv_us = (cpu1 - cpu0) / (double)n * 1e6;
        printf("attestations           %zu (%zu devices, %zu client threads, new TLS connection each)\n",
               n, n_dev, threads);
        printf("throughput             %.1f attestations/s\n", (double)n / wall);
        printf("latency p50 / p99      %.2f ms / %.2f ms\n", lat[n / 2] * 1e3,
               lat[(size_t)((double)n * 0.99) < n ? (size_t)((double)n * 0.99) : n - 1] * 1e3);
        printf("server CPU/attestation %.0f us\n", srv_us);
        printf("pure crypto            %.0f us  (6 x verify %.1f + 2 x sign %.1f + X25519 %.1f)\n",
               pure, v, sg, x);
        printf("ratio                  %.2f x  (target <= 2.00)\n", srv_us / pure);
        printf("floor: TLS connection + GET /healthz  %.0f us server CPU  (its crypto: sign + X25519 = %.0f us)\n",
               base_us, sg + x);
        printf("attestation beyond that floor         %.0f us server CPU  (its crypto: 6 x verify + sign = %.0f us, ratio %.2f x)\n",
               srv_us - base_us, 6 * v + sg, (srv_us - base_us) / (6 * v + sg));
        for (size_t i = 0; i < n_dev; i++)
                att_sim_free(&sims[i]);
        free(sims);
        free(lat);
        free(jobs);
        free(tid);
        curl_global_cleanup();
        return 0;
}

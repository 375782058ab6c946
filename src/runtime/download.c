/* download.c - see download.h. */
#include "runtime/download.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/monitor_key.h"
#include "image/image.h"
#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/fault.h"
#include "lib/fileio.h"

#define IO_CHUNK (64 * 1024)
#define FAULT_EVERY (1024 * 1024)
#define ERR_BODY_MAX 512

struct ctx_hook {
        struct cr_monitor_key *key;
        struct rp_err err;
        bool failed;
};

static CURLcode on_ssl_ctx(CURL *h, void *sslctx, void *ud)
{
        struct ctx_hook *hook = ud;
        (void)h;
        if (cr_monitor_key_use(hook->key, sslctx, &hook->err) < 0) {
                hook->failed = true;
                return CURLE_SSL_CERTPROBLEM;
        }
        return CURLE_OK;
}

static void easy_freep(CURL **h)
{
        if (*h)
                curl_easy_cleanup(*h);
}

static void slist_freep(struct curl_slist **l)
{
        curl_slist_free_all(*l);
}

/* The TLS rules of every agent request (as in http_client.c). */
static int setup(CURL *h, const struct rtd_dl *d, const char *url, struct ctx_hook *hook,
                 char *errbuf, struct rp_err *err)
{
        if (!d->ca_file || !d->ca_file[0])
                return rp_err_set(err, -EINVAL, "no server CA file: the server cannot be "
                                  "authenticated");
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, RTD_DL_CONNECT_TIMEOUT);
        curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
#if CURL_AT_LEAST_VERSION(7, 85, 0)
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
#else
        curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)CURLPROTO_HTTPS);
#endif
        curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
        curl_easy_setopt(h, CURLOPT_PROXY, "");
        curl_easy_setopt(h, CURLOPT_CAINFO, d->ca_file);
        curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
        curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
        curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, NULL);
        if (d->client) {
                hook->key = d->client;
                curl_easy_setopt(h, CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx);
                curl_easy_setopt(h, CURLOPT_SSL_CTX_DATA, hook);
        }
        return 0;
}

static int transport_error(CURLcode c, const struct ctx_hook *hook, const char *what,
                           const char *url, const char *errbuf, struct rp_err *err)
{
        int r = -EHOSTUNREACH;
        if (hook->failed)
                return rp_err_set(err, -EPERM, "%s %s: client certificate: %s", what, url,
                                  hook->err.msg);
        if (c == CURLE_PEER_FAILED_VERIFICATION || c == CURLE_SSL_CACERT_BADFILE ||
            c == CURLE_SSL_CERTPROBLEM || c == CURLE_SSL_CONNECT_ERROR)
                r = -EPERM;
        return rp_err_set(err, r, "%s %s: %s", what, url, errbuf[0] ? errbuf : curl_easy_strerror(c));
}

/* ---- JSON exchange ---- */

struct membuf {
        struct rp_buf b;
        bool too_big;
};

static size_t on_mem(char *p, size_t size, size_t n, void *ud)
{
        struct membuf *m = ud;
        if (rp_buf_append(&m->b, p, size * n) < 0) {
                m->too_big = true;
                return 0;
        }
        return size * n;
}

int rtd_dl_post_json(const struct rtd_dl *d, const char *path, const char *body, size_t max,
                     long *ret_status, char **ret, size_t *ret_len, struct rp_err *err)
{
        _cleanup_(easy_freep) CURL *h = curl_easy_init();
        _cleanup_(slist_freep) struct curl_slist *hdr = NULL;
        _cleanup_free_ char *url = NULL;
        struct membuf m = {.b = {.max = max}};
        struct ctx_hook hook = {0};
        char errbuf[CURL_ERROR_SIZE] = "";
        long status = 0;
        CURLcode c;
        int r;

        if (!h || asprintf(&url, "%s%s", d->base, path) < 0)
                return rp_err_set(err, -ENOMEM, "out of memory");
        r = setup(h, d, url, &hook, errbuf, err);
        if (r < 0)
                return r;
        hdr = curl_slist_append(hdr, "Expect:");
        if (hdr)
                hdr = curl_slist_append(hdr, "Content-Type: application/json");
        if (hdr)
                hdr = curl_slist_append(hdr, "Accept: application/json");
        if (!hdr)
                return rp_err_set(err, -ENOMEM, "out of memory");
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
        curl_easy_setopt(h, CURLOPT_TIMEOUT, RTD_DL_JSON_TIMEOUT);
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_mem);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &m);
        c = curl_easy_perform(h);
        if (c != CURLE_OK) {
                rp_buf_free(&m.b);
                if (m.too_big)
                        return rp_err_set(err, -EFBIG, "POST %s: reply over %zu bytes", url, max);
                return transport_error(c, &hook, "POST", url, errbuf, err);
        }
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        if (rp_buf_terminate(&m.b) < 0) {
                rp_buf_free(&m.b);
                return rp_err_set(err, -ENOMEM, "out of memory");
        }
        *ret_status = status;
        *ret = (char *)rp_buf_steal(&m.b, ret_len);
        return 0;
}

/* ---- image download ---- */

static void img_stream_freep(struct img_stream **s)
{
        img_stream_free(*s);
}

/* The last completed download: its verifier (fed every byte, not yet
 * finalised: that needs the keys) and the file it describes. */
static struct {
        struct img_stream *s;
        struct stat st;
        uint8_t sha256[CR_SHA256_LEN];
} last;

static void remember(struct img_stream *s, const struct stat *st,
                     const uint8_t sha256[CR_SHA256_LEN])
{
        img_stream_free(last.s);
        last.s = s;
        last.st = *st;
        memcpy(last.sha256, sha256, CR_SHA256_LEN);
}

struct dl {
        int fd;
        struct cr_sha256_ctx *sha;
        struct img_stream *vfy; /* the package verified as it arrives */
        bool vfy_fault;         /* it refused the bytes: rtd_install_check reads them again */
        uint64_t have;          /* bytes in the file (and hashed) */
        uint64_t start;         /* bytes held when the request was sent */
        uint64_t length;        /* expected total */
        uint64_t since_fault;
        bool decided;           /* the status was looked at */
        bool body_is_error;     /* not 200/206: keep a little of the body for the message */
        bool excess;            /* a byte past the expected length arrived */
        int io_error;
        long status;
        char content_range[96];
        struct rp_buf errbody;
        CURL *h;
};

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
        struct dl *x = ud;
        size_t len = size * n;
        static const char cr[] = "content-range:";

        if (len >= 5 && !strncmp(p, "HTTP/", 5))
                x->content_range[0] = 0;        /* a new response (after 100-continue) */
        if (len > sizeof(cr) - 1 && !strncasecmp(p, cr, sizeof(cr) - 1)) {
                size_t i = sizeof(cr) - 1, j = 0;
                while (i < len && (p[i] == ' ' || p[i] == '\t'))
                        i++;
                while (i < len && p[i] != '\r' && p[i] != '\n' && j + 1 < sizeof(x->content_range))
                        x->content_range[j++] = p[i++];
                x->content_range[j] = 0;
        }
        return len;
}

/* "bytes A-B/LEN" continuing at `start` and ending at `length` - 1. */
static bool range_continues(const char *s, uint64_t start, uint64_t length)
{
        unsigned long long a, b, total;
        int used = 0;
        if (sscanf(s, "bytes %llu-%llu/%llu%n", &a, &b, &total, &used) != 3 || s[used])
                return false;
        return a == start && b + 1 == length && total == length;
}

static int restart(struct dl *x)
{
        if (ftruncate(x->fd, 0) < 0 || lseek(x->fd, 0, SEEK_SET) < 0)
                return -errno;
        cr_sha256_free(x->sha);
        x->sha = cr_sha256_new();
        if (!x->sha)
                return -ENOMEM;
        img_stream_reset(x->vfy);
        x->vfy_fault = false;
        x->have = 0;
        return 0;
}

/* The verifier sees exactly the bytes the hash sees. */
static void feed(struct dl *x, const void *p, size_t len)
{
        cr_sha256_update(x->sha, p, len);
        if (!x->vfy_fault && img_stream_update(x->vfy, p, len, NULL) < 0)
                x->vfy_fault = true;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
        struct dl *x = ud;
        size_t len = size * n;
        int r;

        if (!x->decided) {
                x->decided = true;
                curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &x->status);
                if (x->status == 200 && x->start > 0) {
                        /* the server ignored the range: start over */
                        if ((r = restart(x)) < 0) {
                                x->io_error = r;
                                return 0;
                        }
                } else if (x->status == 206) {
                        if (!range_continues(x->content_range, x->start, x->length)) {
                                x->body_is_error = true;
                                return 0;
                        }
                } else if (x->status != 200) {
                        x->body_is_error = true;
                }
        }
        if (x->body_is_error) {
                size_t room = x->errbody.len < ERR_BODY_MAX ? ERR_BODY_MAX - x->errbody.len : 0;
                if (room && rp_buf_append(&x->errbody, p, len < room ? len : room) < 0)
                        return 0;
                return len;
        }
        if (len > x->length - x->have) {
                /* more than the length cap: keep the expected prefix, stop */
                size_t keep = (size_t)(x->length - x->have);
                if (keep && (r = rp_write_all(x->fd, p, keep)) == 0) {
                        feed(x, p, keep);
                        x->have += keep;
                }
                x->excess = true;
                return 0;
        }
        r = rp_write_all(x->fd, p, len);
        if (r < 0) {
                x->io_error = r;
                return 0;
        }
        feed(x, p, len);
        x->have += len;
        x->since_fault += len;
        if (x->since_fault >= FAULT_EVERY) {
                x->since_fault = 0;
                RP_FAULT_POINT("agent-download");
        }
        return len;
}

/* Hashes the first `len` bytes of fd into sha (resume); x (may be NULL)
 * gets them too. */
static int rehash(int fd, uint64_t len, struct cr_sha256_ctx *sha, struct dl *x)
{
        uint8_t buf[IO_CHUNK];
        uint64_t left = len;

        if (lseek(fd, 0, SEEK_SET) < 0)
                return -errno;
        while (left) {
                ssize_t n = read(fd, buf, left < sizeof(buf) ? (size_t)left : sizeof(buf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return n < 0 ? -errno : -EIO;
                if (x)
                        feed(x, buf, (size_t)n);
                else
                        cr_sha256_update(sha, buf, (size_t)n);
                left -= (uint64_t)n;
        }
        return 0;
}

int rtd_dl_hash_file(const char *path, uint8_t out[CR_SHA256_LEN], uint64_t *ret_len,
                     struct rp_err *err)
{
        _cleanup_(cr_sha256_freep) struct cr_sha256_ctx *sha = cr_sha256_new();
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        struct stat st;
        int r;

        if (!sha)
                return rp_err_set(err, -ENOMEM, "out of memory");
        if (fd < 0)
                return rp_err_set(err, -errno, "cannot open '%s': %s", path, strerror(errno));
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
                return rp_err_set(err, -EINVAL, "'%s' is not a regular file", path);
        r = rehash(fd, (uint64_t)st.st_size, sha, NULL);
        if (r < 0)
                return rp_err_set(err, r, "cannot read '%s': %s", path, strerror(-r));
        cr_sha256_final(sha, out);
        *ret_len = (uint64_t)st.st_size;
        return 0;
}

static void hex32(const uint8_t *b, char out[17])
{
        static const char hx[] = "0123456789abcdef";
        for (int i = 0; i < 8; i++) {
                out[2 * i] = hx[b[i] >> 4];
                out[2 * i + 1] = hx[b[i] & 15];
        }
        out[16] = 0;
}

int rtd_dl_image(const struct rtd_dl *d, const char *path, const char *dest, uint64_t length,
                 const uint8_t sha256[CR_SHA256_LEN], struct rtd_dl_result *ret,
                 struct rp_err *err)
{
        _cleanup_(easy_freep) CURL *h = curl_easy_init();
        _cleanup_free_ char *url = NULL, *part = NULL;
        _cleanup_close_ int fd = -1;
        _cleanup_(img_stream_freep) struct img_stream *vfy = img_stream_new();
        struct ctx_hook hook = {0};
        char errbuf[CURL_ERROR_SIZE] = "";
        struct dl x = {.fd = -1, .errbody = {.max = ERR_BODY_MAX + 1}};
        uint8_t got[CR_SHA256_LEN];
        struct stat st;
        CURLcode c;
        int r;

        if (!h || !vfy || asprintf(&url, "%s%s", d->base, path) < 0 ||
            asprintf(&part, "%s.part", dest) < 0)
                return rp_err_set(err, -ENOMEM, "out of memory");
        x.vfy = vfy;
        if (length == 0)
                return rp_err_set(err, -EINVAL, "image length 0");
        fd = open(part, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0 || fstat(fd, &st) < 0)
                return rp_err_set(err, -errno, "cannot open '%s': %s", part, strerror(errno));
        x.fd = fd;
        x.length = length;
        x.sha = cr_sha256_new();
        if (!x.sha)
                return rp_err_set(err, -ENOMEM, "out of memory");
        if ((uint64_t)st.st_size > length) {
                /* cannot be a prefix of the image: start over */
                r = restart(&x);
        } else {
                x.have = (uint64_t)st.st_size;
                r = rehash(fd, x.have, x.sha, &x);
        }
        if (r == 0 && lseek(fd, (off_t)x.have, SEEK_SET) < 0)
                r = -errno;
        if (r < 0) {
                cr_sha256_free(x.sha);
                return rp_err_set(err, r, "cannot resume '%s': %s", part, strerror(-r));
        }
        x.start = x.have;
        x.h = h;
        ret->resumed_from = x.start;
        ret->received = 0;
        if (x.have < length) {
                r = setup(h, d, url, &hook, errbuf, err);
                if (r < 0) {
                        cr_sha256_free(x.sha);
                        return r;
                }
                curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
                if (x.start)
                        curl_easy_setopt(h, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)x.start);
                curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT,
                                 d->min_rate > 0 ? d->min_rate : RTD_DL_DEFAULT_MIN_RATE);
                curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME,
                                 d->low_speed_s > 0 ? d->low_speed_s : RTD_DL_DEFAULT_LOW_SPEED_S);
                curl_easy_setopt(h, CURLOPT_BUFFERSIZE, (long)IO_CHUNK);
                curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
                curl_easy_setopt(h, CURLOPT_HEADERDATA, &x);
                curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
                curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);
                c = curl_easy_perform(h);
                ret->received = x.have - x.start;
                if (!x.decided)
                        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &x.status);
                if (x.excess) {
                        cr_sha256_free(x.sha);
                        rp_buf_free(&x.errbody);
                        if (ftruncate(fd, (off_t)length) < 0)
                                return rp_err_set(err, -errno, "cannot truncate '%s'", part);
                        return rp_err_set(err, -EBADMSG, "GET %s: the server sent more than the "
                                          "%" PRIu64 " bytes the signed metadata allow: transfer "
                                          "aborted", url, length);
                }
                if (x.io_error) {
                        cr_sha256_free(x.sha);
                        rp_buf_free(&x.errbody);
                        return rp_err_set(err, x.io_error, "cannot write '%s': %s", part,
                                          strerror(-x.io_error));
                }
                if (x.body_is_error || (c == CURLE_OK && x.status != 200 && x.status != 206) ||
                    (c == CURLE_OK && !x.decided && x.status != 200 && x.status != 206)) {
                        const char *why = x.status == 206 ? "a Content-Range that does not "
                                                            "continue the partial file" : "status";
                        if (rp_buf_terminate(&x.errbody) < 0)
                                x.errbody.len = 0;
                        r = rp_err_set(err, -EPROTO, "GET %s: HTTP %ld (%s%s%s)%s%.200s", url,
                                       x.status, why, x.status == 206 ? ": " : "",
                                       x.status == 206 ? x.content_range : "",
                                       x.errbody.len ? ": " : "",
                                       x.errbody.len ? (const char *)x.errbody.data : "");
                        cr_sha256_free(x.sha);
                        rp_buf_free(&x.errbody);
                        return r;
                }
                rp_buf_free(&x.errbody);
                if (c != CURLE_OK) {
                        cr_sha256_free(x.sha);
                        if (c == CURLE_OPERATION_TIMEDOUT)
                                return rp_err_set(err, -EAGAIN, "GET %s: slower than %ld bytes/s "
                                                  "for %ld s (%" PRIu64 " of %" PRIu64 " bytes "
                                                  "held): transfer aborted", url,
                                                  d->min_rate > 0 ? d->min_rate
                                                                  : RTD_DL_DEFAULT_MIN_RATE,
                                                  d->low_speed_s > 0 ? d->low_speed_s
                                                                     : RTD_DL_DEFAULT_LOW_SPEED_S,
                                                  x.have, length);
                        r = transport_error(c, &hook, "GET", url, errbuf, err);
                        if (r == -EHOSTUNREACH && err) {
                                char m[RP_ERR_MSG_MAX];
                                snprintf(m, sizeof(m), "%s", err->msg);
                                r = rp_err_set(err, -EAGAIN, "%s", m);
                        }
                        return r == -EHOSTUNREACH ? -EAGAIN : r;
                }
        }
        if (x.have < length) {
                cr_sha256_free(x.sha);
                return rp_err_set(err, -EAGAIN, "GET %s: the transfer ended after %" PRIu64
                                  " of %" PRIu64 " bytes", url, x.have, length);
        }
        cr_sha256_final(x.sha, got);
        cr_sha256_free(x.sha);
        if (!cr_memeq(got, sha256, CR_SHA256_LEN)) {
                char g[17], w[17];
                hex32(got, g);
                hex32(sha256, w);
                unlink(part);
                return rp_err_set(err, -EBADMSG, "GET %s: the %" PRIu64 " bytes hash to sha256 "
                                  "%s..., the signed metadata say %s...", url, length, g, w);
        }
        /* No fsync: a file torn by a power loss is caught by the hash check
         * every user of DEST makes first (the agent hashes a .pkg it finds
         * before using it, the monitor verifies it, and a torn .part fails
         * its final hash). The slot copy is made durable by the monitor. */
        if (rename(part, dest) < 0)
                return rp_err_set(err, -errno, "cannot rename '%s': %s", part, strerror(errno));
        if (!x.vfy_fault && img_stream_fed(vfy) == length && fstat(fd, &st) == 0)
                remember(steal_ptr(vfy), &st, sha256);
        return 0;
}

struct img_stream *rtd_dl_take_verifier(int fd, const uint8_t sha256[CR_SHA256_LEN])
{
        struct img_stream *s = last.s;
        struct stat st;
        bool same;

        if (!s)
                return NULL;
        last.s = NULL;
        same = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_dev == last.st.st_dev &&
               st.st_ino == last.st.st_ino && st.st_size == last.st.st_size &&
               st.st_mtim.tv_sec == last.st.st_mtim.tv_sec &&
               st.st_mtim.tv_nsec == last.st.st_mtim.tv_nsec &&
               st.st_ctim.tv_sec == last.st.st_ctim.tv_sec &&
               st.st_ctim.tv_nsec == last.st.st_ctim.tv_nsec &&
               cr_memeq(sha256, last.sha256, CR_SHA256_LEN);
        if (same)
                return s;
        img_stream_free(s);
        return NULL;
}

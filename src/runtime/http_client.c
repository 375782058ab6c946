/* http_client.c - see http_client.h. */
#include "runtime/http_client.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/monitor_key.h"
#include "lib/buf.h"
#include "lib/cleanup.h"

struct xfer {
        struct rp_buf body;
        bool too_big;
};

struct ctx_hook {
        struct cr_monitor_key *key;
        struct rp_err err;
        bool failed;
};

void rtd_http_resp_clear(struct rtd_http_resp *r)
{
        free(r->body);
        memset(r, 0, sizeof(*r));
}

int rtd_http_global_init(struct rp_err *err)
{
        CURLcode c = curl_global_init(CURL_GLOBAL_DEFAULT);
        if (c != CURLE_OK)
                return rp_err_set(err, -EIO, "cannot initialise libcurl: %s",
                                  curl_easy_strerror(c));
        return 0;
}

void rtd_http_global_cleanup(void)
{
        curl_global_cleanup();
}

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
        struct xfer *x = ud;
        size_t len = size * n;

        if (rp_buf_append(&x->body, p, len) < 0) {
                x->too_big = true;
                return 0;       /* aborts the transfer */
        }
        return len;
}

static CURLcode on_ssl_ctx(CURL *h, void *sslctx, void *ud)
{
        struct ctx_hook *hook = ud;
        if (cr_monitor_key_use(hook->key, sslctx, &hook->err) < 0) {
                hook->failed = true;
                return CURLE_SSL_CERTPROBLEM;
        }
        return CURLE_OK;
}

static void slist_freep(struct curl_slist **l)
{
        curl_slist_free_all(*l);
}

static void easy_freep(CURL **h)
{
        if (*h)
                curl_easy_cleanup(*h);
}

int rtd_http_request(const struct rtd_http *hc, const char *method, const char *path,
                     const char *content_type, const void *body, size_t len, const char *accept,
                     struct rtd_http_resp *ret, struct rp_err *err)
{
        _cleanup_(easy_freep) CURL *h = curl_easy_init();
        _cleanup_(slist_freep) struct curl_slist *hdr = NULL;
        _cleanup_free_ char *url = NULL, *ct = NULL, *acc = NULL;
        struct xfer x = {.body = {.max = RTD_HTTP_MAX_RESPONSE}};
        struct ctx_hook hook = {.key = hc->client};
        char errbuf[CURL_ERROR_SIZE] = "";
        struct rtd_http_resp resp = {0};
        const char *rct = NULL;
        CURLcode c;
        int r;

        if (!h || asprintf(&url, "%s%s", hc->base, path) < 0)
                return rp_err_set(err, -ENOMEM, "out of memory");
        if (!hc->ca_file || !hc->ca_file[0])
                return rp_err_set(err, -EINVAL, "no server CA file: the server cannot be "
                                  "authenticated");
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, RTD_HTTP_CONNECT_TIMEOUT);
        curl_easy_setopt(h, CURLOPT_TIMEOUT, RTD_HTTP_TIMEOUT);
        curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
#if CURL_AT_LEAST_VERSION(7, 85, 0)
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
#else
        curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)CURLPROTO_HTTPS);
#endif
        curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
        curl_easy_setopt(h, CURLOPT_PROXY, "");
        curl_easy_setopt(h, CURLOPT_CAINFO, hc->ca_file);
        curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
        curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
        if (hc->client) {
                curl_easy_setopt(h, CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx);
                curl_easy_setopt(h, CURLOPT_SSL_CTX_DATA, &hook);
        }
        if (content_type && asprintf(&ct, "Content-Type: %s", content_type) < 0)
                return rp_err_set(err, -ENOMEM, "out of memory");
        if (accept && asprintf(&acc, "Accept: %s", accept) < 0)
                return rp_err_set(err, -ENOMEM, "out of memory");
        hdr = curl_slist_append(hdr, "Expect:");
        if (hdr && ct)
                hdr = curl_slist_append(hdr, ct);
        if (hdr && acc)
                hdr = curl_slist_append(hdr, acc);
        if (!hdr)
                return rp_err_set(err, -ENOMEM, "out of memory");
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
        if (!strcmp(method, "GET")) {
                curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
        } else {
                curl_easy_setopt(h, CURLOPT_POST, 1L);
                curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? (const char *)body : "");
                curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? len : 0));
                if (strcmp(method, "POST"))
                        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        }
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);

        c = curl_easy_perform(h);
        if (c != CURLE_OK) {
                rp_buf_free(&x.body);
                if (hook.failed)
                        return rp_err_set(err, -EPERM, "%s %s: client certificate: %s", method,
                                          url, hook.err.msg);
                if (x.too_big)
                        return rp_err_set(err, -EFBIG, "%s %s: response over %d bytes", method,
                                          url, RTD_HTTP_MAX_RESPONSE);
                r = -EHOSTUNREACH;
                if (c == CURLE_PEER_FAILED_VERIFICATION || c == CURLE_SSL_CACERT_BADFILE ||
                    c == CURLE_SSL_CERTPROBLEM || c == CURLE_SSL_PINNEDPUBKEYNOTMATCH ||
                    c == CURLE_SSL_CONNECT_ERROR)
                        r = -EPERM;
                return rp_err_set(err, r, "%s %s: %s", method, url,
                                  errbuf[0] ? errbuf : curl_easy_strerror(c));
        }
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp.status);
        if (curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &rct) == CURLE_OK && rct)
                snprintf(resp.content_type, sizeof(resp.content_type), "%s", rct);
        if (rp_buf_terminate(&x.body) < 0) {
                rp_buf_free(&x.body);
                return rp_err_set(err, -ENOMEM, "out of memory");
        }
        resp.body = (char *)rp_buf_steal(&x.body, &resp.len);
        *ret = resp;
        return 0;
}

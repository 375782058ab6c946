/* http_client.h - rampartd's HTTPS client for the device routes (libcurl).
 *
 * The server is authenticated against a CA file (DATA/server-ca.pem or the
 * one in the OS image; docs/device.md): chain and host name are verified,
 * TLS 1.2 or later, https only, no redirects, no proxies from the
 * environment. The device authenticates with a certificate whose private
 * key stays in the monitor (crypto/monitor_key.h), installed through
 * CURLOPT_SSL_CTX_FUNCTION; without one the request carries no client
 * certificate (nonce, simpleenroll, cacerts).
 *
 * Every response body is capped at RTD_HTTP_MAX_RESPONSE bytes and every
 * request at RTD_HTTP_TIMEOUT seconds, so one call blocks rampartd's loop
 * for a bounded time. */
#pragma once
#include <stddef.h>

#include "lib/err.h"

#define RTD_HTTP_MAX_RESPONSE (256 * 1024)
#define RTD_HTTP_CONNECT_TIMEOUT 10L
#define RTD_HTTP_TIMEOUT 30L

struct cr_monitor_key;

struct rtd_http {
        const char *base;               /* "https://host:port" */
        const char *ca_file;            /* PEM the server certificate must chain to */
        struct cr_monitor_key *client;  /* borrowed; NULL = no client certificate */
};

struct rtd_http_resp {
        long status;
        char *body;                     /* malloc'd, NUL-terminated (not counted) */
        size_t len;
        char content_type[128];
};
void rtd_http_resp_clear(struct rtd_http_resp *r);

/* Call once before any request (curl_global_init). */
int rtd_http_global_init(struct rp_err *err) RP_WUR;
void rtd_http_global_cleanup(void);

/* One request to base + path. body may be NULL (empty). Returns 0 when an
 * HTTP exchange completed (any status, in ret->status); -EHOSTUNREACH for
 * connection failures and timeouts, -EPERM when TLS authentication failed
 * either way, -EFBIG for an oversized response; each with a message. */
int rtd_http_request(const struct rtd_http *h, const char *method, const char *path,
                     const char *content_type, const void *body, size_t len, const char *accept,
                     struct rtd_http_resp *ret, struct rp_err *err) RP_WUR;

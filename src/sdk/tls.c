/* tls.c - device authentication for apps: the app certificate comes from
 * rampartd, and every signature is a request to rampartd, which checks the
 * DeviceAuthentication capability and has the monitor sign with the
 * certificate's key. The key never enters this process; the remote-key glue
 * is the one rampartd uses for itself (crypto/monitor_key.h). */
#include "../../include/rampart/tls.h"
#include "../../include/rampart/rampart.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/monitor_key.h"
#include "runtime/appctl.h"
#include "sdk/sdk_int.h"

#define CERT_MAX (16 * 1024)

static pthread_mutex_t key_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cr_monitor_key *device_key;   /* built once per process */

static int remote_sign(void *ud, const uint8_t digest[CR_SHA256_LEN], uint8_t **ret_sig, size_t *ret_len)
{
        uint8_t *sig = malloc(RTD_APPCTL_MAX_PAYLOAD + 1);
        size_t len = 0;
        (void)ud;
        if (!sig)
                return -ENOMEM;
        int r = rp_sdk_call("TLS signature", RTD_OP_TLS_SIGN, 0, digest, CR_SHA256_LEN, sig,
                            RTD_APPCTL_MAX_PAYLOAD + 1, &len, NULL, NULL);
        if (r < 0 || len == 0) {
                free(sig);
                return r < 0 ? r : -EPROTO;
        }
        *ret_sig = sig;
        *ret_len = len;
        return 0;
}

static int get_key(const char *call, struct cr_monitor_key **ret)
{
        static char pem[CERT_MAX + 1];
        struct cr_cert *cert = NULL;
        struct rp_err e = {0};
        size_t len = 0;
        int r = 0;

        pthread_mutex_lock(&key_lock);
        if (!device_key) {
                r = rp_sdk_call(call, RTD_OP_TLS_CERT, 0, NULL, 0, pem, sizeof(pem), &len, NULL, NULL);
                if (r == 0 && (r = cr_cert_from_pem(pem, len, &cert, &e)) == 0) {
                        r = cr_monitor_key_new(cert, remote_sign, NULL, &device_key, &e);
                        cr_cert_free(cert);
                }
                if (r < 0 && e.msg[0])
                        rp_logf("rampart: %s: %s", call, e.msg);
        }
        *ret = device_key;
        pthread_mutex_unlock(&key_lock);
        return r;
}

int rp_tls_ctx_use_device_auth(SSL_CTX *ctx)
{
        struct cr_monitor_key *k;
        struct rp_err e = {0};
        int r = get_key("rp_tls_ctx_use_device_auth", &k);
        if (r < 0)
                return r;
        if ((r = cr_monitor_key_use(k, ctx, &e)) < 0)
                rp_logf("rampart: rp_tls_ctx_use_device_auth: %s", e.msg);
        return r;
}

int rp_tls_ctx_new(SSL_CTX **ret)
{
        SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
        int r;
        if (!ctx)
                return -ENOMEM;
        SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
        if ((r = rp_tls_ctx_use_device_auth(ctx)) < 0) {
                SSL_CTX_free(ctx);
                return r;
        }
        *ret = ctx;
        return 0;
}

static CURLcode curl_ctx_cb(CURL *curl, void *sslctx, void *ud)
{
        (void)curl;
        (void)ud;
        return rp_tls_ctx_use_device_auth(sslctx) < 0 ? CURLE_SSL_CERTPROBLEM : CURLE_OK;
}

int rp_curl_use_device_auth(void *curl)
{
        struct cr_monitor_key *k;
        int r = get_key("rp_curl_use_device_auth", &k);
        if (r < 0)
                return r;
        if (curl_easy_setopt(curl, CURLOPT_SSL_CTX_FUNCTION, curl_ctx_cb) != CURLE_OK ||
            curl_easy_setopt(curl, CURLOPT_SSL_CTX_DATA, NULL) != CURLE_OK)
                return -ENOTSUP;
        return 0;
}

/* rampart/tls.h - device authentication for apps (DeviceAuthentication).
 *
 * The app proves it runs on this device, attested, with the device's app
 * certificate. The certificate's private key stays in the device's security
 * monitor: every signature the TLS handshake needs is made there, through
 * rampartd, which checks the capability first. The key never enters the
 * app's address space. */
#pragma once
#include <openssl/ssl.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A new TLS client context (TLS 1.2+) presenting the device's app
 * certificate. The caller adds the server's trust anchors
 * (SSL_CTX_load_verify_locations) and frees it with SSL_CTX_free.
 * -EACCES without the DeviceAuthentication capability; -ENOENT while the
 * device has no app certificate (not attested yet). */
int rp_tls_ctx_new(SSL_CTX **ret) __attribute__((warn_unused_result));
/* Installs the certificate and remote key on an existing context. */
int rp_tls_ctx_use_device_auth(SSL_CTX *ctx) __attribute__((warn_unused_result));

/* Sets up a libcurl easy handle (CURL *, passed as void * so this header
 * needs no curl headers) to authenticate with the device certificate:
 * CURLOPT_SSL_CTX_FUNCTION installs the remote key on each context curl
 * makes. Requires an OpenSSL-backed libcurl. */
int rp_curl_use_device_auth(void *curl) __attribute__((warn_unused_result));

#ifdef __cplusplus
}
#endif

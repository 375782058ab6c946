/* tls.h - TLS server contexts for rampart-server (OpenSSL). TLS 1.3 only,
 * P-256 certificate, no session tickets needed by clients. Optional client
 * certificate request for mTLS routes: the handshake accepts any (or no)
 * client certificate and the route verifies the presented chain itself
 * against the tenant CA, so a device with an expired certificate can still
 * reach the enroll route. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

struct ssl_ctx_st;      /* SSL_CTX */
struct ssl_st;          /* SSL */
struct cr_cert;
struct cr_key;

struct cr_tls_server_opts {
        const char *cert_file;          /* PEM, leaf first, optional chain */
        const char *key_file;           /* PEM private key */
        bool request_client_cert;
};

/* New SSL_CTX the caller frees with cr_tls_ctx_free. */
int cr_tls_server_ctx(const struct cr_tls_server_opts *o, struct ssl_ctx_st **ret,
                      struct rp_err *err) RP_WUR;
void cr_tls_ctx_free(struct ssl_ctx_st *ctx);
struct ssl_st *cr_tls_new_ssl(struct ssl_ctx_st *ctx);
/* Peer certificate of a connection as a cr_cert (new reference); -ENOENT
 * when the peer sent none. */
int cr_tls_peer_cert(struct ssl_st *ssl, struct cr_cert **ret) RP_WUR;
/* Bytes received on the connection so far (for drain/idle decisions). */
uint64_t cr_tls_bytes_read(struct ssl_st *ssl);

/* Per-connection application data: one pointer stored on the SSL object.
 * cr_tls_app_data_init() registers `on_free`, called with the pointer when
 * the SSL object is freed (never with NULL). Call once per process. */
int cr_tls_app_data_init(void (*on_free)(void *ptr)) RP_WUR;
void cr_tls_set_app_data(struct ssl_st *ssl, void *ptr);
void *cr_tls_get_app_data(struct ssl_st *ssl);

/* Self-signed P-256 server certificate for first start: CN "rampart-server",
 * SAN DNS localhost, IP 127.0.0.1 and ::1, serverAuth, valid `days`. Writes
 * key (0600) and cert PEM files atomically. */
int cr_tls_make_self_signed(const char *cert_file, const char *key_file, int days,
                            struct rp_err *err) RP_WUR;
/* Fingerprints of a certificate file: SHA-256 of the DER as "AB:CD:..."
 * (96 bytes incl. NUL) and the SPKI pin "sha256//<base64>" (curl's
 * CURLOPT_PINNEDPUBLICKEY format, 60 bytes incl. NUL). */
#define CR_TLS_FPR_LEN 96
#define CR_TLS_PIN_LEN 60
int cr_tls_cert_fingerprints(const char *cert_file, char fpr[CR_TLS_FPR_LEN],
                             char pin[CR_TLS_PIN_LEN], struct rp_err *err) RP_WUR;

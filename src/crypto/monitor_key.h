/* monitor_key.h - a TLS client identity whose private key is held elsewhere.
 *
 * The device's TLS keys live inside rampart-boot (the security monitor) and
 * never enter the normal world. This module builds an OpenSSL key object
 * that carries only the public half of a certificate's key and routes every
 * ECDSA signature to a callback -- in rampartd the callback is the monitor's
 * tls-sign request -- and installs it with the certificate on an SSL_CTX.
 * libcurl reaches it through CURLOPT_SSL_CTX_FUNCTION; librampart will reuse
 * it for apps that hold the DeviceAuthentication capability.
 *
 * Only P-256 with SHA-256 is offered (the client signature algorithms of the
 * context are restricted to ECDSA+SHA256, so the callback always gets a
 * 32-byte digest). Each signature the callback returns is checked against the
 * certificate's public key before OpenSSL sends it: a stale key handle (keys
 * die with the boot) shows up as a clear error, not as a handshake failure
 * on the server.
 *
 * Trusts: the callback's output only after that check. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"
#include "lib/err.h"

struct ssl_ctx_st;      /* SSL_CTX */

/* Signs a SHA-256 digest with the remote key; returns 0 and a malloc'd DER
 * ECDSA signature, or a negative errno (the handshake then fails). */
typedef int (*cr_remote_sign_fn)(void *userdata, const uint8_t digest[CR_SHA256_LEN],
                                 uint8_t **ret_sig_der, size_t *ret_len);

struct cr_monitor_key;

/* A key for `cert` (P-256 only; the certificate gains a reference) whose
 * signatures come from `sign`. `userdata` is borrowed and must outlive every
 * SSL_CTX the key is installed on. */
int cr_monitor_key_new(struct cr_cert *cert, cr_remote_sign_fn sign, void *userdata,
                       struct cr_monitor_key **ret, struct rp_err *err) RP_WUR;
/* Drops this handle's references (contexts using the key keep theirs).
 * Accepts NULL. */
void cr_monitor_key_free(struct cr_monitor_key *k);
static inline void cr_monitor_key_freep(struct cr_monitor_key **k) { cr_monitor_key_free(*k); }

/* Installs the certificate and the key on `ctx` and restricts the client
 * signature algorithms to ECDSA+SHA256. */
int cr_monitor_key_use(struct cr_monitor_key *k, struct ssl_ctx_st *ctx,
                       struct rp_err *err) RP_WUR;

/* Number of signatures the callback produced that verified (tests). */
unsigned long cr_monitor_key_signatures(const struct cr_monitor_key *k);

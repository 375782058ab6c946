/* crypto.h - the one place that talks to OpenSSL.
 *
 * Everything else in Rampart uses these handles and functions; no other
 * folder includes an OpenSSL header (except the TLS glue in src/server and
 * src/runtime, which take SSL_CTX from here via crypto_tls.h).
 *
 * Algorithms: ECDSA P-256 with SHA-256 for every signature, SHA-256/512,
 * HKDF-SHA-512. Keys are opaque `struct cr_key` handles (private or public
 * only). Certificates are opaque `struct cr_cert`, CSRs `struct cr_csr`.
 *
 * Ownership: functions named _new/_generate/_load/_parse/_issue return a new
 * handle the caller frees with the matching _free (which accepts NULL).
 * Buffers returned through uint8_t ** / char ** are malloc'd; caller frees.
 * Secrets are wiped before their memory is released.
 *
 * Errors: 0 or negative errno; messages include OpenSSL's own error text. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include "lib/err.h"

#define CR_SHA256_LEN 32
#define CR_SHA512_LEN 64
#define CR_P256_PUB_LEN 65      /* uncompressed point 04||X||Y */
#define CR_P256_SCALAR_LEN 32
#define CR_SIG_RAW_LEN 64       /* r||s, 32 bytes each */
#define CR_SIG_DER_MAX 72
#define CR_KEY_ID_LEN 32        /* SHA-256 of the SubjectPublicKeyInfo DER */
#define CR_MAX_PEM (64 * 1024)  /* cap on any key/cert/CSR file we read */

/* ---- random, compare, wipe ---- */
int cr_random(void *buf, size_t len) RP_WUR;
/* Constant-time equality of two equal-length buffers. */
bool cr_memeq(const void *a, const void *b, size_t len);
void cr_wipe(void *p, size_t len);

/* ---- hashing ---- */
void cr_sha256(const void *data, size_t len, uint8_t out[CR_SHA256_LEN]);
void cr_sha512(const void *data, size_t len, uint8_t out[CR_SHA512_LEN]);
struct cr_sha256_ctx;   /* streaming SHA-256 (hardware accelerated via EVP) */
struct cr_sha256_ctx *cr_sha256_new(void);
void cr_sha256_update(struct cr_sha256_ctx *c, const void *data, size_t len);
void cr_sha256_final(struct cr_sha256_ctx *c, uint8_t out[CR_SHA256_LEN]);
void cr_sha256_free(struct cr_sha256_ctx *c);

/* HKDF-SHA-512 (RFC 5869), extract + expand. salt/info may be NULL/0. */
int cr_hkdf_sha512(const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len,
                   const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len) RP_WUR;

/* ---- keys ---- */
struct cr_key;
int cr_key_generate(struct cr_key **ret, struct rp_err *err) RP_WUR;
/* Deterministic P-256 key pair from a 32-byte seed: the scalar is derived
 * from the seed (HKDF-SHA-512 expansion reduced into [1, n-1], so every seed
 * gives a valid key) and the public point is computed. Same seed, same key,
 * on every OpenSSL version. Exactly:
 *   okm = HKDF-SHA-512(salt = none, ikm = seed, info = "rampart p256 scalar",
 *                      L = 64)
 *   d   = (okm as a big-endian integer mod (n - 1)) + 1,  pub = d * G
 * Golden vectors: tests/data/crypto/seed-vectors.txt (seed_vectors.py). */
int cr_key_from_seed(const uint8_t seed[32], struct cr_key **ret, struct rp_err *err) RP_WUR;
void cr_key_free(struct cr_key *k);
bool cr_key_is_private(const struct cr_key *k);

/* PEM: private keys as PKCS#8, public keys as SubjectPublicKeyInfo. Files
 * holding private keys are written with mode 0600 atomically. */
int cr_key_load_pem(const char *path, struct cr_key **ret, struct rp_err *err) RP_WUR;
int cr_key_save_pem(const char *path, const struct cr_key *k, bool private_part,
                    struct rp_err *err) RP_WUR;
int cr_key_from_pem(const void *pem, size_t len, struct cr_key **ret, struct rp_err *err) RP_WUR;
int cr_key_to_pem(const struct cr_key *k, bool private_part, char **ret_pem,
                  struct rp_err *err) RP_WUR;
/* SubjectPublicKeyInfo DER; only P-256 keys are accepted on load. */
int cr_key_pub_to_der(const struct cr_key *k, uint8_t **ret_der, size_t *ret_len) RP_WUR;
int cr_key_pub_from_der(const void *der, size_t len, struct cr_key **ret,
                        struct rp_err *err) RP_WUR;
/* Raw uncompressed point. */
int cr_key_pub_raw(const struct cr_key *k, uint8_t out[CR_P256_PUB_LEN]) RP_WUR;
int cr_key_pub_from_raw(const uint8_t raw[CR_P256_PUB_LEN], struct cr_key **ret,
                        struct rp_err *err) RP_WUR;
/* Key id = SHA-256 of the SPKI DER. */
int cr_key_id(const struct cr_key *k, uint8_t out[CR_KEY_ID_LEN]) RP_WUR;
bool cr_key_pub_equal(const struct cr_key *a, const struct cr_key *b);
/* RFC 7638 JWK thumbprint (SHA-256, base64url, 43 chars + NUL). */
int cr_key_jwk_thumbprint(const struct cr_key *k, char out[44]) RP_WUR;

/* ---- ECDSA P-256 / SHA-256 ---- */
int cr_sign(const struct cr_key *k, const void *msg, size_t len, uint8_t **ret_der,
            size_t *ret_len, struct rp_err *err) RP_WUR;
int cr_sign_raw(const struct cr_key *k, const void *msg, size_t len,
                uint8_t out[CR_SIG_RAW_LEN], struct rp_err *err) RP_WUR;
/* Sign a precomputed SHA-256 digest (streaming verification, TLS). */
int cr_sign_digest(const struct cr_key *k, const uint8_t digest[CR_SHA256_LEN],
                   uint8_t **ret_der, size_t *ret_len, struct rp_err *err) RP_WUR;
/* Verify: 0 when valid, -EBADMSG when the signature does not verify. */
int cr_verify(const struct cr_key *k, const void *msg, size_t len, const uint8_t *sig,
              size_t sig_len, struct rp_err *err) RP_WUR;
int cr_verify_raw(const struct cr_key *k, const void *msg, size_t len,
                  const uint8_t sig[CR_SIG_RAW_LEN], struct rp_err *err) RP_WUR;
int cr_verify_digest(const struct cr_key *k, const uint8_t digest[CR_SHA256_LEN],
                     const uint8_t *sig, size_t sig_len, struct rp_err *err) RP_WUR;
/* DER <-> raw r||s conversion. */
int cr_sig_der_to_raw(const uint8_t *der, size_t len, uint8_t out[CR_SIG_RAW_LEN]) RP_WUR;
int cr_sig_raw_to_der(const uint8_t raw[CR_SIG_RAW_LEN], uint8_t **ret_der,
                      size_t *ret_len) RP_WUR;

/* ---- X.509 ---- */
struct cr_cert;
struct cr_csr;

enum {
        CR_KU_DIGITAL_SIGNATURE = 1 << 0,
        CR_KU_KEY_CERT_SIGN = 1 << 1,
        CR_KU_CRL_SIGN = 1 << 2,
        CR_KU_KEY_AGREEMENT = 1 << 3,
};
enum {
        CR_EKU_CLIENT_AUTH = 1 << 0,
        CR_EKU_SERVER_AUTH = 1 << 1,
        CR_EKU_CODE_SIGNING = 1 << 2,
};

/* A custom extension: dotted OID and its DER value (the OCTET STRING's
 * contents). */
struct cr_ext {
        const char *oid;
        const uint8_t *der;
        size_t der_len;
        bool critical;
};

struct cr_cert_spec {
        const char *cn;                 /* subject CN (required) */
        const char *o;                  /* subject O (optional) */
        const char *serial_hex;         /* optional; random 16-byte serial if NULL */
        time_t not_before;              /* 0 = now - 60 s */
        time_t not_after;               /* required */
        bool ca;
        int path_len;                   /* for CA: -1 = unlimited */
        unsigned key_usage;             /* CR_KU_* */
        unsigned ext_key_usage;         /* CR_EKU_* */
        const char *san_uri;            /* optional subjectAltName URI */
        const char *san_dns;            /* optional subjectAltName DNS name */
        const char *san_ip;             /* optional subjectAltName IP (text form) */
        const struct cr_ext *exts;      /* optional custom extensions */
        size_t n_exts;
};
/* SKI is always added; AKI is added from the issuer's SKI. */
int cr_cert_self_signed(const struct cr_key *key, const struct cr_cert_spec *spec,
                        struct cr_cert **ret, struct rp_err *err) RP_WUR;
int cr_cert_issue(const struct cr_cert *issuer, const struct cr_key *issuer_key,
                  const struct cr_key *subject_pub, const struct cr_cert_spec *spec,
                  struct cr_cert **ret, struct rp_err *err) RP_WUR;
void cr_cert_free(struct cr_cert *c);
struct cr_cert *cr_cert_ref(struct cr_cert *c);   /* adds a reference */

int cr_cert_load_pem(const char *path, struct cr_cert **ret, struct rp_err *err) RP_WUR;
int cr_cert_save_pem(const char *path, const struct cr_cert *c, struct rp_err *err) RP_WUR;
int cr_cert_from_pem(const void *pem, size_t len, struct cr_cert **ret, struct rp_err *err) RP_WUR;
/* Parses every certificate of a PEM bundle, in order; at most `max`. */
int cr_certs_from_pem(const void *pem, size_t len, size_t max, struct cr_cert ***ret,
                      size_t *ret_n, struct rp_err *err) RP_WUR;
/* The same, without decoding each certificate's public key while parsing
 * (on OpenSSL 3.0 that decode costs more than an ECDSA verification). Such
 * a certificate works with every accessor below, cr_cert_pubkey and
 * cr_cert_verify_signature (ECDSA with SHA-256 only), but cannot be part of
 * a cr_chain_verify chain, be re-signed, or be used for TLS: OpenSSL refuses
 * it there. For certificates that are only checked one signature at a time. */
int cr_certs_from_pem_keyless(const void *pem, size_t len, size_t max, struct cr_cert ***ret,
                              size_t *ret_n, struct rp_err *err) RP_WUR;
void cr_certs_free(struct cr_cert **v, size_t n);
int cr_cert_to_pem(const struct cr_cert *c, char **ret_pem, struct rp_err *err) RP_WUR;
int cr_cert_from_der(const void *der, size_t len, struct cr_cert **ret, struct rp_err *err) RP_WUR;
int cr_cert_to_der(const struct cr_cert *c, uint8_t **ret_der, size_t *ret_len) RP_WUR;

/* Accessors. Returned strings/keys are new allocations. */
int cr_cert_pubkey(const struct cr_cert *c, struct cr_key **ret) RP_WUR;
int cr_cert_subject_cn(const struct cr_cert *c, char **ret) RP_WUR;
int cr_cert_subject_o(const struct cr_cert *c, char **ret) RP_WUR;
int cr_cert_serial_hex(const struct cr_cert *c, char **ret) RP_WUR;
int cr_cert_validity(const struct cr_cert *c, time_t *ret_not_before, time_t *ret_not_after) RP_WUR;
/* DER value (OCTET STRING contents) of an extension by dotted OID;
 * -ENOENT when absent. */
int cr_cert_ext(const struct cr_cert *c, const char *oid, uint8_t **ret_der,
                size_t *ret_len) RP_WUR;
/* SHA-256 over the certificate DER. */
int cr_cert_fingerprint(const struct cr_cert *c, uint8_t out[CR_SHA256_LEN]) RP_WUR;
bool cr_cert_is_ca(const struct cr_cert *c);
/* 0 when `c` is signed by `issuer_pub`, -EBADMSG otherwise. */
int cr_cert_verify_signature(const struct cr_cert *c, const struct cr_key *issuer_pub,
                             struct rp_err *err) RP_WUR;

/* Verifies leaf against trusted roots with optional untrusted intermediates
 * at time `at` (0 = now). Custom non-critical extensions are allowed; unknown
 * critical ones are refused. Error message names the failing certificate and
 * OpenSSL's reason. Strict RFC 5280 checks (X509_V_FLAG_X509_STRICT); the
 * chain must end at a self-signed certificate among `trusted` (a trusted
 * intermediate alone is not an anchor). */
int cr_chain_verify(const struct cr_cert *leaf, struct cr_cert *const *untrusted, size_t n_untrusted,
                    struct cr_cert *const *trusted, size_t n_trusted, time_t at,
                    struct rp_err *err) RP_WUR;

/* ---- PKCS#10 CSR ---- */
int cr_csr_new(const struct cr_key *key, const char *cn, struct cr_csr **ret,
               struct rp_err *err) RP_WUR;
/* Parses DER or PEM (auto-detected); rejects non-P-256 keys and CSRs whose
 * self-signature does not verify (proof of possession). */
int cr_csr_parse(const void *data, size_t len, struct cr_csr **ret, struct rp_err *err) RP_WUR;
int cr_csr_to_der(const struct cr_csr *c, uint8_t **ret_der, size_t *ret_len) RP_WUR;
int cr_csr_to_pem(const struct cr_csr *c, char **ret_pem, struct rp_err *err) RP_WUR;
int cr_csr_pubkey(const struct cr_csr *c, struct cr_key **ret) RP_WUR;
void cr_csr_free(struct cr_csr *c);

/* ---- JWS compact serialization, ES256 (through cjose) ---- */
#define CR_JWS_MAX (256 * 1024)
/* Signs `payload` with header {"alg":"ES256","kid":kid,"typ":typ}
 * (kid/typ optional). */
int cr_jws_sign(const struct cr_key *k, const char *kid, const char *typ, const void *payload,
                size_t len, char **ret_compact, struct rp_err *err) RP_WUR;
/* Verifies with `k` and returns the payload (malloc'd, NUL-terminated, not
 * counted). Only alg ES256 is accepted; anything else, malformed input or a
 * bad signature is refused with a message saying which. */
int cr_jws_verify(const char *compact, size_t len, const struct cr_key *k, uint8_t **ret_payload,
                  size_t *ret_len, struct rp_err *err) RP_WUR;
/* Reads the protected header's "kid" without verifying (to pick a key);
 * the result must not be trusted until cr_jws_verify succeeds. */
int cr_jws_peek_kid(const char *compact, size_t len, char **ret_kid, struct rp_err *err) RP_WUR;

/* Cleanup helpers for the _cleanup_ idiom. */
static inline void cr_key_freep(struct cr_key **k) { cr_key_free(*k); }
static inline void cr_cert_freep(struct cr_cert **c) { cr_cert_free(*c); }
static inline void cr_csr_freep(struct cr_csr **c) { cr_csr_free(*c); }
static inline void cr_sha256_freep(struct cr_sha256_ctx **c) { cr_sha256_free(*c); }

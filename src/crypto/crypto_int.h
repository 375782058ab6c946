/* crypto_int.h - internals shared by the files of src/crypto (and the TLS
 * glue next to them). Nothing outside src/crypto includes this header: it is
 * the only place where the opaque handles of crypto.h meet OpenSSL types.
 *
 * Representation:
 *   struct cr_key   wraps an EVP_PKEY that is always EC P-256, and records
 *                   whether the private scalar is present;
 *   struct cr_cert  IS an X509 (the pointer is cast), so cr_cert_ref() is
 *                   X509_up_ref() and cr_cert_free() is X509_free();
 *   struct cr_csr   IS an X509_REQ.
 *   struct cr_sha256_ctx IS an EVP_MD_CTX. */
#pragma once
#include <openssl/evp.h>
#include <openssl/x509.h>
#include "crypto/crypto.h"

struct cr_key {
        EVP_PKEY *pkey;
        bool priv;
};

/* Borrowed; valid as long as `k`. */
static inline EVP_PKEY *cr_key_evp(const struct cr_key *k) { return k->pkey; }
/* 0 when `pkey` is an EC key on the named curve P-256, else -EINVAL with a
 * message naming what it is instead. */
int cr_pkey_check_p256(EVP_PKEY *pkey, struct rp_err *err) RP_WUR;
/* Wraps `pkey` (ownership passes to the new handle on success only) after
 * checking that it is an EC key on P-256. A legacy (EC_KEY-backed) public
 * key is imported again as a provider key, and `pkey` is freed on success,
 * so every handle holds a provider key. */
int cr_key_wrap(EVP_PKEY *pkey, bool priv, struct cr_key **ret, struct rp_err *err) RP_WUR;

/* A library context holding only the null provider. On OpenSSL 3.0,
 * decoding the public key embedded in a certificate or CSR goes through the
 * provider decoder framework, whose set-up costs more than an ECDSA
 * verification; parsed in this context, the key is left undecoded (no
 * decoder exists) and is read later with cr_key_from_spki. An object parsed
 * in it can do no cryptography through OpenSSL itself (fetches fail, so
 * such uses fail closed). NULL if it cannot be created. */
OSSL_LIB_CTX *cr_keyless_libctx(void);
/* The P-256 public key of a SubjectPublicKeyInfo, checked as cr_key_wrap
 * checks keys; other key types and curves are refused with the same
 * messages as cr_key_pub_from_der. */
int cr_key_from_spki(X509_PUBKEY *xpk, struct cr_key **ret, struct rp_err *err) RP_WUR;

/* Verifies `sig` (ECDSA P-256 / SHA-256) with `pub` over the first element
 * of the DER SEQUENCE `der` (the signed part of a certificate or CSR, as
 * received). -EBADMSG when it does not verify. */
int cr_signed_part_verify(const uint8_t *der, size_t len, const ASN1_BIT_STRING *sig,
                          const struct cr_key *pub, struct rp_err *err) RP_WUR;

static inline X509 *cr_cert_x509(const struct cr_cert *c) { return (X509 *)c; }
/* Takes ownership of `x`. */
static inline struct cr_cert *cr_cert_wrap(X509 *x) { return (struct cr_cert *)x; }
static inline X509_REQ *cr_csr_req(const struct cr_csr *c) { return (X509_REQ *)c; }
static inline struct cr_csr *cr_csr_wrap(X509_REQ *r) { return (struct cr_csr *)r; }

/* Sets `err` to the formatted message followed by ": " and every entry of
 * the thread's OpenSSL error queue (oldest first, "; "-separated), and
 * empties the queue. Returns `code`. */
int cr_ossl_err(struct rp_err *err, int code, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* PEM text of `obj`: `write` puts it into a memory BIO (returning 1 on
 * success); *ret_pem gets a malloc'd NUL-terminated copy. Failures say
 * "cannot encode <what> as PEM" with OpenSSL's reason. */
int cr_pem_string(int (*write)(BIO *b, const void *obj), const void *obj, char **ret_pem,
                  struct rp_err *err, const char *what) RP_WUR;

/* Subject of a certificate as one line ("CN=x, O=y"), into buf. */
void cr_x509_name_line(const X509_NAME *name, char *buf, size_t len);

/* sign.c - ECDSA P-256 with SHA-256: sign and verify over messages or
 * precomputed digests, DER and raw r||s (the JOSE/COSE form).
 *
 * Verification trusts nothing about the signature bytes: lengths are capped
 * before OpenSSL sees them, and OpenSSL itself refuses non-canonical DER. */
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>
#include "crypto/crypto_int.h"

static int need_private(const struct cr_key *k, struct rp_err *err)
{
        if (!k || !k->priv)
                return rp_err_set(err, -EINVAL, "signing needs a private key, got a public one");
        return 0;
}

/* Copies an OpenSSL-produced signature into a malloc'd buffer. */
static int hand_out(const uint8_t *sig, size_t len, uint8_t **ret_der, size_t *ret_len,
                    struct rp_err *err)
{
        uint8_t *out = malloc(len);
        if (!out)
                return rp_err_set(err, -ENOMEM, "out of memory");
        memcpy(out, sig, len);
        *ret_der = out;
        *ret_len = len;
        return 0;
}

int cr_sign(const struct cr_key *k, const void *msg, size_t len, uint8_t **ret_der,
            size_t *ret_len, struct rp_err *err)
{
        uint8_t sig[CR_SIG_DER_MAX];
        size_t sig_len = sizeof(sig);
        EVP_MD_CTX *mc;
        int r;

        r = need_private(k, err);
        if (r < 0)
                return r;
        ERR_clear_error();
        mc = EVP_MD_CTX_new();
        if (!mc)
                return cr_ossl_err(err, -ENOMEM, "cannot allocate digest context");
        if (EVP_DigestSignInit_ex(mc, NULL, "SHA256", NULL, NULL, k->pkey, NULL) != 1 ||
            EVP_DigestSign(mc, sig, &sig_len, msg, len) != 1) {
                EVP_MD_CTX_free(mc);
                return cr_ossl_err(err, -EIO, "ECDSA P-256 signing failed");
        }
        EVP_MD_CTX_free(mc);
        return hand_out(sig, sig_len, ret_der, ret_len, err);
}

int cr_sign_digest(const struct cr_key *k, const uint8_t digest[CR_SHA256_LEN],
                   uint8_t **ret_der, size_t *ret_len, struct rp_err *err)
{
        uint8_t sig[CR_SIG_DER_MAX];
        size_t sig_len = sizeof(sig);
        EVP_PKEY_CTX *pc;
        int r;

        r = need_private(k, err);
        if (r < 0)
                return r;
        ERR_clear_error();
        pc = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL);
        if (!pc)
                return cr_ossl_err(err, -ENOMEM, "cannot allocate key context");
        if (EVP_PKEY_sign_init(pc) != 1 || EVP_PKEY_CTX_set_signature_md(pc, EVP_sha256()) != 1 ||
            EVP_PKEY_sign(pc, sig, &sig_len, digest, CR_SHA256_LEN) != 1) {
                EVP_PKEY_CTX_free(pc);
                return cr_ossl_err(err, -EIO, "ECDSA P-256 signing of a digest failed");
        }
        EVP_PKEY_CTX_free(pc);
        return hand_out(sig, sig_len, ret_der, ret_len, err);
}

int cr_sign_raw(const struct cr_key *k, const void *msg, size_t len, uint8_t out[CR_SIG_RAW_LEN],
                struct rp_err *err)
{
        uint8_t *der = NULL;
        size_t der_len = 0;
        int r;

        r = cr_sign(k, msg, len, &der, &der_len, err);
        if (r < 0)
                return r;
        r = cr_sig_der_to_raw(der, der_len, out);
        free(der);
        if (r < 0)
                return rp_err_set(err, r, "cannot convert the signature to r||s");
        return 0;
}

static int check_sig_len(const struct cr_key *k, size_t sig_len, struct rp_err *err)
{
        if (!k)
                return rp_err_set(err, -EINVAL, "no key to verify the signature with");
        /* the shortest DER ECDSA signature is 8 bytes: 30 06 02 01 r 02 01 s */
        if (sig_len < 8 || sig_len > CR_SIG_DER_MAX)
                return rp_err_set(err, -EBADMSG,
                                  "signature of %zu bytes cannot be a DER ECDSA P-256 signature "
                                  "(8..%d bytes)", sig_len, CR_SIG_DER_MAX);
        return 0;
}

int cr_verify(const struct cr_key *k, const void *msg, size_t len, const uint8_t *sig,
              size_t sig_len, struct rp_err *err)
{
        EVP_MD_CTX *mc;
        int r;

        if (!sig)
                sig_len = 0;
        r = check_sig_len(k, sig_len, err);
        if (r < 0)
                return r;
        ERR_clear_error();
        mc = EVP_MD_CTX_new();
        if (!mc)
                return cr_ossl_err(err, -ENOMEM, "cannot allocate digest context");
        if (EVP_DigestVerifyInit_ex(mc, NULL, "SHA256", NULL, NULL, k->pkey, NULL) != 1) {
                EVP_MD_CTX_free(mc);
                return cr_ossl_err(err, -EIO, "cannot set up ECDSA verification");
        }
        r = EVP_DigestVerify(mc, sig, sig_len, msg, len);
        EVP_MD_CTX_free(mc);
        if (r != 1)
                return cr_ossl_err(err, -EBADMSG, "ECDSA P-256 signature does not verify");
        return 0;
}

int cr_verify_digest(const struct cr_key *k, const uint8_t digest[CR_SHA256_LEN],
                     const uint8_t *sig, size_t sig_len, struct rp_err *err)
{
        EVP_PKEY_CTX *pc;
        int r;

        if (!sig)
                sig_len = 0;
        r = check_sig_len(k, sig_len, err);
        if (r < 0)
                return r;
        ERR_clear_error();
        pc = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL);
        if (!pc)
                return cr_ossl_err(err, -ENOMEM, "cannot allocate key context");
        if (EVP_PKEY_verify_init(pc) != 1 ||
            EVP_PKEY_CTX_set_signature_md(pc, EVP_sha256()) != 1) {
                EVP_PKEY_CTX_free(pc);
                return cr_ossl_err(err, -EIO, "cannot set up ECDSA verification");
        }
        r = EVP_PKEY_verify(pc, sig, sig_len, digest, CR_SHA256_LEN);
        EVP_PKEY_CTX_free(pc);
        if (r != 1)
                return cr_ossl_err(err, -EBADMSG, "ECDSA P-256 signature does not verify");
        return 0;
}

int cr_verify_raw(const struct cr_key *k, const void *msg, size_t len,
                  const uint8_t sig[CR_SIG_RAW_LEN], struct rp_err *err)
{
        uint8_t *der = NULL;
        size_t der_len = 0;
        int r;

        r = cr_sig_raw_to_der(sig, &der, &der_len);
        if (r < 0)
                return rp_err_set(err, r == -ENOMEM ? r : -EBADMSG,
                                  "r||s signature cannot be encoded: %s", strerror(-r));
        r = cr_verify(k, msg, len, der, der_len, err);
        free(der);
        return r;
}

int cr_sig_der_to_raw(const uint8_t *der, size_t len, uint8_t out[CR_SIG_RAW_LEN])
{
        const unsigned char *p = der;
        const BIGNUM *r, *s;
        ECDSA_SIG *sig;
        int ret = -EINVAL;

        if (!der || len == 0 || len > CR_SIG_DER_MAX)
                return -EINVAL;
        sig = d2i_ECDSA_SIG(NULL, &p, (long)len);
        if (!sig) {
                ERR_clear_error();
                return -EINVAL;
        }
        if ((size_t)(p - der) != len)
                goto out;
        ECDSA_SIG_get0(sig, &r, &s);
        if (BN_is_negative(r) || BN_is_negative(s) || BN_num_bytes(r) > 32 ||
            BN_num_bytes(s) > 32)
                goto out;
        if (BN_bn2binpad(r, out, 32) != 32 || BN_bn2binpad(s, out + 32, 32) != 32)
                goto out;
        ret = 0;
out:
        ECDSA_SIG_free(sig);
        return ret;
}

int cr_sig_raw_to_der(const uint8_t raw[CR_SIG_RAW_LEN], uint8_t **ret_der, size_t *ret_len)
{
        ECDSA_SIG *sig = ECDSA_SIG_new();
        BIGNUM *r = BN_bin2bn(raw, 32, NULL), *s = BN_bin2bn(raw + 32, 32, NULL);
        unsigned char *p;
        uint8_t *buf;
        int n;

        if (!sig || !r || !s || ECDSA_SIG_set0(sig, r, s) != 1) {
                ECDSA_SIG_free(sig);
                BN_free(r);
                BN_free(s);
                return -ENOMEM;
        }
        n = i2d_ECDSA_SIG(sig, NULL);
        if (n <= 0) {
                ECDSA_SIG_free(sig);
                return -EIO;
        }
        buf = malloc((size_t)n);
        if (!buf) {
                ECDSA_SIG_free(sig);
                return -ENOMEM;
        }
        p = buf;
        if (i2d_ECDSA_SIG(sig, &p) != n) {
                ECDSA_SIG_free(sig);
                free(buf);
                return -EIO;
        }
        ECDSA_SIG_free(sig);
        *ret_der = buf;
        *ret_len = (size_t)n;
        return 0;
}

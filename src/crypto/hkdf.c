/* hkdf.c - HKDF-SHA-512 (RFC 5869), extract then expand, via EVP_KDF. */
#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include "crypto/crypto_int.h"

int cr_hkdf_sha512(const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len,
                   const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len)
{
        OSSL_PARAM params[5], *p = params;
        EVP_KDF *kdf = NULL;
        EVP_KDF_CTX *kctx = NULL;
        /* OpenSSL wants a non-NULL pointer even for zero-length octets */
        static const uint8_t empty[1];
        int r = -EIO;

        /* RFC 5869 section 2.3: L <= 255 * HashLen */
        if (!out || out_len == 0 || out_len > 255 * CR_SHA512_LEN)
                return -EINVAL;
        if ((!ikm && ikm_len) || (!salt && salt_len) || (!info && info_len))
                return -EINVAL;

        *p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA512", 0);
        *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
                                                 (void *)(ikm ? ikm : empty), ikm_len);
        /* An absent salt is HashLen zero bytes (RFC 5869 2.2); so is an empty
         * one, since HMAC pads its key with zeros. */
        if (salt_len)
                *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt,
                                                         salt_len);
        if (info_len)
                *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info,
                                                         info_len);
        *p = OSSL_PARAM_construct_end();

        kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
        if (!kdf)
                goto out;
        kctx = EVP_KDF_CTX_new(kdf);
        if (!kctx)
                goto out;
        if (EVP_KDF_derive(kctx, out, out_len, params) != 1) {
                cr_wipe(out, out_len);
                goto out;
        }
        r = 0;
out:
        EVP_KDF_CTX_free(kctx);   /* clears the key material it copied */
        EVP_KDF_free(kdf);
        return r;
}

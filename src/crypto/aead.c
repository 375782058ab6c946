/* aead.c - AES-256-GCM sealing for data at rest (see aead.h). */
#include <openssl/err.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/aead.h"
#include "crypto/crypto_int.h"

int cr_aead_seal(const uint8_t key[CR_AEAD_KEY_LEN], const void *aad, size_t aad_len,
                 const void *plain, size_t len, uint8_t **ret, size_t *ret_len,
                 struct rp_err *err)
{
        size_t total;
        if (len > INT32_MAX || aad_len > INT32_MAX ||
            __builtin_add_overflow(len, (size_t)CR_AEAD_OVERHEAD, &total))
                return rp_err_set(err, -EFBIG, "seal: %zu bytes is too large", len);
        uint8_t *out = malloc(total);
        EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
        int r = -EIO, n = 0, fin = 0;
        if (!out || !c) {
                r = rp_err_set(err, -ENOMEM, "seal: out of memory");
                goto out;
        }
        if (cr_random(out, CR_AEAD_NONCE_LEN) < 0) {
                r = rp_err_set(err, -EIO, "seal: no randomness for the nonce");
                goto out;
        }
        if (EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, out) != 1 ||
            (aad_len && EVP_EncryptUpdate(c, NULL, &n, aad, (int)aad_len) != 1) ||
            EVP_EncryptUpdate(c, out + CR_AEAD_NONCE_LEN, &n, plain, (int)len) != 1 ||
            EVP_EncryptFinal_ex(c, out + CR_AEAD_NONCE_LEN + n, &fin) != 1 ||
            EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, CR_AEAD_TAG_LEN,
                                out + CR_AEAD_NONCE_LEN + len) != 1) {
                r = cr_ossl_err(err, -EIO, "seal: AES-256-GCM");
                goto out;
        }
        *ret = out;
        *ret_len = total;
        out = NULL;
        r = 0;
out:
        free(out);
        EVP_CIPHER_CTX_free(c);
        return r;
}

int cr_aead_open(const uint8_t key[CR_AEAD_KEY_LEN], const void *aad, size_t aad_len,
                 const uint8_t *sealed, size_t len, uint8_t **ret, size_t *ret_len,
                 struct rp_err *err)
{
        if (len < CR_AEAD_OVERHEAD)
                return rp_err_set(err, -EBADMSG, "unseal: %zu bytes is shorter than nonce + tag",
                                  len);
        if (len > INT32_MAX || aad_len > INT32_MAX)
                return rp_err_set(err, -EFBIG, "unseal: %zu bytes is too large", len);
        size_t clen = len - CR_AEAD_OVERHEAD;
        uint8_t *out = malloc(clen + 1);
        EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
        int r = -EIO, n = 0, fin = 0;
        if (!out || !c) {
                r = rp_err_set(err, -ENOMEM, "unseal: out of memory");
                goto out;
        }
        uint8_t tag[CR_AEAD_TAG_LEN];
        memcpy(tag, sealed + CR_AEAD_NONCE_LEN + clen, sizeof(tag));
        if (EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, sealed) != 1 ||
            (aad_len && EVP_DecryptUpdate(c, NULL, &n, aad, (int)aad_len) != 1) ||
            EVP_DecryptUpdate(c, out, &n, sealed + CR_AEAD_NONCE_LEN, (int)clen) != 1 ||
            EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, CR_AEAD_TAG_LEN, tag) != 1) {
                r = cr_ossl_err(err, -EIO, "unseal: AES-256-GCM");
                goto out;
        }
        if (EVP_DecryptFinal_ex(c, out + n, &fin) != 1) {
                ERR_clear_error();
                r = rp_err_set(err, -EBADMSG,
                               "unseal: authentication failed (wrong key, wrong owner or tampered)");
                goto out;
        }
        out[clen] = 0;
        *ret = out;
        *ret_len = clen;
        out = NULL;
        r = 0;
out:
        if (out) {
                cr_wipe(out, clen);
                free(out);
        }
        EVP_CIPHER_CTX_free(c);
        return r;
}

/* hash.c - SHA-256 / SHA-512, one-shot and streaming, through EVP so the
 * CPU's SHA extensions are used. A digest of memory cannot fail short of a
 * broken OpenSSL installation; the void functions abort in that case rather
 * than hand back an unset digest. */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include "crypto/crypto_int.h"

static void digest_or_die(const EVP_MD *md, const void *data, size_t len, uint8_t *out)
{
        if (EVP_Digest(data, len, out, NULL, md, NULL) != 1) {
                fprintf(stderr, "FATAL crypto: %s failed\n", EVP_MD_get0_name(md));
                abort();
        }
}

void cr_sha256(const void *data, size_t len, uint8_t out[CR_SHA256_LEN])
{
        digest_or_die(EVP_sha256(), data, len, out);
}

void cr_sha512(const void *data, size_t len, uint8_t out[CR_SHA512_LEN])
{
        digest_or_die(EVP_sha512(), data, len, out);
}

struct cr_sha256_ctx *cr_sha256_new(void)
{
        EVP_MD_CTX *c = EVP_MD_CTX_new();

        if (!c)
                return NULL;
        if (EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1) {
                EVP_MD_CTX_free(c);
                return NULL;
        }
        return (struct cr_sha256_ctx *)c;
}

void cr_sha256_update(struct cr_sha256_ctx *c, const void *data, size_t len)
{
        if (EVP_DigestUpdate((EVP_MD_CTX *)c, data, len) != 1) {
                fprintf(stderr, "FATAL crypto: SHA-256 update failed\n");
                abort();
        }
}

void cr_sha256_final(struct cr_sha256_ctx *c, uint8_t out[CR_SHA256_LEN])
{
        if (EVP_DigestFinal_ex((EVP_MD_CTX *)c, out, NULL) != 1) {
                fprintf(stderr, "FATAL crypto: SHA-256 final failed\n");
                abort();
        }
}

void cr_sha256_free(struct cr_sha256_ctx *c)
{
        EVP_MD_CTX_free((EVP_MD_CTX *)c);
}

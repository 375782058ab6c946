/* random.c - randomness, constant-time comparison and wiping. */
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include "crypto/crypto_int.h"

int cr_random(void *buf, size_t len)
{
        unsigned char *p = buf;

        while (len) {
                int n = len > INT_MAX ? INT_MAX : (int)len;
                if (RAND_bytes(p, n) != 1)
                        return -EIO;
                p += n;
                len -= (size_t)n;
        }
        return 0;
}

bool cr_memeq(const void *a, const void *b, size_t len)
{
        return CRYPTO_memcmp(a, b, len) == 0;
}

void cr_wipe(void *p, size_t len)
{
        if (p && len)
                OPENSSL_cleanse(p, len);
}

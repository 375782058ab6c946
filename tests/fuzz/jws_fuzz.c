/* jws_fuzz.c - libFuzzer harness for the JWS parser and verifier
 * (cr_jws_peek_kid, cr_jws_verify) with the corpus key: the P-256 key
 * derived from the seed 0x4a..4a, which signed the valid-* corpus tokens.
 *
 * Beyond "no crash": a refusal must be a negative code with a message and
 * no output; an acceptance must return a NUL-terminated payload that is
 * exactly the base64url-decoded middle part of the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "crypto/crypto.h"
#include "lib/encode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct cr_key *corpus_key(void)
{
        static struct cr_key *key;
        if (!key) {
                uint8_t seed[32];
                memset(seed, 0x4a, sizeof(seed));
                if (cr_key_from_seed(seed, &key, NULL) < 0)
                        abort();
        }
        return key;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *s = (const char *)data;
        struct rp_err err = {0};
        uint8_t *payload = NULL;
        char *kid = NULL;
        size_t n = 0;
        int r;

        r = cr_jws_peek_kid(s, size, &kid, &err);
        if (r == 0) {
                if (!kid)
                        abort();
                free(kid);
        } else if (r > 0 || !err.msg[0] || kid) {
                abort();
        }

        rp_err_clear(&err);
        r = cr_jws_verify(s, size, corpus_key(), &payload, &n, &err);
        if (r < 0) {
                if (payload || !err.msg[0])
                        abort();
                return 0;
        }
        if (r > 0 || !payload || payload[n] != '\0')
                abort();
        {
                const char *d1 = memchr(s, '.', size), *d2;
                uint8_t *dec = NULL;
                size_t dn = 0;
                if (!d1)
                        abort();
                d2 = memchr(d1 + 1, '.', size - (size_t)(d1 + 1 - s));
                if (!d2 || rp_b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), &dec, &dn) < 0 ||
                    dn != n || (n && memcmp(dec, payload, n) != 0))
                        abort();
                free(dec);
        }
        free(payload);
        return 0;
}

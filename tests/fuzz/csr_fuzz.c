/* csr_fuzz.c - libFuzzer harness for the enroll request's CSR handling:
 * the canonical base64 decoder (srv_b64_decode) and the CSR parser with
 * its reason classification (srv_csr_parse).
 *
 * Beyond "no crash": whatever the decoder accepts re-encodes to exactly the
 * input (canonical only); an accepted CSR yields a public key; a refused
 * one names one of the two CSR reasons and carries a message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "server/attest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        uint8_t *dec = NULL;
        size_t n = 0;
        if (srv_b64_decode((const char *)data, size, &dec, &n) == 0) {
                char *enc = srv_b64_encode(dec, n, false);
                if (!enc || strlen(enc) != size || memcmp(enc, data, size))
                        abort();
                free(enc);
                free(dec);
        }
        struct cr_key *pub = NULL;
        struct rp_err err = {0};
        enum srv_attest_reason why = SRV_AT_OK;
        if (srv_csr_parse(data, size, &pub, &why, &err) == 0) {
                if (!pub)
                        abort();
                cr_key_free(pub);
        } else if ((why != SRV_AT_CSR_INVALID && why != SRV_AT_CSR_KEY_NOT_P256) || !err.msg[0]) {
                abort();
        }
        return 0;
}

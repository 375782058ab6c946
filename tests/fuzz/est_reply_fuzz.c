/* est_reply_fuzz.c - rampartd's parsers of the service's EST replies (the
 * nonce reply, a refusal, the issued certificate), which read what the
 * network sends. The first byte picks the parser; the rest is the body.
 * The issued-certificate check runs against a CSR of a fixed-seed key. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "runtime/attest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define UEID "00112233445566778899aabbccddeeff00112233"

static uint8_t *csr_der;
static size_t csr_len;

static void init(void)
{
        static const uint8_t seed[32] = {1, 2, 3, 4, 5, 6, 7, 8};
        struct cr_key *k = NULL;
        struct cr_csr *c = NULL;

        if (cr_key_from_seed(seed, &k, NULL) < 0 || cr_csr_new(k, UEID, &c, NULL) < 0 ||
            cr_csr_to_der(c, &csr_der, &csr_len) < 0)
                abort();
        cr_csr_free(c);
        cr_key_free(k);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct rtd_attest_result res;
        const char *body;
        uint8_t *nonce = NULL;
        size_t n = 0;
        int r;

        if (!csr_der)
                init();
        if (size < 1)
                return 0;
        body = (const char *)data + 1;
        memset(&res, 0, sizeof(res));
        switch (data[0] % 3) {
        case 0:
                r = rtd_est_parse_nonce(body, size - 1, &nonce, &n, &res);
                if (r == 0 && (n < 8 || n > RTD_NONCE_MAX || !nonce))
                        abort();
                if (r < 0 && (nonce || !res.reason[0]))
                        abort();
                free(nonce);
                break;
        case 1:
                r = rtd_est_parse_refusal(403, body, size - 1, "fuzz", &res);
                if (r >= 0 || !res.reason[0] || strlen(res.reason) >= RTD_REASON_MAX)
                        abort();
                break;
        default:
                r = rtd_est_check_issued(body, size - 1, csr_der, csr_len, UEID, &res);
                if (r < 0 && strcmp(res.reason, "bad_response") != 0)
                        abort();
                break;
        }
        return 0;
}

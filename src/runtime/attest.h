/* attest.h - rampartd's attestation client (docs/attestation.md).
 *
 * One enrollment for one purpose (platform or app certificate):
 *   1. POST .well-known/est/<tenant>/nonce          -> a fresh nonce
 *   2. monitor tls-key-create                        -> key handle + CSR
 *   3. monitor attest(nonce, handle, app digests)    -> evidence JWS
 *   4. monitor get-chain (PEM)                       -> DeviceID, Alias, device CA
 *   5. POST .../simpleenroll, or .../simplereenroll over mTLS with the
 *      current certificate when it is usable (key from this boot, valid)
 *   6. check the issued certificate (PEM): it certifies the CSR's key and
 *      names this device's UEID; store it with the key handle (certs.h);
 *      then destroy the previous key of that purpose in the monitor.
 * On any failure the new key is destroyed and the stored certificate is
 * left as it was.
 *
 * The service's verdict is reported as its stable reason code; failures
 * before a verdict get local codes: "unreachable" (no HTTP exchange),
 * "tls_auth" (server or client authentication failed), "bad_response"
 * (a reply that does not follow the protocol), "monitor" (the security
 * monitor refused), "store" (the certificate could not be stored). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "lib/err.h"
#include "monitor/mon_client.h"
#include "runtime/certs.h"
#include "runtime/http_client.h"

#define RTD_REASON_MAX 64
#define RTD_NONCE_MAX 64

struct rtd_attest {
        struct mon_client *mon;                 /* borrowed */
        const char *data_dir;
        const char *tenant;
        struct rtd_http http;                   /* base + CA; client set per request */
        const struct mon_submod *submods;       /* installed app images (may be none) */
        size_t n_submods;
};

struct rtd_attest_result {
        char reason[RTD_REASON_MAX];            /* "ok" or a reason code */
        char message[RP_ERR_MSG_MAX];           /* what the service or the step said */
        long http_status;                       /* 0 when no exchange completed */
        int reenroll;                           /* 1 when simplereenroll was used */
        time_t not_after;                       /* of the issued certificate */
        char serial[80];
};

/* Enrolls `p`. `bi` is this boot's boot info; `current` (may be NULL) the
 * stored certificate of `p`, used for simplereenroll when it is usable and
 * `reenroll` allows it (a caller whose reenroll was refused falls back to
 * simpleenroll). Returns 0 on success (reason "ok"); on a refusal or
 * failure a negative code with *res filled (reason, message). */
int rtd_attest_enroll(struct rtd_attest *a, const struct mon_boot_info *bi, enum rtd_purpose p,
                      struct rtd_cert *current, bool reenroll,
                      struct rtd_attest_result *res) RP_WUR;

/* Parsers of the service's replies: untrusted input, no I/O (fuzzed by
 * tests/fuzz/est_reply_fuzz.c). Each returns 0, or a negative code with
 * res->reason and res->message set.
 *
 * A nonce reply: {"nonce": "<base64url of 8..RTD_NONCE_MAX bytes>", ...};
 * *ret_nonce (malloc'd) is written only on success. */
int rtd_est_parse_nonce(const char *body, size_t len, uint8_t **ret_nonce, size_t *ret_len,
                        struct rtd_attest_result *res) RP_WUR;
/* A refusal with HTTP `status`: {"error":{"code":"<token>","message":...}};
 * always returns a negative code: -EACCES with res->reason = the code, or
 * -EPROTO ("bad_response") when there is no well-formed code. */
int rtd_est_parse_refusal(long status, const char *body, size_t len, const char *what,
                          struct rtd_attest_result *res) RP_WUR;
/* The issued certificate (PEM): it must certify the key of `csr` (DER)
 * and name `ueid` as its CN. Fills res->not_after and res->serial. */
int rtd_est_check_issued(const char *pem, size_t len, const uint8_t *csr, size_t csr_len,
                         const char *ueid, struct rtd_attest_result *res) RP_WUR;

/* Standard base64 (RFC 4648 §4, with padding) of public data; malloc'd. */
char *rtd_b64_encode(const uint8_t *in, size_t len);

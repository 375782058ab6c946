/* attest.h - the attestation verifier and device certificate issuance
 * (docs/attestation.md).
 *
 * Three parsers take untrusted bytes from an enroll request and are fuzzed
 * on their own (tests/fuzz/{evidence,chain,csr}_fuzz.c): the evidence JWS
 * (structure and claims), the DICE chain (three PEM certificates and the
 * Alias certificate's DICE extensions), and the CSR. srv_attest_verify()
 * runs the ordered checks against the store; the first failing check gives
 * the reason code. srv_attest_issue() signs the device certificate with the
 * tenant's current CA and records it.
 *
 * Trust: nothing in an enroll body is trusted until the check that covers
 * it passed. The evidence is pre-parsed only to find its nonce; every other
 * claim is read from the payload returned by the signature verification. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dice/dice.h"
#include "lib/err.h"
#include "store/attest.h"

struct srv;
struct store;
struct cr_cert;
struct cr_key;
struct cr_csr;

/* Named limits on what a device sends. */
#define SRV_ATTEST_MAX_EVIDENCE (16 * 1024)
#define SRV_ATTEST_MAX_CSR 4096         /* DER bytes */
#define SRV_ATTEST_MAX_CERT_PEM 8192
#define SRV_ATTEST_NONCE_LEN 32
#define SRV_ATTEST_NONCE_LIFETIME_S 120
#define SRV_ATTEST_CERT_HOURS 26

/* Reason codes, in the order the checks run. */
enum srv_attest_reason {
        SRV_AT_OK = 0,
        SRV_AT_MALFORMED,
        SRV_AT_NONCE_UNKNOWN,
        SRV_AT_NONCE_WRONG_TENANT,
        SRV_AT_NONCE_EXPIRED,
        SRV_AT_NONCE_USED,
        SRV_AT_CHAIN_UNKNOWN_MANUFACTURER,
        SRV_AT_DEVICE_UNREGISTERED,
        SRV_AT_DEVICE_UNCLAIMED,
        SRV_AT_DEVICE_OTHER_TENANT,
        SRV_AT_DEVICE_BLOCKED,
        SRV_AT_CHAIN_INVALID,
        SRV_AT_ALIAS_NOT_SIGNED,
        SRV_AT_EVIDENCE_SIGNATURE,
        SRV_AT_UEID_MISMATCH,
        SRV_AT_DEBUG_NOT_ALLOWED,
        SRV_AT_OS_NOT_RELEASED,
        SRV_AT_SVN_BELOW_FLOOR,
        SRV_AT_SVN_ROLLBACK,
        SRV_AT_CSR_INVALID,
        SRV_AT_CSR_KEY_NOT_P256,
        SRV_AT_CSR_NOT_BOUND,
        SRV_AT_REENROLL_CERT_MISMATCH,
        SRV_AT_INTERNAL,                /* the service failed (store, CA): 5xx */
        SRV_AT_COUNT,
};
/* Stable snake_case code ("nonce_used") and the HTTP status it maps to. */
const char *srv_attest_reason_name(enum srv_attest_reason r);
int srv_attest_reason_status(enum srv_attest_reason r);

/* ---- evidence ---- */
struct srv_evidence {
        char nonce[96];                 /* eat_nonce, base64url */
        char ueid[DICE_UEID_HEX_LEN + 1];
        int dbgstat;                    /* RFC 9711: 0 enabled ... 3 disabled-permanently */
        int64_t bootcount;
        char swname[65];
        char swversion[65];
        int64_t svn;
        uint8_t fwid[CR_SHA256_LEN];
        bool has_jkt;
        char jkt[44];                   /* cnf.jkt */
        int64_t iat;
};
/* Structure only (before the signature is checked): three base64url parts,
 * a protected header with alg ES256, a JSON payload with a string
 * eat_nonce. *ret_nonce gets that nonce (up to 95 chars). */
int srv_evidence_peek_nonce(const char *jws, size_t len, char ret_nonce[96],
                            struct rp_err *err) RP_WUR;
/* Parses verified claims: exact types, known members only, bounded
 * strings, fwid 64 hex, ueid 40 lowercase hex. */
int srv_evidence_claims_parse(const uint8_t *payload, size_t len, struct srv_evidence *ret,
                              struct rp_err *err) RP_WUR;

/* ---- DICE chain ---- */
struct srv_dice_chain {
        struct cr_cert *deviceid, *alias, *device_ca;
        char ueid[DICE_UEID_HEX_LEN + 1];       /* identifier of the DeviceID key */
};
/* Parses the three PEM certificates (one each, DeviceID, Alias, device CA). */
int srv_chain_parse(const char *const pem[3], struct srv_dice_chain *ret,
                    struct rp_err *err) RP_WUR;
/* The Alias certificate's DiceTcbInfo and UEID extensions. */
int srv_chain_alias_ext(const struct srv_dice_chain *c, struct dice_tcb_info *ret_tcb,
                        char ret_ueid[DICE_UEID_HEX_LEN + 1], struct rp_err *err) RP_WUR;
void srv_chain_clear(struct srv_dice_chain *c);

/* ---- CSR ---- */
/* Parses a DER PKCS#10: *ret_reason is SRV_AT_CSR_INVALID (unparseable,
 * bad self-signature) or SRV_AT_CSR_KEY_NOT_P256. */
int srv_csr_parse(const uint8_t *der, size_t len, struct cr_key **ret_pub,
                  enum srv_attest_reason *ret_reason, struct rp_err *err) RP_WUR;

/* ---- standard base64 (RFC 4648 section 4) ---- */
int srv_b64_decode(const char *in, size_t len, uint8_t **ret, size_t *ret_len) RP_WUR;
/* Lines of 64 characters, each ending in "\r\n" when wrap is set. */
char *srv_b64_encode(const uint8_t *in, size_t len, bool wrap);

/* ---- the verifier ---- */
struct srv_attest_request {
        const char *tenant_id;
        const char *evidence;
        size_t evidence_len;
        const char *chain[3];
        const uint8_t *csr;
        size_t csr_len;
        const char *purpose;            /* "platform" | "app" */
        const struct cr_cert *peer;     /* simplereenroll: the TLS client cert; else NULL */
        bool reenroll;
        int64_t now_ms;
};

struct srv_attest_result {
        enum srv_attest_reason reason;
        char msg[RP_ERR_MSG_MAX];
        char ueid[DICE_UEID_HEX_LEN + 1];       /* "" until known */
        bool device_in_tenant;                  /* the result may be recorded on the device */
        struct srv_evidence ev;                 /* valid when reason is OK */
        struct cr_key *csr_pub;                 /* owned; set when reason is OK */
};
void srv_attest_result_clear(struct srv_attest_result *res);

/* Runs every check in order; fills *res. Returns 0 when the checks ran
 * (res->reason says the verdict), or a negative code when the store failed
 * (then res->reason is SRV_AT_INTERNAL). Consumes the nonce. */
int srv_attest_verify(struct store *st, const struct srv_attest_request *req,
                      struct srv_attest_result *res) RP_WUR;

/* Issues and records the device certificate for a verified attestation
 * with the device's new state. Runs inside the caller's transaction (the
 * one that consumed the nonce), so the attestation lands as one durable
 * write. *ret_cert is the new certificate. */
struct srv_issue_opts {
        unsigned cert_hours;
        unsigned backdate_hours;
};
int srv_attest_issue(struct srv *s, const struct srv_attest_request *req,
                     const struct srv_attest_result *res, const struct srv_issue_opts *o,
                     struct cr_cert **ret_cert, struct rp_err *err) RP_WUR;

/* ---- RFC 7030 certs-only ----
 * DER of a degenerate PKCS#7 SignedData (RFC 2315 / 5652) holding `n`
 * certificates and no signers. *ret is malloc'd. */
int srv_pkcs7_certs_only(struct cr_cert *const *certs, size_t n, uint8_t **ret,
                         size_t *ret_len, struct rp_err *err) RP_WUR;

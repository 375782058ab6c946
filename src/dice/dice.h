/* dice.h - DICE identity: Open-Profile-for-DICE-style derivation with P-256.
 *
 *   DeviceID key  = P256(seed = HKDF-SHA-512(ikm=UDS, salt=ID_SALT, "Key Pair"))
 *   measurement   = SHA-512(canonical encoding of struct dice_inputs)
 *   CDI_Attest    = HKDF-SHA-512(ikm=UDS, salt=measurement, "CDI_Attest")
 *   Alias key     = P256(seed = HKDF-SHA-512(ikm=CDI_Attest, salt=ID_SALT, "Key Pair"))
 *   identifier    = HKDF-SHA-512(ikm=public point 04||X||Y, salt=ID_SALT, "ID")[0..20)
 *   UEID          = lowercase hex of the DeviceID identifier (40 characters)
 *
 * The DeviceID depends on the UDS alone, so it survives OS updates; the
 * Alias key depends on every measured input, so a different OS image, SVN or
 * debug state gives a different Alias key. The layout follows the Open
 * Profile for DICE (same roles, labels and KDF) but uses P-256 seeds through
 * cr_key_from_seed and its own ID salt, so it is not byte-compatible with
 * the reference implementation (docs/threat-model.md).
 *
 * Pure: no I/O, no logging. Secrets passed in are borrowed; every secret
 * derived inside (CDIs, seeds) is wiped before returning. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "crypto/crypto.h"
#include "lib/err.h"
#include "lib/wipe.h"

#define DICE_CDI_LEN 64
#define DICE_ID_LEN 20
#define DICE_UEID_HEX_LEN 40
#define DICE_MEASUREMENT_LEN 64
#define DICE_VERSION_MAX 64

/* What the boot stage measures into the Alias layer. */
struct dice_inputs {
        uint8_t code_hash[CR_SHA256_LEN];       /* fwid: the OS image digest */
        uint32_t svn;                           /* the OS image's SVN */
        bool debug;                             /* debug-enabled fuse */
        bool locked;                            /* lifecycle == locked */
};

void dice_measure(const struct dice_inputs *in, uint8_t out[DICE_MEASUREMENT_LEN]);
/* CDI = HKDF-SHA-512(ikm=prev, salt=measurement, info=label). */
int dice_cdi_derive(const uint8_t *prev, size_t prev_len,
                    const uint8_t measurement[DICE_MEASUREMENT_LEN], const char *label,
                    struct rp_secret64 *ret) RP_WUR;
/* Key pair from a layer secret (UDS or CDI). */
int dice_key_derive(const uint8_t *secret, size_t len, struct cr_key **ret,
                    struct rp_err *err) RP_WUR;
/* 20-byte identifier of a public key. */
int dice_id_derive(const struct cr_key *k, uint8_t out[DICE_ID_LEN]) RP_WUR;
void dice_id_hex(const uint8_t id[DICE_ID_LEN], char out[DICE_UEID_HEX_LEN + 1]);

/* DeviceID key and identifier from the UDS. */
int dice_deviceid_derive(const struct rp_secret32 *uds, struct cr_key **ret_key,
                         uint8_t ret_id[DICE_ID_LEN], struct rp_err *err) RP_WUR;
/* Alias key and identifier from the UDS and the measured inputs. */
int dice_alias_derive(const struct rp_secret32 *uds, const struct dice_inputs *in,
                      struct cr_key **ret_key, uint8_t ret_id[DICE_ID_LEN],
                      struct rp_err *err) RP_WUR;

/* ---- DICE certificates ---- */
#define DICE_OID_TCB_INFO "2.23.133.5.4.1"
#define DICE_OID_UEID "2.23.133.5.4.4"
#define DICE_MAX_EXT_DER 512

/* OperationalFlags bit numbers (TCG DICE Attestation Architecture). */
enum {
        DICE_FLAG_NOT_CONFIGURED = 1u << 0,
        DICE_FLAG_NOT_SECURE = 1u << 1,
        DICE_FLAG_RECOVERY = 1u << 2,
        DICE_FLAG_DEBUG = 1u << 3,
};
#define DICE_FLAGS_KNOWN 0xfu

/* The fields of DiceTcbInfo that Rampart writes and reads. */
struct dice_tcb_info {
        char vendor[DICE_VERSION_MAX + 1];      /* "" = absent */
        char model[DICE_VERSION_MAX + 1];       /* "" = absent */
        char version[DICE_VERSION_MAX + 1];     /* "" = absent */
        uint64_t svn;
        uint32_t layer;
        uint8_t fwid[CR_SHA256_LEN];            /* one SHA-256 FWID (required) */
        uint32_t flags;                         /* DICE_FLAG_* */
};

/* DER writers into out[cap]; -ENOSPC when it does not fit. */
int dice_tcb_info_encode(const struct dice_tcb_info *t, uint8_t *out, size_t cap,
                         size_t *ret_len) RP_WUR;
/* TcgUeid ::= SEQUENCE { ueid OCTET STRING } with the 20-byte identifier. */
int dice_ueid_encode(const uint8_t id[DICE_ID_LEN], uint8_t *out, size_t cap,
                     size_t *ret_len) RP_WUR;
/* Strict DER parsers (canonical lengths, fields in order, known tags only,
 * every length checked against what is left). For untrusted certificates. */
int dice_tcb_info_parse(const uint8_t *der, size_t len, struct dice_tcb_info *ret,
                        struct rp_err *err) RP_WUR;
int dice_ueid_parse(const uint8_t *der, size_t len, uint8_t ret[DICE_ID_LEN],
                    struct rp_err *err) RP_WUR;

/* DeviceID certificate, issued by the manufacturer's device CA: CN=<ueid>,
 * O=Rampart DeviceID, CA with path length 0, UEID extension; valid until
 * 9999-12-31 (no well-defined expiry, RFC 5280 4.1.2.5). */
int dice_deviceid_cert_issue(const struct cr_cert *ca_cert, const struct cr_key *ca_key,
                             const struct cr_key *deviceid, const uint8_t id[DICE_ID_LEN],
                             struct cr_cert **ret, struct rp_err *err) RP_WUR;
/* Alias certificate signed by the DeviceID key: CN=<alias id hex>, O=Rampart
 * Alias, end entity, DiceTcbInfo (layer 1) and UEID extensions, serial
 * derived from the Alias identifier. */
int dice_alias_cert_issue(const struct cr_cert *deviceid_cert, const struct cr_key *deviceid_key,
                          const struct cr_key *alias, const uint8_t alias_id[DICE_ID_LEN],
                          const uint8_t ueid[DICE_ID_LEN], const struct dice_tcb_info *tcb,
                          struct cr_cert **ret, struct rp_err *err) RP_WUR;

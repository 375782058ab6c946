/* registry_record.h - verification of one manufacturer registration record
 * (one line of the file `rampart-device provision` writes). No store, no
 * I/O, no logging: it takes the text and the trusted manufacturer roots
 * and returns a verdict, so it can be fuzzed (tests/fuzz/
 * registry_record_fuzz.c).
 *
 * Checks, in order: one JSON object with exactly the members ueid,
 * deviceid_pub, deviceid_cert, device_ca, debug, provisioned_at and their
 * types; ueid is 40 lowercase hex; provisioned_at is RFC 3339; deviceid_pub
 * is base64url (no padding) of a P-256 SubjectPublicKeyInfo; both PEMs
 * parse; device_ca is a CA and signed deviceid_cert; device_ca chains to one
 * of the roots and the whole chain validates (strict RFC 5280, now); the
 * certificate's key is deviceid_pub; ueid is the DICE identifier of that
 * key, the certificate's CN and its UEID extension when present. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"
#include "lib/err.h"
#include "store/registry.h"

#define SRV_REG_MAX_LINE (64 * 1024)    /* one record */
#define SRV_REG_CA_CACHE 64             /* distinct device CAs remembered */
#define SRV_REG_FIELD_MAX 65            /* member name in a refusal */

struct srv_reg_verifier {
        struct cr_cert *const *roots;   /* trusted manufacturer roots (borrowed) */
        size_t n_roots;
        /* device CAs already checked against the roots (most files carry
         * one device CA on every line): root index or -1 with the reason */
        struct {
                uint8_t fpr[CR_SHA256_LEN];
                long root;
                char why[RP_ERR_MSG_MAX];
        } cas[SRV_REG_CA_CACHE];
        size_t n_cas;
};

/* On success fills *ret (all but manufacturer_id and imported_ms) and
 * *ret_root with the index of the root the device CA chains to. On a
 * refusal returns -EBADMSG with err saying what was wrong and ret_field
 * naming the member ("" when the line as a whole is wrong). */
int srv_reg_record_verify(struct srv_reg_verifier *v, const char *text, size_t len,
                          struct store_registry_record *ret, size_t *ret_root,
                          char ret_field[SRV_REG_FIELD_MAX], struct rp_err *err) RP_WUR;

/* envelope.h - the signed envelope every piece of Rampart update metadata
 * travels in (DSSE-style, docs/updates.md has the byte-exact format):
 *
 *   {"payloadType":"application/vnd.rampart.tuf+json",
 *    "payload":"<base64url, no padding, of the exact metadata bytes>",
 *    "signatures":[{"keyid":"<64 lowercase hex>","sig":"<base64url of r||s>"}]}
 *
 * Each signature is ECDSA P-256/SHA-256 over DSSE's pre-authentication
 * encoding PAE(payloadType, payload bytes) =
 *   "DSSEv1" SP len(type) SP type SP len(payload) SP payload
 * with lengths in ASCII decimal. The payload is verified as the exact bytes
 * it arrived as and parsed only after enough signatures verify; nothing is
 * re-serialized before verification.
 *
 * Pure: buffers in, verdicts out. Trusts nothing in the envelope: key ids
 * only select among keys the caller already trusts. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "crypto/crypto.h"
#include "lib/err.h"

#define TUF_PAYLOAD_TYPE "application/vnd.rampart.tuf+json"
#define TUF_MAX_SIGNATURES 16   /* signatures carried by one envelope */
#define TUF_MAX_KEYS 32         /* keys listed by one metadata document */
#define TUF_MAX_ROLE_KEYS 16    /* key ids of one role */

/* A trusted public key: its id (SHA-256 of the SPKI DER) and the raw point. */
struct tuf_key {
        uint8_t id[CR_KEY_ID_LEN];
        uint8_t pub[CR_P256_PUB_LEN];
};

struct tuf_keyring {
        size_t n;
        struct tuf_key keys[TUF_MAX_KEYS];
};

/* The keys a role accepts and how many distinct ones must sign. */
struct tuf_role_keys {
        size_t n;
        uint8_t ids[TUF_MAX_ROLE_KEYS][CR_KEY_ID_LEN];
        uint64_t threshold;
};

struct tuf_sig {
        uint8_t keyid[CR_KEY_ID_LEN];
        uint8_t sig[CR_SIG_RAW_LEN];
};

/* A parsed envelope. `payload` is malloc'd (NUL after the last byte, not
 * counted); tuf_envelope_free releases it. */
struct tuf_envelope {
        uint8_t *payload;
        size_t payload_len;
        size_t n_sigs;
        struct tuf_sig sigs[TUF_MAX_SIGNATURES];
};

/* Parses an envelope of at most `max` bytes, strictly (exact fields, one
 * payload type, canonical base64url, 64-byte signatures). Does not verify. */
int tuf_envelope_parse(const void *buf, size_t len, size_t max, const char *what,
                       struct tuf_envelope *ret, struct rp_err *err) RP_WUR;
void tuf_envelope_free(struct tuf_envelope *e);

/* PAE bytes for a payload (malloc'd into *ret). */
int tuf_pae(const uint8_t *payload, size_t len, uint8_t **ret, size_t *ret_len) RP_WUR;

/* Counts distinct keys of `role` (looked up in `ring`) with a valid
 * signature on the envelope; a key id appearing twice counts once, key ids
 * outside the role are ignored. 0 when the count reaches the threshold,
 * otherwise -EPERM with a message naming `what` and the counts. */
int tuf_envelope_verify(const struct tuf_envelope *e, const struct tuf_keyring *ring,
                        const struct tuf_role_keys *role, const char *what,
                        struct rp_err *err) RP_WUR;

/* Builds an envelope with no signatures around `payload` (*ret malloc'd,
 * NUL-terminated). */
int tuf_envelope_new(const void *payload, size_t len, char **ret, size_t *ret_len,
                     struct rp_err *err) RP_WUR;
/* Adds (or replaces) `key`'s signature on the envelope `buf` and returns the
 * new envelope bytes. The payload bytes are carried over unchanged. */
int tuf_envelope_sign(const void *buf, size_t len, size_t max, const struct cr_key *key,
                      char **ret, size_t *ret_len, struct rp_err *err) RP_WUR;

/* Key helpers. */
int tuf_key_from_cr(const struct cr_key *k, struct tuf_key *ret) RP_WUR;
const struct tuf_key *tuf_keyring_find(const struct tuf_keyring *ring, const uint8_t id[CR_KEY_ID_LEN]);
/* Adds a key unless already present; -ENOSPC past TUF_MAX_KEYS. */
int tuf_keyring_add(struct tuf_keyring *ring, const struct tuf_key *k) RP_WUR;
bool tuf_role_has(const struct tuf_role_keys *role, const uint8_t id[CR_KEY_ID_LEN]);

/* keystore.h - encryption at rest for private keys the service holds
 * (tenant CA keys). A 32-byte master key lives in <data>/master.key (mode
 * 0600, created on first start); values are sealed with AES-256-GCM under
 * it, with associated data that binds the ciphertext to its owner (e.g.
 * "tenant-ca:<tenant id>:<ca id>") so a sealed key cannot be moved to
 * another row. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

#define SRV_MASTER_KEY_LEN 32

struct srv_keystore {
        uint8_t key[SRV_MASTER_KEY_LEN];
};

/* Loads <dir>/master.key, creating it (random, 0600) when absent. Refuses a
 * file of the wrong size or with group/other permissions. */
int srv_keystore_open(const char *dir, struct srv_keystore *ret, struct rp_err *err) RP_WUR;
void srv_keystore_wipe(struct srv_keystore *ks);

/* out: malloc'd nonce || ciphertext || tag. */
int srv_keystore_seal(const struct srv_keystore *ks, const char *aad, const void *plain,
                      size_t len, uint8_t **ret, size_t *ret_len, struct rp_err *err) RP_WUR;
/* out: malloc'd plaintext (+ NUL, not counted); caller wipes and frees.
 * -EBADMSG when the tag does not verify (wrong key, wrong aad, tampered). */
int srv_keystore_open_sealed(const struct srv_keystore *ks, const char *aad, const uint8_t *sealed,
                             size_t len, uint8_t **ret, size_t *ret_len,
                             struct rp_err *err) RP_WUR;

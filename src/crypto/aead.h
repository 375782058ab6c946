/* aead.h - AES-256-GCM for sealing data at rest (server key storage).
 * Nonces are random 96-bit values; the output format is
 * nonce(12) || ciphertext || tag(16). */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

#define CR_AEAD_KEY_LEN 32
#define CR_AEAD_NONCE_LEN 12
#define CR_AEAD_TAG_LEN 16
#define CR_AEAD_OVERHEAD (CR_AEAD_NONCE_LEN + CR_AEAD_TAG_LEN)

/* *ret is malloc'd (len + CR_AEAD_OVERHEAD bytes). */
int cr_aead_seal(const uint8_t key[CR_AEAD_KEY_LEN], const void *aad, size_t aad_len,
                 const void *plain, size_t len, uint8_t **ret, size_t *ret_len,
                 struct rp_err *err) RP_WUR;
/* *ret is malloc'd (+ NUL, not counted); -EBADMSG when authentication fails. */
int cr_aead_open(const uint8_t key[CR_AEAD_KEY_LEN], const void *aad, size_t aad_len,
                 const uint8_t *sealed, size_t len, uint8_t **ret, size_t *ret_len,
                 struct rp_err *err) RP_WUR;

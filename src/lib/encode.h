/* encode.h - hex and base64url (no padding), constant-time in the secret
 * bytes' values (no table lookups indexed by secret data on encode). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lib/err.h"

/* Writes 2*n hex digits plus NUL into out (size >= 2*n+1). */
void rp_hex_encode(const uint8_t *in, size_t n, char *out);
/* Decodes exactly `n` bytes from a 2*n-digit hex string; -EINVAL otherwise. */
int rp_hex_decode(const char *hex, uint8_t *out, size_t n) RP_WUR;

/* Value 0..63 of one base64 digit, or -1: the URL-safe alphabet ("-_",
 * RFC 4648 section 5) with `url`, the standard one ("+/", section 4)
 * without. */
int rp_b64_digit(char c, bool url);

size_t rp_b64url_encoded_len(size_t n);
void rp_b64url_encode(const uint8_t *in, size_t n, char *out); /* out: encoded_len+1 */
/* Decodes; *ret_out is malloc'd (caller frees). Rejects padding, whitespace
 * and non-canonical trailing bits. */
int rp_b64url_decode(const char *in, size_t len, uint8_t **ret_out, size_t *ret_len) RP_WUR;

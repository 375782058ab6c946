/* auth.h - API tokens: generation, hashing and lookup.
 *
 * A token is "rpt_" + base64url(32 random bytes) (47 characters). Only
 * SHA-256(token text) is stored; a lookup hashes the presented text, finds
 * the row by its hash and compares the hashes again in constant time. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"
#include "store/tokens.h"

#define SRV_TOKEN_PREFIX "rpt_"
#define SRV_TOKEN_LEN 47        /* prefix + 43 base64url chars */
#define SRV_TOKEN_BUF 48

/* New random token text into buf; *ret_hash gets its SHA-256. */
int srv_token_generate(char buf[SRV_TOKEN_BUF], uint8_t ret_hash[STORE_TOKEN_HASH_LEN]) RP_WUR;
/* 0 when `text` is shaped like a token (prefix, length, alphabet). */
int srv_token_check_format(const char *text) RP_WUR;
/* Authenticates presented token text at time now_ms: -EINVAL malformed,
 * -ENOENT unknown, -EKEYREVOKED revoked, -EKEYEXPIRED expired (each with a
 * message that never repeats the token), -EIO/-EBUSY store failure. */
int srv_auth_lookup(struct store *st, const char *text, int64_t now_ms, struct store_token *ret,
                    struct rp_err *err) RP_WUR;
/* Creates and stores a token; the text is returned once in buf. */
int srv_token_issue(struct store *st, const char *tenant_id, int role, const char *name,
                    int64_t expires_ms, const char *created_by, struct store_token *ret,
                    char buf[SRV_TOKEN_BUF], struct rp_err *err) RP_WUR;

/* auth.c - API token generation and authentication (see auth.h). */
#include <string.h>

#include "crypto/crypto.h"
#include "lib/encode.h"
#include "lib/wipe.h"
#include "server/auth.h"
#include "server/http.h"

int srv_token_generate(char buf[SRV_TOKEN_BUF], uint8_t ret_hash[STORE_TOKEN_HASH_LEN])
{
        struct rp_secret32 raw;
        if (cr_random(raw.b, sizeof(raw.b)) < 0)
                return -EIO;
        memcpy(buf, SRV_TOKEN_PREFIX, 4);
        rp_b64url_encode(raw.b, sizeof(raw.b), buf + 4);
        rp_secret32_wipe(&raw);
        cr_sha256(buf, SRV_TOKEN_LEN, ret_hash);
        return 0;
}

int srv_token_check_format(const char *text)
{
        if (strlen(text) != SRV_TOKEN_LEN || strncmp(text, SRV_TOKEN_PREFIX, 4))
                return -EINVAL;
        for (const char *p = text + 4; *p; p++)
                if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
                        return -EINVAL;
        return 0;
}

int srv_auth_lookup(struct store *st, const char *text, int64_t now_ms, struct store_token *ret,
                    struct rp_err *err)
{
        if (srv_token_check_format(text) < 0)
                return rp_err_set(err, -EINVAL, "malformed bearer token (expected '%s' followed "
                                  "by 43 base64url characters)", SRV_TOKEN_PREFIX);
        uint8_t h[STORE_TOKEN_HASH_LEN];
        cr_sha256(text, SRV_TOKEN_LEN, h);
        struct store_token t;
        int r = store_token_find_by_hash(st, h, &t, err);
        if (r == -ENOENT)
                return rp_err_set(err, -ENOENT, "unknown token");
        if (r < 0)
                return r;
        if (!cr_memeq(t.hash, h, sizeof(h)))
                return rp_err_set(err, -ENOENT, "unknown token");
        if (t.revoked_ms)
                return rp_err_set(err, -EKEYREVOKED, "token %s has been revoked", t.id);
        if (t.expires_ms && now_ms >= t.expires_ms)
                return rp_err_set(err, -EKEYEXPIRED, "token %s has expired", t.id);
        *ret = t;
        return 0;
}

int srv_token_issue(struct store *st, const char *tenant_id, int role, const char *name,
                    int64_t expires_ms, const char *created_by, struct store_token *ret,
                    char buf[SRV_TOKEN_BUF], struct rp_err *err)
{
        struct store_token t = {.role = role, .created_ms = srv_now_ms(), .expires_ms = expires_ms};
        char id[SRV_ID_BUF];
        if (srv_new_id("tok", id) < 0 || srv_token_generate(buf, t.hash) < 0)
                return rp_err_set(err, -EIO, "no randomness for a token");
        snprintf(t.id, sizeof(t.id), "%s", id);
        snprintf(t.tenant_id, sizeof(t.tenant_id), "%s", tenant_id ? tenant_id : "");
        snprintf(t.name, sizeof(t.name), "%s", name ? name : "");
        snprintf(t.created_by, sizeof(t.created_by), "%s", created_by ? created_by : "");
        int r = store_token_create(st, &t, err);
        if (r < 0) {
                rp_wipe(buf, SRV_TOKEN_BUF);
                return r;
        }
        if (ret)
                *ret = t;
        return 0;
}

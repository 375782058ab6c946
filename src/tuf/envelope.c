/* envelope.c - see envelope.h. */
#include "tuf/envelope.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lib/encode.h"
#include "tuf/json.h"

void tuf_envelope_free(struct tuf_envelope *e)
{
        if (!e)
                return;
        free(e->payload);
        e->payload = NULL;
        e->payload_len = 0;
        e->n_sigs = 0;
}

static int b64_field(const json_t *obj, const char *key, const char *what, uint8_t **ret,
                     size_t *ret_len, struct rp_err *err)
{
        json_t *v = json_object_get(obj, key);
        if (!json_is_string(v))
                return rp_err_set(err, -EBADMSG, "%s: field '%s' is not a string", what, key);
        if (rp_b64url_decode(json_string_value(v), json_string_length(v), ret, ret_len) < 0)
                return rp_err_set(err, -EBADMSG,
                                  "%s: field '%s' is not canonical unpadded base64url", what, key);
        return 0;
}

int tuf_envelope_parse(const void *buf, size_t len, size_t max, const char *what,
                       struct tuf_envelope *ret, struct rp_err *err)
{
        static const char *const fields[] = {"payloadType", "payload", "signatures", NULL};
        static const char *const sfields[] = {"keyid", "sig", NULL};
        struct tuf_envelope e = {0};
        json_t *root = NULL, *sigs, *v;
        char type[64];
        char sw[96];
        int r;

        r = tuf_json_parse(buf, len, max, what, &root, err);
        if (r < 0)
                return r;
        r = tuf_json_fields(root, what, fields, fields, err);
        if (r < 0)
                goto out;
        r = tuf_json_str(root, "payloadType", what, type, sizeof(type) - 1, err);
        if (r < 0)
                goto out;
        if (strcmp(type, TUF_PAYLOAD_TYPE)) {
                r = rp_err_set(err, -EBADMSG, "%s: payloadType is '%s', expected '%s'", what,
                               type, TUF_PAYLOAD_TYPE);
                goto out;
        }
        r = b64_field(root, "payload", what, &e.payload, &e.payload_len, err);
        if (r < 0)
                goto out;
        r = tuf_json_arr(root, "signatures", what, TUF_MAX_SIGNATURES, &sigs, err);
        if (r < 0)
                goto out;
        for (size_t i = 0; i < json_array_size(sigs); i++) {
                uint8_t *raw = NULL;
                size_t raw_len = 0;

                v = json_array_get(sigs, i);
                snprintf(sw, sizeof(sw), "%.60s: signature %zu", what, i);
                r = tuf_json_fields(v, sw, sfields, sfields, err);
                if (r < 0)
                        goto out;
                r = tuf_json_hex(v, "keyid", sw, e.sigs[i].keyid, CR_KEY_ID_LEN, err);
                if (r < 0)
                        goto out;
                r = b64_field(v, "sig", sw, &raw, &raw_len, err);
                if (r < 0)
                        goto out;
                if (raw_len != CR_SIG_RAW_LEN) {
                        free(raw);
                        r = rp_err_set(err, -EBADMSG, "%s: sig is %zu bytes, expected %d (r||s)",
                                       sw, raw_len, CR_SIG_RAW_LEN);
                        goto out;
                }
                memcpy(e.sigs[i].sig, raw, CR_SIG_RAW_LEN);
                free(raw);
                e.n_sigs++;
        }
        /* callers treat the payload as a C string in messages; keep it terminated */
        {
                uint8_t *p = realloc(e.payload, e.payload_len + 1);
                if (!p) {
                        r = rp_err_set(err, -ENOMEM, "out of memory");
                        goto out;
                }
                p[e.payload_len] = '\0';
                e.payload = p;
        }
        *ret = e;
        e.payload = NULL;
        r = 0;
out:
        free(e.payload);
        json_decref(root);
        return r;
}

int tuf_pae(const uint8_t *payload, size_t len, uint8_t **ret, size_t *ret_len)
{
        char head[128];
        int n = snprintf(head, sizeof(head), "DSSEv1 %zu %s %zu ", strlen(TUF_PAYLOAD_TYPE),
                         TUF_PAYLOAD_TYPE, len);
        size_t total;
        uint8_t *out;

        if (n < 0 || (size_t)n >= sizeof(head))
                return -EINVAL;
        if (__builtin_add_overflow((size_t)n, len, &total))
                return -EFBIG;
        out = malloc(total ? total : 1);
        if (!out)
                return -ENOMEM;
        memcpy(out, head, (size_t)n);
        if (len)
                memcpy(out + n, payload, len);
        *ret = out;
        *ret_len = total;
        return 0;
}

const struct tuf_key *tuf_keyring_find(const struct tuf_keyring *ring, const uint8_t id[CR_KEY_ID_LEN])
{
        for (size_t i = 0; i < ring->n; i++)
                if (!memcmp(ring->keys[i].id, id, CR_KEY_ID_LEN))
                        return &ring->keys[i];
        return NULL;
}

int tuf_keyring_add(struct tuf_keyring *ring, const struct tuf_key *k)
{
        if (tuf_keyring_find(ring, k->id))
                return 0;
        if (ring->n >= TUF_MAX_KEYS)
                return -ENOSPC;
        ring->keys[ring->n++] = *k;
        return 0;
}

bool tuf_role_has(const struct tuf_role_keys *role, const uint8_t id[CR_KEY_ID_LEN])
{
        for (size_t i = 0; i < role->n; i++)
                if (!memcmp(role->ids[i], id, CR_KEY_ID_LEN))
                        return true;
        return false;
}

int tuf_key_from_cr(const struct cr_key *k, struct tuf_key *ret)
{
        struct tuf_key t;
        int r = cr_key_id(k, t.id);
        if (r < 0)
                return r;
        r = cr_key_pub_raw(k, t.pub);
        if (r < 0)
                return r;
        *ret = t;
        return 0;
}

int tuf_envelope_verify(const struct tuf_envelope *e, const struct tuf_keyring *ring,
                        const struct tuf_role_keys *role, const char *what, struct rp_err *err)
{
        uint8_t counted[TUF_MAX_SIGNATURES][CR_KEY_ID_LEN];
        size_t n_valid = 0, n_dup = 0, n_unknown = 0, n_bad = 0;
        uint8_t *pae = NULL;
        size_t pae_len;
        int r;

        if (role->threshold < 1)
                return rp_err_set(err, -EPERM, "%s: role threshold is 0", what);
        r = tuf_pae(e->payload, e->payload_len, &pae, &pae_len);
        if (r < 0)
                return rp_err_set(err, r, "%s: cannot build the signed message", what);
        for (size_t i = 0; i < e->n_sigs; i++) {
                const struct tuf_sig *s = &e->sigs[i];
                const struct tuf_key *k;
                struct cr_key *ck = NULL;
                bool dup = false;

                for (size_t j = 0; j < n_valid; j++)
                        if (!memcmp(counted[j], s->keyid, CR_KEY_ID_LEN))
                                dup = true;
                if (dup) {
                        n_dup++;
                        continue;
                }
                if (!tuf_role_has(role, s->keyid) || !(k = tuf_keyring_find(ring, s->keyid))) {
                        n_unknown++;
                        continue;
                }
                if (cr_key_pub_from_raw(k->pub, &ck, NULL) < 0) {
                        n_bad++;
                        continue;
                }
                if (cr_verify_raw(ck, pae, pae_len, s->sig, NULL) == 0)
                        memcpy(counted[n_valid++], s->keyid, CR_KEY_ID_LEN);
                else
                        n_bad++;
                cr_key_free(ck);
        }
        free(pae);
        if (n_valid >= role->threshold)
                return 0;
        return rp_err_set(err, -EPERM,
                          "%s: %zu valid signature(s) from distinct trusted keys, the threshold "
                          "is %llu (%zu duplicate, %zu from keys not trusted for this role, %zu "
                          "invalid)",
                          what, n_valid, (unsigned long long)role->threshold, n_dup, n_unknown,
                          n_bad);
}

static int envelope_dump(const uint8_t *payload, size_t len, const struct tuf_sig *sigs,
                         size_t n_sigs, char **ret, size_t *ret_len, struct rp_err *err)
{
        json_t *root = json_object(), *arr = json_array();
        char *b64 = malloc(rp_b64url_encoded_len(len) + 1);
        int r = -ENOMEM;

        if (!root || !arr || !b64)
                goto out;
        rp_b64url_encode(payload, len, b64);
        if (json_object_set_new(root, "payloadType", json_string(TUF_PAYLOAD_TYPE)) < 0 ||
            json_object_set_new(root, "payload", json_string(b64)) < 0)
                goto out;
        for (size_t i = 0; i < n_sigs; i++) {
                char hex[2 * CR_KEY_ID_LEN + 1], sig[96]; /* 86 base64url chars */
                json_t *o;
                rp_hex_encode(sigs[i].keyid, CR_KEY_ID_LEN, hex);
                rp_b64url_encode(sigs[i].sig, CR_SIG_RAW_LEN, sig);
                o = json_pack("{s:s,s:s}", "keyid", hex, "sig", sig);
                if (!o || json_array_append_new(arr, o) < 0)
                        goto out;
        }
        if (json_object_set(root, "signatures", arr) < 0)
                goto out;
        r = tuf_json_dump(root, ret, ret_len);
out:
        free(b64);
        json_decref(arr);
        json_decref(root);
        if (r < 0)
                return rp_err_set(err, r, "cannot serialize the envelope: out of memory");
        return 0;
}

int tuf_envelope_new(const void *payload, size_t len, char **ret, size_t *ret_len,
                     struct rp_err *err)
{
        return envelope_dump(payload, len, NULL, 0, ret, ret_len, err);
}

int tuf_envelope_sign(const void *buf, size_t len, size_t max, const struct cr_key *key,
                      char **ret, size_t *ret_len, struct rp_err *err)
{
        struct tuf_envelope e;
        uint8_t *pae = NULL, id[CR_KEY_ID_LEN], sig[CR_SIG_RAW_LEN];
        size_t pae_len, slot;
        int r;

        r = tuf_envelope_parse(buf, len, max, "envelope", &e, err);
        if (r < 0)
                return r;
        r = cr_key_id(key, id);
        if (r < 0) {
                r = rp_err_set(err, r, "cannot compute the signing key's id");
                goto out;
        }
        r = tuf_pae(e.payload, e.payload_len, &pae, &pae_len);
        if (r < 0) {
                r = rp_err_set(err, r, "cannot build the signed message");
                goto out;
        }
        r = cr_sign_raw(key, pae, pae_len, sig, err);
        if (r < 0)
                goto out;
        for (slot = 0; slot < e.n_sigs; slot++)
                if (!memcmp(e.sigs[slot].keyid, id, CR_KEY_ID_LEN))
                        break;
        if (slot == e.n_sigs) {
                if (e.n_sigs >= TUF_MAX_SIGNATURES) {
                        r = rp_err_set(err, -ENOSPC, "envelope already has %d signatures",
                                       TUF_MAX_SIGNATURES);
                        goto out;
                }
                e.n_sigs++;
        }
        memcpy(e.sigs[slot].keyid, id, CR_KEY_ID_LEN);
        memcpy(e.sigs[slot].sig, sig, CR_SIG_RAW_LEN);
        r = envelope_dump(e.payload, e.payload_len, e.sigs, e.n_sigs, ret, ret_len, err);
out:
        free(pae);
        tuf_envelope_free(&e);
        return r;
}

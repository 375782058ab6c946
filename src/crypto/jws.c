/* jws.c - JWS compact serialization (RFC 7515) with ES256 only, through
 * cjose.
 *
 * cjose does the signing and the signature check. Before a token reaches it,
 * this file checks the structure itself, because cjose accepts more than we
 * want and says less than we need: it imports alg "none" (parse-only), takes
 * the last of duplicated header members, knows nothing of "crit", and
 * reports every problem as "invalid argument". Here the input is capped
 * (CR_JWS_MAX), must be exactly three base64url parts in canonical form, the
 * protected header must be a JSON object without duplicate members whose
 * "alg" is "ES256" and which has no "crit", and the signature must be the 64
 * bytes of r||s. Only then does cjose verify it.
 *
 * cjose builds its keys from JWK material, so the signing key's scalar is
 * exported from the EVP key into a stack buffer for cjose_jwk_create_EC_spec
 * and wiped right after; cjose keeps it in an EC_KEY that it clears when
 * the JWK is released. */
#include <cjose/cjose.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>
#include "crypto/crypto_int.h"
#include "lib/encode.h"

#define CR_JWS_HDR_MAX 4096             /* decoded protected header */
#define CR_JWS_PARAM_MAX 256            /* kid / typ */

/* One parsed (not yet verified) compact JWS. */
struct jws_parts {
        json_t *hdr;
        const char *alg;                /* borrowed from hdr */
        const char *kid;                /* borrowed from hdr; NULL if absent */
};

static void jws_parts_clear(struct jws_parts *p)
{
        json_decref(p->hdr);
        memset(p, 0, sizeof(*p));
}

static bool b64url_char(char c)
{
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '_';
}

static int decode_part(const char *name, const char *s, size_t n, size_t max, uint8_t **ret,
                       size_t *ret_len, struct rp_err *err)
{
        if (n > 0 && (n / 4) * 3 > max + 3)
                return rp_err_set(err, -EFBIG, "JWS %s of %zu characters exceeds the limit of "
                                  "%zu bytes", name, n, max);
        if (rp_b64url_decode(s, n, ret, ret_len) < 0)
                return rp_err_set(err, -EINVAL, "JWS %s is not canonical base64url (%zu "
                                  "characters)", name, n);
        if (*ret_len > max) {
                free(*ret);
                *ret = NULL;
                return rp_err_set(err, -EFBIG, "JWS %s of %zu bytes exceeds the limit of %zu",
                                  name, *ret_len, max);
        }
        return 0;
}

/* Structure and header checks shared by verify and peek. Offsets of the
 * two dots are returned for the caller. */
static int jws_parse(const char *compact, size_t len, struct jws_parts *out, size_t dots[2],
                     struct rp_err *err)
{
        size_t ndots = 0, hdr_len = 0, sig_b64_len;
        uint8_t *hdr = NULL, *sig = NULL;
        json_error_t jerr;
        json_t *alg, *kid, *hobj;
        int r;

        memset(out, 0, sizeof(*out));
        if (!compact || len == 0)
                return rp_err_set(err, -EINVAL, "empty JWS");
        if (len > CR_JWS_MAX)
                return rp_err_set(err, -EFBIG, "JWS of %zu bytes exceeds the limit of %d", len,
                                  CR_JWS_MAX);
        for (size_t i = 0; i < len; i++) {
                if (compact[i] == '.') {
                        if (ndots < 2)
                                dots[ndots] = i;
                        ndots++;
                } else if (!b64url_char(compact[i])) {
                        return rp_err_set(err, -EINVAL, "JWS has a character outside base64url "
                                          "at offset %zu (byte 0x%02x)", i,
                                          (unsigned char)compact[i]);
                }
        }
        if (ndots != 2)
                return rp_err_set(err, -EINVAL, "JWS compact serialization needs 3 parts "
                                  "separated by '.', found %zu", ndots + 1);
        if (dots[0] == 0)
                return rp_err_set(err, -EINVAL, "JWS protected header is empty");
        sig_b64_len = len - dots[1] - 1;
        if (sig_b64_len == 0)
                return rp_err_set(err, -EINVAL, "JWS signature is empty (unsecured JWS are "
                                  "refused)");

        r = decode_part("protected header", compact, dots[0], CR_JWS_HDR_MAX, &hdr, &hdr_len, err);
        if (r < 0)
                return r;
        hobj = json_loadb((const char *)hdr, hdr_len, JSON_REJECT_DUPLICATES, &jerr);
        free(hdr);
        if (!hobj)
                return rp_err_set(err, -EINVAL, "JWS protected header is not valid JSON: %s",
                                  jerr.text);
        out->hdr = hobj;
        if (!json_is_object(hobj)) {
                r = rp_err_set(err, -EINVAL, "JWS protected header is not a JSON object");
                goto fail;
        }
        alg = json_object_get(hobj, "alg");
        if (!alg) {
                r = rp_err_set(err, -EINVAL, "JWS protected header has no 'alg'");
                goto fail;
        }
        if (!json_is_string(alg)) {
                r = rp_err_set(err, -EINVAL, "JWS 'alg' is not a string");
                goto fail;
        }
        out->alg = json_string_value(alg);
        if (strcmp(out->alg, "ES256") != 0) {
                r = rp_err_set(err, -EINVAL, "JWS alg '%.40s' is refused: only ES256 is accepted",
                               out->alg);
                goto fail;
        }
        if (json_object_get(hobj, "crit")) {
                r = rp_err_set(err, -EINVAL, "JWS protected header has 'crit': no critical "
                               "header parameters are supported");
                goto fail;
        }
        kid = json_object_get(hobj, "kid");
        if (kid) {
                if (!json_is_string(kid) ||
                    json_string_length(kid) != strlen(json_string_value(kid))) {
                        r = rp_err_set(err, -EINVAL, "JWS 'kid' is not a string without NULs");
                        goto fail;
                }
                out->kid = json_string_value(kid);
        }
        /* the payload and signature must decode too, and the signature must
         * have the one length ES256 allows */
        {
                uint8_t *pl = NULL;
                size_t pl_len = 0, sig_len = 0;
                r = decode_part("payload", compact + dots[0] + 1, dots[1] - dots[0] - 1,
                                CR_JWS_MAX, &pl, &pl_len, err);
                if (r < 0)
                        goto fail;
                free(pl);
                r = decode_part("signature", compact + dots[1] + 1, sig_b64_len, 1024, &sig,
                                &sig_len, err);
                if (r < 0)
                        goto fail;
                free(sig);
                if (sig_len != CR_SIG_RAW_LEN) {
                        r = rp_err_set(err, -EBADMSG, "JWS ES256 signature is %zu bytes, "
                                       "expected %d (r||s)", sig_len, CR_SIG_RAW_LEN);
                        goto fail;
                }
        }
        return 0;
fail:
        jws_parts_clear(out);
        return r;
}

static int cjose_fail(struct rp_err *err, int code, const char *what, const cjose_err *ce)
{
        return cr_ossl_err(err, code, "%s (cjose: %s)", what,
                           ce->message ? ce->message : "unknown error");
}

/* JWK for cjose from our key: public always, private scalar when asked. */
static int make_jwk(const struct cr_key *k, bool with_private, cjose_jwk_t **ret,
                    struct rp_err *err)
{
        uint8_t raw[CR_P256_PUB_LEN], d[CR_P256_SCALAR_LEN];
        cjose_jwk_ec_keyspec spec;
        BIGNUM *bn = NULL;
        cjose_err ce = {0};
        cjose_jwk_t *jwk;
        int r;

        r = cr_key_pub_raw(k, raw);
        if (r < 0)
                return rp_err_set(err, r, "cannot read the public point");
        memset(&spec, 0, sizeof(spec));
        spec.crv = CJOSE_JWK_EC_P_256;
        spec.x = raw + 1;
        spec.xlen = 32;
        spec.y = raw + 33;
        spec.ylen = 32;
        if (with_private) {
                if (EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_PRIV_KEY, &bn) != 1 ||
                    BN_bn2binpad(bn, d, sizeof(d)) != (int)sizeof(d)) {
                        BN_clear_free(bn);
                        cr_wipe(d, sizeof(d));
                        return cr_ossl_err(err, -EIO, "cannot export the P-256 scalar");
                }
                BN_clear_free(bn);
                spec.d = d;
                spec.dlen = sizeof(d);
        }
        jwk = cjose_jwk_create_EC_spec(&spec, &ce);
        cr_wipe(d, sizeof(d));
        if (!jwk)
                return cjose_fail(err, -EIO, "cannot build JWK", &ce);
        *ret = jwk;
        return 0;
}

static bool param_ok(const char *v)
{
        size_t n = strlen(v);
        if (n == 0 || n > CR_JWS_PARAM_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] > 0x7e)
                        return false;
        return true;
}

int cr_jws_sign(const struct cr_key *k, const char *kid, const char *typ, const void *payload,
                size_t len, char **ret_compact, struct rp_err *err)
{
        cjose_header_t *hdr = NULL;
        cjose_jwk_t *jwk = NULL;
        cjose_jws_t *jws = NULL;
        cjose_err ce = {0};
        const char *ser = NULL;
        char *out;
        int r;

        ERR_clear_error();
        if (!k || !k->priv)
                return rp_err_set(err, -EINVAL, "JWS signing needs a private key");
        if (kid && !param_ok(kid))
                return rp_err_set(err, -EINVAL, "JWS kid must be 1..%d printable ASCII "
                                  "characters", CR_JWS_PARAM_MAX);
        if (typ && !param_ok(typ))
                return rp_err_set(err, -EINVAL, "JWS typ must be 1..%d printable ASCII "
                                  "characters", CR_JWS_PARAM_MAX);
        if (!payload && len)
                return rp_err_set(err, -EINVAL, "JWS payload is NULL");
        /* header (< 1 KiB encoded) + payload + signature must fit CR_JWS_MAX */
        if (len > CR_JWS_MAX || rp_b64url_encoded_len(len) + 1024 + 90 > CR_JWS_MAX)
                return rp_err_set(err, -EFBIG, "JWS payload of %zu bytes is too large for the "
                                  "%d-byte JWS limit", len, CR_JWS_MAX);

        hdr = cjose_header_new(&ce);
        if (!hdr || !cjose_header_set(hdr, CJOSE_HDR_ALG, CJOSE_HDR_ALG_ES256, &ce) ||
            (kid && !cjose_header_set(hdr, CJOSE_HDR_KID, kid, &ce)) ||
            (typ && !cjose_header_set(hdr, "typ", typ, &ce))) {
                r = cjose_fail(err, -ENOMEM, "cannot build JWS header", &ce);
                goto out;
        }
        r = make_jwk(k, true, &jwk, err);
        if (r < 0)
                goto out;
        /* cjose wants a non-NULL pointer even for an empty payload */
        jws = cjose_jws_sign(jwk, hdr, payload ? payload : (const void *)"", len, &ce);
        if (!jws || !cjose_jws_export(jws, &ser, &ce) || !ser) {
                r = cjose_fail(err, -EIO, "JWS signing failed", &ce);
                goto out;
        }
        out = strdup(ser);
        if (!out) {
                r = rp_err_set(err, -ENOMEM, "out of memory");
                goto out;
        }
        *ret_compact = out;
        r = 0;
out:
        cjose_jws_release(jws);
        cjose_jwk_release(jwk);
        cjose_header_release(hdr);
        return r;
}

int cr_jws_verify(const char *compact, size_t len, const struct cr_key *k, uint8_t **ret_payload,
                  size_t *ret_len, struct rp_err *err)
{
        struct jws_parts parts;
        size_t dots[2];
        cjose_jwk_t *jwk = NULL;
        cjose_jws_t *jws = NULL;
        cjose_err ce = {0};
        uint8_t *pt = NULL, *out;
        size_t pt_len = 0;
        int r;

        ERR_clear_error();
        if (!k)
                return rp_err_set(err, -EINVAL, "no key to verify the JWS with");
        r = jws_parse(compact, len, &parts, dots, err);
        if (r < 0)
                return r;
        jws_parts_clear(&parts);
        r = make_jwk(k, false, &jwk, err);
        if (r < 0)
                return r;
        jws = cjose_jws_import(compact, len, &ce);
        if (!jws) {
                r = cjose_fail(err, -EINVAL, "JWS cannot be imported", &ce);
                goto out;
        }
        if (!cjose_jws_verify(jws, jwk, &ce)) {
                r = cr_ossl_err(err, -EBADMSG, "JWS ES256 signature does not verify");
                goto out;
        }
        if (!cjose_jws_get_plaintext(jws, &pt, &pt_len, &ce)) {
                r = cjose_fail(err, -EIO, "cannot read the JWS payload", &ce);
                goto out;
        }
        out = malloc(pt_len + 1);
        if (!out) {
                r = rp_err_set(err, -ENOMEM, "out of memory");
                goto out;
        }
        if (pt_len)
                memcpy(out, pt, pt_len);
        out[pt_len] = '\0';
        *ret_payload = out;
        *ret_len = pt_len;
        r = 0;
out:
        cjose_jws_release(jws);
        cjose_jwk_release(jwk);
        return r;
}

int cr_jws_peek_kid(const char *compact, size_t len, char **ret_kid, struct rp_err *err)
{
        struct jws_parts parts;
        size_t dots[2];
        char *kid;
        int r;

        r = jws_parse(compact, len, &parts, dots, err);
        if (r < 0)
                return r;
        if (!parts.kid) {
                jws_parts_clear(&parts);
                return rp_err_set(err, -ENOENT, "JWS protected header has no 'kid'");
        }
        kid = strdup(parts.kid);
        jws_parts_clear(&parts);
        if (!kid)
                return rp_err_set(err, -ENOMEM, "out of memory");
        *ret_kid = kid;
        return 0;
}

/* attest_parse.c - the parsers of an enroll request: evidence JWS
 * (structure, then verified claims), the DICE chain and the CSR, plus
 * standard base64. No store, no I/O: each is fuzzed on its own. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "crypto/crypto.h"
#include "lib/cleanup.h"
#include "lib/encode.h"
#include "server/attest.h"

static const char *const reason_names[SRV_AT_COUNT] = {
        [SRV_AT_OK] = "ok",
        [SRV_AT_MALFORMED] = "malformed",
        [SRV_AT_NONCE_UNKNOWN] = "nonce_unknown",
        [SRV_AT_NONCE_WRONG_TENANT] = "nonce_wrong_tenant",
        [SRV_AT_NONCE_EXPIRED] = "nonce_expired",
        [SRV_AT_NONCE_USED] = "nonce_used",
        [SRV_AT_CHAIN_UNKNOWN_MANUFACTURER] = "chain_unknown_manufacturer",
        [SRV_AT_DEVICE_UNREGISTERED] = "device_unregistered",
        [SRV_AT_DEVICE_UNCLAIMED] = "device_unclaimed",
        [SRV_AT_DEVICE_OTHER_TENANT] = "device_other_tenant",
        [SRV_AT_DEVICE_BLOCKED] = "device_blocked",
        [SRV_AT_CHAIN_INVALID] = "chain_invalid",
        [SRV_AT_ALIAS_NOT_SIGNED] = "alias_not_signed_by_deviceid",
        [SRV_AT_EVIDENCE_SIGNATURE] = "evidence_signature",
        [SRV_AT_UEID_MISMATCH] = "ueid_mismatch",
        [SRV_AT_DEBUG_NOT_ALLOWED] = "debug_not_allowed",
        [SRV_AT_OS_NOT_RELEASED] = "os_not_released",
        [SRV_AT_SVN_BELOW_FLOOR] = "svn_below_floor",
        [SRV_AT_SVN_ROLLBACK] = "svn_rollback",
        [SRV_AT_CSR_INVALID] = "csr_invalid",
        [SRV_AT_CSR_KEY_NOT_P256] = "csr_key_not_p256",
        [SRV_AT_CSR_NOT_BOUND] = "csr_not_bound",
        [SRV_AT_REENROLL_CERT_MISMATCH] = "reenroll_cert_mismatch",
        [SRV_AT_INTERNAL] = "internal",
};

const char *srv_attest_reason_name(enum srv_attest_reason r)
{
        return (unsigned)r < SRV_AT_COUNT ? reason_names[r] : "internal";
}

int srv_attest_reason_status(enum srv_attest_reason r)
{
        switch (r) {
        case SRV_AT_OK: return 200;
        case SRV_AT_MALFORMED:
        case SRV_AT_CSR_INVALID:
        case SRV_AT_CSR_KEY_NOT_P256: return 400;
        case SRV_AT_INTERNAL: return 500;
        default: return 403;
        }
}

/* ---- base64 ---- */
static const char b64_alpha[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int srv_b64_decode(const char *in, size_t len, uint8_t **ret, size_t *ret_len)
{
        /* canonical only: length a multiple of 4, '=' only as padding, zero
         * trailing bits */
        if (len == 0 || len % 4)
                return -EINVAL;
        size_t pad = in[len - 1] == '=' ? (in[len - 2] == '=' ? 2 : 1) : 0;
        size_t out_len = len / 4 * 3 - pad;
        uint8_t *out = malloc(out_len + 1);
        if (!out)
                return -ENOMEM;
        size_t o = 0;
        for (size_t i = 0; i < len; i += 4) {
                int v[4];
                for (int k = 0; k < 4; k++) {
                        bool padpos = i + 4 == len && (size_t)k >= 4 - pad;
                        v[k] = padpos ? (in[i + k] == '=' ? 0 : -1)
                                      : rp_b64_digit(in[i + k], false);
                        if (v[k] < 0) {
                                free(out);
                                return -EINVAL;
                        }
                }
                uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 |
                             (uint32_t)v[3];
                uint8_t b[3] = {(uint8_t)(w >> 16), (uint8_t)(w >> 8), (uint8_t)w};
                size_t take = i + 4 == len ? 3 - pad : 3;
                if (i + 4 == len && ((pad == 1 && (w & 0xff)) || (pad == 2 && (w & 0xffff)))) {
                        free(out);
                        return -EINVAL;
                }
                memcpy(out + o, b, take);
                o += take;
        }
        *ret = out;
        *ret_len = o;
        return 0;
}

char *srv_b64_encode(const uint8_t *in, size_t len, bool wrap)
{
        size_t n = (len + 2) / 3 * 4;
        size_t cap = n + (wrap ? (n / 64 + 1) * 2 : 0) + 1;
        char *out = malloc(cap);
        if (!out)
                return NULL;
        size_t o = 0, col = 0;
        for (size_t i = 0; i < len; i += 3) {
                uint32_t w = (uint32_t)in[i] << 16;
                if (i + 1 < len)
                        w |= (uint32_t)in[i + 1] << 8;
                if (i + 2 < len)
                        w |= in[i + 2];
                char q[4] = {b64_alpha[(w >> 18) & 63], b64_alpha[(w >> 12) & 63],
                             i + 1 < len ? b64_alpha[(w >> 6) & 63] : '=',
                             i + 2 < len ? b64_alpha[w & 63] : '='};
                memcpy(out + o, q, 4);
                o += 4;
                col += 4;
                if (wrap && col == 64) {
                        out[o++] = '\r';
                        out[o++] = '\n';
                        col = 0;
                }
        }
        if (wrap && col) {
                out[o++] = '\r';
                out[o++] = '\n';
        }
        out[o] = 0;
        return out;
}

/* ---- evidence ---- */
static int b64url_json(const char *part, size_t len, size_t max, json_t **ret, const char *what,
                       struct rp_err *err)
{
        _cleanup_free_ uint8_t *raw = NULL;
        size_t n = 0;
        if (len == 0)
                return rp_err_set(err, -EBADMSG, "evidence %s is empty", what);
        if (len > max)
                return rp_err_set(err, -EBADMSG, "evidence %s is %zu bytes, the limit is %zu",
                                  what, len, max);
        if (rp_b64url_decode(part, len, &raw, &n) < 0)
                return rp_err_set(err, -EBADMSG, "evidence %s is not base64url", what);
        json_error_t je;
        json_t *j = json_loadb((const char *)raw, n, JSON_REJECT_DUPLICATES, &je);
        if (!j || !json_is_object(j)) {
                json_decref(j);
                return rp_err_set(err, -EBADMSG, "evidence %s is not a JSON object%s%s", what,
                                  j ? "" : ": ", j ? "" : je.text);
        }
        *ret = j;
        return 0;
}

int srv_evidence_peek_nonce(const char *jws, size_t len, char ret_nonce[96], struct rp_err *err)
{
        if (len == 0 || len > SRV_ATTEST_MAX_EVIDENCE)
                return rp_err_set(err, -EBADMSG, "evidence is %zu bytes; 1..%d accepted", len,
                                  SRV_ATTEST_MAX_EVIDENCE);
        const char *d1 = memchr(jws, '.', len);
        const char *d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - jws)) : NULL;
        if (!d1 || !d2 || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - jws)))
                return rp_err_set(err, -EBADMSG, "evidence is not a JWS compact serialization "
                                  "(three parts separated by '.')");
        size_t sig_len = len - (size_t)(d2 + 1 - jws);
        if (sig_len == 0)
                return rp_err_set(err, -EBADMSG, "evidence has an empty signature");
        _cleanup_(json_decrefp) json_t *hdr = NULL;
        _cleanup_(json_decrefp) json_t *pl = NULL;
        int r = b64url_json(jws, (size_t)(d1 - jws), 1024, &hdr, "header", err);
        if (r < 0)
                return r;
        const char *alg = json_string_value(json_object_get(hdr, "alg"));
        if (!alg || strcmp(alg, "ES256"))
                return rp_err_set(err, -EBADMSG, "evidence header alg is '%.20s', only ES256 is "
                                  "accepted", alg ? alg : "(missing)");
        r = b64url_json(d1 + 1, (size_t)(d2 - d1 - 1), SRV_ATTEST_MAX_EVIDENCE, &pl, "payload",
                        err);
        if (r < 0)
                return r;
        const char *n = json_string_value(json_object_get(pl, "eat_nonce"));
        if (!n || !*n || strlen(n) >= 96)
                return rp_err_set(err, -EBADMSG, "evidence has no eat_nonce string of 1..95 "
                                  "characters");
        strcpy(ret_nonce, n);
        return 0;
}

static bool lower_hex(const char *s, size_t n)
{
        if (strlen(s) != n)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        return true;
}

static int claim_str(json_t *o, const char *name, char *out, size_t size, bool required,
                     struct rp_err *err)
{
        json_t *v = json_object_get(o, name);
        if (!v) {
                if (required)
                        return rp_err_set(err, -EBADMSG, "evidence claim '%s' is missing", name);
                out[0] = 0;
                return 0;
        }
        if (!json_is_string(v))
                return rp_err_set(err, -EBADMSG, "evidence claim '%s' is not a string", name);
        size_t l = json_string_length(v);
        if (l == 0 || l >= size || strlen(json_string_value(v)) != l)
                return rp_err_set(err, -EBADMSG, "evidence claim '%s' has %zu bytes; 1..%zu "
                                  "accepted", name, l, size - 1);
        memcpy(out, json_string_value(v), l + 1);
        return 0;
}

static int claim_int(json_t *o, const char *name, int64_t min, int64_t max, int64_t *ret,
                     struct rp_err *err)
{
        json_t *v = json_object_get(o, name);
        if (!v)
                return rp_err_set(err, -EBADMSG, "evidence claim '%s' is missing", name);
        if (!json_is_integer(v))
                return rp_err_set(err, -EBADMSG, "evidence claim '%s' is not an integer", name);
        json_int_t x = json_integer_value(v);
        if (x < min || x > max)
                return rp_err_set(err, -EBADMSG, "evidence claim '%s' is %lld, outside %lld..%lld",
                                  name, (long long)x, (long long)min, (long long)max);
        *ret = x;
        return 0;
}

int srv_evidence_claims_parse(const uint8_t *payload, size_t len, struct srv_evidence *ret,
                              struct rp_err *err)
{
        static const char *const known[] = {"eat_nonce", "ueid", "dbgstat", "bootcount",
                                            "swname", "swversion", "svn", "slot", "fwid",
                                            "iat", "cnf", "submods"};
        struct srv_evidence ev;
        memset(&ev, 0, sizeof(ev));
        if (len > SRV_ATTEST_MAX_EVIDENCE)
                return rp_err_set(err, -EBADMSG, "evidence payload of %zu bytes is over the "
                                  "limit", len);
        json_error_t je;
        _cleanup_(json_decrefp) json_t *o =
                json_loadb((const char *)payload, len, JSON_REJECT_DUPLICATES, &je);
        if (!o || !json_is_object(o))
                return rp_err_set(err, -EBADMSG, "evidence payload is not a JSON object");
        const char *key;
        json_t *val;
        json_object_foreach(o, key, val) {
                size_t i;
                for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
                        if (!strcmp(key, known[i]))
                                break;
                if (i == sizeof(known) / sizeof(known[0]))
                        return rp_err_set(err, -EBADMSG, "evidence has an unknown claim '%.40s'",
                                          key);
        }
        char fwid[2 * CR_SHA256_LEN + 2], slot[4];
        int64_t dbg = 0;
        int r = claim_str(o, "eat_nonce", ev.nonce, sizeof(ev.nonce), true, err);
        if (r == 0)
                r = claim_str(o, "ueid", ev.ueid, sizeof(ev.ueid), true, err);
        if (r == 0 && !lower_hex(ev.ueid, DICE_UEID_HEX_LEN))
                r = rp_err_set(err, -EBADMSG, "evidence ueid '%s' is not 40 lowercase hex "
                               "digits", ev.ueid);
        if (r == 0)
                r = claim_int(o, "dbgstat", 0, 4, &dbg, err);
        if (r == 0)
                r = claim_int(o, "bootcount", 0, INT64_MAX, &ev.bootcount, err);
        if (r == 0)
                r = claim_str(o, "swname", ev.swname, sizeof(ev.swname), true, err);
        if (r == 0)
                r = claim_str(o, "swversion", ev.swversion, sizeof(ev.swversion), true, err);
        if (r == 0)
                r = claim_int(o, "svn", 0, UINT32_MAX, &ev.svn, err);
        if (r == 0)
                r = claim_str(o, "slot", slot, sizeof(slot), false, err);
        if (r == 0 && slot[0] && strcmp(slot, "a") && strcmp(slot, "b"))
                r = rp_err_set(err, -EBADMSG, "evidence slot '%s' is not a or b", slot);
        if (r == 0)
                r = claim_str(o, "fwid", fwid, sizeof(fwid), true, err);
        if (r == 0 && (!lower_hex(fwid, 2 * CR_SHA256_LEN) ||
                       rp_hex_decode(fwid, ev.fwid, CR_SHA256_LEN) < 0))
                r = rp_err_set(err, -EBADMSG, "evidence fwid is not 64 lowercase hex digits");
        if (r == 0)
                r = claim_int(o, "iat", 0, INT64_MAX, &ev.iat, err);
        if (r < 0)
                return r;
        ev.dbgstat = (int)dbg;
        json_t *cnf = json_object_get(o, "cnf");
        if (cnf) {
                if (!json_is_object(cnf) || json_object_size(cnf) != 1)
                        return rp_err_set(err, -EBADMSG, "evidence cnf is not {\"jkt\": ...}");
                r = claim_str(cnf, "jkt", ev.jkt, sizeof(ev.jkt), true, err);
                if (r < 0)
                        return r;
                if (strlen(ev.jkt) != 43)
                        return rp_err_set(err, -EBADMSG, "evidence cnf.jkt is not a SHA-256 "
                                          "thumbprint (43 base64url characters)");
                ev.has_jkt = true;
        }
        json_t *sub = json_object_get(o, "submods");
        if (sub) {
                if (!json_is_object(sub) || json_object_size(sub) > 16)
                        return rp_err_set(err, -EBADMSG, "evidence submods is not an object of "
                                          "at most 16 entries");
                json_object_foreach(sub, key, val) {
                        char dg[2 * CR_SHA256_LEN + 2];
                        if (!json_is_object(val) || json_object_size(val) != 1)
                                return rp_err_set(err, -EBADMSG, "evidence submod '%.40s' is "
                                                  "not {\"digest\": ...}", key);
                        r = claim_str(val, "digest", dg, sizeof(dg), true, err);
                        if (r < 0)
                                return r;
                        if (!lower_hex(dg, 2 * CR_SHA256_LEN))
                                return rp_err_set(err, -EBADMSG, "evidence submod '%.40s' "
                                                  "digest is not 64 lowercase hex digits", key);
                }
        }
        *ret = ev;
        return 0;
}

/* ---- chain ---- */
void srv_chain_clear(struct srv_dice_chain *c)
{
        cr_cert_free(c->deviceid);
        cr_cert_free(c->alias);
        cr_cert_free(c->device_ca);
        memset(c, 0, sizeof(*c));
}

/* The device CA is the one certificate of a chain that many devices share
 * (every device of a production line sends the same one), and on OpenSSL
 * 3.0 parsing a certificate costs more than verifying a signature (its key
 * goes through the provider decoder). So accepted device CA texts are kept,
 * parsed, by the SHA-256 of their exact PEM text: the same text always
 * parses to the same certificate, and a parsed certificate is only read
 * from then on, so it is shared by reference. The DeviceID and Alias
 * certificates are per device and are parsed every time. A few entries,
 * replaced round robin; the server runs on one thread. */
#define CHAIN_CA_MEMO 16
static struct {
        uint8_t pem_sha256[CR_SHA256_LEN];
        struct cr_cert *cert;
} ca_memo[CHAIN_CA_MEMO];
static unsigned ca_memo_next;

static struct cr_cert *ca_memo_get(const uint8_t h[CR_SHA256_LEN])
{
        for (size_t i = 0; i < CHAIN_CA_MEMO; i++)
                if (ca_memo[i].cert && !memcmp(ca_memo[i].pem_sha256, h, CR_SHA256_LEN))
                        return cr_cert_ref(ca_memo[i].cert);
        return NULL;
}

static void ca_memo_put(const uint8_t h[CR_SHA256_LEN], struct cr_cert *cert)
{
        unsigned i = ca_memo_next++ % CHAIN_CA_MEMO;
        cr_cert_free(ca_memo[i].cert);
        memcpy(ca_memo[i].pem_sha256, h, CR_SHA256_LEN);
        ca_memo[i].cert = cr_cert_ref(cert);
}

int srv_chain_parse(const char *const pem[3], struct srv_dice_chain *ret, struct rp_err *err)
{
        static const char *const names[3] = {"DeviceID", "Alias", "device CA"};
        struct srv_dice_chain c;
        struct cr_cert **slot[3] = {&c.deviceid, &c.alias, &c.device_ca};
        uint8_t ca_h[CR_SHA256_LEN];
        memset(&c, 0, sizeof(c));
        for (int i = 0; i < 3; i++) {
                size_t l = pem[i] ? strlen(pem[i]) : 0;
                struct cr_cert **v = NULL;
                size_t n = 0;
                if (l == 0 || l > SRV_ATTEST_MAX_CERT_PEM) {
                        srv_chain_clear(&c);
                        return rp_err_set(err, -EBADMSG, "chain: the %s certificate PEM is %zu "
                                          "bytes; 1..%d accepted", names[i], l,
                                          SRV_ATTEST_MAX_CERT_PEM);
                }
                if (i == 2) {
                        cr_sha256(pem[i], l, ca_h);
                        c.device_ca = ca_memo_get(ca_h);
                        if (c.device_ca)
                                continue;
                }
                /* the Alias certificate is only ever checked one signature at a
                 * time (never as part of an OpenSSL chain), so its key need not
                 * go through the provider decoder while parsing */
                int r = i == 1 ? cr_certs_from_pem_keyless(pem[i], l, 2, &v, &n, err)
                               : cr_certs_from_pem(pem[i], l, 2, &v, &n, err);
                if (r < 0 || n != 1) {
                        if (r == 0)
                                cr_certs_free(v, n);
                        srv_chain_clear(&c);
                        if (r < 0)
                                return rp_err_prefix(err, "chain: %s certificate", names[i]);
                        return rp_err_set(err, -EBADMSG, "chain: the %s entry holds %zu "
                                          "certificates, not one", names[i], n);
                }
                *slot[i] = v[0];
                free(v);
                if (i == 2)
                        ca_memo_put(ca_h, c.device_ca);
        }
        _cleanup_(cr_key_freep) struct cr_key *pub = NULL;
        uint8_t id[DICE_ID_LEN];
        if (cr_cert_pubkey(c.deviceid, &pub) < 0 || dice_id_derive(pub, id) < 0) {
                srv_chain_clear(&c);
                return rp_err_set(err, -EBADMSG, "chain: the DeviceID certificate's key is not "
                                  "a P-256 key");
        }
        dice_id_hex(id, c.ueid);
        *ret = c;
        return 0;
}

int srv_chain_alias_ext(const struct srv_dice_chain *c, struct dice_tcb_info *ret_tcb,
                        char ret_ueid[DICE_UEID_HEX_LEN + 1], struct rp_err *err)
{
        _cleanup_free_ uint8_t *tcb_der = NULL;
        _cleanup_free_ uint8_t *ueid_der = NULL;
        size_t tl = 0, ul = 0;
        uint8_t id[DICE_ID_LEN];
        struct dice_tcb_info tcb;
        if (cr_cert_ext(c->alias, DICE_OID_TCB_INFO, &tcb_der, &tl) < 0)
                return rp_err_set(err, -EBADMSG, "chain: the Alias certificate has no "
                                  "DiceTcbInfo extension");
        if (cr_cert_ext(c->alias, DICE_OID_UEID, &ueid_der, &ul) < 0)
                return rp_err_set(err, -EBADMSG, "chain: the Alias certificate has no UEID "
                                  "extension");
        int r = dice_tcb_info_parse(tcb_der, tl, &tcb, err);
        if (r < 0)
                return rp_err_prefix(err, "chain: Alias DiceTcbInfo");
        r = dice_ueid_parse(ueid_der, ul, id, err);
        if (r < 0)
                return rp_err_prefix(err, "chain: Alias UEID");
        *ret_tcb = tcb;
        dice_id_hex(id, ret_ueid);
        return 0;
}

/* ---- CSR ---- */
int srv_csr_parse(const uint8_t *der, size_t len, struct cr_key **ret_pub,
                  enum srv_attest_reason *ret_reason, struct rp_err *err)
{
        _cleanup_(cr_csr_freep) struct cr_csr *csr = NULL;
        if (len == 0 || len > SRV_ATTEST_MAX_CSR) {
                *ret_reason = SRV_AT_CSR_INVALID;
                return rp_err_set(err, -EBADMSG, "CSR is %zu bytes; 1..%d accepted", len,
                                  SRV_ATTEST_MAX_CSR);
        }
        /* DER only: a PEM body would be auto-detected by the crypto layer */
        if (der[0] != 0x30) {
                *ret_reason = SRV_AT_CSR_INVALID;
                return rp_err_set(err, -EBADMSG, "CSR is not DER (first byte 0x%02x)", der[0]);
        }
        int r = cr_csr_parse(der, len, &csr, err);
        if (r < 0) {
                /* the crypto layer refuses other key types and curves with
                 * messages ending "only (EC) P-256 is accepted" */
                *ret_reason = strstr(err ? err->msg : "", "P-256 is accepted")
                                      ? SRV_AT_CSR_KEY_NOT_P256
                                      : SRV_AT_CSR_INVALID;
                return r;
        }
        r = cr_csr_pubkey(csr, ret_pub);
        if (r < 0) {
                *ret_reason = SRV_AT_CSR_INVALID;
                return rp_err_set(err, r, "CSR public key cannot be read");
        }
        return 0;
}

/* dice_der_parse.c - strict parsers for the DICE certificate extensions
 * (see dice_der.c for the ASN.1). They read certificates that devices send,
 * so they serve the verifier; rampart-boot only writes these extensions and
 * does not link this file. */
#include "dice/dice.h"

#include <string.h>

/* OID 2.16.840.1.101.3.4.2.1 (SHA-256), content octets. */
static const uint8_t oid_sha256[] = {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01};
#define DER_MAX_FIELD 256

/* ---- reader ---- */
struct der_r {
        const uint8_t *p;
        size_t left;
};

/* Reads one TLV; canonical definite lengths only, checked by subtraction. */
static int r_tlv(struct der_r *r, uint8_t *ret_tag, const uint8_t **ret_val, size_t *ret_len,
                 struct rp_err *err)
{
        size_t n, hl = 2;

        if (r->left < 2)
                return rp_err_set(err, -EBADMSG, "DER: truncated header (%zu bytes left)", r->left);
        if ((r->p[0] & 0x1f) == 0x1f)
                return rp_err_set(err, -EBADMSG, "DER: multi-byte tag 0x%02x not allowed", r->p[0]);
        n = r->p[1];
        if (n == 0x81) {
                if (r->left < 3 || r->p[2] < 0x80)
                        return rp_err_set(err, -EBADMSG, "DER: non-canonical or truncated length");
                n = r->p[2];
                hl = 3;
        } else if (n == 0x82) {
                if (r->left < 4 || r->p[2] == 0)
                        return rp_err_set(err, -EBADMSG, "DER: non-canonical or truncated length");
                n = (size_t)r->p[2] << 8 | r->p[3];
                hl = 4;
        } else if (n >= 0x80) {
                return rp_err_set(err, -EBADMSG, "DER: length form 0x%02x not allowed", r->p[1]);
        }
        if (n > r->left - hl)
                return rp_err_set(err, -EBADMSG, "DER: element of %zu bytes, only %zu left", n,
                                  r->left - hl);
        *ret_tag = r->p[0];
        *ret_val = r->p + hl;
        *ret_len = n;
        r->p += hl + n;
        r->left -= hl + n;
        return 0;
}

static int r_expect(struct der_r *r, uint8_t tag, struct der_r *ret_inner, const char *what,
                    struct rp_err *err)
{
        uint8_t t;
        const uint8_t *v;
        size_t n;
        int rc = r_tlv(r, &t, &v, &n, err);
        if (rc < 0)
                return rp_err_prefix(err, "%s", what);
        if (t != tag)
                return rp_err_set(err, -EBADMSG, "%s: tag 0x%02x, expected 0x%02x", what, t, tag);
        ret_inner->p = v;
        ret_inner->left = n;
        return 0;
}

static int parse_uint(const uint8_t *v, size_t n, uint64_t max, uint64_t *ret, const char *what,
                      struct rp_err *err)
{
        uint64_t x = 0;
        if (n == 0 || n > 9 || (v[0] & 0x80) || (n > 1 && v[0] == 0 && !(v[1] & 0x80)))
                return rp_err_set(err, -EBADMSG, "DiceTcbInfo %s: not a canonical non-negative "
                                  "INTEGER of at most 64 bits", what);
        if (n == 9 && v[0] != 0)
                return rp_err_set(err, -EBADMSG, "DiceTcbInfo %s: over 64 bits", what);
        for (size_t i = 0; i < n; i++)
                x = (x << 8) | v[i];
        if (x > max)
                return rp_err_set(err, -ERANGE, "DiceTcbInfo %s: %llu is over %llu", what,
                                  (unsigned long long)x, (unsigned long long)max);
        *ret = x;
        return 0;
}

static int parse_flags(const uint8_t *v, size_t n, uint32_t *ret, struct rp_err *err)
{
        uint32_t f = 0;
        if (n == 0 || n > 5 || v[0] > 7 || (n == 1 && v[0] != 0))
                return rp_err_set(err, -EBADMSG, "DiceTcbInfo flags: malformed BIT STRING");
        if (n > 1) {
                uint8_t last = v[n - 1];
                /* DER named bits: unused bits are zero and the last bit is set */
                if (last & ((1u << v[0]) - 1) || !(last & (1u << v[0])))
                        return rp_err_set(err, -EBADMSG, "DiceTcbInfo flags: non-canonical "
                                          "BIT STRING");
        }
        for (size_t i = 1; i < n; i++)
                for (unsigned b = 0; b < 8; b++)
                        if (v[i] & (0x80u >> b))
                                f |= 1u << ((i - 1) * 8 + b);
        if (f & ~DICE_FLAGS_KNOWN)
                return rp_err_set(err, -EBADMSG, "DiceTcbInfo flags: unknown bits 0x%x",
                                  f & ~DICE_FLAGS_KNOWN);
        *ret = f;
        return 0;
}

static int parse_str(const uint8_t *v, size_t n, char *out, const char *what, struct rp_err *err)
{
        if (n == 0 || n > DICE_VERSION_MAX)
                return rp_err_set(err, -EBADMSG, "DiceTcbInfo %s: length %zu not in 1..%d", what, n,
                                  DICE_VERSION_MAX);
        for (size_t i = 0; i < n; i++)
                if (v[i] < 0x20 || v[i] > 0x7e)
                        return rp_err_set(err, -EBADMSG, "DiceTcbInfo %s: byte 0x%02x at %zu is "
                                          "not printable ASCII", what, v[i], i);
        memcpy(out, v, n);
        out[n] = 0;
        return 0;
}

static int parse_fwids(const uint8_t *v, size_t n, struct dice_tcb_info *t, struct rp_err *err)
{
        struct der_r list = {v, n}, fw;
        uint8_t tag;
        const uint8_t *d;
        size_t dl;
        int rc;

        /* exactly one FWID: the measured OS image */
        rc = r_expect(&list, 0x30, &fw, "DiceTcbInfo fwid", err);
        if (rc < 0)
                return rc;
        if (list.left)
                return rp_err_set(err, -EBADMSG, "DiceTcbInfo fwids: more than one FWID");
        rc = r_tlv(&fw, &tag, &d, &dl, err);
        if (rc < 0)
                return rp_err_prefix(err, "DiceTcbInfo fwid hashAlg");
        if (tag != 0x06 || dl != sizeof(oid_sha256) || memcmp(d, oid_sha256, dl) != 0)
                return rp_err_set(err, -EBADMSG, "DiceTcbInfo fwid: hash algorithm is not SHA-256");
        rc = r_tlv(&fw, &tag, &d, &dl, err);
        if (rc < 0)
                return rp_err_prefix(err, "DiceTcbInfo fwid digest");
        if (tag != 0x04 || dl != CR_SHA256_LEN || fw.left)
                return rp_err_set(err, -EBADMSG, "DiceTcbInfo fwid: digest is not one 32-byte "
                                  "OCTET STRING");
        memcpy(t->fwid, d, CR_SHA256_LEN);
        return 0;
}

int dice_tcb_info_parse(const uint8_t *der, size_t len, struct dice_tcb_info *ret,
                        struct rp_err *err)
{
        struct der_r top = {der, len}, seq;
        struct dice_tcb_info t;
        int last = -1, rc;
        bool have_fwid = false;

        memset(&t, 0, sizeof(t));
        rc = r_expect(&top, 0x30, &seq, "DiceTcbInfo", err);
        if (rc < 0)
                return rc;
        if (top.left)
                return rp_err_set(err, -EBADMSG, "DiceTcbInfo: %zu trailing bytes", top.left);
        while (seq.left) {
                uint8_t tag;
                const uint8_t *v;
                size_t n;
                uint64_t x;
                int num;

                rc = r_tlv(&seq, &tag, &v, &n, err);
                if (rc < 0)
                        return rp_err_prefix(err, "DiceTcbInfo field");
                num = tag & 0x1f;
                if ((tag & 0xc0) != 0x80 || num > 10 || (num == 6) != ((tag & 0x20) != 0))
                        return rp_err_set(err, -EBADMSG, "DiceTcbInfo: unexpected tag 0x%02x", tag);
                if (num <= last)
                        return rp_err_set(err, -EBADMSG, "DiceTcbInfo: field [%d] out of order or "
                                          "repeated", num);
                last = num;
                switch (num) {
                case 0: rc = parse_str(v, n, t.vendor, "vendor", err); break;
                case 1: rc = parse_str(v, n, t.model, "model", err); break;
                case 2: rc = parse_str(v, n, t.version, "version", err); break;
                case 3:
                        rc = parse_uint(v, n, UINT64_MAX, &x, "svn", err);
                        t.svn = x;
                        break;
                case 4:
                        rc = parse_uint(v, n, UINT32_MAX, &x, "layer", err);
                        t.layer = (uint32_t)x;
                        break;
                case 5: rc = parse_uint(v, n, UINT32_MAX, &x, "index", err); break;
                case 6:
                        rc = parse_fwids(v, n, &t, err);
                        have_fwid = true;
                        break;
                case 7: rc = parse_flags(v, n, &t.flags, err); break;
                case 10: {
                        uint32_t mask;
                        rc = parse_flags(v, n, &mask, err);
                        break;
                }
                default: /* vendorInfo, type: opaque, bounded by the TLV */
                        if (n > DER_MAX_FIELD)
                                rc = rp_err_set(err, -EBADMSG, "DiceTcbInfo field [%d]: %zu bytes "
                                                "is over %d", num, n, DER_MAX_FIELD);
                        break;
                }
                if (rc < 0)
                        return rc;
        }
        if (!have_fwid)
                return rp_err_set(err, -EBADMSG, "DiceTcbInfo: no fwids");
        *ret = t;
        return 0;
}

int dice_ueid_parse(const uint8_t *der, size_t len, uint8_t ret[DICE_ID_LEN], struct rp_err *err)
{
        struct der_r top = {der, len}, seq, id;
        int rc = r_expect(&top, 0x30, &seq, "TcgUeid", err);
        if (rc < 0)
                return rc;
        if (top.left)
                return rp_err_set(err, -EBADMSG, "TcgUeid: %zu trailing bytes", top.left);
        rc = r_expect(&seq, 0x04, &id, "TcgUeid ueid", err);
        if (rc < 0)
                return rc;
        if (seq.left || id.left != DICE_ID_LEN)
                return rp_err_set(err, -EBADMSG, "TcgUeid: ueid is %zu bytes, expected %d",
                                  id.left, DICE_ID_LEN);
        memcpy(ret, id.p, DICE_ID_LEN);
        return 0;
}

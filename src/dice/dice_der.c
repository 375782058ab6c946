/* dice_der.c - the DER of the two DICE certificate extensions, written by
 * hand (dice_der_parse.c reads them): small, bounded, canonical.
 *
 *   DiceTcbInfo ::= SEQUENCE {
 *     vendor [0] UTF8String OPT, model [1] UTF8String OPT,
 *     version [2] UTF8String OPT, svn [3] INTEGER OPT, layer [4] INTEGER OPT,
 *     index [5] INTEGER OPT, fwids [6] SEQUENCE OF FWID OPT,
 *     flags [7] OperationalFlags OPT, vendorInfo [8] OCTET STRING OPT,
 *     type [9] OCTET STRING OPT, flagsMask [10] OperationalFlags OPT }
 *     (all IMPLICIT)
 *   FWID ::= SEQUENCE { hashAlg OBJECT IDENTIFIER, digest OCTET STRING }
 *   TcgUeid ::= SEQUENCE { ueid OCTET STRING } */
#include "dice/dice.h"

#include <string.h>

/* OID 2.16.840.1.101.3.4.2.1 (SHA-256), content octets. */
static const uint8_t oid_sha256[] = {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01};

/* ---- writer ---- */
struct der_w {
        uint8_t *p;
        size_t cap, len;
        bool overflow;
};

static void w_raw(struct der_w *w, const void *d, size_t n)
{
        if (w->overflow || n > w->cap - w->len) {
                w->overflow = true;
                return;
        }
        memcpy(w->p + w->len, d, n);
        w->len += n;
}

static void w_tlv(struct der_w *w, uint8_t tag, const void *val, size_t n)
{
        uint8_t h[4] = {tag};
        size_t hl;

        if (n < 0x80) {
                h[1] = (uint8_t)n;
                hl = 2;
        } else if (n <= 0xff) {
                h[1] = 0x81;
                h[2] = (uint8_t)n;
                hl = 3;
        } else if (n <= 0xffff) {
                h[1] = 0x82;
                h[2] = (uint8_t)(n >> 8);
                h[3] = (uint8_t)n;
                hl = 4;
        } else {
                w->overflow = true;
                return;
        }
        w_raw(w, h, hl);
        w_raw(w, val, n);
}

static void w_uint(struct der_w *w, uint8_t tag, uint64_t v)
{
        uint8_t b[9];
        size_t n = 0;
        int i = 7;

        while (i > 0 && ((v >> (8 * i)) & 0xff) == 0)
                i--;
        if ((v >> (8 * i)) & 0x80)
                b[n++] = 0;
        for (; i >= 0; i--)
                b[n++] = (uint8_t)(v >> (8 * i));
        w_tlv(w, tag, b, n);
}

static void w_flags(struct der_w *w, uint8_t tag, uint32_t flags)
{
        uint8_t b[5] = {0};
        size_t nbytes = 0;
        unsigned last = 0;

        for (unsigned bit = 0; bit < 32; bit++)
                if (flags & (1u << bit)) {
                        b[1 + bit / 8] |= (uint8_t)(0x80u >> (bit % 8));
                        nbytes = bit / 8 + 1;
                        last = bit;
                }
        b[0] = nbytes ? (uint8_t)(7 - last % 8) : 0;
        w_tlv(w, tag, b, 1 + nbytes);
}

int dice_tcb_info_encode(const struct dice_tcb_info *t, uint8_t *out, size_t cap, size_t *ret_len)
{
        uint8_t body[DICE_MAX_EXT_DER], fwid[64], list[80];
        struct der_w wb = {body, sizeof(body), 0, false};
        struct der_w wf = {fwid, sizeof(fwid), 0, false};
        struct der_w wl = {list, sizeof(list), 0, false};
        struct der_w wo = {out, cap, 0, false};

        if (t->vendor[0])
                w_tlv(&wb, 0x80, t->vendor, strnlen(t->vendor, DICE_VERSION_MAX));
        if (t->model[0])
                w_tlv(&wb, 0x81, t->model, strnlen(t->model, DICE_VERSION_MAX));
        if (t->version[0])
                w_tlv(&wb, 0x82, t->version, strnlen(t->version, DICE_VERSION_MAX));
        w_uint(&wb, 0x83, t->svn);
        w_uint(&wb, 0x84, t->layer);
        w_tlv(&wf, 0x06, oid_sha256, sizeof(oid_sha256));
        w_tlv(&wf, 0x04, t->fwid, CR_SHA256_LEN);
        w_tlv(&wl, 0x30, fwid, wf.len);
        w_tlv(&wb, 0xa6, list, wl.len);
        w_flags(&wb, 0x87, t->flags);
        w_tlv(&wo, 0x30, body, wb.len);
        if (wb.overflow || wf.overflow || wl.overflow || wo.overflow)
                return -ENOSPC;
        *ret_len = wo.len;
        return 0;
}

int dice_ueid_encode(const uint8_t id[DICE_ID_LEN], uint8_t *out, size_t cap, size_t *ret_len)
{
        uint8_t body[DICE_ID_LEN + 2];
        struct der_w wb = {body, sizeof(body), 0, false};
        struct der_w wo = {out, cap, 0, false};

        w_tlv(&wb, 0x04, id, DICE_ID_LEN);
        w_tlv(&wo, 0x30, body, wb.len);
        if (wb.overflow || wo.overflow)
                return -ENOSPC;
        *ret_len = wo.len;
        return 0;
}

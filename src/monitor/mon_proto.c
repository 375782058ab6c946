/* mon_proto.c - framing, field rules and encoder of the monitor protocol
 * (see mon_proto.h). Every length is checked by subtraction against what is
 * left before it is used. */
#include "monitor/mon_proto.h"

#include <string.h>

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t be32(const uint8_t *p)
{
        return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int mon_decode(const uint8_t *buf, size_t len, struct mon_msg *ret, struct rp_err *err)
{
        size_t off = MON_HDR_LEN, n = 0;
        uint32_t body;

        if (len < MON_HDR_LEN)
                return rp_err_set(err, -EBADMSG, "message of %zu bytes is shorter than the "
                                  "%d-byte header", len, MON_HDR_LEN);
        if (be16(buf) != MON_MAGIC)
                return rp_err_set(err, -EBADMSG, "bad magic 0x%04x", be16(buf));
        body = be32(buf + 4);
        if (body > MON_MAX_BODY)
                return rp_err_set(err, -E2BIG, "body length %u is over the limit of %d", body,
                                  MON_MAX_BODY);
        if (body != len - MON_HDR_LEN)
                return rp_err_set(err, -EBADMSG, "header says %u body bytes, the message has %zu",
                                  body, len - MON_HDR_LEN);
        ret->type = buf[2];
        ret->status = buf[3];
        while (off < len) {
                uint16_t flen;
                if (len - off < MON_FIELD_HDR)
                        return rp_err_set(err, -EBADMSG, "field %zu: truncated field header", n);
                flen = be16(buf + off + 1);
                if (flen > len - off - MON_FIELD_HDR)
                        return rp_err_set(err, -EBADMSG, "field %zu (tag %u): length %u, only %zu "
                                          "bytes left", n, buf[off], flen,
                                          len - off - MON_FIELD_HDR);
                if (n == MON_MAX_FIELDS)
                        return rp_err_set(err, -EBADMSG, "more than %d fields", MON_MAX_FIELDS);
                ret->f[n].tag = buf[off];
                ret->f[n].len = flen;
                ret->f[n].val = buf + off + MON_FIELD_HDR;
                n++;
                off += MON_FIELD_HDR + flen;
        }
        ret->n = n;
        return 0;
}

/* ---- request rules ---- */
enum { CH_ANY, CH_NAME, CH_COUNTER, CH_PRINT, CH_SUBMOD, CH_FORMAT, CH_TRIAL };

struct rule {
        uint8_t tag, min, max;
        uint16_t minlen, maxlen;
        uint8_t chars;
};

static const struct rule r_none[] = {{0}};
static const struct rule r_chain[] = {{MON_T_FORMAT, 0, 1, 1, 1, CH_FORMAT}, {0}};
static const struct rule r_attest[] = {
        {MON_T_NONCE, 1, 1, MON_NONCE_MIN, MON_NONCE_MAX, CH_ANY},
        {MON_T_HANDLE, 0, 1, 4, 4, CH_ANY},
        {MON_T_SUBMOD, 0, MON_MAX_SUBMODS, 33, 32 + MON_SUBMOD_NAME_MAX, CH_SUBMOD},
        {0}};
static const struct rule r_key_create[] = {{MON_T_CN, 0, 1, 1, MON_CN_MAX, CH_PRINT}, {0}};
static const struct rule r_sign[] = {
        {MON_T_HANDLE, 1, 1, 4, 4, CH_ANY}, {MON_T_DIGEST, 1, 1, 32, 32, CH_ANY}, {0}};
static const struct rule r_handle[] = {{MON_T_HANDLE, 1, 1, 4, 4, CH_ANY}, {0}};
static const struct rule r_counter[] = {{MON_T_NAME, 1, 1, 1, 31, CH_COUNTER}, {0}};
static const struct rule r_install[] = {{MON_T_TRIAL, 1, 1, 1, 1, CH_TRIAL}, {0}};
static const struct rule r_advance[] = {
        {MON_T_NAME, 1, 1, 1, 31, CH_COUNTER}, {MON_T_VALUE, 1, 1, 8, 8, CH_ANY}, {0}};

static const struct rule *rules_for(uint8_t type)
{
        switch (type) {
        case MON_BOOT_INFO: return r_none;
        case MON_GET_CHAIN: return r_chain;
        case MON_ATTEST: return r_attest;
        case MON_TLS_KEY_CREATE: return r_key_create;
        case MON_TLS_SIGN: return r_sign;
        case MON_TLS_KEY_DESTROY: return r_handle;
        case MON_COUNTER_READ: return r_counter;
        case MON_COUNTER_ADVANCE: return r_advance;
        case MON_CONFIRM: return r_none;
        case MON_REBOOT: return r_none;
        case MON_INSTALL_OS: return r_install;
        }
        return NULL;
}

static bool name_char(uint8_t c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '.' || c == '_' || c == '-';
}

static int check_chars(const struct mon_field *f, uint8_t chars, struct rp_err *err)
{
        const uint8_t *v = f->val;
        size_t start = 0;

        switch (chars) {
        case CH_ANY:
                return 0;
        case CH_FORMAT:
                if (v[0] > 1)
                        return rp_err_set(err, -EBADMSG, "format %u is not 0 (DER) or 1 (PEM)",
                                          v[0]);
                return 0;
        case CH_TRIAL:
                if (v[0] < 1 || v[0] > 15)
                        return rp_err_set(err, -EBADMSG, "trial attempts %u is not 1..15", v[0]);
                return 0;
        case CH_SUBMOD:
                start = 32;
                break;
        default:
                break;
        }
        if (chars == CH_COUNTER && v[0] == '.')
                return rp_err_set(err, -EBADMSG, "tag %u: name starts with '.'", f->tag);
        for (size_t i = start; i < f->len; i++) {
                uint8_t c = v[i];
                bool ok = chars == CH_PRINT ? (c >= 0x20 && c <= 0x7e && c != '"' && c != '\\')
                        : chars == CH_COUNTER ? (name_char(c) && !(c >= 'A' && c <= 'Z'))
                                              : name_char(c);
                if (!ok)
                        return rp_err_set(err, -EBADMSG, "tag %u: byte 0x%02x at offset %zu is not "
                                          "allowed", f->tag, c, i);
        }
        return 0;
}

int mon_request_check(const struct mon_msg *m, struct rp_err *err)
{
        const struct rule *rules = rules_for(m->type);
        unsigned count[256] = {0};

        if (!rules)
                return rp_err_set(err, -ENOSYS, "unknown request type %u", m->type);
        if (m->status != 0)
                return rp_err_set(err, -EBADMSG, "request with non-zero status %u", m->status);
        for (size_t i = 0; i < m->n; i++) {
                const struct mon_field *f = &m->f[i];
                const struct rule *r = rules;
                int rc;
                while (r->tag && r->tag != f->tag)
                        r++;
                if (!r->tag)
                        return rp_err_set(err, -EBADMSG, "%s: field tag %u is not allowed",
                                          mon_type_name(m->type), f->tag);
                if (++count[f->tag] > r->max)
                        return rp_err_set(err, -EBADMSG, "%s: more than %u fields with tag %u",
                                          mon_type_name(m->type), r->max, f->tag);
                if (f->len < r->minlen || f->len > r->maxlen)
                        return rp_err_set(err, -EBADMSG, "%s: field tag %u has %u bytes, allowed "
                                          "%u..%u", mon_type_name(m->type), f->tag, f->len,
                                          r->minlen, r->maxlen);
                rc = check_chars(f, r->chars, err);
                if (rc < 0)
                        return rc;
        }
        for (const struct rule *r = rules; r->tag; r++)
                if (count[r->tag] < r->min)
                        return rp_err_set(err, -EBADMSG, "%s: required field tag %u is missing",
                                          mon_type_name(m->type), r->tag);
        return 0;
}

const struct mon_field *mon_get(const struct mon_msg *m, uint8_t tag)
{
        for (size_t i = 0; i < m->n; i++)
                if (m->f[i].tag == tag)
                        return &m->f[i];
        return NULL;
}

int mon_get_u32(const struct mon_msg *m, uint8_t tag, uint32_t *ret)
{
        const struct mon_field *f = mon_get(m, tag);
        if (!f || f->len != 4)
                return -EBADMSG;
        *ret = be32(f->val);
        return 0;
}

int mon_get_u64(const struct mon_msg *m, uint8_t tag, uint64_t *ret)
{
        const struct mon_field *f = mon_get(m, tag);
        if (!f || f->len != 8)
                return -EBADMSG;
        *ret = (uint64_t)be32(f->val) << 32 | be32(f->val + 4);
        return 0;
}

int mon_get_str(const struct mon_msg *m, uint8_t tag, char *out, size_t cap)
{
        const struct mon_field *f = mon_get(m, tag);
        if (!f || f->len >= cap || memchr(f->val, 0, f->len))
                return -EBADMSG;
        memcpy(out, f->val, f->len);
        out[f->len] = 0;
        return 0;
}

/* ---- encoder ---- */
void mon_enc_init(struct mon_enc *e, uint8_t type, uint8_t status)
{
        e->buf[0] = MON_MAGIC >> 8;
        e->buf[1] = MON_MAGIC & 0xff;
        e->buf[2] = type;
        e->buf[3] = status;
        memset(e->buf + 4, 0, 4);
        e->len = MON_HDR_LEN;
        e->n_fields = 0;
        e->overflow = false;
}

void mon_put(struct mon_enc *e, uint8_t tag, const void *val, size_t len)
{
        if (e->overflow || len > UINT16_MAX || len + MON_FIELD_HDR > sizeof(e->buf) - e->len ||
            e->n_fields == MON_MAX_FIELDS) {
                e->overflow = true;
                return;
        }
        e->buf[e->len] = tag;
        e->buf[e->len + 1] = (uint8_t)(len >> 8);
        e->buf[e->len + 2] = (uint8_t)len;
        if (len)
                memcpy(e->buf + e->len + MON_FIELD_HDR, val, len);
        e->len += MON_FIELD_HDR + len;
        e->n_fields++;
}

void mon_put_u8(struct mon_enc *e, uint8_t tag, uint8_t v) { mon_put(e, tag, &v, 1); }

void mon_put_u32(struct mon_enc *e, uint8_t tag, uint32_t v)
{
        uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
        mon_put(e, tag, b, 4);
}

void mon_put_u64(struct mon_enc *e, uint8_t tag, uint64_t v)
{
        uint8_t b[8];
        for (int i = 0; i < 8; i++)
                b[i] = (uint8_t)(v >> (56 - 8 * i));
        mon_put(e, tag, b, 8);
}

void mon_put_str(struct mon_enc *e, uint8_t tag, const char *s) { mon_put(e, tag, s, strlen(s)); }

int mon_enc_finish(struct mon_enc *e)
{
        size_t body = e->len - MON_HDR_LEN;
        if (e->overflow || body > MON_MAX_BODY)
                return -E2BIG;
        e->buf[4] = (uint8_t)(body >> 24);
        e->buf[5] = (uint8_t)(body >> 16);
        e->buf[6] = (uint8_t)(body >> 8);
        e->buf[7] = (uint8_t)body;
        return 0;
}

const char *mon_type_name(uint8_t type)
{
        static const char *const names[] = {
                [MON_BOOT_INFO] = "boot-info", [MON_GET_CHAIN] = "get-chain",
                [MON_ATTEST] = "attest", [MON_TLS_KEY_CREATE] = "tls-key-create",
                [MON_TLS_SIGN] = "tls-sign", [MON_TLS_KEY_DESTROY] = "tls-key-destroy",
                [MON_COUNTER_READ] = "counter-read", [MON_COUNTER_ADVANCE] = "counter-advance",
                [MON_CONFIRM] = "confirm", [MON_REBOOT] = "reboot",
                [MON_INSTALL_OS] = "install-os",
        };
        type &= (uint8_t)~MON_REPLY;
        return type < sizeof(names) / sizeof(names[0]) && names[type] ? names[type] : "unknown";
}

const char *mon_status_name(uint8_t status)
{
        static const char *const names[] = {"ok", "malformed", "unknown-type", "too-large",
                                            "refused", "not-found", "no-space", "internal"};
        return status < sizeof(names) / sizeof(names[0]) ? names[status] : "unknown";
}

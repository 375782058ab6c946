/* format.c - the image package's fixed-layout parts: header, signature
 * records, UUIDs and type names. Pure: bytes in, verdicts out. */
#include "image/image.h"

#include <stdio.h>
#include <string.h>

#include "image/internal.h"
#include "lib/encode.h"

_Static_assert(IMG_MAGIC_LEN == sizeof(IMG_MAGIC) - 1, "magic length");
_Static_assert(IMG_SIG_MAGIC_LEN == sizeof(IMG_SIG_MAGIC) - 1, "signature magic length");
_Static_assert(IMG_SIG_REC_LEN == 4 + 2 + 2 + CR_KEY_ID_LEN + CR_SIG_RAW_LEN, "record layout");
/* header + metadata + payload + signatures never overflows 64 bits */
_Static_assert(IMG_MAX_PAYLOAD < (UINT64_MAX >> 2), "payload limit");

/* Header field offsets (docs/image-format.md). */
enum {
        H_MAGIC = 0,
        H_VERSION = 8,
        H_HEADER_LEN = 12,
        H_METADATA_LEN = 16,
        H_FLAGS = 20,
        H_PAYLOAD_LEN = 24,
        H_PAYLOAD_SHA256 = 32,
        H_COMPONENT_ID = 64,
        H_SVN = 80,
        H_TYPE = 84,
        H_RESERVED1 = 85,
        H_CREATED = 88,
        H_RESERVED2 = 96,
};
_Static_assert(H_RESERVED2 + 32 == IMG_HEADER_LEN, "header layout");

void img_put_le32(uint8_t *p, uint32_t v)
{
        for (int i = 0; i < 4; i++)
                p[i] = (uint8_t)(v >> (8 * i));
}

void img_put_le64(uint8_t *p, uint64_t v)
{
        for (int i = 0; i < 8; i++)
                p[i] = (uint8_t)(v >> (8 * i));
}

uint32_t img_get_le32(const uint8_t *p)
{
        uint32_t v = 0;
        for (int i = 3; i >= 0; i--)
                v = (v << 8) | p[i];
        return v;
}

uint64_t img_get_le64(const uint8_t *p)
{
        uint64_t v = 0;
        for (int i = 7; i >= 0; i--)
                v = (v << 8) | p[i];
        return v;
}

static bool all_zero(const uint8_t *p, size_t n)
{
        uint8_t acc = 0;
        for (size_t i = 0; i < n; i++)
                acc |= p[i];
        return acc == 0;
}

void img_key_id_short(const uint8_t id[CR_KEY_ID_LEN], char out[17])
{
        rp_hex_encode(id, 8, out);
}

const char *img_type_name(enum img_type t)
{
        switch (t) {
        case IMG_TYPE_OS:
                return "os";
        case IMG_TYPE_APP:
                return "app";
        }
        return NULL;
}

int img_type_parse(const char *s, enum img_type *ret)
{
        if (!s)
                return -EINVAL;
        if (!strcmp(s, "os")) {
                *ret = IMG_TYPE_OS;
                return 0;
        }
        if (!strcmp(s, "app")) {
                *ret = IMG_TYPE_APP;
                return 0;
        }
        return -EINVAL;
}

void img_header_encode(const struct img_header *h, uint8_t out[IMG_HEADER_LEN])
{
        memset(out, 0, IMG_HEADER_LEN);
        memcpy(out + H_MAGIC, IMG_MAGIC, IMG_MAGIC_LEN);
        img_put_le32(out + H_VERSION, h->format_version);
        img_put_le32(out + H_HEADER_LEN, h->header_len);
        img_put_le32(out + H_METADATA_LEN, h->metadata_len);
        img_put_le32(out + H_FLAGS, h->flags);
        img_put_le64(out + H_PAYLOAD_LEN, h->payload_len);
        memcpy(out + H_PAYLOAD_SHA256, h->payload_sha256, CR_SHA256_LEN);
        memcpy(out + H_COMPONENT_ID, h->component_id, 16);
        img_put_le32(out + H_SVN, h->svn);
        out[H_TYPE] = h->type;
        img_put_le64(out + H_CREATED, h->created);
}

int img_header_decode(const uint8_t raw[IMG_HEADER_LEN], struct img_header *ret,
                      struct rp_err *err)
{
        struct img_header h;

        memset(&h, 0, sizeof(h));       /* padding too: decoded headers compare with memcmp */
        if (memcmp(raw + H_MAGIC, IMG_MAGIC, IMG_MAGIC_LEN) != 0)
                return rp_err_set(err, -EBADMSG, "not an image package: bad magic");
        h.format_version = img_get_le32(raw + H_VERSION);
        if (h.format_version != IMG_FORMAT_VERSION)
                return rp_err_set(err, -EPROTONOSUPPORT,
                                  "unknown image format version %u (this build reads version %u)",
                                  h.format_version, IMG_FORMAT_VERSION);
        h.header_len = img_get_le32(raw + H_HEADER_LEN);
        if (h.header_len != IMG_HEADER_LEN)
                return rp_err_set(err, -EBADMSG, "image header length is %u, format version %u requires %u",
                                  h.header_len, IMG_FORMAT_VERSION, IMG_HEADER_LEN);
        h.metadata_len = img_get_le32(raw + H_METADATA_LEN);
        if (h.metadata_len == 0 || h.metadata_len > IMG_MAX_METADATA)
                return rp_err_set(err, -EFBIG, "image metadata length is %u, the limit is 1..%u",
                                  h.metadata_len, IMG_MAX_METADATA);
        h.flags = img_get_le32(raw + H_FLAGS);
        if (h.flags & ~IMG_FLAGS_KNOWN)
                return rp_err_set(err, -EBADMSG, "image header has unknown flags 0x%x", h.flags);
        h.payload_len = img_get_le64(raw + H_PAYLOAD_LEN);
        if (h.payload_len > IMG_MAX_PAYLOAD)
                return rp_err_set(err, -EFBIG, "image payload length is %llu, the limit is %llu",
                                  (unsigned long long)h.payload_len,
                                  (unsigned long long)IMG_MAX_PAYLOAD);
        memcpy(h.payload_sha256, raw + H_PAYLOAD_SHA256, CR_SHA256_LEN);
        memcpy(h.component_id, raw + H_COMPONENT_ID, 16);
        h.svn = img_get_le32(raw + H_SVN);
        h.type = raw[H_TYPE];
        if (!img_type_name((enum img_type)h.type))
                return rp_err_set(err, -EBADMSG, "image header has unknown type %u", h.type);
        if (!all_zero(raw + H_RESERVED1, 3) || !all_zero(raw + H_RESERVED2, 32))
                return rp_err_set(err, -EBADMSG, "image header has non-zero reserved bytes");
        h.created = img_get_le64(raw + H_CREATED);
        if (h.created > (uint64_t)IMG_MAX_CREATED)
                return rp_err_set(err, -EBADMSG, "image creation time %llu is out of range",
                                  (unsigned long long)h.created);
        *ret = h;
        return 0;
}

void img_sig_encode(const struct img_sig *s, uint8_t out[IMG_SIG_REC_LEN])
{
        memcpy(out, IMG_SIG_MAGIC, IMG_SIG_MAGIC_LEN);
        out[4] = IMG_SIG_ALG_ECDSA_P256_SHA256 & 0xff;
        out[5] = IMG_SIG_ALG_ECDSA_P256_SHA256 >> 8;
        out[6] = out[7] = 0;
        memcpy(out + 8, s->key_id, CR_KEY_ID_LEN);
        memcpy(out + 8 + CR_KEY_ID_LEN, s->sig, CR_SIG_RAW_LEN);
}

int img_sig_decode(const uint8_t raw[IMG_SIG_REC_LEN], struct img_sig *ret, struct rp_err *err)
{
        unsigned alg = raw[4] | (unsigned)raw[5] << 8;

        if (memcmp(raw, IMG_SIG_MAGIC, IMG_SIG_MAGIC_LEN) != 0)
                return rp_err_set(err, -EBADMSG, "signature record has a bad magic");
        if (alg != IMG_SIG_ALG_ECDSA_P256_SHA256)
                return rp_err_set(err, -EBADMSG, "signature record has unknown algorithm %u", alg);
        if (raw[6] || raw[7])
                return rp_err_set(err, -EBADMSG, "signature record has non-zero reserved bytes");
        memcpy(ret->key_id, raw + 8, CR_KEY_ID_LEN);
        memcpy(ret->sig, raw + 8 + CR_KEY_ID_LEN, CR_SIG_RAW_LEN);
        return 0;
}

static int hexval(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

int img_uuid_parse(const char *s, uint8_t out[16])
{
        uint8_t b[16];
        size_t j = 0;

        if (!s || strlen(s) != IMG_UUID_STR_LEN)
                return -EINVAL;
        for (size_t i = 0; i < IMG_UUID_STR_LEN;) {
                int hi, lo;
                if (i == 8 || i == 13 || i == 18 || i == 23) {
                        if (s[i] != '-')
                                return -EINVAL;
                        i++;
                        continue;
                }
                hi = hexval(s[i]);
                lo = hexval(s[i + 1]);
                if (hi < 0 || lo < 0)
                        return -EINVAL;
                b[j++] = (uint8_t)(hi << 4 | lo);
                i += 2;
        }
        memcpy(out, b, 16);
        return 0;
}

void img_uuid_format(const uint8_t in[16], char out[IMG_UUID_STR_LEN + 1])
{
        snprintf(out, IMG_UUID_STR_LEN + 1,
                 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", in[0],
                 in[1], in[2], in[3], in[4], in[5], in[6], in[7], in[8], in[9], in[10], in[11],
                 in[12], in[13], in[14], in[15]);
}

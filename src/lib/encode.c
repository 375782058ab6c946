/* encode.c - see encode.h. */
#include "lib/encode.h"

#include <stdlib.h>
#include <string.h>

/* Branch-free nibble -> hex digit. */
static char hexdigit(unsigned v)
{
        /* v in 0..15: '0'+v, plus 39 more when v > 9 ('a' - '0' - 10) */
        return (char)('0' + v + (((9 - (int)v) >> 8) & 39));
}

void rp_hex_encode(const uint8_t *in, size_t n, char *out)
{
        for (size_t i = 0; i < n; i++) {
                out[2 * i] = hexdigit(in[i] >> 4);
                out[2 * i + 1] = hexdigit(in[i] & 15);
        }
        out[2 * n] = '\0';
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

int rp_hex_decode(const char *hex, uint8_t *out, size_t n)
{
        if (!hex || strlen(hex) != 2 * n)
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
                if (hi < 0 || lo < 0)
                        return -EINVAL;
                out[i] = (uint8_t)(hi << 4 | lo);
        }
        return 0;
}

static const char b64u[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t rp_b64url_encoded_len(size_t n)
{
        return n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);
}

void rp_b64url_encode(const uint8_t *in, size_t n, char *out)
{
        size_t o = 0, i = 0;
        for (; i + 2 < n; i += 3) {
                uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
                out[o++] = b64u[v >> 18 & 63];
                out[o++] = b64u[v >> 12 & 63];
                out[o++] = b64u[v >> 6 & 63];
                out[o++] = b64u[v & 63];
        }
        if (n - i == 1) {
                uint32_t v = (uint32_t)in[i] << 16;
                out[o++] = b64u[v >> 18 & 63];
                out[o++] = b64u[v >> 12 & 63];
        } else if (n - i == 2) {
                uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
                out[o++] = b64u[v >> 18 & 63];
                out[o++] = b64u[v >> 12 & 63];
                out[o++] = b64u[v >> 6 & 63];
        }
        out[o] = '\0';
}

int rp_b64_digit(char c, bool url)
{
        if (c >= 'A' && c <= 'Z')
                return c - 'A';
        if (c >= 'a' && c <= 'z')
                return c - 'a' + 26;
        if (c >= '0' && c <= '9')
                return c - '0' + 52;
        if (c == (url ? '-' : '+'))
                return 62;
        if (c == (url ? '_' : '/'))
                return 63;
        return -1;
}

int rp_b64url_decode(const char *in, size_t len, uint8_t **ret_out, size_t *ret_len)
{
        size_t rem = len % 4, outlen = len / 4 * 3 + (rem ? rem - 1 : 0), o = 0;
        uint32_t acc = 0;
        unsigned bits = 0;
        uint8_t *out;

        if (rem == 1)
                return -EINVAL;
        out = malloc(outlen ? outlen : 1);
        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < len; i++) {
                int v = rp_b64_digit(in[i], true);
                if (v < 0) {
                        free(out);
                        return -EINVAL;
                }
                acc = acc << 6 | (uint32_t)v;
                bits += 6;
                if (bits >= 8) {
                        bits -= 8;
                        out[o++] = (uint8_t)(acc >> bits);
                }
        }
        /* canonical: leftover bits must be zero */
        if (bits && (acc & ((1u << bits) - 1))) {
                free(out);
                return -EINVAL;
        }
        *ret_out = out;
        *ret_len = o;
        return 0;
}

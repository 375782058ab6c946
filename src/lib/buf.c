/* buf.c - see buf.h. */
#include "lib/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lib/wipe.h"

int rp_buf_reserve(struct rp_buf *b, size_t extra)
{
        size_t need, ncap;
        uint8_t *n;

        if (__builtin_add_overflow(b->len, extra, &need))
                return -EFBIG;
        if (b->max && need > b->max)
                return -EFBIG;
        if (need <= b->cap)
                return 0;
        ncap = b->cap ? b->cap : 256;
        while (ncap < need)
                if (__builtin_mul_overflow(ncap, 2, &ncap))
                        return -EFBIG;
        if (b->max && ncap > b->max)
                ncap = b->max;
        if (b->secret) {
                /* never leave a copy of a secret in freed memory */
                n = malloc(ncap);
                if (!n)
                        return -ENOMEM;
                if (b->len)
                        memcpy(n, b->data, b->len);
                rp_wipe(b->data, b->cap);
                free(b->data);
        } else {
                n = realloc(b->data, ncap);
                if (!n)
                        return -ENOMEM;
        }
        b->data = n;
        b->cap = ncap;
        return 0;
}

int rp_buf_append(struct rp_buf *b, const void *p, size_t n)
{
        int r = rp_buf_reserve(b, n);
        if (r < 0)
                return r;
        if (n)
                memcpy(b->data + b->len, p, n);
        b->len += n;
        return 0;
}

int rp_buf_printf(struct rp_buf *b, const char *fmt, ...)
{
        va_list ap;
        int n, r;

        va_start(ap, fmt);
        n = vsnprintf(NULL, 0, fmt, ap);
        va_end(ap);
        if (n < 0)
                return -EINVAL;
        r = rp_buf_reserve(b, (size_t)n + 1);
        if (r < 0)
                return r;
        va_start(ap, fmt);
        vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
        va_end(ap);
        b->len += (size_t)n;
        return 0;
}

int rp_buf_terminate(struct rp_buf *b)
{
        int r = rp_buf_reserve(b, 1);
        if (r < 0)
                return r;
        b->data[b->len] = '\0';
        return 0;
}

uint8_t *rp_buf_steal(struct rp_buf *b, size_t *ret_len)
{
        uint8_t *d = b->data;
        if (ret_len)
                *ret_len = b->len;
        b->data = NULL;
        b->len = b->cap = 0;
        return d;
}

void rp_buf_free(struct rp_buf *b)
{
        if (!b)
                return;
        if (b->secret)
                rp_wipe(b->data, b->cap);
        free(b->data);
        b->data = NULL;
        b->len = b->cap = 0;
}

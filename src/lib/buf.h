/* buf.h - a growable byte buffer with overflow-checked growth and a hard cap.
 * The buffer owns `data`; rp_buf_free() releases it (and wipes it when
 * `secret` is set). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lib/err.h"

struct rp_buf {
        uint8_t *data;
        size_t len;
        size_t cap;
        size_t max;     /* 0 = no cap */
        bool secret;
};

int rp_buf_reserve(struct rp_buf *b, size_t extra) RP_WUR;   /* -ENOMEM, -EFBIG over max */
int rp_buf_append(struct rp_buf *b, const void *p, size_t n) RP_WUR;
int rp_buf_printf(struct rp_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends a NUL without counting it, so data can be used as a C string. */
int rp_buf_terminate(struct rp_buf *b) RP_WUR;
/* Hands out data (caller frees) and resets the buffer. */
uint8_t *rp_buf_steal(struct rp_buf *b, size_t *ret_len);
void rp_buf_free(struct rp_buf *b);

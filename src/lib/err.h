/* err.h - error values that carry a message written where the failure happened.
 *
 * Every fallible function returns 0 or a negative errno-style code. Where a
 * person will read the failure, the caller passes a struct rp_err that the
 * failing function fills. `err` may be NULL: the code is still returned. */
#pragma once
#include <errno.h>
#include <stdarg.h>

#define RP_ERR_MSG_MAX 256

struct rp_err {
        int code;
        char msg[RP_ERR_MSG_MAX];
};

#define RP_WUR __attribute__((warn_unused_result))

/* Sets code and message; returns code (a negative errno). */
int rp_err_set(struct rp_err *e, int code, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
int rp_err_setv(struct rp_err *e, int code, const char *fmt, va_list ap)
        __attribute__((format(printf, 3, 0)));
/* Prepends "prefix: " to an existing message; returns e->code (or -EIO). */
int rp_err_prefix(struct rp_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rp_err_clear(struct rp_err *e);

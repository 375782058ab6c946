/* err.c - see err.h. */
#include "lib/err.h"

#include <stdio.h>
#include <string.h>

int rp_err_setv(struct rp_err *e, int code, const char *fmt, va_list ap)
{
        if (code >= 0)
                code = -EIO;
        if (!e)
                return code;
        e->code = code;
        vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
        return code;
}

int rp_err_set(struct rp_err *e, int code, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        code = rp_err_setv(e, code, fmt, ap);
        va_end(ap);
        return code;
}

int rp_err_prefix(struct rp_err *e, const char *fmt, ...)
{
        char pre[RP_ERR_MSG_MAX], old[RP_ERR_MSG_MAX];
        va_list ap;

        if (!e)
                return -EIO;
        va_start(ap, fmt);
        vsnprintf(pre, sizeof(pre), fmt, ap);
        va_end(ap);
        memcpy(old, e->msg, sizeof(old));
        /* truncation is fine: the message is for people */
        size_t n = strnlen(pre, sizeof(e->msg) - 1);
        memcpy(e->msg, pre, n);
        if (n + 2 < sizeof(e->msg)) {
                e->msg[n++] = ':';
                e->msg[n++] = ' ';
        }
        size_t m = strnlen(old, sizeof(e->msg) - 1 - n);
        memcpy(e->msg + n, old, m);
        e->msg[n + m] = '\0';
        return e->code < 0 ? e->code : -EIO;
}

void rp_err_clear(struct rp_err *e)
{
        if (e) {
                e->code = 0;
                e->msg[0] = '\0';
        }
}

/* ossl_err.c - turns OpenSSL's thread-local error queue into rp_err text, so
 * every failure a person reads carries OpenSSL's own reason. */
#include <openssl/err.h>
#include <stdio.h>
#include <string.h>
#include "crypto/crypto_int.h"

int cr_ossl_err(struct rp_err *err, int code, const char *fmt, ...)
{
        char msg[RP_ERR_MSG_MAX];
        size_t n;
        unsigned long e;
        const char *data;
        int flags, count = 0;
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        n = strlen(msg);
        while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
                char one[160];
                const char *reason = ERR_reason_error_string(e);
                if (reason)
                        snprintf(one, sizeof(one), "%s", reason);
                else
                        ERR_error_string_n(e, one, sizeof(one));
                if ((flags & ERR_TXT_STRING) && data && *data) {
                        size_t l = strlen(one);
                        snprintf(one + l, sizeof(one) - l, " (%s)", data);
                }
                if (n + 3 < sizeof(msg)) {
                        int w = snprintf(msg + n, sizeof(msg) - n, "%s%s",
                                         count++ ? "; " : ": ", one);
                        if (w > 0)
                                n = n + (size_t)w < sizeof(msg) ? n + (size_t)w : sizeof(msg) - 1;
                }
        }
        return rp_err_set(err, code, "%s", msg);
}

/* bucket.c - see bucket.h. Pure: no I/O, no logging. */
#include "failure/bucket.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "crypto/crypto.h"
#include "lib/encode.h"

#define BUCKET_TAG "rampart-bucket-v1"

static void copy_trunc(char *out, size_t cap, const char *s, size_t n)
{
        if (n > cap - 1)
                n = cap - 1;
        memcpy(out, s, n);
        out[n] = '\0';
}

static bool all_digits(const char *s, size_t n)
{
        if (n == 0)
                return false;
        for (size_t i = 0; i < n; i++)
                if (s[i] < '0' || s[i] > '9')
                        return false;
        return true;
}

/* "-1.2.3" style: '-' then digits and dots, with at least one dot. */
static bool version_suffix(const char *s, size_t n)
{
        bool dot = false;
        if (n < 4 || s[0] != '-' || s[1] < '0' || s[1] > '9')
                return false;
        for (size_t i = 1; i < n; i++) {
                if (s[i] == '.')
                        dot = true;
                else if (s[i] < '0' || s[i] > '9')
                        return false;
        }
        return dot && s[n - 1] != '.';
}

void fail_module_normalize(const char *module, char *out, size_t cap)
{
        const char *base = strrchr(module, '/');
        const char *so;
        size_t n;

        base = base ? base + 1 : module;
        n = strlen(base);
        /* libfoo.so.1.2.3 -> libfoo.so */
        so = strstr(base, ".so.");
        if (so)
                n = (size_t)(so - base) + 3;
        /* libfoo-1.2.so -> libfoo.so */
        if (n > 3 && memcmp(base + n - 3, ".so", 3) == 0) {
                size_t stem = n - 3;
                for (size_t i = 0; i < stem; i++) {
                        if (base[i] == '-' && version_suffix(base + i, stem - i)) {
                                char tmp[FAIL_MAX_MODULE + 1];
                                size_t k = i < sizeof(tmp) - 4 ? i : sizeof(tmp) - 4;
                                memcpy(tmp, base, k);
                                memcpy(tmp + k, ".so", 4);
                                copy_trunc(out, cap, tmp, k + 3);
                                return;
                        }
                }
        }
        copy_trunc(out, cap, base, n);
}

static bool clone_marker(const char *s, size_t n)
{
        static const char *const markers[] = {"isra", "constprop", "part", "cold", "lto_priv",
                                              "localalias", "llvm"};
        if (all_digits(s, n))
                return true;
        for (size_t i = 0; i < sizeof(markers) / sizeof(markers[0]); i++)
                if (strlen(markers[i]) == n && memcmp(markers[i], s, n) == 0)
                        return true;
        return false;
}

void fail_function_normalize(const char *function, char *out, size_t cap)
{
        const char *at = strchr(function, '@');
        size_t n = strlen(function);

        /* "memcpy@@GLIBC_2.14": a symbol version is not part of the name. */
        if (at && at != function)
                n = (size_t)(at - function);
        /* Strip ".part.0", ".cold", ".isra.0.constprop.1", ... from the end. */
        for (;;) {
                const char *dot = NULL;
                for (size_t i = n; i > 0; i--)
                        if (function[i - 1] == '.') {
                                dot = function + i - 1;
                                break;
                        }
                if (!dot || dot == function)
                        break;
                size_t tail = n - (size_t)(dot - function) - 1;
                if (!clone_marker(dot + 1, tail))
                        break;
                n = (size_t)(dot - function);
        }
        copy_trunc(out, cap, function, n);
}

static bool runtime_module(const char *norm)
{
        static const char *const mods[] = {"libc.so", "libpthread.so", "libgcc_s.so",
                                           "ld-linux-x86-64.so", "ld-linux-aarch64.so",
                                           "ld-linux.so", "[vdso]"};
        for (size_t i = 0; i < sizeof(mods) / sizeof(mods[0]); i++)
                if (strcmp(norm, mods[i]) == 0)
                        return true;
        return false;
}

static void put_elem(struct cr_sha256_ctx *h, const void *p, size_t n)
{
        uint8_t len[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};
        cr_sha256_update(h, len, 4);
        cr_sha256_update(h, p, n);
}

static void put_str(struct cr_sha256_ctx *h, const char *s)
{
        put_elem(h, s, strlen(s));
}

static void put_int(struct cr_sha256_ctx *h, long v)
{
        char b[24];
        snprintf(b, sizeof(b), "%ld", v);
        put_str(h, b);
}

/* Appends to the title, truncating at the cap on a UTF-8 boundary. */
static void title_add(char *t, const char *s)
{
        size_t have = strlen(t), n = strlen(s);
        if (have + n > FAIL_BUCKET_TITLE_MAX) {
                n = FAIL_BUCKET_TITLE_MAX - have;
                while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
                        n--;
        }
        memcpy(t + have, s, n);
        t[have + n] = '\0';
}

int fail_bucket_compute(const struct fail_event *ev, struct fail_bucket *ret, struct rp_err *err)
{
        struct fail_bucket b = {0};
        struct cr_sha256_ctx *h = NULL;
        uint8_t digest[CR_SHA256_LEN];
        char mod[FAIL_MAX_MODULE + 1], fn[FAIL_MAX_FUNCTION + 1], sigbuf[16];
        uint32_t first = 0, used;
        int r = fail_event_validate(ev, err);

        if (r < 0)
                return r;
        h = cr_sha256_new();
        if (!h)
                return rp_err_set(err, -ENOMEM, "out of memory hashing the bucket signature");

        put_str(h, BUCKET_TAG);
        put_str(h, ev->component_id);
        put_str(h, fail_class_name(ev->cls));
        title_add(b.title, ev->component_id);
        title_add(b.title, ": ");
        switch (ev->cls) {
        case FAIL_APP_CRASH:
                put_str(h, "signal");
                put_int(h, ev->signal);
                title_add(b.title, fail_signal_name(ev->signal, sigbuf, sizeof(sigbuf)));
                break;
        case FAIL_APP_EXIT:
                put_str(h, "exit");
                put_int(h, ev->exit_code);
                snprintf(sigbuf, sizeof(sigbuf), "%d", ev->exit_code);
                title_add(b.title, "exit code ");
                title_add(b.title, sigbuf);
                break;
        default:
                put_str(h, "reason");
                put_str(h, ev->reason);
                title_add(b.title, fail_class_name(ev->cls));
                title_add(b.title, " (");
                title_add(b.title, ev->reason);
                title_add(b.title, ")");
                break;
        }

        /* Skip leading C-runtime frames when the app's own code follows. */
        for (uint32_t i = 0; i < ev->nframes; i++) {
                fail_module_normalize(ev->frames[i].module, mod, sizeof(mod));
                if (!runtime_module(mod)) {
                        first = i;
                        break;
                }
        }
        used = ev->nframes - first;
        if (used > FAIL_BUCKET_FRAMES)
                used = FAIL_BUCKET_FRAMES;
        put_str(h, "frames");
        put_int(h, (long)used);
        for (uint32_t i = 0; i < used; i++) {
                const struct fail_frame *f = &ev->frames[first + i];
                fail_module_normalize(f->module, mod, sizeof(mod));
                fail_function_normalize(f->function, fn, sizeof(fn));
                put_str(h, mod);
                put_str(h, fn);
                if (i < FAIL_BUCKET_TITLE_FRAMES) {
                        title_add(b.title, i == 0 ? " in " : " <- ");
                        if (fn[0]) {
                                title_add(b.title, fn);
                        } else {
                                title_add(b.title, mod);
                                title_add(b.title, "!??");
                        }
                }
        }
        cr_sha256_final(h, digest);
        cr_sha256_free(h);
        rp_hex_encode(digest, FAIL_BUCKET_ID_LEN / 2, b.id);
        b.nframes = used;
        *ret = b;
        return 0;
}

/* wipe.h - secrets are wiped on every return path. */
#pragma once
#include <stddef.h>
#include <string.h>

static inline void rp_wipe(void *p, size_t n)
{
        if (p && n)
                explicit_bzero(p, n);
}

/* A 32- or 64-byte secret that wipes itself when it leaves scope:
 *   _cleanup_(rp_secret64_wipe) struct rp_secret64 cdi; */
struct rp_secret32 { unsigned char b[32]; };
struct rp_secret64 { unsigned char b[64]; };
static inline void rp_secret32_wipe(struct rp_secret32 *s) { explicit_bzero(s, sizeof(*s)); }
static inline void rp_secret64_wipe(struct rp_secret64 *s) { explicit_bzero(s, sizeof(*s)); }

/* mon_server.h - the monitor's request handlers, run inside rampart-boot.
 *
 * The boot stage fills a struct mon_ctx after a verified boot and hands
 * every received record to mon_handle(), which always produces a reply
 * (an error reply for anything malformed) and never lets a private key or
 * secret into it. Private keys here are owned by the context and freed with
 * mon_ctx_clear(). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "crypto/crypto.h"
#include "dice/dice.h"
#include "monitor/mon_proto.h"
#include "rot/rot.h"

struct mon_ctx {
        /* what was booted (public) */
        char ueid[DICE_UEID_HEX_LEN + 1];
        char slot[2];
        char os_name[65];
        char os_version[65];
        uint32_t svn;
        uint64_t bootcount;
        bool debug;
        bool trial;
        enum rot_lifecycle lifecycle;
        uint8_t fwid[CR_SHA256_LEN];
        /* the DICE chain (public) */
        struct cr_cert *device_ca, *deviceid_cert, *alias_cert;
        /* keys that never leave this process */
        struct cr_key *alias;
        struct cr_key *tls[MON_MAX_TLS_KEYS];
        uint32_t tls_handle[MON_MAX_TLS_KEYS];
        uint32_t next_handle;
        /* anti-rollback counters and slot confirmation live in boot */
        struct rot *rot;
        int (*confirm)(void *userdata, struct rp_err *err);
        /* installs the OS package on `fd` into the slot not running, as a
         * trial; fills the slot letter, version and SVN installed */
        int (*install)(void *userdata, int fd, unsigned attempts, char ret_slot[2],
                       char ret_version[65], uint32_t *ret_svn, struct rp_err *err);
        void *userdata;
        /* set by a reboot request; the boot stage acts on it */
        bool reboot_requested;
};

/* Handles one received record of `len` bytes (len may exceed MON_MAX_MSG
 * when the transport saw a truncated record: a too-large error is sent).
 * `fd` is a descriptor that came with the record (-1 if none); it stays
 * the caller's to close. The reply is left in `out` (finished). */
void mon_handle(struct mon_ctx *c, const uint8_t *req, size_t len, int fd, struct mon_enc *out);
/* Frees every key and certificate of the context. */
void mon_ctx_clear(struct mon_ctx *c);

/* landlock.h - Landlock rules for an app: filesystem access only beneath
 * the paths of its root view it needs (read/execute on its image, read on
 * /etc, /proc and /dev, read/write on /tmp, its storage and the /dev
 * character devices), no TCP bind/connect by the kernel path at all (the
 * egress firewall hands over sockets it made itself), and no signals or
 * abstract unix sockets outside its own domain. Uses whatever the running
 * kernel's ABI offers (up to 7), and reports the ABI it applied. */
#pragma once
#include <stdbool.h>

#include "lib/err.h"

struct sbx_landlock_path {
        const char *path;
        bool write;   /* read/write/create beneath it; otherwise read (+execute) */
        bool exec;
};

/* Restricts the calling thread (no_new_privs must be set). Returns the ABI
 * version applied (>= 1), 0 when the kernel has no Landlock (nothing
 * applied), or a negative errno. */
int sbx_landlock_apply(const struct sbx_landlock_path *paths, unsigned n, struct rp_err *err) RP_WUR;
int sbx_landlock_abi(void);

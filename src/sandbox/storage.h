/* storage.h - an app's mutable storage: one ext4 filesystem image per app
 * (STATE/storage/<ComponentId>.img), exactly MutableStorage.SizeKB large,
 * loop-mounted at /data inside the app's mount namespace only. The
 * filesystem size is the quota: the kernel answers ENOSPC when it is full,
 * and the data persists across restarts because it lives in a file on the
 * device's disk. The runtime creates the image (mkfs.ext4, root directory
 * owned by the app's uid) on first start and never shrinks it. */
#pragma once
#include <stdint.h>
#include <sys/types.h>

#include "lib/err.h"

#define SBX_STORAGE_MKFS "/sbin/mkfs.ext4"

struct sbx_storage {
        char image[4096];   /* backing file */
        char loopdev[64];   /* /dev/loopN while attached */
        int loop_fd;        /* keeps the loop device attached until mounted; -1 */
        int lock_fd;        /* exclusive lock on the image while the app runs; -1 */
};

/* Ensures the image for `component_id` of `size_kb` exists (creating it
 * owned by uid/gid), locks it (-EBUSY when another instance of the app
 * runs: one filesystem must never be mounted twice) and attaches it to a
 * free loop device with autoclear, so the device detaches when the app's
 * mount namespace goes away. */
int sbx_storage_prepare(struct sbx_storage *st, const char *state_dir, const char *component_id,
                        uint32_t size_kb, uid_t uid, gid_t gid, struct rp_err *err) RP_WUR;
/* In the app's mount namespace: mounts the attached image at `target`. */
int sbx_storage_mount(const struct sbx_storage *st, const char *target, struct rp_err *err) RP_WUR;
/* Drops the runtime's hold on the loop device (after the app mounted it). */
void sbx_storage_release(struct sbx_storage *st);
/* Releases the lock as well (after the app's mount namespace is gone). */
void sbx_storage_unlock(struct sbx_storage *st);

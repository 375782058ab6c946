/* install.c - putting a verified OS image into a slot (the factory tool
 * and the monitor's install-os). */
#include "boot/boot.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fault.h"
#include "lib/fileio.h"

/* Copies the package into `tmp` (created, mode 0600) and starts its
 * writeback, so the disk writes overlap the verification that follows; the
 * one fsync comes after it. Returns the new file's descriptor (read-write). */
static int copy_start(int in, const char *tmp, int *ret_fd, struct rp_err *err)
{
        _cleanup_close_ int out = -1;
        char buf[65536];
        ssize_t n;
        int r;

        out = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (out < 0)
                return rp_err_set(err, -errno, "cannot create '%s': %s", tmp, strerror(errno));
        if (lseek(in, 0, SEEK_SET) < 0)
                return rp_err_set(err, -errno, "cannot rewind the package: %s", strerror(errno));
        /* in-kernel copy where the file systems allow it; read/write otherwise */
        while ((n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0)) > 0)
                ;
        if (n < 0 && errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
                return rp_err_set(err, -errno, "cannot copy the package to '%s': %s", tmp,
                                  strerror(errno));
        while ((n = read(in, buf, sizeof(buf))) != 0) {
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 || (r = rp_write_all(out, buf, (size_t)n)) < 0) {
                        r = n < 0 ? -errno : r;
                        return rp_err_set(err, r, "cannot copy the package to '%s': %s", tmp,
                                          strerror(-r));
                }
        }
        RP_FAULT_POINT("install-copy");
        /* a hint only: the fsync below is what makes the bytes durable */
        (void)sync_file_range(out, 0, 0, SYNC_FILE_RANGE_WRITE);
        *ret_fd = steal_fd(out);
        return 0;
}

/* Verifies the package on fd (from offset 0) like boot would. */
static int verify_fd(struct rot *rot, int fd, struct img_verified *v, struct img_meta *meta,
                     struct rp_err *err)
{
        struct cr_key *keys[ROT_MAX_PLATFORM_KEYS];
        struct rot_fuses f;
        uint64_t floor;
        int r, n;

        r = rot_fuses_read(rot, &f, err);
        if (r == 0 && f.lifecycle == ROT_LC_BLANK)
                r = rp_err_set(err, -ENODEV, "the device is blank: provision it first");
        if (r == 0)
                r = rot_counter_read(rot, BOOT_OS_COUNTER, &floor, err);
        if (r == 0 && lseek(fd, 0, SEEK_SET) < 0)
                r = rp_err_set(err, -errno, "cannot rewind the package: %s", strerror(errno));
        if (r < 0)
                return r;
        n = boot_platform_keys(&f, keys, err);
        if (n < 0)
                return n;
        r = boot_verify_os(fd, keys, (size_t)n, floor, v, meta, err);
        boot_keys_free(keys);
        return r;
}

/* One read pass over the package: it is copied next to the slot, the copy
 * is verified (what boots is what was verified, whoever else holds the
 * source descriptor), synced once, and only then does the slot state
 * change: invalidate, rename into place, activate. A package that does not
 * verify is refused before any of that, with the temporary copy removed. */
int boot_slot_install_fd(struct rot *rot, const char *dir, int slot, int fd,
                         unsigned trial_attempts, struct img_meta *ret_meta, struct rp_err *err)
{
        _cleanup_free_ struct img_verified *v = malloc(sizeof(*v));
        _cleanup_free_ char *path = boot_slot_path(dir, slot), *slots = NULL, *tmp = NULL;
        _cleanup_close_ int copy = -1;
        struct slotstate st;
        struct img_meta meta;
        int r;

        if (!v || !path || asprintf(&slots, "%s/slots", dir) < 0 ||
            asprintf(&tmp, "%s.new", path) < 0)
                return rp_err_set(err, -ENOMEM, "out of memory");
        if (trial_attempts > SLOT_MAX_ATTEMPTS)
                return rp_err_set(err, -EINVAL, "trial attempts %u is over the limit of %d",
                                  trial_attempts, SLOT_MAX_ATTEMPTS);
        r = boot_state_load(rot, &st, err);
        if (r < 0)
                return r;
        r = rp_mkdir_p(slots, 0700);
        if (r < 0)
                return rp_err_set(err, r, "cannot create '%s': %s", slots, strerror(-r));
        /* 1: the bytes into a file only the monitor writes, 2: verify them */
        r = copy_start(fd, tmp, &copy, err);
        if (r == 0) {
                r = verify_fd(rot, copy, v, &meta, err);
                if (r < 0)
                        rp_err_prefix(err, "the package cannot be installed");
        }
        if (r == 0 && fsync(copy) < 0)
                r = rp_err_set(err, -errno, "cannot sync '%s': %s", tmp, strerror(errno));
        if (r < 0) {
                unlink(tmp);
                return r;
        }
        /* 3: the slot stops being bootable before its bytes change */
        if (st.slot[slot].priority) {
                st.slot[slot] = (struct slot_info){0};
                r = boot_state_store(rot, &st, "install-invalidate", err);
                if (r < 0) {
                        unlink(tmp);
                        return r;
                }
        }
        r = rp_rename_durable(tmp, path, err);
        if (r < 0)
                return rp_err_prefix(err, "slot %c left unbootable", slot_letter(slot));
        /* 4: preferred, as a trial or confirmed */
        slotstate_prefer(&st, slot);
        st.slot[slot].trial = trial_attempts > 0;
        st.slot[slot].attempts = (uint8_t)trial_attempts;
        r = boot_state_store(rot, &st, "install-activate", err);
        if (r < 0)
                return r;
        boot_event(rot, st.bootcount, "install slot=%c os=%s version=%s svn=%u trial=%u",
                   slot_letter(slot), meta.name, meta.version, meta.svn, trial_attempts);
        if (ret_meta)
                *ret_meta = meta;
        return 0;
}

int boot_slot_install(struct rot *rot, const char *dir, int slot, const char *pkg,
                      unsigned trial_attempts, struct img_meta *ret_meta, struct rp_err *err)
{
        _cleanup_close_ int fd = open(pkg, O_RDONLY | O_CLOEXEC);
        int r;

        if (fd < 0)
                return rp_err_set(err, -errno, "cannot open '%s': %s", pkg, strerror(errno));
        r = boot_slot_install_fd(rot, dir, slot, fd, trial_attempts, ret_meta, err);
        if (r < 0)
                return rp_err_prefix(err, "'%s'", pkg);
        return 0;
}

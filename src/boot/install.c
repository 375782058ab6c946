/* install.c - putting a verified OS image into a slot (the factory tool
 * and, later, the update path). Not linked into rampart-boot. */
#include "boot/boot.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fault.h"
#include "lib/fileio.h"

static int copy_durable(int in, const char *dest, struct rp_err *err)
{
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int out = -1;
        char buf[65536];
        ssize_t n;
        int r;

        if (asprintf(&tmp, "%s.new", dest) < 0)
                return rp_err_set(err, -ENOMEM, "out of memory");
        out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (out < 0)
                return rp_err_set(err, -errno, "cannot create '%s': %s", tmp, strerror(errno));
        if (lseek(in, 0, SEEK_SET) < 0)
                return rp_err_set(err, -errno, "cannot rewind the package: %s", strerror(errno));
        /* in-kernel copy where the file systems allow it; read/write otherwise */
        while ((n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0)) > 0)
                ;
        if (n < 0 && errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP) {
                r = -errno;
                unlink(tmp);
                return rp_err_set(err, r, "cannot copy the package to '%s': %s", tmp, strerror(-r));
        }
        while ((n = read(in, buf, sizeof(buf))) != 0) {
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 || (r = rp_write_all(out, buf, (size_t)n)) < 0) {
                        r = n < 0 ? -errno : r;
                        unlink(tmp);
                        return rp_err_set(err, r, "cannot copy the package to '%s': %s", tmp,
                                          strerror(-r));
                }
        }
        RP_FAULT_POINT("install-copy");
        if (fsync(out) < 0) {
                r = -errno;
                unlink(tmp);
                return rp_err_set(err, r, "cannot sync '%s': %s", tmp, strerror(-r));
        }
        return rp_rename_durable(tmp, dest, err);
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

int boot_slot_install_fd(struct rot *rot, const char *dir, int slot, int fd,
                         unsigned trial_attempts, struct img_meta *ret_meta, struct rp_err *err)
{
        _cleanup_free_ struct img_verified *v = malloc(sizeof(*v));
        _cleanup_free_ char *path = boot_slot_path(dir, slot), *slots = NULL;
        _cleanup_close_ int copy = -1;
        struct slotstate st;
        struct img_meta meta, again;
        int r;

        if (!v || !path || asprintf(&slots, "%s/slots", dir) < 0)
                return rp_err_set(err, -ENOMEM, "out of memory");
        if (trial_attempts > SLOT_MAX_ATTEMPTS)
                return rp_err_set(err, -EINVAL, "trial attempts %u is over the limit of %d",
                                  trial_attempts, SLOT_MAX_ATTEMPTS);
        r = verify_fd(rot, fd, v, &meta, err);
        if (r < 0)
                return rp_err_prefix(err, "the package cannot be installed");
        r = boot_state_load(rot, &st, err);
        if (r < 0)
                return r;
        r = rp_mkdir_p(slots, 0700);
        if (r < 0)
                return rp_err_set(err, r, "cannot create '%s': %s", slots, strerror(-r));
        /* 1: the slot stops being bootable before its bytes change */
        if (st.slot[slot].priority) {
                st.slot[slot] = (struct slot_info){0};
                r = boot_state_store(rot, &st, "install-invalidate", err);
                if (r < 0)
                        return r;
        }
        /* 2: the bytes, then 3: verify what landed in the slot (the source
         * may be a descriptor someone else can still write) */
        r = copy_durable(fd, path, err);
        if (r < 0)
                return r;
        copy = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (copy < 0)
                return rp_err_set(err, -errno, "cannot reopen '%s': %s", path, strerror(errno));
        r = verify_fd(rot, copy, v, &again, err);
        if (r == 0 && memcmp(again.image_digest, meta.image_digest, CR_SHA256_LEN) != 0)
                r = rp_err_set(err, -EBADMSG, "the package changed while it was installed");
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

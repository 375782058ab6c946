/* storage.c - see storage.h. */
#include "sandbox/storage.h"

#include <fcntl.h>
#include <linux/loop.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fileio.h"

static int run_mkfs(const char *image, uint32_t size_kb, uid_t uid, gid_t gid, struct rp_err *err)
{
        char owner[64], blocks[32];
        int status;
        snprintf(owner, sizeof(owner), "root_owner=%u:%u", (unsigned)uid, (unsigned)gid);
        snprintf(blocks, sizeof(blocks), "%u", size_kb);
        /* small filesystems: 1 KiB blocks, no reserved blocks; a journal
         * only where it fits without eating most of the quota */
        const char *feat = size_kb >= 8192 ? "has_journal" : "^has_journal";
        pid_t pid = fork();
        if (pid < 0)
                return rp_err_set(err, -errno, "storage: fork: %s", strerror(errno));
        if (pid == 0) {
                int dn = open("/dev/null", O_RDWR);
                if (dn >= 0) {
                        dup2(dn, 0);
                        dup2(dn, 1);
                }
                execl(SBX_STORAGE_MKFS, "mkfs.ext4", "-q", "-F", "-b", "1024", "-m", "0", "-O", feat, "-E",
                      owner, "-L", "rp-data", image, blocks, (char *)NULL);
                _exit(127);
        }
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return rp_err_set(err, -errno, "storage: waitpid: %s", strerror(errno));
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return rp_err_set(err, -EIO, "storage: %s failed for '%s' (status %d)", SBX_STORAGE_MKFS,
                                  image, status);
        return 0;
}

int sbx_storage_prepare(struct sbx_storage *st, const char *state_dir, const char *component_id,
                        uint32_t size_kb, uid_t uid, gid_t gid, struct rp_err *err)
{
        char dir[4096], tmp[4200];
        struct stat sb;
        int r;

        memset(st, 0, sizeof(*st));
        st->loop_fd = -1;
        st->lock_fd = -1;
        if (snprintf(dir, sizeof(dir), "%s/storage", state_dir) >= (int)sizeof(dir) ||
            snprintf(st->image, sizeof(st->image), "%s/%s.img", dir, component_id) >= (int)sizeof(st->image))
                return rp_err_set(err, -ENAMETOOLONG, "storage: state path too long");
        if ((r = rp_mkdir_p(dir, 0700)) < 0)
                return rp_err_set(err, r, "storage: cannot create '%s': %s", dir, strerror(-r));

        if (stat(st->image, &sb) < 0) {
                if (errno != ENOENT)
                        return rp_err_set(err, -errno, "storage: '%s': %s", st->image, strerror(errno));
                /* build aside, then rename: a crash never leaves a half-made image */
                snprintf(tmp, sizeof(tmp), "%s.new", st->image);
                _cleanup_close_ int fd = open(tmp, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);
                if (fd < 0)
                        return rp_err_set(err, -errno, "storage: cannot create '%s': %s", tmp, strerror(errno));
                if (ftruncate(fd, (off_t)size_kb * 1024) < 0)
                        return rp_err_set(err, -errno, "storage: cannot size '%s': %s", tmp, strerror(errno));
                if ((r = run_mkfs(tmp, size_kb, uid, gid, err)) < 0) {
                        unlink(tmp);
                        return r;
                }
                if (fsync(fd) < 0 || (r = rp_rename_durable(tmp, st->image, err)) < 0) {
                        unlink(tmp);
                        return r < 0 ? r : rp_err_set(err, -errno, "storage: fsync '%s'", tmp);
                }
        }

        _cleanup_close_ int img = open(st->image, O_RDWR | O_CLOEXEC);
        if (img < 0)
                return rp_err_set(err, -errno, "storage: cannot open '%s': %s", st->image, strerror(errno));
        st->lock_fd = open(st->image, O_RDONLY | O_CLOEXEC);
        if (st->lock_fd < 0)
                return rp_err_set(err, -errno, "storage: cannot open '%s': %s", st->image, strerror(errno));
        if (flock(st->lock_fd, LOCK_EX | LOCK_NB) < 0) {
                int e = errno;
                sbx_storage_unlock(st);
                return rp_err_set(err, e == EWOULDBLOCK ? -EBUSY : -e,
                                  "storage: '%s' is in use by another running instance of the app", st->image);
        }
        _cleanup_close_ int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
        if (ctl < 0)
                return rp_err_set(err, -errno, "storage: /dev/loop-control: %s", strerror(errno));
        for (int attempt = 0; attempt < 16; attempt++) {
                int n = ioctl(ctl, LOOP_CTL_GET_FREE);
                if (n < 0)
                        return rp_err_set(err, -errno, "storage: no free loop device: %s", strerror(errno));
                snprintf(st->loopdev, sizeof(st->loopdev), "/dev/loop%d", n);
                int lfd = open(st->loopdev, O_RDWR | O_CLOEXEC);
                if (lfd < 0)
                        return rp_err_set(err, -errno, "storage: '%s': %s", st->loopdev, strerror(errno));
                struct loop_config cfg = { .fd = (uint32_t)img };
                cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR;
                snprintf((char *)cfg.info.lo_file_name, sizeof(cfg.info.lo_file_name), "%s", component_id);
                if (ioctl(lfd, LOOP_CONFIGURE, &cfg) == 0) {
                        st->loop_fd = lfd;
                        return 0;
                }
                int e = errno;
                close(lfd);
                if (e != EBUSY) /* someone else took it: try the next free one */
                        return rp_err_set(err, -e, "storage: attaching '%s' to %s: %s", st->image, st->loopdev,
                                          strerror(e));
        }
        return rp_err_set(err, -EBUSY, "storage: no loop device could be attached for '%s'", st->image);
}

int sbx_storage_mount(const struct sbx_storage *st, const char *target, struct rp_err *err)
{
        if (mount(st->loopdev, target, "ext4", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME,
                  "errors=remount-ro") < 0)
                return rp_err_set(err, -errno, "storage: mounting %s ('%s') on %s: %s", st->loopdev, st->image,
                                  target, strerror(errno));
        return 0;
}

void sbx_storage_release(struct sbx_storage *st)
{
        if (st && st->loop_fd >= 0) {
                close(st->loop_fd);
                st->loop_fd = -1;
        }
}

void sbx_storage_unlock(struct sbx_storage *st)
{
        sbx_storage_release(st);
        if (st && st->lock_fd >= 0) {
                close(st->lock_fd);
                st->lock_fd = -1;
        }
}

/* fileio.c - see fileio.h. */
#include "lib/fileio.h"

#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "lib/cleanup.h"
#include "lib/fault.h"

int rp_write_all(int fd, const void *buf, size_t len)
{
        const uint8_t *p = buf;
        while (len) {
                ssize_t n = write(fd, p, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += n;
                len -= (size_t)n;
        }
        return 0;
}

int rp_read_exact(int fd, void *buf, size_t len)
{
        uint8_t *p = buf;
        while (len) {
                ssize_t n = read(fd, p, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        return -EPIPE;
                p += n;
                len -= (size_t)n;
        }
        return 0;
}

int rp_read_fd(int fd, size_t max, uint8_t **ret_data, size_t *ret_len)
{
        size_t cap = 4096, len = 0;
        _cleanup_free_ uint8_t *d = malloc(cap + 1);

        if (!d)
                return -ENOMEM;
        for (;;) {
                ssize_t n;
                if (len == cap) {
                        uint8_t *nd;
                        if (cap > max)
                                return -EFBIG;
                        cap *= 2;
                        nd = realloc(d, cap + 1);
                        if (!nd)
                                return -ENOMEM;
                        d = nd;
                }
                n = read(fd, d + len, cap - len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                len += (size_t)n;
                if (len > max)
                        return -EFBIG;
        }
        d[len] = 0;
        *ret_data = steal_ptr(d);
        *ret_len = len;
        return 0;
}

int rp_read_file(const char *path, size_t max, uint8_t **ret_data, size_t *ret_len,
                 struct rp_err *err)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        int r;

        if (fd < 0)
                return rp_err_set(err, -errno, "cannot open '%s': %s", path, strerror(errno));
        r = rp_read_fd(fd, max, ret_data, ret_len);
        if (r == -EFBIG)
                return rp_err_set(err, r, "'%s' is larger than the limit of %zu bytes", path, max);
        if (r < 0)
                return rp_err_set(err, r, "cannot read '%s': %s", path, strerror(-r));
        return 0;
}

int rp_fsync_dir_of(const char *path)
{
        _cleanup_free_ char *copy = strdup(path);
        _cleanup_close_ int dfd = -1;

        if (!copy)
                return -ENOMEM;
        dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return -errno;
        if (fsync(dfd) < 0)
                return -errno;
        return 0;
}

int rp_rename_durable(const char *from, const char *to, struct rp_err *err)
{
        int r;
        if (rename(from, to) < 0)
                return rp_err_set(err, -errno, "cannot rename '%s' to '%s': %s", from, to,
                                  strerror(errno));
        RP_FAULT_POINT("rename-before-dirsync");
        r = rp_fsync_dir_of(to);
        if (r < 0)
                return rp_err_set(err, r, "cannot sync directory of '%s': %s", to, strerror(-r));
        return 0;
}

int rp_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode,
                         struct rp_err *err)
{
        size_t n = strlen(path) + 16;
        _cleanup_free_ char *tmp = malloc(n);
        _cleanup_close_ int fd = -1;
        int r;

        if (!tmp)
                return rp_err_set(err, -ENOMEM, "out of memory");
        snprintf(tmp, n, "%s.tmpXXXXXX", path);
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return rp_err_set(err, -errno, "cannot create temporary file for '%s': %s", path,
                                  strerror(errno));
        if (fchmod(fd, mode) < 0) {
                r = -errno;
                goto fail;
        }
        r = rp_write_all(fd, data, len);
        if (r < 0)
                goto fail;
        RP_FAULT_POINT("write-before-fsync");
        if (fsync(fd) < 0) {
                r = -errno;
                goto fail;
        }
        if (rename(tmp, path) < 0) {
                r = -errno;
                goto fail;
        }
        RP_FAULT_POINT("rename-before-dirsync");
        r = rp_fsync_dir_of(path);
        if (r < 0)
                return rp_err_set(err, r, "cannot sync directory of '%s': %s", path, strerror(-r));
        return 0;
fail:
        unlink(tmp);
        return rp_err_set(err, r, "cannot write '%s': %s", path, strerror(-r));
}

int rp_mkdir_p(const char *path, mode_t mode)
{
        _cleanup_free_ char *p = strdup(path);
        if (!p)
                return -ENOMEM;
        for (char *s = p + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = '\0';
                if (mkdir(p, mode) < 0 && errno != EEXIST)
                        return -errno;
                *s = '/';
        }
        if (mkdir(p, mode) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
        (void)st;
        (void)ftw;
        if (flag == FTW_DP)
                return rmdir(p) < 0 ? -1 : 0;
        return unlink(p) < 0 ? -1 : 0;
}

int rp_rm_rf(const char *path)
{
        struct stat st;
        if (lstat(path, &st) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (!S_ISDIR(st.st_mode))
                return unlink(path) < 0 ? -errno : 0;
        if (nftw(path, rm_one, 32, FTW_DEPTH | FTW_PHYS) < 0)
                return -errno;
        return 0;
}

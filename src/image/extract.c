/* extract.c - safe extraction of a verified payload.
 *
 * The package is verified first (one full pass). The payload is then read a
 * second time from the same descriptor with pread, hashed again while the
 * strict tar reader (tar.c) walks it, and written into a fresh private
 * temporary directory next to the destination. Only when the second hash
 * equals the signed one -- so the files on disk are exactly the bytes that
 * verified, even if someone rewrote the package file in between -- is the
 * directory synced and renamed into place in one step. Any failure removes
 * the temporary directory: nothing is left behind.
 *
 * Every file system operation is relative to a directory descriptor of the
 * temporary root, and every path component is opened with O_NOFOLLOW, so an
 * entry can never be written through a symlink. */
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/image.h"
#include "image/internal.h"
#include "lib/fileio.h"

const struct img_extract_limits img_extract_default_limits = {
        .max_files = IMG_MAX_FILES,
        .max_depth = IMG_MAX_DEPTH,
        .max_total = IMG_MAX_EXTRACT_SIZE,
};

struct preader {
        int fd;
        off_t off;
        uint64_t left;
        struct cr_sha256_ctx *h;
};

static ssize_t preader_read(void *ctx, void *buf, size_t len)
{
        struct preader *p = ctx;
        ssize_t n;

        if (len > p->left)
                len = (size_t)p->left;
        if (len == 0)
                return 0;
        do
                n = pread(p->fd, buf, len, p->off);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        cr_sha256_update(p->h, buf, (size_t)n);
        p->off += n;
        p->left -= (uint64_t)n;
        return n;
}

struct xctx {
        int root;               /* the temporary directory */
        int file;               /* the regular file being written, or -1 */
        uint32_t file_mode;
        char path[IMG_MAX_PATH + 1];
};

/* Opens the directory holding `path`'s last component; *ret_leaf points
 * into path. Never follows a symlink. */
static int open_parent(struct xctx *x, const char *path, const char **ret_leaf, struct rp_err *err)
{
        char comp[IMG_MAX_PATH + 1];
        const char *c = path, *slash;
        int dfd = dup(x->root);

        if (dfd < 0)
                return rp_err_set(err, -errno, "dup: %s", strerror(errno));
        while ((slash = strchr(c, '/'))) {
                size_t n = (size_t)(slash - c);
                struct stat st;
                int next;

                memcpy(comp, c, n);
                comp[n] = '\0';
                next = openat(dfd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (next < 0) {
                        int e = errno;
                        bool link = fstatat(dfd, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                                    S_ISLNK(st.st_mode);
                        close(dfd);
                        if (e == ENOENT)
                                return rp_err_set(err, -ENOENT,
                                                  "archive entry '%s' comes before its directory '%.*s'",
                                                  path, (int)(slash - path), path);
                        if (link)
                                return rp_err_set(err, -EPERM,
                                                  "archive entry '%s' would be written through symlink '%.*s'",
                                                  path, (int)(slash - path), path);
                        return rp_err_set(err, -e, "archive entry '%s': '%.*s' is not a directory",
                                          path, (int)(slash - path), path);
                }
                close(dfd);
                dfd = next;
                c = slash + 1;
        }
        *ret_leaf = c;
        return dfd;
}

static int dup_err(const char *path, int e, struct rp_err *err)
{
        if (e == EEXIST)
                return rp_err_set(err, -EEXIST, "archive has '%s' twice", path);
        return rp_err_set(err, -e, "cannot create '%s': %s", path, strerror(e));
}

static int x_entry(void *ctx, const struct img_tar_entry *e, struct rp_err *err)
{
        struct xctx *x = ctx;
        const char *leaf;
        int dfd, r = 0;

        dfd = open_parent(x, e->path, &leaf, err);
        if (dfd < 0)
                return dfd;
        switch (e->type) {
        case IMG_TAR_DIR:
                /* the owner keeps rwx so extraction (and cleanup) can go on */
                if (mkdirat(dfd, leaf, 0700) < 0)
                        r = dup_err(e->path, errno, err);
                else if (fchmodat(dfd, leaf, (e->mode & 0777) | 0700, 0) < 0)
                        r = rp_err_set(err, -errno, "cannot chmod '%s': %s", e->path, strerror(errno));
                break;
        case IMG_TAR_SYMLINK:
                if (symlinkat(e->link, dfd, leaf) < 0)
                        r = dup_err(e->path, errno, err);
                break;
        case IMG_TAR_FILE:
                x->file = openat(dfd, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (x->file < 0)
                        r = dup_err(e->path, errno, err);
                x->file_mode = e->mode & 0777;
                snprintf(x->path, sizeof(x->path), "%s", e->path);
                break;
        }
        close(dfd);
        return r;
}

static int x_data(void *ctx, const void *buf, size_t len, struct rp_err *err)
{
        struct xctx *x = ctx;
        int r = rp_write_all(x->file, buf, len);
        if (r < 0)
                return rp_err_set(err, r, "cannot write '%s': %s", x->path, strerror(-r));
        return 0;
}

static int x_file_end(void *ctx, struct rp_err *err)
{
        struct xctx *x = ctx;
        int r = 0;
        if (fchmod(x->file, x->file_mode) < 0)
                r = rp_err_set(err, -errno, "cannot chmod '%s': %s", x->path, strerror(errno));
        if (close(x->file) < 0 && r == 0)
                r = rp_err_set(err, -errno, "cannot write '%s': %s", x->path, strerror(errno));
        x->file = -1;
        return r;
}

static const struct img_tar_ops extract_ops = {
        .entry = x_entry,
        .data = x_data,
        .file_end = x_file_end,
};

int img_extract_fd(int fd, struct cr_key *const *trusted, size_t n_trusted, const char *dest,
                   const struct img_extract_limits *limits, struct img_meta *ret_meta,
                   struct rp_err *err)
{
        struct img_verified *v = NULL;
        struct img_meta m;
        struct preader pr = {.fd = fd};
        struct xctx x = {.root = -1, .file = -1};
        struct stat st;
        char *tmp = NULL, *dcopy = NULL, *bcopy = NULL;
        uint8_t sha[CR_SHA256_LEN];
        size_t tlen;
        int r;

        if (!limits)
                limits = &img_extract_default_limits;
        if (lstat(dest, &st) == 0)
                return rp_err_set(err, -EEXIST, "extraction target '%s' already exists", dest);
        if (errno != ENOENT)
                return rp_err_set(err, -errno, "cannot check '%s': %s", dest, strerror(errno));

        v = malloc(sizeof(*v));
        if (!v)
                return rp_err_set(err, -ENOMEM, "out of memory");
        if (lseek(fd, 0, SEEK_SET) < 0) {
                r = rp_err_set(err, -errno, "image package is not seekable: %s", strerror(errno));
                goto out;
        }
        r = img_verify_fd_signed(fd, trusted, n_trusted, v, err);
        if (r < 0)
                goto out;
        r = img_meta_parse(v, &m, err);
        if (r < 0)
                goto out;

        dcopy = strdup(dest);
        bcopy = strdup(dest);
        if (!dcopy || !bcopy) {
                r = rp_err_set(err, -ENOMEM, "out of memory");
                goto out;
        }
        tlen = strlen(dest) + 32;
        tmp = malloc(tlen);
        if (!tmp) {
                r = rp_err_set(err, -ENOMEM, "out of memory");
                goto out;
        }
        snprintf(tmp, tlen, "%s/.%s.tmp-XXXXXX", dirname(dcopy), basename(bcopy));
        if (!mkdtemp(tmp)) {
                r = rp_err_set(err, -errno, "cannot create a temporary directory next to '%s': %s",
                               dest, strerror(errno));
                free(tmp);
                tmp = NULL;
                goto out;
        }
        x.root = open(tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (x.root < 0) {
                r = rp_err_set(err, -errno, "cannot open '%s': %s", tmp, strerror(errno));
                goto out;
        }

        pr.off = (off_t)(IMG_HEADER_LEN + v->metadata_len);
        pr.left = v->hdr.payload_len;
        pr.h = cr_sha256_new();
        if (!pr.h) {
                r = rp_err_set(err, -ENOMEM, "out of memory");
                goto out;
        }
        r = img_tar_walk(preader_read, &pr, v->hdr.payload_len, limits, &extract_ops, &x, err);
        if (r < 0)
                goto out;
        cr_sha256_final(pr.h, sha);
        if (memcmp(sha, v->hdr.payload_sha256, CR_SHA256_LEN) != 0) {
                r = rp_err_set(err, -EAGAIN,
                               "image package changed on disk during extraction; nothing extracted");
                goto out;
        }
        if (fchmod(x.root, 0755) < 0 || syncfs(x.root) < 0) {
                r = rp_err_set(err, -errno, "cannot finish '%s': %s", tmp, strerror(errno));
                goto out;
        }
        if (renameat2(AT_FDCWD, tmp, AT_FDCWD, dest, RENAME_NOREPLACE) < 0) {
                r = errno == EEXIST
                            ? rp_err_set(err, -EEXIST, "extraction target '%s' already exists", dest)
                            : rp_err_set(err, -errno, "cannot rename '%s' to '%s': %s", tmp, dest,
                                         strerror(errno));
                goto out;
        }
        free(tmp);
        tmp = NULL;
        (void)!rp_fsync_dir_of(dest);     /* renamed already; durability is best effort */
        if (ret_meta)
                *ret_meta = m;
        r = 0;
out:
        if (x.file >= 0)
                close(x.file);
        if (x.root >= 0)
                close(x.root);
        if (tmp) {
                (void)!rp_rm_rf(tmp);
                free(tmp);
        }
        cr_sha256_free(pr.h);
        free(dcopy);
        free(bcopy);
        free(v);
        return r;
}

/* tar.c - the payload archive: a minimal POSIX ustar writer and a strict,
 * bounded, streaming reader. Only three entry types exist (regular file,
 * directory, symlink), only the canonical encodings are accepted, and every
 * rule of safe extraction that can be decided from the archive itself is
 * checked here, before any callback sees the entry. Pure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/image.h"
#include "image/internal.h"

/* ustar header field offsets and widths */
enum {
        T_NAME = 0, T_NAME_W = 100,
        T_MODE = 100, T_MODE_W = 8,
        T_UID = 108, T_UID_W = 8,
        T_GID = 116, T_GID_W = 8,
        T_SIZE = 124, T_SIZE_W = 12,
        T_MTIME = 136, T_MTIME_W = 12,
        T_CHKSUM = 148, T_CHKSUM_W = 8,
        T_TYPE = 156,
        T_LINK = 157, T_LINK_W = 100,
        T_MAGIC = 257,
        T_VERSION = 263,
        T_PREFIX = 345, T_PREFIX_W = 155,
};

#define TAR_DATA_CHUNK (64 * 1024)
#define TAR_MAX_OCTAL_SIZE 077777777777ULL     /* 11 octal digits */

static bool is_bad_char(unsigned char c)
{
        return c < 0x20 || c == 0x7f;
}

int img_tar_check_path(const char *path, uint32_t max_depth, unsigned *ret_depth,
                       struct rp_err *err)
{
        size_t len = strnlen(path, IMG_MAX_PATH + 1);
        unsigned depth = 0;
        const char *c = path;

        if (len == 0)
                return rp_err_set(err, -EBADMSG, "archive entry has an empty path");
        if (len > IMG_MAX_PATH)
                return rp_err_set(err, -ENAMETOOLONG, "archive path '%.60s...' is longer than %d bytes",
                                  path, IMG_MAX_PATH);
        if (path[0] == '/')
                return rp_err_set(err, -EPERM, "archive path '%s' is absolute", path);
        for (size_t i = 0; i < len; i++)
                if (is_bad_char((unsigned char)path[i]))
                        return rp_err_set(err, -EBADMSG,
                                          "archive path '%.60s' has control character 0x%02x", path,
                                          (unsigned char)path[i]);
        for (;;) {
                const char *slash = strchr(c, '/');
                size_t n = slash ? (size_t)(slash - c) : strlen(c);
                if (n == 0)
                        return rp_err_set(err, -EBADMSG, "archive path '%s' has an empty component",
                                          path);
                if (n == 2 && c[0] == '.' && c[1] == '.')
                        return rp_err_set(err, -EPERM, "archive path '%s' contains '..'", path);
                if (n == 1 && c[0] == '.')
                        return rp_err_set(err, -EBADMSG, "archive path '%s' contains '.'", path);
                depth++;
                if (!slash)
                        break;
                c = slash + 1;
        }
        if (depth > max_depth)
                return rp_err_set(err, -EPERM, "archive path '%.60s' is %u levels deep, the limit is %u",
                                  path, depth, max_depth);
        *ret_depth = depth;
        return 0;
}

int img_tar_check_symlink(const char *path, unsigned depth, const char *target,
                          struct rp_err *err)
{
        size_t len = strnlen(target, IMG_MAX_PATH + 1);
        unsigned up = 0;
        bool descended = false;
        const char *c = target;

        if (len == 0)
                return rp_err_set(err, -EBADMSG, "symlink '%s' has an empty target", path);
        if (len > IMG_MAX_PATH)
                return rp_err_set(err, -ENAMETOOLONG, "symlink '%s' target is longer than %d bytes",
                                  path, IMG_MAX_PATH);
        if (target[0] == '/')
                return rp_err_set(err, -EPERM, "symlink '%s' -> '%s' is absolute", path, target);
        for (size_t i = 0; i < len; i++)
                if (is_bad_char((unsigned char)target[i]))
                        return rp_err_set(err, -EBADMSG, "symlink '%s' target has control character 0x%02x",
                                          path, (unsigned char)target[i]);
        /* Canonical relative form: some leading "..", then plain names.
         * Going up happens only from the link's own (real) directory, and
         * every name below resolves inside the root (a symlink there obeys
         * the same rule), so the target can never leave the root. */
        for (;;) {
                const char *slash = strchr(c, '/');
                size_t n = slash ? (size_t)(slash - c) : strlen(c);
                if (n == 0 || (n == 1 && c[0] == '.'))
                        return rp_err_set(err, -EBADMSG,
                                          "symlink '%s' -> '%s' is not in canonical form (empty or '.' component)",
                                          path, target);
                if (n == 2 && c[0] == '.' && c[1] == '.') {
                        if (descended)
                                return rp_err_set(err, -EPERM,
                                                  "symlink '%s' -> '%s' has '..' after a name", path,
                                                  target);
                        up++;
                } else {
                        descended = true;
                }
                if (!slash)
                        break;
                c = slash + 1;
        }
        if (up > depth - 1)
                return rp_err_set(err, -EPERM, "symlink '%s' -> '%s' points outside the image", path,
                                  target);
        return 0;
}

/* A NUL-terminated (or field-filling) string; bytes after the NUL must be
 * NUL too. Returns the length or -1. */
static int tar_string(const uint8_t *f, size_t w, char *out)
{
        size_t n = strnlen((const char *)f, w);
        for (size_t i = n; i < w; i++)
                if (f[i])
                        return -1;
        memcpy(out, f, n);
        out[n] = '\0';
        return (int)n;
}

/* Octal digits, then NUL or space, then only NUL/space. */
static int tar_octal(const uint8_t *f, size_t w, uint64_t *ret)
{
        uint64_t v = 0;
        size_t i = 0;

        while (i < w && f[i] >= '0' && f[i] <= '7') {
                if (v > (UINT64_MAX >> 3))
                        return -1;
                v = v << 3 | (uint64_t)(f[i] - '0');
                i++;
        }
        if (i == 0 || i == w)
                return -1;
        for (; i < w; i++)
                if (f[i] != 0 && f[i] != ' ')
                        return -1;
        *ret = v;
        return 0;
}

static bool all_zero(const uint8_t *p, size_t n)
{
        uint8_t acc = 0;
        for (size_t i = 0; i < n; i++)
                acc |= p[i];
        return acc == 0;
}

static int parse_header(const uint8_t *b, const struct img_extract_limits *lim,
                        struct img_tar_entry *e, struct rp_err *err)
{
        char name[T_NAME_W + 1], prefix[T_PREFIX_W + 1], link[T_LINK_W + 1];
        uint64_t chk, sum = 0, mode, size;
        int nlen, plen, llen, r;
        uint8_t t;

        for (size_t i = 0; i < IMG_TAR_BLOCK; i++)
                sum += (i >= T_CHKSUM && i < T_CHKSUM + T_CHKSUM_W) ? ' ' : b[i];
        if (tar_octal(b + T_CHKSUM, T_CHKSUM_W, &chk) < 0 || chk != sum)
                return rp_err_set(err, -EBADMSG, "archive header checksum is wrong (corrupt archive)");
        if (memcmp(b + T_MAGIC, "ustar\0" "00", 8) != 0)
                return rp_err_set(err, -EBADMSG,
                                  "archive is not POSIX ustar (magic/version '%.8s')", b + T_MAGIC);
        nlen = tar_string(b + T_NAME, T_NAME_W, name);
        plen = tar_string(b + T_PREFIX, T_PREFIX_W, prefix);
        llen = tar_string(b + T_LINK, T_LINK_W, link);
        if (nlen < 0 || plen < 0 || llen < 0)
                return rp_err_set(err, -EBADMSG, "archive header has garbage after a name");
        if (plen > 0) {
                if ((size_t)plen + 1 + (size_t)nlen > IMG_MAX_PATH)
                        return rp_err_set(err, -ENAMETOOLONG,
                                          "archive path '%.40s/%.40s...' is longer than %d bytes", prefix,
                                          name, IMG_MAX_PATH);
                memcpy(e->path, prefix, (size_t)plen);
                e->path[plen] = '/';
                memcpy(e->path + plen + 1, name, (size_t)nlen + 1);
        }
        else
                memcpy(e->path, name, (size_t)nlen + 1);

        t = b[T_TYPE];
        switch (t) {
        case '0':
        case '\0':
                e->type = IMG_TAR_FILE;
                break;
        case '5':
                e->type = IMG_TAR_DIR;
                {
                        size_t n = strlen(e->path);
                        if (n > 1 && e->path[n - 1] == '/')
                                e->path[n - 1] = '\0';
                }
                break;
        case '2':
                e->type = IMG_TAR_SYMLINK;
                break;
        case '1':
                return rp_err_set(err, -EPERM, "archive entry '%s' is a hard link: not allowed", e->path);
        case '3':
        case '4':
                return rp_err_set(err, -EPERM, "archive entry '%s' is a device node: not allowed", e->path);
        case '6':
                return rp_err_set(err, -EPERM, "archive entry '%s' is a fifo: not allowed", e->path);
        case 'x':
        case 'g':
                return rp_err_set(err, -EBADMSG,
                                  "archive entry '%s' is a pax extended header: not supported", e->path);
        case 'L':
        case 'K':
                return rp_err_set(err, -EBADMSG,
                                  "archive entry '%s' is a GNU long-name header: not supported", e->path);
        default:
                return rp_err_set(err, -EBADMSG, "archive entry '%s' has unknown type 0x%02x", e->path, t);
        }
        r = img_tar_check_path(e->path, lim->max_depth, &e->depth, err);
        if (r < 0)
                return r;

        if (tar_octal(b + T_MODE, T_MODE_W, &mode) < 0)
                return rp_err_set(err, -EBADMSG, "archive entry '%s' has a malformed mode", e->path);
        if (mode & 04000)
                return rp_err_set(err, -EPERM, "archive entry '%s' has the setuid bit (mode 0%llo)",
                                  e->path, (unsigned long long)mode);
        if (mode & 02000)
                return rp_err_set(err, -EPERM, "archive entry '%s' has the setgid bit (mode 0%llo)",
                                  e->path, (unsigned long long)mode);
        if (mode & 01000)
                return rp_err_set(err, -EPERM, "archive entry '%s' has the sticky bit (mode 0%llo)",
                                  e->path, (unsigned long long)mode);
        if (mode & ~(uint64_t)0777)
                return rp_err_set(err, -EBADMSG, "archive entry '%s' has mode 0%llo with unknown bits",
                                  e->path, (unsigned long long)mode);
        e->mode = (uint32_t)mode;

        if (b[T_SIZE] & 0x80)
                return rp_err_set(err, -EBADMSG,
                                  "archive entry '%s' has a base-256 size: not supported", e->path);
        if (tar_octal(b + T_SIZE, T_SIZE_W, &size) < 0)
                return rp_err_set(err, -EBADMSG, "archive entry '%s' has a malformed size", e->path);
        if (e->type != IMG_TAR_FILE && size != 0)
                return rp_err_set(err, -EBADMSG, "archive entry '%s' is not a file but has size %llu",
                                  e->path, (unsigned long long)size);
        e->size = size;

        if (e->type == IMG_TAR_SYMLINK) {
                if (llen == 0)
                        return rp_err_set(err, -EBADMSG, "symlink '%s' has no target", e->path);
                memcpy(e->link, link, (size_t)llen + 1);
                r = img_tar_check_symlink(e->path, e->depth, e->link, err);
                if (r < 0)
                        return r;
        } else {
                if (llen != 0)
                        return rp_err_set(err, -EBADMSG,
                                          "archive entry '%s' has a link target but is not a symlink",
                                          e->path);
                e->link[0] = '\0';
        }
        return 0;
}

struct walk {
        img_read_fn rd;
        void *rctx;
        uint64_t left;
};

/* Reads exactly n bytes that the archive length says are there. */
static int walk_read(struct walk *w, void *buf, size_t n, struct rp_err *err)
{
        ssize_t got;
        if (n > w->left)
                return rp_err_set(err, -EBADMSG, "archive truncated");
        got = img_read_full(w->rd, w->rctx, buf, n);
        if (got < 0)
                return rp_err_set(err, (int)got, "cannot read archive: %s", strerror((int)-got));
        if ((size_t)got != n)
                return rp_err_set(err, -EBADMSG, "archive truncated (input ended early)");
        w->left -= n;
        return 0;
}

int img_tar_walk(img_read_fn rd, void *rctx, uint64_t len, const struct img_extract_limits *lim,
                 const struct img_tar_ops *ops, void *octx, struct rp_err *err)
{
        struct walk w = {rd, rctx, len};
        struct img_tar_entry e;
        uint8_t block[IMG_TAR_BLOCK];
        uint8_t *chunk = NULL;
        uint64_t n_entries = 0, total = 0;
        int r;

        if (!lim)
                lim = &img_extract_default_limits;
        chunk = malloc(TAR_DATA_CHUNK);
        if (!chunk)
                return rp_err_set(err, -ENOMEM, "out of memory");
        for (;;) {
                if (w.left < IMG_TAR_BLOCK) {
                        r = rp_err_set(err, -EBADMSG, "archive truncated: no end-of-archive marker");
                        goto out;
                }
                if ((r = walk_read(&w, block, IMG_TAR_BLOCK, err)) < 0)
                        goto out;
                if (all_zero(block, IMG_TAR_BLOCK))
                        break;
                memset(&e, 0, sizeof(e));
                if ((r = parse_header(block, lim, &e, err)) < 0)
                        goto out;
                if (++n_entries > lim->max_files) {
                        r = rp_err_set(err, -E2BIG, "archive has more than %u entries", lim->max_files);
                        goto out;
                }
                if (e.type == IMG_TAR_FILE) {
                        uint64_t padded = (e.size + IMG_TAR_BLOCK - 1) / IMG_TAR_BLOCK * IMG_TAR_BLOCK;
                        if (__builtin_add_overflow(total, e.size, &total) || total > lim->max_total) {
                                r = rp_err_set(err, -EFBIG,
                                               "archive files exceed %llu bytes in total (at '%s')",
                                               (unsigned long long)lim->max_total, e.path);
                                goto out;
                        }
                        if (padded > w.left) {
                                r = rp_err_set(err, -EBADMSG,
                                               "archive entry '%s' claims %llu bytes, only %llu remain",
                                               e.path, (unsigned long long)e.size,
                                               (unsigned long long)w.left);
                                goto out;
                        }
                }
                if (ops && ops->entry && (r = ops->entry(octx, &e, err)) < 0)
                        goto out;
                if (e.type != IMG_TAR_FILE)
                        continue;
                for (uint64_t left = e.size; left > 0;) {
                        size_t n = left < TAR_DATA_CHUNK ? (size_t)left : TAR_DATA_CHUNK;
                        if ((r = walk_read(&w, chunk, n, err)) < 0)
                                goto out;
                        if (ops && ops->data && (r = ops->data(octx, chunk, n, err)) < 0)
                                goto out;
                        left -= n;
                }
                if (e.size % IMG_TAR_BLOCK) {
                        size_t pad = IMG_TAR_BLOCK - (size_t)(e.size % IMG_TAR_BLOCK);
                        if ((r = walk_read(&w, block, pad, err)) < 0)
                                goto out;
                        if (!all_zero(block, pad)) {
                                r = rp_err_set(err, -EBADMSG, "archive entry '%s' has non-zero padding",
                                               e.path);
                                goto out;
                        }
                }
                if (ops && ops->file_end && (r = ops->file_end(octx, err)) < 0)
                        goto out;
        }
        /* end of archive: a second zero block, then only zeros */
        if (w.left < IMG_TAR_BLOCK) {
                r = rp_err_set(err, -EBADMSG, "archive truncated: end-of-archive marker is one block");
                goto out;
        }
        while (w.left > 0) {
                size_t n = w.left < TAR_DATA_CHUNK ? (size_t)w.left : TAR_DATA_CHUNK;
                if ((r = walk_read(&w, chunk, n, err)) < 0)
                        goto out;
                if (!all_zero(chunk, n)) {
                        r = rp_err_set(err, -EBADMSG, "archive has data after the end-of-archive marker");
                        goto out;
                }
        }
        r = 0;
out:
        free(chunk);
        return r;
}

int img_tar_header(uint8_t out[IMG_TAR_BLOCK], const char *path, enum img_tar_type type,
                   uint32_t mode, uint64_t size, const char *link, uint64_t mtime)
{
        size_t len = strlen(path), llen = link ? strlen(link) : 0;
        size_t split = 0;       /* index of the '/' separating prefix and name; 0 = none */
        char tmp[16];
        unsigned sum = 0;

        memset(out, 0, IMG_TAR_BLOCK);
        if (len == 0 || llen > T_LINK_W || size > TAR_MAX_OCTAL_SIZE || mtime > TAR_MAX_OCTAL_SIZE ||
            mode > 0777)
                return -EINVAL;
        if (len > T_NAME_W) {
                for (size_t i = 1; i < len && i <= T_PREFIX_W; i++)
                        if (path[i] == '/' && len - i - 1 <= T_NAME_W && len - i - 1 > 0) {
                                split = i;
                                break;
                        }
                if (!split)
                        return -ENAMETOOLONG;
                memcpy(out + T_PREFIX, path, split);
                memcpy(out + T_NAME, path + split + 1, len - split - 1);
        } else {
                memcpy(out + T_NAME, path, len);
        }
        snprintf(tmp, sizeof(tmp), "%07o", (unsigned)mode);
        memcpy(out + T_MODE, tmp, 8);
        memcpy(out + T_UID, "0000000", 8);
        memcpy(out + T_GID, "0000000", 8);
        snprintf(tmp, sizeof(tmp), "%011llo", (unsigned long long)size);
        memcpy(out + T_SIZE, tmp, 12);
        snprintf(tmp, sizeof(tmp), "%011llo", (unsigned long long)mtime);
        memcpy(out + T_MTIME, tmp, 12);
        out[T_TYPE] = (uint8_t)type;
        if (llen)
                memcpy(out + T_LINK, link, llen);
        memcpy(out + T_MAGIC, "ustar\0" "00", 8);
        memset(out + T_CHKSUM, ' ', T_CHKSUM_W);
        for (size_t i = 0; i < IMG_TAR_BLOCK; i++)
                sum += out[i];
        snprintf(tmp, sizeof(tmp), "%06o", sum);
        memcpy(out + T_CHKSUM, tmp, 7);         /* six digits, NUL, then the space stays */
        return 0;
}

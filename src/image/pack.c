/* pack.c - building image packages (a directory or a ready payload into an
 * unsigned package) and signing them. Touches the file system only through
 * the descriptors and the directory it is given; never logs. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/image.h"
#include "image/internal.h"
#include "lib/fileio.h"

static int write_all(int fd, const void *p, size_t n, struct rp_err *err)
{
        int r = rp_write_all(fd, p, n);
        if (r < 0)
                return rp_err_set(err, r, "cannot write image package: %s", strerror(-r));
        return 0;
}

int img_write_head(int fd, struct img_header *hdr, const struct img_meta *m, struct rp_err *err)
{
        uint8_t head[IMG_HEADER_LEN];
        char *json = NULL;
        size_t len;
        int r;

        r = img_meta_encode(m, &json, &len, err);
        if (r < 0)
                return r;
        hdr->metadata_len = (uint32_t)len;
        img_header_encode(hdr, head);
        r = write_all(fd, head, sizeof(head), err);
        if (r == 0)
                r = write_all(fd, json, len, err);
        free(json);
        return r;
}

static void set_payload(struct img_header *h, struct img_meta *m, uint64_t len,
                        const uint8_t sha[CR_SHA256_LEN])
{
        h->payload_len = len;
        memcpy(h->payload_sha256, sha, CR_SHA256_LEN);
        m->payload_len = len;
        memcpy(m->payload_sha256, sha, CR_SHA256_LEN);
}

/* Reads fd from offset 0 to EOF, hashing, optionally copying to out_fd. */
static int hash_copy(int fd, int out_fd, uint64_t *ret_len, uint8_t sha[CR_SHA256_LEN],
                     struct rp_err *err)
{
        struct cr_sha256_ctx *h = cr_sha256_new();
        uint8_t *buf = malloc(IMG_IO_CHUNK);
        uint64_t len = 0;
        int r = 0;

        if (!h || !buf) {
                r = rp_err_set(err, -ENOMEM, "out of memory");
                goto out;
        }
        if (lseek(fd, 0, SEEK_SET) < 0) {
                r = rp_err_set(err, -errno, "payload is not seekable: %s", strerror(errno));
                goto out;
        }
        for (;;) {
                ssize_t n = img_fd_read(&fd, buf, IMG_IO_CHUNK);
                if (n < 0) {
                        r = rp_err_set(err, (int)n, "cannot read payload: %s", strerror((int)-n));
                        goto out;
                }
                if (n == 0)
                        break;
                len += (uint64_t)n;
                if (len > IMG_MAX_PAYLOAD) {
                        r = rp_err_set(err, -EFBIG, "payload is larger than the limit of %llu bytes",
                                       (unsigned long long)IMG_MAX_PAYLOAD);
                        goto out;
                }
                cr_sha256_update(h, buf, (size_t)n);
                if (out_fd >= 0 && (r = write_all(out_fd, buf, (size_t)n, err)) < 0)
                        goto out;
        }
        cr_sha256_final(h, sha);
        *ret_len = len;
out:
        cr_sha256_free(h);
        free(buf);
        return r;
}

int img_pack_payload(int payload_fd, const struct img_pack_opts *o, int out_fd,
                     struct img_meta *ret_meta, struct rp_err *err)
{
        struct img_header hdr;
        struct img_meta m;
        uint8_t sha[CR_SHA256_LEN], sha2[CR_SHA256_LEN];
        uint64_t len, len2;
        int r;

        r = img_opts_check(o, &hdr, &m, err);
        if (r < 0)
                return r;
        r = hash_copy(payload_fd, -1, &len, sha, err);
        if (r < 0)
                return r;
        set_payload(&hdr, &m, len, sha);
        r = img_write_head(out_fd, &hdr, &m, err);
        if (r < 0)
                return r;
        r = hash_copy(payload_fd, out_fd, &len2, sha2, err);
        if (r < 0)
                return r;
        if (len2 != len || memcmp(sha, sha2, CR_SHA256_LEN) != 0)
                return rp_err_set(err, -EAGAIN, "payload changed while it was being packed");
        if (ret_meta)
                *ret_meta = m;
        return 0;
}

/* ---- directory -> ustar ---- */

struct tar_out {
        int fd;                         /* -1: hash only */
        struct cr_sha256_ctx *h;
        uint64_t len;
        uint64_t n_entries, total;
        uint64_t mtime;
        uint8_t *buf;
        const char *root;               /* for messages */
};

static int out_write(struct tar_out *o, const void *p, size_t n, struct rp_err *err)
{
        cr_sha256_update(o->h, p, n);
        o->len += n;
        if (o->len > IMG_MAX_PAYLOAD)
                return rp_err_set(err, -EFBIG, "'%s' packs to more than %llu bytes", o->root,
                                  (unsigned long long)IMG_MAX_PAYLOAD);
        return o->fd >= 0 ? write_all(o->fd, p, n, err) : 0;
}

static int name_cmp(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **names, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(names[i]);
        free(names);
}

/* Sorted entry names of the directory open at dfd (dfd stays open). */
static int list_dir(struct tar_out *o, int dfd, const char *path, char ***ret, size_t *ret_n,
                    struct rp_err *err)
{
        int fd2 = dup(dfd);
        DIR *d;
        struct dirent *de;
        char **names = NULL;
        size_t n = 0, cap = 0;

        if (fd2 < 0)
                return rp_err_set(err, -errno, "cannot read directory: %s", strerror(errno));
        d = fdopendir(fd2);
        if (!d) {
                close(fd2);
                return rp_err_set(err, -errno, "cannot read directory: %s", strerror(errno));
        }
        rewinddir(d);
        while ((errno = 0, de = readdir(d))) {
                if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                        continue;
                if (o->n_entries + n >= img_extract_default_limits.max_files) {
                        closedir(d);
                        free_names(names, n);
                        return rp_err_set(err, -E2BIG, "'%s' has more than %u entries", o->root,
                                          img_extract_default_limits.max_files);
                }
                if (n == cap) {
                        size_t ncap = cap ? cap * 2 : 16;
                        char **nn = realloc(names, ncap * sizeof(*nn));
                        if (!nn)
                                goto oom;
                        names = nn;
                        cap = ncap;
                }
                names[n] = strdup(de->d_name);
                if (!names[n])
                        goto oom;
                n++;
        }
        if (errno) {
                int e = errno;
                closedir(d);
                free_names(names, n);
                return rp_err_set(err, -e, "cannot read directory '%s': %s", path, strerror(e));
        }
        closedir(d);
        if (n)
                qsort(names, n, sizeof(*names), name_cmp);
        *ret = names;
        *ret_n = n;
        return 0;
oom:
        closedir(d);
        free_names(names, n);
        return rp_err_set(err, -ENOMEM, "out of memory");
}

static int check_mode(const char *path, mode_t mode, struct rp_err *err)
{
        if (mode & S_ISUID)
                return rp_err_set(err, -EPERM, "'%s' has the setuid bit: not allowed in an image", path);
        if (mode & S_ISGID)
                return rp_err_set(err, -EPERM, "'%s' has the setgid bit: not allowed in an image", path);
        if (mode & S_ISVTX)
                return rp_err_set(err, -EPERM, "'%s' has the sticky bit: not allowed in an image", path);
        return 0;
}

static int put_header(struct tar_out *o, const char *path, enum img_tar_type t, mode_t mode,
                      uint64_t size, const char *link, struct rp_err *err)
{
        uint8_t block[IMG_TAR_BLOCK];
        int r = img_tar_header(block, path, t, (uint32_t)(mode & 0777), size, link, o->mtime);
        if (r == -ENAMETOOLONG)
                return rp_err_set(err, r, "'%s' cannot be stored in a ustar archive (name too long)",
                                  path);
        if (r < 0)
                return rp_err_set(err, r, "'%s' cannot be stored in a ustar archive", path);
        o->n_entries++;
        return out_write(o, block, sizeof(block), err);
}

static int pack_file(struct tar_out *o, int dfd, const char *name, const char *path,
                     const struct stat *st0, struct rp_err *err)
{
        int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        struct stat st;
        uint64_t left;
        int r;

        if (fd < 0)
                return rp_err_set(err, -errno, "cannot open '%s': %s", path, strerror(errno));
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_ino != st0->st_ino ||
            st.st_dev != st0->st_dev) {
                r = rp_err_set(err, -EAGAIN, "'%s' changed while it was being packed", path);
                goto out;
        }
        if (__builtin_add_overflow(o->total, (uint64_t)st.st_size, &o->total) ||
            o->total > img_extract_default_limits.max_total) {
                r = rp_err_set(err, -EFBIG, "files under '%s' exceed %llu bytes", o->root,
                               (unsigned long long)img_extract_default_limits.max_total);
                goto out;
        }
        r = put_header(o, path, IMG_TAR_FILE, st.st_mode, (uint64_t)st.st_size, NULL, err);
        if (r < 0)
                goto out;
        for (left = (uint64_t)st.st_size; left > 0;) {
                size_t want = left < IMG_IO_CHUNK ? (size_t)left : IMG_IO_CHUNK;
                ssize_t n = img_fd_read(&fd, o->buf, want);
                if (n < 0) {
                        r = rp_err_set(err, (int)n, "cannot read '%s': %s", path, strerror((int)-n));
                        goto out;
                }
                if (n == 0) {
                        r = rp_err_set(err, -EAGAIN, "'%s' shrank while it was being packed", path);
                        goto out;
                }
                if ((r = out_write(o, o->buf, (size_t)n, err)) < 0)
                        goto out;
                left -= (uint64_t)n;
        }
        if (img_fd_read(&fd, o->buf, 1) != 0) {
                r = rp_err_set(err, -EAGAIN, "'%s' grew while it was being packed", path);
                goto out;
        }
        if (st.st_size % IMG_TAR_BLOCK) {
                size_t pad = IMG_TAR_BLOCK - (size_t)(st.st_size % IMG_TAR_BLOCK);
                memset(o->buf, 0, pad);
                r = out_write(o, o->buf, pad, err);
        }
out:
        close(fd);
        return r;
}

static int pack_tree(struct tar_out *o, int dfd, const char *dir_path, struct rp_err *err)
{
        char **names = NULL;
        size_t n = 0;
        int r;

        r = list_dir(o, dfd, dir_path[0] ? dir_path : ".", &names, &n, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                char path[IMG_MAX_PATH + 2];
                struct stat st;
                unsigned depth;
                int len = dir_path[0] ? snprintf(path, sizeof(path), "%s/%s", dir_path, names[i])
                                      : snprintf(path, sizeof(path), "%s", names[i]);

                if (len < 0 || (size_t)len > IMG_MAX_PATH) {
                        r = rp_err_set(err, -ENAMETOOLONG, "path '%.60s...' is longer than %d bytes",
                                       path, IMG_MAX_PATH);
                        break;
                }
                r = img_tar_check_path(path, img_extract_default_limits.max_depth, &depth, err);
                if (r < 0)
                        break;
                if (fstatat(dfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        r = rp_err_set(err, -errno, "cannot stat '%s': %s", path, strerror(errno));
                        break;
                }
                if (S_ISDIR(st.st_mode)) {
                        int sub;
                        if ((r = check_mode(path, st.st_mode, err)) < 0 ||
                            (r = put_header(o, path, IMG_TAR_DIR, st.st_mode, 0, NULL, err)) < 0)
                                break;
                        sub = openat(dfd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (sub < 0) {
                                r = rp_err_set(err, -errno, "cannot open '%s': %s", path, strerror(errno));
                                break;
                        }
                        r = pack_tree(o, sub, path, err);
                        close(sub);
                        if (r < 0)
                                break;
                } else if (S_ISREG(st.st_mode)) {
                        if ((r = check_mode(path, st.st_mode, err)) < 0 ||
                            (r = pack_file(o, dfd, names[i], path, &st, err)) < 0)
                                break;
                } else if (S_ISLNK(st.st_mode)) {
                        char target[IMG_MAX_PATH + 2];
                        ssize_t tl = readlinkat(dfd, names[i], target, sizeof(target) - 1);
                        if (tl < 0) {
                                r = rp_err_set(err, -errno, "cannot read symlink '%s': %s", path,
                                               strerror(errno));
                                break;
                        }
                        target[tl] = '\0';
                        if ((r = img_tar_check_symlink(path, depth, target, err)) < 0 ||
                            (r = put_header(o, path, IMG_TAR_SYMLINK, 0777, 0, target, err)) < 0)
                                break;
                } else {
                        const char *what = S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? "a device node"
                                           : S_ISFIFO(st.st_mode)                     ? "a fifo"
                                           : S_ISSOCK(st.st_mode)                     ? "a socket"
                                                                                       : "a special file";
                        r = rp_err_set(err, -EPERM, "'%s' is %s: not allowed in an image", path, what);
                        break;
                }
        }
        free_names(names, n);
        return r;
}

/* One pass over the tree; fd = -1 only hashes. */
static int tar_pass(int root_fd, const char *root, int fd, uint64_t mtime, uint64_t *ret_len,
                    uint8_t sha[CR_SHA256_LEN], struct rp_err *err)
{
        struct tar_out o = {.fd = fd, .mtime = mtime, .root = root};
        int r;

        o.h = cr_sha256_new();
        o.buf = malloc(IMG_IO_CHUNK);
        if (!o.h || !o.buf) {
                r = rp_err_set(err, -ENOMEM, "out of memory");
                goto out;
        }
        r = pack_tree(&o, root_fd, "", err);
        if (r < 0)
                goto out;
        memset(o.buf, 0, 2 * IMG_TAR_BLOCK);
        r = out_write(&o, o.buf, 2 * IMG_TAR_BLOCK, err);
        if (r < 0)
                goto out;
        cr_sha256_final(o.h, sha);
        *ret_len = o.len;
out:
        cr_sha256_free(o.h);
        free(o.buf);
        return r;
}

int img_pack_dir(const char *dir, const struct img_pack_opts *o, int out_fd,
                 struct img_meta *ret_meta, struct rp_err *err)
{
        struct img_header hdr;
        struct img_meta m;
        uint8_t sha[CR_SHA256_LEN], sha2[CR_SHA256_LEN];
        uint64_t len, len2;
        int root, r;

        r = img_opts_check(o, &hdr, &m, err);
        if (r < 0)
                return r;
        root = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (root < 0)
                return rp_err_set(err, -errno, "cannot open directory '%s': %s", dir, strerror(errno));
        /* Two passes: the first sizes and hashes the archive so the header
         * can be written first; the second writes it and must hash the same,
         * so a tree that changes in between is refused, never half-packed. */
        r = tar_pass(root, dir, -1, hdr.created, &len, sha, err);
        if (r < 0)
                goto out;
        set_payload(&hdr, &m, len, sha);
        r = img_write_head(out_fd, &hdr, &m, err);
        if (r < 0)
                goto out;
        r = tar_pass(root, dir, out_fd, hdr.created, &len2, sha2, err);
        if (r < 0)
                goto out;
        if (len2 != len || memcmp(sha, sha2, CR_SHA256_LEN) != 0) {
                r = rp_err_set(err, -EAGAIN, "'%s' changed while it was being packed", dir);
                goto out;
        }
        if (ret_meta)
                *ret_meta = m;
out:
        close(root);
        return r;
}

/* ---- sign ---- */

static int sink_fd(void *ctx, const void *buf, size_t len, struct rp_err *err)
{
        return write_all(*(int *)ctx, buf, len, err);
}

int img_sign(int in_fd, int out_fd, const struct cr_key *key, struct img_meta *ret_meta,
             struct rp_err *err)
{
        struct img_scan *s = NULL;
        struct img_meta m;
        struct img_sig sig;
        uint8_t rec[IMG_SIG_REC_LEN], *der = NULL;
        size_t der_len = 0;
        char id[17];
        int r;

        if (!cr_key_is_private(key))
                return rp_err_set(err, -EINVAL, "signing needs a private key, got a public one");
        if (lseek(in_fd, 0, SEEK_SET) < 0)
                return rp_err_set(err, -errno, "image package is not seekable: %s", strerror(errno));
        r = cr_key_id(key, sig.key_id);
        if (r < 0)
                return rp_err_set(err, r, "cannot compute the signing key's id");
        img_key_id_short(sig.key_id, id);
        s = malloc(sizeof(*s));
        if (!s)
                return rp_err_set(err, -ENOMEM, "out of memory");
        r = img_scan(img_fd_read, &in_fd, sink_fd, &out_fd, s, err);
        if (r < 0)
                goto out;
        if (memcmp(s->payload_digest, s->hdr.payload_sha256, CR_SHA256_LEN) != 0) {
                r = rp_err_set(err, -EBADMSG,
                               "payload SHA-256 does not match the header: refusing to sign a corrupt package");
                goto out;
        }
        r = img_meta_decode(&s->hdr, s->metadata, s->metadata_len, &m, err);
        if (r < 0) {
                rp_err_prefix(err, "refusing to sign");
                goto out;
        }
        for (size_t i = 0; i < s->n_sigs; i++)
                if (!memcmp(s->sigs[i].key_id, sig.key_id, CR_KEY_ID_LEN)) {
                        r = rp_err_set(err, -EEXIST, "image package is already signed by key %s", id);
                        goto out;
                }
        if (s->n_sigs >= IMG_MAX_SIGNATURES) {
                r = rp_err_set(err, -E2BIG, "image package already has %d signatures, the limit",
                               IMG_MAX_SIGNATURES);
                goto out;
        }
        r = cr_sign_digest(key, s->image_digest, &der, &der_len, err);
        if (r < 0)
                goto out;
        r = cr_sig_der_to_raw(der, der_len, sig.sig);
        if (r < 0) {
                r = rp_err_set(err, r, "cannot convert the signature to r||s");
                goto out;
        }
        img_sig_encode(&sig, rec);
        r = write_all(out_fd, rec, sizeof(rec), err);
        if (r < 0)
                goto out;
        memcpy(m.image_digest, s->image_digest, CR_SHA256_LEN);
        memcpy(m.signer_key_id, sig.key_id, CR_KEY_ID_LEN);
        m.n_signatures = s->n_sigs + 1;
        if (ret_meta)
                *ret_meta = m;
out:
        free(der);
        free(s);
        return r;
}

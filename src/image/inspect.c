/* inspect.c - the metadata-level entry points: verification followed by
 * the strict metadata parse (img_verify, img_verify_fd), and the
 * unverified inspector behind `rampart image info`. Pure: reads only the
 * descriptor or callback it is given, never logs. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/image.h"
#include "image/internal.h"

int img_verify(img_read_fn rd, void *ctx, struct cr_key *const *trusted, size_t n_trusted,
               struct img_meta *ret, struct rp_err *err)
{
        struct img_verified *v = malloc(sizeof(*v));
        int r;

        if (!v)
                return rp_err_set(err, -ENOMEM, "out of memory");
        r = img_verify_signed(rd, ctx, trusted, n_trusted, v, err);
        if (r == 0)
                r = img_meta_parse(v, ret, err);
        free(v);
        return r;
}

int img_verify_fd(int fd, struct cr_key *const *trusted, size_t n_trusted, struct img_meta *ret,
                  struct rp_err *err)
{
        struct img_verified *v = malloc(sizeof(*v));
        int r;

        if (!v)
                return rp_err_set(err, -ENOMEM, "out of memory");
        r = img_verify_fd_signed(fd, trusted, n_trusted, v, err);
        if (r == 0)
                r = img_meta_parse(v, ret, err);
        free(v);
        return r;
}

int img_inspect_fd(int fd, struct img_info *ret, struct rp_err *err)
{
        struct img_info info;
        struct img_header hdr;
        struct stat st;
        uint8_t *meta = NULL, head[IMG_HEADER_LEN];
        uint64_t off;
        ssize_t n;
        int r;

        if (fstat(fd, &st) < 0)
                return rp_err_set(err, -errno, "cannot stat image package: %s", strerror(errno));
        if (!S_ISREG(st.st_mode))
                return rp_err_set(err, -EINVAL, "image package is not a regular file");
        r = img_check_sizes(fd, 0, (uint64_t)st.st_size, &hdr, err);
        if (r < 0)
                return r;
        memset(&info, 0, sizeof(info));
        meta = malloc(hdr.metadata_len);
        if (!meta)
                return rp_err_set(err, -ENOMEM, "out of memory");
        if (pread(fd, head, IMG_HEADER_LEN, 0) != IMG_HEADER_LEN ||
            pread(fd, meta, hdr.metadata_len, IMG_HEADER_LEN) != (ssize_t)hdr.metadata_len) {
                r = rp_err_set(err, -EIO, "cannot read image package");
                goto out;
        }
        r = img_meta_decode(&hdr, meta, hdr.metadata_len, &info.meta, err);
        if (r < 0)
                goto out;
        {
                struct cr_sha256_ctx *h = cr_sha256_new();
                if (!h) {
                        r = rp_err_set(err, -ENOMEM, "out of memory");
                        goto out;
                }
                cr_sha256_update(h, head, IMG_HEADER_LEN);
                cr_sha256_update(h, meta, hdr.metadata_len);
                cr_sha256_final(h, info.meta.image_digest);
                cr_sha256_free(h);
        }
        off = IMG_HEADER_LEN + (uint64_t)hdr.metadata_len + hdr.payload_len;
        info.n_signatures = (size_t)(((uint64_t)st.st_size - off) / IMG_SIG_REC_LEN);
        for (size_t i = 0; i < info.n_signatures; i++, off += IMG_SIG_REC_LEN) {
                uint8_t rec[IMG_SIG_REC_LEN];
                struct img_sig sig;
                n = pread(fd, rec, sizeof(rec), (off_t)off);
                if (n != IMG_SIG_REC_LEN) {
                        r = rp_err_set(err, -EIO, "cannot read signature record %zu", i + 1);
                        goto out;
                }
                r = img_sig_decode(rec, &sig, err);
                if (r < 0) {
                        rp_err_prefix(err, "signature record %zu", i + 1);
                        goto out;
                }
                memcpy(info.key_ids[i], sig.key_id, CR_KEY_ID_LEN);
        }
        info.meta.n_signatures = info.n_signatures;
        *ret = info;
        r = 0;
out:
        free(meta);
        return r;
}

/* verify.c - reading an image package: one streaming pass in constant
 * memory and the signatures checked against the caller's trusted keys.
 * No JSON here (the boot stage links only this and format.c); the metadata
 * is parsed afterwards by inspect.c/meta.c. Pure: reads through the
 * callback (or the descriptor) it is given, allocates bounded buffers,
 * never logs. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/image.h"
#include "image/internal.h"
#include "lib/encode.h"

ssize_t img_fd_read(void *ctx, void *buf, size_t len)
{
        int fd = *(int *)ctx;
        for (;;) {
                ssize_t n = read(fd, buf, len);
                if (n >= 0)
                        return n;
                if (errno != EINTR)
                        return -errno;
        }
}

ssize_t img_read_full(img_read_fn rd, void *ctx, void *buf, size_t len)
{
        size_t got = 0;
        while (got < len) {
                ssize_t n = rd(ctx, (uint8_t *)buf + got, len - got);
                if (n < 0)
                        return n;
                if (n == 0)
                        break;
                if ((size_t)n > len - got)
                        return -EIO;    /* a reader that overfills is broken */
                got += (size_t)n;
        }
        return (ssize_t)got;
}

static int read_err(ssize_t n, struct rp_err *err)
{
        return rp_err_set(err, (int)n, "cannot read image package: %s", strerror((int)-n));
}

int img_scan(img_read_fn rd, void *rctx, img_sink_fn sink, void *sctx, struct img_scan *s,
             struct rp_err *err)
{
        struct cr_sha256_ctx *h_image = NULL, *h_payload = NULL;
        uint8_t *chunk = NULL;
        uint64_t left, done = 0;
        ssize_t n;
        int r;

        /* the 16 KiB metadata buffer is written by the read below */
        memset(&s->hdr, 0, sizeof(s->hdr));
        s->metadata_len = 0;
        s->n_sigs = 0;
        n = img_read_full(rd, rctx, s->head, IMG_HEADER_LEN);
        if (n < 0)
                return read_err(n, err);
        if (n < IMG_HEADER_LEN)
                return rp_err_set(err, -EBADMSG,
                                  "image package truncated: %zd bytes, the header alone is %d", n,
                                  IMG_HEADER_LEN);
        r = img_header_decode(s->head, &s->hdr, err);
        if (r < 0)
                return r;
        s->metadata_len = s->hdr.metadata_len;
        n = img_read_full(rd, rctx, s->metadata, s->metadata_len);
        if (n < 0)
                return read_err(n, err);
        if ((size_t)n < s->metadata_len)
                return rp_err_set(err, -EBADMSG,
                                  "image package truncated in the metadata: %zd of %zu bytes", n,
                                  s->metadata_len);

        h_image = cr_sha256_new();
        h_payload = cr_sha256_new();
        chunk = malloc(IMG_IO_CHUNK);
        if (!h_image || !h_payload || !chunk) {
                r = rp_err_set(err, -ENOMEM, "out of memory reading image package");
                goto out;
        }
        cr_sha256_update(h_image, s->head, IMG_HEADER_LEN);
        cr_sha256_update(h_image, s->metadata, s->metadata_len);
        cr_sha256_final(h_image, s->image_digest);
        if (sink) {
                if ((r = sink(sctx, s->head, IMG_HEADER_LEN, err)) < 0 ||
                    (r = sink(sctx, s->metadata, s->metadata_len, err)) < 0)
                        goto out;
        }

        for (left = s->hdr.payload_len; left > 0;) {
                size_t want = left < IMG_IO_CHUNK ? (size_t)left : IMG_IO_CHUNK;
                n = img_read_full(rd, rctx, chunk, want);
                if (n < 0) {
                        r = read_err(n, err);
                        goto out;
                }
                if (n == 0) {
                        r = rp_err_set(err, -EBADMSG,
                                       "image package truncated in the payload: %llu of %llu bytes",
                                       (unsigned long long)done,
                                       (unsigned long long)s->hdr.payload_len);
                        goto out;
                }
                cr_sha256_update(h_payload, chunk, (size_t)n);
                if (sink && (r = sink(sctx, chunk, (size_t)n, err)) < 0)
                        goto out;
                left -= (uint64_t)n;
                done += (uint64_t)n;
        }
        cr_sha256_final(h_payload, s->payload_digest);

        for (;;) {
                uint8_t rec[IMG_SIG_REC_LEN];
                n = img_read_full(rd, rctx, rec, sizeof(rec));
                if (n < 0) {
                        r = read_err(n, err);
                        goto out;
                }
                if (n == 0)
                        break;
                if (s->n_sigs == IMG_MAX_SIGNATURES) {
                        r = rp_err_set(err, -EBADMSG,
                                       "image package has data after %d signature records (the limit)",
                                       IMG_MAX_SIGNATURES);
                        goto out;
                }
                if (n < IMG_SIG_REC_LEN) {
                        r = rp_err_set(err, -EBADMSG,
                                       "image package truncated in signature record %zu: %zd of %d bytes",
                                       s->n_sigs + 1, n, IMG_SIG_REC_LEN);
                        goto out;
                }
                r = img_sig_decode(rec, &s->sigs[s->n_sigs], err);
                if (r < 0) {
                        rp_err_prefix(err, "signature record %zu", s->n_sigs + 1);
                        goto out;
                }
                for (size_t i = 0; i < s->n_sigs; i++)
                        if (!memcmp(s->sigs[i].key_id, s->sigs[s->n_sigs].key_id, CR_KEY_ID_LEN)) {
                                char id[17];
                                img_key_id_short(s->sigs[i].key_id, id);
                                r = rp_err_set(err, -EBADMSG,
                                               "image package has two signatures by key %s", id);
                                goto out;
                        }
                if (sink && (r = sink(sctx, rec, sizeof(rec), err)) < 0)
                        goto out;
                s->n_sigs++;
        }
        r = 0;
out:
        cr_sha256_free(h_image);
        cr_sha256_free(h_payload);
        free(chunk);
        return r;
}

/* Verifies the records of `s` against `trusted`; sets *ret_signer. */
static int check_signatures(const struct img_scan *s, struct cr_key *const *trusted,
                            size_t n_trusted, uint8_t ret_signer[CR_KEY_ID_LEN],
                            struct rp_err *err)
{
        uint8_t (*ids)[CR_KEY_ID_LEN] = NULL;
        char untrusted[IMG_MAX_SIGNATURES * 18 + 1] = "";
        size_t n_ok = 0;
        int r;

        if (s->n_sigs == 0)
                return rp_err_set(err, -ENOKEY, "image package is not signed");
        if (n_trusted == 0)
                return rp_err_set(err, -ENOKEY, "no trusted keys given to verify the image package");
        ids = calloc(n_trusted, CR_KEY_ID_LEN);
        if (!ids)
                return rp_err_set(err, -ENOMEM, "out of memory");
        for (size_t k = 0; k < n_trusted; k++) {
                r = cr_key_id(trusted[k], ids[k]);
                if (r < 0) {
                        r = rp_err_set(err, r, "cannot compute the id of trusted key %zu", k + 1);
                        goto out;
                }
        }
        for (size_t i = 0; i < s->n_sigs; i++) {
                const struct img_sig *sig = &s->sigs[i];
                char id[17];
                size_t k;

                img_key_id_short(sig->key_id, id);
                for (k = 0; k < n_trusted; k++)
                        if (!memcmp(ids[k], sig->key_id, CR_KEY_ID_LEN))
                                break;
                if (k == n_trusted) {
                        if (untrusted[0])
                                strcat(untrusted, ", ");
                        strcat(untrusted, id);
                        continue;
                }
                uint8_t *der = NULL;
                size_t der_len = 0;
                r = cr_sig_raw_to_der(sig->sig, &der, &der_len);
                if (r < 0) {
                        r = rp_err_set(err, -EBADMSG,
                                       "signature by key %s is malformed (r or s out of range)", id);
                        goto out;
                }
                r = cr_verify_digest(trusted[k], s->image_digest, der, der_len, err);
                free(der);
                if (r < 0) {
                        r = rp_err_set(err, -EBADMSG,
                                       "signature by key %s does not verify over this image package",
                                       id);
                        goto out;
                }
                if (n_ok++ == 0)
                        memcpy(ret_signer, sig->key_id, CR_KEY_ID_LEN);
        }
        if (n_ok == 0) {
                r = rp_err_set(err, -ENOKEY,
                               "image package is signed only by unknown key id(s) %s, none of the %zu trusted key(s)",
                               untrusted, n_trusted);
                goto out;
        }
        r = 0;
out:
        free(ids);
        return r;
}

int img_scan_verdict(const struct img_scan *s, struct cr_key *const *trusted, size_t n_trusted,
                     struct img_verified *ret, struct rp_err *err)
{
        uint8_t signer[CR_KEY_ID_LEN];
        int r;

        r = check_signatures(s, trusted, n_trusted, signer, err);
        if (r < 0)
                return r;
        /* The header is authentic now; the payload must be what it names. */
        if (memcmp(s->payload_digest, s->hdr.payload_sha256, CR_SHA256_LEN) != 0)
                return rp_err_set(err, -EBADMSG,
                                  "payload SHA-256 does not match the signed header: the payload was modified");
        ret->hdr = s->hdr;
        memcpy(ret->image_digest, s->image_digest, CR_SHA256_LEN);
        memcpy(ret->signer_key_id, signer, CR_KEY_ID_LEN);
        ret->n_signatures = s->n_sigs;
        ret->metadata_len = s->metadata_len;
        memcpy(ret->metadata, s->metadata, s->metadata_len);
        return 0;
}

int img_verify_signed(img_read_fn rd, void *ctx, struct cr_key *const *trusted,
                      size_t n_trusted, struct img_verified *ret, struct rp_err *err)
{
        struct img_scan *s = malloc(sizeof(*s));
        int r;

        if (!s)
                return rp_err_set(err, -ENOMEM, "out of memory");
        r = img_scan(rd, ctx, NULL, NULL, s, err);
        if (r == 0)
                r = img_scan_verdict(s, trusted, n_trusted, ret, err);
        free(s);
        return r;
}

/* Checks the file's size against the header's lengths, so a wrong length
 * is reported as such. `base` is where the package starts. */
int img_check_sizes(int fd, off_t base, uint64_t size, struct img_header *ret_hdr,
                    struct rp_err *err)
{
        uint8_t head[IMG_HEADER_LEN];
        uint64_t signed_len, rest;
        ssize_t n;
        int r;

        if (size < IMG_HEADER_LEN)
                return rp_err_set(err, -EBADMSG,
                                  "image package truncated: %llu bytes, the header alone is %d",
                                  (unsigned long long)size, IMG_HEADER_LEN);
        n = pread(fd, head, sizeof(head), base);
        if (n < 0)
                return rp_err_set(err, -errno, "cannot read image package: %s", strerror(errno));
        if (n != IMG_HEADER_LEN)
                return rp_err_set(err, -EIO, "short read of the image header");
        r = img_header_decode(head, ret_hdr, err);
        if (r < 0)
                return r;
        /* no overflow: both lengths are capped far below 2^62 */
        signed_len = IMG_HEADER_LEN + (uint64_t)ret_hdr->metadata_len + ret_hdr->payload_len;
        if (size < signed_len)
                return rp_err_set(err, -EBADMSG,
                                  "image package truncated: the header claims %llu bytes of header, metadata and payload, the file has %llu",
                                  (unsigned long long)signed_len, (unsigned long long)size);
        rest = size - signed_len;
        if (rest % IMG_SIG_REC_LEN)
                return rp_err_set(err, -EBADMSG,
                                  "image package has %llu bytes after the payload: not a whole number of %d-byte signature records",
                                  (unsigned long long)rest, IMG_SIG_REC_LEN);
        if (rest / IMG_SIG_REC_LEN > IMG_MAX_SIGNATURES)
                return rp_err_set(err, -EBADMSG,
                                  "image package has %llu signature records, the limit is %d",
                                  (unsigned long long)(rest / IMG_SIG_REC_LEN), IMG_MAX_SIGNATURES);
        return 0;
}

int img_verify_fd_signed(int fd, struct cr_key *const *trusted, size_t n_trusted,
                         struct img_verified *ret, struct rp_err *err)
{
        struct stat st;
        int r;

        if (fstat(fd, &st) < 0)
                return rp_err_set(err, -errno, "cannot stat image package: %s", strerror(errno));
        if (S_ISREG(st.st_mode)) {
                struct img_header hdr;
                off_t base = lseek(fd, 0, SEEK_CUR);
                if (base < 0 || base > st.st_size)
                        return rp_err_set(err, -EINVAL, "image package descriptor has no valid offset");
                r = img_check_sizes(fd, base, (uint64_t)(st.st_size - base), &hdr, err);
                if (r < 0)
                        return r;
                (void)posix_fadvise(fd, base, 0, POSIX_FADV_SEQUENTIAL);
        }
        return img_verify_signed(img_fd_read, &fd, trusted, n_trusted, ret, err);
}

/* internal.h - pieces shared by the image module's files, and by its unit
 * tests and fuzz harness (which build hostile packages by hand). Not part
 * of the module's contract; see image.h for that. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "image/image.h"

/* 9999-12-31T23:59:59Z: the largest time RFC 3339 text can carry. */
#define IMG_MAX_CREATED 253402300799LL
/* Streaming chunk: big enough that syscalls vanish next to SHA-256,
 * small enough to stay in L2. */
#define IMG_IO_CHUNK (256 * 1024)

void img_put_le32(uint8_t *p, uint32_t v);
void img_put_le64(uint8_t *p, uint64_t v);
uint32_t img_get_le32(const uint8_t *p);
uint64_t img_get_le64(const uint8_t *p);
/* First 8 bytes of a key id as 16 hex digits (for messages). */
void img_key_id_short(const uint8_t id[CR_KEY_ID_LEN], char out[17]);

/* Checks pack options; fills the header (except payload fields) and `m`. */
int img_opts_check(const struct img_pack_opts *o, struct img_header *ret_hdr,
                   struct img_meta *ret_meta, struct rp_err *err) RP_WUR;
/* Canonical metadata JSON for `m` (compact, sorted keys). *ret is malloc'd,
 * NUL-terminated; -EFBIG over IMG_MAX_METADATA. */
int img_meta_encode(const struct img_meta *m, char **ret, size_t *ret_len,
                    struct rp_err *err) RP_WUR;
/* Strict parse of metadata bytes, cross-checked against `hdr`. */
int img_meta_decode(const struct img_header *hdr, const uint8_t *json, size_t len,
                    struct img_meta *ret, struct rp_err *err) RP_WUR;

/* Encodes the metadata of `m`, sets hdr->metadata_len and writes header +
 * metadata to `fd` (hdr's payload fields must already be set). */
int img_write_head(int fd, struct img_header *hdr, const struct img_meta *m,
                   struct rp_err *err) RP_WUR;

/* ---- ustar (tar.c) ---- */
#define IMG_TAR_BLOCK 512

enum img_tar_type {
        IMG_TAR_FILE = '0',
        IMG_TAR_DIR = '5',
        IMG_TAR_SYMLINK = '2',
};

struct img_tar_entry {
        char path[IMG_MAX_PATH + 1];    /* relative, canonical, no trailing '/' */
        enum img_tar_type type;
        uint32_t mode;                  /* permission bits only (0777) */
        uint64_t size;                  /* regular files; 0 otherwise */
        char link[IMG_MAX_PATH + 1];    /* symlink target */
        unsigned depth;                 /* number of path components */
};

/* Callbacks of the streaming reader; any negative return stops the walk. */
struct img_tar_ops {
        int (*entry)(void *ctx, const struct img_tar_entry *e, struct rp_err *err);
        int (*data)(void *ctx, const void *buf, size_t len, struct rp_err *err);
        int (*file_end)(void *ctx, struct rp_err *err);
};

/* Reads exactly `len` bytes of ustar archive from rd and checks everything
 * the extraction rules in image.h list that can be decided from the archive
 * alone (file system checks -- duplicates, writing through symlinks -- are
 * the extractor's). ops may be NULL (validation only). Pure. */
int img_tar_walk(img_read_fn rd, void *rctx, uint64_t len, const struct img_extract_limits *lim,
                 const struct img_tar_ops *ops, void *octx, struct rp_err *err) RP_WUR;

/* Path and symlink rules shared by the packer and the reader. */
int img_tar_check_path(const char *path, uint32_t max_depth, unsigned *ret_depth,
                       struct rp_err *err) RP_WUR;
/* A symlink at `path` (depth components) pointing to `target` must stay
 * inside the root: relative, leading ".." only, no more of them than the
 * link's directory is deep, no "." or empty components. */
int img_tar_check_symlink(const char *path, unsigned depth, const char *target,
                          struct rp_err *err) RP_WUR;

/* Encodes one ustar header block. -ENAMETOOLONG if the path cannot be split
 * into ustar's prefix/name. */
int img_tar_header(uint8_t out[IMG_TAR_BLOCK], const char *path, enum img_tar_type type,
                   uint32_t mode, uint64_t size, const char *link, uint64_t mtime) RP_WUR;

/* ---- one streaming pass over a package (verify.c) ---- */
struct img_scan {
        struct img_header hdr;
        uint8_t head[IMG_HEADER_LEN];
        size_t metadata_len;
        uint8_t metadata[IMG_MAX_METADATA];
        uint8_t image_digest[CR_SHA256_LEN];    /* SHA-256(header || metadata) */
        uint8_t payload_digest[CR_SHA256_LEN];  /* SHA-256 of the payload as read */
        size_t n_sigs;
        struct img_sig sigs[IMG_MAX_SIGNATURES];
};
/* Receives every byte the scan reads, in order (sign copies through it). */
typedef int (*img_sink_fn)(void *ctx, const void *buf, size_t len, struct rp_err *err);

/* Reads a whole package from rd: decodes the header, buffers the metadata,
 * hashes header||metadata and, separately, the payload; decodes up to
 * IMG_MAX_SIGNATURES records until end of input. Checks structure only:
 * no signature is verified, the payload digest is not compared, the
 * metadata is not parsed. */
int img_scan(img_read_fn rd, void *rctx, img_sink_fn sink, void *sctx, struct img_scan *s,
             struct rp_err *err) RP_WUR;
/* The verdict on a finished scan: a trusted signature that verifies over
 * the image digest, every trusted record verifying, the payload digest
 * equal to the header's. Fills ret only on success. */
int img_scan_verdict(const struct img_scan *s, struct cr_key *const *trusted, size_t n_trusted,
                     struct img_verified *ret, struct rp_err *err) RP_WUR;
/* Reads up to len bytes (fewer only at end of input); returns the count or
 * a negative errno. */
ssize_t img_read_full(img_read_fn rd, void *ctx, void *buf, size_t len);
/* img_verify_fd without the JSON step (extract needs the header). */
int img_verify_fd_signed(int fd, struct cr_key *const *trusted, size_t n_trusted,
                         struct img_verified *ret, struct rp_err *err) RP_WUR;
/* Checks a regular file's size (from `base`) against the header's
 * lengths and the record trailer; decodes the header into ret_hdr. */
int img_check_sizes(int fd, off_t base, uint64_t size, struct img_header *ret_hdr,
                    struct rp_err *err) RP_WUR;

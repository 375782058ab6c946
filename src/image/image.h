/* image.h - Rampart image packages: pack, sign, verify, inspect, extract.
 *
 * An image package is how every OS and app reaches a device. Layout (all
 * integers little-endian; docs/image-format.md is the full specification):
 *
 *   header      IMG_HEADER_LEN bytes, fixed layout (struct img_header)
 *   metadata    header.metadata_len bytes of JSON (struct img_meta)
 *   payload     header.payload_len bytes: a ustar archive of the image's files
 *   signatures  0..IMG_MAX_SIGNATURES records of IMG_SIG_REC_LEN bytes each
 *
 * What is signed: each signature is ECDSA P-256 over SHA-256(header ||
 * metadata) -- the "image digest". The header carries the payload's length
 * and SHA-256, so the image digest binds every payload byte. Signatures are
 * not covered by the digest, which is what lets `sign` append one more
 * without changing the image's identity.
 *
 * What is trusted: nothing. Verification reads the file once, front to back,
 * in constant memory: the header is checked against the named limits (not
 * parsed further), the metadata bytes are buffered (bounded) and hashed, the
 * payload is streamed through SHA-256, and only at the end -- after a
 * signature by a trusted key has verified over the image digest and the
 * payload hash has matched the header -- are the metadata bytes parsed as
 * JSON and cross-checked against the header. A result is returned only on
 * success; ret_* is untouched on any failure.
 *
 * Purity: the verify, inspect and tar-parsing paths do no I/O of their own
 * beyond reading the descriptor or callback they are given, and never log.
 * pack and extract necessarily touch the file system (openat-family calls,
 * relative to directory descriptors). OpenSSL is reached only through
 * src/crypto/crypto.h.
 *
 * Errors: 0 or negative errno; `err` names what was wrong and the value. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "crypto/crypto.h"
#include "lib/err.h"

/* ---- format constants ---- */
#define IMG_MAGIC "\x89RPIMG\r\n"       /* 8 bytes, no NUL counted */
#define IMG_MAGIC_LEN 8
#define IMG_FORMAT_VERSION 1
#define IMG_HEADER_LEN 128
#define IMG_SIG_MAGIC "RSIG"
#define IMG_SIG_MAGIC_LEN 4
#define IMG_SIG_ALG_ECDSA_P256_SHA256 1
#define IMG_SIG_REC_LEN 104             /* magic 4, alg 2, reserved 2, key id 32, r||s 64 */

/* ---- named limits (every size a file controls is capped) ---- */
#define IMG_MAX_METADATA (16 * 1024)
#define IMG_MAX_PAYLOAD (16ULL * 1024 * 1024 * 1024)     /* 16 GiB */
#define IMG_MAX_SIGNATURES 8
#define IMG_MAX_NAME 64
#define IMG_MAX_VERSION 64
#define IMG_MAX_HW_COMPAT 16
#define IMG_MAX_HW_ID 64
#define IMG_UUID_STR_LEN 36             /* 8-4-4-4-12, lowercase hex */
/* Extraction defaults (struct img_extract_limits). */
#define IMG_MAX_FILES 10000             /* entries of any type */
#define IMG_MAX_DEPTH 16                /* path components */
#define IMG_MAX_PATH 255                /* bytes of one entry's path */
#define IMG_MAX_EXTRACT_SIZE IMG_MAX_PAYLOAD    /* sum of regular file sizes */

/* Header flags: none defined in format version 1; any set bit is refused. */
#define IMG_FLAGS_KNOWN 0u

enum img_type {
        IMG_TYPE_OS = 1,
        IMG_TYPE_APP = 2,
};
/* "os" / "app", or NULL for an unknown value. */
const char *img_type_name(enum img_type t);
/* 0 and *ret set for "os"/"app"; -EINVAL otherwise. */
int img_type_parse(const char *s, enum img_type *ret) RP_WUR;

/* The fixed header, decoded. Field order in the file (offsets):
 *   0 magic[8]  8 format_version u32  12 header_len u32  16 metadata_len u32
 *  20 flags u32  24 payload_len u64  32 payload_sha256[32]  64 component_id[16]
 *  80 svn u32  84 type u8  85 reserved[3]=0  88 created u64  96 reserved[32]=0 */
struct img_header {
        uint32_t format_version;
        uint32_t header_len;
        uint32_t metadata_len;
        uint32_t flags;
        uint64_t payload_len;
        uint8_t payload_sha256[CR_SHA256_LEN];
        uint8_t component_id[16];       /* binary UUID */
        uint32_t svn;
        uint8_t type;                   /* enum img_type */
        uint64_t created;               /* Unix seconds, UTC */
};

void img_header_encode(const struct img_header *h, uint8_t out[IMG_HEADER_LEN]);
/* Checks magic, version, header length, flags, reserved bytes, type and
 * every length against the named limits. Decodes; trusts nothing else. */
int img_header_decode(const uint8_t raw[IMG_HEADER_LEN], struct img_header *ret,
                      struct rp_err *err) RP_WUR;

/* One signature record. */
struct img_sig {
        uint8_t key_id[CR_KEY_ID_LEN];  /* SHA-256 of the signer's SPKI (cr_key_id) */
        uint8_t sig[CR_SIG_RAW_LEN];    /* ECDSA r||s over the image digest */
};
void img_sig_encode(const struct img_sig *s, uint8_t out[IMG_SIG_REC_LEN]);
int img_sig_decode(const uint8_t raw[IMG_SIG_REC_LEN], struct img_sig *ret,
                   struct rp_err *err) RP_WUR;

/* Parsed metadata. Plain fixed-size fields: no pointers, nothing to free. */
struct img_meta {
        char component_id[IMG_UUID_STR_LEN + 1];
        char name[IMG_MAX_NAME + 1];
        enum img_type type;
        char version[IMG_MAX_VERSION + 1];
        uint32_t svn;
        uint64_t payload_len;
        uint8_t payload_sha256[CR_SHA256_LEN];
        size_t n_hw_compat;
        char hw_compat[IMG_MAX_HW_COMPAT][IMG_MAX_HW_ID + 1];
        int64_t created;                /* Unix seconds, UTC */
        /* Filled by verify (and inspect): */
        uint8_t image_digest[CR_SHA256_LEN];    /* SHA-256(header || metadata) */
        uint8_t signer_key_id[CR_KEY_ID_LEN];   /* verify: the trusted key that verified */
        size_t n_signatures;                    /* records present in the file */
};

/* ---- reading ---- */
/* A read callback: returns bytes read (> 0), 0 at end of input, or a
 * negative errno. May return fewer bytes than asked. */
typedef ssize_t (*img_read_fn)(void *ctx, void *buf, size_t len);
/* Ready-made callback reading from a descriptor; ctx points to an int fd. */
ssize_t img_fd_read(void *ctx, void *buf, size_t len);

/* ---- pack (unsigned) ---- */
struct img_pack_opts {
        const char *component_id;       /* UUID text, any case; stored lowercase */
        const char *name;               /* 1..IMG_MAX_NAME of [A-Za-z0-9._-] */
        enum img_type type;
        const char *version;            /* 1..IMG_MAX_VERSION of [A-Za-z0-9.+~_-] */
        uint32_t svn;
        const char *const *hw_compat;   /* 0..IMG_MAX_HW_COMPAT ids, [A-Za-z0-9._:-] */
        size_t n_hw_compat;
        int64_t created;                /* Unix seconds; the caller picks (now, SOURCE_DATE_EPOCH) */
};

/* Writes an unsigned package to out_fd (written sequentially from its
 * current position) whose payload is a ustar archive of `dir`: regular
 * files, directories and relative symlinks that stay inside `dir`, in sorted
 * order, owner 0:0, permission bits only, mtime = created. Anything else
 * (device nodes, fifos, sockets, setuid/setgid, escaping symlinks, over the
 * extraction limits) is refused, so every package pack makes extracts.
 * ret_meta (may be NULL) gets the metadata written. */
int img_pack_dir(const char *dir, const struct img_pack_opts *o, int out_fd,
                 struct img_meta *ret_meta, struct rp_err *err) RP_WUR;
/* Same, with a ready payload read from payload_fd (seekable, read from
 * offset 0 to EOF, twice: hash then copy; a change in between is refused).
 * The payload is not inspected: this is how tests build hostile archives. */
int img_pack_payload(int payload_fd, const struct img_pack_opts *o, int out_fd,
                     struct img_meta *ret_meta, struct rp_err *err) RP_WUR;

/* ---- sign ---- */
/* Reads the package from in_fd (offset 0) and writes it to out_fd with one
 * more signature by `key` appended. Before signing it checks the structure,
 * the metadata and that the payload matches the header's SHA-256 (a signer
 * vouches for what it signs). Refused: a second signature by the same key,
 * more than IMG_MAX_SIGNATURES. Callers make the replacement atomic. */
int img_sign(int in_fd, int out_fd, const struct cr_key *key, struct img_meta *ret_meta,
             struct rp_err *err) RP_WUR;

/* ---- verify ---- */
/* The verified bytes without JSON parsing (for the boot stage: no JSON on
 * its verify path). Everything here is covered by a trusted signature. */
struct img_verified {
        struct img_header hdr;
        uint8_t image_digest[CR_SHA256_LEN];
        uint8_t signer_key_id[CR_KEY_ID_LEN];
        size_t n_signatures;
        size_t metadata_len;
        uint8_t metadata[IMG_MAX_METADATA];
};

/* Streams the package from `rd` once, in constant memory. Succeeds only if
 * at least one signature record is by a key in `trusted` and every record by
 * a trusted key verifies; records by other keys are skipped (a package may
 * carry signatures for several audiences) but must be well-formed. Refused,
 * each with its own message: bad magic / unknown format version / unknown
 * flags / lengths over limits, truncation anywhere, trailing bytes that are
 * not whole signature records, no signatures, only untrusted key ids, a
 * signature that does not verify, a payload whose SHA-256 differs from the
 * header's. */
int img_verify_signed(img_read_fn rd, void *ctx, struct cr_key *const *trusted,
                      size_t n_trusted, struct img_verified *ret, struct rp_err *err) RP_WUR;
/* Parses verified metadata (strict: known fields only, no duplicates, every
 * value checked) and cross-checks it against the header. */
int img_meta_parse(const struct img_verified *v, struct img_meta *ret,
                   struct rp_err *err) RP_WUR;
/* img_verify_signed + img_meta_parse. */
int img_verify(img_read_fn rd, void *ctx, struct cr_key *const *trusted, size_t n_trusted,
               struct img_meta *ret, struct rp_err *err) RP_WUR;
/* From a descriptor (read from its current offset). When fd is a regular
 * file its size is checked against the header's lengths first, so a wrong
 * length is named as such rather than as truncation. */
int img_verify_fd(int fd, struct cr_key *const *trusted, size_t n_trusted,
                  struct img_meta *ret, struct rp_err *err) RP_WUR;

/* ---- verify as the bytes arrive (push) ---- */
/* The same verification as img_verify, fed by the caller (e.g. a download)
 * in pieces of any size, in constant memory (the bounded metadata buffer,
 * two hash states, the signature records). A structural fault (header,
 * extra or malformed signature record, two by one key) is reported by the
 * update that brings it and sticks: later updates and final return it
 * again. img_stream_final then gives, for the same bytes, exactly the verdict,
 * error code and message of img_verify, and *ret only on success. */
struct img_stream;
struct img_stream *img_stream_new(void);
void img_stream_free(struct img_stream *s);
/* Back to the state of a fresh stream (a download that starts over). */
void img_stream_reset(struct img_stream *s);
int img_stream_update(struct img_stream *s, const void *buf, size_t len,
                      struct rp_err *err) RP_WUR;
/* Bytes fed so far. */
uint64_t img_stream_fed(const struct img_stream *s);
int img_stream_final(struct img_stream *s, struct cr_key *const *trusted, size_t n_trusted,
                     struct img_meta *ret, struct rp_err *err) RP_WUR;

/* ---- inspect (UNVERIFIED) ---- */
struct img_info {
        struct img_meta meta;           /* parsed from unverified bytes */
        size_t n_signatures;
        uint8_t key_ids[IMG_MAX_SIGNATURES][CR_KEY_ID_LEN];
};
/* Reads header, metadata and signature records of a regular file with
 * pread (the payload is not read or hashed). Structural checks and the same
 * strict metadata parser as verify apply, but NOTHING is authenticated: show
 * it as unverified, never act on it. */
int img_inspect_fd(int fd, struct img_info *ret, struct rp_err *err) RP_WUR;

/* ---- extract ---- */
struct img_extract_limits {
        uint32_t max_files;
        uint32_t max_depth;
        uint64_t max_total;
};
/* IMG_MAX_FILES, IMG_MAX_DEPTH, IMG_MAX_EXTRACT_SIZE. */
extern const struct img_extract_limits img_extract_default_limits;

/* Verifies the package on `fd` (a regular file, from offset 0) as
 * img_verify_fd does, then extracts the payload from the same descriptor
 * into a fresh temporary directory next to `dest`, hashing the payload again
 * as it is read; only if that hash equals the verified one is the directory
 * renamed to `dest` (which must not exist) in one atomic step. On any
 * failure the temporary directory is removed and nothing is left behind.
 * Refused entries: absolute paths, "..", empty or "." components, paths
 * over IMG_MAX_PATH or deeper than max_depth, symlinks that are absolute or
 * resolve outside the root, anything written through a symlink, hard links,
 * device nodes, fifos, any other type, setuid/setgid/sticky bits, duplicate
 * paths, more than max_files entries, more than max_total bytes. limits may
 * be NULL (defaults). */
int img_extract_fd(int fd, struct cr_key *const *trusted, size_t n_trusted, const char *dest,
                   const struct img_extract_limits *limits, struct img_meta *ret_meta,
                   struct rp_err *err) RP_WUR;

/* ---- helpers ---- */
/* Canonical lowercase UUID text <-> 16 bytes. Parse accepts either case. */
int img_uuid_parse(const char *s, uint8_t out[16]) RP_WUR;
void img_uuid_format(const uint8_t in[16], char out[IMG_UUID_STR_LEN + 1]);

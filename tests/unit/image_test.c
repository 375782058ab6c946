/* image_test.c - unit tests for src/image: the package format as attacks.
 *
 * Packages are built by the real packer and signer, or -- for the hostile
 * cases -- by hand from the format's building blocks (header encoder, tar
 * header encoder, a signature over exactly the crafted bytes), so a bad
 * package carries a genuine signature and can only be refused for the
 * reason under test. Keys come from fixed seeds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "image/image.h"
#include "image/internal.h"
#include "lib/buf.h"
#include "lib/encode.h"
#include "lib/err.h"
#include "lib/fileio.h"

static const char *const UUID = "6f1c1a2e-4b7d-4f0a-9c3e-2d5b8a7e9f01";

static char tmpdir[256];
static struct cr_key *k1, *k2;

static int setup(void **state)
{
        static const uint8_t s1[32] = "image test key one ............", s2[32] = "image test key two ............";
        (void)state;
        snprintf(tmpdir, sizeof(tmpdir), "/tmp/rp-image-test-XXXXXX");
        if (!mkdtemp(tmpdir))
                return -1;
        if (!k1 && cr_key_from_seed(s1, &k1, NULL) < 0)
                return -1;
        if (!k2 && cr_key_from_seed(s2, &k2, NULL) < 0)
                return -1;
        return 0;
}

static int teardown(void **state)
{
        (void)state;
        return rp_rm_rf(tmpdir) < 0 ? -1 : 0;
}

static char *tpath(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *tpath(const char *fmt, ...)
{
        static char bufs[8][1024];
        static int i;
        char rel[400];
        va_list ap;
        char *out = bufs[i++ % 8];

        va_start(ap, fmt);
        vsnprintf(rel, sizeof(rel), fmt, ap);
        va_end(ap);
        snprintf(out, 1024, "%s/%s", tmpdir, rel);
        return out;
}

static void write_file(const char *path, const char *content, mode_t mode)
{
        struct rp_err err;
        assert_int_equal(rp_write_file_atomic(path, content, strlen(content), mode, &err), 0);
        assert_int_equal(chmod(path, mode), 0);
}

static struct img_pack_opts default_opts(void)
{
        static const char *const hw[] = {"rampart-emu-x86_64", "board:rev2"};
        return (struct img_pack_opts){
                .component_id = UUID,
                .name = "hello",
                .type = IMG_TYPE_APP,
                .version = "1.2.3",
                .svn = 7,
                .hw_compat = hw,
                .n_hw_compat = 2,
                .created = 1764000000,
        };
}

/* Bytes of a whole file. */
static uint8_t *slurp(const char *path, size_t *ret_len)
{
        uint8_t *d;
        struct rp_err err;
        assert_int_equal(rp_read_file(path, 1 << 30, &d, ret_len, &err), 0);
        return d;
}

static int mem_fd(const void *data, size_t len)
{
        int fd = memfd_create("pkg", MFD_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(rp_write_all(fd, data, len), 0);
        assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
        return fd;
}

struct mem {
        const uint8_t *p;
        size_t left;
};

static ssize_t mem_read(void *ctx, void *buf, size_t len)
{
        struct mem *m = ctx;
        /* hand out odd-sized pieces to exercise short reads */
        if (len > 1000)
                len = 1000;
        if (len > m->left)
                len = m->left;
        memcpy(buf, m->p, len);
        m->p += len;
        m->left -= len;
        return (ssize_t)len;
}

/* Signs the package at `in` with `key` into `out`. */
static int sign_file(const char *in, const char *out, const struct cr_key *key, struct rp_err *err)
{
        int ifd = open(in, O_RDONLY | O_CLOEXEC);
        int ofd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        int r;
        assert_true(ifd >= 0 && ofd >= 0);
        r = img_sign(ifd, ofd, key, NULL, err);
        close(ifd);
        close(ofd);
        return r;
}

/* A small tree: files, a subdirectory, an executable, a symlink. */
static void make_tree(const char *dir)
{
        char p[600];
        assert_int_equal(mkdir(dir, 0755), 0);
        snprintf(p, sizeof(p), "%s/bin", dir);
        assert_int_equal(mkdir(p, 0755), 0);
        snprintf(p, sizeof(p), "%s/bin/hello", dir);
        write_file(p, "#!/bin/sh\necho hello\n", 0755);
        snprintf(p, sizeof(p), "%s/app_manifest.json", dir);
        write_file(p, "{\"Name\":\"hello\"}\n", 0644);
        snprintf(p, sizeof(p), "%s/bin/run", dir);
        assert_int_equal(symlink("hello", p), 0);
}

/* Packs make_tree() (or, small, one file) and signs with k1: returns the
 * signed path. */
static char *make_signed_tree(const char *tag, bool small)
{
        struct img_pack_opts o = default_opts();
        struct rp_err err = {0};
        char *src = strdup(tpath("%s-src", tag)), *unsigned_p = strdup(tpath("%s.unsigned", tag));
        char *signed_p = strdup(tpath("%s.rpi", tag));
        int fd;

        if (small) {
                char p[1100];
                assert_int_equal(mkdir(src, 0755), 0);
                snprintf(p, sizeof(p), "%s/f", src);
                write_file(p, "tiny\n", 0644);
                o.n_hw_compat = 0;
        } else {
                make_tree(src);
        }
        fd = open(unsigned_p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(img_pack_dir(src, &o, fd, NULL, &err), 0);
        close(fd);
        if (sign_file(unsigned_p, signed_p, k1, &err) < 0)
                fail_msg("sign: %s", err.msg);
        free(src);
        free(unsigned_p);
        return signed_p;
}

static char *make_signed(const char *tag)
{
        return make_signed_tree(tag, false);
}

/* ---- hand-built packages ---- */

/* Header for a payload with consistent metadata (from default_opts). */
static void craft_header(struct img_header *h, const void *payload, size_t plen)
{
        memset(h, 0, sizeof(*h));
        h->format_version = IMG_FORMAT_VERSION;
        h->header_len = IMG_HEADER_LEN;
        h->payload_len = plen;
        cr_sha256(payload, plen, h->payload_sha256);
        assert_int_equal(img_uuid_parse(UUID, h->component_id), 0);
        h->svn = 7;
        h->type = IMG_TYPE_APP;
        h->created = 1764000000;
}

static char *craft_json(const struct img_header *h)
{
        char sha[65], *s;
        rp_hex_encode(h->payload_sha256, 32, sha);
        assert_true(asprintf(&s,
                             "{\"component_id\":\"%s\",\"created\":\"2025-11-24T16:00:00Z\",\"hw_compat\":[],"
                             "\"name\":\"hello\",\"payload\":{\"length\":%llu,\"sha256\":\"%s\"},"
                             "\"svn\":%u,\"type\":\"app\",\"version\":\"1.0\"}",
                             UUID, (unsigned long long)h->payload_len, sha, h->svn) > 0);
        return s;
}

/* header || json || payload || one signature by `key` (if any) over
 * exactly those header and json bytes. */
static void craft(struct rp_buf *out, struct img_header *h, const char *json, const void *payload,
                  size_t plen, const struct cr_key *key)
{
        uint8_t head[IMG_HEADER_LEN], digest[32];
        struct cr_sha256_ctx *c;

        h->metadata_len = (uint32_t)strlen(json);
        img_header_encode(h, head);
        assert_int_equal(rp_buf_append(out, head, sizeof(head)), 0);
        assert_int_equal(rp_buf_append(out, json, strlen(json)), 0);
        assert_int_equal(rp_buf_append(out, payload, plen), 0);
        if (!key)
                return;
        c = cr_sha256_new();
        cr_sha256_update(c, head, sizeof(head));
        cr_sha256_update(c, json, strlen(json));
        cr_sha256_final(c, digest);
        cr_sha256_free(c);
        {
                struct img_sig sig;
                uint8_t rec[IMG_SIG_REC_LEN], *der;
                size_t der_len;
                assert_int_equal(cr_key_id(key, sig.key_id), 0);
                assert_int_equal(cr_sign_digest(key, digest, &der, &der_len, NULL), 0);
                assert_int_equal(cr_sig_der_to_raw(der, der_len, sig.sig), 0);
                free(der);
                img_sig_encode(&sig, rec);
                assert_int_equal(rp_buf_append(out, rec, sizeof(rec)), 0);
        }
}

/* Pushes d into the incremental verifier in pieces of `piece` bytes (0:
 * all at once) and must get img_verify's verdict: the same code, the same
 * message, the same metadata on success and no output on failure. A fault
 * reported by an update must stick and be the final verdict. */
static void stream_agrees(const uint8_t *d, size_t len, size_t piece, struct cr_key *const *keys,
                          size_t n, int want, const struct rp_err *want_err,
                          const struct img_meta *want_meta)
{
        struct img_stream *s = img_stream_new();
        struct img_meta meta, sentinel;
        struct rp_err e = {0}, eu = {0};
        int r = 0, ru = 0;

        assert_non_null(s);
        memset(&sentinel, 0xa5, sizeof(sentinel));
        meta = sentinel;
        for (size_t off = 0; off < len && ru == 0;) {
                size_t k = piece && piece < len - off ? piece : len - off;
                ru = img_stream_update(s, d + off, k, &eu);
                off += k;
        }
        if (ru == 0)
                assert_int_equal(img_stream_fed(s), len);
        r = img_stream_final(s, keys, n, &meta, &e);
        if (ru < 0) {
                assert_int_equal(ru, r);
                assert_string_equal(eu.msg, e.msg);
                assert_int_equal(img_stream_update(s, d, len ? 1 : 0, &eu), len ? r : 0);
        }
        if (r != want || (r < 0 && strcmp(e.msg, want_err->msg)))
                fail_msg("pushed in pieces of %zu: '%s' (%d), img_verify: '%s' (%d)", piece,
                         r < 0 ? e.msg : "ok", r, want < 0 ? want_err->msg : "ok", want);
        if (r == 0)
                assert_memory_equal(&meta, want_meta, sizeof(meta));
        else
                assert_memory_equal(&meta, &sentinel, sizeof(meta));
        /* reset gives a fresh stream */
        img_stream_reset(s);
        ru = len ? img_stream_update(s, d, len, &eu) : 0;
        r = img_stream_final(s, keys, n, &meta, &e);
        assert_int_equal(ru < 0 ? ru : r, want);
        img_stream_free(s);
}

/* Verifies a byte buffer four ways (stream callback, pushed in pieces, fd,
 * extract); all must agree. Returns the code; err gets the stream's message. */
static int verify_bytes(const uint8_t *d, size_t len, struct cr_key *const *keys, size_t n,
                        struct rp_err *err)
{
        struct img_meta meta, sentinel;
        struct rp_err e2, e3;
        struct mem m = {d, len};
        int r1, r2, r3, fd;
        char *dest = tpath("verify-out");

        memset(&sentinel, 0xa5, sizeof(sentinel));
        meta = sentinel;
        r1 = img_verify(mem_read, &m, keys, n, &meta, err);
        if (r1 < 0)
                assert_memory_equal(&meta, &sentinel, sizeof(meta));   /* no partial output */
        {
                static const size_t pieces[] = {0, 1, 61, IMG_HEADER_LEN + 1};
                struct img_meta want = meta;
                for (size_t i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++)
                        stream_agrees(d, len, pieces[i], keys, n, r1, err, &want);
        }
        fd = mem_fd(d, len);
        meta = sentinel;
        r2 = img_verify_fd(fd, keys, n, &meta, &e2);
        if (r2 < 0)
                assert_memory_equal(&meta, &sentinel, sizeof(meta));
        if ((r1 < 0) != (r2 < 0))
                fail_msg("stream and fd verification disagree: '%s' vs '%s'", r1 < 0 ? err->msg : "ok",
                         r2 < 0 ? e2.msg : "ok");
        if (r1 < 0) {
                struct stat st;
                r3 = img_extract_fd(fd, keys, n, dest, NULL, &meta, &e3);
                assert_true(r3 < 0);
                assert_int_equal(lstat(dest, &st), -1);
                assert_memory_equal(&meta, &sentinel, sizeof(meta));
        }
        close(fd);
        return r1;
}

static void assert_msg(const struct rp_err *err, const char *needle)
{
        if (!strstr(err->msg, needle))
                fail_msg("error message '%s' does not contain '%s'", err->msg, needle);
}

/* Names in a directory, excluding . and .. */
static int count_entries(const char *dir)
{
        DIR *d = opendir(dir);
        struct dirent *e;
        int n = 0;
        assert_non_null(d);
        while ((e = readdir(d)))
                if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
                        n++;
        closedir(d);
        return n;
}

/* ---- tests: happy path ---- */

static void test_header_roundtrip(void **state)
{
        struct img_header h, back;
        uint8_t raw[IMG_HEADER_LEN];
        struct rp_err err;
        char s[IMG_UUID_STR_LEN + 1];
        uint8_t u[16];

        craft_header(&h, "x", 1);
        h.metadata_len = 99;
        img_header_encode(&h, raw);
        assert_memory_equal(raw, IMG_MAGIC, IMG_MAGIC_LEN);
        assert_int_equal(img_header_decode(raw, &back, &err), 0);
        assert_memory_equal(&h, &back, sizeof(h));
        assert_int_equal(img_uuid_parse("6F1C1A2E-4B7D-4F0A-9C3E-2D5B8A7E9F01", u), 0);
        img_uuid_format(u, s);
        assert_string_equal(s, UUID);
        assert_int_equal(img_uuid_parse("6f1c1a2e4b7d-4f0a-9c3e-2d5b8a7e9f01-", u), -EINVAL);
        assert_int_equal(img_uuid_parse("6f1c1a2e-4b7d-4f0a-9c3e-2d5b8a7e9f0", u), -EINVAL);
        assert_int_equal(img_uuid_parse("6f1c1a2e-4b7d-4f0a-9c3e-2d5b8a7e9fg1", u), -EINVAL);
}

static void test_pack_sign_verify_extract(void **state)
{
        char *pkg = make_signed("ok");
        struct img_meta m;
        struct img_info info;
        struct rp_err err = {0};
        struct cr_key *keys[] = {k2, k1};
        uint8_t id1[32];
        char buf[64];
        struct stat st;
        ssize_t n;
        int fd = open(pkg, O_RDONLY | O_CLOEXEC);

        assert_true(fd >= 0);
        if (img_verify_fd(fd, keys, 2, &m, &err) < 0)
                fail_msg("verify: %s", err.msg);
        assert_string_equal(m.name, "hello");
        assert_string_equal(m.component_id, UUID);
        assert_string_equal(m.version, "1.2.3");
        assert_int_equal(m.type, IMG_TYPE_APP);
        assert_int_equal(m.svn, 7);
        assert_int_equal(m.created, 1764000000);
        assert_int_equal(m.n_hw_compat, 2);
        assert_string_equal(m.hw_compat[1], "board:rev2");
        assert_int_equal(m.n_signatures, 1);
        assert_int_equal(cr_key_id(k1, id1), 0);
        assert_memory_equal(m.signer_key_id, id1, 32);
        assert_true(m.payload_len > 0 && m.payload_len % 512 == 0);

        assert_int_equal(img_inspect_fd(fd, &info, &err), 0);
        assert_int_equal(info.n_signatures, 1);
        assert_memory_equal(info.key_ids[0], id1, 32);
        assert_memory_equal(info.meta.image_digest, m.image_digest, 32);

        if (img_extract_fd(fd, keys, 2, tpath("out"), NULL, &m, &err) < 0)
                fail_msg("extract: %s", err.msg);
        close(fd);
        assert_int_equal(stat(tpath("out/bin/hello"), &st), 0);
        assert_int_equal(st.st_mode & 07777, 0755);
        assert_int_equal(stat(tpath("out/app_manifest.json"), &st), 0);
        assert_int_equal(st.st_mode & 07777, 0644);
        n = readlink(tpath("out/bin/run"), buf, sizeof(buf) - 1);
        assert_int_equal(n, 5);
        assert_memory_equal(buf, "hello", 5);
        {
                size_t len;
                uint8_t *d = slurp(tpath("out/bin/hello"), &len);
                assert_int_equal(len, strlen("#!/bin/sh\necho hello\n"));
                assert_memory_equal(d, "#!/bin/sh\necho hello\n", len);
                free(d);
        }
        /* nothing but the target next to it: the temp directory is gone */
        assert_int_equal(count_entries(tmpdir), 4);     /* ok-src, ok.unsigned, ok.rpi, out */
        /* a second extraction must not replace the first */
        fd = open(pkg, O_RDONLY | O_CLOEXEC);
        assert_int_equal(img_extract_fd(fd, keys, 2, tpath("out"), NULL, &m, &err), -EEXIST);
        assert_msg(&err, "already exists");
        close(fd);
        free(pkg);
}

static void test_pack_is_deterministic(void **state)
{
        struct img_pack_opts o = default_opts();
        struct rp_err err;
        size_t l1, l2;
        uint8_t *a, *b;
        int fd;

        make_tree(tpath("src"));
        for (int i = 0; i < 2; i++) {
                fd = open(tpath("p%d", i), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
                assert_int_equal(img_pack_dir(tpath("src"), &o, fd, NULL, &err), 0);
                close(fd);
        }
        a = slurp(tpath("p0"), &l1);
        b = slurp(tpath("p1"), &l2);
        assert_int_equal(l1, l2);
        assert_memory_equal(a, b, l1);
        free(a);
        free(b);
}

static void test_multiple_signatures(void **state)
{
        char *pkg = make_signed("multi");
        struct rp_err err = {0};
        struct img_meta m;
        struct cr_key *only2[] = {k2}, *only1[] = {k1};
        size_t len;
        uint8_t *d;

        assert_int_equal(sign_file(pkg, tpath("multi2.rpi"), k2, &err), 0);
        d = slurp(tpath("multi2.rpi"), &len);
        int fd = mem_fd(d, len);
        assert_int_equal(img_verify_fd(fd, only2, 1, &m, &err), 0);
        assert_int_equal(m.n_signatures, 2);
        close(fd);
        assert_int_equal(verify_bytes(d, len, only1, 1, &err), 0);
        /* signing again with the same key is refused */
        assert_int_equal(sign_file(tpath("multi2.rpi"), tpath("multi3.rpi"), k1, &err), -EEXIST);
        assert_msg(&err, "already signed by key");
        free(d);
        free(pkg);
}

/* The boot stage's path: img_verify_signed returns the authentic header
 * and metadata bytes without parsing JSON; the JSON step is separate. */
static void test_verify_signed_without_json(void **state)
{
        struct rp_buf b = {0};
        struct img_header h;
        struct img_verified *v = malloc(sizeof(*v));
        struct img_meta m;
        uint8_t pl[1024] = {0}, id1[32], digest[32];
        struct cr_key *keys[] = {k1};
        struct rp_err err;
        const char *junk = "{\"not\": \"the metadata schema\"}";
        struct mem mm;

        craft_header(&h, pl, sizeof(pl));
        h.type = IMG_TYPE_OS;
        h.svn = 41;
        craft(&b, &h, junk, pl, sizeof(pl), k1);
        mm = (struct mem){b.data, b.len};
        if (img_verify_signed(mem_read, &mm, keys, 1, v, &err) < 0)
                fail_msg("verify_signed: %s", err.msg);
        assert_int_equal(v->hdr.svn, 41);
        assert_int_equal(v->hdr.type, IMG_TYPE_OS);
        assert_int_equal(v->hdr.payload_len, sizeof(pl));
        assert_int_equal(v->metadata_len, strlen(junk));
        assert_memory_equal(v->metadata, junk, strlen(junk));
        assert_int_equal(cr_key_id(k1, id1), 0);
        assert_memory_equal(v->signer_key_id, id1, 32);
        cr_sha256(b.data, IMG_HEADER_LEN + strlen(junk), digest);
        assert_memory_equal(v->image_digest, digest, 32);
        assert_int_equal(v->n_signatures, 1);
        /* the metadata step refuses what the binary step does not read */
        assert_true(img_meta_parse(v, &m, &err) < 0);
        assert_msg(&err, "unknown field 'not'");
        assert_true(verify_bytes(b.data, b.len, keys, 1, &err) < 0);
        assert_msg(&err, "unknown field 'not'");
        free(v);
        rp_buf_free(&b);
}

/* ---- tests: bad input ---- */

static void test_every_bit_flip_rejected(void **state)
{
        char *pkg = make_signed_tree("flip", true);     /* ~2.4 KB: ~20,000 flips */
        struct cr_key *keys[] = {k1};
        struct rp_err err;
        size_t len;
        uint8_t *d = slurp(pkg, &len);

        assert_int_equal(verify_bytes(d, len, keys, 1, &err), 0);
        for (size_t bit = 0; bit < len * 8; bit++) {
                d[bit / 8] ^= (uint8_t)(1u << (bit % 8));
                if (verify_bytes(d, len, keys, 1, &err) == 0)
                        fail_msg("flipping bit %zu (byte %zu) was accepted", bit, bit / 8);
                d[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        }
        assert_int_equal(verify_bytes(d, len, keys, 1, &err), 0);
        free(d);
        free(pkg);
}

static void test_every_truncation_rejected(void **state)
{
        char *pkg = make_signed_tree("trunc", true);
        struct cr_key *keys[] = {k1};
        struct rp_err err;
        size_t len;
        uint8_t *d = slurp(pkg, &len);

        for (size_t n = 0; n < len; n++) {
                if (verify_bytes(d, n, keys, 1, &err) == 0)
                        fail_msg("truncation to %zu of %zu bytes was accepted", n, len);
                if (n < len - IMG_SIG_REC_LEN && !strstr(err.msg, "truncated") &&
                    !strstr(err.msg, "not signed"))
                        fail_msg("truncation to %zu: unexpected message '%s'", n, err.msg);
        }
        /* cut exactly before the signature: a complete but unsigned package */
        verify_bytes(d, len - IMG_SIG_REC_LEN, keys, 1, &err);
        assert_msg(&err, "not signed");
        verify_bytes(d, 10, keys, 1, &err);
        assert_msg(&err, "truncated");
        free(d);
        free(pkg);
}

static void test_wrong_and_unknown_keys(void **state)
{
        char *pkg = make_signed("keys");
        struct cr_key *wrong[] = {k2};
        struct rp_err err;
        size_t len;
        uint8_t *d = slurp(pkg, &len);

        assert_true(verify_bytes(d, len, wrong, 1, &err) < 0);
        assert_msg(&err, "unknown key id");
        assert_int_equal(verify_bytes(d, len, wrong, 0, &err), -ENOKEY);
        assert_msg(&err, "no trusted keys");
        /* a record claiming k1's id but carrying k2's signature */
        {
                struct rp_buf b = {0};
                struct img_header h;
                uint8_t pl[1024] = {0}, id1[32];
                char *json;
                struct cr_key *keys[] = {k1};
                craft_header(&h, pl, sizeof(pl));
                json = craft_json(&h);
                craft(&b, &h, json, pl, sizeof(pl), k2);
                assert_int_equal(cr_key_id(k1, id1), 0);
                memcpy(b.data + b.len - IMG_SIG_REC_LEN + 8, id1, 32);
                assert_true(verify_bytes(b.data, b.len, keys, 1, &err) < 0);
                assert_msg(&err, "does not verify");
                free(json);
                rp_buf_free(&b);
        }
        free(d);
        free(pkg);
}

static void test_signature_from_other_package(void **state)
{
        struct rp_buf a = {0}, b = {0};
        struct img_header ha, hb;
        uint8_t pa[1024] = {0}, pb[1024] = {0};
        struct cr_key *keys[] = {k1};
        struct rp_err err;
        char *ja, *jb;

        pb[0] = 1;      /* not a valid tar, but a different payload is all we need */
        craft_header(&ha, pa, sizeof(pa));
        craft_header(&hb, pb, sizeof(pb));
        ja = craft_json(&ha);
        jb = craft_json(&hb);
        craft(&a, &ha, ja, pa, sizeof(pa), k1);
        craft(&b, &hb, jb, pb, sizeof(pb), k1);
        assert_int_equal(a.len, b.len);
        memcpy(a.data + a.len - IMG_SIG_REC_LEN, b.data + b.len - IMG_SIG_REC_LEN, IMG_SIG_REC_LEN);
        assert_true(verify_bytes(a.data, a.len, keys, 1, &err) < 0);
        assert_msg(&err, "does not verify");
        /* and B's payload under A's genuinely signed header */
        rp_buf_free(&a);
        craft(&a, &ha, ja, pa, sizeof(pa), k1);
        memcpy(a.data + IMG_HEADER_LEN + ha.metadata_len, pb, sizeof(pb));
        assert_true(verify_bytes(a.data, a.len, keys, 1, &err) < 0);
        assert_msg(&err, "payload was modified");
        free(ja);
        free(jb);
        rp_buf_free(&a);
        rp_buf_free(&b);
}

/* Signed packages whose metadata is bad in one way each. */
static void test_bad_metadata(void **state)
{
        static const struct {
                const char *json_fmt;   /* %s = sha256 hex, %llu = payload length */
                const char *msg;
        } cases[] = {
                {"{\"component_id\":\"6f1c1a2e-4b7d-4f0a-9c3e-2d5b8a7e9f01\",\"created\":\"2025-11-24T16:00:00Z\",\"hw_compat\":[],\"name\":\"hello\",\"name\":\"evil\",\"payload\":{\"length\":%llu,\"sha256\":\"%s\"},\"svn\":7,\"type\":\"app\",\"version\":\"1.0\"}",
                 "duplicate"},
                {"{\"component_id\":\"6f1c1a2e-4b7d-4f0a-9c3e-2d5b8a7e9f01\",\"created\":\"2025-11-24T16:00:00Z\",\"hw_compat\":[],\"name\":\"hello\",\"payload\":{\"length\":%llu,\"sha256\":\"%s\"},\"svn\":7,\"type\":\"app\",\"version\":\"1.0\",\"debug\":true}",
                 "unknown field 'debug'"},
                {"{\"component_id\":\"6f1c1a2e-4b7d-4f0a-9c3e-2d5b8a7e9f01\",\"created\":\"2025-11-24T16:00:00Z\",\"hw_compat\":[],\"name\":\"hello\",\"payload\":{\"length\":%llu,\"sha256\":\"%s\"},\"svn\":8,\"type\":\"app\",\"version\":\"1.0\"}",
                 "svn 8 differs from the header's 7"},
                {"{\"component_id\":\"6f1c1a2e-4b7d-4f0a-9c3e-2d5b8a7e9f01\",\"created\":\"2025-11-24T16:00:00Z\",\"hw_compat\":[],\"name\":\"hello\",\"payload\":{\"length\":%llu,\"sha256\":\"%s\"},\"svn\":7,\"type\":\"os\",\"version\":\"1.0\"}",
                 "type 'os' differs"},
                {"{\"component_id\":\"6f1c1a2e-4b7d-4f0a-9c3e-2d5b8a7e9f01\",\"created\":\"2025-11-24T16:00:00Z\",\"hw_compat\":[],\"name\":\"../x\",\"payload\":{\"length\":%llu,\"sha256\":\"%s\"},\"svn\":7,\"type\":\"app\",\"version\":\"1.0\"}",
                 "name '../x' has character 0x2f"},
                {"{\"component_id\":\"6f1c1a2e-4b7d-4f0a-9c3e-2d5b8a7e9f01\",\"created\":\"2025-11-24T16:00:00Z\",\"hw_compat\":[],\"name\":\"hello\",\"payload\":{\"length\":%llu,\"sha256\":\"%s\"},\"svn\":7,\"type\":\"app\",\"version\":\"1.0\"} x",
                 "not valid JSON"},
                {"{\"component_id\":\"6f1c1a2e-4b7d-4f0a-9c3e-2d5b8a7e9f01\",\"created\":\"2025-11-24T16:00:00Z\",\"hw_compat\":[],\"name\":\"hello\",\"payload\":{\"length\":%llu,\"sha256\":\"%s\"},\"svn\":7,\"type\":\"app\"}",
                 "lacks field 'version'"},
                {"{\"component_id\":\"6f1c1a2e-4b7d-4f0a-9c3e-2d5b8a7e9f01\",\"created\":\"2025-11-24 16:00:00\",\"hw_compat\":[],\"name\":\"hello\",\"payload\":{\"length\":%llu,\"sha256\":\"%s\"},\"svn\":7,\"type\":\"app\",\"version\":\"1.0\"}",
                 "is not YYYY-MM-DDTHH:MM:SSZ"},
        };
        uint8_t pl[1024] = {0};
        struct cr_key *keys[] = {k1};
        struct rp_err err;

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct rp_buf b = {0};
                struct img_header h;
                char sha[65], *json;
                craft_header(&h, pl, sizeof(pl));
                rp_hex_encode(h.payload_sha256, 32, sha);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
                assert_true(asprintf(&json, cases[i].json_fmt, (unsigned long long)sizeof(pl), sha) > 0);
#pragma GCC diagnostic pop
                craft(&b, &h, json, pl, sizeof(pl), k1);
                assert_true(verify_bytes(b.data, b.len, keys, 1, &err) < 0);
                assert_msg(&err, cases[i].msg);
                free(json);
                rp_buf_free(&b);
        }
}

static void test_bad_header_fields(void **state)
{
        uint8_t pl[1024] = {0};
        struct cr_key *keys[] = {k1};
        struct rp_err err;

        /* unknown format version (signed, so only the version can be blamed) */
        {
                struct rp_buf b = {0};
                struct img_header h;
                char *json;
                craft_header(&h, pl, sizeof(pl));
                h.format_version = 2;
                json = craft_json(&h);
                craft(&b, &h, json, pl, sizeof(pl), k1);
                assert_int_equal(verify_bytes(b.data, b.len, keys, 1, &err), -EPROTONOSUPPORT);
                assert_msg(&err, "unknown image format version 2");
                free(json);
                rp_buf_free(&b);
        }
        /* oversized metadata: a length over the limit is refused before any read */
        {
                struct rp_buf b = {0};
                struct img_header h;
                uint8_t head[IMG_HEADER_LEN];
                char *big = malloc(IMG_MAX_METADATA + 2);
                craft_header(&h, pl, sizeof(pl));
                memset(big, ' ', IMG_MAX_METADATA + 1);
                big[IMG_MAX_METADATA + 1] = '\0';
                craft(&b, &h, big, pl, sizeof(pl), k1);
                assert_true(verify_bytes(b.data, b.len, keys, 1, &err) < 0);
                assert_msg(&err, "metadata length is 16385, the limit is 1..16384");
                free(big);
                rp_buf_free(&b);
                /* and a length of 2^32-1 */
                h.metadata_len = UINT32_MAX;
                img_header_encode(&h, head);
                assert_true(verify_bytes(head, sizeof(head), keys, 1, &err) < 0);
                assert_msg(&err, "metadata length is 4294967295");
        }
        /* payload lengths that would overflow 64-bit offsets, or lie */
        {
                struct img_header h;
                uint8_t head[IMG_HEADER_LEN];
                craft_header(&h, pl, sizeof(pl));
                h.metadata_len = 10;
                h.payload_len = UINT64_MAX;
                img_header_encode(&h, head);
                assert_true(verify_bytes(head, sizeof(head), keys, 1, &err) < 0);
                assert_msg(&err, "payload length is 18446744073709551615, the limit is");
                h.payload_len = UINT64_MAX - IMG_HEADER_LEN - 9;        /* sums to exactly 2^64 */
                img_header_encode(&h, head);
                assert_true(verify_bytes(head, sizeof(head), keys, 1, &err) < 0);
                assert_msg(&err, "payload length is");
        }
        {
                struct rp_buf b = {0};
                struct img_header h;
                char *json;
                struct rp_err e2;
                int fd;
                craft_header(&h, pl, sizeof(pl));
                json = craft_json(&h);
                h.payload_len = IMG_MAX_PAYLOAD;        /* allowed, but the file is short */
                craft(&b, &h, json, pl, sizeof(pl), k1);
                assert_true(verify_bytes(b.data, b.len, keys, 1, &err) < 0);
                assert_msg(&err, "truncated in the payload");
                fd = mem_fd(b.data, b.len);
                struct img_meta m;
                assert_true(img_verify_fd(fd, keys, 1, &m, &e2) < 0);
                assert_msg(&e2, "the header claims 171798");   /* 16 GiB + 128 + json */
                close(fd);
                free(json);
                rp_buf_free(&b);
        }
        /* unknown flags, nonzero reserved, unknown type: each named */
        {
                struct img_header h;
                uint8_t head[IMG_HEADER_LEN];
                craft_header(&h, pl, sizeof(pl));
                h.metadata_len = 10;
                h.flags = 4;
                img_header_encode(&h, head);
                assert_true(verify_bytes(head, sizeof(head), keys, 1, &err) < 0);
                assert_msg(&err, "unknown flags 0x4");
                h.flags = 0;
                h.type = 9;
                img_header_encode(&h, head);
                assert_true(verify_bytes(head, sizeof(head), keys, 1, &err) < 0);
                assert_msg(&err, "unknown type 9");
                h.type = IMG_TYPE_OS;
                img_header_encode(&h, head);
                head[100] = 1;
                assert_true(verify_bytes(head, sizeof(head), keys, 1, &err) < 0);
                assert_msg(&err, "reserved");
                head[100] = 0;
                head[0] ^= 0x80;
                assert_true(verify_bytes(head, sizeof(head), keys, 1, &err) < 0);
                assert_msg(&err, "bad magic");
        }
}

static void test_signature_block_limits(void **state)
{
        char *pkg = make_signed("sigs");
        struct cr_key *keys[] = {k1};
        struct rp_err err;
        size_t len;
        uint8_t *d = slurp(pkg, &len);
        uint8_t *big = malloc(len + 9 * IMG_SIG_REC_LEN);

        /* the same record twice */
        memcpy(big, d, len);
        memcpy(big + len, d + len - IMG_SIG_REC_LEN, IMG_SIG_REC_LEN);
        assert_true(verify_bytes(big, len + IMG_SIG_REC_LEN, keys, 1, &err) < 0);
        assert_msg(&err, "two signatures by key");
        /* nine records (distinct key ids) */
        for (int i = 1; i <= 8; i++) {
                memcpy(big + len + (size_t)(i - 1) * IMG_SIG_REC_LEN, d + len - IMG_SIG_REC_LEN,
                       IMG_SIG_REC_LEN);
                big[len + (size_t)(i - 1) * IMG_SIG_REC_LEN + 8] ^= (uint8_t)i;
        }
        assert_true(verify_bytes(big, len + 8 * IMG_SIG_REC_LEN, keys, 1, &err) < 0);
        assert_msg(&err, "after 8 signature records");
        /* trailing garbage that is not a record */
        memcpy(big, d, len);
        big[len] = 'x';
        assert_true(verify_bytes(big, len + 1, keys, 1, &err) < 0);
        assert_msg(&err, "truncated in signature record 2");
        free(big);
        free(d);
        free(pkg);
}

/* ---- malicious payloads ---- */

struct tar {
        struct rp_buf b;
};

static void fix_checksum(uint8_t *blk)
{
        unsigned sum = 0;
        memset(blk + 148, ' ', 8);
        for (int i = 0; i < 512; i++)
                sum += blk[i];
        snprintf((char *)blk + 148, 8, "%06o", sum);
}

/* Appends an entry; `mode` may carry any bits, `type` any char. */
static void tar_add(struct tar *t, const char *path, char type, unsigned mode, const char *link,
                    const char *data)
{
        uint8_t blk[512];
        size_t len = data ? strlen(data) : 0;
        char m[9];

        assert_int_equal(img_tar_header(blk, path, IMG_TAR_FILE, 0644, len, link, 1000), 0);
        blk[156] = (uint8_t)type;
        snprintf(m, sizeof(m), "%07o", mode);
        memcpy(blk + 100, m, 8);
        fix_checksum(blk);
        assert_int_equal(rp_buf_append(&t->b, blk, 512), 0);
        if (len) {
                uint8_t pad[512] = {0};
                assert_int_equal(rp_buf_append(&t->b, data, len), 0);
                if (len % 512)
                        assert_int_equal(rp_buf_append(&t->b, pad, 512 - len % 512), 0);
        }
}

static void tar_end(struct tar *t)
{
        uint8_t z[1024] = {0};
        assert_int_equal(rp_buf_append(&t->b, z, sizeof(z)), 0);
}

/* Packs a hostile archive with the real packer, signs it, extracts it into
 * <tmp>/box/target. Returns the code; asserts nothing escaped: <tmp>/box is
 * empty afterwards (no target, no temp dir) and <tmp> holds only box. */
static int extract_hostile(struct tar *t, const struct img_extract_limits *lim, struct rp_err *err)
{
        struct img_pack_opts o = default_opts();
        struct cr_key *keys[] = {k1};
        struct img_meta m;
        int pfd, fd, r;

        assert_int_equal(rp_rm_rf(tmpdir), 0);
        assert_int_equal(mkdir(tmpdir, 0700), 0);
        assert_int_equal(mkdir(tpath("box"), 0700), 0);
        pfd = mem_fd(t->b.data, t->b.len);
        fd = memfd_create("unsigned", MFD_CLOEXEC);
        assert_int_equal(img_pack_payload(pfd, &o, fd, NULL, err), 0);
        close(pfd);
        {
                int sfd = open(tpath("box.rpi"), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
                assert_int_equal(img_sign(fd, sfd, k1, NULL, err), 0);
                close(fd);
                fd = sfd;
        }
        r = img_extract_fd(fd, keys, 1, tpath("box/target"), lim, &m, err);
        close(fd);
        assert_int_equal(unlink(tpath("box.rpi")), 0);
        if (r < 0) {
                assert_int_equal(count_entries(tpath("box")), 0);
                assert_int_equal(count_entries(tmpdir), 1);
        }
        rp_buf_free(&t->b);
        return r;
}

static void test_hostile_payloads(void **state)
{
        static const struct img_extract_limits small = {.max_files = 5, .max_depth = 3,
                                                         .max_total = 100};
        struct rp_err err;
        struct tar t;

#define HOSTILE(lim, msg, ...)                                          \
        do {                                                            \
                memset(&t, 0, sizeof(t));                               \
                tar_add(&t, "ok.txt", '0', 0644, NULL, "fine\n");       \
                tar_add(&t, "d", '5', 0755, NULL, NULL);                \
                __VA_ARGS__;                                            \
                tar_end(&t);                                            \
                assert_true(extract_hostile(&t, lim, &err) < 0);        \
                assert_msg(&err, msg);                                  \
        } while (0)

        HOSTILE(NULL, "contains '..'", tar_add(&t, "../evil", '0', 0644, NULL, "x"));
        HOSTILE(NULL, "contains '..'", tar_add(&t, "d/../../evil", '0', 0644, NULL, "x"));
        HOSTILE(NULL, "is absolute", tar_add(&t, "/tmp/evil", '0', 0644, NULL, "x"));
        HOSTILE(NULL, "points outside the image", tar_add(&t, "l", '2', 0777, "../outside", NULL));
        HOSTILE(NULL, "points outside the image", tar_add(&t, "d/l", '2', 0777, "../..", NULL));
        HOSTILE(NULL, "is absolute", tar_add(&t, "l", '2', 0777, "/etc", NULL));
        /* each link stays inside on its own; through each other they escape */
        HOSTILE(NULL, "'..' after a name", tar_add(&t, "d/up", '2', 0777, "..", NULL);
                tar_add(&t, "x", '2', 0777, "d/up/..", NULL));
        /* writing through a (harmless-looking) symlink */
        HOSTILE(NULL, "written through symlink 'l'", tar_add(&t, "l", '2', 0777, "d", NULL);
                tar_add(&t, "l/f", '0', 0644, NULL, "x"));
        HOSTILE(NULL, "device node", tar_add(&t, "d/null", '3', 0666, NULL, NULL));
        HOSTILE(NULL, "device node", tar_add(&t, "d/sda", '4', 0660, NULL, NULL));
        HOSTILE(NULL, "fifo", tar_add(&t, "d/p", '6', 0644, NULL, NULL));
        HOSTILE(NULL, "hard link", tar_add(&t, "d/h", '1', 0644, "/etc/shadow", NULL));
        HOSTILE(NULL, "setuid", tar_add(&t, "d/su", '0', 04755, NULL, "x"));
        HOSTILE(NULL, "setgid", tar_add(&t, "d", '5', 02755, NULL, NULL));
        HOSTILE(NULL, "twice", tar_add(&t, "ok.txt", '0', 0644, NULL, "again"));
        HOSTILE(NULL, "comes before its directory", tar_add(&t, "nodir/f", '0', 0644, NULL, "x"));
        HOSTILE(NULL, "pax extended header", tar_add(&t, "pax", 'x', 0644, NULL, "30 path=../../etc/passwd\n"));
        HOSTILE(&small, "more than 5 entries", for (int i = 0; i < 4; i++) {
                char p[16];
                snprintf(p, sizeof(p), "d/f%d", i);
                tar_add(&t, p, '0', 0644, NULL, "x");
        });
        HOSTILE(&small, "levels deep", tar_add(&t, "d/a", '5', 0755, NULL, NULL);
                tar_add(&t, "d/a/b", '5', 0755, NULL, NULL);
                tar_add(&t, "d/a/b/c", '0', 0644, NULL, "x"));
        {
                char big[200];
                memset(big, 'z', sizeof(big) - 1);
                big[sizeof(big) - 1] = '\0';
                HOSTILE(&small, "exceed 100 bytes in total", tar_add(&t, "d/big", '0', 0644, NULL, big));
        }
        /* garbage after the end-of-archive marker */
        memset(&t, 0, sizeof(t));
        tar_add(&t, "ok.txt", '0', 0644, NULL, "fine\n");
        tar_end(&t);
        assert_int_equal(rp_buf_append(&t.b, "evil", 4), 0);
        {
                uint8_t z[508] = {0};
                assert_int_equal(rp_buf_append(&t.b, z, sizeof(z)), 0);
        }
        assert_true(extract_hostile(&t, NULL, &err) < 0);
        assert_msg(&err, "data after the end-of-archive marker");
        /* a bad checksum */
        memset(&t, 0, sizeof(t));
        tar_add(&t, "ok.txt", '0', 0644, NULL, "fine\n");
        t.b.data[0] = 'O';
        tar_end(&t);
        assert_true(extract_hostile(&t, NULL, &err) < 0);
        assert_msg(&err, "checksum");

        /* control: the same scaffolding extracts a benign archive, with
         * trailing zero records as other tar writers pad them */
        memset(&t, 0, sizeof(t));
        tar_add(&t, "ok.txt", '0', 0644, NULL, "fine\n");
        tar_add(&t, "d", '5', 0750, NULL, NULL);
        tar_add(&t, "d/l", '2', 0777, "../ok.txt", NULL);
        tar_end(&t);
        {
                uint8_t z[8192] = {0};
                assert_int_equal(rp_buf_append(&t.b, z, sizeof(z)), 0);
        }
        if (extract_hostile(&t, NULL, &err) < 0)
                fail_msg("benign archive refused: %s", err.msg);
        {
                size_t len;
                uint8_t *d = slurp(tpath("box/target/d/l"), &len);
                assert_int_equal(len, 5);
                assert_memory_equal(d, "fine\n", 5);
                free(d);
        }
}

static void test_pack_refuses_unsafe_trees(void **state)
{
        struct img_pack_opts o = default_opts();
        struct rp_err err;
        int fd = memfd_create("out", MFD_CLOEXEC);

        make_tree(tpath("t1"));
        assert_int_equal(mkfifo(tpath("t1/bin/pipe"), 0644), 0);
        assert_int_equal(img_pack_dir(tpath("t1"), &o, fd, NULL, &err), -EPERM);
        assert_msg(&err, "'bin/pipe' is a fifo");

        make_tree(tpath("t2"));
        write_file(tpath("t2/bin/su"), "x", 0755);
        assert_int_equal(chmod(tpath("t2/bin/su"), 04755), 0);
        assert_int_equal(img_pack_dir(tpath("t2"), &o, fd, NULL, &err), -EPERM);
        assert_msg(&err, "'bin/su' has the setuid bit");

        make_tree(tpath("t3"));
        assert_int_equal(symlink("../../etc/passwd", tpath("t3/bin/pw")), 0);
        assert_int_equal(img_pack_dir(tpath("t3"), &o, fd, NULL, &err), -EPERM);
        assert_msg(&err, "points outside the image");

        make_tree(tpath("t4"));
        o.name = "bad name";
        assert_int_equal(img_pack_dir(tpath("t4"), &o, fd, NULL, &err), -EINVAL);
        assert_msg(&err, "image name 'bad name' has character 0x20");
        o = default_opts();
        o.component_id = "not-a-uuid";
        assert_int_equal(img_pack_dir(tpath("t4"), &o, fd, NULL, &err), -EINVAL);
        assert_msg(&err, "not a UUID");
        close(fd);
}

static void test_sign_refuses_corrupt(void **state)
{
        char *pkg = make_signed("corrupt");
        struct rp_err err;
        size_t len;
        uint8_t *d = slurp(pkg, &len);
        int in, out;

        d[len - IMG_SIG_REC_LEN - 600] ^= 1;   /* inside the payload */
        in = mem_fd(d, len);
        out = memfd_create("out", MFD_CLOEXEC);
        assert_true(img_sign(in, out, k2, NULL, &err) < 0);
        assert_msg(&err, "refusing to sign a corrupt package");
        close(in);
        close(out);
        {
                struct img_info info;
                in = mem_fd(d, len);
                /* inspect does not hash the payload: it still shows the (unverified) metadata */
                assert_int_equal(img_inspect_fd(in, &info, &err), 0);
                assert_string_equal(info.meta.name, "hello");
                close(in);
        }
        free(d);
        free(pkg);
}

/* With RP_IMAGE_FUZZ_CORPUS=DIR, writes the seed inputs of
 * tests/fuzz/corpus/image/ (signed by the fuzz harness's fixed key) and
 * exits; the ECDSA signatures differ run to run, the structure does not. */
static int write_fuzz_corpus(const char *dir)
{
        static const uint8_t seed[32] = "rampart image fuzz key seed 0001";
        struct img_pack_opts o = default_opts();
        struct cr_key *fk = NULL;
        struct rp_err err;
        char p[1024];
        int fd, sfd;

        if (cr_key_from_seed(seed, &fk, &err) < 0 || !mkdtemp(strcpy(tmpdir, "/tmp/rp-corpus-XXXXXX")))
                return 1;
        make_tree(tpath("src"));
        fd = open(tpath("unsigned"), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (img_pack_dir(tpath("src"), &o, fd, NULL, &err) < 0)
                return 1;
        snprintf(p, sizeof(p), "%s/signed-tree.rpi", dir);
        sfd = open(p, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (img_sign(fd, sfd, fk, NULL, &err) < 0)
                return 1;
        snprintf(p, sizeof(p), "%s/signed-twice.rpi", dir);
        {
                int tfd = open(p, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
                if (img_sign(sfd, tfd, k1, NULL, &err) < 0)
                        return 1;
                close(tfd);
        }
        close(sfd);
        snprintf(p, sizeof(p), "%s/signed-other-key.rpi", dir);
        sfd = open(p, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (img_sign(fd, sfd, k2, NULL, &err) < 0)
                return 1;
        close(sfd);
        {
                size_t len;
                uint8_t *d = slurp(tpath("unsigned"), &len);
                snprintf(p, sizeof(p), "%s/unsigned.rpi", dir);
                if (rp_write_file_atomic(p, d, len, 0644, &err) < 0)
                        return 1;
                /* the bare archive, for the tar reader */
                uint32_t mlen = img_get_le32(d + 16);
                snprintf(p, sizeof(p), "%s/payload.tar", dir);
                if (rp_write_file_atomic(p, d + IMG_HEADER_LEN + mlen, len - IMG_HEADER_LEN - mlen,
                                         0644, &err) < 0)
                        return 1;
                snprintf(p, sizeof(p), "%s/header-only.rpi", dir);
                if (rp_write_file_atomic(p, d, IMG_HEADER_LEN, 0644, &err) < 0)
                        return 1;
                free(d);
        }
        close(fd);
        cr_key_free(fk);
        return rp_rm_rf(tmpdir) < 0;
}

int main(void)
{
        if (getenv("RP_IMAGE_FUZZ_CORPUS")) {
                if (setup(NULL) < 0 || rp_rm_rf(tmpdir) < 0)
                        return 1;
                return write_fuzz_corpus(getenv("RP_IMAGE_FUZZ_CORPUS"));
        }

        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_header_roundtrip, setup, teardown),
                cmocka_unit_test_setup_teardown(test_pack_sign_verify_extract, setup, teardown),
                cmocka_unit_test_setup_teardown(test_pack_is_deterministic, setup, teardown),
                cmocka_unit_test_setup_teardown(test_multiple_signatures, setup, teardown),
                cmocka_unit_test_setup_teardown(test_verify_signed_without_json, setup, teardown),
                cmocka_unit_test_setup_teardown(test_every_bit_flip_rejected, setup, teardown),
                cmocka_unit_test_setup_teardown(test_every_truncation_rejected, setup, teardown),
                cmocka_unit_test_setup_teardown(test_wrong_and_unknown_keys, setup, teardown),
                cmocka_unit_test_setup_teardown(test_signature_from_other_package, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bad_metadata, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bad_header_fields, setup, teardown),
                cmocka_unit_test_setup_teardown(test_signature_block_limits, setup, teardown),
                cmocka_unit_test_setup_teardown(test_hostile_payloads, setup, teardown),
                cmocka_unit_test_setup_teardown(test_pack_refuses_unsafe_trees, setup, teardown),
                cmocka_unit_test_setup_teardown(test_sign_refuses_corrupt, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

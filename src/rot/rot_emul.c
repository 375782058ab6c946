/* rot_emul.c - the emulated root of trust: fuses and counters as root-only
 * files in a device directory.
 *
 *   DIR/fuses      336 bytes: "RPFUSE\0\1", lifecycle u8, flags u8 (bit 0 =
 *                  debug), key count u8, 0, UDS[32], 4 x P-256 point[65],
 *                  SHA-256 of the preceding 304 bytes
 *   DIR/counters   684 bytes: "RPCNTR\0\1", count u32le, 16 x (name[32] NUL-
 *                  padded, value u64le), SHA-256 of the preceding 652 bytes
 *   DIR/<nv name>  opaque blobs of the caller (slot state, event log)
 *
 * Every write is write-temp/fsync/rename/fsync-dir (mode 0600). The
 * checksums catch corruption; they are not a defence against root, which the
 * emulation cannot give (docs/threat-model.md). */
#include "rot/rot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/cleanup.h"
#include "lib/fault.h"
#include "lib/fileio.h"

#define FUSE_MAGIC "RPFUSE\0\1"
#define FUSE_BODY 304
#define FUSE_LEN (FUSE_BODY + CR_SHA256_LEN)
#define CNT_MAGIC "RPCNTR\0\1"
#define CNT_ENTRY 40
#define CNT_BODY (12 + ROT_MAX_COUNTERS * CNT_ENTRY)
#define CNT_LEN (CNT_BODY + CR_SHA256_LEN)
_Static_assert(FUSE_BODY == 12 + ROT_UDS_LEN + ROT_MAX_PLATFORM_KEYS * CR_P256_PUB_LEN,
               "fuse layout");

struct rot_emul {
        struct rot base;
        char *dir;
        bool uds_consumed;
};

/* Raw fuse image, decoded. Holds the UDS: wiped by the caller. */
struct fuse_image {
        struct rot_fuses pub;
        uint8_t uds[ROT_UDS_LEN];
};

struct counters {
        size_t n;
        char name[ROT_MAX_COUNTERS][ROT_COUNTER_NAME_MAX + 1];
        uint64_t value[ROT_MAX_COUNTERS];
};

const char *rot_lifecycle_name(enum rot_lifecycle lc)
{
        switch (lc) {
        case ROT_LC_BLANK: return "blank";
        case ROT_LC_PROVISIONED: return "provisioned";
        case ROT_LC_LOCKED: return "locked";
        }
        return "unknown";
}

bool rot_name_valid(const char *s, size_t max)
{
        size_t n = strnlen(s, max + 1);
        if (n == 0 || n > max)
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                      c == '-'))
                        return false;
        }
        return s[0] != '.';
}

static char *path_of(const struct rot_emul *e, const char *name)
{
        char *p = NULL;
        if (asprintf(&p, "%s/%s", e->dir, name) < 0)
                return NULL;
        return p;
}

static void put_u64le(uint8_t *p, uint64_t v)
{
        for (int i = 0; i < 8; i++)
                p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_u64le(const uint8_t *p)
{
        uint64_t v = 0;
        for (int i = 7; i >= 0; i--)
                v = (v << 8) | p[i];
        return v;
}

/* Reads a fixed-size checksummed file; -ENOENT when absent. */
static int read_fixed(struct rot_emul *e, const char *name, const char *magic, uint8_t *out,
                      size_t len, struct rp_err *err)
{
        _cleanup_free_ char *path = path_of(e, name);
        _cleanup_free_ uint8_t *d = NULL;
        uint8_t sum[CR_SHA256_LEN];
        size_t n;
        int r;

        if (!path)
                return rp_err_set(err, -ENOMEM, "out of memory");
        r = rp_read_file(path, len, &d, &n, err);
        if (r == -EFBIG)
                return rp_err_set(err, -EBADMSG, "'%s' is larger than %zu bytes: corrupt", path, len);
        if (r < 0)
                return r;
        /* the buffer may hold the UDS: wiped on every path below */
        if (n != len)
                r = rp_err_set(err, -EBADMSG, "'%s' is %zu bytes, expected %zu: corrupt", path, n,
                               len);
        else if (memcmp(d, magic, 8) != 0)
                r = rp_err_set(err, -EBADMSG, "'%s' has a wrong magic: corrupt", path);
        if (r == 0) {
                cr_sha256(d, len - CR_SHA256_LEN, sum);
                if (!cr_memeq(sum, d + len - CR_SHA256_LEN, CR_SHA256_LEN))
                        r = rp_err_set(err, -EBADMSG, "'%s' fails its checksum: corrupt", path);
                else
                        memcpy(out, d, len);
        }
        rp_wipe(d, n);
        return r;
}

static int write_fixed(struct rot_emul *e, const char *name, uint8_t *img, size_t len,
                       struct rp_err *err)
{
        _cleanup_free_ char *path = path_of(e, name);
        if (!path)
                return rp_err_set(err, -ENOMEM, "out of memory");
        cr_sha256(img, len - CR_SHA256_LEN, img + len - CR_SHA256_LEN);
        return rp_write_file_atomic(path, img, len, 0600, err);
}

static int fuses_load(struct rot_emul *e, struct fuse_image *ret, struct rp_err *err)
{
        uint8_t raw[FUSE_LEN];
        int r;

        memset(ret, 0, sizeof(*ret));
        r = read_fixed(e, "fuses", FUSE_MAGIC, raw, sizeof(raw), err);
        if (r == -ENOENT) {
                ret->pub.lifecycle = ROT_LC_BLANK;
                return 0;
        }
        if (r < 0)
                return r;
        if (raw[8] > ROT_LC_LOCKED || (raw[9] & ~1u) || raw[10] > ROT_MAX_PLATFORM_KEYS ||
            raw[11]) {
                rp_wipe(raw, sizeof(raw));
                return rp_err_set(err, -EBADMSG, "fuses of '%s': invalid field values", e->dir);
        }
        ret->pub.lifecycle = raw[8];
        ret->pub.debug = raw[9] & 1;
        ret->pub.n_platform_keys = raw[10];
        memcpy(ret->uds, raw + 12, ROT_UDS_LEN);
        memcpy(ret->pub.platform_keys, raw + 12 + ROT_UDS_LEN,
               ROT_MAX_PLATFORM_KEYS * CR_P256_PUB_LEN);
        rp_wipe(raw, sizeof(raw));
        return 0;
}

static int fuses_store(struct rot_emul *e, const struct fuse_image *f, struct rp_err *err)
{
        uint8_t raw[FUSE_LEN] = {0};
        int r;

        memcpy(raw, FUSE_MAGIC, 8);
        raw[8] = (uint8_t)f->pub.lifecycle;
        raw[9] = f->pub.debug ? 1 : 0;
        raw[10] = (uint8_t)f->pub.n_platform_keys;
        memcpy(raw + 12, f->uds, ROT_UDS_LEN);
        memcpy(raw + 12 + ROT_UDS_LEN, f->pub.platform_keys,
               ROT_MAX_PLATFORM_KEYS * CR_P256_PUB_LEN);
        r = write_fixed(e, "fuses", raw, sizeof(raw), err);
        rp_wipe(raw, sizeof(raw));
        return r;
}

static int emul_fuses_read(struct rot *r, struct rot_fuses *ret, struct rp_err *err)
{
        struct rot_emul *e = (struct rot_emul *)r;
        struct fuse_image f;
        int rc = fuses_load(e, &f, err);
        if (rc == 0)
                *ret = f.pub;
        rp_wipe(&f, sizeof(f));
        return rc;
}

static int emul_uds_read(struct rot *r, struct rp_secret32 *ret, struct rot_fuses *ret_pub,
                         struct rp_err *err)
{
        struct rot_emul *e = (struct rot_emul *)r;
        struct fuse_image f;
        int rc;

        if (e->uds_consumed)
                return rp_err_set(err, -EPERM, "the UDS of '%s' was already read by this boot; "
                                  "it is read-locked until the next reset", e->dir);
        rc = fuses_load(e, &f, err);
        if (rc == 0 && f.pub.lifecycle == ROT_LC_BLANK)
                rc = rp_err_set(err, -ENODEV, "device '%s' is blank: no UDS has been fused",
                                e->dir);
        if (rc == 0) {
                memcpy(ret->b, f.uds, ROT_UDS_LEN);
                if (ret_pub)
                        *ret_pub = f.pub;
                e->uds_consumed = true;
        }
        rp_wipe(&f, sizeof(f));
        return rc;
}

static int emul_program(struct rot *r, const struct rp_secret32 *uds, const struct rot_fuses *pub,
                        struct rp_err *err)
{
        struct rot_emul *e = (struct rot_emul *)r;
        struct fuse_image f;
        int rc = fuses_load(e, &f, err);

        if (rc < 0)
                goto out;
        if (f.pub.lifecycle == ROT_LC_LOCKED) {
                rc = rp_err_set(err, -EPERM, "device '%s' is locked: its fuses cannot be "
                                "programmed again", e->dir);
                goto out;
        }
        if (pub->n_platform_keys > ROT_MAX_PLATFORM_KEYS) {
                rc = rp_err_set(err, -E2BIG, "%zu platform keys, the fuses hold at most %d",
                                pub->n_platform_keys, ROT_MAX_PLATFORM_KEYS);
                goto out;
        }
        f.pub = *pub;
        f.pub.lifecycle = ROT_LC_PROVISIONED;
        memcpy(f.uds, uds->b, ROT_UDS_LEN);
        RP_FAULT_POINT("rot-program");
        rc = fuses_store(e, &f, err);
out:
        rp_wipe(&f, sizeof(f));
        return rc;
}

static int emul_lock(struct rot *r, struct rp_err *err)
{
        struct rot_emul *e = (struct rot_emul *)r;
        struct fuse_image f;
        int rc = fuses_load(e, &f, err);

        if (rc == 0 && f.pub.lifecycle != ROT_LC_PROVISIONED)
                rc = rp_err_set(err, -EPERM, "device '%s' is %s: only a provisioned device can be "
                                "locked", e->dir, rot_lifecycle_name(f.pub.lifecycle));
        if (rc == 0) {
                f.pub.lifecycle = ROT_LC_LOCKED;
                RP_FAULT_POINT("rot-lock");
                rc = fuses_store(e, &f, err);
        }
        rp_wipe(&f, sizeof(f));
        return rc;
}

static int counters_load(struct rot_emul *e, struct counters *c, struct rp_err *err)
{
        uint8_t raw[CNT_LEN];
        uint32_t n;
        int r;

        memset(c, 0, sizeof(*c));
        r = read_fixed(e, "counters", CNT_MAGIC, raw, sizeof(raw), err);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        n = (uint32_t)raw[8] | (uint32_t)raw[9] << 8 | (uint32_t)raw[10] << 16 |
            (uint32_t)raw[11] << 24;
        if (n > ROT_MAX_COUNTERS)
                return rp_err_set(err, -EBADMSG, "counter store of '%s' claims %u counters", e->dir,
                                  n);
        for (uint32_t i = 0; i < n; i++) {
                const uint8_t *p = raw + 12 + i * CNT_ENTRY;
                memcpy(c->name[i], p, ROT_COUNTER_NAME_MAX + 1);
                if (c->name[i][ROT_COUNTER_NAME_MAX] != 0 ||
                    !rot_name_valid(c->name[i], ROT_COUNTER_NAME_MAX))
                        return rp_err_set(err, -EBADMSG, "counter store of '%s': entry %u has an "
                                          "invalid name", e->dir, i);
                c->value[i] = get_u64le(p + 32);
        }
        c->n = n;
        return 0;
}

static int check_counter_name(const char *name, struct rp_err *err)
{
        if (!rot_name_valid(name, ROT_COUNTER_NAME_MAX))
                return rp_err_set(err, -EINVAL, "counter name '%.40s' is not 1..%d bytes of "
                                  "[a-z0-9._-]", name, ROT_COUNTER_NAME_MAX);
        return 0;
}

static int emul_counter_read(struct rot *r, const char *name, uint64_t *ret, struct rp_err *err)
{
        struct rot_emul *e = (struct rot_emul *)r;
        struct counters c;
        int rc = check_counter_name(name, err);

        if (rc == 0)
                rc = counters_load(e, &c, err);
        if (rc < 0)
                return rc;
        for (size_t i = 0; i < c.n; i++)
                if (!strcmp(c.name[i], name)) {
                        *ret = c.value[i];
                        return 0;
                }
        *ret = 0;
        return 0;
}

static int emul_counter_advance(struct rot *r, const char *name, uint64_t value,
                                struct rp_err *err)
{
        struct rot_emul *e = (struct rot_emul *)r;
        struct counters c;
        uint8_t raw[CNT_LEN] = {0};
        size_t i;
        int rc = check_counter_name(name, err);

        if (rc == 0)
                rc = counters_load(e, &c, err);
        if (rc < 0)
                return rc;
        for (i = 0; i < c.n; i++)
                if (!strcmp(c.name[i], name))
                        break;
        if (i < c.n && value < c.value[i])
                return rp_err_set(err, -ERANGE, "counter '%s' is at %llu: it cannot go back to "
                                  "%llu", name, (unsigned long long)c.value[i],
                                  (unsigned long long)value);
        if (i < c.n && value == c.value[i])
                return 0;
        if (i == c.n) {
                if (c.n == ROT_MAX_COUNTERS)
                        return rp_err_set(err, -ENOSPC, "counter store is full (%d counters): "
                                          "cannot add '%s'", ROT_MAX_COUNTERS, name);
                snprintf(c.name[i], sizeof(c.name[i]), "%s", name);
                c.n++;
        }
        c.value[i] = value;
        memcpy(raw, CNT_MAGIC, 8);
        raw[8] = (uint8_t)c.n;
        for (size_t k = 0; k < c.n; k++) {
                memcpy(raw + 12 + k * CNT_ENTRY, c.name[k], ROT_COUNTER_NAME_MAX + 1);
                put_u64le(raw + 12 + k * CNT_ENTRY + 32, c.value[k]);
        }
        RP_FAULT_POINT("counter-advance");
        return write_fixed(e, "counters", raw, sizeof(raw), err);
}

static int emul_counter_list(struct rot *r, char names[][ROT_COUNTER_NAME_MAX + 1],
                             uint64_t *values, size_t max, struct rp_err *err)
{
        struct counters c;
        int rc = counters_load((struct rot_emul *)r, &c, err);
        size_t i;

        if (rc < 0)
                return rc;
        for (i = 0; i < c.n && i < max; i++) {
                memcpy(names[i], c.name[i], sizeof(c.name[i]));
                values[i] = c.value[i];
        }
        return (int)i;
}

static int nv_path(struct rot_emul *e, const char *name, char **ret, struct rp_err *err)
{
        if (!rot_name_valid(name, ROT_NV_NAME_MAX) || !strcmp(name, "fuses") ||
            !strcmp(name, "counters"))
                return rp_err_set(err, -EINVAL, "invalid NV blob name '%.40s'", name);
        *ret = path_of(e, name);
        return *ret ? 0 : rp_err_set(err, -ENOMEM, "out of memory");
}

static int emul_nv_read(struct rot *r, const char *name, uint8_t **ret, size_t *ret_len,
                        struct rp_err *err)
{
        _cleanup_free_ char *path = NULL;
        int rc = nv_path((struct rot_emul *)r, name, &path, err);
        if (rc < 0)
                return rc;
        return rp_read_file(path, ROT_NV_MAX, ret, ret_len, err);
}

static int emul_nv_write(struct rot *r, const char *name, const void *data, size_t len,
                         struct rp_err *err)
{
        _cleanup_free_ char *path = NULL;
        int rc = nv_path((struct rot_emul *)r, name, &path, err);
        if (rc < 0)
                return rc;
        if (len > ROT_NV_MAX)
                return rp_err_set(err, -EFBIG, "NV blob '%s' of %zu bytes is over the limit of %d",
                                  name, len, ROT_NV_MAX);
        return rp_write_file_atomic(path, data, len, 0600, err);
}

static void emul_close(struct rot *r)
{
        struct rot_emul *e = (struct rot_emul *)r;
        free(e->dir);
        free(e);
}

static const struct rot_ops emul_ops = {
        .name = "emulated",
        .fuses_read = emul_fuses_read,
        .uds_read = emul_uds_read,
        .program = emul_program,
        .lock = emul_lock,
        .counter_read = emul_counter_read,
        .counter_advance = emul_counter_advance,
        .counter_list = emul_counter_list,
        .nv_read = emul_nv_read,
        .nv_write = emul_nv_write,
        .close = emul_close,
};

static int open_common(const char *dir, bool create, struct rot **ret, struct rp_err *err)
{
        struct rot_emul *e;
        struct stat st;
        int r;

        if (create) {
                r = rp_mkdir_p(dir, 0700);
                if (r < 0)
                        return rp_err_set(err, r, "cannot create device directory '%s': %s", dir,
                                          strerror(-r));
        }
        if (stat(dir, &st) < 0)
                return rp_err_set(err, -errno, "device directory '%s': %s", dir, strerror(errno));
        if (!S_ISDIR(st.st_mode))
                return rp_err_set(err, -ENOTDIR, "device '%s' is not a directory", dir);
        e = calloc(1, sizeof(*e));
        if (!e || !(e->dir = strdup(dir))) {
                free(e);
                return rp_err_set(err, -ENOMEM, "out of memory");
        }
        e->base.ops = &emul_ops;
        *ret = &e->base;
        return 0;
}

int rot_emul_open(const char *dir, struct rot **ret, struct rp_err *err)
{
        return open_common(dir, false, ret, err);
}

int rot_emul_create(const char *dir, struct rot **ret, struct rp_err *err)
{
        return open_common(dir, true, ret, err);
}

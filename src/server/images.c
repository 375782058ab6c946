/* images.c - image package upload (tenant app images, platform OS images),
 * listing, and the device download with Range (docs/updates.md section 6).
 *
 * Upload rule: the package must verify with a key that signed the uploaded
 * targets metadata (a key of the tenant's delegation, or of the platform
 * targets role), and that metadata must list the package under its own name
 * with exactly its SHA-256, length, component id, type, version and svn.
 * The blob is written content-addressed (<data>/blobs/<sha256>, atomic)
 * only after every check passed; nothing is stored on a refusal. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "crypto/crypto.h"
#include "image/image.h"
#include "lib/cleanup.h"
#include "lib/encode.h"
#include "lib/fileio.h"
#include "lib/log.h"
#include "server/director.h"
#include "server/repo.h"
#include "server/routes.h"
#include "server/srv_int.h"
#include "store/images.h"
#include "store/repo.h"

/* The framework's largest body; base64 makes a package 4/3 larger. */
#define IMAGE_UPLOAD_MAX_B64 (SRV_MAX_BODY_LARGE - TUF_MAX_TARGETS - 4096)

static json_t *image_json(const struct store_image *m)
{
        return json_pack("{s:s,s:s?,s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:s,s:s,s:s,s:o}", "id", m->id,
                         "tenant_id", m->tenant_id[0] ? m->tenant_id : NULL, "name", m->name,
                         "component_id", m->component_id, "type", m->type, "package_name",
                         m->pkg_name, "version", m->version, "svn", (json_int_t)m->svn, "length",
                         (json_int_t)m->length, "sha256", m->sha256, "fwid", m->fwid, "feed",
                         m->feed, "created_at", srv_json_time(m->created_ms));
}

static void blob_path(struct srv *s, const char *sha, char *buf, size_t n)
{
        snprintf(buf, n, "%s/blobs/%s", s->data_dir, sha);
}

/* ---- upload sessions: a package sent in pieces ----
 *
 * The framework buffers a request body (at most SRV_MAX_BODY_LARGE), so a
 * large package arrives in pieces into <data>/uploads/<owner>/<upl_id>
 * (owner: the tenant id or "platform"; 0600), each piece appended at the
 * offset the client names (which must be the current size, so a client
 * resumes by asking where it stands). The finishing image upload names the
 * session instead of carrying the package. A session file is not store
 * state; it is consumed by the finishing upload (either way) and removed
 * when older than SRV_UPLOAD_MAX_AGE_S. */
#define SRV_UPLOAD_MAX_AGE_S 86400
#define SRV_UPLOAD_MAX_SESSIONS 8               /* per owner */
#define SRV_UPLOAD_MAX_SIZE (UINT64_C(4) << 30)  /* one package */
#define SRV_UPLOAD_PIECE_B64 (SRV_MAX_BODY_LARGE - 4096)

static void uploads_dir(struct srv *s, const char *owner, char *buf, size_t n)
{
        snprintf(buf, n, "%s/uploads/%s", s->data_dir, owner[0] ? owner : "platform");
}

/* Removes stale session files; returns how many remain. */
static size_t uploads_sweep(const char *dir)
{
        DIR *d = opendir(dir);
        size_t left = 0;
        time_t now = time(NULL);
        if (!d)
                return 0;
        for (struct dirent *e; (e = readdir(d));) {
                struct stat sb;
                if (e->d_name[0] == '.' || fstatat(dirfd(d), e->d_name, &sb, 0) < 0)
                        continue;
                if (now - sb.st_mtime > SRV_UPLOAD_MAX_AGE_S)
                        (void)!unlinkat(dirfd(d), e->d_name, 0);
                else
                        left++;
        }
        closedir(d);
        return left;
}

static void session_create(struct srv_req *r, bool platform)
{
        struct srv *s = srv_req_server(r);
        struct rp_err err = {0};
        char dir[600], path[700], id[SRV_ID_BUF];
        uploads_dir(s, platform ? "" : srv_req_tenant(r), dir, sizeof(dir));
        if (rp_mkdir_p(dir, 0700) < 0) {
                rp_err_set(&err, -errno, "cannot create '%s': %s", dir, strerror(errno));
                return srv_reply_err(r, &err);
        }
        if (uploads_sweep(dir) >= SRV_UPLOAD_MAX_SESSIONS)
                return srv_reply_error(r, 409, "conflict", "%d upload sessions are open already; "
                                       "finish one or wait a day", SRV_UPLOAD_MAX_SESSIONS);
        if (srv_new_id("upl", id) < 0)
                return srv_reply_error(r, 503, "unavailable", "no randomness for an id");
        snprintf(path, sizeof(path), "%s/%s", dir, id);
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0) {
                rp_err_set(&err, -errno, "cannot create '%s': %s", path, strerror(errno));
                return srv_reply_err(r, &err);
        }
        close(fd);
        srv_audit_target(r, id);
        srv_reply_json(r, 201, json_pack("{s:s,s:I}", "id", id, "size", (json_int_t)0));
}

static const struct srv_field piece_fields[] = {
        {"offset", SRV_F_INT, SRV_F_REQUIRED, 0},
        {"data", SRV_F_STRING, SRV_F_REQUIRED, SRV_UPLOAD_PIECE_B64},
};

static int session_open(struct srv_req *r, bool platform, const char *id, int flags,
                        char path[700])
{
        char dir[600];
        if (!srv_id_valid("upl", id)) {
                srv_reply_error(r, 404, "not_found", "no upload session '%.60s'", id ? id : "");
                return -ENOENT;
        }
        uploads_dir(srv_req_server(r), platform ? "" : srv_req_tenant(r), dir, sizeof(dir));
        snprintf(path, 700, "%s/%s", dir, id);
        int fd = open(path, flags | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                srv_reply_error(r, 404, "not_found", "no upload session '%.60s'", id);
        return fd;
}

static void session_append(struct srv_req *r, bool platform)
{
        _cleanup_(json_decrefp) json_t *b = NULL;
        _cleanup_free_ uint8_t *data = NULL;
        _cleanup_close_ int fd = -1;
        size_t len = 0;
        char path[700];
        struct stat sb;
        /* the session first: another owner's id is 404 whatever the body */
        if ((fd = session_open(r, platform, srv_req_param(r, "upload"), O_WRONLY, path)) < 0)
                return;
        if (srv_req_json(r, SRV_FIELDS(piece_fields), &b) < 0)
                return;
        json_int_t off = json_integer_value(json_object_get(b, "offset"));
        json_t *jd = json_object_get(b, "data");
        if (fstat(fd, &sb) < 0)
                return srv_reply_error(r, 500, "internal", "cannot read the session's size");
        if (off != (json_int_t)sb.st_size)
                return srv_reply_error(r, 409, "conflict", "offset %lld is not the session's "
                                       "size %lld: continue from there", (long long)off,
                                       (long long)sb.st_size);
        if (rp_b64url_decode(json_string_value(jd), json_string_length(jd), &data, &len) < 0 ||
            !len)
                return srv_reply_error(r, 400, "bad_request", "data is not canonical base64url "
                                       "(no padding) of at least one byte");
        if ((uint64_t)sb.st_size + len > SRV_UPLOAD_MAX_SIZE)
                return srv_reply_error(r, 413, "payload_too_large", "a package may have at most "
                                       "%llu bytes", (unsigned long long)SRV_UPLOAD_MAX_SIZE);
        if (pwrite(fd, data, len, sb.st_size) != (ssize_t)len) {
                (void)!ftruncate(fd, sb.st_size);
                return srv_reply_error(r, 503, "unavailable", "cannot store the piece: %s",
                                       strerror(errno));
        }
        srv_reply_json(r, 200, json_pack("{s:s,s:I}", "id", srv_req_param(r, "upload"), "size",
                                         (json_int_t)(sb.st_size + (off_t)len)));
}

static void image_session_create(struct srv_req *r) { session_create(r, false); }
static void os_session_create(struct srv_req *r) { session_create(r, true); }
static void image_session_append(struct srv_req *r) { session_append(r, false); }
static void os_session_append(struct srv_req *r) { session_append(r, true); }

/* ---- finishing an upload ---- */

struct hashing_fd {
        int fd;
        struct cr_sha256_ctx *sha;
        uint64_t len;
};

static ssize_t hashing_read(void *ctx, void *buf, size_t len)
{
        struct hashing_fd *h = ctx;
        ssize_t n = img_fd_read(&h->fd, buf, len);
        if (n > 0) {
                cr_sha256_update(h->sha, buf, (size_t)n);
                h->len += (uint64_t)n;
        }
        return n;
}

/* Verifies the package file once, hashing exactly the bytes verified; no
 * byte may follow the package's signature records. */
static int verify_package(int fd, struct cr_key *const *keys, size_t n_keys,
                          struct img_meta *ret_meta, uint8_t ret_sha[32], uint64_t *ret_len,
                          struct rp_err *err)
{
        struct hashing_fd h = {.fd = fd, .sha = cr_sha256_new()};
        uint8_t tail[1];
        if (!h.sha)
                return rp_err_set(err, -ENOMEM, "out of memory");
        int k = img_verify(hashing_read, &h, keys, n_keys, ret_meta, err);
        if (k == 0 && hashing_read(&h, tail, sizeof(tail)) != 0)
                k = rp_err_set(err, -EBADMSG, "bytes follow the package's signature records");
        cr_sha256_final(h.sha, ret_sha);
        cr_sha256_free(h.sha);
        *ret_len = h.len;
        return k;
}

/* The package file to verify: the inline package written to a private
 * temporary file, or the named upload session. */
static int package_file(struct srv_req *r, bool platform, json_t *jp, json_t *ju, char path[700])
{
        struct srv *s = srv_req_server(r);
        _cleanup_free_ uint8_t *pkg = NULL;
        size_t len = 0;
        char dir[600];
        if (ju)
                return session_open(r, platform, json_string_value(ju), O_RDONLY, path);
        if (rp_b64url_decode(json_string_value(jp), json_string_length(jp), &pkg, &len) < 0 ||
            !len) {
                srv_reply_error(r, 400, "bad_request", "package is not canonical base64url (no "
                                "padding) of a non-empty file");
                return -EINVAL;
        }
        uploads_dir(s, platform ? "" : srv_req_tenant(r), dir, sizeof(dir));
        if (rp_mkdir_p(dir, 0700) < 0) {
                srv_reply_error(r, 503, "unavailable", "cannot create the upload directory");
                return -EIO;
        }
        snprintf(path, 700, "%s/.inline-XXXXXX", dir);
        int fd = mkostemp(path, O_CLOEXEC);
        if (fd < 0 || rp_write_all(fd, pkg, len) < 0 || lseek(fd, 0, SEEK_SET) != 0) {
                if (fd >= 0) {
                        close(fd);
                        unlink(path);
                }
                srv_reply_error(r, 503, "unavailable", "cannot store the package");
                return -EIO;
        }
        return fd;
}

static const struct srv_field upload_fields[] = {
        {"targets", SRV_F_STRING, SRV_F_REQUIRED, TUF_MAX_TARGETS},
        {"package", SRV_F_STRING, 0, IMAGE_UPLOAD_MAX_B64},
        {"upload", SRV_F_STRING, 0, 64},
        {"feed", SRV_F_STRING, 0, 16},
};

/* Compares the targets entry with the verified package, field by field. */
static int entry_matches(const struct tuf_image *t, const struct tuf_image *pkg,
                         struct rp_err *err)
{
        char a[65], b[65];
        if (memcmp(t->sha256, pkg->sha256, 32)) {
                rp_hex_encode(t->sha256, 32, a);
                rp_hex_encode(pkg->sha256, 32, b);
                return rp_err_set(err, -EPERM, "targets entry '%s': sha256 %.16s... differs from "
                                  "the package's %.16s...", t->name, a, b);
        }
        if (t->length != pkg->length)
                return rp_err_set(err, -EPERM, "targets entry '%s': length %llu differs from the "
                                  "package's %llu", t->name, (unsigned long long)t->length,
                                  (unsigned long long)pkg->length);
        if (t->svn != pkg->svn)
                return rp_err_set(err, -EPERM, "targets entry '%s': svn %llu differs from the "
                                  "package's %llu", t->name, (unsigned long long)t->svn,
                                  (unsigned long long)pkg->svn);
        if (t->type != pkg->type || strcmp(t->component_id, pkg->component_id) ||
            strcmp(t->version, pkg->version))
                return rp_err_set(err, -EPERM, "targets entry '%s': type, component id or "
                                  "version differ from the package's", t->name);
        return 0;
}

static void upload(struct srv_req *r, bool platform)
{
        struct srv *s = srv_req_server(r);
        struct store *st = srv_req_store(r);
        struct rp_err err = {0};
        struct srv_repo_targets_check c = {0};
        _cleanup_(json_decrefp) json_t *body = NULL;
        _cleanup_(store_tx_guard) struct store *tx = NULL;
        struct img_meta meta;
        struct tuf_image have;
        struct store_image im = {0};
        char role[STORE_REPO_ROLE_MAX] = "", path[700], tmp[700] = "", owner[STORE_ID_MAX];
        uint64_t pkg_len = 0;
        int64_t now_ms = srv_now_ms();
        bool blob_created = false;
        const char *tenant = platform ? "" : srv_req_tenant(r);
        int k, fd = -1;

        if (srv_req_json(r, SRV_FIELDS(upload_fields), &body) < 0)
                return;
        json_t *jt = json_object_get(body, "targets"), *jp = json_object_get(body, "package");
        json_t *ju = json_object_get(body, "upload"), *jf = json_object_get(body, "feed");
        const char *feed = jf ? json_string_value(jf) : "retail";
        if (!jp == !ju)
                return srv_reply_error(r, 400, "bad_request", "give exactly one of 'package' "
                                       "(inline) and 'upload' (an upload session id)");
        if (strcmp(feed, "retail") && strcmp(feed, "retail-eval"))
                return srv_reply_error(r, 400, "bad_request", "feed must be retail or "
                                       "retail-eval (got '%.20s')", feed);
        if (!platform && jf)
                return srv_reply_error(r, 400, "bad_request", "feed applies to OS images only");
        if (!platform && store_repo_role_of(st, tenant, role, &err) < 0)
                return srv_repo_reply_refusal(r, &err);
        if ((fd = package_file(r, platform, jp, ju, tmp)) < 0)
                return;
        k = srv_repo_check_targets(st, platform ? NULL : role, json_string_value(jt),
                                   json_string_length(jt), (time_t)(now_ms / 1000), &c, &err);
        if (k < 0) {
                srv_repo_reply_refusal(r, &err);
                goto out;
        }

        /* the package, verified with the keys that signed the targets */
        memset(&have, 0, sizeof(have));
        k = verify_package(fd, c.signers, c.n_signers, &meta, have.sha256, &pkg_len, &err);
        if (k < 0) {
                srv_reply_error(r, 403, "forbidden", "package refused: %s (it must be signed by "
                                "a key that signed the %s targets metadata)", err.msg,
                                platform ? "platform" : "tenant's delegated");
                goto out;
        }
        if (!platform && meta.type == IMG_TYPE_OS) {
                srv_reply_error(r, 403, "forbidden", "package '%s' is an OS image: OS images are "
                                "published by the platform operator", meta.name);
                goto out;
        }
        if (platform && meta.type != IMG_TYPE_OS) {
                srv_reply_error(r, 403, "forbidden", "package '%s' is an app image: app images "
                                "are uploaded by their tenant", meta.name);
                goto out;
        }
        have.length = pkg_len;
        have.svn = meta.svn;
        have.type = meta.type == IMG_TYPE_OS ? TUF_IMAGE_OS : TUF_IMAGE_APP;
        snprintf(have.component_id, sizeof(have.component_id), "%s", meta.component_id);
        snprintf(have.version, sizeof(have.version), "%s", meta.version);
        snprintf(have.name, sizeof(have.name), "%s/%s/%s", platform ? "platform" : role,
                 meta.component_id, meta.version);
        const struct tuf_image *entry = tuf_targets_find(&c.t, have.name);
        if (!entry) {
                srv_reply_error(r, 403, "forbidden", "%s targets version %llu do not list '%s'",
                                platform ? "platform" : "delegated",
                                (unsigned long long)c.t.version, have.name);
                goto out;
        }
        if (entry_matches(entry, &have, &err) < 0) {
                srv_reply_error(r, 403, "forbidden", "%s", err.msg);
                goto out;
        }
        /* a component belongs to whoever published it first */
        k = store_image_component_owner(st, meta.component_id, owner, &err);
        if (k < 0 && k != -ENOENT) {
                srv_reply_err(r, &err);
                goto out;
        }
        if (k == 0 && strcmp(owner, tenant)) {
                srv_reply_error(r, 403, "forbidden", "component '%s' belongs to %s; it cannot "
                                "be published by this %s", meta.component_id,
                                owner[0] ? "another tenant" : "the platform",
                                platform ? "platform operator" : "tenant");
                goto out;
        }

        if (srv_new_id("img", im.id) < 0) {
                srv_reply_error(r, 503, "unavailable", "no randomness for an id");
                goto out;
        }
        snprintf(im.tenant_id, sizeof(im.tenant_id), "%s", tenant);
        snprintf(im.name, sizeof(im.name), "%s", have.name);
        snprintf(im.component_id, sizeof(im.component_id), "%s", meta.component_id);
        snprintf(im.type, sizeof(im.type), "%s", platform ? "os" : "app");
        snprintf(im.pkg_name, sizeof(im.pkg_name), "%s", meta.name);
        snprintf(im.version, sizeof(im.version), "%s", meta.version);
        im.svn = meta.svn;
        im.length = (int64_t)pkg_len;
        rp_hex_encode(have.sha256, 32, im.sha256);
        rp_hex_encode(meta.image_digest, 32, im.fwid);
        snprintf(im.feed, sizeof(im.feed), "%s", platform ? feed : "retail");
        im.created_ms = now_ms;

        /* the verified file becomes the blob (content-addressed: an existing
         * blob holds these bytes already), then the records in one
         * transaction */
        snprintf(path, sizeof(path), "%s/blobs", s->data_dir);
        if (rp_mkdir_p(path, 0700) < 0) {
                rp_err_set(&err, -errno, "cannot create '%s': %s", path, strerror(errno));
                srv_reply_err(r, &err);
                goto out;
        }
        blob_path(s, im.sha256, path, sizeof(path));
        if (access(path, F_OK) != 0) {
                if (fsync(fd) < 0 || (k = rp_rename_durable(tmp, path, &err)) < 0) {
                        if (!err.msg[0])
                                rp_err_set(&err, -EIO, "cannot store the blob");
                        srv_reply_err(r, &err);
                        goto out;
                }
                tmp[0] = 0;
                blob_created = true;
        }
        if ((k = store_tx_begin(st, &err)) < 0) {
                srv_reply_err(r, &err);
                goto out;
        }
        tx = st;
        if (c.is_new && (k = srv_repo_store_targets(st, platform ? NULL : role, tenant,
                                                    json_string_value(jt),
                                                    json_string_length(jt), &c, now_ms,
                                                    &err)) < 0) {
                srv_reply_err(r, &err);
                goto out;
        }
        if ((k = store_image_create(st, &im, &err)) < 0 || (k = store_tx_commit(st, &err)) < 0) {
                srv_reply_err(r, &err);
                goto out;
        }
        tx = NULL;
        blob_created = false;
        if (srv_repo_publish(s, now_ms, &err) < 0)
                rp_warn("repo", "publishing after an image upload: %s", err.msg);
        rp_info("repo", "image %s uploaded: %s sha256 %.16s... (%llu bytes)", im.id, im.name,
                im.sha256, (unsigned long long)pkg_len);
        srv_audit_target(r, im.id);
        srv_audit_detail(r, "%s", im.name);
        srv_reply_json(r, 201, image_json(&im));
out:
        if (tx) {
                store_tx_rollback(st);
                tx = NULL;
        }
        if (blob_created && unlink(path) < 0)
                rp_warn("repo", "removing '%s' after a refused upload: %s", path, strerror(errno));
        /* the inline file or the session is consumed either way */
        if (tmp[0] && unlink(tmp) < 0)
                rp_warn("repo", "removing '%s': %s", tmp, strerror(errno));
        if (fd >= 0)
                close(fd);
        srv_repo_targets_check_clear(&c);
}

static void image_upload(struct srv_req *r) { upload(r, false); }
static void os_image_upload(struct srv_req *r) { upload(r, true); }

static void list(struct srv_req *r, const char *tenant)
{
        struct srv_page pg;
        struct rp_err err = {0};
        _cleanup_free_ struct store_image *items = NULL;
        size_t n = 0;
        int64_t next = 0;
        if (srv_req_page(r, &pg) < 0)
                return;
        if (store_image_list(srv_req_store(r), tenant, pg.after, pg.limit, &items, &n, &next,
                             &err) < 0)
                return srv_reply_err(r, &err);
        json_t *a = json_array();
        for (size_t i = 0; i < n; i++)
                json_array_append_new(a, image_json(&items[i]));
        srv_reply_page(r, a, next);
}

static void image_list(struct srv_req *r) { list(r, srv_req_tenant(r)); }
static void os_image_list(struct srv_req *r) { list(r, ""); }

static void image_get(struct srv_req *r)
{
        struct rp_err err = {0};
        struct store_image im;
        const char *id = srv_req_param(r, "image");
        if (!srv_id_valid("img", id))
                return srv_reply_error(r, 404, "not_found", "no image '%.60s'", id);
        if (store_image_get(srv_req_store(r), srv_req_tenant(r), id, &im, &err) < 0)
                return srv_reply_err(r, &err);
        srv_reply_json(r, 200, image_json(&im));
}

/* ---- device download ---- */

static bool parse_u64(const char *s, size_t n, uint64_t *ret)
{
        uint64_t v = 0;
        if (!n || n > 19)
                return false;
        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return false;
                v = v * 10 + (uint64_t)(s[i] - '0');
        }
        *ret = v;
        return true;
}

/* One range of "bytes=A-B", "bytes=A-" or "bytes=-N" within a file of
 * `size` bytes: 0 with [*first, *last], -ERANGE when unsatisfiable or not
 * one well-formed byte range. */
static int parse_range(const char *h, uint64_t size, uint64_t *first, uint64_t *last)
{
        if (strncmp(h, "bytes=", 6))
                return -ERANGE;
        h += 6;
        const char *dash = strchr(h, '-');
        if (!dash || strchr(h, ','))
                return -ERANGE;
        size_t a_len = (size_t)(dash - h), b_len = strlen(dash + 1);
        uint64_t a = 0, b = 0;
        if (!a_len) {
                if (!parse_u64(dash + 1, b_len, &b) || b == 0 || size == 0)
                        return -ERANGE;
                *first = b >= size ? 0 : size - b;
                *last = size - 1;
                return 0;
        }
        if (!parse_u64(h, a_len, &a) || a >= size)
                return -ERANGE;
        if (b_len) {
                if (!parse_u64(dash + 1, b_len, &b) || b < a)
                        return -ERANGE;
                if (b >= size)
                        b = size - 1;
        } else {
                b = size - 1;
        }
        *first = a;
        *last = b;
        return 0;
}

static void device_image_get(struct srv_req *r)
{
        struct srv *s = srv_req_server(r);
        struct rp_err err = {0};
        struct store_device dev;
        struct srv_assignment *a = NULL;
        const char *sha = srv_req_param(r, "sha256");
        const struct store_image *im = NULL;
        char path[700], cr[96];
        int fd = -1;
        struct stat sb;

        if (srv_device_authenticate(r, &dev) < 0)
                return;
        a = calloc(1, sizeof(*a));
        if (!a)
                return srv_reply_error(r, 503, "unavailable", "out of memory");
        if (srv_director_assignment(srv_req_store(r), &dev, a, &err) < 0) {
                srv_reply_err(r, &err);
                goto out;
        }
        for (size_t i = 0; sha && i < a->n && !im; i++)
                if (!strcmp(a->images[i].sha256, sha))
                        im = &a->images[i];
        if (!im) {
                srv_reply_error(r, 404, "not_found", "no image '%.64s' is assigned to this "
                                "device", sha ? sha : "");
                goto out;
        }
        blob_path(s, im->sha256, path, sizeof(path));
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &sb) < 0 || (uint64_t)sb.st_size != (uint64_t)im->length) {
                rp_error("repo", "blob '%s' of image %s is missing or has the wrong size", path,
                         im->id);
                srv_reply_error(r, 500, "internal", "the image blob is not available");
                goto out;
        }
        struct evkeyvalq *oh = evhttp_request_get_output_headers(r->ev);
        uint64_t size = (uint64_t)sb.st_size, first = 0, last = size - 1;
        const char *range = srv_req_header(r, "Range");
        int status = 200;
        evhttp_add_header(oh, "Accept-Ranges", "bytes");
        if (range) {
                if (parse_range(range, size, &first, &last) < 0) {
                        snprintf(cr, sizeof(cr), "bytes */%llu", (unsigned long long)size);
                        evhttp_add_header(oh, "Content-Range", cr);
                        srv_reply_error(r, 416, "range_not_satisfiable", "range '%.60s' is not "
                                        "one satisfiable byte range of this %llu-byte image",
                                        range, (unsigned long long)size);
                        goto out;
                }
                status = 206;
                snprintf(cr, sizeof(cr), "bytes %llu-%llu/%llu", (unsigned long long)first,
                         (unsigned long long)last, (unsigned long long)size);
                evhttp_add_header(oh, "Content-Range", cr);
        }
        /* the file goes out from the page cache (mapped, not copied into
         * the heap); on success the evbuffer owns fd */
        if (evbuffer_add_file(r->out, fd, (ev_off_t)first, (ev_off_t)(last - first + 1)) < 0) {
                rp_error("repo", "streaming '%s' failed", path);
                srv_reply_error(r, 500, "internal", "the image blob cannot be sent");
                goto out;
        }
        fd = -1;
        srv_reply_text(r, status, "application/octet-stream", NULL, 0);
out:
        if (fd >= 0)
                close(fd);
        free(a);
}

static const struct srv_route routes[] = {
        {"POST", "/api/v1/images", SRV_AUTH_CONTRIBUTOR, image_upload, "image.upload",
         SRV_MAX_BODY_LARGE},
        {"GET", "/api/v1/images", SRV_AUTH_READER, image_list, "image.list", 0},
        {"POST", "/api/v1/images/uploads", SRV_AUTH_CONTRIBUTOR, image_session_create,
         "image.upload_session_create", 0},
        {"POST", "/api/v1/images/uploads/{upload}", SRV_AUTH_CONTRIBUTOR, image_session_append,
         "image.upload_session_append", SRV_MAX_BODY_LARGE},
        {"GET", "/api/v1/images/{image}", SRV_AUTH_READER, image_get, "image.get", 0},
        {"POST", "/api/v1/os-images", SRV_AUTH_PLATFORM, os_image_upload, "os_image.upload",
         SRV_MAX_BODY_LARGE},
        {"GET", "/api/v1/os-images", SRV_AUTH_PLATFORM, os_image_list, "os_image.list", 0},
        {"POST", "/api/v1/os-images/uploads", SRV_AUTH_PLATFORM, os_session_create,
         "os_image.upload_session_create", 0},
        {"POST", "/api/v1/os-images/uploads/{upload}", SRV_AUTH_PLATFORM, os_session_append,
         "os_image.upload_session_append", SRV_MAX_BODY_LARGE},
        {"GET", "/device/v1/images/{sha256}", SRV_AUTH_DEVICE, device_image_get,
         "device.image_get", 0},
};
const struct srv_route_set srv_routes_images = SRV_ROUTE_SET(routes);

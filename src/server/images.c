/* images.c - image package upload (tenant app images, platform OS images),
 * listing, and the device download with Range (docs/updates.md section 6).
 *
 * Upload rule: the package must verify with a key that signed the uploaded
 * targets metadata (a key of the tenant's delegation, or of the platform
 * targets role), and that metadata must list the package under its own name
 * with exactly its SHA-256, length, component id, type, version and svn.
 * The blob is written content-addressed (<data>/blobs/<sha256>, atomic)
 * only after every check passed; nothing is stored on a refusal. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

struct mem_reader {
        const uint8_t *p;
        size_t len, off;
};

static ssize_t mem_read(void *ctx, void *buf, size_t len)
{
        struct mem_reader *m = ctx;
        size_t n = m->len - m->off < len ? m->len - m->off : len;
        memcpy(buf, m->p + m->off, n);
        m->off += n;
        return (ssize_t)n;
}

static void blob_path(struct srv *s, const char *sha, char *buf, size_t n)
{
        snprintf(buf, n, "%s/blobs/%s", s->data_dir, sha);
}

static const struct srv_field upload_fields[] = {
        {"targets", SRV_F_STRING, SRV_F_REQUIRED, TUF_MAX_TARGETS},
        {"package", SRV_F_STRING, SRV_F_REQUIRED, IMAGE_UPLOAD_MAX_B64},
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
        _cleanup_free_ uint8_t *pkg = NULL;
        _cleanup_(store_tx_guard) struct store *tx = NULL;
        struct img_meta meta;
        struct tuf_image have;
        struct store_image im = {0};
        char role[STORE_REPO_ROLE_MAX] = "", path[700], owner[STORE_ID_MAX];
        size_t pkg_len = 0;
        int64_t now_ms = srv_now_ms();
        bool blob_created = false;
        const char *tenant = platform ? "" : srv_req_tenant(r);
        int k;

        if (srv_req_json(r, SRV_FIELDS(upload_fields), &body) < 0)
                return;
        json_t *jt = json_object_get(body, "targets"), *jp = json_object_get(body, "package");
        json_t *jf = json_object_get(body, "feed");
        const char *feed = jf ? json_string_value(jf) : "retail";
        if (strcmp(feed, "retail") && strcmp(feed, "retail-eval"))
                return srv_reply_error(r, 400, "bad_request", "feed must be retail or "
                                       "retail-eval (got '%.20s')", feed);
        if (!platform && jf)
                return srv_reply_error(r, 400, "bad_request", "feed applies to OS images only");
        if (!platform && store_repo_role_of(st, tenant, role, &err) < 0)
                return srv_repo_reply_refusal(r, &err);
        if (rp_b64url_decode(json_string_value(jp), json_string_length(jp), &pkg, &pkg_len) < 0 ||
            !pkg_len)
                return srv_reply_error(r, 400, "bad_request", "package is not canonical "
                                       "base64url (no padding) of a non-empty file");
        k = srv_repo_check_targets(st, platform ? NULL : role, json_string_value(jt),
                                   json_string_length(jt), (time_t)(now_ms / 1000), &c, &err);
        if (k < 0)
                return srv_repo_reply_refusal(r, &err);

        /* the package, verified with the keys that signed the targets */
        struct mem_reader mr = {.p = pkg, .len = pkg_len};
        k = img_verify(mem_read, &mr, c.signers, c.n_signers, &meta, &err);
        if (k == 0 && mr.off != pkg_len)
                k = rp_err_set(&err, -EBADMSG, "%zu bytes follow the package's signatures",
                               pkg_len - mr.off);
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
        memset(&have, 0, sizeof(have));
        cr_sha256(pkg, pkg_len, have.sha256);
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

        /* the blob first (content-addressed: an existing file holds these
         * bytes already), then the records in one transaction */
        snprintf(path, sizeof(path), "%s/blobs", s->data_dir);
        if (rp_mkdir_p(path, 0700) < 0) {
                rp_err_set(&err, -errno, "cannot create '%s': %s", path, strerror(errno));
                srv_reply_err(r, &err);
                goto out;
        }
        blob_path(s, im.sha256, path, sizeof(path));
        if (access(path, F_OK) != 0) {
                if ((k = rp_write_file_atomic(path, pkg, pkg_len, 0600, &err)) < 0) {
                        srv_reply_err(r, &err);
                        goto out;
                }
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
        rp_info("repo", "image %s uploaded: %s sha256 %.16s... (%zu bytes)", im.id, im.name,
                im.sha256, pkg_len);
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
        srv_reply_text(r, status, "application/octet-stream", NULL, 0);
        /* the file goes out from the page cache; evbuffer owns fd now */
        if (evbuffer_add_file(r->out, fd, (ev_off_t)first, (ev_off_t)(last - first + 1)) < 0)
                rp_error("repo", "streaming '%s' failed", path);
        fd = -1;
out:
        if (fd >= 0)
                close(fd);
        free(a);
}

static const struct srv_route routes[] = {
        {"POST", "/api/v1/images", SRV_AUTH_CONTRIBUTOR, image_upload, "image.upload",
         SRV_MAX_BODY_LARGE},
        {"GET", "/api/v1/images", SRV_AUTH_READER, image_list, "image.list", 0},
        {"GET", "/api/v1/images/{image}", SRV_AUTH_READER, image_get, "image.get", 0},
        {"POST", "/api/v1/os-images", SRV_AUTH_PLATFORM, os_image_upload, "os_image.upload",
         SRV_MAX_BODY_LARGE},
        {"GET", "/api/v1/os-images", SRV_AUTH_PLATFORM, os_image_list, "os_image.list", 0},
        {"GET", "/device/v1/images/{sha256}", SRV_AUTH_DEVICE, device_image_get,
         "device.image_get", 0},
};
const struct srv_route_set srv_routes_images = SRV_ROUTE_SET(routes);

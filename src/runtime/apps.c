/* apps.c - installed apps and the development capability; see apps.h. */
#include "runtime/apps.h"

#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fileio.h"

#define INSTALLED "apps/installed"

/* Best effort: what cannot be removed now is an orphan the next install
 * of that version refuses by name. */
static void rm_quiet(const char *path)
{
        if (rp_rm_rf(path) < 0) {
                /* left behind */
        }
}

static void json_decref_p(json_t **j)
{
        if (*j)
                json_decref(*j);
}

static bool safe_version(const char *v)
{
        return v[0] && strcmp(v, ".") != 0 && strcmp(v, "..") != 0 && !strchr(v, '/');
}

static int read_manifest(const char *root, struct img_manifest *ret, struct rp_err *err)
{
        _cleanup_free_ uint8_t *json = NULL;
        char path[4200];
        size_t len;

        snprintf(path, sizeof(path), "%s/" IMG_MANIFEST_FILE, root);
        if (rp_read_file(path, IMG_MANIFEST_MAX_SIZE, &json, &len, err) < 0)
                return err ? err->code : -EIO;
        return img_manifest_parse(json, len, ret, err);
}

static int read_link_version(const char *dir, const char *name, char *out, size_t cap)
{
        char p[4200], t[IMG_MAX_VERSION + 8];
        snprintf(p, sizeof(p), "%s/%s", dir, name);
        ssize_t n = readlink(p, t, sizeof(t) - 1);
        if (n < 0)
                return -errno;
        t[n] = '\0';
        if (strncmp(t, "v/", 2) != 0 || !safe_version(t + 2) || strlen(t + 2) >= cap)
                return -EINVAL;
        snprintf(out, cap, "%s", t + 2);
        return 0;
}

static int load_one(const char *data_dir, const char *cid, struct rtd_app_info *ret, struct rp_err *err)
{
        char dir[4200];
        struct rtd_app_info a;

        memset(&a, 0, sizeof(a));
        snprintf(dir, sizeof(dir), "%s/" INSTALLED "/%s", data_dir, cid);
        if (read_link_version(dir, "current", a.version, sizeof(a.version)) < 0)
                return rp_err_set(err, -ENOENT, "app %s: no usable 'current' version link", cid);
        if (read_link_version(dir, "previous", a.previous, sizeof(a.previous)) < 0)
                a.previous[0] = '\0';
        snprintf(a.root, sizeof(a.root), "%s/v/%s", dir, a.version);
        if (read_manifest(a.root, &a.m, err) < 0)
                return rp_err_prefix(err, "app %s version %s", cid, a.version);
        if (strcmp(a.m.component_id, cid) != 0)
                return rp_err_set(err, -EINVAL, "app %s: its manifest names ComponentId %s", cid,
                                  a.m.component_id);
        *ret = a;
        return 0;
}

int rtd_apps_load(const char *data_dir, struct rtd_app_info **ret, size_t *ret_n, char *skipped,
                  size_t skipped_len)
{
        char dir[4200];
        _cleanup_free_ struct rtd_app_info *v = NULL;
        size_t n = 0;
        DIR *d;
        struct dirent *de;

        if (skipped && skipped_len)
                skipped[0] = '\0';
        v = calloc(RTD_APPS_MAX, sizeof(*v));
        if (!v)
                return -ENOMEM;
        snprintf(dir, sizeof(dir), "%s/" INSTALLED, data_dir);
        d = opendir(dir);
        if (!d && errno != ENOENT)
                return -errno;
        while (d && (de = readdir(d))) {
                uint8_t raw[16];
                struct rp_err e = {0};
                if (de->d_name[0] == '.' || img_uuid_parse(de->d_name, raw) < 0)
                        continue;
                if (n >= RTD_APPS_MAX || load_one(data_dir, de->d_name, &v[n], &e) < 0) {
                        if (skipped && skipped_len) {
                                size_t l = strlen(skipped);
                                snprintf(skipped + l, skipped_len - l, "%s%s", l ? "\n" : "",
                                         n >= RTD_APPS_MAX ? "too many apps installed" : e.msg);
                        }
                        continue;
                }
                n++;
        }
        if (d)
                closedir(d);
        *ret = steal_ptr(v);
        *ret_n = n;
        return 0;
}

static int set_link(const char *dir, const char *name, const char *version, struct rp_err *err)
{
        char tmp[4300], dst[4300], target[IMG_MAX_VERSION + 8];
        snprintf(tmp, sizeof(tmp), "%s/.%s.new", dir, name);
        snprintf(dst, sizeof(dst), "%s/%s", dir, name);
        snprintf(target, sizeof(target), "v/%s", version);
        (void)unlink(tmp);
        if (symlink(target, tmp) < 0)
                return rp_err_set(err, -errno, "cannot create '%s': %s", tmp, strerror(errno));
        return rp_rename_durable(tmp, dst, err);
}

int rtd_apps_stage(const char *data_dir, int fd, struct cr_key *const *trusted, size_t n_trusted,
                   struct rtd_app_info *ret_info, struct rp_err *err)
{
        _cleanup_free_ struct rtd_app_info *installed = NULL;
        _cleanup_free_ struct rtd_app_info *a = calloc(1, sizeof(*a));
        char base[4200], stage[4300], cdir[4300], vdir[4400], entry[4600];
        struct img_meta meta;
        uint8_t rnd[8];
        size_t n_inst = 0;
        struct stat st;
        int r;

        if (!a)
                return rp_err_set(err, -ENOMEM, "out of memory");
        snprintf(base, sizeof(base), "%s/" INSTALLED, data_dir);
        if ((r = rp_mkdir_p(base, 0700)) < 0)
                return rp_err_set(err, r, "cannot create '%s': %s", base, strerror(-r));
        if (cr_random(rnd, sizeof(rnd)) < 0)
                return rp_err_set(err, -EIO, "no randomness");
        snprintf(stage, sizeof(stage), "%s/.stage-%02x%02x%02x%02x%02x%02x%02x%02x", base, rnd[0], rnd[1],
                 rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
        if (lseek(fd, 0, SEEK_SET) < 0)
                return rp_err_set(err, -errno, "package: cannot seek: %s", strerror(errno));
        if ((r = img_extract_fd(fd, trusted, n_trusted, stage, NULL, &meta, err)) < 0)
                return rp_err_prefix(err, "package refused");
        if (meta.type != IMG_TYPE_APP) {
                r = rp_err_set(err, -EINVAL, "package refused: '%s' is an %s image, not an app", meta.name,
                               img_type_name(meta.type) ? img_type_name(meta.type) : "unknown");
                goto fail;
        }
        if (!safe_version(meta.version)) {
                r = rp_err_set(err, -EINVAL, "package refused: version '%s' is not usable", meta.version);
                goto fail;
        }
        if ((r = read_manifest(stage, &a->m, err)) < 0) {
                rp_err_prefix(err, "package refused: " IMG_MANIFEST_FILE);
                goto fail;
        }
        if (strcmp(a->m.component_id, meta.component_id) != 0) {
                r = rp_err_set(err, -EINVAL, "package refused: manifest ComponentId %s differs from the package's %s",
                               a->m.component_id, meta.component_id);
                goto fail;
        }
        snprintf(entry, sizeof(entry), "%s%s", stage, a->m.entry_point);
        if (stat(entry, &st) < 0 || !S_ISREG(st.st_mode) || !(st.st_mode & 0111)) {
                r = rp_err_set(err, -EINVAL, "package refused: EntryPoint '%s' is not an executable file in the image",
                               a->m.entry_point);
                goto fail;
        }
        /* single ownership of peripherals and server ports, against every
         * other installed app (its own older versions are not a conflict) */
        if ((r = rtd_apps_load(data_dir, &installed, &n_inst, NULL, 0)) < 0) {
                rp_err_set(err, r, "cannot list the installed apps: %s", strerror(-r));
                goto fail;
        }
        {
                const struct img_manifest *others[RTD_APPS_MAX];
                size_t k = 0;
                bool present = false;
                for (size_t i = 0; i < n_inst; i++) {
                        others[k++] = &installed[i].m;
                        if (!strcmp(installed[i].m.component_id, a->m.component_id))
                                present = true;
                        else if (!strcmp(installed[i].m.name, a->m.name)) {
                                r = rp_err_set(err, -EEXIST, "package refused: another app (%s) is already named '%s'",
                                               installed[i].m.component_id, a->m.name);
                                goto fail;
                        }
                }
                if (!present && n_inst >= RTD_APPS_MAX) {
                        r = rp_err_set(err, -ENOSPC, "package refused: %d apps are installed already", RTD_APPS_MAX);
                        goto fail;
                }
                if ((r = img_manifest_check_conflicts(&a->m, others, k, err)) < 0) {
                        rp_err_prefix(err, "package refused");
                        goto fail;
                }
        }
        snprintf(cdir, sizeof(cdir), "%s/%s/v", base, meta.component_id);
        if ((r = rp_mkdir_p(cdir, 0700)) < 0) {
                rp_err_set(err, r, "cannot create '%s': %s", cdir, strerror(-r));
                goto fail;
        }
        snprintf(vdir, sizeof(vdir), "%s/%s", cdir, meta.version);
        if (lstat(vdir, &st) == 0) {
                r = rp_err_set(err, -EEXIST, "package refused: version %s of app '%s' is already installed",
                               meta.version, a->m.name);
                goto fail;
        }
        if (rename(stage, vdir) < 0) {
                r = rp_err_set(err, -errno, "cannot move the image into '%s': %s", vdir, strerror(errno));
                goto fail;
        }
        if (rp_fsync_dir_of(vdir) < 0) {
                /* the next boot sees the version or not: both are consistent */
        }
        snprintf(a->version, sizeof(a->version), "%s", meta.version);
        snprintf(a->root, sizeof(a->root), "%s", vdir);
        *ret_info = *a;
        return 0;
fail:
        rm_quiet(stage);
        return r;
}

int rtd_apps_switch(const char *data_dir, const char *component_id, const char *version,
                    struct rp_err *err)
{
        char dir[4200], cur[IMG_MAX_VERSION + 1];
        int r;

        snprintf(dir, sizeof(dir), "%s/" INSTALLED "/%s", data_dir, component_id);
        if (read_link_version(dir, "current", cur, sizeof(cur)) == 0 && strcmp(cur, version) != 0) {
                char old[IMG_MAX_VERSION + 1];
                /* a previous version still kept goes now: only one is kept */
                if (read_link_version(dir, "previous", old, sizeof(old)) == 0 && strcmp(old, version) != 0 &&
                    strcmp(old, cur) != 0) {
                        char p[4400];
                        snprintf(p, sizeof(p), "%s/v/%s", dir, old);
                        rm_quiet(p);
                }
                if ((r = set_link(dir, "previous", cur, err)) < 0)
                        return r;
        }
        return set_link(dir, "current", version, err);
}

int rtd_apps_prune(const char *data_dir, const char *component_id, struct rp_err *err)
{
        char dir[4200], cur[IMG_MAX_VERSION + 1], old[IMG_MAX_VERSION + 1], p[4400];
        int r;

        snprintf(dir, sizeof(dir), "%s/" INSTALLED "/%s", data_dir, component_id);
        if (read_link_version(dir, "previous", old, sizeof(old)) < 0)
                return 0;
        snprintf(p, sizeof(p), "%s/previous", dir);
        if (unlink(p) < 0)
                return rp_err_set(err, -errno, "cannot remove '%s': %s", p, strerror(errno));
        if (read_link_version(dir, "current", cur, sizeof(cur)) == 0 && strcmp(cur, old) == 0)
                return 0;
        snprintf(p, sizeof(p), "%s/v/%s", dir, old);
        if ((r = rp_rm_rf(p)) < 0 && r != -ENOENT)
                return rp_err_set(err, r, "cannot remove '%s': %s", p, strerror(-r));
        return 0;
}

void rtd_apps_unstage(const char *data_dir, const char *component_id, const char *version)
{
        char dir[4200], cur[IMG_MAX_VERSION + 1], p[4400];
        snprintf(dir, sizeof(dir), "%s/" INSTALLED "/%s", data_dir, component_id);
        if (read_link_version(dir, "current", cur, sizeof(cur)) == 0 && strcmp(cur, version) == 0)
                return;
        snprintf(p, sizeof(p), "%s/v/%s", dir, version);
        rm_quiet(p);
        if (read_link_version(dir, "current", cur, sizeof(cur)) < 0) {
                snprintf(p, sizeof(p), "%s", dir);
                rm_quiet(p);
        }
}

int rtd_apps_remove(const char *data_dir, const char *component_id, struct rp_err *err)
{
        char dir[4200];
        uint8_t raw[16];
        int r;
        if (img_uuid_parse(component_id, raw) < 0)
                return rp_err_set(err, -EINVAL, "'%s' is not a ComponentId", component_id);
        snprintf(dir, sizeof(dir), "%s/" INSTALLED "/%s", data_dir, component_id);
        if ((r = rp_rm_rf(dir)) < 0)
                return rp_err_set(err, r, r == -ENOENT ? "app %s is not installed" : "cannot remove app %s",
                                  component_id);
        return 0;
}

/* ---- development capability ---- */

void rtd_devcap_clear(struct rtd_devcap *c)
{
        for (size_t i = 0; i < c->n_keys; i++)
                cr_key_free(c->keys[i]);
        memset(c, 0, sizeof(*c));
}

int rtd_devcap_verify(const char *doc, size_t len, const char *server_ca_file, const char *ueid,
                      time_t now, struct rtd_devcap *ret, struct rp_err *err)
{
        _cleanup_(cr_cert_freep) struct cr_cert *ca = NULL;
        _cleanup_(cr_key_freep) struct cr_key *pub = NULL;
        _cleanup_free_ uint8_t *payload = NULL;
        _cleanup_(json_decref_p) json_t *o = NULL;
        struct rtd_devcap c;
        json_error_t je;
        size_t plen;
        int r;

        memset(&c, 0, sizeof(c));
        if (len == 0 || len > RTD_DEVCAP_MAX)
                return rp_err_set(err, -E2BIG, "development capability: %zu bytes, expected 1..%d", len,
                                  RTD_DEVCAP_MAX);
        if ((r = cr_cert_load_pem(server_ca_file, &ca, err)) < 0 || (r = cr_cert_pubkey(ca, &pub)) < 0)
                return rp_err_prefix(err, "development capability: server certificate '%s'", server_ca_file);
        while (len && (doc[len - 1] == '\n' || doc[len - 1] == '\r' || doc[len - 1] == ' '))
                len--;
        if ((r = cr_jws_verify(doc, len, pub, &payload, &plen, err)) < 0)
                return rp_err_prefix(err, "development capability: not signed by the service");
        o = json_loadb((const char *)payload, plen, JSON_REJECT_DUPLICATES, &je);
        if (!json_is_object(o))
                return rp_err_set(err, -EBADMSG, "development capability: payload is not a JSON object");
        const char *cap = json_string_value(json_object_get(o, "capability"));
        const char *u = json_string_value(json_object_get(o, "ueid"));
        json_t *iat = json_object_get(o, "iat"), *exp = json_object_get(o, "exp"),
               *keys = json_object_get(o, "keys");
        if (!cap || strcmp(cap, "development") != 0)
                return rp_err_set(err, -EINVAL, "development capability: 'capability' is '%s', expected 'development'",
                                  cap ? cap : "(missing)");
        if (!u || strlen(u) >= sizeof(c.ueid))
                return rp_err_set(err, -EINVAL, "development capability: 'ueid' missing");
        if (strcmp(u, ueid) != 0)
                return rp_err_set(err, -EPERM, "development capability is for device %s, this device is %s", u,
                                  ueid);
        if (!json_is_integer(iat) || !json_is_integer(exp))
                return rp_err_set(err, -EINVAL, "development capability: 'iat' and 'exp' must be integers");
        c.iat = (time_t)json_integer_value(iat);
        c.exp = (time_t)json_integer_value(exp);
        if (now >= c.exp)
                return rp_err_set(err, -EKEYEXPIRED, "development capability expired at %lld (now %lld)",
                                  (long long)c.exp, (long long)now);
        if (!json_is_array(keys) || json_array_size(keys) == 0 || json_array_size(keys) > RTD_DEVCAP_MAX_KEYS)
                return rp_err_set(err, -EINVAL, "development capability: 'keys' must list 1..%d keys",
                                  RTD_DEVCAP_MAX_KEYS);
        snprintf(c.ueid, sizeof(c.ueid), "%s", u);
        for (size_t i = 0; i < json_array_size(keys); i++) {
                const char *pem = json_string_value(json_array_get(keys, i));
                if (!pem || cr_key_from_pem(pem, strlen(pem), &c.keys[c.n_keys], err) < 0) {
                        rtd_devcap_clear(&c);
                        return rp_err_set(err, -EINVAL, "development capability: keys[%zu] is not a public key", i);
                }
                c.n_keys++;
        }
        *ret = c;
        return 0;
}

int rtd_devcap_load(const char *data_dir, const char *server_ca_file, const char *ueid, time_t now,
                    struct rtd_devcap *ret, struct rp_err *err)
{
        _cleanup_free_ uint8_t *doc = NULL;
        char path[4200];
        size_t len;
        int r;

        snprintf(path, sizeof(path), "%s/" RTD_DEVCAP_FILE, data_dir);
        if (access(path, F_OK) < 0)
                return rp_err_set(err, -ENOENT, "this device has no development capability (the service grants "
                                  "one: POST /api/v1/devices/%s/capabilities/development, then `rampart dev "
                                  "grant`)", ueid);
        if ((r = rp_read_file(path, RTD_DEVCAP_MAX, &doc, &len, err)) < 0)
                return r;
        return rtd_devcap_verify((const char *)doc, len, server_ca_file, ueid, now, ret, err);
}

int rtd_devcap_store(const char *data_dir, const char *doc, size_t len, const char *server_ca_file,
                     const char *ueid, time_t now, struct rtd_devcap *ret, struct rp_err *err)
{
        char path[4200];
        int r;

        if ((r = rtd_devcap_verify(doc, len, server_ca_file, ueid, now, ret, err)) < 0)
                return r;
        snprintf(path, sizeof(path), "%s/capabilities", data_dir);
        if ((r = rp_mkdir_p(path, 0700)) < 0) {
                rtd_devcap_clear(ret);
                return rp_err_set(err, r, "cannot create '%s': %s", path, strerror(-r));
        }
        snprintf(path, sizeof(path), "%s/" RTD_DEVCAP_FILE, data_dir);
        if ((r = rp_write_file_atomic(path, doc, len, 0600, err)) < 0)
                rtd_devcap_clear(ret);
        return r;
}

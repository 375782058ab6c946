/* meta.c - see meta.h. */
#include "tuf/meta.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "crypto/crypto.h"
#include "lib/encode.h"
#include "tuf/json.h"

#define MAX_SPKI 256

static const char *const role_names[TUF_ROLE_COUNT] = {
        [TUF_ROLE_ROOT] = "root",           [TUF_ROLE_TARGETS] = "targets",
        [TUF_ROLE_SNAPSHOT] = "snapshot",   [TUF_ROLE_TIMESTAMP] = "timestamp",
        [TUF_ROLE_DIRECTOR] = "director",
};

const char *tuf_role_name(enum tuf_role r)
{
        return (unsigned)r < TUF_ROLE_COUNT ? role_names[r] : "?";
}

int tuf_role_from_name(const char *name)
{
        for (int i = 0; i < TUF_ROLE_COUNT; i++)
                if (!strcmp(name, role_names[i]))
                        return i;
        return -EINVAL;
}

const char *tuf_image_type_name(enum tuf_image_type t)
{
        return t == TUF_IMAGE_OS ? "os" : "app";
}

/* ---- name rules ---- */

static bool is_alnum(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Segments of [A-Za-z0-9._+-] (plus '*' '?' for patterns) separated by
 * single '/', no empty, "." or ".." segment. */
static bool valid_path(const char *s, bool pattern)
{
        size_t n = strlen(s), seg = 0;
        if (n == 0 || n > TUF_MAX_NAME)
                return false;
        for (size_t i = 0; i <= n; i++) {
                char c = s[i];
                if (c == '/' || c == '\0') {
                        if (seg == 0)
                                return false;
                        if ((seg == 1 && s[i - 1] == '.') ||
                            (seg == 2 && s[i - 1] == '.' && s[i - 2] == '.'))
                                return false;
                        seg = 0;
                        continue;
                }
                if (!(is_alnum(c) || c == '.' || c == '_' || c == '-' || c == '+' || c == '~' ||
                      (pattern && (c == '*' || c == '?'))))
                        return false;
                seg++;
        }
        return true;
}

bool tuf_valid_target_name(const char *s)
{
        return valid_path(s, false);
}

bool tuf_valid_path_pattern(const char *s)
{
        return valid_path(s, true);
}

bool tuf_valid_role_name(const char *s)
{
        size_t n = strlen(s);
        if (n == 0 || n > TUF_MAX_ROLE_NAME || s[0] == '-')
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
                        return false;
        /* a tenant may not take a top-level role's name */
        return tuf_role_from_name(s) < 0;
}

static bool valid_token(const char *s, size_t max, const char *extra)
{
        size_t n = strlen(s);
        if (n == 0 || n > max)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!is_alnum(s[i]) && !strchr(extra, s[i]))
                        return false;
        return true;
}

bool tuf_valid_component_id(const char *s)
{
        return valid_token(s, TUF_MAX_COMPONENT, "._-");
}

bool tuf_valid_version(const char *s)
{
        return valid_token(s, TUF_MAX_VERSION, ".+~_-");
}

bool tuf_path_match(const char *p, const char *s)
{
        /* iterative glob with one backtrack point; '*' stops at '/' */
        const char *star = NULL, *resume = NULL;
        while (*s) {
                if (*p == '*') {
                        star = p++;
                        resume = s;
                } else if (*p == *s || (*p == '?' && *s != '/')) {
                        p++;
                        s++;
                } else if (star && *resume != '/') {
                        p = star + 1;
                        s = ++resume;
                } else
                        return false;
        }
        while (*p == '*')
                p++;
        return *p == '\0';
}

/* ---- lookups ---- */

const struct tuf_image *tuf_targets_find(const struct tuf_targets *t, const char *name)
{
        for (size_t i = 0; i < t->n_targets; i++)
                if (!strcmp(t->targets[i].name, name))
                        return &t->targets[i];
        return NULL;
}

const struct tuf_delegation *tuf_targets_delegation(const struct tuf_targets *t, const char *role)
{
        for (size_t i = 0; i < t->n_delegations; i++)
                if (!strcmp(t->delegations[i].name, role))
                        return &t->delegations[i];
        return NULL;
}

const struct tuf_delegation *tuf_targets_delegation_for(const struct tuf_targets *t,
                                                        const char *name)
{
        for (size_t i = 0; i < t->n_delegations; i++)
                for (size_t j = 0; j < t->delegations[i].n_paths; j++)
                        if (tuf_path_match(t->delegations[i].paths[j], name))
                                return &t->delegations[i];
        return NULL;
}

const struct tuf_meta_entry *tuf_snapshot_find(const struct tuf_snapshot *s, const char *role)
{
        for (size_t i = 0; i < s->n_meta; i++)
                if (!strcmp(s->meta[i].role, role))
                        return &s->meta[i];
        return NULL;
}

void tuf_targets_free(struct tuf_targets *t)
{
        if (!t)
                return;
        free(t->targets);
        free(t->delegations);
        t->targets = NULL;
        t->delegations = NULL;
        t->n_targets = t->n_delegations = 0;
}

/* ---- parsing ---- */

static int parse_common(const json_t *o, const char *type, uint64_t *ret_version,
                        time_t *ret_expires, struct rp_err *err)
{
        char t[32], spec[16];
        int r;

        r = tuf_json_str(o, "_type", type, t, sizeof(t) - 1, err);
        if (r < 0)
                return r;
        if (strcmp(t, type))
                return rp_err_set(err, -EBADMSG, "%s: _type is '%s', expected '%s'", type, t,
                                  type);
        r = tuf_json_str(o, "spec_version", type, spec, sizeof(spec) - 1, err);
        if (r < 0)
                return r;
        if (strcmp(spec, TUF_SPEC_VERSION))
                return rp_err_set(err, -EBADMSG, "%s: spec_version is '%s', expected '%s'", type,
                                  spec, TUF_SPEC_VERSION);
        r = tuf_json_u64(o, "version", type, 1, TUF_MAX_META_VERSION, ret_version, err);
        if (r < 0)
                return r;
        return tuf_json_time(o, "expires", type, ret_expires, err);
}

static int parse_keys(const json_t *obj, const char *what, struct tuf_keyring *ring,
                      struct rp_err *err)
{
        static const char *const kf[] = {"keytype", "scheme", "public", NULL};
        const char *id_hex;
        json_t *v;
        char w[128];
        int r;

        if (json_object_size(obj) > TUF_MAX_KEYS)
                return rp_err_set(err, -EBADMSG, "%s: %zu keys, the limit is %d", what,
                                  json_object_size(obj), TUF_MAX_KEYS);
        json_object_foreach((json_t *)obj, id_hex, v) {
                struct tuf_key k;
                struct cr_key *ck = NULL;
                uint8_t id[CR_KEY_ID_LEN], *der = NULL;
                size_t der_len = 0;
                char kt[16], sc[32], pub[MAX_SPKI * 2];

                snprintf(w, sizeof(w), "%.40s: key '%.16s'", what, id_hex);
                r = tuf_hex_parse(id_hex, "keyid", w, k.id, CR_KEY_ID_LEN, err);
                if (r < 0)
                        return r;
                r = tuf_json_fields(v, w, kf, kf, err);
                if (r < 0)
                        return r;
                if ((r = tuf_json_str(v, "keytype", w, kt, sizeof(kt) - 1, err)) < 0 ||
                    (r = tuf_json_str(v, "scheme", w, sc, sizeof(sc) - 1, err)) < 0 ||
                    (r = tuf_json_str(v, "public", w, pub, sizeof(pub) - 1, err)) < 0)
                        return r;
                if (strcmp(kt, "ecdsa") || strcmp(sc, "ecdsa-sha2-nistp256"))
                        return rp_err_set(err, -EBADMSG,
                                          "%s: keytype '%s' scheme '%s' is not supported (only "
                                          "ecdsa / ecdsa-sha2-nistp256)", w, kt, sc);
                if (rp_b64url_decode(pub, strlen(pub), &der, &der_len) < 0)
                        return rp_err_set(err, -EBADMSG, "%s: public is not base64url", w);
                r = cr_key_pub_from_der(der, der_len, &ck, NULL);
                free(der);
                if (r < 0)
                        return rp_err_set(err, -EBADMSG, "%s: public is not a P-256 public key", w);
                r = cr_key_id(ck, id);
                if (r >= 0)
                        r = cr_key_pub_raw(ck, k.pub);
                cr_key_free(ck);
                if (r < 0)
                        return rp_err_set(err, r, "%s: cannot encode the public key", w);
                if (memcmp(id, k.id, CR_KEY_ID_LEN))
                        return rp_err_set(err, -EBADMSG,
                                          "%s: key id is not the SHA-256 of its public key", w);
                r = tuf_keyring_add(ring, &k);
                if (r < 0)
                        return rp_err_set(err, -EBADMSG, "%s: too many keys", what);
        }
        return 0;
}

static int parse_keyids(const json_t *o, const char *what, const struct tuf_keyring *ring,
                        struct tuf_role_keys *ret, struct rp_err *err)
{
        struct tuf_role_keys rk = {0};
        json_t *ids;
        int r;

        r = tuf_json_arr(o, "keyids", what, TUF_MAX_ROLE_KEYS, &ids, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < json_array_size(ids); i++) {
                uint8_t id[CR_KEY_ID_LEN];
                char hex[2 * CR_KEY_ID_LEN + 2];
                r = tuf_json_strv(json_array_get(ids, i), "keyids", what, hex, sizeof(hex) - 1,
                                  err);
                if (r < 0)
                        return r;
                r = tuf_hex_parse(hex, "keyids", what, id, CR_KEY_ID_LEN, err);
                if (r < 0)
                        return r;
                if (tuf_role_has(&rk, id))
                        return rp_err_set(err, -EBADMSG, "%s: key id listed twice", what);
                if (!tuf_keyring_find(ring, id))
                        return rp_err_set(err, -EBADMSG, "%s: key id %.16s... is not in 'keys'",
                                          what, hex);
                memcpy(rk.ids[rk.n++], id, CR_KEY_ID_LEN);
        }
        if (rk.n == 0)
                return rp_err_set(err, -EBADMSG, "%s: no key ids", what);
        r = tuf_json_u64(o, "threshold", what, 1, rk.n, &rk.threshold, err);
        if (r < 0)
                return r;
        *ret = rk;
        return 0;
}

int tuf_root_parse(const uint8_t *p, size_t len, struct tuf_root *ret, struct rp_err *err)
{
        static const char *const f[] = {"_type", "spec_version", "version", "expires",
                                        "keys", "roles", NULL};
        static const char *const rf[] = {"keyids", "threshold", NULL};
        static const char *const roles_f[] = {"root", "targets", "snapshot", "timestamp",
                                              "director", NULL};
        struct tuf_root *m = calloc(1, sizeof(*m));
        json_t *o = NULL, *keys, *roles, *v;
        char w[64];
        int r;

        if (!m)
                return rp_err_set(err, -ENOMEM, "out of memory");
        r = tuf_json_parse(p, len, TUF_MAX_ROOT, "root", &o, err);
        if (r < 0)
                goto out;
        if ((r = tuf_json_fields(o, "root", f, f, err)) < 0 ||
            (r = parse_common(o, "root", &m->version, &m->expires, err)) < 0 ||
            (r = tuf_json_obj(o, "keys", "root", &keys, err)) < 0 ||
            (r = parse_keys(keys, "root", &m->keys, err)) < 0 ||
            (r = tuf_json_obj(o, "roles", "root", &roles, err)) < 0 ||
            (r = tuf_json_fields(roles, "root: roles", roles_f, roles_f, err)) < 0)
                goto out;
        for (int i = 0; i < TUF_ROLE_COUNT; i++) {
                snprintf(w, sizeof(w), "root: role '%s'", role_names[i]);
                v = json_object_get(roles, role_names[i]);
                if ((r = tuf_json_fields(v, w, rf, rf, err)) < 0 ||
                    (r = parse_keyids(v, w, &m->keys, &m->roles[i], err)) < 0)
                        goto out;
        }
        *ret = *m;
        r = 0;
out:
        free(m);
        json_decref(o);
        return r;
}

static int parse_hashes(const json_t *o, const char *what, uint8_t out[32], struct rp_err *err)
{
        static const char *const hf[] = {"sha256", NULL};
        json_t *h;
        char w[160];
        int r = tuf_json_obj(o, "hashes", what, &h, err);
        if (r < 0)
                return r;
        snprintf(w, sizeof(w), "%s: hashes", what);
        r = tuf_json_fields(h, w, hf, hf, err);
        if (r < 0)
                return r;
        return tuf_json_hex(h, "sha256", w, out, 32, err);
}

bool tuf_image_name_ok(const struct tuf_image *img)
{
        const char *a = strchr(img->name, '/'), *b;
        size_t cl = strlen(img->component_id);
        if (!a)
                return false;
        b = a + 1;
        if (strncmp(b, img->component_id, cl) || b[cl] != '/')
                return false;
        return !strcmp(b + cl + 1, img->version);
}

/* The image description shared by targets "custom" and director images.
 * The name must be "<owner>/<component_id>/<version>": delegation path
 * patterns then bind component ids to tenants, and one name can never
 * stand for two versions. */
static int parse_image_fields(const json_t *o, const char *what, struct tuf_image *img,
                              struct rp_err *err)
{
        char type[16];
        int r;

        if ((r = tuf_json_str(o, "component_id", what, img->component_id, TUF_MAX_COMPONENT,
                              err)) < 0 ||
            (r = tuf_json_str(o, "type", what, type, sizeof(type) - 1, err)) < 0 ||
            (r = tuf_json_str(o, "version", what, img->version, TUF_MAX_VERSION, err)) < 0 ||
            (r = tuf_json_u64(o, "svn", what, 0, UINT32_MAX, &img->svn, err)) < 0)
                return r;
        if (!tuf_valid_component_id(img->component_id))
                return rp_err_set(err, -EBADMSG, "%s: component_id '%s' has invalid characters",
                                  what, img->component_id);
        if (!tuf_valid_version(img->version))
                return rp_err_set(err, -EBADMSG, "%s: version '%s' has invalid characters", what,
                                  img->version);
        if (!strcmp(type, "os"))
                img->type = TUF_IMAGE_OS;
        else if (!strcmp(type, "app"))
                img->type = TUF_IMAGE_APP;
        else
                return rp_err_set(err, -EBADMSG, "%s: type is '%s', expected 'os' or 'app'", what,
                                  type);
        if (!tuf_image_name_ok(img))
                return rp_err_set(err, -EBADMSG,
                                  "%s: name must be '<owner>/%s/%s' (owner, component id, version)",
                                  what, img->component_id, img->version);
        return 0;
}

static int parse_delegations(const json_t *d, struct tuf_targets *m, struct rp_err *err)
{
        static const char *const df[] = {"keys", "roles", NULL};
        static const char *const rf[] = {"name", "keyids", "threshold", "paths", NULL};
        json_t *keys, *roles;
        char w[96];
        int r;

        if ((r = tuf_json_fields(d, "targets: delegations", df, df, err)) < 0 ||
            (r = tuf_json_obj(d, "keys", "targets: delegations", &keys, err)) < 0 ||
            (r = parse_keys(keys, "targets: delegations", &m->dkeys, err)) < 0 ||
            (r = tuf_json_arr(d, "roles", "targets: delegations", TUF_MAX_DELEGATIONS, &roles,
                              err)) < 0)
                return r;
        m->delegations = calloc(json_array_size(roles) ? json_array_size(roles) : 1,
                                sizeof(*m->delegations));
        if (!m->delegations)
                return rp_err_set(err, -ENOMEM, "out of memory");
        for (size_t i = 0; i < json_array_size(roles); i++) {
                struct tuf_delegation *dl = &m->delegations[i];
                json_t *v = json_array_get(roles, i), *paths;

                snprintf(w, sizeof(w), "targets: delegation %zu", i);
                if ((r = tuf_json_fields(v, w, rf, rf, err)) < 0 ||
                    (r = tuf_json_str(v, "name", w, dl->name, TUF_MAX_ROLE_NAME, err)) < 0)
                        return r;
                if (!tuf_valid_role_name(dl->name))
                        return rp_err_set(err, -EBADMSG,
                                          "%s: role name '%s' is not allowed ([a-z0-9-], not a "
                                          "top-level role)", w, dl->name);
                if (tuf_targets_delegation(m, dl->name))
                        return rp_err_set(err, -EBADMSG, "%s: role '%s' is delegated twice", w,
                                          dl->name);
                snprintf(w, sizeof(w), "targets: delegation '%s'", dl->name);
                if ((r = parse_keyids(v, w, &m->dkeys, &dl->keys, err)) < 0 ||
                    (r = tuf_json_arr(v, "paths", w, TUF_MAX_PATHS, &paths, err)) < 0)
                        return r;
                for (size_t j = 0; j < json_array_size(paths); j++) {
                        r = tuf_json_strv(json_array_get(paths, j), "paths", w, dl->paths[j],
                                          TUF_MAX_NAME, err);
                        if (r < 0)
                                return r;
                        if (!tuf_valid_path_pattern(dl->paths[j]))
                                return rp_err_set(err, -EBADMSG, "%s: path pattern '%s' is invalid",
                                                  w, dl->paths[j]);
                        dl->n_paths++;
                }
                if (dl->n_paths == 0)
                        return rp_err_set(err, -EBADMSG, "%s: no paths", w);
                m->n_delegations++;
        }
        return 0;
}

int tuf_targets_parse(const uint8_t *p, size_t len, const char *delegated, struct tuf_targets *ret,
                      struct rp_err *err)
{
        static const char *const f[] = {"_type", "spec_version", "version", "expires",
                                        "targets", "delegations", NULL};
        static const char *const req[] = {"_type", "spec_version", "version", "expires",
                                          "targets", NULL};
        static const char *const tf[] = {"length", "hashes", "custom", NULL};
        static const char *const cf[] = {"component_id", "type", "version", "svn", NULL};
        struct tuf_targets *m = calloc(1, sizeof(*m));
        json_t *o = NULL, *targets, *d, *v;
        const char *name;
        char what[64], w[TUF_MAX_NAME + 96];
        size_t i = 0;
        int r;

        if (!m)
                return rp_err_set(err, -ENOMEM, "out of memory");
        snprintf(what, sizeof(what), delegated ? "targets '%.32s'" : "targets",
                 delegated ? delegated : "");
        r = tuf_json_parse(p, len, TUF_MAX_TARGETS, what, &o, err);
        if (r < 0)
                goto out;
        if ((r = tuf_json_fields(o, what, f, req, err)) < 0 ||
            (r = parse_common(o, "targets", &m->version, &m->expires, err)) < 0 ||
            (r = tuf_json_obj(o, "targets", what, &targets, err)) < 0)
                goto out;
        if (json_object_size(targets) > TUF_MAX_TARGET_COUNT) {
                r = rp_err_set(err, -EBADMSG, "%s: %zu targets, the limit is %d", what,
                               json_object_size(targets), TUF_MAX_TARGET_COUNT);
                goto out;
        }
        m->targets = calloc(json_object_size(targets) ? json_object_size(targets) : 1,
                            sizeof(*m->targets));
        if (!m->targets) {
                r = rp_err_set(err, -ENOMEM, "out of memory");
                goto out;
        }
        json_object_foreach(targets, name, v) {
                struct tuf_image *img = &m->targets[i];
                json_t *c;

                snprintf(w, sizeof(w), "%s: target '%.*s'", what, TUF_MAX_NAME, name);
                if (!tuf_valid_target_name(name)) {
                        r = rp_err_set(err, -EBADMSG, "%s: invalid target name", w);
                        goto out;
                }
                memcpy(img->name, name, strlen(name) + 1);
                if ((r = tuf_json_fields(v, w, tf, tf, err)) < 0 ||
                    (r = tuf_json_u64(v, "length", w, 1, TUF_MAX_IMAGE_LENGTH, &img->length,
                                      err)) < 0 ||
                    (r = parse_hashes(v, w, img->sha256, err)) < 0 ||
                    (r = tuf_json_obj(v, "custom", w, &c, err)) < 0 ||
                    (r = tuf_json_fields(c, w, cf, cf, err)) < 0 ||
                    (r = parse_image_fields(c, w, img, err)) < 0)
                        goto out;
                i++;
                m->n_targets = i;
        }
        d = json_object_get(o, "delegations");
        if (d) {
                if (delegated) {
                        r = rp_err_set(err, -EBADMSG, "%s: a delegated role may not delegate",
                                       what);
                        goto out;
                }
                r = parse_delegations(d, m, err);
                if (r < 0)
                        goto out;
        }
        *ret = *m;
        m->targets = NULL;
        m->delegations = NULL;
        r = 0;
out:
        tuf_targets_free(m);
        free(m);
        json_decref(o);
        return r;
}

int tuf_snapshot_parse(const uint8_t *p, size_t len, struct tuf_snapshot *ret, struct rp_err *err)
{
        static const char *const f[] = {"_type", "spec_version", "version", "expires", "meta",
                                        NULL};
        static const char *const mf[] = {"version", NULL};
        struct tuf_snapshot *m = calloc(1, sizeof(*m));
        json_t *o = NULL, *meta, *v;
        const char *name;
        char w[96];
        int r;

        if (!m)
                return rp_err_set(err, -ENOMEM, "out of memory");
        r = tuf_json_parse(p, len, TUF_MAX_SNAPSHOT, "snapshot", &o, err);
        if (r < 0)
                goto out;
        if ((r = tuf_json_fields(o, "snapshot", f, f, err)) < 0 ||
            (r = parse_common(o, "snapshot", &m->version, &m->expires, err)) < 0 ||
            (r = tuf_json_obj(o, "meta", "snapshot", &meta, err)) < 0)
                goto out;
        if (json_object_size(meta) > TUF_MAX_DELEGATIONS + 1) {
                r = rp_err_set(err, -EBADMSG, "snapshot: %zu meta entries, the limit is %d",
                               json_object_size(meta), TUF_MAX_DELEGATIONS + 1);
                goto out;
        }
        json_object_foreach(meta, name, v) {
                struct tuf_meta_entry *e = &m->meta[m->n_meta];
                size_t n = strlen(name);

                snprintf(w, sizeof(w), "snapshot: meta '%.48s'", name);
                if (n < 6 || n - 5 > TUF_MAX_ROLE_NAME || strcmp(name + n - 5, ".json")) {
                        r = rp_err_set(err, -EBADMSG, "%s: expected '<role>.json'", w);
                        goto out;
                }
                memcpy(e->role, name, n - 5);
                e->role[n - 5] = '\0';
                if (strcmp(e->role, "targets") && !tuf_valid_role_name(e->role)) {
                        r = rp_err_set(err, -EBADMSG, "%s: not a targets role", w);
                        goto out;
                }
                if ((r = tuf_json_fields(v, w, mf, mf, err)) < 0 ||
                    (r = tuf_json_u64(v, "version", w, 1, TUF_MAX_META_VERSION, &e->version,
                                      err)) < 0)
                        goto out;
                m->n_meta++;
        }
        if (!tuf_snapshot_find(m, "targets")) {
                r = rp_err_set(err, -EBADMSG, "snapshot: no entry for 'targets.json'");
                goto out;
        }
        *ret = *m;
        r = 0;
out:
        free(m);
        json_decref(o);
        return r;
}

int tuf_timestamp_parse(const uint8_t *p, size_t len, struct tuf_timestamp *ret,
                        struct rp_err *err)
{
        static const char *const f[] = {"_type", "spec_version", "version", "expires", "meta",
                                        NULL};
        static const char *const mf[] = {"snapshot.json", NULL};
        static const char *const sf[] = {"version", "length", "hashes", NULL};
        struct tuf_timestamp m = {0};
        json_t *o = NULL, *meta, *s;
        int r;

        r = tuf_json_parse(p, len, TUF_MAX_TIMESTAMP, "timestamp", &o, err);
        if (r < 0)
                return r;
        if ((r = tuf_json_fields(o, "timestamp", f, f, err)) < 0 ||
            (r = parse_common(o, "timestamp", &m.version, &m.expires, err)) < 0 ||
            (r = tuf_json_obj(o, "meta", "timestamp", &meta, err)) < 0 ||
            (r = tuf_json_fields(meta, "timestamp: meta", mf, mf, err)) < 0 ||
            (r = tuf_json_obj(meta, "snapshot.json", "timestamp: meta", &s, err)) < 0 ||
            (r = tuf_json_fields(s, "timestamp: snapshot.json", sf, sf, err)) < 0 ||
            (r = tuf_json_u64(s, "version", "timestamp: snapshot.json", 1, TUF_MAX_META_VERSION,
                              &m.snapshot_version, err)) < 0 ||
            (r = tuf_json_u64(s, "length", "timestamp: snapshot.json", 1, TUF_MAX_SNAPSHOT,
                              &m.snapshot_length, err)) < 0 ||
            (r = parse_hashes(s, "timestamp: snapshot.json", m.snapshot_sha256, err)) < 0)
                goto out;
        *ret = m;
out:
        json_decref(o);
        return r;
}

int tuf_director_parse(const uint8_t *p, size_t len, struct tuf_director *ret, struct rp_err *err)
{
        static const char *const f[] = {"_type", "spec_version", "version", "expires", "ueid",
                                        "images", NULL};
        static const char *const imf[] = {"name", "component_id", "type", "version", "svn",
                                          "length", "hashes", NULL};
        struct tuf_director *m = calloc(1, sizeof(*m));
        json_t *o = NULL, *imgs;
        char w[TUF_MAX_NAME + 64];
        int r;

        if (!m)
                return rp_err_set(err, -ENOMEM, "out of memory");
        r = tuf_json_parse(p, len, TUF_MAX_DIRECTOR, "director", &o, err);
        if (r < 0)
                goto out;
        if ((r = tuf_json_fields(o, "director", f, f, err)) < 0 ||
            (r = parse_common(o, "director", &m->version, &m->expires, err)) < 0 ||
            (r = tuf_json_str(o, "ueid", "director", m->ueid, TUF_MAX_UEID, err)) < 0 ||
            (r = tuf_json_arr(o, "images", "director", TUF_MAX_IMAGES, &imgs, err)) < 0)
                goto out;
        for (size_t i = 0; i < json_array_size(imgs); i++) {
                struct tuf_image *img = &m->images[i];
                json_t *v = json_array_get(imgs, i);

                snprintf(w, sizeof(w), "director: image %zu", i);
                if ((r = tuf_json_fields(v, w, imf, imf, err)) < 0 ||
                    (r = tuf_json_str(v, "name", w, img->name, TUF_MAX_NAME, err)) < 0)
                        goto out;
                snprintf(w, sizeof(w), "director: image '%s'", img->name);
                if (!tuf_valid_target_name(img->name)) {
                        r = rp_err_set(err, -EBADMSG, "%s: invalid name", w);
                        goto out;
                }
                for (size_t j = 0; j < i; j++)
                        if (!strcmp(m->images[j].name, img->name)) {
                                r = rp_err_set(err, -EBADMSG, "%s: listed twice", w);
                                goto out;
                        }
                if ((r = parse_image_fields(v, w, img, err)) < 0 ||
                    (r = tuf_json_u64(v, "length", w, 1, TUF_MAX_IMAGE_LENGTH, &img->length,
                                      err)) < 0 ||
                    (r = parse_hashes(v, w, img->sha256, err)) < 0)
                        goto out;
                m->n_images++;
        }
        *ret = *m;
        r = 0;
out:
        free(m);
        json_decref(o);
        return r;
}

/* ---- encoding ---- */

static json_t *common_json(const char *type, uint64_t version, time_t expires)
{
        char t[21];
        tuf_time_format(expires, t);
        return json_pack("{s:s,s:s,s:I,s:s}", "_type", type, "spec_version", TUF_SPEC_VERSION,
                         "version", (json_int_t)version, "expires", t);
}

static json_t *keys_json(const struct tuf_keyring *ring)
{
        json_t *o = json_object();
        for (size_t i = 0; o && i < ring->n; i++) {
                struct cr_key *ck = NULL;
                uint8_t *der = NULL;
                size_t der_len = 0;
                char hex[2 * CR_KEY_ID_LEN + 1], b64[MAX_SPKI * 2];
                json_t *k;

                if (cr_key_pub_from_raw(ring->keys[i].pub, &ck, NULL) < 0 ||
                    cr_key_pub_to_der(ck, &der, &der_len) < 0 || der_len > MAX_SPKI) {
                        cr_key_free(ck);
                        free(der);
                        json_decref(o);
                        return NULL;
                }
                cr_key_free(ck);
                rp_b64url_encode(der, der_len, b64);
                free(der);
                rp_hex_encode(ring->keys[i].id, CR_KEY_ID_LEN, hex);
                k = json_pack("{s:s,s:s,s:s}", "keytype", "ecdsa", "scheme", "ecdsa-sha2-nistp256",
                              "public", b64);
                if (!k || json_object_set_new(o, hex, k) < 0) {
                        json_decref(o);
                        return NULL;
                }
        }
        return o;
}

static json_t *keyids_json(const struct tuf_role_keys *rk)
{
        json_t *a = json_array();
        for (size_t i = 0; a && i < rk->n; i++) {
                char hex[2 * CR_KEY_ID_LEN + 1];
                rp_hex_encode(rk->ids[i], CR_KEY_ID_LEN, hex);
                if (json_array_append_new(a, json_string(hex)) < 0) {
                        json_decref(a);
                        return NULL;
                }
        }
        return a;
}

static json_t *hashes_json(const uint8_t sha256[32])
{
        char hex[65];
        rp_hex_encode(sha256, 32, hex);
        return json_pack("{s:s}", "sha256", hex);
}

/* Encodes, then parses the result back so the encoders can never produce
 * what a client would refuse. */
static int finish(json_t *o, const char *what, int (*check)(const char *, size_t, struct rp_err *),
                  char **ret, size_t *ret_len, struct rp_err *err)
{
        char *s = NULL;
        size_t n = 0;
        int r;

        if (!o)
                return rp_err_set(err, -ENOMEM, "%s: cannot build JSON (out of memory or a "
                                  "malformed key)", what);
        r = tuf_json_dump(o, &s, &n);
        json_decref(o);
        if (r < 0)
                return rp_err_set(err, r, "%s: cannot serialize", what);
        r = check(s, n, err);
        if (r < 0) {
                free(s);
                return rp_err_prefix(err, "refusing to write %s", what);
        }
        *ret = s;
        *ret_len = n;
        return 0;
}

static int check_root(const char *s, size_t n, struct rp_err *err)
{
        struct tuf_root m;
        return tuf_root_parse((const uint8_t *)s, n, &m, err);
}
static int check_targets(const char *s, size_t n, struct rp_err *err)
{
        struct tuf_targets m;
        int r = tuf_targets_parse((const uint8_t *)s, n, NULL, &m, err);
        tuf_targets_free(&m);
        return r;
}
static int check_snapshot(const char *s, size_t n, struct rp_err *err)
{
        struct tuf_snapshot *m = malloc(sizeof(*m));
        int r = m ? tuf_snapshot_parse((const uint8_t *)s, n, m, err) : -ENOMEM;
        free(m);
        return r;
}
static int check_timestamp(const char *s, size_t n, struct rp_err *err)
{
        struct tuf_timestamp m;
        return tuf_timestamp_parse((const uint8_t *)s, n, &m, err);
}
static int check_director(const char *s, size_t n, struct rp_err *err)
{
        struct tuf_director *m = malloc(sizeof(*m));
        int r = m ? tuf_director_parse((const uint8_t *)s, n, m, err) : -ENOMEM;
        free(m);
        return r;
}

int tuf_root_encode(const struct tuf_root *m, char **ret, size_t *ret_len, struct rp_err *err)
{
        json_t *o = common_json("root", m->version, m->expires), *roles = json_object();

        if (o && roles) {
                for (int i = 0; i < TUF_ROLE_COUNT; i++)
                        json_object_set_new(roles, role_names[i],
                                            json_pack("{s:o,s:I}", "keyids",
                                                      keyids_json(&m->roles[i]), "threshold",
                                                      (json_int_t)m->roles[i].threshold));
                if (json_object_set_new(o, "keys", keys_json(&m->keys)) < 0 ||
                    json_object_set(o, "roles", roles) < 0 ||
                    json_object_size(roles) != TUF_ROLE_COUNT) {
                        json_decref(o);
                        o = NULL;
                }
        } else {
                json_decref(o);
                o = NULL;
        }
        json_decref(roles);
        return finish(o, "root", check_root, ret, ret_len, err);
}

static json_t *image_custom_json(const struct tuf_image *img)
{
        return json_pack("{s:s,s:s,s:s,s:I}", "component_id", img->component_id, "type",
                         tuf_image_type_name(img->type), "version", img->version, "svn",
                         (json_int_t)img->svn);
}

static json_t *targets_json(const struct tuf_targets *m)
{
        json_t *o = common_json("targets", m->version, m->expires), *t = json_object();

        if (!o || !t)
                goto fail;
        for (size_t i = 0; i < m->n_targets; i++) {
                const struct tuf_image *img = &m->targets[i];
                json_t *e = json_pack("{s:I,s:o,s:o}", "length", (json_int_t)img->length,
                                      "hashes", hashes_json(img->sha256), "custom",
                                      image_custom_json(img));
                if (!e || json_object_set_new(t, img->name, e) < 0)
                        goto fail;
        }
        if (json_object_set(o, "targets", t) < 0)
                goto fail;
        json_decref(t);
        t = NULL;
        if (m->n_delegations || m->dkeys.n) {
                json_t *roles = json_array(), *d;
                for (size_t i = 0; roles && i < m->n_delegations; i++) {
                        const struct tuf_delegation *dl = &m->delegations[i];
                        json_t *paths = json_array();
                        for (size_t j = 0; paths && j < dl->n_paths; j++)
                                json_array_append_new(paths, json_string(dl->paths[j]));
                        if (json_array_append_new(roles, json_pack("{s:s,s:o,s:I,s:o}", "name",
                                                                   dl->name, "keyids",
                                                                   keyids_json(&dl->keys),
                                                                   "threshold",
                                                                   (json_int_t)dl->keys.threshold,
                                                                   "paths", paths)) < 0) {
                                json_decref(roles);
                                goto fail;
                        }
                }
                d = json_pack("{s:o,s:o}", "keys", keys_json(&m->dkeys), "roles", roles);
                if (!d || json_object_set_new(o, "delegations", d) < 0)
                        goto fail;
        }
        return o;
fail:
        json_decref(t);
        json_decref(o);
        return NULL;
}

int tuf_targets_encode(const struct tuf_targets *m, char **ret, size_t *ret_len,
                       struct rp_err *err)
{
        return finish(targets_json(m), "targets", check_targets, ret, ret_len, err);
}

int tuf_snapshot_encode(const struct tuf_snapshot *m, char **ret, size_t *ret_len,
                        struct rp_err *err)
{
        json_t *o = common_json("snapshot", m->version, m->expires), *meta = json_object();

        if (o && meta) {
                for (size_t i = 0; i < m->n_meta; i++) {
                        char k[TUF_MAX_ROLE_NAME + 8];
                        snprintf(k, sizeof(k), "%s.json", m->meta[i].role);
                        json_object_set_new(meta, k, json_pack("{s:I}", "version",
                                                               (json_int_t)m->meta[i].version));
                }
                if (json_object_set(o, "meta", meta) < 0) {
                        json_decref(o);
                        o = NULL;
                }
        } else {
                json_decref(o);
                o = NULL;
        }
        json_decref(meta);
        return finish(o, "snapshot", check_snapshot, ret, ret_len, err);
}

int tuf_timestamp_encode(const struct tuf_timestamp *m, char **ret, size_t *ret_len,
                         struct rp_err *err)
{
        json_t *o = common_json("timestamp", m->version, m->expires);
        json_t *s = json_pack("{s:{s:I,s:I,s:o}}", "snapshot.json", "version",
                              (json_int_t)m->snapshot_version, "length",
                              (json_int_t)m->snapshot_length, "hashes",
                              hashes_json(m->snapshot_sha256));
        if (!o || !s || json_object_set_new(o, "meta", s) < 0) {
                json_decref(o);
                o = NULL;
        }
        return finish(o, "timestamp", check_timestamp, ret, ret_len, err);
}

int tuf_director_encode(const struct tuf_director *m, char **ret, size_t *ret_len,
                        struct rp_err *err)
{
        json_t *o = common_json("director", m->version, m->expires), *imgs = json_array();

        if (o && imgs) {
                for (size_t i = 0; i < m->n_images; i++) {
                        const struct tuf_image *img = &m->images[i];
                        json_t *e = image_custom_json(img);
                        if (e) {
                                json_object_set_new(e, "name", json_string(img->name));
                                json_object_set_new(e, "length", json_integer((json_int_t)img->length));
                                json_object_set_new(e, "hashes", hashes_json(img->sha256));
                        }
                        json_array_append_new(imgs, e);
                }
                if (json_object_set_new(o, "ueid", json_string(m->ueid)) < 0 ||
                    json_object_set(o, "images", imgs) < 0 ||
                    json_array_size(imgs) != m->n_images) {
                        json_decref(o);
                        o = NULL;
                }
        } else {
                json_decref(o);
                o = NULL;
        }
        json_decref(imgs);
        return finish(o, "director", check_director, ret, ret_len, err);
}

/* client.c - see client.h.
 *
 * The rules follow the TUF specification's client workflow (section 5),
 * narrowed to what Rampart uses: no consistent snapshots, one level of
 * delegation, and the Uptane-style director as a sixth role. */
#include "tuf/client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "crypto/crypto.h"
#include "lib/encode.h"
#include "tuf/json.h"

#define STATE_FORMAT "rampart-tuf-state-1"

struct delegated {
        char role[TUF_MAX_ROLE_NAME + 1];
        struct tuf_targets t;
};

struct tuf_client {
        char ueid[TUF_MAX_UEID + 1];

        /* persisted */
        uint8_t *root_bytes;
        size_t root_len;
        struct tuf_root root;
        uint64_t timestamp_version, snapshot_version, director_version;
        size_t n_meta;                                  /* versions listed by the */
        struct tuf_meta_entry meta[TUF_MAX_DELEGATIONS + 1]; /* last trusted snapshot */

        /* verified in this session */
        bool have_timestamp, have_snapshot, have_targets, have_director;
        struct tuf_timestamp timestamp;
        struct tuf_snapshot snapshot;
        struct tuf_targets targets;
        size_t n_delegated;
        struct delegated delegated[TUF_MAX_DELEGATIONS];
        struct tuf_director director;
};

static void fmt_time(time_t t, char out[21])
{
        tuf_time_format(t, out);
}

static int check_expiry(const char *what, uint64_t version, time_t expires, time_t now,
                        struct rp_err *err)
{
        char e[21], n[21];
        if (now < expires)
                return 0;
        fmt_time(expires, e);
        fmt_time(now, n);
        return rp_err_set(err, -EKEYEXPIRED, "%s version %llu expired at %s (now %s)", what,
                          (unsigned long long)version, e, n);
}

static int open_envelope(const void *buf, size_t len, size_t max, const char *what,
                         struct tuf_envelope *ret, struct rp_err *err)
{
        if (len > max)
                return rp_err_set(err, -EFBIG, "%s: %zu bytes, the limit is %zu", what, len, max);
        return tuf_envelope_parse(buf, len, max, what, ret, err);
}

/* Root bytes that carry a threshold of their own root keys. */
static int root_self_verified(const void *buf, size_t len, struct tuf_root *ret,
                              struct rp_err *err)
{
        struct tuf_envelope e;
        struct tuf_root *m = malloc(sizeof(*m));
        int r;

        if (!m)
                return rp_err_set(err, -ENOMEM, "out of memory");
        r = open_envelope(buf, len, TUF_MAX_ROOT, "root", &e, err);
        if (r < 0)
                goto out;
        r = tuf_root_parse(e.payload, e.payload_len, m, err);
        if (r >= 0) {
                char what[48];
                snprintf(what, sizeof(what), "root version %llu", (unsigned long long)m->version);
                r = tuf_envelope_verify(&e, &m->keys, &m->roles[TUF_ROLE_ROOT], what, err);
        }
        tuf_envelope_free(&e);
        if (r >= 0)
                *ret = *m;
out:
        free(m);
        return r;
}

static struct tuf_client *client_alloc(const char *ueid, struct rp_err *err)
{
        struct tuf_client *c;

        if (!ueid || !*ueid || strlen(ueid) > TUF_MAX_UEID) {
                rp_err_set(err, -EINVAL, "device UEID is empty or longer than %d bytes",
                           TUF_MAX_UEID);
                return NULL;
        }
        c = calloc(1, sizeof(*c));
        if (!c) {
                rp_err_set(err, -ENOMEM, "out of memory");
                return NULL;
        }
        memcpy(c->ueid, ueid, strlen(ueid) + 1);
        return c;
}

static int set_root_bytes(struct tuf_client *c, const void *buf, size_t len)
{
        uint8_t *copy = malloc(len ? len : 1);
        if (!copy)
                return -ENOMEM;
        memcpy(copy, buf, len);
        free(c->root_bytes);
        c->root_bytes = copy;
        c->root_len = len;
        return 0;
}

int tuf_client_new_from_root(const void *root, size_t len, const char *ueid,
                             struct tuf_client **ret, struct rp_err *err)
{
        struct tuf_client *c = client_alloc(ueid, err);
        int r;

        if (!c)
                return err ? err->code : -EINVAL;
        r = root_self_verified(root, len, &c->root, err);
        if (r < 0)
                goto fail;
        if (set_root_bytes(c, root, len) < 0) {
                r = rp_err_set(err, -ENOMEM, "out of memory");
                goto fail;
        }
        *ret = c;
        return 0;
fail:
        tuf_client_free(c);
        return r;
}

static void clear_session(struct tuf_client *c)
{
        tuf_targets_free(&c->targets);
        for (size_t i = 0; i < c->n_delegated; i++)
                tuf_targets_free(&c->delegated[i].t);
        c->n_delegated = 0;
        c->have_timestamp = c->have_snapshot = c->have_targets = c->have_director = false;
}

void tuf_client_free(struct tuf_client *c)
{
        if (!c)
                return;
        clear_session(c);
        free(c->root_bytes);
        free(c);
}

/* ---- state ---- */

int tuf_client_save(const struct tuf_client *c, char **ret, size_t *ret_len, struct rp_err *err)
{
        char *b64 = malloc(rp_b64url_encoded_len(c->root_len) + 1);
        json_t *o = NULL, *meta = json_object();
        int r = -ENOMEM;

        if (!b64 || !meta)
                goto out;
        rp_b64url_encode(c->root_bytes, c->root_len, b64);
        for (size_t i = 0; i < c->n_meta; i++) {
                char k[TUF_MAX_ROLE_NAME + 8];
                snprintf(k, sizeof(k), "%s.json", c->meta[i].role);
                if (json_object_set_new(meta, k, json_integer((json_int_t)c->meta[i].version)) < 0)
                        goto out;
        }
        o = json_pack("{s:s,s:s,s:I,s:I,s:I,s:O}", "format", STATE_FORMAT, "root", b64,
                      "timestamp", (json_int_t)c->timestamp_version, "snapshot",
                      (json_int_t)c->snapshot_version, "director",
                      (json_int_t)c->director_version, "meta", meta);
        if (!o)
                goto out;
        r = tuf_json_dump(o, ret, ret_len);
out:
        free(b64);
        json_decref(meta);
        json_decref(o);
        if (r < 0)
                return rp_err_set(err, r, "cannot serialize client state: out of memory");
        return 0;
}

int tuf_client_load(const void *state, size_t len, const char *ueid, struct tuf_client **ret,
                    struct rp_err *err)
{
        static const char *const f[] = {"format", "root", "timestamp", "snapshot", "director",
                                        "meta", NULL};
        struct tuf_client *c = client_alloc(ueid, err);
        json_t *o = NULL, *meta, *v;
        char fmt[32];
        const char *name;
        uint8_t *root = NULL;
        size_t root_len = 0;
        json_t *jr;
        int r;

        if (!c)
                return err ? err->code : -EINVAL;
        r = tuf_json_parse(state, len, TUF_MAX_STATE, "client state", &o, err);
        if (r < 0)
                goto out;
        if ((r = tuf_json_fields(o, "client state", f, f, err)) < 0 ||
            (r = tuf_json_str(o, "format", "client state", fmt, sizeof(fmt) - 1, err)) < 0)
                goto out;
        if (strcmp(fmt, STATE_FORMAT)) {
                r = rp_err_set(err, -EBADMSG, "client state: format is '%s', expected '%s'", fmt,
                               STATE_FORMAT);
                goto out;
        }
        jr = json_object_get(o, "root");
        if (!json_is_string(jr) ||
            rp_b64url_decode(json_string_value(jr), json_string_length(jr), &root, &root_len) < 0) {
                r = rp_err_set(err, -EBADMSG, "client state: root is not base64url");
                goto out;
        }
        r = root_self_verified(root, root_len, &c->root, err);
        if (r < 0) {
                rp_err_prefix(err, "client state");
                goto out;
        }
        c->root_bytes = root;
        c->root_len = root_len;
        root = NULL;
        if ((r = tuf_json_u64(o, "timestamp", "client state", 0, TUF_MAX_META_VERSION,
                              &c->timestamp_version, err)) < 0 ||
            (r = tuf_json_u64(o, "snapshot", "client state", 0, TUF_MAX_META_VERSION,
                              &c->snapshot_version, err)) < 0 ||
            (r = tuf_json_u64(o, "director", "client state", 0, TUF_MAX_META_VERSION,
                              &c->director_version, err)) < 0 ||
            (r = tuf_json_obj(o, "meta", "client state", &meta, err)) < 0)
                goto out;
        if (json_object_size(meta) > TUF_MAX_DELEGATIONS + 1) {
                r = rp_err_set(err, -EBADMSG, "client state: too many meta entries");
                goto out;
        }
        json_object_foreach(meta, name, v) {
                struct tuf_meta_entry *e = &c->meta[c->n_meta];
                size_t n = strlen(name);
                json_t *wrap;
                if (n < 6 || n - 5 > TUF_MAX_ROLE_NAME || strcmp(name + n - 5, ".json")) {
                        r = rp_err_set(err, -EBADMSG, "client state: bad meta entry '%.40s'", name);
                        goto out;
                }
                memcpy(e->role, name, n - 5);
                e->role[n - 5] = '\0';
                if (strcmp(e->role, "targets") && !tuf_valid_role_name(e->role)) {
                        r = rp_err_set(err, -EBADMSG, "client state: bad meta entry '%.40s'", name);
                        goto out;
                }
                wrap = json_pack("{s:O}", "version", v);
                r = wrap ? tuf_json_u64(wrap, "version", "client state: meta", 1,
                                        TUF_MAX_META_VERSION, &e->version, err)
                         : rp_err_set(err, -ENOMEM, "out of memory");
                json_decref(wrap);
                if (r < 0)
                        goto out;
                c->n_meta++;
        }
        *ret = c;
        c = NULL;
        r = 0;
out:
        free(root);
        json_decref(o);
        tuf_client_free(c);
        return r;
}

/* ---- root ---- */

/* True when some key of `old` is no longer in `new`. */
static bool keys_removed(const struct tuf_role_keys *old, const struct tuf_role_keys *new)
{
        for (size_t i = 0; i < old->n; i++)
                if (!tuf_role_has(new, old->ids[i]))
                        return true;
        return false;
}

int tuf_client_update_root(struct tuf_client *c, const void *buf, size_t len, struct rp_err *err)
{
        struct tuf_envelope e;
        struct tuf_root *m = malloc(sizeof(*m));
        unsigned long long want = (unsigned long long)c->root.version + 1;
        char what[64];
        int r;

        if (!m)
                return rp_err_set(err, -ENOMEM, "out of memory");
        r = open_envelope(buf, len, TUF_MAX_ROOT, "root", &e, err);
        if (r < 0)
                goto out_free;
        /* first the keys we already trust, over the exact bytes */
        snprintf(what, sizeof(what), "new root (checked with the keys of root version %llu)",
                 (unsigned long long)c->root.version);
        r = tuf_envelope_verify(&e, &c->root.keys, &c->root.roles[TUF_ROLE_ROOT], what, err);
        if (r < 0)
                goto out;
        r = tuf_root_parse(e.payload, e.payload_len, m, err);
        if (r < 0)
                goto out;
        if (m->version <= c->root.version) {
                r = rp_err_set(err, -ESTALE,
                               "root version %llu is not newer than the trusted version %llu "
                               "(rollback refused)",
                               (unsigned long long)m->version,
                               (unsigned long long)c->root.version);
                goto out;
        }
        if (m->version != want) {
                r = rp_err_set(err, -EBADMSG,
                               "root version %llu given, version %llu expected next (roots are "
                               "walked one version at a time)",
                               (unsigned long long)m->version, want);
                goto out;
        }
        snprintf(what, sizeof(what), "root version %llu (checked with its own keys)", want);
        r = tuf_envelope_verify(&e, &m->keys, &m->roles[TUF_ROLE_ROOT], what, err);
        if (r < 0)
                goto out;
        if (set_root_bytes(c, buf, len) < 0) {
                r = rp_err_set(err, -ENOMEM, "out of memory");
                goto out;
        }
        /* Fast-forward recovery (TUF 5.3.11): metadata versions vouched for by
         * keys that are no longer trusted cannot hold the client back. */
        if (keys_removed(&c->root.roles[TUF_ROLE_TIMESTAMP], &m->roles[TUF_ROLE_TIMESTAMP]) ||
            keys_removed(&c->root.roles[TUF_ROLE_SNAPSHOT], &m->roles[TUF_ROLE_SNAPSHOT])) {
                c->timestamp_version = 0;
                c->snapshot_version = 0;
                c->n_meta = 0;
        }
        if (keys_removed(&c->root.roles[TUF_ROLE_TARGETS], &m->roles[TUF_ROLE_TARGETS]))
                c->n_meta = 0;
        if (keys_removed(&c->root.roles[TUF_ROLE_DIRECTOR], &m->roles[TUF_ROLE_DIRECTOR]))
                c->director_version = 0;
        c->root = *m;
        /* anything verified with the old root's keys is no longer current */
        clear_session(c);
        r = 0;
out:
        tuf_envelope_free(&e);
out_free:
        free(m);
        return r;
}

static int root_fresh(const struct tuf_client *c, time_t now, struct rp_err *err)
{
        return check_expiry("trusted root", c->root.version, c->root.expires, now, err);
}

/* ---- timestamp ---- */

int tuf_client_update_timestamp(struct tuf_client *c, const void *buf, size_t len, time_t now,
                                struct rp_err *err)
{
        struct tuf_envelope e;
        struct tuf_timestamp m;
        int r;

        r = root_fresh(c, now, err);
        if (r < 0)
                return r;
        r = open_envelope(buf, len, TUF_MAX_TIMESTAMP, "timestamp", &e, err);
        if (r < 0)
                return r;
        r = tuf_envelope_verify(&e, &c->root.keys, &c->root.roles[TUF_ROLE_TIMESTAMP],
                                "timestamp", err);
        if (r < 0)
                goto out;
        r = tuf_timestamp_parse(e.payload, e.payload_len, &m, err);
        if (r < 0)
                goto out;
        if (m.version < c->timestamp_version) {
                r = rp_err_set(err, -ESTALE,
                               "timestamp version %llu is older than the trusted version %llu "
                               "(rollback refused)",
                               (unsigned long long)m.version,
                               (unsigned long long)c->timestamp_version);
                goto out;
        }
        if (m.snapshot_version < c->snapshot_version) {
                r = rp_err_set(err, -ESTALE,
                               "timestamp names snapshot version %llu, older than the trusted "
                               "version %llu (rollback refused)",
                               (unsigned long long)m.snapshot_version,
                               (unsigned long long)c->snapshot_version);
                goto out;
        }
        r = check_expiry("timestamp", m.version, m.expires, now, err);
        if (r < 0)
                goto out;
        clear_session(c);
        c->timestamp = m;
        c->timestamp_version = m.version;
        c->have_timestamp = true;
out:
        tuf_envelope_free(&e);
        return r;
}

/* ---- snapshot ---- */

int tuf_client_update_snapshot(struct tuf_client *c, const void *buf, size_t len, time_t now,
                               struct rp_err *err)
{
        struct tuf_envelope e = {0};
        struct tuf_snapshot *m;
        uint8_t digest[CR_SHA256_LEN];
        int r;

        if (!c->have_timestamp)
                return rp_err_set(err, -EINVAL, "snapshot: no verified timestamp in this update");
        if (len > c->timestamp.snapshot_length)
                return rp_err_set(err, -EFBIG,
                                  "snapshot: %zu bytes, the timestamp allows %llu", len,
                                  (unsigned long long)c->timestamp.snapshot_length);
        cr_sha256(buf, len, digest);
        if (len != c->timestamp.snapshot_length ||
            !cr_memeq(digest, c->timestamp.snapshot_sha256, CR_SHA256_LEN)) {
                char got[17], want[17];
                rp_hex_encode(digest, 8, got);
                rp_hex_encode(c->timestamp.snapshot_sha256, 8, want);
                return rp_err_set(err, -EBADMSG,
                                  "snapshot: sha256 %s... (%zu bytes) does not match the "
                                  "timestamp's %s... (%llu bytes)",
                                  got, len, want,
                                  (unsigned long long)c->timestamp.snapshot_length);
        }
        m = malloc(sizeof(*m));
        if (!m)
                return rp_err_set(err, -ENOMEM, "out of memory");
        r = open_envelope(buf, len, TUF_MAX_SNAPSHOT, "snapshot", &e, err);
        if (r < 0)
                goto out_free;
        r = tuf_envelope_verify(&e, &c->root.keys, &c->root.roles[TUF_ROLE_SNAPSHOT], "snapshot",
                                err);
        if (r < 0)
                goto out;
        r = tuf_snapshot_parse(e.payload, e.payload_len, m, err);
        if (r < 0)
                goto out;
        if (m->version != c->timestamp.snapshot_version) {
                r = rp_err_set(err, -EBADMSG,
                               "snapshot version %llu does not match the version %llu named by "
                               "timestamp version %llu",
                               (unsigned long long)m->version,
                               (unsigned long long)c->timestamp.snapshot_version,
                               (unsigned long long)c->timestamp.version);
                goto out;
        }
        for (size_t i = 0; i < c->n_meta; i++) {
                const struct tuf_meta_entry *old = &c->meta[i];
                const struct tuf_meta_entry *n = tuf_snapshot_find(m, old->role);
                if (!n) {
                        r = rp_err_set(err, -ESTALE,
                                       "snapshot version %llu no longer lists '%s.json' "
                                       "(rollback refused)",
                                       (unsigned long long)m->version, old->role);
                        goto out;
                }
                if (n->version < old->version) {
                        r = rp_err_set(err, -ESTALE,
                                       "snapshot version %llu lists '%s.json' version %llu, older "
                                       "than the trusted version %llu (rollback refused)",
                                       (unsigned long long)m->version, old->role,
                                       (unsigned long long)n->version,
                                       (unsigned long long)old->version);
                        goto out;
                }
        }
        r = check_expiry("snapshot", m->version, m->expires, now, err);
        if (r < 0)
                goto out;
        /* targets verified against an earlier snapshot no longer count */
        for (size_t i = 0; i < c->n_delegated; i++)
                tuf_targets_free(&c->delegated[i].t);
        c->n_delegated = 0;
        tuf_targets_free(&c->targets);
        c->have_targets = false;
        c->snapshot = *m;
        c->snapshot_version = m->version;
        c->n_meta = m->n_meta;
        memcpy(c->meta, m->meta, sizeof(m->meta[0]) * m->n_meta);
        c->have_snapshot = true;
out:
        tuf_envelope_free(&e);
out_free:
        free(m);
        return r;
}

/* ---- targets ---- */

static int listed_version(const struct tuf_client *c, const char *role, const char *what,
                          uint64_t version, struct rp_err *err)
{
        const struct tuf_meta_entry *s = tuf_snapshot_find(&c->snapshot, role);
        if (!s)
                return rp_err_set(err, -EBADMSG, "%s: snapshot version %llu does not list '%s.json'",
                                  what, (unsigned long long)c->snapshot.version, role);
        if (s->version != version)
                return rp_err_set(err, -EBADMSG,
                                  "%s version %llu does not match the version %llu listed by "
                                  "snapshot version %llu",
                                  what, (unsigned long long)version,
                                  (unsigned long long)s->version,
                                  (unsigned long long)c->snapshot.version);
        return 0;
}

int tuf_client_update_targets(struct tuf_client *c, const void *buf, size_t len, time_t now,
                              struct rp_err *err)
{
        struct tuf_envelope e;
        struct tuf_targets m = {0};
        int r;

        if (!c->have_snapshot)
                return rp_err_set(err, -EINVAL, "targets: no verified snapshot in this update");
        r = open_envelope(buf, len, TUF_MAX_TARGETS, "targets", &e, err);
        if (r < 0)
                return r;
        r = tuf_envelope_verify(&e, &c->root.keys, &c->root.roles[TUF_ROLE_TARGETS], "targets",
                                err);
        if (r < 0)
                goto out;
        r = tuf_targets_parse(e.payload, e.payload_len, NULL, &m, err);
        if (r < 0)
                goto out;
        if ((r = listed_version(c, "targets", "targets", m.version, err)) < 0 ||
            (r = check_expiry("targets", m.version, m.expires, now, err)) < 0)
                goto out;
        for (size_t i = 0; i < m.n_targets; i++)
                if (m.targets[i].type != TUF_IMAGE_OS) {
                        r = rp_err_set(err, -EBADMSG,
                                       "targets: '%s' is an app image; app images are signed "
                                       "only through a tenant delegation",
                                       m.targets[i].name);
                        goto out;
                }
        /* new targets: delegated metadata verified under the old one is void */
        for (size_t i = 0; i < c->n_delegated; i++)
                tuf_targets_free(&c->delegated[i].t);
        c->n_delegated = 0;
        tuf_targets_free(&c->targets);
        c->targets = m;
        memset(&m, 0, sizeof(m));
        c->have_targets = true;
out:
        tuf_targets_free(&m);
        tuf_envelope_free(&e);
        return r;
}

int tuf_client_update_delegated(struct tuf_client *c, const char *role, const void *buf,
                                size_t len, time_t now, struct rp_err *err)
{
        const struct tuf_delegation *d;
        struct tuf_envelope e;
        struct tuf_targets m = {0};
        char what[TUF_MAX_ROLE_NAME + 32];
        size_t slot;
        int r;

        if (!c->have_targets)
                return rp_err_set(err, -EINVAL, "delegated targets: no verified targets in this "
                                  "update");
        d = tuf_targets_delegation(&c->targets, role);
        if (!d)
                return rp_err_set(err, -ENOENT, "targets version %llu delegates no role '%.32s'",
                                  (unsigned long long)c->targets.version, role);
        snprintf(what, sizeof(what), "delegated targets '%s'", d->name);
        r = open_envelope(buf, len, TUF_MAX_TARGETS, what, &e, err);
        if (r < 0)
                return r;
        r = tuf_envelope_verify(&e, &c->targets.dkeys, &d->keys, what, err);
        if (r < 0)
                goto out;
        r = tuf_targets_parse(e.payload, e.payload_len, d->name, &m, err);
        if (r < 0)
                goto out;
        if ((r = listed_version(c, d->name, what, m.version, err)) < 0 ||
            (r = check_expiry(what, m.version, m.expires, now, err)) < 0)
                goto out;
        for (size_t i = 0; i < m.n_targets; i++) {
                const struct tuf_image *t = &m.targets[i];
                bool ok = false;
                for (size_t j = 0; j < d->n_paths && !ok; j++)
                        ok = tuf_path_match(d->paths[j], t->name);
                if (!ok) {
                        r = rp_err_set(err, -EPERM,
                                       "%s lists '%s', outside its delegated paths ('%s'%s)", what,
                                       t->name, d->paths[0], d->n_paths > 1 ? ", ..." : "");
                        goto out;
                }
                if (t->type != TUF_IMAGE_APP) {
                        r = rp_err_set(err, -EPERM,
                                       "%s lists '%s' as an OS image; OS images are signed only "
                                       "by the platform targets", what, t->name);
                        goto out;
                }
        }
        for (slot = 0; slot < c->n_delegated; slot++)
                if (!strcmp(c->delegated[slot].role, d->name))
                        break;
        if (slot == c->n_delegated) {
                if (c->n_delegated >= TUF_MAX_DELEGATIONS) {
                        r = rp_err_set(err, -ENOSPC, "too many delegated roles");
                        goto out;
                }
                c->n_delegated++;
        } else
                tuf_targets_free(&c->delegated[slot].t);
        memcpy(c->delegated[slot].role, d->name, sizeof(d->name));
        c->delegated[slot].t = m;
        memset(&m, 0, sizeof(m));
out:
        tuf_targets_free(&m);
        tuf_envelope_free(&e);
        return r;
}

/* ---- director ---- */

int tuf_client_update_director(struct tuf_client *c, const void *buf, size_t len, time_t now,
                               struct rp_err *err)
{
        struct tuf_envelope e;
        struct tuf_director *m;
        int r;

        r = root_fresh(c, now, err);
        if (r < 0)
                return r;
        m = malloc(sizeof(*m));
        if (!m)
                return rp_err_set(err, -ENOMEM, "out of memory");
        r = open_envelope(buf, len, TUF_MAX_DIRECTOR, "director assignment", &e, err);
        if (r < 0)
                goto out_free;
        r = tuf_envelope_verify(&e, &c->root.keys, &c->root.roles[TUF_ROLE_DIRECTOR],
                                "director assignment", err);
        if (r < 0)
                goto out;
        r = tuf_director_parse(e.payload, e.payload_len, m, err);
        if (r < 0)
                goto out;
        if (strcmp(m->ueid, c->ueid)) {
                r = rp_err_set(err, -EPERM,
                               "director assignment is for device '%.64s', this device is "
                               "'%.64s'", m->ueid, c->ueid);
                goto out;
        }
        if (m->version < c->director_version) {
                r = rp_err_set(err, -ESTALE,
                               "director assignment version %llu is older than the trusted "
                               "version %llu (rollback refused)",
                               (unsigned long long)m->version,
                               (unsigned long long)c->director_version);
                goto out;
        }
        r = check_expiry("director assignment", m->version, m->expires, now, err);
        if (r < 0)
                goto out;
        if (m->expires - now > TUF_DIRECTOR_MAX_LIFETIME) {
                char ex[21];
                fmt_time(m->expires, ex);
                r = rp_err_set(err, -EBADMSG,
                               "director assignment version %llu expires at %s, %lld s from now; "
                               "the limit is %d s",
                               (unsigned long long)m->version, ex, (long long)(m->expires - now),
                               TUF_DIRECTOR_MAX_LIFETIME);
                goto out;
        }
        c->director = *m;
        c->director_version = m->version;
        c->have_director = true;
out:
        tuf_envelope_free(&e);
out_free:
        free(m);
        return r;
}

/* ---- resolve ---- */

static const struct tuf_targets *delegated_for(const struct tuf_client *c, const char *role)
{
        for (size_t i = 0; i < c->n_delegated; i++)
                if (!strcmp(c->delegated[i].role, role))
                        return &c->delegated[i].t;
        return NULL;
}

const char *tuf_client_role_for(const struct tuf_client *c, const char *target_name)
{
        const struct tuf_delegation *d;
        if (!c->have_targets)
                return NULL;
        d = tuf_targets_delegation_for(&c->targets, target_name);
        return d ? d->name : NULL;
}

static int compare_image(const struct tuf_image *dir, const struct tuf_image *t, const char *who,
                         struct rp_err *err)
{
        const char *n = dir->name;
        if (strcmp(dir->component_id, t->component_id))
                return rp_err_set(err, -EPERM,
                                  "image '%s': director component id '%s' differs from %s '%s'", n,
                                  dir->component_id, who, t->component_id);
        if (dir->type != t->type)
                return rp_err_set(err, -EPERM, "image '%s': director type '%s' differs from %s '%s'",
                                  n, tuf_image_type_name(dir->type), who,
                                  tuf_image_type_name(t->type));
        if (dir->length != t->length)
                return rp_err_set(err, -EPERM,
                                  "image '%s': director length %llu differs from %s length %llu", n,
                                  (unsigned long long)dir->length, who,
                                  (unsigned long long)t->length);
        if (memcmp(dir->sha256, t->sha256, 32)) {
                char a[65], b[65];
                rp_hex_encode(dir->sha256, 32, a);
                rp_hex_encode(t->sha256, 32, b);
                return rp_err_set(err, -EPERM,
                                  "image '%s': director sha256 %.16s... differs from %s sha256 "
                                  "%.16s...", n, a, who, b);
        }
        if (strcmp(dir->version, t->version))
                return rp_err_set(err, -EPERM,
                                  "image '%s': director version '%s' differs from %s version '%s'",
                                  n, dir->version, who, t->version);
        if (dir->svn != t->svn)
                return rp_err_set(err, -EPERM,
                                  "image '%s': director svn %llu differs from %s svn %llu", n,
                                  (unsigned long long)dir->svn, who, (unsigned long long)t->svn);
        return 0;
}

int tuf_resolve(const struct tuf_client *c, struct tuf_plan *ret, struct rp_err *err)
{
        struct tuf_plan *plan;
        int r = 0;

        if (!c->have_targets)
                return rp_err_set(err, -EINVAL, "resolve: no verified targets in this update");
        if (!c->have_director)
                return rp_err_set(err, -EINVAL, "resolve: no verified director assignment");
        plan = calloc(1, sizeof(*plan));
        if (!plan)
                return rp_err_set(err, -ENOMEM, "out of memory");
        for (size_t i = 0; i < c->director.n_images; i++) {
                const struct tuf_image *dir = &c->director.images[i], *t;
                char who[TUF_MAX_ROLE_NAME + 32];

                if (dir->type == TUF_IMAGE_OS) {
                        t = tuf_targets_find(&c->targets, dir->name);
                        if (!t) {
                                r = rp_err_set(err, -ENOENT,
                                               "image '%s': not listed by the platform targets "
                                               "(version %llu)", dir->name,
                                               (unsigned long long)c->targets.version);
                                goto out;
                        }
                        snprintf(who, sizeof(who), "platform targets");
                } else {
                        const struct tuf_delegation *d =
                                tuf_targets_delegation_for(&c->targets, dir->name);
                        const struct tuf_targets *dt;
                        if (!d) {
                                r = rp_err_set(err, -ENOENT,
                                               "image '%s': no tenant delegation covers this name",
                                               dir->name);
                                goto out;
                        }
                        dt = delegated_for(c, d->name);
                        if (!dt) {
                                r = rp_err_set(err, -ENOENT,
                                               "image '%s': delegated targets '%s' not verified in "
                                               "this update", dir->name, d->name);
                                goto out;
                        }
                        t = tuf_targets_find(dt, dir->name);
                        if (!t) {
                                r = rp_err_set(err, -ENOENT,
                                               "image '%s': not listed by delegated targets '%s' "
                                               "(version %llu)", dir->name, d->name,
                                               (unsigned long long)dt->version);
                                goto out;
                        }
                        snprintf(who, sizeof(who), "targets '%s'", d->name);
                }
                r = compare_image(dir, t, who, err);
                if (r < 0)
                        goto out;
                plan->images[plan->n++] = *t;
        }
        *ret = *plan;
out:
        free(plan);
        return r;
}

int tuf_client_refresh(struct tuf_client *c, const struct tuf_bundle *b, time_t now,
                       struct tuf_plan *ret, struct rp_err *err)
{
        int r;

        for (size_t i = 0; i < b->n_roots; i++) {
                r = tuf_client_update_root(c, b->roots[i].data, b->roots[i].len, err);
                if (r < 0)
                        return r;
        }
        if ((r = tuf_client_update_timestamp(c, b->timestamp.data, b->timestamp.len, now, err)) < 0 ||
            (r = tuf_client_update_snapshot(c, b->snapshot.data, b->snapshot.len, now, err)) < 0 ||
            (r = tuf_client_update_targets(c, b->targets.data, b->targets.len, now, err)) < 0)
                return r;
        for (size_t i = 0; i < b->n_delegated; i++) {
                r = tuf_client_update_delegated(c, b->delegated[i].role, b->delegated[i].blob.data,
                                                b->delegated[i].blob.len, now, err);
                if (r < 0)
                        return r;
        }
        r = tuf_client_update_director(c, b->director.data, b->director.len, now, err);
        if (r < 0)
                return r;
        return tuf_resolve(c, ret, err);
}

const struct tuf_root *tuf_client_root(const struct tuf_client *c)
{
        return &c->root;
}

void tuf_client_versions(const struct tuf_client *c, struct tuf_versions *ret)
{
        const struct tuf_meta_entry *t = NULL;
        for (size_t i = 0; i < c->n_meta; i++)
                if (!strcmp(c->meta[i].role, "targets"))
                        t = &c->meta[i];
        ret->root = c->root.version;
        ret->timestamp = c->timestamp_version;
        ret->snapshot = c->snapshot_version;
        ret->targets = t ? t->version : 0;
        ret->director = c->director_version;
}

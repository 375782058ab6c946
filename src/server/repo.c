/* repo.c - the update repository: online keys, verified uploads of root,
 * platform targets and delegated targets, and the snapshot and timestamp
 * the server signs (see repo.h, docs/updates.md section 6). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "crypto/crypto.h"
#include "lib/cleanup.h"
#include "lib/encode.h"
#include "lib/fileio.h"
#include "lib/log.h"
#include "server/repo.h"
#include "server/routes.h"
#include "server/srv_int.h"
#include "store/repo.h"
#include "store/tenants.h"
#include "tuf/client.h"
#include "tuf/envelope.h"

#define KEY_PEM_MAX 4096

/* ---- online keys ---- */

static const char *online_name(int role)
{
        switch (role) {
        case TUF_ROLE_SNAPSHOT: return "snapshot";
        case TUF_ROLE_TIMESTAMP: return "timestamp";
        case TUF_ROLE_DIRECTOR: return "director";
        default: return NULL;
        }
}

/* Unsealing and parsing a key costs about a millisecond (OpenSSL's
 * decoders), paid once per role: the key is kept for the process's life,
 * as the master key itself is. */
static struct {
        const struct srv *s;
        struct cr_key *k[TUF_ROLE_COUNT];
} key_cache;

static int online_key_load(struct srv *s, int role, struct cr_key **ret, struct rp_err *err);

int srv_repo_online_key(struct srv *s, int role, const struct cr_key **ret, struct rp_err *err)
{
        if (role < 0 || role >= TUF_ROLE_COUNT || !online_name(role))
                return rp_err_set(err, -EINVAL, "role %d has no online key", role);
        if (key_cache.s != s) {
                for (int i = 0; i < TUF_ROLE_COUNT; i++) {
                        cr_key_free(key_cache.k[i]);
                        key_cache.k[i] = NULL;
                }
                key_cache.s = s;
        }
        if (!key_cache.k[role]) {
                int r = online_key_load(s, role, &key_cache.k[role], err);
                if (r < 0)
                        return r;
        }
        *ret = key_cache.k[role];
        return 0;
}

static int online_key_load(struct srv *s, int role, struct cr_key **ret, struct rp_err *err)
{
        const char *name = online_name(role);
        char dir[600], path[700], aad[64];
        _cleanup_free_ uint8_t *sealed = NULL;
        size_t sealed_len = 0;
        uint8_t *pem = NULL;
        size_t pem_len = 0;
        int r;

        if (!name)
                return rp_err_set(err, -EINVAL, "role %d has no online key", role);
        snprintf(dir, sizeof(dir), "%s/repo-keys", s->data_dir);
        snprintf(path, sizeof(path), "%s/%s.sealed", dir, name);
        snprintf(aad, sizeof(aad), "repo-key:%s", name);
        r = rp_read_file(path, STORE_BLOB_MAX, &sealed, &sealed_len, err);
        if (r == -ENOENT) {
                _cleanup_(cr_key_freep) struct cr_key *k = NULL;
                char *kp = NULL;
                if ((r = cr_key_generate(&k, err)) < 0 || (r = cr_key_to_pem(k, true, &kp, err)) < 0)
                        return r;
                r = srv_keystore_seal(&s->keys, aad, kp, strlen(kp), &sealed, &sealed_len, err);
                cr_wipe(kp, strlen(kp));
                free(kp);
                if (r < 0)
                        return r;
                if (rp_mkdir_p(dir, 0700) < 0)
                        return rp_err_set(err, -errno, "cannot create '%s': %s", dir,
                                          strerror(errno));
                if ((r = rp_write_file_atomic(path, sealed, sealed_len, 0600, err)) < 0)
                        return r;
                rp_info("repo", "created the %s key in %s", name, path);
                *ret = steal_ptr(k);
                return 0;
        }
        if (r < 0)
                return r;
        struct stat sb;
        if (stat(path, &sb) == 0 && (sb.st_mode & 077))
                return rp_err_set(err, -EPERM, "'%s' is readable by group or others (mode %04o); "
                                  "it must be 0600", path, (unsigned)(sb.st_mode & 07777));
        if ((r = srv_keystore_open_sealed(&s->keys, aad, sealed, sealed_len, &pem, &pem_len,
                                          err)) < 0)
                return rp_err_prefix(err, "%s", path);
        r = cr_key_from_pem(pem, pem_len, ret, err);
        cr_wipe(pem, pem_len);
        free(pem);
        return r;
}

static int online_tuf_key(struct srv *s, int role, struct tuf_key *ret, struct rp_err *err)
{
        const struct cr_key *k = NULL;
        int r = srv_repo_online_key(s, role, &k, err);
        if (r < 0)
                return r;
        if (tuf_key_from_cr(k, ret) < 0)
                return rp_err_set(err, -EIO, "cannot describe the %s key", online_name(role));
        return 0;
}

int srv_repo_sign(struct srv *s, int role, const char *payload, size_t len, char **ret,
                  size_t *ret_len, struct rp_err *err)
{
        const struct cr_key *k = NULL;
        _cleanup_free_ char *env = NULL;
        size_t env_len = 0;
        int r;
        if ((r = srv_repo_online_key(s, role, &k, err)) < 0 ||
            (r = tuf_envelope_new(payload, len, &env, &env_len, err)) < 0)
                return r;
        return tuf_envelope_sign(env, env_len, TUF_MAX_TARGETS, k, ret, ret_len, err);
}

/* ---- reading what is stored ---- */

static int stored_payload(struct store *st, const char *role, int64_t version, size_t max,
                          struct tuf_envelope *ret, struct store_repo_meta *ret_meta,
                          struct rp_err *err)
{
        struct store_repo_meta m = {0};
        int r = store_repo_meta_get(st, role, version, &m, err);
        if (r < 0)
                return r;
        r = tuf_envelope_parse(m.body, m.len, max, role, ret, err);
        if (r < 0 || !ret_meta)
                store_repo_meta_clear(&m);
        else
                *ret_meta = m;
        return r;
}

/* Parsing a root or targets document turns every key into an OpenSSL key
 * (a large part of a check-in's cost), so the newest root and platform
 * targets are kept parsed, keyed by their exact stored bytes: the store
 * stays the only truth (another instance may have stored a newer one). */
static struct {
        uint8_t *root_bytes;
        size_t root_len;
        struct tuf_root root;
        uint8_t *targets_bytes;
        size_t targets_len;
        struct tuf_targets targets;
} parsed;

static bool cached(const uint8_t *have, size_t have_len, const struct store_repo_meta *m)
{
        return have && have_len == m->len && !memcmp(have, m->body, m->len);
}

static int targets_copy(const struct tuf_targets *t, struct tuf_targets *ret, struct rp_err *err)
{
        struct tuf_targets c = *t;
        c.targets = NULL;
        c.delegations = NULL;
        if (t->n_targets && !(c.targets = malloc(t->n_targets * sizeof(*c.targets))))
                return rp_err_set(err, -ENOMEM, "out of memory");
        if (t->n_delegations &&
            !(c.delegations = malloc(t->n_delegations * sizeof(*c.delegations)))) {
                free(c.targets);
                return rp_err_set(err, -ENOMEM, "out of memory");
        }
        if (t->n_targets)
                memcpy(c.targets, t->targets, t->n_targets * sizeof(*c.targets));
        if (t->n_delegations)
                memcpy(c.delegations, t->delegations, t->n_delegations * sizeof(*c.delegations));
        *ret = c;
        return 0;
}

int srv_repo_root(struct store *st, struct tuf_root *ret, struct rp_err *err)
{
        struct store_repo_meta m = {0};
        struct tuf_envelope e = {0};
        int r = store_repo_meta_get(st, "root", 0, &m, err);
        if (r < 0)
                return r;
        if (cached(parsed.root_bytes, parsed.root_len, &m)) {
                *ret = parsed.root;
                store_repo_meta_clear(&m);
                return 0;
        }
        if ((r = tuf_envelope_parse(m.body, m.len, TUF_MAX_ROOT, "root", &e, err)) == 0 &&
            (r = tuf_root_parse(e.payload, e.payload_len, &parsed.root, err)) == 0) {
                free(parsed.root_bytes);
                parsed.root_bytes = steal_ptr(m.body);
                parsed.root_len = m.len;
                *ret = parsed.root;
        } else {
                free(parsed.root_bytes);
                parsed.root_bytes = NULL;
        }
        tuf_envelope_free(&e);
        store_repo_meta_clear(&m);
        return r;
}

int srv_repo_targets(struct store *st, const char *role, struct tuf_targets *ret,
                     struct rp_err *err)
{
        struct store_repo_meta m = {0};
        struct tuf_envelope e = {0};
        struct tuf_targets t = {0};
        int r = store_repo_meta_get(st, role ? role : "targets", 0, &m, err);
        if (r < 0)
                return r;
        if (!role && cached(parsed.targets_bytes, parsed.targets_len, &m)) {
                store_repo_meta_clear(&m);
                return targets_copy(&parsed.targets, ret, err);
        }
        if ((r = tuf_envelope_parse(m.body, m.len, TUF_MAX_TARGETS, role ? role : "targets", &e,
                                    err)) < 0 ||
            (r = tuf_targets_parse(e.payload, e.payload_len, role, &t, err)) < 0)
                goto out;
        if (!role) {
                struct tuf_targets keep;
                if (targets_copy(&t, &keep, NULL) == 0) {
                        tuf_targets_free(&parsed.targets);
                        free(parsed.targets_bytes);
                        parsed.targets = keep;
                        parsed.targets_bytes = steal_ptr(m.body);
                        parsed.targets_len = m.len;
                }
        }
        *ret = t;
        memset(&t, 0, sizeof(t));
out:
        tuf_targets_free(&t);
        tuf_envelope_free(&e);
        store_repo_meta_clear(&m);
        return r;
}

static void fmt_time(time_t t, char buf[32])
{
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- checking uploads ---- */

void srv_repo_targets_check_clear(struct srv_repo_targets_check *c)
{
        tuf_targets_free(&c->t);
        for (size_t i = 0; i < c->n_signers; i++)
                cr_key_free(c->signers[i]);
        c->n_signers = 0;
}

/* The keys of `rk` whose signature on `e` verifies (distinct). */
static int collect_signers(const struct tuf_envelope *e, const struct tuf_keyring *ring,
                           const struct tuf_role_keys *rk, struct srv_repo_targets_check *c,
                           struct rp_err *err)
{
        _cleanup_free_ uint8_t *pae = NULL;
        size_t pae_len = 0;
        uint8_t seen[16][CR_KEY_ID_LEN];
        if (tuf_pae(e->payload, e->payload_len, &pae, &pae_len) < 0)
                return rp_err_set(err, -ENOMEM, "out of memory");
        for (size_t i = 0; i < e->n_sigs && c->n_signers < 16; i++) {
                const struct tuf_sig *sg = &e->sigs[i];
                const struct tuf_key *k;
                bool dup = false;
                for (size_t j = 0; j < c->n_signers; j++)
                        dup = dup || !memcmp(seen[j], sg->keyid, CR_KEY_ID_LEN);
                if (dup || !tuf_role_has(rk, sg->keyid) || !(k = tuf_keyring_find(ring, sg->keyid)))
                        continue;
                struct cr_key *pub = NULL;
                if (cr_key_pub_from_raw(k->pub, &pub, NULL) < 0)
                        continue;
                if (cr_verify_raw(pub, pae, pae_len, sg->sig, NULL) < 0) {
                        cr_key_free(pub);
                        continue;
                }
                memcpy(seen[c->n_signers], sg->keyid, CR_KEY_ID_LEN);
                c->signers[c->n_signers++] = pub;
        }
        return 0;
}

int srv_repo_check_targets(struct store *st, const char *role, const void *env, size_t len,
                           time_t now, struct srv_repo_targets_check *ret, struct rp_err *err)
{
        struct tuf_root *root = calloc(1, sizeof(*root));
        struct tuf_targets top = {0};
        struct tuf_envelope e = {0};
        struct store_repo_meta old = {0};
        struct srv_repo_targets_check c = {0};
        const struct tuf_keyring *ring;
        const struct tuf_role_keys *rk;
        const struct tuf_delegation *d = NULL;
        const char *what = role ? role : "targets";
        char when[32];
        int r;

        if (!root)
                return rp_err_set(err, -ENOMEM, "out of memory");
        r = srv_repo_root(st, root, err);
        if (r == -ENOENT) {
                r = rp_err_set(err, -ENOENT, "the repository has no root yet: the platform "
                               "operator uploads it first");
                goto out;
        }
        if (r < 0)
                goto out;
        if (!role) {
                ring = &root->keys;
                rk = &root->roles[TUF_ROLE_TARGETS];
        } else {
                r = srv_repo_targets(st, NULL, &top, err);
                if (r == -ENOENT) {
                        r = rp_err_set(err, -ENOENT, "the repository has no platform targets "
                                       "yet, so nothing is delegated to '%s'", role);
                        goto out;
                }
                if (r < 0)
                        goto out;
                d = tuf_targets_delegation(&top, role);
                if (!d) {
                        r = rp_err_set(err, -EPERM, "the platform targets version %llu delegate "
                                       "nothing to role '%s'",
                                       (unsigned long long)top.version, role);
                        goto out;
                }
                ring = &top.dkeys;
                rk = &d->keys;
        }
        if ((r = tuf_envelope_parse(env, len, TUF_MAX_TARGETS, what, &e, err)) < 0)
                goto out;
        if ((r = tuf_envelope_verify(&e, ring, rk, what, err)) < 0) {
                char why[RP_ERR_MSG_MAX];
                snprintf(why, sizeof(why), "%s", err->msg);
                r = rp_err_set(err, -EPERM, "%s (%s)", why,
                               role ? "the keys of this tenant's delegation"
                                    : "the platform targets keys of the current root");
                goto out;
        }
        if ((r = collect_signers(&e, ring, rk, &c, err)) < 0 ||
            (r = tuf_targets_parse(e.payload, e.payload_len, role, &c.t, err)) < 0)
                goto out;
        if (c.t.expires <= now) {
                fmt_time(c.t.expires, when);
                r = rp_err_set(err, -EKEYEXPIRED, "%s version %llu expired at %s", what,
                               (unsigned long long)c.t.version, when);
                goto out;
        }
        for (size_t i = 0; d && i < c.t.n_targets; i++) {
                bool ok = false;
                for (size_t j = 0; j < d->n_paths && !ok; j++)
                        ok = tuf_path_match(d->paths[j], c.t.targets[i].name);
                if (!ok) {
                        r = rp_err_set(err, -EPERM, "delegated targets '%s' lists '%s', outside "
                                       "its delegated paths ('%s'%s)", role, c.t.targets[i].name,
                                       d->paths[0], d->n_paths > 1 ? ", ..." : "");
                        goto out;
                }
        }
        r = store_repo_meta_get(st, what, 0, &old, err);
        if (r == -ENOENT) {
                c.is_new = true;
        } else if (r < 0) {
                goto out;
        } else if ((uint64_t)old.version > c.t.version) {
                r = rp_err_set(err, -ESTALE, "%s version %llu is older than the stored version "
                               "%lld (rollback refused)", what, (unsigned long long)c.t.version,
                               (long long)old.version);
                goto out;
        } else if ((uint64_t)old.version == c.t.version) {
                /* the same document (its payload; the envelope around it
                 * may carry other signatures or spacing) is accepted again */
                struct tuf_envelope oe = {0};
                bool same = tuf_envelope_parse(old.body, old.len, TUF_MAX_TARGETS, what, &oe,
                                               NULL) == 0 &&
                            oe.payload_len == e.payload_len &&
                            !memcmp(oe.payload, e.payload, e.payload_len);
                tuf_envelope_free(&oe);
                if (!same) {
                        r = rp_err_set(err, -ESTALE, "%s version %llu is stored already with "
                                       "different content; a change needs a new version", what,
                                       (unsigned long long)c.t.version);
                        goto out;
                }
                c.is_new = false;
        } else {
                c.is_new = true;
        }
        c.expires_ms = (int64_t)c.t.expires * 1000;
        *ret = c;
        memset(&c, 0, sizeof(c));
        r = 0;
out:
        srv_repo_targets_check_clear(&c);
        store_repo_meta_clear(&old);
        tuf_envelope_free(&e);
        tuf_targets_free(&top);
        free(root);
        return r;
}

int srv_repo_store_targets(struct store *st, const char *role, const char *tenant_id,
                           const void *env, size_t len, const struct srv_repo_targets_check *c,
                           int64_t now_ms, struct rp_err *err)
{
        struct store_repo_meta m = {
                .version = (int64_t)c->t.version,
                .body = (uint8_t *)env,
                .len = len,
                .expires_ms = c->expires_ms,
                .created_ms = now_ms,
        };
        snprintf(m.role, sizeof(m.role), "%s", role ? role : "targets");
        snprintf(m.tenant_id, sizeof(m.tenant_id), "%s", tenant_id ? tenant_id : "");
        return store_repo_meta_put(st, &m, err);
}

/* ---- snapshot and timestamp ---- */

static int put_signed(struct srv *s, const char *role_name, int role, const char *payload,
                      size_t plen, int64_t version, time_t expires, int64_t now_ms,
                      char **ret_env, size_t *ret_len, struct rp_err *err)
{
        _cleanup_free_ char *env = NULL;
        size_t env_len = 0;
        int r = srv_repo_sign(s, role, payload, plen, &env, &env_len, err);
        if (r < 0)
                return r;
        struct store_repo_meta m = {
                .version = version,
                .body = (uint8_t *)env,
                .len = env_len,
                .expires_ms = (int64_t)expires * 1000,
                .created_ms = now_ms,
        };
        snprintf(m.role, sizeof(m.role), "%s", role_name);
        if ((r = store_repo_meta_put(s->store, &m, err)) < 0)
                return r;
        if (ret_env) {
                *ret_env = steal_ptr(env);
                *ret_len = env_len;
        }
        return 0;
}

static bool same_meta(const struct tuf_snapshot *a, const struct tuf_snapshot *b)
{
        if (a->n_meta != b->n_meta)
                return false;
        for (size_t i = 0; i < a->n_meta; i++) {
                const struct tuf_meta_entry *o = tuf_snapshot_find(b, a->meta[i].role);
                if (!o || o->version != a->meta[i].version)
                        return false;
        }
        return true;
}

int srv_repo_publish(struct srv *s, int64_t now_ms, struct rp_err *err)
{
        struct store *st = s->store;
        struct tuf_targets top = {0};
        struct tuf_snapshot *want = calloc(1, sizeof(*want)), *have = calloc(1, sizeof(*have));
        struct tuf_timestamp ts = {0};
        struct tuf_envelope e = {0};
        struct store_repo_meta snap_meta = {0};
        _cleanup_free_ char *payload = NULL;
        char *snap_env = NULL;
        size_t plen = 0, snap_len = 0;
        bool have_snap = false, new_snap = false;
        time_t now = (time_t)(now_ms / 1000);
        int r;

        if (!want || !have) {
                r = rp_err_set(err, -ENOMEM, "out of memory");
                goto out;
        }
        if ((r = srv_repo_targets(st, NULL, &top, err)) < 0)
                goto out;
        /* what the snapshot must list: targets, every delegated role with
         * metadata, and every role the previous snapshot listed (a device
         * refuses a snapshot that drops a role it knew) */
        snprintf(want->meta[0].role, sizeof(want->meta[0].role), "targets");
        want->meta[0].version = top.version;
        want->n_meta = 1;
        for (size_t i = 0; i < top.n_delegations && want->n_meta < TUF_MAX_DELEGATIONS + 1; i++) {
                struct store_repo_meta m = {0};
                r = store_repo_meta_get(st, top.delegations[i].name, 0, &m, err);
                if (r == -ENOENT)
                        continue;
                if (r < 0)
                        goto out;
                struct tuf_meta_entry *me = &want->meta[want->n_meta++];
                snprintf(me->role, sizeof(me->role), "%s", top.delegations[i].name);
                me->version = (uint64_t)m.version;
                store_repo_meta_clear(&m);
        }
        r = stored_payload(st, "snapshot", 0, TUF_MAX_SNAPSHOT, &e, &snap_meta, err);
        if (r == 0) {
                r = tuf_snapshot_parse(e.payload, e.payload_len, have, err);
                tuf_envelope_free(&e);
                if (r < 0)
                        goto out;
                have_snap = true;
                for (size_t i = 0; i < have->n_meta; i++) {
                        if (tuf_snapshot_find(want, have->meta[i].role) ||
                            want->n_meta >= TUF_MAX_DELEGATIONS + 1)
                                continue;
                        struct store_repo_meta m = {0};
                        r = store_repo_meta_get(st, have->meta[i].role, 0, &m, err);
                        if (r < 0)
                                goto out;
                        want->meta[want->n_meta] = have->meta[i];
                        want->meta[want->n_meta++].version = (uint64_t)m.version;
                        store_repo_meta_clear(&m);
                }
        } else if (r != -ENOENT) {
                goto out;
        }
        if (!have_snap || !same_meta(want, have) ||
            have->expires - now < SRV_REPO_SNAPSHOT_LIFETIME_S / 2) {
                want->version = have_snap ? have->version + 1 : 1;
                want->expires = now + SRV_REPO_SNAPSHOT_LIFETIME_S;
                if ((r = tuf_snapshot_encode(want, &payload, &plen, err)) < 0 ||
                    (r = put_signed(s, "snapshot", TUF_ROLE_SNAPSHOT, payload, plen,
                                    (int64_t)want->version, want->expires, now_ms, &snap_env,
                                    &snap_len, err)) < 0)
                        goto out;
                free(steal_ptr(payload));
                new_snap = true;
                rp_info("repo", "signed snapshot version %llu (targets version %llu)",
                        (unsigned long long)want->version, (unsigned long long)top.version);
        } else {
                want->version = have->version;
                snap_env = (char *)steal_ptr(snap_meta.body);
                snap_len = snap_meta.len;
        }
        r = stored_payload(st, "timestamp", 0, TUF_MAX_TIMESTAMP, &e, NULL, err);
        if (r == 0) {
                r = tuf_timestamp_parse(e.payload, e.payload_len, &ts, err);
                tuf_envelope_free(&e);
                if (r < 0)
                        goto out;
        } else if (r != -ENOENT) {
                goto out;
        }
        if (r == -ENOENT || new_snap || ts.snapshot_version != want->version ||
            ts.expires - now < SRV_REPO_TIMESTAMP_LIFETIME_S / 2) {
                ts.version = r == -ENOENT ? 1 : ts.version + 1;
                ts.expires = now + SRV_REPO_TIMESTAMP_LIFETIME_S;
                ts.snapshot_version = want->version;
                ts.snapshot_length = snap_len;
                cr_sha256(snap_env, snap_len, ts.snapshot_sha256);
                if ((r = tuf_timestamp_encode(&ts, &payload, &plen, err)) < 0 ||
                    (r = put_signed(s, "timestamp", TUF_ROLE_TIMESTAMP, payload, plen,
                                    (int64_t)ts.version, ts.expires, now_ms, NULL, NULL, err)) < 0)
                        goto out;
        }
        r = 0;
out:
        free(snap_env);
        store_repo_meta_clear(&snap_meta);
        tuf_targets_free(&top);
        free(want);
        free(have);
        return r;
}

void srv_repo_reply_refusal(struct srv_req *r, const struct rp_err *err)
{
        switch (err->code) {
        case -ESTALE:
                return srv_reply_error(r, 409, "rollback", "%s", err->msg);
        case -EKEYEXPIRED:
                return srv_reply_error(r, 400, "expired", "%s", err->msg);
        case -ENOENT:
                return srv_reply_error(r, 409, "conflict", "%s", err->msg);
        default:
                return srv_reply_err(r, err);
        }
}

/* ---- routes ---- */

static json_t *key_json(struct srv *s, int role, struct rp_err *err)
{
        const struct cr_key *k = NULL;
        _cleanup_free_ char *pem = NULL;
        uint8_t id[CR_KEY_ID_LEN];
        char hex[2 * CR_KEY_ID_LEN + 1];
        if (srv_repo_online_key(s, role, &k, err) < 0 || cr_key_to_pem(k, false, &pem, err) < 0 ||
            cr_key_id(k, id) < 0)
                return NULL;
        rp_hex_encode(id, sizeof(id), hex);
        return json_pack("{s:s,s:s}", "keyid", hex, "public_pem", pem);
}

static void repo_keys(struct srv_req *r)
{
        struct srv *s = srv_req_server(r);
        struct rp_err err = {0};
        json_t *o = json_object();
        static const int roles[] = {TUF_ROLE_SNAPSHOT, TUF_ROLE_TIMESTAMP, TUF_ROLE_DIRECTOR};
        for (size_t i = 0; i < 3; i++) {
                json_t *k = key_json(s, roles[i], &err);
                if (!k) {
                        json_decref(o);
                        return srv_reply_err(r, &err);
                }
                json_object_set_new(o, online_name(roles[i]), k);
        }
        srv_reply_json(r, 200, o);
}

static const uint8_t *raw_body(struct srv_req *r, size_t *len)
{
        const char *ct = srv_req_header(r, "Content-Type");
        if (!ct || strncasecmp(ct, "application/json", 16)) {
                srv_reply_error(r, 415, "unsupported_media_type",
                                "metadata is uploaded as application/json (the envelope bytes)");
                return NULL;
        }
        const uint8_t *b = srv_req_body(r, len);
        if (!*len) {
                srv_reply_error(r, 400, "bad_request", "the body is empty");
                return NULL;
        }
        return b;
}

/* The root must let this server sign the online roles alone. */
static int check_online_roles(struct srv *s, const struct tuf_root *root, struct rp_err *err)
{
        static const int roles[] = {TUF_ROLE_SNAPSHOT, TUF_ROLE_TIMESTAMP, TUF_ROLE_DIRECTOR};
        for (size_t i = 0; i < 3; i++) {
                struct tuf_key k;
                char hex[2 * CR_KEY_ID_LEN + 1];
                int r = online_tuf_key(s, roles[i], &k, err);
                if (r < 0)
                        return r;
                rp_hex_encode(k.id, sizeof(k.id), hex);
                const struct tuf_role_keys *rk = &root->roles[roles[i]];
                if (!tuf_role_has(rk, k.id) || rk->threshold != 1)
                        return rp_err_set(err, -EINVAL, "root version %llu: the %s role must "
                                          "list this server's %s key %.16s... with threshold 1 "
                                          "(GET /api/v1/repo/keys; rampart repo init "
                                          "--online-key)", (unsigned long long)root->version,
                                          online_name(roles[i]), online_name(roles[i]), hex);
        }
        return 0;
}

static void repo_root_upload(struct srv_req *r)
{
        struct srv *s = srv_req_server(r);
        struct store *st = srv_req_store(r);
        struct rp_err err = {0};
        struct store_repo_meta old = {0};
        struct tuf_envelope e = {0};
        struct tuf_client *c = NULL;
        struct tuf_root *root = calloc(1, sizeof(*root));
        size_t len = 0;
        int64_t now_ms = srv_now_ms();
        int k;
        const uint8_t *body = raw_body(r, &len);
        if (!body || !root)
                goto out;
        k = store_repo_meta_get(st, "root", 0, &old, &err);
        if (k < 0 && k != -ENOENT) {
                srv_reply_err(r, &err);
                goto out;
        }
        if (k == -ENOENT) {
                /* the first root: a threshold of its own keys, version 1 */
                if ((k = tuf_client_new_from_root(body, len, "server", &c, &err)) < 0) {
                        srv_reply_error(r, k == -EPERM ? 403 : 400,
                                        k == -EPERM ? "forbidden" : "bad_request", "%s", err.msg);
                        goto out;
                }
        } else {
                if ((k = tuf_client_new_from_root(old.body, old.len, "server", &c, &err)) < 0) {
                        srv_reply_err(r, &err);
                        goto out;
                }
                if ((k = tuf_client_update_root(c, body, len, &err)) < 0) {
                        if (k == -ESTALE)
                                srv_reply_error(r, 409, "rollback", "%s", err.msg);
                        else
                                srv_reply_error(r, k == -EPERM ? 403 : 400,
                                                k == -EPERM ? "forbidden" : "bad_request", "%s",
                                                err.msg);
                        goto out;
                }
        }
        *root = *tuf_client_root(c);
        if (!old.body && root->version != 1) {
                srv_reply_error(r, 400, "bad_request", "the first root uploaded must be version "
                                "1 (got version %llu): devices walk roots from 1 one version at "
                                "a time", (unsigned long long)root->version);
                goto out;
        }
        if (root->expires <= (time_t)(now_ms / 1000)) {
                char when[32];
                fmt_time(root->expires, when);
                srv_reply_error(r, 400, "expired", "root version %llu expired at %s",
                                (unsigned long long)root->version, when);
                goto out;
        }
        if ((k = check_online_roles(s, root, &err)) < 0) {
                srv_reply_err(r, &err);
                goto out;
        }
        struct store_repo_meta m = {
                .version = (int64_t)root->version,
                .body = (uint8_t *)body,
                .len = len,
                .expires_ms = (int64_t)root->expires * 1000,
                .created_ms = now_ms,
        };
        snprintf(m.role, sizeof(m.role), "root");
        if ((k = store_repo_meta_put(st, &m, &err)) < 0) {
                srv_reply_err(r, &err);
                goto out;
        }
        if ((k = srv_repo_publish(s, now_ms, &err)) < 0 && k != -ENOENT)
                rp_warn("repo", "publishing after the root upload: %s", err.msg);
        srv_audit_detail(r, "root version %llu", (unsigned long long)root->version);
        srv_reply_json(r, 201, json_pack("{s:s,s:I}", "role", "root", "version",
                                         (json_int_t)root->version));
out:
        tuf_client_free(c);
        tuf_envelope_free(&e);
        store_repo_meta_clear(&old);
        free(root);
}

/* Platform targets (role NULL) or the caller tenant's delegated targets. */
static void targets_upload(struct srv_req *r, const char *role, const char *tenant)
{
        struct srv *s = srv_req_server(r);
        struct store *st = srv_req_store(r);
        struct rp_err err = {0};
        struct srv_repo_targets_check c = {0};
        size_t len = 0;
        int64_t now_ms = srv_now_ms();
        const uint8_t *body = raw_body(r, &len);
        if (!body)
                return;
        if (srv_repo_check_targets(st, role, body, len, (time_t)(now_ms / 1000), &c, &err) < 0)
                return srv_repo_reply_refusal(r, &err);
        if (!c.is_new) {
                srv_reply_json(r, 200, json_pack("{s:s,s:I,s:b}", "role", role ? role : "targets",
                                                 "version", (json_int_t)c.t.version, "stored",
                                                 0));
                srv_repo_targets_check_clear(&c);
                return;
        }
        if (srv_repo_store_targets(st, role, tenant, body, len, &c, now_ms, &err) < 0) {
                srv_repo_targets_check_clear(&c);
                return srv_reply_err(r, &err);
        }
        int k = srv_repo_publish(s, now_ms, &err);
        if (k < 0)
                rp_warn("repo", "publishing after a targets upload: %s", err.msg);
        srv_audit_detail(r, "%s version %llu", role ? role : "targets",
                         (unsigned long long)c.t.version);
        srv_reply_json(r, 201, json_pack("{s:s,s:I,s:b}", "role", role ? role : "targets",
                                         "version", (json_int_t)c.t.version, "stored", 1));
        srv_repo_targets_check_clear(&c);
}

static void repo_targets_upload(struct srv_req *r)
{
        targets_upload(r, NULL, NULL);
}

static void repo_delegated_upload(struct srv_req *r)
{
        struct rp_err err = {0};
        char role[STORE_REPO_ROLE_MAX];
        if (store_repo_role_of(srv_req_store(r), srv_req_tenant(r), role, &err) < 0)
                return srv_repo_reply_refusal(r, &err);
        targets_upload(r, role, srv_req_tenant(r));
}

static const struct srv_field bind_fields[] = {
        {"tenant_id", SRV_F_STRING, SRV_F_REQUIRED, 64},
};

static void repo_bind(struct srv_req *r)
{
        struct store *st = srv_req_store(r);
        struct rp_err err = {0};
        const char *role = srv_req_param(r, "role");
        _cleanup_(json_decrefp) json_t *b = NULL;
        if (!role || strlen(role) > TUF_MAX_ROLE_NAME || !tuf_valid_role_name(role))
                return srv_reply_error(r, 400, "bad_request", "'%.40s' is not a delegated role "
                                       "name ([a-z0-9][a-z0-9-]*, at most 32 bytes, not a "
                                       "top-level role)", role ? role : "");
        if (srv_req_json(r, SRV_FIELDS(bind_fields), &b) < 0)
                return;
        const char *tenant = json_string_value(json_object_get(b, "tenant_id"));
        struct store_tenant t;
        if (!srv_id_valid("ten", tenant) || store_tenant_get(st, tenant, &t, &err) < 0)
                return srv_reply_error(r, 404, "not_found", "no tenant '%.60s'", tenant);
        if (store_repo_bind(st, role, tenant, srv_now_ms(), &err) < 0)
                return srv_reply_err(r, &err);
        srv_audit_target(r, tenant);
        srv_audit_detail(r, "role %s", role);
        srv_reply_json(r, 201, json_pack("{s:s,s:s}", "role", role, "tenant_id", tenant));
}

int srv_repo_file(struct store *st, const char *file, const char *own_role,
                  struct store_repo_meta *ret, struct rp_err *err)
{
        char role[STORE_REPO_ROLE_MAX];
        int64_t version = 0;
        size_t n = strlen(file);
        if (n < 6 || n > 64 || strcmp(file + n - 5, ".json"))
                return rp_err_set(err, -ENOENT, "no metadata file '%.64s'", file);
        if (file[0] >= '1' && file[0] <= '9') {
                char *end;
                unsigned long long v = strtoull(file, &end, 10);
                if (strcmp(end, ".root.json") || v > TUF_MAX_META_VERSION)
                        return rp_err_set(err, -ENOENT, "no metadata file '%.64s'", file);
                version = (int64_t)v;
                snprintf(role, sizeof(role), "root");
        } else {
                if (n - 5 >= sizeof(role))
                        return rp_err_set(err, -ENOENT, "no metadata file '%.64s'", file);
                snprintf(role, sizeof(role), "%.*s", (int)(n - 5), file);
                bool top = !strcmp(role, "root") || !strcmp(role, "targets") ||
                           !strcmp(role, "snapshot") || !strcmp(role, "timestamp");
                if (!top && (!tuf_valid_role_name(role) || (own_role && strcmp(role, own_role))))
                        return rp_err_set(err, -ENOENT, "no metadata file '%.64s'", file);
        }
        return store_repo_meta_get(st, role, version, ret, err);
}

static void repo_metadata_get(struct srv_req *r)
{
        struct store *st = srv_req_store(r);
        struct rp_err err = {0};
        struct store_repo_meta m = {0};
        char role[STORE_REPO_ROLE_MAX] = "";
        const char *own = NULL;
        if (!srv_req_is_platform(r)) {
                if (store_repo_role_of(st, srv_req_tenant(r), role, &err) == 0)
                        own = role;
                else
                        own = "-";       /* matches no role: no delegated file */
        }
        int k = srv_repo_publish(srv_req_server(r), srv_now_ms(), &err);
        if (k < 0 && k != -ENOENT)
                return srv_reply_err(r, &err);
        if (srv_repo_file(st, srv_req_param(r, "file"), own, &m, &err) < 0)
                return srv_reply_err(r, &err);
        srv_reply_text(r, 200, "application/json", m.body, m.len);
        store_repo_meta_clear(&m);
}

static const struct srv_route routes[] = {
        {"GET", "/api/v1/repo/keys", SRV_AUTH_ANY, repo_keys, "repo.keys", 0},
        {"POST", "/api/v1/repo/root", SRV_AUTH_PLATFORM, repo_root_upload, "repo.root_upload",
         TUF_MAX_ROOT},
        {"POST", "/api/v1/repo/targets", SRV_AUTH_PLATFORM, repo_targets_upload,
         "repo.targets_upload", TUF_MAX_TARGETS},
        {"POST", "/api/v1/repo/delegated", SRV_AUTH_CONTRIBUTOR, repo_delegated_upload,
         "repo.delegated_upload", TUF_MAX_TARGETS},
        {"PUT", "/api/v1/repo/delegations/{role}", SRV_AUTH_PLATFORM, repo_bind,
         "repo.delegation_bind", 0},
        {"GET", "/api/v1/repo/metadata/{file}", SRV_AUTH_ANY, repo_metadata_get,
         "repo.metadata_get", 0},
};
const struct srv_route_set srv_routes_repo = SRV_ROUTE_SET(routes);

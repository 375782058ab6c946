/* tuf_test.c - unit tests for src/tuf: a whole repository (root, targets
 * with tenant delegations, snapshot, timestamp, director) is built in memory
 * from fixed-seed keys, then every rule of the client is attacked and each
 * refusal is checked by its message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "crypto/crypto.h"
#include "lib/encode.h"
#include "tuf/client.h"
#include "tuf/envelope.h"
#include "tuf/json.h"
#include "tuf/meta.h"

/* Seeds of the test keys. */
enum {
        K_ROOT1 = 1, K_ROOT2, K_ROOT3,          /* root v1: 2 of 3 */
        K_ROOT4, K_ROOT5, K_ROOT6,              /* rotated root keys */
        K_TARGETS = 10, K_SNAPSHOT, K_TIMESTAMP, K_DIRECTOR,
        K_TIMESTAMP2, K_SNAPSHOT2,
        K_ACME = 20, K_GLOBEX,
        K_ATTACKER = 30,
        K_MAX = 40,
};

#define UEID "0123456789abcdef0123456789abcdef01234567"
#define OS_NAME "platform/os-main/1.2.0"
#define APP_UUID "6f1c2c1e-8a4b-4c9e-9d2a-0a1b2c3d4e5f"
#define APP_NAME "acme/" APP_UUID "/2.0.1"
#define GLOBEX_NAME "globex/globex-meter/1.0.0"

static struct cr_key *keys[K_MAX];
static time_t T0;   /* "now" of the tests */

static struct cr_key *key(int seed)
{
        if (!keys[seed]) {
                uint8_t s[32] = {0};
                struct rp_err err = {0};
                s[0] = (uint8_t)seed;
                s[31] = 0x5a;
                assert_int_equal(cr_key_from_seed(s, &keys[seed], &err), 0);
        }
        return keys[seed];
}

static struct tuf_key tkey(int seed)
{
        struct tuf_key k;
        assert_int_equal(tuf_key_from_cr(key(seed), &k), 0);
        return k;
}

/* Adds key `seed` to ring and role. */
static void grant(struct tuf_keyring *ring, struct tuf_role_keys *role, int seed)
{
        struct tuf_key k = tkey(seed);
        assert_int_equal(tuf_keyring_add(ring, &k), 0);
        memcpy(role->ids[role->n++], k.id, CR_KEY_ID_LEN);
}

/* ---- blobs: every byte string a test makes is freed at teardown ---- */

struct blob {
        char *data;
        size_t len;
};
static char *arena[512];
static size_t n_arena;

static struct blob keep(char *p, size_t len)
{
        assert_true(n_arena < sizeof(arena) / sizeof(arena[0]));
        arena[n_arena++] = p;
        return (struct blob){p, len};
}

/* Envelope around payload, signed by each seed in order (0 ends). */
static struct blob sign_with(const char *payload, size_t len, const int *seeds)
{
        struct rp_err err = {0};
        char *env = NULL;
        size_t env_len = 0;

        assert_int_equal(tuf_envelope_new(payload, len, &env, &env_len, &err), 0);
        for (; *seeds; seeds++) {
                char *next = NULL;
                size_t next_len = 0;
                assert_int_equal(tuf_envelope_sign(env, env_len, TUF_MAX_TARGETS, key(*seeds),
                                                   &next, &next_len, &err), 0);
                free(env);
                env = next;
                env_len = next_len;
        }
        return keep(env, env_len);
}

#define SIGNERS(...) ((const int[]){__VA_ARGS__, 0})

/* ---- the repository ---- */

static struct tuf_root mk_root(uint64_t version, const int *root_seeds, uint64_t threshold,
                               int ts_seed, int snap_seed)
{
        struct tuf_root r = {.version = version, .expires = T0 + 365 * 86400};
        for (; *root_seeds; root_seeds++)
                grant(&r.keys, &r.roles[TUF_ROLE_ROOT], *root_seeds);
        r.roles[TUF_ROLE_ROOT].threshold = threshold;
        grant(&r.keys, &r.roles[TUF_ROLE_TARGETS], K_TARGETS);
        grant(&r.keys, &r.roles[TUF_ROLE_SNAPSHOT], snap_seed);
        grant(&r.keys, &r.roles[TUF_ROLE_TIMESTAMP], ts_seed);
        grant(&r.keys, &r.roles[TUF_ROLE_DIRECTOR], K_DIRECTOR);
        r.roles[TUF_ROLE_TARGETS].threshold = r.roles[TUF_ROLE_SNAPSHOT].threshold = 1;
        r.roles[TUF_ROLE_TIMESTAMP].threshold = r.roles[TUF_ROLE_DIRECTOR].threshold = 1;
        return r;
}

static struct blob enc_root(const struct tuf_root *r, const int *signers)
{
        struct rp_err err = {0};
        char *p = NULL;
        size_t n = 0;
        struct blob b;
        assert_int_equal(tuf_root_encode(r, &p, &n, &err), 0);
        b = sign_with(p, n, signers);
        free(p);
        return b;
}

static struct tuf_image image(const char *name, const char *component, enum tuf_image_type type,
                              const char *version, uint64_t svn, uint64_t length, uint8_t fill)
{
        struct tuf_image i = {.type = type, .svn = svn, .length = length};
        snprintf(i.name, sizeof(i.name), "%s", name);
        snprintf(i.component_id, sizeof(i.component_id), "%s", component);
        snprintf(i.version, sizeof(i.version), "%s", version);
        memset(i.sha256, fill, sizeof(i.sha256));
        return i;
}

static struct tuf_image os_image(void)
{
        return image(OS_NAME, "os-main", TUF_IMAGE_OS, "1.2.0", 7, 4096, 0x11);
}

static struct tuf_image app_image(void)
{
        return image(APP_NAME, APP_UUID, TUF_IMAGE_APP, "2.0.1", 3,
                     1234, 0x22);
}

static struct tuf_image globex_image(void)
{
        return image(GLOBEX_NAME, "globex-meter", TUF_IMAGE_APP, "1.0.0", 1, 999, 0x33);
}

/* Top-level targets: the OS image, delegations to acme and globex. */
static struct blob enc_targets_with(uint64_t version, const struct tuf_image *imgs, size_t n,
                                    const int *signers)
{
        struct tuf_targets t = {.version = version, .expires = T0 + 90 * 86400};
        struct tuf_delegation d[2] = {{.name = "acme", .n_paths = 1, .paths = {"acme/*/*"}},
                                      {.name = "globex", .n_paths = 1, .paths = {"globex/*/*"}}};
        struct rp_err err = {0};
        char *p = NULL;
        size_t len = 0;
        struct blob b;

        grant(&t.dkeys, &d[0].keys, K_ACME);
        grant(&t.dkeys, &d[1].keys, K_GLOBEX);
        d[0].keys.threshold = d[1].keys.threshold = 1;
        t.targets = (struct tuf_image *)imgs;
        t.n_targets = n;
        t.delegations = d;
        t.n_delegations = 2;
        assert_int_equal(tuf_targets_encode(&t, &p, &len, &err), 0);
        b = sign_with(p, len, signers);
        free(p);
        return b;
}

static struct blob enc_targets(uint64_t version)
{
        struct tuf_image os = os_image();
        return enc_targets_with(version, &os, 1, SIGNERS(K_TARGETS));
}

/* Delegated targets of a tenant (no further delegations). */
static struct blob enc_delegated(uint64_t version, const struct tuf_image *imgs, size_t n,
                                 const int *signers)
{
        struct tuf_targets t = {.version = version, .expires = T0 + 90 * 86400,
                                .targets = (struct tuf_image *)imgs, .n_targets = n};
        struct rp_err err = {0};
        char *p = NULL;
        size_t len = 0;
        struct blob b;
        assert_int_equal(tuf_targets_encode(&t, &p, &len, &err), 0);
        b = sign_with(p, len, signers);
        free(p);
        return b;
}

static struct blob enc_snapshot(uint64_t version, uint64_t targets_v, uint64_t acme_v,
                                const int *signers)
{
        struct tuf_snapshot s = {.version = version, .expires = T0 + 7 * 86400, .n_meta = 1};
        struct rp_err err = {0};
        char *p = NULL;
        size_t len = 0;
        struct blob b;

        snprintf(s.meta[0].role, sizeof(s.meta[0].role), "targets");
        s.meta[0].version = targets_v;
        if (acme_v) {
                snprintf(s.meta[1].role, sizeof(s.meta[1].role), "acme");
                s.meta[1].version = acme_v;
                s.n_meta = 2;
        }
        assert_int_equal(tuf_snapshot_encode(&s, &p, &len, &err), 0);
        b = sign_with(p, len, signers);
        free(p);
        return b;
}

static struct blob enc_timestamp_at(uint64_t version, uint64_t snap_v, struct blob snap,
                                    time_t expires, const int *signers)
{
        struct tuf_timestamp t = {.version = version, .expires = expires,
                                  .snapshot_version = snap_v, .snapshot_length = snap.len};
        struct rp_err err = {0};
        char *p = NULL;
        size_t len = 0;
        struct blob b;
        cr_sha256(snap.data, snap.len, t.snapshot_sha256);
        assert_int_equal(tuf_timestamp_encode(&t, &p, &len, &err), 0);
        b = sign_with(p, len, signers);
        free(p);
        return b;
}

static struct blob enc_timestamp(uint64_t version, uint64_t snap_v, struct blob snap)
{
        return enc_timestamp_at(version, snap_v, snap, T0 + 86400, SIGNERS(K_TIMESTAMP));
}

static struct blob enc_director_full(uint64_t version, const char *ueid, time_t expires,
                                     const struct tuf_image *imgs, size_t n, const int *signers)
{
        struct tuf_director *d = calloc(1, sizeof(*d));
        struct rp_err err = {0};
        char *p = NULL;
        size_t len = 0;
        struct blob b;

        assert_non_null(d);
        d->version = version;
        d->expires = expires;
        snprintf(d->ueid, sizeof(d->ueid), "%s", ueid);
        memcpy(d->images, imgs, n * sizeof(*imgs));
        d->n_images = n;
        assert_int_equal(tuf_director_encode(d, &p, &len, &err), 0);
        free(d);
        b = sign_with(p, len, signers);
        free(p);
        return b;
}

static struct blob enc_director(uint64_t version, const struct tuf_image *imgs, size_t n)
{
        return enc_director_full(version, UEID, T0 + 12 * 3600, imgs, n, SIGNERS(K_DIRECTOR));
}

/* A consistent set of metadata at given versions. */
struct world {
        struct blob root, timestamp, snapshot, targets, acme, director;
};

static struct world world_at(uint64_t v)
{
        struct world w;
        struct tuf_image app = app_image(), both[2] = {os_image(), app_image()};
        struct tuf_root r = mk_root(1, SIGNERS(K_ROOT1, K_ROOT2, K_ROOT3), 2, K_TIMESTAMP,
                                    K_SNAPSHOT);
        w.root = enc_root(&r, SIGNERS(K_ROOT1, K_ROOT2));
        w.targets = enc_targets(v);
        w.acme = enc_delegated(v, &app, 1, SIGNERS(K_ACME));
        w.snapshot = enc_snapshot(v, v, v, SIGNERS(K_SNAPSHOT));
        w.timestamp = enc_timestamp(v, v, w.snapshot);
        w.director = enc_director(v, both, 2);
        return w;
}

static struct tuf_client *client_for(const struct world *w)
{
        struct tuf_client *c = NULL;
        struct rp_err err = {0};
        assert_int_equal(tuf_client_new_from_root(w->root.data, w->root.len, UEID, &c, &err), 0);
        return c;
}

static int refresh(struct tuf_client *c, const struct world *w, struct tuf_plan *plan,
                   struct rp_err *err)
{
        struct tuf_delegated_blob d = {"acme", {w->acme.data, w->acme.len}};
        struct tuf_bundle b = {
                .timestamp = {w->timestamp.data, w->timestamp.len},
                .snapshot = {w->snapshot.data, w->snapshot.len},
                .targets = {w->targets.data, w->targets.len},
                .n_delegated = 1, .delegated = &d,
                .director = {w->director.data, w->director.len},
        };
        return tuf_client_refresh(c, &b, T0, plan, err);
}

#define assert_refused(call, code, text)                                                  \
        do {                                                                              \
                struct rp_err _e = {0};                                                   \
                int _r = (call);                                                          \
                (void)_e;                                                                 \
                if (_r != (code) || !strstr(err.msg, (text)))                             \
                        fail_msg("expected %d with '%s', got %d: '%s'", (code), (text), _r, \
                                 err.msg);                                                \
        } while (0)

static int setup(void **state)
{
        assert_int_equal(tuf_time_parse("2026-06-01T00:00:00Z", &T0), 0);
        return 0;
}

static int teardown(void **state)
{
        for (size_t i = 0; i < n_arena; i++)
                free(arena[i]);
        n_arena = 0;
        return 0;
}

static int teardown_all(void **state)
{
        for (int i = 0; i < K_MAX; i++) {
                cr_key_free(keys[i]);
                keys[i] = NULL;
        }
        return 0;
}

/* ---- the good path ---- */

static void test_full_update_resolves(void **state)
{
        struct world w = world_at(1);
        struct tuf_client *c = client_for(&w);
        struct tuf_plan plan;
        struct tuf_versions v;
        struct rp_err err = {0};
        char *saved = NULL;
        size_t saved_len;

        assert_int_equal(refresh(c, &w, &plan, &err), 0);
        assert_int_equal(plan.n, 2);
        assert_string_equal(plan.images[0].name, OS_NAME);
        assert_int_equal(plan.images[0].type, TUF_IMAGE_OS);
        assert_int_equal(plan.images[0].svn, 7);
        assert_string_equal(plan.images[1].name, APP_NAME);
        assert_string_equal(plan.images[1].component_id, APP_UUID);
        assert_int_equal(plan.images[1].length, 1234);
        assert_string_equal(tuf_client_role_for(c, APP_NAME), "acme");
        assert_null(tuf_client_role_for(c, "other/x/1"));

        /* state survives a save/load round trip, versions included */
        assert_int_equal(tuf_client_save(c, &saved, &saved_len, &err), 0);
        tuf_client_free(c);
        assert_int_equal(tuf_client_load(saved, saved_len, UEID, &c, &err), 0);
        free(saved);
        tuf_client_versions(c, &v);
        assert_int_equal(v.root, 1);
        assert_int_equal(v.timestamp, 1);
        assert_int_equal(v.snapshot, 1);
        assert_int_equal(v.targets, 1);
        assert_int_equal(v.director, 1);
        /* the same metadata again is not a rollback */
        assert_int_equal(refresh(c, &w, &plan, &err), 0);
        tuf_client_free(c);
}

static int parse_str(const char *s, struct tuf_envelope *e, struct rp_err *err)
{
        return tuf_envelope_parse(s, strlen(s), 1024, "t", e, err);
}

static void test_envelope_format(void **state)
{
        struct blob b = sign_with("{}", 2, SIGNERS(K_ROOT1));
        struct tuf_envelope e;
        struct rp_err err = {0};
        uint8_t *pae;
        size_t pae_len;
        const char want[] = "DSSEv1 32 application/vnd.rampart.tuf+json 2 {}";

        assert_int_equal(tuf_pae((const uint8_t *)"{}", 2, &pae, &pae_len), 0);
        assert_int_equal(pae_len, strlen(want));
        assert_memory_equal(pae, want, pae_len);
        free(pae);
        assert_non_null(strstr(b.data, "\"payload\":\"e30\""));
        assert_non_null(strstr(b.data, "\"payloadType\":\"application/vnd.rampart.tuf+json\""));
        assert_int_equal(tuf_envelope_parse(b.data, b.len, TUF_MAX_ROOT, "t", &e, &err), 0);
        assert_int_equal(e.n_sigs, 1);
        assert_int_equal(e.payload_len, 2);
        tuf_envelope_free(&e);

        /* padding, a wrong payload type, a DER signature, an extra field */
        assert_refused(parse_str("{\"payloadType\":\"application/vnd.rampart.tuf+json\","
                                 "\"payload\":\"e30=\",\"signatures\":[]}", &e, &err),
                       -EBADMSG, "not canonical unpadded base64url");
        assert_refused(parse_str("{\"payloadType\":\"application/json\","
                                 "\"payload\":\"e30\",\"signatures\":[]}", &e, &err),
                       -EBADMSG, "payloadType is 'application/json'");
        assert_refused(parse_str("{\"payloadType\":\"application/vnd.rampart.tuf+json\","
                                 "\"payload\":\"e30\",\"signatures\":[],\"x\":1}", &e, &err),
                       -EBADMSG, "unknown field 'x'");
}

/* ---- arbitrary software ---- */

static void test_targets_signed_by_unknown_key(void **state)
{
        struct world w = world_at(1);
        struct tuf_client *c = client_for(&w);
        struct tuf_plan plan;
        struct rp_err err = {0};
        struct tuf_image os = os_image();

        w.targets = enc_targets_with(1, &os, 1, SIGNERS(K_ATTACKER));
        assert_refused(refresh(c, &w, &plan, &err), -EPERM,
                       "targets: 0 valid signature(s) from distinct trusted keys, the threshold is "
                       "1 (0 duplicate, 1 from keys not trusted for this role, 0 invalid)");
        tuf_client_free(c);
}

static void test_app_signed_by_unknown_key(void **state)
{
        struct world w = world_at(1);
        struct tuf_client *c = client_for(&w);
        struct tuf_plan plan;
        struct rp_err err = {0};
        struct tuf_image app = app_image();

        /* globex's key is trusted, but not for acme's delegation */
        w.acme = enc_delegated(1, &app, 1, SIGNERS(K_GLOBEX));
        assert_refused(refresh(c, &w, &plan, &err), -EPERM,
                       "delegated targets 'acme': 0 valid signature(s)");
        w.acme = enc_delegated(1, &app, 1, SIGNERS(K_ATTACKER));
        assert_refused(refresh(c, &w, &plan, &err), -EPERM,
                       "delegated targets 'acme': 0 valid signature(s)");
        tuf_client_free(c);
}

static void test_targets_signed_by_online_key_only(void **state)
{
        struct world w = world_at(1);
        struct tuf_client *c = client_for(&w);
        struct tuf_plan plan;
        struct rp_err err = {0};
        struct tuf_image os = os_image();

        w.targets = enc_targets_with(1, &os, 1, SIGNERS(K_SNAPSHOT, K_TIMESTAMP, K_DIRECTOR));
        assert_refused(refresh(c, &w, &plan, &err), -EPERM,
                       "targets: 0 valid signature(s) from distinct trusted keys, the threshold is "
                       "1 (0 duplicate, 3 from keys not trusted for this role");
        tuf_client_free(c);
}

static void test_director_hash_differs(void **state)
{
        struct world w = world_at(1);
        struct tuf_client *c = client_for(&w);
        struct tuf_plan plan;
        struct rp_err err = {0};
        struct tuf_image imgs[2] = {os_image(), app_image()};

        imgs[0].sha256[5] ^= 1;
        w.director = enc_director(1, imgs, 2);
        assert_refused(refresh(c, &w, &plan, &err), -EPERM,
                       "image 'platform/os-main/1.2.0': director sha256 1111111111101111... "
                       "differs from platform targets sha256 1111111111111111...");

        imgs[0] = os_image();
        imgs[1].length++;
        w.director = enc_director(2, imgs, 2);
        assert_refused(refresh(c, &w, &plan, &err), -EPERM,
                       "image '" APP_NAME "': director length 1235 differs from targets "
                       "'acme' length 1234");

        imgs[1] = app_image();
        imgs[1].svn = 2;
        w.director = enc_director(3, imgs, 2);
        assert_refused(refresh(c, &w, &plan, &err), -EPERM,
                       "image '" APP_NAME "': director svn 2 differs from targets 'acme' svn 3");

        /* a name that does not spell its component and version is refused */
        {
                struct tuf_director *d = calloc(1, sizeof(*d));
                char *p = NULL;
                size_t n;
                d->version = 1;
                d->expires = T0 + 3600;
                snprintf(d->ueid, sizeof(d->ueid), UEID);
                d->images[0] = app_image();
                snprintf(d->images[0].version, sizeof(d->images[0].version), "2.0.2");
                d->n_images = 1;
                assert_refused(tuf_director_encode(d, &p, &n, &err), -EBADMSG,
                               "refusing to write director: director: image '" APP_NAME
                               "': name must be '<owner>/" APP_UUID "/2.0.2'");
                free(d);
        }

        imgs[1] = os_image();
        snprintf(imgs[1].name, sizeof(imgs[1].name), "platform/os-main/9.9.9");
        snprintf(imgs[1].version, sizeof(imgs[1].version), "9.9.9");
        w.director = enc_director(5, imgs, 2);
        assert_refused(refresh(c, &w, &plan, &err), -ENOENT,
                       "image 'platform/os-main/9.9.9': not listed by the platform targets");
        tuf_client_free(c);
}

static void test_director_for_other_device_or_key(void **state)
{
        struct world w = world_at(1);
        struct tuf_client *c = client_for(&w);
        struct tuf_plan plan;
        struct rp_err err = {0};
        struct tuf_image os = os_image();

        w.director = enc_director_full(1, "ffff", T0 + 3600, &os, 1, SIGNERS(K_DIRECTOR));
        assert_refused(refresh(c, &w, &plan, &err), -EPERM,
                       "director assignment is for device 'ffff', this device is '" UEID "'");
        w.director = enc_director_full(1, UEID, T0 + 3600, &os, 1, SIGNERS(K_TIMESTAMP));
        assert_refused(refresh(c, &w, &plan, &err), -EPERM,
                       "director assignment: 0 valid signature(s)");
        tuf_client_free(c);
}

/* ---- rollback ---- */

static void test_replayed_older_metadata(void **state)
{
        struct world w1 = world_at(1), w2 = world_at(2);
        struct tuf_client *c = client_for(&w1);
        struct tuf_plan plan;
        struct rp_err err = {0};
        struct world w;

        assert_int_equal(refresh(c, &w2, &plan, &err), 0);

        /* an old timestamp */
        assert_refused(refresh(c, &w1, &plan, &err), -ESTALE,
                       "timestamp version 1 is older than the trusted version 2 (rollback refused)");

        /* a fresh timestamp naming the old snapshot */
        w = w1;
        w.timestamp = enc_timestamp(3, 1, w1.snapshot);
        assert_refused(refresh(c, &w, &plan, &err), -ESTALE,
                       "timestamp names snapshot version 1, older than the trusted version 2");

        /* fresh timestamp and snapshot listing the old targets */
        w = w1;
        w.snapshot = enc_snapshot(3, 1, 2, SIGNERS(K_SNAPSHOT));
        w.timestamp = enc_timestamp(3, 3, w.snapshot);
        assert_refused(refresh(c, &w, &plan, &err), -ESTALE,
                       "snapshot version 3 lists 'targets.json' version 1, older than the trusted "
                       "version 2 (rollback refused)");

        /* ... or dropping a delegated role it listed before */
        w.snapshot = enc_snapshot(3, 2, 0, SIGNERS(K_SNAPSHOT));
        w.timestamp = enc_timestamp(3, 3, w.snapshot);
        assert_refused(refresh(c, &w, &plan, &err), -ESTALE,
                       "snapshot version 3 no longer lists 'acme.json'");

        /* The timestamp of the last attempt was valid and is now trusted (each
         * role is its own step); an old director assignment with otherwise
         * current metadata: */
        w = world_at(4);
        w.director = w1.director;
        assert_refused(refresh(c, &w, &plan, &err), -ESTALE,
                       "director assignment version 1 is older than the trusted version 2");
        w = world_at(4);
        assert_int_equal(refresh(c, &w, &plan, &err), 0);
        tuf_client_free(c);
}

static void test_saved_state_remembers_versions(void **state)
{
        struct world w1 = world_at(1), w2 = world_at(2);
        struct tuf_client *c = client_for(&w1);
        struct tuf_plan plan;
        struct rp_err err = {0};
        char *saved;
        size_t saved_len;

        assert_int_equal(refresh(c, &w2, &plan, &err), 0);
        assert_int_equal(tuf_client_save(c, &saved, &saved_len, &err), 0);
        tuf_client_free(c);
        assert_int_equal(tuf_client_load(saved, saved_len, UEID, &c, &err), 0);
        assert_refused(refresh(c, &w1, &plan, &err), -ESTALE,
                       "timestamp version 1 is older than the trusted version 2");
        tuf_client_free(c);

        /* a state whose root lacks its threshold of signatures is refused */
        {
                struct tuf_root r = mk_root(1, SIGNERS(K_ROOT1, K_ROOT2, K_ROOT3), 2, K_TIMESTAMP,
                                            K_SNAPSHOT);
                struct blob weak = enc_root(&r, SIGNERS(K_ROOT1));
                char *b64 = malloc(rp_b64url_encoded_len(weak.len) + 1), *bad;
                json_t *st = json_loadb(saved, saved_len, 0, NULL);
                rp_b64url_encode((uint8_t *)weak.data, weak.len, b64);
                json_object_set_new(st, "root", json_string(b64));
                bad = json_dumps(st, JSON_COMPACT);
                json_decref(st);
                free(b64);
                keep(bad, strlen(bad));
                assert_refused(tuf_client_load(bad, strlen(bad), UEID, &c, &err), -EPERM,
                               "client state: root version 1: 1 valid signature(s) from distinct "
                               "trusted keys, the threshold is 2");
        }
        free(saved);
        assert_refused(tuf_client_load("{\"format\":\"x\"}", 14, UEID, &c, &err), -EBADMSG,
                       "client state: missing field");
}

/* ---- freeze ---- */

static void test_expired_timestamp(void **state)
{
        struct world w = world_at(1);
        struct tuf_client *c = client_for(&w);
        struct tuf_plan plan;
        struct rp_err err = {0};

        w.timestamp = enc_timestamp_at(1, 1, w.snapshot, T0 - 1, SIGNERS(K_TIMESTAMP));
        assert_refused(refresh(c, &w, &plan, &err), -EKEYEXPIRED,
                       "timestamp version 1 expired at 2026-05-31T23:59:59Z (now "
                       "2026-06-01T00:00:00Z)");
        /* expiry is exact: valid up to the second before */
        w.timestamp = enc_timestamp_at(1, 1, w.snapshot, T0, SIGNERS(K_TIMESTAMP));
        assert_refused(refresh(c, &w, &plan, &err), -EKEYEXPIRED, "timestamp version 1 expired");
        w.timestamp = enc_timestamp_at(1, 1, w.snapshot, T0 + 1, SIGNERS(K_TIMESTAMP));
        assert_int_equal(refresh(c, &w, &plan, &err), 0);
        tuf_client_free(c);
}

static void test_expired_director(void **state)
{
        struct world w = world_at(1);
        struct tuf_client *c = client_for(&w);
        struct tuf_plan plan;
        struct rp_err err = {0};
        struct tuf_image os = os_image();

        w.director = enc_director_full(1, UEID, T0 - 60, &os, 1, SIGNERS(K_DIRECTOR));
        assert_refused(refresh(c, &w, &plan, &err), -EKEYEXPIRED,
                       "director assignment version 1 expired at 2026-05-31T23:59:00Z");
        /* an assignment valid for more than a day is refused too */
        w.director = enc_director_full(1, UEID, T0 + 86400 + 1, &os, 1, SIGNERS(K_DIRECTOR));
        assert_refused(refresh(c, &w, &plan, &err), -EBADMSG,
                       "86401 s from now; the limit is 86400 s");
        w.director = enc_director_full(1, UEID, T0 + 86400, &os, 1, SIGNERS(K_DIRECTOR));
        assert_int_equal(refresh(c, &w, &plan, &err), 0);
        assert_int_equal(plan.n, 1);
        tuf_client_free(c);
}

static void test_expired_root_and_other_roles(void **state)
{
        struct world w = world_at(1);
        struct tuf_client *c = client_for(&w);
        struct tuf_plan plan;
        struct rp_err err = {0};

        assert_refused(tuf_client_update_timestamp(c, w.timestamp.data, w.timestamp.len,
                                                   T0 + 366 * 86400, &err),
                       -EKEYEXPIRED, "trusted root version 1 expired at 2027-06-01T00:00:00Z");
        assert_int_equal(tuf_client_update_timestamp(c, w.timestamp.data, w.timestamp.len, T0,
                                                     &err), 0);
        assert_refused(tuf_client_update_snapshot(c, w.snapshot.data, w.snapshot.len,
                                                  T0 + 8 * 86400, &err),
                       -EKEYEXPIRED, "snapshot version 1 expired");
        (void)plan;
        tuf_client_free(c);
}

/* ---- mix and match ---- */

static void test_mix_and_match(void **state)
{
        struct world w1 = world_at(1), w2 = world_at(2);
        struct tuf_client *c = client_for(&w1);
        struct tuf_plan plan;
        struct rp_err err = {0};
        struct world w;

        /* targets from snapshot 1 with snapshot 2 */
        w = w2;
        w.targets = w1.targets;
        assert_refused(refresh(c, &w, &plan, &err), -EBADMSG,
                       "targets version 1 does not match the version 2 listed by snapshot "
                       "version 2");
        /* snapshot 1 under timestamp 2 (which names snapshot 2's bytes) */
        w = w2;
        w.snapshot = w1.snapshot;
        assert_refused(refresh(c, &w, &plan, &err), -EBADMSG, "does not match the timestamp's");
        /* a delegated role from another snapshot */
        w = w2;
        w.acme = w1.acme;
        assert_refused(refresh(c, &w, &plan, &err), -EBADMSG,
                       "delegated targets 'acme' version 1 does not match the version 2 listed by "
                       "snapshot version 2");
        /* a timestamp that names a snapshot version other than the one it hashes */
        w = w2;
        w.timestamp = enc_timestamp(2, 3, w2.snapshot);
        assert_refused(refresh(c, &w, &plan, &err), -EBADMSG,
                       "snapshot version 2 does not match the version 3 named by timestamp");
        assert_int_equal(refresh(c, &w2, &plan, &err), 0);
        /* a snapshot accepted after targets voids them: targets must be
         * verified again against it before anything resolves */
        assert_int_equal(tuf_client_update_snapshot(c, w2.snapshot.data, w2.snapshot.len, T0,
                                                    &err), 0);
        assert_refused(tuf_resolve(c, &plan, &err), -EINVAL,
                       "resolve: no verified targets in this update");
        tuf_client_free(c);
}

/* ---- root rotation ---- */

static void test_root_rotation_two_versions(void **state)
{
        struct world w = world_at(1);
        struct tuf_client *c = client_for(&w);
        struct tuf_plan plan;
        struct rp_err err = {0};
        struct tuf_versions v;
        /* v2: root keys 4,5,6 (2 of 3); v3: keys 5,6 (2 of 2), new timestamp key */
        struct tuf_root r2 = mk_root(2, SIGNERS(K_ROOT4, K_ROOT5, K_ROOT6), 2, K_TIMESTAMP,
                                     K_SNAPSHOT);
        struct tuf_root r3 = mk_root(3, SIGNERS(K_ROOT5, K_ROOT6), 2, K_TIMESTAMP2, K_SNAPSHOT);
        struct blob b2 = enc_root(&r2, SIGNERS(K_ROOT1, K_ROOT3, K_ROOT4, K_ROOT6));
        struct blob b3 = enc_root(&r3, SIGNERS(K_ROOT4, K_ROOT5, K_ROOT6));
        struct tuf_blob roots[2] = {{b2.data, b2.len}, {b3.data, b3.len}};
        struct tuf_delegated_blob d;
        struct tuf_bundle b;

        /* the device trusts v1 and has seen timestamp 5 */
        {
                struct world w5 = world_at(5);
                assert_int_equal(refresh(c, &w5, &plan, &err), 0);
        }
        /* skipping v2 is refused */
        assert_refused(tuf_client_update_root(c, b3.data, b3.len, &err), -EPERM,
                       "new root (checked with the keys of root version 1): 0 valid signature(s)");
        {
                /* even when v3 carries the old keys' signatures */
                struct blob b3old = enc_root(&r3, SIGNERS(K_ROOT1, K_ROOT2, K_ROOT5, K_ROOT6));
                assert_refused(tuf_client_update_root(c, b3old.data, b3old.len, &err), -EBADMSG,
                               "root version 3 given, version 2 expected next");
        }
        /* walking both in order works; the new timestamp key then signs
         * from version 1 again, because the old timestamp key was removed */
        w.timestamp = enc_timestamp_at(1, 5, w.snapshot, T0 + 3600, SIGNERS(K_TIMESTAMP2));
        w.snapshot = enc_snapshot(5, 5, 5, SIGNERS(K_SNAPSHOT));
        w.timestamp = enc_timestamp_at(1, 5, w.snapshot, T0 + 3600, SIGNERS(K_TIMESTAMP2));
        {
                struct tuf_image app = app_image();
                w.targets = enc_targets(5);
                w.acme = enc_delegated(5, &app, 1, SIGNERS(K_ACME));
                w.director = enc_director(5, (struct tuf_image[]){os_image()}, 1);
        }
        d = (struct tuf_delegated_blob){"acme", {w.acme.data, w.acme.len}};
        b = (struct tuf_bundle){.n_roots = 2, .roots = roots,
                                .timestamp = {w.timestamp.data, w.timestamp.len},
                                .snapshot = {w.snapshot.data, w.snapshot.len},
                                .targets = {w.targets.data, w.targets.len},
                                .n_delegated = 1, .delegated = &d,
                                .director = {w.director.data, w.director.len}};
        assert_int_equal(tuf_client_refresh(c, &b, T0, &plan, &err), 0);
        tuf_client_versions(c, &v);
        assert_int_equal(v.root, 3);
        assert_int_equal(v.timestamp, 1);
        assert_int_equal(v.snapshot, 5);
        /* the old timestamp key no longer counts */
        {
                struct blob old = enc_timestamp_at(9, 5, w.snapshot, T0 + 3600,
                                                   SIGNERS(K_TIMESTAMP));
                assert_refused(tuf_client_update_timestamp(c, old.data, old.len, T0, &err), -EPERM,
                               "timestamp: 0 valid signature(s)");
        }
        /* replaying v2 or v1 is refused */
        assert_refused(tuf_client_update_root(c, b2.data, b2.len, &err), -EPERM,
                       "new root (checked with the keys of root version 3)");
        tuf_client_free(c);
}

/* Versions vouched for by removed keys are forgotten; otherwise never. */
static void test_rotation_forgets_versions_of_removed_keys(void **state)
{
        struct world w = world_at(1), w5 = world_at(5);
        struct tuf_client *c = client_for(&w);
        struct tuf_plan plan;
        struct rp_err err = {0};
        struct tuf_versions v;
        struct tuf_root same = mk_root(2, SIGNERS(K_ROOT1, K_ROOT2, K_ROOT3), 2, K_TIMESTAMP,
                                       K_SNAPSHOT);
        struct tuf_root newsnap = mk_root(3, SIGNERS(K_ROOT1, K_ROOT2, K_ROOT3), 2, K_TIMESTAMP,
                                          K_SNAPSHOT2);
        struct blob b2 = enc_root(&same, SIGNERS(K_ROOT1, K_ROOT2));
        struct blob b3 = enc_root(&newsnap, SIGNERS(K_ROOT1, K_ROOT2));
        struct blob snap, ts;

        assert_int_equal(refresh(c, &w5, &plan, &err), 0);
        /* a root that keeps every key keeps every version */
        assert_int_equal(tuf_client_update_root(c, b2.data, b2.len, &err), 0);
        tuf_client_versions(c, &v);
        assert_int_equal(v.timestamp, 5);
        assert_int_equal(v.snapshot, 5);
        assert_refused(refresh(c, &w, &plan, &err), -ESTALE,
                       "timestamp version 1 is older than the trusted version 5");
        /* a root that replaces the snapshot key forgets timestamp and
         * snapshot versions, so the recovered repository can start over */
        assert_int_equal(tuf_client_update_root(c, b3.data, b3.len, &err), 0);
        tuf_client_versions(c, &v);
        assert_int_equal(v.timestamp, 0);
        assert_int_equal(v.snapshot, 0);
        assert_int_equal(v.targets, 0);
        assert_int_equal(v.director, 5);
        snap = enc_snapshot(1, 1, 1, SIGNERS(K_SNAPSHOT2));
        ts = enc_timestamp(1, 1, snap);
        w.snapshot = snap;
        w.timestamp = ts;
        w.director = w5.director;
        assert_int_equal(refresh(c, &w, &plan, &err), 0);
        /* the old snapshot key no longer counts */
        w.snapshot = enc_snapshot(2, 1, 1, SIGNERS(K_SNAPSHOT));
        w.timestamp = enc_timestamp(2, 2, w.snapshot);
        assert_refused(refresh(c, &w, &plan, &err), -EPERM, "snapshot: 0 valid signature(s)");
        tuf_client_free(c);
}

static void test_root_not_signed_by_old_threshold(void **state)
{
        struct world w = world_at(1);
        struct tuf_client *c = client_for(&w);
        struct rp_err err = {0};
        struct tuf_root r2 = mk_root(2, SIGNERS(K_ROOT4, K_ROOT5, K_ROOT6), 2, K_TIMESTAMP,
                                     K_SNAPSHOT);
        struct blob one_old = enc_root(&r2, SIGNERS(K_ROOT1, K_ROOT4, K_ROOT5));
        struct blob no_new = enc_root(&r2, SIGNERS(K_ROOT1, K_ROOT2, K_ROOT4));
        struct tuf_versions v;

        assert_refused(tuf_client_update_root(c, one_old.data, one_old.len, &err), -EPERM,
                       "new root (checked with the keys of root version 1): 1 valid signature(s) "
                       "from distinct trusted keys, the threshold is 2 (0 duplicate, 2 from keys "
                       "not trusted for this role, 0 invalid)");
        assert_refused(tuf_client_update_root(c, no_new.data, no_new.len, &err), -EPERM,
                       "root version 2 (checked with its own keys): 1 valid signature(s)");
        tuf_client_versions(c, &v);
        assert_int_equal(v.root, 1);
        tuf_client_free(c);
}

static void test_root_rollback(void **state)
{
        struct world w = world_at(1);
        struct tuf_client *c = client_for(&w);
        struct rp_err err = {0};
        struct tuf_root r2 = mk_root(2, SIGNERS(K_ROOT1, K_ROOT2, K_ROOT3), 2, K_TIMESTAMP,
                                     K_SNAPSHOT);
        struct blob b2 = enc_root(&r2, SIGNERS(K_ROOT1, K_ROOT2));

        assert_int_equal(tuf_client_update_root(c, b2.data, b2.len, &err), 0);
        assert_refused(tuf_client_update_root(c, w.root.data, w.root.len, &err), -ESTALE,
                       "root version 1 is not newer than the trusted version 2 (rollback refused)");
        assert_refused(tuf_client_update_root(c, b2.data, b2.len, &err), -ESTALE,
                       "root version 2 is not newer than the trusted version 2");
        tuf_client_free(c);
}

static void test_duplicate_signatures(void **state)
{
        struct world w = world_at(1);
        struct tuf_client *c = client_for(&w);
        struct rp_err err = {0};
        struct tuf_root r2 = mk_root(2, SIGNERS(K_ROOT1, K_ROOT2, K_ROOT3), 2, K_TIMESTAMP,
                                     K_SNAPSHOT);
        struct blob one = enc_root(&r2, SIGNERS(K_ROOT1));
        json_t *env, *sigs;
        char *dup;

        /* the same key's signature three times over */
        env = json_loadb(one.data, one.len, 0, NULL);
        assert_non_null(env);
        sigs = json_object_get(env, "signatures");
        json_array_append(sigs, json_array_get(sigs, 0));
        json_array_append(sigs, json_array_get(sigs, 0));
        dup = json_dumps(env, JSON_COMPACT);
        json_decref(env);
        keep(dup, strlen(dup));
        assert_refused(tuf_client_update_root(c, dup, strlen(dup), &err), -EPERM,
                       "1 valid signature(s) from distinct trusted keys, the threshold is 2 (2 "
                       "duplicate");
        /* and a signature that does not verify */
        {
                struct blob two = enc_root(&r2, SIGNERS(K_ROOT1, K_ROOT2));
                char *p = strstr(two.data, "\"sig\":\"") + 7;
                p[3] = p[3] == 'A' ? 'B' : 'A';
                assert_refused(tuf_client_update_root(c, two.data, two.len, &err), -EPERM,
                               "1 valid signature(s) from distinct trusted keys, the threshold "
                               "is 2 (0 duplicate, 0 from keys not trusted for this role, 1 "
                               "invalid)");
        }
        tuf_client_free(c);
}

/* ---- tenants ---- */

static void test_tenant_cannot_sign_other_tenant(void **state)
{
        struct world w = world_at(1);
        struct tuf_client *c = client_for(&w);
        struct tuf_plan plan;
        struct rp_err err = {0};
        struct tuf_image imgs[2] = {app_image(), globex_image()};
        struct tuf_image assign[2] = {os_image(), globex_image()};

        /* acme lists globex's component in its own metadata */
        w.acme = enc_delegated(1, imgs, 2, SIGNERS(K_ACME));
        assert_refused(refresh(c, &w, &plan, &err), -EPERM,
                       "delegated targets 'acme' lists '" GLOBEX_NAME "', outside its "
                       "delegated paths ('acme/*/*')");
        /* the director assigns globex's app; only acme's metadata is there */
        w = world_at(1);
        w.director = enc_director(1, assign, 2);
        assert_refused(refresh(c, &w, &plan, &err), -ENOENT,
                       "image '" GLOBEX_NAME "': delegated targets 'globex' not verified");
        /* acme's key signing globex's delegated metadata */
        assert_int_equal(tuf_client_update_timestamp(c, w.timestamp.data, w.timestamp.len, T0,
                                                     &err), 0);
        {
                struct blob g = enc_delegated(1, &imgs[1], 1, SIGNERS(K_ACME));
                assert_int_equal(tuf_client_update_snapshot(c, w.snapshot.data, w.snapshot.len,
                                                            T0, &err), 0);
                assert_int_equal(tuf_client_update_targets(c, w.targets.data, w.targets.len, T0,
                                                           &err), 0);
                assert_refused(tuf_client_update_delegated(c, "globex", g.data, g.len, T0, &err),
                               -EPERM, "delegated targets 'globex': 0 valid signature(s)");
        }
        /* an app image in the platform targets, an OS image in a tenant's */
        {
                struct tuf_image both[2] = {os_image(), app_image()}, os = os_image();
                struct blob t = enc_targets_with(1, both, 2, SIGNERS(K_TARGETS));
                struct blob a;
                assert_refused(tuf_client_update_targets(c, t.data, t.len, T0, &err), -EBADMSG,
                               "targets: '" APP_NAME "' is an app image");
                snprintf(os.name, sizeof(os.name), "acme/os-main/1.2.0");
                a = enc_delegated(1, &os, 1, SIGNERS(K_ACME));
                assert_refused(tuf_client_update_delegated(c, "acme", a.data, a.len, T0, &err),
                               -EPERM, "lists 'acme/os-main/1.2.0' as an OS image");
                assert_refused(tuf_client_update_delegated(c, "initech", a.data, a.len, T0, &err),
                               -ENOENT, "delegates no role 'initech'");
        }
        tuf_client_free(c);
}

static void test_path_match(void **state)
{
        assert_true(tuf_path_match("acme/*/*", "acme/sensor/1.0"));
        assert_false(tuf_path_match("acme/*/*", "acme/sensor/1.0/x"));
        assert_false(tuf_path_match("acme/*", "acme/sensor/1.0"));
        assert_false(tuf_path_match("acme/*/*", "acmex/sensor/1.0"));
        assert_false(tuf_path_match("acme/*/*", "globex/sensor/1.0"));
        assert_true(tuf_path_match("acme/sensor-?/*", "acme/sensor-2/3"));
        assert_true(tuf_path_match("*", "x"));
        assert_false(tuf_path_match("*", "a/b"));
        assert_false(tuf_valid_target_name("acme/../globex/x"));
        assert_false(tuf_valid_target_name("/abs"));
        assert_false(tuf_valid_target_name("a//b"));
        assert_false(tuf_valid_role_name("targets"));
        assert_false(tuf_valid_role_name("Acme"));
        assert_true(tuf_valid_role_name("acme-2"));
}

/* ---- size, depth and strictness ---- */

static void test_oversized_metadata(void **state)
{
        struct world w = world_at(1);
        struct tuf_client *c = client_for(&w);
        struct rp_err err = {0};
        size_t big = TUF_MAX_TIMESTAMP + 1;
        char *p = malloc(big);

        assert_non_null(p);
        memset(p, ' ', big);
        memcpy(p, w.timestamp.data, w.timestamp.len);
        assert_refused(tuf_client_update_timestamp(c, p, big, T0, &err), -EFBIG,
                       "timestamp: 16385 bytes, the limit is 16384");
        free(p);
        assert_int_equal(tuf_client_update_timestamp(c, w.timestamp.data, w.timestamp.len, T0,
                                                     &err), 0);
        /* a snapshot longer than the timestamp says */
        p = malloc(w.snapshot.len + 1);
        memcpy(p, w.snapshot.data, w.snapshot.len);
        p[w.snapshot.len] = ' ';
        assert_refused(tuf_client_update_snapshot(c, p, w.snapshot.len + 1, T0, &err), -EFBIG,
                       "the timestamp allows");
        free(p);
        /* root, targets and director caps */
        p = calloc(1, TUF_MAX_TARGETS + 1);
        assert_refused(tuf_client_update_root(c, p, TUF_MAX_ROOT + 1, &err), -EFBIG,
                       "root: 131073 bytes, the limit is 131072");
        assert_refused(tuf_client_update_director(c, p, TUF_MAX_DIRECTOR + 1, T0, &err), -EFBIG,
                       "director assignment: 65537 bytes, the limit is 65536");
        free(p);
        tuf_client_free(c);
}

/* Signs an arbitrary payload with the right key, so only the parser can
 * refuse it. */
static void expect_payload_refused(struct tuf_client *c, const char *root_payload,
                                   const char *text)
{
        struct rp_err err = {0};
        struct blob b = sign_with(root_payload, strlen(root_payload),
                                  SIGNERS(K_ROOT1, K_ROOT2, K_ROOT3));
        int r = tuf_client_update_root(c, b.data, b.len, &err);
        if (r != -EBADMSG || !strstr(err.msg, text))
                fail_msg("expected '%s', got %d '%s'", text, r, err.msg);
}

static char *root_payload(uint64_t version)
{
        struct tuf_root r = mk_root(version, SIGNERS(K_ROOT1, K_ROOT2, K_ROOT3), 2, K_TIMESTAMP,
                                    K_SNAPSHOT);
        struct rp_err err = {0};
        char *p = NULL;
        size_t n;
        assert_int_equal(tuf_root_encode(&r, &p, &n, &err), 0);
        return keep(p, n).data;
}

/* Replaces the first occurrence of `from` with `to` (new string, kept). */
static char *edit(const char *s, const char *from, const char *to)
{
        const char *at = strstr(s, from);
        size_t n;
        char *out;
        if (!at)
                fail_msg("'%s' not found in '%s'", from, s);
        n = strlen(s) - strlen(from) + strlen(to);
        out = malloc(n + 1);
        memcpy(out, s, (size_t)(at - s));
        strcpy(out + (at - s), to);
        strcat(out, at + strlen(from));
        return keep(out, n).data;
}

static void test_unknown_fields_and_types(void **state)
{
        struct world w = world_at(1);
        struct tuf_client *c = client_for(&w);
        char *p = root_payload(2);

        expect_payload_refused(c, edit(p, "{\"_type\"", "{\"extra\":true,\"_type\""),
                               "root: unknown field 'extra'");
        expect_payload_refused(c, edit(p, "\"threshold\":2", "\"threshold\":2,\"x\":0"),
                               "root: role 'root': unknown field 'x'");
        expect_payload_refused(c, edit(p, "\"version\":2", "\"version\":\"2\""),
                               "root: field 'version' is not an integer");
        expect_payload_refused(c, edit(p, "\"version\":2", "\"version\":2.0"),
                               "root: field 'version' is not an integer");
        expect_payload_refused(c, edit(p, "\"version\":2", "\"version\":-2"),
                               "root: field 'version' is -2");
        expect_payload_refused(c, edit(p, "\"version\":2", "\"version\":2,\"version\":3"),
                               "duplicate object key");
        expect_payload_refused(c, edit(p, "\"threshold\":2", "\"threshold\":4"),
                               "root: role 'root': field 'threshold' is 4, allowed range is 1..3");
        expect_payload_refused(c, edit(p, "\"spec_version\":\"1.0\"", "\"spec_version\":\"2.0\""),
                               "spec_version is '2.0'");
        expect_payload_refused(c, edit(p, "T00:00:00Z", "T00:00:00+00:00"),
                               "expected YYYY-MM-DDTHH:MM:SSZ");
        expect_payload_refused(c, edit(p, "\"expires\":\"2027-06-01", "\"expires\":\"2027-02-30"),
                               "expected YYYY-MM-DDTHH:MM:SSZ");
        expect_payload_refused(c, edit(p, "\"scheme\":\"ecdsa-sha2-nistp256\"",
                                       "\"scheme\":\"ed25519\""),
                               "scheme 'ed25519' is not supported");
        expect_payload_refused(c, edit(p, "\"_type\":\"root\"", "\"_type\":\"targets\""),
                               "_type is 'targets', expected 'root'");
        expect_payload_refused(c, edit(p, "\"roles\":{\"director\":{", "\"roles\":{\"dir\":{"),
                               "unknown field 'dir'");
        {
                /* a keyid that is not the hash of its key */
                char hex[65];
                struct tuf_key k = tkey(K_DIRECTOR);
                char *q;
                rp_hex_encode(k.id, 32, hex);
                q = edit(p, hex, "00000000000000000000000000000000000000000000000000000000000000ff");
                expect_payload_refused(c, q, "key id is not the SHA-256 of its public key");
        }
        /* nesting beyond the limit, before jansson sees it */
        {
                char deep[64] = "{\"a\":[[[[[[[[[1]]]]]]]]]}";
                expect_payload_refused(c, deep, "JSON nesting depth 10, the limit is 8");
        }
        /* unknown fields in other roles and in the envelope's signatures */
        {
                struct rp_err err = {0};
                struct tuf_targets t;
                struct tuf_snapshot *s = malloc(sizeof(*s));
                struct tuf_director *d = malloc(sizeof(*d));
                struct tuf_timestamp ts;
                const char *tg = "{\"_type\":\"targets\",\"spec_version\":\"1.0\",\"version\":1,"
                                 "\"expires\":\"2030-01-01T00:00:00Z\",\"targets\":{\"a/c/1\":{"
                                 "\"length\":1,\"hashes\":{\"sha256\":\"00000000000000000000000"
                                 "00000000000000000000000000000000000000000\",\"md5\":\"x\"},"
                                 "\"custom\":{\"component_id\":\"c\",\"type\":\"os\",\"version\":"
                                 "\"1\",\"svn\":0}}}}";
                assert_refused(tuf_targets_parse((const uint8_t *)tg, strlen(tg), NULL, &t, &err),
                               -EBADMSG, "targets: target 'a/c/1': hashes: unknown field 'md5'");
                const char *sn = "{\"_type\":\"snapshot\",\"spec_version\":\"1.0\",\"version\":1,"
                                 "\"expires\":\"2030-01-01T00:00:00Z\",\"meta\":{\"targets.json\":"
                                 "{\"version\":1,\"length\":5}}}";
                assert_refused(tuf_snapshot_parse((const uint8_t *)sn, strlen(sn), s, &err),
                               -EBADMSG, "snapshot: meta 'targets.json': unknown field 'length'");
                const char *ti = "{\"_type\":\"timestamp\",\"spec_version\":\"1.0\",\"version\":1,"
                                 "\"expires\":\"2030-01-01T00:00:00Z\",\"meta\":{}}";
                assert_refused(tuf_timestamp_parse((const uint8_t *)ti, strlen(ti), &ts, &err),
                               -EBADMSG, "timestamp: meta: missing field 'snapshot.json'");
                const char *di = "{\"_type\":\"director\",\"spec_version\":\"1.0\",\"version\":1,"
                                 "\"expires\":\"2030-01-01T00:00:00Z\",\"ueid\":\"u\",\"images\":"
                                 "[{\"name\":\"a/b\",\"component_id\":\"c\",\"type\":\"firmware\","
                                 "\"version\":\"1\",\"svn\":0,\"length\":1,\"hashes\":{\"sha256\":"
                                 "\"0000000000000000000000000000000000000000000000000000000000000000"
                                 "\"}}]}";
                assert_refused(tuf_director_parse((const uint8_t *)di, strlen(di), d, &err),
                               -EBADMSG, "type is 'firmware', expected 'os' or 'app'");
                free(s);
                free(d);
        }
        tuf_client_free(c);
}

static void test_time_parse(void **state)
{
        time_t t;
        char back[21];
        assert_int_equal(tuf_time_parse("2026-06-01T00:00:00Z", &t), 0);
        tuf_time_format(t, back);
        assert_string_equal(back, "2026-06-01T00:00:00Z");
        assert_int_equal(tuf_time_parse("2026-13-01T00:00:00Z", &t), -EINVAL);
        assert_int_equal(tuf_time_parse("2026-02-29T00:00:00Z", &t), -EINVAL);
        assert_int_equal(tuf_time_parse("2028-02-29T00:00:00Z", &t), 0);
        assert_int_equal(tuf_time_parse("2026-06-01 00:00:00Z", &t), -EINVAL);
        assert_int_equal(tuf_time_parse("2026-06-01T00:00:00.5Z", &t), -EINVAL);
        assert_int_equal(tuf_time_parse("1969-12-31T23:59:59Z", &t), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_full_update_resolves, setup, teardown),
                cmocka_unit_test_setup_teardown(test_envelope_format, setup, teardown),
                cmocka_unit_test_setup_teardown(test_targets_signed_by_unknown_key, setup, teardown),
                cmocka_unit_test_setup_teardown(test_app_signed_by_unknown_key, setup, teardown),
                cmocka_unit_test_setup_teardown(test_targets_signed_by_online_key_only, setup, teardown),
                cmocka_unit_test_setup_teardown(test_director_hash_differs, setup, teardown),
                cmocka_unit_test_setup_teardown(test_director_for_other_device_or_key, setup, teardown),
                cmocka_unit_test_setup_teardown(test_replayed_older_metadata, setup, teardown),
                cmocka_unit_test_setup_teardown(test_saved_state_remembers_versions, setup, teardown),
                cmocka_unit_test_setup_teardown(test_expired_timestamp, setup, teardown),
                cmocka_unit_test_setup_teardown(test_expired_director, setup, teardown),
                cmocka_unit_test_setup_teardown(test_expired_root_and_other_roles, setup, teardown),
                cmocka_unit_test_setup_teardown(test_mix_and_match, setup, teardown),
                cmocka_unit_test_setup_teardown(test_root_rotation_two_versions, setup, teardown),
                cmocka_unit_test_setup_teardown(test_rotation_forgets_versions_of_removed_keys, setup, teardown),
                cmocka_unit_test_setup_teardown(test_root_not_signed_by_old_threshold, setup, teardown),
                cmocka_unit_test_setup_teardown(test_root_rollback, setup, teardown),
                cmocka_unit_test_setup_teardown(test_duplicate_signatures, setup, teardown),
                cmocka_unit_test_setup_teardown(test_tenant_cannot_sign_other_tenant, setup, teardown),
                cmocka_unit_test(test_path_match),
                cmocka_unit_test_setup_teardown(test_oversized_metadata, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unknown_fields_and_types, setup, teardown),
                cmocka_unit_test(test_time_parse),
        };
        return cmocka_run_group_tests(tests, NULL, teardown_all);
}

/* repo.c - `rampart repo`: the offline side of the update repository.
 *
 *   rampart repo init        root keys, targets key, root v1, empty targets
 *   rampart repo sign        add a signature to a metadata envelope
 *   rampart repo rotate-root root N+1 signed by the old and new thresholds
 *   rampart repo add-target  list a verified image package in targets
 *   rampart repo delegate    delegate a tenant's app images to its keys
 *   rampart repo publish     snapshot + timestamp (online keys; for testing)
 *   rampart repo assign      a director assignment (online key; for testing)
 *   rampart repo verify      run the device's checks over metadata files
 *   rampart repo server-keys fetch the server's online public keys (for init)
 *   rampart repo bind        bind a delegated role to a tenant (platform operator)
 *   rampart repo upload      send root, targets or delegated targets to the server
 *
 * A repository directory D holds the keys (keys/, 0700; private keys 0600)
 * and the signed metadata (metadata/). Root and targets keys stay in D;
 * nothing here talks to a network. The online keys (snapshot, timestamp,
 * director) belong to the server; for testing `init` can generate them
 * into D, or take their public keys with --online-key ROLE=PUB.pem. */
#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "crypto/crypto.h"
#include "image/image.h"
#include "lib/cleanup.h"
#include "lib/encode.h"
#include "lib/fileio.h"
#include "tuf/client.h"
#include "tuf/envelope.h"
#include "tuf/json.h"
#include "tuf/meta.h"

#define DAY (24 * 3600)
#define ROOT_LIFETIME (365 * DAY)
#define TARGETS_LIFETIME (90 * DAY)
#define SNAPSHOT_LIFETIME (7 * DAY)
#define TIMESTAMP_LIFETIME (1 * DAY)
#define MAX_ROOT_KEYS 8
#define MAX_TRUST 8
#define P 4096
#define MAX_VERIFY_ROOTS 16

static const char *const online_roles[] = {"snapshot", "timestamp", "director"};

static void usage(FILE *f)
{
        fprintf(f,
                "usage: rampart repo <command> --dir D [options]\n\n"
                "The offline update repository: keys and signed metadata in directory D.\n\n"
                "commands:\n"
                "  init         create root and targets keys, root version 1 and empty targets\n"
                "                 [--keys N (3)] [--threshold T (2)] [--online-key ROLE=PUB.pem]...\n"
                "               online roles (snapshot, timestamp, director) without --online-key\n"
                "               get a key generated into D/keys, for testing\n"
                "  sign         --role ROLE --key KEY.pem FILE: add KEY's signature to FILE\n"
                "  rotate-root  [--new-keys N] [--threshold T] [--online-key ROLE=PUB.pem|generate]...\n"
                "               write root N+1 signed by the old and the new root keys\n"
                "  add-target   --trust PUB.pem... [--tenant T --key TENANT.pem] PACKAGE\n"
                "               list a verified image package in the platform targets (OS)\n"
                "               or in tenant T's delegated targets (app)\n"
                "  delegate     --tenant T --key PUB.pem... [--threshold N] [--component UUID]...\n"
                "               [--path PATTERN]...: delegate tenant T's app images; target\n"
                "               names are T/COMPONENT/VERSION, so --component binds components\n"
                "               to the tenant (without it and --path: any component, T/*/*)\n"
                "  publish      [--expires-hours H]: snapshot and timestamp (needs their keys in D)\n"
                "  assign       --ueid U [--expires-hours H (24)] TARGET...: director assignment\n"
                "  verify       --ueid U [--state FILE] [--now YYYY-MM-DDTHH:MM:SSZ]\n"
                "               [--trusted-root F] [--root F]... [--timestamp F] [--snapshot F]\n"
                "               [--targets F] [--delegated T=F]... [--director F]\n"
                "               check metadata as a device does and print what it would install\n\n"
                "with the server of 'rampart login' (no --dir):\n"
                "  server-keys  --out DIR: write the server's online public keys as\n"
                "               DIR/ROLE.pub.pem, for init/rotate-root --online-key\n"
                "  bind         ROLE TENANT_ID: delegated role ROLE belongs to the tenant\n"
                "               (platform operator; once per role and tenant)\n"
                "  upload       root|targets|delegated FILE: upload metadata; the server\n"
                "               verifies it against the stored root (and delegation)\n");
}

/* ---- small helpers ---- */

static void key_hex(const struct cr_key *k, char out[2 * CR_KEY_ID_LEN + 1])
{
        uint8_t id[CR_KEY_ID_LEN] = {0};
        if (cr_key_id(k, id) < 0)
                memset(id, 0, sizeof(id));
        rp_hex_encode(id, sizeof(id), out);
}

static void id_hex(const uint8_t id[CR_KEY_ID_LEN], char out[2 * CR_KEY_ID_LEN + 1])
{
        rp_hex_encode(id, CR_KEY_ID_LEN, out);
}

static int exists(const char *path)
{
        struct stat st;
        return lstat(path, &st) == 0;
}

static int read_file(const char *path, size_t max, uint8_t **ret, size_t *ret_len,
                     struct rp_err *err)
{
        return rp_read_file(path, max, ret, ret_len, err);
}

/* The payload of an envelope file (not verified: our own repository). */
static int read_payload(const char *path, size_t max, struct tuf_envelope *ret,
                        struct rp_err *err)
{
        _cleanup_free_ uint8_t *buf = NULL;
        size_t len;
        int r = read_file(path, max, &buf, &len, err);
        if (r < 0)
                return r;
        r = tuf_envelope_parse(buf, len, max, path, ret, err);
        return r;
}

static int load_root(const char *dir, struct tuf_root *ret, struct rp_err *err)
{
        char path[P];
        struct tuf_envelope e;
        int r;
        snprintf(path, sizeof(path), "%s/metadata/root.json", dir);
        r = read_payload(path, TUF_MAX_ROOT, &e, err);
        if (r < 0)
                return r;
        r = tuf_root_parse(e.payload, e.payload_len, ret, err);
        tuf_envelope_free(&e);
        return r;
}

/* Targets (top-level when role is NULL); -ENOENT when the file is absent. */
static int load_targets(const char *dir, const char *role, struct tuf_targets *ret,
                        struct rp_err *err)
{
        char path[P];
        struct tuf_envelope e;
        int r;
        snprintf(path, sizeof(path), "%s/metadata/%s.json", dir, role ? role : "targets");
        if (!exists(path))
                return rp_err_set(err, -ENOENT, "'%s' does not exist", path);
        r = read_payload(path, TUF_MAX_TARGETS, &e, err);
        if (r < 0)
                return r;
        r = tuf_targets_parse(e.payload, e.payload_len, role, ret, err);
        tuf_envelope_free(&e);
        return r;
}

/* Every private key in D/keys whose id is in `role`, up to `max`. */
static size_t keys_for_role(const char *dir, const struct tuf_role_keys *role,
                            struct cr_key **out, size_t max)
{
        char kd[P];
        DIR *d;
        struct dirent *de;
        size_t n = 0;

        snprintf(kd, sizeof(kd), "%s/keys", dir);
        d = opendir(kd);
        if (!d)
                return 0;
        while ((de = readdir(d)) && n < max) {
                char path[P + 256];
                struct cr_key *k = NULL;
                uint8_t id[CR_KEY_ID_LEN];
                size_t l = strlen(de->d_name);
                if (l < 5 || strcmp(de->d_name + l - 4, ".pem") || strstr(de->d_name, ".pub.pem"))
                        continue;
                snprintf(path, sizeof(path), "%s/%s", kd, de->d_name);
                if (cr_key_load_pem(path, &k, NULL) < 0)
                        continue;
                if (cr_key_is_private(k) && cr_key_id(k, id) == 0 && tuf_role_has(role, id))
                        out[n++] = k;
                else
                        cr_key_free(k);
        }
        closedir(d);
        return n;
}

static void free_keys(struct cr_key **k, size_t n)
{
        for (size_t i = 0; i < n; i++)
                cr_key_free(k[i]);
}

/* Wraps payload in an envelope signed by each key and writes it. */
static int write_signed(const char *path, const char *payload, size_t len, struct cr_key **keys,
                        size_t n, struct rp_err *err)
{
        _cleanup_free_ char *env = NULL;
        size_t env_len;
        int r = tuf_envelope_new(payload, len, &env, &env_len, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                char *next = NULL;
                size_t next_len;
                r = tuf_envelope_sign(env, env_len, TUF_MAX_TARGETS, keys[i], &next, &next_len,
                                      err);
                if (r < 0)
                        return r;
                free(env);
                env = next;
                env_len = next_len;
        }
        return rp_write_file_atomic(path, env, env_len, 0644, err);
}

static int save_private(const char *path, const struct cr_key *k, struct rp_err *err)
{
        if (exists(path))
                return rp_err_set(err, -EEXIST, "'%s' already exists; refusing to overwrite a key",
                                  path);
        return cr_key_save_pem(path, k, true, err);
}

/* A new key saved as D/keys/<prefix>-<id16>.pem (or <prefix>.pem). */
static int new_key(const char *dir, const char *prefix, bool with_id, struct tuf_key *ret,
                   struct rp_err *err)
{
        _cleanup_(cr_key_freep) struct cr_key *k = NULL;
        char path[P], hex[2 * CR_KEY_ID_LEN + 1];
        int r = cr_key_generate(&k, err);
        if (r < 0)
                return r;
        key_hex(k, hex);
        if (with_id)
                snprintf(path, sizeof(path), "%s/keys/%s-%.16s.pem", dir, prefix, hex);
        else
                snprintf(path, sizeof(path), "%s/keys/%s.pem", dir, prefix);
        r = save_private(path, k, err);
        if (r < 0)
                return r;
        if (tuf_key_from_cr(k, ret) < 0)
                return rp_err_set(err, -EIO, "cannot encode the new key");
        return 0;
}

static int load_pub(const char *path, struct tuf_key *ret, struct rp_err *err)
{
        _cleanup_(cr_key_freep) struct cr_key *k = NULL;
        int r = cr_key_load_pem(path, &k, err);
        if (r < 0)
                return r;
        if (tuf_key_from_cr(k, ret) < 0)
                return rp_err_set(err, -EINVAL, "'%s': cannot encode the key", path);
        return 0;
}

static void set_role(struct tuf_root *m, int role, const struct tuf_key *keys, size_t n,
                     uint64_t threshold)
{
        struct tuf_role_keys *rk = &m->roles[role];
        memset(rk, 0, sizeof(*rk));
        for (size_t i = 0; i < n; i++) {
                if (tuf_keyring_add(&m->keys, &keys[i]) < 0)
                        continue;
                memcpy(rk->ids[rk->n++], keys[i].id, CR_KEY_ID_LEN);
        }
        rk->threshold = threshold;
}

/* Keeps only the keys some role still uses. */
static void prune_keys(struct tuf_root *m)
{
        struct tuf_keyring kept = {0};
        for (size_t i = 0; i < m->keys.n; i++) {
                bool used = false;
                for (int r = 0; r < TUF_ROLE_COUNT; r++)
                        used |= tuf_role_has(&m->roles[r], m->keys.keys[i].id);
                if (used)
                        kept.keys[kept.n++] = m->keys.keys[i];
        }
        m->keys = kept;
}

/* --online-key ROLE=PUB.pem (or ROLE=generate): index and path. */
static int parse_online(const char *arg, int *ret_role, const char **ret_path)
{
        const char *eq = strchr(arg, '=');
        char role[16];
        if (!eq || (size_t)(eq - arg) >= sizeof(role) || !eq[1])
                return cli_errorf(CLI_EXIT_USAGE, "--online-key takes ROLE=PUB.pem, got '%s'", arg);
        memcpy(role, arg, (size_t)(eq - arg));
        role[eq - arg] = '\0';
        *ret_role = tuf_role_from_name(role);
        if (*ret_role != TUF_ROLE_SNAPSHOT && *ret_role != TUF_ROLE_TIMESTAMP &&
            *ret_role != TUF_ROLE_DIRECTOR)
                return cli_errorf(CLI_EXIT_USAGE,
                                  "--online-key: '%s' is not an online role (snapshot, timestamp, "
                                  "director)", role);
        *ret_path = eq + 1;
        return 0;
}

static int copy_pub(const char *dir, const char *role, const char *src, struct tuf_key *ret,
                    struct rp_err *err)
{
        _cleanup_(cr_key_freep) struct cr_key *k = NULL;
        char path[P];
        int r = cr_key_load_pem(src, &k, err);
        if (r < 0)
                return r;
        snprintf(path, sizeof(path), "%s/keys/%s.pub.pem", dir, role);
        r = cr_key_save_pem(path, k, false, err);
        if (r < 0)
                return r;
        if (tuf_key_from_cr(k, ret) < 0)
                return rp_err_set(err, -EINVAL, "'%s': cannot encode the key", src);
        return 0;
}

/* ---- init ---- */

static int cmd_init(int argc, char **argv)
{
        static const struct option opts[] = {
                {"dir", required_argument, NULL, 'd'},     {"keys", required_argument, NULL, 'k'},
                {"threshold", required_argument, NULL, 't'},
                {"online-key", required_argument, NULL, 'o'}, {"help", no_argument, NULL, 'h'},
                {0}};
        const char *dir = NULL, *online[TUF_ROLE_COUNT] = {0};
        long nkeys = 3, threshold = 2;
        struct rp_err err = {0};
        struct tuf_root *m = NULL;
        struct tuf_key rk[MAX_ROOT_KEYS], tk, ok;
        struct cr_key *signers[MAX_ROOT_KEYS] = {0};
        size_t ns = 0;
        char path[P], hex[65];
        _cleanup_free_ char *payload = NULL;
        size_t plen;
        int c, r, rc = CLI_EXIT_FAIL;

        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                switch (c) {
                case 'd': dir = optarg; break;
                case 'k': nkeys = strtol(optarg, NULL, 10); break;
                case 't': threshold = strtol(optarg, NULL, 10); break;
                case 'o': {
                        int role;
                        const char *p;
                        if (parse_online(optarg, &role, &p))
                                return CLI_EXIT_USAGE;
                        online[role] = p;
                        break;
                }
                case 'h': usage(stdout); return CLI_EXIT_OK;
                default: return CLI_EXIT_USAGE;
                }
        }
        if (!dir || optind != argc)
                return cli_errorf(CLI_EXIT_USAGE, "usage: rampart repo init --dir D [--keys N] "
                                  "[--threshold T] [--online-key ROLE=PUB.pem]...");
        if (nkeys < 1 || nkeys > MAX_ROOT_KEYS)
                return cli_errorf(CLI_EXIT_USAGE, "--keys is %ld, allowed 1..%d", nkeys,
                                  MAX_ROOT_KEYS);
        if (threshold < 1 || threshold > nkeys)
                return cli_errorf(CLI_EXIT_USAGE, "--threshold is %ld, allowed 1..%ld", threshold,
                                  nkeys);
        if (exists(dir)) {
                snprintf(path, sizeof(path), "%s/metadata/root.json", dir);
                if (exists(path))
                        return cli_errorf(CLI_EXIT_FAIL, "'%s' already holds a repository", dir);
        }
        snprintf(path, sizeof(path), "%s/keys", dir);
        if (rp_mkdir_p(path, 0700) < 0 || chmod(dir, 0700) < 0 || chmod(path, 0700) < 0)
                return cli_errorf(CLI_EXIT_FAIL, "cannot create '%s': %s", path, strerror(errno));
        snprintf(path, sizeof(path), "%s/metadata", dir);
        if (rp_mkdir_p(path, 0755) < 0)
                return cli_errorf(CLI_EXIT_FAIL, "cannot create '%s': %s", path, strerror(errno));

        m = calloc(1, sizeof(*m));
        if (!m)
                return cli_errorf(CLI_EXIT_FAIL, "out of memory");
        m->version = 1;
        m->expires = time(NULL) + ROOT_LIFETIME;
        for (long i = 0; i < nkeys; i++)
                if ((r = new_key(dir, "root", true, &rk[i], &err)) < 0)
                        goto fail;
        set_role(m, TUF_ROLE_ROOT, rk, (size_t)nkeys, (uint64_t)threshold);
        if ((r = new_key(dir, "targets", false, &tk, &err)) < 0)
                goto fail;
        set_role(m, TUF_ROLE_TARGETS, &tk, 1, 1);
        for (size_t i = 0; i < 3; i++) {
                int role = tuf_role_from_name(online_roles[i]);
                if (online[role]) {
                        r = copy_pub(dir, online_roles[i], online[role], &ok, &err);
                        if (r < 0)
                                goto fail;
                        printf("%s key: public key from %s (private key held by the server)\n",
                               online_roles[i], online[role]);
                } else {
                        r = new_key(dir, online_roles[i], false, &ok, &err);
                        if (r < 0)
                                goto fail;
                        printf("%s key: generated into %s/keys/%s.pem, for testing; in "
                               "production pass --online-key %s=PUB.pem from the server\n",
                               online_roles[i], dir, online_roles[i], online_roles[i]);
                }
                set_role(m, role, &ok, 1, 1);
        }
        if ((r = tuf_root_encode(m, &payload, &plen, &err)) < 0)
                goto fail;
        ns = keys_for_role(dir, &m->roles[TUF_ROLE_ROOT], signers, MAX_ROOT_KEYS);
        snprintf(path, sizeof(path), "%s/metadata/1.root.json", dir);
        if ((r = write_signed(path, payload, plen, signers, ns, &err)) < 0)
                goto fail;
        snprintf(path, sizeof(path), "%s/metadata/root.json", dir);
        if ((r = write_signed(path, payload, plen, signers, ns, &err)) < 0)
                goto fail;
        free(payload);
        payload = NULL;
        {
                struct tuf_targets t = {.version = 1, .expires = time(NULL) + TARGETS_LIFETIME};
                struct cr_key *tkk[1] = {0};
                size_t nt = keys_for_role(dir, &m->roles[TUF_ROLE_TARGETS], tkk, 1);
                if ((r = tuf_targets_encode(&t, &payload, &plen, &err)) < 0)
                        goto fail;
                snprintf(path, sizeof(path), "%s/metadata/targets.json", dir);
                r = write_signed(path, payload, plen, tkk, nt, &err);
                free_keys(tkk, nt);
                if (r < 0)
                        goto fail;
        }
        printf("root version 1: %ld keys, threshold %ld\n", nkeys, threshold);
        for (long i = 0; i < nkeys; i++) {
                id_hex(rk[i].id, hex);
                printf("  root key %s (%s/keys/root-%.16s.pem)\n", hex, dir, hex);
        }
        id_hex(tk.id, hex);
        printf("targets key %s (%s/keys/targets.pem)\n", hex, dir);
        printf("wrote %s/metadata/root.json and targets.json (version 1)\n", dir);
        rc = CLI_EXIT_OK;
        goto out;
fail:
        rc = cli_fail(&err);
out:
        free_keys(signers, ns);
        free(m);
        return rc;
}

/* ---- sign ---- */

static int cmd_sign(int argc, char **argv)
{
        static const struct option opts[] = {
                {"dir", required_argument, NULL, 'd'}, {"role", required_argument, NULL, 'r'},
                {"key", required_argument, NULL, 'k'}, {"help", no_argument, NULL, 'h'}, {0}};
        const char *dir = NULL, *role = NULL, *keyf = NULL, *file;
        _cleanup_(cr_key_freep) struct cr_key *key = NULL;
        _cleanup_free_ uint8_t *buf = NULL;
        _cleanup_free_ char *out = NULL;
        struct tuf_root *cur = NULL, *mine = NULL;
        struct tuf_envelope e = {0};
        struct rp_err err = {0};
        uint8_t id[CR_KEY_ID_LEN];
        char hex[65];
        size_t len, out_len;
        bool allowed = false;
        int c, r, rc = CLI_EXIT_FAIL, top;

        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                switch (c) {
                case 'd': dir = optarg; break;
                case 'r': role = optarg; break;
                case 'k': keyf = optarg; break;
                case 'h': usage(stdout); return CLI_EXIT_OK;
                default: return CLI_EXIT_USAGE;
                }
        }
        if (!dir || !role || !keyf || optind + 1 != argc)
                return cli_errorf(CLI_EXIT_USAGE,
                                  "usage: rampart repo sign --dir D --role ROLE --key KEY.pem FILE");
        file = argv[optind];
        cur = calloc(1, sizeof(*cur));
        mine = calloc(1, sizeof(*mine));
        if (!cur || !mine) {
                rp_err_set(&err, -ENOMEM, "out of memory");
                goto fail;
        }
        if ((r = cr_key_load_pem(keyf, &key, &err)) < 0)
                goto fail;
        if (!cr_key_is_private(key)) {
                rp_err_set(&err, -EINVAL, "'%s' holds no private key", keyf);
                goto fail;
        }
        if (cr_key_id(key, id) < 0) {
                rp_err_set(&err, -EIO, "cannot compute the key id of '%s'", keyf);
                goto fail;
        }
        id_hex(id, hex);
        if ((r = load_root(dir, cur, &err)) < 0 ||
            (r = read_file(file, TUF_MAX_TARGETS, &buf, &len, &err)) < 0 ||
            (r = tuf_envelope_parse(buf, len, TUF_MAX_TARGETS, file, &e, &err)) < 0)
                goto fail;
        /* the file must be metadata of the role named, and the key one of
         * that role's keys */
        top = tuf_role_from_name(role);
        if (top == TUF_ROLE_ROOT) {
                if ((r = tuf_root_parse(e.payload, e.payload_len, mine, &err)) < 0)
                        goto fail;
                allowed = tuf_role_has(&cur->roles[TUF_ROLE_ROOT], id) ||
                          tuf_role_has(&mine->roles[TUF_ROLE_ROOT], id);
        } else if (top >= 0) {
                /* the file must parse as that role's metadata */
                union {
                        struct tuf_targets t;
                        struct tuf_snapshot s;
                        struct tuf_timestamp ts;
                        struct tuf_director d;
                } *u = calloc(1, sizeof(*u));
                if (!u) {
                        rp_err_set(&err, -ENOMEM, "out of memory");
                        goto fail;
                }
                switch (top) {
                case TUF_ROLE_TARGETS:
                        r = tuf_targets_parse(e.payload, e.payload_len, NULL, &u->t, &err);
                        if (r >= 0)
                                tuf_targets_free(&u->t);
                        break;
                case TUF_ROLE_SNAPSHOT:
                        r = tuf_snapshot_parse(e.payload, e.payload_len, &u->s, &err);
                        break;
                case TUF_ROLE_TIMESTAMP:
                        r = tuf_timestamp_parse(e.payload, e.payload_len, &u->ts, &err);
                        break;
                default:
                        r = tuf_director_parse(e.payload, e.payload_len, &u->d, &err);
                        break;
                }
                free(u);
                if (r < 0) {
                        rp_err_prefix(&err, "'%s' is not valid %s metadata", file, role);
                        goto fail;
                }
                allowed = tuf_role_has(&cur->roles[top], id);
        } else {
                struct tuf_targets t = {0};
                const struct tuf_delegation *d;
                if ((r = load_targets(dir, NULL, &t, &err)) < 0)
                        goto fail;
                d = tuf_targets_delegation(&t, role);
                allowed = d && tuf_role_has(&d->keys, id);
                if (d) {
                        struct tuf_targets dt = {0};
                        r = tuf_targets_parse(e.payload, e.payload_len, role, &dt, &err);
                        tuf_targets_free(&dt);
                        if (r < 0) {
                                tuf_targets_free(&t);
                                rp_err_prefix(&err, "'%s' is not valid '%s' metadata", file, role);
                                goto fail;
                        }
                }
                if (!d) {
                        tuf_targets_free(&t);
                        rp_err_set(&err, -ENOENT, "no role '%s': not a top-level role and not "
                                   "delegated by targets", role);
                        goto fail;
                }
                tuf_targets_free(&t);
        }
        if (!allowed) {
                rp_err_set(&err, -EPERM, "key %.16s... is not a key of role '%s' (root version "
                           "%llu)", hex, role, (unsigned long long)cur->version);
                goto fail;
        }
        if ((r = tuf_envelope_sign(buf, len, TUF_MAX_TARGETS, key, &out, &out_len, &err)) < 0 ||
            (r = rp_write_file_atomic(file, out, out_len, 0644, &err)) < 0)
                goto fail;
        printf("signed %s as '%s' with key %s\n", file, role, hex);
        /* a root N+1 that is now complete becomes the current root */
        if (top == TUF_ROLE_ROOT && mine->version == cur->version + 1) {
                char path[P];
                struct tuf_client *cl = NULL;
                snprintf(path, sizeof(path), "%s/metadata/root.json", dir);
                _cleanup_free_ uint8_t *cb = NULL;
                size_t cl_len;
                if (read_file(path, TUF_MAX_ROOT, &cb, &cl_len, &err) == 0 &&
                    tuf_client_new_from_root(cb, cl_len, "repo", &cl, &err) == 0) {
                        struct rp_err why = {0};
                        if (tuf_client_update_root(cl, out, out_len, &why) == 0) {
                                r = rp_write_file_atomic(path, out, out_len, 0644, &err);
                                if (r < 0) {
                                        tuf_client_free(cl);
                                        goto fail;
                                }
                                printf("root version %llu is complete and now current\n",
                                       (unsigned long long)mine->version);
                        } else
                                printf("root version %llu is not complete yet: %s\n",
                                       (unsigned long long)mine->version, why.msg);
                        tuf_client_free(cl);
                }
        }
        rc = CLI_EXIT_OK;
        goto out;
fail:
        rc = cli_fail(&err);
out:
        tuf_envelope_free(&e);
        free(cur);
        free(mine);
        return rc;
}

/* ---- rotate-root ---- */

static int cmd_rotate_root(int argc, char **argv)
{
        static const struct option opts[] = {
                {"dir", required_argument, NULL, 'd'}, {"new-keys", required_argument, NULL, 'n'},
                {"threshold", required_argument, NULL, 't'},
                {"online-key", required_argument, NULL, 'o'}, {"help", no_argument, NULL, 'h'},
                {0}};
        const char *dir = NULL, *online[TUF_ROLE_COUNT] = {0};
        long nnew = 0, threshold = 0;
        struct tuf_root *old = NULL, *m = NULL;
        struct cr_key *signers[2 * MAX_ROOT_KEYS] = {0};
        size_t ns = 0;
        struct rp_err err = {0};
        _cleanup_free_ char *payload = NULL;
        _cleanup_free_ uint8_t *old_bytes = NULL, *new_bytes = NULL;
        size_t plen, old_len, new_len;
        char path[P], vpath[P];
        int c, r, rc = CLI_EXIT_FAIL;

        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                switch (c) {
                case 'd': dir = optarg; break;
                case 'n': nnew = strtol(optarg, NULL, 10); break;
                case 't': threshold = strtol(optarg, NULL, 10); break;
                case 'o': {
                        int role;
                        const char *p;
                        if (parse_online(optarg, &role, &p))
                                return CLI_EXIT_USAGE;
                        online[role] = p;
                        break;
                }
                case 'h': usage(stdout); return CLI_EXIT_OK;
                default: return CLI_EXIT_USAGE;
                }
        }
        if (!dir || optind != argc)
                return cli_errorf(CLI_EXIT_USAGE, "usage: rampart repo rotate-root --dir D "
                                  "[--new-keys N] [--threshold T] [--online-key ROLE=PUB.pem]...");
        if (nnew < 0 || nnew > MAX_ROOT_KEYS)
                return cli_errorf(CLI_EXIT_USAGE, "--new-keys is %ld, allowed 0..%d", nnew,
                                  MAX_ROOT_KEYS);
        old = calloc(1, sizeof(*old));
        m = calloc(1, sizeof(*m));
        if (!old || !m) {
                rp_err_set(&err, -ENOMEM, "out of memory");
                goto fail;
        }
        if ((r = load_root(dir, old, &err)) < 0)
                goto fail;
        *m = *old;
        m->version = old->version + 1;
        m->expires = time(NULL) + ROOT_LIFETIME;
        if (nnew > 0) {
                struct tuf_key nk[MAX_ROOT_KEYS];
                for (long i = 0; i < nnew; i++)
                        if ((r = new_key(dir, "root", true, &nk[i], &err)) < 0)
                                goto fail;
                set_role(m, TUF_ROLE_ROOT, nk, (size_t)nnew,
                         (uint64_t)(threshold ? threshold : (long)old->roles[TUF_ROLE_ROOT].threshold));
        } else if (threshold)
                m->roles[TUF_ROLE_ROOT].threshold = (uint64_t)threshold;
        if (m->roles[TUF_ROLE_ROOT].threshold < 1 ||
            m->roles[TUF_ROLE_ROOT].threshold > m->roles[TUF_ROLE_ROOT].n) {
                rp_err_set(&err, -EINVAL, "root threshold %llu is not in 1..%zu",
                           (unsigned long long)m->roles[TUF_ROLE_ROOT].threshold,
                           m->roles[TUF_ROLE_ROOT].n);
                goto fail;
        }
        for (size_t i = 0; i < 3; i++) {
                int role = tuf_role_from_name(online_roles[i]);
                struct tuf_key ok;
                char kp[P];
                if (!online[role])
                        continue;
                if (!strcmp(online[role], "generate")) {
                        /* the old private key moves aside; the new one takes its name */
                        snprintf(kp, sizeof(kp), "%s/keys/%s.pem", dir, online_roles[i]);
                        snprintf(vpath, sizeof(vpath), "%s/keys/%s-v%llu.pem.old", dir,
                                 online_roles[i], (unsigned long long)old->version);
                        if (exists(kp) && rename(kp, vpath) < 0) {
                                rp_err_set(&err, -errno, "cannot move '%s' aside: %s", kp,
                                           strerror(errno));
                                goto fail;
                        }
                        r = new_key(dir, online_roles[i], false, &ok, &err);
                } else
                        r = copy_pub(dir, online_roles[i], online[role], &ok, &err);
                if (r < 0)
                        goto fail;
                set_role(m, role, &ok, 1, 1);
                printf("%s key replaced\n", online_roles[i]);
        }
        prune_keys(m);
        if ((r = tuf_root_encode(m, &payload, &plen, &err)) < 0)
                goto fail;
        ns = keys_for_role(dir, &old->roles[TUF_ROLE_ROOT], signers, MAX_ROOT_KEYS);
        for (size_t i = 0; i < m->roles[TUF_ROLE_ROOT].n && nnew > 0; i++) {
                /* new keys not already counted among the old ones */
                struct tuf_role_keys only = {.n = 1, .threshold = 1};
                memcpy(only.ids[0], m->roles[TUF_ROLE_ROOT].ids[i], CR_KEY_ID_LEN);
                if (!tuf_role_has(&old->roles[TUF_ROLE_ROOT], only.ids[0]))
                        ns += keys_for_role(dir, &only, signers + ns, 2 * MAX_ROOT_KEYS - ns);
        }
        snprintf(vpath, sizeof(vpath), "%s/metadata/%llu.root.json", dir,
                 (unsigned long long)m->version);
        if ((r = write_signed(vpath, payload, plen, signers, ns, &err)) < 0)
                goto fail;
        printf("wrote %s (root version %llu, %zu root keys, threshold %llu)\n", vpath,
               (unsigned long long)m->version, m->roles[TUF_ROLE_ROOT].n,
               (unsigned long long)m->roles[TUF_ROLE_ROOT].threshold);
        /* becomes current only if a device would accept it */
        snprintf(path, sizeof(path), "%s/metadata/root.json", dir);
        if ((r = read_file(path, TUF_MAX_ROOT, &old_bytes, &old_len, &err)) < 0 ||
            (r = read_file(vpath, TUF_MAX_ROOT, &new_bytes, &new_len, &err)) < 0)
                goto fail;
        {
                struct tuf_client *cl = NULL;
                struct rp_err why = {0};
                if ((r = tuf_client_new_from_root(old_bytes, old_len, "repo", &cl, &err)) < 0)
                        goto fail;
                r = tuf_client_update_root(cl, new_bytes, new_len, &why);
                tuf_client_free(cl);
                if (r < 0) {
                        printf("root version %llu needs more signatures (`rampart repo sign "
                               "--role root`): %s\n", (unsigned long long)m->version, why.msg);
                        rc = CLI_EXIT_OK;
                        goto out;
                }
        }
        if ((r = rp_write_file_atomic(path, new_bytes, new_len, 0644, &err)) < 0)
                goto fail;
        printf("root version %llu is complete and now current\n", (unsigned long long)m->version);
        rc = CLI_EXIT_OK;
        goto out;
fail:
        rc = cli_fail(&err);
out:
        free_keys(signers, ns);
        free(old);
        free(m);
        return rc;
}

/* ---- targets editing ---- */

static int write_targets(const char *dir, const char *role, struct tuf_targets *t,
                         struct cr_key **keys, size_t n, struct rp_err *err)
{
        _cleanup_free_ char *payload = NULL;
        char path[P];
        size_t plen;
        int r;

        t->version++;
        t->expires = time(NULL) + TARGETS_LIFETIME;
        r = tuf_targets_encode(t, &payload, &plen, err);
        if (r < 0)
                return r;
        snprintf(path, sizeof(path), "%s/metadata/%s.json", dir, role ? role : "targets");
        r = write_signed(path, payload, plen, keys, n, err);
        if (r < 0)
                return r;
        printf("wrote %s (version %llu)\n", path, (unsigned long long)t->version);
        return 0;
}

/* Signs with the targets key(s) in D, enough for the threshold. */
static int sign_top_targets(const char *dir, const struct tuf_root *root, struct tuf_targets *t,
                            struct rp_err *err)
{
        struct cr_key *k[TUF_MAX_ROLE_KEYS] = {0};
        size_t n = keys_for_role(dir, &root->roles[TUF_ROLE_TARGETS], k, TUF_MAX_ROLE_KEYS);
        int r;
        if (n < root->roles[TUF_ROLE_TARGETS].threshold) {
                free_keys(k, n);
                return rp_err_set(err, -ENOKEY,
                                  "%s/keys holds %zu of the %llu targets keys needed", dir, n,
                                  (unsigned long long)root->roles[TUF_ROLE_TARGETS].threshold);
        }
        r = write_targets(dir, NULL, t, k, n, err);
        free_keys(k, n);
        return r;
}

struct hashing_reader {
        int fd;
        struct cr_sha256_ctx *sha;
        uint64_t len;
};

static ssize_t hashing_read(void *ctx, void *buf, size_t len)
{
        struct hashing_reader *h = ctx;
        ssize_t n = img_fd_read(&h->fd, buf, len);
        if (n > 0) {
                cr_sha256_update(h->sha, buf, (size_t)n);
                h->len += (uint64_t)n;
        }
        return n;
}

/* Verifies the package against the trusted keys and describes it as a
 * target: hash and length of exactly the bytes verified. */
static int describe_package(const char *pkg, struct cr_key *const *trust, size_t n_trust,
                            const char *owner, struct tuf_image *ret, struct rp_err *err)
{
        struct hashing_reader h = {.fd = -1};
        struct img_meta meta;
        uint8_t tail[4096];
        ssize_t n;
        int r;

        h.fd = open(pkg, O_RDONLY | O_CLOEXEC);
        if (h.fd < 0)
                return rp_err_set(err, -errno, "cannot open '%s': %s", pkg, strerror(errno));
        h.sha = cr_sha256_new();
        if (!h.sha) {
                close(h.fd);
                return rp_err_set(err, -ENOMEM, "out of memory");
        }
        r = img_verify(hashing_read, &h, trust, n_trust, &meta, err);
        /* whatever follows what verify consumed is part of the file too */
        while (r >= 0 && (n = hashing_read(&h, tail, sizeof(tail))) > 0)
                ;
        close(h.fd);
        if (r < 0) {
                cr_sha256_free(h.sha);
                return rp_err_prefix(err, "package '%s'", pkg);
        }
        memset(ret, 0, sizeof(*ret));
        cr_sha256_final(h.sha, ret->sha256);
        cr_sha256_free(h.sha);
        ret->length = h.len;
        ret->type = meta.type == IMG_TYPE_OS ? TUF_IMAGE_OS : TUF_IMAGE_APP;
        ret->svn = meta.svn;
        snprintf(ret->component_id, sizeof(ret->component_id), "%s", meta.component_id);
        snprintf(ret->version, sizeof(ret->version), "%s", meta.version);
        snprintf(ret->name, sizeof(ret->name), "%s/%s/%s", owner, meta.component_id, meta.version);
        if (!tuf_valid_target_name(ret->name) || !tuf_valid_version(ret->version))
                return rp_err_set(err, -EINVAL, "package '%s': target name '%s' is not valid", pkg,
                                  ret->name);
        return 0;
}

static int add_image(struct tuf_targets *t, const struct tuf_image *img, struct rp_err *err)
{
        struct tuf_image *slot = (struct tuf_image *)tuf_targets_find(t, img->name), *nt;
        if (slot) {
                if (memcmp(slot->sha256, img->sha256, 32) || slot->length != img->length)
                        return rp_err_set(err, -EEXIST,
                                          "target '%s' is already listed with different bytes; a "
                                          "new release needs a new version", img->name);
                *slot = *img;
                return 0;
        }
        if (t->n_targets >= TUF_MAX_TARGET_COUNT)
                return rp_err_set(err, -ENOSPC, "targets already lists %d images",
                                  TUF_MAX_TARGET_COUNT);
        nt = realloc(t->targets, (t->n_targets + 1) * sizeof(*nt));
        if (!nt)
                return rp_err_set(err, -ENOMEM, "out of memory");
        t->targets = nt;
        t->targets[t->n_targets++] = *img;
        return 0;
}

static int cmd_add_target(int argc, char **argv)
{
        static const struct option opts[] = {
                {"dir", required_argument, NULL, 'd'}, {"trust", required_argument, NULL, 'T'},
                {"tenant", required_argument, NULL, 't'}, {"key", required_argument, NULL, 'k'},
                {"help", no_argument, NULL, 'h'}, {0}};
        const char *dir = NULL, *tenant = NULL, *keyf = NULL, *trustf[MAX_TRUST];
        struct cr_key *trust[MAX_TRUST] = {0};
        size_t n_trust = 0;
        struct tuf_root *root = NULL;
        struct tuf_targets top = {0}, del = {0};
        struct tuf_image img;
        struct rp_err err = {0};
        char hex[65];
        int c, r, rc = CLI_EXIT_FAIL;

        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                switch (c) {
                case 'd': dir = optarg; break;
                case 'T':
                        if (n_trust >= MAX_TRUST)
                                return cli_errorf(CLI_EXIT_USAGE, "at most %d --trust keys",
                                                  MAX_TRUST);
                        trustf[n_trust++] = optarg;
                        break;
                case 't': tenant = optarg; break;
                case 'k': keyf = optarg; break;
                case 'h': usage(stdout); return CLI_EXIT_OK;
                default: return CLI_EXIT_USAGE;
                }
        }
        if (!dir || optind + 1 != argc || n_trust == 0 || (!tenant != !keyf))
                return cli_errorf(CLI_EXIT_USAGE,
                                  "usage: rampart repo add-target --dir D --trust PUB.pem... "
                                  "[--tenant T --key TENANT.pem] PACKAGE");
        for (size_t i = 0; i < n_trust; i++)
                if ((r = cr_key_load_pem(trustf[i], &trust[i], &err)) < 0)
                        goto fail;
        root = calloc(1, sizeof(*root));
        if (!root) {
                rp_err_set(&err, -ENOMEM, "out of memory");
                goto fail;
        }
        if ((r = load_root(dir, root, &err)) < 0 || (r = load_targets(dir, NULL, &top, &err)) < 0)
                goto fail;
        if (tenant && !tuf_valid_role_name(tenant)) {
                rp_err_set(&err, -EINVAL, "tenant name '%s' is not valid ([a-z0-9-])", tenant);
                goto fail;
        }
        if ((r = describe_package(argv[optind], trust, n_trust, tenant ? tenant : "platform", &img,
                                  &err)) < 0)
                goto fail;
        if (!tenant) {
                if (img.type != TUF_IMAGE_OS) {
                        rp_err_set(&err, -EINVAL, "'%s' is an app image: app images are listed "
                                   "in a tenant's delegation (--tenant T --key K)", argv[optind]);
                        goto fail;
                }
                if ((r = add_image(&top, &img, &err)) < 0 ||
                    (r = sign_top_targets(dir, root, &top, &err)) < 0)
                        goto fail;
        } else {
                const struct tuf_delegation *d = tuf_targets_delegation(&top, tenant);
                _cleanup_(cr_key_freep) struct cr_key *k = NULL;
                uint8_t id[CR_KEY_ID_LEN];
                bool ok = false;
                if (!d) {
                        rp_err_set(&err, -ENOENT, "targets has no delegation for tenant '%s' "
                                   "(`rampart repo delegate`)", tenant);
                        goto fail;
                }
                if (img.type != TUF_IMAGE_APP) {
                        rp_err_set(&err, -EINVAL, "'%s' is an OS image: only the platform targets "
                                   "list OS images", argv[optind]);
                        goto fail;
                }
                for (size_t j = 0; j < d->n_paths; j++)
                        ok |= tuf_path_match(d->paths[j], img.name);
                if (!ok) {
                        rp_err_set(&err, -EPERM, "target '%s' is outside tenant '%s''s paths",
                                   img.name, tenant);
                        goto fail;
                }
                if ((r = cr_key_load_pem(keyf, &k, &err)) < 0)
                        goto fail;
                if (!cr_key_is_private(k) || cr_key_id(k, id) < 0 || !tuf_role_has(&d->keys, id)) {
                        rp_err_set(&err, -EPERM, "'%s' is not a private key of tenant '%s''s "
                                   "delegation", keyf, tenant);
                        goto fail;
                }
                r = load_targets(dir, tenant, &del, &err);
                if (r == -ENOENT)
                        r = 0;
                if (r < 0)
                        goto fail;
                if ((r = add_image(&del, &img, &err)) < 0 ||
                    (r = write_targets(dir, tenant, &del, &k, 1, &err)) < 0)
                        goto fail;
        }
        rp_hex_encode(img.sha256, 32, hex);
        printf("target %s: %s %s version %s svn %llu, %llu bytes, sha256 %s\n", img.name,
               tuf_image_type_name(img.type), img.component_id, img.version,
               (unsigned long long)img.svn, (unsigned long long)img.length, hex);
        rc = CLI_EXIT_OK;
        goto out;
fail:
        rc = cli_fail(&err);
out:
        tuf_targets_free(&top);
        tuf_targets_free(&del);
        free_keys(trust, n_trust);
        free(root);
        return rc;
}

/* ---- delegate ---- */

static int cmd_delegate(int argc, char **argv)
{
        static const struct option opts[] = {
                {"dir", required_argument, NULL, 'd'}, {"tenant", required_argument, NULL, 't'},
                {"key", required_argument, NULL, 'k'}, {"threshold", required_argument, NULL, 'n'},
                {"path", required_argument, NULL, 'p'},
                {"component", required_argument, NULL, 'c'}, {"help", no_argument, NULL, 'h'},
                {0}};
        const char *dir = NULL, *tenant = NULL, *keyf[TUF_MAX_ROLE_KEYS], *paths[TUF_MAX_PATHS];
        const char *comps[TUF_MAX_PATHS];
        size_t n_comps = 0;
        size_t n_keys = 0, n_paths = 0;
        long threshold = 1;
        struct tuf_root *root = NULL;
        struct tuf_targets top = {0};
        struct tuf_delegation d = {0}, *slot;
        struct rp_err err = {0};
        int c, r, rc = CLI_EXIT_FAIL;

        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                switch (c) {
                case 'd': dir = optarg; break;
                case 't': tenant = optarg; break;
                case 'k':
                        if (n_keys >= TUF_MAX_ROLE_KEYS)
                                return cli_errorf(CLI_EXIT_USAGE, "too many --key");
                        keyf[n_keys++] = optarg;
                        break;
                case 'p':
                        if (n_paths >= TUF_MAX_PATHS)
                                return cli_errorf(CLI_EXIT_USAGE, "at most %d --path",
                                                  TUF_MAX_PATHS);
                        paths[n_paths++] = optarg;
                        break;
                case 'c':
                        if (n_comps >= TUF_MAX_PATHS)
                                return cli_errorf(CLI_EXIT_USAGE, "at most %d --component",
                                                  TUF_MAX_PATHS);
                        comps[n_comps++] = optarg;
                        break;
                case 'n': threshold = strtol(optarg, NULL, 10); break;
                case 'h': usage(stdout); return CLI_EXIT_OK;
                default: return CLI_EXIT_USAGE;
                }
        }
        if (n_comps + n_paths > TUF_MAX_PATHS)
                return cli_errorf(CLI_EXIT_USAGE, "at most %d --component and --path in all",
                                  TUF_MAX_PATHS);
        if (!dir || !tenant || n_keys == 0 || optind != argc)
                return cli_errorf(CLI_EXIT_USAGE, "usage: rampart repo delegate --dir D --tenant T "
                                  "--key PUB.pem... [--threshold N] [--path PATTERN]...");
        if (!tuf_valid_role_name(tenant))
                return cli_errorf(CLI_EXIT_USAGE, "tenant name '%s' is not valid ([a-z0-9-], not "
                                  "a top-level role name)", tenant);
        if (threshold < 1 || (size_t)threshold > n_keys)
                return cli_errorf(CLI_EXIT_USAGE, "--threshold is %ld, allowed 1..%zu", threshold,
                                  n_keys);
        snprintf(d.name, sizeof(d.name), "%s", tenant);
        for (size_t i = 0; i < n_comps; i++) {
                if (!tuf_valid_component_id(comps[i]))
                        return cli_errorf(CLI_EXIT_USAGE, "--component '%s' is not a component id",
                                          comps[i]);
                snprintf(d.paths[d.n_paths++], sizeof(d.paths[0]), "%s/%s/*", tenant, comps[i]);
        }
        if (n_paths == 0 && n_comps == 0)
                snprintf(d.paths[d.n_paths++], sizeof(d.paths[0]), "%s/*/*", tenant);
        for (size_t i = 0; i < n_paths; i++) {
                size_t tl = strlen(tenant);
                /* a tenant's patterns stay under its own name */
                if (!tuf_valid_path_pattern(paths[i]) || strncmp(paths[i], tenant, tl) ||
                    paths[i][tl] != '/')
                        return cli_errorf(CLI_EXIT_USAGE, "--path '%s' must be a pattern under "
                                          "'%s/'", paths[i], tenant);
                snprintf(d.paths[d.n_paths++], sizeof(d.paths[0]), "%s", paths[i]);
        }
        root = calloc(1, sizeof(*root));
        if (!root) {
                rp_err_set(&err, -ENOMEM, "out of memory");
                goto fail;
        }
        if ((r = load_root(dir, root, &err)) < 0 || (r = load_targets(dir, NULL, &top, &err)) < 0)
                goto fail;
        for (size_t i = 0; i < n_keys; i++) {
                struct tuf_key k;
                if ((r = load_pub(keyf[i], &k, &err)) < 0)
                        goto fail;
                if (tuf_keyring_add(&top.dkeys, &k) < 0) {
                        rp_err_set(&err, -ENOSPC, "too many delegation keys");
                        goto fail;
                }
                if (!tuf_role_has(&d.keys, k.id))
                        memcpy(d.keys.ids[d.keys.n++], k.id, CR_KEY_ID_LEN);
        }
        d.keys.threshold = (uint64_t)threshold;
        slot = (struct tuf_delegation *)tuf_targets_delegation(&top, tenant);
        if (!slot) {
                struct tuf_delegation *nd;
                if (top.n_delegations >= TUF_MAX_DELEGATIONS) {
                        rp_err_set(&err, -ENOSPC, "targets already has %d delegations",
                                   TUF_MAX_DELEGATIONS);
                        goto fail;
                }
                nd = realloc(top.delegations, (top.n_delegations + 1) * sizeof(*nd));
                if (!nd) {
                        rp_err_set(&err, -ENOMEM, "out of memory");
                        goto fail;
                }
                top.delegations = nd;
                slot = &top.delegations[top.n_delegations++];
        }
        *slot = d;
        {
                /* drop keys no delegation uses any more */
                struct tuf_keyring kept = {0};
                for (size_t i = 0; i < top.dkeys.n; i++)
                        for (size_t j = 0; j < top.n_delegations; j++)
                                if (tuf_role_has(&top.delegations[j].keys, top.dkeys.keys[i].id)) {
                                        kept.keys[kept.n++] = top.dkeys.keys[i];
                                        break;
                                }
                top.dkeys = kept;
        }
        if ((r = sign_top_targets(dir, root, &top, &err)) < 0)
                goto fail;
        printf("tenant '%s' delegated: %zu key(s), threshold %ld, paths '%s'%s\n", tenant,
               d.keys.n, threshold, d.paths[0], d.n_paths > 1 ? " ..." : "");
        rc = CLI_EXIT_OK;
        goto out;
fail:
        rc = cli_fail(&err);
out:
        tuf_targets_free(&top);
        free(root);
        return rc;
}

/* ---- publish / assign: online roles, for testing without the server ---- */

static int online_key(const char *dir, const struct tuf_root *root, int role, struct cr_key **ret,
                      struct rp_err *err)
{
        size_t n = keys_for_role(dir, &root->roles[role], ret, 1);
        if (n == 0)
                return rp_err_set(err, -ENOKEY,
                                  "no private %s key in %s/keys: the server holds it (this "
                                  "command is for repositories made with generated online keys)",
                                  tuf_role_name(role), dir);
        return 0;
}

static long parse_hours(const char *s)
{
        char *end;
        long h = strtol(s, &end, 10);
        return *end || h < 0 ? -1 : h;
}

static int cmd_publish(int argc, char **argv)
{
        static const struct option opts[] = {
                {"dir", required_argument, NULL, 'd'},
                {"expires-hours", required_argument, NULL, 'e'},
                {"help", no_argument, NULL, 'h'}, {0}};
        const char *dir = NULL;
        long hours = -1;
        struct tuf_root *root = NULL;
        struct tuf_snapshot *snap = NULL;
        struct tuf_targets top = {0};
        struct tuf_timestamp ts = {0};
        struct cr_key *sk = NULL, *tk = NULL;
        struct rp_err err = {0};
        _cleanup_free_ char *payload = NULL;
        _cleanup_free_ uint8_t *snap_bytes = NULL;
        size_t plen, slen;
        char path[P];
        int c, r, rc = CLI_EXIT_FAIL;

        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                switch (c) {
                case 'd': dir = optarg; break;
                case 'e':
                        hours = parse_hours(optarg);
                        if (hours < 0)
                                return cli_errorf(CLI_EXIT_USAGE, "--expires-hours '%s' is not a "
                                                  "number of hours", optarg);
                        break;
                case 'h': usage(stdout); return CLI_EXIT_OK;
                default: return CLI_EXIT_USAGE;
                }
        }
        if (!dir || optind != argc)
                return cli_errorf(CLI_EXIT_USAGE, "usage: rampart repo publish --dir D "
                                  "[--expires-hours H]");
        root = calloc(1, sizeof(*root));
        snap = calloc(1, sizeof(*snap));
        if (!root || !snap) {
                rp_err_set(&err, -ENOMEM, "out of memory");
                goto fail;
        }
        if ((r = load_root(dir, root, &err)) < 0 || (r = load_targets(dir, NULL, &top, &err)) < 0 ||
            (r = online_key(dir, root, TUF_ROLE_SNAPSHOT, &sk, &err)) < 0 ||
            (r = online_key(dir, root, TUF_ROLE_TIMESTAMP, &tk, &err)) < 0)
                goto fail;
        /* versions continue from the last published ones */
        snprintf(path, sizeof(path), "%s/metadata/timestamp.json", dir);
        if (exists(path)) {
                struct tuf_envelope e;
                if ((r = read_payload(path, TUF_MAX_TIMESTAMP, &e, &err)) < 0)
                        goto fail;
                r = tuf_timestamp_parse(e.payload, e.payload_len, &ts, &err);
                tuf_envelope_free(&e);
                if (r < 0)
                        goto fail;
        }
        snap->version = ts.snapshot_version + 1;
        snap->expires = time(NULL) + (hours >= 0 ? hours * 3600 : SNAPSHOT_LIFETIME);
        snprintf(snap->meta[0].role, sizeof(snap->meta[0].role), "targets");
        snap->meta[0].version = top.version;
        snap->n_meta = 1;
        for (size_t i = 0; i < top.n_delegations; i++) {
                struct tuf_targets d = {0};
                r = load_targets(dir, top.delegations[i].name, &d, &err);
                if (r == -ENOENT)
                        continue;
                if (r < 0)
                        goto fail;
                snprintf(snap->meta[snap->n_meta].role, sizeof(snap->meta[0].role), "%s",
                         top.delegations[i].name);
                snap->meta[snap->n_meta++].version = d.version;
                tuf_targets_free(&d);
        }
        if ((r = tuf_snapshot_encode(snap, &payload, &plen, &err)) < 0)
                goto fail;
        snprintf(path, sizeof(path), "%s/metadata/snapshot.json", dir);
        if ((r = write_signed(path, payload, plen, &sk, 1, &err)) < 0 ||
            (r = read_file(path, TUF_MAX_SNAPSHOT, &snap_bytes, &slen, &err)) < 0)
                goto fail;
        free(payload);
        payload = NULL;
        ts.version++;
        ts.expires = time(NULL) + (hours >= 0 ? hours * 3600 : TIMESTAMP_LIFETIME);
        ts.snapshot_version = snap->version;
        ts.snapshot_length = slen;
        cr_sha256(snap_bytes, slen, ts.snapshot_sha256);
        if ((r = tuf_timestamp_encode(&ts, &payload, &plen, &err)) < 0)
                goto fail;
        snprintf(path, sizeof(path), "%s/metadata/timestamp.json", dir);
        if ((r = write_signed(path, payload, plen, &tk, 1, &err)) < 0)
                goto fail;
        printf("published snapshot version %llu (targets version %llu, %zu delegated) and "
               "timestamp version %llu\n",
               (unsigned long long)snap->version, (unsigned long long)top.version,
               snap->n_meta - 1, (unsigned long long)ts.version);
        rc = CLI_EXIT_OK;
        goto out;
fail:
        rc = cli_fail(&err);
out:
        cr_key_free(sk);
        cr_key_free(tk);
        tuf_targets_free(&top);
        free(root);
        free(snap);
        return rc;
}

static int cmd_assign(int argc, char **argv)
{
        static const struct option opts[] = {
                {"dir", required_argument, NULL, 'd'}, {"ueid", required_argument, NULL, 'u'},
                {"expires-hours", required_argument, NULL, 'e'},
                {"help", no_argument, NULL, 'h'}, {0}};
        const char *dir = NULL, *ueid = NULL;
        long hours = 24;
        struct tuf_root *root = NULL;
        struct tuf_director *dm = NULL;
        struct tuf_targets top = {0};
        struct cr_key *dk = NULL;
        struct rp_err err = {0};
        _cleanup_free_ char *payload = NULL;
        size_t plen;
        char path[P];
        int c, r, rc = CLI_EXIT_FAIL;

        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                switch (c) {
                case 'd': dir = optarg; break;
                case 'u': ueid = optarg; break;
                case 'e':
                        hours = parse_hours(optarg);
                        if (hours < 0)
                                return cli_errorf(CLI_EXIT_USAGE, "--expires-hours '%s' is not a "
                                                  "number of hours", optarg);
                        break;
                case 'h': usage(stdout); return CLI_EXIT_OK;
                default: return CLI_EXIT_USAGE;
                }
        }
        if (!dir || !ueid || optind >= argc || argc - optind > TUF_MAX_IMAGES)
                return cli_errorf(CLI_EXIT_USAGE, "usage: rampart repo assign --dir D --ueid U "
                                  "[--expires-hours H] TARGET...");
        if (strlen(ueid) > TUF_MAX_UEID || !tuf_valid_component_id(ueid))
                return cli_errorf(CLI_EXIT_USAGE, "--ueid '%s' is not a device id", ueid);
        root = calloc(1, sizeof(*root));
        dm = calloc(1, sizeof(*dm));
        if (!root || !dm) {
                rp_err_set(&err, -ENOMEM, "out of memory");
                goto fail;
        }
        if ((r = load_root(dir, root, &err)) < 0 || (r = load_targets(dir, NULL, &top, &err)) < 0 ||
            (r = online_key(dir, root, TUF_ROLE_DIRECTOR, &dk, &err)) < 0)
                goto fail;
        snprintf(path, sizeof(path), "%s/metadata/director-%s.json", dir, ueid);
        if (exists(path)) {
                struct tuf_envelope e;
                if ((r = read_payload(path, TUF_MAX_DIRECTOR, &e, &err)) < 0)
                        goto fail;
                r = tuf_director_parse(e.payload, e.payload_len, dm, &err);
                tuf_envelope_free(&e);
                if (r < 0)
                        goto fail;
        }
        dm->version++;
        dm->expires = time(NULL) + hours * 3600;
        snprintf(dm->ueid, sizeof(dm->ueid), "%s", ueid);
        dm->n_images = 0;
        for (int i = optind; i < argc; i++) {
                const struct tuf_image *t = tuf_targets_find(&top, argv[i]);
                const struct tuf_delegation *d = tuf_targets_delegation_for(&top, argv[i]);
                struct tuf_targets dt = {0};
                if (!t && d) {
                        if ((r = load_targets(dir, d->name, &dt, &err)) < 0 && r != -ENOENT)
                                goto fail;
                        t = tuf_targets_find(&dt, argv[i]);
                }
                if (!t) {
                        tuf_targets_free(&dt);
                        rp_err_set(&err, -ENOENT, "target '%s' is not listed", argv[i]);
                        goto fail;
                }
                dm->images[dm->n_images++] = *t;
                tuf_targets_free(&dt);
        }
        if ((r = tuf_director_encode(dm, &payload, &plen, &err)) < 0 ||
            (r = write_signed(path, payload, plen, &dk, 1, &err)) < 0)
                goto fail;
        printf("wrote %s (version %llu, %zu image(s))\n", path, (unsigned long long)dm->version,
               dm->n_images);
        rc = CLI_EXIT_OK;
        goto out;
fail:
        rc = cli_fail(&err);
out:
        cr_key_free(dk);
        tuf_targets_free(&top);
        free(root);
        free(dm);
        return rc;
}

/* ---- verify ---- */

struct file_buf {
        uint8_t *data;
        size_t len;
};

static int slurp(const char *path, size_t max, struct file_buf *ret, struct rp_err *err)
{
        return read_file(path, max, &ret->data, &ret->len, err);
}

static int cmd_verify(int argc, char **argv)
{
        static const struct option opts[] = {
                {"dir", required_argument, NULL, 'd'}, {"ueid", required_argument, NULL, 'u'},
                {"state", required_argument, NULL, 's'}, {"now", required_argument, NULL, 'n'},
                {"trusted-root", required_argument, NULL, 'R'},
                {"root", required_argument, NULL, 'r'},
                {"timestamp", required_argument, NULL, 'T'},
                {"snapshot", required_argument, NULL, 'S'},
                {"targets", required_argument, NULL, 'G'},
                {"delegated", required_argument, NULL, 'D'},
                {"director", required_argument, NULL, 'I'}, {"help", no_argument, NULL, 'h'},
                {0}};
        const char *dir = NULL, *ueid = NULL, *state = NULL, *trusted = NULL;
        const char *roots[MAX_VERIFY_ROOTS], *deleg[TUF_MAX_DELEGATIONS], *f_ts = NULL, *f_snap = NULL,
                   *f_tg = NULL, *f_dir = NULL;
        size_t n_roots = 0, n_deleg = 0;
        time_t now = time(NULL);
        struct tuf_client *cl = NULL;
        struct tuf_plan *plan = NULL;
        struct rp_err err = {0};
        /* every buffer read: roots walked and given, the four roles, the
         * delegated roles given and those the director's images need */
        struct file_buf fb[2 * MAX_VERIFY_ROOTS + 4 + TUF_MAX_DELEGATIONS + TUF_MAX_IMAGES] = {0};
        size_t nfb = 0;
        char pbuf[6][P];
        int c, r, rc = CLI_EXIT_FAIL;

        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                switch (c) {
                case 'd': dir = optarg; break;
                case 'u': ueid = optarg; break;
                case 's': state = optarg; break;
                case 'n':
                        if (tuf_time_parse(optarg, &now) < 0)
                                return cli_errorf(CLI_EXIT_USAGE, "--now '%s' is not "
                                                  "YYYY-MM-DDTHH:MM:SSZ", optarg);
                        break;
                case 'R': trusted = optarg; break;
                case 'r':
                        if (n_roots >= MAX_VERIFY_ROOTS)
                                return cli_errorf(CLI_EXIT_USAGE, "at most %d --root",
                                                  MAX_VERIFY_ROOTS);
                        roots[n_roots++] = optarg;
                        break;
                case 'T': f_ts = optarg; break;
                case 'S': f_snap = optarg; break;
                case 'G': f_tg = optarg; break;
                case 'D':
                        if (n_deleg >= TUF_MAX_DELEGATIONS || !strchr(optarg, '='))
                                return cli_errorf(CLI_EXIT_USAGE, "--delegated takes ROLE=FILE");
                        deleg[n_deleg++] = optarg;
                        break;
                case 'I': f_dir = optarg; break;
                case 'h': usage(stdout); return CLI_EXIT_OK;
                default: return CLI_EXIT_USAGE;
                }
        }
        if (!ueid || optind != argc || (!dir && !(f_ts && f_snap && f_tg && f_dir)) ||
            (!state && !trusted && !dir))
                return cli_errorf(CLI_EXIT_USAGE,
                                  "usage: rampart repo verify --ueid U [--dir D] [--state FILE] "
                                  "[--trusted-root F] [--root F]... [--timestamp F] [--snapshot "
                                  "F] [--targets F] [--delegated ROLE=F]... [--director F] "
                                  "[--now TIME]");
        /* defaults from the repository directory */
        if (dir) {
                snprintf(pbuf[0], P, "%s/metadata/1.root.json", dir);
                snprintf(pbuf[1], P, "%s/metadata/timestamp.json", dir);
                snprintf(pbuf[2], P, "%s/metadata/snapshot.json", dir);
                snprintf(pbuf[3], P, "%s/metadata/targets.json", dir);
                snprintf(pbuf[4], P, "%s/metadata/director-%s.json", dir, ueid);
                trusted = trusted ? trusted : pbuf[0];
                f_ts = f_ts ? f_ts : pbuf[1];
                f_snap = f_snap ? f_snap : pbuf[2];
                f_tg = f_tg ? f_tg : pbuf[3];
                f_dir = f_dir ? f_dir : pbuf[4];
        }
        plan = calloc(1, sizeof(*plan));
        if (!plan) {
                rp_err_set(&err, -ENOMEM, "out of memory");
                goto fail;
        }
        if (state && exists(state)) {
                struct file_buf s = {0};
                if ((r = slurp(state, TUF_MAX_STATE, &s, &err)) < 0)
                        goto fail;
                r = tuf_client_load(s.data, s.len, ueid, &cl, &err);
                free(s.data);
        } else if (trusted) {
                struct file_buf s = {0};
                if ((r = slurp(trusted, TUF_MAX_ROOT, &s, &err)) < 0)
                        goto fail;
                r = tuf_client_new_from_root(s.data, s.len, ueid, &cl, &err);
                free(s.data);
        } else
                r = rp_err_set(&err, -EINVAL, "no --state file yet and no --trusted-root");
        if (r < 0)
                goto fail;
        /* roots: given, or N+1, N+2, ... from the repository */
        if (n_roots == 0 && dir) {
                for (size_t walked = 0; walked < MAX_VERIFY_ROOTS; walked++) {
                        char rp[P];
                        snprintf(rp, sizeof(rp), "%s/metadata/%llu.root.json", dir,
                                 (unsigned long long)tuf_client_root(cl)->version + 1);
                        if (!exists(rp))
                                break;
                        if ((r = slurp(rp, TUF_MAX_ROOT, &fb[nfb], &err)) < 0)
                                goto fail;
                        nfb++;
                        if ((r = tuf_client_update_root(cl, fb[nfb - 1].data, fb[nfb - 1].len,
                                                        &err)) < 0)
                                goto fail;
                }
        }
        for (size_t i = 0; i < n_roots; i++) {
                if ((r = slurp(roots[i], TUF_MAX_ROOT, &fb[nfb], &err)) < 0)
                        goto fail;
                nfb++;
                if ((r = tuf_client_update_root(cl, fb[nfb - 1].data, fb[nfb - 1].len, &err)) < 0)
                        goto fail;
        }
        {
                struct file_buf ts = {0}, sn = {0}, tg = {0}, di = {0};
                /* read one byte past each cap so an oversized file is named as such */
                if ((r = slurp(f_ts, TUF_MAX_TIMESTAMP + 1, &ts, &err)) >= 0)
                        fb[nfb++] = ts;
                if (r >= 0 && (r = slurp(f_snap, TUF_MAX_SNAPSHOT + 1, &sn, &err)) >= 0)
                        fb[nfb++] = sn;
                if (r >= 0 && (r = slurp(f_tg, TUF_MAX_TARGETS + 1, &tg, &err)) >= 0)
                        fb[nfb++] = tg;
                if (r >= 0 && (r = slurp(f_dir, TUF_MAX_DIRECTOR + 1, &di, &err)) >= 0)
                        fb[nfb++] = di;
                if (r < 0)
                        goto fail;
                if ((r = tuf_client_update_timestamp(cl, ts.data, ts.len, now, &err)) < 0 ||
                    (r = tuf_client_update_snapshot(cl, sn.data, sn.len, now, &err)) < 0 ||
                    (r = tuf_client_update_targets(cl, tg.data, tg.len, now, &err)) < 0)
                        goto fail;
                /* delegated roles: given, or the ones the director's app images need */
                for (size_t i = 0; i < n_deleg; i++) {
                        char role[TUF_MAX_ROLE_NAME + 1];
                        const char *eq = strchr(deleg[i], '=');
                        struct file_buf d = {0};
                        snprintf(role, sizeof(role), "%.*s", (int)(eq - deleg[i]), deleg[i]);
                        if ((r = slurp(eq + 1, TUF_MAX_TARGETS + 1, &d, &err)) < 0)
                                goto fail;
                        fb[nfb++] = d;
                        if ((r = tuf_client_update_delegated(cl, role, d.data, d.len, now, &err)) < 0)
                                goto fail;
                }
                if ((r = tuf_client_update_director(cl, di.data, di.len, now, &err)) < 0)
                        goto fail;
                if (n_deleg == 0 && dir) {
                        struct tuf_envelope e;
                        struct tuf_director *dm = calloc(1, sizeof(*dm));
                        if (!dm) {
                                rp_err_set(&err, -ENOMEM, "out of memory");
                                goto fail;
                        }
                        /* already verified above; parsed again only to learn the names */
                        if (tuf_envelope_parse(di.data, di.len, TUF_MAX_DIRECTOR, "director", &e,
                                               NULL) == 0) {
                                if (tuf_director_parse(e.payload, e.payload_len, dm, NULL) < 0)
                                        dm->n_images = 0;
                                tuf_envelope_free(&e);
                        }
                        for (size_t i = 0; i < dm->n_images && r >= 0; i++) {
                                const char *role = tuf_client_role_for(cl, dm->images[i].name);
                                char dp[P];
                                struct file_buf d = {0};
                                if (!role || dm->images[i].type != TUF_IMAGE_APP)
                                        continue;
                                snprintf(dp, sizeof(dp), "%s/metadata/%s.json", dir, role);
                                if ((r = slurp(dp, TUF_MAX_TARGETS + 1, &d, &err)) < 0)
                                        break;
                                fb[nfb++] = d;
                                r = tuf_client_update_delegated(cl, role, d.data, d.len, now, &err);
                        }
                        free(dm);
                        if (r < 0)
                                goto fail;
                }
        }
        if ((r = tuf_resolve(cl, plan, &err)) < 0)
                goto fail;
        if (state) {
                _cleanup_free_ char *s = NULL;
                size_t sl;
                if ((r = tuf_client_save(cl, &s, &sl, &err)) < 0 ||
                    (r = rp_write_file_atomic(state, s, sl, 0600, &err)) < 0)
                        goto fail;
        }
        {
                struct tuf_versions v;
                tuf_client_versions(cl, &v);
                printf("verified: root %llu, timestamp %llu, snapshot %llu, targets %llu, director "
                       "%llu\n",
                       (unsigned long long)v.root, (unsigned long long)v.timestamp,
                       (unsigned long long)v.snapshot, (unsigned long long)v.targets,
                       (unsigned long long)v.director);
        }
        for (size_t i = 0; i < plan->n; i++) {
                const struct tuf_image *im = &plan->images[i];
                char hex[65];
                rp_hex_encode(im->sha256, 32, hex);
                printf("install %s %s component %s version %s svn %llu length %llu sha256 %s\n",
                       tuf_image_type_name(im->type), im->name, im->component_id, im->version,
                       (unsigned long long)im->svn, (unsigned long long)im->length, hex);
        }
        rc = CLI_EXIT_OK;
        goto out;
fail:
        rc = cli_fail(&err);
out:
        for (size_t i = 0; i < nfb; i++)
                free(fb[i].data);
        tuf_client_free(cl);
        free(plan);
        return rc;
}

/* ---- with the server ---- */

static int cmd_server_keys(int argc, char **argv)
{
        static const struct option opts[] = {
                {"out", required_argument, NULL, 'o'}, {"help", no_argument, NULL, 'h'}, {0}};
        const char *out = NULL;
        _cleanup_(json_decrefp) json_t *reply = NULL;
        struct rp_err err = {0};
        char path[P];
        int c;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                switch (c) {
                case 'o': out = optarg; break;
                case 'h': usage(stdout); return CLI_EXIT_OK;
                default: return CLI_EXIT_USAGE;
                }
        }
        if (!out || optind != argc)
                return cli_errorf(CLI_EXIT_USAGE, "usage: rampart repo server-keys --out DIR");
        int rc = cli_api("GET", "/api/v1/repo/keys", NULL, &reply);
        if (rc != CLI_EXIT_OK)
                return rc;
        if (rp_mkdir_p(out, 0700) < 0)
                return cli_errorf(CLI_EXIT_FAIL, "cannot create '%s'", out);
        for (size_t i = 0; i < ARRAY_SIZE(online_roles); i++) {
                json_t *k = json_object_get(reply, online_roles[i]);
                const char *pem = json_string_value(json_object_get(k, "public_pem"));
                struct cr_key *pub = NULL;
                if (!pem || cr_key_from_pem(pem, strlen(pem), &pub, &err) < 0)
                        return cli_errorf(CLI_EXIT_FAIL, "the server sent no valid %s key",
                                          online_roles[i]);
                cr_key_free(pub);
                snprintf(path, sizeof(path), "%s/%s.pub.pem", out, online_roles[i]);
                if (rp_write_file_atomic(path, pem, strlen(pem), 0644, &err) < 0)
                        return cli_fail(&err);
                printf("%s key %.16s... -> %s\n", online_roles[i],
                       json_string_value(json_object_get(k, "keyid")), path);
        }
        return CLI_EXIT_OK;
}

static int cmd_bind(int argc, char **argv)
{
        _cleanup_(json_decrefp) json_t *reply = NULL;
        if (argc != 3 || argv[1][0] == '-')
                return cli_errorf(CLI_EXIT_USAGE, "usage: rampart repo bind ROLE TENANT_ID");
        _cleanup_free_ char *path = cli_path_id("/api/v1/repo/delegations", argv[1], NULL);
        _cleanup_(json_decrefp) json_t *body = json_pack("{s:s}", "tenant_id", argv[2]);
        if (!path || !body)
                return cli_errorf(CLI_EXIT_FAIL, "out of memory");
        int rc = cli_api("PUT", path, body, &reply);
        if (rc == CLI_EXIT_OK)
                printf("role %s is tenant %s's\n", argv[1], argv[2]);
        return rc;
}

static int cmd_upload(int argc, char **argv)
{
        _cleanup_(json_decrefp) json_t *reply = NULL;
        json_error_t je;
        const char *route;
        if (argc != 3)
                return cli_errorf(CLI_EXIT_USAGE, "usage: rampart repo upload "
                                  "root|targets|delegated FILE");
        if (!strcmp(argv[1], "root"))
                route = "/api/v1/repo/root";
        else if (!strcmp(argv[1], "targets"))
                route = "/api/v1/repo/targets";
        else if (!strcmp(argv[1], "delegated"))
                route = "/api/v1/repo/delegated";
        else
                return cli_errorf(CLI_EXIT_USAGE, "repo upload: '%s' is not root, targets or "
                                  "delegated", argv[1]);
        /* the envelope's signatures cover its payload bytes, which survive
         * the JSON round trip unchanged (a base64url string) */
        _cleanup_(json_decrefp) json_t *body = json_load_file(argv[2], JSON_REJECT_DUPLICATES, &je);
        if (!body)
                return cli_errorf(CLI_EXIT_FAIL, "'%s': %s (line %d)", argv[2], je.text, je.line);
        int rc = cli_api("POST", route, body, &reply);
        if (rc != CLI_EXIT_OK)
                return rc;
        json_t *st = json_object_get(reply, "stored");
        printf("%s version %lld %s\n", json_string_value(json_object_get(reply, "role")),
               (long long)json_integer_value(json_object_get(reply, "version")),
               st && !json_is_true(st) ? "was stored already" : "stored");
        return CLI_EXIT_OK;
}

int cli_repo(int argc, char **argv)
{
        static const struct {
                const char *name;
                int (*fn)(int, char **);
        } cmds[] = {
                {"init", cmd_init},         {"sign", cmd_sign},       {"rotate-root", cmd_rotate_root},
                {"add-target", cmd_add_target}, {"delegate", cmd_delegate},
                {"publish", cmd_publish},   {"assign", cmd_assign},   {"verify", cmd_verify},
                {"server-keys", cmd_server_keys}, {"bind", cmd_bind}, {"upload", cmd_upload},
        };
        if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
                usage(argc < 2 ? stderr : stdout);
                return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
        }
        for (size_t i = 0; i < ARRAY_SIZE(cmds); i++)
                if (!strcmp(argv[1], cmds[i].name)) {
                        /* `rampart repo CMD --help`, also for the commands
                         * that take only positional arguments */
                        if (argc == 3 && (!strcmp(argv[2], "-h") || !strcmp(argv[2], "--help"))) {
                                usage(stdout);
                                return CLI_EXIT_OK;
                        }
                        optind = 1;
                        return cmds[i].fn(argc - 1, argv + 1);
                }
        fprintf(stderr, "rampart: repo: unknown command '%s'\n", argv[1]);
        usage(stderr);
        return CLI_EXIT_USAGE;
}

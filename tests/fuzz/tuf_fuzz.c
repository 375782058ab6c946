/* tuf_fuzz.c - libFuzzer harness for every parser of src/tuf: the envelope,
 * each role's metadata, and the saved client state. Each input goes through
 * all of them; a parser must either refuse it with a message or accept it,
 * and whatever it accepts must survive the encoder and parse back equal. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "tuf/client.h"
#include "tuf/envelope.h"
#include "tuf/meta.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void must(int cond)
{
        if (!cond)
                abort();
}

/* A client trusting a root made from a fixed-seed key (every role the same
 * key), built once: inputs then go through the verify-before-parse paths. */
static char *trusted_root;
static size_t trusted_root_len;

static void make_root(void)
{
        struct rp_err err = {0};
        struct cr_key *k = NULL;
        struct tuf_root r = {.version = 1, .expires = 4102444800};   /* 2100-01-01 */
        struct tuf_key tk;
        uint8_t seed[32] = {7};
        char *payload = NULL, *env = NULL;
        size_t plen, elen;

        if (cr_key_from_seed(seed, &k, &err) < 0 || tuf_key_from_cr(k, &tk) < 0 ||
            tuf_keyring_add(&r.keys, &tk) < 0)
                abort();
        for (int i = 0; i < TUF_ROLE_COUNT; i++) {
                memcpy(r.roles[i].ids[0], tk.id, sizeof(tk.id));
                r.roles[i].n = 1;
                r.roles[i].threshold = 1;
        }
        if (tuf_root_encode(&r, &payload, &plen, &err) < 0 ||
            tuf_envelope_new(payload, plen, &env, &elen, &err) < 0 ||
            tuf_envelope_sign(env, elen, TUF_MAX_ROOT, k, &trusted_root, &trusted_root_len,
                              &err) < 0)
                abort();
        free(payload);
        free(env);
        cr_key_free(k);
}

static void client_paths(const uint8_t *data, size_t size)
{
        struct rp_err err = {0};
        struct tuf_client *c = NULL;
        struct tuf_plan *plan = malloc(sizeof(*plan));

        if (!trusted_root)
                make_root();
        if (!plan || tuf_client_new_from_root(trusted_root, trusted_root_len, "fuzz-device", &c,
                                              &err) < 0)
                abort();
        if (tuf_client_update_root(c, data, size, &err) < 0)
                must(err.msg[0] != '\0');
        if (tuf_client_update_timestamp(c, data, size, 1800000000, &err) < 0)
                must(err.msg[0] != '\0');
        if (tuf_client_update_director(c, data, size, 1800000000, &err) < 0)
                must(err.msg[0] != '\0');
        must(tuf_resolve(c, plan, &err) < 0);   /* no targets verified */
        tuf_client_free(c);
        free(plan);
}


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct rp_err err = {0};
        struct tuf_envelope env;
        struct tuf_root root;
        struct tuf_targets targets;
        struct tuf_snapshot *snap = malloc(sizeof(*snap));
        struct tuf_timestamp ts;
        struct tuf_director *dir = malloc(sizeof(*dir));
        struct tuf_client *c = NULL;
        char *out = NULL;
        size_t out_len;

        if (!snap || !dir)
                abort();
        if (tuf_envelope_parse(data, size, TUF_MAX_TARGETS, "fuzz", &env, &err) == 0) {
                /* the payload of an accepted envelope is fed to the parsers too */
                if (tuf_root_parse(env.payload, env.payload_len, &root, &err) == 0)
                        must(root.version >= 1);
                tuf_envelope_free(&env);
        } else
                must(err.msg[0] != '\0');

        rp_err_clear(&err);
        if (tuf_root_parse(data, size, &root, &err) == 0) {
                struct tuf_root back;
                must(tuf_root_encode(&root, &out, &out_len, &err) == 0);
                must(tuf_root_parse((uint8_t *)out, out_len, &back, &err) == 0);
                must(back.version == root.version && back.keys.n == root.keys.n);
                free(out);
        } else
                must(err.msg[0] != '\0');

        rp_err_clear(&err);
        if (tuf_targets_parse(data, size, NULL, &targets, &err) == 0) {
                struct tuf_targets back;
                must(tuf_targets_encode(&targets, &out, &out_len, &err) == 0);
                must(tuf_targets_parse((uint8_t *)out, out_len, NULL, &back, &err) == 0);
                must(back.n_targets == targets.n_targets &&
                     back.n_delegations == targets.n_delegations);
                tuf_targets_free(&back);
                tuf_targets_free(&targets);
                free(out);
        } else
                must(err.msg[0] != '\0');

        rp_err_clear(&err);
        if (tuf_snapshot_parse(data, size, snap, &err) == 0) {
                must(tuf_snapshot_encode(snap, &out, &out_len, &err) == 0);
                free(out);
        } else
                must(err.msg[0] != '\0');

        rp_err_clear(&err);
        if (tuf_timestamp_parse(data, size, &ts, &err) == 0) {
                must(tuf_timestamp_encode(&ts, &out, &out_len, &err) == 0);
                free(out);
        } else
                must(err.msg[0] != '\0');

        rp_err_clear(&err);
        if (tuf_director_parse(data, size, dir, &err) == 0) {
                must(tuf_director_encode(dir, &out, &out_len, &err) == 0);
                free(out);
        } else
                must(err.msg[0] != '\0');

        rp_err_clear(&err);
        if (tuf_client_load(data, size, "fuzz-device", &c, &err) == 0) {
                must(tuf_client_save(c, &out, &out_len, &err) == 0);
                free(out);
                tuf_client_free(c);
        } else
                must(err.msg[0] != '\0');

        client_paths(data, size);
        free(snap);
        free(dir);
        return 0;
}

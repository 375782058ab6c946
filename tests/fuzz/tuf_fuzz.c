/* tuf_fuzz.c - libFuzzer harness for every parser of src/tuf: the envelope,
 * each role's metadata, and the saved client state. Each input goes through
 * all of them; a parser must either refuse it with a message or accept it,
 * and whatever it accepts must survive the encoder and parse back equal. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tuf/client.h"
#include "tuf/envelope.h"
#include "tuf/meta.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void must(int cond)
{
        if (!cond)
                abort();
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

        free(snap);
        free(dir);
        return 0;
}

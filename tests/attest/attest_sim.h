/* attest_sim.h - a simulated device for attestation tests and the
 * attestation benchmark: the boot stage's measurement and DICE derivation
 * (src/dice) and the real monitor request handlers (src/monitor/mon_server)
 * run in this process over an emulated device directory, so evidence, CSR
 * and chain come from the same code paths as rampart-boot's, with knobs to
 * forge each input the verifier must refuse. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"
#include "monitor/mon_server.h"

struct att_os {
        const char *name;               /* OS image name (swname) */
        const char *version;
        uint32_t svn;
        uint8_t fwid[32];               /* image digest */
};

/* Forgeries (all false: an honest device). */
struct att_forge {
        bool alias_by_stranger;         /* Alias cert signed by a key that is not the DeviceID */
        bool evidence_by_stranger;      /* evidence signed by a key that is not the Alias key */
        const char *ueid_claim;         /* evidence claims this ueid */
        bool unbound_csr;               /* CSR of another monitor key than the evidence binds */
        bool no_binding;                /* evidence without cnf */
};

struct att_sim {
        struct mon_ctx ctx;
        struct rot *rot;
};

/* "Boots" device directory `dir` with the given OS measurement. */
int att_sim_boot(struct att_sim *s, const char *dir, const struct att_os *os,
                 const struct att_forge *f, struct rp_err *err) RP_WUR;
void att_sim_free(struct att_sim *s);

/* The enroll body (docs/attestation.md) for `nonce` (the server's base64url
 * string): a new TLS key, its CSR, evidence and chain. *ret_json is
 * malloc'd; *ret_key_pem (optional) gets the TLS private key PEM. */
int att_sim_enroll_body(struct att_sim *s, const char *nonce_b64, const char *purpose,
                        const struct att_forge *f, char **ret_json, char **ret_key_pem,
                        struct rp_err *err) RP_WUR;

/* Standard base64 (no line breaks), malloc'd. */
char *att_b64(const uint8_t *in, size_t len);

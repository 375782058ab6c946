/* evidence_fuzz.c - libFuzzer harness for the attestation evidence parsers:
 * the structural pre-parse of the JWS (srv_evidence_peek_nonce) and the
 * claims parser (srv_evidence_claims_parse), each fed the whole input.
 *
 * Beyond "no crash": a refusal carries a message; an accepted nonce is a
 * non-empty string; accepted claims have a 40-hex ueid, dbgstat 0..4 and a
 * 43-character cnf.jkt when one is present. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/attest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct rp_err err = {0};
        char nonce[96];
        struct srv_evidence ev;

        if (srv_evidence_peek_nonce((const char *)data, size, nonce, &err) == 0) {
                if (!nonce[0] || strlen(nonce) >= sizeof(nonce))
                        abort();
        } else if (!err.msg[0]) {
                abort();
        }
        memset(&err, 0, sizeof(err));
        if (srv_evidence_claims_parse(data, size, &ev, &err) == 0) {
                if (strlen(ev.ueid) != 40 || ev.dbgstat < 0 || ev.dbgstat > 4 || ev.svn < 0)
                        abort();
                if (ev.has_jkt && strlen(ev.jkt) != 43)
                        abort();
        } else if (!err.msg[0]) {
                abort();
        }
        return 0;
}

/* registry_record_fuzz.c - libFuzzer harness for the registration record
 * verifier (srv_reg_record_verify): the input is one record line, checked
 * against a fixed manufacturer root (the one the corpus records chain to,
 * made with `rampart keys mfg-init --org "Rampart Fuzz Fab"`).
 *
 * Beyond "no crash": an accepted record has a 40-hex UEID, a DeviceID key
 * of plausible size and both PEMs; a refusal carries a message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/registry_record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char root_pem[] =
        "-----BEGIN CERTIFICATE-----\n"
        "MIIB6DCCAY6gAwIBAgIQSr0cbDC8xltWactNM4o1HDAKBggqhkjOPQQDAjBCMSUw\n"
        "IwYDVQQDDBxSYW1wYXJ0IE1hbnVmYWN0dXJlciBSb290IENBMRkwFwYDVQQKDBBS\n"
        "YW1wYXJ0IEZ1enogRmFiMB4XDTI2MTEyODE1MzYzOVoXDTM2MTEyODAzMzczOVow\n"
        "QjElMCMGA1UEAwwcUmFtcGFydCBNYW51ZmFjdHVyZXIgUm9vdCBDQTEZMBcGA1UE\n"
        "CgwQUmFtcGFydCBGdXp6IEZhYjBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABK4d\n"
        "d3sQqQI0fmtBKVUiapKFeVJ4LkOQNC08EAeyvq0OWHLsahkEvK0nHOuydqP6dr+E\n"
        "vbLKGpjWFLg1v6nDW7ejZjBkMBIGA1UdEwEB/wQIMAYBAf8CAQEwDgYDVR0PAQH/\n"
        "BAQDAgEGMB0GA1UdDgQWBBTaWimNg15qxL+Vmp51qxYFqGOthTAfBgNVHSMEGDAW\n"
        "gBTaWimNg15qxL+Vmp51qxYFqGOthTAKBggqhkjOPQQDAgNIADBFAiBh6dbPWqiu\n"
        "bZgXck1o1MUmh4HEdaHoFz//n8QSA+Oy2wIhAOfMhCUPO+jPIC9PShF1qonKeEN5\n"
        "lgWQOPxalSKw1gox\n"
        "-----END CERTIFICATE-----\n"
;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static struct cr_cert *root;
        static struct srv_reg_verifier *v;
        if (!root) {
                if (cr_cert_from_pem(root_pem, strlen(root_pem), &root, NULL) < 0)
                        abort();
                v = calloc(1, sizeof(*v));
                if (!v)
                        abort();
        }
        /* a fresh cache per input, so each input is judged on its own */
        memset(v, 0, sizeof(*v));
        v->roots = &root;
        v->n_roots = 1;
        struct store_registry_record *rec = malloc(sizeof(*rec));
        char field[SRV_REG_FIELD_MAX];
        size_t idx = 99;
        struct rp_err err = {0};
        if (!rec)
                return 0;
        if (srv_reg_record_verify(v, (const char *)data, size, rec, &idx, field, &err) == 0) {
                if (strlen(rec->ueid) != 40 || idx != 0 || rec->deviceid_pub_len == 0 ||
                    rec->deviceid_pub_len > sizeof(rec->deviceid_pub) ||
                    !strstr(rec->deviceid_cert, "BEGIN CERTIFICATE") ||
                    !strstr(rec->device_ca, "BEGIN CERTIFICATE"))
                        abort();
        } else if (!err.msg[0]) {
                abort();
        }
        free(rec);
        return 0;
}

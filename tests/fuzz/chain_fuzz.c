/* chain_fuzz.c - libFuzzer harness for the DICE chain parser of enroll
 * requests: the input is split at NUL bytes into the DeviceID, Alias and
 * device CA PEM texts (srv_chain_parse), then the Alias certificate's
 * DiceTcbInfo and UEID extensions are parsed (srv_chain_alias_ext).
 *
 * Beyond "no crash": an accepted chain holds three certificates and a
 * 40-hex UEID; refusals carry a message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/attest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *buf = malloc(size + 1);
        const char *pem[3] = {"", "", ""};
        struct srv_dice_chain ch;
        struct rp_err err = {0};
        if (!buf)
                return 0;
        memcpy(buf, data, size);
        buf[size] = 0;
        /* pieces at NUL bytes; the text after a third NUL is ignored */
        char *p = buf;
        for (int i = 0; i < 3 && p <= buf + size; i++) {
                pem[i] = p;
                p += strlen(p) + 1;
        }
        if (srv_chain_parse(pem, &ch, &err) == 0) {
                struct dice_tcb_info tcb;
                char ueid[DICE_UEID_HEX_LEN + 1];
                if (!ch.deviceid || !ch.alias || !ch.device_ca || strlen(ch.ueid) != 40)
                        abort();
                memset(&err, 0, sizeof(err));
                if (srv_chain_alias_ext(&ch, &tcb, ueid, &err) == 0) {
                        if (strlen(ueid) != 40)
                                abort();
                } else if (!err.msg[0]) {
                        abort();
                }
                srv_chain_clear(&ch);
        } else if (!err.msg[0]) {
                abort();
        }
        free(buf);
        return 0;
}

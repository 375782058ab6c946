/* dice_ext_fuzz.c - the DiceTcbInfo and UEID extension parsers (they read
 * certificates sent by devices to the verifier). Any accepted TcbInfo must
 * re-encode and parse to the same fields. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dice/dice.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct dice_tcb_info t, t2;
        uint8_t id[DICE_ID_LEN], der[DICE_MAX_EXT_DER];
        size_t n;
        struct rp_err err;

        if (dice_tcb_info_parse(data, size, &t, &err) == 0) {
                if (dice_tcb_info_encode(&t, der, sizeof(der), &n) == 0) {
                        if (dice_tcb_info_parse(der, n, &t2, &err) != 0 ||
                            t2.svn != t.svn || t2.layer != t.layer || t2.flags != t.flags ||
                            memcmp(t2.fwid, t.fwid, sizeof(t.fwid)) != 0 ||
                            strcmp(t2.version, t.version) != 0)
                                abort();
                }
        }
        int r = dice_ueid_parse(data, size, id, &err);
        (void)r;
        return 0;
}

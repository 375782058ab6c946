/* slotstate_fuzz.c - the A/B slot state parser (it reads a file an
 * attacker with disk access could craft). An accepted record must
 * re-encode to the same bytes, and the slot order must only name bootable
 * slots. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "boot/slotstate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct slotstate s;
        struct rp_err err;
        uint8_t out[SLOTSTATE_LEN];
        int order[SLOT_COUNT], n;

        if (slotstate_parse(data, size, &s, &err) < 0)
                return 0;
        slotstate_encode(&s, out);
        if (size != SLOTSTATE_LEN || memcmp(out, data, size) != 0)
                abort();
        n = slotstate_order(&s, order);
        for (int i = 0; i < n; i++) {
                const struct slot_info *si = &s.slot[order[i]];
                if (si->priority == 0 || (si->trial && si->attempts == 0))
                        abort();
        }
        return 0;
}

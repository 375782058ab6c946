/* manifest_fuzz.c - libFuzzer harness for the app manifest parser; on
 * success the result must also pass the conflict check against itself. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "image/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static struct img_manifest m;
        struct rp_err e = {0};

        if (img_manifest_parse(data, size, &m, &e) == 0) {
                const struct img_manifest *inst[] = { &m };
                if (img_manifest_check_conflicts(&m, inst, 1, &e) != 0)
                        abort();
        } else if (e.msg[0] == '\0') {
                abort(); /* every failure carries a message */
        }
        return 0;
}

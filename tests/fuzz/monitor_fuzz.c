/* monitor_fuzz.c - the monitor protocol decoder and request rules, which
 * read what the (untrusted) normal world sends. A decoded message must
 * re-encode to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/mon_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static struct mon_enc e;
        struct mon_msg m;
        struct rp_err err;
        int r;

        if (mon_decode(data, size, &m, &err) < 0)
                return 0;
        r = mon_request_check(&m, &err);
        (void)r;
        mon_enc_init(&e, m.type, m.status);
        for (size_t i = 0; i < m.n; i++)
                mon_put(&e, m.f[i].tag, m.f[i].val, m.f[i].len);
        if (mon_enc_finish(&e) < 0 || e.len != size || memcmp(e.buf, data, size) != 0)
                abort();
        return 0;
}

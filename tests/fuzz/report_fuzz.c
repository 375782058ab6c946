/* report_fuzz.c - libFuzzer harness for the failure upload batch parser:
 * any input is parsed without crashing; whatever parses must rebuild, parse
 * again to the same batch, and bucket every event. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "failure/bucket.h"
#include "failure/report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct fail_batch b, b2;
        struct rp_err err;
        char *json = NULL;
        size_t len;

        if (fail_batch_parse(data, size, &b, &err) < 0)
                return 0;
        for (size_t i = 0; i < b.nevents; i++) {
                struct fail_bucket bk;
                if (fail_bucket_compute(&b.events[i], &bk, &err) < 0)
                        abort();        /* parsed events always validate */
        }
        if (fail_batch_build(b.batch_id, b.dropped, b.events, b.nevents, &json, &len, &err) < 0)
                abort();
        if (fail_batch_parse(json, len, &b2, &err) < 0)
                abort();
        if (b2.nevents != b.nevents || b2.dropped != b.dropped ||
            strcmp(b2.batch_id, b.batch_id) != 0)
                abort();
        for (size_t i = 0; i < b.nevents; i++)
                if (b2.events[i].count != b.events[i].count ||
                    b2.events[i].nframes != b.events[i].nframes ||
                    b2.events[i].dump_len != b.events[i].dump_len)
                        abort();
        fail_batch_free(&b2);
        fail_batch_free(&b);
        free(json);
        return 0;
}

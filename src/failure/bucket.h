/* bucket.h - the bucketing signature of a failure event: one bug, one
 * bucket, across devices, releases and rebuilds.
 *
 * The signature covers: component id, event class, signal (app_crash) or
 * exit code (app_exit) or reason (other classes), and the top
 * FAIL_BUCKET_FRAMES frames as normalized module!function. It leaves out
 * everything a rebuild or ASLR changes: addresses, offsets, build-ids,
 * directories and library version suffixes ("/opt/app/1.3/lib/libfoo.so.1.2"
 * and "libfoo.so" are the same module), and compiler clone suffixes of
 * functions ("parse.part.0", "parse.cold" are "parse"). Leading frames in the
 * C runtime (libc, the dynamic loader, libgcc_s, the vDSO) are skipped when a
 * frame of another module follows, so every abort() does not land in the
 * same bucket as every other abort().
 *
 * Injection resistance: every element is length-prefixed (u32 big-endian)
 * before hashing, under a version tag, so no choice of names can make two
 * different element lists hash the same input; names with control characters
 * are refused (fail_event_validate), never silently merged.
 *
 * Pure: no I/O, no logging. The hash is SHA-256 (src/crypto). */
#pragma once
#include <stddef.h>
#include "failure/report.h"
#include "lib/err.h"

#define FAIL_BUCKET_FRAMES      5       /* top K frames in the signature */
#define FAIL_BUCKET_ID_LEN      32      /* hex digits: SHA-256 truncated to 128 bits */
#define FAIL_BUCKET_TITLE_MAX   200
#define FAIL_BUCKET_TITLE_FRAMES 3      /* functions named in the title */

struct fail_bucket {
        char id[FAIL_BUCKET_ID_LEN + 1];
        char title[FAIL_BUCKET_TITLE_MAX + 1];  /* e.g. "telemetry: SIGSEGV in parse <- main" */
        unsigned nframes;                       /* frames that went into the signature */
};

/* Validates the event and computes its bucket. */
int fail_bucket_compute(const struct fail_event *ev, struct fail_bucket *ret,
                        struct rp_err *err) RP_WUR;

/* The normalized forms used in the signature (out has room for cap bytes
 * including the NUL; the result is truncated to fit). */
void fail_module_normalize(const char *module, char *out, size_t cap);
void fail_function_normalize(const char *function, char *out, size_t cap);
